//! Guarded writes of the credentials Secret: writing it (never over one this resource does not
//! own), removing one this resource owns, and the refusal to touch a foreign one.

use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, PostParams, Preconditions},
};
use tracing::info;

use crate::controller::{Error, FIELD_MANAGER, client::credentials::Held};
use crate::crd::Auth0Client;

/// Writes `obj`'s credentials Secret so that it holds `held` (its shape:
/// [`credentials_secret`](super::shape::credentials_secret)). `existing` is the Secret as the
/// reconcile last saw it (this resource's, or absent): nothing is written when it already is
/// the rendered one; a change of type replaces it (Kubernetes cannot change a Secret's type);
/// every write is guarded by the resourceVersion it was read at, and a Secret someone else
/// created meanwhile is never taken over. Returns the Secret as it now is.
pub async fn write_credentials(
    obj: &Auth0Client,
    api: &Api<Secret>,
    domain: &str,
    client_id: &str,
    existing: Option<Secret>,
    held: &Held,
) -> Result<Secret, Error> {
    use super::shape;
    let desired =
        shape::credentials_secret(obj, domain, client_id, held).map_err(Error::InvalidSpec)?;
    let mut existing = existing;
    if let Some(e) = &existing
        && shape::secret_matches(e, &desired)
    {
        return Ok(e.clone());
    }
    let name = obj.secret_name();
    if let Some(s) = &existing
        && s.type_.as_deref().unwrap_or("Opaque") != shape::secret_type(obj)
    {
        delete_if_owned(obj, api, &name).await?;
        existing = None;
    }
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    let now = match &existing {
        None => match api.create(&pp, &desired).await {
            Ok(s) => s,
            Err(kube::Error::Api(s)) if s.code == 409 => {
                // Created by someone else since we looked: only take it over if it is ours.
                let now = api.get(&name).await?;
                if !shape::secret_owned_by(&now, obj) {
                    return Err(conflict(&name, &now));
                }
                replace(api, &now, desired).await?
            }
            Err(e) => return Err(e.into()),
        },
        Some(now) => replace(api, now, desired).await?,
    };
    crate::crash::after_write("the credentials Secret");
    Ok(now)
}

/// Replaces an owned credentials Secret by `desired` as a whole: its keys, labels and
/// annotations become exactly the rendered ones (keys and metadata a previous template had go
/// with it; the Secret is the operator's). Guarded by the resourceVersion it was read at.
async fn replace(api: &Api<Secret>, now: &Secret, mut desired: Secret) -> Result<Secret, Error> {
    desired.metadata.resource_version = now.metadata.resource_version.clone();
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    Ok(api.replace(&now.name_any(), &pp, &desired).await?)
}

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
