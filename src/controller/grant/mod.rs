//! `Auth0ClientGrant`: what the kind supplies to the [driver](super::driver).

pub mod spec;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{ResourceExt, runtime::reflector::ObjectRef};

use super::{
    Context, Error, Outcome, diff,
    plan::{Claim, CreateGuard, Existing, Next, Plan, may_take},
    status::Drift,
    tenant::Tenant,
};
use crate::{
    auth0::{ClientGrant, ClientGrantCreate, ClientGrantUpdate, ListGrantsParams},
    crd::{
        Auth0Client, Auth0ClientGrant, Auth0ClientGrantStatus, Auth0ResourceServer, DeletionPolicy,
        EventReason, ManagementPolicy, TenantRef,
    },
};

/// What a sync learned and did.
#[derive(Debug, Default)]
pub struct Seen {
    grant_id: Option<String>,
    client_id: Option<String>,
    /// The audience (`spec.audience`, or the identifier of the referenced API).
    audience: Option<String>,
    /// The referenced client or API is gone and so is the grant this resource had: status must stop
    /// naming them.
    grant_gone: bool,
    created: bool,
    adopted: bool,
    updated_fields: Vec<String>,
    /// What the comparison with Auth0 found.
    drift: Option<super::status::Drift>,
}

impl super::Kind for Auth0ClientGrant {
    const KIND: &'static str = "Auth0ClientGrant";
    const NOUN: &'static str = "client grant";
    type Status = Auth0ClientGrantStatus;
    type Seen = Seen;

    fn current_status(&self) -> Option<&Auth0ClientGrantStatus> {
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
        crate::controller::grant::spec::validate_grant_spec(&self.spec, self.status.as_ref())
            .map_err(Error::InvalidSpec)
    }

    fn tenant_ref(&self) -> Option<&TenantRef> {
        self.spec.tenant_ref.as_ref()
    }

    fn recorded_tenant(&self) -> Option<&str> {
        self.status.as_ref()?.tenant.as_deref()
    }

    fn has_auth0_object(&self) -> bool {
        self.status.as_ref().is_some_and(|s| s.grant_id.is_some())
    }

    type Observed = Observed;
    type Create = ClientGrantCreate;
    type Step = Step;
    const GUARD: CreateGuard = CreateGuard::UniqueKey;

    fn observe<'a>(
        &'a self,
        ctx: &'a Context,
        tenant: &'a Tenant,
        previous: Option<Observed>,
    ) -> impl std::future::Future<Output = Result<Observed, Error>> + Send + 'a {
        observe(self, ctx, tenant, previous)
    }

    fn plan(&self, observed: &Observed) -> Plan<ClientGrantCreate, Step, Seen> {
        plan(self, observed)
    }

    async fn create(
        &self,
        body: ClientGrantCreate,
        _ctx: &Context,
        tenant: &Tenant,
        o: &mut Observed,
    ) -> Result<(), Error> {
        let audience = body.audience.clone();
        match tenant.auth0.create_client_grant(&body).await {
            Ok(g) => {
                tenant.inventory.upsert_grant(&g);
                o.did.created = true;
                o.by_key = Some(g);
                Ok(())
            }
            Err(e @ crate::auth0::Auth0Error::Api { status: 400, .. }) => {
                Err(explain_refused_scopes(self, tenant, &audience, e).await)
            }
            Err(e) if e.is_not_found() => {
                // The grant this resource had (if any) is gone too.
                o.did.refused_missing = true;
                Err(Error::NotFound(format!(
                    "Auth0 refused the grant: {e} (the API {audience} or the client {} does not exist in tenant {}; was it deleted?)",
                    body.client_id, tenant.key
                )))
            }
            Err(e) => Err(e.into()),
        }
    }

    async fn execute(
        &self,
        step: Step,
        _ctx: &Context,
        tenant: &Tenant,
        o: &mut Observed,
    ) -> Result<(), Error> {
        match step {
            Step::Patch {
                id,
                update,
                fields,
                audience,
            } => match tenant.auth0.update_client_grant(&id, &update).await {
                Ok(g) => {
                    tenant.inventory.upsert_grant(&g);
                    o.did.patched = fields;
                    o.replace(g);
                    Ok(())
                }
                Err(e @ crate::auth0::Auth0Error::Api { status: 400, .. }) => {
                    Err(explain_refused_scopes(self, tenant, &audience, e).await)
                }
                Err(e) if e.is_not_found() => {
                    // Deleted behind our back (e.g. with its client): create it on the next pass.
                    tenant.inventory.remove_grant(&id);
                    Err(e.into())
                }
                Err(e) => Err(e.into()),
            },
        }
    }

    fn notes(&self, seen: &mut Seen) -> Outcome {
        let id = seen.grant_id.as_deref().unwrap_or_default();
        if seen.created {
            Outcome::note(EventReason::Created, format!("Created client grant {id}"))
        } else if seen.adopted {
            Outcome::note(
                EventReason::Adopted,
                format!("Adopted existing client grant {id}"),
            )
        } else if !seen.updated_fields.is_empty() {
            Outcome::note(
                EventReason::Updated,
                format!(
                    "Updated client grant {id}: {}",
                    seen.updated_fields.join(", ")
                ),
            )
        } else {
            Outcome::default()
        }
    }

    fn synced_message(&self, seen: &Seen) -> String {
        format!(
            "client grant {} gives {} access to {}",
            seen.grant_id.as_deref().unwrap_or_default(),
            seen.client_id.as_deref().unwrap_or_default(),
            seen.audience.as_deref().unwrap_or_default()
        )
    }

    fn next_status(
        &self,
        seen: Seen,
        ready: Condition,
        _error: Option<&Error>,
        tenant: Option<&str>,
    ) -> Auth0ClientGrantStatus {
        let previous = self.status.clone().unwrap_or_default();
        let drift = super::status::drift_status(
            self.spec.management_policy,
            seen.drift.as_ref(),
            self.metadata.generation,
            &previous.conditions,
            previous.drift.clone(),
            previous.last_drift_time.clone(),
        );
        if seen.grant_gone {
            return Auth0ClientGrantStatus {
                observed_generation: self.metadata.generation,
                conditions: vec![ready, drift.condition],
                grant_id: None,
                client_id: None,
                ..previous
            };
        }
        // Once a grant exists for this spec, what it was made for is recorded (immutability).
        let made = seen.grant_id.is_some();
        Auth0ClientGrantStatus {
            observed_generation: self.metadata.generation,
            conditions: vec![ready, drift.condition],
            drift: drift.drift,
            last_drift_time: drift.last_drift_time,
            grant_id: seen.grant_id.or(previous.grant_id),
            client_id: if made {
                seen.client_id
            } else {
                previous.client_id
            },
            audience: if made {
                seen.audience
            } else {
                previous.audience
            },
            client_ref: if made {
                self.spec.client_ref.clone()
            } else {
                previous.client_ref
            },
            resource_server_ref: if made {
                self.spec.resource_server_ref.clone()
            } else {
                previous.resource_server_ref
            },
            tenant: previous.tenant.or_else(|| tenant.map(String::from)),
        }
    }

    async fn delete_in_auth0(
        &self,
        _ctx: &Context,
        tenant: &Tenant,
    ) -> Result<Option<String>, Error> {
        let status = self.status.clone().unwrap_or_default();
        // The audience the grant was made for, even if the spec was changed since (refused).
        let audience = status
            .audience
            .clone()
            .or_else(|| self.spec.audience.clone());
        let id = match (status.grant_id, status.client_id, audience) {
            (Some(id), _, _) => Some(id),
            (None, Some(client_id), Some(audience)) => {
                tenant.inventory.ensure_grants(&tenant.auth0).await?;
                tenant
                    .inventory
                    .find_grant(&client_id, &audience)
                    .map(|g| g.id)
            }
            _ => None,
        };
        if let Some(id) = &id {
            tenant.auth0.delete_client_grant(id).await?;
            tenant.inventory.remove_grant(id);
        }
        Ok(id)
    }
}

/// The Auth0 client id the grant is for: `spec.clientId`, or the id of the `Auth0Client` that
/// `clientRef` names once it is ready.
async fn resolve_client_id(
    obj: &Auth0ClientGrant,
    ctx: &Context,
    tenant: &str,
) -> Result<String, Error> {
    match (&obj.spec.client_id, &obj.spec.client_ref) {
        (Some(id), _) => Ok(id.clone()),
        (None, r) => {
            let name = r.as_ref().map(|r| r.name.as_str()).unwrap_or_default();
            referenced::<Auth0Client>(obj, ctx, tenant, name, Reference::CLIENT).await
        }
    }
}

/// The audience of the grant: `spec.audience`, or the identifier of the `Auth0ResourceServer`
/// that `resourceServerRef` names once it is ready.
async fn resolve_audience(
    obj: &Auth0ClientGrant,
    ctx: &Context,
    tenant: &str,
) -> Result<String, Error> {
    match &obj.spec.resource_server_ref {
        None => Ok(obj.spec.audience.clone().unwrap_or_default()),
        Some(r) => {
            referenced::<Auth0ResourceServer>(obj, ctx, tenant, &r.name, Reference::API).await
        }
    }
}

/// How a grant refers to another kind, for [`referenced`].
struct Reference<K> {
    /// The spec field, e.g. `clientRef`.
    field: &'static str,
    /// What the referenced object is, with its article, e.g. `a client`.
    noun: &'static str,
    /// What the grant uses of the object once it is ready.
    value: fn(&K) -> Option<String>,
    /// The error while the grant waits for it.
    wait: fn(String) -> Error,
}

impl Reference<Auth0Client> {
    const CLIENT: Self = Reference {
        field: "clientRef",
        noun: "a client",
        value: |c| c.status.as_ref()?.client_id.clone(),
        wait: Error::ClientNotReady,
    };
}

impl Reference<Auth0ResourceServer> {
    const API: Self = Reference {
        field: "resourceServerRef",
        noun: "an API",
        value: |a| {
            a.status
                .as_ref()?
                .id
                .as_ref()
                .map(|_| a.spec.identifier.clone())
        },
        wait: Error::ResourceServerNotReady,
    };
}

/// What the grant uses of the `K` named `name` in its namespace, once that object is ready
/// (and not being deleted): it must live in the grant's tenant. The cache of `K` is consulted
/// first; when it does not show the object ready, the API server is asked, because this grant
/// may have been woken by the object's change before that cache saw it (separate watches).
async fn referenced<K: super::Kind>(
    grant: &Auth0ClientGrant,
    ctx: &Context,
    tenant: &str,
    name: &str,
    r: Reference<K>,
) -> Result<String, Error> {
    let ns = grant.namespace().unwrap_or_default();
    let kind = K::KIND;
    let same_tenant = |o: &K| -> Result<(), Error> {
        let theirs = super::tenant::tenant_key(&ns, o.tenant_ref());
        if theirs == tenant {
            Ok(())
        } else {
            Err(Error::InvalidSpec(format!(
                "{} names {kind} {name} of tenant {theirs}, but this grant uses tenant {tenant}: a grant must name {} of its own tenant",
                r.field, r.noun
            )))
        }
    };
    // Ready, not deleting: what the grant uses of it.
    let usable = |o: &K| -> Option<String> {
        let ready = o.meta().deletion_timestamp.is_none()
            && crate::crd::ready_condition(o.current_conditions())
                .is_some_and(|c| c.status == "True");
        if ready { (r.value)(o) } else { None }
    };
    let cached = ctx
        .store::<K>()
        .and_then(|s| s.get(&ObjectRef::new(name).within(&ns)));
    if let Some(o) = cached.as_deref() {
        same_tenant(o)?;
        if let Some(v) = usable(o) {
            return Ok(v);
        }
    }
    let api: kube::Api<K> = kube::Api::namespaced(ctx.kube.clone(), &ns);
    let Some(o) = api.get_opt(name).await? else {
        return Err((r.wait)(format!(
            "{kind} {name} does not exist in namespace {ns}"
        )));
    };
    same_tenant(&o)?;
    if o.meta().deletion_timestamp.is_some() {
        return Err((r.wait)(format!("{kind} {name} is being deleted")));
    }
    usable(&o).ok_or_else(|| (r.wait)(format!("{kind} {name} is not ready yet")))
}

/// Whether the grant this resource's status names is known to be gone from Auth0.
fn grant_is_gone(obj: &Auth0ClientGrant, tenant: &Tenant) -> bool {
    obj.status
        .as_ref()
        .and_then(|s| s.grant_id.as_deref())
        .is_some_and(|id| tenant.inventory.grants_listed() && tenant.inventory.grant(id).is_none())
}

/// Auth0 refuses a grant with scopes its API does not define with a 400 that names none of
/// them ("scope must be a subset of resource server scopes"): the API is read once more so the
/// condition can name them. (Auth0 is the judge, not the operator's listing of APIs: that may
/// predate scopes added in the dashboard.)
async fn explain_refused_scopes(
    obj: &Auth0ClientGrant,
    tenant: &Tenant,
    audience: &str,
    e: crate::auth0::Auth0Error,
) -> Error {
    let refused_scopes = matches!(&e, crate::auth0::Auth0Error::Api { status: 400, message, .. }
        if message.contains("subset of resource server scopes"));
    if !refused_scopes {
        return e.into();
    }
    match tenant.auth0.get_resource_server(audience).await {
        Ok(Some(api)) => {
            tenant.inventory.upsert_resource_server(&api);
            match unknown_scopes_error(obj, audience, &api) {
                Err(named) => named,
                Ok(()) => e.into(),
            }
        }
        _ => Error::UnknownScopes(format!(
            "the API {audience} does not define some of the scopes in spec.scopes ({e})"
        )),
    }
}

/// `UnknownScopes` naming the scopes of the spec `api` does not define, if any.
fn unknown_scopes_error(
    obj: &Auth0ClientGrant,
    audience: &str,
    api: &crate::auth0::ResourceServer,
) -> Result<(), Error> {
    let unknown = crate::controller::resource_server::spec::unknown_scopes(
        &obj.spec.scopes,
        api.scopes.as_deref().unwrap_or_default(),
    );
    if unknown.is_empty() {
        return Ok(());
    }
    let them = if unknown.len() == 1 { "it" } else { "them" };
    let fix = match &obj.spec.resource_server_ref {
        Some(r) => format!(
            "add {them} to spec.scopes of Auth0ResourceServer {}",
            r.name
        ),
        None => format!("add {them} to the API {audience} in Auth0"),
    };
    let scopes = if unknown.len() == 1 {
        "scope"
    } else {
        "scopes"
    };
    Err(Error::UnknownScopes(format!(
        "the API {audience} does not define the {scopes} {}: {fix}, or remove {them} from this grant's spec.scopes",
        unknown.join(", ")
    )))
}

/// A reference the grant could not resolve yet (or may never): the error it stands for.
#[derive(Debug)]
struct Unresolved(fn(String) -> Error, String);

impl Unresolved {
    fn of(e: Error) -> Result<Self, Error> {
        match e {
            Error::ClientNotReady(m) => Ok(Unresolved(Error::ClientNotReady, m)),
            Error::ResourceServerNotReady(m) => Ok(Unresolved(Error::ResourceServerNotReady, m)),
            Error::InvalidSpec(m) => Ok(Unresolved(Error::InvalidSpec, m)),
            other => Err(other),
        }
    }

    fn error(&self) -> Error {
        (self.0)(self.1.clone())
    }
}

/// What the reconcile of a grant observed, and what it did so far.
#[derive(Debug, Default)]
pub struct Observed {
    tenant: String,
    /// The client id (`spec.clientId`, or the id of the ready `Auth0Client` that `clientRef`
    /// names) and the audience (`spec.audience`, or the identifier of the ready API), or why
    /// not yet.
    refs: Option<Result<(String, String), Unresolved>>,
    /// The grant this resource's status names is known to be gone from Auth0 (the listing
    /// lacks it).
    status_grant_gone: bool,
    /// `spec.grantId`'s grant (`Some(None)`: Auth0 has none with that id).
    by_grant_id: Option<Option<ClientGrant>>,
    /// The grant for this client and audience: the one the status names, else the listing's,
    /// else (the listing may predate it) Auth0's answer for exactly this pair.
    by_key: Option<ClientGrant>,
    did: Did,
}

/// The journal of one reconcile.
#[derive(Debug, Default)]
struct Did {
    created: bool,
    /// The create was refused because the client or the API does not exist.
    refused_missing: bool,
    patched: Vec<String>,
}

impl Observed {
    fn replace(&mut self, g: ClientGrant) {
        if let Some(Some(slot)) = &mut self.by_grant_id
            && slot.id == g.id
        {
            *slot = g.clone();
        }
        if let Some(slot) = &mut self.by_key
            && slot.id == g.id
        {
            *slot = g;
        }
    }
}

/// A step of a grant's own.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// `PATCH /api/v2/client-grants/{id}` with the fields that differ.
    Patch {
        id: String,
        update: ClientGrantUpdate,
        fields: Vec<String>,
        /// For the message naming unknown scopes if Auth0 refuses them.
        audience: String,
    },
}

/// Resolves the client and the audience, then finds the grant: by `spec.grantId`, else by the
/// status's id or the pair (listing first, then Auth0 for exactly this pair).
async fn observe(
    obj: &Auth0ClientGrant,
    ctx: &Context,
    tenant: &Tenant,
    previous: Option<Observed>,
) -> Result<Observed, Error> {
    let second_look = previous.is_some();
    let mut o = Observed {
        tenant: tenant.key.clone(),
        did: previous.map(|p| p.did).unwrap_or_default(),
        ..Default::default()
    };
    let client_id = match resolve_client_id(obj, ctx, &tenant.key).await {
        Ok(id) => Ok(id),
        Err(e) => Err(Unresolved::of(e)?),
    };
    let refs = match client_id {
        Ok(c) => match resolve_audience(obj, ctx, &tenant.key).await {
            Ok(a) => Ok((c, a)),
            Err(e) => Err(Unresolved::of(e)?),
        },
        Err(u) => Err(u),
    };
    let Ok((client_id, audience)) = &refs else {
        o.status_grant_gone = grant_is_gone(obj, tenant);
        o.refs = Some(refs);
        return Ok(o);
    };
    let (client_id, audience) = (client_id.clone(), audience.clone());
    o.refs = Some(refs);
    tenant.inventory.ensure_grants(&tenant.auth0).await?;
    if let Some(id) = &obj.spec.grant_id {
        let g = match tenant.inventory.grant(id) {
            Some(g) => Some(g),
            None => match tenant.auth0.get_client_grant(id).await {
                Ok(g) => {
                    tenant.inventory.upsert_grant(&g);
                    Some(g)
                }
                Err(e) if e.is_not_found() => None,
                Err(e) => return Err(e.into()),
            },
        };
        o.by_grant_id = Some(g);
        return Ok(o);
    }
    let by_status = obj
        .status
        .as_ref()
        .and_then(|s| s.grant_id.as_deref())
        .and_then(|id| tenant.inventory.grant(id))
        .filter(|g| spec::grant_matches(g, &client_id, &audience));
    o.status_grant_gone = obj.status.as_ref().is_some_and(|s| s.grant_id.is_some())
        && by_status.is_none()
        && grant_is_gone(obj, tenant);
    let mut found = by_status.or_else(|| tenant.inventory.find_grant(&client_id, &audience));
    if found.is_none()
        && (second_look
            || !tenant
                .inventory
                .grants_listing_covers_new_client(&client_id))
    {
        // The listing may predate a grant made elsewhere: ask Auth0 for exactly this pair
        // before creating, to adopt instead of running into a 409. (Skipped for clients this
        // process created after the listing: they cannot have such a grant.)
        let params = ListGrantsParams {
            client_id: Some(client_id.clone()),
            audience: Some(audience.clone()),
        };
        found = tenant
            .auth0
            .list_client_grants(&params)
            .await?
            .into_iter()
            .find(|g| spec::grant_matches(g, &client_id, &audience));
        if let Some(g) = &found {
            tenant.inventory.upsert_grant(g);
        }
    }
    o.by_key = found;
    Ok(o)
}

/// The next step for a grant (pure).
fn plan(obj: &Auth0ClientGrant, o: &Observed) -> Plan<ClientGrantCreate, Step, Seen> {
    let spec = &obj.spec;
    let observe = spec.management_policy == ManagementPolicy::Observe;
    let recorded = obj.status.as_ref().and_then(|s| s.grant_id.as_deref());
    let mut seen = Seen {
        created: o.did.created,
        updated_fields: o.did.patched.clone(),
        ..Default::default()
    };
    let refuse = |seen, e| Plan {
        next: Next::Refuse(e),
        seen,
    };
    let (client_id, audience) = match &o.refs {
        Some(Ok(pair)) => pair.clone(),
        Some(Err(u)) => {
            // The grant went away with its client or API (Auth0 deletes their grants): the
            // status must not keep naming it.
            let e = u.error();
            seen.grant_gone = matches!(
                e,
                Error::ClientNotReady(_) | Error::ResourceServerNotReady(_)
            ) && o.status_grant_gone;
            return refuse(seen, e);
        }
        None => return refuse(seen, Error::InvalidSpec("nothing was observed".into())),
    };
    seen.client_id = Some(client_id.clone());
    seen.audience = Some(audience.clone());
    let existing = |g: &ClientGrant| Existing {
        what: format!("client grant {} of client {client_id} for {audience}", g.id),
        tenant: &o.tenant,
        system: false,
        remedy: "set spec.grantId to manage it",
    };
    let current = if let Some(by_id) = &o.by_grant_id {
        let id = spec.grant_id.as_deref().unwrap_or_default();
        let Some(g) = by_id else {
            return refuse(
                seen,
                Error::NotFound(format!(
                    "Auth0 has no client grant with id {id} (spec.grantId); the operator only adopts existing grants by id"
                )),
            );
        };
        if !spec::grant_matches(g, &client_id, &audience) {
            return refuse(
                seen,
                Error::InvalidSpec(format!(
                    "spec.grantId {id} is the grant of client {} for {}, but the spec names client {client_id} and audience {audience}",
                    g.client_id.as_deref().unwrap_or_default(),
                    g.audience
                )),
            );
        }
        if let Err(e) = may_take(&existing(g), Claim::Asked) {
            return refuse(seen, e);
        }
        seen.adopted = recorded != Some(g.id.as_str());
        g
    } else {
        match &o.by_key {
            Some(g) => {
                let claim = if recorded == Some(g.id.as_str()) || o.did.created {
                    Claim::Recorded
                } else {
                    Claim::SameKey
                };
                if let Err(e) = may_take(&existing(g), claim) {
                    return refuse(seen, e);
                }
                seen.adopted = !o.did.created && recorded != Some(g.id.as_str());
                g
            }
            None => {
                seen.grant_gone = recorded.is_some() && (observe || o.did.refused_missing);
                if observe {
                    return refuse(
                        seen,
                        Error::NotFound(format!(
                            "Auth0 has no grant of client {client_id} for {audience}; managementPolicy is Observe, so the operator does not create it"
                        )),
                    );
                }
                return Plan {
                    next: Next::Create(spec::grant_create(spec, &client_id, &audience)),
                    seen,
                };
            }
        }
    };
    seen.grant_id = Some(current.id.clone());
    let update = spec::grant_update(spec, current);
    let fields: Vec<String> = match serde_json::to_value(&update) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => vec![],
    };
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
    let next = if update.is_empty() || observe || !o.did.patched.is_empty() {
        Next::Done
    } else {
        Next::Do(Step::Patch {
            id: current.id.clone(),
            update,
            fields,
            audience,
        })
    };
    Plan { next, seen }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::Kind;
    use serde_json::json;

    const AUD: &str = "https://orders/";

    fn resource(spec: serde_json::Value, status: serde_json::Value) -> Auth0ClientGrant {
        let mut spec = spec;
        spec["clientId"] = json!("c1");
        spec["audience"] = json!(AUD);
        if spec.get("scopes").is_none() {
            spec["scopes"] = json!(["read"]);
        }
        serde_json::from_value(json!({
            "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0ClientGrant",
            "metadata": {"name": "g", "namespace": "team-a", "generation": 1},
            "spec": spec, "status": status
        }))
        .unwrap()
    }

    fn grant(id: &str, scope: &[&str]) -> ClientGrant {
        serde_json::from_value(
            json!({"id": id, "client_id": "c1", "audience": AUD, "scope": scope}),
        )
        .unwrap()
    }

    fn observed() -> Observed {
        Observed {
            tenant: "team-a/t".into(),
            refs: Some(Ok(("c1".into(), AUD.into()))),
            ..Default::default()
        }
    }

    fn outcome(p: &Plan<ClientGrantCreate, Step, Seen>) -> String {
        match &p.next {
            Next::Done => "Done".into(),
            Next::Refuse(e) => format!("Refuse({})", e.reason()),
            Next::Create(body) => format!("Create({} {})", body.client_id, body.audience),
            Next::Do(Step::Patch { id, fields, .. }) => {
                format!("Patch({id}: {})", fields.join(","))
            }
        }
    }

    #[test]
    fn every_branch_of_the_plan() {
        type Setup = fn(&mut Observed);
        let cases: Vec<(&str, serde_json::Value, serde_json::Value, Setup, &str)> = vec![
            (
                "no grant for the pair: create",
                json!({}),
                json!({}),
                |_| {},
                "Create(c1 https://orders/)",
            ),
            (
                "Observe and no grant: NotFound",
                json!({"managementPolicy": "Observe"}),
                json!({}),
                |_| {},
                "Refuse(NotFound)",
            ),
            (
                "the client is not ready: wait",
                json!({}),
                json!({}),
                |o| o.refs = Some(Err(Unresolved(Error::ClientNotReady, "not ready".into()))),
                "Refuse(ClientNotReady)",
            ),
            (
                "the API names another tenant: refused",
                json!({}),
                json!({}),
                |o| o.refs = Some(Err(Unresolved(Error::InvalidSpec, "other tenant".into()))),
                "Refuse(InvalidSpec)",
            ),
            (
                "a grant for the pair exists (made elsewhere): adopted, in sync",
                json!({}),
                json!({}),
                |o| o.by_key = Some(grant("g1", &["read"])),
                "Done",
            ),
            (
                "its scopes differ: one patch",
                json!({"scopes": ["read", "write"]}),
                json!({"grantId": "g1"}),
                |o| o.by_key = Some(grant("g1", &["read"])),
                "Patch(g1: scope)",
            ),
            (
                "scopes are a set: another order is no change",
                json!({"scopes": ["write", "read"]}),
                json!({"grantId": "g1"}),
                |o| o.by_key = Some(grant("g1", &["read", "write"])),
                "Done",
            ),
            (
                "after the patch: done",
                json!({"scopes": ["read", "write"]}),
                json!({"grantId": "g1"}),
                |o| {
                    o.by_key = Some(grant("g1", &["read"]));
                    o.did.patched = vec!["scope".into()];
                },
                "Done",
            ),
            (
                "spec.grantId that Auth0 does not have: NotFound",
                json!({"grantId": "g9"}),
                json!({}),
                |o| o.by_grant_id = Some(None),
                "Refuse(NotFound)",
            ),
            (
                "spec.grantId of another pair: refused",
                json!({"grantId": "g9"}),
                json!({}),
                |o| {
                    let mut g = grant("g9", &["read"]);
                    g.audience = "https://other/".into();
                    o.by_grant_id = Some(Some(g));
                },
                "Refuse(InvalidSpec)",
            ),
            (
                "spec.grantId of this pair: adopted",
                json!({"grantId": "g9"}),
                json!({}),
                |o| o.by_grant_id = Some(Some(grant("g9", &["read"]))),
                "Done",
            ),
            (
                "Observe: differences are reported, never patched",
                json!({"scopes": ["read", "write"], "managementPolicy": "Observe"}),
                json!({}),
                |o| o.by_key = Some(grant("g1", &["read"])),
                "Done",
            ),
        ];
        for (what, spec, status, setup, want) in cases {
            let obj = resource(spec, status);
            let mut o = observed();
            setup(&mut o);
            assert_eq!(outcome(&plan(&obj, &o)), want, "{what}");
        }
    }

    #[test]
    fn what_the_status_and_events_say() {
        // Adopted by key: the event, and the status records what the grant was made for.
        let obj = resource(json!({}), json!({}));
        let mut o = observed();
        o.by_key = Some(grant("g1", &["read"]));
        let mut p = plan(&obj, &o);
        assert!(p.seen.adopted && !p.seen.created);
        assert_eq!(p.seen.grant_id.as_deref(), Some("g1"));
        assert_eq!(
            obj.notes(&mut p.seen).notes,
            vec![(
                EventReason::Adopted,
                "Adopted existing client grant g1".to_string()
            )]
        );
        // Created by this reconcile: Created, not Adopted.
        let mut o = observed();
        o.did.created = true;
        o.by_key = Some(grant("g2", &["read"]));
        let mut p = plan(&obj, &o);
        assert_eq!(obj.notes(&mut p.seen).notes[0].0, EventReason::Created);
        // The grant the status names: neither.
        let obj = resource(json!({}), json!({"grantId": "g1"}));
        let mut o = observed();
        o.by_key = Some(grant("g1", &["read"]));
        let mut p = plan(&obj, &o);
        assert!(obj.notes(&mut p.seen).notes.is_empty());
        // The client went away and the grant with it: the status stops naming it.
        let mut o = observed();
        o.refs = Some(Err(Unresolved(Error::ClientNotReady, "gone".into())));
        o.status_grant_gone = true;
        assert!(plan(&obj, &o).seen.grant_gone);
        // Not ready but the grant is still listed: it is kept.
        o.status_grant_gone = false;
        assert!(!plan(&obj, &o).seen.grant_gone);
        // A create refused because the client or API is gone: the old grant is gone too.
        let mut o = observed();
        o.did.refused_missing = true;
        assert!(plan(&obj, &o).seen.grant_gone);
    }
}
