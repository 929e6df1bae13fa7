//! `Auth0Client`, pure: what a reconcile observed (and did so far), and the plan of its next
//! step. Every branch is unit-tested here, without a cluster or a simulator.

use k8s_openapi::api::core::v1::Secret;

use super::{
    Seen,
    connections::{self, Change},
    rotation::{self, Decision},
    spec,
};
use crate::controller::{
    Error, Kind as _, Outcome, diff,
    plan::{
        Claim, Claimant, Existing, Next, Plan, SeenByGrants, Strength, compare, may_take, owner,
    },
    secret::store::conflict,
    tenant::Rights,
};
use crate::{
    auth0::{Client, ClientCreate, ClientUpdate},
    crd::{Auth0Client, EventReason, ManagementPolicy},
};

/// The credentials Secret as the reconcile found it.
#[derive(Debug, Default)]
pub enum SecretSeen {
    /// None of that name.
    #[default]
    Absent,
    /// This resource's.
    Ours(Secret),
    /// The operator made it for an `Auth0Client` of that name that no longer exists (deleted
    /// and created again while no garbage collector ran): it is replaced, not a conflict.
    Stale { secret: Secret, owner: String },
    /// Someone else's: never touched.
    Foreign(Secret),
}

impl SecretSeen {
    /// This resource's Secret, if that is what was found.
    pub(crate) fn ours(&self) -> Option<&Secret> {
        match self {
            SecretSeen::Ours(s) => Some(s),
            _ => None,
        }
    }
}

/// What the reconcile of an application observed, and what it did so far.
#[derive(Debug, Default)]
pub struct Observed {
    /// The credentials Secret (read from the API server, never from a cache).
    pub(crate) secret: SecretSeen,
    /// `spec.clientId`'s application (`Some(None)`: Auth0 has none with that id).
    pub(crate) by_spec_id: Option<Option<Client>>,
    /// The application the status names (without `spec.clientId`).
    pub(crate) by_status_id: Option<Client>,
    /// The application tagged with this resource's UID (looked for when neither id finds one).
    pub(crate) tagged: Option<Client>,
    /// What the resource's namespace may do in the tenant, and what is protected there.
    pub(crate) rights: Rights,
    /// The live resources of the tenant that claim the application the reconcile works on.
    pub(crate) claimants: Vec<Claimant>,
    /// The connections the spec names and those enabled for the application (only when
    /// `spec.connections` is set).
    pub(crate) connections: Option<connections::Seen>,
    /// What the reconcile learned about the credential and what its credential steps did.
    pub(crate) credential: rotation::World,
    pub(crate) did: Did,
}

/// The journal of one reconcile.
#[derive(Debug, Default)]
pub(crate) struct Did {
    pub(crate) created: bool,
    pub(crate) patched: Vec<String>,
    pub(crate) stale_secret: Option<(String, String)>,
}

impl Observed {
    /// The application the reconcile works on.
    pub(crate) fn current(&self) -> Option<&Client> {
        self.by_spec_id
            .as_ref()
            .and_then(Option::as_ref)
            .or(self.by_status_id.as_ref())
            .or(self.tagged.as_ref())
    }

    pub(crate) fn replace(&mut self, c: Client) {
        for slot in [
            self.by_spec_id.as_mut().and_then(Option::as_mut),
            self.by_status_id.as_mut(),
            self.tagged.as_mut(),
        ]
        .into_iter()
        .flatten()
        {
            if slot.client_id == c.client_id {
                *slot = c.clone();
            }
        }
    }
}

/// Why no resource may take application `c`, if none may: the tenant's management
/// application (its credentials would be a copy of the operator's power) or Auth0's global
/// client.
pub(crate) fn protected(c: &Client, rights: &Rights) -> Option<&'static str> {
    if rights.is_management_client(&c.client_id) {
        Some("the tenant's management application (the operator's own credentials)")
    } else if c.global == Some(true) {
        Some("Auth0's global client")
    } else {
        None
    }
}

/// How strongly `r` claims application `c`: its UID tag on it, its status naming it, its spec
/// asking for it.
pub(crate) fn claim_on(c: &Client, r: &Auth0Client) -> Option<Strength> {
    let tag = c
        .client_metadata
        .as_ref()
        .and_then(|m| m.get(crate::crd::METADATA_UID_KEY));
    if tag.is_some() && tag == r.metadata.uid.as_ref() {
        Some(Strength::Tagged)
    } else if r.status.as_ref().and_then(|s| s.client_id.as_ref()) == Some(&c.client_id) {
        Some(Strength::Recorded)
    } else if r.spec.client_id.as_ref() == Some(&c.client_id) {
        Some(Strength::Asked)
    } else {
        None
    }
}

/// A step of an application's own.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Delete the stale Secret (guarded by its UID and resourceVersion).
    DeleteStaleSecret { name: String, owner: String },
    /// `PATCH /api/v2/clients/{id}` with the fields that differ (none: no request), then
    /// `PATCH /api/v2/connections/{id}/clients` for each connection to enable or disable.
    Patch {
        id: String,
        update: Box<ClientUpdate>,
        connections: Vec<Change>,
        fields: Vec<String>,
    },
    /// Ask Auth0 which connections the application is enabled on (it was created or found
    /// since the tenant's connections were listed).
    ReadConnections { id: String },
    /// A step of the credential's lifecycle ([`rotation::next`]): the Secret holds a working
    /// credential, and a rotation that is due or under way is carried out.
    Credential(rotation::Step),
}

/// The next step for an application (pure).
pub(crate) fn plan(obj: &Auth0Client, o: &Observed) -> Plan<ClientCreate, Step, Seen> {
    let spec = &obj.spec;
    let observe = spec.management_policy == ManagementPolicy::Observe;
    let status_id = obj.status.as_ref().and_then(|s| s.client_id.as_deref());
    let mut seen = Seen {
        created: o.did.created,
        recreated: o.did.created && status_id.is_some(),
        updated_fields: o.did.patched.clone(),
        stale_secret: o.did.stale_secret.clone(),
        secret_written: o.credential.wrote,
        credential_notes: o.credential.notes.clone(),
        ..Default::default()
    };
    let refuse = |seen, e| Plan {
        next: Next::Refuse(e),
        seen,
    };
    // A Secret of that name that is not ours is reported before anything is created in Auth0.
    match &o.secret {
        SecretSeen::Foreign(secret) => {
            return refuse(seen, conflict(&obj.secret_name(), secret));
        }
        SecretSeen::Stale { owner, .. } => {
            return Plan {
                next: Next::Do(Step::DeleteStaleSecret {
                    name: obj.secret_name(),
                    owner: owner.clone(),
                }),
                seen,
            };
        }
        SecretSeen::Absent | SecretSeen::Ours(_) => {}
    }
    // A connection the tenant lacks: refused before anything is created or changed.
    if let Some(e) = o.connections.as_ref().and_then(connections::unknown) {
        return refuse(seen, e);
    }
    let uid = obj.metadata.uid.clone().unwrap_or_default();
    let namespace = obj.metadata.namespace.as_deref().unwrap_or_default();
    let existing = |c: &Client| Existing {
        what: format!("Auth0 client {}", c.client_id),
        protected: protected(c, &o.rights),
        owner: owner(&uid, namespace, "Auth0Client", &o.claimants),
        remedy: "set spec.clientId to manage it",
    };
    let claim = if let Some(by_id) = &o.by_spec_id {
        let id = spec.client_id.as_deref().unwrap_or_default();
        match by_id {
            Some(c) => {
                seen.adopted = !observe && status_id.is_none();
                (c, Claim::Asked)
            }
            None => {
                return refuse(
                    seen,
                    Error::NotFound(if observe {
                        format!(
                            "Auth0 has no client with id {id} (spec.clientId); managementPolicy is Observe, so the operator does not create it"
                        )
                    } else {
                        format!(
                            "Auth0 has no client with id {id} (spec.clientId); the operator only adopts existing clients by id"
                        )
                    }),
                );
            }
        }
    } else if let Some(c) = &o.by_status_id {
        (c, Claim::Recorded)
    } else if let Some(c) = &o.tagged {
        seen.recovered = !observe && !o.did.created;
        (c, Claim::Recorded)
    } else if observe {
        return refuse(
            seen,
            Error::NotFound("managementPolicy is Observe and there is no Auth0 client to observe: set spec.clientId to the id of an existing application".to_string()),
        );
    } else {
        return Plan {
            next: Next::Create(spec::client_create(spec, spec::ownership_tags(obj))),
            seen,
        };
    };
    let (current, claim) = claim;
    if let Err(e) = may_take(&existing(current), claim, namespace, &o.rights) {
        return refuse(seen, e);
    }
    seen.client_id = Some(current.client_id.clone());
    if o.connections.as_ref().is_some_and(|c| c.enabled.is_none()) {
        return Plan {
            next: Next::Do(Step::ReadConnections {
                id: current.client_id.clone(),
            }),
            seen,
        };
    }
    let tags = if spec.client_id.is_some() {
        Default::default()
    } else {
        spec::ownership_tags(obj)
    };
    let update = spec::client_update(spec, &tags, current);
    let mut fields = diff::sent_fields(&update);
    let changes = o
        .connections
        .as_ref()
        .map(connections::changes)
        .unwrap_or_default();
    if !changes.is_empty() {
        fields.push("connections".to_string());
    }
    seen.connections = o
        .connections
        .as_ref()
        .and_then(|c| c.enabled.as_deref())
        .map(connections::in_effect);
    let (drift, patch) = compare(
        spec.management_policy,
        &fields,
        !update.is_empty() || !changes.is_empty(),
        &o.did.patched,
        obj.metadata.generation,
        obj.status.as_ref().map_or(&[][..], |s| &s.conditions),
    );
    seen.drift = Some(drift);
    let next = if patch {
        Next::Do(Step::Patch {
            id: current.client_id.clone(),
            update: Box::new(update),
            connections: changes,
            fields,
        })
    } else {
        match rotation::next(obj, current, o.secret.ours(), &o.credential) {
            Err(e) => return refuse(seen, e),
            Ok(Decision::Do(step)) => Next::Do(Step::Credential(step)),
            Ok(Decision::Done(report)) => {
                seen.credentials = Some(report);
                Next::Done
            }
        }
    };
    Plan { next, seen }
}

/// The Normal events of a successful sync: what happened to the application, then what
/// happened to its credential.
pub(crate) fn notes(obj: &Auth0Client, seen: &mut Seen) -> Outcome {
    let mut outcome = client_notes(obj, seen);
    if !seen.credential_notes.is_empty() {
        // What happened to the credential says more than "wrote the Secret".
        outcome
            .notes
            .retain(|(reason, _)| *reason != EventReason::SecretWritten);
        outcome.notes.append(&mut seen.credential_notes);
    }
    if let Some(r) = &seen.credentials {
        outcome.requeue_after = r.requeue_after;
    }
    outcome
}

fn client_notes(obj: &Auth0Client, seen: &Seen) -> Outcome {
    let id = seen.client_id.as_deref().unwrap_or_default();
    let mut out = client_note(obj, seen, id);
    if let Some((name, owner)) = &seen.stale_secret {
        out.notes.insert(
            0,
            (
                EventReason::StaleSecretReplaced,
                format!(
                    "Secret {name} belonged to a deleted Auth0Client {owner}; it was deleted and will be written for this resource"
                ),
            ),
        );
    }
    out
}

fn client_note(obj: &Auth0Client, seen: &Seen, id: &str) -> Outcome {
    if seen.recreated {
        Outcome::note(
            EventReason::Recreated,
            format!("Auth0 client was missing in Auth0; created {id}"),
        )
    } else if seen.created {
        Outcome::note(EventReason::Created, format!("Created Auth0 client {id}"))
    } else if seen.recovered {
        Outcome::note(
            EventReason::Created,
            format!("Found Auth0 client {id}, created by an earlier attempt whose answer was lost"),
        )
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

/// What a grant sees of the `Auth0Client` its `clientRef` names (`None`: absent): which
/// object it is, whether it is going away, its readiness and its application's id (not its
/// spec). A change of it wakes the client's grants.
pub(crate) fn seen_by_grants(c: Option<&Auth0Client>) -> Option<SeenByGrants<'_>> {
    c.map(|c| {
        let id = c.status.as_ref().and_then(|s| s.client_id.as_deref());
        SeenByGrants::new(&c.metadata, c.current_conditions(), id, None)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controller::Kind;
    use serde_json::json;

    fn resource(spec: serde_json::Value, status: serde_json::Value) -> Auth0Client {
        let mut spec = spec;
        if spec.get("name").is_none() {
            spec["name"] = json!("Web");
        }
        serde_json::from_value(json!({
            "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
            "metadata": {"name": "web", "namespace": "team-a", "uid": "u-1", "generation": 1},
            "spec": spec, "status": status
        }))
        .unwrap()
    }

    /// An application as Auth0 lists it; tagged as `obj`'s unless `spec.clientId` adopts it.
    fn app(obj: &Auth0Client, id: &str, extra: serde_json::Value) -> Client {
        let tags = if obj.spec.client_id.is_some() {
            Default::default()
        } else {
            spec::ownership_tags(obj)
        };
        let mut v = json!({"client_id": id, "name": "Web", "client_metadata": tags});
        v.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        serde_json::from_value(v).unwrap()
    }

    fn outcome(p: &Plan<ClientCreate, Step, Seen>) -> String {
        match &p.next {
            Next::Done => "Done".into(),
            Next::Refuse(e) => format!("Refuse({})", e.reason()),
            Next::Create(body) => format!("Create({})", body.name),
            Next::Do(Step::DeleteStaleSecret { owner, .. }) => {
                format!("DeleteStaleSecret({owner})")
            }
            Next::Do(Step::Patch {
                id,
                fields,
                connections,
                ..
            }) => {
                let mut out = format!("Patch({id}: {})", fields.join(","));
                for c in connections {
                    let sign = if c.enable { '+' } else { '-' };
                    out.push_str(&format!(" {sign}{}", c.connection.name));
                }
                out
            }
            Next::Do(Step::ReadConnections { id }) => format!("ReadConnections({id})"),
            Next::Do(Step::Credential(step)) => format!("Credential({step:?})"),
        }
    }

    /// The Secret of application `id`, holding its secret and nothing due: the credential
    /// needs nothing more.
    fn settled(obj: &Auth0Client, o: &mut Observed, id: &str) {
        let held = crate::controller::client::credentials::Held {
            current: Some(crate::controller::secret::template::Credential::Secret(
                "s3cret".into(),
            )),
            rotated_at: Some(o.credential.now),
            ..Default::default()
        };
        let secret = crate::controller::secret::shape::credentials_secret(
            obj,
            &o.credential.domain,
            id,
            &held,
        )
        .unwrap();
        o.secret = SecretSeen::Ours(secret);
    }

    fn claimant(uid: &str, ns: &str, strength: Strength) -> Claimant {
        Claimant {
            uid: uid.into(),
            namespace: ns.into(),
            name: uid.into(),
            created: "2026-01-01T00:00:00Z".into(),
            strength,
        }
    }

    fn conns(named: &[(&str, bool)], enabled: Option<&[&str]>) -> connections::Seen {
        let con = |n: &str| crate::auth0::Connection {
            id: format!("con_{n}"),
            name: n.into(),
            strategy: None,
        };
        connections::Seen {
            named: named
                .iter()
                .map(|(n, known)| (n.to_string(), known.then(|| con(n))))
                .collect(),
            enabled: enabled.map(|e| e.iter().map(|n| con(n)).collect()),
        }
    }

    #[test]
    fn connections_drift_and_what_is_in_effect() {
        // Observe: the drift names the field, the status the connections enabled now.
        let obj = resource(
            json!({"clientId": "c9", "managementPolicy": "Observe", "connections": ["db"]}),
            json!({}),
        );
        let mut o = Observed {
            by_spec_id: Some(Some(app(&obj, "c9", json!({})))),
            connections: Some(conns(&[("db", true)], Some(&["google"]))),
            rights: Rights {
                adopt: true,
                ..Default::default()
            },
            ..Default::default()
        };
        settled(&obj, &mut o, "c9");
        let p = plan(&obj, &o);
        assert_eq!(outcome(&p), "Done");
        assert_eq!(p.seen.drift.as_ref().unwrap().fields, ["connections"]);
        assert_eq!(
            p.seen.connections.as_deref(),
            Some(&["google".to_string()][..])
        );
        // Manage, after the patch step changed them: corrected drift, the named set in effect.
        let obj = resource(json!({"connections": ["db"]}), json!({"clientId": "c1"}));
        let mut o = Observed {
            by_status_id: Some(app(&obj, "c1", json!({}))),
            connections: Some(conns(&[("db", true)], Some(&["db"]))),
            ..Default::default()
        };
        o.did.patched = vec!["connections".into()];
        settled(&obj, &mut o, "c1");
        let p = plan(&obj, &o);
        assert_eq!(outcome(&p), "Done");
        assert_eq!(p.seen.drift.as_ref().unwrap().fields, ["connections"]);
        assert_eq!(p.seen.connections.as_deref(), Some(&["db".to_string()][..]));
        // Without spec.connections nothing is looked at or said about them.
        let obj = resource(json!({}), json!({"clientId": "c1"}));
        let mut o = Observed {
            by_status_id: Some(app(&obj, "c1", json!({}))),
            ..Default::default()
        };
        settled(&obj, &mut o, "c1");
        assert!(plan(&obj, &o).seen.connections.is_none());
    }

    fn foreign_secret() -> Secret {
        serde_json::from_value(json!({"metadata": {"name": "web-auth0", "namespace": "team-a"}}))
            .unwrap()
    }

    #[test]
    fn every_branch_of_the_plan() {
        type Setup = fn(&Auth0Client, &mut Observed);
        let cases: Vec<(&str, serde_json::Value, serde_json::Value, Setup, &str)> = vec![
            (
                "nothing exists: create",
                json!({}),
                json!({}),
                |_, _| {},
                "Create(Web)",
            ),
            (
                "someone else's Secret of that name: refused before anything is created",
                json!({}),
                json!({}),
                |_, o| o.secret = SecretSeen::Foreign(foreign_secret()),
                "Refuse(SecretConflict)",
            ),
            (
                "a stale Secret of a deleted Auth0Client of that name: deleted first",
                json!({}),
                json!({}),
                |_, o| {
                    o.secret = SecretSeen::Stale {
                        secret: foreign_secret(),
                        owner: "web".into(),
                    }
                },
                "DeleteStaleSecret(web)",
            ),
            (
                "the application the status names, in sync: the credential step",
                json!({}),
                json!({"clientId": "c1"}),
                |obj, o| o.by_status_id = Some(app(obj, "c1", json!({}))),
                "Credential(ReadSecret)",
            ),
            (
                "after the credential step: done",
                json!({}),
                json!({"clientId": "c1"}),
                |obj, o| {
                    o.by_status_id = Some(app(obj, "c1", json!({})));
                    settled(obj, o, "c1");
                },
                "Done",
            ),
            (
                "it differs: one patch, before the credential step",
                json!({"callbacks": ["https://web/cb"]}),
                json!({"clientId": "c1"}),
                |obj, o| o.by_status_id = Some(app(obj, "c1", json!({}))),
                "Patch(c1: callbacks)",
            ),
            (
                "after the patch: the credential step",
                json!({"callbacks": ["https://web/cb"]}),
                json!({"clientId": "c1"}),
                |obj, o| {
                    o.by_status_id = Some(app(obj, "c1", json!({})));
                    o.did.patched = vec!["callbacks".into()];
                },
                "Credential(ReadSecret)",
            ),
            (
                "found by its UID tag (an earlier create's answer was lost): taken back",
                json!({}),
                json!({}),
                |obj, o| o.tagged = Some(app(obj, "c7", json!({}))),
                "Credential(ReadSecret)",
            ),
            (
                "spec.clientId that Auth0 does not have: NotFound",
                json!({"clientId": "c9"}),
                json!({}),
                |_, o| o.by_spec_id = Some(None),
                "Refuse(NotFound)",
            ),
            (
                "spec.clientId: adopted",
                json!({"clientId": "c9"}),
                json!({}),
                |obj, o| o.by_spec_id = Some(Some(app(obj, "c9", json!({})))),
                "Credential(ReadSecret)",
            ),
            (
                "Observe without an application: NotFound, nothing created",
                json!({"managementPolicy": "Observe"}),
                json!({}),
                |_, _| {},
                "Refuse(NotFound)",
            ),
            (
                "Observe: differences are reported, never patched",
                json!({"clientId": "c9", "managementPolicy": "Observe", "callbacks": ["https://x/"]}),
                json!({}),
                |obj, o| o.by_spec_id = Some(Some(app(obj, "c9", json!({})))),
                "Credential(ReadSecret)",
            ),
            (
                "spec.clientId names the tenant's management application: Protected",
                json!({"clientId": "mgmt-app"}),
                json!({}),
                |obj, o| o.by_spec_id = Some(Some(app(obj, "mgmt-app", json!({})))),
                "Refuse(Protected)",
            ),
            (
                "Observe of the management application: Protected too (its secret is never copied)",
                json!({"clientId": "mgmt-app", "managementPolicy": "Observe"}),
                json!({}),
                |obj, o| o.by_spec_id = Some(Some(app(obj, "mgmt-app", json!({})))),
                "Refuse(Protected)",
            ),
            (
                "Auth0's global client: Protected",
                json!({"clientId": "g1"}),
                json!({}),
                |obj, o| o.by_spec_id = Some(Some(app(obj, "g1", json!({"global": true})))),
                "Refuse(Protected)",
            ),
            (
                "an application another namespace's resource made: OwnedElsewhere",
                json!({"clientId": "c5"}),
                json!({}),
                |obj, o| {
                    o.by_spec_id = Some(Some(app(obj, "c5", json!({}))));
                    o.claimants = vec![claimant("u-other", "default", Strength::Tagged)];
                },
                "Refuse(OwnedElsewhere)",
            ),
            (
                "an unmanaged application, the tenant's policy forbids adoption: AdoptionNotAllowed",
                json!({"clientId": "c6"}),
                json!({}),
                |obj, o| {
                    o.by_spec_id = Some(Some(app(obj, "c6", json!({}))));
                    o.rights.adopt = false;
                },
                "Refuse(AdoptionNotAllowed)",
            ),
            (
                "two resources asking for one application: the older one has it",
                json!({"clientId": "c6"}),
                json!({}),
                |obj, o| {
                    o.by_spec_id = Some(Some(app(obj, "c6", json!({}))));
                    o.claimants = vec![
                        claimant("u-1", "team-a", Strength::Asked),
                        Claimant {
                            created: "2020-01-01T00:00:00Z".into(),
                            ..claimant("u-old", "team-a", Strength::Asked)
                        },
                    ];
                },
                "Refuse(OwnedElsewhere)",
            ),
            (
                "a connection the tenant lacks: refused before anything is created",
                json!({"connections": ["db", "nope"]}),
                json!({}),
                |_, o| o.connections = Some(conns(&[("db", true), ("nope", false)], None)),
                "Refuse(UnknownConnection)",
            ),
            (
                "a connection the tenant lacks, the application exists: refused, nothing patched",
                json!({"connections": ["nope"], "callbacks": ["https://web/cb"]}),
                json!({"clientId": "c1"}),
                |obj, o| {
                    o.by_status_id = Some(app(obj, "c1", json!({})));
                    o.connections = Some(conns(&[("nope", false)], Some(&["db"])));
                },
                "Refuse(UnknownConnection)",
            ),
            (
                "known connections, nothing exists yet: create (connections once it exists)",
                json!({"connections": ["db"]}),
                json!({}),
                |_, o| o.connections = Some(conns(&[("db", true)], None)),
                "Create(Web)",
            ),
            (
                "the application was created since the connections were listed: ask Auth0",
                json!({"connections": ["db"]}),
                json!({"clientId": "c1"}),
                |obj, o| {
                    o.by_status_id = Some(app(obj, "c1", json!({})));
                    o.connections = Some(conns(&[("db", true)], None));
                },
                "ReadConnections(c1)",
            ),
            (
                "connections differ: one patch step enables and disables them",
                json!({"connections": ["db"]}),
                json!({"clientId": "c1"}),
                |obj, o| {
                    o.by_status_id = Some(app(obj, "c1", json!({})));
                    o.connections = Some(conns(&[("db", true)], Some(&["google", "apple"])));
                },
                "Patch(c1: connections) +db -apple -google",
            ),
            (
                "fields and connections differ: one step for both",
                json!({"connections": [], "callbacks": ["https://web/cb"]}),
                json!({"clientId": "c1"}),
                |obj, o| {
                    o.by_status_id = Some(app(obj, "c1", json!({})));
                    o.connections = Some(conns(&[], Some(&["db"])));
                },
                "Patch(c1: callbacks,connections) -db",
            ),
            (
                "connections as named: the credential step",
                json!({"connections": ["db"]}),
                json!({"clientId": "c1"}),
                |obj, o| {
                    o.by_status_id = Some(app(obj, "c1", json!({})));
                    o.connections = Some(conns(&[("db", true)], Some(&["db"])));
                },
                "Credential(ReadSecret)",
            ),
            (
                "Observe: connections that differ are reported, never changed",
                json!({"clientId": "c9", "managementPolicy": "Observe", "connections": ["db"]}),
                json!({}),
                |obj, o| {
                    o.by_spec_id = Some(Some(app(obj, "c9", json!({}))));
                    o.connections = Some(conns(&[("db", true)], Some(&[])));
                },
                "Credential(ReadSecret)",
            ),
            (
                "connections of the management application: Protected, never changed",
                json!({"clientId": "mgmt-app", "connections": []}),
                json!({}),
                |obj, o| {
                    o.by_spec_id = Some(Some(app(obj, "mgmt-app", json!({}))));
                    o.connections = Some(conns(&[], Some(&["db"])));
                },
                "Refuse(Protected)",
            ),
        ];
        for (what, spec, status, setup, want) in cases {
            let obj = resource(spec, status);
            let mut o = Observed {
                rights: Rights {
                    tenant: "team-a/t".into(),
                    adopt: true,
                    unmanaged_apis: true,
                    management_client_id: "mgmt-app".into(),
                    ..Default::default()
                },
                ..Default::default()
            };
            setup(&obj, &mut o);
            assert_eq!(outcome(&plan(&obj, &o)), want, "{what}");
        }
    }

    #[test]
    fn what_the_events_say() {
        let obj = resource(json!({}), json!({}));
        let notes = |o: &Observed| {
            let mut seen = plan(&obj, o).seen;
            obj.notes(&mut seen)
                .notes
                .into_iter()
                .map(|(r, m)| format!("{}: {m}", r.as_str()))
                .collect::<Vec<_>>()
        };
        // Created by this reconcile.
        let mut o = Observed::default();
        o.did.created = true;
        o.tagged = Some(app(&obj, "c1", json!({})));
        settled(&obj, &mut o, "c1");
        assert_eq!(notes(&o), vec!["Created: Created Auth0 client c1"]);
        // Found by its tag after a lost answer.
        o.did.created = false;
        assert_eq!(
            notes(&o),
            vec![
                "Created: Found Auth0 client c1, created by an earlier attempt whose answer was lost"
            ]
        );
        // A stale Secret replaced, then the Secret written.
        let obj = resource(json!({}), json!({"clientId": "c1"}));
        let mut o = Observed {
            by_status_id: Some(app(&obj, "c1", json!({}))),
            ..Default::default()
        };
        o.did.stale_secret = Some(("web-auth0".into(), "web".into()));
        o.credential.wrote = true;
        let mut seen = plan(&obj, &o).seen;
        let reasons: Vec<_> = obj
            .notes(&mut seen)
            .notes
            .into_iter()
            .map(|n| n.0)
            .collect();
        assert_eq!(
            reasons,
            vec![EventReason::StaleSecretReplaced, EventReason::SecretWritten]
        );
        // Recreated: the status named an application Auth0 no longer has.
        let mut o = Observed::default();
        o.did.created = true;
        o.tagged = Some(app(&obj, "c2", json!({})));
        let p = plan(&obj, &o);
        assert!(p.seen.recreated);
    }
}
