//! `Auth0Client`: one Auth0 application and the Kubernetes Secret holding its credentials.

// kube's `printcolumn(...)` repeats `type_ = ...` by design.
#![allow(clippy::duplicated_attributes)]

use super::rules;
use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    TenantRef,
    common::{
        DeletionPolicy, HasConditions, ManagementPolicy, OrganizationUsage, conditions_schema,
    },
};

/// Keys of `client_metadata` the operator reserves for itself (crash-safe adoption).
pub const METADATA_UID_KEY: &str = "k8s_operator_uid";
/// Reserved `client_metadata` key holding `<namespace>/<name>` of the owning resource.
pub const METADATA_OWNER_KEY: &str = "k8s_operator_owner";

/// An Auth0 application (client), kept in sync with Auth0 by the operator, whose credentials are
/// written to a Secret (keys `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`, `AUTH0_CLIENT_SECRET`).
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "auth0.operator.dev",
    version = "v1alpha1",
    kind = "Auth0Client",
    plural = "auth0clients",
    shortname = "a0c",
    category = "auth0",
    namespaced,
    status = "Auth0ClientStatus",
    derive = "Default",
    derive = "PartialEq",
    doc = "An Auth0 application (client) managed by auth0-operator; its credentials land in a Secret.",
    printcolumn(name = "Auth0 Name", type_ = "string", json_path = ".spec.name"),
    printcolumn(name = "Client ID", type_ = "string", json_path = ".status.clientId"),
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
        name = "Secret",
        type_ = "string",
        json_path = ".status.secretName",
        priority = "1"
    ),
    printcolumn(
        name = "Connections",
        type_ = "string",
        json_path = ".status.connections",
        priority = "1"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[x_kube(validation = Rule::new(
    "has(self.clientId) == has(oldSelf.clientId) && (!has(self.clientId) || self.clientId == oldSelf.clientId)"
).message(rules::CLIENT_ID_IMMUTABLE))]
#[x_kube(validation = Rule::new(
    "!has(self.clientMetadata) || self.clientMetadata.all(k, !k.startsWith('k8s_operator_'))"
).message(rules::CLIENT_METADATA_RESERVED))]
#[x_kube(validation = Rule::new(
    "!has(self.tokenEndpointAuthMethod) || self.tokenEndpointAuthMethod != 'none' || !has(self.grantTypes) || !('client_credentials' in self.grantTypes)"
).message(rules::PUBLIC_APP_CLIENT_CREDENTIALS))]
#[x_kube(validation = Rule::new(
    "has(self.tenantRef) == has(oldSelf.tenantRef) && (!has(self.tenantRef) || self.tenantRef == oldSelf.tenantRef)"
).message(rules::TENANT_REF_IMMUTABLE))]
#[x_kube(validation = Rule::new(
    "!has(self.authentication) || !has(self.authentication.method) || self.authentication.method != 'privateKeyJwt' || !has(self.tokenEndpointAuthMethod)"
).message(rules::AUTH_METHOD_WITH_PRIVATE_KEY_JWT))]
#[x_kube(validation = Rule::new(
    "!has(self.rotation) || !has(self.rotation.strategy) || !has(self.authentication) || !has(self.authentication.method) || self.authentication.method == 'clientSecret'"
).message(rules::ROTATION_STRATEGY_CLIENT_SECRET_ONLY))]
#[x_kube(validation = Rule::new(
    "!has(self.secretTemplate) || !has(self.secretTemplate.data) || (has(self.authentication) && has(self.authentication.method) && self.authentication.method == 'privateKeyJwt' ? self.secretTemplate.data.all(k, !self.secretTemplate.data[k].matches('(^|[^$])([$][$])*[$][(]clientSecret[)]')) : self.secretTemplate.data.all(k, !self.secretTemplate.data[k].matches('(^|[^$])([$][$])*[$][(](privateKey|keyId|algorithm)[)]')))"
).message(rules::TEMPLATE_VARIABLES_OF_METHOD))]
#[x_kube(validation = Rule::new(
    "!has(self.managementPolicy) || self.managementPolicy != 'Observe' || (!has(self.rotation) && (!has(self.authentication) || !has(self.authentication.method) || self.authentication.method != 'privateKeyJwt'))"
).message(rules::OBSERVE_CANNOT_ROTATE))]
#[serde(rename_all = "camelCase")]
pub struct Auth0ClientSpec {
    /// The Auth0 tenant this application lives in: an `Auth0Tenant` of this namespace (`kind` may be
    /// omitted) or a `ClusterAuth0Tenant` that allows this namespace. Absent: the operator's
    /// default tenant. Immutable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_ref: Option<TenantRef>,

    /// Name of the application in Auth0 (shown in the dashboard and on consent screens).
    /// Must not contain `<` or `>`.
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[^<>]+$"))]
    pub name: String,

    /// Free-text description of the application (at most 140 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 140))]
    pub description: Option<String>,

    /// Type of application: `native`, `spa`, `regular_web` or `non_interactive` (machine to
    /// machine). Auth0 picks its defaults (grant types, token endpoint auth method) from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_type: Option<AppType>,

    /// Allowed callback URLs after login (a set: order does not matter). At most 100 URLs
    /// (Auth0's limit) of at most 2048 characters each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(length(max = 2048)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub callbacks: Option<Vec<String>>,

    /// URLs Auth0 may redirect to after logout (a set). At most 100 URLs (Auth0's limit) of at
    /// most 2048 characters each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(length(max = 2048)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub allowed_logout_urls: Option<Vec<String>>,

    /// Origins allowed to make cross-origin requests with this application's tokens (a set).
    /// At most 100 origins (Auth0's limit) of at most 2048 characters each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(length(max = 2048)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub allowed_origins: Option<Vec<String>>,

    /// Origins allowed for web message response mode and silent authentication (a set). At
    /// most 100 origins (Auth0's limit) of at most 2048 characters each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(length(max = 2048)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub web_origins: Option<Vec<String>>,

    /// OAuth grant types the application may use, e.g. `authorization_code`, `refresh_token`,
    /// `client_credentials`, `implicit`, `password`, `urn:ietf:params:oauth:grant-type:device_code`
    /// (a set, at most 16 entries of at most 128 characters). When unset, Auth0's default for
    /// the application type applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 16), inner(length(min = 1, max = 128)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub grant_types: Option<Vec<String>>,

    /// How the application authenticates at the token endpoint: `none` (public application),
    /// `client_secret_post` or `client_secret_basic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<TokenEndpointAuthMethod>,

    /// Whether this is a first-party application (`true`) or a third-party one (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_first_party: Option<bool>,

    /// Whether the application follows the OIDC-conformant authentication pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oidc_conformant: Option<bool>,

    /// Settings of the ID tokens issued to this application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_configuration: Option<JwtConfiguration>,

    /// Refresh token rotation and expiration settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshTokenSettings>,

    /// Free-form metadata stored on the Auth0 application (at most 8 keys here: Auth0 allows
    /// 10 and the operator keeps two, prefixed `k8s_operator_`, for itself). Keys and values are
    /// at most 255 characters. Keys removed from this map are removed from Auth0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend(
        "maxProperties" = 8,
        "additionalProperties" = {"type": "string", "maxLength": 255}
    ))]
    pub client_metadata: Option<BTreeMap<String, MetadataValue>>,

    /// URL of the application's logo (recommended size 150x150 pixels; at most 2048
    /// characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub logo_uri: Option<String>,

    /// URL Auth0 redirects to for third-party-initiated login (must be https; at most 2048
    /// characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub initiate_login_uri: Option<String>,

    /// Whether users log in through an organization: `deny`, `allow` or `require`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_usage: Option<OrganizationUsage>,

    /// What to do when a user must log in through an organization but none was given:
    /// `no_prompt`, `pre_login_prompt` or `post_login_prompt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_require_behavior: Option<OrganizationRequireBehavior>,

    /// Whether the application may use cross-origin authentication (embedded login).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cross_origin_authentication: Option<bool>,

    /// URL of the page that completes cross-origin authentication in browsers without
    /// third-party cookies (at most 2048 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub cross_origin_loc: Option<String>,

    /// Client ids of other applications allowed to make delegation requests for this one (a
    /// set, at most 100 ids of at most 64 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100), inner(length(min = 1, max = 64)))]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub allowed_clients: Option<Vec<String>>,

    /// The connections (database, social, enterprise) users may log in to this application
    /// with, by name (a set of at most 100): the application is enabled on exactly these,
    /// through Auth0's per-connection endpoints. Unset: the operator leaves the application's
    /// connections alone (Auth0 enables a new application on the tenant's connections while
    /// the tenant's "Enable Application Connections" setting is on). `[]`: every connection is
    /// disabled for it. A name the tenant does not have is refused (`UnknownConnection`) before
    /// anything changes. Needs the scopes `read:connections` and `update:connections`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(max = 100),
        inner(
            length(min = 1, max = 128),
            regex(pattern = r"^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$")
        )
    )]
    #[x_kube(merge_strategy = ListMerge::Set)]
    pub connections: Option<Vec<String>>,

    /// Use Auth0 single sign-on instead of the identity provider's (legacy flag `sso`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso: Option<bool>,

    /// Disable single sign-on for this application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sso_disabled: Option<bool>,

    /// Whether the tenant's custom Universal Login page is used for this application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_login_page_on: Option<bool>,

    /// Require Pushed Authorization Requests (PAR) for this application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,

    /// Name of the Secret that receives the credentials (keys `AUTH0_DOMAIN`, `AUTH0_CLIENT_ID`,
    /// `AUTH0_CLIENT_SECRET`, unless `secretTemplate.data` says otherwise). Defaults to
    /// `<metadata.name>-auth0`. The operator never overwrites a Secret it did not create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub secret_name: Option<String>,

    /// Shapes the credentials Secret: its `type`, extra labels and annotations, and its keys
    /// rendered from variables written as `$(name)` (`$$(name)` for a literal `$(name)`):
    /// `clientId`, `clientSecret`, `domain`, `issuer` (`https://<domain>/`), `tokenEndpoint`,
    /// `jwksUri`, and `json` (an object of all of them); `privateKey`, `keyId` and `algorithm`
    /// are for private-key JWT clients only. Without `data` the Secret keeps the three default
    /// keys; with it, it holds exactly the rendered keys (all of them or none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_template: Option<SecretTemplate>,

    /// How the application authenticates at Auth0's token endpoint: with a client secret (the
    /// default) or with a private key the operator generates (`privateKeyJwt`). Can be switched
    /// both ways on an existing application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Authentication>,

    /// Scheduled and manual rotation of the credential. A manual rotation is asked for by
    /// setting the annotation `auth0.operator.dev/rotate` to a new value (with or without this
    /// field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation: Option<Rotation>,

    /// `Manage` (default): the operator creates, updates and (per `deletionPolicy`) deletes the
    /// Auth0 object. `Observe`: it only reads it (never creates, changes or deletes it, whatever
    /// `deletionPolicy` says) and reports in `status.drift` the fields that differ from this
    /// spec; an object that does not exist is reported as `NotFound`. With `Observe` the credentials Secret is still written
    /// (from the application's client secret), so an existing application can be consumed.
    #[serde(default, skip_serializing_if = "ManagementPolicy::is_manage")]
    pub management_policy: ManagementPolicy,

    /// `Delete` (default) removes the Auth0 application when this resource is deleted; `Orphan`
    /// leaves it in Auth0.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,

    /// Adopt an existing Auth0 application with this client id instead of creating one.
    /// Can only be set when the resource is created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64), regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub client_id: Option<String>,
}

/// `spec.authentication`: how the application proves who it is at the token endpoint.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(validation = Rule::new(
    "!has(self.algorithm) || (has(self.method) && self.method == 'privateKeyJwt')"
).message(rules::ALGORITHM_PRIVATE_KEY_JWT_ONLY))]
pub struct Authentication {
    /// `clientSecret` (default): the Secret holds `AUTH0_CLIENT_SECRET`. `privateKeyJwt`: the
    /// operator generates an RSA key pair, registers its public half with Auth0 (the private
    /// key never leaves the cluster) and the Secret holds `AUTH0_PRIVATE_KEY` (PEM),
    /// `AUTH0_KEY_ID` and `AUTH0_SIGNING_ALG` instead of a client secret.
    #[serde(default)]
    pub method: AuthenticationMethod,
    /// The client assertion's signing algorithm (privateKeyJwt only): `RS256` (default),
    /// `RS384` or `PS256`. A change registers a new key (a rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithm: Option<KeyAlgorithm>,
}

/// Client authentication methods.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum AuthenticationMethod {
    // A client secret (client_secret_post or client_secret_basic).
    #[default]
    ClientSecret,
    // A client assertion signed with a private key the operator generates.
    PrivateKeyJwt,
}

/// Signing algorithms of private-key JWT client assertions (Auth0 supports these three).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum KeyAlgorithm {
    // RSASSA-PKCS1-v1_5 with SHA-256.
    #[default]
    RS256,
    // RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    // RSASSA-PSS with SHA-256.
    PS256,
}

impl KeyAlgorithm {
    /// The Auth0 (and JOSE) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RS256 => "RS256",
            Self::RS384 => "RS384",
            Self::PS256 => "PS256",
        }
    }

    /// The algorithm named `s`, if Auth0 supports it.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::RS256, Self::RS384, Self::PS256]
            .into_iter()
            .find(|a| a.as_str() == s)
    }
}

/// `spec.rotation`: when the credential is replaced, and how the old one is retired.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(validation = Rule::new(
    "!has(self.every) || duration(self.every) >= duration('1h')"
).message(rules::ROTATION_EVERY_AT_LEAST_1H))]
#[x_kube(validation = Rule::new(
    "!has(self.every) || !has(self.overlap) || duration(self.overlap) < duration(self.every)"
).message(rules::ROTATION_OVERLAP_SHORTER))]
pub struct Rotation {
    /// Rotate this long after the last rotation (or after the credential was issued), as a
    /// duration such as `720h` (hours `h`, minutes `m`, seconds `s`). At least `1h`. Unset:
    /// only manual rotations (annotation `auth0.operator.dev/rotate`). At most 32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(h|m|s))+$"))]
    pub every: Option<String>,
    /// How long the old credential keeps working after a rotation (privateKeyJwt: both keys
    /// are registered), or how long the next secret is published as `AUTH0_CLIENT_SECRET_NEXT`
    /// before it goes live (clientSecret, `Staged`). Default `24h`; `0s` retires at once. At
    /// most 32 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(h|m|s))+$"))]
    pub overlap: Option<String>,
    /// clientSecret only. `Staged` (default): the next secret is generated by the operator,
    /// published as `AUTH0_CLIENT_SECRET_NEXT`, made live in Auth0 after `overlap`, then
    /// promoted to `AUTH0_CLIENT_SECRET`; a workload that tries `_NEXT` when its secret is
    /// refused never fails. `Immediate`: Auth0's rotate-secret; the old secret stops working
    /// at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<RotationStrategy>,
}

/// How a client secret is rotated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum RotationStrategy {
    // Publish the next secret first, switch after the overlap.
    #[default]
    Staged,
    // Auth0's rotate-secret: the old secret dies at once.
    Immediate,
}

/// Parses a rotation duration (`720h`, `1h30m`, `45s`; the CRD's pattern).
pub fn parse_duration(s: &str) -> Option<std::time::Duration> {
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut any = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'h' => 3600,
            'm' => 60,
            's' => 1,
            _ => return None,
        };
        let n: u64 = number.parse().ok()?;
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
        any = true;
    }
    (any && number.is_empty()).then(|| std::time::Duration::from_secs(total))
}

/// A `clientMetadata` value (a string of at most 255 characters).
pub type MetadataValue = String;

/// Application types the operator manages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppType {
    // Mobile or desktop application.
    Native,
    // Single-page application running in a browser.
    Spa,
    // Traditional server-side web application.
    RegularWeb,
    // Machine-to-machine application (no user interaction).
    NonInteractive,
}

impl AppType {
    /// The Auth0 wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Spa => "spa",
            Self::RegularWeb => "regular_web",
            Self::NonInteractive => "non_interactive",
        }
    }
}

/// Token endpoint authentication methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TokenEndpointAuthMethod {
    // Public application: no client secret.
    None,
    // Client secret sent in the request body.
    ClientSecretPost,
    // Client secret sent with HTTP Basic authentication.
    ClientSecretBasic,
}

impl TokenEndpointAuthMethod {
    /// The Auth0 wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::ClientSecretPost => "client_secret_post",
            Self::ClientSecretBasic => "client_secret_basic",
        }
    }
}

/// Behaviour when an organization is required but not given.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationRequireBehavior {
    // Show no prompt; fail the login.
    NoPrompt,
    // Ask for the organization before login.
    PreLoginPrompt,
    // Ask for the organization after login.
    PostLoginPrompt,
}

impl OrganizationRequireBehavior {
    /// The Auth0 wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoPrompt => "no_prompt",
            Self::PreLoginPrompt => "pre_login_prompt",
            Self::PostLoginPrompt => "post_login_prompt",
        }
    }
}

/// ID token settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct JwtConfiguration {
    /// Lifetime of issued ID tokens in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 2592000))]
    pub lifetime_in_seconds: Option<i64>,
    /// Signing algorithm: `HS256`, `RS256`, `RS512` or `PS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<SigningAlgorithm>,
    /// Whether the client secret is base64-encoded (legacy `HS256` applications).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_encoded: Option<bool>,
}

/// ID token signing algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum SigningAlgorithm {
    // HMAC with SHA-256 (signed with the client secret).
    HS256,
    // RSA with SHA-256.
    RS256,
    // RSA with SHA-512.
    RS512,
    // RSA-PSS with SHA-256.
    PS256,
}

impl SigningAlgorithm {
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

/// Refresh token settings. When given, `rotationType` and `expirationType` are required (as in
/// Auth0's API).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefreshTokenSettings {
    /// `rotating` issues a new refresh token on every use; `non-rotating` keeps one.
    pub rotation_type: RotationType,
    /// `expiring` refresh tokens honour the lifetimes below; `non-expiring` ones do not expire.
    pub expiration_type: ExpirationType,
    /// Seconds during which a rotated refresh token can still be reused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub leeway: Option<i64>,
    /// Absolute lifetime of a refresh token in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 157788000))]
    pub token_lifetime: Option<i64>,
    /// Inactivity lifetime of a refresh token in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub idle_token_lifetime: Option<i64>,
    /// Refresh tokens never expire in absolute terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infinite_token_lifetime: Option<bool>,
    /// Refresh tokens never expire through inactivity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infinite_idle_token_lifetime: Option<bool>,
}

/// Refresh token rotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RotationType {
    // A new refresh token on every exchange.
    Rotating,
    // The same refresh token is reused.
    NonRotating,
}

impl RotationType {
    /// The Auth0 wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rotating => "rotating",
            Self::NonRotating => "non-rotating",
        }
    }
}

/// Refresh token expiration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum ExpirationType {
    // Lifetimes apply.
    Expiring,
    // Tokens do not expire.
    NonExpiring,
}

impl ExpirationType {
    /// The Auth0 wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expiring => "expiring",
            Self::NonExpiring => "non-expiring",
        }
    }
}

/// Observed state of an `Auth0Client`. Never contains a secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Auth0ClientStatus {
    /// The `metadata.generation` the status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions; `Ready` tells whether Auth0 and the Secret match the spec.
    #[serde(default)]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The Auth0 client id of the application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// Name of the Secret holding the credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_name: Option<String>,
    /// Whether the application was adopted through `spec.clientId` (true) or created by the
    /// operator (false). Recorded so that adding or removing `spec.clientId` later is refused
    /// with `InvalidSpec` even where the API server does not run the CRD's CEL rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
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
    /// The connections enabled for the application in Auth0, by name (sorted), when
    /// `spec.connections` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<Vec<String>>,
    /// When the credential was last rotated (or first issued), RFC 3339.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rotation_time: Option<String>,
    /// When the next scheduled rotation is due (`spec.rotation.every` after the last one),
    /// RFC 3339. Absent without a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_rotation_time: Option<String>,
    /// The ids of the credentials (public keys) registered for the application in Auth0
    /// (privateKeyJwt; two during a hand-over). Never key material.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential_ids: Option<Vec<String>>,
}

impl HasConditions for Auth0ClientStatus {
    fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

impl Auth0Client {
    /// The name of the credentials Secret: `spec.secretName` or `<metadata.name>-auth0`.
    pub fn secret_name(&self) -> String {
        self.spec.secret_name.clone().unwrap_or_else(|| {
            format!(
                "{}-auth0",
                self.metadata.name.as_deref().unwrap_or_default()
            )
        })
    }
}

/// The variables a [`SecretTemplate`] may use, as `$(name)`.
pub const SECRET_TEMPLATE_VARIABLES: [&str; 10] = [
    "clientId",
    "clientSecret",
    "privateKey",
    "keyId",
    "algorithm",
    "domain",
    "issuer",
    "tokenEndpoint",
    "jwksUri",
    "json",
];

/// How the credentials Secret of an `Auth0Client` looks (`spec.secretTemplate`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
pub struct SecretTemplate {
    /// The Secret's `type` (default `Opaque`). A change replaces the Secret (Kubernetes cannot
    /// change the type of a Secret).
    /// Only `Opaque` or a type outside `kubernetes.io/` and `k8s.io/` (the Secret is the
    /// operator's act: a Kubernetes type such as `kubernetes.io/service-account-token` would make
    /// the cluster fill it with a token).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new(
        "self == 'Opaque' || !(self.startsWith('kubernetes.io/') || self.startsWith('k8s.io/') || self.contains('.kubernetes.io/') || self.contains('.k8s.io/'))"
    ).message(rules::TEMPLATE_TYPE))]
    pub type_: Option<String>,

    /// Labels and annotations added to the Secret (e.g. `reloader.stakater.com/match: "true"`).
    /// They cannot set the operator's own (`app.kubernetes.io/managed-by` and any key under
    /// `auth0.operator.dev/`), nor annotations under `kubernetes.io/` or `k8s.io/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<SecretTemplateMetadata>,

    /// The Secret's keys and their values, with `$(variable)` references (see
    /// `spec.secretTemplate`), e.g. `OIDC_ISSUER: "$(issuer)"`. Keys are Secret keys
    /// (letters, digits, `-`, `_`, `.`; at most 253 characters). At most 32 keys, each value
    /// (the template, before rendering) at most 4096 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend(
        "maxProperties" = 32,
        "additionalProperties" = {"type": "string", "maxLength": 4096}
    ))]
    #[x_kube(validation = Rule::new(
        "self.all(k, k.matches('^[-._a-zA-Z0-9]+$') && size(k) <= 253)"
    ).message(rules::TEMPLATE_DATA_KEYS))]
    #[x_kube(validation = Rule::new(
        "self.all(k, self[k].matches('^(?:[^$]|[$][$]|[$][(](?:clientId|clientSecret|privateKey|keyId|algorithm|domain|issuer|tokenEndpoint|jwksUri|json)[)]|[$](?:[^($]|$))*$'))"
    ).message(rules::TEMPLATE_VARIABLES))]
    pub data: Option<BTreeMap<String, String>>,
}

/// Labels and annotations of the credentials Secret.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, KubeSchema)]
#[x_kube(validation = Rule::new(
    "!has(self.labels) || (!('app.kubernetes.io/managed-by' in self.labels) && self.labels.all(k, !k.startsWith('auth0.operator.dev/')))"
).message(rules::TEMPLATE_LABELS))]
#[x_kube(validation = Rule::new(
    "!has(self.annotations) || self.annotations.all(k, !k.startsWith('auth0.operator.dev/'))"
).message(rules::TEMPLATE_ANNOTATIONS))]
#[x_kube(validation = Rule::new(
    "!has(self.annotations) || self.annotations.all(k, !(k.startsWith('kubernetes.io/') || k.startsWith('k8s.io/') || k.contains('.kubernetes.io/') || k.contains('.k8s.io/')))"
).message(rules::TEMPLATE_KUBERNETES_ANNOTATIONS))]
pub struct SecretTemplateMetadata {
    /// Labels added to the Secret (at most 64; values at most 63 characters, as Kubernetes
    /// allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend(
        "maxProperties" = 64,
        "additionalProperties" = {"type": "string", "maxLength": 63}
    ))]
    pub labels: Option<BTreeMap<String, String>>,
    /// Annotations added to the Secret (at most 64; values at most 4096 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend(
        "maxProperties" = 64,
        "additionalProperties" = {"type": "string", "maxLength": 4096}
    ))]
    pub annotations: Option<BTreeMap<String, String>>,
}
