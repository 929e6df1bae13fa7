//! Plans as data: what one reconcile of a managed kind will do next, decided in pure code.
//!
//! A reconcile observes (I/O only: the listings, the referenced objects, the Secret), then asks
//! the kind's pure `plan` for the [`Next`] step, which the [driver](super::driver) executes; the
//! answer is recorded in what was observed, and the kind plans again, until the plan is
//! [`Next::Done`] or [`Next::Refuse`]. A plan can be printed and compared in tests: "given this
//! spec, status and what Auth0 holds, the operator does exactly this next".
//!
//! Two decisions every kind shares live here once: whether a resource may take an Auth0 object
//! that already exists ([`may_take`]), and how a create is made crash-safe ([`CreateGuard`],
//! carried out by the driver).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::{Error, diff, status::Drift, tenant::Rights};
use crate::crd::ManagementPolicy;

/// What the driver does next for a resource.
#[derive(Debug)]
pub enum Next<C, S> {
    /// Nothing is left to do: Auth0 (and the Secret) match the spec, or are observed.
    Done,
    /// Stop here: `Ready=False` with the error's reason and sentence, a Warning event, and
    /// nothing else happens.
    Refuse(Error),
    /// Create the Auth0 object with this body, guarded the kind's way ([`CreateGuard`]).
    Create(C),
    /// A step of the kind's own (a patch, a Secret write, a credential step), as data.
    Do(S),
}

impl<C, S> Next<C, S> {
    /// The step's name, for logs and tests.
    pub fn name(&self) -> &'static str {
        match self {
            Next::Done => "Done",
            Next::Refuse(_) => "Refuse",
            Next::Create(_) => "Create",
            Next::Do(_) => "Do",
        }
    }
}

/// A plan: the next step, and what the status, the `Ready` message and the events say if the
/// reconcile ends here (on `Done`, on `Refuse`, or because the next step fails).
#[derive(Debug)]
pub struct Plan<C, S, Seen> {
    pub next: Next<C, S>,
    pub seen: Seen,
}

/// How a kind makes its create crash-safe: after a create whose answer was lost (the operator
/// was killed, the connection cut), the object Auth0 made must be recognised as this
/// resource's, never created twice and never left behind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateGuard {
    /// The object's key is unique in the tenant and the object carries no metadata (an API's
    /// identifier): the key is recorded in the resource's status *before* the create; an object
    /// with that key is then this resource's ([`Claim::Recorded`]).
    StatusIntent,
    /// The create body carries the resource's UID (an application's metadata): after a create
    /// without a clear answer the listing is refreshed before the next look, so the object is
    /// found by its tag ([`Claim::Recorded`]) instead of being created again.
    Tagged,
    /// The object is unique by its key (a grant's client and audience): a 409 means it exists,
    /// so the driver looks again and the plan decides whether it may be taken.
    UniqueKey,
}

/// Why a resource might take an existing Auth0 object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// The resource made it: its create intent or its UID tag names it (a create whose answer
    /// was lost).
    Recorded,
    /// The spec asks for it: `adopt: true`, `clientId`, `grantId`.
    Asked,
    /// Nothing of the resource names it, but the object is the only one its key allows and any
    /// resource with that key describes it (a client grant for a client and an audience).
    SameKey,
    /// Nothing names it.
    Unclaimed,
}

/// How a resource takes an existing object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Take {
    /// It is the resource's own (made by it): taken back, no adoption.
    Own,
    /// It was made elsewhere: adopted (the operator updates it to the spec and, with
    /// `deletionPolicy: Delete`, deletes it with the resource).
    Adopt,
}

/// The existing Auth0 object a resource might take.
#[derive(Clone, Debug)]
pub struct Existing<'a> {
    /// What it is and its key, as a sentence names it: `an API with identifier https://x/`.
    pub what: String,
    /// Why no resource may ever take it (`"the tenant's management application"`), if so.
    pub protected: Option<&'static str>,
    /// Who manages it ([`owner`]).
    pub owner: Owner,
    /// How the user can take it, for the refusal: `set spec.adopt: true to manage it …`.
    pub remedy: &'a str,
}

/// Who manages an Auth0 object, derived from what survives restarts and leader changes: the
/// object's ownership tag and the resources' status and spec ([`owner`]).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Owner {
    /// No live resource claims it (made in the dashboard, or orphaned).
    #[default]
    Nobody,
    /// The resource being reconciled.
    This,
    /// Another live resource: its kind, namespace and name (named in sentences only when it is
    /// in the same namespace).
    Other {
        kind: &'static str,
        namespace: String,
        name: String,
    },
}

/// How strongly a resource claims an object: its UID tag on the object, then its status naming
/// it, then its spec asking for it; `None`: it does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    Asked,
    Recorded,
    Tagged,
}

/// A resource that claims an object, for [`owner`].
#[derive(Clone, Debug)]
pub struct Claimant {
    pub uid: String,
    pub namespace: String,
    pub name: String,
    /// `metadata.creationTimestamp` (RFC 3339): among equal claims the oldest resource wins.
    pub created: String,
    pub strength: Strength,
}

/// The owner of an object among the live resources that claim it (every namespace of the
/// tenant): the strongest claim wins, then the oldest resource, then the smaller UID. Two
/// resources racing for one unmanaged object thus agree, in every process, on exactly one.
/// A request alone is not ownership (`This` needs a recorded claim, else the claim decides).
/// The observer leaves out the requests of namespaces that may not adopt
/// ([`Context::adopters`](super::Context::adopters)): they cannot block anyone.
pub fn owner(
    this_uid: &str,
    _namespace: &str,
    kind: &'static str,
    claimants: &[Claimant],
) -> Owner {
    let best = claimants.iter().min_by(|a, b| {
        b.strength
            .cmp(&a.strength)
            .then_with(|| a.created.cmp(&b.created))
            .then_with(|| a.uid.cmp(&b.uid))
    });
    match best {
        None => Owner::Nobody,
        Some(c) if c.uid == this_uid && c.strength > Strength::Asked => Owner::This,
        Some(c) if c.uid == this_uid => Owner::Nobody,
        Some(c) => Owner::Other {
            kind,
            namespace: c.namespace.to_string(),
            name: c.name.to_string(),
        },
    }
}

/// The one adoption decision: may a resource of namespace `rights` describes take this
/// existing object? Every path that binds a resource to an object that exists already (an id
/// in the spec, `adopt`, a key that is taken, the 409 of a create, a create whose answer was
/// lost, `managementPolicy: Observe`) asks here. In order: a protected object is nobody's; an
/// object another resource manages is that resource's; the resource's own is taken back; an
/// unmanaged object is adopted when the resource asks and the tenant's policy lets its
/// namespace adopt.
pub fn may_take(
    existing: &Existing<'_>,
    claim: Claim,
    namespace: &str,
    rights: &Rights,
) -> Result<Take, Error> {
    if let Some(why) = existing.protected {
        return Err(Error::Protected(format!(
            "{} is {why}: no resource may adopt, change or delete it, in any namespace; point this resource at an object of its own",
            existing.what
        )));
    }
    match &existing.owner {
        Owner::Other {
            kind,
            namespace: theirs,
            name,
        } => {
            let who = if theirs == namespace {
                format!("{kind} {name} in this namespace")
            } else {
                "a resource in another namespace".to_string()
            };
            return Err(Error::OwnedElsewhere(format!(
                "{} is managed by {who}; this resource leaves it alone (deleting it never touches it): point it at an object of its own",
                existing.what
            )));
        }
        Owner::This => return Ok(Take::Own),
        Owner::Nobody => {}
    }
    match claim {
        Claim::Recorded => Ok(Take::Own),
        Claim::Asked | Claim::SameKey if rights.adopt => Ok(Take::Adopt),
        Claim::Asked | Claim::SameKey => Err(Error::AdoptionNotAllowed(format!(
            "{} exists in tenant {} and no resource manages it; the tenant's spec.policy.adoption does not allow namespace {namespace} to adopt it: ask the tenant's owner, or let the operator create a new one",
            existing.what, rights.tenant
        ))),
        Claim::Unclaimed => Err(Error::AlreadyExists(format!(
            "{} already exists in tenant {} and was not created by this resource; {}",
            existing.what, rights.tenant, existing.remedy
        ))),
    }
}

/// What comparing an Auth0 object with the spec found, every kind the same way: the drift to
/// report (the fields this reconcile's PATCH sent, else those that differ now) and whether a
/// PATCH of the differing fields is due: under `Manage`, when anything differs (`differs`), and
/// once per reconcile (what a PATCH did not set is drift for the next one to report).
pub fn compare(
    policy: ManagementPolicy,
    differing: &[String],
    differs: bool,
    patched: &[String],
    generation: Option<i64>,
    conditions: &[Condition],
) -> (Drift, bool) {
    let found = if patched.is_empty() {
        differing
    } else {
        patched
    };
    let drift = Drift::found(
        policy,
        diff::spec_field_names(found),
        generation,
        conditions,
    );
    let patch = differs && policy == ManagementPolicy::Manage && patched.is_empty();
    (drift, patch)
}

/// What a grant sees of the client or the API it uses: a change of it wakes the grant
/// ([`Kind::dependents_see_change`](super::Kind::dependents_see_change)).
#[derive(Debug, PartialEq)]
pub(crate) struct SeenByGrants<'a> {
    /// Which object (one deleted and made again under the same name is another).
    pub(crate) uid: Option<&'a str>,
    /// The spec, when the grant uses it (an API's scopes and `allowedConsumers`).
    pub(crate) generation: Option<i64>,
    /// Going away.
    pub(crate) deleting: bool,
    /// The `Ready` condition's status (`None`: never reconciled).
    pub(crate) ready: Option<&'a str>,
    /// Its id in Auth0.
    pub(crate) id: Option<&'a str>,
}

impl<'a> SeenByGrants<'a> {
    /// What grants see of an object with this metadata and these conditions, its `id` in
    /// Auth0 and, when they use its spec, its `generation`.
    pub(crate) fn new(
        meta: &'a kube::api::ObjectMeta,
        conditions: &'a [Condition],
        id: Option<&'a str>,
        generation: Option<i64>,
    ) -> Self {
        SeenByGrants {
            uid: meta.uid.as_deref(),
            generation,
            deleting: meta.deletion_timestamp.is_some(),
            ready: crate::crd::ready_condition(conditions).map(|r| r.status.as_str()),
            id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::Reason;

    fn api(protected: bool, owner: Owner) -> Existing<'static> {
        Existing {
            what: "an API with identifier https://x/".into(),
            protected: protected.then_some("the tenant's Management API"),
            owner,
            remedy: "set spec.adopt: true to manage it",
        }
    }

    fn rights(adopt: bool) -> Rights {
        Rights {
            tenant: "team-a/t".into(),
            adopt,
            ..Default::default()
        }
    }

    #[test]
    fn the_comparison_patches_once_under_manage_and_reports_what_it_found() {
        use crate::controller::status;
        let synced = vec![status::ready(true, "Synced", "ok", Some(1), &[])];
        let name = vec!["name".to_string()];
        let manage = ManagementPolicy::Manage;
        // Differs: a patch is due; the differing fields are the drift (corrected: spec unchanged).
        let (d, patch) = compare(manage, &name, true, &[], Some(1), &synced);
        assert!(patch);
        assert_eq!((d.fields.clone(), d.corrected), (name.clone(), true));
        // After the patch: no second one, and what it sent stays the drift.
        let (d, patch) = compare(manage, &[], false, &name, Some(1), &synced);
        assert!(!patch);
        assert_eq!(d.fields, name);
        let (_, patch) = compare(manage, &name, true, &name, Some(1), &synced);
        assert!(!patch, "one PATCH per reconcile");
        // Observe: reported, never patched.
        let (d, patch) = compare(
            ManagementPolicy::Observe,
            &name,
            true,
            &[],
            Some(1),
            &synced,
        );
        assert!(!patch && !d.corrected);
        assert_eq!(d.fields, name);
        // In sync: nothing.
        let (d, patch) = compare(manage, &[], false, &[], Some(1), &synced);
        assert!(!patch && d.fields.is_empty());
    }

    #[test]
    fn who_may_take_an_existing_object() {
        let all = [
            Claim::Recorded,
            Claim::Asked,
            Claim::SameKey,
            Claim::Unclaimed,
        ];
        let take = |e: &Existing<'_>, claim, adopt| {
            may_take(e, claim, "team-a", &rights(adopt)).map_err(|e| e.reason())
        };
        // Nobody manages it: the resource's own is taken back; asking adopts where the policy
        // allows; an unclaimed one is reported.
        for (claim, adopt, want) in [
            (Claim::Recorded, false, Ok(Take::Own)),
            (Claim::Asked, true, Ok(Take::Adopt)),
            (Claim::SameKey, true, Ok(Take::Adopt)),
            (Claim::Asked, false, Err(Reason::AdoptionNotAllowed)),
            (Claim::SameKey, false, Err(Reason::AdoptionNotAllowed)),
            (Claim::Unclaimed, true, Err(Reason::AlreadyExists)),
        ] {
            assert_eq!(
                take(&api(false, Owner::Nobody), claim, adopt),
                want,
                "{claim:?} {adopt}"
            );
        }
        assert_eq!(
            may_take(
                &api(false, Owner::Nobody),
                Claim::Unclaimed,
                "team-a",
                &rights(true)
            )
            .unwrap_err()
            .to_string(),
            "an API with identifier https://x/ already exists in tenant team-a/t and was not created by this resource; set spec.adopt: true to manage it"
        );
        assert_eq!(
            may_take(
                &api(false, Owner::Nobody),
                Claim::Asked,
                "team-a",
                &rights(false)
            )
            .unwrap_err()
            .to_string(),
            "an API with identifier https://x/ exists in tenant team-a/t and no resource manages it; the tenant's spec.policy.adoption does not allow namespace team-a to adopt it: ask the tenant's owner, or let the operator create a new one"
        );
        // Protected: refused whatever claims it, whatever the policy.
        for claim in all {
            assert_eq!(
                take(&api(true, Owner::This), claim, true),
                Err(Reason::Protected),
                "{claim:?}"
            );
        }
        // Another resource manages it: refused, whatever claims it; its name only when it is
        // in the same namespace.
        let other = |ns: &str| Owner::Other {
            kind: "Auth0ResourceServer",
            namespace: ns.into(),
            name: "orders".into(),
        };
        for claim in all {
            assert_eq!(
                take(&api(false, other("team-b")), claim, true),
                Err(Reason::OwnedElsewhere),
                "{claim:?}"
            );
        }
        let e = may_take(
            &api(false, other("team-b")),
            Claim::Asked,
            "team-a",
            &rights(true),
        );
        assert_eq!(
            e.unwrap_err().to_string(),
            "an API with identifier https://x/ is managed by a resource in another namespace; this resource leaves it alone (deleting it never touches it): point it at an object of its own"
        );
        let e = may_take(
            &api(false, other("team-a")),
            Claim::Asked,
            "team-a",
            &rights(true),
        );
        assert!(
            e.unwrap_err()
                .to_string()
                .contains("is managed by Auth0ResourceServer orders in this namespace;")
        );
        // This resource is the owner: its own, whatever the claim says.
        for claim in all {
            assert_eq!(take(&api(false, Owner::This), claim, false), Ok(Take::Own));
        }
    }

    #[test]
    fn the_strongest_then_oldest_claim_owns() {
        let c = |uid: &str, ns: &str, created: &str, strength| Claimant {
            uid: uid.into(),
            namespace: ns.into(),
            name: uid.into(),
            created: created.into(),
            strength,
        };
        let other = |ns: &str, name: &str| Owner::Other {
            kind: "K",
            namespace: ns.into(),
            name: name.into(),
        };
        assert_eq!(owner("a", "team-a", "K", &[]), Owner::Nobody);
        // Two resources of one namespace asking for the same unmanaged object: the older one
        // may take it (the claim decides), the other is refused, in any process.
        let race = [
            c("b", "team-a", "2026-12-01T10:00:01Z", Strength::Asked),
            c("a", "team-a", "2026-12-01T10:00:00Z", Strength::Asked),
        ];
        assert_eq!(owner("a", "team-a", "K", &race), Owner::Nobody);
        assert_eq!(owner("b", "team-a", "K", &race), other("team-a", "a"));
        // Across namespaces (both may adopt: the observer left out those that may not), the
        // older request too: exactly one adopts.
        let elsewhere = [
            c("x", "team-b", "2026-12-01T09:00:00Z", Strength::Asked),
            c("a", "team-a", "2026-12-01T10:00:00Z", Strength::Asked),
        ];
        assert_eq!(owner("a", "team-a", "K", &elsewhere), other("team-b", "x"));
        assert_eq!(owner("x", "team-b", "K", &elsewhere), Owner::Nobody);
        // A recorded claim owns, in any namespace, and beats an older request; a tag beats
        // both.
        let recorded = [
            c("a", "team-a", "2026-12-01T10:00:00Z", Strength::Asked),
            c("b", "team-b", "2026-12-01T10:00:01Z", Strength::Recorded),
        ];
        assert_eq!(owner("b", "team-b", "K", &recorded), Owner::This);
        assert_eq!(owner("a", "team-a", "K", &recorded), other("team-b", "b"));
        let tagged = [
            c("a", "team-a", "2026-12-01T10:00:00Z", Strength::Recorded),
            c("b", "team-b", "2026-12-01T10:00:01Z", Strength::Tagged),
        ];
        assert_eq!(owner("b", "team-b", "K", &tagged), Owner::This);
        assert_eq!(owner("a", "team-a", "K", &tagged), other("team-b", "b"));
        // Two recorded claims (both adopted in a race between namespaces): the older one.
        let both = [
            c("b", "y", "2026-12-01T10:00:01Z", Strength::Recorded),
            c("a", "x", "2026-12-01T10:00:00Z", Strength::Recorded),
        ];
        assert_eq!(owner("a", "x", "K", &both), Owner::This);
        assert_eq!(owner("b", "y", "K", &both), other("x", "a"));
        // Same time: the smaller UID.
        let tie = [
            c("b", "x", "2026-12-01T10:00:00Z", Strength::Recorded),
            c("a", "y", "2026-12-01T10:00:00Z", Strength::Recorded),
        ];
        assert_eq!(owner("a", "y", "K", &tie), Owner::This);
    }
}
