//! `Auth0ClientGrant`: what the kind supplies to the [driver](super::driver).

pub mod plan;
pub mod spec;

use plan::{Observed, Step, Unresolved};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{ResourceExt, runtime::reflector::ObjectRef};

use tracing::info;

use super::{
    Context, Error, Outcome,
    plan::{CreateGuard, Plan},
    tenant::{Rights, Tenant},
};
use crate::{
    auth0::{ClientGrantCreate, ListGrantsParams},
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

    fn awaits(&self, ctx: &Context) -> Option<String> {
        let ns = self.namespace().unwrap_or_default();
        let client = self.spec.client_ref.as_ref().and_then(|r| {
            ctx.store::<Auth0Client>()?
                .get(&ObjectRef::new(&r.name).within(&ns))
        });
        let api = self.spec.resource_server_ref.as_ref().and_then(|r| {
            ctx.store::<Auth0ResourceServer>()?
                .get(&ObjectRef::new(&r.name).within(&ns))
        });
        plan::awaits(self, client.as_deref(), api.as_deref())
    }

    type Observed = Observed;
    type Create = ClientGrantCreate;
    type Step = Step;
    const GUARD: CreateGuard = CreateGuard::UniqueKey;

    fn observe<'a>(
        &'a self,
        ctx: &'a Context,
        tenant: &'a Tenant,
        rights: &'a Rights,
        previous: Option<Observed>,
    ) -> impl std::future::Future<Output = Result<Observed, Error>> + Send + 'a {
        observe(self, ctx, tenant, rights, previous)
    }

    fn plan(&self, observed: &Observed) -> Plan<ClientGrantCreate, Step, Seen> {
        plan::plan(self, observed)
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
            Step::Revoke { id } => {
                match tenant.auth0.delete_client_grant(&id).await {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(e.into()),
                }
                tenant.inventory.remove_grant(&id);
                info!(grant = %id, "revoked a client grant whose consent was withdrawn");
                o.did.revoked = true;
                o.by_key = None;
                Ok(())
            }
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
        ctx: &Context,
        tenant: &Tenant,
        rights: &Rights,
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
        // Only a grant this resource owns, never a protected one (see plan::may_take).
        if let Some(g) = id.as_deref().and_then(|id| tenant.inventory.grant(id)) {
            let uid = self.uid().unwrap_or_default();
            let claimants =
                ctx.claimants::<Auth0ClientGrant>(&tenant.key, |r| plan::claim_on(&g, r));
            let mgmt = g
                .client_id
                .as_deref()
                .is_some_and(|c| rights.is_management_client(c));
            let theirs = matches!(
                crate::controller::plan::owner(
                    &uid,
                    &self.namespace().unwrap_or_default(),
                    "Auth0ClientGrant",
                    &claimants
                ),
                crate::controller::plan::Owner::Other { .. }
            );
            if mgmt || theirs || g.is_system == Some(true) {
                info!(grant = %g.id, "not deleting a client grant this resource does not own");
                return Ok(None);
            }
        }
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
/// (and not being deleted): it must live in the grant's tenant. The cache of `K` is the truth,
/// once it holds its first list: a change of the object wakes this grant when the cache holds
/// it ([`Kind::wake_dependents`](super::Kind::wake_dependents)), so the grant never reads a
/// version older than the one that woke it.
async fn referenced<K: super::Kind>(
    grant: &Auth0ClientGrant,
    ctx: &Context,
    tenant: &str,
    name: &str,
    r: Reference<K>,
) -> Result<String, Error> {
    let ns = grant.namespace().unwrap_or_default();
    let kind = K::KIND;
    let Some(store) = ctx.store::<K>() else {
        return Err((r.wait)(format!(
            "{kind}s are not watched in namespace {ns}"
        )));
    };
    // An object missing from a cache that is still being filled may exist.
    if tokio::time::timeout(CACHE_SYNC_WAIT, super::store_ready(store))
        .await
        .is_err()
    {
        return Err((r.wait)(format!(
            "the operator has not listed the {kind}s yet"
        )));
    }
    let Some(o) = store.get(&ObjectRef::new(name).within(&ns)) else {
        return Err((r.wait)(format!(
            "{kind} {name} does not exist in namespace {ns}"
        )));
    };
    let theirs = super::tenant::tenant_key(&ns, o.tenant_ref());
    if theirs != tenant {
        return Err(Error::InvalidSpec(format!(
            "{} names {kind} {name} of tenant {theirs}, but this grant uses tenant {tenant}: a grant must name {} of its own tenant",
            r.field, r.noun
        )));
    }
    if o.meta().deletion_timestamp.is_some() {
        return Err((r.wait)(format!("{kind} {name} is being deleted")));
    }
    let ready =
        crate::crd::ready_condition(o.current_conditions()).is_some_and(|c| c.status == "True");
    ready
        .then(|| (r.value)(&o))
        .flatten()
        .ok_or_else(|| (r.wait)(format!("{kind} {name} is not ready yet")))
}

/// How long a grant waits for the cache of the kind it references to hold its first list
/// (a second or so at start) before it reports that it waits.
const CACHE_SYNC_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

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

/// Resolves the client and the audience, then finds the grant: by `spec.grantId`, else by the
/// status's id or the pair (listing first, then Auth0 for exactly this pair).
async fn observe(
    obj: &Auth0ClientGrant,
    ctx: &Context,
    tenant: &Tenant,
    rights: &Rights,
    previous: Option<Observed>,
) -> Result<Observed, Error> {
    let second_look = previous.is_some();
    let mut o = Observed {
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
    o.rights = rights.clone();
    // Who owns the application and the API (for consent): from the caches, no Auth0 call.
    o.client = tenant.inventory.client(&client_id);
    // A client named by clientRef is this namespace's own resource's (it is Ready only with an
    // application it may hold): only a raw clientId needs its owners looked up.
    if obj.spec.client_ref.is_none()
        && let Some(c) = o.client.clone().or_else(|| {
            Some(crate::auth0::Client {
                client_id: client_id.clone(),
                ..Default::default()
            })
        })
    {
        o.client_claimants = ctx.claimants::<Auth0Client>(&tenant.key, |r| {
            crate::controller::client::plan::claim_on(&c, r)
        });
    }
    let mut consumers = Vec::new();
    for claimant in ctx
        .claimants::<Auth0ResourceServer>(&tenant.key, |r| plan::claim_on_identifier(&audience, r))
    {
        let allowed = ctx
            .store::<Auth0ResourceServer>()
            .and_then(|s| {
                s.get(
                    &kube::runtime::reflector::ObjectRef::new(&claimant.name)
                        .within(&claimant.namespace),
                )
            })
            .or_else(|| find_api(ctx, &claimant.namespace, &claimant.name))
            .and_then(|r| r.spec.allowed_consumers.clone());
        consumers.push((claimant, allowed));
    }
    let selects = consumers
        .iter()
        .any(|(_, a)| a.as_ref().is_some_and(|a| a.selector.is_some()));
    o.labels = crate::controller::tenant::namespace_labels(
        ctx,
        &obj.namespace().unwrap_or_default(),
        selects,
    )
    .await?;
    o.api_claimants = consumers;
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
        if let Some(g) = g.clone() {
            o.claimants = ctx
                .owners_of(obj, &tenant.key, |r| plan::claim_on(&g, r))
                .await?;
        }
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
    if let Some(g) = found.clone() {
        o.claimants = ctx
            .owners_of(obj, &tenant.key, |r| plan::claim_on(&g, r))
            .await?;
    }
    o.by_key = found;
    Ok(o)
}

/// The API resource `namespace/name` from any scope's cache.
fn find_api(
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Option<std::sync::Arc<Auth0ResourceServer>> {
    ctx.find::<Auth0ResourceServer>(namespace, name)
}
