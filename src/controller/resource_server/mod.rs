//! `Auth0ResourceServer`: what the kind supplies to the [driver](super::driver).
//!
//! An API's identifier is unique in its tenant and an API carries no metadata to tag it with,
//! so creating one is made crash-safe through the status: the identifier is recorded there
//! *before* the `POST`. After a create whose answer was lost (the operator was killed, the
//! connection cut), the API Auth0 made is recognised by that record and adopted, instead of
//! being reported as someone else's. Without such a record an existing API is only taken over
//! with `spec.adopt: true`; otherwise the resource reports `AlreadyExists`.

pub mod spec;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, ResourceExt};

use super::{Context, Error, Outcome, status, tenant::Tenant};
use crate::{
    auth0::{Auth0Error, ResourceServer},
    crd::{
        Auth0ResourceServer, Auth0ResourceServerStatus, DeletionPolicy, EventReason, HasConditions,
        ManagementPolicy, Reason, TenantRef,
    },
};

/// What a sync learned and did.
#[derive(Debug, Default)]
pub struct Seen {
    id: Option<String>,
    /// The identifier was recorded in status as the create intent (this or an earlier pass).
    intent: bool,
    /// This pass wrote the intent to the status itself.
    wrote_intent: bool,
    /// The create was refused outright: the recorded intent stands for nothing.
    refused: bool,
    /// The API an earlier pass created (its answer lost) was found and taken back.
    recovered: bool,
    /// The API this resource had is gone from Auth0 (status must stop naming it).
    gone: bool,
    created: bool,
    recreated: bool,
    adopted: bool,
    updated_fields: Vec<String>,
    scopes: Option<usize>,
    /// What the comparison with Auth0 found.
    drift: Option<super::status::Drift>,
}

impl super::Kind for Auth0ResourceServer {
    const KIND: &'static str = "Auth0ResourceServer";
    const NOUN: &'static str = "API";
    type Status = Auth0ResourceServerStatus;
    type Seen = Seen;

    fn current_status(&self) -> Option<&Auth0ResourceServerStatus> {
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

    fn tenant_ref(&self) -> Option<&TenantRef> {
        self.spec.tenant_ref.as_ref()
    }

    fn recorded_tenant(&self) -> Option<&str> {
        self.status.as_ref()?.tenant.as_deref()
    }

    fn has_auth0_object(&self) -> bool {
        // A recorded intent may stand for an API whose create answer was lost.
        self.status
            .as_ref()
            .is_some_and(|s| s.id.is_some() || s.identifier.is_some())
    }

    fn validate(&self) -> Result<(), Error> {
        crate::controller::resource_server::spec::validate_resource_server_spec(
            &self.spec,
            self.status.as_ref(),
        )
        .map_err(Error::InvalidSpec)
    }

    async fn sync(
        &self,
        ctx: &Context,
        tenant: &Tenant,
        seen: &mut Seen,
    ) -> Result<Outcome, Error> {
        sync(self, ctx, tenant, seen).await?;
        let id = seen.id.as_deref().unwrap_or_default();
        let ident = &self.spec.identifier;
        let mut out = Outcome::default();
        if seen.created {
            let what = if seen.recreated {
                "Recreated API (it was deleted in Auth0)"
            } else {
                "Created API"
            };
            out.notes
                .push((EventReason::Created, format!("{what} {id} for {ident}")));
        } else if seen.recovered {
            out.notes.push((
                EventReason::Created,
                format!("Found API {id} for {ident}, created by an earlier attempt whose answer was lost"),
            ));
        } else if seen.adopted {
            out.notes.push((
                EventReason::Adopted,
                format!("Adopted existing API {id} for {ident}"),
            ));
        }
        if !seen.updated_fields.is_empty() {
            out.notes.push((
                EventReason::Updated,
                format!("Updated API {id}: {}", seen.updated_fields.join(", ")),
            ));
        }
        Ok(out)
    }

    fn wrote_status(seen: &Seen) -> bool {
        seen.wrote_intent
    }

    fn synced_message(&self, seen: &Seen) -> String {
        let scopes = match seen.scopes {
            Some(1) => " with 1 scope".to_string(),
            Some(n) => format!(" with {n} scopes"),
            None => String::new(),
        };
        let state = match self.spec.management_policy {
            ManagementPolicy::Manage => "matches the spec",
            ManagementPolicy::Observe => "is observed (managementPolicy Observe)",
        };
        format!(
            "API {} ({}){scopes} {state}",
            seen.id.as_deref().unwrap_or_default(),
            self.spec.identifier
        )
    }

    fn next_status(
        &self,
        seen: Seen,
        ready: Condition,
        error: Option<&Error>,
        tenant: Option<&str>,
    ) -> Auth0ResourceServerStatus {
        let previous = self.status.clone().unwrap_or_default();
        let tenant = previous.tenant.clone().or_else(|| tenant.map(String::from));
        let drift = super::status::drift_status(
            self.spec.management_policy,
            seen.drift.as_ref(),
            self.metadata.generation,
            &previous.conditions,
            previous.drift.clone(),
            previous.last_drift_time.clone(),
        );
        if matches!(error, Some(Error::AlreadyExists(_))) {
            // The API with this identifier is someone else's: nothing is recorded as ours.
            return Auth0ResourceServerStatus {
                observed_generation: self.metadata.generation,
                conditions: vec![ready, drift.condition],
                id: None,
                identifier: None,
                tenant,
                drift: None,
                last_drift_time: None,
            };
        }
        let id = if seen.gone {
            seen.id
        } else {
            seen.id.or(previous.id)
        };
        let identifier = if matches!(error, Some(Error::InvalidSpec(_))) {
            // A refused spec records nothing: a changed identifier must stay refused.
            previous.identifier
        } else if id.is_some() || (seen.intent && !seen.refused) {
            Some(self.spec.identifier.clone())
        } else if seen.refused {
            None
        } else {
            previous.identifier
        };
        Auth0ResourceServerStatus {
            observed_generation: self.metadata.generation,
            conditions: vec![ready, drift.condition],
            id,
            identifier,
            tenant,
            drift: drift.drift,
            last_drift_time: drift.last_drift_time,
        }
    }

    fn status_changed(&self, ctx: &Context) {
        // Ready or not, another id: the grants that reference this API re-check.
        ctx.wake_grants_of_api(self);
    }

    async fn delete_in_auth0(
        &self,
        _ctx: &Context,
        tenant: &Tenant,
    ) -> Result<Option<String>, Error> {
        let status = self.status.clone().unwrap_or_default();
        let id = match (status.id, status.identifier) {
            (Some(id), _) => Some(id),
            // Only the intent was recorded: the create may have happened.
            (None, Some(identifier)) => tenant
                .auth0
                .get_resource_server(&identifier)
                .await?
                .map(|r| r.id),
            (None, None) => None,
        };
        if let Some(id) = &id {
            let identifier = self
                .status
                .as_ref()
                .and_then(|s| s.identifier.clone())
                .unwrap_or_else(|| self.spec.identifier.clone());
            match tenant.auth0.delete_resource_server(id).await {
                Ok(()) => {}
                Err(e @ Auth0Error::Api { status: 403, .. }) => {
                    return Err(Error::InvalidSpec(format!(
                        "Auth0 refused to delete API {id}: {e} (set deletionPolicy: Orphan to delete this resource without deleting the API)"
                    )));
                }
                Err(e) => return Err(e.into()),
            }
            tenant.inventory.remove_resource_server(id, &identifier);
        }
        Ok(id)
    }

    async fn release(&self, ctx: &Context) -> Result<(), Error> {
        ctx.wake_grants_of_api(self);
        Ok(())
    }
}

/// The identifier of the tenant's Management API (a system API, never managed here).
fn management_api(tenant: &Tenant) -> String {
    format!("https://{}/api/v2/", tenant.domain)
}

fn refuse_system(api: &ResourceServer) -> Result<(), Error> {
    if api.is_system == Some(true) {
        return Err(Error::InvalidSpec(format!(
            "{} is a system API of Auth0 (such as the Management API): it cannot be managed by an Auth0ResourceServer",
            api.identifier
        )));
    }
    Ok(())
}

/// The API this resource has in Auth0, looked up by the id its status recorded: from the
/// listing, else (a listing may predate it) by one GET. `None` when Auth0 no longer has it.
async fn by_id(tenant: &Tenant, id: &str) -> Result<Option<ResourceServer>, Error> {
    match tenant.inventory.resource_server(id) {
        Some(r) => Ok(Some(r)),
        None => fetch(tenant, id).await,
    }
}

/// The API with this id or identifier, by one `GET /resource-servers/{id or identifier}`
/// (never by listing); recorded in the listing when found.
async fn fetch(tenant: &Tenant, id_or_identifier: &str) -> Result<Option<ResourceServer>, Error> {
    let found = tenant.auth0.get_resource_server(id_or_identifier).await?;
    if let Some(r) = &found {
        tenant.inventory.upsert_resource_server(r);
    }
    Ok(found)
}

fn already_exists(obj: &Auth0ResourceServer, tenant: &Tenant) -> Error {
    Error::AlreadyExists(format!(
        "an API with identifier {} already exists in tenant {} and was not created by this resource; set spec.adopt: true to manage it (the operator then updates it to this spec and, with deletionPolicy Delete, deletes it with this resource), or recreate this resource with another identifier",
        obj.spec.identifier, tenant.key
    ))
}

/// Records the create intent (the identifier) in status before the `POST`; `current` is the
/// status as the API server has it. Returns whether it wrote.
async fn record_intent(
    obj: &Auth0ResourceServer,
    current: &Auth0ResourceServerStatus,
    ctx: &Context,
    tenant: &Tenant,
) -> Result<bool, Error> {
    if current.identifier.as_deref() == Some(obj.spec.identifier.as_str()) {
        return Ok(false);
    }
    let ready = status::ready(
        false,
        Reason::Reconciling.as_str(),
        &format!("creating API {}", obj.spec.identifier),
        obj.metadata.generation,
        current.conditions(),
    );
    let next = Auth0ResourceServerStatus {
        observed_generation: current.observed_generation,
        conditions: vec![ready],
        id: None,
        identifier: Some(obj.spec.identifier.clone()),
        tenant: current.tenant.clone().or_else(|| Some(tenant.key.clone())),
        drift: None,
        last_drift_time: None,
    };
    let api: Api<Auth0ResourceServer> =
        Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    status::apply_status(&api, obj, None, &next).await?;
    Ok(true)
}

/// Finds, adopts or creates the API, then patches it to the spec. What it learns goes into
/// `out` as it goes.
async fn sync(
    obj: &Auth0ResourceServer,
    ctx: &Context,
    tenant: &Tenant,
    out: &mut Seen,
) -> Result<(), Error> {
    let spec = &obj.spec;
    if spec.identifier == management_api(tenant) {
        return Err(Error::InvalidSpec(format!(
            "{} is the Auth0 Management API, a system API: it cannot be managed by an Auth0ResourceServer",
            spec.identifier
        )));
    }
    let mut status = obj.status.clone().unwrap_or_default();
    if status.id.is_none() {
        // The cache may be behind the status an earlier pass wrote moments ago (an intent, an
        // id, or the AlreadyExists that cleared an intent): whether an existing API is ours is
        // decided on the status as the API server has it, never on a stale copy.
        let api: Api<Auth0ResourceServer> =
            Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
        if let Some(fresh) = api.get_opt(&obj.name_any()).await? {
            status = fresh.status.unwrap_or_default();
        }
    }
    // An earlier pass recorded the intent to create this identifier: an API with it may be the
    // one that pass created.
    let intended = status.identifier.as_deref() == Some(spec.identifier.as_str());
    out.intent = intended;
    tenant
        .inventory
        .ensure_resource_servers(&tenant.auth0)
        .await?;

    let mut observed = match &status.id {
        Some(id) => {
            let found = by_id(tenant, id).await?;
            if found.is_none() {
                // Deleted in Auth0, and its grants with it: the grant listing must not keep
                // showing them to the grants that will be woken.
                out.gone = true;
                tenant
                    .inventory
                    .remove_resource_server(id, &spec.identifier);
            }
            found
        }
        None => None,
    };
    let observe = spec.management_policy == ManagementPolicy::Observe;
    if observe && observed.is_none() {
        // Observe: read the API with this identifier, whoever made it; never create it.
        observed = match tenant
            .inventory
            .resource_server_by_identifier(&spec.identifier)
        {
            Some(api) => Some(api),
            None => fetch(tenant, &spec.identifier).await?,
        };
        if observed.is_none() {
            return Err(Error::NotFound(format!(
                "Auth0 has no API with identifier {}; managementPolicy is Observe, so the operator does not create it",
                spec.identifier
            )));
        }
    }
    if observed.is_none() {
        // Before any create: is the identifier taken? Ours only if an earlier pass recorded the
        // intent (or the user asked to adopt). Otherwise it is reported without writing an
        // intent or sending a POST; the listing answers first, so a resource left in
        // AlreadyExists costs no request of its own.
        let listed = tenant
            .inventory
            .resource_server_by_identifier(&spec.identifier);
        if let Some(api) = &listed
            && !(intended || spec.adopt)
        {
            refuse_system(api)?;
            return Err(already_exists(obj, tenant));
        }
        observed = match listed {
            Some(api) => Some(api),
            None => fetch(tenant, &spec.identifier).await?,
        };
        if let Some(api) = &observed {
            refuse_system(api)?;
            if !(intended || spec.adopt) {
                return Err(already_exists(obj, tenant));
            }
            out.recovered = intended && !out.gone;
            out.adopted = !intended && !out.gone;
        }
    }
    let observed = match observed {
        Some(r) => r,
        None => {
            out.wrote_intent = record_intent(obj, &status, ctx, tenant).await?;
            out.intent = true;
            match tenant
                .auth0
                .create_resource_server(
                    &crate::controller::resource_server::spec::resource_server_create(spec),
                )
                .await
            {
                Ok(r) => {
                    tenant.inventory.upsert_resource_server(&r);
                    out.created = true;
                    out.recreated = out.gone;
                    r
                }
                Err(e) if e.is_conflict() => {
                    // Someone else's, made after our look-up: nothing of ours exists.
                    out.refused = !(intended || spec.adopt);
                    if out.refused {
                        return Err(already_exists(obj, tenant));
                    }
                    // Made between our look-up and our create (by an earlier pass of ours, or,
                    // with adopt, by anyone): take it.
                    let r = fetch(tenant, &spec.identifier)
                        .await?
                        .ok_or(Error::Auth0(e))?;
                    out.adopted = true;
                    r
                }
                Err(e) => {
                    // Refused outright (4xx, never sent): the intent stands for nothing and
                    // must not let a later pass take over an API someone else makes. An
                    // ambiguous failure keeps it.
                    out.refused = super::client::is_definite_refusal(&e);
                    return Err(e.into());
                }
            }
        }
    };
    out.id = Some(observed.id.clone());
    out.gone = false;
    refuse_system(&observed)?;

    let update = crate::controller::resource_server::spec::resource_server_update(spec, &observed);
    out.drift = Some(super::status::Drift::found(
        spec.management_policy,
        crate::controller::diff::spec_field_names(
            &crate::controller::resource_server::spec::resource_server_update_fields(&update),
        ),
        obj.metadata.generation,
        obj.status.as_ref().map_or(&[][..], |s| &s.conditions),
    ));
    let current = if update.is_empty() || observe {
        observed
    } else {
        out.updated_fields =
            crate::controller::resource_server::spec::resource_server_update_fields(&update);
        match tenant
            .auth0
            .update_resource_server(&observed.id, &update)
            .await
        {
            Ok(r) => {
                tenant.inventory.upsert_resource_server(&r);
                if update.scopes.is_some() {
                    // Grants waiting for scopes this API now defines re-check.
                    ctx.wake_grants_of_api(obj);
                }
                r
            }
            Err(e) if e.is_not_found() => {
                // Deleted behind our back: create it again on the next pass.
                tenant
                    .inventory
                    .remove_resource_server(&observed.id, &spec.identifier);
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        }
    };
    out.scopes = Some(current.scopes.as_ref().map_or(0, Vec::len));
    Ok(())
}
