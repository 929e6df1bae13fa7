//! The one reconcile frame every managed kind runs in, and the executor of its plans.
//!
//! A kind ([`Kind`]) supplies only what differs: its pure validation, how it observes Auth0 and
//! the cluster, its pure plan (see [`plan`](super::plan)), the I/O of its own steps, the
//! deletion in Auth0 and what it releases locally, and how its status is built. The driver does
//! the rest, the same way for every kind: the finalizer, validate before any call, the loop
//! observe → plan → execute, the crash-safe create ([`CreateGuard`]), the status and its
//! `Ready` condition (on success and on failure alike, with what the last plan said), the events
//! and log lines, metrics, per-object backoff, and the `deletionPolicy` rule.

use std::{future::Future, sync::Arc};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{
    Api, Resource, ResourceExt,
    runtime::{controller::Action, events::EventType},
};
use tracing::{info, warn};

use super::{
    Context, Error,
    context::Scopes,
    plan::{CreateGuard, Next, Plan},
    status,
    tenant::{self, Rights, Tenant},
};
use crate::crd::{DeletionPolicy, EventReason, Reason, TenantRef};

/// Normal events (reason, note) a successful sync or cleanup reports.
#[derive(Debug, Default)]
pub struct Outcome {
    /// In order; each is also logged at info.
    pub notes: Vec<(EventReason, String)>,
    /// Reconcile again after this long if that is sooner than the resync (a step of a
    /// credential hand-over, a scheduled rotation).
    pub requeue_after: Option<std::time::Duration>,
}

impl Outcome {
    /// An outcome with one note.
    pub fn note(reason: EventReason, note: String) -> Self {
        Self {
            notes: vec![(reason, note)],
            requeue_after: None,
        }
    }
}

/// What a managed kind supplies to the driver.
pub trait Kind:
    Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
    + Clone
    + serde::de::DeserializeOwned
    + serde::Serialize
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Kind name, for metrics and logs.
    const KIND: &'static str;
    /// What the Auth0 object is called in messages, e.g. `Auth0 client`.
    const NOUN: &'static str;
    /// Whether the kind owns the operator's Secrets (their changes reconcile it).
    const OWNS_SECRETS: bool = false;
    /// The kind's status.
    type Status: serde::Serialize + PartialEq + Send + Sync + crate::crd::HasConditions;
    /// What a sync learned so far (ids); written to status on success and on error alike.
    type Seen: Default + Send;

    /// The current status.
    fn current_status(&self) -> Option<&Self::Status>;
    /// Conditions of the current status.
    fn current_conditions(&self) -> &[Condition] {
        use crate::crd::HasConditions;
        self.current_status()
            .map(HasConditions::conditions)
            .unwrap_or_default()
    }
    /// What deleting the resource does in Auth0.
    fn deletion_policy(&self) -> DeletionPolicy;
    /// `spec.tenantRef` (`None`: the operator's default tenant).
    fn tenant_ref(&self) -> Option<&TenantRef>;
    /// The tenant key the status recorded when the resource was first synced.
    fn recorded_tenant(&self) -> Option<&str>;
    /// Whether the status names an Auth0 object (so deletion must reach Auth0).
    fn has_auth0_object(&self) -> bool;
    /// Pure checks of the spec (and of the spec against the recorded status): every rule the
    /// CRD states, enforced here too because API servers before 1.25 drop CEL rules.
    fn validate(&self) -> Result<(), Error>;
    /// What the kind's Auth0 object is observed as (the listings, the referenced objects, the
    /// Secret), with a journal of what this reconcile did so far.
    type Observed: Send;
    /// A create body.
    type Create: std::fmt::Debug + Send;
    /// A step of the kind's own (data).
    type Step: std::fmt::Debug + Send;
    /// How the kind's creates are made crash-safe.
    const GUARD: CreateGuard;

    /// Gathers what Auth0 and the cluster hold for the object (I/O only, no decisions, no
    /// writes). `previous`: a create just answered 409, so this is a second look, past caches
    /// that may be behind; what the reconcile did so far (its journal) is carried over.
    fn observe<'a>(
        &'a self,
        ctx: &'a Context,
        tenant: &'a Tenant,
        rights: &'a Rights,
        previous: Option<Self::Observed>,
    ) -> impl Future<Output = Result<Self::Observed, Error>> + Send + 'a;
    /// Decides the next step (pure): every decision of a reconcile is here.
    fn plan(&self, observed: &Self::Observed) -> Plan<Self::Create, Self::Step, Self::Seen>;
    /// The status to record before a create ([`CreateGuard::StatusIntent`]), if it is not
    /// recorded yet; marks it recorded in `observed`.
    fn intent(&self, _observed: &mut Self::Observed, _tenant: &str) -> Option<Self::Status> {
        None
    }
    /// Sends the create; records the object made, or a definite refusal, in `observed`.
    fn create<'a>(
        &'a self,
        body: Self::Create,
        ctx: &'a Context,
        tenant: &'a Tenant,
        observed: &'a mut Self::Observed,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a;
    /// Carries out one of the kind's steps; records the answer in `observed`.
    fn execute<'a>(
        &'a self,
        step: Self::Step,
        ctx: &'a Context,
        tenant: &'a Tenant,
        observed: &'a mut Self::Observed,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a;
    /// The Normal events of a reconcile that ended with `seen` (what it did, in order).
    fn notes(&self, seen: &mut Self::Seen) -> Outcome;
    /// The `Ready=True` message after a sync.
    fn synced_message(&self, seen: &Self::Seen) -> String;
    /// The status to write, given what the sync learned, the new `Ready` condition, the error
    /// (if the reconcile failed) and the key of the tenant it resolved (to record).
    fn next_status(
        &self,
        seen: Self::Seen,
        ready: Condition,
        error: Option<&Error>,
        tenant: Option<&str>,
    ) -> Self::Status;
    /// `spec.managementPolicy`: `Observe` never creates, changes or deletes the Auth0 object.
    fn management_policy(&self) -> crate::crd::ManagementPolicy;
    /// What the sync found when it compared the Auth0 object with the spec (for the drift
    /// metric), if it got that far.
    fn drift(seen: &Self::Seen) -> Option<&super::status::Drift>;
    /// Whether the resources that depend on this one (the grants of a client or an API) see a
    /// change from the version `cached` to `now` (`None`: absent): its readiness, its Auth0
    /// id, its going away. Pure.
    fn dependents_see_change(_cached: Option<&Self>, _now: Option<&Self>) -> bool {
        false
    }
    /// Reconciles, now, the resources that depend on this one: called once the cache holds a
    /// change that [`dependents_see_change`](Self::dependents_see_change) found, so what is
    /// woken reads that version (or a newer one).
    fn wake_dependents(&self, _scopes: &Scopes) {}
    /// What this resource waits for before its first reconcile: another resource it depends
    /// on that the operator has not reconciled yet either (e.g. a grant's client). Until then
    /// nothing is written (no finalizer, status or event: the dependency's change wakes it,
    /// through [`wake_dependents`](Self::wake_dependents)). `None`: reconcile now.
    fn awaits(&self, _ctx: &Context) -> Option<String> {
        None
    }
    /// Deletes the Auth0 object (`deletionPolicy: Delete`); returns its id if there was one.
    fn delete_in_auth0<'a>(
        &'a self,
        ctx: &'a Context,
        tenant: &'a Tenant,
        rights: &'a Rights,
    ) -> impl Future<Output = Result<Option<String>, Error>> + Send + 'a;
    /// Releases what the resource holds locally (e.g. its Secret), whatever the policy.
    fn release<'a>(
        &'a self,
        _ctx: &'a Context,
    ) -> impl Future<Output = Result<(), Error>> + Send + 'a {
        async { Ok(()) }
    }
}

/// Entry point of every controller: apply or cleanup behind the finalizer
/// ([`FINALIZER`](crate::crd::FINALIZER)), with metrics and backoff bookkeeping.
#[tracing::instrument(skip_all, fields(kind = K::KIND, namespace = %obj.namespace().unwrap_or_default(), object = %obj.name_any()))]
pub async fn reconcile<K: Kind>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action, Error> {
    use kube::runtime::finalizer::Event as Finalizer;
    let started = std::time::Instant::now();
    if let Some(what) = obj.awaits(&ctx) {
        tracing::debug!("waits for {what}: nothing to write yet");
        ctx.metrics
            .reconciled(K::KIND, started.elapsed().as_secs_f64(), None);
        return Ok(ctx.resync());
    }
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    let result = super::finalizer::finalized(&api, obj.clone(), |event| async {
        match event {
            Finalizer::Apply(o) => apply(&*o, &ctx, &api).await,
            Finalizer::Cleanup(o) => cleanup(&*o, &ctx).await,
        }
    })
    .await;
    if let Err(Error::Finalizer(inner)) = &result
        && finalizer_patch_was_stale(inner)
    {
        // The finalizer patch tested a cached copy that the API server has moved past (the
        // watch event is on its way): nothing failed, try again from the fresh copy.
        tracing::debug!(error = %inner, "finalizer patch raced a newer version; retrying");
        return Ok(Action::requeue(std::time::Duration::from_millis(500)));
    }
    if let Err(e @ Error::Finalizer(_)) = &result {
        // apply/cleanup log their own failures; this one happened around them.
        warn!(reason = %e.reason(), error = %e, "reconcile failed");
    }
    let reason = result.as_ref().err().map(|e| e.reason());
    ctx.metrics.reconciled(
        K::KIND,
        started.elapsed().as_secs_f64(),
        reason.map(Reason::as_str),
    );
    if let Some(r) = reason.filter(|r| r.is_trust_refusal()) {
        ctx.metrics.refused(K::KIND, r.as_str());
    }
    if result.is_ok() {
        ctx.reset_backoff(&*obj);
    }
    super::reconciled();
    result
}

/// Whether adding or removing the finalizer failed only because the cached object was stale:
/// the JSON patch's `test` step (422) or a conflict (409).
fn finalizer_patch_was_stale(e: &kube::runtime::finalizer::Error<Error>) -> bool {
    use kube::runtime::finalizer::Error as F;
    match e {
        F::AddFinalizer(kube::Error::Api(s)) | F::RemoveFinalizer(kube::Error::Api(s)) => {
            s.code == 422 || s.code == 409
        }
        _ => false,
    }
}

/// Requeue policy on errors: per-object exponential backoff; errors only the user can fix
/// (and waits for another object) are retried at a calm, fixed pace instead.
pub fn error_policy<K: Kind>(obj: Arc<K>, err: &Error, ctx: Arc<Context>) -> Action {
    ctx.requeue_after_error(&*obj, err)
}

/// The tenant key of `obj`, refused when it differs from the one its status recorded
/// (`tenantRef` is immutable: a resource never moves between tenants).
fn tenant_key_of<K: Kind>(obj: &K) -> Result<String, Error> {
    let key = tenant::tenant_key(&obj.namespace().unwrap_or_default(), obj.tenant_ref());
    match obj.recorded_tenant() {
        Some(recorded) if recorded != key => Err(Error::InvalidSpec(format!(
            "{}: this resource's Auth0 objects live in tenant {recorded}, not {key} (recreate the resource to use another tenant)",
            crate::crd::rules::TENANT_REF_IMMUTABLE
        ))),
        _ => Ok(key),
    }
}

async fn apply<K: Kind>(obj: &K, ctx: &Context, api: &Api<K>) -> Result<Action, Error> {
    let mut seen = K::Seen::default();
    let mut wrote_status = false;
    let mut resolved: Option<String> = None;
    let result = async {
        obj.validate()?;
        tenant_key_of(obj)?;
        let ns = obj.namespace().unwrap_or_default();
        let (tenant, rights) = tenant::resolve(ctx, &ns, obj.tenant_ref()).await?;
        resolved = Some(tenant.key.clone());
        run(obj, ctx, &tenant, &rights, &mut seen, &mut wrote_status).await
    }
    .await;
    let generation = obj.meta().generation;
    match result {
        Ok(outcome) => {
            let message = obj.synced_message(&seen);
            let ready = status::ready(
                true,
                Reason::Synced.as_str(),
                &message,
                generation,
                obj.current_conditions(),
            );
            if let Some(d) = K::drift(&seen).filter(|d| d.corrected) {
                ctx.metrics.drift_corrected(K::KIND);
                info!(fields = %d.fields.join(","), "corrected drift made outside Kubernetes");
            }
            // After a status write of its own (a create intent) the status the object showed
            // is stale: the final one is written even if it equals it.
            let shown = (!wrote_status).then(|| obj.current_status()).flatten();
            let next = obj.next_status(seen, ready, None, resolved.as_deref());
            status::apply_status(api, obj, shown, &next).await?;
            let requeue = outcome.requeue_after;
            announce(obj, ctx, outcome, "Sync").await;
            Ok(match requeue {
                Some(d) if d < ctx.config.resync_interval => Action::requeue(d),
                _ => ctx.resync(),
            })
        }
        Err(err) => {
            let reason = err.reason();
            let ready = status::ready(
                false,
                reason.as_str(),
                &err.to_string(),
                generation,
                obj.current_conditions(),
            );
            // After a status write of its own (a create intent) the status the object showed
            // is stale: the final one is written even if it equals it.
            let shown = (!wrote_status).then(|| obj.current_status()).flatten();
            // What the steps before the failure did (an object created, a key registered) is
            // told as well: it happened.
            let done = obj.notes(&mut seen);
            let next = obj.next_status(seen, ready, Some(&err), resolved.as_deref());
            if let Err(e) = status::apply_status(api, obj, shown, &next).await {
                warn!(error = %e, "could not write status");
            }
            announce(obj, ctx, done, "Sync").await;
            if reason.is_wait() {
                // Not a failure: the reconcile is woken when what it waits for changes.
                info!(reason = %reason, "{err}");
                ctx.event(
                    obj,
                    EventType::Normal,
                    reason.as_str(),
                    "Reconcile",
                    format!("Waiting: {err}"),
                )
                .await;
            } else {
                warn!(reason = %reason, error = %err, "reconcile failed");
                ctx.event(
                    obj,
                    EventType::Warning,
                    reason.as_str(),
                    "Reconcile",
                    err.to_string(),
                )
                .await;
            }
            Err(err)
        }
    }
}

/// Most steps one reconcile runs: a create, a patch and the credential steps of a rotation
/// (a key's are generate, list, register, list the keys, promote, and a leftover or two) take
/// fewer; a plan that never settles is a defect, reported rather than looped on.
const MAX_STEPS: usize = 32;

/// Observe → plan → execute, until the plan is done (or refuses, or a step fails). `seen` is
/// always the last plan's: the status says what the reconcile found and did, also on failure.
async fn run<K: Kind>(
    obj: &K,
    ctx: &Context,
    tenant: &Tenant,
    rights: &Rights,
    seen: &mut K::Seen,
    wrote_status: &mut bool,
) -> Result<Outcome, Error> {
    let mut observed = obj.observe(ctx, tenant, rights, None).await?;
    for _ in 0..MAX_STEPS {
        let Plan { next, seen: s } = obj.plan(&observed);
        *seen = s;
        tracing::debug!(next = ?next, "plan");
        let done = match next {
            Next::Done => return Ok(obj.notes(seen)),
            Next::Refuse(e) => return Err(e),
            Next::Create(body) => {
                match create(obj, body, ctx, tenant, &mut observed, wrote_status).await {
                    // It exists (made elsewhere, by an earlier pass, or the listing is behind):
                    // look again and let the plan decide whether it may be taken.
                    Err(Error::Auth0(e)) if e.is_conflict() && K::GUARD != CreateGuard::Tagged => {
                        tracing::debug!(error = %e, "create answered 409: looking again");
                        observed = obj.observe(ctx, tenant, rights, Some(observed)).await?;
                        Ok(())
                    }
                    other => other,
                }
            }
            Next::Do(step) => obj.execute(step, ctx, tenant, &mut observed).await,
        };
        if let Err(e) = done {
            // What the failure taught (a refused create, an object found gone) is in `observed`.
            *seen = obj.plan(&observed).seen;
            return Err(e);
        }
    }
    Err(Error::InvalidSpec(format!(
        "the operator could not settle this {} within {MAX_STEPS} steps (a defect of the operator: please report it with the operator's debug log)",
        K::NOUN
    )))
}

/// A create, guarded the kind's way ([`CreateGuard`]): the intent is recorded before it; a
/// create without a clear answer keeps the guard, so the next look recognises what Auth0 made
/// (the plan decides, with [`may_take`](super::plan::may_take), whether what exists is ours).
async fn create<K: Kind>(
    obj: &K,
    body: K::Create,
    ctx: &Context,
    tenant: &Tenant,
    observed: &mut K::Observed,
    wrote_status: &mut bool,
) -> Result<(), Error> {
    let uid = obj.meta().uid.clone().unwrap_or_default();
    match K::GUARD {
        CreateGuard::StatusIntent => {
            if let Some(intent) = obj.intent(observed, &tenant.key) {
                let api: Api<K> =
                    Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
                status::apply_status(&api, obj, None, &intent).await?;
                *wrote_status = true;
            }
        }
        CreateGuard::Tagged => {
            ctx.pending_creates.lock().insert(uid.clone());
        }
        CreateGuard::UniqueKey => {}
    }
    match obj.create(body, ctx, tenant, observed).await {
        Ok(()) => {
            ctx.pending_creates.lock().remove(&uid);
            Ok(())
        }
        Err(e) => {
            if let Error::Auth0(a) = &e
                && is_definite_refusal(a)
            {
                ctx.pending_creates.lock().remove(&uid);
            }
            Err(e)
        }
    }
}

/// Whether Auth0 surely did not act on a call that failed with `e` (a create can be retried
/// as a create); anything else may have taken effect.
pub fn is_definite_refusal(e: &crate::auth0::Auth0Error) -> bool {
    use crate::auth0::Auth0Error;
    match e {
        Auth0Error::Transport { pre_send, .. } => *pre_send,
        Auth0Error::Api { status, .. } => (400..500).contains(status),
        Auth0Error::RateLimited { .. } => true,
        Auth0Error::Decode { .. } => false,
        _ => true,
    }
}

async fn announce<K: Kind>(obj: &K, ctx: &Context, outcome: Outcome, action: &str) {
    for (reason, note) in outcome.notes {
        info!(reason = reason.as_str(), "{note}");
        ctx.event(obj, EventType::Normal, reason.as_str(), action, note)
            .await;
    }
}

/// Deletion: the Auth0 object is deleted (`Delete`) or kept (`Orphan`), then what the resource
/// holds locally is released; the finalizer goes only when all of it succeeded.
async fn cleanup<K: Kind>(obj: &K, ctx: &Context) -> Result<Action, Error> {
    let result = async {
        let observed = obj.management_policy() == crate::crd::ManagementPolicy::Observe;
        let outcome = match obj.deletion_policy() {
            _ if observed => Outcome::note(
                EventReason::Orphaned,
                format!(
                    "managementPolicy is Observe: the {} is kept in Auth0",
                    K::NOUN
                ),
            ),
            DeletionPolicy::Orphan => Outcome::note(
                EventReason::Orphaned,
                format!("deletionPolicy is Orphan: the {} is kept", K::NOUN),
            ),
            DeletionPolicy::Delete => {
                let ns = obj.namespace().unwrap_or_default();
                // The tenant the objects were made in (tenantRef cannot have changed since).
                let tref = obj.tenant_ref();
                match tenant::resolve(ctx, &ns, tref).await {
                    Ok((tenant, rights)) => match obj.delete_in_auth0(ctx, &tenant, &rights).await?
                    {
                        Some(id) => {
                            Outcome::note(EventReason::Deleted, format!("Deleted {} {id}", K::NOUN))
                        }
                        None => Outcome::default(),
                    },
                    // Never synced in any tenant: nothing can have been created.
                    Err(_) if obj.recorded_tenant().is_none() && !obj.has_auth0_object() => {
                        Outcome::default()
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        obj.release(ctx).await?;
        Ok::<_, Error>(outcome)
    }
    .await;
    match result {
        Ok(outcome) => {
            announce(obj, ctx, outcome, "Delete").await;
            Ok(Action::await_change())
        }
        Err(err) => {
            warn!(reason = %err.reason(), error = %err, "cleanup failed; the finalizer stays until it succeeds");
            ctx.event(
                obj,
                EventType::Warning,
                err.reason().as_str(),
                "Delete",
                format!("Could not clean up: {err}"),
            )
            .await;
            Err(err)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::Auth0Client;
    use serde_json::json;

    fn client(spec: serde_json::Value, status: serde_json::Value) -> Auth0Client {
        serde_json::from_value(json!({
            "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
            "metadata": {"name": "web", "namespace": "team-a"},
            "spec": spec, "status": status
        }))
        .unwrap()
    }

    #[test]
    fn the_tenant_is_resolved_from_the_ref_and_cannot_move() {
        let fresh = client(
            json!({"name": "W", "tenantRef": {"name": "one"}}),
            json!({}),
        );
        assert_eq!(tenant_key_of(&fresh).unwrap(), "team-a/one");
        let default = client(json!({"name": "W"}), json!({}));
        assert_eq!(tenant_key_of(&default).unwrap(), "default");
        let cluster = client(
            json!({"name": "W", "tenantRef": {"kind": "ClusterAuth0Tenant", "name": "prod"}}),
            json!({"tenant": "cluster/prod", "clientId": "c1"}),
        );
        assert_eq!(tenant_key_of(&cluster).unwrap(), "cluster/prod");
        // Recorded in another tenant: refused before any call, naming both.
        let moved = client(
            json!({"name": "W", "tenantRef": {"name": "two"}}),
            json!({"tenant": "team-a/one", "clientId": "c1"}),
        );
        let e = tenant_key_of(&moved).unwrap_err();
        assert_eq!(e.reason(), Reason::InvalidSpec);
        let msg = e.to_string();
        assert!(
            msg.contains("team-a/one") && msg.contains("team-a/two"),
            "{msg}"
        );
        let dropped = client(json!({"name": "W"}), json!({"tenant": "team-a/one"}));
        assert!(
            tenant_key_of(&dropped).is_err(),
            "removing tenantRef moves it too"
        );
    }

    #[test]
    fn a_stale_finalizer_patch_is_not_a_failure() {
        use kube::runtime::finalizer::Error as F;
        let api = |code: u16| {
            kube::Error::Api(Box::new(kube::core::Status {
                code,
                message: "the server rejected our request due to an error in our request".into(),
                ..Default::default()
            }))
        };
        assert!(finalizer_patch_was_stale(&F::AddFinalizer(api(422))));
        assert!(finalizer_patch_was_stale(&F::RemoveFinalizer(api(409))));
        assert!(!finalizer_patch_was_stale(&F::AddFinalizer(api(403))));
        assert!(!finalizer_patch_was_stale(&F::ApplyFailed(
            Error::InvalidSpec("x".into())
        )));
    }

    #[test]
    fn waits_and_failures_are_told_apart() {
        for (e, wait) in [
            (Error::TenantNotReady("t".into()), true),
            (Error::TenantNotFound("t".into()), true),
            (Error::ClientNotReady("c".into()), true),
            (Error::TenantNotAllowed("t".into()), false),
            (Error::InvalidSpec("s".into()), false),
        ] {
            assert_eq!(e.reason().is_wait(), wait, "{e:?}");
        }
        assert!(Error::TenantNotAllowed("t".into()).needs_user());
        assert!(!Error::TenantNotReady("t".into()).needs_user());
    }
}
