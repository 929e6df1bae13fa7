//! `Auth0ClientGrant`, pure: what a reconcile observed (and did so far), and the plan of its
//! next step. Every branch is unit-tested here, without a cluster or a simulator.

use super::{Seen, spec};
use crate::controller::{
    Error, diff,
    plan::{Claim, Existing, Next, Plan, compare, may_take},
};
use crate::{
    auth0::{ClientGrant, ClientGrantCreate, ClientGrantUpdate},
    crd::{Auth0ClientGrant, ManagementPolicy},
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
    pub(crate) tenant: String,
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
    pub(crate) did: Did,
}

/// The journal of one reconcile.
#[derive(Debug, Default)]
pub(crate) struct Did {
    pub(crate) created: bool,
    /// The create was refused because the client or the API does not exist.
    pub(crate) refused_missing: bool,
    pub(crate) patched: Vec<String>,
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
