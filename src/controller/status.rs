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
use crate::crd::CONDITION_READY;

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
        message: super::truncate(message, 2000),
        observed_generation: generation,
        last_transition_time: last,
    }
}

/// Writes `status` with server-side apply unless it is already what the object shows.
/// Returns whether a write happened.
pub async fn apply_status<K, S>(
    api: &Api<K>,
    obj: &K,
    current: Option<&S>,
    status: &S,
) -> Result<bool, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    S: Serialize + PartialEq,
{
    if current == Some(status) {
        return Ok(false);
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
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

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
