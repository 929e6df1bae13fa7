//! Types shared by both custom resources.

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

/// Reasons used on the `Ready` condition (also the reason of the matching event).
pub mod reason {
    /// The Auth0 object matches the spec.
    pub const SYNCED: &str = "Synced";
    /// Work in progress (first reconcile, or a change being applied).
    pub const RECONCILING: &str = "Reconciling";
    /// Auth0 answered with an error the operator cannot fix by retrying immediately.
    pub const AUTH0_ERROR: &str = "Auth0Error";
    /// Auth0 answered 5xx or could not be reached, even after retries; the operator retries
    /// with backoff.
    pub const AUTH0_UNAVAILABLE: &str = "Auth0Unavailable";
    /// Auth0's rate limit was exhausted; the operator is waiting for the bucket to refill.
    pub const RATE_LIMITED: &str = "RateLimited";
    /// A Secret with the target name exists and is not owned by this resource.
    pub const SECRET_CONFLICT: &str = "SecretConflict";
    /// The referenced `Auth0Client` does not exist or is not ready yet.
    pub const CLIENT_NOT_READY: &str = "ClientNotReady";
    /// The spec cannot be applied as written.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// The Auth0 object this resource points at does not exist (any more).
    pub const NOT_FOUND: &str = "NotFound";
    /// The Kubernetes API failed (writing the Secret or status).
    pub const KUBERNETES_ERROR: &str = "KubernetesError";
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
