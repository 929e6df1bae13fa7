//! What every reconcile of one scope (a namespace, or all) shares: the Kubernetes client, the
//! tenants, the caches of the managed kinds and their wake-up channels, the event recorder, the
//! settings, the metrics and the per-object backoff.

use std::{collections::HashMap, sync::Arc, time::Duration};

use kube::{
    Client as KubeClient, ResourceExt,
    runtime::{
        controller::Action,
        events::{Event, EventType},
        reflector::{ObjectRef, Store},
    },
};
use parking_lot::Mutex;
use tracing::warn;

use super::{Error, Kind, Recorder, tenant};
use crate::{
    config::OperatorConfig,
    crd::{Auth0Client, Auth0ClientGrant, Auth0ResourceServer},
    metrics::Metrics,
};

/// Shared state of the controllers of one scope (a namespace, or all).
pub struct Context {
    /// Kubernetes client.
    pub kube: KubeClient,
    /// The tenants: per tenant one Auth0 client (token cache, rate limiter) and one inventory.
    pub tenants: Arc<tenant::Tenants>,
    /// Caches of `Auth0Tenant`s (of this scope) and `ClusterAuth0Tenant`s.
    pub tenant_stores: tenant::TenantStores,
    /// Every scope's kinds (for the tenant controllers).
    pub(crate) scopes: Arc<Scopes>,
    /// This scope's managed kinds: their caches and wake-up channels.
    pub(crate) kinds: Arc<ScopeKinds>,
    /// The Management API scopes a tenant's token must grant: the union of the managed kinds'
    /// (`kinds::required_scopes`, the table of kinds).
    pub required_scopes: Arc<[&'static str]>,
    /// Shared event recorder.
    pub recorder: Recorder,
    /// Operator settings.
    pub config: OperatorConfig,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Consecutive failures per object, for exponential backoff.
    pub(crate) failures: Arc<Mutex<HashMap<String, u32>>>,
    /// UIDs of `Auth0Client`s whose create call ended without a clear answer: before creating
    /// again the client list is refreshed, so a client that was created after all is adopted.
    pub(crate) pending_creates: Arc<Mutex<std::collections::HashSet<String>>>,
    /// Credentials Secrets this scope just wrote: their watch events are the operator's own and
    /// wake nobody.
    pub(crate) own_writes: Arc<OwnWrites>,
}

/// The credentials Secrets the operator is writing, or wrote and whose watch event has not come
/// back yet. The owner's reconcile wrote them and needs no second reconcile for them; any other
/// change of the Secret (an edit, a deletion, a newer version) still wakes its owner.
///
/// The event of a write can arrive before the write's answer (the watch is faster than the
/// reply): while a write is on its way, an event of its Secret is held rather than let through,
/// and compared with the written version when the answer comes
/// ([`SecretWrite::written`]).
#[derive(Default)]
pub struct OwnWrites {
    secrets: Mutex<HashMap<(String, String), Echo>>,
    /// Numbers the writes, so that a write acts only on its own entry.
    writes: std::sync::atomic::AtomicU64,
}

/// What the operator knows of its write of one Secret.
#[derive(Debug, PartialEq, Eq)]
enum Echo {
    /// Write number `write` is on its way; `seen`: the versions of the Secret's events
    /// meanwhile (held: they have woken nobody yet); `earlier`: the version an earlier write
    /// made, whose echo had not come back when this write started.
    Writing {
        write: u64,
        seen: Vec<String>,
        earlier: Option<String>,
    },
    /// Written at this version, whose event has not come back yet.
    Written(String),
}

impl OwnWrites {
    /// The operator is about to write the Secret `namespace/name`. Its events are held until
    /// [`SecretWrite::written`]; a write that fails (the guard is dropped) forgets them: the
    /// failed reconcile is retried and reads the Secret again.
    pub fn writing(self: &Arc<Self>, namespace: &str, name: &str) -> SecretWrite {
        let key = (namespace.to_owned(), name.to_owned());
        let write = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut secrets = self.secrets.lock();
        // Another write of the same Secret on its way (two resources naming one Secret) keeps
        // what it held: both then see it, and wake their owner.
        let (seen, earlier) = match secrets.remove(&key) {
            Some(Echo::Writing { seen, earlier, .. }) => (seen, earlier),
            Some(Echo::Written(rv)) => (Vec::new(), Some(rv)),
            None => (Vec::new(), None),
        };
        secrets.insert(
            key.clone(),
            Echo::Writing {
                write,
                seen,
                earlier,
            },
        );
        SecretWrite {
            owner: Arc::clone(self),
            key: Some(key),
            write,
        }
    }

    /// Whether a watch event of `meta` is the operator's own (then it wakes nobody): the echo
    /// of a write, which is then forgotten (a later event of the same version, a relist,
    /// passes), or an event that arrives while a write of its Secret is on its way (held).
    pub fn is_echo(&self, meta: &kube::api::ObjectMeta) -> bool {
        let key = (
            meta.namespace.clone().unwrap_or_default(),
            meta.name.clone().unwrap_or_default(),
        );
        let mut secrets = self.secrets.lock();
        match secrets.get_mut(&key) {
            Some(Echo::Writing { seen, .. }) => {
                seen.push(meta.resource_version.clone().unwrap_or_default());
                true
            }
            // Any other version (someone else's change, or an older event still on its way,
            // which then costs one reconcile) ends the wait too: an entry never outlives its
            // Secret's next event.
            Some(Echo::Written(rv)) => {
                let ours = Some(rv.as_str()) == meta.resource_version.as_deref();
                secrets.remove(&key);
                ours
            }
            None => false,
        }
    }
}

/// A write of one credentials Secret on its way ([`OwnWrites::writing`]).
#[must_use]
pub struct SecretWrite {
    owner: Arc<OwnWrites>,
    key: Option<(String, String)>,
    write: u64,
}

impl SecretWrite {
    /// The write ended with the Secret at `written` (as the API server answered; the version it
    /// was read at when nothing needed writing, `wrote: false`). Returns whether an event that
    /// is not this write's came meanwhile (or may have: another write of the Secret took the
    /// entry over): then the owner must be reconciled again.
    pub fn written(mut self, written: &k8s_openapi::api::core::v1::Secret, wrote: bool) -> bool {
        let Some(key) = self.key.take() else {
            return false;
        };
        let rv = written.metadata.resource_version.clone().filter(|_| wrote);
        let mut secrets = self.owner.secrets.lock();
        let (seen, earlier) = match secrets.remove(&key) {
            Some(Echo::Writing {
                write,
                seen,
                earlier,
            }) if write == self.write => (seen, earlier),
            // Another write of this Secret started since: what came meanwhile is unknown.
            other => {
                if let Some(theirs) = other {
                    secrets.insert(key, theirs);
                }
                return true;
            }
        };
        // Another version came meanwhile (someone else's change, or an event of an older
        // version still on its way), other than the echo of an earlier write of ours.
        let other = seen
            .iter()
            .any(|v| Some(v) != rv.as_ref() && Some(v) != earlier.as_ref());
        if let Some(rv) = rv.filter(|rv| !seen.contains(rv)) {
            // The echo is on its way.
            secrets.insert(key, Echo::Written(rv));
        }
        other
    }
}

impl Drop for SecretWrite {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            let mut secrets = self.owner.secrets.lock();
            if matches!(secrets.get(&key), Some(Echo::Writing { write, .. }) if *write == self.write)
            {
                secrets.remove(&key);
            }
        }
    }
}

/// One managed kind in one scope: its cache and the channel that wakes its objects.
pub(crate) struct KindHandle<K: Kind> {
    pub(crate) store: Store<K>,
    pub(crate) wakeups: futures::channel::mpsc::UnboundedSender<ObjectRef<K>>,
}

/// What the tenant controllers need of every kind, whatever its type.
pub(crate) trait AnyKind: Send + Sync {
    /// Wakes the objects that use the tenant `key`.
    fn wake_tenant_users(&self, key: &str);
    /// How many objects use the tenant `key`.
    fn tenant_users(&self, key: &str) -> usize;
    /// Wakes the objects of namespace `ns`.
    fn wake_namespace(&self, ns: &str);
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

    fn wake_namespace(&self, ns: &str) {
        for o in self.store.state() {
            if o.meta().namespace.as_deref() == Some(ns) {
                let _ = self.wakeups.unbounded_send(ObjectRef::from_obj(&*o));
            }
        }
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The managed kinds of one scope.
#[derive(Default)]
pub struct ScopeKinds(pub(crate) Vec<Box<dyn AnyKind>>);

impl ScopeKinds {
    fn get<K: Kind>(&self) -> Option<&KindHandle<K>> {
        self.0.iter().find_map(|k| k.as_any().downcast_ref())
    }

    /// Reconciles, now, every `K` object of this scope that `pick` selects.
    fn wake<K: Kind>(&self, pick: impl Fn(&K) -> bool) {
        if let Some(h) = self.get::<K>() {
            for o in h.store.state() {
                if pick(&o) {
                    let _ = h.wakeups.unbounded_send(ObjectRef::from_obj(&*o));
                }
            }
        }
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
pub struct Scopes(pub(crate) Mutex<Vec<Arc<ScopeKinds>>>);

impl Scopes {
    /// Reconciles, now, every grant whose `clientRef` names this client (it became ready,
    /// changed id or went away).
    pub(crate) fn wake_grants_of(&self, client: &Auth0Client) {
        let (ns, name) = (client.namespace(), client.name_any());
        for scope in self.0.lock().iter() {
            scope.wake::<Auth0ClientGrant>(|g| {
                g.namespace() == ns && g.spec.client_ref.as_ref().is_some_and(|r| r.name == name)
            });
        }
    }

    /// Reconciles, now, every grant whose `resourceServerRef` names this API (it became ready,
    /// changed its scopes or went away), and every grant of any namespace whose `audience` is
    /// its identifier (its `allowedConsumers` may have changed: consent is re-checked at once,
    /// and a withdrawn one revokes).
    pub(crate) fn wake_grants_of_api(&self, api: &Auth0ResourceServer) {
        let (ns, name) = (api.namespace(), api.name_any());
        let identifier = api.spec.identifier.as_str();
        for scope in self.0.lock().iter() {
            scope.wake::<Auth0ClientGrant>(|g| {
                let by_ref = g.namespace() == ns
                    && g.spec
                        .resource_server_ref
                        .as_ref()
                        .is_some_and(|r| r.name == name);
                by_ref || g.spec.audience.as_deref() == Some(identifier)
            });
        }
    }
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

    /// Reconciles, now, every managed resource of namespace `ns` (its labels changed).
    pub fn wake_namespace(&self, ns: &str) {
        for scope in self.scopes.0.lock().iter() {
            for kind in &scope.0 {
                kind.wake_namespace(ns);
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

    /// The resources of kind `K` of every scope that use the tenant `key` (or another tenant
    /// object of the operator on the same Auth0 domain: ownership does not depend on which
    /// tenant object a resource goes through) and that `claim` says claim an object (see
    /// [`plan::owner`](super::plan::owner)).
    pub fn claimants<K: Kind>(
        &self,
        key: &str,
        claim: impl Fn(&K) -> Option<super::plan::Strength>,
    ) -> Vec<super::plan::Claimant> {
        let mut out = Vec::new();
        for scope in self.scopes.0.lock().iter() {
            let Some(h) = scope.get::<K>() else { continue };
            for o in h.store.state() {
                // The claim first: it compares without allocating, and almost no object claims.
                let Some(strength) = claim(&o) else {
                    continue;
                };
                let ns = o.namespace().unwrap_or_default();
                if !self.same_auth0_tenant(&tenant::tenant_key(&ns, o.tenant_ref()), key) {
                    continue;
                }
                out.push(super::plan::Claimant {
                    uid: o.uid().unwrap_or_default(),
                    namespace: ns,
                    name: o.name_any(),
                    created: o
                        .meta()
                        .creation_timestamp
                        .as_ref()
                        .map(|t| t.0.to_string())
                        .unwrap_or_default(),
                    strength,
                });
            }
        }
        out
    }

    /// The live resources that may own an object `obj` binds to: [`claimants`](Self::claimants)
    /// of the tenant `key`, without the requests of namespaces that may not adopt
    /// ([`adopters`](Self::adopters)).
    pub async fn owners_of<K: Kind>(
        &self,
        obj: &K,
        key: &str,
        claim: impl Fn(&K) -> Option<super::plan::Strength>,
    ) -> Result<Vec<super::plan::Claimant>, Error> {
        let claimants = self.claimants::<K>(key, claim);
        self.adopters(
            &obj.namespace().unwrap_or_default(),
            obj.tenant_ref(),
            claimants,
        )
        .await
    }

    /// `claimants` without the mere requests (`Asked`) of other namespaces that the tenant's
    /// policy does not let adopt: such a request cannot keep an allowed namespace from an object.
    /// Every claimant uses the tenant `tenant_ref` names (from `namespace`): only a
    /// `ClusterAuth0Tenant` is shared, and only its `policy.adoption` can say no.
    pub async fn adopters(
        &self,
        namespace: &str,
        tenant_ref: Option<&crate::crd::TenantRef>,
        claimants: Vec<super::plan::Claimant>,
    ) -> Result<Vec<super::plan::Claimant>, Error> {
        let cluster = match tenant_ref {
            Some(r) if r.kind == crate::crd::TenantKind::ClusterAuth0Tenant => r.name.clone(),
            _ => return Ok(claimants),
        };
        let policy = self
            .tenant_stores
            .cluster
            .get(&kube::runtime::reflector::ObjectRef::new(&cluster))
            .and_then(|t| t.spec.policy.clone());
        let mut kept = Vec::with_capacity(claimants.len());
        for c in claimants {
            let foreign_request =
                c.strength == super::plan::Strength::Asked && c.namespace != namespace;
            if foreign_request {
                let selects = policy
                    .as_ref()
                    .and_then(|p| p.adoption.as_ref())
                    .is_some_and(|a| a.selector.is_some());
                let labels = tenant::namespace_labels(self, &c.namespace, selects).await?;
                let r = tenant::rights(
                    tenant::TenantScope::Cluster,
                    policy.as_ref(),
                    &c.namespace,
                    &labels,
                    "",
                    "",
                    None,
                    "",
                    &[],
                );
                if !r.adopt {
                    continue;
                }
            }
            kept.push(c);
        }
        Ok(kept)
    }

    /// Whether the tenant objects `a` and `b` (keys) are the same Auth0 tenant: the same key,
    /// or both registered with the same domain.
    fn same_auth0_tenant(&self, a: &str, b: &str) -> bool {
        a == b
            || match (self.tenants.get(a), self.tenants.get(b)) {
                (Some(x), Some(y)) => x.domain.eq_ignore_ascii_case(&y.domain),
                _ => false,
            }
    }

    /// Reconciles `obj` again (after the reconcile under way, if it is one of `obj`'s).
    pub fn wake_again<K: Kind>(&self, obj: &K) {
        if let Some(h) = self.kinds.get::<K>() {
            let _ = h.wakeups.unbounded_send(ObjectRef::from_obj(obj));
        }
    }

    /// The `K` object `namespace/name` from any scope's cache.
    pub fn find<K: Kind>(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        let key = ObjectRef::new(name).within(namespace);
        self.scopes
            .0
            .lock()
            .iter()
            .find_map(|scope| scope.get::<K>().and_then(|h| h.store.get(&key)))
    }

    /// This scope's cache of `K` objects.
    pub fn store<K: Kind>(&self) -> Option<&Store<K>> {
        self.kinds.get::<K>().map(|h| &h.store)
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
            note: Some(super::status::truncate(&note, 1000)),
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

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn only_the_echo_of_the_operators_own_write_is_dropped() {
        let writes = Arc::new(OwnWrites::default());
        let secret = |rv: &str| k8s_openapi::api::core::v1::Secret {
            metadata: kube::api::ObjectMeta {
                name: Some("web-auth0".into()),
                namespace: Some("team-a".into()),
                resource_version: Some(rv.into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let echo = |rv: &str| writes.is_echo(&secret(rv).metadata);
        let write = || writes.writing("team-a", "web-auth0");
        // Nothing written: every event wakes the owner.
        assert!(!echo("1"));
        // The answer, then the echo: the echo is dropped, once.
        assert!(!write().written(&secret("2"), true));
        assert!(echo("2"));
        assert!(!echo("2"));
        // The echo before the answer: held, and the answer finds it was the write's.
        let w = write();
        assert!(echo("3"));
        assert!(!w.written(&secret("3"), true));
        assert!(
            !echo("3"),
            "a later event of that version (a relist) passes"
        );
        // Someone else's version after the write's answer wakes the owner.
        assert!(!write().written(&secret("4"), true));
        assert!(!echo("5"));
        assert!(!echo("4"));
        // Another version while the write is on its way: held, then the owner is woken by the
        // answer; the write's own echo, later, is still dropped.
        let w = write();
        assert!(echo("6"));
        assert!(w.written(&secret("7"), true));
        assert!(echo("7"));
        assert!(!echo("7"));
        // A write that fails forgets what it held: the next event wakes the owner.
        let w = write();
        assert!(echo("8"));
        drop(w);
        assert!(!echo("9"));
        // Nothing needed writing: no echo is awaited.
        assert!(!write().written(&secret("9"), false));
        assert!(!echo("9"));
        // Another Secret of the same name elsewhere is not this one.
        assert!(!write().written(&secret("10"), true));
        let mut other = secret("10");
        other.metadata.namespace = Some("team-b".into());
        assert!(!writes.is_echo(&other.metadata));
        assert!(echo("10"));
        // Two writes in a row (a rotation): the first one's echo, arriving during the second,
        // wakes nobody.
        assert!(!write().written(&secret("11"), true));
        let w = write();
        assert!(echo("11"));
        assert!(!w.written(&secret("12"), true));
        assert!(echo("12"));
        // Two resources writing one Secret at once: both wake, whatever came meanwhile.
        let (a, b) = (write(), write());
        assert!(echo("13"));
        assert!(a.written(&secret("14"), true), "b took the entry over");
        assert!(b.written(&secret("15"), true), "13 came while b wrote");
        assert!(echo("15"));
        // A write dropped after another began leaves the other's entry alone.
        let (a, b) = (write(), write());
        drop(a);
        assert!(echo("16"));
        assert!(!b.written(&secret("16"), true));
        // Our version and then someone else's, both while writing: wake, and no wait remains
        // for the echo that already came.
        let w = write();
        assert!(echo("17"));
        assert!(echo("18"));
        assert!(w.written(&secret("17"), true));
        assert!(
            writes.secrets.lock().is_empty(),
            "nothing outlives its event"
        );
    }
}
