//! The operator's one event recorder (`events.k8s.io/v1`).
//!
//! Like kube's `Recorder`, a repeat of an event within [`SERIES_TTL`] becomes a series (one
//! Event object whose `series.count` grows) instead of a new object. Unlike it, the *note* is
//! part of what makes two events the same: kube folds every event with the same reason and
//! action into the first one's series, so `kubectl describe` kept showing the first message
//! (`Updated … (x6): description` after six different updates, a recreated grant's event
//! naming the deleted grant's id, an `InvalidSpec` event with an outdated message). Here an
//! event with a new note is a new Event, and a series is only ever the same sentence repeated.
//!
//! The cache is bounded ([`MAX_CACHED`]), expires entries and gives the memory of a burst back,
//! so memory does not grow with traffic. It remembers an event by a 64-bit fingerprint of what
//! makes it the same occurrence, not by a copy of its note and object reference (at a few
//! hundred bytes per event, a mass creation filled it with megabytes of notes).

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    time::Duration,
};

use k8s_openapi::{
    api::{
        core::v1::ObjectReference,
        events::v1::{Event as K8sEvent, EventSeries},
    },
    apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta},
    jiff::Timestamp,
};
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
    runtime::events::{Event, EventType, Reporter},
};
use parking_lot::Mutex;

/// How long a published event can still grow into a series.
pub const SERIES_TTL: Duration = Duration::from_secs(6 * 60);
/// At most this many events are remembered for series; the oldest are forgotten first.
pub const MAX_CACHED: usize = 4096;

/// Fingerprint of what makes two events the same occurrence: type, reason, action, note and
/// the object (kind, namespace, name, uid). Two different events share one with a probability
/// of about 2⁻⁵² among the cache's few thousand; they would then share a series.
type Key = u64;

#[derive(Clone, Debug)]
struct Entry {
    /// Name of the Event object.
    name: String,
    count: i32,
    last_seen: std::time::Instant,
}

/// Publishes events; cheap to clone (shared cache).
#[derive(Clone)]
pub struct Recorder {
    client: kube::Client,
    reporter: Reporter,
    cache: std::sync::Arc<Mutex<HashMap<Key, Entry>>>,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("reporter", &self.reporter)
            .finish_non_exhaustive()
    }
}

fn type_str(t: EventType) -> &'static str {
    match t {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

fn key(ev: &Event, regarding: &ObjectReference) -> Key {
    // `DefaultHasher::new()` hashes alike every time: one fingerprint per event for the
    // process's life.
    let mut h = std::hash::DefaultHasher::new();
    (
        type_str(ev.type_),
        &ev.reason,
        &ev.action,
        &ev.note,
        &regarding.kind,
        &regarding.namespace,
        &regarding.name,
        &regarding.uid,
    )
        .hash(&mut h);
    h.finish()
}

/// Where an event about `regarding` lives: its namespace, or `kube-system` for a cluster-scoped
/// object (the API server refuses an `events.k8s.io` event about a cluster-scoped object in any
/// other namespace).
fn event_namespace(regarding: &ObjectReference) -> String {
    regarding
        .namespace
        .clone()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "kube-system".to_string())
}

/// What [`Recorder::publish`] must do for an event, given the cache.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Create a new Event object.
    Create,
    /// Patch the existing Event `name` to this series count.
    Repeat { name: String, count: i32 },
}

/// Drops expired entries and, at the bound, the least recently seen eighth (so that a burst of
/// new events evicts in batches, not one sort per event); gives the table's memory back once
/// it is mostly empty.
fn prune(cache: &mut HashMap<Key, Entry>, now: std::time::Instant) {
    cache.retain(|_, e| now.duration_since(e.last_seen) < SERIES_TTL);
    if cache.len() >= MAX_CACHED {
        let mut by_age: Vec<(std::time::Instant, Key)> =
            cache.iter().map(|(k, e)| (e.last_seen, *k)).collect();
        let evict = cache.len() + 1 - MAX_CACHED + MAX_CACHED / 8;
        by_age.select_nth_unstable_by_key(evict - 1, |(t, _)| *t);
        for (_, k) in &by_age[..evict] {
            cache.remove(k);
        }
    }
    if cache.capacity() > 64 && cache.len() < cache.capacity() / 4 {
        cache.shrink_to_fit();
    }
}

fn plan(cache: &mut HashMap<Key, Entry>, key: &Key, now: std::time::Instant) -> Step {
    prune(cache, now);
    match cache.get(key) {
        Some(e) => Step::Repeat {
            name: e.name.clone(),
            count: e.count + 1,
        },
        None => Step::Create,
    }
}

impl Recorder {
    /// A recorder reporting as `reporter`.
    pub fn new(client: kube::Client, reporter: Reporter) -> Self {
        Self {
            client,
            reporter,
            cache: Default::default(),
        }
    }

    fn new_event(&self, ev: &Event, regarding: &ObjectReference) -> K8sEvent {
        let now = Timestamp::now();
        K8sEvent {
            action: Some(ev.action.clone()),
            reason: Some(ev.reason.clone()),
            event_time: Some(MicroTime(now)),
            regarding: Some(regarding.clone()),
            note: ev.note.clone(),
            metadata: ObjectMeta {
                namespace: Some(event_namespace(regarding)),
                name: Some(format!(
                    "{}.{:x}",
                    regarding
                        .name
                        .as_deref()
                        .unwrap_or(&self.reporter.controller),
                    now.as_nanosecond()
                )),
                ..Default::default()
            },
            reporting_controller: Some(self.reporter.controller.clone()),
            reporting_instance: Some(
                self.reporter
                    .instance
                    .clone()
                    .unwrap_or_else(|| self.reporter.controller.clone()),
            ),
            type_: Some(type_str(ev.type_).to_string()),
            related: ev.secondary.clone(),
            ..Default::default()
        }
    }

    /// Publishes `ev` about `regarding`: a new Event, or the next count of the same event's
    /// series (same type, reason, action, note and object) within [`SERIES_TTL`].
    pub async fn publish(
        &self,
        ev: &Event,
        regarding: &ObjectReference,
    ) -> Result<(), kube::Error> {
        let key = key(ev, regarding);
        let now = std::time::Instant::now();
        let step = plan(&mut self.cache.lock(), &key, now);
        let namespace = event_namespace(regarding);
        let api: Api<K8sEvent> = Api::namespaced(self.client.clone(), &namespace);
        let (name, count) = match step {
            Step::Repeat { name, count } => {
                let patch = serde_json::json!({
                    "series": EventSeries {
                        count,
                        last_observed_time: MicroTime(Timestamp::now()),
                    }
                });
                match api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    Ok(_) => (name, count),
                    // The Event expired or was deleted: start again with a new one.
                    Err(kube::Error::Api(s)) if s.code == 404 => {
                        let created = api
                            .create(&PostParams::default(), &self.new_event(ev, regarding))
                            .await?;
                        (created.metadata.name.unwrap_or_default(), 1)
                    }
                    Err(e) => return Err(e),
                }
            }
            Step::Create => {
                let created = api
                    .create(&PostParams::default(), &self.new_event(ev, regarding))
                    .await?;
                (created.metadata.name.unwrap_or_default(), 1)
            }
        };
        self.cache.lock().insert(
            key,
            Entry {
                name,
                count,
                last_seen: now,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(reason: &str, note: &str) -> Event {
        Event {
            type_: EventType::Normal,
            reason: reason.into(),
            note: Some(note.into()),
            action: "Sync".into(),
            secondary: None,
        }
    }

    fn obj() -> ObjectReference {
        ObjectReference {
            kind: Some("Auth0Client".into()),
            namespace: Some("default".into()),
            name: Some("web".into()),
            uid: Some("u1".into()),
            ..Default::default()
        }
    }

    fn remember(cache: &mut HashMap<Key, Entry>, k: Key, at: std::time::Instant) {
        cache.insert(
            k,
            Entry {
                name: "web.1".into(),
                count: 1,
                last_seen: at,
            },
        );
    }

    #[test]
    fn a_different_note_is_a_new_event_and_the_same_note_a_series() {
        let mut cache = HashMap::new();
        let now = std::time::Instant::now();
        let first = key(
            &ev("Updated", "Updated Auth0 client c: description"),
            &obj(),
        );
        assert_eq!(plan(&mut cache, &first, now), Step::Create);
        remember(&mut cache, first, now);
        let other = key(&ev("Updated", "Updated Auth0 client c: callbacks"), &obj());
        assert_eq!(plan(&mut cache, &other, now), Step::Create);
        assert_eq!(
            plan(&mut cache, &first, now),
            Step::Repeat {
                name: "web.1".into(),
                count: 2
            }
        );
        // Another object with the same note is another event.
        let mut o2 = obj();
        o2.uid = Some("u2".into());
        assert_eq!(
            plan(
                &mut cache,
                &key(&ev("Updated", "Updated Auth0 client c: description"), &o2),
                now
            ),
            Step::Create
        );
    }

    #[test]
    fn series_expire_and_the_cache_is_bounded() {
        let mut cache = HashMap::new();
        let start = std::time::Instant::now();
        let k = key(&ev("Created", "Created c"), &obj());
        remember(&mut cache, k, start);
        let later = start + SERIES_TTL + Duration::from_secs(1);
        assert_eq!(plan(&mut cache, &k, later), Step::Create);
        assert!(cache.is_empty());
        for i in 0..(MAX_CACHED + 10) {
            let k = key(&ev("Created", &format!("Created c{i}")), &obj());
            plan(&mut cache, &k, later);
            remember(&mut cache, k, later + Duration::from_millis(i as u64));
        }
        assert!(cache.len() <= MAX_CACHED, "{}", cache.len());
        // The newest survive.
        let newest = key(
            &ev("Created", &format!("Created c{}", MAX_CACHED + 9)),
            &obj(),
        );
        assert!(cache.contains_key(&newest));
    }

    #[test]
    fn the_memory_of_a_burst_is_given_back() {
        let mut cache = HashMap::new();
        let start = std::time::Instant::now();
        for i in 0..MAX_CACHED {
            let k = key(&ev("Created", &format!("Created c{i}")), &obj());
            plan(&mut cache, &k, start);
            remember(&mut cache, k, start);
        }
        let full = cache.capacity();
        assert!(full >= MAX_CACHED / 2, "{full}");
        // One event after the series expired: the table is emptied and shrunk.
        let later = start + SERIES_TTL + Duration::from_secs(1);
        let k = key(&ev("Updated", "Updated c0: description"), &obj());
        assert_eq!(plan(&mut cache, &k, later), Step::Create);
        assert!(cache.is_empty());
        assert!(
            cache.capacity() < full / 4,
            "{} of {full}",
            cache.capacity()
        );
    }
}
