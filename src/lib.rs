//! auth0-operator: reconciles `Auth0Client` and `Auth0ClientGrant` custom resources against the
//! Auth0 Management API v2.

pub mod auth0;
pub mod config;
pub mod controller;
pub mod crd;
pub mod http;
pub mod import;
pub mod leader;
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

/// Fails with an actionable message when the CRDs are not served. Uses API discovery, which
/// needs no RBAC permission (unlike reading the CRD objects).
pub async fn ensure_crds_installed(kube: &kube::Client) -> anyhow::Result<()> {
    let missing = || {
        anyhow::anyhow!(
            "the auth0.operator.dev/v1alpha1 CRDs are not installed: run `kubectl apply -f crds/` \
             (or `auth0-operator crds | kubectl apply -f -`)"
        )
    };
    let resources = match kube
        .list_api_group_resources("auth0.operator.dev/v1alpha1")
        .await
    {
        Ok(r) => r,
        Err(kube::Error::Api(s)) if s.code == 404 => return Err(missing()),
        Err(e) => {
            return Err(anyhow::anyhow!(
                "cannot discover the auth0.operator.dev API group: {e}"
            ));
        }
    };
    // Every kind of the one CRD table (`crd::crds`).
    for crd in crd::crds() {
        let plural = crd.spec.names.plural;
        if !resources.resources.iter().any(|r| r.name == plural) {
            return Err(missing());
        }
    }
    Ok(())
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
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let api: kube::Api<CustomResourceDefinition> = kube::Api::all(kube.clone());
    for mut crd in crd::crds() {
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
