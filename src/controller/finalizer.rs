//! The operator's finalizer around a reconcile, shared by the managed kinds' driver and the
//! tenant kinds.

use std::{future::Future, sync::Arc};

use kube::{Api, Resource, runtime::controller::Action};

use super::Error;

/// `f` behind the operator's finalizer ([`FINALIZER`](crate::crd::FINALIZER)): apply while the
/// object lives, cleanup once it is deleted; the finalizer goes only after a cleanup succeeded.
pub async fn finalized<K, Fut>(
    api: &Api<K>,
    obj: Arc<K>,
    f: impl FnOnce(kube::runtime::finalizer::Event<K>) -> Fut,
) -> Result<Action, Error>
where
    K: Resource<DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
    Fut: Future<Output = Result<Action, Error>>,
{
    use kube::runtime::finalizer::{Error as FinalizerError, finalizer};
    finalizer(api, crate::crd::FINALIZER, obj, f)
        .await
        .map_err(|e| match e {
            FinalizerError::ApplyFailed(e) | FinalizerError::CleanupFailed(e) => e,
            other => Error::Finalizer(Box::new(other)),
        })
}
