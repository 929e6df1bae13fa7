//! `Auth0ResourceServer`, pure: what a reconcile observed (and did so far), and the plan of
//! its next step. Every branch is unit-tested here, without a cluster or a simulator.

use super::{Seen, spec};
use crate::controller::{
    Error, Kind as _, Outcome, diff,
    plan::{
        Claim, Claimant, Existing, Next, Plan, SeenByGrants, Strength, Take, compare, may_take,
        owner,
    },
    tenant::Rights,
};
use crate::{
    auth0::{ResourceServer, ResourceServerCreate, ResourceServerUpdate},
    crd::{Auth0ResourceServer, Auth0ResourceServerStatus, EventReason, ManagementPolicy},
};

/// What the reconcile of an API observed, and what it did so far.
#[derive(Debug, Default)]
pub struct Observed {
    /// What the resource's namespace may do in the tenant, and what is protected there.
    pub(crate) rights: Rights,
    /// The live resources of the tenant that claim the API the reconcile found.
    pub(crate) claimants: Vec<Claimant>,
    /// The status as the API server has it (read afresh while it records no id: the cache may
    /// be behind an intent an earlier pass wrote moments ago).
    pub(crate) status: Auth0ResourceServerStatus,
    /// An earlier pass recorded the intent to create this identifier: an API with it may be the
    /// one that pass created.
    pub(crate) intended: bool,
    /// The API the status names, by id (`None`: none named, or Auth0 no longer has it).
    pub(crate) by_id: Option<ResourceServer>,
    /// The API with `spec.identifier`, looked for when `by_id` is `None`.
    pub(crate) by_identifier: Option<ResourceServer>,
    /// What this reconcile did so far.
    pub(crate) did: Did,
}

/// The journal of one reconcile.
#[derive(Debug, Default)]
pub(crate) struct Did {
    pub(crate) created: bool,
    /// The create answered 409 (the identifier is taken).
    pub(crate) conflict: bool,
    /// The create was refused outright: the recorded intent stands for nothing.
    pub(crate) refused: bool,
    /// The fields a PATCH sent.
    pub(crate) patched: Vec<String>,
}

impl Observed {
    /// Records the API as Auth0 answered a PATCH.
    pub(crate) fn replace(&mut self, r: ResourceServer) {
        for slot in [&mut self.by_id, &mut self.by_identifier] {
            if slot.as_ref().is_some_and(|o| o.id == r.id) {
                *slot = Some(r.clone());
            }
        }
    }
}

/// How strongly `r` claims API `api`: its status naming it by id, else its intent to create
/// it, or its spec asking to adopt (or observe) it.
pub(crate) fn claim_on(api: &ResourceServer, r: &Auth0ResourceServer) -> Option<Strength> {
    let status = r.status.as_ref();
    if status.and_then(|s| s.id.as_ref()) == Some(&api.id) {
        Some(Strength::Recorded)
    } else if (r.spec.identifier == api.identifier
        && (r.spec.adopt || r.spec.management_policy == ManagementPolicy::Observe))
        || status.and_then(|s| s.identifier.as_ref()) == Some(&api.identifier)
    {
        Some(Strength::Asked)
    } else {
        None
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

/// The next step for an API (pure).
pub(crate) fn plan(
    obj: &Auth0ResourceServer,
    o: &Observed,
) -> Plan<ResourceServerCreate, Step, Seen> {
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
    if o.rights.is_management_api(&spec.identifier) {
        return refuse(
            seen,
            Error::Protected(format!(
                "{} is the tenant's Management API: no resource may adopt, change or delete it, in any namespace; give this resource the identifier of an API of its own",
                spec.identifier
            )),
        );
    }
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let namespace = obj.metadata.namespace.as_deref().unwrap_or_default();
    let existing = |r: &ResourceServer| Existing {
        what: format!("an API with identifier {}", r.identifier),
        protected: (r.is_system == Some(true) || o.rights.is_management_api(&r.identifier))
            .then_some("a system API of Auth0 (such as the Management API)"),
        owner: owner(&uid, namespace, "Auth0ResourceServer", &o.claimants),
        remedy: "set spec.adopt: true to manage it (the operator then updates it to this spec and, with deletionPolicy Delete, deletes it with this resource), or recreate this resource with another identifier",
    };
    let current = match (&o.by_id, &o.by_identifier) {
        (Some(r), _) => match may_take(&existing(r), Claim::Recorded, namespace, &o.rights) {
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
            match may_take(&existing(r), claim, namespace, &o.rights) {
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
        })
    } else {
        Next::Done
    };
    Plan { next, seen }
}

/// The Normal events of a reconcile.
pub(crate) fn notes(obj: &Auth0ResourceServer, seen: &Seen) -> Outcome {
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

/// What a grant sees of an `Auth0ResourceServer` it names or whose identifier is its audience
/// (`None`: absent): which object it is, its spec (identifier, scopes, `allowedConsumers`: the
/// generation), whether it is going away, its readiness and its id in Auth0. A change of it
/// wakes those grants.
pub(crate) fn seen_by_grants(a: Option<&Auth0ResourceServer>) -> Option<SeenByGrants<'_>> {
    a.map(|a| {
        let id = a.status.as_ref().and_then(|s| s.id.as_deref());
        SeenByGrants::new(
            &a.metadata,
            a.current_conditions(),
            id,
            a.metadata.generation,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::{Kind, status};
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
            rights: crate::controller::tenant::Rights {
                tenant: "team-a/t".into(),
                adopt: true,
                unmanaged_apis: true,
                management_client_id: "mgmt-app".into(),
                management_apis: vec![MGMT.into()],
                ..Default::default()
            },
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
                "Refuse(Protected)",
            ),
            (
                "the Management API is refused before anything",
                json!({}),
                json!({}),
                |o| o.rights.management_apis = vec![ID.into()],
                "Refuse(Protected)",
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
