//! `auth0-operator dev`: a complete local loop on one machine, with no cluster and (by default)
//! no Auth0 tenant: etcd + kube-apiserver (the envtest assets), the Auth0 simulator, the CRDs,
//! the operator, and the manifests in `examples/` applied and reported on. Keeps running, with a
//! printed `KUBECONFIG`, until Ctrl-C; then stops everything it started.
//!
//! With `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID` and `AUTH0_CLIENT_SECRET` set, the real tenant is used
//! instead of the simulator.

use std::{path::PathBuf, sync::Arc, time::Duration};

use anyhow::{Context as _, bail};
use clap::Args;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{DynamicObject, Patch, PatchParams},
    core::ApiResource,
};
use serde_json::Value;

use crate::{
    auth0::Auth0Config,
    config::{OperatorConfig, RunArgs},
    crd::{Auth0Client, Auth0ClientGrant, CONDITION_READY},
    envtest::TestEnv,
    sim::{SimConfig, Simulator},
};

const SIM_DOMAIN: &str = "dev-tenant.auth0.test";
const SIM_CLIENT_ID: &str = "local-operator";
const SIM_CLIENT_SECRET: &str = "local-operator-secret";

/// Flags of `auth0-operator dev`.
#[derive(Args, Debug, Clone)]
pub struct DevArgs {
    /// Directory of manifests to apply (every `*.yaml`, in name order).
    #[arg(long, default_value = "examples")]
    pub examples: PathBuf,
    /// Namespace the examples are applied to.
    #[arg(long, default_value = "default")]
    pub namespace: String,
    /// Exit after printing the report instead of running until Ctrl-C.
    #[arg(long)]
    pub once: bool,
    /// Operator settings; the Auth0 ones select a real tenant instead of the simulator.
    #[command(flatten)]
    pub run: RunArgs,
}

fn line(s: impl AsRef<str>) {
    println!("{}", s.as_ref());
}

/// Runs the local loop; see the module documentation.
pub async fn run(args: DevArgs) -> anyhow::Result<()> {
    crate::auth0::install_crypto_provider();
    let manifests = read_manifests(&args.examples)?;
    if TestEnv::assets_dir().is_none() {
        bail!(
            "KUBEBUILDER_ASSETS is not set: run `scripts/dev.sh`, which provisions etcd and kube-apiserver, or export KUBEBUILDER_ASSETS=\"$(scripts/envtest-assets.sh)\""
        );
    }
    line("==> starting etcd + kube-apiserver (envtest assets)");
    let env = TestEnv::start()
        .await
        .context("starting the local control plane")?;
    let kube = env.client();
    line(format!("    API server  {}", env.server_url()));

    let real_tenant = args
        .run
        .auth0_domain
        .as_deref()
        .is_some_and(|d| !d.trim().is_empty());
    let mut sim = None;
    let mut config = if real_tenant {
        let mut run = args.run.clone();
        run.watch_namespaces = vec![args.namespace.clone()];
        let c = run.resolve().map_err(|e| anyhow::anyhow!("{e}"))?;
        line(format!(
            "==> using the REAL Auth0 tenant {} (AUTH0_DOMAIN is set); examples create real applications",
            c.auth0.domain
        ));
        c
    } else {
        let mut cfg = SimConfig::new(SIM_DOMAIN, SIM_CLIENT_ID, SIM_CLIENT_SECRET);
        cfg.audiences = grant_audiences(&manifests);
        let s = Simulator::start(cfg)
            .await
            .context("starting the Auth0 simulator")?;
        line(format!(
            "==> Auth0 simulator at {} (tenant {SIM_DOMAIN}; set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET to use a real tenant)",
            s.base_url()
        ));
        let auth0 = Auth0Config::new(SIM_DOMAIN, SIM_CLIENT_ID, SIM_CLIENT_SECRET)
            .with_base_url(s.base_url().parse().context("simulator URL")?);
        let mut c = OperatorConfig::new(auth0);
        c.resync_interval = Duration::from_secs(60);
        c.http_addr = args.run.http_addr.parse().ok();
        sim = Some(Arc::new(s));
        c
    };
    if config
        .http_addr
        .is_some_and(|a| a == "0.0.0.0:8080".parse().expect("valid address"))
    {
        config.http_addr = Some("127.0.0.1:8080".parse().expect("valid address"));
    }

    line("==> installing the CRDs");
    crate::install_crds(&kube).await?;

    let metrics = Arc::new(crate::metrics::Metrics::new());
    let health = Arc::new(crate::http::Health::default());
    health
        .crds_ready
        .store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(addr) = config.http_addr {
        match crate::http::serve(addr, metrics.clone(), health.clone()).await {
            Ok(bound) => line(format!("    metrics     http://{bound}/metrics")),
            Err(e) => line(format!(
                "    (no HTTP endpoints: cannot listen on {addr}: {e}; set HTTP_ADDR)"
            )),
        }
    }
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let operator = tokio::spawn(crate::controller::run_with(
        kube.clone(),
        config,
        metrics,
        health,
        async move {
            let _ = stop_rx.await;
        },
    ));
    line("==> operator running");

    line(format!(
        "==> applying {} manifest(s) from {}",
        manifests.len(),
        args.examples.display()
    ));
    for (file, obj) in &manifests {
        apply(&kube, &args.namespace, obj)
            .await
            .with_context(|| format!("applying {file}"))?;
        line(format!(
            "    applied {file}: {} {}",
            obj["kind"].as_str().unwrap_or("?"),
            obj["metadata"]["name"].as_str().unwrap_or("?")
        ));
    }

    report(&kube, &args.namespace, &manifests).await;

    line("");
    if args.once {
        line("(--once: stopping now)");
    } else {
        line("The local cluster keeps running. In another shell:");
    }
    line(format!(
        "    export KUBECONFIG={}",
        env.kubeconfig_path().display()
    ));
    line("    kubectl get auth0clients,auth0clientgrants -A");
    line("    kubectl describe auth0client web-app");
    line("Press Ctrl-C to stop everything.");
    if !args.once {
        crate::shutdown_signal().await;
    }
    line("==> stopping");
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), operator).await;
    if let Some(sim) = sim.and_then(|s| Arc::try_unwrap(s).ok()) {
        sim.shutdown().await;
    }
    env.stop().await;
    line("==> stopped; nothing is left running");
    Ok(())
}

/// `(file name, object)` for every document of every `*.yaml` in `dir`.
fn read_manifests(dir: &std::path::Path) -> anyhow::Result<Vec<(String, Value)>> {
    use serde::Deserialize;
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path)?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let v = Value::deserialize(doc).with_context(|| format!("{name} is not valid YAML"))?;
            if v.is_object() {
                out.push((name.clone(), v));
            }
        }
    }
    Ok(out)
}

fn grant_audiences(manifests: &[(String, Value)]) -> Vec<String> {
    manifests
        .iter()
        .filter(|(_, v)| v["kind"] == "Auth0ClientGrant")
        .filter_map(|(_, v)| v["spec"]["audience"].as_str().map(String::from))
        .collect()
}

fn api_resource(kind: &str) -> anyhow::Result<ApiResource> {
    match kind {
        "Auth0Client" => Ok(ApiResource::erase::<Auth0Client>(&())),
        "Auth0ClientGrant" => Ok(ApiResource::erase::<Auth0ClientGrant>(&())),
        other => {
            bail!("the dev loop applies only Auth0Client and Auth0ClientGrant objects, not {other}")
        }
    }
}

async fn apply(kube: &kube::Client, ns: &str, obj: &Value) -> anyhow::Result<()> {
    let ar = api_resource(obj["kind"].as_str().unwrap_or_default())?;
    let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), ns, &ar);
    let name = obj["metadata"]["name"]
        .as_str()
        .context("metadata.name is missing")?;
    api.patch(
        name,
        &PatchParams::apply("auth0-operator-dev").force(),
        &Patch::Apply(obj),
    )
    .await?;
    Ok(())
}

/// Waits (up to 60 s) for every applied object to settle and prints what it got.
async fn report(kube: &kube::Client, ns: &str, manifests: &[(String, Value)]) {
    line("==> waiting for the examples to become Ready");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    for (_, obj) in manifests {
        let kind = obj["kind"].as_str().unwrap_or_default();
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let Ok(ar) = api_resource(kind) else { continue };
        let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), ns, &ar);
        let mut last = None;
        loop {
            if let Ok(o) = api.get(name).await {
                let ready = o.data["status"]["conditions"]
                    .as_array()
                    .and_then(|cs| cs.iter().find(|c| c["type"] == CONDITION_READY))
                    .cloned();
                let done = ready.as_ref().is_some_and(|c| c["status"] == "True");
                last = Some((o, ready));
                if done {
                    break;
                }
            }
            if tokio::time::Instant::now() >= deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let Some((o, ready)) = last else {
            line(format!("    {kind}/{name}: not found"));
            continue;
        };
        let (status, reason, message) = match &ready {
            Some(c) => (
                c["status"].as_str().unwrap_or("?").to_string(),
                c["reason"].as_str().unwrap_or("").to_string(),
                c["message"].as_str().unwrap_or("").to_string(),
            ),
            None => ("Unknown".into(), "Pending".into(), "no status yet".into()),
        };
        line(format!(
            "    {kind}/{name}: Ready={status} ({reason}) {message}"
        ));
        if kind == "Auth0Client" {
            let client_id = o.data["status"]["clientId"].as_str().unwrap_or("-");
            line(format!("        client id: {client_id}"));
            if let Some(secret_name) = o.data["status"]["secretName"].as_str() {
                let secrets: Api<Secret> = Api::namespaced(kube.clone(), ns);
                match secrets.get(secret_name).await {
                    Ok(s) => {
                        let data = s.data.unwrap_or_default();
                        let shown: Vec<String> = data
                            .iter()
                            .map(|(k, v)| {
                                if k == "AUTH0_CLIENT_SECRET" {
                                    format!("{k}=<{} characters, not shown>", v.0.len())
                                } else {
                                    format!("{k}={}", String::from_utf8_lossy(&v.0))
                                }
                            })
                            .collect();
                        line(format!(
                            "        Secret {}: {}",
                            s.metadata.name.unwrap_or_default(),
                            shown.join("  ")
                        ));
                    }
                    Err(_) => line(format!("        Secret {secret_name}: not found")),
                }
            }
        } else if let Some(id) = o.data["status"]["grantId"].as_str() {
            line(format!(
                "        grant id: {id}  (client {})",
                o.data["status"]["clientId"].as_str().unwrap_or("-")
            ));
        }
    }
}
