//! `auth0-operator dev`: a complete local loop on one machine, with no cluster and (by default)
//! no Auth0 tenant: etcd + kube-apiserver (the envtest assets), the Auth0 simulator, the CRDs,
//! the operator, and the manifests in `examples/` applied and reported on. Keeps running, with a
//! printed `KUBECONFIG`, until Ctrl-C; then stops everything it started.
//!
//! With `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID` and `AUTH0_CLIENT_SECRET` set, the real tenant is used
//! instead of the simulator.
//!
//! The operator's log goes to a file ([`log_file_path`]; `RUST_LOG` sets its level, default
//! `info`); its warnings also appear on the console, and the report gives each failing example's
//! `Ready` reason and message as soon as every example has settled.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::{Context as _, bail};
use clap::Args;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{DynamicObject, Patch, PatchParams},
    core::ApiResource,
};
use serde_json::Value;
use tracing::instrument::WithSubscriber as _;

use crate::{
    auth0::Auth0Config,
    config::{OperatorConfig, RunArgs},
    crd::{Auth0Client, Auth0ClientGrant, CONDITION_READY, reason},
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
    /// The operator's log file, replaced on each start (default
    /// `${XDG_CACHE_HOME:-~/.cache}/auth0-operator/dev/operator.log`). `RUST_LOG` sets its level
    /// (default `info`); warnings and errors are also shown on the console.
    #[arg(long, value_name = "FILE")]
    pub log_file: Option<PathBuf>,
    /// Operator settings; the Auth0 ones select a real tenant instead of the simulator.
    #[command(flatten)]
    pub run: RunArgs,
}

/// The operator's log file: `--log-file`, else `dev/operator.log` in the cache the scripts use
/// (`$AUTH0_OPERATOR_CACHE`, else `${XDG_CACHE_HOME:-$HOME/.cache}/auth0-operator`).
pub fn log_file_path(args: &DevArgs) -> PathBuf {
    if let Some(p) = &args.log_file {
        return p.clone();
    }
    let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
    let cache = var("AUTH0_OPERATOR_CACHE")
        .map(PathBuf::from)
        .or_else(|| var("XDG_CACHE_HOME").map(|d| Path::new(&d).join("auth0-operator")))
        .or_else(|| var("HOME").map(|h| Path::new(&h).join(".cache/auth0-operator")))
        .unwrap_or_else(|| std::env::temp_dir().join("auth0-operator"));
    cache.join("dev").join("operator.log")
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
    let log_file = log_file_path(&args);
    let log_hint = format!(
        "{} (level {}; e.g. RUST_LOG=debug scripts/dev.sh for more)",
        log_file.display(),
        std::env::var("RUST_LOG")
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "info".into())
    );
    line(format!(
        "==> operator log: {log_hint}; its warnings are also shown here"
    ));
    line("==> starting etcd + kube-apiserver (envtest assets)");
    // Not the operator's log: the API server's 500s while it starts are expected.
    let env = TestEnv::start()
        .with_subscriber(tracing::subscriber::NoSubscriber::default())
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
            c.auth0
                .as_ref()
                .map(|a| a.domain.as_str())
                .unwrap_or_default()
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
        // Dev-only values of the simulator (never a real tenant's): printing them is the point.
        line(format!(
            "    management API credentials (simulator only): AUTH0_CLIENT_ID={SIM_CLIENT_ID} AUTH0_CLIENT_SECRET={SIM_CLIENT_SECRET}"
        ));
        line(format!(
            "    token: curl -s {}/oauth/token -d grant_type=client_credentials -d client_id={SIM_CLIENT_ID} -d client_secret={SIM_CLIENT_SECRET} -d audience=https://{SIM_DOMAIN}/api/v2/",
            s.base_url().trim_end_matches('/')
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

    report(&kube, &args.namespace, &manifests, &log_file).await;

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
    line(format!("Operator log: {log_hint}"));
    if !args.once {
        line("Press Ctrl-C to stop everything.");
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

/// How long the report waits for examples that are still in progress.
const REPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// `Ready=False` reasons that need the user: the report does not wait for them. The other
/// reasons of [`crate::crd::reason`] are waits (`Reconciling`, `ClientNotReady` unless its
/// client failed) or errors the operator retries (`Auth0Unavailable`, `RateLimited`,
/// `KubernetesError`).
const NEEDS_USER: [&str; 4] = [
    reason::INVALID_SPEC,
    reason::SECRET_CONFLICT,
    reason::NOT_FOUND,
    reason::AUTH0_ERROR,
];

/// Where one applied example stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Ready,
    /// `Ready=False` with a reason that needs the user.
    Failed,
    /// In progress, or not written yet for the current spec.
    Waiting,
}

/// The `Ready` condition of `obj` (a custom resource as JSON) if its status describes the
/// current spec.
fn current_ready(obj: &Value) -> Option<&Value> {
    let generation = obj["metadata"]["generation"].as_i64();
    let observed = obj["status"]["observedGeneration"].as_i64();
    if generation.is_some() && observed.is_some() && generation != observed {
        return None;
    }
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == CONDITION_READY)
}

/// The outcome of `obj`; for a grant waiting for its `clientRef` (`ClientNotReady`),
/// `referenced_client` is that `Auth0Client` (`None`: it does not exist, so nothing will make it
/// ready), and the grant has failed when its client has.
fn outcome(obj: &Value, referenced_client: Option<&Value>) -> Outcome {
    let Some(ready) = current_ready(obj) else {
        return Outcome::Waiting;
    };
    if ready["status"] == "True" {
        return Outcome::Ready;
    }
    let why = ready["reason"].as_str().unwrap_or_default();
    if NEEDS_USER.contains(&why) {
        return Outcome::Failed;
    }
    if why == reason::CLIENT_NOT_READY {
        return match referenced_client {
            None => Outcome::Failed,
            Some(c) if outcome(c, None) == Outcome::Failed => Outcome::Failed,
            Some(_) => Outcome::Waiting,
        };
    }
    Outcome::Waiting
}

/// The `Auth0Client` named by a grant's `clientRef`, as `(name, object if it exists)`.
fn referenced_client<'a>(
    grant: &Value,
    cluster: &'a HashMap<(String, String), Value>,
) -> Option<(String, Option<&'a Value>)> {
    let name = grant["spec"]["clientRef"]["name"].as_str()?;
    Some((
        name.to_string(),
        cluster.get(&("Auth0Client".to_string(), name.to_string())),
    ))
}

/// Every applied object's outcome, in manifest order (`None`: not seen in the cluster).
fn outcomes(
    manifests: &[(String, Value)],
    cluster: &HashMap<(String, String), Value>,
) -> Vec<Option<Outcome>> {
    manifests
        .iter()
        .map(|(_, m)| {
            let key = (
                m["kind"].as_str().unwrap_or_default().to_string(),
                m["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
            let obj = cluster.get(&key)?;
            let client = referenced_client(obj, cluster).and_then(|(_, c)| c);
            Some(outcome(obj, client))
        })
        .collect()
}

/// Both kinds in `ns`, keyed by `(kind, name)`, as JSON.
async fn list_examples(
    kube: &kube::Client,
    ns: &str,
) -> kube::Result<HashMap<(String, String), Value>> {
    let mut out = HashMap::new();
    for kind in ["Auth0Client", "Auth0ClientGrant"] {
        let ar = api_resource(kind).expect("a kind the dev loop applies");
        let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), ns, &ar);
        for o in api.list(&Default::default()).await? {
            let name = o.metadata.name.clone().unwrap_or_default();
            let value = serde_json::to_value(&o).unwrap_or_default();
            out.insert((kind.to_string(), name), value);
        }
    }
    Ok(out)
}

/// Waits until every applied object has settled (Ready, or failed with a reason that needs the
/// user; at most [`REPORT_TIMEOUT`] for those still in progress) and prints what each got,
/// with the reason and message of the failing ones.
async fn report(kube: &kube::Client, ns: &str, manifests: &[(String, Value)], log_file: &Path) {
    line("==> waiting for the examples to settle (Ready, or failed for a reason that needs you)");
    let started = tokio::time::Instant::now();
    let mut cluster = HashMap::new();
    let mut states = vec![None; manifests.len()];
    loop {
        match list_examples(kube, ns).await {
            Ok(c) => {
                cluster = c;
                states = outcomes(manifests, &cluster);
            }
            Err(e) => tracing::debug!(error = %e, "listing the examples failed; retrying"),
        }
        let settled = states
            .iter()
            .all(|s| matches!(s, Some(Outcome::Ready | Outcome::Failed)));
        if settled || started.elapsed() >= REPORT_TIMEOUT {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let elapsed = started.elapsed();

    for ((file, m), state) in manifests.iter().zip(&states) {
        let kind = m["kind"].as_str().unwrap_or_default();
        let name = m["metadata"]["name"].as_str().unwrap_or_default();
        let Some(o) = cluster.get(&(kind.to_string(), name.to_string())) else {
            line(format!("    {kind}/{name}: not found"));
            continue;
        };
        let ready = o["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == CONDITION_READY));
        let (status, why, message) = match ready {
            Some(c) => (
                c["status"].as_str().unwrap_or("?"),
                c["reason"].as_str().unwrap_or(""),
                c["message"].as_str().unwrap_or(""),
            ),
            None => ("Unknown", "Pending", "no status yet"),
        };
        line(format!(
            "    {kind}/{name}: Ready={status} ({why}) {message}"
        ));
        match state {
            Some(Outcome::Failed) => {
                if why == reason::CLIENT_NOT_READY {
                    match referenced_client(o, &cluster) {
                        Some((c, Some(_))) => line(format!(
                            "        FAILED: its Auth0Client {c} failed (see above); fix that one first"
                        )),
                        Some((c, None)) => line(format!(
                            "        FAILED: Auth0Client {c} does not exist; create it or fix clientRef in {file}"
                        )),
                        None => line("        FAILED"),
                    }
                } else {
                    line(format!(
                        "        FAILED: needs you: fix {file} and apply it again (`kubectl describe {} {name}` shows its events)",
                        kind.to_lowercase()
                    ));
                }
            }
            Some(Outcome::Waiting) | None => line(format!(
                "        still in progress after {} s; the operator keeps retrying (see its log)",
                elapsed.as_secs()
            )),
            Some(Outcome::Ready) => {}
        }
        if kind == "Auth0Client" {
            let client_id = o["status"]["clientId"].as_str().unwrap_or("-");
            line(format!("        client id: {client_id}"));
            if let Some(secret_name) = o["status"]["secretName"].as_str() {
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
        } else if let Some(id) = o["status"]["grantId"].as_str() {
            line(format!(
                "        grant id: {id}  (client {})",
                o["status"]["clientId"].as_str().unwrap_or("-")
            ));
        }
    }
    let count = |want: Option<Outcome>| states.iter().filter(|s| **s == want).count();
    let (ready, failed) = (count(Some(Outcome::Ready)), count(Some(Outcome::Failed)));
    let waiting = manifests.len() - ready - failed;
    line(format!(
        "==> {ready} of {} example(s) Ready, {failed} failed, {waiting} still in progress (after {:.1} s)",
        manifests.len(),
        elapsed.as_secs_f64()
    ));
    if failed + waiting > 0 {
        line(format!(
            "    the operator's warnings are shown above and in {}",
            log_file.display()
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(generation: i64, observed: i64, status: &str, why: &str) -> Value {
        json!({
            "metadata": {"generation": generation},
            "spec": {"clientRef": {"name": "c"}},
            "status": {"observedGeneration": observed, "conditions": [
                {"type": "Ready", "status": status, "reason": why, "message": "m"}
            ]}
        })
    }

    #[test]
    fn failures_that_need_the_user_settle_the_report() {
        assert_eq!(outcome(&obj(1, 1, "True", "Synced"), None), Outcome::Ready);
        for why in NEEDS_USER {
            assert_eq!(outcome(&obj(1, 1, "False", why), None), Outcome::Failed);
        }
        for why in [
            "Reconciling",
            "Auth0Unavailable",
            "RateLimited",
            "KubernetesError",
        ] {
            assert_eq!(outcome(&obj(1, 1, "False", why), None), Outcome::Waiting);
        }
        // A status written for an older spec says nothing about the current one.
        assert_eq!(
            outcome(&obj(2, 1, "True", "Synced"), None),
            Outcome::Waiting
        );
        assert_eq!(outcome(&json!({"metadata": {}}), None), Outcome::Waiting);
    }

    #[test]
    fn a_grant_waiting_for_its_client_fails_only_with_it() {
        let grant = obj(1, 1, "False", "ClientNotReady");
        let pending = obj(1, 1, "False", "Reconciling");
        let failed = obj(1, 1, "False", "InvalidSpec");
        assert_eq!(outcome(&grant, Some(&pending)), Outcome::Waiting);
        assert_eq!(outcome(&grant, Some(&failed)), Outcome::Failed);
        assert_eq!(outcome(&grant, None), Outcome::Failed, "no such client");
    }
}
