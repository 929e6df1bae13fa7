//! auth0-operator: reconciles Auth0 applications (`Auth0Client`), APIs (`Auth0ResourceServer`)
//! and client grants (`Auth0ClientGrant`) against the Auth0 Management API v2, in the tenants
//! that `Auth0Tenant` and `ClusterAuth0Tenant` objects (or the operator's environment) name,
//! and writes each application's credentials into a Secret.
//!
//! Three things could be called a "client"; each has its own name: [`auth0::ManagementApi`] is
//! the HTTP client of one tenant's Management API, [`auth0::Client`] an Auth0 application as
//! that API returns it, and [`crd::Auth0Client`] the custom resource.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

pub mod auth0;
pub mod config;
pub mod controller;
pub mod crash;
pub mod crd;
pub mod http;
pub mod import;
pub mod leader;
pub mod manifests;
pub mod metrics;
pub mod telemetry;

#[cfg(feature = "sim")]
pub mod sim;

#[cfg(feature = "envtest")]
pub mod envtest;

#[cfg(all(feature = "sim", feature = "envtest"))]
pub mod dev;

/// Connects to Kubernetes (KUBECONFIG or in-cluster), serves `/metrics`, `/healthz` and
/// `/readyz`, checks that the CRDs are installed, then runs both controllers until SIGINT or
/// SIGTERM, behind leader election when configured.
pub async fn run(config: config::OperatorConfig) -> anyhow::Result<()> {
    use anyhow::Context as _;
    auth0::install_crypto_provider();
    let metrics = std::sync::Arc::new(metrics::Metrics::new());
    let health = std::sync::Arc::new(http::Health::default());
    if let Some(addr) = config.http_addr {
        let bound = http::serve(addr, metrics.clone(), health.clone())
            .await
            .with_context(|| format!("cannot listen on {addr} (HTTP_ADDR)"))?;
        tracing::info!(%bound, "serving /metrics, /healthz and /readyz");
    }
    let kube = kube::Client::try_default()
        .await
        .context("cannot connect to Kubernetes (set KUBECONFIG or run inside a cluster)")?;
    ensure_crds_installed(&kube).await?;
    health
        .crds_ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    metrics.startup_phase(metrics::phase::CONNECTED);
    match config.leader_election.clone() {
        None => controller::run_with(kube, config, metrics, health, shutdown_signal()).await,
        Some(le) => leader::run_elected(kube, config, le, metrics, health, shutdown_signal()).await,
    }
}

/// Fails with an actionable message when a CRD is not served, instead of starting watches whose
/// caches would never sync. Uses API discovery, which needs no RBAC permission (unlike reading
/// the CRD objects). Each missing CRD is named; where the operator may create CRDs (a dry run,
/// nothing is stored), the API server's own reason for refusing it is quoted, e.g. a CEL cost
/// budget an older CRD exceeded.
pub async fn ensure_crds_installed(kube: &kube::Client) -> anyhow::Result<()> {
    // A CRD applied a moment ago may be established before discovery serves it: a missing kind
    // is looked for again, for a few seconds, before it is reported.
    let mut missing = missing_crds(kube).await?;
    for _ in 0..20 {
        if missing.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        missing = missing_crds(kube).await?;
    }
    if missing.is_empty() {
        return Ok(());
    }
    let mut lines = Vec::new();
    for crd in &missing {
        lines.push(format!(
            "{} ({}): {}",
            crd.metadata.name.as_deref().unwrap_or_default(),
            crd.spec.names.kind,
            why_not_served(kube, crd).await
        ));
    }
    Err(anyhow::anyhow!(
        "{} of the {} auth0.operator.dev/v1alpha1 CRDs {} not served by the API server: {}. \
         Install this version's CRDs: `kubectl apply --server-side -f crds/` (or `auth0-operator \
         crds | kubectl apply --server-side -f -`); the API server's answer names anything it refuses",
        missing.len(),
        controller::kinds::crds().len(),
        if missing.len() == 1 { "is" } else { "are" },
        lines.join("; ")
    ))
}

/// The CRDs of this version whose kinds API discovery does not list (discovery needs no RBAC
/// permission, unlike reading the CRD objects).
async fn missing_crds(kube: &kube::Client) -> anyhow::Result<Vec<CustomResourceDefinition>> {
    let served: Vec<String> = match kube
        .list_api_group_resources("auth0.operator.dev/v1alpha1")
        .await
    {
        Ok(r) => r.resources.into_iter().map(|r| r.name).collect(),
        Err(kube::Error::Api(s)) if s.code == 404 => Vec::new(),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "cannot discover the auth0.operator.dev API group: {e}"
            ));
        }
    };
    // Every CRD: the table of kinds' and the tenants' (`controller::kinds::crds`).
    Ok(controller::kinds::crds()
        .into_iter()
        .filter(|c| !served.contains(&c.spec.names.plural))
        .collect())
}

/// Why a CRD is not served: the API server's refusal of a dry-run create of this version's CRD,
/// or a status saying it is simply not installed (or that the operator may not ask).
pub async fn why_not_served(kube: &kube::Client, crd: &CustomResourceDefinition) -> String {
    let api: kube::Api<CustomResourceDefinition> = kube::Api::all(kube.clone());
    let dry_run = kube::api::PostParams {
        dry_run: true,
        ..Default::default()
    };
    match api.create(&dry_run, crd).await {
        Ok(_) => "not installed (the API server would accept it)".to_string(),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            "installed but not served yet (not Established: see `kubectl describe crd`)".to_string()
        }
        Err(kube::Error::Api(s)) if s.code == 401 || s.code == 403 => {
            "not installed (the operator may not create CRDs, so it cannot ask the API server whether it would refuse them)".to_string()
        }
        Err(kube::Error::Api(s)) => format!(
            "the API server refuses this CRD ({} {}): {}",
            s.code, s.reason, s.message
        ),
        Err(e) => format!("not installed (a dry-run create could not be sent: {e})"),
    }
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// Installs (or replaces) every CRD and waits until the API server serves them. Uses create /
/// replace rather than server-side apply, which API servers before 1.25 refuse for CRDs that
/// carry CEL rules (`x-kubernetes-validations` is unknown to their typed schema).
pub async fn install_crds(kube: &kube::Client) -> anyhow::Result<()> {
    use CustomResourceDefinition;
    let api: kube::Api<CustomResourceDefinition> = kube::Api::all(kube.clone());
    for mut crd in controller::kinds::crds() {
        let name = crd.metadata.name.clone().unwrap_or_default();
        match api.get_opt(&name).await? {
            None => {
                api.create(&kube::api::PostParams::default(), &crd).await?;
            }
            Some(current) => {
                crd.metadata.resource_version = current.metadata.resource_version;
                api.replace(&name, &kube::api::PostParams::default(), &crd)
                    .await?;
            }
        }
        let established = kube::runtime::wait::await_condition(
            api.clone(),
            &name,
            kube::runtime::wait::conditions::is_crd_established(),
        );
        tokio::time::timeout(std::time::Duration::from_secs(30), established)
            .await
            .map_err(|_| anyhow::anyhow!("CRD {name} was not established within 30 s"))??;
    }
    Ok(())
}
