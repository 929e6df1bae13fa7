//! `auth0-operator dev`: a complete local loop on one machine, with no cluster and (by default)
//! no Auth0 tenant: etcd + kube-apiserver (the envtest assets), the Auth0 simulator, the CRDs,
//! the operator, and the manifests in `examples/` applied and reported on. Keeps running, with a
//! printed `KUBECONFIG`, until Ctrl-C; then stops everything it started.
//!
//! The operator runs without a default tenant: the dev loop creates an `Auth0Tenant` named
//! [`DEV_TENANT`] (and the Secret with its management credentials) in the examples' namespace,
//! waits until the operator has verified it, and every example names it
//! (`tenantRef: {name: dev-tenant}`). With the simulator the tenant points at it (`baseUrl`, so
//! the operator runs with `ALLOW_TENANT_BASE_URL=true` and admits the simulator's domain); with
//! `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID` and `AUTH0_CLIENT_SECRET` set, the same tenant is made from
//! those values instead, so the same examples create real applications.
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
use k8s_openapi::{
    ByteString,
    api::core::v1::{Namespace, Secret},
    apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    Api,
    api::{DynamicObject, Patch, PatchParams, PostParams},
    core::ApiResource,
};
use serde_json::{Value, json};
use tracing::instrument::WithSubscriber as _;

use crate::{
    auth0::Auth0Config,
    config::{OperatorConfig, RunArgs},
    controller::tenant::{TenantReason, domain_allowed},
    crd::{
        Auth0Client, Auth0ClientGrant, Auth0ResourceServer, Auth0Tenant, CONDITION_READY,
        ClusterAuth0Tenant, DEFAULT_CLIENT_ID_KEY, DEFAULT_CLIENT_SECRET_KEY, reason,
    },
    envtest::{KubeVersion, TestEnv},
    sim::{SimConfig, Simulator},
};

const SIM_DOMAIN: &str = "dev-tenant.auth0.test";
const SIM_CLIENT_ID: &str = "local-operator";
const SIM_CLIENT_SECRET: &str = "local-operator-secret";

/// The `Auth0Tenant` the dev loop creates in the examples' namespace; every example names it
/// (`tenantRef: {name: dev-tenant}`).
pub const DEV_TENANT: &str = "dev-tenant";
/// The Secret, beside it, holding its management credentials.
pub const DEV_TENANT_SECRET: &str = "dev-tenant-credentials";

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

/// ` -n <ns>` for kubectl hints, empty for `default`.
fn ns_flag(ns: &str) -> String {
    if ns == "default" {
        String::new()
    } else {
        format!(" -n {ns}")
    }
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
    let version = match kube.apiserver_version().await {
        Ok(v) => {
            let cel =
                KubeVersion::parse(&v.git_version).is_some_and(|k| k >= KubeVersion::new(1, 25));
            format!(
                "Kubernetes {}; {}",
                v.git_version,
                if cel {
                    "it refuses specs that break a CRD's CEL rule"
                } else {
                    "it drops the CRDs' CEL rules: the operator refuses such specs (InvalidSpec)"
                }
            )
        }
        Err(e) => format!("version unknown: {e}"),
    };
    line(format!("    API server  {} ({version})", env.server_url()));

    let real_tenant = args
        .run
        .auth0_domain
        .as_deref()
        .is_some_and(|d| !d.trim().is_empty());
    let mut sim = None;
    // The tenant the examples use, and an operator with no default tenant: resources name their
    // tenant, as they would in a cluster with several.
    let (mut config, tenant) = if real_tenant {
        let mut run = args.run.clone();
        run.watch_namespaces = vec![args.namespace.clone()];
        let mut c = run.resolve().map_err(|e| anyhow::anyhow!("{e}"))?;
        let tenant = c
            .auth0
            .take()
            .context("AUTH0_DOMAIN is set but the tenant's settings did not resolve")?;
        line(format!(
            "==> using the REAL Auth0 tenant {} (AUTH0_DOMAIN is set) through Auth0Tenant {DEV_TENANT}; examples create real applications",
            tenant.domain
        ));
        // The domain you gave is trusted, like the operator's default tenant would be.
        if !domain_allowed(&tenant.domain, &c.tenant_policy.allowed_domains) {
            c.tenant_policy.allowed_domains.push(tenant.domain.clone());
        }
        if tenant.base_url.is_some() {
            c.tenant_policy.allow_base_url = true;
        }
        (c, tenant)
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
        seed_hand_made(&s);
        line(
            "    seeded as if made in the dashboard: applications Legacy Portal and Reporting Job, API https://reports.example.com/api and a grant (to import, see the end of this report)",
        );
        let tenant = Auth0Config::new(SIM_DOMAIN, SIM_CLIENT_ID, SIM_CLIENT_SECRET)
            .with_base_url(s.base_url().parse().context("simulator URL")?);
        let mut c = OperatorConfig::new(tenant.clone());
        c.auth0 = None;
        c.resync_interval = Duration::from_secs(60);
        c.http_addr = args.run.http_addr.parse().ok();
        // ALLOWED_TENANT_DOMAINS (default *.auth0.com) plus the simulator's domain; its
        // Auth0Tenant sends its calls to the simulator, which needs ALLOW_TENANT_BASE_URL.
        c.tenant_policy.allowed_domains = args
            .run
            .allowed_tenant_domains
            .split(',')
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        if !domain_allowed(SIM_DOMAIN, &c.tenant_policy.allowed_domains) {
            c.tenant_policy.allowed_domains.push(SIM_DOMAIN.to_string());
        }
        c.tenant_policy.allow_base_url = true;
        sim = Some(Arc::new(s));
        (c, tenant)
    };
    line(format!(
        "    operator settings: no default tenant (every example names Auth0Tenant {DEV_TENANT}); ALLOWED_TENANT_DOMAINS={} ALLOW_TENANT_BASE_URL={}",
        config.tenant_policy.allowed_domains.join(","),
        config.tenant_policy.allow_base_url
    ));
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

    ensure_namespace(&kube, &args.namespace).await?;
    line(format!(
        "==> creating Secret {DEV_TENANT_SECRET} (the management credentials) and Auth0Tenant {DEV_TENANT} in namespace {}",
        args.namespace
    ));
    create_tenant(&kube, &args.namespace, &tenant)
        .await
        .context("creating the dev tenant")?;
    report_tenant(&kube, &args.namespace, real_tenant).await;

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

    let token_url = tenant
        .base_url
        .clone()
        .unwrap_or_else(|| {
            format!("https://{}", tenant.domain)
                .parse()
                .expect("a domain URL")
        })
        .join("/oauth/token")
        .context("token endpoint URL")?;
    report(&kube, &args.namespace, &manifests, &log_file, &token_url).await;

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
    let in_ns = ns_flag(&args.namespace);
    line("    kubectl get auth0tenants,auth0resourceservers,auth0clients,auth0clientgrants -A");
    line(format!(
        "    kubectl describe auth0tenant {DEV_TENANT}{in_ns}"
    ));
    line(format!("    kubectl describe auth0client web-app{in_ns}"));
    if sim.is_some() {
        // The hand-made objects of the simulator, brought under the operator (README,
        // "Adopting an existing tenant"): read through the dev tenant's object.
        // The binary running now (already built, with the dev features): `cargo run` would
        // build another one without them first.
        line(format!(
            "    ALLOWED_TENANT_DOMAINS={SIM_DOMAIN} ALLOW_TENANT_BASE_URL=true {} import --namespace {} --tenant-ref Auth0Tenant/{DEV_TENANT} --match 'Legacy|Reporting|reports' --output imported/ && kubectl apply -f imported/",
            this_binary(),
            args.namespace
        ));
    }
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

/// The kinds the dev loop applies from `examples/`.
const APPLIED_KINDS: [&str; 3] = ["Auth0Client", "Auth0ClientGrant", "Auth0ResourceServer"];

/// The resource of one of the operator's kinds, and whether it is namespaced.
fn api_resource(kind: &str) -> Option<(ApiResource, bool)> {
    match kind {
        "Auth0Client" => Some((ApiResource::erase::<Auth0Client>(&()), true)),
        "Auth0ClientGrant" => Some((ApiResource::erase::<Auth0ClientGrant>(&()), true)),
        "Auth0ResourceServer" => Some((ApiResource::erase::<Auth0ResourceServer>(&()), true)),
        "Auth0Tenant" => Some((ApiResource::erase::<Auth0Tenant>(&()), true)),
        "ClusterAuth0Tenant" => Some((ApiResource::erase::<ClusterAuth0Tenant>(&()), false)),
        _ => None,
    }
}

async fn apply(kube: &kube::Client, ns: &str, obj: &Value) -> anyhow::Result<()> {
    let kind = obj["kind"].as_str().unwrap_or_default();
    let Some((ar, _)) = api_resource(kind).filter(|_| APPLIED_KINDS.contains(&kind)) else {
        bail!(
            "the dev loop applies only Auth0Client, Auth0ClientGrant and Auth0ResourceServer objects (it creates Auth0Tenant {DEV_TENANT} itself), not {kind}"
        )
    };
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

/// Creates namespace `ns` unless it exists.
async fn ensure_namespace(kube: &kube::Client, ns: &str) -> anyhow::Result<()> {
    let api: Api<Namespace> = Api::all(kube.clone());
    if api.get_opt(ns).await?.is_none() {
        let namespace = Namespace {
            metadata: ObjectMeta {
                name: Some(ns.to_string()),
                ..Default::default()
            },
            ..Default::default()
        };
        api.create(&PostParams::default(), &namespace)
            .await
            .with_context(|| format!("creating namespace {ns}"))?;
        line(format!("    created namespace {ns}"));
    }
    Ok(())
}

/// The Secret with `tenant`'s management credentials, under the keys an `Auth0Tenant` reads by
/// default.
fn tenant_secret(tenant: &Auth0Config) -> Secret {
    let data = [
        (DEFAULT_CLIENT_ID_KEY, tenant.client_id.as_str()),
        (DEFAULT_CLIENT_SECRET_KEY, tenant.client_secret.expose()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
    .collect();
    Secret {
        metadata: ObjectMeta {
            name: Some(DEV_TENANT_SECRET.to_string()),
            ..Default::default()
        },
        data: Some(data),
        type_: Some("Opaque".to_string()),
        ..Default::default()
    }
}

/// The `Auth0Tenant` [`DEV_TENANT`] for `tenant` (`baseUrl` only when it has one: the simulator).
fn tenant_manifest(tenant: &Auth0Config) -> Value {
    let mut spec = json!({
        "domain": tenant.domain,
        "credentialsSecretRef": {"name": DEV_TENANT_SECRET},
    });
    if let Some(audience) = &tenant.audience {
        spec["audience"] = json!(audience);
    }
    if let Some(url) = &tenant.base_url {
        spec["baseUrl"] = json!(url.as_str().trim_end_matches('/'));
    }
    json!({
        "apiVersion": "auth0.operator.dev/v1alpha1",
        "kind": "Auth0Tenant",
        "metadata": {"name": DEV_TENANT},
        "spec": spec,
    })
}

/// Creates (or updates) the credentials Secret, then the `Auth0Tenant` that names it.
async fn create_tenant(kube: &kube::Client, ns: &str, tenant: &Auth0Config) -> anyhow::Result<()> {
    let params = PatchParams::apply("auth0-operator-dev").force();
    Api::<Secret>::namespaced(kube.clone(), ns)
        .patch(
            DEV_TENANT_SECRET,
            &params,
            &Patch::Apply(&tenant_secret(tenant)),
        )
        .await
        .with_context(|| format!("creating Secret {DEV_TENANT_SECRET}"))?;
    let (ar, _) = api_resource("Auth0Tenant").expect("a kind of the operator");
    Api::<DynamicObject>::namespaced_with(kube.clone(), ns, &ar)
        .patch(DEV_TENANT, &params, &Patch::Apply(&tenant_manifest(tenant)))
        .await
        .with_context(|| format!("creating Auth0Tenant {DEV_TENANT}"))?;
    Ok(())
}

/// What to do about a tenant that is not verified, by its `Ready` reason.
fn tenant_hint(why: &str, real_tenant: bool) -> String {
    let env = if real_tenant {
        "AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET"
    } else {
        "the simulator's settings"
    };
    let is = |r: TenantReason| why == r.as_str();
    if is(TenantReason::InvalidCredentials) {
        format!(
            "Auth0 rejected the management credentials: check {env} (the application must be authorized for the Auth0 Management API)"
        )
    } else if is(TenantReason::MissingScopes) {
        "grant the scopes named above to the management application (README, Install on a cluster, step 1)".to_string()
    } else if is(TenantReason::Unreachable) {
        "Auth0 could not be reached: check the network (proxy, DNS) and the domain".to_string()
    } else if is(TenantReason::DomainNotAllowed) {
        "the operator refuses the tenant's domain or baseUrl: see the message (ALLOWED_TENANT_DOMAINS, ALLOW_TENANT_BASE_URL)".to_string()
    } else if is(TenantReason::SecretNotFound) {
        format!("Secret {DEV_TENANT_SECRET} lacks a key: check {env}")
    } else {
        "see the message and the operator's log".to_string()
    }
}

/// Waits until the operator has verified [`DEV_TENANT`] (or refused it, or
/// [`REPORT_TIMEOUT`] passed) and prints its state: domain, `Ready` with reason and message,
/// granted scope count and the Secret it reads (never a value).
async fn report_tenant(kube: &kube::Client, ns: &str, real_tenant: bool) {
    line(format!(
        "==> waiting for the operator to verify Auth0Tenant {DEV_TENANT}"
    ));
    let started = tokio::time::Instant::now();
    let (ar, _) = api_resource("Auth0Tenant").expect("a kind of the operator");
    let api: Api<DynamicObject> = Api::namespaced_with(kube.clone(), ns, &ar);
    let mut tenant = None;
    loop {
        match api.get_opt(DEV_TENANT).await {
            Ok(Some(t)) => tenant = serde_json::to_value(&t).ok(),
            Ok(None) => tenant = None,
            Err(e) => tracing::debug!(error = %e, "reading the tenant failed; retrying"),
        }
        if tenant.as_ref().is_some_and(|t| current_ready(t).is_some())
            || started.elapsed() >= REPORT_TIMEOUT
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let Some(t) = tenant else {
        line(format!("    Auth0Tenant/{DEV_TENANT}: not found"));
        return;
    };
    let (status, why, message) = ready_fields(&t);
    line(format!(
        "    Auth0Tenant/{DEV_TENANT}: Ready={status} ({why}) {message}"
    ));
    let mut details = vec![format!(
        "domain: {}",
        t["spec"]["domain"].as_str().unwrap_or("-")
    )];
    if let Some(url) = t["spec"]["baseUrl"].as_str() {
        details.push(format!("baseUrl: {url}"));
    }
    details.push(format!(
        "granted scopes: {}",
        t["status"]["grantedScopes"]
            .as_array()
            .map(Vec::len)
            .unwrap_or(0)
    ));
    details.push(format!(
        "credentials: Secret {DEV_TENANT_SECRET} ({DEFAULT_CLIENT_ID_KEY}, {DEFAULT_CLIENT_SECRET_KEY}; not shown)"
    ));
    line(format!("        {}", details.join("  ")));
    match tenant_outcome(&t) {
        Outcome::Ready => {}
        Outcome::Failed => line(format!(
            "        FAILED: {}; the examples report TenantNotReady until it is verified (`kubectl describe auth0tenant {DEV_TENANT}{}` shows its events)",
            tenant_hint(why, real_tenant),
            ns_flag(ns)
        )),
        Outcome::Waiting => line(format!(
            "        not verified after {} s; the examples wait for it (see the operator's log)",
            started.elapsed().as_secs()
        )),
    }
}

/// The path of the running binary, quoted for a POSIX shell when it needs it.
fn this_binary() -> String {
    let path = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "auth0-operator".to_string());
    if path
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    {
        path
    } else {
        format!("'{}'", path.replace('\'', r"'\''"))
    }
}

/// How long the report waits for examples that are still in progress.
const REPORT_TIMEOUT: Duration = Duration::from_secs(60);

/// `Ready=False` reasons that need the user: the report does not wait for them. The other
/// reasons of [`crate::crd::reason`] are waits (`Reconciling`; `ClientNotReady`,
/// `TenantNotFound` and `TenantNotReady` unless what they wait for failed or does not exist) or
/// errors the operator retries (`Auth0Unavailable`, `RateLimited`, `KubernetesError`).
const NEEDS_USER: [&str; 13] = [
    reason::INVALID_SPEC,
    reason::SECRET_CONFLICT,
    reason::NOT_FOUND,
    reason::AUTH0_ERROR,
    reason::TENANT_NOT_ALLOWED,
    reason::ALREADY_EXISTS,
    reason::UNKNOWN_SCOPES,
    reason::UNKNOWN_CONNECTION,
    crate::crd::Reason::Protected.as_str(),
    crate::crd::Reason::OwnedElsewhere.as_str(),
    crate::crd::Reason::AdoptionNotAllowed.as_str(),
    crate::crd::Reason::ManagementApiNotAllowed.as_str(),
    crate::crd::Reason::ConsumerNotAllowed.as_str(),
];

/// `Ready=False` reasons that wait for another object (see [`awaited`]).
const WAITS: [&str; 4] = [
    reason::CLIENT_NOT_READY,
    reason::RESOURCE_SERVER_NOT_READY,
    reason::TENANT_NOT_FOUND,
    reason::TENANT_NOT_READY,
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

/// Objects in the cluster as JSON, keyed by `(kind, name)`.
type Cluster = HashMap<(String, String), Value>;

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

/// `(status, reason, message)` of `obj`'s `Ready` condition, for the report.
fn ready_fields(obj: &Value) -> (&str, &str, &str) {
    let ready = obj["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == CONDITION_READY));
    match ready {
        Some(c) => (
            c["status"].as_str().unwrap_or("?"),
            c["reason"].as_str().unwrap_or(""),
            c["message"].as_str().unwrap_or(""),
        ),
        None => ("Unknown", "Pending", "no status yet"),
    }
}

/// A tenant's outcome: any `Ready=False` for its current spec is final for the report (the
/// operator verified it and said why not).
fn tenant_outcome(tenant: &Value) -> Outcome {
    match current_ready(tenant) {
        None => Outcome::Waiting,
        Some(c) if c["status"] == "True" => Outcome::Ready,
        Some(_) => Outcome::Failed,
    }
}

/// The object a resource waits for, as `(kind, name)`: its `clientRef` client for
/// `ClientNotReady`, its `resourceServerRef` API for `ResourceServerNotReady`, its tenant for
/// `TenantNotFound`/`TenantNotReady` (`None`: no `tenantRef`, and the dev loop's operator has
/// no default tenant).
fn awaited(obj: &Value, why: &str) -> Option<(String, String)> {
    if why == reason::CLIENT_NOT_READY {
        let name = obj["spec"]["clientRef"]["name"].as_str()?;
        return Some(("Auth0Client".to_string(), name.to_string()));
    }
    if why == reason::RESOURCE_SERVER_NOT_READY {
        let name = obj["spec"]["resourceServerRef"]["name"].as_str()?;
        return Some(("Auth0ResourceServer".to_string(), name.to_string()));
    }
    let tenant = &obj["spec"]["tenantRef"];
    let name = tenant["name"].as_str()?;
    let kind = tenant["kind"].as_str().unwrap_or("Auth0Tenant");
    Some((kind.to_string(), name.to_string()))
}

/// The outcome of `obj` (of `kind`). A resource waiting for another object (its client or its
/// tenant) has failed when that object does not exist or has failed: nothing will make it ready.
fn outcome(kind: &str, obj: &Value, cluster: &Cluster) -> Outcome {
    if kind == "Auth0Tenant" || kind == "ClusterAuth0Tenant" {
        return tenant_outcome(obj);
    }
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
    if WAITS.contains(&why) {
        return match awaited(obj, why).and_then(|key| cluster.get(&key).map(|o| (key, o))) {
            None => Outcome::Failed,
            Some(((k, _), o)) if outcome(&k, o, cluster) == Outcome::Failed => Outcome::Failed,
            Some(_) => Outcome::Waiting,
        };
    }
    Outcome::Waiting
}

/// Every applied object's outcome, in manifest order (`None`: not seen in the cluster).
fn outcomes(manifests: &[(String, Value)], cluster: &Cluster) -> Vec<Option<Outcome>> {
    manifests
        .iter()
        .map(|(_, m)| {
            let kind = m["kind"].as_str().unwrap_or_default();
            let name = m["metadata"]["name"].as_str().unwrap_or_default();
            let obj = cluster.get(&(kind.to_string(), name.to_string()))?;
            Some(outcome(kind, obj, cluster))
        })
        .collect()
}

/// Every kind of the operator: the namespaced ones in `ns`, `ClusterAuth0Tenant`s of the
/// cluster.
async fn list_objects(kube: &kube::Client, ns: &str) -> kube::Result<Cluster> {
    let mut out = HashMap::new();
    for kind in [
        "Auth0Client",
        "Auth0ClientGrant",
        "Auth0ResourceServer",
        "Auth0Tenant",
        "ClusterAuth0Tenant",
    ] {
        let (ar, namespaced) = api_resource(kind).expect("a kind of the operator");
        let api: Api<DynamicObject> = if namespaced {
            Api::namespaced_with(kube.clone(), ns, &ar)
        } else {
            Api::all_with(kube.clone(), &ar)
        };
        for o in api.list(&Default::default()).await? {
            let name = o.metadata.name.clone().unwrap_or_default();
            let value = serde_json::to_value(&o).unwrap_or_default();
            out.insert((kind.to_string(), name), value);
        }
    }
    Ok(out)
}

/// Why a resource waiting for another object (see [`outcome`]) failed, and what to do.
fn waiting_failure(obj: &Value, why: &str, file: &str, cluster: &Cluster) -> String {
    let Some((kind, name)) = awaited(obj, why) else {
        return format!(
            "it names no tenant and the dev loop's operator has no default tenant: add `tenantRef: {{name: {DEV_TENANT}}}` to its spec in {file}"
        );
    };
    match cluster.get(&(kind.clone(), name.clone())) {
        Some(_) if kind == "Auth0Client" || kind == "Auth0ResourceServer" => {
            format!("its {kind} {name} failed (see above); fix that one first")
        }
        Some(_) => format!("its {kind} {name} is not verified (see above); fix that one first"),
        None if kind == "Auth0Client" => {
            format!("Auth0Client {name} does not exist; create it or fix clientRef in {file}")
        }
        None if kind == "Auth0ResourceServer" => format!(
            "Auth0ResourceServer {name} does not exist; create it or fix resourceServerRef in {file}"
        ),
        None => format!(
            "{kind} {name} does not exist; fix tenantRef in {file} (the dev loop creates Auth0Tenant {DEV_TENANT})"
        ),
    }
}

/// Proves a ready grant's credentials work: the Secret of its `clientRef` client obtains a
/// token for the grant's audience (client credentials), and the line shows the token's scopes
/// (never the token or the secret).
async fn prove_token(
    kube: &kube::Client,
    ns: &str,
    grant: &Value,
    cluster: &Cluster,
    token_url: &url::Url,
) {
    let (Some(client), Some(audience)) = (
        grant["spec"]["clientRef"]["name"].as_str(),
        grant["status"]["audience"].as_str(),
    ) else {
        return;
    };
    let Some(secret_name) = cluster
        .get(&("Auth0Client".to_string(), client.to_string()))
        .and_then(|c| c["status"]["secretName"].as_str())
    else {
        return;
    };
    let secrets: Api<Secret> = Api::namespaced(kube.clone(), ns);
    let Ok(secret) = secrets.get(secret_name).await else {
        return;
    };
    let data = secret.data.unwrap_or_default();
    let get = |k: &str| {
        data.get(k)
            .map(|v| String::from_utf8_lossy(&v.0).to_string())
            .unwrap_or_default()
    };
    use crate::controller::secret::template::{
        SECRET_KEY_CLIENT_ID, SECRET_KEY_CLIENT_SECRET, SECRET_KEY_DOMAIN, SECRET_KEY_KEY_ID,
        SECRET_KEY_PRIVATE_KEY, SECRET_KEY_SIGNING_ALG,
    };
    let client_id = get(SECRET_KEY_CLIENT_ID);
    let (body, how) = if data.contains_key(SECRET_KEY_PRIVATE_KEY) {
        // A private-key JWT application: a signed client assertion, as its workload would send.
        let assertion = crate::auth0::token::workload_client_assertion(
            &get(SECRET_KEY_PRIVATE_KEY),
            &get(SECRET_KEY_KEY_ID),
            &get(SECRET_KEY_SIGNING_ALG),
            &client_id,
            &get(SECRET_KEY_DOMAIN),
        );
        let Ok(assertion) = assertion else {
            line(format!(
                "        token: Secret {secret_name} holds a private key the dev loop cannot use"
            ));
            return;
        };
        (
            json!({
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": assertion,
                "audience": audience,
            }),
            "a private-key JWT client assertion",
        )
    } else {
        (
            json!({
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": get(SECRET_KEY_CLIENT_SECRET),
                "audience": audience,
            }),
            "its client secret",
        )
    };
    let answer = async {
        let r = reqwest::Client::new()
            .post(token_url.clone())
            .json(&body)
            .timeout(Duration::from_secs(10))
            .send()
            .await?;
        let status = r.status();
        let v: Value = r.json().await.unwrap_or_default();
        Ok::<_, reqwest::Error>((status, v))
    }
    .await;
    match answer {
        Ok((status, v)) if status.is_success() => line(format!(
            "        token: Secret {secret_name} obtains an access token for {audience} with {how}, scope \"{}\" (expires in {} s)",
            v["scope"].as_str().unwrap_or_default(),
            v["expires_in"].as_i64().unwrap_or_default()
        )),
        Ok((status, v)) => line(format!(
            "        token: Secret {secret_name} got no token for {audience}: {status} {} {}",
            v["error"].as_str().unwrap_or_default(),
            v["error_description"].as_str().unwrap_or_default()
        )),
        Err(e) => line(format!(
            "        token: could not ask {token_url} for a token: {e}"
        )),
    }
}

/// Waits until every applied object has settled (Ready, or failed with a reason that needs the
/// user; at most [`REPORT_TIMEOUT`] for those still in progress) and prints what each got,
/// with the reason and message of the failing ones.
async fn report(
    kube: &kube::Client,
    ns: &str,
    manifests: &[(String, Value)],
    log_file: &Path,
    token_url: &url::Url,
) {
    line("==> waiting for the examples to settle (Ready, or failed for a reason that needs you)");
    let started = tokio::time::Instant::now();
    let mut cluster = HashMap::new();
    let mut states = vec![None; manifests.len()];
    loop {
        match list_objects(kube, ns).await {
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
        let (status, why, message) = ready_fields(o);
        line(format!(
            "    {kind}/{name}: Ready={status} ({why}) {message}"
        ));
        match state {
            Some(Outcome::Failed) => {
                if WAITS.contains(&why) {
                    line(format!(
                        "        FAILED: {}",
                        waiting_failure(o, why, file, &cluster)
                    ));
                } else {
                    line(format!(
                        "        FAILED: needs you: fix {file} and apply it again (`kubectl describe {} {name}{}` shows its events)",
                        kind.to_lowercase(),
                        ns_flag(ns)
                    ));
                }
            }
            Some(Outcome::Waiting) | None => line(format!(
                "        still in progress after {} s; the operator keeps retrying (see its log)",
                elapsed.as_secs()
            )),
            Some(Outcome::Ready) => {}
        }
        let tenant = o["status"]["tenant"]
            .as_str()
            .map(|t| format!("  status.tenant: {t}"))
            .unwrap_or_default();
        if kind == "Auth0Client" {
            let client_id = o["status"]["clientId"].as_str().unwrap_or("-");
            line(format!("        client id: {client_id}{tenant}"));
            if let Some(names) = o["status"]["connections"].as_array() {
                let names: Vec<&str> = names.iter().filter_map(Value::as_str).collect();
                line(format!(
                    "        connections: {}",
                    if names.is_empty() {
                        "none (users cannot log in)".to_string()
                    } else {
                        names.join(", ")
                    }
                ));
            }
            if let Some(secret_name) = o["status"]["secretName"].as_str() {
                let secrets: Api<Secret> = Api::namespaced(kube.clone(), ns);
                match secrets.get(secret_name).await {
                    Ok(s) => {
                        let data = s.data.unwrap_or_default();
                        let shown: Vec<String> = data
                            .iter()
                            .map(|(k, v)| {
                                // Only the domain and the client id are shown: any other key
                                // (a template may name them freely) can hold the secret.
                                if k == "AUTH0_DOMAIN" || k == "AUTH0_CLIENT_ID" {
                                    format!("{k}={}", String::from_utf8_lossy(&v.0))
                                } else {
                                    format!("{k}=<{} characters, not shown>", v.0.len())
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
        } else if kind == "Auth0ResourceServer" {
            if let Some(id) = o["status"]["id"].as_str() {
                line(format!(
                    "        API id: {id}  identifier: {}{tenant}",
                    o["status"]["identifier"].as_str().unwrap_or("-")
                ));
            }
        } else if let Some(id) = o["status"]["grantId"].as_str() {
            line(format!(
                "        grant id: {id}  (client {}){tenant}",
                o["status"]["clientId"].as_str().unwrap_or("-")
            ));
            if *state == Some(Outcome::Ready) {
                prove_token(kube, ns, o, &cluster, token_url).await;
            }
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

/// Applications, an API and a grant "made by hand" in the simulator before the operator runs,
/// for trying `auth0-operator import` (README, "Adopting an existing tenant").
fn seed_hand_made(sim: &Simulator) {
    sim.create_client_out_of_band(json!({
        "name": "Legacy Portal",
        "app_type": "regular_web",
        "callbacks": ["https://portal.example.com/callback"],
        "allowed_logout_urls": ["https://portal.example.com/"],
        "client_metadata": {"team": "web"},
    }));
    let job = sim.create_client_out_of_band(json!({
        "name": "Reporting Job",
        "app_type": "non_interactive",
        "grant_types": ["client_credentials"],
    }));
    sim.add_resource_server_with_scopes("https://reports.example.com/api", &["read:reports"]);
    sim.create_grant_out_of_band(json!({
        "client_id": job["client_id"],
        "audience": "https://reports.example.com/api",
        "scope": ["read:reports"],
    }));
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn obj(generation: i64, observed: i64, status: &str, why: &str) -> Value {
        json!({
            "metadata": {"generation": generation},
            "spec": {"clientRef": {"name": "c"}, "tenantRef": {"name": DEV_TENANT}},
            "status": {"observedGeneration": observed, "conditions": [
                {"type": "Ready", "status": status, "reason": why, "message": "m"}
            ]}
        })
    }

    fn cluster(objects: &[(&str, &str, Value)]) -> Cluster {
        objects
            .iter()
            .map(|(k, n, v)| ((k.to_string(), n.to_string()), v.clone()))
            .collect()
    }

    #[test]
    fn failures_that_need_the_user_settle_the_report() {
        let none = Cluster::new();
        let client = |o: &Value| outcome("Auth0Client", o, &none);
        assert_eq!(client(&obj(1, 1, "True", "Synced")), Outcome::Ready);
        for why in NEEDS_USER {
            assert_eq!(client(&obj(1, 1, "False", why)), Outcome::Failed);
        }
        for why in [
            "Reconciling",
            "Auth0Unavailable",
            "RateLimited",
            "KubernetesError",
        ] {
            assert_eq!(client(&obj(1, 1, "False", why)), Outcome::Waiting);
        }
        // A status written for an older spec says nothing about the current one.
        assert_eq!(client(&obj(2, 1, "True", "Synced")), Outcome::Waiting);
        assert_eq!(client(&json!({"metadata": {}})), Outcome::Waiting);
    }

    #[test]
    fn a_grant_waiting_for_its_client_fails_only_with_it() {
        let grant = obj(1, 1, "False", "ClientNotReady");
        let pending = obj(1, 1, "False", "Reconciling");
        let failed = obj(1, 1, "False", "InvalidSpec");
        let with = |c: &Value| cluster(&[("Auth0Client", "c", c.clone())]);
        assert_eq!(
            outcome("Auth0ClientGrant", &grant, &with(&pending)),
            Outcome::Waiting
        );
        assert_eq!(
            outcome("Auth0ClientGrant", &grant, &with(&failed)),
            Outcome::Failed
        );
        assert_eq!(
            outcome("Auth0ClientGrant", &grant, &Cluster::new()),
            Outcome::Failed,
            "no such client"
        );
        // A client waiting for a tenant that failed has failed, and so has its grant.
        let waits_for_tenant = obj(1, 1, "False", "TenantNotReady");
        let refused = obj(1, 1, "False", "InvalidCredentials");
        let c = cluster(&[
            ("Auth0Client", "c", waits_for_tenant),
            ("Auth0Tenant", DEV_TENANT, refused),
        ]);
        assert_eq!(outcome("Auth0ClientGrant", &grant, &c), Outcome::Failed);
    }

    #[test]
    fn a_resource_waiting_for_its_tenant_fails_only_when_nothing_will_make_it_ready() {
        let waits = obj(1, 1, "False", "TenantNotReady");
        let not_found = obj(1, 1, "False", "TenantNotFound");
        let with = |t: Value| cluster(&[("Auth0Tenant", DEV_TENANT, t)]);
        let unverified = json!({"metadata": {"generation": 1}});
        let verified = obj(1, 1, "True", "Verified");
        let refused = obj(1, 1, "False", "MissingScopes");
        // The operator has not verified it yet, or its resources have not been woken yet.
        assert_eq!(
            outcome("Auth0Client", &waits, &with(unverified)),
            Outcome::Waiting
        );
        assert_eq!(
            outcome("Auth0Client", &not_found, &with(verified)),
            Outcome::Waiting
        );
        assert_eq!(
            outcome("Auth0Client", &waits, &with(refused.clone())),
            Outcome::Failed
        );
        assert_eq!(
            outcome("Auth0Client", &not_found, &Cluster::new()),
            Outcome::Failed,
            "no such tenant"
        );
        // No tenantRef, and the dev loop's operator has no default tenant.
        let mut no_ref = not_found.clone();
        no_ref["spec"].as_object_mut().unwrap().remove("tenantRef");
        assert_eq!(
            outcome("Auth0Client", &no_ref, &with(refused)),
            Outcome::Failed
        );
        let msg = waiting_failure(&no_ref, "TenantNotFound", "x.yaml", &Cluster::new());
        assert!(msg.contains("tenantRef: {name: dev-tenant}"), "{msg}");
        // A ClusterAuth0Tenant is looked up by its kind.
        let mut cluster_ref = waits.clone();
        cluster_ref["spec"]["tenantRef"] = json!({"kind": "ClusterAuth0Tenant", "name": "shared"});
        let c = cluster(&[(
            "ClusterAuth0Tenant",
            "shared",
            obj(1, 1, "True", "Verified"),
        )]);
        assert_eq!(outcome("Auth0Client", &cluster_ref, &c), Outcome::Waiting);
        assert_eq!(
            outcome("Auth0Client", &cluster_ref, &Cluster::new()),
            Outcome::Failed
        );
        // TenantNotAllowed needs the user.
        assert_eq!(
            outcome(
                "Auth0Client",
                &obj(1, 1, "False", "TenantNotAllowed"),
                &Cluster::new()
            ),
            Outcome::Failed
        );
    }

    #[test]
    fn the_dev_tenant_names_its_secret_and_never_holds_a_secret() {
        let sim = Auth0Config::new(SIM_DOMAIN, "id", "s3cr3t")
            .with_base_url("http://127.0.0.1:4321".parse().unwrap());
        let t = tenant_manifest(&sim);
        assert_eq!(t["kind"], "Auth0Tenant");
        assert_eq!(t["metadata"]["name"], DEV_TENANT);
        assert_eq!(t["spec"]["domain"], SIM_DOMAIN);
        assert_eq!(t["spec"]["baseUrl"], "http://127.0.0.1:4321");
        assert_eq!(
            t["spec"]["credentialsSecretRef"],
            json!({"name": DEV_TENANT_SECRET})
        );
        assert!(!t.to_string().contains("s3cr3t"));
        let real = Auth0Config::new("acme.eu.auth0.com", "id", "s3cr3t");
        let t = tenant_manifest(&real);
        assert!(
            t["spec"].get("baseUrl").is_none(),
            "a real tenant needs none"
        );
        let s = tenant_secret(&real);
        let data = s.data.unwrap();
        assert_eq!(data[DEFAULT_CLIENT_ID_KEY].0, b"id");
        assert_eq!(data[DEFAULT_CLIENT_SECRET_KEY].0, b"s3cr3t");
    }
}
