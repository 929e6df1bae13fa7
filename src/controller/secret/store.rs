//! Guarded writes of the credentials Secret that are not the write itself: removing a Secret
//! this resource owns (never one it does not), and the refusal to touch a foreign one. Used by
//! the client's reconcile and by the credential steps.

use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{DeleteParams, Preconditions},
};
use tracing::info;

use crate::controller::Error;
use crate::crd::Auth0Client;

/// After `spec.secretName` changed, deletes the previous Secret if this resource owns it.
pub async fn cleanup_old_secret(
    obj: &Auth0Client,
    api: &Api<Secret>,
    current: &str,
) -> Result<(), Error> {
    let Some(old) = obj.status.as_ref().and_then(|s| s.secret_name.clone()) else {
        return Ok(());
    };
    if old == current {
        return Ok(());
    }
    delete_if_owned(obj, api, &old).await
}

/// Deletes the Secret `name` if this resource owns it (guarded by its UID; already gone is
/// fine).
pub async fn delete_if_owned(
    obj: &Auth0Client,
    api: &Api<Secret>,
    name: &str,
) -> Result<(), Error> {
    let Some(s) = api.get_opt(name).await? else {
        return Ok(());
    };
    if !crate::controller::secret::shape::secret_owned_by(&s, obj) {
        return Ok(());
    }
    let dp = DeleteParams {
        preconditions: Some(Preconditions {
            uid: s.metadata.uid.clone(),
            resource_version: None,
        }),
        ..Default::default()
    };
    match api.delete(name, &dp).await {
        Ok(_) => info!(secret = %name, "deleted credentials Secret"),
        Err(kube::Error::Api(e)) if e.code == 404 => {}
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// The refusal to touch Secret `name`, which another owner (or nobody) made.
pub fn conflict(name: &str, secret: &Secret) -> Error {
    Error::SecretConflict(format!(
        "Secret {name} already exists and was not created for this Auth0Client ({}); the operator does not overwrite it. Delete it, or set spec.secretName to a free name",
        crate::controller::secret::shape::secret_owner_description(secret)
    ))
}
