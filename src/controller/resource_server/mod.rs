//! `Auth0ResourceServer`: what the kind supplies to the [driver](super::driver).
//!
//! An API's identifier is unique in its tenant and an API carries no metadata to tag it with,
//! so creating one is made crash-safe through the status: the identifier is recorded there
//! *before* the `POST`. After a create whose answer was lost (the operator was killed, the
//! connection cut), the API Auth0 made is recognised by that record and adopted, instead of
//! being reported as someone else's. Without such a record an existing API is only taken over
//! with `spec.adopt: true`; otherwise the resource reports `AlreadyExists`.

pub mod plan;
pub mod spec;

use plan::{Did, Observed, Step};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, ResourceExt};

use super::{
    Context, Error, Outcome,
    context::Scopes,
    driver::is_definite_refusal,
    plan::{CreateGuard, Plan},
    status::{self},
    tenant::{Rights, Tenant},
};
use crate::{
    auth0::{Auth0Error, ResourceServer, ResourceServerCreate},
    crd::{
        Auth0ResourceServer, Auth0ResourceServerStatus, DeletionPolicy, HasConditions,
        ManagementPolicy, Reason, TenantRef,
    },
};

/// What a sync learned and did.
#[derive(Debug, Default)]
pub struct Seen {
    id: Option<String>,
    /// The identifier was recorded in status as the create intent (this or an earlier pass).
    intent: bool,
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

    type Observed = Observed;
    type Create = ResourceServerCreate;
    type Step = Step;
    const GUARD: CreateGuard = CreateGuard::StatusIntent;

    fn observe<'a>(
        &'a self,
        ctx: &'a Context,
        tenant: &'a Tenant,
        rights: &'a Rights,
        previous: Option<Observed>,
    ) -> impl std::future::Future<Output = Result<Observed, Error>> + Send + 'a {
        observe(self, ctx, tenant, rights, previous)
    }

    fn plan(&self, observed: &Observed) -> Plan<ResourceServerCreate, Step, Seen> {
        plan::plan(self, observed)
    }

    fn intent(&self, o: &mut Observed, tenant: &str) -> Option<Auth0ResourceServerStatus> {
        if o.status.identifier.as_deref() == Some(self.spec.identifier.as_str()) {
            return None;
        }
        o.status.identifier = Some(self.spec.identifier.clone());
        let ready = status::ready(
            false,
            Reason::Reconciling.as_str(),
            &format!("creating API {}", self.spec.identifier),
            self.metadata.generation,
            o.status.conditions(),
        );
        Some(Auth0ResourceServerStatus {
            observed_generation: o.status.observed_generation,
            conditions: vec![ready],
            id: None,
            identifier: Some(self.spec.identifier.clone()),
            tenant: o.status.tenant.clone().or_else(|| Some(tenant.to_string())),
            drift: None,
            last_drift_time: None,
        })
    }

    async fn create(
        &self,
        body: ResourceServerCreate,
        _ctx: &Context,
        tenant: &Tenant,
        o: &mut Observed,
    ) -> Result<(), Error> {
        match tenant.auth0.create_resource_server(&body).await {
            Ok(r) => {
                tenant.inventory.upsert_resource_server(&r);
                o.did.created = true;
                o.by_identifier = Some(r);
                Ok(())
            }
            Err(e) => {
                if e.is_conflict() {
                    o.did.conflict = true;
                } else if is_definite_refusal(&e) {
                    // Refused outright (never made): the intent stands for nothing and must not
                    // let a later pass take over an API someone else makes. An ambiguous
                    // failure keeps it.
                    o.did.refused = true;
                }
                Err(e.into())
            }
        }
    }

    async fn execute(
        &self,
        step: Step,
        ctx: &Context,
        tenant: &Tenant,
        o: &mut Observed,
    ) -> Result<(), Error> {
        match step {
            Step::Patch { id, update, fields } => {
                match tenant.auth0.update_resource_server(&id, &update).await {
                    Ok(r) => {
                        tenant.inventory.upsert_resource_server(&r);
                        if update.scopes.is_some() {
                            // Grants waiting for scopes this API now defines re-check.
                            ctx.scopes.wake_grants_of_api(self);
                        }
                        o.did.patched = fields;
                        o.replace(r);
                        Ok(())
                    }
                    Err(e) if e.is_not_found() => {
                        // Deleted behind our back: create it again on the next pass.
                        tenant
                            .inventory
                            .remove_resource_server(&id, &self.spec.identifier);
                        Err(e.into())
                    }
                    Err(e) => Err(e.into()),
                }
            }
        }
    }

    fn notes(&self, seen: &mut Seen) -> Outcome {
        plan::notes(self, seen)
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

    fn dependents_see_change(cached: Option<&Self>, now: Option<&Self>) -> bool {
        plan::seen_by_grants(cached) != plan::seen_by_grants(now)
    }

    fn wake_dependents(&self, scopes: &Scopes) {
        // Ready or not, another id, other scopes or consumers: the grants that use this API
        // re-check.
        scopes.wake_grants_of_api(self);
    }

    async fn delete_in_auth0(
        &self,
        ctx: &Context,
        tenant: &Tenant,
        rights: &Rights,
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
        // Only an API this resource owns, never a protected one (see plan::may_take).
        if let Some(api) = id
            .as_deref()
            .and_then(|id| tenant.inventory.resource_server(id))
        {
            let uid = self.uid().unwrap_or_default();
            let claimants =
                ctx.claimants::<Auth0ResourceServer>(&tenant.key, |r| plan::claim_on(&api, r));
            let theirs = matches!(
                crate::controller::plan::owner(
                    &uid,
                    &self.namespace().unwrap_or_default(),
                    "Auth0ResourceServer",
                    &claimants
                ),
                crate::controller::plan::Owner::Other { .. }
            );
            if theirs || api.is_system == Some(true) || rights.is_management_api(&api.identifier) {
                tracing::info!(api = %api.id, "not deleting an API this resource does not own");
                return Ok(None);
            }
        }
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
        ctx.scopes.wake_grants_of_api(self);
        Ok(())
    }
}

/// Reads the status afresh (while it names no API), the API it names and, failing that, the
/// API with the spec's identifier: from the listing, else by one GET.
async fn observe(
    obj: &Auth0ResourceServer,
    ctx: &Context,
    tenant: &Tenant,
    rights: &Rights,
    previous: Option<Observed>,
) -> Result<Observed, Error> {
    let spec = &obj.spec;
    let mut o = Observed {
        rights: rights.clone(),
        status: obj.status.clone().unwrap_or_default(),
        ..Default::default()
    };
    if rights.is_management_api(&spec.identifier) {
        // Refused by the plan before any call.
        return Ok(o);
    }
    if o.status.id.is_none() {
        let api: Api<Auth0ResourceServer> =
            Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
        if let Some(fresh) = api.get_opt(&obj.name_any()).await? {
            o.status = fresh.status.unwrap_or_default();
        }
    }
    let second_look = previous.is_some();
    (o.intended, o.did) = match previous {
        Some(p) => (p.intended, p.did),
        None => (
            o.status.identifier.as_deref() == Some(spec.identifier.as_str()),
            Did::default(),
        ),
    };
    tenant
        .inventory
        .ensure_resource_servers(&tenant.auth0)
        .await?;
    if let Some(id) = o.status.id.clone() {
        o.by_id = by_id(tenant, &id).await?;
        if o.by_id.is_none() {
            // Deleted in Auth0, and its grants with it: the grant listing must not keep
            // showing them to the grants that will be woken.
            tenant
                .inventory
                .remove_resource_server(&id, &spec.identifier);
        }
    }
    if o.by_id.is_none() {
        // The listing answers first, so a resource left in AlreadyExists costs no request of
        // its own; after a 409 Auth0 itself is asked.
        let listed = (!second_look)
            .then(|| {
                tenant
                    .inventory
                    .resource_server_by_identifier(&spec.identifier)
            })
            .flatten();
        o.by_identifier = match listed {
            Some(api) => Some(api),
            None => fetch(tenant, &spec.identifier).await?,
        };
    }
    if let Some(api) = o.by_id.as_ref().or(o.by_identifier.as_ref()).cloned() {
        o.claimants = ctx
            .owners_of(obj, &tenant.key, |r| plan::claim_on(&api, r))
            .await?;
    }
    Ok(o)
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
