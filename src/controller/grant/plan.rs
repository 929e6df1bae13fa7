//! `Auth0ClientGrant`, pure: what a reconcile observed (and did so far), and the plan of its
//! next step. Every branch is unit-tested here, without a cluster or a simulator.

use super::{Seen, spec};
use crate::controller::{
    Error, Kind, diff,
    plan::{Claim, Claimant, Existing, Next, Owner, Plan, Strength, compare, may_take, owner},
    tenant::Rights,
};
use crate::{
    auth0::{Client, ClientGrant, ClientGrantCreate, ClientGrantUpdate},
    crd::{
        AllowedNamespaces, Auth0Client, Auth0ClientGrant, Auth0ResourceServer, ManagementPolicy,
    },
};

/// A reference the grant could not resolve yet (or may never): the error it stands for.
#[derive(Debug)]
pub(crate) struct Unresolved(fn(String) -> Error, String);

impl Unresolved {
    pub(crate) fn of(e: Error) -> Result<Self, Error> {
        match e {
            Error::ClientNotReady(m) => Ok(Unresolved(Error::ClientNotReady, m)),
            Error::ResourceServerNotReady(m) => Ok(Unresolved(Error::ResourceServerNotReady, m)),
            Error::InvalidSpec(m) => Ok(Unresolved(Error::InvalidSpec, m)),
            other => Err(other),
        }
    }

    pub(crate) fn error(&self) -> Error {
        (self.0)(self.1.clone())
    }
}

/// What the reconcile of a grant observed, and what it did so far.
#[derive(Debug, Default)]
pub struct Observed {
    /// The client id (`spec.clientId`, or the id of the ready `Auth0Client` that `clientRef`
    /// names) and the audience (`spec.audience`, or the identifier of the ready API), or why
    /// not yet.
    pub(crate) refs: Option<Result<(String, String), Unresolved>>,
    /// The grant this resource's status names is known to be gone from Auth0 (the listing
    /// lacks it).
    pub(crate) status_grant_gone: bool,
    /// `spec.grantId`'s grant (`Some(None)`: Auth0 has none with that id).
    pub(crate) by_grant_id: Option<Option<ClientGrant>>,
    /// The grant for this client and audience: the one the status names, else the listing's,
    /// else (the listing may predate it) Auth0's answer for exactly this pair.
    pub(crate) by_key: Option<ClientGrant>,
    /// What the resource's namespace may do in the tenant, and what is protected there.
    pub(crate) rights: Rights,
    /// The application the grant is for, as the listing has it.
    pub(crate) client: Option<Client>,
    /// The live `Auth0Client`s that claim that application.
    pub(crate) client_claimants: Vec<Claimant>,
    /// The live `Auth0ResourceServer`s that claim the audience, with whom each lets grant.
    pub(crate) api_claimants: Vec<(Claimant, Option<AllowedNamespaces>)>,
    /// The grant's namespace's labels (read only when a consumer list selects by label).
    pub(crate) labels: std::collections::BTreeMap<String, String>,
    /// The live grants that claim the grant found.
    pub(crate) claimants: Vec<Claimant>,
    pub(crate) did: Did,
}

/// The journal of one reconcile.
#[derive(Debug, Default)]
pub(crate) struct Did {
    pub(crate) created: bool,
    /// The create was refused because the client or the API does not exist.
    pub(crate) refused_missing: bool,
    pub(crate) patched: Vec<String>,
    /// The grant was deleted in Auth0: its consent was withdrawn.
    pub(crate) revoked: bool,
}

impl Observed {
    pub(crate) fn replace(&mut self, g: ClientGrant) {
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
    /// `DELETE /api/v2/client-grants/{id}`: the grant this resource made may no longer exist
    /// (the API's owner or the tenant's policy withdrew its consent).
    Revoke { id: String },
}

/// Whether the grant may exist at all: its application is nobody's to grant (`Protected`),
/// or another namespace's (`OwnedElsewhere`); its audience is the Management API beyond the
/// tenant's policy (`ManagementApiNotAllowed`), or an API whose owner does not let this
/// namespace consume it (`ConsumerNotAllowed`).
fn consent(
    obj: &Auth0ClientGrant,
    o: &Observed,
    client_id: &str,
    audience: &str,
) -> Result<(), Error> {
    let namespace = obj.metadata.namespace.as_deref().unwrap_or_default();
    let client = o.client.clone().unwrap_or_else(|| Client {
        client_id: client_id.to_string(),
        ..Default::default()
    });
    if let Some(why) = crate::controller::client::plan::protected(&client, &o.rights) {
        return Err(Error::Protected(format!(
            "Auth0 client {client_id} is {why}: no resource may grant it access to anything, in any namespace"
        )));
    }
    let recorded: Vec<Claimant> = o
        .client_claimants
        .iter()
        .filter(|c| c.strength > Strength::Asked)
        .cloned()
        .collect();
    if let Owner::Other {
        namespace: theirs, ..
    } = owner("", namespace, "Auth0Client", &recorded)
        && theirs != namespace
    {
        return Err(Error::OwnedElsewhere(format!(
            "Auth0 client {client_id} is managed by a resource in another namespace: only grants of its own namespace may give it access; grant an application of this namespace"
        )));
    }
    if o.rights.is_management_api(audience) {
        let Some(allowed) = &o.rights.management_api else {
            return Err(Error::ManagementApiNotAllowed(format!(
                "{audience} is the tenant's Management API, and tenant {} does not let namespace {namespace} grant access to it (its spec.policy.managementApi): ask the tenant's owner",
                o.rights.tenant
            )));
        };
        let outside: Vec<&str> = obj
            .spec
            .scopes
            .iter()
            .filter(|s| !allowed.contains(s))
            .map(String::as_str)
            .collect();
        if !outside.is_empty() {
            return Err(Error::ManagementApiNotAllowed(format!(
                "tenant {} lets namespace {namespace} grant the Management API only the scopes in its spec.policy.managementApi.scopes; outside them: {}",
                o.rights.tenant,
                outside.join(", ")
            )));
        }
        return Ok(());
    }
    // Who manages the API: a resource whose status records it (a mere request, maybe refused,
    // manages nothing).
    let claimants: Vec<Claimant> = o
        .api_claimants
        .iter()
        .map(|(c, _)| c.clone())
        .filter(|c| c.strength > Strength::Asked)
        .collect();
    match owner("", namespace, "Auth0ResourceServer", &claimants) {
        Owner::Other {
            namespace: theirs,
            name,
            ..
        } if theirs != namespace => {
            let allowed = o
                .api_claimants
                .iter()
                .find(|(c, _)| c.namespace == theirs && c.name == name)
                .and_then(|(_, a)| a.as_ref());
            let admitted = allowed.is_some_and(|a| {
                a.names.iter().any(|n| n == namespace)
                    || a.selector
                        .as_ref()
                        .is_some_and(|s| crate::controller::tenant::selector_matches(s, &o.labels))
            });
            if !admitted {
                return Err(Error::ConsumerNotAllowed(format!(
                    "the API {audience} is managed by a resource in another namespace whose spec.allowedConsumers does not list namespace {namespace}: ask its owner to add it"
                )));
            }
        }
        Owner::Nobody if !o.rights.unmanaged_apis => {
            return Err(Error::ConsumerNotAllowed(format!(
                "no Auth0ResourceServer manages the API {audience}, and tenant {} does not let namespace {namespace} grant access to APIs no resource manages (its spec.policy.unmanagedApis)",
                o.rights.tenant
            )));
        }
        _ => {}
    }
    Ok(())
}

/// How strongly API resource `r` claims the API with `identifier`: its status naming it by id,
/// else its spec or intent naming the identifier.
pub(crate) fn claim_on_identifier(identifier: &str, r: &Auth0ResourceServer) -> Option<Strength> {
    let status = r.status.as_ref();
    let recorded_identifier = status.and_then(|s| s.identifier.as_deref());
    if status.is_some_and(|s| s.id.is_some()) && recorded_identifier == Some(identifier) {
        Some(Strength::Recorded)
    } else if r.spec.identifier == identifier || recorded_identifier == Some(identifier) {
        Some(Strength::Asked)
    } else {
        None
    }
}

/// How strongly grant resource `r` claims grant `g`: its status naming it, its spec asking for
/// it.
pub(crate) fn claim_on(g: &ClientGrant, r: &Auth0ClientGrant) -> Option<Strength> {
    if r.status.as_ref().and_then(|s| s.grant_id.as_ref()) == Some(&g.id) {
        Some(Strength::Recorded)
    } else if r.spec.grant_id.as_ref() == Some(&g.id) {
        Some(Strength::Asked)
    } else {
        None
    }
}

/// The next step for a grant (pure).
pub(crate) fn plan(obj: &Auth0ClientGrant, o: &Observed) -> Plan<ClientGrantCreate, Step, Seen> {
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
    if let Err(e) = consent(obj, o, &client_id, &audience) {
        // Consent withdrawn: the grant this resource made goes (never one it did not make).
        let ours = o
            .by_key
            .as_ref()
            .filter(|g| recorded == Some(g.id.as_str()) && g.is_system != Some(true));
        if let Some(g) = ours
            && !observe
            && !o.did.revoked
            && matches!(
                e,
                Error::ConsumerNotAllowed(_) | Error::ManagementApiNotAllowed(_)
            )
        {
            return Plan {
                next: Next::Do(Step::Revoke { id: g.id.clone() }),
                seen,
            };
        }
        seen.grant_gone = o.did.revoked;
        return refuse(seen, e);
    }
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let namespace = obj.metadata.namespace.as_deref().unwrap_or_default();
    let existing = |g: &ClientGrant| Existing {
        what: format!("client grant {} of client {client_id} for {audience}", g.id),
        protected: (g.is_system == Some(true)).then_some("a system grant of Auth0"),
        owner: owner(&uid, namespace, "Auth0ClientGrant", &o.claimants),
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
        if let Err(e) = may_take(&existing(g), Claim::Asked, namespace, &o.rights) {
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
                if let Err(e) = may_take(&existing(g), claim, namespace, &o.rights) {
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
    let fields = diff::sent_fields(&update);
    let (drift, patch) = compare(
        spec.management_policy,
        &fields,
        !update.is_empty(),
        &o.did.patched,
        obj.metadata.generation,
        obj.status.as_ref().map_or(&[][..], |s| &s.conditions),
    );
    seen.drift = Some(drift);
    let next = if patch {
        Next::Do(Step::Patch {
            id: current.id.clone(),
            update,
            fields,
            audience,
        })
    } else {
        Next::Done
    };
    Plan { next, seen }
}

/// What a grant that the operator has not reconciled yet (no finalizer, no `Ready` condition,
/// a valid spec) waits for: the `Auth0Client` or `Auth0ResourceServer` it names, when the
/// operator has not reconciled that yet either (cached, live, without a `Ready` condition).
/// Until then the grant writes nothing (the first status of what it waits for wakes it), so
/// a client and its grants applied together cost no `ClientNotReady` round. A grant that
/// names something missing, failing or not ready after its reconcile says so as before.
pub(crate) fn awaits(
    grant: &Auth0ClientGrant,
    client: Option<&Auth0Client>,
    api: Option<&Auth0ResourceServer>,
) -> Option<String> {
    let never_reconciled = grant.metadata.deletion_timestamp.is_none()
        && !grant
            .metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == crate::crd::FINALIZER)
        && crate::crd::ready_condition(grant.current_conditions()).is_none()
        && spec::validate_grant_spec(&grant.spec, grant.status.as_ref()).is_ok();
    if !never_reconciled {
        return None;
    }
    fn unreconciled(o: &impl Kind) -> bool {
        o.meta().deletion_timestamp.is_none()
            && crate::crd::ready_condition(o.current_conditions()).is_none()
    }
    if let (Some(r), Some(c)) = (&grant.spec.client_ref, client)
        && unreconciled(c)
    {
        return Some(format!("Auth0Client {}", r.name));
    }
    if let (Some(r), Some(a)) = (&grant.spec.resource_server_ref, api)
        && unreconciled(a)
    {
        return Some(format!("Auth0ResourceServer {}", r.name));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::Kind;
    use crate::crd::EventReason;
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
            refs: Some(Ok(("c1".into(), AUD.into()))),
            rights: crate::controller::tenant::Rights {
                tenant: "team-a/t".into(),
                adopt: true,
                unmanaged_apis: true,
                management_client_id: "mgmt-app".into(),
                management_apis: vec!["https://t.auth0.com/api/v2/".into()],
                ..Default::default()
            },
            ..Default::default()
        }
    }

    const MGMT: &str = "https://t.auth0.com/api/v2/";

    fn claimant(ns: &str, name: &str, strength: Strength) -> Claimant {
        Claimant {
            uid: format!("{ns}/{name}"),
            namespace: ns.into(),
            name: name.into(),
            created: "2026-01-01T00:00:00Z".into(),
            strength,
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
            Next::Do(Step::Revoke { id }) => format!("Revoke({id})"),
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
            (
                "a grant for the management application: Protected",
                json!({}),
                json!({}),
                |o| o.refs = Some(Ok(("mgmt-app".into(), AUD.into()))),
                "Refuse(Protected)",
            ),
            (
                "a grant for another namespace's application: OwnedElsewhere",
                json!({}),
                json!({}),
                |o| o.client_claimants = vec![claimant("default", "web", Strength::Tagged)],
                "Refuse(OwnedElsewhere)",
            ),
            (
                "the Management API, no policy: ManagementApiNotAllowed",
                json!({}),
                json!({}),
                |o| o.refs = Some(Ok(("c1".into(), MGMT.into()))),
                "Refuse(ManagementApiNotAllowed)",
            ),
            (
                "the Management API beyond the policy's scopes: ManagementApiNotAllowed",
                json!({"scopes": ["read:users", "create:clients"]}),
                json!({}),
                |o| {
                    o.refs = Some(Ok(("c1".into(), MGMT.into())));
                    o.rights.management_api = Some(vec!["read:users".into()]);
                },
                "Refuse(ManagementApiNotAllowed)",
            ),
            (
                "the Management API within the policy: created",
                json!({"scopes": ["read:users"]}),
                json!({}),
                |o| {
                    o.refs = Some(Ok(("c1".into(), MGMT.into())));
                    o.rights.management_api = Some(vec!["read:users".into()]);
                },
                "Create(c1 https://t.auth0.com/api/v2/)",
            ),
            (
                "another namespace's API that does not list this one: ConsumerNotAllowed",
                json!({}),
                json!({}),
                |o| {
                    o.api_claimants =
                        vec![(claimant("default", "orders", Strength::Recorded), None)]
                },
                "Refuse(ConsumerNotAllowed)",
            ),
            (
                "another namespace's API that lists this one: created",
                json!({}),
                json!({}),
                |o| {
                    o.api_claimants = vec![(
                        claimant("default", "orders", Strength::Recorded),
                        Some(AllowedNamespaces {
                            names: vec!["team-a".into()],
                            selector: None,
                        }),
                    )]
                },
                "Create(c1 https://orders/)",
            ),
            (
                "consent withdrawn from a grant this resource made: revoked first",
                json!({}),
                json!({"grantId": "g1"}),
                |o| {
                    o.by_key = Some(grant("g1", &["read"]));
                    o.api_claimants =
                        vec![(claimant("default", "orders", Strength::Recorded), None)];
                },
                "Revoke(g1)",
            ),
            (
                "after the revocation: ConsumerNotAllowed",
                json!({}),
                json!({"grantId": "g1"}),
                |o| {
                    o.did.revoked = true;
                    o.api_claimants =
                        vec![(claimant("default", "orders", Strength::Recorded), None)];
                },
                "Refuse(ConsumerNotAllowed)",
            ),
            (
                "an API no resource manages, the tenant's policy forbids it: ConsumerNotAllowed",
                json!({}),
                json!({}),
                |o| o.rights.unmanaged_apis = false,
                "Refuse(ConsumerNotAllowed)",
            ),
            (
                "the grant for the pair another namespace's resource recorded: OwnedElsewhere",
                json!({}),
                json!({}),
                |o| {
                    o.by_key = Some(grant("g9", &["read"]));
                    o.claimants = vec![claimant("default", "g", Strength::Recorded)];
                },
                "Refuse(OwnedElsewhere)",
            ),
            (
                "an unmanaged grant for the pair, adoption not allowed: AdoptionNotAllowed",
                json!({}),
                json!({}),
                |o| {
                    o.by_key = Some(grant("g9", &["read"]));
                    o.rights.adopt = false;
                },
                "Refuse(AdoptionNotAllowed)",
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

    /// A client or API as the cache holds it: `ready` is its `Ready` condition's status
    /// (`None`: never reconciled).
    fn referenced<K: serde::de::DeserializeOwned>(
        kind: &str,
        spec: serde_json::Value,
        ready: Option<&str>,
        deleting: bool,
    ) -> K {
        let mut o = json!({
            "apiVersion": "auth0.operator.dev/v1alpha1", "kind": kind,
            "metadata": {"name": "x", "namespace": "team-a", "uid": "u1", "generation": 1},
            "spec": spec,
        });
        if let Some(status) = ready {
            o["status"] = json!({"conditions": [{"type": "Ready", "status": status,
                "reason": "Synced", "message": "", "lastTransitionTime": "2026-12-07T00:00:00Z"}]});
        }
        if deleting {
            o["metadata"]["deletionTimestamp"] = json!("2026-12-07T00:00:00Z");
            o["metadata"]["finalizers"] = json!([crate::crd::FINALIZER]);
        }
        serde_json::from_value(o).unwrap()
    }

    #[test]
    fn a_new_grant_awaits_the_first_reconcile_of_what_it_names_and_nothing_else() {
        let by_ref = |status: serde_json::Value| -> Auth0ClientGrant {
            serde_json::from_value(json!({
                "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0ClientGrant",
                "metadata": {"name": "g", "namespace": "team-a", "generation": 1},
                "spec": {"clientRef": {"name": "x"}, "resourceServerRef": {"name": "x"},
                         "scopes": ["read"]},
                "status": status
            }))
            .unwrap()
        };
        let client = |ready, deleting| -> Auth0Client {
            referenced("Auth0Client", json!({"name": "X"}), ready, deleting)
        };
        let api = |ready, deleting| -> Auth0ResourceServer {
            referenced(
                "Auth0ResourceServer",
                json!({"name": "X", "identifier": AUD}),
                ready,
                deleting,
            )
        };
        let fresh = by_ref(json!(null));
        let (c_new, c_ready, c_failed) = (
            client(None, false),
            client(Some("True"), false),
            client(Some("False"), false),
        );
        let (a_new, a_ready) = (api(None, false), api(Some("True"), false));
        for (what, g, c, a, expected) in [
            (
                "client not reconciled yet",
                &fresh,
                Some(&c_new),
                Some(&a_ready),
                Some("Auth0Client x"),
            ),
            (
                "API not reconciled yet",
                &fresh,
                Some(&c_ready),
                Some(&a_new),
                Some("Auth0ResourceServer x"),
            ),
            (
                "both reconciled",
                &fresh,
                Some(&c_ready),
                Some(&a_ready),
                None,
            ),
            // A failed client is a verdict: the grant reports ClientNotReady at once.
            (
                "client failed",
                &fresh,
                Some(&c_failed),
                Some(&a_ready),
                None,
            ),
            // Missing from the cache: the grant says it does not exist.
            ("client missing", &fresh, None, Some(&a_ready), None),
            (
                "client going away",
                &fresh,
                Some(&client(None, true)),
                Some(&a_ready),
                None,
            ),
            (
                "API going away",
                &fresh,
                Some(&c_ready),
                Some(&api(None, true)),
                None,
            ),
        ] {
            assert_eq!(awaits(g, c, a).as_deref(), expected, "{what}");
        }
        // Only a grant the operator never reconciled: one with a Ready condition, our
        // finalizer, a deletion or an invalid spec goes on (and says what it found).
        let mut reconciled = by_ref(json!({"conditions": [{"type": "Ready", "status": "False",
            "reason": "ClientNotReady", "message": "", "lastTransitionTime": "2026-12-07T00:00:00Z"}]}));
        assert_eq!(awaits(&reconciled, Some(&c_new), Some(&a_new)), None);
        reconciled.status = None;
        reconciled.metadata.finalizers = Some(vec![crate::crd::FINALIZER.into()]);
        assert_eq!(awaits(&reconciled, Some(&c_new), Some(&a_new)), None);
        reconciled.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::now(),
            ));
        reconciled.metadata.finalizers = None;
        assert_eq!(awaits(&reconciled, Some(&c_new), Some(&a_new)), None);
        let mut invalid = by_ref(json!(null));
        invalid.spec.audience = Some(AUD.into());
        assert!(spec::validate_grant_spec(&invalid.spec, None).is_err());
        assert_eq!(awaits(&invalid, Some(&c_new), Some(&a_new)), None);
        // By id, nothing to wait for.
        assert_eq!(
            awaits(
                &resource(json!({}), json!(null)),
                Some(&c_new),
                Some(&a_new)
            ),
            None
        );
    }

    #[test]
    fn grants_see_a_client_or_an_api_change_only_in_what_they_use() {
        use crate::controller::{client::plan as client_plan, resource_server::plan as api_plan};
        let client = |ready, id: Option<&str>| -> Auth0Client {
            let mut c: Auth0Client = referenced("Auth0Client", json!({"name": "X"}), ready, false);
            if let Some(s) = c.status.as_mut() {
                s.client_id = id.map(String::from);
            }
            c
        };
        let seen = client_plan::seen_by_grants;
        let ready = client(Some("True"), Some("c1"));
        assert_eq!(seen(Some(&ready)), seen(Some(&ready.clone())));
        let mut edited = ready.clone();
        edited.spec.description = Some("another description".into());
        edited.metadata.generation = Some(2);
        assert_eq!(
            seen(Some(&ready)),
            seen(Some(&edited)),
            "its spec is not theirs"
        );
        for (what, other) in [
            ("absent", None),
            ("never reconciled", Some(client(None, None))),
            ("not ready", Some(client(Some("False"), Some("c1")))),
            ("another id", Some(client(Some("True"), Some("c2")))),
            (
                "going away",
                Some(referenced(
                    "Auth0Client",
                    json!({"name": "X"}),
                    Some("True"),
                    true,
                )),
            ),
        ] {
            assert_ne!(seen(Some(&ready)), seen(other.as_ref()), "{what}");
        }
        let api = |generation: i64, ready| -> Auth0ResourceServer {
            let mut a: Auth0ResourceServer = referenced(
                "Auth0ResourceServer",
                json!({"name": "X", "identifier": AUD}),
                ready,
                false,
            );
            a.metadata.generation = Some(generation);
            a
        };
        let seen = api_plan::seen_by_grants;
        assert_eq!(
            seen(Some(&api(1, Some("True")))),
            seen(Some(&api(1, Some("True"))))
        );
        // Its scopes and consumers (the generation) are theirs.
        assert_ne!(
            seen(Some(&api(1, Some("True")))),
            seen(Some(&api(2, Some("True"))))
        );
        assert_ne!(seen(Some(&api(1, Some("True")))), seen(Some(&api(1, None))));
        assert_ne!(seen(Some(&api(1, Some("True")))), seen(None));
    }
}
