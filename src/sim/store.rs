//! In-memory tenant state and the Management API semantics (defaults, merge rules,
//! conflicts), independent of HTTP.

use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value, json};

use super::schema::{RequestOp, check_auth_method_grants, validate_request};

/// An Auth0-shaped error: HTTP status plus `{statusCode,error,message[,errorCode]}`.
#[derive(Clone, Debug)]
pub struct ApiError {
    pub status: u16,
    pub body: Value,
}

impl ApiError {
    pub fn new(status: u16, message: impl Into<String>, code: Option<&str>) -> Self {
        let mut body = json!({
            "statusCode": status,
            "error": reason(status),
            "message": message.into(),
        });
        if let Some(c) = code {
            body["errorCode"] = json!(c);
        }
        ApiError { status, body }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, message, Some("invalid_body"))
    }
    pub fn client_not_found() -> Self {
        Self::new(404, "The client does not exist", Some("inexistent_client"))
    }
    pub fn grant_not_found() -> Self {
        Self::new(
            404,
            "The grant does not exist.",
            Some("inexistent_client_grant"),
        )
    }
    pub fn resource_server_not_found() -> Self {
        Self::new(
            404,
            "Resource server not found",
            Some("inexistent_resource_server"),
        )
    }
}

/// The HTTP reason phrase Auth0 puts in `error`.
pub fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// A stored credential: the API view plus what verification needs.
#[derive(Clone, Debug)]
pub struct Credential {
    pub client_id: String,
    /// Exactly what the API returns.
    pub view: Value,
    /// RSA `(n, e)` of a `public_key` credential (absent for certificates and for
    /// credentials seeded without key material).
    pub key: Option<(Vec<u8>, Vec<u8>)>,
}

impl Credential {
    pub fn id(&self) -> &str {
        self.view["id"].as_str().unwrap_or_default()
    }
}

/// A connection (`/api/v2/connections`): the API view plus the ids of the clients it is
/// enabled for (served by `/connections/{id}/clients`, never inside the view; see
/// `connections.rs`).
#[derive(Clone, Debug)]
pub struct Connection {
    /// Exactly what `GET /connections` lists (before `fields`).
    pub view: Value,
    /// Enabled clients, in the order they were enabled.
    pub enabled_clients: Vec<String>,
}

impl Connection {
    pub fn id(&self) -> &str {
        self.view["id"].as_str().unwrap_or_default()
    }
    pub fn name(&self) -> &str {
        self.view["name"].as_str().unwrap_or_default()
    }
}

/// Auth0 refuses `token_endpoint_auth_method` together with `client_authentication_methods`
/// (reference notes: "mutually exclusive"; TF sends `token_endpoint_auth_method: null` with
/// every attach and a method with every detach, "API doesn't accept nil on both"). The
/// message is inferred.
pub fn check_exclusive_auth(client: &Value) -> Result<(), ApiError> {
    let cam = client
        .get("client_authentication_methods")
        .is_some_and(|v| !v.is_null());
    let tem = client
        .get("token_endpoint_auth_method")
        .is_some_and(|v| !v.is_null());
    if cam && tem {
        return Err(ApiError::bad_request(
            "Payload validation error: token_endpoint_auth_method and client_authentication_methods are mutually exclusive.",
        ));
    }
    Ok(())
}

pub type ApiResult = Result<Value, ApiError>;

pub fn random_alnum(n: usize) -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(n)
        .map(char::from)
        .collect()
}

/// 64 characters from the URL-safe alphabet, like Auth0 client secrets.
pub fn random_secret() -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..64)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

fn random_hex(n: usize) -> String {
    const CHARS: &[u8] = b"0123456789abcdef";
    let mut rng = rand::rng();
    (0..n)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

/// Nullable client fields: `null` in a PATCH clears them (OAS; TF `fetchNullableFields`).
const NULLABLE_CLIENT_FIELDS: &[&str] = &[
    "session_transfer",
    "encryption_key",
    "cross_origin_loc",
    "token_endpoint_auth_method",
    "token_quota",
    "native_social_login",
    "fedcm_login",
    "refresh_token",
    "default_organization",
    "organization_usage",
    "organization_require_behavior",
    "organization_discovery_methods",
    "client_authentication_methods",
    "compliance_level",
    "skip_non_verifiable_callback_uri_confirmation_prompt",
    "token_exchange",
    "par_request_expiry",
    "express_configuration",
    "my_organization_configuration",
    "async_approval_notification_channels",
];

/// The Management API's scopes (value + description), generated by
/// `scripts/extract-management-api-scopes.py` from a recorded tenant and the official OAS.
const MANAGEMENT_API_SCOPES: &str = include_str!("management-api-scopes.json");

#[derive(Debug, Default)]
pub struct Store {
    pub domain: String,
    /// Clients in creation order (full objects, including `client_secret`), the tenant's
    /// built-in ones included.
    pub clients: Vec<Value>,
    pub grants: Vec<Value>,
    pub resource_servers: Vec<Value>,
    /// `client_id`s of the clients every tenant has before anyone creates one (the global
    /// "All Applications" client; the management application when it is a client).
    pub builtin_clients: Vec<String>,
    /// Ids of APIs seeded with [`Store::add_resource_server`]: a grant's unknown scopes are
    /// defined on them instead of being refused (see `check_grant_scopes`).
    pub open_scope_apis: Vec<Value>,
    /// Client credentials (`/clients/{id}/credentials`), in creation order.
    pub credentials: Vec<Credential>,
    /// Connections, in creation order (see `connections.rs`).
    pub connections: Vec<Connection>,
    /// The tenant flag `enable_client_connections` (Auth0's default: on): a client created
    /// while it is on is enabled on every existing connection.
    pub enable_client_connections: bool,
}

impl Store {
    pub fn new(domain: &str, audiences: &[String]) -> Self {
        let mut s = Store {
            domain: domain.to_string(),
            enable_client_connections: true,
            ..Default::default()
        };
        let mgmt = s.management_audience();
        // As a real tenant returns it (TestAccResourceServerAuth0APIManagementImport.yaml).
        let scopes: Value =
            serde_json::from_str(MANAGEMENT_API_SCOPES).expect("management-api-scopes.json");
        s.resource_servers.push(json!({
            "id": random_hex(24),
            "name": "Auth0 Management API",
            "identifier": mgmt,
            "allow_offline_access": false,
            "skip_consent_for_verifiable_first_party_clients": false,
            "token_lifetime": 86400,
            "token_lifetime_for_web": 7200,
            "signing_alg": "RS256",
            "scopes": scopes,
            "is_system": true,
        }));
        s.seed_global_client();
        for a in audiences {
            s.add_resource_server(a);
        }
        s
    }

    pub fn management_audience(&self) -> String {
        format!("https://{}/api/v2/", self.domain)
    }

    pub fn tenant_name(&self) -> String {
        self.domain
            .split('.')
            .next()
            .unwrap_or("tenant")
            .to_string()
    }

    /// Seeds an API (test fixture) unless it exists. Its scopes are open: a grant asking
    /// for scopes it does not define defines them (see `check_grant_scopes`).
    pub fn add_resource_server(&mut self, identifier: &str) {
        if self.find_rs_by_identifier(identifier).is_none()
            && let Ok(rs) =
                self.insert_resource_server(json!({"name": identifier, "identifier": identifier}))
        {
            self.open_scope_apis.push(rs["id"].clone());
        }
    }

    /// Seeds an API that defines exactly these scopes (grants are checked against them).
    pub fn add_resource_server_with_scopes(&mut self, identifier: &str, scopes: &[&str]) -> Value {
        let scopes: Vec<Value> = scopes
            .iter()
            .map(|s| json!({"value": s, "description": s}))
            .collect();
        match self.insert_resource_server(
            json!({"name": identifier, "identifier": identifier, "scopes": scopes}),
        ) {
            Ok(rs) => rs,
            Err(e) => panic!("add_resource_server_with_scopes: {}", e.body),
        }
    }

    /// The global "All Applications" client every tenant has (legacy; `global: true`), in
    /// the shape a real tenant returns it (TF TestAccDataGlobalClient.yaml, GET /clients/{id}
    /// and `GET /clients?is_global=true`).
    fn seed_global_client(&mut self) {
        let tenant = self.tenant_name();
        let client = json!({
            "tenant": tenant,
            "global": true,
            "name": "All Applications",
            "client_id": random_alnum(32),
            "client_secret": random_secret(),
            "is_first_party": true,
            "is_token_endpoint_ip_header_trusted": false,
            "oidc_conformant": true,
            "jwt_configuration": {"alg": "RS256"},
            "signing_keys": [signing_key(&tenant)],
            "sso": false,
            "sso_disabled": false,
            "cross_origin_authentication": false,
            "custom_login_page_on": true,
            "refresh_token": {
                "rotation_type": "non-rotating",
                "expiration_type": "non-expiring",
                "leeway": 0,
                "token_lifetime": 2592000,
                "infinite_token_lifetime": true,
                "infinite_idle_token_lifetime": true,
                "idle_token_lifetime": 1296000
            },
        });
        self.builtin_clients
            .push(client["client_id"].as_str().unwrap_or_default().to_string());
        self.clients.push(client);
    }

    pub fn is_builtin_client(&self, client: &Value) -> bool {
        client["client_id"]
            .as_str()
            .is_some_and(|id| self.builtin_clients.iter().any(|b| b == id))
    }

    // ---------------------------------------------------------------- clients

    pub fn client_index(&self, id: &str) -> Option<usize> {
        self.clients.iter().position(|c| c["client_id"] == id)
    }

    pub fn get_client(&self, id: &str) -> Option<&Value> {
        self.client_index(id).map(|i| &self.clients[i])
    }

    /// POST /clients after validation: applies Auth0's observed defaults (details §B).
    pub fn create_client(&mut self, mut body: Value) -> ApiResult {
        validate_request(RequestOp::CreateClient, &body).map_err(ApiError::bad_request)?;
        let cam = body
            .get("client_authentication_methods")
            .filter(|v| !v.is_null())
            .cloned();
        let Some(cam) = cam else {
            return Ok(self.insert_client(body));
        };
        check_exclusive_auth(&body)?;
        // The credentials are created with the client; the client lists their ids.
        let pending_id = random_alnum(32);
        let (creds, lists) = self.build_inline_credentials(&pending_id, &cam)?;
        body["client_authentication_methods"] = lists;
        let mut client = self.insert_client(body);
        let id = client["client_id"].as_str().unwrap_or_default().to_string();
        for mut c in creds {
            c.client_id = id.clone();
            self.credentials.push(c);
        }
        client["client_authentication_methods"] = self
            .get_client(&id)
            .map(|c| c["client_authentication_methods"].clone())
            .unwrap_or_default();
        Ok(client)
    }

    /// Applies defaults and stores, without validation (dashboard / out-of-band).
    pub fn insert_client(&mut self, body: Value) -> Value {
        let client = apply_client_defaults(body, &self.tenant_name());
        // A `resource_server` client is linked from its API (`client_id` on the resource server).
        if client["app_type"] == "resource_server"
            && let Some(idx) = client["resource_server_identifier"]
                .as_str()
                .and_then(|i| self.find_rs(i))
        {
            self.resource_servers[idx]["client_id"] = client["client_id"].clone();
        }
        if self.enable_client_connections
            && let Some(id) = client["client_id"].as_str()
        {
            for c in &mut self.connections {
                c.enabled_clients.push(id.to_string());
            }
        }
        self.clients.push(client.clone());
        client
    }

    pub fn patch_client(&mut self, id: &str, patch: Value) -> ApiResult {
        validate_request(RequestOp::UpdateClient, &patch).map_err(ApiError::bad_request)?;
        let idx = self
            .client_index(id)
            .ok_or_else(ApiError::client_not_found)?;
        let merged = merge_client_patch(&self.clients[idx], &patch);
        if patch.get("grant_types").is_some() || patch.get("token_endpoint_auth_method").is_some() {
            check_auth_method_grants(&merged)
                .map_err(|m| ApiError::new(400, m, Some("invalid_body")))?;
        }
        if let Some(cam) = patch.get("client_authentication_methods") {
            self.check_authentication_methods(id, cam)?;
        }
        if patch.get("client_authentication_methods").is_some()
            || patch.get("token_endpoint_auth_method").is_some()
        {
            check_exclusive_auth(&merged)?;
        }
        self.clients[idx] = merged.clone();
        Ok(merged)
    }

    /// PATCH without validation (out-of-band edits).
    pub fn patch_client_unchecked(&mut self, id: &str, patch: &Value) -> Option<Value> {
        let idx = self.client_index(id)?;
        let merged = merge_client_patch(&self.clients[idx], patch);
        self.clients[idx] = merged.clone();
        Some(merged)
    }

    /// DELETE /clients/{id}: idempotent; also deletes the client's grants like Auth0 does,
    /// and the client is no longer enabled on any connection.
    pub fn delete_client(&mut self, id: &str) -> bool {
        let before = self.clients.len();
        self.clients.retain(|c| c["client_id"] != id);
        self.grants.retain(|g| g["client_id"] != id);
        self.credentials.retain(|c| c.client_id != id);
        for c in &mut self.connections {
            c.enabled_clients.retain(|e| e != id);
        }
        for rs in &mut self.resource_servers {
            if rs["client_id"] == id {
                rs.as_object_mut().expect("object").remove("client_id");
            }
        }
        before != self.clients.len()
    }

    pub fn rotate_secret(&mut self, id: &str) -> ApiResult {
        let idx = self
            .client_index(id)
            .ok_or_else(ApiError::client_not_found)?;
        self.clients[idx]["client_secret"] = json!(random_secret());
        Ok(self.clients[idx].clone())
    }

    // ---------------------------------------------------------------- grants

    pub fn grant_index(&self, id: &str) -> Option<usize> {
        self.grants.iter().position(|g| g["id"] == id)
    }

    pub fn create_grant(&mut self, body: Value) -> ApiResult {
        validate_request(RequestOp::CreateClientGrant, &body).map_err(ApiError::bad_request)?;
        self.insert_grant(body)
    }

    /// Semantic checks + insert (no schema validation).
    pub fn insert_grant(&mut self, body: Value) -> ApiResult {
        let audience = body["audience"].as_str().unwrap_or_default().to_string();
        if self.find_rs_by_identifier(&audience).is_none() {
            return Err(ApiError::resource_server_not_found());
        }
        let client_id = body
            .get("client_id")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(cid) = &client_id {
            let client = self
                .get_client(cid)
                .ok_or_else(ApiError::client_not_found)?;
            if client["app_type"] == "express_configuration" {
                return Err(ApiError::new(
                    400,
                    "Client of type express_configuration cannot be used",
                    Some("validation_error"),
                ));
            }
        }
        self.check_grant_scopes(&audience, body.get("scope"))?;
        let subject_type = body
            .get("subject_type")
            .and_then(Value::as_str)
            .unwrap_or("client")
            .to_string();
        let conflict = self.grants.iter().any(|g| {
            g["audience"] == audience.as_str()
                && g.get("client_id").and_then(Value::as_str) == client_id.as_deref()
                && g.get("default_for") == body.get("default_for")
                && g["subject_type"] == subject_type.as_str()
        });
        if conflict {
            let who = client_id
                .clone()
                .or_else(|| body["default_for"].as_str().map(str::to_string));
            return Err(ApiError::new(
                409,
                format!(
                    "A client grant already exists between {} and {audience}",
                    who.unwrap_or_default()
                ),
                Some("client_grant_conflict"),
            ));
        }
        let mut g = Map::new();
        g.insert("id".into(), json!(format!("cgr_{}", random_alnum(16))));
        if let Some(cid) = client_id {
            g.insert("client_id".into(), json!(cid));
        }
        g.insert("audience".into(), json!(audience));
        g.insert(
            "scope".into(),
            body.get("scope").cloned().unwrap_or_else(|| json!([])),
        );
        for k in ["organization_usage", "allow_any_organization"] {
            if let Some(v) = body.get(k) {
                g.insert(k.into(), v.clone());
            }
        }
        g.insert("subject_type".into(), json!(subject_type));
        for k in [
            "authorization_details_types",
            "allow_all_scopes",
            "default_for",
        ] {
            if let Some(v) = body.get(k) {
                g.insert(k.into(), v.clone());
            }
        }
        let g = Value::Object(g);
        self.grants.push(g.clone());
        Ok(grant_view(&g))
    }

    pub fn get_grant(&self, id: &str) -> ApiResult {
        self.grant_index(id)
            .map(|i| grant_view(&self.grants[i]))
            .ok_or_else(ApiError::grant_not_found)
    }

    pub fn patch_grant(&mut self, id: &str, patch: Value) -> ApiResult {
        validate_request(RequestOp::UpdateClientGrant, &patch).map_err(ApiError::bad_request)?;
        let idx = self.grant_index(id).ok_or_else(ApiError::grant_not_found)?;
        if self.grants[idx].get("is_system") == Some(&json!(true)) {
            return Err(ApiError::new(
                403,
                "System client grants cannot be modified",
                Some("operation_not_supported"),
            ));
        }
        let audience = self.grants[idx]["audience"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.check_grant_scopes(&audience, patch.get("scope"))?;
        let g = self.grants[idx].as_object_mut().expect("grant object");
        for (k, v) in patch.as_object().into_iter().flatten() {
            if v.is_null() {
                if k == "scope" {
                    g.insert(k.clone(), json!([]));
                } else {
                    g.remove(k);
                }
            } else {
                g.insert(k.clone(), v.clone());
            }
        }
        Ok(grant_view(&self.grants[idx]))
    }

    pub fn delete_grant(&mut self, id: &str) -> bool {
        let before = self.grants.len();
        self.grants.retain(|g| g["id"] != id);
        before != self.grants.len()
    }

    // ---------------------------------------------------------------- resource servers

    /// By id or by identifier (Auth0 accepts both in the path).
    pub fn find_rs(&self, id_or_identifier: &str) -> Option<usize> {
        self.resource_servers
            .iter()
            .position(|r| r["id"] == id_or_identifier || r["identifier"] == id_or_identifier)
    }

    /// By identifier (audience) only.
    pub fn find_rs_by_identifier(&self, identifier: &str) -> Option<usize> {
        self.resource_servers
            .iter()
            .position(|r| r["identifier"] == identifier)
    }

    /// The identifier of the tenant's "Auth0 My Account API" (activated by creating it).
    pub fn my_account_audience(&self) -> String {
        format!("https://{}/me/", self.domain)
    }

    /// POST /resource-servers: official request schema, then Auth0's semantics.
    pub fn create_resource_server(&mut self, body: Value) -> ApiResult {
        validate_request(RequestOp::CreateResourceServer, &body).map_err(ApiError::bad_request)?;
        self.insert_resource_server(body)
    }

    /// Defaults and conflicts of POST /resource-servers, without schema validation.
    pub fn insert_resource_server(&mut self, body: Value) -> ApiResult {
        let obj = body.as_object().cloned().unwrap_or_default();
        let identifier = obj
            .get("identifier")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        if self.find_rs_by_identifier(&identifier).is_some() {
            // OAS 409 text; no recording holds a 409, so `errorCode` is unverified.
            return Err(ApiError::new(
                409,
                "A resource server with the same identifier already exists.",
                Some("resource_server_conflict"),
            ));
        }
        if identifier == self.my_account_audience() {
            // TestAccResourceServer_ACR: creating `https://{tenant}/me/` activates the system
            // "Auth0 My Account API" (201, its own name and settings win over the request's).
            let mut rs = my_account_api(&identifier);
            if let Some(p) = obj.get("authorization_policy") {
                rs["authorization_policy"] = p.clone();
            }
            self.resource_servers.push(rs.clone());
            return Ok(rs);
        }
        // Defaults as recorded (TestAccResourceServer*.yaml POST responses): no `name` unless
        // given, RS256, 86400/7200 s, offline access and consent skipping off, and the
        // default subject-type policies. Everything sent is echoed.
        let mut rs = Map::new();
        rs.insert("id".into(), json!(random_hex(24)));
        rs.insert("identifier".into(), json!(identifier));
        rs.insert("allow_offline_access".into(), json!(false));
        rs.insert(
            "skip_consent_for_verifiable_first_party_clients".into(),
            json!(false),
        );
        rs.insert(
            "subject_type_authorization".into(),
            json!({"client": {"policy": "require_client_grant"}, "user": {"policy": "allow_all"}}),
        );
        rs.insert("token_lifetime".into(), json!(86400));
        rs.insert("token_lifetime_for_web".into(), json!(7200));
        rs.insert("signing_alg".into(), json!("RS256"));
        for (k, v) in obj {
            if k != "id" && !v.is_null() {
                rs.insert(k, v);
            }
        }
        finish_resource_server(&mut rs);
        let rs = Value::Object(rs);
        self.resource_servers.push(rs.clone());
        Ok(rs)
    }

    /// PATCH /resource-servers/{id or identifier}.
    pub fn patch_resource_server(&mut self, id: &str, patch: Value) -> ApiResult {
        validate_request(RequestOp::UpdateResourceServer, &patch).map_err(ApiError::bad_request)?;
        let idx = self.find_rs(id).ok_or_else(rs_not_found)?;
        if self.resource_servers[idx]["is_system"] == true {
            self.check_system_rs_patch(idx, &patch)?;
        }
        let rs = self.resource_servers[idx].as_object_mut().expect("object");
        for (k, v) in patch.as_object().into_iter().flatten() {
            if v.is_null() {
                rs.remove(k);
            } else if k == "subject_type_authorization"
                && let (Some(cur), Some(new)) =
                    (rs.get_mut(k).and_then(Value::as_object_mut), v.as_object())
            {
                // `user` and `client` are set independently (TF sends only `user` for the
                // Management API and the result keeps its `client` policy).
                for (sk, sv) in new {
                    cur.insert(sk.clone(), sv.clone());
                }
            } else {
                // Whole-value replacement, including `scopes` (every recorded scope change
                // is a PATCH of the whole list: TestAccResourceServerScope*.yaml).
                rs.insert(k.clone(), v.clone());
            }
        }
        finish_resource_server(rs);
        Ok(self.resource_servers[idx].clone())
    }

    /// What Auth0 lets a PATCH change on a system API.
    ///
    /// - The Management API accepts only `token_lifetime`,
    ///   `skip_consent_for_verifiable_first_party_clients` and
    ///   `subject_type_authorization.user` (TF PR #374: "only allows modification of 2
    ///   values"; TF `expand.go` sends just these and says client-policy changes "are not
    ///   allowed for the management API"). Anything else is a schema error: PATCH with
    ///   `scopes` answered `400 Payload validation error: 'Additional properties not allowed:
    ///   scopes'.` on real tenants (API QA report on rate-limit-policies, 2026-05-31).
    /// - Other system APIs (e.g. My Account) refuse `name` (auth0-deploy-cli #1484:
    ///   "Additional properties not allowed: name") and `scopes`.
    fn check_system_rs_patch(&self, idx: usize, patch: &Value) -> Result<(), ApiError> {
        let is_mgmt = self.resource_servers[idx]["identifier"] == self.management_audience();
        let p = patch.as_object().cloned().unwrap_or_default();
        let refused: Vec<&str> = p
            .keys()
            .map(String::as_str)
            .filter(|k| {
                if is_mgmt {
                    !matches!(
                        *k,
                        "token_lifetime"
                            | "skip_consent_for_verifiable_first_party_clients"
                            | "subject_type_authorization"
                    )
                } else {
                    matches!(*k, "name" | "scopes")
                }
            })
            .collect();
        if !refused.is_empty() {
            return Err(ApiError::bad_request(format!(
                "Payload validation error: 'Additional properties not allowed: {}'.",
                refused.join(",")
            )));
        }
        if is_mgmt
            && let Some(sta) = p
                .get("subject_type_authorization")
                .and_then(Value::as_object)
            && sta.contains_key("client")
        {
            return Err(ApiError::bad_request(
                "Payload validation error: 'Additional properties not allowed: client' on property subject_type_authorization.",
            ));
        }
        Ok(())
    }

    /// DELETE /resource-servers/{id or identifier}: 204 also when it does not exist (the OAS
    /// lists no 404 for DELETE), so a repeated DELETE is 204.
    pub fn delete_resource_server(&mut self, id: &str) -> Result<(), ApiError> {
        let Some(idx) = self.find_rs(id) else {
            return Ok(());
        };
        if self.resource_servers[idx]["identifier"] == self.management_audience() {
            // TF never deletes it (`deleteResourceServer` returns early for the Management
            // API). The exact refusal is not recorded; 403 `operation_not_supported` is the
            // code Auth0 documents for operations a resource does not support.
            return Err(ApiError::new(
                403,
                "You cannot delete a system resource server",
                Some("operation_not_supported"),
            ));
        }
        // Other system APIs (My Account) can be deleted, i.e. deactivated: recorded 204 in
        // TestAccResourceServer_ACR.yaml.
        let rs = self.resource_servers.remove(idx);
        // The API's client grants go with it. Auth0 does not document this and no recording
        // deletes an API that still has grants (TF deletes grants first); an orphan grant
        // for an audience that no longer exists could neither be listed usefully nor
        // recreated (POST with that audience is 404), so the simulator removes them.
        self.grants.retain(|g| g["audience"] != rs["identifier"]);
        self.open_scope_apis.retain(|i| *i != rs["id"]);
        Ok(())
    }

    /// Auth0 rejects a client grant whose `scope` holds values the API does not define:
    /// `400 {"statusCode":400,"error":"Bad Request","message":"Payload validation error:
    /// scope must be a subset of resource server scopes","errorCode":"invalid_body"}`
    /// (observed on PATCH /client-grants against real tenants, API QA report on
    /// rate-limit-policies 2026-05-31; Auth0 support article "Payload validation error: scope
    /// must be a subset of resource server scopes"). The same rule is applied to POST.
    ///
    /// APIs seeded by [`Store::add_resource_server`] (`SimConfig::audiences`) stand for APIs
    /// whose scopes the tests do not care about: there, unknown scopes are defined on the API
    /// instead (as a tenant admin would have done beforehand).
    fn check_grant_scopes(
        &mut self,
        audience: &str,
        scope: Option<&Value>,
    ) -> Result<(), ApiError> {
        let Some(requested) = scope.and_then(Value::as_array) else {
            return Ok(());
        };
        let Some(idx) = self.find_rs_by_identifier(audience) else {
            return Ok(());
        };
        let defined: Vec<String> = self.resource_servers[idx]["scopes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s["value"].as_str().map(str::to_string))
            .collect();
        let unknown: Vec<&str> = requested
            .iter()
            .filter_map(Value::as_str)
            .filter(|s| !defined.iter().any(|d| d == s))
            .collect();
        if unknown.is_empty() {
            return Ok(());
        }
        let rs_id = self.resource_servers[idx]["id"].clone();
        if self.open_scope_apis.contains(&rs_id) {
            let rs = self.resource_servers[idx].as_object_mut().expect("object");
            let scopes = rs.entry("scopes").or_insert_with(|| json!([]));
            if let Some(a) = scopes.as_array_mut() {
                for s in unknown {
                    a.push(json!({"value": s, "description": s}));
                }
            }
            return Ok(());
        }
        Err(ApiError::bad_request(
            "Payload validation error: scope must be a subset of resource server scopes",
        ))
    }
}

fn rs_not_found() -> ApiError {
    ApiError::new(
        404,
        "The resource server does not exist",
        Some("inexistent_resource_server"),
    )
}

/// Response-only fields derived from what is stored: `signing_secret` exists for HS256 APIs
/// (generated unless given; TF `signing_secret` is Optional+Computed, min 16 chars, "used to
/// sign tokens when using symmetric algorithms"), and a token-encryption key is returned
/// with `thumbprint_sha256` (the RFC 7638 JWK thumbprint of the key) instead of its `pem`
/// (recorded in TestAccResourceServer.yaml; the recorded thumbprint is reproduced by
/// `jwk_thumbprint`).
fn finish_resource_server(rs: &mut Map<String, Value>) {
    if rs.get("signing_alg") == Some(&json!("HS256")) && !rs.contains_key("signing_secret") {
        rs.insert("signing_secret".into(), json!(random_alnum(32)));
    }
    if let Some(key) = rs
        .get_mut("token_encryption")
        .and_then(|t| t.get_mut("encryption_key"))
        .and_then(Value::as_object_mut)
        && let Some(pem) = key.remove("pem")
    {
        let pem = pem.as_str().unwrap_or_default();
        key.insert(
            "thumbprint_sha256".into(),
            json!(super::pem::jwk_thumbprint(pem)),
        );
    }
}

/// The system "Auth0 My Account API" as recorded (TestAccResourceServer_ACR.yaml).
fn my_account_api(identifier: &str) -> Value {
    let scopes: Vec<Value> = [
        ("create:me:connected_accounts", "Create Connected Accounts"),
        ("read:me:connected_accounts", "Read Connected Accounts"),
        ("delete:me:connected_accounts", "Delete Connected Accounts"),
        (
            "read:me:authentication_methods",
            "Read Authentication Methods",
        ),
        (
            "delete:me:authentication_methods",
            "Delete Authentication Methods",
        ),
        (
            "update:me:authentication_methods",
            "Update Authentication Methods",
        ),
        ("read:me:factors", "Read Factors"),
        (
            "create:me:authentication_methods",
            "Create Authentication Methods",
        ),
    ]
    .iter()
    .map(|(v, d)| json!({"value": v, "description": d}))
    .collect();
    json!({
        "id": random_hex(24),
        "name": "Auth0 My Account API",
        "identifier": identifier,
        "allow_offline_access": true,
        "skip_consent_for_verifiable_first_party_clients": true,
        "subject_type_authorization": {"client": {"policy": "deny_all"}, "user": {"policy": "require_client_grant"}},
        "token_lifetime": 600,
        "token_lifetime_for_web": 600,
        "signing_alg": "RS256",
        "scopes": scopes,
        "is_system": true,
        "proof_of_possession": {"mechanism": "dpop", "required": false},
    })
}

/// The grant as returned by the API: `scope` is omitted while `allow_all_scopes` is true.
pub fn grant_view(g: &Value) -> Value {
    let mut v = g.clone();
    if g.get("allow_all_scopes") == Some(&json!(true))
        && let Some(o) = v.as_object_mut()
    {
        o.remove("scope");
    }
    v
}

/// A fake but well-formed signing key entry.
fn signing_key(tenant: &str) -> Value {
    let body = random_alnum(64);
    json!({
        "cert": format!("-----BEGIN CERTIFICATE-----\r\nMIIDHTCCAgWgAwIBAgIJ{body}\r\n-----END CERTIFICATE-----\r\n"),
        "pkcs7": format!("-----BEGIN PKCS7-----\r\nMIIDTQYJKoZIhvcNAQcCoIIDPjCC{body}\r\n-----END PKCS7-----\r\n"),
        "subject": format!("/CN={tenant}.auth0.com"),
    })
}

fn set_default(c: &mut Map<String, Value>, k: &str, v: Value) {
    if !c.contains_key(k) {
        c.insert(k.to_string(), v);
    }
}

/// Defaults Auth0 applied on POST /clients as observed in the recordings (details §B).
pub fn apply_client_defaults(body: Value, tenant: &str) -> Value {
    let req = body.as_object().cloned().unwrap_or_default();
    let mut c = Map::new();
    c.insert("tenant".into(), json!(tenant));
    c.insert("global".into(), json!(false));
    c.insert(
        "name".into(),
        req.get("name").cloned().unwrap_or_else(|| json!("")),
    );
    c.insert("client_id".into(), json!(random_alnum(32)));
    c.insert("client_secret".into(), json!(random_secret()));
    c.insert("callback_url_template".into(), json!(false));
    c.insert("signing_keys".into(), json!([signing_key(tenant)]));
    for (k, v) in &req {
        if k == "client_id" || (k == "client_secret" && v.is_null()) {
            continue;
        }
        c.insert(k.clone(), v.clone());
    }
    let app_type = req.get("app_type").and_then(Value::as_str).unwrap_or("");
    let tem = req
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str);
    let third_party = req.get("is_first_party") == Some(&json!(false));
    let strict = req.get("third_party_security_mode").and_then(Value::as_str) == Some("strict");
    let special = matches!(app_type, "express_configuration" | "resource_server");
    let public = tem == Some("none");
    let confidential_secret = matches!(tem, Some("client_secret_post" | "client_secret_basic"));

    set_default(&mut c, "is_first_party", json!(true));
    set_default(&mut c, "is_token_endpoint_ip_header_trusted", json!(false));
    set_default(&mut c, "oidc_conformant", json!(third_party || special));
    if app_type == "express_configuration" {
        set_default(
            &mut c,
            "callbacks",
            json!(["https://system-admin.okta.com/admin/app/generic/oauth20redirect"]),
        );
    }
    // `jwt_configuration`: given, it is answered as given plus `secret_encoded: false`, with
    // no `lifetime_in_seconds` or `alg` added (recorded: `{"alg":"RS256"}` is answered
    // `{"secret_encoded":false,"alg":"RS256"}` in TestAccClientCredentialsPrivateKeyJWT*,
    // TestAccClientCredentialsTokenVault* and TestAccClientAuthenticationMethodsSignedRequestObject;
    // whole objects are echoed in TestAccClientJWTConfiguration). Not given, it depends on the
    // kind of client (every other recorded POST /clients).
    let jwt = match req.get("jwt_configuration") {
        Some(Value::Object(given)) => {
            let mut jwt = Map::new();
            jwt.insert("secret_encoded".into(), json!(false));
            for (k, v) in given {
                jwt.insert(k.clone(), v.clone());
            }
            Value::Object(jwt)
        }
        _ if special => json!({"secret_encoded": false, "alg": "RS256"}),
        _ if strict => {
            json!({"secret_encoded": false, "alg": "RS256", "lifetime_in_seconds": 3600})
        }
        _ => json!({"secret_encoded": false, "lifetime_in_seconds": 36000}),
    };
    c.insert("jwt_configuration".into(), jwt);
    if let Some(Value::Object(given)) = req.get("session_transfer") {
        c.insert(
            "session_transfer".into(),
            merge_object(&session_transfer_defaults(), given),
        );
    }
    set_default(&mut c, "sso_disabled", json!(false));
    set_default(&mut c, "cross_origin_authentication", json!(false));
    let grants = if app_type == "resource_server" {
        json!([])
    } else if app_type == "express_configuration" {
        json!(["authorization_code", "client_credentials"])
    } else if strict {
        json!(["authorization_code"])
    } else if public {
        json!(["authorization_code", "implicit", "refresh_token"])
    } else {
        json!([
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials"
        ])
    };
    set_default(&mut c, "grant_types", grants);
    set_default(&mut c, "custom_login_page_on", json!(true));
    let (lifetime, idle) = if confidential_secret {
        (31557600, 2592000)
    } else {
        (2592000, 1296000)
    };
    let mut rt = if third_party && !strict {
        json!({"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0,
               "token_lifetime": lifetime, "infinite_token_lifetime": false,
               "infinite_idle_token_lifetime": false, "idle_token_lifetime": idle})
    } else if strict {
        json!({"rotation_type": "non-rotating", "expiration_type": "expiring", "leeway": 0,
               "token_lifetime": lifetime, "infinite_token_lifetime": true,
               "infinite_idle_token_lifetime": false, "idle_token_lifetime": idle})
    } else {
        json!({"rotation_type": "non-rotating", "expiration_type": "non-expiring", "leeway": 0,
               "token_lifetime": lifetime, "infinite_token_lifetime": true,
               "infinite_idle_token_lifetime": true, "idle_token_lifetime": idle})
    };
    match req.get("refresh_token") {
        Some(Value::Object(given)) => {
            for (k, v) in given {
                rt[k] = v.clone();
            }
            c.insert("refresh_token".into(), rt);
        }
        Some(Value::Null) => {
            c.remove("refresh_token");
        }
        _ => {
            c.insert("refresh_token".into(), rt);
        }
    }
    if third_party && !strict {
        set_default(&mut c, "third_party_security_mode", json!("permissive"));
    }
    if app_type == "express_configuration" {
        set_default(&mut c, "organization_usage", json!("require"));
        set_default(
            &mut c,
            "organization_require_behavior",
            json!("pre_login_prompt"),
        );
        set_default(
            &mut c,
            "client_authentication_methods",
            json!({"private_key_jwt": {"credentials": []}}),
        );
    }
    if let Some(ol) = req.get("oidc_logout") {
        c.insert("oidc_backchannel_logout".into(), backchannel_from(ol));
    }
    for k in NULLABLE_CLIENT_FIELDS {
        if c.get(*k) == Some(&Value::Null) {
            c.remove(*k);
        }
    }
    Value::Object(c)
}

fn backchannel_from(oidc_logout: &Value) -> Value {
    json!({"backchannel_logout_urls": oidc_logout.get("backchannel_logout_urls").cloned().unwrap_or_else(|| json!([]))})
}

/// What `session_transfer` starts from, on POST and on a PATCH of a client without it
/// (recorded, TestAccClientSessionTransfer: POST with two of the fields, and PATCH
/// `{"delegation":null}` after `session_transfer: null`, are answered with these values for
/// the fields not sent).
fn session_transfer_defaults() -> Map<String, Value> {
    json!({
        "can_create_session_transfer_token": false,
        "allowed_authentication_methods": [],
        "enforce_device_binding": "ip",
        "allow_refresh_token": false,
        "enforce_online_refresh_tokens": true,
        "enforce_cascade_revocation": true,
    })
    .as_object()
    .cloned()
    .unwrap_or_default()
}

/// `base` with `patch` merged in per key; a `null` value deletes the key.
fn merge_object(base: &Map<String, Value>, patch: &Map<String, Value>) -> Value {
    let mut out = base.clone();
    for (k, v) in patch {
        if v.is_null() {
            out.remove(k);
        } else {
            out.insert(k.clone(), v.clone());
        }
    }
    Value::Object(out)
}

/// Objects a PATCH merges into the stored one key by key (a `null` value deleting the key)
/// instead of replacing it. Recorded:
/// - `client_metadata` (TestAccClientMetadataBehavior);
/// - `jwt_configuration`: PATCH `{"alg":"RS256"}` on `{"secret_encoded":false,
///   "lifetime_in_seconds":36000}` answers all three (TestAccClientAuthenticationMethods*);
/// - `mobile` (PATCH with `android` only keeps `ios`) and `native_social_login` (PATCH with
///   `facebook` only keeps `apple` and `google`), TestAccClientMobile;
/// - `signed_request_object`: PATCH `{"required":true}` keeps `credentials`
///   (TestAccClientAuthenticationMethodsSignedRequestObject);
/// - `session_transfer`: fields not sent are kept, `delegation: null` removes it
///   (TestAccClientSessionTransfer).
const MERGED_ON_PATCH: &[&str] = &[
    "client_metadata",
    "jwt_configuration",
    "mobile",
    "native_social_login",
    "signed_request_object",
    "session_transfer",
];

/// PATCH merge: top-level keys replace, `null` clears nullable fields, the objects of
/// [`MERGED_ON_PATCH`] merge per key. `client_id` never changes. Also recorded: `null`
/// for the deprecated `oidc_backchannel_logout` clears `oidc_logout` too, and an empty
/// `initiate_login_uri` clears it (TestAccClientOIDCLogout, TestAccClientConfig).
pub fn merge_client_patch(current: &Value, patch: &Value) -> Value {
    let mut c = current.as_object().cloned().unwrap_or_default();
    for (k, v) in patch.as_object().into_iter().flatten() {
        match (k.as_str(), v) {
            ("client_id" | "tenant" | "global" | "signing_keys", _) => {}
            (_, Value::Object(m)) if MERGED_ON_PATCH.contains(&k.as_str()) => {
                let base = match c.get(k).and_then(Value::as_object) {
                    Some(cur) => cur.clone(),
                    None if k == "session_transfer" => session_transfer_defaults(),
                    None => Map::new(),
                };
                c.insert(k.clone(), merge_object(&base, m));
            }
            ("oidc_backchannel_logout", Value::Null) => {
                c.remove(k);
                c.remove("oidc_logout");
            }
            ("initiate_login_uri", Value::String(u)) if u.is_empty() => {
                c.remove(k);
            }
            (_, Value::Null) => {
                c.remove(k);
            }
            ("oidc_logout", v) => {
                c.insert("oidc_backchannel_logout".into(), backchannel_from(v));
                c.insert(k.clone(), v.clone());
            }
            _ => {
                c.insert(k.clone(), v.clone());
            }
        }
    }
    Value::Object(c)
}
