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

#[derive(Debug, Default)]
pub struct Store {
    pub domain: String,
    /// Clients in creation order (full objects, including `client_secret`).
    pub clients: Vec<Value>,
    pub grants: Vec<Value>,
    pub resource_servers: Vec<Value>,
    /// Ids of the clients every tenant holds without anyone creating them (the management
    /// application). The API shows them like any client; `Simulator::clients` leaves them out.
    pub builtin_clients: Vec<String>,
}

impl Store {
    pub fn new(domain: &str, audiences: &[String]) -> Self {
        let mut s = Store {
            domain: domain.to_string(),
            ..Default::default()
        };
        let mgmt = s.management_audience();
        s.resource_servers.push(json!({
            "id": random_hex(24),
            "name": "Auth0 Management API",
            "identifier": mgmt,
            "allow_offline_access": false,
            "skip_consent_for_verifiable_first_party_clients": false,
            "token_lifetime": 86400,
            "token_lifetime_for_web": 7200,
            "signing_alg": "RS256",
            "is_system": true,
        }));
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

    pub fn add_resource_server(&mut self, identifier: &str) {
        if self.find_rs(identifier).is_none() {
            let _ =
                self.create_resource_server(json!({"name": identifier, "identifier": identifier}));
        }
    }

    // ---------------------------------------------------------------- clients

    pub fn client_index(&self, id: &str) -> Option<usize> {
        self.clients.iter().position(|c| c["client_id"] == id)
    }

    pub fn get_client(&self, id: &str) -> Option<&Value> {
        self.client_index(id).map(|i| &self.clients[i])
    }

    /// POST /clients after validation: applies Auth0's observed defaults (details §B).
    pub fn create_client(&mut self, body: Value) -> ApiResult {
        validate_request(RequestOp::CreateClient, &body).map_err(ApiError::bad_request)?;
        Ok(self.insert_client(body))
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

    /// DELETE /clients/{id}: idempotent; also deletes the client's grants like Auth0 does.
    pub fn delete_client(&mut self, id: &str) -> bool {
        let before = self.clients.len();
        self.clients.retain(|c| c["client_id"] != id);
        self.grants.retain(|g| g["client_id"] != id);
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
        if self.find_rs(&audience).is_none() {
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

    pub fn create_resource_server(&mut self, body: Value) -> ApiResult {
        let Some(obj) = body.as_object() else {
            return Err(ApiError::bad_request(
                "Payload validation error: 'Expected type object'.",
            ));
        };
        let Some(identifier) = obj.get("identifier").and_then(Value::as_str) else {
            return Err(ApiError::bad_request(
                "Payload validation error: 'Missing required property: identifier'.",
            ));
        };
        if self.find_rs(identifier).is_some() {
            return Err(ApiError::new(
                409,
                "A resource server with the same identifier already exists.",
                Some("resource_server_conflict"),
            ));
        }
        let mut rs = Map::new();
        rs.insert("id".into(), json!(random_hex(24)));
        rs.insert(
            "name".into(),
            obj.get("name")
                .cloned()
                .unwrap_or_else(|| json!(identifier)),
        );
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
            if k != "id" {
                rs.insert(k.clone(), v.clone());
            }
        }
        let rs = Value::Object(rs);
        self.resource_servers.push(rs.clone());
        Ok(rs)
    }

    pub fn patch_resource_server(&mut self, id: &str, patch: Value) -> ApiResult {
        let idx = self.find_rs(id).ok_or_else(rs_not_found_by_id)?;
        if self.resource_servers[idx]["is_system"] == true {
            return Err(ApiError::new(
                403,
                "You cannot update a system resource server",
                Some("operation_not_supported"),
            ));
        }
        let Some(p) = patch.as_object() else {
            return Err(ApiError::bad_request(
                "Payload validation error: 'Expected type object'.",
            ));
        };
        if p.contains_key("identifier") || p.contains_key("id") {
            return Err(ApiError::bad_request(
                "Payload validation error: 'Additional properties not allowed: identifier'.",
            ));
        }
        let rs = self.resource_servers[idx].as_object_mut().expect("object");
        for (k, v) in p {
            if v.is_null() {
                rs.remove(k);
            } else {
                rs.insert(k.clone(), v.clone());
            }
        }
        Ok(self.resource_servers[idx].clone())
    }

    pub fn delete_resource_server(&mut self, id: &str) -> Result<(), ApiError> {
        if let Some(idx) = self.find_rs(id) {
            if self.resource_servers[idx]["is_system"] == true {
                return Err(ApiError::new(
                    403,
                    "You cannot delete a system resource server",
                    Some("operation_not_supported"),
                ));
            }
            let rs = self.resource_servers.remove(idx);
            // Deleting an API deletes its client grants.
            self.grants.retain(|g| g["audience"] != rs["identifier"]);
        }
        Ok(())
    }
}

fn rs_not_found_by_id() -> ApiError {
    ApiError::new(
        404,
        "The resource server does not exist",
        Some("inexistent_resource_server"),
    )
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
    let mut jwt = if special {
        json!({"secret_encoded": false, "alg": "RS256"})
    } else if strict {
        json!({"secret_encoded": false, "alg": "RS256", "lifetime_in_seconds": 3600})
    } else {
        json!({"secret_encoded": false, "lifetime_in_seconds": 36000})
    };
    if let Some(Value::Object(given)) = req.get("jwt_configuration") {
        for (k, v) in given {
            jwt[k] = v.clone();
        }
    }
    c.insert("jwt_configuration".into(), jwt);
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

/// PATCH merge: top-level keys replace, `null` clears nullable fields, `client_metadata`
/// merges per key with `null` deleting a key. `client_id` never changes.
pub fn merge_client_patch(current: &Value, patch: &Value) -> Value {
    let mut c = current.as_object().cloned().unwrap_or_default();
    for (k, v) in patch.as_object().into_iter().flatten() {
        match (k.as_str(), v) {
            ("client_id" | "tenant" | "global" | "signing_keys", _) => {}
            ("client_metadata", Value::Object(m)) => {
                let mut md = c
                    .get("client_metadata")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for (mk, mv) in m {
                    if mv.is_null() {
                        md.remove(mk);
                    } else {
                        md.insert(mk.clone(), mv.clone());
                    }
                }
                c.insert("client_metadata".into(), Value::Object(md));
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
