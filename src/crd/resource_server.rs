//! `Auth0ResourceServer`: an API (Auth0 "resource server") and the scopes it defines.

// kube's `printcolumn(...)` repeats `type_ = ...` by design.
#![allow(clippy::duplicated_attributes)]

use super::rules;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    TenantRef,
    common::{DeletionPolicy, HasConditions, ManagementPolicy, conditions_schema},
};

/// An API in Auth0 (a resource server): the audience applications request tokens for, and the
/// scopes (permissions) that client grants may give.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "auth0.operator.dev",
    version = "v1alpha1",
    kind = "Auth0ResourceServer",
    plural = "auth0resourceservers",
    shortname = "a0api",
    category = "auth0",
    namespaced,
    status = "Auth0ResourceServerStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "An Auth0 API (resource server) managed by auth0-operator.",
    printcolumn(name = "Identifier", type_ = "string", json_path = ".spec.identifier"),
    printcolumn(name = "ID", type_ = "string", json_path = ".status.id"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status"
    ),
    printcolumn(
        name = "Reason",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].reason"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new(
    "has(self.tenantRef) == has(oldSelf.tenantRef) && (!has(self.tenantRef) || self.tenantRef == oldSelf.tenantRef)"
).message(rules::TENANT_REF_IMMUTABLE))]
#[serde(rename_all = "camelCase")]
pub struct Auth0ResourceServerSpec {
    /// The Auth0 tenant this API lives in: an `Auth0Tenant` of this namespace (`kind` may be
    /// omitted) or a `ClusterAuth0Tenant` that allows this namespace. Absent: the operator's
    /// default tenant. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_ref: Option<TenantRef>,

    /// Unique identifier of the API in its tenant, used as the `audience` of token requests,
    /// e.g. `https://orders.example.com/api`. Immutable (Auth0 cannot change it).
    #[schemars(length(min = 1, max = 600))]
    #[x_kube(validation = Rule::new("self == oldSelf").message(rules::IDENTIFIER_IMMUTABLE))]
    pub identifier: String,

    /// Friendly name shown in the dashboard (no `<` or `>`). Absent: Auth0 uses the identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 200), regex(pattern = r"^[^<>]+$"))]
    pub name: Option<String>,

    /// The permissions (scopes) this API defines, keyed by `value`; compared as a set (order
    /// never matters, a changed description does). Absent: the scopes are not managed (left as
    /// they are in Auth0); `[]`: the API defines no scopes. At most 1000 (Auth0's limit per
    /// API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1000))]
    #[x_kube(merge_strategy = ListMerge::Map(vec!["value".into()]))]
    pub scopes: Option<Vec<Scope>>,

    /// Algorithm access tokens for this API are signed with: `HS256`, `RS256`, `RS512` or
    /// `PS256`. Absent: Auth0's default (`RS256`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<SigningAlg>,

    /// Lifetime in seconds of access tokens issued for this API from the token endpoint
    /// (0 to 2592000). Absent: Auth0's default (86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2592000))]
    pub token_lifetime: Option<i64>,

    /// Lifetime in seconds of access tokens issued for this API through the implicit or hybrid
    /// flows (browser apps; 0 to 2592000). Absent: Auth0's default (7200).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 2592000))]
    pub token_lifetime_for_web: Option<i64>,

    /// Whether refresh tokens can be issued for this API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_offline_access: Option<bool>,

    /// Whether user consent is skipped for first-party applications whose callback can be
    /// verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_consent_for_verifiable_first_party_clients: Option<bool>,

    /// Whether role-based access control (authorization policies) is enforced for this API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_policies: Option<bool>,

    /// Format of the access tokens: `access_token`, `access_token_authz` (with RBAC
    /// permissions), `rfc9068_profile` or `rfc9068_profile_authz`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_dialect: Option<TokenDialect>,

    /// `Manage` (default): the operator creates, updates and (per `deletionPolicy`) deletes the
    /// Auth0 object. `Observe`: it only reads it (never creates, changes or deletes it, whatever
    /// `deletionPolicy` says) and reports in `status.drift` the fields that differ from this
    /// spec; an object that does not exist is reported as `NotFound`.
    #[serde(default, skip_serializing_if = "ManagementPolicy::is_manage")]
    pub management_policy: ManagementPolicy,

    /// `Delete` (default) removes the API from Auth0 when this resource is deleted (Auth0 then
    /// deletes its client grants too); `Orphan` leaves it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Take over an API with this identifier that already exists in the tenant (made in the
    /// dashboard, by Terraform, by another cluster). Default `false`: such an API is reported
    /// with reason `AlreadyExists` and left alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt: bool,

    /// Namespaces whose `Auth0ClientGrant`s may grant applications access to this API (this
    /// resource's own namespace always may). A grant from any other namespace gets
    /// `ConsumerNotAllowed`; taking a namespace off this list revokes its grants in Auth0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_consumers: Option<crate::crd::AllowedNamespaces>,
}

/// One scope (permission) of an API.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
pub struct Scope {
    /// The scope as requested and granted, e.g. `read:orders`.
    #[schemars(length(min = 1, max = 280))]
    pub value: String,
    /// What the scope allows, shown in the dashboard and on consent screens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 500))]
    pub description: Option<String>,
}

/// Signing algorithm of an API's access tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SigningAlg {
    // HMAC with SHA-256 (a shared secret).
    HS256,
    // RSA with SHA-256 (Auth0's default).
    RS256,
    // RSA with SHA-512.
    RS512,
    // RSA-PSS with SHA-256.
    PS256,
}

impl SigningAlg {
    /// The Auth0 wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HS256 => "HS256",
            Self::RS256 => "RS256",
            Self::RS512 => "RS512",
            Self::PS256 => "PS256",
        }
    }
}

/// Access token format of an API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenDialect {
    // Auth0's standard claims.
    AccessToken,
    // Standard claims plus RBAC permissions.
    AccessTokenAuthz,
    // IETF JWT access token profile (RFC 9068).
    Rfc9068Profile,
    // RFC 9068 plus RBAC permissions.
    Rfc9068ProfileAuthz,
}

impl TokenDialect {
    /// The Auth0 wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::AccessTokenAuthz => "access_token_authz",
            Self::Rfc9068Profile => "rfc9068_profile",
            Self::Rfc9068ProfileAuthz => "rfc9068_profile_authz",
        }
    }
}

/// Observed state of an `Auth0ResourceServer`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Auth0ResourceServerStatus {
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions; `Ready` tells whether the API in Auth0 matches the spec.
    #[serde(default)]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Id of the API in Auth0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The identifier of the API this resource manages. Recorded *before* the API is created,
    /// so that after a create whose answer was lost (a crash, a cut connection) the API Auth0
    /// did make is recognised as this resource's instead of being reported as someone else's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// The tenant this resource's Auth0 objects live in (`default`, `<namespace>/<name>` or
    /// `cluster/<name>`), recorded when it was first synced: `spec.tenantRef` cannot change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The managed fields whose Auth0 value differed from the spec (names only, never values):
    /// with `Observe`, the fields that differ now; with `Manage`, the fields the last
    /// correction of a change made outside Kubernetes set back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift: Option<Vec<String>>,
    /// When drift was last seen (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_drift_time: Option<String>,
}

impl HasConditions for Auth0ResourceServerStatus {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}
