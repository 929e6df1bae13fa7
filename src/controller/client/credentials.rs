//! The credential an `Auth0Client`'s Secret holds, and its lifecycle: private-key JWT keys
//! (generated here, the public half registered with Auth0), client secrets, and rotations of
//! both (`spec.rotation`, the `auth0.operator.dev/rotate` annotation).
//!
//! Crash safety: every piece of new key material is written to the credentials Secret before
//! Auth0 learns it, and every step is recognised afterwards from the Secret (its data and the
//! operator's annotations, which hold times and ids, never material) plus Auth0's state (the
//! credentials and the ids the client lists, matched by `kid`). An operator killed at any
//! instant finishes the rotation after a restart; it never registers a key twice and never
//! holds more than two keys.
//!
//! This file has what the Secret holds and what is due; the next step of the lifecycle is
//! decided in [`rotation`](super::rotation).

use std::time::Duration;

use k8s_openapi::{
    ByteString,
    api::core::v1::Secret,
    jiff::{SignedDuration, Timestamp},
};

use super::keys::{self, KeyPair};
use crate::controller::secret::template::{self, Credential, NEXT_SECRET_KEY, PENDING_KEY_KEY};
use crate::crd::{
    Auth0Client, Auth0ClientSpec, AuthenticationMethod, KeyAlgorithm, RotationStrategy,
    parse_duration,
};

/// The annotation a user changes (to any new value) to ask for a rotation.
pub const ROTATE_ANNOTATION: &str = "auth0.operator.dev/rotate";
/// On the Secret: when its credential was issued or last rotated (RFC 3339).
pub const ROTATED_AT_ANNOTATION: &str = "auth0.operator.dev/rotated-at";
/// On the Secret: the value of [`ROTATE_ANNOTATION`] the last rotation answered.
pub const ROTATE_HANDLED_ANNOTATION: &str = "auth0.operator.dev/rotate-handled";
/// On the Secret: when `AUTH0_CLIENT_SECRET_NEXT` was published (`Staged`).
pub const NEXT_PUBLISHED_ANNOTATION: &str = "auth0.operator.dev/next-secret-published-at";
/// On the Secret: an `Immediate` rotation was started at this time (Auth0 may or may not have
/// rotated; the next reconcile finds out).
pub const ROTATING_SINCE_ANNOTATION: &str = "auth0.operator.dev/rotating-since";
/// On the Secret: the Auth0 credential id of its private key.
pub const CREDENTIAL_ID_ANNOTATION: &str = "auth0.operator.dev/credential-id";
/// On the Secret: the algorithm of the pending (not yet registered) key.
pub const PENDING_ALG_ANNOTATION: &str = "auth0.operator.dev/pending-key-algorithm";

/// `rotation.overlap` when unset.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// Prefix of the names of the credentials the operator registers (how it tells its own keys
/// from keys someone else registered for an adopted application).
pub const CREDENTIAL_NAME_PREFIX: &str = "auth0-operator/";

/// What the credentials Secret holds and says about its credential.
#[derive(Clone, Default, PartialEq)]
pub struct Held {
    /// The credential workloads use (rendered into the Secret's keys).
    pub current: Option<Credential>,
    /// `AUTH0_CLIENT_SECRET_NEXT` (a `Staged` rotation in progress).
    pub next_secret: Option<String>,
    /// A generated key not yet registered (or registered but not yet promoted).
    pub pending_key: Option<(KeyPair, KeyAlgorithm)>,
    pub rotated_at: Option<Timestamp>,
    pub next_published_at: Option<Timestamp>,
    pub rotating_since: Option<Timestamp>,
    pub rotate_handled: Option<String>,
    /// Auth0's id of the current key's credential.
    pub credential_id: Option<String>,
}

impl std::fmt::Debug for Held {
    // Material is never printed: the credentials by their kind, the next secret as present.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Held")
            .field("current", &self.current)
            .field(
                "next_secret",
                &self.next_secret.as_ref().map(|_| "[redacted]"),
            )
            .field("pending_key", &self.pending_key)
            .field("rotated_at", &self.rotated_at)
            .field("next_published_at", &self.next_published_at)
            .field("rotating_since", &self.rotating_since)
            .field("rotate_handled", &self.rotate_handled)
            .field("credential_id", &self.credential_id)
            .finish()
    }
}

fn text(b: &ByteString) -> Option<String> {
    String::from_utf8(b.0.clone()).ok()
}

/// Every string a Secret's data holds: each value, and the string fields of values that are
/// JSON objects (a template's `$(json)`).
fn candidates(secret: &Secret) -> Vec<String> {
    let mut out = Vec::new();
    for v in secret
        .data
        .iter()
        .flatten()
        .map(|(_, v)| v)
        .filter_map(text)
    {
        if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(&v) {
            out.extend(m.values().filter_map(|v| v.as_str().map(str::to_string)));
        }
        out.push(v);
    }
    out
}

fn time(s: Option<&String>) -> Option<Timestamp> {
    s?.parse().ok()
}

impl Held {
    /// What `secret` (owned by the resource) holds for this domain and client id. The current
    /// credential is the value whose hash is the Secret's credentials hash (so it is found
    /// whatever the template made of the keys); a Secret from before that annotation has
    /// `AUTH0_CLIENT_SECRET` next to the same client id and domain.
    pub fn read(secret: &Secret, domain: &str, client_id: &str) -> Self {
        let ann = secret.metadata.annotations.clone().unwrap_or_default();
        let data = secret.data.clone().unwrap_or_default();
        let get = |k: &str| data.get(k).and_then(text).filter(|v| !v.is_empty());
        let current = match ann.get(template::CREDENTIALS_HASH_ANNOTATION) {
            Some(hash) => candidates(secret)
                .into_iter()
                .filter(|c| !c.is_empty())
                .find_map(|c| {
                    let mut tries = Vec::new();
                    if let Some(pair) = keys::parse_private(&c) {
                        for alg in [
                            KeyAlgorithm::RS256,
                            KeyAlgorithm::RS384,
                            KeyAlgorithm::PS256,
                        ] {
                            tries.push(Credential::Key {
                                pair: pair.clone(),
                                alg,
                            });
                        }
                    } else {
                        tries.push(Credential::Secret(c));
                    }
                    tries.into_iter().find(|cred| {
                        template::credentials_hash(&template::Variables {
                            domain,
                            client_id,
                            credential: cred,
                        }) == *hash
                    })
                }),
            None => {
                let same = get(template::SECRET_KEY_CLIENT_ID).as_deref() == Some(client_id)
                    && get(template::SECRET_KEY_DOMAIN).as_deref() == Some(domain);
                same.then(|| get(template::SECRET_KEY_CLIENT_SECRET))
                    .flatten()
                    .map(Credential::Secret)
            }
        };
        let pending_key = get(PENDING_KEY_KEY)
            .and_then(|pem| keys::parse_private(&pem))
            .map(|pair| {
                let alg = ann
                    .get(PENDING_ALG_ANNOTATION)
                    .and_then(|a| KeyAlgorithm::parse(a))
                    .unwrap_or_default();
                (pair, alg)
            });
        Held {
            credential_id: matches!(current, Some(Credential::Key { .. }))
                .then(|| ann.get(CREDENTIAL_ID_ANNOTATION).cloned())
                .flatten(),
            current,
            next_secret: get(NEXT_SECRET_KEY),
            pending_key,
            rotated_at: time(ann.get(ROTATED_AT_ANNOTATION)),
            next_published_at: time(ann.get(NEXT_PUBLISHED_ANNOTATION)),
            rotating_since: time(ann.get(ROTATING_SINCE_ANNOTATION)),
            rotate_handled: ann.get(ROTATE_HANDLED_ANNOTATION).cloned(),
        }
    }

    /// The Secret's extra data keys (beside the rendered ones) while a rotation is under way.
    pub fn reserved_data(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(n) = &self.next_secret {
            out.push((NEXT_SECRET_KEY.to_string(), n.clone()));
        }
        if let Some((pair, _)) = &self.pending_key {
            out.push((PENDING_KEY_KEY.to_string(), pair.private_pem.clone()));
        }
        out
    }

    /// The operator's annotations recording this state (times and ids; never material).
    pub fn annotations(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut put = |k: &'static str, v: Option<String>| {
            if let Some(v) = v {
                out.push((k, v));
            }
        };
        // To the millisecond: an overlap is measured from these.
        put(ROTATED_AT_ANNOTATION, self.rotated_at.map(precise));
        put(
            NEXT_PUBLISHED_ANNOTATION,
            self.next_published_at.map(precise),
        );
        put(ROTATING_SINCE_ANNOTATION, self.rotating_since.map(precise));
        put(ROTATE_HANDLED_ANNOTATION, self.rotate_handled.clone());
        put(CREDENTIAL_ID_ANNOTATION, self.credential_id.clone());
        put(
            PENDING_ALG_ANNOTATION,
            self.pending_key
                .as_ref()
                .map(|(_, a)| a.as_str().to_string()),
        );
        out
    }

    /// The current credential if it is a client secret.
    pub fn secret(&self) -> Option<&str> {
        match &self.current {
            Some(Credential::Secret(s)) => Some(s),
            _ => None,
        }
    }

    /// The current credential if it is a key: the pair and its algorithm.
    pub fn key(&self) -> Option<(&KeyPair, KeyAlgorithm)> {
        match &self.current {
            Some(Credential::Key { pair, alg }) => Some((pair, *alg)),
            _ => None,
        }
    }

    /// Makes `credential` current after a rotation (or its first issue) answering `requested`.
    pub fn promote(&mut self, credential: Credential, now: Timestamp, requested: &str) {
        self.current = Some(credential);
        self.rotated_at = Some(now);
        self.rotate_handled = Some(requested.to_string());
    }
}

/// RFC 3339 to the second.
pub fn rfc3339(t: Timestamp) -> String {
    Timestamp::from_second(t.as_second())
        .unwrap_or(t)
        .to_string()
}

/// RFC 3339 to the millisecond.
pub fn precise(t: Timestamp) -> String {
    t.round(k8s_openapi::jiff::Unit::Millisecond)
        .unwrap_or(t)
        .to_string()
}

/// `t + d` (saturating).
pub fn after(t: Timestamp, d: Duration) -> Timestamp {
    let d = SignedDuration::from_secs(i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    t.checked_add(d).unwrap_or(Timestamp::MAX)
}

/// The time from `now` until `t` (zero when past).
pub fn until(now: Timestamp, t: Timestamp) -> Duration {
    let d = t.duration_since(now);
    Duration::try_from(d).unwrap_or_default()
}

/// `spec.rotation` as durations and a strategy, with the defaults applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Schedule {
    pub every: Option<Duration>,
    pub overlap: Duration,
    pub strategy: RotationStrategy,
}

impl Schedule {
    pub fn of(spec: &Auth0ClientSpec) -> Self {
        let r = spec.rotation.as_ref();
        Schedule {
            every: r.and_then(|r| r.every.as_deref()).and_then(parse_duration),
            overlap: r
                .and_then(|r| r.overlap.as_deref())
                .and_then(parse_duration)
                .unwrap_or(DEFAULT_OVERLAP),
            strategy: r.and_then(|r| r.strategy).unwrap_or_default(),
        }
    }

    /// When the next scheduled rotation is due, given when the last one happened.
    pub fn next(&self, rotated_at: Option<Timestamp>) -> Option<Timestamp> {
        Some(after(rotated_at?, self.every?))
    }
}

/// The method `spec` asks for.
pub fn method(spec: &Auth0ClientSpec) -> AuthenticationMethod {
    spec.authentication
        .as_ref()
        .map(|a| a.method)
        .unwrap_or_default()
}

/// The algorithm `spec` asks for (privateKeyJwt).
pub fn algorithm(spec: &Auth0ClientSpec) -> KeyAlgorithm {
    spec.authentication
        .as_ref()
        .and_then(|a| a.algorithm)
        .unwrap_or_default()
}

/// The value of the rotate annotation on `cr` (`""` when absent).
pub fn requested(cr: &Auth0Client) -> String {
    cr.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(ROTATE_ANNOTATION))
        .cloned()
        .unwrap_or_default()
}

/// Why a rotation is due now, if it is: the annotation changed since the last rotation
/// answered it, or the schedule says so. `handled` is what the Secret recorded (`None` for a
/// Secret from before rotations: the annotation's absence).
pub fn due(
    schedule: &Schedule,
    held: &Held,
    requested: &str,
    now: Timestamp,
) -> Option<&'static str> {
    if held.rotate_handled.as_deref().unwrap_or("") != requested {
        return Some("the annotation auth0.operator.dev/rotate changed");
    }
    match schedule.next(held.rotated_at) {
        Some(next) if next <= now => Some("rotation.every has elapsed"),
        _ => None,
    }
}

/// Whether a credential Auth0 lists was registered by the operator (by its name).
pub fn is_ours(name: Option<&str>) -> bool {
    name.is_some_and(|n| n.starts_with(CREDENTIAL_NAME_PREFIX))
}

/// The name a key is registered under: the prefix, the resource, and the key's kid (at most
/// 128 characters, Auth0's limit).
pub fn credential_name(cr: &Auth0Client, kid: &str) -> String {
    use kube::ResourceExt as _;
    let name = format!(
        "{CREDENTIAL_NAME_PREFIX}{}/{} {}",
        cr.namespace().unwrap_or_default(),
        cr.name_any(),
        kid
    );
    name.chars().take(128).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::Rotation;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn the_schedule_and_the_annotation_decide_when_a_rotation_is_due() {
        let mut spec = Auth0ClientSpec::default();
        let now = at("2026-12-01T12:00:00Z");
        let held = Held {
            rotated_at: Some(at("2026-11-01T12:00:00Z")),
            rotate_handled: Some("1".into()),
            ..Default::default()
        };
        // No schedule: only the annotation.
        assert_eq!(due(&Schedule::of(&spec), &held, "1", now), None);
        assert!(due(&Schedule::of(&spec), &held, "2", now).is_some());
        spec.rotation = Some(Rotation {
            every: Some("720h".into()),
            ..Default::default()
        });
        let s = Schedule::of(&spec);
        assert_eq!(s.overlap, DEFAULT_OVERLAP);
        assert_eq!(s.strategy, RotationStrategy::Staged);
        assert_eq!(s.next(held.rotated_at), Some(at("2026-12-01T12:00:00Z")));
        assert!(due(&s, &held, "1", now).is_some());
        assert_eq!(due(&s, &held, "1", at("2026-12-01T11:59:59Z")), None);
        // A Secret from before rotations (nothing handled) with no annotation: not due.
        let legacy = Held {
            rotated_at: Some(now),
            ..Default::default()
        };
        assert_eq!(due(&s, &legacy, "", now), None);
        assert!(due(&s, &legacy, "x", now).is_some());
    }

    #[test]
    fn times_are_seconds_and_saturate() {
        let t = at("2026-12-01T12:00:00.75Z");
        assert_eq!(rfc3339(t), "2026-12-01T12:00:00Z");
        assert_eq!(
            precise(at("2026-12-01T12:00:00.123456Z")),
            "2026-12-01T12:00:00.123Z"
        );
        assert_eq!(
            after(t, Duration::from_secs(3600)),
            at("2026-12-01T13:00:00.75Z")
        );
        assert_eq!(
            until(t, at("2026-12-01T12:00:10.75Z")),
            Duration::from_secs(10)
        );
        assert_eq!(until(t, at("2026-12-01T11:00:00Z")), Duration::ZERO);
        assert_eq!(after(t, Duration::MAX), Timestamp::MAX);
    }
}
