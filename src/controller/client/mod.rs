//! `Auth0Client`: what the kind supplies to the [driver](super::driver).

pub mod credentials;
pub mod keys;
pub mod rotation;
pub mod spec;

use k8s_openapi::{api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::Condition};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Preconditions},
};
use tracing::info;

use super::{
    Context, Error, Outcome, diff,
    plan::{Claim, CreateGuard, Existing, Next, Plan, may_take},
    secret::{
        shape,
        store::{conflict, delete_if_owned},
    },
    status::Drift,
    tenant::Tenant,
};
use crate::{
    auth0::{Client, ClientCreate, ClientUpdate, Secret as SecretValue},
    crd::{
        Auth0Client, Auth0ClientStatus, CONDITION_ROTATING, DeletionPolicy, EventReason,
        ManagementPolicy, TenantRef,
    },
};

/// What a sync learned and did.
#[derive(Debug, Default)]
pub struct Seen {
    client_id: Option<String>,
    created: bool,
    adopted: bool,
    /// Found by its tag: made by an earlier attempt whose answer was lost.
    recovered: bool,
    /// A stale Secret (of a deleted `Auth0Client` of the same name) was deleted: name, owner.
    stale_secret: Option<(String, String)>,
    recreated: bool,
    updated_fields: Vec<String>,
    secret_written: bool,
    /// What the credential steps did (rotation times, credential ids, events).
    credentials: Option<rotation::Report>,
    /// What the comparison with Auth0 found.
    drift: Option<super::status::Drift>,
}

impl super::Kind for Auth0Client {
    const KIND: &'static str = "Auth0Client";
    const NOUN: &'static str = "Auth0 client";
    const OWNS_SECRETS: bool = true;
    type Status = Auth0ClientStatus;
    type Seen = Seen;

    fn current_status(&self) -> Option<&Auth0ClientStatus> {
        self.status.as_ref()
    }

    fn deletion_policy(&self) -> DeletionPolicy {
        self.spec.deletion_policy
    }

    fn management_policy(&self) -> ManagementPolicy {
        self.spec.management_policy
    }

    fn drift(seen: &Seen) -> Option<&super::status::Drift> {
        seen.drift.as_ref()
    }

    fn validate(&self) -> Result<(), Error> {
        let problems: Vec<String> = [
            crate::controller::client::spec::validate_client_spec(&self.spec),
            crate::controller::client::spec::validate_client_identity(
                &self.spec,
                self.status.as_ref(),
            ),
        ]
        .into_iter()
        .filter_map(Result::err)
        .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidSpec(problems.join("; ")))
        }
    }

    fn tenant_ref(&self) -> Option<&TenantRef> {
        self.spec.tenant_ref.as_ref()
    }

    fn recorded_tenant(&self) -> Option<&str> {
        self.status.as_ref()?.tenant.as_deref()
    }

    fn has_auth0_object(&self) -> bool {
        self.spec.client_id.is_some() || self.status.as_ref().is_some_and(|s| s.client_id.is_some())
    }

    type Observed = Observed;
    type Create = ClientCreate;
    type Step = Step;
    const GUARD: CreateGuard = CreateGuard::Tagged;

    fn observe<'a>(
        &'a self,
        ctx: &'a Context,
        tenant: &'a Tenant,
        previous: Option<Observed>,
    ) -> impl std::future::Future<Output = Result<Observed, Error>> + Send + 'a {
        observe(self, ctx, tenant, previous)
    }

    fn plan(&self, observed: &Observed) -> Plan<ClientCreate, Step, Seen> {
        plan(self, observed)
    }

    async fn create(
        &self,
        body: ClientCreate,
        _ctx: &Context,
        tenant: &Tenant,
        o: &mut Observed,
    ) -> Result<(), Error> {
        let c = tenant.auth0.create_client(&body).await?;
        tenant.inventory.record_created_client(&c);
        o.did.created = true;
        o.fresh_secret = c.client_secret.clone();
        o.tagged = Some(c);
        Ok(())
    }

    async fn execute(
        &self,
        step: Step,
        ctx: &Context,
        tenant: &Tenant,
        o: &mut Observed,
    ) -> Result<(), Error> {
        match step {
            Step::DeleteStaleSecret { name, owner } => {
                if let SecretSeen::Stale { secret, .. } = &o.secret {
                    delete_stale_secret(self, ctx, &name, secret).await?;
                    info!(secret = %name, stale_owner = %owner, "deleted a stale credentials Secret left by a deleted Auth0Client");
                }
                o.secret = SecretSeen::Absent;
                o.did.stale_secret = Some((name, owner));
                Ok(())
            }
            Step::Patch { id, update, fields } => {
                let patched = tenant.auth0.update_client(&id, &update).await?;
                tenant.inventory.upsert_client(&patched);
                o.did.patched = fields;
                o.replace(patched);
                Ok(())
            }
            Step::Credentials { client_id } => {
                // The credential steps read the client as Auth0 has it now (a PATCH may have
                // switched its authentication method).
                let Some(client) = tenant
                    .inventory
                    .client(&client_id)
                    .or_else(|| o.current().cloned())
                else {
                    return Err(Error::NotFound(format!(
                        "Auth0 has no client with id {client_id}"
                    )));
                };
                let existing = match std::mem::take(&mut o.secret) {
                    SecretSeen::Ours(s) => Some(s),
                    _ => None,
                };
                let observe = self.spec.management_policy == ManagementPolicy::Observe;
                let report = rotation::ensure(
                    self,
                    ctx,
                    tenant,
                    &client,
                    o.fresh_secret.take(),
                    existing,
                    observe,
                )
                .await?;
                o.did.credentials = Some(report);
                Ok(())
            }
        }
    }

    fn notes(&self, seen: &mut Seen) -> Outcome {
        notes(self, seen)
    }

    fn synced_message(&self, seen: &Seen) -> String {
        let state = match self.spec.management_policy {
            ManagementPolicy::Manage => "is in sync",
            ManagementPolicy::Observe => "is observed (managementPolicy Observe)",
        };
        format!(
            "Auth0 client {} {state}; credentials are in Secret {}",
            seen.client_id.as_deref().unwrap_or_default(),
            self.secret_name()
        )
    }

    fn next_status(
        &self,
        seen: Seen,
        ready: Condition,
        error: Option<&Error>,
        tenant: Option<&str>,
    ) -> Auth0ClientStatus {
        let previous = self.status.clone().unwrap_or_default();
        let client_id = seen.client_id.or(previous.client_id.clone());
        let generation = self.metadata.generation;
        let rotating = match seen.credentials.as_ref().map(|r| &r.rotating) {
            Some(Some((reason, message))) => super::status::condition(
                CONDITION_ROTATING,
                true,
                reason,
                message,
                generation,
                &previous.conditions,
            ),
            Some(None) => super::status::condition(
                CONDITION_ROTATING,
                false,
                "Idle",
                "No credential hand-over is in progress",
                generation,
                &previous.conditions,
            ),
            // Not known (the sync stopped before the credential steps): as it was.
            None => previous
                .conditions
                .iter()
                .find(|c| c.type_ == CONDITION_ROTATING)
                .cloned()
                .unwrap_or_else(|| {
                    super::status::condition(
                        CONDITION_ROTATING,
                        false,
                        "Idle",
                        "No credential hand-over is in progress",
                        generation,
                        &[],
                    )
                }),
        };
        let drift = super::status::drift_status(
            self.spec.management_policy,
            seen.drift.as_ref(),
            generation,
            &previous.conditions,
            previous.drift.clone(),
            previous.last_drift_time.clone(),
        );
        let (last_rotation_time, next_rotation_time, credential_ids) = match seen.credentials {
            Some(r) => (r.last_rotation, r.next_rotation, r.credential_ids),
            None => (
                previous.last_rotation_time.clone(),
                previous.next_rotation_time.clone(),
                previous.credential_ids.clone(),
            ),
        };
        Auth0ClientStatus {
            observed_generation: generation,
            conditions: vec![ready, drift.condition, rotating],
            drift: drift.drift,
            last_drift_time: drift.last_drift_time,
            last_rotation_time,
            next_rotation_time,
            credential_ids,
            // Recorded once an application is known (for the clientId rule); never from a spec
            // that was just refused.
            adopted: previous.adopted.or_else(|| {
                client_id
                    .as_ref()
                    .filter(|_| !matches!(error, Some(Error::InvalidSpec(_))))
                    .map(|_| self.spec.client_id.is_some())
            }),
            secret_name: if error.is_none() {
                Some(self.secret_name())
            } else {
                previous.secret_name
            },
            client_id,
            tenant: previous.tenant.or_else(|| tenant.map(String::from)),
        }
    }

    fn status_changed(&self, ctx: &Context) {
        // Grants that reference this client follow its readiness and id.
        ctx.wake_grants_of(self);
    }

    async fn delete_in_auth0(
        &self,
        ctx: &Context,
        tenant: &Tenant,
    ) -> Result<Option<String>, Error> {
        // Its grants report that their client is going away.
        ctx.wake_grants_of(self);
        let id = match (
            self.status.as_ref().and_then(|s| s.client_id.clone()),
            self.spec.client_id.clone(),
        ) {
            (Some(id), _) | (None, Some(id)) => Some(id),
            (None, None) => {
                // Possibly created just before a crash, before the status was written.
                tenant.inventory.ensure_clients(&tenant.auth0).await?;
                find_tagged(ctx, tenant, &self.uid().unwrap_or_default())
                    .await?
                    .map(|c| c.client_id)
            }
        };
        if let Some(id) = &id {
            tenant.auth0.delete_client(id).await?;
            tenant.inventory.remove_client(id);
            tenant.inventory.remove_grants_of_client(id);
        }
        Ok(id)
    }

    async fn release(&self, ctx: &Context) -> Result<(), Error> {
        delete_owned_secrets(self, ctx).await?;
        // Now that the Auth0 client and its grants are gone (or orphaned), their status follows.
        ctx.wake_grants_of(self);
        Ok(())
    }
}

/// The Normal events of a successful sync: what happened to the application, then what
/// happened to its credential.
fn notes(obj: &Auth0Client, seen: &mut Seen) -> Outcome {
    let mut outcome = client_notes(obj, seen);
    if let Some(r) = seen.credentials.as_mut() {
        if !r.notes.is_empty() {
            // What happened to the credential says more than "wrote the Secret".
            outcome
                .notes
                .retain(|(reason, _)| *reason != EventReason::SecretWritten);
        }
        outcome.notes.append(&mut r.notes);
        outcome.requeue_after = r.requeue_after;
    }
    outcome
}

fn client_notes(obj: &Auth0Client, seen: &Seen) -> Outcome {
    let id = seen.client_id.as_deref().unwrap_or_default();
    let mut out = client_note(obj, seen, id);
    if let Some((name, owner)) = &seen.stale_secret {
        out.notes.insert(
            0,
            (
                EventReason::StaleSecretReplaced,
                format!(
                    "Secret {name} belonged to a deleted Auth0Client {owner}; it was deleted and will be written for this resource"
                ),
            ),
        );
    }
    out
}

fn client_note(obj: &Auth0Client, seen: &Seen, id: &str) -> Outcome {
    if seen.recreated {
        Outcome::note(
            EventReason::Recreated,
            format!("Auth0 client was missing in Auth0; created {id}"),
        )
    } else if seen.created {
        Outcome::note(EventReason::Created, format!("Created Auth0 client {id}"))
    } else if seen.recovered {
        Outcome::note(
            EventReason::Created,
            format!("Found Auth0 client {id}, created by an earlier attempt whose answer was lost"),
        )
    } else if seen.adopted {
        Outcome::note(
            EventReason::Adopted,
            format!("Adopted existing Auth0 client {id}"),
        )
    } else if !seen.updated_fields.is_empty() {
        Outcome::note(
            EventReason::Updated,
            format!(
                "Updated Auth0 client {id}: {}",
                seen.updated_fields.join(", ")
            ),
        )
    } else if seen.secret_written {
        Outcome::note(
            EventReason::SecretWritten,
            format!("Wrote credentials Secret {}", obj.secret_name()),
        )
    } else {
        Outcome::default()
    }
}

/// The client with this id: from the cache, or (when the cache does not know it) from Auth0,
/// so a client created since the last listing is not mistaken for a deleted one.
async fn lookup(tenant: &Tenant, client_id: &str) -> Result<Option<Client>, Error> {
    if let Some(c) = tenant.inventory.client(client_id) {
        return Ok(Some(c));
    }
    match tenant.auth0.get_client(client_id).await {
        Ok(c) => {
            tenant.inventory.upsert_client(&c);
            Ok(Some(c))
        }
        Err(e) if e.is_not_found() => {
            tenant.inventory.remove_client(client_id);
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// The client tagged with this resource's UID. After a create that ended without an answer,
/// the listing is refreshed first, so a client Auth0 did create is found instead of duplicated.
async fn find_tagged(ctx: &Context, tenant: &Tenant, uid: &str) -> Result<Option<Client>, Error> {
    if ctx.pending_creates.lock().contains(uid) {
        tenant.inventory.invalidate_clients();
        tenant.inventory.ensure_clients(&tenant.auth0).await?;
    }
    Ok(tenant.inventory.client_by_uid(uid))
}

/// Whether the `Auth0Client` `name` with this UID still exists in `ns`.
async fn client_exists(
    ctx: &Context,
    ns: &str,
    name: &str,
    uid: &str,
    this: &Auth0Client,
) -> Result<bool, Error> {
    if name == this.name_any() {
        // Names are unique: an owner of this name with another UID was deleted.
        return Ok(false);
    }
    let api: Api<Auth0Client> = Api::namespaced(ctx.kube.clone(), ns);
    Ok(api
        .get_opt(name)
        .await?
        .is_some_and(|c| c.uid().as_deref() == Some(uid)))
}

/// Deletes the credentials Secrets this resource owns (the current and the recorded name).
/// The owner reference would let a garbage collector do it, but not every cluster runs one in
/// time (or at all, like the local dev cluster), and a leftover Secret would hold a deleted
/// application's credentials.
async fn delete_owned_secrets(obj: &Auth0Client, ctx: &Context) -> Result<(), Error> {
    let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    let mut names = vec![obj.secret_name()];
    if let Some(old) = obj.status.as_ref().and_then(|s| s.secret_name.clone())
        && !names.contains(&old)
    {
        names.push(old);
    }
    for name in names {
        delete_if_owned(obj, &api, &name).await?;
    }
    Ok(())
}

/// The credentials Secret as the reconcile found it.
#[derive(Debug, Default)]
pub enum SecretSeen {
    /// None of that name.
    #[default]
    Absent,
    /// This resource's.
    Ours(Secret),
    /// The operator made it for an `Auth0Client` of that name that no longer exists (deleted
    /// and created again while no garbage collector ran): it is replaced, not a conflict.
    Stale { secret: Secret, owner: String },
    /// Someone else's: never touched.
    Foreign(Secret),
}

/// What the reconcile of an application observed, and what it did so far.
#[derive(Debug, Default)]
pub struct Observed {
    /// The credentials Secret (read from the API server, never from a cache).
    secret: SecretSeen,
    /// `spec.clientId`'s application (`Some(None)`: Auth0 has none with that id).
    by_spec_id: Option<Option<Client>>,
    /// The application the status names (without `spec.clientId`).
    by_status_id: Option<Client>,
    /// The application tagged with this resource's UID (looked for when neither id finds one).
    tagged: Option<Client>,
    /// The secret of an application this reconcile created (Auth0 shows it in the answer).
    fresh_secret: Option<SecretValue>,
    did: Did,
}

/// The journal of one reconcile.
#[derive(Debug, Default)]
struct Did {
    created: bool,
    patched: Vec<String>,
    stale_secret: Option<(String, String)>,
    credentials: Option<rotation::Report>,
}

impl Observed {
    /// The application the reconcile works on.
    fn current(&self) -> Option<&Client> {
        self.by_spec_id
            .as_ref()
            .and_then(Option::as_ref)
            .or(self.by_status_id.as_ref())
            .or(self.tagged.as_ref())
    }

    fn replace(&mut self, c: Client) {
        for slot in [
            self.by_spec_id.as_mut().and_then(Option::as_mut),
            self.by_status_id.as_mut(),
            self.tagged.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if slot.client_id == c.client_id {
                *slot = c.clone();
            }
        }
    }
}

/// A step of an application's own.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Delete the stale Secret (guarded by its UID and resourceVersion).
    DeleteStaleSecret { name: String, owner: String },
    /// `PATCH /api/v2/clients/{id}` with the fields that differ.
    Patch {
        id: String,
        update: Box<ClientUpdate>,
        fields: Vec<String>,
    },
    /// Make the Secret hold a working credential and carry out a rotation that is due or under
    /// way ([`rotation::ensure`]).
    Credentials { client_id: String },
}

/// Reads the Secret, then finds the application: by `spec.clientId`, else by the id the status
/// records, else by its UID tag.
async fn observe(
    obj: &Auth0Client,
    ctx: &Context,
    tenant: &Tenant,
    previous: Option<Observed>,
) -> Result<Observed, Error> {
    let mut o = Observed {
        did: previous.map(|p| p.did).unwrap_or_default(),
        ..Default::default()
    };
    o.secret = observe_secret(obj, ctx).await?;
    tenant.inventory.ensure_clients(&tenant.auth0).await?;
    let status_id = obj.status.as_ref().and_then(|s| s.client_id.clone());
    if let Some(id) = &obj.spec.client_id {
        o.by_spec_id = Some(lookup(tenant, id).await?);
        return Ok(o);
    }
    if let Some(id) = &status_id {
        o.by_status_id = lookup(tenant, id).await?;
    }
    if o.by_status_id.is_none() {
        o.tagged = find_tagged(ctx, tenant, &obj.uid().unwrap_or_default()).await?;
    }
    Ok(o)
}

/// The next step for an application (pure).
fn plan(obj: &Auth0Client, o: &Observed) -> Plan<ClientCreate, Step, Seen> {
    let spec = &obj.spec;
    let observe = spec.management_policy == ManagementPolicy::Observe;
    let status_id = obj.status.as_ref().and_then(|s| s.client_id.as_deref());
    let mut seen = Seen {
        created: o.did.created,
        recreated: o.did.created && status_id.is_some(),
        updated_fields: o.did.patched.clone(),
        stale_secret: o.did.stale_secret.clone(),
        credentials: o.did.credentials.clone(),
        secret_written: o.did.credentials.as_ref().is_some_and(|r| r.written),
        ..Default::default()
    };
    let refuse = |seen, e| Plan {
        next: Next::Refuse(e),
        seen,
    };
    // A Secret of that name that is not ours is reported before anything is created in Auth0.
    match &o.secret {
        SecretSeen::Foreign(secret) => {
            return refuse(seen, conflict(&obj.secret_name(), secret));
        }
        SecretSeen::Stale { owner, .. } => {
            return Plan {
                next: Next::Do(Step::DeleteStaleSecret {
                    name: obj.secret_name(),
                    owner: owner.clone(),
                }),
                seen,
            };
        }
        SecretSeen::Absent | SecretSeen::Ours(_) => {}
    }
    let existing = |c: &Client| Existing {
        what: format!("Auth0 client {}", c.client_id),
        tenant: "",
        system: false,
        remedy: "set spec.clientId to manage it",
    };
    let claim = if let Some(by_id) = &o.by_spec_id {
        let id = spec.client_id.as_deref().unwrap_or_default();
        match by_id {
            Some(c) => {
                seen.adopted = !observe && status_id.is_none();
                (c, Claim::Asked)
            }
            None => {
                return refuse(
                    seen,
                    Error::NotFound(if observe {
                        format!(
                            "Auth0 has no client with id {id} (spec.clientId); managementPolicy is Observe, so the operator does not create it"
                        )
                    } else {
                        format!(
                            "Auth0 has no client with id {id} (spec.clientId); the operator only adopts existing clients by id"
                        )
                    }),
                );
            }
        }
    } else if let Some(c) = &o.by_status_id {
        (c, Claim::Recorded)
    } else if let Some(c) = &o.tagged {
        seen.recovered = !observe && !o.did.created;
        (c, Claim::Recorded)
    } else if observe {
        return refuse(
            seen,
            Error::NotFound("managementPolicy is Observe and there is no Auth0 client to observe: set spec.clientId to the id of an existing application".to_string()),
        );
    } else {
        return Plan {
            next: Next::Create(spec::client_create(spec, spec::ownership_tags(obj))),
            seen,
        };
    };
    let (current, claim) = claim;
    if let Err(e) = may_take(&existing(current), claim) {
        return refuse(seen, e);
    }
    seen.client_id = Some(current.client_id.clone());
    let tags = if spec.client_id.is_some() {
        Default::default()
    } else {
        spec::ownership_tags(obj)
    };
    let update = spec::client_update(spec, &tags, current);
    let fields = spec::update_fields(&update);
    seen.drift = Some(Drift::found(
        spec.management_policy,
        diff::spec_field_names(if o.did.patched.is_empty() {
            &fields
        } else {
            &o.did.patched
        }),
        obj.metadata.generation,
        obj.status.as_ref().map_or(&[][..], |s| &s.conditions),
    ));
    let next = if !update.is_empty() && !observe && o.did.patched.is_empty() {
        Next::Do(Step::Patch {
            id: current.client_id.clone(),
            update: Box::new(update),
            fields,
        })
    } else if o.did.credentials.is_none() {
        Next::Do(Step::Credentials {
            client_id: current.client_id.clone(),
        })
    } else {
        Next::Done
    };
    Plan { next, seen }
}

/// The credentials Secret as it is now: absent, this resource's, stale (made by the operator
/// for a deleted `Auth0Client` of that name) or someone else's.
async fn observe_secret(obj: &Auth0Client, ctx: &Context) -> Result<SecretSeen, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), &ns);
    // Read from the API server, not a cache: the operator keeps no copy of credentials.
    let Some(secret) = api.get_opt(&obj.secret_name()).await? else {
        return Ok(SecretSeen::Absent);
    };
    if shape::secret_owned_by(&secret, obj) {
        return Ok(SecretSeen::Ours(secret));
    }
    if let Some((owner, owner_uid)) = shape::operator_secret_owner(&secret)
        && !client_exists(ctx, &ns, &owner, &owner_uid, obj).await?
    {
        return Ok(SecretSeen::Stale { secret, owner });
    }
    Ok(SecretSeen::Foreign(secret))
}

/// Deletes a stale Secret, guarded by its UID and resourceVersion (a Secret without the
/// operator's label and owner reference is never touched: it is never `Stale`).
async fn delete_stale_secret(
    obj: &Auth0Client,
    ctx: &Context,
    name: &str,
    secret: &Secret,
) -> Result<(), Error> {
    let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: secret.metadata.uid.clone(),
            resource_version: secret.metadata.resource_version.clone(),
        }),
        ..Default::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::Kind;
    use serde_json::json;

    fn resource(spec: serde_json::Value, status: serde_json::Value) -> Auth0Client {
        let mut spec = spec;
        if spec.get("name").is_none() {
            spec["name"] = json!("Web");
        }
        serde_json::from_value(json!({
            "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
            "metadata": {"name": "web", "namespace": "team-a", "uid": "u-1", "generation": 1},
            "spec": spec, "status": status
        }))
        .unwrap()
    }

    /// An application as Auth0 lists it; tagged as `obj`'s unless `spec.clientId` adopts it.
    fn app(obj: &Auth0Client, id: &str, extra: serde_json::Value) -> Client {
        let tags = if obj.spec.client_id.is_some() {
            Default::default()
        } else {
            spec::ownership_tags(obj)
        };
        let mut v = json!({"client_id": id, "name": "Web", "client_metadata": tags});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    fn outcome(p: &Plan<ClientCreate, Step, Seen>) -> String {
        match &p.next {
            Next::Done => "Done".into(),
            Next::Refuse(e) => format!("Refuse({})", e.reason()),
            Next::Create(body) => format!("Create({})", body.name),
            Next::Do(Step::DeleteStaleSecret { owner, .. }) => {
                format!("DeleteStaleSecret({owner})")
            }
            Next::Do(Step::Patch { id, fields, .. }) => {
                format!("Patch({id}: {})", fields.join(","))
            }
            Next::Do(Step::Credentials { client_id }) => format!("Credentials({client_id})"),
        }
    }

    fn foreign_secret() -> Secret {
        serde_json::from_value(json!({"metadata": {"name": "web-auth0", "namespace": "team-a"}}))
            .unwrap()
    }

    #[test]
    fn every_branch_of_the_plan() {
        type Setup = fn(&Auth0Client, &mut Observed);
        let cases: Vec<(&str, serde_json::Value, serde_json::Value, Setup, &str)> = vec![
            (
                "nothing exists: create",
                json!({}),
                json!({}),
                |_, _| {},
                "Create(Web)",
            ),
            (
                "someone else's Secret of that name: refused before anything is created",
                json!({}),
                json!({}),
                |_, o| o.secret = SecretSeen::Foreign(foreign_secret()),
                "Refuse(SecretConflict)",
            ),
            (
                "a stale Secret of a deleted Auth0Client of that name: deleted first",
                json!({}),
                json!({}),
                |_, o| {
                    o.secret = SecretSeen::Stale {
                        secret: foreign_secret(),
                        owner: "web".into(),
                    }
                },
                "DeleteStaleSecret(web)",
            ),
            (
                "the application the status names, in sync: the credential step",
                json!({}),
                json!({"clientId": "c1"}),
                |obj, o| o.by_status_id = Some(app(obj, "c1", json!({}))),
                "Credentials(c1)",
            ),
            (
                "after the credential step: done",
                json!({}),
                json!({"clientId": "c1"}),
                |obj, o| {
                    o.by_status_id = Some(app(obj, "c1", json!({})));
                    o.did.credentials = Some(rotation::Report::default());
                },
                "Done",
            ),
            (
                "it differs: one patch, before the credential step",
                json!({"callbacks": ["https://web/cb"]}),
                json!({"clientId": "c1"}),
                |obj, o| o.by_status_id = Some(app(obj, "c1", json!({}))),
                "Patch(c1: callbacks)",
            ),
            (
                "after the patch: the credential step",
                json!({"callbacks": ["https://web/cb"]}),
                json!({"clientId": "c1"}),
                |obj, o| {
                    o.by_status_id = Some(app(obj, "c1", json!({})));
                    o.did.patched = vec!["callbacks".into()];
                },
                "Credentials(c1)",
            ),
            (
                "found by its UID tag (an earlier create's answer was lost): taken back",
                json!({}),
                json!({}),
                |obj, o| o.tagged = Some(app(obj, "c7", json!({}))),
                "Credentials(c7)",
            ),
            (
                "spec.clientId that Auth0 does not have: NotFound",
                json!({"clientId": "c9"}),
                json!({}),
                |_, o| o.by_spec_id = Some(None),
                "Refuse(NotFound)",
            ),
            (
                "spec.clientId: adopted",
                json!({"clientId": "c9"}),
                json!({}),
                |obj, o| o.by_spec_id = Some(Some(app(obj, "c9", json!({})))),
                "Credentials(c9)",
            ),
            (
                "Observe without an application: NotFound, nothing created",
                json!({"managementPolicy": "Observe"}),
                json!({}),
                |_, _| {},
                "Refuse(NotFound)",
            ),
            (
                "Observe: differences are reported, never patched",
                json!({"clientId": "c9", "managementPolicy": "Observe", "callbacks": ["https://x/"]}),
                json!({}),
                |obj, o| o.by_spec_id = Some(Some(app(obj, "c9", json!({})))),
                "Credentials(c9)",
            ),
        ];
        for (what, spec, status, setup, want) in cases {
            let obj = resource(spec, status);
            let mut o = Observed::default();
            setup(&obj, &mut o);
            assert_eq!(outcome(&plan(&obj, &o)), want, "{what}");
        }
    }

    #[test]
    fn what_the_events_say() {
        let obj = resource(json!({}), json!({}));
        let notes = |o: &Observed| {
            let mut seen = plan(&obj, o).seen;
            obj.notes(&mut seen)
                .notes
                .into_iter()
                .map(|(r, m)| format!("{}: {m}", r.as_str()))
                .collect::<Vec<_>>()
        };
        // Created by this reconcile.
        let mut o = Observed::default();
        o.did.created = true;
        o.tagged = Some(app(&obj, "c1", json!({})));
        o.did.credentials = Some(rotation::Report::default());
        assert_eq!(notes(&o), vec!["Created: Created Auth0 client c1"]);
        // Found by its tag after a lost answer.
        o.did.created = false;
        assert_eq!(
            notes(&o),
            vec![
                "Created: Found Auth0 client c1, created by an earlier attempt whose answer was lost"
            ]
        );
        // A stale Secret replaced, then the Secret written.
        let obj = resource(json!({}), json!({"clientId": "c1"}));
        let mut o = Observed {
            by_status_id: Some(app(&obj, "c1", json!({}))),
            ..Default::default()
        };
        o.did.stale_secret = Some(("web-auth0".into(), "web".into()));
        o.did.credentials = Some(rotation::Report {
            written: true,
            ..Default::default()
        });
        let mut seen = plan(&obj, &o).seen;
        let reasons: Vec<_> = obj
            .notes(&mut seen)
            .notes
            .into_iter()
            .map(|n| n.0)
            .collect();
        assert_eq!(
            reasons,
            vec![EventReason::StaleSecretReplaced, EventReason::SecretWritten]
        );
        // Recreated: the status named an application Auth0 no longer has.
        let mut o = Observed::default();
        o.did.created = true;
        o.tagged = Some(app(&obj, "c2", json!({})));
        let p = plan(&obj, &o);
        assert!(p.seen.recreated);
    }
}
