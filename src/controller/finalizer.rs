//! The operator's finalizer around a reconcile, shared by the managed kinds' driver and the
//! tenant kinds.
//!
//! Like kube-runtime's `finalizer()`, with one difference: the reconcile that adds the
//! finalizer goes on to apply, with the object the patch returned, instead of ending and
//! waiting for the patch to come back as a watch event (a reconcile of its own per object).

use std::{future::Future, sync::Arc};

use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::{
        controller::Action,
        finalizer::{Error as FinalizerError, Event},
    },
};
use serde_json::json;

use super::Error;
use crate::crd::FINALIZER;

/// `f` behind the operator's finalizer ([`FINALIZER`]): apply while the object lives (the
/// finalizer is added first, in the same reconcile), cleanup once it is deleted; the finalizer
/// goes only after a cleanup succeeded.
pub async fn finalized<K, Fut>(
    api: &Api<K>,
    obj: Arc<K>,
    f: impl FnOnce(Event<K>) -> Fut,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    Fut: Future<Output = Result<Action, Error>>,
{
    let name = obj.name_any();
    let finalizers = obj.finalizers().to_vec();
    let ours = finalizers.iter().position(|f| f == FINALIZER);
    let deleting = obj.meta().deletion_timestamp.is_some();
    match (ours, deleting) {
        (Some(_), false) => f(Event::Apply(obj)).await,
        (Some(i), true) => {
            let action = f(Event::Cleanup(obj)).await?;
            // `test` first: never remove someone else's finalizer (the index may have moved).
            let path = format!("/metadata/finalizers/{i}");
            let patch = json_patch(json!([
                {"op": "test", "path": path, "value": FINALIZER},
                {"op": "remove", "path": path},
            ]))?;
            api.patch(&name, &PatchParams::default(), &Patch::Json::<()>(patch))
                .await
                .map_err(|e| Error::Finalizer(Box::new(FinalizerError::RemoveFinalizer(e))))?;
            Ok(action)
        }
        (None, false) => {
            // The API server does not deduplicate finalizers: the patch tests the list it
            // extends, and fails (to be retried from a fresh copy) if someone changed it.
            let ops = if finalizers.is_empty() {
                json!([
                    {"op": "test", "path": "/metadata/finalizers", "value": null},
                    {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
                ])
            } else {
                json!([
                    {"op": "test", "path": "/metadata/finalizers", "value": finalizers},
                    {"op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER},
                ])
            };
            let patched = api
                .patch(
                    &name,
                    &PatchParams::default(),
                    &Patch::Json::<()>(json_patch(ops)?),
                )
                .await
                .map_err(|e| Error::Finalizer(Box::new(FinalizerError::AddFinalizer(e))))?;
            f(Event::Apply(Arc::new(patched))).await
        }
        // Deleted before it was ever applied: nothing of ours to clean up.
        (None, true) => Ok(Action::await_change()),
    }
}

/// The operations as a JSON patch (they are written above and always parse).
fn json_patch(ops: serde_json::Value) -> Result<json_patch::Patch, Error> {
    serde_json::from_value(ops)
        .map_err(|_| Error::Finalizer(Box::new(FinalizerError::InvalidFinalizer)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_finalizer_patches_parse_and_test_before_they_change() {
        for ops in [
            json!([
                {"op": "test", "path": "/metadata/finalizers", "value": null},
                {"op": "add", "path": "/metadata/finalizers", "value": [FINALIZER]},
            ]),
            json!([
                {"op": "test", "path": "/metadata/finalizers/1", "value": FINALIZER},
                {"op": "remove", "path": "/metadata/finalizers/1"},
            ]),
        ] {
            let patch = json_patch(ops.clone()).expect("a JSON patch");
            assert_eq!(serde_json::to_value(&patch).unwrap(), ops);
        }
    }
}
