//! `Auth0Client`: what the kind supplies to the [driver](super::driver).

pub mod credentials;
pub mod keys;
pub mod rotation;
pub mod spec;

use k8s_openapi::{api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::Condition};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Preconditions},
    runtime::events::EventType,
};
use tracing::info;

use super::{
    Context, Error, Outcome,
    secret::store::{conflict, delete_if_owned},
    tenant::Tenant,
};
use crate::{
    auth0::{Auth0Error, Client, Secret as SecretValue},
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

    async fn sync(
        &self,
        ctx: &Context,
        tenant: &Tenant,
        seen: &mut Seen,
    ) -> Result<Outcome, Error> {
        sync(self, ctx, tenant, seen).await?;
        Ok(notes(self, seen))
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
    if seen.recreated {
        Outcome::note(
            EventReason::Recreated,
            format!("Auth0 client was missing in Auth0; created {id}"),
        )
    } else if seen.created {
        Outcome::note(EventReason::Created, format!("Created Auth0 client {id}"))
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

/// Looks up the Auth0 client behind `obj`, creating or patching it, then writes the Secret.
/// What it learns goes into `out` as it goes, so a failure still records the client id.
async fn sync(
    obj: &Auth0Client,
    ctx: &Context,
    tenant: &Tenant,
    out: &mut Seen,
) -> Result<(), Error> {
    let status_id = obj.status.as_ref().and_then(|s| s.client_id.clone());
    // A Secret of that name that is not ours is reported before anything is created in Auth0.
    let existing_secret = current_secret(obj, ctx).await?;
    let uid = obj.uid().unwrap_or_default();
    let adopted = obj.spec.client_id.is_some();
    let tags = if adopted {
        Default::default()
    } else {
        crate::controller::client::spec::ownership_tags(obj)
    };
    tenant.inventory.ensure_clients(&tenant.auth0).await?;

    let mut fresh_secret: Option<SecretValue> = None;
    let observe = obj.spec.management_policy == ManagementPolicy::Observe;
    let observed: Client = if observe {
        // Observe: find it (by id, or as the operator's own), never create it.
        let by_id = match obj.spec.client_id.as_ref().or(status_id.as_ref()) {
            Some(id) => lookup(tenant, id).await?,
            None => None,
        };
        let found = match by_id {
            Some(c) => Some(c),
            None if obj.spec.client_id.is_none() => find_tagged(ctx, tenant, &uid).await?,
            None => None,
        };
        found.ok_or_else(|| {
            Error::NotFound(match &obj.spec.client_id {
                Some(id) => format!(
                    "Auth0 has no client with id {id} (spec.clientId); managementPolicy is Observe, so the operator does not create it"
                ),
                None => "managementPolicy is Observe and there is no Auth0 client to observe: set spec.clientId to the id of an existing application".to_string(),
            })
        })?
    } else if let Some(id) = obj.spec.client_id.as_ref() {
        match lookup(tenant, id).await? {
            Some(c) => {
                out.adopted = status_id.is_none();
                c
            }
            None => {
                return Err(Error::NotFound(format!(
                    "Auth0 has no client with id {id} (spec.clientId); the operator only adopts existing clients by id"
                )));
            }
        }
    } else {
        let by_status = match &status_id {
            Some(id) => lookup(tenant, id).await?,
            None => None,
        };
        match by_status {
            Some(c) => c,
            None => match find_tagged(ctx, tenant, &uid).await? {
                Some(c) => {
                    out.adopted = true;
                    c
                }
                None => {
                    let created = create(obj, ctx, tenant, &uid, tags.clone()).await?;
                    out.created = true;
                    out.recreated = status_id.is_some();
                    fresh_secret = created.client_secret.clone();
                    created
                }
            },
        }
    };
    out.client_id = Some(observed.client_id.clone());

    let update = crate::controller::client::spec::client_update(&obj.spec, &tags, &observed);
    out.drift = Some(super::status::Drift::found(
        obj.spec.management_policy,
        crate::controller::diff::spec_field_names(&crate::controller::client::spec::update_fields(
            &update,
        )),
        obj.metadata.generation,
        obj.status.as_ref().map_or(&[][..], |s| &s.conditions),
    ));
    if !update.is_empty() && !observe {
        out.updated_fields = crate::controller::client::spec::update_fields(&update);
        let patched = tenant
            .auth0
            .update_client(&observed.client_id, &update)
            .await?;
        tenant.inventory.upsert_client(&patched);
    }
    // The credential steps read the client as Auth0 has it now (the PATCH above may have
    // switched its authentication method).
    let observed = tenant
        .inventory
        .client(&observed.client_id)
        .unwrap_or(observed);
    let report = rotation::ensure(
        obj,
        ctx,
        tenant,
        &observed,
        fresh_secret,
        existing_secret,
        observe,
    )
    .await?;
    out.secret_written = report.written;
    out.credentials = Some(report);
    Ok(())
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

async fn create(
    obj: &Auth0Client,
    ctx: &Context,
    tenant: &Tenant,
    uid: &str,
    tags: std::collections::BTreeMap<String, String>,
) -> Result<Client, Error> {
    let body = crate::controller::client::spec::client_create(&obj.spec, tags);
    ctx.pending_creates.lock().insert(uid.to_string());
    match tenant.auth0.create_client(&body).await {
        Ok(c) => {
            tenant.inventory.record_created_client(&c);
            ctx.pending_creates.lock().remove(uid);
            Ok(c)
        }
        Err(e) => {
            // A definite refusal (4xx) created nothing; anything else may have.
            if is_definite_refusal(&e) {
                ctx.pending_creates.lock().remove(uid);
            }
            Err(e.into())
        }
    }
}

/// Whether Auth0 surely did not act on a call that failed with `e` (a create can be retried
/// as a create); anything else may have taken effect.
pub(crate) fn is_definite_refusal(e: &Auth0Error) -> bool {
    match e {
        Auth0Error::Transport { pre_send, .. } => *pre_send,
        Auth0Error::Api { status, .. } => (400..500).contains(status),
        Auth0Error::RateLimited { .. } => true,
        Auth0Error::Decode { .. } => false,
        _ => true,
    }
}

/// The credentials Secret as it is now, if this resource may write it: `None` when there is none
/// (or a stale one was removed), the Secret when this resource owns it, `SecretConflict` when
/// it belongs to someone else.
///
/// A Secret the operator made for an `Auth0Client` that no longer exists (same name, another
/// UID: the resource was deleted and created again while no garbage collector ran) is stale,
/// not a conflict: it is deleted, guarded by its UID and resourceVersion, and written anew.
/// A Secret without the operator's label and owner reference is never touched.
async fn current_secret(obj: &Auth0Client, ctx: &Context) -> Result<Option<Secret>, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.secret_name();
    let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), &ns);
    // Read from the API server, not a cache: the operator keeps no copy of credentials.
    let Some(secret) = api.get_opt(&name).await? else {
        return Ok(None);
    };
    if crate::controller::secret::shape::secret_owned_by(&secret, obj) {
        return Ok(Some(secret));
    }
    if let Some((owner, owner_uid)) =
        crate::controller::secret::shape::operator_secret_owner(&secret)
        && !client_exists(ctx, &ns, &owner, &owner_uid, obj).await?
    {
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: secret.metadata.uid.clone(),
                resource_version: secret.metadata.resource_version.clone(),
            }),
            ..Default::default()
        };
        match api.delete(&name, &dp).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(e.into()),
        }
        info!(secret = %name, stale_owner = %owner, "deleted a stale credentials Secret left by a deleted Auth0Client");
        ctx.event(
            obj,
            EventType::Normal,
            EventReason::StaleSecretReplaced.as_str(),
            "Sync",
            format!(
                "Secret {name} belonged to a deleted Auth0Client {owner}; it was deleted and will be written for this resource"
            ),
        )
        .await;
        return Ok(None);
    }
    Err(conflict(&name, &secret))
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
