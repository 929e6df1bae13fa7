//! `Auth0Client`: what the kind supplies to the [driver](super::driver).

pub mod connections;
pub mod credentials;
pub mod keys;
pub mod plan;
pub mod rotation;
pub mod spec;

use plan::{Observed, SecretSeen, Step};

use k8s_openapi::{
    api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::Condition, jiff::Timestamp,
};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Preconditions},
};
use tracing::info;

use super::{
    Context, Error, Outcome,
    context::Scopes,
    plan::{CreateGuard, Plan},
    secret::{
        shape,
        store::{self, delete_if_owned},
    },
    tenant::{Rights, Tenant},
};
use crate::{
    auth0::{
        Auth0Error, Client, ClientAuthenticationMethods, ClientCreate, ClientUpdate,
        ConnectionClientStatus, Patch, Secret as SecretValue,
    },
    crd::{
        Auth0Client, Auth0ClientStatus, CONDITION_ROTATING, DeletionPolicy, ManagementPolicy,
        TenantRef,
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
    /// What the credential's plan reported once it needed nothing more (rotation times,
    /// credential ids, `Rotating`).
    credentials: Option<rotation::Report>,
    /// Events of the credential steps done.
    credential_notes: Vec<rotation::Note>,
    /// What the comparison with Auth0 found.
    drift: Option<super::status::Drift>,
    /// The connections enabled for the application (names), when the spec names them.
    connections: Option<Vec<String>>,
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
        rights: &'a Rights,
        previous: Option<Observed>,
    ) -> impl std::future::Future<Output = Result<Observed, Error>> + Send + 'a {
        observe(self, ctx, tenant, rights, previous)
    }

    fn plan(&self, observed: &Observed) -> Plan<ClientCreate, Step, Seen> {
        plan::plan(self, observed)
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
        o.credential.fresh = c.client_secret.clone();
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
            Step::Patch {
                id,
                update,
                connections,
                fields,
            } => {
                if !update.is_empty() {
                    let patched = tenant.auth0.update_client(&id, &update).await?;
                    tenant.inventory.upsert_client(&patched);
                    o.replace(patched);
                }
                for change in &connections {
                    set_connection(tenant, &id, change, o).await?;
                }
                o.did.patched = fields;
                Ok(())
            }
            Step::ReadConnections { id } => {
                let enabled = tenant.auth0.list_client_connections(&id).await?;
                tenant.inventory.record_enabled(&id, &enabled);
                if let Some(c) = o.connections.as_mut() {
                    c.enabled = Some(enabled);
                }
                Ok(())
            }
            Step::Credential(step) => credential_step(self, step, ctx, tenant, o).await,
        }
    }

    fn notes(&self, seen: &mut Seen) -> Outcome {
        plan::notes(self, seen)
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
            // Only while the spec names connections; as it was when the sync stopped before
            // looking at them.
            connections: self
                .spec
                .connections
                .as_ref()
                .and(seen.connections.or(previous.connections)),
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

    fn dependents_see_change(cached: Option<&Self>, now: Option<&Self>) -> bool {
        plan::seen_by_grants(cached) != plan::seen_by_grants(now)
    }

    fn wake_dependents(&self, scopes: &Scopes) {
        // Grants that reference this client follow its readiness and id.
        scopes.wake_grants_of(self);
    }

    async fn delete_in_auth0(
        &self,
        ctx: &Context,
        tenant: &Tenant,
        rights: &Rights,
    ) -> Result<Option<String>, Error> {
        // Its grants report that their client is going away.
        ctx.scopes.wake_grants_of(self);
        let id = match (
            self.status.as_ref().and_then(|s| s.client_id.clone()),
            self.spec.client_id.clone(),
        ) {
            (Some(id), _) => Some(id),
            // spec.clientId never taken (refused, or never reconciled): not this resource's.
            (None, Some(_)) => None,
            (None, None) => {
                // Possibly created just before a crash, before the status was written.
                tenant.inventory.ensure_clients(&tenant.auth0).await?;
                find_tagged(ctx, tenant, &self.uid().unwrap_or_default())
                    .await?
                    .map(|c| c.client_id)
            }
        };
        // Only an application this resource owns, never a protected one (see plan::may_take).
        if let Some(c) = match &id {
            Some(id) => lookup(tenant, id).await?,
            None => None,
        } {
            let uid = self.uid().unwrap_or_default();
            let claimants = ctx.claimants::<Auth0Client>(&tenant.key, |r| plan::claim_on(&c, r));
            let theirs = matches!(
                super::plan::owner(
                    &uid,
                    &self.namespace().unwrap_or_default(),
                    "Auth0Client",
                    &claimants
                ),
                super::plan::Owner::Other { .. }
            );
            if theirs || plan::protected(&c, rights).is_some() {
                info!(client = %c.client_id, "not deleting an application this resource does not own");
                return Ok(None);
            }
        }
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
        ctx.scopes.wake_grants_of(self);
        Ok(())
    }
}

/// Enables or disables one connection for application `client_id`, and records it. A
/// connection deleted since it was listed is listed again (the next sync names it
/// `UnknownConnection`).
async fn set_connection(
    tenant: &Tenant,
    client_id: &str,
    change: &connections::Change,
    o: &mut Observed,
) -> Result<(), Error> {
    let entry = ConnectionClientStatus {
        client_id: client_id.to_string(),
        status: change.enable,
    };
    if let Err(e) = tenant
        .auth0
        .update_connection_clients(&change.connection.id, &[entry])
        .await
    {
        if e.is_not_found() {
            tenant.inventory.invalidate_connections();
        }
        return Err(e.into());
    }
    if let Some(enabled) = o.connections.as_mut().and_then(|c| c.enabled.as_mut()) {
        connections::apply(enabled, change);
        tenant.inventory.record_enabled(client_id, enabled);
    }
    info!(connection = %change.connection.name, enabled = change.enable, "set the application's connection");
    Ok(())
}

/// The connections `spec.connections` names, each looked up in the tenant's cached listing
/// (else by name: one created since the listing), and those enabled for application
/// `client_id` as far as the listing knows (an application created or found since is not
/// known: the plan asks Auth0, [`Step::ReadConnections`]).
async fn observe_connections(
    tenant: &Tenant,
    names: &[String],
    client_id: Option<&str>,
) -> Result<connections::Seen, Error> {
    let inventory = &tenant.inventory;
    inventory.ensure_connections(&tenant.auth0).await?;
    let mut named = Vec::with_capacity(names.len());
    for name in names {
        let found = match inventory.connection_by_name(name) {
            Some(c) => Some(c),
            None => match tenant.auth0.find_connection(name).await? {
                Some(c) => {
                    let clients = tenant.auth0.list_connection_clients(&c.id).await?;
                    inventory.record_connection(&c, &clients);
                    Some(c)
                }
                None => None,
            },
        };
        named.push((name.clone(), found));
    }
    let enabled = client_id.and_then(|id| inventory.enabled_connections(id));
    Ok(connections::Seen { named, enabled })
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
    let found = tenant.inventory.client_by_uid(uid);
    if found.is_some() {
        // The create's outcome is known: no further refresh for it.
        ctx.pending_creates.lock().remove(uid);
    }
    Ok(found)
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

/// Reads the Secret, then finds the application: by `spec.clientId`, else by the id the status
/// records, else by its UID tag.
async fn observe(
    obj: &Auth0Client,
    ctx: &Context,
    tenant: &Tenant,
    rights: &Rights,
    previous: Option<Observed>,
) -> Result<Observed, Error> {
    let mut o = match previous {
        Some(p) => Observed {
            did: p.did,
            credential: p.credential,
            ..Default::default()
        },
        None => Observed {
            credential: rotation::World {
                domain: tenant.auth0.domain().to_string(),
                now: Timestamp::now(),
                ..Default::default()
            },
            ..Default::default()
        },
    };
    o.secret = observe_secret(obj, ctx).await?;
    tenant.inventory.ensure_clients(&tenant.auth0).await?;
    let status_id = obj.status.as_ref().and_then(|s| s.client_id.clone());
    if let Some(id) = &obj.spec.client_id {
        o.by_spec_id = Some(lookup(tenant, id).await?);
    } else {
        if let Some(id) = &status_id {
            o.by_status_id = lookup(tenant, id).await?;
        }
        if o.by_status_id.is_none() {
            o.tagged = find_tagged(ctx, tenant, &obj.uid().unwrap_or_default()).await?;
        }
    }
    o.rights = rights.clone();
    if let Some(c) = o.current().cloned() {
        o.credential.verified = tenant.inventory.credentials_checked(&c.client_id);
        // Tagged with this resource's UID: no claim can be stronger (a UID is unique), so the
        // other resources need not be looked through (the common case: it made the application).
        let own_tag = c
            .client_metadata
            .as_ref()
            .and_then(|m| m.get(crate::crd::METADATA_UID_KEY))
            .is_some_and(|t| Some(t) == obj.metadata.uid.as_ref());
        if !own_tag {
            o.claimants = ctx
                .owners_of(obj, &tenant.key, |r| plan::claim_on(&c, r))
                .await?;
        }
    }
    if let Some(names) = &obj.spec.connections {
        let id = o.current().map(|c| c.client_id.clone());
        o.connections = Some(observe_connections(tenant, names, id.as_deref()).await?);
    }
    Ok(o)
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

/// Runs one step of the credential's lifecycle ([`rotation::next`] decided it) and records
/// what it learned in the reconcile's [`rotation::World`].
async fn credential_step(
    obj: &Auth0Client,
    step: rotation::Step,
    ctx: &Context,
    tenant: &Tenant,
    o: &mut Observed,
) -> Result<(), Error> {
    use rotation::{Generate, Step as S};
    let Some(id) = o.current().map(|c| c.client_id.clone()) else {
        return Err(Error::NotFound("the application is not known".into()));
    };
    let auth0 = &tenant.auth0;
    let note = match step {
        S::Write {
            held,
            generate,
            note,
        } => {
            let mut held = *held;
            match generate {
                Some(Generate::NextSecret) => held.next_secret = Some(keys::generate_secret()),
                Some(Generate::Key(alg)) => {
                    held.pending_key = Some((keys::generate_async().await, alg));
                }
                None => {}
            }
            let ns = obj.namespace().unwrap_or_default();
            let api: Api<Secret> = Api::namespaced(ctx.kube.clone(), &ns);
            let w = &mut o.credential;
            let existing = w.secret(o.secret.ours()).cloned();
            let before = existing
                .as_ref()
                .and_then(|s| s.metadata.resource_version.clone());
            let writing = ctx.own_writes.writing(&ns, &obj.secret_name());
            let written =
                store::write_credentials(obj, &api, &w.domain, &id, existing, &held).await?;
            if writing.written(&written, written.metadata.resource_version != before) {
                // Someone else changed the Secret while it was written: look again.
                ctx.wake_again(obj);
            }
            if w.fresh.as_ref().map(|f| f.expose()) == held.secret() {
                w.fresh = None;
            }
            w.written = Some((written, held));
            w.wrote = true;
            note
        }
        S::ReadSecret => {
            o.credential.live = Some(live_secret(tenant, &id).await?);
            None
        }
        S::RotateSecret => {
            let c = auth0.rotate_client_secret(&id).await?;
            o.credential.live = Some(match c.client_secret {
                Some(s) => s,
                None => live_secret(tenant, &id).await?,
            });
            None
        }
        S::SetSecret(secret) => {
            let update = ClientUpdate {
                client_secret: Some(secret.clone()),
                ..Default::default()
            };
            let patched = auth0.update_client(&id, &update).await?;
            tenant.inventory.upsert_client(&patched);
            o.replace(patched);
            o.credential.live = Some(secret);
            None
        }
        S::ListCredentials => {
            o.credential.credentials = Some(auth0.list_client_credentials(&id).await?);
            tenant.inventory.mark_credentials_checked(&id);
            None
        }
        S::Register(body) => {
            let c = auth0.create_client_credential(&id, &body).await?;
            o.credential.credentials.get_or_insert_default().push(c);
            o.credential.keys_changed = true;
            None
        }
        S::ListKeys {
            ids,
            detach_secret,
            note,
        } => {
            let update = ClientUpdate {
                client_authentication_methods: Patch::Value(
                    ClientAuthenticationMethods::private_key_jwt(&ids),
                ),
                // Auth0 refuses a token endpoint method beside the key list.
                token_endpoint_auth_method: if detach_secret {
                    Patch::Null
                } else {
                    Patch::Absent
                },
                ..Default::default()
            };
            let patched = auth0.update_client(&id, &update).await?;
            tenant.inventory.upsert_client(&patched);
            o.replace(patched);
            o.credential.keys_changed = true;
            note
        }
        S::DeleteCredential(credential) => {
            match auth0.delete_client_credential(&id, &credential).await {
                Ok(()) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(e.into()),
            }
            if let Some(creds) = o.credential.credentials.as_mut() {
                creds.retain(|c| c.id != credential);
            }
            info!(credential = %credential, "deleted a key of the operator's that the application no longer lists");
            None
        }
        S::DeleteOldSecret(name) => {
            let api: Api<Secret> =
                Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
            delete_if_owned(obj, &api, &name).await?;
            o.credential.old_secret_deleted = true;
            None
        }
    };
    o.credential.notes.extend(note);
    Ok(())
}

/// The secret Auth0 has for the application (needs `read:client_keys`).
async fn live_secret(tenant: &Tenant, id: &str) -> Result<SecretValue, Error> {
    let c = tenant.auth0.get_client(id).await?;
    tenant.inventory.upsert_client(&c);
    c.client_secret.ok_or_else(|| {
        Error::Auth0(Auth0Error::InsufficientScope {
            endpoint: "GET /api/v2/clients/{id}",
            message: "Auth0 did not return the client secret; the operator's application needs the read:client_keys scope to (re)write the credentials Secret".into(),
        })
    })
}
