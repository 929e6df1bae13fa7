//! Types shared by the custom resources.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happens to the Auth0 object when the custom resource is deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    // Delete the Auth0 object (a 404 from Auth0 counts as already deleted).
    #[default]
    Delete,
    // Leave the Auth0 object in place; only the custom resource goes away.
    Orphan,
}

/// Whether the operator manages the Auth0 object or only observes it (Crossplane's management
/// policies, reduced to the two that matter here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ManagementPolicy {
    // Create, update and (per deletionPolicy) delete the Auth0 object.
    #[default]
    Manage,
    // Only read it: never create, change or delete it; report drift from the spec.
    Observe,
}

impl ManagementPolicy {
    /// The default (not written out).
    pub fn is_manage(&self) -> bool {
        *self == ManagementPolicy::Manage
    }
}

/// Condition type beside `Ready`: whether the Auth0 object matches the spec (`Observe`: it does
/// or it drifted; `Manage`: it does, after correcting any drift).
pub const CONDITION_IN_SYNC: &str = "InSync";

/// Whether users of an organization may (or must) use this application / grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationUsage {
    // Organizations are not used.
    Deny,
    // Organizations may be used.
    Allow,
    // An organization is required.
    Require,
}

impl OrganizationUsage {
    /// The Auth0 wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Deny => "deny",
            Self::Allow => "allow",
            Self::Require => "require",
        }
    }
}

/// The `Ready` condition type.
pub const CONDITION_READY: &str = "Ready";
/// Condition type on `Auth0Client`: a credential hand-over (rotation) is in progress.
pub const CONDITION_ROTATING: &str = "Rotating";

/// Reasons of the `Ready` condition (also the reason of the matching event). One vocabulary:
/// the operator maps every failure to one of these once, and nothing compares reason strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Reason {
    /// The Auth0 object matches the spec.
    Synced,
    /// Work in progress (first reconcile, or a change being applied).
    Reconciling,
    /// Auth0 answered with an error the operator cannot fix by retrying immediately.
    Auth0Error,
    /// Auth0 answered 5xx or could not be reached, even after retries; the operator retries
    /// with backoff.
    Auth0Unavailable,
    /// Auth0's rate limit was exhausted; the operator is waiting for the bucket to refill.
    RateLimited,
    /// A Secret with the target name exists and is not owned by this resource.
    SecretConflict,
    /// The referenced `Auth0Client` does not exist or is not ready yet.
    ClientNotReady,
    /// The spec cannot be applied as written.
    InvalidSpec,
    /// The Auth0 object this resource points at does not exist (any more).
    NotFound,
    /// The Kubernetes API failed (writing the Secret or status).
    KubernetesError,
    /// The tenant named by `spec.tenantRef` does not exist (or no default tenant is configured).
    TenantNotFound,
    /// The tenant exists but its credentials are not verified (yet).
    TenantNotReady,
    /// The `ClusterAuth0Tenant` does not allow this resource's namespace.
    TenantNotAllowed,
    /// An Auth0 object with this resource's unique key (an API identifier) exists and is not
    /// this resource's; it is adopted only when the spec says so.
    AlreadyExists,
    /// The referenced `Auth0ResourceServer` does not exist or is not ready yet.
    ResourceServerNotReady,
    /// A grant asks for scopes its API does not define.
    UnknownScopes,
    /// The Auth0 object is the tenant's management application, Auth0's global client, a
    /// system object or the Management API: never adopted, changed or deleted by a resource.
    Protected,
    /// Another resource manages that Auth0 object.
    OwnedElsewhere,
    /// The tenant's `policy.adoption` does not let this namespace adopt an object no resource
    /// manages.
    AdoptionNotAllowed,
    /// A grant to the Management API that the tenant's `policy.managementApi` does not allow.
    ManagementApiNotAllowed,
    /// A grant to an API whose owner (its `Auth0ResourceServer.spec.allowedConsumers`, or the
    /// tenant's `policy.unmanagedApis`) does not allow this namespace.
    ConsumerNotAllowed,
    /// `spec.connections` names a connection the tenant does not have.
    UnknownConnection,
}

impl Reason {
    /// Every reason, in documentation order.
    pub const ALL: [Reason; 22] = [
        Reason::Synced,
        Reason::Reconciling,
        Reason::Auth0Error,
        Reason::Auth0Unavailable,
        Reason::RateLimited,
        Reason::SecretConflict,
        Reason::ClientNotReady,
        Reason::InvalidSpec,
        Reason::NotFound,
        Reason::KubernetesError,
        Reason::TenantNotFound,
        Reason::TenantNotReady,
        Reason::TenantNotAllowed,
        Reason::AlreadyExists,
        Reason::ResourceServerNotReady,
        Reason::UnknownScopes,
        Reason::Protected,
        Reason::OwnedElsewhere,
        Reason::AdoptionNotAllowed,
        Reason::ManagementApiNotAllowed,
        Reason::ConsumerNotAllowed,
        Reason::UnknownConnection,
    ];

    /// The wire value (condition and event reason).
    pub const fn as_str(self) -> &'static str {
        match self {
            Reason::Synced => "Synced",
            Reason::Reconciling => "Reconciling",
            Reason::Auth0Error => "Auth0Error",
            Reason::Auth0Unavailable => "Auth0Unavailable",
            Reason::RateLimited => "RateLimited",
            Reason::SecretConflict => "SecretConflict",
            Reason::ClientNotReady => "ClientNotReady",
            Reason::InvalidSpec => "InvalidSpec",
            Reason::NotFound => "NotFound",
            Reason::KubernetesError => "KubernetesError",
            Reason::TenantNotFound => "TenantNotFound",
            Reason::TenantNotReady => "TenantNotReady",
            Reason::TenantNotAllowed => "TenantNotAllowed",
            Reason::AlreadyExists => "AlreadyExists",
            Reason::ResourceServerNotReady => "ResourceServerNotReady",
            Reason::UnknownScopes => "UnknownScopes",
            Reason::Protected => "Protected",
            Reason::OwnedElsewhere => "OwnedElsewhere",
            Reason::AdoptionNotAllowed => "AdoptionNotAllowed",
            Reason::ManagementApiNotAllowed => "ManagementApiNotAllowed",
            Reason::ConsumerNotAllowed => "ConsumerNotAllowed",
            Reason::UnknownConnection => "UnknownConnection",
        }
    }

    /// A refusal of the trust boundary (see the README's "Security model").
    pub const fn is_trust_refusal(self) -> bool {
        matches!(
            self,
            Reason::Protected
                | Reason::OwnedElsewhere
                | Reason::AdoptionNotAllowed
                | Reason::ManagementApiNotAllowed
                | Reason::ConsumerNotAllowed
        )
    }

    /// Waiting on another object, not a failure: logged at info, a Normal event; the resource
    /// is woken when that object changes.
    pub const fn is_wait(self) -> bool {
        matches!(
            self,
            Reason::ClientNotReady
                | Reason::ResourceServerNotReady
                | Reason::TenantNotFound
                | Reason::TenantNotReady
        )
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reasons of the Normal events that tell what a reconcile did (beside the [`Reason`] of the
/// `Ready` condition, whose events report failures and waits). One vocabulary: nothing compares
/// event reason strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventReason {
    /// An Auth0 object was created.
    Created,
    /// The Auth0 object was missing in Auth0 and was created again.
    Recreated,
    /// An existing Auth0 object was adopted.
    Adopted,
    /// The Auth0 object was changed to match the spec.
    Updated,
    /// The credentials Secret was written.
    SecretWritten,
    /// A Secret left by a deleted resource of the same name was replaced.
    StaleSecretReplaced,
    /// The Auth0 object was deleted with the resource.
    Deleted,
    /// The Auth0 object was kept when the resource was deleted.
    Orphaned,
    /// The credential was rotated.
    Rotated,
    /// A private key was registered with Auth0.
    KeyRegistered,
    /// The previous private key was retired after its overlap.
    KeyRetired,
    /// The next client secret was published in the Secret (`Staged` rotation).
    NextSecretPublished,
}

impl EventReason {
    /// Every event reason, in documentation order.
    pub const ALL: [EventReason; 12] = [
        EventReason::Created,
        EventReason::Recreated,
        EventReason::Adopted,
        EventReason::Updated,
        EventReason::SecretWritten,
        EventReason::StaleSecretReplaced,
        EventReason::Deleted,
        EventReason::Orphaned,
        EventReason::Rotated,
        EventReason::KeyRegistered,
        EventReason::KeyRetired,
        EventReason::NextSecretPublished,
    ];

    /// The wire value (the event's `reason`).
    pub const fn as_str(self) -> &'static str {
        match self {
            EventReason::Created => "Created",
            EventReason::Recreated => "Recreated",
            EventReason::Adopted => "Adopted",
            EventReason::Updated => "Updated",
            EventReason::SecretWritten => "SecretWritten",
            EventReason::StaleSecretReplaced => "StaleSecretReplaced",
            EventReason::Deleted => "Deleted",
            EventReason::Orphaned => "Orphaned",
            EventReason::Rotated => "Rotated",
            EventReason::KeyRegistered => "KeyRegistered",
            EventReason::KeyRetired => "KeyRetired",
            EventReason::NextSecretPublished => "NextSecretPublished",
        }
    }
}

impl std::fmt::Display for EventReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The reasons as string constants (for manifests, tests and health checks).
pub mod reason {
    use super::Reason;
    /// [`Reason::Synced`].
    pub const SYNCED: &str = Reason::Synced.as_str();
    /// [`Reason::Reconciling`].
    pub const RECONCILING: &str = Reason::Reconciling.as_str();
    /// [`Reason::Auth0Error`].
    pub const AUTH0_ERROR: &str = Reason::Auth0Error.as_str();
    /// [`Reason::Auth0Unavailable`].
    pub const AUTH0_UNAVAILABLE: &str = Reason::Auth0Unavailable.as_str();
    /// [`Reason::RateLimited`].
    pub const RATE_LIMITED: &str = Reason::RateLimited.as_str();
    /// [`Reason::SecretConflict`].
    pub const SECRET_CONFLICT: &str = Reason::SecretConflict.as_str();
    /// [`Reason::ClientNotReady`].
    pub const CLIENT_NOT_READY: &str = Reason::ClientNotReady.as_str();
    /// [`Reason::InvalidSpec`].
    pub const INVALID_SPEC: &str = Reason::InvalidSpec.as_str();
    /// [`Reason::NotFound`].
    pub const NOT_FOUND: &str = Reason::NotFound.as_str();
    /// [`Reason::KubernetesError`].
    pub const KUBERNETES_ERROR: &str = Reason::KubernetesError.as_str();
    /// [`Reason::TenantNotFound`].
    pub const TENANT_NOT_FOUND: &str = Reason::TenantNotFound.as_str();
    /// [`Reason::TenantNotReady`].
    pub const TENANT_NOT_READY: &str = Reason::TenantNotReady.as_str();
    /// [`Reason::TenantNotAllowed`].
    pub const TENANT_NOT_ALLOWED: &str = Reason::TenantNotAllowed.as_str();
    /// [`Reason::AlreadyExists`].
    pub const ALREADY_EXISTS: &str = Reason::AlreadyExists.as_str();
    /// [`Reason::ResourceServerNotReady`].
    pub const RESOURCE_SERVER_NOT_READY: &str = Reason::ResourceServerNotReady.as_str();
    /// [`Reason::UnknownScopes`].
    pub const UNKNOWN_SCOPES: &str = Reason::UnknownScopes.as_str();
    /// [`Reason::UnknownConnection`].
    pub const UNKNOWN_CONNECTION: &str = Reason::UnknownConnection.as_str();
}

/// Fields common to the status of both kinds.
pub trait HasConditions {
    /// Current conditions.
    fn conditions(&self) -> &[Condition];
}

/// Returns the `Ready` condition, if present.
pub fn ready_condition(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == CONDITION_READY)
}

/// Schema for `status.conditions`: a list keyed by `type` (so server-side apply merges by type).
pub(crate) fn conditions_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = generator.subschema_for::<Vec<Condition>>();
    let obj = schema.ensure_object();
    obj.insert("x-kubernetes-list-type".into(), "map".into());
    obj.insert(
        "x-kubernetes-list-map-keys".into(),
        serde_json::json!(["type"]),
    );
    schema
}
