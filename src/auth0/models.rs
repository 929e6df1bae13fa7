//! Serde models for the Auth0 Management API v2 `clients`, `client-grants` and
//! `resource-servers` resources.
//!
//! Two families of types live here:
//!
//! * **Responses** ([`Client`], [`ClientGrant`]): tolerant of real-world bodies. Unknown fields
//!   are ignored, every optional field accepts `null` or absence, and
//!   `jwt_configuration.lifetime_in_seconds` is accepted as a number or a numeric string.
//! * **Requests** ([`ClientCreate`], [`ClientUpdate`], [`ClientGrantCreate`],
//!   [`ClientGrantUpdate`]): built from the operator's own desired state, never by echoing a GET
//!   response back. Auth0's request schemas are `additionalProperties: false`, so these types
//!   only contain fields the corresponding request schema accepts (e.g. `client_secret` is
//!   PATCH-only and `resource_server_identifier` is create-only) and serialize only the fields
//!   that are set. Nullable PATCH fields use [`Patch`] so that an explicit JSON `null` can be
//!   sent to clear a value.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

// ---------------------------------------------------------------------------------------------
// Secret
// ---------------------------------------------------------------------------------------------

/// A secret string (a client secret). `Debug` and `Display` never show the value; use
/// [`Secret::expose`] to read it deliberately. Serializes as the plain string (it has to reach
/// Auth0 in a PATCH body or a Kubernetes Secret), so never log a serialized request.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    /// Wrap a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Callers must not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

// ---------------------------------------------------------------------------------------------
// Patch<T>: tri-state for PATCH bodies
// ---------------------------------------------------------------------------------------------

/// A field of a PATCH body: leave it alone ([`Patch::Absent`], not serialized at all), clear it
/// ([`Patch::Null`], serialized as JSON `null`) or set it ([`Patch::Value`]).
///
/// Use with `#[serde(default, skip_serializing_if = "Patch::is_absent")]`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    /// Not sent: Auth0 keeps the current value.
    #[default]
    Absent,
    /// Sent as `null`: Auth0 clears the value.
    Null,
    /// Sent as the value.
    Value(T),
}

impl<T> Patch<T> {
    /// True for [`Patch::Absent`] (used by `skip_serializing_if`).
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// `Some(v)` → `Value(v)`, `None` → `Null` (i.e. "make the remote value equal to this").
    pub fn set_or_clear(value: Option<T>) -> Self {
        match value {
            Some(v) => Patch::Value(v),
            None => Patch::Null,
        }
    }

    /// The value if this is [`Patch::Value`].
    pub fn as_value(&self) -> Option<&T> {
        match self {
            Patch::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<T> for Patch<T> {
    fn from(value: T) -> Self {
        Patch::Value(value)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            // Only reachable without `skip_serializing_if`; `null` is the least surprising.
            Patch::Absent | Patch::Null => serializer.serialize_none(),
            Patch::Value(v) => v.serialize(serializer),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // A missing field never reaches here (`#[serde(default)]` yields `Absent`).
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Patch::Null, Patch::Value))
    }
}

// ---------------------------------------------------------------------------------------------
// Lenient deserialization helpers
// ---------------------------------------------------------------------------------------------

/// `null` → `T::default()`.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// An integer given as a JSON number (integral or float with no fraction) or a numeric string.
fn lenient_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let value = Option::<serde_json::Value>::deserialize(deserializer)?;
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::Number(n)) => {
            if let Some(i) = n.as_i64() {
                Ok(Some(i))
            } else if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.is_finite()) {
                Ok(Some(f as i64))
            } else {
                Err(de::Error::custom("expected an integer"))
            }
        }
        Some(serde_json::Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            s.parse::<i64>()
                .map(Some)
                .map_err(|_| de::Error::custom("expected a numeric string"))
        }
        Some(_) => Err(de::Error::custom("expected a number or a numeric string")),
    }
}

/// `client_metadata`: Auth0 documents string values only; tolerate other scalars by
/// stringifying them and drop `null` values rather than failing the whole client.
fn lenient_metadata<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    let value = Option::<BTreeMap<String, serde_json::Value>>::deserialize(deserializer)?;
    Ok(value.map(|map| {
        map.into_iter()
            .filter_map(|(k, v)| match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some((k, s)),
                other => Some((k, other.to_string())),
            })
            .collect()
    }))
}

// ---------------------------------------------------------------------------------------------
// AppType
// ---------------------------------------------------------------------------------------------

/// `app_type`. The operator-relevant types are variants; the other ~20 SSO integration types
/// Auth0 knows (`box`, `slack`, `sso_integration`, …) round-trip through [`AppType::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AppType {
    Native,
    Spa,
    RegularWeb,
    NonInteractive,
    ResourceServer,
    ExpressConfiguration,
    /// Any other value, kept verbatim.
    Other(String),
}

impl AppType {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            AppType::Native => "native",
            AppType::Spa => "spa",
            AppType::RegularWeb => "regular_web",
            AppType::NonInteractive => "non_interactive",
            AppType::ResourceServer => "resource_server",
            AppType::ExpressConfiguration => "express_configuration",
            AppType::Other(s) => s,
        }
    }

    /// Parse a wire value (never fails; unknown values become [`AppType::Other`]).
    pub fn parse(s: &str) -> Self {
        match s {
            "native" => AppType::Native,
            "spa" => AppType::Spa,
            "regular_web" => AppType::RegularWeb,
            "non_interactive" => AppType::NonInteractive,
            "resource_server" => AppType::ResourceServer,
            "express_configuration" => AppType::ExpressConfiguration,
            other => AppType::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for AppType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AppType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AppType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| AppType::parse(&s))
    }
}

// ---------------------------------------------------------------------------------------------
// Nested client objects (shared by responses and requests)
// ---------------------------------------------------------------------------------------------

/// `jwt_configuration`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct JwtConfiguration {
    /// Seconds the issued JWTs are valid for. Accepted from Auth0 as a number or numeric string;
    /// always sent as a number.
    #[serde(
        default,
        deserialize_with = "lenient_i64",
        skip_serializing_if = "Option::is_none"
    )]
    pub lifetime_in_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_encoded: Option<bool>,
    /// `HS256 | RS256 | RS512 | PS256`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Free-form object (`ClientJwtConfigurationScopes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `refresh_token` configuration. When sent, `rotation_type` and `expiration_type` are required
/// by Auth0, so they are plain strings here (a `null` from Auth0 parses as `""`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RefreshTokenConfig {
    /// `rotating | non-rotating`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub rotation_type: String,
    /// `expiring | non-expiring`.
    #[serde(default, deserialize_with = "null_as_default")]
    pub expiration_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leeway: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_lifetime: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_token_lifetime: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infinite_token_lifetime: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub infinite_idle_token_lifetime: Option<bool>,
}

// ---------------------------------------------------------------------------------------------
// Client (response)
// ---------------------------------------------------------------------------------------------

/// An Auth0 application as returned by `GET/POST/PATCH /api/v2/clients…`.
///
/// Everything except `client_id` and `name` is optional, and those two also tolerate absence
/// (e.g. a `fields=` projection) by defaulting to `""`. `client_secret` is only present when the
/// token has `read:client_keys` (or on create / rotate) and is redacted in `Debug`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(default)]
pub struct Client {
    #[serde(deserialize_with = "null_as_default")]
    pub client_id: String,
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    pub description: Option<String>,
    pub app_type: Option<AppType>,
    pub client_secret: Option<Secret>,
    pub callbacks: Option<Vec<String>>,
    pub allowed_logout_urls: Option<Vec<String>>,
    pub allowed_origins: Option<Vec<String>>,
    pub web_origins: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub is_first_party: Option<bool>,
    pub oidc_conformant: Option<bool>,
    pub jwt_configuration: Option<JwtConfiguration>,
    pub refresh_token: Option<RefreshTokenConfig>,
    #[serde(deserialize_with = "lenient_metadata")]
    pub client_metadata: Option<BTreeMap<String, String>>,
    pub logo_uri: Option<String>,
    pub initiate_login_uri: Option<String>,
    pub organization_usage: Option<String>,
    pub organization_require_behavior: Option<String>,
    pub cross_origin_authentication: Option<bool>,
    pub cross_origin_loc: Option<String>,
    pub sso: Option<bool>,
    pub sso_disabled: Option<bool>,
    pub custom_login_page_on: Option<bool>,
    pub allowed_clients: Option<Vec<String>>,
    pub client_aliases: Option<Vec<String>>,
    pub require_pushed_authorization_requests: Option<bool>,
    /// The credentials each authentication method lists (only with `read:client_keys`).
    pub client_authentication_methods: Option<ClientAuthenticationMethods>,
    /// True only for the tenant's legacy "All Applications" client.
    pub global: Option<bool>,
    pub tenant: Option<String>,
    pub resource_server_identifier: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Client requests
// ---------------------------------------------------------------------------------------------

/// Body of `POST /api/v2/clients` (`CreateClientRequestContent`). Only `name` is required; every
/// `None` field is omitted so Auth0 applies its defaults. There is deliberately no
/// `client_secret` (PATCH-only in Auth0's schema).
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ClientCreate {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_type: Option<AppType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callbacks: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_logout_urls: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_endpoint_auth_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_first_party: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_conformant: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_configuration: Option<JwtConfiguration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<RefreshTokenConfig>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiate_login_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_usage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_require_behavior: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_origin_authentication: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_origin_loc: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso_disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_login_page_on: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_clients: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_aliases: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// Create-only; only valid with `app_type: resource_server`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_server_identifier: Option<String>,
}

impl ClientCreate {
    /// A create body with just a name.
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            ..Default::default()
        }
    }
}

/// Body of `PATCH /api/v2/clients/{id}` (`UpdateClientRequestContent`). Only fields that are set
/// are sent. Fields Auth0 allows to be cleared with `null` are [`Patch`]; `client_metadata` is
/// merged by Auth0, and a `None` value for a key deletes that key.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct ClientUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_type: Option<AppType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub callbacks: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_logout_urls: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub web_origins: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grant_types: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Patch::is_absent")]
    pub token_endpoint_auth_method: Patch<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_first_party: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oidc_conformant: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_configuration: Option<JwtConfiguration>,
    #[serde(skip_serializing_if = "Patch::is_absent")]
    pub refresh_token: Patch<RefreshTokenConfig>,
    /// Merged into the existing metadata; `None` values delete keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_metadata: Option<BTreeMap<String, Option<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logo_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiate_login_uri: Option<String>,
    #[serde(skip_serializing_if = "Patch::is_absent")]
    pub organization_usage: Patch<String>,
    #[serde(skip_serializing_if = "Patch::is_absent")]
    pub organization_require_behavior: Patch<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_origin_authentication: Option<bool>,
    #[serde(skip_serializing_if = "Patch::is_absent")]
    pub cross_origin_loc: Patch<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sso_disabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub custom_login_page_on: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_clients: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_aliases: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub require_pushed_authorization_requests: Option<bool>,
    /// PATCH-only in Auth0; needs `update:client_keys`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<Secret>,
    /// The credentials each method lists; `null` detaches them (then a
    /// `token_endpoint_auth_method` must be sent: Auth0 accepts neither both nor none).
    #[serde(skip_serializing_if = "Patch::is_absent")]
    pub client_authentication_methods: Patch<ClientAuthenticationMethods>,
}

impl ClientUpdate {
    /// True when nothing would be sent (`{}`); callers can skip the PATCH.
    pub fn is_empty(&self) -> bool {
        *self == ClientUpdate::default()
    }
}

/// `client_authentication_methods` of a client (OAS `ClientAuthenticationMethod`): the ids of
/// the credentials a method accepts. Only `private_key_jwt` is used by the operator; the mTLS
/// methods are kept as they come so a response with them still decodes.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct ClientAuthenticationMethods {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_jwt: Option<CredentialList>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_client_auth: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub self_signed_tls_client_auth: Option<serde_json::Value>,
}

/// The credentials one authentication method lists.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CredentialList {
    pub credentials: Vec<CredentialId>,
}

/// A reference to a credential by id.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct CredentialId {
    pub id: String,
}

impl ClientAuthenticationMethods {
    /// The ids `private_key_jwt` lists, or `None` when the client does not use it.
    pub fn private_key_jwt_ids(&self) -> Option<Vec<String>> {
        self.private_key_jwt
            .as_ref()
            .map(|l| l.credentials.iter().map(|c| c.id.clone()).collect())
    }

    /// A `private_key_jwt` method listing exactly `ids`.
    pub fn private_key_jwt(ids: &[String]) -> Self {
        Self {
            private_key_jwt: Some(CredentialList {
                credentials: ids
                    .iter()
                    .map(|id| CredentialId { id: id.clone() })
                    .collect(),
            }),
            ..Default::default()
        }
    }
}

/// A client credential as `GET/POST /api/v2/clients/{id}/credentials` return it (never key
/// material: Auth0 keeps only the public key and does not return it).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct ClientCredential {
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    pub name: Option<String>,
    pub kid: Option<String>,
    pub alg: Option<String>,
    pub credential_type: Option<String>,
    pub created_at: Option<String>,
    pub expires_at: Option<String>,
}

/// Body of `POST /api/v2/clients/{id}/credentials` for a public key
/// (`PostClientCredentialRequestContent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClientCredentialCreate {
    pub credential_type: String,
    pub name: String,
    /// The public key, PEM (SPKI).
    pub pem: String,
    pub alg: String,
}

// ---------------------------------------------------------------------------------------------
// Client grants
// ---------------------------------------------------------------------------------------------

/// A client grant as returned by `/api/v2/client-grants…`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct ClientGrant {
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    /// Absent for `default_for` grants.
    pub client_id: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub audience: String,
    /// Omitted by Auth0 when `allow_all_scopes` is true.
    pub scope: Option<Vec<String>>,
    pub organization_usage: Option<String>,
    pub allow_any_organization: Option<bool>,
    /// `client | user`; Auth0 returns `client` when none was sent.
    pub subject_type: Option<String>,
    pub authorization_details_types: Option<Vec<String>>,
    pub allow_all_scopes: Option<bool>,
    pub is_system: Option<bool>,
    pub default_for: Option<String>,
}

/// Body of `POST /api/v2/client-grants` (`CreateClientGrantRequestContent`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ClientGrantCreate {
    pub client_id: String,
    pub audience: String,
    /// Scopes; `Some(vec![])` is valid and sent as `[]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organization_usage: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_any_organization: Option<bool>,
    /// `client | user`; create-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject_type: Option<String>,
}

/// Body of `PATCH /api/v2/client-grants/{id}` (`UpdateClientGrantRequestContent`): only these
/// three fields are managed, each nullable. Auth0 requires at least one property.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ClientGrantUpdate {
    #[serde(skip_serializing_if = "Patch::is_absent")]
    pub scope: Patch<Vec<String>>,
    #[serde(skip_serializing_if = "Patch::is_absent")]
    pub organization_usage: Patch<String>,
    #[serde(skip_serializing_if = "Patch::is_absent")]
    pub allow_any_organization: Patch<bool>,
}

impl ClientGrantUpdate {
    /// True when nothing would be sent (Auth0 rejects `{}` with a 400).
    pub fn is_empty(&self) -> bool {
        self.scope.is_absent()
            && self.organization_usage.is_absent()
            && self.allow_any_organization.is_absent()
    }
}

// ---------------------------------------------------------------------------------------------
// Resource servers (APIs)
// ---------------------------------------------------------------------------------------------

/// One permission an API defines (`ResourceServerScope`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ResourceServerScope {
    #[serde(deserialize_with = "null_as_default")]
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A resource server (API) as returned by `/api/v2/resource-servers…`. `signing_secret` is
/// deliberately not a field: it is dropped while parsing, so it is never held, logged or written.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(default)]
pub struct ResourceServer {
    #[serde(deserialize_with = "null_as_default")]
    pub id: String,
    pub name: Option<String>,
    #[serde(deserialize_with = "null_as_default")]
    pub identifier: String,
    /// The Management API and other APIs Auth0 made: cannot be changed or deleted.
    pub is_system: Option<bool>,
    pub scopes: Option<Vec<ResourceServerScope>>,
    pub signing_alg: Option<String>,
    pub token_lifetime: Option<i64>,
    pub token_lifetime_for_web: Option<i64>,
    pub allow_offline_access: Option<bool>,
    pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
    pub enforce_policies: Option<bool>,
    pub token_dialect: Option<String>,
}

/// Body of `POST /api/v2/resource-servers`: the identifier and the settings. Only
/// `identifier` is required; unset settings are omitted so Auth0 applies its defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ResourceServerCreate {
    pub identifier: String,
    #[serde(flatten)]
    pub settings: ResourceServerUpdate,
}

/// The settings of an API, and the body of `PATCH /api/v2/resource-servers/{id}`: only the
/// fields that are set are sent; `scopes` replaces the whole list. (`token_lifetime_for_web`
/// is missing from the official request schemas but accepted: the recorded
/// `TestAccResourceServer` create and updates send it.) `identifier` cannot be changed.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct ResourceServerUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<ResourceServerScope>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_alg: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_lifetime: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_lifetime_for_web: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_offline_access: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skip_consent_for_verifiable_first_party_clients: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enforce_policies: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_dialect: Option<String>,
}

impl ResourceServerUpdate {
    /// True when nothing would be sent.
    pub fn is_empty(&self) -> bool {
        *self == ResourceServerUpdate::default()
    }
}

// ---------------------------------------------------------------------------------------------
// List parameters and page parsing
// ---------------------------------------------------------------------------------------------

/// A connection (an identity provider: database, social, enterprise), as much of it as the
/// operator reads: which applications may use it is asked of the connection's own endpoints
/// (`/connections/{id}/clients`), never of its deprecated `enabled_clients` array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
}

/// One entry of `PATCH /api/v2/connections/{id}/clients`: enable (`status: true`) or disable
/// the connection for an application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionClientStatus {
    pub client_id: String,
    pub status: bool,
}

/// An application a connection is enabled for (`GET /api/v2/connections/{id}/clients`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct EnabledClient {
    pub client_id: String,
}

/// Parameters for [`list_clients`](crate::auth0::ManagementApi::list_clients). Pagination is
/// handled by the client.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListClientsParams {
    /// `fields=` projection (comma-joined).
    pub fields: Option<Vec<String>>,
    /// With `fields`: true = only these fields, false = all but these.
    pub include_fields: bool,
    /// `is_global=false` filters out the legacy "All Applications" client.
    pub is_global: Option<bool>,
}

/// Parameters for [`list_client_grants`](crate::auth0::ManagementApi::list_client_grants).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListGrantsParams {
    pub client_id: Option<String>,
    pub audience: Option<String>,
}

/// One page of a list response. Auth0 answers with a bare array, `{total,start,limit,<key>}`
/// (with `include_totals=true`) or `{next,<key>}` (checkpoint pagination).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<u64>,
    /// Checkpoint pagination: where the next page starts (`from`); absent on the last page.
    pub next: Option<String>,
}

/// Whether `o` is an object that names itself with the field `id` (a non-blank string): the
/// models tolerate missing fields, so an object of another shape would otherwise read as one
/// whose id is `""`.
pub(crate) fn names_itself(o: &serde_json::Value, id: &str) -> bool {
    o.get(id)
        .and_then(serde_json::Value::as_str)
        .is_some_and(|s| !s.trim().is_empty())
}

pub(crate) fn parse_page<T: DeserializeOwned>(
    body: &[u8],
    key: &str,
) -> Result<Page<T>, serde_json::Error> {
    let value: serde_json::Value = serde_json::from_slice(body)?;
    // Every listed object names itself (the types tolerate missing fields, so this is checked
    // on the JSON): a page of objects without ids is not Auth0's, and read as a page it would
    // hide the objects the real page holds.
    let id = if key == "clients" { "client_id" } else { "id" };
    let named = |items: &serde_json::Value| {
        items
            .as_array()
            .is_some_and(|a| a.iter().all(|o| names_itself(o, id)))
    };
    if let Some(items) = value.as_array().map(|_| &value).or_else(|| value.get(key))
        && !named(items)
    {
        return Err(de::Error::custom(format!(
            "the page lists an object without `{id}`"
        )));
    }
    match value {
        serde_json::Value::Array(_) => Ok(Page {
            items: serde_json::from_value(value)?,
            total: None,
            next: None,
        }),
        serde_json::Value::Object(mut map) => {
            // Auth0 always names the list, empty or not. An object without it is not a page
            // (a proxy's or a broken deployment's answer): taken for an empty last page it
            // would end a listing early, and what the listing missed would be created again.
            let items = match map.remove(key) {
                Some(v @ serde_json::Value::Array(_)) => serde_json::from_value(v)?,
                _ => return Err(de::Error::custom(format!("the page has no `{key}` list"))),
            };
            let total = map.get("total").and_then(serde_json::Value::as_u64);
            let next = map
                .get("next")
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(String::from);
            Ok(Page { items, total, next })
        }
        _ => Err(de::Error::custom("expected an array or an object")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;
    use std::path::PathBuf;

    fn body(name: &str) -> Vec<u8> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/auth0-bodies")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn parses_every_recorded_client_body() {
        for name in [
            "client_create_minimal.json",
            "client_sso_saml.json",
            "client_addons_patch.json",
            "client_refresh_token.json",
            "client_jwt_configuration.json",
            "client_metadata.json",
            "client_mobile.json",
        ] {
            let c: Client =
                serde_json::from_slice(&body(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!c.client_id.is_empty(), "{name}");
            assert!(!c.name.is_empty(), "{name}");
        }
    }

    #[test]
    fn minimal_create_response_has_auth0_defaults() {
        let c: Client = serde_json::from_slice(&body("client_create_minimal.json")).unwrap();
        assert_eq!(c.client_id, "ruNZ5B03Y2gAitE0pF7ljxh49zTaCb3i");
        assert_eq!(c.name, "Acceptance Test - TestAccClientConfig");
        assert_eq!(c.is_first_party, Some(true));
        assert_eq!(c.oidc_conformant, Some(false));
        assert_eq!(c.token_endpoint_auth_method, None);
        let jwt = c.jwt_configuration.unwrap();
        assert_eq!(jwt.lifetime_in_seconds, Some(36000));
        assert_eq!(jwt.secret_encoded, Some(false));
        assert_eq!(jwt.alg, None);
        let rt = c.refresh_token.unwrap();
        assert_eq!(rt.rotation_type, "non-rotating");
        assert_eq!(rt.expiration_type, "non-expiring");
        assert_eq!(rt.token_lifetime, Some(2592000));
        assert_eq!(rt.infinite_token_lifetime, Some(true));
        assert_eq!(
            c.grant_types.unwrap(),
            [
                "authorization_code",
                "implicit",
                "refresh_token",
                "client_credentials"
            ]
        );
        // The secret is there but redacted in Debug.
        let secret = c.client_secret.clone().unwrap();
        assert_eq!(secret.expose(), "[REDACTED]");
        assert_eq!(format!("{:?}", c.client_secret), "Some([redacted])");
    }

    #[test]
    fn app_type_known_and_unknown() {
        let c: Client = serde_json::from_slice(&body("client_sso_saml.json")).unwrap();
        assert_eq!(c.app_type, Some(AppType::Other("sso_integration".into())));
        let c: Client = serde_json::from_slice(&body("client_mobile.json")).unwrap();
        assert_eq!(c.app_type, Some(AppType::NonInteractive));
        let c: Client = serde_json::from_slice(&body("client_refresh_token.json")).unwrap();
        assert_eq!(c.app_type, Some(AppType::Spa));
        for s in [
            "native",
            "spa",
            "regular_web",
            "non_interactive",
            "resource_server",
            "express_configuration",
            "box",
            "zoom",
        ] {
            assert_eq!(AppType::parse(s).as_str(), s);
            assert_eq!(serde_json::to_value(AppType::parse(s)).unwrap(), json!(s));
        }
    }

    #[test]
    fn parses_recorded_client_list_page() {
        let page: Page<Client> = parse_page(&body("clients_list_page.json"), "clients").unwrap();
        assert_eq!(page.total, Some(29));
        assert_eq!(page.items.len(), 29);
        assert!(page.items.iter().any(|c| c.name == "All Applications"));
        assert!(
            page.items
                .iter()
                .any(|c| c.app_type == Some(AppType::ResourceServer))
        );
    }

    #[test]
    fn parses_page_shapes() {
        let bare: Page<ClientGrant> = parse_page(
            br#"[{"id":"cgr_1","audience":"a","client_id":"c"}]"#,
            "client_grants",
        )
        .unwrap();
        assert_eq!(bare.items.len(), 1);
        assert_eq!(bare.total, None);
        let totals: Page<ClientGrant> =
            parse_page(&body("client_grants_list_totals.json"), "client_grants").unwrap();
        assert_eq!(totals.items.len(), 0);
        assert_eq!(totals.total, Some(0));
        let take: Page<ClientGrant> =
            parse_page(&body("client_grants_list_take.json"), "client_grants").unwrap();
        assert_eq!(take.items.len(), 1);
        assert_eq!(take.items[0].subject_type.as_deref(), Some("user"));
        assert_eq!(
            take.items[0]
                .authorization_details_types
                .as_ref()
                .unwrap()
                .len(),
            2
        );
        assert!(parse_page::<Client>(b"\"nope\"", "clients").is_err());
        // JSON that is not a page (a proxy's answer, another endpoint's body) is an error,
        // never an empty page that would end a listing early.
        for not_a_page in [
            &br#"{"client_id": 5, "name": ["x"], "scope": {}}"#[..],
            br#"{"total": 3}"#,
            br#"{"clients": null, "total": 3}"#,
            br#"{"clients": {}}"#,
            br#"{"clients": [{"padding": "xxxx"}, {"padding": "xxxx"}]}"#,
            br#"[{"client_id": ""}]"#,
        ] {
            assert!(
                parse_page::<Client>(not_a_page, "clients").is_err(),
                "{}",
                String::from_utf8_lossy(not_a_page)
            );
        }
        assert!(parse_page::<Client>(b"<html>", "clients").is_err());
    }

    #[test]
    fn parses_recorded_grants() {
        for name in [
            "client_grant_create.json",
            "client_grant_get.json",
            "client_grant_patch.json",
        ] {
            let g: ClientGrant =
                serde_json::from_slice(&body(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(g.id.starts_with("cgr_"), "{name}");
            assert!(!g.audience.is_empty(), "{name}");
        }
    }

    #[test]
    fn lifetime_in_seconds_number_string_float_null() {
        for (v, want) in [
            (json!(36000), Some(36000)),
            (json!("36000"), Some(36000)),
            (json!(" 60 "), Some(60)),
            (json!(3600.0), Some(3600)),
            (json!(null), None),
            (json!(""), None),
        ] {
            let j: JwtConfiguration =
                serde_json::from_value(json!({ "lifetime_in_seconds": v })).unwrap();
            assert_eq!(j.lifetime_in_seconds, want, "{v}");
        }
        let j: JwtConfiguration = serde_json::from_value(json!({})).unwrap();
        assert_eq!(j.lifetime_in_seconds, None);
        assert!(
            serde_json::from_value::<JwtConfiguration>(json!({"lifetime_in_seconds": "abc"}))
                .is_err()
        );
        assert!(
            serde_json::from_value::<JwtConfiguration>(json!({"lifetime_in_seconds": 1.5}))
                .is_err()
        );
        // Always serialized as a number.
        let j = JwtConfiguration {
            lifetime_in_seconds: Some(10),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&j).unwrap(),
            json!({"lifetime_in_seconds": 10})
        );
    }

    #[test]
    fn tolerates_nulls_and_unknown_fields() {
        let c: Client = serde_json::from_value(json!({
            "client_id": "abc", "name": null, "description": null, "app_type": null,
            "callbacks": null, "jwt_configuration": null, "refresh_token": null,
            "client_metadata": {"a": "1", "b": null, "c": 5, "d": true},
            "refresh_token_extra": 1, "brand_new_field": {"x": [1, 2]},
            "signing_keys": [{"cert": "x"}], "global": false, "tenant": "t",
        }))
        .unwrap();
        assert_eq!(c.client_id, "abc");
        assert_eq!(c.name, "");
        let md = c.client_metadata.unwrap();
        assert_eq!(md.get("a").map(String::as_str), Some("1"));
        assert!(!md.contains_key("b"));
        assert_eq!(md.get("c").map(String::as_str), Some("5"));
        assert_eq!(md.get("d").map(String::as_str), Some("true"));
        assert_eq!(c.global, Some(false));
        let c: Client = serde_json::from_value(json!({})).unwrap();
        assert_eq!(c, Client::default());
        let rt: RefreshTokenConfig =
            serde_json::from_value(json!({"rotation_type": null, "leeway": null})).unwrap();
        assert_eq!(rt.rotation_type, "");
        assert_eq!(rt.leeway, None);
    }

    #[test]
    fn secret_is_redacted_everywhere_but_expose_and_serialize() {
        let s = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert_eq!(format!("{s}"), "[redacted]");
        assert_eq!(s.expose(), "hunter2-very-secret");
        let c: Client = serde_json::from_value(
            json!({"client_id": "x", "name": "n", "client_secret": "hunter2-very-secret"}),
        )
        .unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        let u = ClientUpdate {
            client_secret: Some(s),
            ..Default::default()
        };
        assert!(!format!("{u:?}").contains("hunter2"));
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            json!({"client_secret": "hunter2-very-secret"})
        );
    }

    #[test]
    fn create_minimal_serializes_only_name() {
        assert_eq!(
            serde_json::to_value(ClientCreate::new("app")).unwrap(),
            json!({"name": "app"})
        );
    }

    #[test]
    fn update_serializes_only_set_fields_and_explicit_nulls() {
        let u = ClientUpdate::default();
        assert!(u.is_empty());
        assert_eq!(serde_json::to_value(&u).unwrap(), json!({}));
        let u = ClientUpdate {
            description: Some("d".into()),
            refresh_token: Patch::Null,
            organization_usage: Patch::Null,
            organization_require_behavior: Patch::Value("no_prompt".into()),
            cross_origin_loc: Patch::Null,
            token_endpoint_auth_method: Patch::Null,
            client_metadata: Some(BTreeMap::from([
                ("keep".into(), Some("v".into())),
                ("gone".into(), None),
            ])),
            ..Default::default()
        };
        assert!(!u.is_empty());
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            json!({
                "description": "d",
                "refresh_token": null,
                "organization_usage": null,
                "organization_require_behavior": "no_prompt",
                "cross_origin_loc": null,
                "token_endpoint_auth_method": null,
                "client_metadata": {"keep": "v", "gone": null},
            })
        );
    }

    #[test]
    fn grant_update_tristate() {
        let u = ClientGrantUpdate::default();
        assert!(u.is_empty());
        let u = ClientGrantUpdate {
            scope: Patch::Value(vec![]),
            organization_usage: Patch::Null,
            allow_any_organization: Patch::Value(true),
        };
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            json!({"scope": [], "organization_usage": null, "allow_any_organization": true})
        );
        let u = ClientGrantUpdate {
            scope: Patch::Null,
            ..Default::default()
        };
        assert_eq!(serde_json::to_value(&u).unwrap(), json!({"scope": null}));
    }

    #[test]
    fn patch_deserializes_tristate() {
        #[derive(Deserialize)]
        struct T {
            #[serde(default)]
            a: Patch<u32>,
        }
        assert_eq!(
            serde_json::from_value::<T>(json!({})).unwrap().a,
            Patch::Absent
        );
        assert_eq!(
            serde_json::from_value::<T>(json!({"a": null})).unwrap().a,
            Patch::Null
        );
        assert_eq!(
            serde_json::from_value::<T>(json!({"a": 3})).unwrap().a,
            Patch::Value(3)
        );
        assert_eq!(Patch::set_or_clear(Some(1)), Patch::Value(1));
        assert_eq!(Patch::<u8>::set_or_clear(None), Patch::Null);
    }

    fn opt<T: std::fmt::Debug + Clone + 'static>(
        s: impl Strategy<Value = T> + 'static,
    ) -> impl Strategy<Value = Option<T>> {
        proptest::option::of(s)
    }

    fn arb_jwt() -> impl Strategy<Value = JwtConfiguration> {
        (
            opt(0i64..1_000_000),
            opt(any::<bool>()),
            opt(prop::sample::select(vec![
                "HS256", "RS256", "RS512", "PS256",
            ])),
        )
            .prop_map(|(l, s, a)| JwtConfiguration {
                lifetime_in_seconds: l,
                secret_encoded: s,
                alg: a.map(str::to_owned),
                scopes: None,
            })
    }

    fn arb_refresh() -> impl Strategy<Value = RefreshTokenConfig> {
        (
            prop::sample::select(vec!["rotating", "non-rotating"]),
            prop::sample::select(vec!["expiring", "non-expiring"]),
            opt(0i64..1000),
            opt(1i64..157_788_000),
            opt(1i64..10_000_000),
            opt(any::<bool>()),
            opt(any::<bool>()),
        )
            .prop_map(|(r, e, l, t, i, it, ii)| RefreshTokenConfig {
                rotation_type: r.into(),
                expiration_type: e.into(),
                leeway: l,
                token_lifetime: t,
                idle_token_lifetime: i,
                infinite_token_lifetime: it,
                infinite_idle_token_lifetime: ii,
            })
    }

    proptest! {
        /// Anything we can send in a create body parses back as a response with the same values.
        #[test]
        fn create_body_round_trips_through_client(
            name in "[a-zA-Z0-9 _-]{1,40}",
            description in opt("[a-z ]{0,40}"),
            app_type in opt(prop::sample::select(vec!["native", "spa", "regular_web", "non_interactive", "zoom"])),
            callbacks in opt(prop::collection::vec("https://[a-z]{1,10}\\.example/cb", 0..4)),
            grant_types in opt(prop::collection::vec(prop::sample::select(vec!["authorization_code", "implicit", "refresh_token", "client_credentials"]).prop_map(str::to_owned), 0..4)),
            jwt in opt(arb_jwt()),
            refresh in opt(arb_refresh()),
            metadata in opt(prop::collection::btree_map("[a-z]{1,8}", "[ -~]{0,20}", 0..5)),
            flags in (opt(any::<bool>()), opt(any::<bool>()), opt(any::<bool>()), opt(any::<bool>())),
        ) {
            let create = ClientCreate {
                name: name.clone(),
                description: description.clone(),
                app_type: app_type.map(AppType::parse),
                callbacks: callbacks.clone(),
                grant_types: grant_types.clone(),
                jwt_configuration: jwt.clone(),
                refresh_token: refresh.clone(),
                client_metadata: metadata.clone(),
                is_first_party: flags.0,
                oidc_conformant: flags.1,
                sso_disabled: flags.2,
                cross_origin_authentication: flags.3,
                ..Default::default()
            };
            let mut v = serde_json::to_value(&create).unwrap();
            // No nulls in a create body, ever.
            prop_assert!(!v.to_string().contains("null"));
            v["client_id"] = json!("id");
            let c: Client = serde_json::from_value(v).unwrap();
            prop_assert_eq!(c.name, name);
            prop_assert_eq!(c.description, description);
            prop_assert_eq!(c.app_type, create.app_type);
            prop_assert_eq!(c.callbacks, callbacks);
            prop_assert_eq!(c.grant_types, grant_types);
            prop_assert_eq!(c.jwt_configuration, jwt);
            prop_assert_eq!(c.refresh_token, refresh);
            prop_assert_eq!(c.client_metadata, metadata);
            prop_assert_eq!(c.is_first_party, flags.0);
            prop_assert_eq!(c.oidc_conformant, flags.1);
        }

        /// lifetime_in_seconds: number and numeric string parse to the same value.
        #[test]
        fn lifetime_number_or_string(n in 0i64..i64::from(u32::MAX)) {
            let a: JwtConfiguration = serde_json::from_value(json!({"lifetime_in_seconds": n})).unwrap();
            let b: JwtConfiguration = serde_json::from_value(json!({"lifetime_in_seconds": n.to_string()})).unwrap();
            prop_assert_eq!(a.lifetime_in_seconds, Some(n));
            prop_assert_eq!(b.lifetime_in_seconds, Some(n));
        }

        /// A PATCH body contains exactly the fields that were set (absent → missing, null → null).
        #[test]
        fn grant_update_contains_exactly_set_fields(
            scope in prop_oneof![Just(Patch::Absent), Just(Patch::Null), prop::collection::vec("[a-z]{1,5}:[a-z]{1,5}", 0..3).prop_map(Patch::Value)],
            usage in prop_oneof![Just(Patch::Absent), Just(Patch::Null), prop::sample::select(vec!["deny", "allow", "require"]).prop_map(|s| Patch::Value(s.to_owned()))],
            any_org in prop_oneof![Just(Patch::Absent), Just(Patch::Null), any::<bool>().prop_map(Patch::Value)],
        ) {
            let u = ClientGrantUpdate { scope: scope.clone(), organization_usage: usage.clone(), allow_any_organization: any_org.clone() };
            let v = serde_json::to_value(&u).unwrap();
            let obj = v.as_object().unwrap();
            for (key, absent, null) in [
                ("scope", scope.is_absent(), scope == Patch::Null),
                ("organization_usage", usage.is_absent(), usage == Patch::Null),
                ("allow_any_organization", any_org.is_absent(), any_org == Patch::Null),
            ] {
                prop_assert_eq!(obj.contains_key(key), !absent);
                if null { prop_assert!(obj[key].is_null()); }
            }
            prop_assert_eq!(u.is_empty(), obj.is_empty());
        }
    }

    /// A JSON value of any shape (nulls, wrong types, deep nesting), for the hostile-body
    /// property below.
    fn arb_json() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| serde_json::json!(f)),
            "[ -~]{0,12}".prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::from),
                prop::collection::btree_map(
                    prop::sample::select(vec![
                        "client_id",
                        "name",
                        "client_secret",
                        "client_metadata",
                        "callbacks",
                        "grant_types",
                        "jwt_configuration",
                        "refresh_token",
                        "scope",
                        "scopes",
                        "audience",
                        "id",
                        "identifier",
                        "total",
                        "clients",
                        "client_grants",
                        "resource_servers",
                        "client_authentication_methods",
                        "credentials",
                        "kid",
                        "statusCode",
                        "message",
                        "errorCode",
                        "other",
                    ]),
                    inner,
                    0..8,
                )
                .prop_map(|m| serde_json::Value::Object(
                    m.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever Auth0 (or a proxy in front of it) answers — any JSON shape, truncated JSON,
        /// arbitrary bytes — every response model and the page parser give a value or an error,
        /// never a panic; and an error answer always yields an error body with something to say.
        #[test]
        fn hostile_bodies_never_panic(v in arb_json(), cut in 0usize..200, bytes in prop::collection::vec(any::<u8>(), 0..64), status in 100u16..600) {
            let text = v.to_string();
            let truncated = &text.as_bytes()[..cut.min(text.len())];
            for body in [text.as_bytes(), truncated, &bytes[..]] {
                let _ = serde_json::from_slice::<Client>(body);
                let _ = serde_json::from_slice::<ClientGrant>(body);
                let _ = serde_json::from_slice::<ResourceServer>(body);
                let _ = serde_json::from_slice::<ClientCredential>(body);
                let _ = serde_json::from_slice::<Vec<ClientCredential>>(body);
                let _ = parse_page::<Client>(body, "clients");
                let _ = parse_page::<ClientGrant>(body, "client_grants");
                let _ = parse_page::<ResourceServer>(body, "resource_servers");
                let _ = parse_page::<serde_json::Value>(body, "clients");
                let e = super::super::ErrorBody::parse(status, body);
                prop_assert!(!e.message.is_empty() || !e.error.is_empty());
            }
        }
    }
}
