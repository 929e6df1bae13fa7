//! `Auth0ClientGrant`: authorizes an application to request tokens for an API (audience).

// kube's `printcolumn(...)` repeats `type_ = ...` by design.
#![allow(clippy::duplicated_attributes)]

use super::rules;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

use super::{
    TenantRef,
    common::{
        DeletionPolicy, HasConditions, ManagementPolicy, OrganizationUsage, conditions_schema,
    },
};

/// A client grant in Auth0: lets one application obtain tokens for one API (audience) with a
/// set of scopes (machine-to-machine authorization).
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "auth0.operator.dev",
    version = "v1alpha1",
    kind = "Auth0ClientGrant",
    plural = "auth0clientgrants",
    shortname = "a0cg",
    category = "auth0",
    namespaced,
    status = "Auth0ClientGrantStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "An Auth0 client grant (application to API authorization) managed by auth0-operator.",
    printcolumn(name = "Client", type_ = "string", json_path = ".status.clientId"),
    printcolumn(name = "Audience", type_ = "string", json_path = ".status.audience"),
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
        name = "Grant ID",
        type_ = "string",
        json_path = ".status.grantId",
        priority = "1"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new("has(self.clientRef) != has(self.clientId)")
    .message(rules::GRANT_ONE_CLIENT))]
#[x_kube(validation = Rule::new(
    "has(self.clientId) == has(oldSelf.clientId) && (!has(self.clientId) || self.clientId == oldSelf.clientId)"
).message(rules::GRANT_CLIENT_ID_IMMUTABLE))]
#[x_kube(validation = Rule::new(
    "has(self.clientRef) == has(oldSelf.clientRef) && (!has(self.clientRef) || self.clientRef.name == oldSelf.clientRef.name)"
).message(rules::GRANT_CLIENT_REF_IMMUTABLE))]
#[x_kube(validation = Rule::new("has(self.audience) != has(self.resourceServerRef)")
    .message(rules::GRANT_ONE_AUDIENCE))]
#[x_kube(validation = Rule::new(
    "has(self.audience) == has(oldSelf.audience) && (!has(self.audience) || self.audience == oldSelf.audience)"
).message(rules::GRANT_AUDIENCE_IMMUTABLE))]
#[x_kube(validation = Rule::new(
    "has(self.resourceServerRef) == has(oldSelf.resourceServerRef) && (!has(self.resourceServerRef) || self.resourceServerRef.name == oldSelf.resourceServerRef.name)"
).message(rules::GRANT_RESOURCE_SERVER_REF_IMMUTABLE))]
#[x_kube(validation = Rule::new(
    "has(self.tenantRef) == has(oldSelf.tenantRef) && (!has(self.tenantRef) || self.tenantRef == oldSelf.tenantRef)"
).message(rules::TENANT_REF_IMMUTABLE))]
#[x_kube(validation = Rule::new(
    "has(self.grantId) == has(oldSelf.grantId) && (!has(self.grantId) || self.grantId == oldSelf.grantId)"
).message(rules::GRANT_ID_IMMUTABLE))]
#[serde(rename_all = "camelCase")]
pub struct Auth0ClientGrantSpec {
    /// The Auth0 tenant this grant lives in: an `Auth0Tenant` of this namespace (`kind` may be
    /// omitted) or a `ClusterAuth0Tenant` that allows this namespace. Absent: the operator's
    /// default tenant. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_ref: Option<TenantRef>,

    /// The `Auth0Client` (in this namespace) to authorize. Exactly one of `clientRef` and
    /// `clientId` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ref: Option<ClientRef>,

    /// Client id of an Auth0 application not managed by this cluster. Exactly one of `clientRef`
    /// and `clientId` is required.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub client_id: Option<String>,

    /// Identifier of the API (resource server) the application may call, e.g.
    /// `https://api.example.com/`, for an API not managed by this cluster. Exactly one of
    /// `audience` and `resourceServerRef` is required. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 600))]
    pub audience: Option<String>,

    /// The `Auth0ResourceServer` (in this namespace and tenant) whose API the application may
    /// call: the grant waits until it is ready, and uses its identifier as the audience.
    /// Exactly one of `audience` and `resourceServerRef` is required. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_server_ref: Option<ResourceServerRef>,

    /// Scopes (permissions) granted for the audience. A set: order does not matter. Each must
    /// be defined by the API. At most 1000 scopes (an Auth0 API defines at most 1000) of at
    /// most 280 characters each.
    #[serde(default)]
    #[schemars(length(max = 1000), inner(length(min = 1, max = 280)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub scopes: Vec<String>,

    /// Whether the grant may be used with organizations: `deny`, `allow` or `require`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_usage: Option<OrganizationUsage>,

    /// Whether the grant applies to any organization (otherwise only to organizations it is
    /// explicitly associated with).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_any_organization: Option<bool>,

    /// `Manage` (default): the operator creates, updates and (per `deletionPolicy`) deletes the
    /// Auth0 object. `Observe`: it only reads it (never creates, changes or deletes it, whatever
    /// `deletionPolicy` says) and reports in `status.drift` the fields that differ from this
    /// spec; an object that does not exist is reported as `NotFound`.
    #[serde(default, skip_serializing_if = "ManagementPolicy::is_manage")]
    pub management_policy: ManagementPolicy,

    /// Adopt the existing grant with this id (`cgr_…`) instead of creating one; its client and
    /// audience must be the ones this spec names. Can only be set when the resource is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub grant_id: Option<String>,

    /// `Delete` (default) removes the grant from Auth0 when this resource is deleted; `Orphan`
    /// leaves it.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Reference to an `Auth0Client` in the same namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
pub struct ClientRef {
    /// `metadata.name` of the `Auth0Client`.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Reference to an `Auth0ResourceServer` in the same namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
pub struct ResourceServerRef {
    /// `metadata.name` of the `Auth0ResourceServer`.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Observed state of an `Auth0ClientGrant`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Auth0ClientGrantStatus {
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions; `Ready` tells whether the grant in Auth0 matches the spec.
    #[serde(default)]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Id of the grant in Auth0 (`cgr_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// The client id the grant was resolved to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The audience of the grant this resource manages (`spec.audience`, or the identifier of
    /// the `resourceServerRef`), recorded when it was first synced: it cannot change (the
    /// operator refuses a changed value with `InvalidSpec` even where the API server does not
    /// run the CRD's CEL rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// The `clientRef` the grant was synced with (absent when it uses `spec.clientId`),
    /// recorded for the same immutability check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ref: Option<ClientRef>,
    /// The `resourceServerRef` the grant was synced with (absent when it uses `spec.audience`),
    /// recorded for the same immutability check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_server_ref: Option<ResourceServerRef>,
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

impl HasConditions for Auth0ClientGrantStatus {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}
