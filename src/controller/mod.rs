//! The controllers of the managed kinds (`Auth0Client`, `Auth0ClientGrant`,
//! `Auth0ResourceServer`), the tenant controllers, and what they share.
//!
//! Every managed kind runs in one reconcile frame ([`driver`]) and is wired the same way, for
//! each entry of the table of kinds ([`kinds`]). Each reconcile follows observe → plan → execute: a kind's
//! folder ([`client`], [`grant`], [`resource_server`]) observes (I/O only), plans its next step
//! in pure code (unit-tested per branch) and carries out its own steps; its `spec.rs` holds the
//! pure bodies and diffs; [`secret`] is the credentials Secret. See `ARCHITECTURE.md`. Auth0
//! state is read through [`inventory`], a cache
//! refreshed by *listing* (one request per 100 objects) at most once per resync interval, so
//! steady-state drift checks cost almost nothing against Auth0's rate limit.

pub mod client;
pub mod context;
pub mod diff;
pub mod driver;
pub mod error;
pub mod events;
pub mod finalizer;
pub mod grant;
pub mod inventory;
pub mod kinds;
pub mod plan;
pub mod resource_server;
pub mod secret;
pub mod status;
pub mod tenant;

use std::{
    collections::HashMap,
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};

use futures::{FutureExt, StreamExt, TryStreamExt as _, future::BoxFuture, stream::BoxStream};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client as KubeClient, ResourceExt,
    runtime::{
        Controller, WatchStreamExt,
        controller::{self, Action},
        events::Reporter,
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};
use parking_lot::Mutex;
use tracing::{info, warn};

use crate::{
    auth0::{Auth0Error, ManagementApi},
    config::OperatorConfig,
    http::Health,
    metrics::Metrics,
};

pub use context::Context;
use context::{KindHandle, ScopeKinds, Scopes};
pub use driver::{Kind, Outcome, error_policy, reconcile};
pub use error::Error;
pub use events::Recorder;
pub use inventory::Inventory;

/// How long reconciles may run on after shutdown before the controllers are dropped.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Field manager of every server-side apply the operator makes.
pub const FIELD_MANAGER: &str = "auth0-operator";
/// Label put on every Secret the operator creates.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Value of [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "auth0-operator";

/// The shutdown signal every controller of the operator shares.
type Shutdown =
    futures::future::Shared<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + Sync>>>;

/// Starts a wired controller once the scope's context exists.
type Start = Box<dyn FnOnce(Arc<Context>, Shutdown) -> BoxFuture<'static, ()> + Send>;

/// Wires the managed kinds of one scope (see [`Wiring::kind`](kinds::EachKind::kind)).
struct Wiring<'a> {
    kube: &'a KubeClient,
    namespace: Option<&'a str>,
    concurrency: u16,
    metrics: &'a Metrics,
    kinds: ScopeKinds,
    /// Every scope's kinds: what a change of an object wakes may live in another scope.
    scopes: Arc<Scopes>,
    readiness: Vec<BoxFuture<'static, ()>>,
    starts: Vec<Start>,
    /// The watch of the operator's Secrets (metadata only), for the kind that owns them.
    secrets:
        Option<BoxStream<'static, Result<kube::core::PartialObjectMeta<Secret>, watcher::Error>>>,
}

impl kinds::EachKind for Wiring<'_> {
    /// Wires one managed kind: a cache of its objects (without managedFields and kubectl's
    /// last-applied-configuration: at thousands of objects they are most of the memory), its
    /// controller at the configured concurrency running the [driver](driver::reconcile), a
    /// channel that wakes its objects (their tenant became ready, a referenced object changed),
    /// its count in the metrics and its part of readiness.
    fn kind<K: Kind>(&mut self) {
        let (store, writer) = reflector::store();
        let stream = watcher(api::<K>(self.kube, self.namespace), list_config())
            .default_backoff()
            .modify(trim)
            .map_ok(cache_and_filter(writer, self.scopes.clone()))
            .try_filter_map(|obj| std::future::ready(Ok(obj)));
        let (wakeups, wakeup_stream) = futures::channel::mpsc::unbounded();
        let mut controller = Controller::for_stream(stream, store.clone())
            .with_config(controller::Config::default().concurrency(self.concurrency))
            .reconcile_on(wakeup_stream);
        if K::OWNS_SECRETS
            && let Some(secrets) = self.secrets.take()
        {
            // A deleted or edited credentials Secret is repaired.
            controller = controller.owns_stream(secrets);
        }
        self.metrics
            .add_store(K::KIND, store.clone(), K::current_conditions);
        let ready = store.clone();
        self.readiness
            .push(async move { store_ready(&ready).await }.boxed());
        self.kinds.0.push(Box::new(KindHandle { store, wakeups }));
        self.starts.push(Box::new(move |ctx, shutdown| {
            controller
                .graceful_shutdown_on(shutdown)
                .run(reconcile::<K>, error_policy::<K>, ctx)
                .for_each(|r| async move { log_result(r) })
                .boxed()
        }));
    }
}

/// Writes each watch event to the cache (what `.reflect(writer)` does) and returns the object
/// it applies when that asks for a reconcile ([`reconcile_trigger`], against the version the
/// cache held until then). The cache is the memory of what was seen: the filter keeps nothing
/// per object (kube's `predicate_filter` kept a key and a hash of each, 1 MiB of the steady
/// heap with 5,000 objects).
///
/// Once the cache holds a change that the resources depending on the object see
/// ([`Kind::dependents_see_change`]), they are woken ([`Kind::wake_dependents`]): they read
/// the cache, never an older version than the one that woke them. A relist (after a desync)
/// lands in the cache all at once, at its end: what changed or went meanwhile wakes its
/// dependents then. (The first list wakes nobody: every object is reconciled after it, and
/// a dependent waits for the cache of what it references to be complete.)
fn cache_and_filter<K: Kind>(
    mut writer: reflector::store::Writer<K>,
    scopes: Arc<Scopes>,
) -> impl FnMut(watcher::Event<K>) -> Option<K> {
    let cached = writer.as_reader();
    let mut listed = false;
    // During a relist: the objects listed so far, and those whose dependents will be woken.
    let mut relisted = std::collections::HashSet::new();
    let mut changed: Vec<ObjectRef<K>> = Vec::new();
    move |event| {
        let was = match &event {
            watcher::Event::Apply(o) | watcher::Event::InitApply(o) | watcher::Event::Delete(o) => {
                cached.get(&ObjectRef::from_obj(o))
            }
            watcher::Event::Init | watcher::Event::InitDone => None,
        };
        let (fire, wakes) = match &event {
            watcher::Event::Apply(obj) => (
                reconcile_trigger(was.as_deref(), obj),
                K::dependents_see_change(was.as_deref(), Some(obj)),
            ),
            watcher::Event::InitApply(obj) => {
                if listed {
                    let key = ObjectRef::from_obj(obj);
                    if K::dependents_see_change(was.as_deref(), Some(obj)) {
                        changed.push(key.clone());
                    }
                    relisted.insert(key);
                }
                (reconcile_trigger(was.as_deref(), obj), false)
            }
            watcher::Event::Delete(_) => (false, K::dependents_see_change(was.as_deref(), None)),
            watcher::Event::Init => {
                relisted.clear();
                changed.clear();
                (false, false)
            }
            watcher::Event::InitDone => {
                if listed {
                    // Gone during the desync: the cache drops them now.
                    for o in cached.state() {
                        if !relisted.contains(&ObjectRef::from_obj(&*o)) {
                            o.wake_dependents(&scopes);
                        }
                    }
                }
                (false, false)
            }
        };
        writer.apply_watcher_event(&event);
        match &event {
            watcher::Event::InitDone => {
                for key in changed.drain(..) {
                    if let Some(o) = cached.get(&key) {
                        o.wake_dependents(&scopes);
                    }
                }
                relisted = Default::default();
                listed = true;
            }
            watcher::Event::Apply(o) | watcher::Event::Delete(o) if wakes => {
                o.wake_dependents(&scopes)
            }
            _ => {}
        }
        match event {
            watcher::Event::Apply(obj) | watcher::Event::InitApply(obj) if fire => Some(obj),
            _ => None,
        }
    }
}

/// Whether a managed object's new version asks for a reconcile, given the version the cache
/// held (`None`: not seen yet, or after a deletion). What does: its spec (the generation), its
/// labels and annotations (the rotate annotation; a label is how users poke a resource), its
/// deletion, or another object of the same name (uid). The operator's own writes to it (its
/// status, the finalizer) do not come back as reconciles of their own; the cache still sees
/// them. During a relist the cache still holds the versions from before it, so only what
/// changed meanwhile is reconciled.
fn reconcile_trigger<K: kube::Resource>(cached: Option<&K>, obj: &K) -> bool {
    let Some(cached) = cached else {
        return true;
    };
    let (was, now) = (cached.meta(), obj.meta());
    was.uid != now.uid
        || was.generation != now.generation
        || was.deletion_timestamp.is_some() != now.deletion_timestamp.is_some()
        || was.labels != now.labels
        || was.annotations != now.annotations
}

/// Wires every kind of the table ([`kinds::MANAGED`]).
fn wire_kinds(w: &mut Wiring<'_>) {
    kinds::each(w);
}

fn api<K>(client: &KubeClient, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Runs the controllers until `shutdown` completes (or forever), with private metrics and
/// health state. See [`run_with`].
pub async fn run(
    kube: KubeClient,
    config: OperatorConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let metrics = Arc::new(Metrics::new());
    let health = Arc::new(Health::default());
    run_with(kube, config, metrics, health, shutdown).await
}

/// Runs the controllers for every watched namespace (or all namespaces) until `shutdown`
/// completes. Sets `health.caches_synced` once every cache has its initial list.
pub async fn run_with(
    kube: KubeClient,
    config: OperatorConfig,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    let tenants = Arc::new(tenant::Tenants::new(
        config.auth0.clone(),
        config.tenant_policy.clone(),
        config.resync_interval,
    )?);
    let recorder = Recorder::new(
        kube.clone(),
        Reporter {
            controller: "auth0-operator".into(),
            instance: Some(config.identity.clone()),
        },
    );
    if let Some(default) = tenants.default_tenant() {
        metrics.set_auth0(&default.key, &default.auth0);
        // Take both listings right away: every client created after the grant listing began
        // is then known to have no grants the listing missed, so creating its grants needs no
        // extra lookup (see `Inventory::grants_listing_covers_new_client`).
        tokio::spawn(async move {
            verify_credentials(&default.auth0).await;
            let (c, g) = tokio::join!(
                default.inventory.ensure_clients(&default.auth0),
                default.inventory.ensure_grants(&default.auth0)
            );
            if let Err(e) = c.and(g) {
                warn!(error = %e, "could not list Auth0 clients and grants yet; will retry on demand");
            }
        });
    } else {
        info!(
            "no default tenant configured (AUTH0_DOMAIN is not set): resources must name an Auth0Tenant or ClusterAuth0Tenant in spec.tenantRef"
        );
    }
    let failures = Arc::new(Mutex::new(HashMap::new()));
    let required_scopes: Arc<[&'static str]> = kinds::required_scopes().into();
    let pending_creates = Arc::new(Mutex::new(Default::default()));
    let own_writes = Arc::new(context::OwnWrites::default());
    let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    };
    info!(namespaces = ?config.namespaces, resync = ?config.resync_interval, "starting controllers");

    let shutdown: Shutdown = futures::future::FutureExt::shared(Box::pin(shutdown));
    let mut runs = Vec::new();
    let mut readiness = Vec::new();
    let all_scopes = Arc::new(Scopes::default());
    // ClusterAuth0Tenants: one cache and one controller for the whole cluster.
    let (cluster_tenants, cluster_tenants_writer) = reflector::store();
    let cluster_tenants_stream = watcher(
        Api::<crate::crd::ClusterAuth0Tenant>::all(kube.clone()),
        list_config(),
    )
    .default_backoff()
    .modify(trim)
    .reflect(cluster_tenants_writer)
    .applied_objects();
    let (cluster_tenant_wakeups, cluster_tenant_wakeup_stream) =
        futures::channel::mpsc::unbounded();
    let cluster_tenant_controller =
        Controller::for_stream(cluster_tenants_stream, cluster_tenants.clone())
            .reconcile_on(cluster_tenant_wakeup_stream);
    {
        let c = cluster_tenants.clone();
        readiness.push(
            async move {
                store_ready(&c).await;
            }
            .boxed(),
        );
    }
    let mut first_ctx: Option<Arc<Context>> = None;
    for ns in scopes {
        // The operator's Secrets are watched as metadata only, and not cached: a change wakes
        // their owner, whose reconcile reads its one Secret from the API server. (A cache of
        // them held every credential in memory: 3 KiB per Secret, mostly labels, annotations
        // and owner reference, 22 % of the heap with 5,000 objects.)
        let secrets_api: Api<kube::core::PartialObjectMeta<Secret>> = api(&kube, ns.as_deref());
        let secret_wc = list_config().labels(&format!("{MANAGED_BY_LABEL}={MANAGED_BY_VALUE}"));
        let echoes = own_writes.clone();
        let secret_stream = watcher(secrets_api, secret_wc)
            .default_backoff()
            .touched_objects()
            // The operator's own writes come back as events: they wake nobody.
            .try_filter(move |s| std::future::ready(!echoes.is_echo(&s.metadata)));

        // Every managed kind is wired the same way (see `wire_kinds`).
        let mut wiring = Wiring {
            kube: &kube,
            namespace: ns.as_deref(),
            concurrency: config.concurrency,
            metrics: &metrics,
            kinds: ScopeKinds::default(),
            scopes: all_scopes.clone(),
            readiness: Vec::new(),
            starts: Vec::new(),
            secrets: Some(secret_stream.boxed()),
        };
        wire_kinds(&mut wiring);
        let Wiring {
            kinds,
            readiness: kinds_ready,
            starts,
            ..
        } = wiring;
        let kinds = Arc::new(kinds);
        all_scopes.0.lock().push(kinds.clone());

        // Auth0Tenants of this scope, re-verified when a Secret they reference changes
        // (Secrets are watched as metadata only: nothing secret is cached).
        let (ns_tenants, ns_tenants_writer) = reflector::store();
        let ns_tenants_stream = watcher(
            api::<crate::crd::Auth0Tenant>(&kube, ns.as_deref()),
            list_config(),
        )
        .default_backoff()
        .modify(trim)
        .reflect(ns_tenants_writer)
        .applied_objects();
        let (tenant_wakeups, tenant_wakeup_stream) = futures::channel::mpsc::unbounded();
        let tenant_controller = Controller::for_stream(ns_tenants_stream, ns_tenants.clone())
            .reconcile_on(tenant_wakeup_stream);
        runs.push(
            // Ends with the controllers.
            futures::future::select(
                tenant_secret_watch(
                    api::<kube::core::PartialObjectMeta<Secret>>(&kube, ns.as_deref()),
                    ns_tenants.clone(),
                    cluster_tenants.clone(),
                    tenant_wakeups,
                    cluster_tenant_wakeups.clone(),
                )
                .boxed(),
                shutdown.clone(),
            )
            .map(|_| ())
            .boxed(),
        );
        {
            let t = ns_tenants.clone();
            readiness.push(
                async move {
                    tokio::join!(futures::future::join_all(kinds_ready), store_ready(&t));
                }
                .boxed(),
            );
        }

        let ctx = Arc::new(Context {
            kube: kube.clone(),
            tenants: tenants.clone(),
            tenant_stores: tenant::TenantStores {
                namespaced: ns_tenants,
                cluster: cluster_tenants.clone(),
            },
            scopes: all_scopes.clone(),
            kinds,
            required_scopes: required_scopes.clone(),
            recorder: recorder.clone(),
            config: config.clone(),
            metrics: metrics.clone(),
            failures: failures.clone(),
            pending_creates: Arc::clone(&pending_creates),
            own_writes: Arc::clone(&own_writes),
        });
        for start in starts {
            runs.push(start(ctx.clone(), shutdown.clone()));
        }
        runs.push(
            tenant_controller
                .graceful_shutdown_on(shutdown.clone())
                .run(
                    tenant::reconcile_tenant::<crate::crd::Auth0Tenant>,
                    tenant::tenant_error_policy::<crate::crd::Auth0Tenant>,
                    ctx.clone(),
                )
                .for_each(|r| async move { log_result(r) })
                .boxed(),
        );
        first_ctx.get_or_insert(ctx);
    }
    if let Some(ctx) = first_ctx {
        runs.push(
            futures::future::select(
                namespace_label_watch(kube.clone(), config.namespaces.clone(), ctx.clone()).boxed(),
                shutdown.clone(),
            )
            .map(|_| ())
            .boxed(),
        );
        runs.push(
            cluster_tenant_controller
                .graceful_shutdown_on(shutdown.clone())
                .run(
                    tenant::reconcile_tenant::<crate::crd::ClusterAuth0Tenant>,
                    tenant::tenant_error_policy::<crate::crd::ClusterAuth0Tenant>,
                    ctx,
                )
                .for_each(|r| async move { log_result(r) })
                .boxed(),
        );
    }
    let synced = health.clone();
    // The initial lists are requested when the controllers are first polled, just below.
    let watching = metrics.startup_phase(crate::metrics::phase::WATCHING);
    let started = metrics.clone();
    tokio::spawn(async move {
        futures::future::join_all(readiness).await;
        synced
            .caches_synced
            .store(true, std::sync::atomic::Ordering::Relaxed);
        let at = started.startup_phase(crate::metrics::phase::SYNCED);
        // The initial lists were decoded page by page (managedFields and all) and dropped.
        release_freed_memory();
        info!(
            since_start_ms = (at * 1000.0).round() as u64,
            initial_lists_ms = ((at - watching) * 1000.0).round() as u64,
            "caches synced"
        );
    });
    // After shutdown the controllers get a grace period to finish their reconciles. A
    // controller whose cache never synced (e.g. RBAC forbids listing a tenant kind) holds its
    // runner forever: it is dropped when the grace period ends instead of hanging the exit.
    let grace = shutdown
        .clone()
        .then(|_| tokio::time::sleep(SHUTDOWN_GRACE))
        .boxed();
    if let futures::future::Either::Right(_) =
        futures::future::select(futures::future::join_all(runs), grace).await
    {
        warn!(
            grace = ?SHUTDOWN_GRACE,
            "controllers did not stop within the grace period (a cache that never synced?); stopping anyway"
        );
    }
    info!("controllers stopped");
    Ok(())
}

/// Wakes the tenants that reference a Secret whenever it changes. Watches Secret *metadata*
/// only, and keeps no cache of it.
async fn tenant_secret_watch(
    secrets: Api<kube::core::PartialObjectMeta<Secret>>,
    ns_tenants: Store<crate::crd::Auth0Tenant>,
    cluster_tenants: Store<crate::crd::ClusterAuth0Tenant>,
    ns_wakeups: futures::channel::mpsc::UnboundedSender<ObjectRef<crate::crd::Auth0Tenant>>,
    cluster_wakeups: futures::channel::mpsc::UnboundedSender<
        ObjectRef<crate::crd::ClusterAuth0Tenant>,
    >,
) {
    // An Api of PartialObjectMeta makes metadata-only requests.
    let stream = watcher(secrets, list_config())
        .default_backoff()
        .touched_objects();
    futures::pin_mut!(stream);
    while let Some(item) = stream.next().await {
        let Ok(meta) = item else { continue };
        let (ns, name) = (meta.namespace().unwrap_or_default(), meta.name_any());
        for t in ns_tenants.state() {
            if t.namespace().as_deref() == Some(ns.as_str())
                && t.spec.credentials_secret_ref.name == name
            {
                let _ = ns_wakeups.unbounded_send(ObjectRef::from_obj(&*t));
            }
        }
        for t in cluster_tenants.state() {
            let r = &t.spec.credentials_secret_ref;
            if r.namespace == ns && r.name == name {
                let _ = cluster_wakeups.unbounded_send(ObjectRef::from_obj(&*t));
            }
        }
    }
}

/// Asks Auth0 for a token once at start and says clearly in the log whether the management
/// credentials work (also exported as `auth0_operator_auth0_credentials_valid`). Readiness stays
/// about the process: wrong credentials show here, in the metric and in every resource's
/// `Ready` message, not as a failing probe.
async fn verify_credentials(auth0: &ManagementApi) {
    match auth0.check_credentials().await {
        Ok(scopes) => {
            let missing = crate::auth0::missing_scopes(&kinds::required_scopes(), &scopes);
            if missing.is_empty() {
                info!(
                    domain = auth0.domain(),
                    "Auth0 management credentials verified"
                );
            } else {
                warn!(
                    domain = auth0.domain(),
                    missing = %missing.join(" "),
                    "Auth0 accepted the management credentials, but the token lacks scopes the operator needs; grant them to the operator's application (Auth0 dashboard: Applications > APIs > Auth0 Management API > Machine to Machine Applications)"
                );
            }
        }
        Err(e @ Auth0Error::InvalidCredentials { .. }) => {
            tracing::error!(
                error = %e,
                "Auth0 rejected the management credentials: every resource will report Ready=False until they are fixed"
            );
        }
        Err(e) => {
            warn!(error = %e, "could not verify the Auth0 management credentials yet");
        }
    }
}

/// Watch settings for every cache and watch: resourceVersion="0" lists in pages of 500. Whole
/// lists come back faster from the API server's watch cache (kube-apiserver 1.20 reads pages
/// from etcd), but a page is decoded whole, managedFields included, before they are dropped:
/// a whole list of thousands of objects would make start-up the peak of the operator's memory.
/// Wakes every managed resource of a namespace whose labels changed: a tenant's policy, its
/// `allowedNamespaces` or an API's `allowedConsumers` may select it by label, so consent may
/// have been given or withdrawn (a withdrawn one revokes at once, not at the next resync).
/// Namespaces are watched as metadata only: every namespace in cluster mode, each watched one
/// (by name) otherwise.
async fn namespace_label_watch(kube: kube::Client, namespaces: Vec<String>, ctx: Arc<Context>) {
    use k8s_openapi::api::core::v1::Namespace;
    let api: Api<kube::core::PartialObjectMeta<Namespace>> = Api::all(kube);
    let configs: Vec<watcher::Config> = if namespaces.is_empty() {
        vec![list_config()]
    } else {
        namespaces
            .iter()
            .map(|n| list_config().fields(&format!("metadata.name={n}")))
            .collect()
    };
    let mut events = futures::stream::select_all(configs.into_iter().map(|c| {
        watcher(api.clone(), c)
            .default_backoff()
            .touched_objects()
            .boxed()
    }));
    let mut labels: HashMap<String, std::collections::BTreeMap<String, String>> = HashMap::new();
    while let Some(event) = events.next().await {
        let ns = match event {
            Ok(ns) => ns,
            Err(e) => {
                warn!(error = %e, "watching namespaces failed; retrying (label changes apply at the next resync meanwhile)");
                continue;
            }
        };
        let name = ns.metadata.name.clone().unwrap_or_default();
        let now = ns.metadata.labels.clone().unwrap_or_default();
        if labels
            .insert(name.clone(), now.clone())
            .is_some_and(|before| before != now)
        {
            info!(namespace = %name, "namespace labels changed: its resources are checked again");
            ctx.wake_namespace(&name);
        }
    }
}

fn list_config() -> watcher::Config {
    watcher::Config::default().any_semantic().page_size(500)
}

/// Gives the memory a burst freed (decoded list pages, listings) back to the system. glibc keeps
/// freed memory in its per-thread arenas until it is trimmed (with 5,000 objects in sync,
/// trimming took the steady VmRSS from 55.9 to 52.3 MiB). A no-op with other allocators.
pub(crate) fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory of the allocator's arenas to the system.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Reconciles of managed objects finished by this process, and that count when memory was last
/// given back after a burst of them (see [`reconciled`]).
static RECONCILES_FINISHED: AtomicU64 = AtomicU64::new(0);
static RECONCILES_AT_TRIM: AtomicU64 = AtomicU64::new(0);
static TRIM_SCHEDULED: AtomicBool = AtomicBool::new(false);

/// A burst of at least this many reconciles (a start-up or resync pass, a mass creation) ...
const TRIM_AFTER_RECONCILES: u64 = 100;
/// ... gives its memory back once no reconcile has finished for this long.
const TRIM_WHEN_QUIET_FOR: Duration = Duration::from_secs(1);

/// Counts a finished reconcile; after a burst of them, once they stop, gives the memory they
/// freed back to the system ([`release_freed_memory`]). Each reconcile's requests, responses
/// and observations are freed when it ends, but glibc keeps the freed memory in its arenas:
/// after the start-up pass over 5,000 objects 1.5–2.2 MiB of the VmRSS was such free memory.
pub(crate) fn reconciled() {
    let finished = RECONCILES_FINISHED.fetch_add(1, Ordering::Relaxed) + 1;
    if finished - RECONCILES_AT_TRIM.load(Ordering::Relaxed) < TRIM_AFTER_RECONCILES
        || TRIM_SCHEDULED.swap(true, Ordering::AcqRel)
    {
        return;
    }
    /// Lets the next burst schedule its trim, also when the runtime stops this one.
    struct Scheduled;
    impl Drop for Scheduled {
        fn drop(&mut self) {
            TRIM_SCHEDULED.store(false, Ordering::Release);
        }
    }
    let scheduled = Scheduled;
    tokio::spawn(async move {
        let _scheduled = scheduled;
        let mut seen = RECONCILES_FINISHED.load(Ordering::Relaxed);
        loop {
            tokio::time::sleep(TRIM_WHEN_QUIET_FOR).await;
            let now = RECONCILES_FINISHED.load(Ordering::Relaxed);
            if now == seen {
                break;
            }
            seen = now;
        }
        RECONCILES_AT_TRIM.store(seen, Ordering::Relaxed);
        release_freed_memory();
    });
}

/// Drops what the operator never reads from cached objects.
fn trim<K: kube::Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// Waits until a cache has its initial list: the one way to wait for it, in the operator and in
/// its tests. `Store::wait_until_ready` wakes only the last of several concurrent waiters (the
/// controller itself waits on the same store, and grants wait on their clients' store), so the
/// wait is re-polled on a short timer rather than trusted to wake us. `clippy.toml` forbids
/// calling `wait_until_ready` anywhere else.
#[allow(clippy::disallowed_methods)]
pub async fn store_ready<K>(store: &Store<K>)
where
    K: kube::Resource + Clone + 'static,
    K::DynamicType: Eq + std::hash::Hash + Clone,
{
    loop {
        match tokio::time::timeout(Duration::from_millis(20), store.wait_until_ready()).await {
            Ok(_) => return,
            Err(_) => continue,
        }
    }
}

fn log_result<K: kube::Resource, E: std::fmt::Display>(
    r: Result<(ObjectRef<K>, Action), controller::Error<E, watcher::Error>>,
) {
    match r {
        Ok((obj, _)) => tracing::debug!(object = %obj, "reconciled"),
        // Reconcile failures are logged by the reconcilers themselves with namespace/name.
        Err(controller::Error::ReconcilerFailed(_, _)) => {}
        // A watch whose resourceVersion expired (410 Gone) is restarted from a fresh list: routine.
        Err(controller::Error::QueueError(ref e)) if watch_expired(e) => {
            tracing::debug!(error = %e, "watch restarted after its resourceVersion expired");
        }
        // Reconciles queued for an object deleted meanwhile: nothing to do.
        Err(controller::Error::ObjectNotFound(ref obj)) => {
            tracing::debug!(object = %obj, "object gone before its reconcile");
        }
        Err(e) => warn!(error = %e, "controller error"),
    }
}

/// Whether a watch error is the API server saying the watch's resourceVersion is too old.
fn watch_expired(e: &watcher::Error) -> bool {
    match e {
        watcher::Error::WatchError(status) => status.code == 410,
        watcher::Error::WatchFailed(kube::Error::Api(status))
        | watcher::Error::WatchStartFailed(kube::Error::Api(status)) => status.code == 410,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::Auth0Client;

    #[test]
    fn only_what_the_user_changes_triggers_a_reconcile() {
        let base: Auth0Client = serde_json::from_value(serde_json::json!({
            "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
            "metadata": {"name": "web", "namespace": "a", "generation": 1},
            "spec": {"name": "Web"}
        }))
        .unwrap();
        // Not seen before (a start, a new object): a trigger.
        assert!(reconcile_trigger(None, &base));
        let same = |f: &dyn Fn(&mut Auth0Client)| {
            let mut o = base.clone();
            f(&mut o);
            !reconcile_trigger(Some(&base), &o)
        };
        assert!(same(&|_| {}));
        // The operator's own writes: not a trigger.
        assert!(same(&|o| o.status = Some(Default::default())));
        assert!(same(
            &|o| o.metadata.finalizers = Some(vec![crate::crd::FINALIZER.into()])
        ));
        // The user's: a trigger.
        assert!(!same(&|o| o.metadata.generation = Some(2)));
        assert!(!same(&|o| {
            o.metadata.labels = Some([("poke".to_string(), "1".to_string())].into())
        }));
        assert!(!same(&|o| {
            o.metadata.annotations = Some(
                [(
                    client::credentials::ROTATE_ANNOTATION.to_string(),
                    "1".to_string(),
                )]
                .into(),
            )
        }));
        assert!(!same(&|o| o.metadata.uid = Some("another".into())));
        assert!(!same(&|o| {
            o.metadata.deletion_timestamp =
                Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                    k8s_openapi::jiff::Timestamp::now(),
                ))
        }));
    }

    #[test]
    fn the_cache_is_written_and_only_triggers_pass() {
        use watcher::Event;
        let obj = |name: &str, generation: i64, status: bool| -> Auth0Client {
            let mut o: Auth0Client = serde_json::from_value(serde_json::json!({
                "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
                "metadata": {"name": name, "namespace": "a", "uid": format!("uid-{name}"),
                             "generation": generation},
                "spec": {"name": "Web"}
            }))
            .unwrap();
            if status {
                o.status = Some(Default::default());
            }
            o
        };
        let names = |out: Vec<Option<Auth0Client>>| -> Vec<String> {
            out.into_iter().flatten().map(|o| o.name_any()).collect()
        };
        let (store, writer) = reflector::store::<Auth0Client>();
        let mut f = cache_and_filter(writer, Arc::default());
        // The initial list: every object, and the cache holds them once it is done.
        let out = [
            Event::Init,
            Event::InitApply(obj("a", 1, false)),
            Event::InitApply(obj("b", 1, false)),
            Event::InitDone,
        ]
        .map(&mut f);
        assert_eq!(names(out.into()), ["a", "b"]);
        assert_eq!(store.state().len(), 2);
        // The operator's status write: cached, no reconcile. A spec change: a reconcile.
        assert!(f(Event::Apply(obj("a", 1, true))).is_none());
        assert!(
            store
                .get(&ObjectRef::new("a").within("a"))
                .unwrap()
                .status
                .is_some()
        );
        assert_eq!(f(Event::Apply(obj("b", 2, false))).unwrap().name_any(), "b");
        // A relist (after a desync): only what changed meanwhile.
        let out = [
            Event::Init,
            Event::InitApply(obj("a", 1, true)),
            Event::InitApply(obj("b", 3, false)),
            Event::InitApply(obj("c", 1, false)),
            Event::InitDone,
        ]
        .map(&mut f);
        assert_eq!(names(out.into()), ["b", "c"]);
        // Deleted and made again under the same name: a new object.
        assert!(f(Event::Delete(obj("c", 1, false))).is_none());
        assert!(f(Event::Apply(obj("c", 1, false))).is_some());
    }

    /// Every task that waits for a cache's first list is woken when it lands: a grant waiting on
    /// its client's cache while the client controller waits on the same cache (kube's
    /// `wait_until_ready` would wake only the last of them, and the grant slept 30 s).
    #[tokio::test]
    async fn every_waiter_for_a_caches_first_list_wakes_when_it_lands() {
        let (store, mut writer) = reflector::store::<Auth0Client>();
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move { store_ready(&store).await })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            waiters.iter().all(|w| !w.is_finished()),
            "nothing listed yet"
        );
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        for w in waiters {
            tokio::time::timeout(Duration::from_secs(1), w)
                .await
                .expect("every waiter wakes within a second")
                .unwrap();
        }
    }

    #[test]
    fn a_change_grants_see_wakes_them_once_the_cache_holds_it() {
        use crate::crd::Auth0ClientGrant;
        use watcher::Event;
        let client = |rv: &str, ready: Option<&str>| -> Auth0Client {
            let mut o: Auth0Client = serde_json::from_value(serde_json::json!({
                "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
                "metadata": {"name": "web", "namespace": "a", "uid": "uid-web",
                             "generation": 1, "resourceVersion": rv},
                "spec": {"name": "Web"}
            }))
            .unwrap();
            if let Some(status) = ready {
                o.status = Some(serde_json::from_value(serde_json::json!({
                    "clientId": "c1",
                    "conditions": [{"type": "Ready", "status": status, "reason": "Synced",
                                    "message": "", "lastTransitionTime": "2026-12-07T00:00:00Z"}]
                })).unwrap());
            }
            o
        };
        let grant = |name: &str, client: &str| -> Auth0ClientGrant {
            serde_json::from_value(serde_json::json!({
                "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0ClientGrant",
                "metadata": {"name": name, "namespace": "a"},
                "spec": {"clientRef": {"name": client}, "audience": "https://api"}
            }))
            .unwrap()
        };
        // The grants' cache and wake-up channel, as the wiring makes them.
        let (grants, mut grants_writer) = reflector::store::<Auth0ClientGrant>();
        for e in [
            Event::Init,
            Event::InitApply(grant("g1", "web")),
            Event::InitApply(grant("g2", "other")),
            Event::InitDone,
        ] {
            grants_writer.apply_watcher_event(&e);
        }
        let (wakeups, mut woken) = futures::channel::mpsc::unbounded();
        let scope = ScopeKinds(vec![Box::new(KindHandle {
            store: grants,
            wakeups,
        })]);
        let scopes = Arc::new(Scopes::default());
        scopes.0.lock().push(Arc::new(scope));
        let (clients, writer) = reflector::store::<Auth0Client>();
        let mut f = cache_and_filter(writer, scopes);
        let mut drain = || {
            let mut names = Vec::new();
            while let Ok(o) = woken.try_recv() {
                names.push(o.name);
            }
            names
        };
        // The first list wakes nobody (every grant is reconciled after its own).
        for e in [
            Event::Init,
            Event::InitApply(client("1", None)),
            Event::InitDone,
        ] {
            f(e);
        }
        assert_eq!(drain(), Vec::<String>::new());
        // Its first status (the operator's own write: no reconcile of the client) wakes the
        // grant that names it, and the cache already holds that status.
        assert!(f(Event::Apply(client("2", Some("False")))).is_none());
        assert_eq!(drain(), ["g1"]);
        let cached = clients.get(&ObjectRef::new("web").within("a")).unwrap();
        assert_eq!(
            cached.status.as_ref().unwrap().conditions[0].status,
            "False"
        );
        // A write grants do not see (same readiness and id) wakes nobody; readiness does.
        f(Event::Apply(client("3", Some("False"))));
        assert_eq!(drain(), Vec::<String>::new());
        f(Event::Apply(client("4", Some("True"))));
        assert_eq!(drain(), ["g1"]);
        // A relist (after a desync) that finds it gone wakes the grant when it ends.
        f(Event::Init);
        assert_eq!(drain(), Vec::<String>::new());
        f(Event::InitDone);
        assert_eq!(drain(), ["g1"]);
        assert!(clients.state().is_empty());
        // Back, in another relist: woken once the cache holds it again.
        f(Event::Init);
        f(Event::InitApply(client("5", Some("True"))));
        assert_eq!(drain(), Vec::<String>::new());
        f(Event::InitDone);
        assert_eq!(drain(), ["g1"]);
        // Deleted: woken.
        f(Event::Delete(client("6", Some("True"))));
        assert_eq!(drain(), ["g1"]);
    }

    #[test]
    fn an_expired_watch_is_routine() {
        let status = |code: u16| kube::core::Status {
            code,
            message: "too old resource version: 206 (207)".into(),
            reason: "Expired".into(),
            ..Default::default()
        };
        assert!(watch_expired(&watcher::Error::WatchError(Box::new(
            status(410)
        ))));
        assert!(!watch_expired(&watcher::Error::WatchError(Box::new(
            status(403)
        ))));
        assert!(!watch_expired(&watcher::Error::NoResourceVersion));
    }
}
