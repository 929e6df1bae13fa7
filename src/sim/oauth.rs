//! The simulated tenant's Authentication API side: `POST /oauth/token` (client credentials for
//! every client of the tenant, for any API it holds a client grant for), the tenant's RS256
//! signing key published at `/.well-known/jwks.json`, the discovery document at
//! `/.well-known/openid-configuration`, and the bearer-token check of the Management API.
//!
//! The management application is an ordinary client of the tenant (seeded from
//! [`SimConfig`]'s id and secret, with a client grant to the Management API for
//! [`SimConfig::scopes`]); it is a *built-in* client (see [`Store::builtin_clients`]).
//!
//! Access tokens are RS256 JWTs as Auth0 issues them for client credentials: header
//! `{"alg":"RS256","typ":"JWT","kid"}`, claims `iss` (`https://{domain}/`), `sub`
//! (`{client_id}@clients`), `aud`, `iat`, `exp`, `scope`, `gty` (`client-credentials`), `azp`.
//! Each simulator has its own RSA-2048 key, generated on a background thread at start (a
//! token request waits for it the first time). Issued tokens are also remembered, so that
//! [`revoke_tokens`](OAuth::revoke_tokens) and sub-second lifetimes (tests) work: the
//! Management API accepts only tokens it issued, unexpired, not revoked, for its audience.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use parking_lot::Mutex;
use rsa::pkcs1::EncodeRsaPrivateKey as _;
use rsa::pkcs1v15::SigningKey;
use rsa::sha2::Sha256;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Map, Value, json};
use sha1::Digest as _;

use super::credentials::private_key_jwt_ids;
use super::http::{json_response, parse_form, percent_decode};
use super::store::{ApiError, Store, apply_client_defaults};
use super::{DEFAULT_SCOPES, SimConfig};

/// `error_uri` Auth0 sends with `unauthorized_client`.
const GRANT_TYPES_URI: &str = "https://auth0.com/docs/clients/client-grant-types";

// ------------------------------------------------------------------ state

struct TokenInfo {
    audience: String,
    scopes: Vec<String>,
    expires_at: Instant,
}

/// Token-related state of one simulated tenant.
pub(crate) struct OAuth {
    domain: String,
    /// Id of the built-in management application.
    pub management_client_id: String,
    /// Lifetime of Management API tokens. Mirrors the Management API's `token_lifetime`
    /// (whole seconds) but may be shorter than a second (tests of expiry).
    management_ttl: Mutex<Duration>,
    key: Arc<OnceLock<TenantKey>>,
    tokens: Mutex<HashMap<String, TokenInfo>>,
    /// `(client_id, jti)` of accepted client assertions → their `exp` (replay protection).
    assertions: Mutex<HashMap<(String, String), u64>>,
}

impl OAuth {
    /// Starts generating the tenant's signing key on a background thread.
    pub fn new(cfg: &SimConfig) -> Self {
        let key = Arc::new(OnceLock::new());
        let bg = key.clone();
        let domain = cfg.domain.clone();
        std::thread::Builder::new()
            .name("auth0-sim-keygen".into())
            .spawn(move || {
                bg.get_or_init(|| TenantKey::generate(&domain));
            })
            .expect("spawn key generation thread");
        OAuth {
            domain: cfg.domain.clone(),
            management_client_id: cfg.client_id.clone(),
            management_ttl: Mutex::new(cfg.token_ttl),
            key,
            tokens: Mutex::new(HashMap::new()),
            assertions: Mutex::new(HashMap::new()),
        }
    }

    fn key(&self) -> &TenantKey {
        self.key.get_or_init(|| TenantKey::generate(&self.domain))
    }

    fn issuer(&self) -> String {
        format!("https://{}/", self.domain)
    }

    fn management_audience(&self) -> String {
        format!("https://{}/api/v2/", self.domain)
    }

    pub fn revoke_tokens(&self) {
        self.tokens.lock().clear();
    }

    pub fn set_management_ttl(&self, store: &mut Store, ttl: Duration) {
        *self.management_ttl.lock() = ttl;
        let aud = self.management_audience();
        if let Some(rs) = store
            .resource_servers
            .iter_mut()
            .find(|r| r["identifier"] == aud.as_str())
        {
            rs["token_lifetime"] = json!(ttl.as_secs().max(1));
        }
    }

    /// `{"keys":[…]}` as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        json!({ "keys": [self.key().jwk.clone()] })
    }

    /// The Management API's check of `Authorization: Bearer <token>`: the token's scopes.
    pub fn management_scopes(&self, token: &str) -> Result<Vec<String>, ApiError> {
        let tokens = self.tokens.lock();
        let info = tokens
            .get(token)
            .ok_or_else(|| ApiError::new(401, "Invalid token", None))?;
        if Instant::now() >= info.expires_at {
            return Err(ApiError::new(401, "Expired token", None));
        }
        if info.audience != self.management_audience() {
            // Auth0 names the token's audience (auth0/node-auth0#787).
            return Err(ApiError::new(
                401,
                format!("Bad audience: {}", info.audience),
                None,
            ));
        }
        Ok(info.scopes.clone())
    }
}

// ------------------------------------------------------------------ the management application

/// Adds the management application (an ordinary non-interactive client with the configured
/// id and secret) and its client grant to the Management API, as a real tenant holds them.
pub(crate) fn seed_management_client(store: &mut Store, cfg: &SimConfig) {
    let mut c = apply_client_defaults(
        json!({
            "name": "Auth0 Operator (Management API)",
            "app_type": "non_interactive",
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["client_credentials"],
        }),
        &store.tenant_name(),
    );
    c["client_id"] = json!(cfg.client_id);
    c["client_secret"] = json!(cfg.client_secret);
    store.clients.push(c);
    store.builtin_clients.push(cfg.client_id.clone());
    let audience = store.management_audience();
    store
        .insert_grant(
            json!({"client_id": cfg.client_id, "audience": audience, "scope": cfg.scopes}),
        )
        .expect("management grant");
}

/// Sets the scopes of the management application's grant to the Management API (creating
/// the grant if it was deleted); `false` when the management application no longer exists.
pub(crate) fn set_management_scopes(store: &mut Store, client_id: &str, scopes: &[String]) -> bool {
    if store.get_client(client_id).is_none() {
        return false;
    }
    let audience = store.management_audience();
    match store
        .grants
        .iter_mut()
        .find(|g| g["client_id"] == client_id && g["audience"] == audience.as_str())
    {
        Some(g) => {
            g["scope"] = json!(scopes);
            if let Some(o) = g.as_object_mut() {
                o.remove("allow_all_scopes");
            }
        }
        None => {
            let _ = store.insert_grant(
                json!({"client_id": client_id, "audience": audience, "scope": scopes}),
            );
        }
    }
    true
}

// ------------------------------------------------------------------ signing key

struct TenantKey {
    encoding: EncodingKey,
    /// `{"typ":"JWT","alg":"RS256","kid"}`.
    header: Header,
    jwk: Value,
}

impl TenantKey {
    fn generate(domain: &str) -> TenantKey {
        let started = Instant::now();
        let private =
            RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("RSA-2048 key generation");
        let public = RsaPublicKey::from(&private);
        let kid = URL_SAFE_NO_PAD.encode(rand::random::<[u8; 16]>());
        let encoding = EncodingKey::from_rsa_der(
            private
                .to_pkcs1_der()
                .expect("encode the RSA private key")
                .as_bytes(),
        );
        let cert = self_signed_certificate(&SigningKey::<Sha256>::new(private), &public, domain)
            .expect("self-signed certificate");
        let x5t = URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&cert));
        let jwk = json!({
            "kty": "RSA",
            "use": "sig",
            "n": URL_SAFE_NO_PAD.encode(public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(public.e().to_bytes_be()),
            "kid": kid,
            "x5t": x5t,
            "x5c": [STANDARD.encode(&cert)],
            "alg": "RS256",
        });
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid);
        tracing::debug!(target: "auth0_sim", elapsed = ?started.elapsed(), "RSA-2048 signing key generated");
        TenantKey {
            encoding,
            header,
            jwk,
        }
    }

    fn sign_jwt(&self, claims: &Value) -> String {
        jsonwebtoken::encode(&self.header, claims, &self.encoding)
            .expect("RS256 signing with the tenant key")
    }
}

/// A minimal X.509 v3 certificate (self-signed, `CN={domain}`, 10 years, no extensions) so
/// the JWK carries `x5c`/`x5t` like Auth0's.
fn self_signed_certificate(
    signer: &SigningKey<Sha256>,
    public: &RsaPublicKey,
    domain: &str,
) -> anyhow::Result<Vec<u8>> {
    use x509_cert::attr::AttributeTypeAndValue;
    use x509_cert::der::asn1::{BitString, SetOfVec, UtcTime, Utf8StringRef};
    use x509_cert::der::oid::db::rfc4519;
    use x509_cert::der::{Any, Encode as _};
    use x509_cert::name::{RdnSequence, RelativeDistinguishedName};
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::spki::{DynSignatureAlgorithmIdentifier as _, SubjectPublicKeyInfoOwned};
    use x509_cert::time::{Time, Validity};
    use x509_cert::{Certificate, TbsCertificate, Version};

    let cn = AttributeTypeAndValue {
        oid: rfc4519::CN,
        value: Any::encode_from(&Utf8StringRef::new(domain)?)?,
    };
    let name = RdnSequence(vec![RelativeDistinguishedName(SetOfVec::try_from(vec![
        cn,
    ])?)]);
    let utc = |unix: u64| -> anyhow::Result<Time> {
        Ok(Time::UtcTime(UtcTime::from_unix_duration(
            Duration::from_secs(unix),
        )?))
    };
    let now = unix_now();
    let mut serial = rand::random::<[u8; 16]>();
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    // sha256WithRSAEncryption, NULL parameters.
    let alg = signer.signature_algorithm_identifier()?;
    let tbs = TbsCertificate {
        version: Version::V3,
        serial_number: SerialNumber::new(&serial)?,
        signature: alg.clone(),
        issuer: name.clone(),
        validity: Validity {
            not_before: utc(now)?,
            not_after: utc(now + 10 * 365 * 86400)?,
        },
        subject: name,
        subject_public_key_info: SubjectPublicKeyInfoOwned::from_key(public.clone())?,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: None,
    };
    let signature = signer.sign(&tbs.to_der()?).to_vec();
    let cert = Certificate {
        tbs_certificate: tbs,
        signature_algorithm: alg,
        signature: BitString::from_bytes(&signature)?,
    };
    Ok(cert.to_der()?)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
}

// ------------------------------------------------------------------ documents

/// `/.well-known/openid-configuration`, with the members (and order) a tenant publishes
/// (recorded tenant documents list no `grant_types_supported`, so neither does this one).
pub(crate) fn discovery(domain: &str) -> Value {
    let base = format!("https://{domain}");
    let mut m = Map::new();
    for (k, v) in [
        ("issuer", json!(format!("{base}/"))),
        ("authorization_endpoint", json!(format!("{base}/authorize"))),
        ("token_endpoint", json!(format!("{base}/oauth/token"))),
        (
            "device_authorization_endpoint",
            json!(format!("{base}/oauth/device/code")),
        ),
        ("userinfo_endpoint", json!(format!("{base}/userinfo"))),
        (
            "mfa_challenge_endpoint",
            json!(format!("{base}/mfa/challenge")),
        ),
        ("jwks_uri", json!(format!("{base}/.well-known/jwks.json"))),
        (
            "registration_endpoint",
            json!(format!("{base}/oidc/register")),
        ),
        ("revocation_endpoint", json!(format!("{base}/oauth/revoke"))),
        (
            "scopes_supported",
            json!([
                "openid",
                "profile",
                "offline_access",
                "name",
                "given_name",
                "family_name",
                "nickname",
                "email",
                "email_verified",
                "picture",
                "created_at",
                "identities",
                "phone",
                "address"
            ]),
        ),
        (
            "response_types_supported",
            json!([
                "code",
                "token",
                "id_token",
                "code token",
                "code id_token",
                "token id_token",
                "code token id_token"
            ]),
        ),
        ("code_challenge_methods_supported", json!(["S256", "plain"])),
        (
            "response_modes_supported",
            json!(["query", "fragment", "form_post"]),
        ),
        ("subject_types_supported", json!(["public"])),
        (
            "id_token_signing_alg_values_supported",
            json!(["HS256", "RS256", "PS256"]),
        ),
        (
            "token_endpoint_auth_methods_supported",
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt"
            ]),
        ),
        (
            "claims_supported",
            json!([
                "aud",
                "auth_time",
                "created_at",
                "email",
                "email_verified",
                "exp",
                "family_name",
                "given_name",
                "iat",
                "identities",
                "iss",
                "name",
                "nickname",
                "phone_number",
                "picture",
                "sub"
            ]),
        ),
        ("request_uri_parameter_supported", json!(false)),
        ("request_parameter_supported", json!(false)),
        (
            "token_endpoint_auth_signing_alg_values_supported",
            json!(["RS256", "RS384", "PS256"]),
        ),
        ("end_session_endpoint", json!(format!("{base}/oidc/logout"))),
    ] {
        m.insert(k.to_string(), v);
    }
    Value::Object(m)
}

// ------------------------------------------------------------------ POST /oauth/token

fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    no_store(json_response(
        status,
        &json!({"error": error, "error_description": description}),
    ))
}

fn unauthorized_client(grant_type: &str) -> Response {
    no_store(json_response(
        403,
        &json!({
            "error": "unauthorized_client",
            "error_description": format!("Grant type '{grant_type}' not allowed for the client."),
            "error_uri": GRANT_TYPES_URI,
        }),
    ))
}

/// Bad client id or secret: Auth0 answers 401 `access_denied` "Unauthorized"
/// (auth0/node-auth0#682), for an unknown client as for a wrong secret.
fn bad_credentials() -> Response {
    oauth_error(401, "access_denied", "Unauthorized")
}

/// What a successful client-credentials exchange decided, computed under the store lock.
struct Issue {
    client_id: String,
    audience: String,
    scopes: Vec<String>,
    ttl: Duration,
}

pub(crate) fn token_endpoint(
    store: &Mutex<Store>,
    oauth: &OAuth,
    headers: &HeaderMap,
    body: &[u8],
    is_form: bool,
) -> Response {
    let params: Map<String, Value> = if is_form {
        parse_form(body)
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => return oauth_error(400, "invalid_request", "Invalid request body"),
            Err(_) => {
                let m = parse_form(body);
                if m.is_empty() && !body.is_empty() {
                    return oauth_error(400, "invalid_request", "Invalid request body");
                }
                m
            }
        }
    };
    let get = |k: &str| params.get(k).and_then(Value::as_str).map(str::to_string);
    // client_secret_post (body) or client_secret_basic (header). Auth0 documents both per
    // application ("Token Endpoint Authentication Method") but no evidence was found that
    // /oauth/token rejects the other one for client credentials, so both are accepted
    // whatever the client's `token_endpoint_auth_method` (except `none`, below).
    let (mut client_id, mut client_secret) = (get("client_id"), get("client_secret"));
    if let Some(basic) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        && let Some((id, secret)) = decode_basic(basic)
    {
        client_id = Some(id);
        client_secret = Some(secret);
    }
    let Some(grant_type) = get("grant_type") else {
        return oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: grant_type",
        );
    };
    const KNOWN: &[&str] = &[
        "authorization_code",
        "implicit",
        "refresh_token",
        "password",
        "http://auth0.com/oauth/grant-type/password-realm",
        "http://auth0.com/oauth/grant-type/mfa-oob",
        "http://auth0.com/oauth/grant-type/mfa-otp",
        "http://auth0.com/oauth/grant-type/mfa-recovery-code",
        "urn:ietf:params:oauth:grant-type:device_code",
        "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:openid:params:grant-type:ciba",
    ];
    if grant_type != "client_credentials" {
        // Only client credentials is simulated.
        if KNOWN.contains(&grant_type.as_str()) {
            return unauthorized_client(&grant_type);
        }
        return oauth_error(
            400,
            "unsupported_grant_type",
            &format!("Unsupported grant type: {grant_type}"),
        );
    }
    let assertion = get("client_assertion");
    let assertion_type = get("client_assertion_type");
    let issue = {
        let store = store.lock();
        let mut by_assertion = false;
        if assertion.is_some() || assertion_type.is_some() {
            match authenticate_assertion(
                &store,
                oauth,
                client_id.as_deref(),
                client_secret.as_deref(),
                assertion.as_deref(),
                assertion_type.as_deref(),
            ) {
                Ok(id) => {
                    client_id = Some(id);
                    by_assertion = true;
                }
                Err(r) => return *r,
            }
        }
        match client_credentials(
            &store,
            oauth,
            client_id.as_deref(),
            client_secret.as_deref(),
            by_assertion,
            get("audience"),
            get("scope"),
        ) {
            Ok(i) => i,
            Err(r) => return *r,
        }
    };
    let now = unix_now();
    let scope = issue.scopes.join(" ");
    let claims = json!({
        "iss": oauth.issuer(),
        "sub": format!("{}@clients", issue.client_id),
        "aud": issue.audience,
        "iat": now,
        "exp": now + issue.ttl.as_secs(),
        "scope": scope,
        "gty": "client-credentials",
        "azp": issue.client_id,
    });
    let token = oauth.key().sign_jwt(&claims);
    oauth.tokens.lock().insert(
        token.clone(),
        TokenInfo {
            audience: issue.audience,
            scopes: issue.scopes,
            expires_at: Instant::now() + issue.ttl,
        },
    );
    no_store(json_response(
        200,
        &json!({
            "access_token": token,
            "scope": scope,
            "expires_in": issue.ttl.as_secs(),
            "token_type": "Bearer",
        }),
    ))
}

#[allow(clippy::too_many_arguments)]
fn client_credentials(
    store: &Store,
    oauth: &OAuth,
    client_id: Option<&str>,
    client_secret: Option<&str>,
    by_assertion: bool,
    audience: Option<String>,
    scope: Option<String>,
) -> Result<Issue, Box<Response>> {
    let client = client_id
        .and_then(|id| store.get_client(id))
        .ok_or_else(|| Box::new(bad_credentials()))?;
    let client_id = client_id.unwrap_or_default().to_string();
    // A public application (no client authentication) can never use client credentials;
    // Auth0 says so rather than asking for a secret (the API refuses to enable the grant
    // type on such a client, but the dashboard flow or an older client may have both).
    let public = client["token_endpoint_auth_method"] == "none";
    // A client set up for private_key_jwt has no usable secret any more (its secret is
    // hidden by the Management API; DOCS configure-private-key-jwt): its secret is refused
    // like a wrong one. Inferred: no recording or document shows this answer.
    let uses_keys = private_key_jwt_ids(client).is_some();
    if !by_assertion
        && !public
        && (uses_keys || client_secret.is_none_or(|s| client["client_secret"] != s))
    {
        return Err(Box::new(bad_credentials()));
    }
    let cc_allowed = client["grant_types"]
        .as_array()
        .is_some_and(|g| g.iter().any(|t| t == "client_credentials"));
    if public || !cc_allowed {
        return Err(Box::new(unauthorized_client("client_credentials")));
    }
    let Some(audience) = audience.filter(|a| !a.is_empty()) else {
        return Err(Box::new(oauth_error(
            403,
            "access_denied",
            "No audience parameter was provided, and no default audience has been configured",
        )));
    };
    let Some(rs) = store
        .resource_servers
        .iter()
        .find(|r| r["identifier"] == audience.as_str())
    else {
        // What /oauth/token answers (auth0/terraform-provider-auth0#951, a client-credentials
        // call with an audience the tenant lacks); "Service not found: …" is /authorize's.
        return Err(Box::new(oauth_error(
            403,
            "access_denied",
            &format!("Service not enabled within domain: {audience}"),
        )));
    };
    let Some(grant) = store.grants.iter().find(|g| {
        g["client_id"] == client_id.as_str()
            && g["audience"] == audience.as_str()
            && g.get("subject_type").is_none_or(|s| s == "client")
    }) else {
        // Quoted from a tenant's answer in auth0/ruby-auth0#610.
        return Err(Box::new(oauth_error(
            403,
            "access_denied",
            &format!(
                "Client is not authorized to access \"{audience}\". You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
            ),
        )));
    };
    let granted: Vec<String> = if grant["allow_all_scopes"] == true {
        api_scopes(rs)
    } else {
        strings(&grant["scope"])
    };
    let scopes = match scope.filter(|s| !s.trim().is_empty()) {
        None => granted,
        Some(req) => {
            let requested: Vec<String> = req.split_whitespace().map(str::to_string).collect();
            let missing: Vec<&str> = requested
                .iter()
                .filter(|s| !granted.contains(s))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                // auth0/node-auth0#357.
                return Err(Box::new(oauth_error(
                    403,
                    "access_denied",
                    &format!("Client has not been granted scopes: {}", missing.join(", ")),
                )));
            }
            // In the grant's order, without repeats.
            granted
                .into_iter()
                .filter(|g| requested.contains(g))
                .collect()
        }
    };
    let ttl = if audience == oauth.management_audience() {
        *oauth.management_ttl.lock()
    } else {
        Duration::from_secs(rs["token_lifetime"].as_u64().unwrap_or(86400))
    };
    Ok(Issue {
        client_id,
        audience,
        scopes,
        ttl,
    })
}

// ------------------------------------------------------------------ private_key_jwt

/// RFC 7523 client assertion type.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime (`exp` - `iat`) Auth0 accepts for a client assertion, and its clock skew for
/// `iat`/`nbf` (DOCS authenticate-with-private-key-jwt: "a maximum of 5 minutes", "A clock
/// skew of up to 10 seconds is allowed for iat and nbf").
const MAX_ASSERTION_LIFETIME: i64 = 300;
const ASSERTION_SKEW: i64 = 10;

/// A failed client authentication: `401 invalid_client` (RFC 6749 §5.2; Auth0 logs it as
/// "Failed client authentication", community.auth0.com article 191217, an `invalid_client`
/// answer to a private_key_jwt exchange). Only the lifetime message is Auth0's own text;
/// the other descriptions are the simulator's.
fn invalid_client(description: &str) -> Box<Response> {
    Box::new(oauth_error(401, "invalid_client", description))
}

/// The smallest RSA key a client assertion may be signed with (what `ring`, the simulator's
/// verifier before `jsonwebtoken`, enforced; the operator's keys have 2048 bits). The largest
/// is the `rsa` crate's 4096 bits (`ring` took up to 8192).
const MIN_RSA_BITS: usize = 2048;

/// Verifies a `private_key_jwt` client assertion (DOCS authenticate-with-private-key-jwt):
/// signed (RS256, RS384 or PS256, the credential's `alg`; an RSA key of 2048 to 4096 bits,
/// [`MIN_RSA_BITS`]) by one of the credentials the
/// client lists in `client_authentication_methods.private_key_jwt` (an unexpired one;
/// `kid`, when given, names it); `iss` = `sub` = the client id (and `client_id`, when sent);
/// `aud` the tenant URL `https://{domain}/` ("Include the trailing slash"); `exp` in the
/// future and at most 5 minutes after `iat` (or now); `iat`/`nbf` not in the future beyond
/// 10 s; `jti` present (at most 64 characters) and never seen before for this client.
/// Returns the client id.
fn authenticate_assertion(
    store: &Store,
    oauth: &OAuth,
    client_id: Option<&str>,
    client_secret: Option<&str>,
    assertion: Option<&str>,
    assertion_type: Option<&str>,
) -> Result<String, Box<Response>> {
    if client_secret.is_some() {
        return Err(Box::new(oauth_error(
            400,
            "invalid_request",
            "client_secret and client_assertion cannot be used together",
        )));
    }
    if assertion_type != Some(JWT_BEARER) {
        return Err(Box::new(oauth_error(
            400,
            "invalid_request",
            &format!("client_assertion_type must be {JWT_BEARER}"),
        )));
    }
    let Some(jwt) = assertion.filter(|a| !a.is_empty()) else {
        return Err(Box::new(oauth_error(
            400,
            "invalid_request",
            "Missing required parameter: client_assertion",
        )));
    };
    // Header and claims unverified: `iss` names the client whose keys verify the signature.
    let Ok(jsonwebtoken::TokenData { header, claims }) =
        jsonwebtoken::dangerous::insecure_decode::<Value>(jwt)
    else {
        return Err(invalid_client("client_assertion is not a valid JWT"));
    };
    let alg = header.alg;
    if !matches!(alg, Algorithm::RS256 | Algorithm::RS384 | Algorithm::PS256) {
        return Err(invalid_client(&format!(
            "Unsupported client_assertion algorithm: {alg:?}"
        )));
    }
    let (Some(iss), Some(sub)) = (claims["iss"].as_str(), claims["sub"].as_str()) else {
        return Err(invalid_client("'iss' and 'sub' claims are required"));
    };
    if iss != sub || client_id.is_some_and(|c| c != sub) || sub.chars().count() > 64 {
        return Err(invalid_client(
            "'iss' and 'sub' claims must both be the client_id",
        ));
    }
    let Some(client) = store.get_client(sub) else {
        return Err(invalid_client("Unknown client"));
    };
    let Some(listed) = private_key_jwt_ids(client) else {
        return Err(invalid_client(
            "The client is not configured for private_key_jwt authentication",
        ));
    };
    let kid = header.kid.as_deref();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis() as i64;
    // The signature only: the claims are checked below, with Auth0's answers.
    let mut signature_only = Validation::new(alg);
    signature_only.validate_exp = false;
    signature_only.validate_aud = false;
    signature_only.required_spec_claims.clear();
    let verified = listed
        .iter()
        .filter_map(|id| store.credential(sub, id))
        .find(|c| {
            let Some((n, e)) = &c.key else { return false };
            c.view["alg"].as_str().and_then(|a| a.parse().ok()) == Some(alg)
                && kid.is_none_or(|k| c.view["kid"] == k)
                && rsa::BigUint::from_bytes_be(n).bits() >= MIN_RSA_BITS
                && jsonwebtoken::decode::<Value>(
                    jwt,
                    &DecodingKey::from_rsa_raw_components(n, e),
                    &signature_only,
                )
                .is_ok()
        });
    let Some(cred) = verified else {
        return Err(invalid_client(
            "Invalid client_assertion signature: no credential of the client verifies it",
        ));
    };
    if cred.view["expires_at"]
        .as_str()
        .and_then(super::pem::parse_rfc3339_ms)
        .is_some_and(|at| at <= now_ms)
    {
        return Err(invalid_client("The credential has expired"));
    }
    let tenant = oauth.issuer();
    let aud_ok = match &claims["aud"] {
        Value::String(a) => *a == tenant,
        Value::Array(a) => a.iter().any(|x| *x == tenant.as_str()),
        _ => false,
    };
    if !aud_ok {
        return Err(invalid_client(&format!("'aud' claim must be {tenant}")));
    }
    let now = now_ms / 1000;
    let Some(exp) = claims["exp"].as_i64() else {
        return Err(invalid_client("'exp' claim is required"));
    };
    if exp <= now {
        return Err(invalid_client("client_assertion has expired"));
    }
    let iat = claims["iat"].as_i64();
    if iat.is_some_and(|t| t > now + ASSERTION_SKEW)
        || claims["nbf"]
            .as_i64()
            .is_some_and(|t| t > now + ASSERTION_SKEW)
    {
        return Err(invalid_client("client_assertion is not valid yet"));
    }
    if exp - iat.unwrap_or(now) > MAX_ASSERTION_LIFETIME {
        // Auth0's text (community.auth0.com, "Invalid Client Error With Private Key JWT
        // Authentication When Requesting an Access Token").
        return Err(invalid_client(
            "'exp' claim must specify a time that is no more than 5 minutes after 'iat'",
        ));
    }
    let Some(jti) = claims["jti"].as_str().filter(|j| !j.is_empty()) else {
        return Err(invalid_client("'jti' claim is required"));
    };
    if jti.chars().count() > 64 {
        return Err(invalid_client("'jti' claim must be at most 64 characters"));
    }
    let mut seen = oauth.assertions.lock();
    seen.retain(|_, e| *e as i64 > now);
    if seen
        .insert((sub.to_string(), jti.to_string()), exp as u64)
        .is_some()
    {
        return Err(invalid_client("'jti' claim has already been used"));
    }
    Ok(sub.to_string())
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_string)
        .collect()
}

/// The scopes an API defines (`scopes[].value`); the Management API's when it lists none.
fn api_scopes(rs: &Value) -> Vec<String> {
    let defined: Vec<String> = rs["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["value"].as_str())
        .map(str::to_string)
        .collect();
    if defined.is_empty() && rs["is_system"] == true {
        DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
    } else {
        defined
    }
}

fn decode_basic(b64: &str) -> Option<(String, String)> {
    let raw = STANDARD.decode(b64.trim()).ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (id, secret) = s.split_once(':')?;
    Some((percent_decode(id), percent_decode(secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `x5c` certificate: self-signed for the JWK's key, `CN={domain}` as subject and
    /// issuer, ten years from now, v3 without extensions; `x5t` is its SHA-1.
    #[test]
    fn the_jwk_certificate() {
        use rsa::pkcs1v15::{Signature, VerifyingKey};
        use rsa::signature::Verifier as _;
        use x509_cert::der::{Decode as _, Encode as _};
        let k = TenantKey::generate("t.auth0.test");
        let der = STANDARD.decode(k.jwk["x5c"][0].as_str().unwrap()).unwrap();
        assert_eq!(
            k.jwk["x5t"],
            URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&der))
        );
        let cert = x509_cert::Certificate::from_der(&der).unwrap();
        let tbs = &cert.tbs_certificate;
        assert_eq!(tbs.version, x509_cert::Version::V3);
        assert_eq!(tbs.subject.to_string(), "CN=t.auth0.test");
        assert_eq!(tbs.issuer, tbs.subject);
        assert!(tbs.extensions.is_none());
        let (from, to) = (
            tbs.validity.not_before.to_unix_duration().as_secs(),
            tbs.validity.not_after.to_unix_duration().as_secs(),
        );
        assert!(from.abs_diff(unix_now()) < 60);
        assert_eq!(to - from, 10 * 365 * 86400);
        let n = URL_SAFE_NO_PAD
            .decode(k.jwk["n"].as_str().unwrap())
            .unwrap();
        let e = URL_SAFE_NO_PAD
            .decode(k.jwk["e"].as_str().unwrap())
            .unwrap();
        let public = RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&n),
            rsa::BigUint::from_bytes_be(&e),
        )
        .unwrap();
        assert_eq!(
            tbs.subject_public_key_info,
            x509_cert::spki::SubjectPublicKeyInfoOwned::from_key(public.clone()).unwrap()
        );
        let sig = Signature::try_from(cert.signature.raw_bytes()).unwrap();
        VerifyingKey::<Sha256>::new(public)
            .verify(&tbs.to_der().unwrap(), &sig)
            .expect("self-signed");
    }

    #[test]
    fn basic_credentials_are_percent_decoded() {
        let h = STANDARD.encode("a%3Ab:s+c%2F");
        assert_eq!(decode_basic(&h), Some(("a:b".into(), "s+c/".into())));
    }

    #[test]
    fn key_generation_time() {
        let t = Instant::now();
        let k = TenantKey::generate("t.auth0.test");
        eprintln!("RSA-2048 key + certificate: {:?}", t.elapsed());
        assert_eq!(k.jwk["alg"], "RS256");
    }
}
