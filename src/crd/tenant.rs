//! `Auth0Tenant` (namespaced) and `ClusterAuth0Tenant` (cluster-scoped): an Auth0 tenant and the
//! management credentials the operator uses for it, referenced by every managed resource through
//! `spec.tenantRef` (like cert-manager's `Issuer`/`ClusterIssuer`).

// kube's `printcolumn(...)` repeats `type_ = ...` by design.
#![allow(clippy::duplicated_attributes)]

use super::rules;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{HasConditions, conditions_schema};

/// Default key of the client id in the credentials Secret.
pub const DEFAULT_CLIENT_ID_KEY: &str = "AUTH0_CLIENT_ID";
/// Default key of the client secret in the credentials Secret.
pub const DEFAULT_CLIENT_SECRET_KEY: &str = "AUTH0_CLIENT_SECRET";

fn default_client_id_key() -> String {
    DEFAULT_CLIENT_ID_KEY.to_string()
}

fn default_client_secret_key() -> String {
    DEFAULT_CLIENT_SECRET_KEY.to_string()
}

/// An Auth0 tenant the operator manages resources in, with the Secret holding the management
/// credentials of a machine-to-machine application authorized for the Auth0 Management API.
/// Resources of this namespace use it through `spec.tenantRef: {name: <this name>}`.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "auth0.operator.dev",
    version = "v1alpha1",
    kind = "Auth0Tenant",
    plural = "auth0tenants",
    shortname = "a0t",
    category = "auth0",
    namespaced,
    status = "Auth0TenantStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "An Auth0 tenant and its management credentials, for the resources of one namespace.",
    printcolumn(name = "Domain", type_ = "string", json_path = ".spec.domain"),
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
#[serde(rename_all = "camelCase")]
pub struct Auth0TenantSpec {
    /// The tenant's domain, e.g. `staging-tenant.eu.auth0.com` (a bare host name). Immutable.
    /// It must match the operator's `ALLOWED_TENANT_DOMAINS`.
    #[schemars(
        length(min = 1, max = 253),
        regex(
            pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$"
        )
    )]
    #[x_kube(validation = Rule::new("self == oldSelf").message(rules::DOMAIN_IMMUTABLE))]
    pub domain: String,

    /// The Secret, in this tenant's own namespace, holding the management application's client
    /// id and secret.
    pub credentials_secret_ref: CredentialsSecretRef,

    /// Management API audience. Default `https://<domain>/api/v2/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 600))]
    pub audience: Option<String>,

    /// Send this tenant's Auth0 calls to another base URL (scheme, host, port), e.g. a local
    /// simulator. Refused unless the operator runs with `ALLOW_TENANT_BASE_URL=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 600))]
    pub base_url: Option<String>,

    /// Client-side request budget for this tenant. Default: the operator's `AUTH0_RATE_LIMIT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<TenantRateLimit>,

    /// What this namespace's resources may do beyond their own objects: adopt objects no
    /// resource manages, grant access to APIs no resource manages, and grant access to the
    /// Management API. Absent: adoption and unmanaged APIs are allowed (the namespace owns the tenant), the Management API is not. On an Auth0Tenant an empty namespace selection (`{}`) means its own namespace. See the README's "Security model".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<TenantPolicySpec>,
}

/// An Auth0 tenant and its management credentials, usable by resources of every namespace that
/// `allowedNamespaces` admits. The right to create one is the right to make the operator read the
/// Secret it names.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "auth0.operator.dev",
    version = "v1alpha1",
    kind = "ClusterAuth0Tenant",
    plural = "clusterauth0tenants",
    shortname = "ca0t",
    category = "auth0",
    status = "Auth0TenantStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "An Auth0 tenant and its management credentials, for resources of the namespaces it allows.",
    printcolumn(name = "Domain", type_ = "string", json_path = ".spec.domain"),
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
#[serde(rename_all = "camelCase")]
pub struct ClusterAuth0TenantSpec {
    /// The tenant's domain, e.g. `prod-tenant.us.auth0.com` (a bare host name). Immutable. It
    /// must match the operator's `ALLOWED_TENANT_DOMAINS`.
    #[schemars(
        length(min = 1, max = 253),
        regex(
            pattern = r"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$"
        )
    )]
    #[x_kube(validation = Rule::new("self == oldSelf").message(rules::DOMAIN_IMMUTABLE))]
    pub domain: String,

    /// The Secret holding the management application's client id and secret; `namespace` is
    /// required.
    pub credentials_secret_ref: ClusterCredentialsSecretRef,

    /// Management API audience. Default `https://<domain>/api/v2/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 600))]
    pub audience: Option<String>,

    /// Send this tenant's Auth0 calls to another base URL (scheme, host, port), e.g. a local
    /// simulator. Refused unless the operator runs with `ALLOW_TENANT_BASE_URL=true`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 600))]
    pub base_url: Option<String>,

    /// Client-side request budget for this tenant. Default: the operator's `AUTH0_RATE_LIMIT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<TenantRateLimit>,

    /// Namespaces whose resources may use this tenant. Absent: every namespace. A namespace is
    /// allowed when it is listed in `names` or matches `selector`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_namespaces: Option<AllowedNamespaces>,

    /// What resources using this tenant may do beyond their own objects: adopt objects no
    /// resource manages, grant access to APIs no resource manages, and grant access to the
    /// Management API. Absent: none of the three, for any namespace. See the README's "Security model".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<TenantPolicySpec>,
}

/// What resources using a tenant may do beyond their own objects. `Protected` objects (the
/// management application, Auth0's global client, system APIs and grants, the Management API)
/// and objects another resource manages are never taken, whatever this says.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantPolicySpec {
    /// Namespaces whose resources may adopt Auth0 objects no resource manages (made in the
    /// dashboard, or orphaned): `clientId`, `grantId`, `adopt: true` and a grant's 409. Others
    /// get `AdoptionNotAllowed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<AllowedNamespaces>,
    /// Namespaces whose grants may name APIs no `Auth0ResourceServer` manages. Others get
    /// `ConsumerNotAllowed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmanaged_apis: Option<AllowedNamespaces>,
    /// Grants to the tenant's Management API (`https://<domain>/api/v2/`). Absent: no grant
    /// may name it (`ManagementApiNotAllowed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_api: Option<ManagementApiPolicy>,
}

/// Who may grant an application access to the Management API, and how much.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagementApiPolicy {
    /// Namespaces whose grants may name the Management API. On an `Auth0Tenant`, absent means
    /// its own namespace; on a `ClusterAuth0Tenant`, absent means none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespaces: Option<AllowedNamespaces>,
    /// The most any such grant may hold: a grant asking for a scope outside this list is
    /// refused with `ManagementApiNotAllowed`, naming the scopes.
    #[serde(default)]
    #[schemars(length(max = 200), inner(length(min = 1, max = 280)))]
    pub scopes: Vec<String>,
}

/// A Secret in the tenant's own namespace and the keys of the management credentials in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialsSecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key holding the client id. Default `AUTH0_CLIENT_ID`.
    #[serde(default = "default_client_id_key")]
    #[schemars(length(min = 1, max = 253))]
    pub client_id_key: String,
    /// Key holding the client secret. Default `AUTH0_CLIENT_SECRET`. Not read when
    /// `privateKeyKey` is set.
    #[serde(default = "default_client_secret_key")]
    #[schemars(length(min = 1, max = 253))]
    pub client_secret_key: String,
    /// Key holding a PEM RSA private key (PKCS#8 or PKCS#1) instead of a client secret, for a
    /// management application that authenticates with private-key JWT: the operator signs a
    /// client assertion (RS256) for each token and never sends a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub private_key_key: Option<String>,
}

/// A Secret in a named namespace and the keys of the management credentials in it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterCredentialsSecretRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the Secret.
    #[schemars(length(min = 1, max = 63))]
    pub namespace: String,
    /// Key holding the client id. Default `AUTH0_CLIENT_ID`.
    #[serde(default = "default_client_id_key")]
    #[schemars(length(min = 1, max = 253))]
    pub client_id_key: String,
    /// Key holding the client secret. Default `AUTH0_CLIENT_SECRET`. Not read when
    /// `privateKeyKey` is set.
    #[serde(default = "default_client_secret_key")]
    #[schemars(length(min = 1, max = 253))]
    pub client_secret_key: String,
    /// Key holding a PEM RSA private key (PKCS#8 or PKCS#1) instead of a client secret, for a
    /// management application that authenticates with private-key JWT: the operator signs a
    /// client assertion (RS256) for each token and never sends a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub private_key_key: Option<String>,
}

/// A token bucket: up to `burst` requests at once, refilled at `perSecond`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantRateLimit {
    /// Bucket size (requests that may be sent at once).
    #[schemars(range(min = 1, max = 10000))]
    pub burst: u32,
    /// Refill rate in requests per second.
    #[schemars(range(min = 0.01, max = 10000.0))]
    pub per_second: f64,
}

/// Which namespaces may use a `ClusterAuth0Tenant`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllowedNamespaces {
    /// Namespaces allowed by name (at most 256).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256), inner(length(min = 1, max = 63)))]
    pub names: Vec<String>,
    /// Namespaces allowed by their labels (a standard label selector).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub selector: Option<LabelSelector>,
}

/// Observed state of a tenant.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Auth0TenantStatus {
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions; `Ready` tells whether the credentials were verified with Auth0.
    #[serde(default)]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// Management API scopes of the operator's token for this tenant.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub granted_scopes: Vec<String>,
    /// Scopes the operator needs for the kinds it manages that the token lacks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_scopes: Vec<String>,
    /// The domain the credentials were first verified for: `spec.domain` cannot change (the
    /// operator refuses a changed domain with `InvalidSpec` even where the API server does
    /// not run the CRD's CEL rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
}

impl HasConditions for Auth0TenantStatus {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

/// Which kind of tenant a resource references.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum TenantKind {
    // An `Auth0Tenant` in the resource's namespace.
    #[default]
    Auth0Tenant,
    // A `ClusterAuth0Tenant` that allows the resource's namespace.
    ClusterAuth0Tenant,
}

/// Reference from a managed resource to its tenant.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantRef {
    /// `Auth0Tenant` (default; in the resource's namespace) or `ClusterAuth0Tenant`.
    #[serde(default)]
    pub kind: TenantKind,
    /// `metadata.name` of the tenant.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

impl TenantRef {
    /// The key of the referenced tenant as seen from `namespace`: `<namespace>/<name>` for an
    /// `Auth0Tenant`, `cluster/<name>` for a `ClusterAuth0Tenant` (also its metric label).
    pub fn key(&self, namespace: &str) -> String {
        match self.kind {
            TenantKind::Auth0Tenant => format!("{namespace}/{}", self.name),
            TenantKind::ClusterAuth0Tenant => format!("cluster/{}", self.name),
        }
    }
}

/// Key of the operator's default tenant (from its environment).
pub const DEFAULT_TENANT_KEY: &str = "default";
