//! Status writing: the `Ready` condition and server-side apply of `.status`.

use k8s_openapi::{
    apimachinery::pkg::apis::meta::v1::{Condition, Time},
    jiff::Timestamp,
};
use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
};
use serde::{Serialize, de::DeserializeOwned};

use super::FIELD_MANAGER;
use crate::crd::{CONDITION_IN_SYNC, CONDITION_READY, ManagementPolicy};

/// A `Ready` condition; keeps `lastTransitionTime` from `previous` when the status is unchanged.
pub fn ready(
    ok: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    previous: &[Condition],
) -> Condition {
    condition(CONDITION_READY, ok, reason, message, generation, previous)
}

/// A condition of type `type_`; keeps `lastTransitionTime` from `previous` when its status is
/// unchanged.
pub fn condition(
    type_: &str,
    ok: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    previous: &[Condition],
) -> Condition {
    let status = if ok { "True" } else { "False" };
    let last = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or_else(|| Time(Timestamp::now()));
    Condition {
        type_: type_.to_string(),
        status: status.to_string(),
        reason: reason.to_string(),
        message: truncate(message, 2000),
        observed_generation: generation,
        last_transition_time: last,
    }
}

/// What one sync found when it compared the Auth0 object with the spec: the managed fields that
/// differed (names only), and whether they were differences made outside Kubernetes that the
/// sync set back (`Manage`, spec unchanged since the last successful sync) rather than a spec
/// change being applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Drift {
    pub fields: Vec<String>,
    pub corrected: bool,
}

impl Drift {
    /// What a sync under `policy` found: `fields` differ; under `Manage` they were sent, and
    /// count as corrected drift when the spec did not change since the last successful sync.
    pub fn found(
        policy: ManagementPolicy,
        fields: Vec<String>,
        generation: Option<i64>,
        conditions: &[Condition],
    ) -> Self {
        let spec_unchanged = conditions
            .iter()
            .find(|c| c.type_ == CONDITION_READY)
            .is_some_and(|c| c.status == "True" && c.observed_generation == generation);
        Drift {
            corrected: policy == ManagementPolicy::Manage && spec_unchanged && !fields.is_empty(),
            fields,
        }
    }
}

/// `status.drift`, `status.lastDriftTime` and the `InSync` condition after a sync.
#[derive(Clone, Debug, PartialEq)]
pub struct DriftStatus {
    pub condition: Condition,
    pub drift: Option<Vec<String>>,
    pub last_drift_time: Option<String>,
}

/// The drift part of a status. `found` is `None` when the sync stopped before comparing (the
/// previous state stands). `Observe`: the fields that differ now (`InSync=False, Drifted` while
/// any do). `Manage`: the object matches after the sync (`InSync=True`); drift it corrected is
/// listed (`Corrected`) until a spec change is applied.
pub fn drift_status(
    policy: ManagementPolicy,
    found: Option<&Drift>,
    generation: Option<i64>,
    conditions: &[Condition],
    drift: Option<Vec<String>>,
    last_drift_time: Option<String>,
) -> DriftStatus {
    let now = || crate::controller::client::credentials::rfc3339(Timestamp::now());
    let Some(found) = found else {
        let condition = conditions
            .iter()
            .find(|c| c.type_ == CONDITION_IN_SYNC)
            .cloned()
            .unwrap_or_else(|| {
                condition_unknown(
                    CONDITION_IN_SYNC,
                    "NotCompared",
                    "The Auth0 object was not compared with the spec yet",
                    generation,
                )
            });
        return DriftStatus {
            condition,
            drift,
            last_drift_time,
        };
    };
    let list = found.fields.join(", ");
    match policy {
        ManagementPolicy::Observe if found.fields.is_empty() => DriftStatus {
            condition: condition(
                CONDITION_IN_SYNC,
                true,
                "InSync",
                "The Auth0 object matches the spec",
                generation,
                conditions,
            ),
            drift: None,
            last_drift_time,
        },
        ManagementPolicy::Observe => DriftStatus {
            condition: condition(
                CONDITION_IN_SYNC,
                false,
                "Drifted",
                &format!(
                    "Auth0 differs from the spec in: {list} (managementPolicy Observe: not corrected)"
                ),
                generation,
                conditions,
            ),
            last_drift_time: if drift.as_ref() == Some(&found.fields) {
                last_drift_time
            } else {
                Some(now())
            },
            drift: Some(found.fields.clone()),
        },
        ManagementPolicy::Manage if found.corrected => DriftStatus {
            condition: condition(
                CONDITION_IN_SYNC,
                true,
                "Corrected",
                &corrected_message(&found.fields),
                generation,
                conditions,
            ),
            drift: Some(found.fields.clone()),
            last_drift_time: Some(now()),
        },
        ManagementPolicy::Manage => {
            // Applying a spec change is not drift; an untouched object keeps the last report.
            let keep = found.fields.is_empty();
            let (reason, message) = match (&drift, keep) {
                (Some(d), true) => ("Corrected", corrected_message(d)),
                _ => ("InSync", "The Auth0 object matches the spec".to_string()),
            };
            DriftStatus {
                condition: condition(
                    CONDITION_IN_SYNC,
                    true,
                    reason,
                    &message,
                    generation,
                    conditions,
                ),
                drift: if keep { drift } else { None },
                last_drift_time,
            }
        }
    }
}

/// The `InSync=True, Corrected` message naming the fields set back.
fn corrected_message(fields: &[String]) -> String {
    format!(
        "Corrected drift made outside Kubernetes in: {}",
        fields.join(", ")
    )
}

fn condition_unknown(
    type_: &str,
    reason: &str,
    message: &str,
    generation: Option<i64>,
) -> Condition {
    Condition {
        type_: type_.to_string(),
        status: "Unknown".to_string(),
        reason: reason.to_string(),
        message: message.to_string(),
        observed_generation: generation,
        last_transition_time: Time(Timestamp::now()),
    }
}

/// Writes `status` with server-side apply unless it is already what the object shows.
pub async fn apply_status<K, S>(
    api: &Api<K>,
    obj: &K,
    current: Option<&S>,
    status: &S,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if current == Some(status) {
        return Ok(());
    }
    let body = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    api.patch_status(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&body),
    )
    .await?;
    crate::crash::after_write("a status");
    Ok(())
}

/// Shortens `s` to at most `max` bytes on a char boundary.
pub fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_is_reported_under_observe_and_corrected_under_manage() {
        let synced = vec![ready(true, "Synced", "ok", Some(3), &[])];
        // Observe: what differs now.
        let found = Drift::found(
            ManagementPolicy::Observe,
            vec!["callbacks".into()],
            Some(3),
            &synced,
        );
        assert!(!found.corrected);
        let d = drift_status(
            ManagementPolicy::Observe,
            Some(&found),
            Some(3),
            &synced,
            None,
            None,
        );
        assert_eq!(
            (d.condition.status.as_str(), d.condition.reason.as_str()),
            ("False", "Drifted")
        );
        assert_eq!(d.drift, Some(vec!["callbacks".to_string()]));
        let first_seen = d.last_drift_time.clone();
        assert!(first_seen.is_some());
        // Still the same drift: the time it was first seen stays.
        let again = drift_status(
            ManagementPolicy::Observe,
            Some(&found),
            Some(3),
            &synced,
            d.drift.clone(),
            Some("T0".into()),
        );
        assert_eq!(again.last_drift_time.as_deref(), Some("T0"));
        // Gone: InSync, no list, the time of the last drift kept.
        let none = Drift::found(ManagementPolicy::Observe, vec![], Some(3), &synced);
        let d = drift_status(
            ManagementPolicy::Observe,
            Some(&none),
            Some(3),
            &synced,
            d.drift,
            Some("T0".into()),
        );
        assert_eq!(
            (
                d.condition.status.as_str(),
                d.drift,
                d.last_drift_time.as_deref()
            ),
            ("True", None, Some("T0"))
        );
        // Manage, spec unchanged since the last successful sync: corrected drift.
        let fixed = Drift::found(
            ManagementPolicy::Manage,
            vec!["name".into()],
            Some(3),
            &synced,
        );
        assert!(fixed.corrected);
        let d = drift_status(
            ManagementPolicy::Manage,
            Some(&fixed),
            Some(3),
            &synced,
            None,
            None,
        );
        assert_eq!(
            (d.condition.status.as_str(), d.condition.reason.as_str()),
            ("True", "Corrected")
        );
        assert_eq!(d.drift, Some(vec!["name".to_string()]));
        // Manage, a spec change applied: not drift.
        let edit = Drift::found(
            ManagementPolicy::Manage,
            vec!["name".into()],
            Some(4),
            &synced,
        );
        assert!(!edit.corrected);
        let d2 = drift_status(
            ManagementPolicy::Manage,
            Some(&edit),
            Some(4),
            &synced,
            d.drift.clone(),
            d.last_drift_time.clone(),
        );
        assert_eq!((d2.condition.reason.as_str(), d2.drift), ("InSync", None));
        // Not compared (the sync failed first): as it was.
        let kept = drift_status(
            ManagementPolicy::Manage,
            None,
            Some(4),
            std::slice::from_ref(&d.condition),
            d.drift.clone(),
            None,
        );
        assert_eq!(kept.condition, d.condition);
        assert_eq!(kept.drift, d.drift);
    }

    #[test]
    fn transition_time_is_kept_while_status_holds() {
        let first = ready(false, "Reconciling", "creating", Some(1), &[]);
        let again = ready(
            false,
            "Auth0Error",
            "boom",
            Some(1),
            std::slice::from_ref(&first),
        );
        assert_eq!(first.last_transition_time, again.last_transition_time);
        let flipped = ready(true, "Synced", "ok", Some(1), std::slice::from_ref(&again));
        assert_eq!(flipped.status, "True");
        assert_eq!(flipped.reason, "Synced");
    }
}
