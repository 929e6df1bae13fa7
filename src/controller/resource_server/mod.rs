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

use super::{
    Context, Error, Outcome, diff,
    driver::is_definite_refusal,
    plan::{Claim, CreateGuard, Existing, Next, Plan, Take, may_take},
    status::{self, Drift},
    tenant::Tenant,
};
use crate::{
    auth0::{Auth0Error, ResourceServer, ResourceServerCreate, ResourceServerUpdate},
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
        previous: Option<Observed>,
    ) -> impl std::future::Future<Output = Result<Observed, Error>> + Send + 'a {
        observe(self, ctx, tenant, previous)
    }

    fn plan(&self, observed: &Observed) -> Plan<ResourceServerCreate, Step, Seen> {
        plan(self, observed)
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
                            ctx.wake_grants_of_api(self);
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
        notes(self, seen)
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

/// What the reconcile of an API observed, and what it did so far.
#[derive(Debug, Default)]
pub struct Observed {
    /// The tenant's key.
    tenant: String,
    /// The identifier of the tenant's Management API (a system API, never managed here).
    management_api: String,
    /// The status as the API server has it (read afresh while it records no id: the cache may
    /// be behind an intent an earlier pass wrote moments ago).
    status: Auth0ResourceServerStatus,
    /// An earlier pass recorded the intent to create this identifier: an API with it may be the
    /// one that pass created.
    intended: bool,
    /// The API the status names, by id (`None`: none named, or Auth0 no longer has it).
    by_id: Option<ResourceServer>,
    /// The API with `spec.identifier`, looked for when `by_id` is `None`.
    by_identifier: Option<ResourceServer>,
    /// What this reconcile did so far.
    did: Did,
}

/// The journal of one reconcile.
#[derive(Debug, Default)]
struct Did {
    created: bool,
    /// The create answered 409 (the identifier is taken).
    conflict: bool,
    /// The create was refused outright: the recorded intent stands for nothing.
    refused: bool,
    /// The fields a PATCH sent.
    patched: Vec<String>,
}

impl Observed {
    /// Records the API as Auth0 answered a PATCH.
    fn replace(&mut self, r: ResourceServer) {
        for slot in [&mut self.by_id, &mut self.by_identifier] {
            if slot.as_ref().is_some_and(|o| o.id == r.id) {
                *slot = Some(r.clone());
            }
        }
    }
}

/// A step of an API's own.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// `PATCH /api/v2/resource-servers/{id}` with the fields that differ.
    Patch {
        id: String,
        update: ResourceServerUpdate,
        fields: Vec<String>,
    },
}

/// Reads the status afresh (while it names no API), the API it names and, failing that, the
/// API with the spec's identifier: from the listing, else by one GET.
async fn observe(
    obj: &Auth0ResourceServer,
    ctx: &Context,
    tenant: &Tenant,
    previous: Option<Observed>,
) -> Result<Observed, Error> {
    let spec = &obj.spec;
    let management_api = format!("https://{}/api/v2/", tenant.domain);
    let mut o = Observed {
        tenant: tenant.key.clone(),
        management_api,
        status: obj.status.clone().unwrap_or_default(),
        ..Default::default()
    };
    if spec.identifier == o.management_api {
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
    Ok(o)
}

/// The next step for an API (pure).
fn plan(obj: &Auth0ResourceServer, o: &Observed) -> Plan<ResourceServerCreate, Step, Seen> {
    let spec = &obj.spec;
    let observe = spec.management_policy == ManagementPolicy::Observe;
    let gone = o.status.id.is_some() && o.by_id.is_none();
    let mut seen = Seen {
        intent: o.status.identifier.as_deref() == Some(spec.identifier.as_str()),
        refused: o.did.refused,
        gone,
        created: o.did.created,
        recreated: o.did.created && gone,
        updated_fields: o.did.patched.clone(),
        ..Default::default()
    };
    let refuse = |seen, e| Plan {
        next: Next::Refuse(e),
        seen,
    };
    if spec.identifier == o.management_api {
        return refuse(
            seen,
            Error::InvalidSpec(format!(
                "{} is the Auth0 Management API, a system API: it cannot be managed by an Auth0ResourceServer",
                spec.identifier
            )),
        );
    }
    let existing = |r: &ResourceServer| Existing {
        what: format!("an API with identifier {}", r.identifier),
        tenant: &o.tenant,
        system: r.is_system == Some(true),
        remedy: "set spec.adopt: true to manage it (the operator then updates it to this spec and, with deletionPolicy Delete, deletes it with this resource), or recreate this resource with another identifier",
    };
    let current = match (&o.by_id, &o.by_identifier) {
        (Some(r), _) => match may_take(&existing(r), Claim::Recorded) {
            Ok(_) => r,
            Err(e) => return refuse(seen, e),
        },
        (None, Some(r)) => {
            // Observe reads the API with this identifier, whoever made it.
            let claim = if observe || spec.adopt && !o.intended && !o.did.created {
                Claim::Asked
            } else if o.intended || o.did.created {
                Claim::Recorded
            } else {
                Claim::Unclaimed
            };
            match may_take(&existing(r), claim) {
                Ok(Take::Own) => seen.recovered = !o.did.created && !gone,
                Ok(Take::Adopt) => seen.adopted = !observe && !gone,
                Err(e) => {
                    // Someone else's: nothing of ours exists (an intent this pass wrote
                    // before a 409 included).
                    seen.refused = o.did.conflict;
                    return refuse(seen, e);
                }
            }
            r
        }
        (None, None) if observe => {
            return refuse(
                seen,
                Error::NotFound(format!(
                    "Auth0 has no API with identifier {}; managementPolicy is Observe, so the operator does not create it",
                    spec.identifier
                )),
            );
        }
        (None, None) => {
            seen.intent = true;
            return Plan {
                next: Next::Create(spec::resource_server_create(spec)),
                seen,
            };
        }
    };
    seen.id = Some(current.id.clone());
    seen.gone = false;
    seen.scopes = Some(current.scopes.as_ref().map_or(0, Vec::len));
    let update = spec::resource_server_update(spec, current);
    let fields = spec::resource_server_update_fields(&update);
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
    // One PATCH per reconcile: what it did not set is drift for the next one to report.
    let next = if update.is_empty() || observe || !o.did.patched.is_empty() {
        Next::Done
    } else {
        Next::Do(Step::Patch {
            id: current.id.clone(),
            update,
            fields,
        })
    };
    Plan { next, seen }
}

/// The Normal events of a reconcile.
fn notes(obj: &Auth0ResourceServer, seen: &Seen) -> Outcome {
    let id = seen.id.as_deref().unwrap_or_default();
    let ident = &obj.spec.identifier;
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
            format!(
                "Found API {id} for {ident}, created by an earlier attempt whose answer was lost"
            ),
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
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::Kind;
    use serde_json::json;

    const ID: &str = "https://orders/";
    const MGMT: &str = "https://t.auth0.test/api/v2/";

    fn resource(spec: serde_json::Value, status: serde_json::Value) -> Auth0ResourceServer {
        let mut spec = spec;
        spec["identifier"] = json!(ID);
        serde_json::from_value(json!({
            "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0ResourceServer",
            "metadata": {"name": "orders", "namespace": "team-a", "generation": 2},
            "spec": spec, "status": status
        }))
        .unwrap()
    }

    fn api(v: serde_json::Value) -> ResourceServer {
        let mut base = json!({"id": "rs1", "identifier": ID, "name": "Orders"});
        base.as_object_mut()
            .unwrap()
            .extend(v.as_object().unwrap().clone());
        serde_json::from_value(base).unwrap()
    }

    fn observed(obj: &Auth0ResourceServer) -> Observed {
        let status = obj.status.clone().unwrap_or_default();
        Observed {
            tenant: "team-a/t".into(),
            management_api: MGMT.into(),
            intended: status.identifier.as_deref() == Some(ID),
            status,
            ..Default::default()
        }
    }

    /// What one plan decided, in a form a table can state.
    fn outcome(p: &Plan<ResourceServerCreate, Step, Seen>) -> String {
        match &p.next {
            Next::Done => "Done".into(),
            Next::Refuse(e) => format!("Refuse({})", e.reason()),
            Next::Create(body) => format!("Create({})", body.identifier),
            Next::Do(Step::Patch { id, fields, .. }) => {
                format!("Patch({id}: {})", fields.join(","))
            }
        }
    }

    #[test]
    fn every_branch_of_the_plan() {
        type Setup = fn(&mut Observed);
        let none: Setup = |_| {};
        let cases: Vec<(&str, serde_json::Value, serde_json::Value, Setup, &str)> = vec![
            (
                "nothing exists: create (the driver records the intent first)",
                json!({"name": "Orders"}),
                json!({}),
                none,
                "Create(https://orders/)",
            ),
            (
                "Observe and nothing exists: NotFound, nothing created",
                json!({"managementPolicy": "Observe"}),
                json!({}),
                none,
                "Refuse(NotFound)",
            ),
            (
                "someone else's API with this identifier: AlreadyExists",
                json!({"name": "Orders"}),
                json!({}),
                |o| o.by_identifier = Some(api(json!({}))),
                "Refuse(AlreadyExists)",
            ),
            (
                "someone else's, spec.adopt: adopted and patched to the spec",
                json!({"name": "Orders v2", "adopt": true}),
                json!({}),
                |o| o.by_identifier = Some(api(json!({}))),
                "Patch(rs1: name)",
            ),
            (
                "an earlier pass recorded the intent (its answer was lost): taken back",
                json!({"name": "Orders"}),
                json!({"identifier": ID}),
                |o| o.by_identifier = Some(api(json!({}))),
                "Done",
            ),
            (
                "a system API is never taken, even with adopt",
                json!({"adopt": true}),
                json!({}),
                |o| o.by_identifier = Some(api(json!({"is_system": true}))),
                "Refuse(InvalidSpec)",
            ),
            (
                "the Management API is refused before anything",
                json!({}),
                json!({}),
                |o| o.management_api = ID.into(),
                "Refuse(InvalidSpec)",
            ),
            (
                "the API the status names matches: done",
                json!({"name": "Orders"}),
                json!({"id": "rs1", "identifier": ID}),
                |o| o.by_id = Some(api(json!({}))),
                "Done",
            ),
            (
                "the API the status names differs: one patch of the differing fields",
                json!({"name": "Orders", "tokenLifetime": 600}),
                json!({"id": "rs1", "identifier": ID}),
                |o| o.by_id = Some(api(json!({"token_lifetime": 86400}))),
                "Patch(rs1: token_lifetime)",
            ),
            (
                "after the patch: done, even if Auth0 did not take a field (one patch per pass)",
                json!({"name": "Orders", "tokenLifetime": 600}),
                json!({"id": "rs1", "identifier": ID}),
                |o| {
                    o.by_id = Some(api(json!({"token_lifetime": 86400})));
                    o.did.patched = vec!["token_lifetime".into()];
                },
                "Done",
            ),
            (
                "Observe: differences are reported, never patched",
                json!({"name": "Orders v2", "managementPolicy": "Observe"}),
                json!({}),
                |o| o.by_identifier = Some(api(json!({}))),
                "Done",
            ),
            (
                "deleted in Auth0: created again",
                json!({"name": "Orders"}),
                json!({"id": "rs1", "identifier": ID}),
                none,
                "Create(https://orders/)",
            ),
            (
                "a 409 on a create without an earlier intent: someone else's",
                json!({"name": "Orders"}),
                json!({"identifier": ID}),
                |o| {
                    o.intended = false;
                    o.did.conflict = true;
                    o.by_identifier = Some(api(json!({})));
                },
                "Refuse(AlreadyExists)",
            ),
        ];
        for (what, spec, status, setup, want) in cases {
            let obj = resource(spec, status);
            let mut o = observed(&obj);
            setup(&mut o);
            let p = plan(&obj, &o);
            assert_eq!(outcome(&p), want, "{what}");
        }
    }

    #[test]
    fn what_the_status_and_events_say() {
        // Created: the id, the intent, the event.
        let obj = resource(json!({"name": "Orders"}), json!({"identifier": ID}));
        let mut o = observed(&obj);
        o.did.created = true;
        o.by_identifier = Some(api(json!({"scopes": [{"value": "read"}]})));
        let mut p = plan(&obj, &o);
        assert_eq!(outcome(&p), "Done");
        assert_eq!(p.seen.id.as_deref(), Some("rs1"));
        assert!(p.seen.intent && p.seen.created && !p.seen.recovered && !p.seen.adopted);
        assert_eq!(p.seen.scopes, Some(1));
        let notes = obj.notes(&mut p.seen).notes;
        assert_eq!(
            notes,
            vec![(EventReason::Created, format!("Created API rs1 for {ID}"))]
        );

        // Recreated after it was deleted in Auth0.
        let obj = resource(
            json!({"name": "Orders"}),
            json!({"id": "old", "identifier": ID}),
        );
        let mut o = observed(&obj);
        o.did.created = true;
        o.by_identifier = Some(api(json!({})));
        let p = plan(&obj, &o);
        assert!(p.seen.recreated && !p.seen.gone);

        // Recovered (an earlier attempt's answer was lost).
        let obj = resource(json!({"name": "Orders"}), json!({"identifier": ID}));
        let mut o = observed(&obj);
        o.by_identifier = Some(api(json!({})));
        let mut p = plan(&obj, &o);
        assert!(p.seen.recovered && !p.seen.adopted);
        assert_eq!(obj.notes(&mut p.seen).notes[0].0, EventReason::Created);

        // Adopted, then patched: both events, and the patched fields are the drift.
        let obj = resource(json!({"name": "Orders v2", "adopt": true}), json!({}));
        let mut o = observed(&obj);
        o.by_identifier = Some(api(json!({"name": "Orders v2"})));
        o.did.patched = vec!["name".into()];
        let mut p = plan(&obj, &o);
        assert!(p.seen.adopted);
        assert_eq!(p.seen.drift.as_ref().unwrap().fields, vec!["name"]);
        let reasons: Vec<_> = obj
            .notes(&mut p.seen)
            .notes
            .into_iter()
            .map(|n| n.0)
            .collect();
        assert_eq!(reasons, vec![EventReason::Adopted, EventReason::Updated]);

        // A refused create (4xx): the intent it wrote stands for nothing.
        let obj = resource(json!({"name": "Orders"}), json!({"identifier": ID}));
        let mut o = observed(&obj);
        o.did.refused = true;
        let p = plan(&obj, &o);
        assert!(p.seen.refused);
        let status = obj.next_status(
            p.seen,
            status::ready(false, "InvalidSpec", "x", Some(2), &[]),
            Some(&Error::InvalidSpec("x".into())),
            Some("team-a/t"),
        );
        assert_eq!(status.id, None);

        // Deleted in Auth0 under Observe: the status stops naming it.
        let obj = resource(
            json!({"managementPolicy": "Observe"}),
            json!({"id": "rs1", "identifier": ID}),
        );
        let p = plan(&obj, &observed(&obj));
        assert!(p.seen.gone);
    }

    #[test]
    fn the_intent_is_recorded_once_before_a_create() {
        let obj = resource(json!({"name": "Orders"}), json!({"tenant": "team-a/t"}));
        let mut o = observed(&obj);
        let intent = obj.intent(&mut o, "team-a/t").expect("an intent to record");
        assert_eq!(intent.identifier.as_deref(), Some(ID));
        assert_eq!(intent.id, None);
        assert_eq!(intent.conditions[0].reason, "Reconciling");
        // Recorded now: not again.
        assert!(obj.intent(&mut o, "team-a/t").is_none());
    }
}
