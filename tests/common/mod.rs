//! Shared harness of the integration tests: a real kube-apiserver + etcd (envtest), the Auth0
//! simulator, the CRDs, and the operator running in-process (or as its binary). The benchmark
//! (`benches/operator.rs`) builds its world from it too: items only one of them uses are not
//! dead code.

#![allow(dead_code)]

pub mod jwt;
pub mod sim_http;

use std::{future::Future, sync::Arc, time::Duration};

use auth0_operator::{
    auth0::{Auth0Config, RateLimitConfig, RetryConfig},
    config::OperatorConfig,
    crd::{Auth0Client, Auth0ClientGrant, CONDITION_READY},
    envtest::{TestEnv, start_or_skip},
    http::Health,
    metrics::Metrics,
    sim::{SimConfig, Simulator},
};
use k8s_openapi::api::core::v1::Namespace;
use kube::{
    Api, Client,
    api::{ObjectMeta, PostParams},
};
use tokio::{sync::oneshot, task::JoinHandle};

pub const DOMAIN: &str = "tenant.auth0.test";
pub const MGMT_ID: &str = "operator-m2m";
pub const MGMT_SECRET: &str = "operator-m2m-secret-value";

/// A running test world.
pub struct World {
    pub env: TestEnv,
    pub sim: Arc<Simulator>,
    pub kube: Client,
}

/// Starts envtest (or returns None: the test is skipped loudly) + simulator, installs the CRDs.
pub async fn world(test: &str, audiences: &[&str]) -> Option<World> {
    let env = start_or_skip(test).await?;
    let sim = Simulator::start(sim_config(DOMAIN, audiences))
        .await
        .expect("simulator starts");
    let kube = env.client();
    install_crds(&kube).await;
    Some(World {
        env,
        sim: Arc::new(sim),
        kube,
    })
}

/// A simulated tenant `domain` whose management application is the operator's
/// ([`MGMT_ID`] / [`MGMT_SECRET`]), with `audiences` (APIs) defined.
pub fn sim_config(domain: &str, audiences: &[&str]) -> SimConfig {
    let mut cfg = SimConfig::new(domain, MGMT_ID, MGMT_SECRET);
    cfg.audiences = audiences.iter().map(|s| s.to_string()).collect();
    cfg
}

pub async fn install_crds(kube: &Client) {
    auth0_operator::install_crds(kube)
        .await
        .expect("CRDs installed and established");
}

pub async fn namespace(kube: &Client, name: &str) {
    create_namespace(kube, name)
        .await
        .expect("namespace created");
}

/// Creates namespace `name` (an error, 409, if it exists).
pub async fn create_namespace(kube: &Client, name: &str) -> kube::Result<Namespace> {
    let api: Api<Namespace> = Api::all(kube.clone());
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        ..Default::default()
    };
    api.create(&PostParams::default(), &ns).await
}

/// An `Auth0Client` named `name` with `spec` (namespace from the Api it is created through).
pub fn client_obj(name: &str, spec: serde_json::Value) -> Auth0Client {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
        "metadata": {"name": name}, "spec": spec
    }))
    .unwrap()
}

/// An `Auth0ClientGrant` named `name` with `spec`.
pub fn grant_obj(name: &str, spec: serde_json::Value) -> Auth0ClientGrant {
    serde_json::from_value(serde_json::json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0ClientGrant",
        "metadata": {"name": name}, "spec": spec
    }))
    .unwrap()
}

/// Creates an `Auth0Client` and then an `Auth0ClientGrant` in `ns`, one right after the other
/// (as `kubectl apply -f dir/` does).
pub async fn create_client_and_grant(
    kube: &Client,
    ns: &str,
    (client, client_spec): (&str, serde_json::Value),
    (grant, grant_spec): (&str, serde_json::Value),
) {
    let clients: Api<Auth0Client> = Api::namespaced(kube.clone(), ns);
    let grants: Api<Auth0ClientGrant> = Api::namespaced(kube.clone(), ns);
    clients
        .create(&PostParams::default(), &client_obj(client, client_spec))
        .await
        .expect("create the Auth0Client");
    grants
        .create(&PostParams::default(), &grant_obj(grant, grant_spec))
        .await
        .expect("create the Auth0ClientGrant");
}

/// The management application of `sim`'s tenant at the simulator's URL, with the operator's
/// defaults (timeouts, retries, client-side rate limit).
pub fn auth0_config(sim: &Simulator) -> Auth0Config {
    Auth0Config::new(sim.domain(), MGMT_ID, MGMT_SECRET)
        .with_base_url(sim.base_url().parse().expect("simulator URL"))
}

/// Operator settings pointing at the simulator, with quick retries and a loose rate limit.
pub fn operator_config(sim: &Simulator, resync: Duration) -> OperatorConfig {
    let mut auth0 = auth0_config(sim);
    auth0.retry = RetryConfig {
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        ..RetryConfig::default()
    };
    auth0.rate_limit = RateLimitConfig {
        burst: 50,
        per_second: 100.0,
        ..RateLimitConfig::default()
    };
    let mut config = OperatorConfig::new(auth0);
    config.resync_interval = resync;
    config.concurrency = 4;
    config
}

/// The operator running in this process.
pub struct Operator {
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<anyhow::Result<()>>,
    /// Its metrics (what `/metrics` would serve).
    pub metrics: Arc<Metrics>,
    /// Its health (`caches_synced`: what `/readyz` reports).
    pub health: Arc<Health>,
}

impl Operator {
    pub fn start(kube: &Client, config: OperatorConfig) -> Operator {
        let (tx, rx) = oneshot::channel::<()>();
        let metrics = Arc::new(Metrics::new());
        let health = Arc::new(Health::default());
        let (kube, m, h) = (kube.clone(), metrics.clone(), health.clone());
        let task = tokio::spawn(async move {
            auth0_operator::controller::run_with(kube, config, m, h, async move {
                let _ = rx.await;
            })
            .await
        });
        Operator {
            stop: Some(tx),
            task,
            metrics,
            health,
        }
    }

    /// Graceful stop; after 20 s without one, the task is aborted.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if tokio::time::timeout(Duration::from_secs(20), &mut self.task)
            .await
            .is_err()
        {
            self.task.abort();
        }
    }

    /// Waits up to `timeout` for every cache's initial list (polled every 10 ms): true once
    /// synced.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        let t = std::time::Instant::now();
        while t.elapsed() < timeout {
            if self
                .health
                .caches_synced
                .load(std::sync::atomic::Ordering::Relaxed)
            {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// Abrupt stop, like a killed process: no code of the operator runs after this.
    pub fn kill(self) {
        self.task.abort();
    }
}

/// Polls `f` every 100 ms until it returns `Some`, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `(status, reason, message)` of the Ready condition.
pub fn ready_of(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
) -> Option<(String, String, String)> {
    conditions
        .iter()
        .find(|c| c.type_ == CONDITION_READY)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Waits until the object has Ready with `status` and `reason`, and returns it.
pub async fn wait_ready<K>(
    api: &Api<K>,
    name: &str,
    status: &str,
    reason: &str,
    timeout: Duration,
) -> K
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let ready = |o: &K| {
        let v = serde_json::to_value(o).ok()?;
        let c = v["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == CONDITION_READY)?
            .clone();
        Some((
            c["status"].as_str()?.to_string(),
            c["reason"].as_str()?.to_string(),
            c["message"].as_str()?.to_string(),
        ))
    };
    let mut last = None;
    let r = tokio::time::timeout(timeout, async {
        loop {
            if let Ok(Some(o)) = api.get_opt(name).await {
                let r = ready(&o);
                if r.as_ref()
                    .is_some_and(|(s, re, _)| s == status && re == reason)
                {
                    return o;
                }
                last = r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    r.unwrap_or_else(|_| {
        panic!("{name} not Ready={status}/{reason} in {timeout:?}; last Ready: {last:?}")
    })
}

/// [`wait_ready`] for an Auth0Client.
pub async fn client_ready(
    api: &Api<Auth0Client>,
    name: &str,
    status: &str,
    reason: &str,
    timeout: Duration,
) -> Auth0Client {
    wait_ready(api, name, status, reason, timeout).await
}

/// [`wait_ready`] for an Auth0ClientGrant.
pub async fn grant_ready(
    api: &Api<Auth0ClientGrant>,
    name: &str,
    status: &str,
    reason: &str,
    timeout: Duration,
) -> Auth0ClientGrant {
    wait_ready(api, name, status, reason, timeout).await
}

/// Simulator clients tagged with a Kubernetes UID.
pub fn sim_clients_with_uid(sim: &Simulator, uid: &str) -> Vec<serde_json::Value> {
    sim.clients()
        .into_iter()
        .filter(|c| c["client_metadata"]["k8s_operator_uid"].as_str() == Some(uid))
        .collect()
}

/// Decoded string value of a Secret key.
pub fn secret_value(s: &k8s_openapi::api::core::v1::Secret, key: &str) -> Option<String> {
    s.data
        .as_ref()?
        .get(key)
        .map(|b| String::from_utf8(b.0.clone()).unwrap())
}

/// A free local TCP port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The operator binary with its log on stderr.
pub fn operator(w: &World, port: u16, extra: &[(&str, &str)]) -> tokio::process::Child {
    operator_with_log(w, port, extra, None)
}

/// The operator binary; its stderr goes to `log` when given (else it is inherited).
pub fn operator_with_log(
    w: &World,
    port: u16,
    extra: &[(&str, &str)],
    log: Option<&std::path::Path>,
) -> tokio::process::Child {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_auth0-operator"));
    run_against(&mut cmd, &w.env, &w.sim, port)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    if let Some(log) = log {
        cmd.stderr(std::fs::File::create(log).expect("log file"));
    }
    cmd.spawn().expect("operator binary starts")
}

/// `cmd` (the operator binary, or a command that runs it) as `… run` against `env`'s API server
/// and `sim`'s tenant (its domain, the management application of [`sim_config`]), serving
/// `/metrics` and the probes on `127.0.0.1:port`.
pub fn run_against<'a>(
    cmd: &'a mut tokio::process::Command,
    env: &TestEnv,
    sim: &Simulator,
    port: u16,
) -> &'a mut tokio::process::Command {
    cmd.arg("run")
        .env("KUBECONFIG", env.kubeconfig_path())
        .env("AUTH0_DOMAIN", sim.domain())
        .env("AUTH0_CLIENT_ID", MGMT_ID)
        .env("AUTH0_CLIENT_SECRET", MGMT_SECRET)
        .env("AUTH0_BASE_URL", sim.base_url())
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
}

/// A small seeded generator (xorshift64*), so that a failing seed replays the same schedule.
pub struct Seeded(pub u64);

impl Seeded {
    /// The seed in the environment variable `var`, else one from the clock (printed by the
    /// caller so that a failure can be replayed).
    pub fn from_env(var: &str) -> Self {
        Seeded(
            std::env::var(var)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .unwrap()
                        .as_nanos() as u64
                        | 1
                }),
        )
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (`0` for `n = 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True `percent` % of the time.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// `POST /oauth/token` at the simulator with `body`: the status (0 when it could not be sent).
pub async fn token_request(sim: &Simulator, body: serde_json::Value) -> u16 {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
        .post(format!("{}/oauth/token", sim.base_url()))
        .json(&body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}

/// `name` on PATH, else in the cache that scripts/tools.sh fills.
pub fn find_tool(name: &str) -> Option<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    let cache = std::env::var_os("AUTH0_OPERATOR_CACHE")
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME")
                .map(|d| std::path::PathBuf::from(d).join("auth0-operator"))
        })
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| std::path::PathBuf::from(h).join(".cache/auth0-operator"))
        });
    if let Some(c) = cache {
        dirs.push(c.join("tools/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|f| f.is_file())
}

/// Runs `cmd`: its stdout, or an error with the command, its exit status, stdout and stderr.
pub fn run(cmd: &mut std::process::Command) -> Result<String, String> {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!(
            "{cmd:?} failed ({}):\n{stdout}\n{stderr}",
            out.status
        ))
    }
}

/// Sum of the samples of `name` (exact metric name) whose labels include every `filters` pair.
pub fn metric_sum(text: &str, name: &str, filters: &[(&str, &str)]) -> f64 {
    metric_samples(text, name)
        .into_iter()
        .filter(|(labels, _)| {
            filters
                .iter()
                .all(|(k, v)| labels.contains(&format!("{k}=\"{v}\"")))
        })
        .map(|(_, v)| v)
        .sum()
}

/// `(labels, value)` of every sample of `name`.
pub fn metric_samples(text: &str, name: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, labels) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            (n == name).then(|| (labels.to_string(), value.parse().unwrap_or(0.0)))
        })
        .collect()
}
