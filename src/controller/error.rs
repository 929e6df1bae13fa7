//! The errors of one reconcile, and what each means for the `Ready` reason and the retry.

use crate::{auth0::Auth0Error, crd::Reason};

/// Errors of one reconcile. Messages never contain secrets.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Auth0 answered with an error or could not be reached.
    #[error("{0}")]
    Auth0(#[from] Auth0Error),
    /// The Kubernetes API failed.
    #[error("Kubernetes API error: {0}")]
    Kube(#[from] kube::Error),
    /// The spec cannot be applied as written (the user must change it).
    #[error("{0}")]
    InvalidSpec(String),
    /// The target Secret exists and belongs to someone else.
    #[error("{0}")]
    SecretConflict(String),
    /// The referenced Auth0Client is missing or not ready.
    #[error("{0}")]
    ClientNotReady(String),
    /// The referenced Auth0ResourceServer is missing or not ready.
    #[error("{0}")]
    ResourceServerNotReady(String),
    /// An Auth0 object with this resource's unique key exists and is not this resource's.
    #[error("{0}")]
    AlreadyExists(String),
    /// A grant asks for scopes its API does not define.
    #[error("{0}")]
    UnknownScopes(String),
    /// The Auth0 object this resource names does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The referenced tenant does not exist, or no default tenant is configured.
    #[error("{0}")]
    TenantNotFound(String),
    /// The referenced tenant is not verified.
    #[error("{0}")]
    TenantNotReady(String),
    /// The referenced `ClusterAuth0Tenant` does not allow this namespace.
    #[error("{0}")]
    TenantNotAllowed(String),
    /// A tenant's deletion waits for the resources that use it.
    #[error("{0}")]
    TenantInUse(String),
    /// The Auth0 object is protected (the management application, Auth0's global client, a
    /// system object, the Management API).
    #[error("{0}")]
    Protected(String),
    /// Another resource manages the Auth0 object.
    #[error("{0}")]
    OwnedElsewhere(String),
    /// The tenant's policy does not let this namespace adopt an unmanaged object.
    #[error("{0}")]
    AdoptionNotAllowed(String),
    /// A grant to the Management API the tenant's policy does not allow.
    #[error("{0}")]
    ManagementApiNotAllowed(String),
    /// A grant to an API whose owner does not allow this namespace.
    #[error("{0}")]
    ConsumerNotAllowed(String),
    /// `spec.connections` names connections the tenant does not have.
    #[error("{0}")]
    UnknownConnection(String),
    /// Adding or removing the finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

impl Error {
    /// The `Ready` condition reason (and event reason) for this error.
    pub fn reason(&self) -> Reason {
        match self {
            Error::Auth0(Auth0Error::RateLimited { .. }) => Reason::RateLimited,
            Error::Auth0(Auth0Error::Api { status: 400, .. }) => Reason::InvalidSpec,
            Error::Auth0(e) if e.is_retryable() => Reason::Auth0Unavailable,
            Error::Auth0(_) => Reason::Auth0Error,
            Error::Kube(_) => Reason::KubernetesError,
            Error::InvalidSpec(_) => Reason::InvalidSpec,
            Error::SecretConflict(_) => Reason::SecretConflict,
            Error::ClientNotReady(_) => Reason::ClientNotReady,
            Error::ResourceServerNotReady(_) => Reason::ResourceServerNotReady,
            Error::AlreadyExists(_) => Reason::AlreadyExists,
            Error::UnknownScopes(_) => Reason::UnknownScopes,
            Error::NotFound(_) => Reason::NotFound,
            Error::TenantNotFound(_) => Reason::TenantNotFound,
            Error::TenantNotReady(_) | Error::TenantInUse(_) => Reason::TenantNotReady,
            Error::TenantNotAllowed(_) => Reason::TenantNotAllowed,
            Error::Protected(_) => Reason::Protected,
            Error::OwnedElsewhere(_) => Reason::OwnedElsewhere,
            Error::AdoptionNotAllowed(_) => Reason::AdoptionNotAllowed,
            Error::ManagementApiNotAllowed(_) => Reason::ManagementApiNotAllowed,
            Error::ConsumerNotAllowed(_) => Reason::ConsumerNotAllowed,
            Error::UnknownConnection(_) => Reason::UnknownConnection,
            Error::Finalizer(inner) => match &**inner {
                kube::runtime::finalizer::Error::ApplyFailed(e)
                | kube::runtime::finalizer::Error::CleanupFailed(e) => e.reason(),
                _ => Reason::KubernetesError,
            },
        }
    }

    /// Errors the user must fix; retrying soon cannot help.
    pub fn needs_user(&self) -> bool {
        match self {
            Error::InvalidSpec(_)
            | Error::SecretConflict(_)
            | Error::NotFound(_)
            | Error::AlreadyExists(_)
            | Error::UnknownScopes(_)
            | Error::TenantNotAllowed(_)
            | Error::Protected(_)
            | Error::OwnedElsewhere(_)
            | Error::AdoptionNotAllowed(_)
            | Error::ManagementApiNotAllowed(_)
            | Error::ConsumerNotAllowed(_)
            | Error::UnknownConnection(_) => true,
            // Wrong management credentials or scopes: retrying soon only costs token requests.
            Error::Auth0(
                Auth0Error::Api { status: 400, .. }
                | Auth0Error::InvalidCredentials { .. }
                | Auth0Error::InsufficientScope { .. },
            ) => true,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> Error {
        Error::Auth0(Auth0Error::Api {
            status,
            error: "e".into(),
            message: "m".into(),
            error_code: None,
            endpoint: "POST /api/v2/clients",
        })
    }

    #[test]
    fn reasons_and_who_must_act() {
        assert_eq!(api(400).reason(), Reason::InvalidSpec);
        assert!(api(400).needs_user());
        assert_eq!(api(503).reason(), Reason::Auth0Unavailable);
        assert!(!api(503).needs_user());
        assert_eq!(api(403).reason(), Reason::Auth0Error);
        let limited = Error::Auth0(Auth0Error::RateLimited {
            endpoint: "GET /api/v2/clients",
            retry_after: None,
            attempts: 10,
        });
        assert_eq!(limited.reason(), Reason::RateLimited);
        assert_eq!(
            Error::SecretConflict("x".into()).reason(),
            Reason::SecretConflict
        );
        assert!(Error::SecretConflict("x".into()).needs_user());
        assert_eq!(
            Error::ClientNotReady("x".into()).reason(),
            Reason::ClientNotReady
        );
    }
}
