//! An `Auth0Client`'s credential, pure: given what its Secret holds, what Auth0 has for the
//! application (the keys it lists, the credentials registered for it, its secret when read)
//! and the clock, the next step — issue the first credential, rotate a client secret
//! (`Staged`, `Immediate`) or a private key, switch methods, retire a previous key, delete a
//! key of the operator's that nothing lists — or, when nothing is left to do, what the status
//! says. The client's reconcile runs each step through the [driver](crate::controller::driver)
//! and asks again, so a rotation is a sequence of plans, each a table-tested decision.
//!
//! Crash safety comes from the order the steps are decided in, never from memory: new material
//! is written to the Secret before Auth0 learns it, and every decision is made again from the
//! Secret and Auth0's state. Keys the operator registered are recognised by what Auth0 lists
//! for the application (the operator's credential names), so a stop between two steps cannot
//! strand one. The rules of what is due are in [`credentials`](super::credentials).

use std::time::Duration;

use k8s_openapi::{api::core::v1::Secret, jiff::Timestamp};

use super::credentials::{
    Held, Schedule, after, algorithm, credential_name, due, is_ours, method, requested, rfc3339,
    until,
};
use crate::controller::{
    Error,
    secret::{
        shape,
        template::{self, Credential},
    },
};
use crate::{
    auth0::{
        Client, ClientAuthenticationMethods, ClientCredential, ClientCredentialCreate,
        Secret as SecretValue,
    },
    crd::{Auth0Client, AuthenticationMethod, EventReason, KeyAlgorithm, RotationStrategy},
};

/// An event to publish once its step succeeded.
pub type Note = (EventReason, String);

/// What one reconcile learned about the application's credential, and what its credential
/// steps did so far (the journal the next plan reads).
#[derive(Default)]
pub struct World {
    /// The tenant's domain (the Secret's `AUTH0_DOMAIN`).
    pub domain: String,
    /// The clock, read once per reconcile.
    pub now: Timestamp,
    /// Auth0's credentials of this application were listed since the operator started: no
    /// earlier process's stop can have stranded a key of it unnoticed.
    pub verified: bool,
    /// The Secret as this reconcile last wrote it, and what it holds.
    pub written: Option<(Secret, Held)>,
    /// Auth0's credentials of the application, once listed.
    pub credentials: Option<Vec<ClientCredential>>,
    /// The application's secret as Auth0 has it, once read (or set, or rotated).
    pub live: Option<SecretValue>,
    /// The secret of an application this reconcile created, until the Secret holds it.
    pub fresh: Option<SecretValue>,
    /// The keys the application lists were changed by this reconcile.
    pub keys_changed: bool,
    /// The previous Secret (before `spec.secretName` changed) was deleted.
    pub old_secret_deleted: bool,
    /// The Secret was written by this reconcile.
    pub wrote: bool,
    /// Events of the steps done, in order.
    pub notes: Vec<Note>,
}

impl std::fmt::Debug for World {
    // Never the Secret's data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("World")
            .field("now", &self.now)
            .field("verified", &self.verified)
            .field("written", &self.written.as_ref().map(|(_, h)| h))
            .field("credentials", &self.credentials)
            .field("keys_changed", &self.keys_changed)
            .field("notes", &self.notes)
            .finish_non_exhaustive()
    }
}

impl World {
    /// The Secret as it is now: the one this reconcile wrote, else the one it observed.
    pub fn secret<'a>(&'a self, observed: Option<&'a Secret>) -> Option<&'a Secret> {
        self.written.as_ref().map(|(s, _)| s).or(observed)
    }
}

/// New material the executor generates for a [`Step::Write`] (randomness is not a decision).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generate {
    /// A client secret, published as `AUTH0_CLIENT_SECRET_NEXT` (`Staged`).
    NextSecret,
    /// A key pair, held as the pending key until it is registered.
    Key(KeyAlgorithm),
}

/// One step of the credential's lifecycle.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Write the Secret holding `held` (plus the material `generate` asks for), guarded by its
    /// UID and resourceVersion; created when absent.
    Write {
        held: Box<Held>,
        generate: Option<Generate>,
        note: Option<Note>,
    },
    /// `GET /api/v2/clients/{id}`: the secret Auth0 has (needs `read:client_keys`).
    ReadSecret,
    /// `POST /api/v2/clients/{id}/rotate-secret` (`Immediate`).
    RotateSecret,
    /// `PATCH /api/v2/clients/{id}` with the published next secret (`Staged` goes live).
    SetSecret(SecretValue),
    /// `GET /api/v2/clients/{id}/credentials`.
    ListCredentials,
    /// `POST /api/v2/clients/{id}/credentials`: the pending key's public half.
    Register(ClientCredentialCreate),
    /// `PATCH /api/v2/clients/{id}`: the private-key JWT credentials the application lists
    /// (and no token endpoint method beside them when `detach_secret`).
    ListKeys {
        ids: Vec<String>,
        detach_secret: bool,
        note: Option<Note>,
    },
    /// `DELETE /api/v2/clients/{id}/credentials/{credential}`: a key of the operator's that
    /// nothing lists.
    DeleteCredential(String),
    /// Delete the Secret of the previous `spec.secretName` (if this resource owns it).
    DeleteOldSecret(String),
}

/// What the status says once the credential needs nothing more.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Report {
    /// `Rotating=True` with this reason and message while a hand-over is in progress.
    pub rotating: Option<(&'static str, String)>,
    /// Reconcile again after this long (a hand-over's next step, the next scheduled rotation).
    pub requeue_after: Option<Duration>,
    pub last_rotation: Option<String>,
    pub next_rotation: Option<String>,
    /// The credential ids the application lists (privateKeyJwt), `None` for a secret client.
    pub credential_ids: Option<Vec<String>>,
}

/// The next step, or the report when there is none.
#[derive(Debug, PartialEq)]
pub enum Decision {
    Do(Step),
    Done(Report),
}

/// The status while a hand-over waits for its time.
#[derive(Default)]
struct Pass {
    rotating: Option<(&'static str, String)>,
    requeue: Option<Duration>,
}

impl Pass {
    fn requeue(&mut self, d: Duration) {
        let d = d.max(Duration::from_millis(200));
        self.requeue = Some(self.requeue.map_or(d, |r| r.min(d)));
    }
}

/// Where a method's plan ended.
enum Flow {
    Step(Step),
    /// The Secret is current and nothing is due; it need not be rendered (its secret may not
    /// even be readable from it).
    Quiet,
    /// The Secret should hold what the plan made of it.
    Settle,
}

/// What `obj`'s credential needs next. `client` is the application as Auth0 has it now,
/// `observed` the resource's Secret as the reconcile read it (absent or this resource's), `w`
/// what the reconcile learned and did since. An invalid template is an error.
pub fn next(
    obj: &Auth0Client,
    client: &Client,
    observed: Option<&Secret>,
    w: &World,
) -> Result<Decision, Error> {
    let client_id = client.client_id.as_str();
    let requested = requested(obj);
    let observe = obj.spec.management_policy == crate::crd::ManagementPolicy::Observe;
    let existing = w.secret(observed);
    let mut want = match (&w.written, observed) {
        (Some((_, held)), _) => held.clone(),
        (None, Some(s)) => Held::read(s, &w.domain, client_id),
        // A new Secret answers the rotate annotation as it is now.
        (None, None) => Held {
            rotate_handled: Some(requested.clone()),
            ..Default::default()
        },
    };
    let method = method(&obj.spec);
    let listed = client
        .client_authentication_methods
        .as_ref()
        .and_then(ClientAuthenticationMethods::private_key_jwt_ids);
    let listed_ids = listed.clone().unwrap_or_default();

    if !observe && let Some(step) = leftover(obj, method, &want, &listed_ids, existing, w) {
        return Ok(Decision::Do(step));
    }
    let mut pass = Pass::default();
    let flow = match method {
        AuthenticationMethod::ClientSecret => {
            let up_to_date = observed.is_some_and(|s| {
                w.written.is_none() && shape::secret_up_to_date(s, obj, &w.domain, client_id)
            });
            secret_method(
                obj, client_id, &mut want, up_to_date, w, &requested, &mut pass,
            )
        }
        AuthenticationMethod::PrivateKeyJwt => {
            key_method(obj, client, &mut want, listed, w, &requested, &mut pass)
        }
    };
    let schedule = Schedule::of(&obj.spec);
    match flow {
        Flow::Step(step) => return Ok(Decision::Do(step)),
        Flow::Quiet => {}
        Flow::Settle => {
            if want.rotated_at.is_none() {
                want.rotated_at = Some(w.now);
            }
            if want.rotate_handled.is_none() && schedule.every.is_some() {
                want.rotate_handled = Some(String::new());
            }
            let desired = shape::credentials_secret(obj, &w.domain, client_id, &want)
                .map_err(Error::InvalidSpec)?;
            if !existing.is_some_and(|e| shape::secret_matches(e, &desired)) {
                return Ok(Decision::Do(Step::Write {
                    held: Box::new(want),
                    generate: None,
                    note: None,
                }));
            }
        }
    }
    if let Some(old) = obj.status.as_ref().and_then(|s| s.secret_name.clone())
        && old != obj.secret_name()
        && !w.old_secret_deleted
    {
        return Ok(Decision::Do(Step::DeleteOldSecret(old)));
    }
    let next_rotation = schedule.next(want.rotated_at);
    if let Some(at) = next_rotation {
        pass.requeue(until(w.now, at));
    }
    Ok(Decision::Done(Report {
        rotating: pass.rotating,
        requeue_after: pass.requeue,
        last_rotation: want.rotated_at.map(rfc3339),
        next_rotation: next_rotation.map(rfc3339),
        credential_ids: (method == AuthenticationMethod::PrivateKeyJwt).then_some(listed_ids),
    }))
}

/// A key of the operator's that nothing lists (left by a switch back to a client secret, a
/// retired key, a stop between two steps): deleted, after listing Auth0's credentials. They
/// are listed when a leftover can exist: a key is pending or was just (un)listed, the ids
/// the status recorded are not the ones listed, the Secret is new or holds key material the
/// method does not use, or this process has not looked at the application yet. The pending
/// key is kept (it may be registered and not yet listed).
fn leftover(
    obj: &Auth0Client,
    method: AuthenticationMethod,
    held: &Held,
    listed: &[String],
    existing: Option<&Secret>,
    w: &World,
) -> Option<Step> {
    let recorded = obj
        .status
        .as_ref()
        .and_then(|s| s.credential_ids.clone())
        .unwrap_or_default();
    let differ = recorded.iter().any(|id| !listed.contains(id))
        || listed.iter().any(|id| !recorded.contains(id));
    let (look, keep) = match method {
        AuthenticationMethod::PrivateKeyJwt => (
            held.pending_key.is_some() || w.keys_changed || existing.is_none() || !w.verified,
            held.pending_key.as_ref().map(|(p, _)| p.kid.as_str()),
        ),
        AuthenticationMethod::ClientSecret => (
            held.pending_key.is_some() || held.key().is_some() || !listed.is_empty(),
            None,
        ),
    };
    if !(look || differ || w.credentials.is_some()) {
        return None;
    }
    let Some(creds) = &w.credentials else {
        return Some(Step::ListCredentials);
    };
    creds
        .iter()
        .find(|c| {
            is_ours(c.name.as_deref())
                && !listed.contains(&c.id)
                && (keep.is_none() || c.kid.as_deref() != keep)
        })
        .map(|c| Step::DeleteCredential(c.id.clone()))
}

/// A short, public name of the current credential for events: the start of its credentials
/// hash (as on the Secret's annotation; never the value).
fn fingerprint(domain: &str, client_id: &str, held: &Held) -> String {
    let hash = held.current.as_ref().map(|credential| {
        template::credentials_hash(&template::Variables {
            domain,
            client_id,
            credential,
        })
    });
    let hash = hash.unwrap_or_default();
    format!("credentials hash {}", hash.get(..19).unwrap_or(&hash))
}

fn write(held: &Held, note: Option<Note>) -> Flow {
    Flow::Step(Step::Write {
        held: Box::new(held.clone()),
        generate: None,
        note,
    })
}

/// The client-secret method.
fn secret_method(
    obj: &Auth0Client,
    client_id: &str,
    want: &mut Held,
    up_to_date: bool,
    w: &World,
    requested: &str,
    pass: &mut Pass,
) -> Flow {
    let now = w.now;
    let schedule = Schedule::of(&obj.spec);
    // Leftovers of the private-key method (a switch back).
    let switched_back = want.pending_key.take().is_some()
        | want.credential_id.take().is_some()
        | want.key().is_some();
    let live = w.live.as_ref().map(SecretValue::expose);
    if let Some(fresh) = &w.fresh
        && want.secret() != Some(fresh.expose())
    {
        want.promote(
            Credential::Secret(fresh.expose().to_string()),
            now,
            requested,
        );
    }
    if obj.spec.management_policy == crate::crd::ManagementPolicy::Observe {
        // Nothing is rotated or finished: the Secret holds what Auth0 has.
        want.next_secret = None;
        want.next_published_at = None;
        want.rotating_since = None;
        if want.secret().is_none() {
            let Some(live) = live else {
                return Flow::Step(Step::ReadSecret);
            };
            want.current = Some(Credential::Secret(live.to_string()));
        }
        return Flow::Settle;
    }
    // An Immediate rotation was started (the Secret says so): did Auth0 rotate?
    if let Some(since) = want.rotating_since {
        return match live {
            // Started by this reconcile: Auth0 has not rotated yet.
            None if since == now => Flow::Step(Step::RotateSecret),
            None => Flow::Step(Step::ReadSecret),
            Some(live) if Some(live) != want.secret() => {
                want.rotating_since = None;
                want.next_secret = None;
                want.next_published_at = None;
                want.promote(Credential::Secret(live.to_string()), now, requested);
                let note = (
                    EventReason::Rotated,
                    format!(
                        "Rotated the client secret ({}) with Auth0's rotate-secret (Immediate: the previous secret stopped working at once)",
                        fingerprint(&w.domain, client_id, want)
                    ),
                );
                write(want, Some(note))
            }
            Some(_) => Flow::Step(Step::RotateSecret),
        };
    }
    let overlap = schedule.overlap;
    if want.next_secret.is_none()
        && let Some(why) = due(&schedule, want, requested, now)
    {
        return match schedule.strategy {
            RotationStrategy::Staged => {
                // New material goes to the Secret before Auth0 learns it.
                want.next_published_at = Some(now);
                let note = (
                    EventReason::NextSecretPublished,
                    format!(
                        "Rotating the client secret ({why}): the next secret is published as AUTH0_CLIENT_SECRET_NEXT and goes live in Auth0 at {}",
                        rfc3339(after(now, overlap))
                    ),
                );
                Flow::Step(Step::Write {
                    held: Box::new(want.clone()),
                    generate: Some(Generate::NextSecret),
                    note: Some(note),
                })
            }
            RotationStrategy::Immediate => {
                // The intent goes to the Secret before Auth0 rotates.
                want.rotating_since = Some(now);
                write(want, None)
            }
        };
    }
    if let Some(next) = want.next_secret.clone() {
        let live_at = after(want.next_published_at.unwrap_or(now), overlap);
        if now < live_at {
            pass.rotating = Some((
                "NextSecretPublished",
                format!(
                    "The next client secret is published as AUTH0_CLIENT_SECRET_NEXT; it goes live in Auth0 at {}",
                    rfc3339(live_at)
                ),
            ));
            pass.requeue(until(now, live_at));
        } else if live != Some(next.as_str()) {
            // Idempotent: after a stop this sets the same secret again.
            return Flow::Step(Step::SetSecret(SecretValue::new(next)));
        } else {
            want.next_secret = None;
            want.next_published_at = None;
            want.promote(Credential::Secret(next), now, requested);
            let note = (
                EventReason::Rotated,
                format!(
                    "Rotated the client secret ({}): the published next secret is live in Auth0 and is now AUTH0_CLIENT_SECRET",
                    fingerprint(&w.domain, client_id, want)
                ),
            );
            return write(want, Some(note));
        }
    }
    if want.secret().is_none() {
        let quiet = up_to_date
            && !switched_back
            && want.next_secret.is_none()
            && due(&schedule, want, requested, now).is_none();
        if quiet {
            return Flow::Quiet;
        }
        // Not in the Secret (a new Secret, a template without it, a switch back): Auth0's.
        let Some(live) = live else {
            return Flow::Step(Step::ReadSecret);
        };
        want.current = Some(Credential::Secret(live.to_string()));
    }
    Flow::Settle
}

/// The private-key JWT method.
fn key_method(
    obj: &Auth0Client,
    client: &Client,
    want: &mut Held,
    listed: Option<Vec<String>>,
    w: &World,
    requested: &str,
    pass: &mut Pass,
) -> Flow {
    let now = w.now;
    let schedule = Schedule::of(&obj.spec);
    let alg = algorithm(&obj.spec);
    // Leftovers of the secret method (a switch).
    want.next_secret = None;
    want.next_published_at = None;
    want.rotating_since = None;
    let detach_secret = listed.is_none() || client.token_endpoint_auth_method.is_some();
    let listed_ids = listed.clone().unwrap_or_default();
    let current = want.key().map(|(p, a)| (p.kid.clone(), a));
    let current_id = want
        .credential_id
        .clone()
        .filter(|id| current.is_some() && listed_ids.contains(id));
    // The pending key's credential, once registered (the leftover check listed them first).
    let pending_id = want.pending_key.as_ref().and_then(|(pair, _)| {
        w.credentials
            .iter()
            .flatten()
            .find(|c| c.kid.as_deref() == Some(pair.kid.as_str()))
            .map(|c| c.id.clone())
    });
    // The previous key (or a key someone else listed), never the one being handed over to.
    let others: Vec<String> = listed_ids
        .iter()
        .filter(|id| Some(*id) != current_id.as_ref() && Some(*id) != pending_id.as_ref())
        .cloned()
        .collect();
    let overlap = schedule.overlap;
    // The previous key retires once its overlap is over (then it is a leftover, deleted).
    if let Some(cur) = &current_id
        && !others.is_empty()
    {
        let retire_at = after(want.rotated_at.unwrap_or(now), overlap);
        if now >= retire_at {
            let note = (
                EventReason::KeyRetired,
                format!(
                    "The overlap ended: retired the previous key ({}); only the current key {} is registered",
                    others.join(", "),
                    current
                        .as_ref()
                        .map(|(kid, _)| kid.as_str())
                        .unwrap_or_default()
                ),
            );
            return Flow::Step(Step::ListKeys {
                ids: vec![cur.clone()],
                detach_secret: false,
                note: Some(note),
            });
        }
        in_overlap(pass, now, retire_at);
    }
    // A new key when there is none that works, the algorithm changed, or one is due.
    let why = match &current {
        None => Some("the application has no key yet"),
        Some(_) if current_id.is_none() => Some("the Secret's key is not registered in Auth0"),
        Some((_, a)) if *a != alg => Some("authentication.algorithm changed"),
        Some(_) => due(&schedule, want, requested, now),
    };
    if let Some(why) = why
        && want.pending_key.is_none()
    {
        if current_id.is_some() && !others.is_empty() {
            // At most two keys: the next one waits for the previous one to retire.
            pass.rotating = Some((
                "RotationWaiting",
                format!("A rotation is due ({why}); it starts when the previous key retires"),
            ));
        } else {
            // New material goes to the Secret before Auth0 learns it.
            return Flow::Step(Step::Write {
                held: Box::new(want.clone()),
                generate: Some(Generate::Key(alg)),
                note: None,
            });
        }
    }
    let Some((pair, palg)) = want.pending_key.clone() else {
        return Flow::Settle;
    };
    // The pending key: registered (found by its kid), listed beside the current one, promoted.
    let Some(creds) = &w.credentials else {
        return Flow::Step(Step::ListCredentials);
    };
    let Some(cred) = creds
        .iter()
        .find(|c| c.kid.as_deref() == Some(pair.kid.as_str()))
    else {
        return Flow::Step(Step::Register(ClientCredentialCreate {
            credential_type: "public_key".into(),
            name: credential_name(obj, &pair.kid),
            pem: pair.public_pem.clone(),
            alg: palg.as_str().into(),
        }));
    };
    let ids: Vec<String> = current_id
        .iter()
        .cloned()
        .chain([cred.id.clone()])
        .collect();
    if listed.as_ref() != Some(&ids) || detach_secret {
        return Flow::Step(Step::ListKeys {
            ids,
            detach_secret,
            note: None,
        });
    }
    let previous = current_id
        .as_ref()
        .and(current.as_ref())
        .map(|(kid, _)| kid.clone());
    want.pending_key = None;
    want.credential_id = Some(cred.id.clone());
    want.promote(
        Credential::Key {
            pair: pair.clone(),
            alg: palg,
        },
        now,
        requested,
    );
    let note = match previous {
        Some(old) => (
            EventReason::Rotated,
            format!(
                "Registered key {} ({}) and wrote it to the Secret; the previous key {old} stays registered until {}",
                pair.kid,
                palg.as_str(),
                rfc3339(after(now, overlap))
            ),
        ),
        None => (
            EventReason::KeyRegistered,
            format!(
                "Registered key {} ({}) for private-key JWT and wrote it to the Secret",
                pair.kid,
                palg.as_str()
            ),
        ),
    };
    write(want, Some(note))
}

/// `Rotating=True`: the previous key is registered until `retire_at` (then a reconcile).
fn in_overlap(pass: &mut Pass, now: Timestamp, retire_at: Timestamp) {
    pass.rotating = Some((
        "PreviousKeyInOverlap",
        format!(
            "The Secret holds the new key; the previous key stays registered until {}",
            rfc3339(retire_at)
        ),
    ));
    pass.requeue(until(now, retire_at));
}

#[cfg(test)]
mod tests {
    //! The credential's plans, alone and in sequence: a model of Auth0 (the application, its
    //! credentials, its secret) and of the Secret runs the steps the plans ask for, as the
    //! client's reconcile does, so whole rotations — and rotations stopped after any write and
    //! taken up again by a new process — are checked without a cluster or a simulator.

    use std::sync::OnceLock;

    use serde_json::json;

    use super::*;
    use crate::controller::client::keys::{self, KeyPair};

    const DOMAIN: &str = "tenant.example.com";
    const ID: &str = "app1";

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn t0() -> Timestamp {
        at("2026-12-01T12:00:00Z")
    }

    fn secs(t: Timestamp, s: i64) -> Timestamp {
        t.checked_add(k8s_openapi::jiff::SignedDuration::from_secs(s))
            .unwrap()
    }

    /// Key pairs made once (RSA generation is slow in test builds) and handed out in turn.
    fn pool() -> &'static [KeyPair] {
        static POOL: OnceLock<Vec<KeyPair>> = OnceLock::new();
        POOL.get_or_init(|| (0..4).map(|_| keys::generate()).collect())
    }

    fn resource(spec: serde_json::Value) -> Auth0Client {
        let mut spec = spec;
        spec["name"] = json!("Worker");
        serde_json::from_value(json!({
            "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
            "metadata": {"name": "worker", "namespace": "keys", "uid": "u-1", "generation": 1},
            "spec": spec, "status": {"clientId": ID}
        }))
        .unwrap()
    }

    /// What Auth0 and the cluster hold, and what the process remembers (only `verified`).
    struct Model {
        obj: Auth0Client,
        client: Client,
        creds: Vec<ClientCredential>,
        live: String,
        secret: Option<Secret>,
        /// This process listed the application's credentials (lost with the process).
        verified: bool,
        generated: usize,
        made: usize,
        /// Writes to Auth0 and to the Secret, in order.
        writes: Vec<String>,
        /// Every plan's step, in order.
        steps: Vec<String>,
        events: Vec<EventReason>,
    }

    /// A stop of the process after this many writes.
    struct Stopped;

    fn name(step: &Step) -> String {
        match step {
            Step::Write { generate, .. } => match generate {
                None => "Write".into(),
                Some(Generate::NextSecret) => "Write+NextSecret".into(),
                Some(Generate::Key(_)) => "Write+Key".into(),
            },
            Step::SetSecret(_) => "SetSecret".into(),
            Step::Register(_) => "Register".into(),
            Step::ListKeys { ids, .. } => format!("ListKeys({})", ids.join(",")),
            Step::DeleteCredential(id) => format!("Delete({id})"),
            other => format!("{other:?}"),
        }
    }

    impl Model {
        fn new(spec: serde_json::Value) -> Self {
            let obj = resource(spec);
            Model {
                client: serde_json::from_value(json!({
                    "client_id": ID, "name": "Worker",
                    "token_endpoint_auth_method": "client_secret_post"
                }))
                .unwrap(),
                obj,
                creds: vec![],
                live: "created-secret".into(),
                secret: None,
                verified: false,
                generated: 0,
                made: 0,
                writes: vec![],
                steps: vec![],
                events: vec![],
            }
        }

        fn listed(&self) -> Vec<String> {
            self.client
                .client_authentication_methods
                .as_ref()
                .and_then(ClientAuthenticationMethods::private_key_jwt_ids)
                .unwrap_or_default()
        }

        fn held(&self) -> Held {
            self.secret
                .as_ref()
                .map(|s| Held::read(s, DOMAIN, ID))
                .unwrap_or_default()
        }

        /// One reconcile at `now`: plans and steps until done, or until the process stops
        /// after its `stop`th write. The status is written from the report, as the driver does.
        fn reconcile(
            &mut self,
            now: Timestamp,
            fresh: bool,
            stop: Option<usize>,
        ) -> Result<Report, Stopped> {
            let mut w = World {
                domain: DOMAIN.into(),
                now,
                verified: self.verified,
                fresh: fresh.then(|| SecretValue::new(self.live.clone())),
                ..Default::default()
            };
            let observed = self.secret.clone();
            for _ in 0..32 {
                let step = match next(&self.obj, &self.client, observed.as_ref(), &w).unwrap() {
                    Decision::Done(report) => {
                        let name = self.obj.secret_name();
                        let status = self.obj.status.get_or_insert_default();
                        status.credential_ids = report.credential_ids.clone();
                        status.secret_name = Some(name);
                        self.events.extend(w.notes.iter().map(|n| n.0));
                        return Ok(report);
                    }
                    Decision::Do(step) => step,
                };
                self.steps.push(name(&step));
                let write = !matches!(
                    step,
                    Step::ReadSecret | Step::ListCredentials | Step::DeleteOldSecret(_)
                );
                self.run(step, &mut w);
                if write {
                    self.writes.push(self.steps.last().unwrap().clone());
                    if stop == Some(self.writes.len()) {
                        return Err(Stopped);
                    }
                }
            }
            panic!("no end of steps: {:?}", self.steps);
        }

        fn run(&mut self, step: Step, w: &mut World) {
            match step {
                Step::Write {
                    held,
                    generate,
                    note,
                } => {
                    let mut held = *held;
                    match generate {
                        Some(Generate::NextSecret) => {
                            self.generated += 1;
                            held.next_secret = Some(format!("next-{}", self.generated));
                        }
                        Some(Generate::Key(alg)) => {
                            let pair = pool()[self.generated % pool().len()].clone();
                            self.generated += 1;
                            held.pending_key = Some((pair, alg));
                        }
                        None => {}
                    }
                    let s = shape::credentials_secret(&self.obj, DOMAIN, ID, &held).unwrap();
                    if w.fresh.as_ref().map(SecretValue::expose) == held.secret() {
                        w.fresh = None;
                    }
                    self.secret = Some(s.clone());
                    w.written = Some((s, held));
                    w.wrote = true;
                    w.notes.extend(note);
                }
                Step::ReadSecret => w.live = Some(SecretValue::new(self.live.clone())),
                Step::RotateSecret => {
                    self.made += 1;
                    self.live = format!("rotated-{}", self.made);
                    w.live = Some(SecretValue::new(self.live.clone()));
                }
                Step::SetSecret(s) => {
                    self.live = s.expose().to_string();
                    w.live = Some(s);
                }
                Step::ListCredentials => {
                    w.credentials = Some(self.creds.clone());
                    self.verified = true;
                }
                Step::Register(body) => {
                    let kid = pool()
                        .iter()
                        .find(|p| p.public_pem == body.pem)
                        .map(|p| p.kid.clone());
                    assert!(
                        !self.creds.iter().any(|c| c.kid == kid),
                        "a key registered twice: {:?}",
                        self.steps
                    );
                    self.made += 1;
                    let c = ClientCredential {
                        id: format!("cred-{}", self.made),
                        name: Some(body.name),
                        kid,
                        alg: Some(body.alg),
                        ..Default::default()
                    };
                    self.creds.push(c.clone());
                    w.credentials.get_or_insert_default().push(c);
                    w.keys_changed = true;
                }
                Step::ListKeys {
                    ids,
                    detach_secret,
                    note,
                } => {
                    self.client.client_authentication_methods =
                        Some(ClientAuthenticationMethods::private_key_jwt(&ids));
                    if detach_secret {
                        self.client.token_endpoint_auth_method = None;
                    }
                    w.keys_changed = true;
                    w.notes.extend(note);
                }
                Step::DeleteCredential(id) => {
                    self.creds.retain(|c| c.id != id);
                    if let Some(c) = w.credentials.as_mut() {
                        c.retain(|c| c.id != id);
                    }
                }
                Step::DeleteOldSecret(_) => w.old_secret_deleted = true,
            }
        }

        /// Reconciles until nothing is left to do at `now`; the number of reconciles.
        fn settle(&mut self, now: Timestamp) -> Report {
            let mut last = None;
            for _ in 0..3 {
                let before = self.steps.len();
                let r = self.reconcile(now, false, None).ok().unwrap();
                if self.steps.len() == before {
                    return r;
                }
                last = Some(r);
            }
            panic!(
                "still working after 3 reconciles: {last:?} {:?}",
                self.steps
            );
        }

        /// The one key the application lists is the Secret's, and it is the only credential.
        fn one_key_in_the_secret(&self) {
            let held = self.held();
            let (pair, _) = held.key().expect("the Secret holds a key");
            assert_eq!(self.creds.len(), 1, "{:?} {:?}", self.creds, self.steps);
            assert_eq!(self.creds[0].kid.as_deref(), Some(pair.kid.as_str()));
            assert_eq!(self.listed(), vec![self.creds[0].id.clone()]);
            assert_eq!(
                held.credential_id.as_deref(),
                Some(self.creds[0].id.as_str())
            );
            assert!(held.pending_key.is_none());
        }
    }

    fn key_spec() -> serde_json::Value {
        json!({"authentication": {"method": "privateKeyJwt", "algorithm": "PS256"},
               "rotation": {"overlap": "60s"}})
    }

    fn rotate(m: &mut Model, value: &str) {
        m.obj.metadata.annotations.get_or_insert_default().insert(
            super::super::credentials::ROTATE_ANNOTATION.into(),
            value.into(),
        );
    }

    #[test]
    fn a_private_key_is_issued_rotated_with_an_overlap_and_retired() {
        let mut m = Model::new(key_spec());
        let r = m.settle(t0());
        assert_eq!(
            m.steps,
            [
                "ListCredentials",
                "Write+Key",
                "Register",
                "ListKeys(cred-1)",
                "Write"
            ]
        );
        m.one_key_in_the_secret();
        assert_eq!(r.credential_ids, Some(vec!["cred-1".to_string()]));
        assert_eq!(r.rotating, None);
        assert_eq!(m.events, [EventReason::KeyRegistered]);
        assert!(m.client.token_endpoint_auth_method.is_none());

        // Nothing to do: no request at all.
        m.steps.clear();
        m.settle(secs(t0(), 5));
        assert!(m.steps.is_empty(), "{:?}", m.steps);

        // The annotation asks for a rotation: the new key beside the old one for the overlap.
        rotate(&mut m, "1");
        let t1 = secs(t0(), 10);
        let r = m.settle(t1);
        assert_eq!(
            m.steps,
            [
                "Write+Key",
                "ListCredentials",
                "Register",
                "ListKeys(cred-1,cred-2)",
                "Write"
            ]
        );
        assert_eq!(
            r.rotating.as_ref().map(|r| r.0),
            Some("PreviousKeyInOverlap")
        );
        assert_eq!(r.requeue_after, Some(Duration::from_secs(60)));
        assert_eq!(m.listed(), ["cred-1", "cred-2"]);
        assert_eq!(m.held().credential_id.as_deref(), Some("cred-2"));
        // Another rotation asked for during the overlap waits for it.
        rotate(&mut m, "2");
        m.steps.clear();
        let r = m.settle(secs(t1, 30));
        assert!(m.steps.is_empty(), "{:?}", m.steps);
        assert_eq!(r.rotating.as_ref().map(|r| r.0), Some("RotationWaiting"));

        // The overlap is over: the previous key is unlisted and deleted, then the waiting
        // rotation starts.
        let r = m.settle(secs(t1, 61));
        assert_eq!(
            m.steps,
            [
                "ListKeys(cred-2)",
                "ListCredentials",
                "Delete(cred-1)",
                "Write+Key",
                "Register",
                "ListKeys(cred-2,cred-3)",
                "Write"
            ]
        );
        assert_eq!(
            r.rotating.as_ref().map(|r| r.0),
            Some("PreviousKeyInOverlap")
        );
        let r = m.settle(secs(t1, 200));
        assert_eq!(r.rotating, None);
        m.one_key_in_the_secret();
        assert_eq!(
            m.events,
            [
                EventReason::KeyRegistered,
                EventReason::Rotated,
                EventReason::KeyRetired,
                EventReason::Rotated,
                EventReason::KeyRetired
            ]
        );
    }

    /// A new process after a stop: what it remembers is gone.
    fn restart(m: &mut Model) {
        m.verified = false;
    }

    /// Runs `scenario` once per write it makes, stopping the process after that write, then
    /// lets a new process settle; `check` judges the end state each time.
    fn stopped_after_every_write(
        spec: serde_json::Value,
        prepare: impl Fn(&mut Model),
        scenario: impl Fn(&mut Model, Option<usize>) -> Result<(), Stopped>,
        settle_at: Timestamp,
        check: impl Fn(&Model),
    ) -> usize {
        let mut whole = Model::new(spec.clone());
        prepare(&mut whole);
        let before = whole.writes.len();
        scenario(&mut whole, None)
            .ok()
            .expect("the scenario runs to its end");
        let writes = whole.writes.len() - before;
        assert!(writes > 0);
        for stop in 1..=writes {
            let mut m = Model::new(spec.clone());
            prepare(&mut m);
            let base = m.writes.len();
            assert!(
                scenario(&mut m, Some(base + stop)).is_err(),
                "stopped after write {stop}"
            );
            restart(&mut m);
            m.settle(settle_at);
            // A hand-over taken up late has its overlap from then.
            m.settle(secs(settle_at, 1000));
            check(&m);
        }
        writes
    }

    #[test]
    fn a_key_rotation_stopped_after_any_write_is_finished_by_the_next_process() {
        // The first key, stopped after each of its writes.
        let n = stopped_after_every_write(
            key_spec(),
            |_| {},
            |m, stop| m.reconcile(t0(), false, stop).map(|_| ()),
            t0(),
            Model::one_key_in_the_secret,
        );
        assert_eq!(n, 4, "generate, register, list, promote");
        // A rotation and the retirement of the previous key, stopped after each write.
        let n = stopped_after_every_write(
            key_spec(),
            |m| {
                m.settle(t0());
                rotate(m, "1");
            },
            |m, stop| {
                m.reconcile(secs(t0(), 10), false, stop)?;
                m.reconcile(secs(t0(), 100), false, stop).map(|_| ())
            },
            secs(t0(), 200),
            Model::one_key_in_the_secret,
        );
        assert_eq!(
            n, 6,
            "generate, register, list both, promote, unlist, delete"
        );
    }

    #[test]
    fn keys_of_the_operator_that_nothing_lists_are_found_in_auth0_and_deleted() {
        // A key registered, then the process stopped and the spec switched back to a client
        // secret: the pending key is in no list, and only Auth0's listing knows it.
        let mut m = Model::new(key_spec());
        assert!(m.reconcile(t0(), false, Some(2)).is_err());
        assert_eq!(m.creds.len(), 1);
        assert!(m.listed().is_empty());
        restart(&mut m);
        m.obj.spec = resource(json!({})).spec;
        m.settle(secs(t0(), 1));
        assert!(m.creds.is_empty(), "{:?}", m.creds);
        assert_eq!(m.held().secret(), Some("created-secret"));
        assert!(m.held().pending_key.is_none());

        // The Secret was deleted while a key was pending: the new Secret's key replaces it.
        let mut m = Model::new(key_spec());
        assert!(m.reconcile(t0(), false, Some(2)).is_err());
        m.secret = None;
        restart(&mut m);
        m.settle(secs(t0(), 1));
        m.one_key_in_the_secret();

        // A key someone else registered (not the operator's name) is never deleted.
        let mut m = Model::new(key_spec());
        m.creds.push(ClientCredential {
            id: "theirs".into(),
            name: Some("ci key".into()),
            kid: Some("k".into()),
            ..Default::default()
        });
        m.settle(t0());
        assert!(m.creds.iter().any(|c| c.id == "theirs"));
        assert_eq!(m.creds.len(), 2);

        // A key method switched back to a client secret: Auth0's secret, and the keys go.
        let mut m = Model::new(key_spec());
        m.settle(t0());
        m.obj.spec = resource(json!({})).spec;
        m.client.client_authentication_methods = None; // the application's PATCH did this
        m.steps.clear();
        m.settle(secs(t0(), 1));
        assert_eq!(
            m.steps,
            ["ListCredentials", "Delete(cred-1)", "ReadSecret", "Write"]
        );
        assert!(m.creds.is_empty());
        assert_eq!(m.held().secret(), Some("created-secret"));
        assert_eq!(m.held().credential_id, None);

        // After a restart, the credentials of a key application are listed once.
        let mut m = Model::new(key_spec());
        m.settle(t0());
        restart(&mut m);
        m.steps.clear();
        m.settle(secs(t0(), 1));
        assert_eq!(m.steps, ["ListCredentials"]);
        m.steps.clear();
        m.settle(secs(t0(), 2));
        assert!(m.steps.is_empty());
    }

    #[test]
    fn a_key_that_is_not_registered_or_of_another_algorithm_is_replaced() {
        let mut m = Model::new(key_spec());
        m.settle(t0());
        // Auth0 lost the key (someone deleted it).
        m.creds.clear();
        m.client.client_authentication_methods =
            Some(ClientAuthenticationMethods::private_key_jwt(&[]));
        m.obj.status.as_mut().unwrap().credential_ids = Some(vec![]);
        m.steps.clear();
        m.settle(secs(t0(), 1));
        assert_eq!(m.steps[0], "Write+Key");
        m.one_key_in_the_secret();
        // The algorithm changed.
        m.obj.spec.authentication.as_mut().unwrap().algorithm = Some(KeyAlgorithm::RS256);
        m.steps.clear();
        m.settle(secs(t0(), 2));
        assert_eq!(m.steps[0], "Write+Key");
        assert_eq!(m.held().key().map(|(_, a)| a), Some(KeyAlgorithm::RS256));
        assert_eq!(
            m.listed().len(),
            2,
            "the previous key stays for the overlap"
        );
    }

    fn secret_spec(strategy: &str) -> serde_json::Value {
        json!({"rotation": {"overlap": "60s", "strategy": strategy}})
    }

    /// The first Secret of a client just created, from the secret Auth0 answered with.
    fn created(m: &mut Model) {
        m.reconcile(t0(), true, None).ok().unwrap();
    }

    #[test]
    fn client_secrets_are_issued_and_rotated_staged_and_immediate() {
        let mut m = Model::new(secret_spec("Staged"));
        created(&mut m);
        assert_eq!(m.steps, ["Write"], "the created client's secret, no read");
        assert_eq!(m.held().secret(), Some("created-secret"));
        // Nothing to do.
        m.steps.clear();
        m.settle(secs(t0(), 1));
        assert!(m.steps.is_empty());

        // Staged: the next secret is published first, goes live after the overlap.
        rotate(&mut m, "1");
        let r = m.settle(secs(t0(), 10));
        assert_eq!(m.steps, ["Write+NextSecret"]);
        assert_eq!(
            r.rotating.as_ref().map(|r| r.0),
            Some("NextSecretPublished")
        );
        assert_eq!(r.requeue_after, Some(Duration::from_secs(60)));
        assert_eq!(
            m.live, "created-secret",
            "Auth0 unchanged during the overlap"
        );
        assert_eq!(m.held().next_secret.as_deref(), Some("next-1"));
        m.steps.clear();
        let r = m.settle(secs(t0(), 70));
        assert_eq!(m.steps, ["SetSecret", "Write"]);
        assert_eq!(r.rotating, None);
        assert_eq!(m.live, "next-1");
        assert_eq!(m.held().secret(), Some("next-1"));
        assert_eq!(m.held().next_secret, None);
        assert_eq!(
            m.events,
            [EventReason::NextSecretPublished, EventReason::Rotated]
        );

        // Immediate: the intent, Auth0's rotate-secret, the new secret.
        let mut m = Model::new(secret_spec("Immediate"));
        created(&mut m);
        rotate(&mut m, "1");
        m.steps.clear();
        m.settle(secs(t0(), 10));
        assert_eq!(m.steps, ["Write", "RotateSecret", "Write"]);
        assert_eq!(m.held().secret(), Some("rotated-1"));
        assert_eq!(m.held().rotating_since, None);
    }

    #[test]
    fn a_secret_rotation_stopped_after_any_write_is_finished_by_the_next_process() {
        for strategy in ["Staged", "Immediate"] {
            let n = stopped_after_every_write(
                secret_spec(strategy),
                |m| {
                    created(m);
                    rotate(m, "1");
                },
                |m, stop| {
                    m.reconcile(secs(t0(), 10), false, stop)?;
                    m.reconcile(secs(t0(), 100), false, stop).map(|_| ())
                },
                secs(t0(), 200),
                |m| {
                    let held = m.held();
                    assert_eq!(held.secret(), Some(m.live.as_str()), "{:?}", m.steps);
                    assert_ne!(m.live, "created-secret");
                    assert_eq!(held.next_secret, None);
                    assert_eq!(held.rotating_since, None);
                    assert_eq!(m.made, usize::from(strategy == "Immediate"));
                },
            );
            // Staged: publish, set in Auth0, promote. Immediate: intent, rotate, promote.
            assert_eq!(n, 3, "{strategy}");
        }
    }

    #[test]
    fn an_immediate_rotation_an_earlier_process_started_is_read_before_it_is_done_again() {
        let mut m = Model::new(secret_spec("Immediate"));
        created(&mut m);
        rotate(&mut m, "1");
        // Stopped after Auth0 rotated, before the Secret had the new secret.
        assert!(m.reconcile(secs(t0(), 10), false, Some(3)).is_err());
        assert_eq!(m.live, "rotated-1");
        m.steps.clear();
        m.settle(secs(t0(), 11));
        assert_eq!(m.steps, ["ReadSecret", "Write"], "not rotated twice");
        assert_eq!(m.held().secret(), Some("rotated-1"));
        // Stopped after the intent, before Auth0 rotated: read, then rotate.
        let mut m = Model::new(secret_spec("Immediate"));
        created(&mut m);
        rotate(&mut m, "1");
        assert!(m.reconcile(secs(t0(), 10), false, Some(2)).is_err());
        m.steps.clear();
        m.settle(secs(t0(), 11));
        assert_eq!(m.steps, ["ReadSecret", "RotateSecret", "Write"]);
        assert_eq!(m.made, 1);
    }

    #[test]
    fn observe_writes_what_auth0_has_and_nothing_else() {
        let mut m = Model::new(json!({"managementPolicy": "Observe"}));
        m.settle(t0());
        assert_eq!(m.steps, ["ReadSecret", "Write"]);
        assert_eq!(m.held().secret(), Some("created-secret"));
        // Auth0's secret changed elsewhere: the Secret follows once it is read again (a new
        // Secret, or a template that shows it); nothing is written to Auth0.
        m.steps.clear();
        m.settle(secs(t0(), 1));
        assert!(m.steps.is_empty());
        assert_eq!(m.made, 0);
    }

    #[test]
    fn a_current_secret_whose_value_the_template_hides_is_left_alone() {
        let mut m = Model::new(json!({"secretTemplate": {"data": {"id": "$(clientId)"}}}));
        m.settle(t0());
        assert_eq!(m.steps, ["ReadSecret", "Write"]);
        m.steps.clear();
        m.settle(secs(t0(), 1));
        assert!(m.steps.is_empty(), "{:?}", m.steps);
    }
}
