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

use super::{Error, diff, status::Drift};
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
    /// The tenant it lives in.
    pub tenant: &'a str,
    /// An object of Auth0's own (a system API such as the Management API): never managed.
    pub system: bool,
    /// How the user can take it, for the refusal: `set spec.adopt: true to manage it …`.
    pub remedy: &'a str,
}

/// The one adoption decision: may this resource take this existing object? Every path that
/// binds a resource to an object that exists already (an id in the spec, `adopt`, a key that
/// is taken, the 409 of a create, a create whose answer was lost) asks here.
pub fn may_take(existing: &Existing<'_>, claim: Claim) -> Result<Take, Error> {
    if existing.system {
        return Err(Error::InvalidSpec(format!(
            "{} is a system object of Auth0 (such as the Management API): it cannot be managed by a resource",
            existing.what
        )));
    }
    match claim {
        Claim::Recorded => Ok(Take::Own),
        Claim::Asked | Claim::SameKey => Ok(Take::Adopt),
        Claim::Unclaimed => Err(Error::AlreadyExists(format!(
            "{} already exists in tenant {} and was not created by this resource; {}",
            existing.what, existing.tenant, existing.remedy
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::Reason;

    fn api(system: bool) -> Existing<'static> {
        Existing {
            what: "an API with identifier https://x/".into(),
            tenant: "team-a/t",
            system,
            remedy: "set spec.adopt: true to manage it",
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
        for (claim, want) in [
            (Claim::Recorded, Ok(Take::Own)),
            (Claim::Asked, Ok(Take::Adopt)),
            (Claim::SameKey, Ok(Take::Adopt)),
            (Claim::Unclaimed, Err(Reason::AlreadyExists)),
        ] {
            let got = may_take(&api(false), claim).map_err(|e| e.reason());
            assert_eq!(got, want, "{claim:?}");
        }
        let e = may_take(&api(false), Claim::Unclaimed).unwrap_err();
        assert_eq!(
            e.to_string(),
            "an API with identifier https://x/ already exists in tenant team-a/t and was not created by this resource; set spec.adopt: true to manage it"
        );
        // A system object: refused whatever claims it.
        for claim in [
            Claim::Recorded,
            Claim::Asked,
            Claim::SameKey,
            Claim::Unclaimed,
        ] {
            let e = may_take(&api(true), claim).unwrap_err();
            assert_eq!(e.reason(), Reason::InvalidSpec, "{claim:?}");
        }
    }
}
