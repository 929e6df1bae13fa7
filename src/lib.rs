//! auth0-operator: reconciles `Auth0Client` and `Auth0ClientGrant` custom resources against the
//! Auth0 Management API v2.

pub mod auth0;
pub mod config;
pub mod controller;
pub mod crd;
pub mod telemetry;

#[cfg(feature = "sim")]
pub mod sim;

#[cfg(feature = "envtest")]
pub mod envtest;

/// Connects to Kubernetes (KUBECONFIG or in-cluster), checks that the CRDs are installed and runs
/// both controllers until SIGINT/SIGTERM.
pub async fn run(config: config::OperatorConfig) -> anyhow::Result<()> {
    use anyhow::Context as _;
    auth0::install_crypto_provider();
    let kube = kube::Client::try_default()
        .await
        .context("cannot connect to Kubernetes (set KUBECONFIG or run inside a cluster)")?;
    ensure_crds_installed(&kube).await?;
    controller::run(kube, config, shutdown_signal()).await
}

/// Fails with an actionable message when the CRDs are missing.
pub async fn ensure_crds_installed(kube: &kube::Client) -> anyhow::Result<()> {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: kube::Api<CustomResourceDefinition> = kube::Api::all(kube.clone());
    for name in [
        "auth0clients.auth0.operator.dev",
        "auth0clientgrants.auth0.operator.dev",
    ] {
        match crds.get_opt(name).await {
            Ok(Some(_)) => {}
            Ok(None) => anyhow::bail!(
                "CRD {name} is not installed: run `auth0-operator crds | kubectl apply -f -` (or `kubectl apply -f crds/`)"
            ),
            Err(e) => anyhow::bail!("cannot read CRD {name}: {e}"),
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
