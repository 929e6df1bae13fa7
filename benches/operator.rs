//! Figures for the product targets, measured against a real kube-apiserver + etcd (envtest) and
//! the Auth0 simulator. A benchmark reports; it never fails on a missed target.
//!
//! ```sh
//! export KUBEBUILDER_ASSETS=$HOME/.cache/auth0-operator/envtest/1.20.2
//! cargo bench --bench operator                       # everything, N = 1000
//! BENCH_N=100 BENCH_SCENARIOS=converge,steady cargo bench --bench operator
//! cargo bench --bench operator -- n=200 concurrency=8,16,32 scenarios=converge
//! cargo bench --bench operator -- scenarios=tenants tenants=4 tenant_n=250
//! ```
//!
//! Settings (environment variable, or `key=value` argument after `--`):
//!
//! | variable | argument | default | meaning |
//! | --- | --- | --- | --- |
//! | `BENCH_N` | `n` | 1000 | clients (and as many grants) of `converge` / `steady` |
//! | `BENCH_SCENARIOS` | `scenarios` | all | `tenants,converge,steady,latency,memory,ready,curve` |
//! | `BENCH_CONCURRENCY` | `concurrency` | `8,16,64` | operator concurrencies tried by `converge` |
//! | `BENCH_RESYNC_SECS` | `resync` | 30 | resync interval of the `steady` run |
//! | `BENCH_LATENCY_N` | `latency_n` | 100 | sequential applies of `latency` |
//! | `BENCH_MEM_CRS` | `mem_crs` | 5000 | custom resources of `memory` (half clients, half grants) |
//! | `BENCH_READY_TRIALS` | `ready_trials` | 3 | spawns per case of `ready` |
//! | `BENCH_OPERATOR_BIN` | `bin` | the bench build's `auth0-operator` | binary of `memory` / `ready` / `curve` |
//! | `BENCH_OPERATOR_PREFIX` | `prefix` | none | command the binary runs under, e.g. `heaptrack -o heap-{label}` |
//! | `BENCH_MEM_RESTART_BINS` | | none | `label=path,…`: each restarted in turn after `memory` (paired VmRSS) |
//! | `BENCH_MEM_RESTART_ROUNDS` | | 3 | rounds of `BENCH_MEM_RESTART_BINS` |
//! | `BENCH_MEM_RESTART_PREFIX` | | none | each once more under this profiler, killed after its pass |
//! | `BENCH_MEM_CURVE` | `curve` | `1000,5000,10000,20000` | object counts of `curve` |
//! | `BENCH_TENANTS` | `tenants` | 4 | `Auth0Tenant`s of `tenants` (one namespace and simulator each) |
//! | `BENCH_TENANT_N` | `tenant_n` | 250 | clients (and as many grants) per tenant of `tenants` |
//! | `BENCH_TENANT_CONCURRENCY` | `tenant_concurrency` | `8,16,32` | operator concurrencies tried by `tenants` |
//! | `BENCH_TENANT_WATCH` | `tenant_watch` | `all` | `all` and/or `namespaces` (`WATCH_NAMESPACES` = the tenants') |
//! | `BENCH_CONNECTIONS` | `connections` | none | connection names every client's `spec.connections` holds (e.g. `Username-Password-Authentication`) |
//!
//! Scenarios (see benches/README.md for what each measures and the latest figures):
//!
//! 1. `converge`: N clients + N grants against a simulator rate-limited like an Enterprise
//!    production tenant (burst 50, 16/s); time from operator start until all are Ready=True,
//!    compared with the bound the rate limit sets ([`min_api_requests`]).
//! 2. `steady`: the converged world, operator restarted with a short resync; Auth0 requests per
//!    managed object during one resync interval.
//! 3. `latency`: idle operator, sequential `Auth0Client` creates, apply → Secret exists.
//! 4. `memory`: the operator binary with 5,000 custom resources; VmRSS / VmHWM once all Ready.
//! 5. `ready`: spawn of the binary → `/readyz` 200, with no objects and with 5,000; the time
//!    split into the API server's initial lists and the operator's own share.
//! 6. `tenants` (run first: its operator watches every namespace): several `Auth0Tenant`s, each
//!    a simulator limited like `converge`'s, with its own clients and grants; time from operator
//!    start until all are Ready=True, compared with the bound of *one* tenant (tenants do not
//!    share a budget, so they should converge side by side).
//! 7. `curve`: the binary's steady RSS against object count (an empty process, then 1,000 …
//!    20,000 objects in sync), per object beyond the empty process; a table and an SVG plot.
//!
//! The world (namespaces, custom resources, simulators, the operator in-process or as its
//! binary) is built with the integration tests' harness, `tests/common`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::{
    collections::{BTreeMap, HashMap},
    path::PathBuf,
    process::Stdio,
    sync::Arc,
    time::{Duration, Instant},
};

use auth0_operator::{
    auth0::Auth0Config,
    config::OperatorConfig,
    controller::store_ready,
    crd::{Auth0Client, Auth0ClientGrant, Auth0Tenant, HasConditions, ready_condition},
    envtest::TestEnv,
    sim::{RateLimit, RecordedRequest, Simulator},
};
use common::{
    MGMT_ID, MGMT_SECRET, Operator, client_obj, free_port, grant_obj, metric_samples, metric_sum,
};
use futures::{FutureExt, StreamExt, future::BoxFuture};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    runtime::{
        WatchStreamExt,
        reflector::{self, Store},
        watcher,
    },
};
use parking_lot::Mutex;
use serde_json::json;
use tokio::task::JoinHandle;

/// Tenant domain of the simulators (the `tenants` scenario's have their own); the management
/// application is the tests' ([`MGMT_ID`]).
const DOMAIN: &str = "bench.auth0.test";
const AUDIENCE: &str = "https://orders.example.com/api";

/// Enterprise production tenant: Management API burst 50, 16 requests per second.
const TENANT_BURST: u32 = 50;
const TENANT_RATE: f64 = 16.0;
/// Auth0 list endpoints return at most 100 items per page (what the operator asks for).
const PER_PAGE: usize = 100;

/// The simulator's limit of an Enterprise production tenant ([`TENANT_BURST`], [`TENANT_RATE`]).
fn enterprise_limit() -> RateLimit {
    RateLimit {
        burst: TENANT_BURST,
        per_second: TENANT_RATE,
    }
}

// ------------------------------------------------------------------------------------ options

struct Opts {
    n: usize,
    scenarios: Vec<String>,
    concurrency: Vec<u16>,
    resync: Duration,
    latency_n: usize,
    mem_crs: usize,
    ready_trials: usize,
    bin: PathBuf,
    /// Command the binary is run under (`heaptrack -o …`): profiles, not figures.
    prefix: Vec<String>,
    /// Object counts of `curve`.
    curve: Vec<usize>,
    tenants: usize,
    tenant_n: usize,
    tenant_concurrency: Vec<u16>,
    tenant_watch: Vec<Watch>,
}

impl Opts {
    fn parse() -> Opts {
        let mut kv: HashMap<String, String> = HashMap::new();
        for (env, key) in [
            ("BENCH_N", "n"),
            ("BENCH_SCENARIOS", "scenarios"),
            ("BENCH_CONCURRENCY", "concurrency"),
            ("BENCH_RESYNC_SECS", "resync"),
            ("BENCH_LATENCY_N", "latency_n"),
            ("BENCH_MEM_CRS", "mem_crs"),
            ("BENCH_READY_TRIALS", "ready_trials"),
            ("BENCH_OPERATOR_BIN", "bin"),
            ("BENCH_OPERATOR_PREFIX", "prefix"),
            ("BENCH_MEM_CURVE", "curve"),
            ("BENCH_TENANTS", "tenants"),
            ("BENCH_TENANT_N", "tenant_n"),
            ("BENCH_TENANT_CONCURRENCY", "tenant_concurrency"),
            ("BENCH_TENANT_WATCH", "tenant_watch"),
            ("BENCH_CONNECTIONS", "connections"),
        ] {
            if let Ok(v) = std::env::var(env)
                && !v.trim().is_empty()
            {
                kv.insert(key.to_string(), v.trim().to_string());
            }
        }
        // `cargo bench` passes `--bench`; anything that is not `key=value` is ignored.
        for arg in std::env::args().skip(1) {
            if let Some((k, v)) = arg.trim_start_matches('-').split_once('=') {
                kv.insert(k.to_string(), v.to_string());
            }
        }
        let num = |k: &str, d: usize| -> usize {
            kv.get(k)
                .map(|v| {
                    v.parse()
                        .unwrap_or_else(|_| panic!("{k}={v}: not a number"))
                })
                .unwrap_or(d)
        };
        let scenarios = kv
            .get("scenarios")
            .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
            .unwrap_or_else(|| {
                [
                    "tenants", "converge", "steady", "latency", "memory", "ready", "curve",
                ]
                .map(String::from)
                .to_vec()
            });
        let list = |k: &str, d: &[u16]| -> Vec<u16> {
            kv.get(k)
                .map(|s| {
                    s.split(',')
                        .map(|x| {
                            x.trim()
                                .parse()
                                .unwrap_or_else(|_| panic!("{k}: comma-separated numbers"))
                        })
                        .collect()
                })
                .unwrap_or_else(|| d.to_vec())
        };
        let connections: Vec<String> = kv
            .get("connections")
            .map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
            .unwrap_or_default();
        let _ = CONNECTIONS.set(connections);
        let concurrency = list("concurrency", &[8, 16, 64]);
        let tenant_concurrency = list("tenant_concurrency", &[8, 16, 32]);
        let bin = kv
            .get("bin")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_auth0-operator")));
        Opts {
            n: num("n", 1000),
            scenarios,
            concurrency,
            resync: Duration::from_secs(num("resync", 30) as u64),
            latency_n: num("latency_n", 100),
            mem_crs: num("mem_crs", 5000),
            ready_trials: num("ready_trials", 3).max(1),
            bin,
            prefix: kv
                .get("prefix")
                .map(|s| s.split_whitespace().map(String::from).collect())
                .unwrap_or_default(),
            curve: kv
                .get("curve")
                .map(|s| {
                    s.split(',')
                        .map(|x| {
                            x.trim()
                                .parse()
                                .unwrap_or_else(|_| panic!("curve: comma-separated numbers"))
                        })
                        .collect()
                })
                .unwrap_or_else(|| vec![1000, 5000, 10000, 20000]),
            tenants: num("tenants", 4).max(1),
            tenant_n: num("tenant_n", 250),
            tenant_concurrency,
            tenant_watch: kv
                .get("tenant_watch")
                .map(|s| s.split(',').map(Watch::parse).collect())
                .unwrap_or_else(|| vec![Watch::All]),
        }
    }

    fn wants(&self, s: &str) -> bool {
        self.scenarios.iter().any(|x| x == s)
    }
}

// ------------------------------------------------------------------------------------ report

struct Row {
    figure: String,
    target: String,
    measured: String,
    /// `None`: informational, no verdict.
    met: Option<bool>,
}

fn row(
    figure: impl Into<String>,
    target: &str,
    measured: impl Into<String>,
    met: Option<bool>,
) -> Row {
    Row {
        figure: figure.into(),
        target: target.into(),
        measured: measured.into(),
        met,
    }
}

fn print_table(rows: &[Row]) {
    let verdict = |r: &Row| match r.met {
        Some(true) => "met",
        Some(false) => "NOT MET",
        None => "-",
    };
    let w0 = rows
        .iter()
        .map(|r| r.figure.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let w1 = rows
        .iter()
        .map(|r| r.target.len())
        .max()
        .unwrap_or(0)
        .max(6);
    let w2 = rows
        .iter()
        .map(|r| r.measured.len())
        .max()
        .unwrap_or(0)
        .max(8);
    println!();
    println!(
        "| {:w0$} | {:w1$} | {:w2$} | verdict |",
        "figure", "target", "measured"
    );
    println!(
        "|-{}-|-{}-|-{}-|---------|",
        "-".repeat(w0),
        "-".repeat(w1),
        "-".repeat(w2)
    );
    for r in rows {
        println!(
            "| {:w0$} | {:w1$} | {:w2$} | {:7} |",
            r.figure,
            r.target,
            r.measured,
            verdict(r)
        );
    }
    println!();
}

macro_rules! progress {
    ($($t:tt)*) => {{
        println!("[{:>7.1}s] {}", START.get().map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0), format!($($t)*));
    }};
}

static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

// ------------------------------------------------------------------------------------ main

fn main() {
    START.get_or_init(Instant::now);
    if TestEnv::assets_dir().is_none() {
        println!(
            "benches/operator: KUBEBUILDER_ASSETS is not set, so there is no kube-apiserver to \
             benchmark against; nothing was measured.\n  export \
             KUBEBUILDER_ASSETS=$HOME/.cache/auth0-operator/envtest/1.20.2   \
             # or: export KUBEBUILDER_ASSETS=\"$(scripts/envtest-assets.sh)\"\n  then: cargo \
             bench --bench operator"
        );
        return;
    }
    auth0_operator::auth0::install_crypto_provider();
    let opts = Opts::parse();
    init_in_process_logs();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let rows = rt.block_on(run(&opts));
    println!(
        "== auth0-operator benchmark: N={} clients + {} grants, concurrency {:?}, {} cores ==",
        opts.n,
        opts.n,
        opts.concurrency,
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0)
    );
    if opts.wants("tenants") {
        println!(
            "== tenants: {} tenants × ({} clients + {} grants), concurrency {:?}, watch {:?} ==",
            opts.tenants, opts.tenant_n, opts.tenant_n, opts.tenant_concurrency, opts.tenant_watch
        );
    }
    print_table(&rows);
}

async fn run(opts: &Opts) -> Vec<Row> {
    let mut rows = Vec::new();
    progress!(
        "starting envtest (etcd + kube-apiserver); scenarios {:?}, N={}",
        opts.scenarios,
        opts.n
    );
    let env = match TestEnv::start().await {
        Ok(env) => env,
        Err(e) => {
            rows.push(row("envtest", "starts", format!("error: {e}"), Some(false)));
            return rows;
        }
    };
    let kube = env.client();
    common::install_crds(&kube).await;
    progress!("control plane up at {}", env.server_url());

    // First: its operator watches every namespace, so no other scenario's objects may exist yet.
    if opts.wants("tenants") {
        let plan: Vec<(Watch, u16)> = opts
            .tenant_watch
            .iter()
            .flat_map(|w| opts.tenant_concurrency.iter().map(move |c| (*w, *c)))
            .collect();
        for (run, (watch, c)) in plan.iter().copied().enumerate() {
            if let Err(e) =
                tenants(&kube, opts.tenants, opts.tenant_n, c, watch, run, &mut rows).await
            {
                rows.push(row(
                    format!("tenants c={c} ({watch:?})"),
                    "converges",
                    format!("error: {e}"),
                    Some(false),
                ));
            }
            // The next run's operator watches every namespace; the other scenarios find the
            // cluster as they would without this one.
            let more = run + 1 < plan.len() || opts.scenarios.iter().any(|s| s != "tenants");
            if more {
                progress!("tenants: removing run {run}'s objects");
                for i in 0..opts.tenants {
                    if let Err(e) = clear_tenant_ns(&kube, &tenant_ns(run, c, i)).await {
                        progress!("  could not clear {}: {e}", tenant_ns(run, c, i));
                    }
                }
            }
        }
    }

    // converge (and steady, which needs a converged world)
    let mut converged: Option<Converged> = None;
    if opts.wants("converge") || opts.wants("steady") {
        let concs = if opts.wants("converge") {
            opts.concurrency.clone()
        } else {
            vec![*opts.concurrency.last().unwrap_or(&16)]
        };
        for c in concs {
            match converge(&kube, opts.n, c, &mut rows).await {
                Ok(w) => converged = Some(w),
                Err(e) => rows.push(row(
                    format!("converge c={c}"),
                    "converges",
                    format!("error: {e}"),
                    Some(false),
                )),
            }
        }
    }
    if opts.wants("steady") {
        match &converged {
            Some(w) => {
                if let Err(e) = steady(&kube, w, opts.resync, &mut rows).await {
                    rows.push(row("steady", "runs", format!("error: {e}"), Some(false)));
                }
            }
            None => rows.push(row(
                "steady",
                "runs",
                "skipped: nothing converged",
                Some(false),
            )),
        }
    }
    drop(converged);

    if opts.wants("latency")
        && let Err(e) = latency(&kube, opts.latency_n, &mut rows).await
    {
        rows.push(row("latency", "runs", format!("error: {e}"), Some(false)));
    }

    let bin = Binary {
        path: opts.bin.clone(),
        prefix: opts.prefix.clone(),
    };
    let spawns = opts.wants("memory") || opts.wants("ready") || opts.wants("curve");
    if spawns && !bin.path.is_file() {
        rows.push(row(
            "memory/ready/curve",
            "binary exists",
            format!("{} is missing", bin.path.display()),
            Some(false),
        ));
    } else {
        if spawns {
            describe_binary(&bin).await;
        }
        let mut mem_world: Option<MemWorld> = None;
        if opts.wants("memory") {
            match memory(&env, &kube, &bin, opts.mem_crs, &mut rows).await {
                Ok(w) => mem_world = Some(w),
                Err(e) => rows.push(row("memory", "runs", format!("error: {e}"), Some(false))),
            }
        }
        if opts.wants("ready")
            && let Err(e) = ready(&env, &kube, &bin, opts, mem_world.as_ref(), &mut rows).await
        {
            rows.push(row("ready", "runs", format!("error: {e}"), Some(false)));
        }
        drop(mem_world);
        if opts.wants("curve")
            && let Err(e) = curve(&env, &kube, &bin, &opts.curve, &mut rows).await
        {
            rows.push(row("curve", "runs", format!("error: {e}"), Some(false)));
        }
    }
    progress!("operator logs: {}", logs_dir().display());
    progress!("stopping the control plane");
    env.stop().await;
    rows
}

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

// ------------------------------------------------------------------------------------ world

/// Creates namespace `name`, or finds it there.
async fn namespace(kube: &Client, name: &str) -> Res<()> {
    match common::create_namespace(kube, name).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A simulated tenant `domain` that defines [`AUDIENCE`].
async fn simulator(domain: &str, rate_limit: Option<RateLimit>) -> Res<Simulator> {
    let mut cfg = common::sim_config(domain, &[AUDIENCE]);
    cfg.rate_limit = rate_limit;
    Ok(Simulator::start(cfg).await?)
}

/// `spec` with `tenantRef: {name: tenant}` when a tenant is named (else the default tenant).
fn with_tenant(mut spec: serde_json::Value, tenant: Option<&str>) -> serde_json::Value {
    if let Some(t) = tenant {
        spec["tenantRef"] = json!({ "name": t });
    }
    spec
}

/// `BENCH_CONNECTIONS`: the connections every client names (none: the field is unset).
static CONNECTIONS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();

fn connections() -> &'static [String] {
    CONNECTIONS.get().map(Vec::as_slice).unwrap_or_default()
}

/// Spec of the `Auth0Client` `c{i}` in `ns`: a machine-to-machine application (naming
/// `BENCH_CONNECTIONS` when set).
fn client_spec(ns: &str, i: usize, tenant: Option<&str>) -> serde_json::Value {
    let mut spec = json!({"name": format!("{ns} client {i}"), "appType": "non_interactive"});
    if !connections().is_empty() {
        spec["connections"] = json!(connections());
    }
    with_tenant(spec, tenant)
}

/// Spec of the `Auth0ClientGrant` `g{i}`: `c{i}` may call [`AUDIENCE`].
fn grant_spec(i: usize, tenant: Option<&str>) -> serde_json::Value {
    let spec = json!({"clientRef": {"name": format!("c{i}")}, "audience": AUDIENCE, "scopes": ["read:orders"]});
    with_tenant(spec, tenant)
}

/// Creates with a few retries (the apiserver may shed load with 429/5xx under a burst);
/// an object that already exists counts as created.
async fn create_retrying<K>(api: &Api<K>, obj: &K) -> Res<()>
where
    K: kube::Resource + Clone + serde::Serialize + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let mut attempt = 0;
    loop {
        match api.create(&PostParams::default(), obj).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 409 => return Ok(()),
            Err(e) if attempt < 5 => {
                attempt += 1;
                progress!("create failed ({e}); retrying");
                tokio::time::sleep(Duration::from_millis(200 * attempt)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Creates `clients` Auth0Clients `c{i}` and `grants` Auth0ClientGrants `g{i}` (referencing
/// `c{i}`) with `parallel` requests in flight, all naming `tenant` (`None`: the default tenant).
/// Returns the wall time.
async fn create_objects(
    kube: &Client,
    ns: &str,
    clients: usize,
    grants: usize,
    parallel: usize,
    tenant: Option<&str>,
) -> Res<Duration> {
    create_objects_from(kube, ns, 0, clients, grants, parallel, tenant).await
}

/// [`create_objects`] for the indexes `first..` (clients below `clients`, grants below `grants`).
async fn create_objects_from(
    kube: &Client,
    ns: &str,
    first: usize,
    clients: usize,
    grants: usize,
    parallel: usize,
    tenant: Option<&str>,
) -> Res<Duration> {
    let capi: Api<Auth0Client> = Api::namespaced(kube.clone(), ns);
    let gapi: Api<Auth0ClientGrant> = Api::namespaced(kube.clone(), ns);
    let mut jobs: Vec<BoxFuture<'static, Res<()>>> = Vec::with_capacity(clients + grants);
    for i in first..clients.max(grants) {
        if i < clients {
            let obj = client_obj(&format!("c{i}"), client_spec(ns, i, tenant));
            let api = capi.clone();
            jobs.push(async move { create_retrying(&api, &obj).await }.boxed());
        }
        if i < grants {
            let obj = grant_obj(&format!("g{i}"), grant_spec(i, tenant));
            let api = gapi.clone();
            jobs.push(async move { create_retrying(&api, &obj).await }.boxed());
        }
    }
    let total = jobs.len();
    let t = Instant::now();
    let mut stream = futures::stream::iter(jobs).buffer_unordered(parallel);
    let mut done = 0usize;
    let mut last = Instant::now();
    while let Some(r) = stream.next().await {
        r?;
        done += 1;
        if last.elapsed() >= Duration::from_secs(5) {
            progress!("  created {done}/{total} objects in {ns}");
            last = Instant::now();
        }
    }
    Ok(t.elapsed())
}

fn is_ready<S: HasConditions>(s: Option<&S>) -> bool {
    s.and_then(|s| ready_condition(s.conditions()))
        .is_some_and(|c| c.status == "True")
}

/// `(clients ready, clients, grants ready, grants)` in `ns`, from one List of each kind.
async fn count_ready(kube: &Client, ns: &str) -> Res<(usize, usize, usize, usize)> {
    let capi: Api<Auth0Client> = Api::namespaced(kube.clone(), ns);
    let gapi: Api<Auth0ClientGrant> = Api::namespaced(kube.clone(), ns);
    let cs = capi.list(&ListParams::default()).await?;
    let gs = gapi.list(&ListParams::default()).await?;
    let cr = cs
        .items
        .iter()
        .filter(|c| is_ready(c.status.as_ref()))
        .count();
    let gr = gs
        .items
        .iter()
        .filter(|g| is_ready(g.status.as_ref()))
        .count();
    Ok((cr, cs.items.len(), gr, gs.items.len()))
}

// ------------------------------------------------------------------------------------ operator in-process

/// The operator's production defaults (client-side limiter 50:16, default retries), pointed at
/// the simulator and confined to `ns`.
fn op_config(sim: &Simulator, ns: &str, concurrency: u16, resync: Duration) -> OperatorConfig {
    let mut config = OperatorConfig::new(common::auth0_config(sim));
    config.resync_interval = resync;
    config.concurrency = concurrency;
    config.namespaces = vec![ns.to_string()];
    config
}

// ------------------------------------------------------------------------------------ metrics text

/// `reason=count` of failed reconciles, e.g. `ClientNotReady=12 RateLimited=0`.
fn errors_by_reason(text: &str) -> String {
    let mut by: BTreeMap<String, f64> = BTreeMap::new();
    for (labels, v) in metric_samples(text, "auth0_operator_reconcile_errors_total") {
        let reason = labels
            .split(',')
            .find_map(|kv| kv.strip_prefix("reason="))
            .unwrap_or("?")
            .trim_matches('"')
            .to_string();
        *by.entry(reason).or_default() += v;
    }
    if by.is_empty() {
        return "none".into();
    }
    by.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

// ------------------------------------------------------------------------------------ requests

/// `METHOD /path` with ids replaced by `{id}`; filtered grant lookups are told apart from
/// full listings.
fn endpoint(r: &RecordedRequest) -> String {
    let mut segs: Vec<&str> = r.path.split('/').collect();
    if segs.len() > 4 && segs[1] == "api" && segs[2] == "v2" {
        segs[4] = "{id}";
    }
    let mut e = format!("{} {}", r.method, segs.join("/"));
    if r.method == "GET"
        && let Some(q) = &r.query
    {
        if q.contains("client_id=") {
            e.push_str("?client_id=…&audience=… (one pair)");
        } else if q.contains("page=") {
            e.push_str(" (list page)");
        }
    }
    e
}

fn print_endpoints(reqs: &[RecordedRequest]) {
    let mut by: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in reqs {
        let e = by.entry(endpoint(r)).or_default();
        e.0 += 1;
        if r.status == 429 {
            e.1 += 1;
        }
    }
    for (e, (n, n429)) in by {
        progress!(
            "    {n:>6}  {e}{}",
            if n429 > 0 {
                format!("  ({n429} answered 429)")
            } else {
                String::new()
            }
        );
    }
}

fn pages(items: usize) -> usize {
    items.div_ceil(PER_PAGE).max(1)
}

/// The fewest Management API requests (the ones Auth0's rate limit counts) any operator needs to
/// converge `n` new clients and `n` new grants on a tenant already holding `existing_clients`
/// (listed with `is_global=false`) and `existing_grants`:
///
/// * client list pages: one pass over the tenant's clients, 100 per page (at least one request),
///   to adopt a client already tagged with the resource's UID rather than duplicate it (the
///   crash-safety promise: an operator killed after the create must find its client);
/// * `n` × `POST /api/v2/clients`: the create returns the client secret, so the Secret needs no
///   extra `GET`, and the create body carries the whole spec, so no `PATCH` follows;
/// * grant list pages: one pass over the tenant's grants (at least one request), to adopt a grant
///   that exists rather than run into a 409;
/// * `n` × `POST /api/v2/client-grants`.
///
/// Not counted: `POST /oauth/token` (one per process; the Authentication API has its own limit,
/// the Management API bucket does not count it, in Auth0 nor in the simulator), and nothing on
/// the Kubernetes side. The bound is then `(requests − burst) / rate`: the bucket starts full, so
/// the first `burst` requests are free and every further one costs `1 / rate` seconds.
///
/// With `BENCH_CONNECTIONS`: plus the connections' listing (one page of connections and one of
/// each connection's applications) and, per new client, one look at the connections Auth0
/// enabled it on (`GET /clients/{id}/connections`); a simulated tenant enables a new
/// application on every connection, so naming them all needs no PATCH.
fn min_api_requests(n: usize, existing_clients: usize, existing_grants: usize) -> usize {
    let connections = if connections().is_empty() {
        0
    } else {
        1 + connections().len() + n
    };
    pages(existing_clients) + n + pages(existing_grants) + n + connections
}

// ------------------------------------------------------------------------------------ 1. converge

struct Converged {
    ns: String,
    sim: Simulator,
    n: usize,
    concurrency: u16,
}

async fn converge(
    kube: &Client,
    n: usize,
    concurrency: u16,
    rows: &mut Vec<Row>,
) -> Res<Converged> {
    let ns = format!("bench-converge-c{concurrency}");
    progress!(
        "converge c={concurrency}: creating {n} Auth0Clients + {n} Auth0ClientGrants in {ns} (operator not running yet)"
    );
    namespace(kube, &ns).await?;
    let sim = simulator(DOMAIN, Some(enterprise_limit())).await?;
    let created_in = create_objects(kube, &ns, n, n, 16, None).await?;
    progress!(
        "  apiserver: {} objects created in {:.1}s ({:.0} objects/s, 16 in flight)",
        2 * n,
        created_in.as_secs_f64(),
        (2 * n) as f64 / created_in.as_secs_f64()
    );
    rows.push(row(
        format!("create {} CRs via kube API (apiserver only)", 2 * n),
        "(info)",
        format!(
            "{:.1} s, {:.0}/s",
            created_in.as_secs_f64(),
            (2 * n) as f64 / created_in.as_secs_f64()
        ),
        None,
    ));
    // What the operator's listings page through: the tenant's built-in clients too.
    let existing_clients = sim.all_clients().len();
    let existing_grants = sim.all_grants().len();
    let min_req = min_api_requests(n, existing_clients, existing_grants);
    let bound = (min_req.saturating_sub(TENANT_BURST as usize)) as f64 / TENANT_RATE;
    progress!(
        "  bound: {min_req} Management API requests at least (tenant holds {existing_clients} clients, {existing_grants} grants) → ({min_req} − {TENANT_BURST}) / {TENANT_RATE}/s = {bound:.1}s; target ≤ {:.1}s",
        bound * 1.1
    );
    // Tokens of the simulator's bucket refill while the objects are created; start full and fair.
    sim.set_rate_limit(Some(enterprise_limit()));
    sim.clear_requests();

    let op = Operator::start(
        kube,
        op_config(&sim, &ns, concurrency, Duration::from_secs(3600)),
    );
    let t0 = Instant::now();
    let deadline = Duration::from_secs_f64((bound * 3.0 + 120.0).max(180.0));
    let mut clients_done: Option<Duration> = None;
    let mut last_print = Instant::now();
    let mut last = (0, 0, 0, 0);
    let elapsed = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        match count_ready(kube, &ns).await {
            Ok(c) => last = c,
            Err(e) => progress!("  list failed: {e}"),
        }
        let (cr, ct, gr, gt) = last;
        if clients_done.is_none() && cr == n && ct == n {
            clients_done = Some(t0.elapsed());
        }
        if cr == n && gr == n && ct == n && gt == n {
            break Some(t0.elapsed());
        }
        if last_print.elapsed() >= Duration::from_secs(10) {
            let reqs = sim.requests();
            progress!(
                "  c={concurrency} t={:.0}s: clients Ready {cr}/{n}, grants Ready {gr}/{n}; Auth0 requests {} ({} × 429)",
                t0.elapsed().as_secs_f64(),
                reqs.len(),
                reqs.iter().filter(|r| r.status == 429).count()
            );
            last_print = Instant::now();
        }
        if t0.elapsed() > deadline {
            break None;
        }
    };
    let metrics_text = op.metrics.render();
    op.stop().await;
    let reqs = sim.requests();
    let api_reqs = reqs
        .iter()
        .filter(|r| r.path.starts_with("/api/v2"))
        .count();
    let n429 = reqs.iter().filter(|r| r.status == 429).count();
    let rl_errors = metric_sum(
        &metrics_text,
        "auth0_operator_reconcile_errors_total",
        &[("reason", "RateLimited")],
    );
    let reconciles = metric_sum(&metrics_text, "auth0_operator_reconciles_total", &[]);
    let managed = sim
        .clients()
        .iter()
        .filter(|c| c["client_metadata"]["k8s_operator_uid"].is_string())
        .count();
    let grants = sim
        .grants()
        .iter()
        .filter(|g| g["audience"] == AUDIENCE)
        .count();
    progress!(
        "  c={concurrency}: {} after {:.1}s (clients all Ready at {}); {} requests ({api_reqs} Management API, minimum {min_req}), {n429} × 429, reconciles {reconciles}, errors {}; Auth0 holds {managed} managed clients, {grants} grants",
        if elapsed.is_some() {
            "converged"
        } else {
            "NOT converged"
        },
        t0.elapsed().as_secs_f64(),
        clients_done
            .map(|d| format!("{:.1}s", d.as_secs_f64()))
            .unwrap_or_else(|| "-".into()),
        reqs.len(),
        errors_by_reason(&metrics_text)
    );
    progress!("  Auth0 requests by endpoint:");
    print_endpoints(&reqs);
    match elapsed {
        Some(t) => {
            let ratio = t.as_secs_f64() / bound.max(f64::EPSILON);
            rows.push(row(
                format!("converge {n}+{n}, c={concurrency}: time / rate-limit bound"),
                "≤ 1.1",
                format!(
                    "{:.2} ({:.1} s / {:.1} s; {api_reqs} API req, min {min_req})",
                    ratio,
                    t.as_secs_f64(),
                    bound
                ),
                Some(ratio <= 1.1),
            ));
        }
        None => rows.push(row(
            format!("converge {n}+{n}, c={concurrency}: time / rate-limit bound"),
            "≤ 1.1",
            format!(
                "timed out after {:.0} s: clients {}/{n}, grants {}/{n} Ready",
                deadline.as_secs_f64(),
                last.0,
                last.2
            ),
            Some(false),
        )),
    }
    rows.push(row(
        format!("converge c={concurrency}: reconciles failed by 429"),
        "0",
        format!("{} ({n429} × 429 answered)", rl_errors as u64),
        Some(rl_errors == 0.0),
    ));
    if managed != n || grants != n {
        rows.push(row(
            format!("converge c={concurrency}: Auth0 objects"),
            &format!("{n} + {n}"),
            format!("{managed} clients + {grants} grants"),
            Some(false),
        ));
    }
    Ok(Converged {
        ns,
        sim,
        n,
        concurrency,
    })
}

// ------------------------------------------------------------------------------------ 2. steady

async fn steady(kube: &Client, w: &Converged, resync: Duration, rows: &mut Vec<Row>) -> Res<()> {
    let objects = 2 * w.n;
    progress!(
        "steady: restarting the operator on {} ({objects} objects, in sync) with resync {}s",
        w.ns,
        resync.as_secs()
    );
    w.sim.clear_requests();
    let op = Operator::start(kube, op_config(&w.sim, &w.ns, w.concurrency, resync));
    let t0 = Instant::now();
    // The restart reconciles every object once (a resync pass from a cold cache).
    loop {
        let done = metric_sum(&op.metrics.render(), "auth0_operator_reconciles_total", &[]);
        if done >= objects as f64 {
            break;
        }
        if t0.elapsed() > Duration::from_secs(300) {
            op.stop().await;
            return Err(format!("restart pass incomplete: {done}/{objects} reconciles").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let pass = t0.elapsed();
    let cold = w.sim.requests();
    progress!(
        "  restart pass: {objects} reconciles in {:.1}s with {} Auth0 requests",
        pass.as_secs_f64(),
        cold.len()
    );
    print_endpoints(&cold);
    rows.push(row(
        "steady: Auth0 req / object, restart pass (cold cache)",
        "(info)",
        format!(
            "{:.4} ({} req / {objects})",
            cold.len() as f64 / objects as f64,
            cold.len()
        ),
        None,
    ));

    // One resync interval: every object comes back once, after resync + up to 10 % jitter.
    let base = metric_sum(&op.metrics.render(), "auth0_operator_reconciles_total", &[]);
    w.sim.clear_requests();
    let window = resync.mul_f64(1.1) + Duration::from_secs(5);
    progress!(
        "  watching one resync interval ({:.0}s window)",
        window.as_secs_f64()
    );
    tokio::time::sleep(window).await;
    let text = op.metrics.render();
    let reconciled = metric_sum(&text, "auth0_operator_reconciles_total", &[]) - base;
    op.stop().await;
    let reqs = w.sim.requests();
    let per = reqs.len() as f64 / objects as f64;
    progress!(
        "  one resync: {reconciled} reconciles, {} Auth0 requests ({per:.4} per object); errors {}",
        reqs.len(),
        errors_by_reason(&text)
    );
    print_endpoints(&reqs);
    rows.push(row(
        format!("steady: Auth0 req / object / resync ({objects} objects)"),
        "≤ 0.02",
        format!(
            "{per:.4} ({} req; {reconciled} reconciles in the window)",
            reqs.len()
        ),
        Some(per <= 0.02 && reconciled >= objects as f64),
    ));
    Ok(())
}

// ------------------------------------------------------------------------------------ 3. latency

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[idx.clamp(1, sorted.len()) - 1]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn latency(kube: &Client, count: usize, rows: &mut Vec<Row>) -> Res<()> {
    let ns = "bench-latency";
    namespace(kube, ns).await?;
    let sim = simulator(DOMAIN, None).await?;
    let op = Operator::start(kube, op_config(&sim, ns, 8, Duration::from_secs(600)));
    if !op.wait_synced(Duration::from_secs(30)).await {
        op.stop().await;
        return Err("operator caches not synced in 30 s".into());
    }
    // When each managed Secret was first seen, from a watch.
    let seen: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let secrets: Api<Secret> = Api::namespaced(kube.clone(), ns);
    let watch = {
        let seen = seen.clone();
        let wc = watcher::Config::default().labels("app.kubernetes.io/managed-by=auth0-operator");
        tokio::spawn(async move {
            let mut s = watcher(secrets, wc)
                .default_backoff()
                .applied_objects()
                .boxed();
            while let Some(ev) = s.next().await {
                if let Ok(sec) = ev {
                    seen.lock()
                        .entry(sec.name_any())
                        .or_insert_with(Instant::now);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await; // the watch is established
    let capi: Api<Auth0Client> = Api::namespaced(kube.clone(), ns);
    let apply_one = |name: String, i: usize| {
        let capi = capi.clone();
        let seen = seen.clone();
        async move {
            let obj = client_obj(&name, client_spec(ns, i, None));
            let secret = format!("{name}-auth0");
            let t = Instant::now();
            capi.create(&PostParams::default(), &obj).await?;
            let deadline = t + Duration::from_secs(30);
            loop {
                if let Some(at) = seen.lock().get(&secret) {
                    return Ok::<Duration, Box<dyn std::error::Error + Send + Sync>>(
                        at.saturating_duration_since(t),
                    );
                }
                if Instant::now() > deadline {
                    return Err(format!("Secret {secret} not created in 30 s").into());
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    };
    progress!(
        "latency: operator idle on {ns}; one warm-up apply (token + first listing), then {count} sequential applies"
    );
    let cold = apply_one("warmup".into(), 999_999).await;
    let mut lat = Vec::with_capacity(count);
    let mut failure = None;
    for i in 0..count {
        match apply_one(format!("l{i}"), i).await {
            Ok(d) => lat.push(d),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    watch.abort();
    let text = op.metrics.render();
    op.stop().await;
    if let Some(e) = failure {
        return Err(e);
    }
    let cold = cold?;
    lat.sort();
    let (p50, p90, p99, max) = (
        percentile(&lat, 50.0),
        percentile(&lat, 90.0),
        percentile(&lat, 99.0),
        *lat.last().unwrap_or(&Duration::ZERO),
    );
    let hist_sum = metric_sum(&text, "auth0_operator_reconcile_duration_seconds_sum", &[]);
    let hist_n = metric_sum(
        &text,
        "auth0_operator_reconcile_duration_seconds_count",
        &[],
    );
    progress!(
        "  apply → Secret: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms (cold first apply {:.1} ms); reconcile mean {:.1} ms over {hist_n} reconciles; {} Auth0 requests",
        ms(p50),
        ms(p90),
        ms(p99),
        ms(max),
        ms(cold),
        1000.0 * hist_sum / hist_n.max(1.0),
        sim.requests().len()
    );
    print_endpoints(&sim.requests());
    rows.push(row(
        format!("latency: apply → Secret p99 ({count} sequential)"),
        "< 250 ms",
        format!(
            "{:.1} ms (p50 {:.1}, p90 {:.1}, max {:.1}; cold first {:.1})",
            ms(p99),
            ms(p50),
            ms(p90),
            ms(max),
            ms(cold)
        ),
        Some(p99 < Duration::from_millis(250)),
    ));
    Ok(())
}

// ------------------------------------------------------------------------------------ binary

/// The operator binary the `memory`, `ready` and `curve` scenarios spawn, and the command it
/// runs under (none, or a profiler such as `heaptrack -o …`).
struct Binary {
    path: PathBuf,
    prefix: Vec<String>,
}

async fn describe_binary(b: &Binary) {
    let bin = &b.path;
    if !b.prefix.is_empty() {
        progress!(
            "operator binary runs under `{}`: a profile, not figures (RSS includes the profiler's own)",
            b.prefix.join(" ")
        );
    }
    let help = tokio::process::Command::new(bin)
        .arg("--help")
        .output()
        .await
        .map(|o| String::from_utf8_lossy(&o.stdout).to_string())
        .unwrap_or_default();
    let profile = if bin.components().any(|c| c.as_os_str() == "release") {
        "release profile"
    } else if bin.components().any(|c| c.as_os_str() == "debug") {
        "DEBUG profile (figures pessimistic)"
    } else {
        "profile not known from the path"
    };
    let features = if help.lines().any(|l| l.trim_start().starts_with("dev ")) {
        "built with features sim+envtest (unified from the dev-dependency; the operator image has neither)"
    } else {
        "default features"
    };
    progress!("operator binary: {} ({profile}, {features})", bin.display());
}

/// Where the operator's logs go (kept after the run): `$TMPDIR/auth0-operator-bench/`.
fn logs_dir() -> PathBuf {
    let d = std::env::temp_dir().join("auth0-operator-bench");
    let _ = std::fs::create_dir_all(&d);
    d
}

/// Warnings of the in-process operator go to `in-process.log` in [`logs_dir`].
fn init_in_process_logs() {
    let path = logs_dir().join("in-process.log");
    if let Ok(file) = std::fs::File::create(&path) {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("BENCH_LOG")
                    .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
            )
            .with_ansi(false)
            .with_writer(std::sync::Mutex::new(file))
            .try_init();
    }
}

struct Spawned {
    child: tokio::process::Child,
    port: u16,
    log: PathBuf,
    /// Runs under a profiler: the operator is a descendant of `child`.
    prefixed: bool,
}

/// Children of `pid` (from `/proc/<pid>/task/*/children`).
fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    if let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) {
        for t in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
                out.extend(s.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
            }
        }
    }
    out
}

impl Spawned {
    /// The operator's pid: the child, or under a profiler the descendant running the binary.
    fn pid(&self) -> u32 {
        let top = self.child.id().unwrap_or(0);
        if !self.prefixed {
            return top;
        }
        let mut queue = vec![top];
        while let Some(p) = queue.pop() {
            let comm = std::fs::read_to_string(format!("/proc/{p}/comm")).unwrap_or_default();
            // `comm` is the file name cut to 15 bytes: `auth0-operator` or a renamed copy.
            if comm.trim().starts_with("auth0-operator") {
                return p;
            }
            queue.extend(children(p));
        }
        top
    }

    async fn kill(mut self) {
        if self.prefixed {
            // A profiler writes its data when the operator exits: SIGTERM (a graceful
            // shutdown), then wait for the profiler to finish.
            let pid = self.pid();
            let _ = std::process::Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
            if tokio::time::timeout(Duration::from_secs(120), self.child.wait())
                .await
                .is_ok()
            {
                return;
            }
        }
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    async fn metrics(&self) -> Option<String> {
        reqwest::Client::new()
            .get(format!("http://127.0.0.1:{}/metrics", self.port))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()
    }

    fn log_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// Spawns `auth0-operator run` against the envtest kubeconfig and the simulator; returns it
/// with the instant just before the spawn.
fn spawn_operator(
    env: &TestEnv,
    bin: &Binary,
    sim: &Simulator,
    ns: &str,
    label: &str,
    extra: &[(&str, &str)],
) -> Res<(Spawned, Instant)> {
    let port = free_port();
    let log = logs_dir().join(format!("operator-{label}.log"));
    let out = std::fs::File::create(&log)?;
    let err = out.try_clone()?;
    let mut cmd = match bin.prefix.split_first() {
        None => tokio::process::Command::new(&bin.path),
        Some((first, rest)) => {
            // `{label}` in the prefix names each spawn's output (`heaptrack -o heap-{label}`).
            let mut c = tokio::process::Command::new(first);
            c.args(rest.iter().map(|a| a.replace("{label}", label)))
                .arg(&bin.path);
            c
        }
    };
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default());
    common::run_against(&mut cmd, env, sim, port)
        .env("RESYNC_INTERVAL", "10m")
        .env("WATCH_NAMESPACES", ns)
        .env(
            "RUST_LOG",
            std::env::var("BENCH_OPERATOR_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .kill_on_drop(true);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    // glibc allocator settings of the bench's environment reach the operator (experiments:
    // `MALLOC_ARENA_MAX=1`, `GLIBC_TUNABLES=glibc.malloc.…`).
    for (k, v) in std::env::vars_os() {
        if k.to_str()
            .is_some_and(|k| k.starts_with("MALLOC_") || k == "GLIBC_TUNABLES")
        {
            cmd.env(k, v);
        }
    }
    let t = Instant::now();
    let child = cmd.spawn()?;
    let prefixed = !bin.prefix.is_empty();
    Ok((
        Spawned {
            child,
            port,
            log,
            prefixed,
        },
        t,
    ))
}

/// Time from `spawned_at` until `/readyz` answers 200 (polled every 10 ms).
async fn time_to_ready(s: &mut Spawned, spawned_at: Instant, timeout: Duration) -> Res<Duration> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_millis(500))
        .build()?;
    let url = format!("http://127.0.0.1:{}/readyz", s.port);
    loop {
        if let Ok(r) = http.get(&url).send().await
            && r.status() == 200
        {
            return Ok(spawned_at.elapsed());
        }
        if let Ok(Some(status)) = s.child.try_wait() {
            return Err(format!("operator exited ({status}):\n{}", s.log_tail()).into());
        }
        if spawned_at.elapsed() > timeout {
            return Err(format!("not ready in {timeout:?}:\n{}", s.log_tail()).into());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `(VmRSS, VmHWM)` in KiB.
fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        s.lines()
            .find(|l| l.starts_with(name))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()
    };
    if let (Some(anon), Some(file)) = (field("RssAnon:"), field("RssFile:")) {
        eprintln!(
            "  (/proc/{pid}/status: RssAnon {:.1} MiB heap and stacks, RssFile {:.1} MiB mapped binary and libraries)",
            mib(anon),
            mib(file)
        );
    }
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

// ------------------------------------------------------------------------------------ 4. memory

struct MemWorld {
    ns: String,
    sim: Simulator,
    crs: usize,
}

/// The tenant is not rate limited here, and neither is the operator's client-side limiter
/// (`AUTH0_RATE_LIMIT=1000:1000`): the figure is memory at rest, not convergence time.
const MEM_RATE_LIMIT: (&str, &str) = ("AUTH0_RATE_LIMIT", "1000:1000");

async fn memory(
    env: &TestEnv,
    kube: &Client,
    bin: &Binary,
    crs: usize,
    rows: &mut Vec<Row>,
) -> Res<MemWorld> {
    let ns = "bench-memory".to_string();
    let (nc, ng) = (crs.div_ceil(2), crs / 2);
    namespace(kube, &ns).await?;
    let sim = simulator(DOMAIN, None).await?;
    progress!("memory: creating {nc} Auth0Clients + {ng} Auth0ClientGrants in {ns}");
    let created_in = create_objects(kube, &ns, nc, ng, 16, None).await?;
    progress!(
        "  created {crs} objects in {:.1}s ({:.0}/s)",
        created_in.as_secs_f64(),
        crs as f64 / created_in.as_secs_f64()
    );
    let (mut op, at) = spawn_operator(env, bin, &sim, &ns, "memory", &[MEM_RATE_LIMIT])?;
    let first_ready = time_to_ready(&mut op, at, Duration::from_secs(60)).await;
    match &first_ready {
        Ok(d) => progress!(
            "  binary (pid {}) ready {:.0} ms after spawn ({crs} CRs present, none reconciled)",
            op.pid(),
            ms(*d)
        ),
        Err(e) => {
            let msg = e.to_string();
            op.kill().await;
            return Err(msg.into());
        }
    }
    rows.push(row(
        format!("ready: spawn → /readyz, {crs} CRs present (first start)"),
        "≤ 1 s",
        format!("{:.0} ms", ms(*first_ready.as_ref().unwrap())),
        Some(*first_ready.as_ref().unwrap() <= Duration::from_secs(1)),
    ));
    let t0 = Instant::now();
    let mut peak_rss = 0u64;
    let mut last_print = Instant::now();
    let converged = loop {
        tokio::time::sleep(Duration::from_secs(2)).await;
        if let Some((rss, _)) = rss_kib(op.pid()) {
            peak_rss = peak_rss.max(rss);
        }
        if let Ok(Some(status)) = op.child.try_wait() {
            return Err(format!("operator exited ({status}):\n{}", op.log_tail()).into());
        }
        let (cr, ct, gr, gt) = count_ready(kube, &ns).await.unwrap_or_default();
        if cr == nc && ct == nc && gr == ng && gt == ng {
            break true;
        }
        if last_print.elapsed() >= Duration::from_secs(10) {
            progress!(
                "  t={:.0}s: clients Ready {cr}/{nc}, grants Ready {gr}/{ng}; RSS {:.1} MiB",
                t0.elapsed().as_secs_f64(),
                rss_kib(op.pid()).map(|r| mib(r.0)).unwrap_or(0.0)
            );
            last_print = Instant::now();
        }
        if t0.elapsed() > Duration::from_secs(900) {
            break false;
        }
    };
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (rss, hwm) = rss_kib(op.pid()).unwrap_or_default();
    let text = op.metrics().await.unwrap_or_default();
    progress!(
        "  {} after {:.0}s: VmRSS {:.1} MiB, VmHWM {:.1} MiB; errors {}; {} Auth0 requests",
        if converged {
            "all Ready"
        } else {
            "NOT all Ready"
        },
        t0.elapsed().as_secs_f64(),
        mib(rss),
        mib(hwm),
        errors_by_reason(&text),
        sim.requests().len()
    );
    op.kill().await;
    let label = if converged {
        "all Ready"
    } else {
        "NOT all Ready (timed out)"
    };
    rows.push(row(
        format!("memory: VmRSS, {crs} CRs, {label}"),
        "< 64 MiB",
        format!("{:.1} MiB", mib(rss)),
        Some(converged && rss < 64 * 1024),
    ));
    rows.push(row(
        format!("memory: VmHWM (peak) while converging {crs} CRs"),
        "< 64 MiB",
        format!("{:.1} MiB", mib(hwm)),
        Some(converged && hwm < 64 * 1024),
    ));

    // A restart on the converged set: the state a long-running operator is in after a resync.
    let (op, ready, pass) = restart_and_pass(env, bin, &sim, &ns, "memory-restart", crs).await?;
    let (rss2, hwm2) = rss_kib(op.pid()).unwrap_or_default();
    progress!(
        "  restart on the converged set: ready in {:.0} ms, one pass over {crs} objects in {:.1}s; VmRSS {:.1} MiB, VmHWM {:.1} MiB",
        ms(ready),
        pass.as_secs_f64(),
        mib(rss2),
        mib(hwm2)
    );
    op.kill().await;
    rows.push(row(
        format!("memory: VmRSS after restart + one pass, {crs} CRs in sync"),
        "< 64 MiB",
        format!("{:.1} MiB (VmHWM {:.1} MiB)", mib(rss2), mib(hwm2)),
        Some(rss2 < 64 * 1024 && hwm2 < 64 * 1024),
    ));
    restarts_compared(env, bin, &sim, &ns, crs).await?;
    Ok(MemWorld { ns, sim, crs })
}

/// `BENCH_MEM_RESTART_BINS=label=path,label=path` (and `BENCH_MEM_RESTART_ROUNDS`, default 3):
/// after `memory`, each binary is restarted on the same converged set in turn, round after
/// round, and its VmRSS after the pass printed — a paired comparison of builds on one world.
async fn restarts_compared(
    env: &TestEnv,
    bin: &Binary,
    sim: &Simulator,
    ns: &str,
    crs: usize,
) -> Res<()> {
    let Ok(list) = std::env::var("BENCH_MEM_RESTART_BINS") else {
        return Ok(());
    };
    let bins: Vec<(String, PathBuf)> = list
        .split(',')
        .filter_map(|x| x.split_once('='))
        .map(|(l, p)| (l.trim().to_string(), PathBuf::from(p.trim())))
        .collect();
    let rounds: usize = std::env::var("BENCH_MEM_RESTART_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let mut all: Vec<(String, Vec<f64>)> = bins.iter().map(|(l, _)| (l.clone(), vec![])).collect();
    for round in 0..rounds {
        for (i, (label, path)) in bins.iter().enumerate() {
            let b = Binary {
                path: path.clone(),
                prefix: bin.prefix.clone(),
            };
            let before = sim.requests().len();
            let (op, ready, pass) =
                restart_and_pass(env, &b, sim, ns, &format!("cmp-{label}-{round}"), crs).await?;
            let (rss, hwm) = rss_kib(op.pid()).unwrap_or_default();
            let rollup = std::fs::read_to_string(format!("/proc/{}/smaps_rollup", op.pid()))
                .unwrap_or_default();
            let pick = |k: &str| {
                rollup
                    .lines()
                    .find(|l| l.starts_with(k))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(mib)
                    .unwrap_or(0.0)
            };
            let text = op.metrics().await.unwrap_or_default();
            let reconciles = metric_sum(&text, "auth0_operator_reconciles_total", &[]);
            progress!(
                "  cmp round {round} {label}: ready {:.0} ms, pass {:.1}s ({reconciles} reconciles, {} Auth0 requests); VmRSS {:.1} MiB, VmHWM {:.1} MiB, Anonymous {:.1}, Private_Dirty {:.1}, Shared_Clean {:.1}, Private_Clean {:.1}",
                ms(ready),
                pass.as_secs_f64(),
                sim.requests().len() - before,
                mib(rss),
                mib(hwm),
                pick("Anonymous:"),
                pick("Private_Dirty:"),
                pick("Shared_Clean:"),
                pick("Private_Clean:"),
            );
            all[i].1.push(mib(rss));
            op.kill().await;
        }
    }
    for (label, v) in &all {
        progress!(
            "  cmp {label}: VmRSS {:?}",
            v.iter().map(|x| format!("{x:.1}")).collect::<Vec<_>>()
        );
    }
    // `BENCH_MEM_RESTART_PREFIX="heaptrack -o /tmp/heap-{label}"`: each binary once more under
    // the profiler, killed (SIGKILL) after its pass, so that what was never freed is the heap
    // held at that moment (`heaptrack_print --flamegraph-cost-type leaked`).
    if let Ok(prefix) = std::env::var("BENCH_MEM_RESTART_PREFIX") {
        for (label, path) in &bins {
            let b = Binary {
                path: path.clone(),
                prefix: prefix.split_whitespace().map(String::from).collect(),
            };
            let (mut op, _, pass) =
                restart_and_pass(env, &b, sim, ns, &format!("heap-{label}"), crs).await?;
            let (rss, _) = rss_kib(op.pid()).unwrap_or_default();
            progress!(
                "  heap {label}: pass {:.1}s, VmRSS under the profiler {:.1} MiB",
                pass.as_secs_f64(),
                mib(rss)
            );
            let _ = std::process::Command::new("kill")
                .args(["-KILL", &op.pid().to_string()])
                .status();
            let _ = tokio::time::timeout(Duration::from_secs(300), op.child.wait()).await;
        }
    }
    Ok(())
}

/// Spawns the binary on a converged namespace and waits for its start-up pass over `objects`
/// (that many reconciles), then 3 s more; returns it with its time to ready and the pass.
async fn restart_and_pass(
    env: &TestEnv,
    bin: &Binary,
    sim: &Simulator,
    ns: &str,
    label: &str,
    objects: usize,
) -> Res<(Spawned, Duration, Duration)> {
    let (mut op, at) = spawn_operator(env, bin, sim, ns, label, &[MEM_RATE_LIMIT])?;
    let ready = time_to_ready(&mut op, at, Duration::from_secs(120)).await?;
    let t1 = Instant::now();
    loop {
        let done = metric_sum(
            &op.metrics().await.unwrap_or_default(),
            "auth0_operator_reconciles_total",
            &[],
        );
        if done >= objects as f64 || t1.elapsed() > Duration::from_secs(900) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let pass = t1.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    Ok((op, ready, pass))
}

// ------------------------------------------------------------------------------------ 5. ready

async fn ready(
    env: &TestEnv,
    kube: &Client,
    bin: &Binary,
    opts: &Opts,
    mem: Option<&MemWorld>,
    rows: &mut Vec<Row>,
) -> Res<()> {
    let empty = "bench-empty";
    namespace(kube, empty).await?;
    let sim = simulator(DOMAIN, None).await?;
    let measure = |ns: String, label: String, sim: &Simulator| {
        let spawned = spawn_operator(env, bin, sim, &ns, &label, &[MEM_RATE_LIMIT]);
        async move {
            let (mut op, at) = spawned?;
            let r = time_to_ready(&mut op, at, Duration::from_secs(60)).await;
            let phases = Startup::read(&op).await;
            op.kill().await;
            r.map(|d| (d, phases))
        }
    };
    let mut none = Vec::new();
    for i in 0..opts.ready_trials {
        let (d, _) = measure(empty.to_string(), format!("ready-empty-{i}"), &sim).await?;
        progress!("ready: no objects, trial {i}: {:.0} ms", ms(d));
        none.push(d);
    }
    none.sort();
    let worst = *none.last().unwrap();
    rows.push(row(
        format!("ready: spawn → /readyz, no CRs (worst of {})", none.len()),
        "≤ 1 s",
        format!(
            "{:.0} ms (all: {})",
            ms(worst),
            none.iter()
                .map(|d| format!("{:.0}", ms(*d)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(worst <= Duration::from_secs(1)),
    ));

    // With objects: the memory scenario's converged namespace, else a fresh unreconciled one.
    let (ns, crs, msim) = match mem {
        Some(m) => (m.ns.clone(), m.crs, &m.sim),
        None => {
            let ns = "bench-ready".to_string();
            namespace(kube, &ns).await?;
            progress!("ready: creating {} CRs in {ns}", opts.mem_crs);
            create_objects(
                kube,
                &ns,
                opts.mem_crs.div_ceil(2),
                opts.mem_crs / 2,
                16,
                None,
            )
            .await?;
            (ns, opts.mem_crs, &sim)
        }
    };
    let mut with = Vec::new();
    let mut shares = Vec::new();
    let mut lists = Vec::new();
    let mut own_lists = Vec::new();
    for i in 0..opts.ready_trials {
        // What the API server takes to list the same objects for another client, just before.
        own_lists.push(list_time(kube, &ns).await?);
        let (d, phases) = measure(ns.clone(), format!("ready-full-{i}"), msim).await?;
        match phases {
            Some(p) => {
                let share = d.saturating_sub(p.lists());
                progress!(
                    "ready: {crs} CRs in {ns}, trial {i}: {:.0} ms = initial lists {:.0} ms (requested {:.0} ms after start, API server connected at {:.0} ms) + the operator's own {:.0} ms; the bench's list of the same: {:.0} ms",
                    ms(d),
                    ms(p.lists()),
                    p.watching * 1000.0,
                    p.connected * 1000.0,
                    ms(share),
                    ms(*own_lists.last().unwrap())
                );
                shares.push(share);
                lists.push(p.lists());
            }
            None => progress!(
                "ready: {crs} CRs in {ns}, trial {i}: {:.0} ms (no start-up phases in /metrics)",
                ms(d)
            ),
        }
        with.push(d);
    }
    let spread = |v: &mut Vec<Duration>| -> String {
        v.sort();
        match (v.first(), v.last()) {
            (Some(a), Some(b)) => format!("{:.0}–{:.0} ms", ms(*a), ms(*b)),
            _ => "—".into(),
        }
    };
    if !shares.is_empty() {
        let worst_share = *shares.iter().max().unwrap();
        rows.push(row(
            format!("ready: the operator's own share (spawn → /readyz minus its initial lists), {crs} CRs"),
            "≤ 1 s",
            spread(&mut shares),
            Some(worst_share <= Duration::from_secs(1)),
        ));
        rows.push(row(
            format!("ready: the API server's initial lists of {crs} CRs + Secrets, as the operator saw them"),
            "-",
            format!(
                "{} (the bench's own list of the same: {})",
                spread(&mut lists),
                spread(&mut own_lists)
            ),
            None,
        ));
    }
    with.sort();
    let worst = *with.last().unwrap();
    rows.push(row(
        format!(
            "ready: spawn → /readyz, {crs} CRs (worst of {})",
            with.len()
        ),
        "≤ 1 s",
        format!(
            "{:.0} ms (all: {})",
            ms(worst),
            with.iter()
                .map(|d| format!("{:.0}", ms(*d)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Some(worst <= Duration::from_secs(1)),
    ));
    Ok(())
}

/// The operator's `auth0_operator_startup_seconds` (seconds from its start).
struct Startup {
    connected: f64,
    watching: f64,
    synced: f64,
}

impl Startup {
    async fn read(op: &Spawned) -> Option<Startup> {
        let text = op.metrics().await?;
        let phase = |p: &str| {
            metric_samples(&text, "auth0_operator_startup_seconds")
                .into_iter()
                .find(|(labels, _)| labels.contains(&format!("phase=\"{p}\"")))
                .map(|(_, v)| v)
        };
        Some(Startup {
            connected: phase("connected")?,
            watching: phase("watching")?,
            synced: phase("synced")?,
        })
    }

    /// The initial lists: requested → every cache filled.
    fn lists(&self) -> Duration {
        Duration::from_secs_f64((self.synced - self.watching).max(0.0))
    }
}

/// How long the API server takes to list, for the bench, what the operator lists at start in
/// `ns`: both kinds and the operator's Secrets, at once, from its watch cache (`resourceVersion=0`).
async fn list_time(kube: &Client, ns: &str) -> Res<Duration> {
    let lp = ListParams::default().match_any();
    let secrets = ListParams::default()
        .match_any()
        .labels("app.kubernetes.io/managed-by=auth0-operator");
    let (capi, gapi, sapi) = (
        Api::<Auth0Client>::namespaced(kube.clone(), ns),
        Api::<Auth0ClientGrant>::namespaced(kube.clone(), ns),
        Api::<Secret>::namespaced(kube.clone(), ns),
    );
    let t = Instant::now();
    let (c, g, s) = tokio::join!(capi.list(&lp), gapi.list(&lp), sapi.list(&secrets));
    let took = t.elapsed();
    c?;
    g?;
    s?;
    // The same in pages of 500 (what `watcher::Config::page_size` asks for).
    let t = Instant::now();
    let mut pages = 0;
    let mut lp = ListParams::default().match_any().limit(500);
    loop {
        let l = capi.list(&lp).await?;
        pages += 1;
        match l.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    progress!(
        "  (Auth0Clients in pages of 500 from resourceVersion=0: {pages} pages in {:.0} ms)",
        ms(t.elapsed())
    );
    Ok(took)
}

// ------------------------------------------------------------------------------------ 6. tenants

/// Name of the `Auth0Tenant` in each namespace of `tenants`.
const TENANT_NAME: &str = "auth0";
/// Name of the Secret holding its management credentials.
const TENANT_SECRET: &str = "auth0-management";

/// Namespace of tenant `i` in run `run` (at concurrency `c`) of `tenants`.
fn tenant_ns(run: usize, c: u16, i: usize) -> String {
    format!("bench-tenants-{run}-c{c}-t{i}")
}

/// One tenant of `tenants`: a namespace holding the management Secret, the `Auth0Tenant` and
/// the resources that use it, and the simulator the tenant's `spec.baseUrl` points at.
struct BenchTenant {
    ns: String,
    /// The operator's key for the tenant: the `tenant` label of its `auth0_*` metrics.
    key: String,
    sim: Simulator,
}

/// One tenant's progress, as seen from the operator's start.
#[derive(Clone, Default)]
struct TenantProgress {
    /// `(clients ready, clients, grants ready, grants)`.
    ready: (usize, usize, usize, usize),
    /// Management API requests so far.
    requests: usize,
    /// When the operator's credentials check for it succeeded.
    verified: Option<Duration>,
    first_request: Option<Duration>,
    clients_done: Option<Duration>,
    done: Option<Duration>,
}

/// A namespace with a rate-limited simulator for `domain`, the management Secret and an
/// `Auth0Tenant` (operator defaults: no `spec.rateLimit`, so 50:16 client-side).
async fn bench_tenant(kube: &Client, ns: String, domain: String) -> Res<BenchTenant> {
    namespace(kube, &ns).await?;
    let sim = simulator(&domain, Some(enterprise_limit())).await?;
    let secret: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": TENANT_SECRET, "namespace": ns},
        "stringData": {"AUTH0_CLIENT_ID": MGMT_ID, "AUTH0_CLIENT_SECRET": MGMT_SECRET}
    }))?;
    create_retrying(&Api::namespaced(kube.clone(), &ns), &secret).await?;
    let tenant: Auth0Tenant = serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Tenant",
        "metadata": {"name": TENANT_NAME, "namespace": ns},
        "spec": {
            "domain": domain,
            "baseUrl": sim.base_url(),
            "credentialsSecretRef": {"name": TENANT_SECRET}
        }
    }))?;
    create_retrying(&Api::namespaced(kube.clone(), &ns), &tenant).await?;
    Ok(BenchTenant {
        key: format!("{ns}/{TENANT_NAME}"),
        ns,
        sim,
    })
}

/// The operator's production defaults — no default tenant, client-side limiter 50:16 per tenant,
/// default retries, every namespace watched (unless `namespaces` lists some) — except the tenant
/// policy, which admits `*.auth0.test` domains at simulator base URLs; resync 1 h as in
/// `converge`.
fn tenants_config(concurrency: u16, namespaces: Vec<String>) -> OperatorConfig {
    let mut config = OperatorConfig::new(Auth0Config::new(DOMAIN, MGMT_ID, MGMT_SECRET));
    config.auth0 = None;
    config.tenant_policy.allowed_domains = vec!["*.auth0.test".into()];
    config.tenant_policy.allow_base_url = true;
    config.resync_interval = Duration::from_secs(3600);
    config.concurrency = concurrency;
    config.namespaces = namespaces;
    config
}

fn secs(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.1}s", d.as_secs_f64()))
        .unwrap_or_else(|| "-".into())
}

/// How the operator of a `tenants` run watches: every namespace (the default: one controller
/// per kind, whose `concurrency` all tenants share), or only the tenants' namespaces
/// (`WATCH_NAMESPACES`: one controller per kind *and namespace*, here one per tenant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Watch {
    All,
    Namespaces,
}

impl Watch {
    fn parse(s: &str) -> Watch {
        match s.trim() {
            "all" => Watch::All,
            "namespaces" => Watch::Namespaces,
            other => panic!("tenant_watch={other}: expected all or namespaces"),
        }
    }
}

/// `count` tenants, each `n` clients + `n` grants in its own namespace, created before the
/// operator starts; operator start → every object Ready=True, against the bound of one tenant.
async fn tenants(
    kube: &Client,
    count: usize,
    n: usize,
    concurrency: u16,
    watch: Watch,
    run: usize,
    rows: &mut Vec<Row>,
) -> Res<()> {
    let c = concurrency;
    let label = match watch {
        Watch::All => format!("c={c}"),
        Watch::Namespaces => format!("c={c} per namespace"),
    };
    progress!(
        "tenants {label}: {count} tenants, each with {n} Auth0Clients + {n} Auth0ClientGrants in its own namespace (operator not running yet)"
    );
    let mut world = Vec::with_capacity(count);
    let mut created_in = Duration::ZERO;
    for i in 0..count {
        let t = bench_tenant(kube, tenant_ns(run, c, i), format!("t{i}.bench.auth0.test")).await?;
        created_in += create_objects(kube, &t.ns, n, n, 16, Some(TENANT_NAME)).await?;
        world.push(t);
    }
    let objects = count * 2 * n;
    progress!(
        "  apiserver: {objects} objects created in {:.1}s ({:.0} objects/s, 16 in flight)",
        created_in.as_secs_f64(),
        objects as f64 / created_in.as_secs_f64()
    );
    if run == 0 {
        rows.push(row(
            format!(
                "tenants: create {count} × {} CRs via kube API (apiserver only)",
                2 * n
            ),
            "(info)",
            format!(
                "{:.1} s, {:.0}/s",
                created_in.as_secs_f64(),
                objects as f64 / created_in.as_secs_f64()
            ),
            None,
        ));
    }
    // Tenants share no budget: the bound is one tenant's (they are identical and empty).
    let min_req = world
        .iter()
        .map(|t| min_api_requests(n, t.sim.all_clients().len(), t.sim.all_grants().len()))
        .max()
        .unwrap_or(0);
    let bound = (min_req.saturating_sub(TENANT_BURST as usize)) as f64 / TENANT_RATE;
    progress!(
        "  bound: one tenant's, {min_req} Management API requests at least → ({min_req} − {TENANT_BURST}) / {TENANT_RATE}/s = {bound:.1}s; target ≤ {:.1}s for all {count}",
        bound * 1.1
    );
    for t in &world {
        t.sim.set_rate_limit(Some(enterprise_limit()));
        t.sim.clear_requests();
    }

    let (namespaces, controllers) = match watch {
        Watch::All => (Vec::new(), 1),
        Watch::Namespaces => (world.iter().map(|t| t.ns.clone()).collect(), count),
    };
    // Readiness comes from a watch, not from Lists: listing 4 × 500 custom resources every
    // 500 ms would cost the 1.20 apiserver, on the operator's two cores, about as much CPU as the
    // operator's own writes.
    let ready = ReadyWatch::start(kube).await?;
    let op = Operator::start(kube, tenants_config(c, namespaces));
    let t0 = Instant::now();
    let deadline = Duration::from_secs_f64((bound * (count as f64 + 2.0) + 120.0).max(180.0));
    let mut prog = vec![TenantProgress::default(); count];
    let mut last_print = Instant::now();
    let converged = loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let text = op.metrics.render();
        for (t, p) in world.iter().zip(prog.iter_mut()) {
            if p.done.is_some() {
                continue;
            }
            let valid = [("tenant", t.key.as_str())];
            if p.verified.is_none()
                && metric_sum(&text, "auth0_operator_auth0_credentials_valid", &valid) >= 1.0
            {
                p.verified = Some(t0.elapsed());
            }
            p.requests = t
                .sim
                .requests()
                .iter()
                .filter(|r| r.path.starts_with("/api/v2"))
                .count();
            if p.first_request.is_none() && p.requests > 0 {
                p.first_request = Some(t0.elapsed());
            }
            p.ready = ready.count(&t.ns);
            let (cr, ct, gr, gt) = p.ready;
            if p.clients_done.is_none() && cr == n && ct == n {
                p.clients_done = Some(t0.elapsed());
            }
            if cr == n && ct == n && gr == n && gt == n {
                p.done = Some(t0.elapsed());
            }
        }
        if prog.iter().all(|p| p.done.is_some()) {
            break true;
        }
        if last_print.elapsed() >= Duration::from_secs(10) {
            let each: Vec<String> = prog
                .iter()
                .enumerate()
                .map(|(i, p)| format!("t{i} {}+{} Ready, {} req", p.ready.0, p.ready.2, p.requests))
                .collect();
            progress!(
                "  {label} t={:.0}s: {}",
                t0.elapsed().as_secs_f64(),
                each.join("; ")
            );
            last_print = Instant::now();
        }
        if t0.elapsed() > deadline {
            break false;
        }
    };
    let elapsed = prog
        .iter()
        .filter_map(|p| p.done)
        .max()
        .filter(|_| converged)
        .unwrap_or_else(|| t0.elapsed());
    let text = op.metrics.render();
    op.stop().await;
    drop(ready);

    let rl_errors = metric_sum(
        &text,
        "auth0_operator_reconcile_errors_total",
        &[("reason", "RateLimited")],
    );
    let reconciles = metric_sum(&text, "auth0_operator_reconciles_total", &[]);
    // How busy the reconcile slots were: reconcile time / (slots × wall time), per kind.
    let slots = (c as usize * controllers) as f64;
    let busy = |kind: &str| {
        let sum = metric_sum(
            &text,
            "auth0_operator_reconcile_duration_seconds_sum",
            &[("kind", kind)],
        );
        let n = metric_sum(
            &text,
            "auth0_operator_reconcile_duration_seconds_count",
            &[("kind", kind)],
        );
        (sum / (slots * elapsed.as_secs_f64()), sum / n.max(1.0), n)
    };
    let (cb, cm, cn) = busy("Auth0Client");
    let (gb, gm, gn) = busy("Auth0ClientGrant");
    progress!(
        "  {label}: {} after {:.1}s; reconciles {reconciles}, errors {}; reconcile slots ({slots} per kind) busy: clients {:.0} % ({cn} reconciles, mean {:.0} ms), grants {:.0} % ({gn}, mean {:.0} ms)",
        if converged {
            "all tenants converged"
        } else {
            "NOT converged"
        },
        elapsed.as_secs_f64(),
        errors_by_reason(&text),
        100.0 * cb,
        1000.0 * cm,
        100.0 * gb,
        1000.0 * gm
    );
    let mut api_per_tenant = Vec::with_capacity(count);
    let mut ratio_per_tenant = Vec::with_capacity(count);
    let mut n429_total = 0;
    let mut wrong_objects = Vec::new();
    for (i, (t, p)) in world.iter().zip(&prog).enumerate() {
        let reqs = t.sim.requests();
        let api_reqs = reqs
            .iter()
            .filter(|r| r.path.starts_with("/api/v2"))
            .count();
        let n429 = reqs.iter().filter(|r| r.status == 429).count();
        n429_total += n429;
        let tenant = [("tenant", t.key.as_str())];
        let seen429 = metric_sum(&text, "auth0_operator_auth0_rate_limited_total", &tenant);
        let waits = metric_sum(&text, "auth0_operator_auth0_throttle_waits_total", &tenant);
        let managed = t
            .sim
            .clients()
            .iter()
            .filter(|c| c["client_metadata"]["k8s_operator_uid"].is_string())
            .count();
        let grants = t
            .sim
            .grants()
            .iter()
            .filter(|g| g["audience"] == AUDIENCE)
            .count();
        if managed != n || grants != n {
            wrong_objects.push(format!("t{i} {managed}+{grants}"));
        }
        let ratio = p.done.map(|d| d.as_secs_f64() / bound.max(f64::EPSILON));
        progress!(
            "  tenant t{i} ({}): all Ready at {} ({} × bound); verified at {}, first Management API request at {}, clients all Ready at {}; {} requests ({api_reqs} Management API, minimum {min_req}), {n429} × 429 (operator saw {seen429}, throttle waits {waits}); Auth0 holds {managed} managed clients, {grants} grants",
            t.key,
            secs(p.done),
            ratio
                .map(|r| format!("{r:.2}"))
                .unwrap_or_else(|| "-".into()),
            secs(p.verified),
            secs(p.first_request),
            secs(p.clients_done),
            reqs.len()
        );
        print_endpoints(&reqs);
        api_per_tenant.push(format!("t{i} {api_reqs}"));
        ratio_per_tenant.push(format!(
            "t{i} {} (from {})",
            ratio
                .map(|r| format!("{r:.2}"))
                .unwrap_or_else(|| "-".into()),
            secs(p.first_request)
        ));
    }
    let figure = format!("tenants {count} × ({n}+{n}), {label}: time / one-tenant bound");
    if converged {
        let ratio = elapsed.as_secs_f64() / bound.max(f64::EPSILON);
        rows.push(row(
            figure,
            "≤ 1.1",
            format!("{ratio:.2} ({:.1} s / {bound:.1} s)", elapsed.as_secs_f64()),
            Some(ratio <= 1.1),
        ));
    } else {
        let each: Vec<String> = prog
            .iter()
            .enumerate()
            .map(|(i, p)| format!("t{i} {}+{}", p.ready.0, p.ready.2))
            .collect();
        rows.push(row(
            figure,
            "≤ 1.1",
            format!(
                "timed out after {:.0} s; Ready: {}",
                deadline.as_secs_f64(),
                each.join(", ")
            ),
            Some(false),
        ));
    }
    rows.push(row(
        format!("tenants {label}: per tenant (first Auth0 API call)"),
        "(info)",
        ratio_per_tenant.join(", "),
        None,
    ));
    rows.push(row(
        format!("tenants {label}: Management API requests per tenant"),
        "(info)",
        format!("{} (min {min_req})", api_per_tenant.join(", ")),
        None,
    ));
    rows.push(row(
        format!("tenants {label}: reconcile slots busy, clients / grants"),
        "(info)",
        format!(
            "{:.0} % / {:.0} % of {slots} (mean {:.0} / {:.0} ms)",
            100.0 * cb,
            100.0 * gb,
            1000.0 * cm,
            1000.0 * gm
        ),
        None,
    ));
    rows.push(row(
        format!("tenants {label}: reconciles failed by 429"),
        "0",
        format!("{} ({n429_total} × 429 answered)", rl_errors as u64),
        Some(rl_errors == 0.0),
    ));
    if !wrong_objects.is_empty() {
        rows.push(row(
            format!("tenants {label}: Auth0 objects per tenant"),
            &format!("{n} + {n}"),
            wrong_objects.join(", "),
            Some(false),
        ));
    }
    Ok(())
}

/// Ready counts per namespace from a watch of both kinds in every namespace.
struct ReadyWatch {
    clients: Store<Auth0Client>,
    grants: Store<Auth0ClientGrant>,
    tasks: Vec<JoinHandle<()>>,
}

impl ReadyWatch {
    /// Starts the watches and waits for their initial lists.
    async fn start(kube: &Client) -> Res<ReadyWatch> {
        let (clients, cw) = reflector::store();
        let (grants, gw) = reflector::store();
        let tasks = vec![
            tokio::spawn(
                watcher(
                    Api::<Auth0Client>::all(kube.clone()),
                    watcher::Config::default(),
                )
                .default_backoff()
                .reflect(cw)
                .for_each(|_| async {}),
            ),
            tokio::spawn(
                watcher(
                    Api::<Auth0ClientGrant>::all(kube.clone()),
                    watcher::Config::default(),
                )
                .default_backoff()
                .reflect(gw)
                .for_each(|_| async {}),
            ),
        ];
        let w = ReadyWatch {
            clients,
            grants,
            tasks,
        };
        let synced = async {
            store_ready(&w.clients).await;
            store_ready(&w.grants).await;
        };
        match tokio::time::timeout(Duration::from_secs(60), synced).await {
            Ok(()) => Ok(w),
            Err(_) => Err("watch of the custom resources: no initial list in 60 s".into()),
        }
    }

    /// `(clients ready, clients, grants ready, grants)` in `ns`.
    fn count(&self, ns: &str) -> (usize, usize, usize, usize) {
        let cs: Vec<_> = self
            .clients
            .state()
            .into_iter()
            .filter(|c| c.namespace().as_deref() == Some(ns))
            .collect();
        let gs: Vec<_> = self
            .grants
            .state()
            .into_iter()
            .filter(|g| g.namespace().as_deref() == Some(ns))
            .collect();
        (
            cs.iter().filter(|c| is_ready(c.status.as_ref())).count(),
            cs.len(),
            gs.iter().filter(|g| is_ready(g.status.as_ref())).count(),
            gs.len(),
        )
    }
}

impl Drop for ReadyWatch {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Removes what a `tenants` run left in `ns`: finalizers first (no operator runs to remove them),
/// then the objects, so that the next run's operator, which watches every namespace, sees only
/// its own. (Namespaces stay: envtest has no namespace controller to finish deleting them.)
async fn clear_tenant_ns(kube: &Client, ns: &str) -> Res<()> {
    strip_and_delete::<Auth0ClientGrant>(kube, ns).await?;
    strip_and_delete::<Auth0Client>(kube, ns).await?;
    strip_and_delete::<Auth0Tenant>(kube, ns).await?;
    Api::<Secret>::namespaced(kube.clone(), ns)
        .delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    Ok(())
}

async fn strip_and_delete<K>(kube: &Client, ns: &str) -> Res<()>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(kube.clone(), ns);
    let names: Vec<String> = api
        .list_metadata(&ListParams::default())
        .await?
        .items
        .iter()
        .map(|o| o.name_any())
        .collect();
    let patch = json!({"metadata": {"finalizers": null}});
    let results: Vec<Result<K, kube::Error>> = futures::stream::iter(names)
        .map(|name| {
            let (api, patch) = (api.clone(), patch.clone());
            async move {
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    for r in results {
        r?;
    }
    api.delete_collection(&DeleteParams::default(), &ListParams::default())
        .await?;
    Ok(())
}

// ------------------------------------------------------------------------------------ 7. curve

/// One point of the curve: RSS (KiB) of a process with `objects` custom resources in sync.
struct CurvePoint {
    objects: usize,
    /// The process that converged them (only the new ones), 5 s after the last was Ready.
    after_converge: u64,
    /// Its peak (VmHWM) while converging.
    converge_peak: u64,
    /// A fresh process after its start-up pass over all of them (the state after a resync).
    steady: u64,
}

/// Steady RSS against object count: an empty process first, then, for each count, the missing
/// objects are created (half clients, half grants), converged by one process, and measured in a
/// restarted process after one pass over all of them.
async fn curve(
    env: &TestEnv,
    kube: &Client,
    bin: &Binary,
    counts: &[usize],
    rows: &mut Vec<Row>,
) -> Res<()> {
    let ns = "bench-curve".to_string();
    namespace(kube, &ns).await?;
    let sim = simulator(DOMAIN, None).await?;
    let watch = ReadyWatch::start(kube).await?;

    let (mut op, at) = spawn_operator(env, bin, &sim, &ns, "curve-0", &[MEM_RATE_LIMIT])?;
    time_to_ready(&mut op, at, Duration::from_secs(60)).await?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let (empty, _) = rss_kib(op.pid()).ok_or("no /proc status")?;
    op.kill().await;
    progress!(
        "curve: empty process (no objects): VmRSS {:.1} MiB",
        mib(empty)
    );

    let mut points: Vec<CurvePoint> = Vec::new();
    let mut have = 0usize; // pairs (client + grant)
    let mut counts = counts.to_vec();
    counts.sort();
    for n in counts {
        let pairs = n / 2;
        if pairs > have {
            let took = create_objects_from(kube, &ns, have, pairs, pairs, 16, None).await?;
            progress!(
                "curve: created {} objects in {:.1}s",
                2 * (pairs - have),
                took.as_secs_f64()
            );
            have = pairs;
        }
        let label = format!("curve-{n}");
        let (mut op, at) = spawn_operator(env, bin, &sim, &ns, &label, &[MEM_RATE_LIMIT])?;
        time_to_ready(&mut op, at, Duration::from_secs(120)).await?;
        let t0 = Instant::now();
        loop {
            let (cr, ct, gr, gt) = watch.count(&ns);
            if cr == have && ct == have && gr == have && gt == have {
                break;
            }
            if let Ok(Some(status)) = op.child.try_wait() {
                return Err(format!("operator exited ({status}):\n{}", op.log_tail()).into());
            }
            if t0.elapsed() > Duration::from_secs(1800) {
                op.kill().await;
                return Err(format!("{n} objects not Ready in 30 min").into());
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let converged_in = t0.elapsed();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let (after_converge, converge_peak) = rss_kib(op.pid()).ok_or("no /proc status")?;
        op.kill().await;

        let label = format!("curve-{n}-restart");
        let (op, ready, pass) = restart_and_pass(env, bin, &sim, &ns, &label, 2 * have).await?;
        let (steady, _) = rss_kib(op.pid()).ok_or("no /proc status")?;
        op.kill().await;
        progress!(
            "curve: {n} objects: converged the new ones in {:.1}s, VmRSS {:.1} MiB after (peak {:.1}); restarted: ready in {:.0} ms, one pass in {:.1}s, VmRSS {:.1} MiB",
            converged_in.as_secs_f64(),
            mib(after_converge),
            mib(converge_peak),
            ms(ready),
            pass.as_secs_f64(),
            mib(steady)
        );
        points.push(CurvePoint {
            objects: 2 * have,
            after_converge,
            converge_peak,
            steady,
        });
    }

    println!();
    println!(
        "| objects | steady VmRSS | beyond the empty process | per object | right after converging (peak) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: |");
    println!("| 0 | {:.1} MiB | — | — | — |", mib(empty));
    for p in &points {
        let beyond = p.steady.saturating_sub(empty);
        println!(
            "| {} | {:.1} MiB | {:.1} MiB | {:.2} KiB | {:.1} MiB ({:.1} MiB) |",
            p.objects,
            mib(p.steady),
            mib(beyond),
            beyond as f64 / p.objects as f64,
            mib(p.after_converge),
            mib(p.converge_peak)
        );
        rows.push(row(
            format!(
                "curve: steady VmRSS per object beyond the empty process ({:.1} MiB), {} objects",
                mib(empty),
                p.objects
            ),
            "≤ 6 KiB",
            format!(
                "{:.2} KiB ({:.1} MiB in all)",
                beyond as f64 / p.objects as f64,
                mib(p.steady)
            ),
            Some(beyond as f64 / p.objects as f64 <= 6.0),
        ));
    }
    let csv: String =
        std::iter::once("objects,steady_kib,after_converge_kib,converge_peak_kib\n".to_string())
            .chain(std::iter::once(format!("0,{empty},{empty},{empty}\n")))
            .chain(points.iter().map(|p| {
                format!(
                    "{},{},{},{}\n",
                    p.objects, p.steady, p.after_converge, p.converge_peak
                )
            }))
            .collect();
    let csv_path = logs_dir().join("memory-curve.csv");
    std::fs::write(&csv_path, csv)?;
    let svg_path = logs_dir().join("memory-curve.svg");
    std::fs::write(&svg_path, curve_svg(empty, &points))?;
    progress!(
        "curve: table in {}, plot in {}",
        csv_path.display(),
        svg_path.display()
    );
    Ok(())
}

/// The curve as an SVG plot: steady VmRSS and the peak while converging against object count,
/// with the per-object target (the empty process + 6 KiB per object) and the 64 MiB line.
fn curve_svg(empty: u64, points: &[CurvePoint]) -> String {
    let (w, h, left, right, top, bottom) = (720.0, 420.0, 70.0, 20.0, 40.0, 50.0);
    let max_x = points.iter().map(|p| p.objects).max().unwrap_or(1).max(1) as f64;
    let target = |n: f64| mib(empty) + 6.0 * n / 1024.0;
    let max_y = points
        .iter()
        .map(|p| mib(p.steady.max(p.converge_peak)))
        .fold(target(max_x).max(64.0), f64::max)
        * 1.1;
    let x = |n: f64| left + (w - left - right) * n / max_x;
    let y = |m: f64| h - bottom - (h - top - bottom) * m / max_y;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">auth0-operator: VmRSS against objects in sync (half Auth0Client, half Auth0ClientGrant)</text>\n",
        w / 2.0
    );
    // Axes and grid.
    let step_y = if max_y > 200.0 { 50.0 } else { 16.0 };
    let mut m = 0.0;
    while m <= max_y {
        s += &format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{m:.0} MiB</text>\n",
            w - right,
            left - 6.0,
            y(m) + 4.0,
            y0 = y(m)
        );
        m += step_y;
    }
    let step_x = if max_x > 10000.0 { 5000.0 } else { 1000.0 };
    let mut n = 0.0;
    while n <= max_x {
        s += &format!(
            "<line x1=\"{x0:.1}\" x2=\"{x0:.1}\" y1=\"{top}\" y2=\"{}\" stroke=\"#eee\"/><text x=\"{x0:.1}\" y=\"{}\" text-anchor=\"middle\">{n:.0}</text>\n",
            h - bottom,
            h - bottom + 16.0,
            x0 = x(n)
        );
        n += step_x;
    }
    s += &format!(
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">custom resources</text>\n",
        (left + w - right) / 2.0,
        h - 12.0
    );
    // Limits.
    s += &format!(
        "<line x1=\"{left}\" x2=\"{}\" y1=\"{y0:.1}\" y2=\"{y0:.1}\" stroke=\"#c00\" stroke-dasharray=\"6 4\"/><text x=\"{}\" y=\"{:.1}\" fill=\"#c00\" text-anchor=\"end\">64 MiB</text>\n",
        w - right,
        w - right - 4.0,
        y(64.0) - 4.0,
        y0 = y(64.0)
    );
    s += &format!(
        "<line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#888\" stroke-dasharray=\"2 3\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#666\" text-anchor=\"end\">target: empty process + 6 KiB per object</text>\n",
        x(0.0),
        x(max_x),
        y(target(0.0)),
        y(target(max_x)),
        x(max_x) - 4.0,
        y(target(max_x)) - 6.0
    );
    // Series.
    let series = |pts: Vec<(f64, f64)>, color: &str, label: &str, ly: f64| -> String {
        let path: Vec<String> = pts
            .iter()
            .map(|(n, m)| format!("{:.1},{:.1}", x(*n), y(*m)))
            .collect();
        let mut out = format!(
            "<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{}\"/>\n",
            path.join(" ")
        );
        for (n, m) in &pts {
            out += &format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{color}\"><title>{n:.0} objects: {m:.1} MiB</title></circle>\n",
                x(*n),
                y(*m)
            );
        }
        out += &format!(
            "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"3\" fill=\"{color}\"/><text x=\"{}\" y=\"{}\">{label}</text>\n",
            left + 12.0,
            ly - 4.0,
            left + 30.0,
            ly
        );
        out
    };
    let steady: Vec<(f64, f64)> = std::iter::once((0.0, mib(empty)))
        .chain(points.iter().map(|p| (p.objects as f64, mib(p.steady))))
        .collect();
    let peak: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.objects as f64, mib(p.converge_peak)))
        .collect();
    s += &series(
        steady,
        "#1f77b4",
        "steady VmRSS (restart + one pass)",
        top + 16.0,
    );
    s += &series(
        peak,
        "#ff7f0e",
        "VmHWM of the process that converged the new objects",
        top + 32.0,
    );
    s += "</svg>\n";
    s
}
