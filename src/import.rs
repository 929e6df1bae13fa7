//! `auth0-operator import`: reads an existing tenant and writes the manifests that bring it under
//! the operator, in observe-only mode unless asked otherwise, so that applying them changes
//! nothing in Auth0.
//!
//! The mapping goes through the operator's own models: a field is written only when it can be
//! expressed by the CRDs and its value differs from what Auth0 applies by default for the
//! application type, and then it is written exactly as the operator will compare it (so the
//! first reconcile finds nothing to change). The output is deterministic: the same tenant state
//! gives the same bytes.

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Write as _,
    path::PathBuf,
};

use serde_json::{Map, Value, json};

use crate::{
    auth0::{Auth0Config, ClientGrant, ManagementApi, ResourceServer},
    crd::{Auth0ClientGrantSpec, Auth0ClientSpec, METADATA_UID_KEY},
};

/// `auth0-operator import` arguments.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Read the tenant of this `Auth0Tenant` (`Auth0Tenant/NAME`, in `--namespace`) or
    /// `ClusterAuth0Tenant/NAME`, with its credentials (needs a kubeconfig); the manifests name it
    /// in `tenantRef`. Default: the default tenant from the environment, as `run` uses it.
    #[arg(long)]
    pub tenant_ref: Option<String>,
    /// The namespace the manifests are for.
    #[arg(long)]
    pub namespace: String,
    /// What to import: any of `clients`, `grants`, `apis` (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "clients,grants,apis")]
    pub include: Vec<String>,
    /// Only applications and APIs whose Auth0 name (or API identifier) matches this regular
    /// expression (and the grants between imported ones or of imported applications).
    #[arg(long = "match")]
    pub match_: Option<String>,
    /// Write `managementPolicy: Manage` instead of `Observe`.
    #[arg(long)]
    pub manage: bool,
    /// A directory (one file per object) or `-` for standard output (one multi-document YAML).
    #[arg(long, default_value = "-")]
    pub output: String,
    /// The default tenant's settings (the same environment as `run`).
    #[command(flatten)]
    pub run: crate::config::RunArgs,
}

/// What one import produced: the objects (kind, name, manifest), and what was left out.
#[derive(Debug, Default)]
pub struct Imported {
    pub objects: Vec<(String, String, Value)>,
    /// `(what, why)` of everything skipped.
    pub skipped: Vec<(String, String)>,
    /// `(object, fields)`: Auth0 fields with non-default values the CRDs cannot express.
    pub inexpressible: Vec<(String, Vec<String>)>,
}

/// What the import reads from a tenant.
#[derive(Debug, Default, Clone)]
pub struct TenantState {
    /// Clients as Auth0 returns them (every field).
    pub clients: Vec<Value>,
    pub resource_servers: Vec<ResourceServer>,
    pub grants: Vec<ClientGrant>,
    /// The tenant's connections by name, each with the client ids it is enabled for (read
    /// on the per-connection endpoints); `None` when they could not be read (the manifests
    /// then leave `connections` unset: `[]` would disable them all).
    pub connections: Option<Vec<(String, Vec<String>)>>,
    /// The client id the import authenticates as (never imported).
    pub own_client_id: String,
}

/// Options of [`plan`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub namespace: String,
    pub tenant_ref: Option<(String, String)>,
    pub clients: bool,
    pub grants: bool,
    pub apis: bool,
    pub matcher: Option<regex::Regex>,
    pub manage: bool,
}

/// A DNS-1123 label from an Auth0 name: lower case, runs of anything else become `-`, at most
/// 63 characters; `fallback` when nothing is left.
pub fn dns_name(name: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out: String = out.trim_matches('-').chars().take(63).collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        fallback.to_string()
    } else {
        out
    }
}

/// Names for `(base, id)` pairs: the base name, with a suffix of the id only where two bases
/// collide (all of the colliding ones get it, so the result does not depend on order).
fn unique_names(items: &[(String, String)]) -> Vec<String> {
    let mut count: BTreeMap<&str, usize> = BTreeMap::new();
    for (base, _) in items {
        *count.entry(base).or_default() += 1;
    }
    let mut taken: BTreeSet<String> = BTreeSet::new();
    let names: Vec<String> = items
        .iter()
        .map(|(base, id)| {
            if count[base.as_str()] == 1 {
                base.clone()
            } else {
                let tail: String = id
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .collect::<String>()
                    .to_ascii_lowercase();
                let tail = &tail[tail.len().saturating_sub(8)..];
                let head: String = base.chars().take(63 - tail.len() - 1).collect();
                format!("{}-{tail}", head.trim_end_matches('-'))
            }
        })
        .collect();
    // The suffixed names could still collide with another base (unlikely): number them.
    names
        .into_iter()
        .map(|n| {
            let mut candidate = n.clone();
            let mut i = 2;
            while !taken.insert(candidate.clone()) {
                candidate = format!("{n}-{i}");
                i += 1;
            }
            candidate
        })
        .collect()
}

/// Values Auth0 gives an application when a create does not set them, given its application
/// type, token endpoint method and first-party flag (evidence: the recorded creates; the
/// simulator's `apply_client_defaults`). A public application (`none`) gets no
/// `client_credentials` grant and the shorter refresh-token lifetimes.
pub fn client_defaults(app_type: Option<&str>, tem: Option<&str>, first_party: bool) -> Value {
    let public = tem == Some("none");
    let confidential = matches!(tem, Some("client_secret_post" | "client_secret_basic"));
    let grants = if public {
        json!(["authorization_code", "implicit", "refresh_token"])
    } else {
        json!([
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials"
        ])
    };
    let (lifetime, idle) = if confidential {
        (31557600, 2592000)
    } else {
        (2592000, 1296000)
    };
    let refresh = if first_party {
        json!({"rotation_type": "non-rotating", "expiration_type": "non-expiring", "leeway": 0,
               "token_lifetime": lifetime, "infinite_token_lifetime": true,
               "infinite_idle_token_lifetime": true, "idle_token_lifetime": idle})
    } else {
        json!({"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0,
               "token_lifetime": lifetime, "infinite_token_lifetime": false,
               "infinite_idle_token_lifetime": false, "idle_token_lifetime": idle})
    };
    // The dashboard's method for the type (a create through the API sets none).
    let tem_default = if matches!(app_type, Some("spa" | "native")) {
        "none"
    } else {
        "client_secret_post"
    };
    json!({
        "is_first_party": true,
        "oidc_conformant": !first_party,
        "jwt_configuration": {"secret_encoded": false, "lifetime_in_seconds": 36000},
        "sso_disabled": false,
        "sso": false,
        "cross_origin_authentication": false,
        "custom_login_page_on": true,
        "grant_types": grants,
        "token_endpoint_auth_method": tem_default,
        "refresh_token": refresh,
        "require_pushed_authorization_requests": false,
        "callbacks": [], "allowed_logout_urls": [], "allowed_origins": [], "web_origins": [],
        "allowed_clients": [], "client_metadata": {},
        "organization_usage": "deny",
        "organization_require_behavior": "no_prompt",
    })
}

/// Fields of a client the CRD maps (Auth0 name → spec name).
const CLIENT_FIELDS: &[(&str, &str)] = &[
    ("description", "description"),
    ("app_type", "appType"),
    ("callbacks", "callbacks"),
    ("allowed_logout_urls", "allowedLogoutUrls"),
    ("allowed_origins", "allowedOrigins"),
    ("web_origins", "webOrigins"),
    ("grant_types", "grantTypes"),
    ("token_endpoint_auth_method", "tokenEndpointAuthMethod"),
    ("is_first_party", "isFirstParty"),
    ("oidc_conformant", "oidcConformant"),
    ("jwt_configuration", "jwtConfiguration"),
    ("refresh_token", "refreshToken"),
    ("client_metadata", "clientMetadata"),
    ("logo_uri", "logoUri"),
    ("initiate_login_uri", "initiateLoginUri"),
    ("organization_usage", "organizationUsage"),
    (
        "organization_require_behavior",
        "organizationRequireBehavior",
    ),
    ("cross_origin_authentication", "crossOriginAuthentication"),
    ("cross_origin_loc", "crossOriginLoc"),
    ("allowed_clients", "allowedClients"),
    ("sso", "sso"),
    ("sso_disabled", "ssoDisabled"),
    ("custom_login_page_on", "customLoginPageOn"),
    (
        "require_pushed_authorization_requests",
        "requirePushedAuthorizationRequests",
    ),
];

/// Client fields that are Auth0's own bookkeeping, or the credential: never reported.
const CLIENT_BOOKKEEPING: &[&str] = &[
    "client_id",
    "client_secret",
    "name",
    "tenant",
    "global",
    "signing_keys",
    "callback_url_template",
    "is_token_endpoint_ip_header_trusted",
    "third_party_security_mode",
    "owners",
    "encryption_key",
    "created_at",
    "updated_at",
];

fn camel_keys(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (crate::controller::diff::camel_case(k), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Whether `v` says nothing (null, false, empty): not worth reporting as inexpressible.
fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty_value),
        _ => false,
    }
}

fn same(a: &Value, b: &Value, set: bool) -> bool {
    if set && let (Value::Array(x), Value::Array(y)) = (a, b) {
        let x: BTreeSet<String> = x.iter().map(Value::to_string).collect();
        let y: BTreeSet<String> = y.iter().map(Value::to_string).collect();
        return x == y;
    }
    a == b
}

/// The spec of an `Auth0Client` for this Auth0 application (fields that differ from Auth0's
/// defaults only), and the fields with values the CRD cannot express. `Err` says why it is
/// not imported.
pub fn client_spec(raw: &Value) -> Result<(Map<String, Value>, Vec<String>), String> {
    let obj = raw.as_object().ok_or("not an object")?;
    let app_type = obj.get("app_type").and_then(Value::as_str);
    if let Some(t) = app_type
        && !matches!(t, "native" | "spa" | "regular_web" | "non_interactive")
    {
        return Err(format!(
            "its application type {t} cannot be expressed by Auth0Client (native, spa, regular_web, non_interactive)"
        ));
    }
    if obj
        .get("client_authentication_methods")
        .is_some_and(|m| !is_empty_value(m))
    {
        return Err(
            "it authenticates with keys registered outside the operator (client_authentication_methods); the operator only manages keys it generates".to_string(),
        );
    }
    let first_party = obj.get("is_first_party").and_then(Value::as_bool) != Some(false);
    let tem = obj
        .get("token_endpoint_auth_method")
        .and_then(Value::as_str);
    let defaults = client_defaults(app_type, tem, first_party);
    let mut spec = Map::new();
    spec.insert("name".into(), obj.get("name").cloned().unwrap_or(json!("")));
    for (auth0, field) in CLIENT_FIELDS {
        let Some(v) = obj.get(*auth0).filter(|v| !v.is_null()) else {
            continue;
        };
        let set = v.is_array();
        let default = &defaults[*auth0];
        let value = match *auth0 {
            // Compare only the sub-fields the CRD has; write them all when one differs.
            "jwt_configuration" => {
                let keep: Map<String, Value> = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, val)| {
                        matches!(k.as_str(), "lifetime_in_seconds" | "alg" | "secret_encoded")
                            && default.get(k.as_str()) != Some(val)
                    })
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if keep.is_empty() {
                    continue;
                }
                camel_keys(&Value::Object(keep))
            }
            "refresh_token" => {
                let keys = [
                    "rotation_type",
                    "expiration_type",
                    "leeway",
                    "token_lifetime",
                    "idle_token_lifetime",
                    "infinite_token_lifetime",
                    "infinite_idle_token_lifetime",
                ];
                let differs = keys.iter().any(|k| v.get(*k) != default.get(*k));
                if !differs {
                    continue;
                }
                let keep: Map<String, Value> = keys
                    .iter()
                    .filter_map(|k| {
                        v.get(*k)
                            .filter(|x| !x.is_null())
                            .map(|x| (k.to_string(), x.clone()))
                    })
                    .collect();
                camel_keys(&Value::Object(keep))
            }
            "client_metadata" => {
                let m: Map<String, Value> = v
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter(|(k, _)| !k.starts_with("k8s_operator_"))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                if m.is_empty() {
                    continue;
                }
                Value::Object(m)
            }
            _ if !default.is_null() && same(v, default, set) => continue,
            // Empty lists and strings are Auth0's "unset".
            _ if is_empty_value(v) && !v.is_boolean() => continue,
            _ => v.clone(),
        };
        spec.insert(field.to_string(), value);
    }
    let mapped: BTreeSet<&str> = CLIENT_FIELDS.iter().map(|(a, _)| *a).collect();
    let mut inexpressible: Vec<String> = obj
        .iter()
        .filter(|(k, v)| {
            !mapped.contains(k.as_str())
                && !CLIENT_BOOKKEEPING.contains(&k.as_str())
                && k.as_str() != "client_authentication_methods"
                && !is_empty_value(v)
        })
        .map(|(k, _)| k.clone())
        .collect();
    inexpressible.sort();
    // What the operator will read: it must be a valid spec.
    let typed: Auth0ClientSpec = serde_json::from_value(Value::Object(spec.clone()))
        .map_err(|e| format!("its settings do not fit Auth0Client: {e}"))?;
    crate::controller::client::spec::validate_client_spec(&typed)
        .map_err(|e| format!("its settings break a rule of Auth0Client: {e}"))?;
    Ok((spec, inexpressible))
}

/// The spec of an `Auth0ResourceServer` for this API (settings that differ from Auth0's
/// defaults, and its scopes).
pub fn resource_server_spec(api: &ResourceServer) -> Map<String, Value> {
    let mut spec = Map::new();
    spec.insert("identifier".into(), json!(api.identifier));
    if let Some(n) = api.name.as_ref().filter(|n| !n.is_empty()) {
        spec.insert("name".into(), json!(n));
    }
    let scopes: Vec<Value> = api
        .scopes
        .iter()
        .flatten()
        .map(|s| {
            let mut m = Map::new();
            m.insert("value".into(), json!(s.value));
            if let Some(d) = s.description.as_ref().filter(|d| !d.is_empty()) {
                m.insert("description".into(), json!(d));
            }
            Value::Object(m)
        })
        .collect();
    spec.insert("scopes".into(), Value::Array(scopes));
    let settings: [(&str, Option<Value>, Value); 7] = [
        (
            "signingAlg",
            api.signing_alg.clone().map(Value::from),
            json!("RS256"),
        ),
        (
            "tokenLifetime",
            api.token_lifetime.map(Value::from),
            json!(86400),
        ),
        (
            "tokenLifetimeForWeb",
            api.token_lifetime_for_web.map(Value::from),
            json!(7200),
        ),
        (
            "allowOfflineAccess",
            api.allow_offline_access.map(Value::from),
            json!(false),
        ),
        (
            "skipConsentForVerifiableFirstPartyClients",
            api.skip_consent_for_verifiable_first_party_clients
                .map(Value::from),
            json!(true),
        ),
        (
            "enforcePolicies",
            api.enforce_policies.map(Value::from),
            json!(false),
        ),
        (
            "tokenDialect",
            api.token_dialect.clone().map(Value::from),
            json!("access_token"),
        ),
    ];
    for (field, value, default) in settings {
        if let Some(v) = value
            && v != default
        {
            spec.insert(field.into(), v);
        }
    }
    spec.insert("adopt".into(), json!(true));
    spec
}

/// The names of the connections application `id` is enabled on, sorted, for its
/// `spec.connections`: for every application that has one, and for every interactive one
/// (`[]`: users cannot log in to it); a machine-to-machine application without any is left
/// without the field.
fn connections_of(state: &TenantState, id: &str, raw: &Value) -> Option<Vec<String>> {
    let mut names: Vec<String> = state
        .connections
        .as_ref()?
        .iter()
        .filter(|(_, clients)| clients.iter().any(|c| c == id))
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    (!names.is_empty() || raw["app_type"] != json!("non_interactive")).then_some(names)
}

/// Plans the manifests for a tenant's state.
pub fn plan(state: &TenantState, o: &Options) -> Imported {
    let mut out = Imported::default();
    let matches = |name: &str, alt: &str| {
        o.matcher
            .as_ref()
            .is_none_or(|m| m.is_match(name) || m.is_match(alt))
    };
    let policy = if o.manage { "Manage" } else { "Observe" };
    let common = |spec: &mut Map<String, Value>| {
        if let Some((kind, name)) = &o.tenant_ref {
            let mut r = Map::new();
            if kind == "ClusterAuth0Tenant" {
                r.insert("kind".into(), json!(kind));
            }
            r.insert("name".into(), json!(name));
            spec.insert("tenantRef".into(), Value::Object(r));
        }
        spec.insert("managementPolicy".into(), json!(policy));
        spec.insert("deletionPolicy".into(), json!("Orphan"));
    };
    let manifest = |kind: &str, name: &str, spec: Map<String, Value>| {
        json!({
            "apiVersion": "auth0.operator.dev/v1alpha1",
            "kind": kind,
            "metadata": {"name": name, "namespace": o.namespace},
            "spec": spec,
        })
    };

    // APIs.
    let mut apis: Vec<&ResourceServer> = Vec::new();
    if o.apis {
        for api in &state.resource_servers {
            let label = format!(
                "API {} ({})",
                api.name.as_deref().unwrap_or_default(),
                api.identifier
            );
            if api.is_system == Some(true) {
                out.skipped
                    .push((label, "a system API (Auth0's own)".to_string()));
            } else if !matches(api.name.as_deref().unwrap_or_default(), &api.identifier) {
                out.skipped
                    .push((label, "does not match --match".to_string()));
            } else {
                apis.push(api);
            }
        }
    }
    apis.sort_by(|a, b| {
        (a.name.as_deref(), &a.identifier).cmp(&(b.name.as_deref(), &b.identifier))
    });
    let api_names = unique_names(
        &apis
            .iter()
            .map(|a| {
                (
                    dns_name(a.name.as_deref().unwrap_or(&a.identifier), "api"),
                    a.id.clone(),
                )
            })
            .collect::<Vec<_>>(),
    );
    let mut api_by_identifier: BTreeMap<String, String> = BTreeMap::new();
    for (api, name) in apis.iter().zip(&api_names) {
        let mut spec = resource_server_spec(api);
        common(&mut spec);
        api_by_identifier.insert(api.identifier.clone(), name.clone());
        out.objects.push((
            "Auth0ResourceServer".into(),
            name.clone(),
            manifest("Auth0ResourceServer", name, spec),
        ));
    }

    // Clients.
    let mut clients: Vec<(String, String, Map<String, Value>)> = Vec::new();
    let mut excluded_clients: BTreeSet<String> = BTreeSet::new();
    if o.clients {
        for raw in &state.clients {
            let id = raw["client_id"].as_str().unwrap_or_default().to_string();
            let name = raw["name"].as_str().unwrap_or_default().to_string();
            let label = format!("client {name} ({id})");
            let skip = if id == state.own_client_id {
                Some("the application the import authenticates as".to_string())
            } else if raw["global"] == json!(true) {
                Some("the tenant's global client".to_string())
            } else if raw["client_metadata"][METADATA_UID_KEY].is_string() {
                Some("already managed by an auth0-operator (its client_metadata names a Kubernetes resource)".to_string())
            } else if !matches(&name, &id) {
                Some("does not match --match".to_string())
            } else {
                None
            };
            if let Some(why) = skip {
                excluded_clients.insert(id);
                out.skipped.push((label, why));
                continue;
            }
            match client_spec(raw) {
                Ok((mut spec, inexpressible)) => {
                    spec.insert("clientId".into(), json!(id));
                    if let Some(names) = connections_of(state, &id, raw) {
                        spec.insert("connections".into(), json!(names));
                    }
                    common(&mut spec);
                    if !inexpressible.is_empty() {
                        out.inexpressible.push((label, inexpressible));
                    }
                    clients.push((name, id, spec));
                }
                Err(why) => {
                    excluded_clients.insert(id);
                    out.skipped.push((label, why));
                }
            }
        }
    } else {
        excluded_clients.insert(state.own_client_id.clone());
    }
    clients.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    let client_names = unique_names(
        &clients
            .iter()
            .map(|(n, id, _)| (dns_name(n, "client"), id.clone()))
            .collect::<Vec<_>>(),
    );
    let mut client_by_id: BTreeMap<String, String> = BTreeMap::new();
    for ((_, id, spec), name) in clients.into_iter().zip(&client_names) {
        client_by_id.insert(id, name.clone());
        out.objects.push((
            "Auth0Client".into(),
            name.clone(),
            manifest("Auth0Client", name, spec),
        ));
    }

    // Grants.
    if o.grants {
        let mut grants: Vec<(String, String, Map<String, Value>)> = Vec::new();
        for g in &state.grants {
            let client_id = g.client_id.clone().unwrap_or_default();
            let label = format!("grant {} ({client_id} → {})", g.id, g.audience);
            if g.subject_type.as_deref().unwrap_or("client") != "client" {
                out.skipped
                    .push((label, "a grant for users, not for an application".into()));
                continue;
            }
            if client_id == state.own_client_id || excluded_clients.contains(&client_id) {
                out.skipped
                    .push((label, "its application is not imported".into()));
                continue;
            }
            if o.matcher.is_some() && !client_by_id.contains_key(&client_id) {
                out.skipped
                    .push((label, "its application does not match --match".into()));
                continue;
            }
            let mut spec = Map::new();
            let client_part = match client_by_id.get(&client_id) {
                Some(n) => {
                    spec.insert("clientRef".into(), json!({"name": n}));
                    n.clone()
                }
                None => {
                    spec.insert("clientId".into(), json!(client_id));
                    dns_name(&client_id, "client")
                }
            };
            let api_part = match api_by_identifier.get(&g.audience) {
                Some(n) => {
                    spec.insert("resourceServerRef".into(), json!({"name": n}));
                    n.clone()
                }
                None => {
                    spec.insert("audience".into(), json!(g.audience));
                    dns_name(&g.audience, "api")
                }
            };
            let mut scopes = g.scope.clone().unwrap_or_default();
            scopes.sort();
            spec.insert("scopes".into(), json!(scopes));
            if let Some(u) = g.organization_usage.as_ref() {
                spec.insert("organizationUsage".into(), json!(u));
            }
            if let Some(a) = g.allow_any_organization {
                spec.insert("allowAnyOrganization".into(), json!(a));
            }
            spec.insert("grantId".into(), json!(g.id));
            common(&mut spec);
            if let Err(e) =
                serde_json::from_value::<Auth0ClientGrantSpec>(Value::Object(spec.clone()))
            {
                out.skipped
                    .push((label, format!("does not fit Auth0ClientGrant: {e}")));
                continue;
            }
            let base = dns_name(&format!("{client_part}-{api_part}"), "grant");
            grants.push((base, g.id.clone(), spec));
        }
        grants.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
        let names = unique_names(
            &grants
                .iter()
                .map(|(b, id, _)| (b.clone(), id.clone()))
                .collect::<Vec<_>>(),
        );
        for ((_, _, spec), name) in grants.into_iter().zip(&names) {
            out.objects.push((
                "Auth0ClientGrant".into(),
                name.clone(),
                manifest("Auth0ClientGrant", name, spec),
            ));
        }
    }
    out
}

/// The manifests as one multi-document YAML (APIs, then clients, then grants, each by name).
pub fn to_yaml(objects: &[(String, String, Value)]) -> String {
    let mut out = String::new();
    for (_, _, m) in objects {
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(m).unwrap_or_default());
    }
    out
}

/// The Management API client for the import: the default tenant from the environment, or the
/// tenant object `--tenant-ref` names (with its credentials Secret, through the kubeconfig).
async fn auth0_for(args: &ImportArgs) -> anyhow::Result<(Auth0Config, Option<(String, String)>)> {
    let config = args.run.resolve().map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(r) = &args.tenant_ref else {
        let auth0 = config.auth0.clone().ok_or_else(|| {
            anyhow::anyhow!(
                "no tenant to read: set AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET (as for `run`), or give --tenant-ref Auth0Tenant/NAME"
            )
        })?;
        return Ok((auth0, None));
    };
    let (kind, name) = r.split_once('/').ok_or_else(|| {
        anyhow::anyhow!("--tenant-ref {r}: expected KIND/NAME, e.g. Auth0Tenant/prod")
    })?;
    let kube = kube::Client::try_default().await?;
    let (view_secret, auth0) = match kind {
        "Auth0Tenant" => {
            let api = kube::Api::namespaced(kube.clone(), &args.namespace);
            tenant_object_config::<crate::crd::Auth0Tenant>(&kube, api, name, &config).await?
        }
        "ClusterAuth0Tenant" => {
            let api = kube::Api::all(kube.clone());
            tenant_object_config::<crate::crd::ClusterAuth0Tenant>(&kube, api, name, &config)
                .await?
        }
        other => anyhow::bail!(
            "--tenant-ref {r}: unknown kind {other} (Auth0Tenant or ClusterAuth0Tenant)"
        ),
    };
    let auth0 =
        auth0.map_err(|(_, why)| anyhow::anyhow!("tenant {r} (Secret {view_secret}): {why}"))?;
    Ok((auth0, Some((kind.to_string(), name.to_string()))))
}

/// The settings of the tenant object `name` (its credentials Secret, under the operator's
/// tenant policy): the Secret's name, and the settings or why there are none.
async fn tenant_object_config<T: crate::controller::tenant::TenantObject>(
    kube: &kube::Client,
    api: kube::Api<T>,
    name: &str,
    config: &crate::config::OperatorConfig,
) -> anyhow::Result<(
    String,
    Result<Auth0Config, (crate::controller::tenant::TenantReason, String)>,
)> {
    let t = api.get(name).await?;
    let view = t.view();
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(kube.clone(), &view.secret_namespace);
    let s = secrets.get_opt(view.secret_name).await?;
    Ok((
        view.secret_name.to_string(),
        crate::controller::tenant::tenant_config(&view, &config.tenant_policy, s.as_ref()),
    ))
}

/// Reads the tenant (with a progress line on stderr for long listings).
pub async fn read_tenant(auth0: &ManagementApi, o: &Options) -> anyhow::Result<TenantState> {
    use crate::auth0::Listing;
    let mut state = TenantState {
        own_client_id: auth0.config().client_id.clone(),
        ..Default::default()
    };
    let progress = |what: &'static str| {
        move |n: usize| {
            eprint!("\rimport: listing {what}… {n}");
            let _ = std::io::stderr().flush();
        }
    };
    if o.clients || o.grants {
        state.clients = auth0
            .list_everything(Listing::Clients, &mut progress("applications"))
            .await?;
        eprintln!();
    }
    if o.clients {
        state.connections = match read_connections(auth0).await {
            Ok(c) => Some(c),
            Err(e @ crate::auth0::Auth0Error::InsufficientScope { .. }) => {
                eprintln!(
                    "import: cannot read the connections ({e}); the applications are written without spec.connections (grant read:connections to import them)"
                );
                None
            }
            Err(e) => return Err(e.into()),
        };
    }
    if o.apis || o.grants {
        let raw = auth0
            .list_everything(Listing::ResourceServers, &mut progress("APIs"))
            .await?;
        eprintln!();
        state.resource_servers = raw
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
    }
    if o.grants {
        let raw = auth0
            .list_everything(Listing::ClientGrants, &mut progress("grants"))
            .await?;
        eprintln!();
        state.grants = raw
            .into_iter()
            .filter_map(|v| serde_json::from_value(v).ok())
            .collect();
    }
    Ok(state)
}

/// The tenant's connections and the applications each is enabled for.
async fn read_connections(
    auth0: &ManagementApi,
) -> Result<Vec<(String, Vec<String>)>, crate::auth0::Auth0Error> {
    let mut out = Vec::new();
    let connections = auth0.list_connections().await?;
    for (i, c) in connections.iter().enumerate() {
        eprint!("\rimport: listing connections… {}", i + 1);
        let _ = std::io::stderr().flush();
        out.push((c.name.clone(), auth0.list_connection_clients(&c.id).await?));
    }
    if !connections.is_empty() {
        eprintln!();
    }
    Ok(out)
}

/// Runs `auth0-operator import`.
pub async fn run(args: ImportArgs) -> anyhow::Result<()> {
    let (config, tenant_ref) = auth0_for(&args).await?;
    let mut o = Options {
        namespace: args.namespace.clone(),
        tenant_ref,
        manage: args.manage,
        ..Default::default()
    };
    for what in &args.include {
        match what.trim() {
            "clients" => o.clients = true,
            "grants" => o.grants = true,
            "apis" => o.apis = true,
            other => anyhow::bail!("--include {other}: expected clients, grants or apis"),
        }
    }
    if let Some(m) = &args.match_ {
        o.matcher = Some(regex::Regex::new(m).map_err(|e| anyhow::anyhow!("--match: {e}"))?);
    }
    let auth0 = ManagementApi::new(config)?;
    let state = read_tenant(&auth0, &o).await?;
    let imported = plan(&state, &o);
    if args.output == "-" {
        print!("{}", to_yaml(&imported.objects));
    } else {
        let dir = PathBuf::from(&args.output);
        std::fs::create_dir_all(&dir)?;
        for (kind, name, m) in &imported.objects {
            let file = dir.join(format!("{}-{name}.yaml", kind.to_ascii_lowercase()));
            std::fs::write(&file, serde_yaml::to_string(m)?)?;
        }
    }
    summary(&imported, &args.output, args.manage);
    if let Some(note) = adoption_note(o.tenant_ref.as_ref(), &o.namespace, imported.objects.len()) {
        eprintln!("{note}");
    }
    Ok(())
}

/// What the tenant's owner must allow for the imported manifests to work: they adopt (or
/// observe) objects no resource manages, which needs the tenant's `spec.policy.adoption` for
/// `namespace` (see the README's "Security model"). `None` when nothing is needed.
pub fn adoption_note(
    tenant_ref: Option<&(String, String)>,
    namespace: &str,
    objects: usize,
) -> Option<String> {
    if objects == 0 {
        return None;
    }
    match tenant_ref {
        Some((kind, name)) if kind == "ClusterAuth0Tenant" => Some(format!(
            "import: these manifests adopt objects no resource manages: ClusterAuth0Tenant {name} must allow namespace {namespace} in spec.policy.adoption (and in spec.policy.unmanagedApis for grants to APIs not imported), or they are refused with AdoptionNotAllowed"
        )),
        Some((_, name)) => Some(format!(
            "import: these manifests adopt objects no resource manages: Auth0Tenant {name} allows it for its own namespace unless its spec.policy.adoption says otherwise"
        )),
        None => None,
    }
}

fn summary(i: &Imported, output: &str, manage: bool) {
    let count = |k: &str| i.objects.iter().filter(|(kind, _, _)| kind == k).count();
    eprintln!(
        "import: wrote {} Auth0ResourceServer, {} Auth0Client and {} Auth0ClientGrant manifest(s) to {} (managementPolicy {}, deletionPolicy Orphan)",
        count("Auth0ResourceServer"),
        count("Auth0Client"),
        count("Auth0ClientGrant"),
        if output == "-" {
            "standard output"
        } else {
            output
        },
        if manage { "Manage" } else { "Observe" }
    );
    if !i.skipped.is_empty() {
        eprintln!("import: skipped {}:", i.skipped.len());
        for (what, why) in &i.skipped {
            eprintln!("  - {what}: {why}");
        }
    }
    if !i.inexpressible.is_empty() {
        eprintln!(
            "import: fields with settings the CRDs cannot express (left as they are in Auth0, not managed):"
        );
        for (what, fields) in &i.inexpressible {
            eprintln!("  - {what}: {}", fields.join(", "));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_says_when_the_namespace_needs_adoption_rights() {
        let cluster = ("ClusterAuth0Tenant".to_string(), "shared".to_string());
        assert_eq!(
            adoption_note(Some(&cluster), "team-b", 3).as_deref(),
            Some(
                "import: these manifests adopt objects no resource manages: ClusterAuth0Tenant shared must allow namespace team-b in spec.policy.adoption (and in spec.policy.unmanagedApis for grants to APIs not imported), or they are refused with AdoptionNotAllowed"
            )
        );
        assert_eq!(adoption_note(Some(&cluster), "team-b", 0), None);
        let own = ("Auth0Tenant".to_string(), "staging".to_string());
        assert!(
            adoption_note(Some(&own), "team-b", 1).is_some_and(|n| n.contains("own namespace"))
        );
        // The default tenant allows adoption (single-team).
        assert_eq!(adoption_note(None, "team-b", 2), None);
    }

    #[test]
    fn imported_applications_name_their_connections() {
        let state = TenantState {
            clients: vec![
                json!({"client_id": "web1", "name": "Web", "app_type": "regular_web"}),
                json!({"client_id": "spa1", "name": "Spa", "app_type": "spa"}),
                json!({"client_id": "m2m1", "name": "Job", "app_type": "non_interactive"}),
                json!({"client_id": "m2m2", "name": "Sync", "app_type": "non_interactive"}),
            ],
            connections: Some(vec![
                ("google-oauth2".into(), vec!["web1".into()]),
                (
                    "Username-Password-Authentication".into(),
                    vec!["web1".into(), "m2m2".into()],
                ),
            ]),
            own_client_id: "mgmt".into(),
            ..Default::default()
        };
        let o = Options {
            namespace: "team-a".into(),
            clients: true,
            ..Default::default()
        };
        let out = plan(&state, &o);
        let connections = |name: &str| {
            out.objects
                .iter()
                .find(|(_, n, _)| n == name)
                .map(|(_, _, m)| m["spec"].get("connections").cloned())
                .unwrap_or_else(|| panic!("{name} imported"))
        };
        assert_eq!(
            connections("web"),
            Some(json!(["Username-Password-Authentication", "google-oauth2"]))
        );
        // An interactive application without any: [] (users cannot log in to it).
        assert_eq!(connections("spa"), Some(json!([])));
        // A machine-to-machine application only when it has some.
        assert_eq!(connections("job"), None);
        assert_eq!(
            connections("sync"),
            Some(json!(["Username-Password-Authentication"]))
        );
        // Connections that could not be read: the field is left unset everywhere.
        let unread = TenantState {
            connections: None,
            ..state
        };
        let out = plan(&unread, &o);
        assert!(
            out.objects
                .iter()
                .all(|(_, _, m)| m["spec"].get("connections").is_none())
        );
    }

    fn spec_of(raw: Value) -> Map<String, Value> {
        client_spec(&raw).unwrap().0
    }

    /// What Auth0 returns for a create with only these settings (its defaults for the type).
    fn created(app_type: &str, tem: Option<&str>) -> Value {
        let mut v = client_defaults(Some(app_type), tem, true);
        v["name"] = json!("App");
        v["app_type"] = json!(app_type);
        match tem {
            Some(t) => v["token_endpoint_auth_method"] = json!(t),
            None => drop(
                v.as_object_mut()
                    .unwrap()
                    .remove("token_endpoint_auth_method"),
            ),
        }
        v
    }

    #[test]
    fn auth0_defaults_are_stripped_per_application_type() {
        for (app_type, tem) in [
            ("spa", Some("none")),
            ("native", Some("none")),
            ("regular_web", Some("client_secret_post")),
            ("non_interactive", Some("client_secret_post")),
            ("non_interactive", None),
            ("regular_web", Some("client_secret_basic")),
        ] {
            let spec = spec_of(created(app_type, tem));
            let mut keys: Vec<&str> = spec.keys().map(String::as_str).collect();
            keys.sort();
            let mut want = vec!["appType", "name"];
            if tem == Some("client_secret_basic") {
                // Not the type's default method: written.
                want.push("tokenEndpointAuthMethod");
            }
            want.sort();
            assert_eq!(
                keys, want,
                "{app_type} {tem:?}: only what differs is written"
            );
        }
    }

    #[test]
    fn what_differs_is_written_as_the_operator_compares_it() {
        let mut raw = created("spa", Some("none"));
        raw["callbacks"] = json!(["https://a.example.com/cb"]);
        raw["grant_types"] = json!(["authorization_code"]);
        raw["jwt_configuration"] =
            json!({"secret_encoded": false, "lifetime_in_seconds": 600, "alg": "RS256"});
        raw["refresh_token"]["rotation_type"] = json!("rotating");
        raw["client_metadata"] = json!({"team": "web"});
        raw["is_first_party"] = json!(false);
        raw["addons"] = json!({"samlp": {"audience": "x"}});
        raw["mobile"] = json!({"ios": {"team_id": "T"}});
        raw["signing_keys"] = json!([{"cert": "c"}]);
        let (spec, inexpressible) = client_spec(&raw).unwrap();
        assert_eq!(spec["callbacks"], json!(["https://a.example.com/cb"]));
        assert_eq!(spec["grantTypes"], json!(["authorization_code"]));
        assert_eq!(
            spec["jwtConfiguration"],
            json!({"lifetimeInSeconds": 600, "alg": "RS256"})
        );
        assert_eq!(spec["refreshToken"]["rotationType"], "rotating");
        assert_eq!(spec["refreshToken"]["expirationType"], "non-expiring");
        assert_eq!(spec["clientMetadata"], json!({"team": "web"}));
        assert_eq!(spec["isFirstParty"], false);
        assert_eq!(inexpressible, ["addons", "mobile"]);
        // The operator finds nothing to change against the same client.
        let typed: Auth0ClientSpec = serde_json::from_value(Value::Object(spec)).unwrap();
        let observed: crate::auth0::Client = serde_json::from_value(raw).unwrap();
        let update =
            crate::controller::client::spec::client_update(&typed, &BTreeMap::new(), &observed);
        assert!(update.is_empty(), "{update:?}");
    }

    #[test]
    fn unsupported_clients_are_refused_with_a_reason() {
        let e = client_spec(&json!({"name": "x", "app_type": "sso_integration"})).unwrap_err();
        assert!(e.contains("sso_integration cannot be expressed"), "{e}");
        let e = client_spec(&json!({"name": "x", "app_type": "non_interactive",
            "client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": "c"}]}}}))
        .unwrap_err();
        assert!(e.contains("keys registered outside the operator"), "{e}");
        let e = client_spec(&json!({"name": "x", "description": "d".repeat(200)})).unwrap_err();
        assert!(e.contains("description is longer than 140"), "{e}");
    }

    #[test]
    fn names_are_dns_labels_with_a_suffix_only_on_collision() {
        assert_eq!(
            dns_name("Billing Worker (prod)", "x"),
            "billing-worker-prod"
        );
        assert_eq!(dns_name("!!!", "client"), "client");
        assert_eq!(dns_name(&"a".repeat(80), "x").len(), 63);
        let names = unique_names(&[
            ("web".into(), "AbCdEfGh12345678".into()),
            ("web".into(), "ZzZzZzZz87654321".into()),
            ("api".into(), "id1".into()),
        ]);
        assert_eq!(names, ["web-12345678", "web-87654321", "api"]);
    }
}
