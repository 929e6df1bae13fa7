//! The controllers of the managed kinds (`Auth0Client`, `Auth0ClientGrant`,
//! `Auth0ResourceServer`), the tenant controllers, and what they share.
//!
//! Every managed kind runs in one reconcile frame ([`driver`]) and is wired the same way (see
//! `wire_kinds`, the table of kinds). Each reconcile follows dereference → validate → build →
//! apply: [`build`] holds the pure part (desired Auth0 bodies, diffs, the Secret) and is
//! unit-tested without any client; [`client`], [`grant`] and [`resource_server`] do the I/O. Auth0 state is read through [`inventory`], a cache
//! refreshed by *listing* (one request per 100 objects) at most once per resync interval, so
//! steady-state drift checks cost almost nothing against Auth0's rate limit.

pub mod build;
pub mod client;
pub mod credentials;
pub mod driver;
pub mod events;
pub mod finalizer;
pub mod grant;
pub mod inventory;
pub mod keys;
pub mod resource_server;
pub mod rotation;
pub mod secret_store;
pub mod status;
pub mod template;
pub mod tenant;

use std::{collections::HashMap, sync::Arc, time::Duration};

use futures::{FutureExt, StreamExt, future::BoxFuture, stream::BoxStream};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client as KubeClient, ResourceExt,
    runtime::{
        Controller, WatchStreamExt,
        controller::{self, Action},
        events::{Event, EventType, Reporter},
        reflector::{self, ObjectRef, Store},
        watcher,
    },
};
use parking_lot::Mutex;
use tracing::{info, warn};

use crate::{
    auth0::{Auth0Error, ManagementApi},
    config::OperatorConfig,
    crd::{Auth0Client, Auth0ClientGrant, Auth0ResourceServer, Reason},
    http::Health,
    metrics::Metrics,
};

pub use driver::{Kind, Outcome, error_policy, reconcile};
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

/// Errors of one reconcile. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Auth0 answered with an error or could not be reached.
    #[error("{0}")]
    Auth0(#[from] Auth0Error),
    /// The Kubernetes API failed.
    #[error("Kubernetes API error: {0}")]
    Kube(#[from] kube::Error),
    /// The spec cannot be applied as written (the user must change it).
    #[error("{0}")]
    InvalidSpec(String),
    /// The target Secret exists and belongs to someone else.
    #[error("{0}")]
    SecretConflict(String),
    /// The referenced Auth0Client is missing or not ready.
    #[error("{0}")]
    ClientNotReady(String),
    /// The referenced Auth0ResourceServer is missing or not ready.
    #[error("{0}")]
    ResourceServerNotReady(String),
    /// An Auth0 object with this resource's unique key exists and is not this resource's.
    #[error("{0}")]
    AlreadyExists(String),
    /// A grant asks for scopes its API does not define.
    #[error("{0}")]
    UnknownScopes(String),
    /// The Auth0 object this resource names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The referenced tenant does not exist, or no default tenant is configured.
    #[error("{0}")]
    TenantNotFound(String),
    /// The referenced tenant is not verified.
    #[error("{0}")]
    TenantNotReady(String),
    /// The referenced `ClusterAuth0Tenant` does not allow this namespace.
    #[error("{0}")]
    TenantNotAllowed(String),
    /// A tenant's deletion waits for the resources that use it.
    #[error("{0}")]
    TenantInUse(String),
    /// Adding or removing the finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    /// The `Ready` condition reason (and event reason) for this error.
    pub fn reason(&self) -> Reason {
        match self {
            Error::Auth0(Auth0Error::RateLimited { .. }) => Reason::RateLimited,
            Error::Auth0(Auth0Error::Api { status: 400, .. }) => Reason::InvalidSpec,
            Error::Auth0(e) if e.is_retryable() => Reason::Auth0Unavailable,
            Error::Auth0(_) => Reason::Auth0Error,
            Error::Kube(_) => Reason::KubernetesError,
            Error::InvalidSpec(_) => Reason::InvalidSpec,
            Error::SecretConflict(_) => Reason::SecretConflict,
            Error::ClientNotReady(_) => Reason::ClientNotReady,
            Error::ResourceServerNotReady(_) => Reason::ResourceServerNotReady,
            Error::AlreadyExists(_) => Reason::AlreadyExists,
            Error::UnknownScopes(_) => Reason::UnknownScopes,
            Error::NotFound(_) => Reason::NotFound,
            Error::TenantNotFound(_) => Reason::TenantNotFound,
            Error::TenantNotReady(_) | Error::TenantInUse(_) => Reason::TenantNotReady,
            Error::TenantNotAllowed(_) => Reason::TenantNotAllowed,
            Error::Finalizer(inner) => match &**inner {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.reason(),
                _ => Reason::KubernetesError,
            },
        }
    }

    /// Errors the user must fix; retrying soon cannot help.
    pub fn needs_user(&self) -> bool {
        match self {
            Error::InvalidSpec(_)
            | Error::SecretConflict(_)
            | Error::NotFound(_)
            | Error::AlreadyExists(_)
            | Error::UnknownScopes(_)
            | Error::TenantNotAllowed(_) => true,
            // Wrong management credentials or scopes: retrying soon only costs token requests.
            Error::Auth0(
                Auth0Error::Api { status: 400, .. }
                | Auth0Error::InvalidCredentials { .. }
                | Auth0Error::InsufficientScope { .. },
            ) => true,
            _ => false,
        }
    }
}

/// Shared state of the controllers of one scope (a namespace, or all).
pub struct Context {
    /// Kubernetes client.
    pub kube: KubeClient,
    /// The tenants: per tenant one Auth0 client (token cache, rate limiter) and one inventory.
    pub tenants: Arc<tenant::Tenants>,
    /// Caches of `Auth0Tenant`s (of this scope) and `ClusterAuth0Tenant`s.
    pub tenant_stores: tenant::TenantStores,
    /// Every scope's kinds (for the tenant controllers).
    scopes: Arc<Scopes>,
    /// This scope's managed kinds: their caches and wake-up channels.
    kinds: Arc<ScopeKinds>,
    /// Shared event recorder.
    pub recorder: Recorder,
    /// Operator settings.
    pub config: OperatorConfig,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Consecutive failures per object, for exponential backoff.
    failures: Arc<Mutex<HashMap<String, u32>>>,
    /// UIDs of `Auth0Client`s whose create call ended without a clear answer: before creating
    /// again the client list is refreshed, so a client that was created after all is adopted.
    pub(crate) pending_creates: Arc<Mutex<std::collections::HashSet<String>>>,
}

/// One managed kind in one scope: its cache and the channel that wakes its objects.
struct KindHandle<K: Kind> {
    store: Store<K>,
    wakeups: futures::channel::mpsc::UnboundedSender<ObjectRef<K>>,
}

/// What the tenant controllers need of every kind, whatever its type.
trait AnyKind: Send + Sync {
    /// Wakes the objects that use the tenant `key`.
    fn wake_tenant_users(&self, key: &str);
    /// How many objects use the tenant `key`.
    fn tenant_users(&self, key: &str) -> usize;
    fn as_any(&self) -> &dyn std::any::Any;
}

impl<K: Kind> AnyKind for KindHandle<K> {
    fn wake_tenant_users(&self, key: &str) {
        for o in users_of(&self.store, key) {
            let _ = self.wakeups.unbounded_send(o);
        }
    }

    fn tenant_users(&self, key: &str) -> usize {
        users_of(&self.store, key).len()
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The managed kinds of one scope.
#[derive(Default)]
struct ScopeKinds(Vec<Box<dyn AnyKind>>);

impl ScopeKinds {
    fn get<K: Kind>(&self) -> Option<&KindHandle<K>> {
        self.0.iter().find_map(|k| k.as_any().downcast_ref())
    }
}

/// The objects in `store` that use the tenant `key`.
fn users_of<K: Kind>(store: &Store<K>, key: &str) -> Vec<ObjectRef<K>> {
    store
        .state()
        .iter()
        .filter(|o| tenant::tenant_key(&o.namespace().unwrap_or_default(), o.tenant_ref()) == key)
        .map(|o| ObjectRef::from_obj(&**o))
        .collect()
}

/// Every scope, so that a tenant can find (and wake) the resources that use it.
#[derive(Default)]
struct Scopes(Mutex<Vec<Arc<ScopeKinds>>>);

/// The shutdown signal every controller of the operator shares.
type Shutdown =
    futures::future::Shared<std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + Sync>>>;

/// Starts a wired controller once the scope's context exists.
type Start = Box<dyn FnOnce(Arc<Context>, Shutdown) -> BoxFuture<'static, ()> + Send>;

/// Wires the managed kinds of one scope (see [`Wiring::kind`]).
struct Wiring<'a> {
    kube: &'a KubeClient,
    namespace: Option<&'a str>,
    concurrency: u16,
    metrics: &'a Metrics,
    kinds: ScopeKinds,
    readiness: Vec<BoxFuture<'static, ()>>,
    starts: Vec<Start>,
    /// The watch of the operator's Secrets (metadata only), for the kind that owns them.
    secrets:
        Option<BoxStream<'static, Result<kube::core::PartialObjectMeta<Secret>, watcher::Error>>>,
}

impl Wiring<'_> {
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
            .reflect(writer)
            .applied_objects();
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

/// The table of managed kinds: a new kind is a module implementing [`Kind`] and one line here.
fn wire_kinds(w: &mut Wiring<'_>) {
    w.kind::<Auth0Client>();
    w.kind::<Auth0ClientGrant>();
    w.kind::<Auth0ResourceServer>();
}

impl Context {
    /// Reconciles, now, every resource that uses the tenant `key` (it became ready, changed
    /// credentials or went away).
    pub fn wake_tenant_users(&self, key: &str) {
        for scope in self.scopes.0.lock().iter() {
            for kind in &scope.0 {
                kind.wake_tenant_users(key);
            }
        }
    }

    /// How many resources use the tenant `key`.
    pub fn tenant_users(&self, key: &str) -> usize {
        self.scopes
            .0
            .lock()
            .iter()
            .flat_map(|s| s.0.iter())
            .map(|k| k.tenant_users(key))
            .sum()
    }

    fn backoff_key<K: kube::Resource<DynamicType = ()>>(obj: &K) -> String {
        format!(
            "{}/{}/{}",
            K::kind(&()),
            obj.namespace().unwrap_or_default(),
            obj.name_any()
        )
    }

    /// Records a failure and returns how long to wait before the next attempt:
    /// 1 s, 2 s, 4 s … capped at 5 minutes, with ±20 % jitter.
    pub fn next_backoff<K: kube::Resource<DynamicType = ()>>(&self, obj: &K) -> Duration {
        let mut map = self.failures.lock();
        let n = map.entry(Self::backoff_key(obj)).or_insert(0);
        *n = n.saturating_add(1);
        backoff_delay(*n)
    }

    /// The requeue after a failed reconcile: exponential backoff for errors that retrying can
    /// fix; a fixed, calm pace (at most the resync interval, at most 2 minutes, 1 minute when
    /// waiting for a referenced client) for errors that wait on the user or on another object,
    /// without growing the backoff.
    pub fn requeue_after_error<K: kube::Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        err: &Error,
    ) -> Action {
        let cap = self.config.resync_interval;
        match err {
            // Only the user (or a change that wakes the resource: its spec, the API's scopes)
            // resolves these, and each pass costs Auth0 requests: once per resync.
            Error::AlreadyExists(_) | Error::UnknownScopes(_) => Action::requeue(cap),
            e if e.reason().is_wait() => Action::requeue(cap.min(Duration::from_secs(60))),
            e if e.needs_user() => Action::requeue(cap.min(Duration::from_secs(120))),
            _ => Action::requeue(self.next_backoff(obj)),
        }
    }

    /// This scope's cache of `K` objects.
    pub fn store<K: Kind>(&self) -> Option<&Store<K>> {
        self.kinds.get::<K>().map(|h| &h.store)
    }

    /// Reconciles, now, every `K` object of this scope that `pick` selects.
    pub fn wake<K: Kind>(&self, pick: impl Fn(&K) -> bool) {
        if let Some(h) = self.kinds.get::<K>() {
            for o in h.store.state() {
                if pick(&o) {
                    let _ = h.wakeups.unbounded_send(ObjectRef::from_obj(&*o));
                }
            }
        }
    }

    /// Reconciles, now, every grant whose `clientRef` names this client (after the client became
    /// ready, changed id or went away).
    pub fn wake_grants_of(&self, client: &Auth0Client) {
        let (ns, name) = (client.namespace(), client.name_any());
        self.wake::<Auth0ClientGrant>(|g| {
            g.namespace() == ns && g.spec.client_ref.as_ref().is_some_and(|r| r.name == name)
        });
    }

    /// Reconciles, now, every grant whose `resourceServerRef` names this API (after it became
    /// ready, changed its scopes or went away).
    pub fn wake_grants_of_api(&self, api: &Auth0ResourceServer) {
        let (ns, name) = (api.namespace(), api.name_any());
        self.wake::<Auth0ClientGrant>(|g| {
            g.namespace() == ns
                && g.spec
                    .resource_server_ref
                    .as_ref()
                    .is_some_and(|r| r.name == name)
        });
    }

    /// Forgets the failures of an object after a successful reconcile.
    pub fn reset_backoff<K: kube::Resource<DynamicType = ()>>(&self, obj: &K) {
        self.failures.lock().remove(&Self::backoff_key(obj));
    }

    /// Publishes an event about `obj`; failures to publish are logged, never fatal.
    pub async fn event<K: kube::Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let ev = Event {
            type_,
            reason: reason.to_string(),
            note: Some(truncate(&note, 1000)),
            action: action.to_string(),
            secondary: None,
        };
        if let Err(e) = self.recorder.publish(&ev, &obj.object_ref(&())).await {
            warn!(error = %e, "could not publish event");
        }
    }

    /// The requeue used after a successful reconcile: the resync interval with a little jitter
    /// so that objects do not all come back at once.
    pub fn resync(&self) -> Action {
        let base = self.config.resync_interval;
        let jitter = base.mul_f64(rand_fraction() * 0.1);
        Action::requeue(base + jitter)
    }
}

/// Exponential backoff for the `n`th consecutive failure (n ≥ 1).
pub fn backoff_delay(n: u32) -> Duration {
    let base = Duration::from_secs(1).saturating_mul(1u32 << (n.saturating_sub(1)).min(9));
    let capped = base.min(Duration::from_secs(300));
    capped.mul_f64(0.8 + 0.4 * rand_fraction())
}

fn rand_fraction() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0),
    );
    (h.finish() % 10_000) as f64 / 10_000.0
}

/// Shortens `s` to at most `max` bytes on a char boundary.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
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
    let pending_creates = Arc::new(Mutex::new(Default::default()));
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
        let secret_stream = watcher(secrets_api, secret_wc)
            .default_backoff()
            .touched_objects();

        // Every managed kind is wired the same way (see `wire_kinds`).
        let mut wiring = Wiring {
            kube: &kube,
            namespace: ns.as_deref(),
            concurrency: config.concurrency,
            metrics: &metrics,
            kinds: ScopeKinds::default(),
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
            recorder: recorder.clone(),
            config: config.clone(),
            metrics: metrics.clone(),
            failures: failures.clone(),
            pending_creates: Arc::clone(&pending_creates),
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
            let missing = crate::auth0::missing_scopes(&scopes);
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

/// Drops what the operator never reads from cached objects.
fn trim<K: kube::Resource>(obj: &mut K) {
    let meta = obj.meta_mut();
    meta.managed_fields = None;
    if let Some(a) = meta.annotations.as_mut() {
        a.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// Waits until a cache has its initial list. `Store::wait_until_ready` wakes only the last of
/// several concurrent waiters (the controller itself waits on the same store), so the wait is
/// re-polled on a short timer rather than trusted to wake us.
pub(crate) async fn store_ready<K>(store: &Store<K>)
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

    fn api(status: u16) -> Error {
        Error::Auth0(Auth0Error::Api {
            status,
            error: "e".into(),
            message: "m".into(),
            error_code: None,
            endpoint: "POST /api/v2/clients",
        })
    }

    #[test]
    fn reasons_and_who_must_act() {
        assert_eq!(api(400).reason(), Reason::InvalidSpec);
        assert!(api(400).needs_user());
        assert_eq!(api(503).reason(), Reason::Auth0Unavailable);
        assert!(!api(503).needs_user());
        assert_eq!(api(403).reason(), Reason::Auth0Error);
        let limited = Error::Auth0(Auth0Error::RateLimited {
            endpoint: "GET /api/v2/clients",
            retry_after: None,
            attempts: 10,
        });
        assert_eq!(limited.reason(), Reason::RateLimited);
        assert_eq!(
            Error::SecretConflict("x".into()).reason(),
            Reason::SecretConflict
        );
        assert!(Error::SecretConflict("x".into()).needs_user());
        assert_eq!(
            Error::ClientNotReady("x".into()).reason(),
            Reason::ClientNotReady
        );
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

    #[test]
    fn backoff_grows_and_is_capped() {
        let d1 = backoff_delay(1);
        let d5 = backoff_delay(5);
        let d30 = backoff_delay(30);
        assert!(
            d1 >= Duration::from_millis(800) && d1 <= Duration::from_millis(1200),
            "{d1:?}"
        );
        assert!(
            d5 >= Duration::from_millis(12800) && d5 <= Duration::from_millis(19200),
            "{d5:?}"
        );
        assert!(d30 <= Duration::from_secs(360), "{d30:?}");
    }
}
