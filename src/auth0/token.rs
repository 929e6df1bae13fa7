//! Management API access tokens (client-credentials grant), cached and refreshed single-flight.
//!
//! * `POST {base}/oauth/token` with a JSON body `{grant_type: client_credentials, client_id,
//!   client_secret, audience}`, or, for a private-key JWT application, `client_assertion_type`
//!   and a `client_assertion` signed with its private key (RS256; `iss` = `sub` = client id,
//!   `aud` `https://{domain}/`, a one-minute lifetime, a random `jti`) instead of the secret.
//! * The token is refreshed ahead of expiry: `min(60 s, 10 % of expires_in)` early, so a
//!   24 h token is renewed a minute before it runs out and a 10 s test token 1 s before.
//! * Concurrent callers that find no fresh token wait for a single fetch.
//! * If a refresh fails with a retryable error while the old token has not actually expired
//!   yet, the old token keeps being used.
//! * A 401 from the Management API invalidates the token it was sent with (only that one, so
//!   concurrent 401s cause one refresh).
//! * Rejected credentials (400/401/403 from the token endpoint) become
//!   [`Auth0Error::InvalidCredentials`], which names what to check and never the secret.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::RwLock;
use serde::{Deserialize, Deserializer, Serialize};
use tracing::Instrument;
use url::Url;

use super::error::{Auth0Error, ErrorBody};
use super::metrics::{Metrics, TRANSPORT_ERROR_STATUS};
use super::models::Secret;
use super::ratelimit::{RateLimitHeaders, RetryConfig};

/// Endpoint label used in metrics and logs for token requests.
pub const TOKEN_ENDPOINT: &str = "POST /oauth/token";

/// Default token lifetime when the response carries no `expires_in`.
const DEFAULT_TTL: Duration = Duration::from_secs(86_400);

/// An access token handed to a request, with the generation used for invalidation.
#[derive(Clone)]
pub(crate) struct Token {
    pub value: Secret,
    pub generation: u64,
}

#[derive(Debug, Clone)]
struct Cached {
    value: Secret,
    generation: u64,
    refresh_at: Instant,
    expires_at: Instant,
    scopes: Vec<String>,
}

#[derive(Serialize)]
struct TokenRequest<'a> {
    grant_type: &'static str,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_assertion_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_assertion: Option<String>,
    audience: &'a str,
}

/// How the management application proves who it is.
pub(crate) enum Credential {
    /// Its client secret.
    Secret(Secret),
    /// Its private key (private-key JWT): each token request carries a fresh signed assertion.
    PrivateKey(std::sync::Arc<jsonwebtoken::EncodingKey>),
}

/// The RSA key sizes the operator signs assertions with (the range `ring`, its signer before
/// `jsonwebtoken`, accepted).
const RSA_SIGNING_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

impl Credential {
    /// Parses a PEM RSA private key (`BEGIN PRIVATE KEY`, PKCS#8, or `BEGIN RSA PRIVATE KEY`,
    /// PKCS#1). The error never quotes the key.
    pub(crate) fn private_key(pem: &Secret) -> Result<Self, Auth0Error> {
        use rsa::pkcs1::{DecodeRsaPrivateKey as _, EncodeRsaPrivateKey as _};
        use rsa::pkcs8::DecodePrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        let not_pem = || {
            Auth0Error::Config(
                "the private key is not a PEM RSA private key (BEGIN PRIVATE KEY or BEGIN RSA PRIVATE KEY)".into(),
            )
        };
        let block = ::pem::parse(pem.expose()).map_err(|e| match e {
            ::pem::PemError::InvalidData(_) => {
                Auth0Error::Config("the private key's PEM body is not base64".into())
            }
            _ => not_pem(),
        })?;
        let key = match block.tag() {
            "PRIVATE KEY" => {
                rsa::RsaPrivateKey::from_pkcs8_der(block.contents()).map_err(|e| e.to_string())
            }
            "RSA PRIVATE KEY" => {
                rsa::RsaPrivateKey::from_pkcs1_der(block.contents()).map_err(|e| e.to_string())
            }
            _ => return Err(not_pem()),
        }
        .and_then(|key| {
            let bits = key.n().bits();
            if RSA_SIGNING_BITS.contains(&bits) {
                Ok(key)
            } else {
                Err(format!(
                    "{bits}-bit modulus, 2048 to 4096 bits are supported"
                ))
            }
        })
        .map_err(|e| Auth0Error::Config(format!("the private key is not a usable RSA key: {e}")))?;
        let der = key.to_pkcs1_der().map_err(|e| {
            Auth0Error::Config(format!("the private key is not a usable RSA key: {e}"))
        })?;
        Ok(Self::PrivateKey(std::sync::Arc::new(
            jsonwebtoken::EncodingKey::from_rsa_der(der.as_bytes()),
        )))
    }
}

/// A client assertion for a private-key JWT application from what its credentials Secret holds
/// (`AUTH0_PRIVATE_KEY`, `AUTH0_KEY_ID`, `AUTH0_SIGNING_ALG`): what a workload sends to
/// `/oauth/token` (the dev loop proves such Secrets with it). Errors never quote the key.
pub fn workload_client_assertion(
    pem: &str,
    kid: &str,
    alg: &str,
    client_id: &str,
    domain: &str,
) -> Result<String, Auth0Error> {
    let Credential::PrivateKey(key) = Credential::private_key(&Secret::new(pem.to_string()))?
    else {
        unreachable!("private_key returns a key");
    };
    let alg = match alg {
        "RS256" => jsonwebtoken::Algorithm::RS256,
        "RS384" => jsonwebtoken::Algorithm::RS384,
        "PS256" => jsonwebtoken::Algorithm::PS256,
        other => {
            return Err(Auth0Error::Config(format!(
                "unsupported client assertion algorithm {other:?} (RS256, RS384 or PS256)"
            )));
        }
    };
    sign_assertion(&key, client_id, domain, alg, Some(kid))
}

/// A client assertion (RFC 7523) for `client_id` at `domain`, signed RS256 with `key`.
fn client_assertion(
    key: &jsonwebtoken::EncodingKey,
    client_id: &str,
    domain: &str,
) -> Result<String, Auth0Error> {
    sign_assertion(key, client_id, domain, jsonwebtoken::Algorithm::RS256, None)
}

/// The claims of a client assertion (RFC 7523 §3; Auth0's authenticate-with-private-key-jwt).
#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: String,
    iat: u64,
    exp: u64,
    jti: String,
}

fn sign_assertion(
    key: &jsonwebtoken::EncodingKey,
    client_id: &str,
    domain: &str,
    alg: jsonwebtoken::Algorithm,
    kid: Option<&str>,
) -> Result<String, Auth0Error> {
    use ring::rand::SecureRandom as _;
    let rng = ring::rand::SystemRandom::new();
    let mut jti = [0u8; 16];
    rng.fill(&mut jti)
        .map_err(|_| Auth0Error::Config("no randomness for the client assertion".into()))?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    let mut header = jsonwebtoken::Header::new(alg);
    header.kid = kid.map(str::to_string);
    let claims = AssertionClaims {
        iss: client_id,
        sub: client_id,
        aud: format!("https://{domain}/"),
        iat: now,
        exp: now + 60,
        jti: jti.iter().map(|b| format!("{b:02x}")).collect(),
    };
    jsonwebtoken::encode(&header, &claims, key)
        .map_err(|_| Auth0Error::Config("could not sign the client assertion".into()))
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret,
    #[serde(default, deserialize_with = "lenient_u64")]
    expires_in: Option<u64>,
    #[serde(default)]
    scope: Option<String>,
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// How long before expiry a token is refreshed.
pub(crate) fn refresh_margin(ttl: Duration) -> Duration {
    (ttl / 10).min(Duration::from_secs(60))
}

pub(crate) struct TokenManager {
    token_url: Url,
    domain: String,
    client_id: String,
    credential: Credential,
    audience: String,
    cache: RwLock<Option<Cached>>,
    fetch_lock: tokio::sync::Mutex<()>,
    generation: AtomicU64,
    /// The last rejection of the credentials (status, detail) and when it happened: for
    /// [`REJECTION_HOLD`] every caller gets the same answer without asking Auth0 again, so a
    /// wrong secret costs one token request per interval, not one per reconcile.
    rejected: RwLock<Option<(Instant, u16, String)>>,
}

/// How long a rejection of the management credentials is answered from memory.
pub(crate) const REJECTION_HOLD: Duration = Duration::from_secs(30);

impl TokenManager {
    pub(crate) fn new(
        token_url: Url,
        domain: String,
        client_id: String,
        credential: Credential,
        audience: String,
    ) -> Self {
        Self {
            token_url,
            domain,
            client_id,
            credential,
            audience,
            cache: RwLock::new(None),
            fetch_lock: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
            rejected: RwLock::new(None),
        }
    }

    /// Scopes of the current token, if one has been fetched.
    pub(crate) fn scopes(&self) -> Option<Vec<String>> {
        self.cache.read().as_ref().map(|c| c.scopes.clone())
    }

    fn fresh(&self) -> Option<Token> {
        let now = Instant::now();
        self.cache
            .read()
            .as_ref()
            .filter(|c| c.refresh_at > now)
            .map(|c| Token {
                value: c.value.clone(),
                generation: c.generation,
            })
    }

    fn unexpired(&self) -> Option<Token> {
        let now = Instant::now();
        self.cache
            .read()
            .as_ref()
            .filter(|c| c.expires_at > now)
            .map(|c| Token {
                value: c.value.clone(),
                generation: c.generation,
            })
    }

    /// Drop the token of `generation` (if it is still the cached one).
    pub(crate) fn invalidate(&self, generation: u64) {
        let mut cache = self.cache.write();
        if cache.as_ref().is_some_and(|c| c.generation == generation) {
            *cache = None;
        }
    }

    /// The recent rejection of the credentials, if any (see [`REJECTION_HOLD`]).
    fn recently_rejected(&self) -> Option<Auth0Error> {
        let rejected = self.rejected.read();
        let (at, status, detail) = rejected.as_ref()?;
        (at.elapsed() < REJECTION_HOLD).then(|| Auth0Error::InvalidCredentials {
            domain: self.domain.clone(),
            client_id: self.client_id.clone(),
            status: *status,
            detail: detail.clone(),
        })
    }

    /// A valid token: the cached one, or a freshly fetched one (single flight).
    pub(crate) async fn token(
        &self,
        http: &reqwest::Client,
        retry: &RetryConfig,
        max_server_wait: Duration,
        metrics: &Metrics,
    ) -> Result<Token, Auth0Error> {
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        let _guard = self.fetch_lock.lock().await;
        if let Some(t) = self.fresh() {
            return Ok(t);
        }
        if let Some(e) = self.recently_rejected() {
            return Err(e);
        }
        let fetched = self.fetch(http, retry, max_server_wait, metrics).await;
        match &fetched {
            Ok(_) => {
                metrics.record_credentials(true);
                *self.rejected.write() = None;
            }
            Err(Auth0Error::InvalidCredentials { status, detail, .. }) => {
                metrics.record_credentials(false);
                *self.rejected.write() = Some((Instant::now(), *status, detail.clone()));
            }
            Err(_) => {}
        }
        match fetched {
            Ok(cached) => {
                let token = Token {
                    value: cached.value.clone(),
                    generation: cached.generation,
                };
                *self.cache.write() = Some(cached);
                Ok(token)
            }
            Err(e) if e.is_retryable() => match self.unexpired() {
                Some(old) => {
                    tracing::warn!(error = %e, "Auth0 token refresh failed; using the current token until it expires");
                    Ok(old)
                }
                None => Err(e),
            },
            Err(e) => Err(e),
        }
    }

    async fn fetch(
        &self,
        http: &reqwest::Client,
        retry: &RetryConfig,
        max_server_wait: Duration,
        metrics: &Metrics,
    ) -> Result<Cached, Auth0Error> {
        let (client_secret, client_assertion_type, client_assertion) = match &self.credential {
            Credential::Secret(s) => (Some(s.expose()), None, None),
            Credential::PrivateKey(key) => (
                None,
                Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                Some(client_assertion(key, &self.client_id, &self.domain)?),
            ),
        };
        let body = serde_json::to_vec(&TokenRequest {
            grant_type: "client_credentials",
            client_id: &self.client_id,
            client_secret,
            client_assertion_type,
            client_assertion,
            audience: &self.audience,
        })
        .map_err(|e| Auth0Error::Config(format!("cannot encode the token request: {e}")))?;
        let body = bytes::Bytes::from(body);
        let mut backoff = retry.backoff();
        let mut rate_limited = 0u32;
        let mut attempt = 0u32;
        let result = loop {
            attempt += 1;
            let span = tracing::debug_span!(
                "auth0_token",
                endpoint = TOKEN_ENDPOINT,
                attempt,
                status = tracing::field::Empty
            );
            let sent = http
                .post(self.token_url.clone())
                .header(http::header::CONTENT_TYPE, "application/json")
                .header(http::header::ACCEPT, "application/json")
                .body(body.clone())
                .send()
                .instrument(span.clone())
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    metrics.record_request(TOKEN_ENDPOINT, TRANSPORT_ERROR_STATUS);
                    // Asking for a token twice is harmless: retry every transport error.
                    if let Some(delay) = backoff.next() {
                        tracing::debug!(parent: &span, error = %e, ?delay, "retrying token request after transport error");
                        metrics.record_retry();
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    break Err(Auth0Error::transport(TOKEN_ENDPOINT, e));
                }
            };
            let status = response.status().as_u16();
            span.record("status", status);
            metrics.record_request(TOKEN_ENDPOINT, status);
            let headers = RateLimitHeaders::parse(response.headers());
            let bytes = match response.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    if let Some(delay) = backoff.next() {
                        metrics.record_retry();
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    break Err(Auth0Error::transport(TOKEN_ENDPOINT, e));
                }
            };
            match status {
                200..=299 => break self.parse_success(&bytes),
                429 => {
                    rate_limited += 1;
                    let wait = headers
                        .wait_after_429(std::time::SystemTime::now())
                        .unwrap_or_else(|| retry.rate_limit_fallback(rate_limited, max_server_wait))
                        .min(max_server_wait);
                    if rate_limited > retry.max_rate_limit_retries {
                        break Err(Auth0Error::RateLimited {
                            endpoint: TOKEN_ENDPOINT,
                            retry_after: Some(wait),
                            attempts: attempt,
                        });
                    }
                    tracing::debug!(parent: &span, ?wait, "token endpoint rate limited");
                    metrics.record_retry();
                    tokio::time::sleep(wait).await;
                }
                400 | 401 | 403 => {
                    let parsed = ErrorBody::parse(status, &bytes);
                    let detail = if parsed.message == parsed.error {
                        parsed.error
                    } else {
                        format!("{}: {}", parsed.error, parsed.message)
                    };
                    break Err(Auth0Error::InvalidCredentials {
                        domain: self.domain.clone(),
                        client_id: self.client_id.clone(),
                        status,
                        detail,
                    });
                }
                s if s >= 500 => {
                    if let Some(delay) = backoff.next() {
                        tracing::debug!(parent: &span, ?delay, "retrying token request after server error");
                        metrics.record_retry();
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    break Err(Auth0Error::from_response(TOKEN_ENDPOINT, status, &bytes));
                }
                _ => break Err(Auth0Error::from_response(TOKEN_ENDPOINT, status, &bytes)),
            }
        };
        metrics.record_token_fetch(result.is_ok());
        result
    }

    fn parse_success(&self, bytes: &[u8]) -> Result<Cached, Auth0Error> {
        let parsed: TokenResponse =
            serde_json::from_slice(bytes).map_err(|e| Auth0Error::decode(TOKEN_ENDPOINT, &e))?;
        if parsed.access_token.is_empty() {
            return Err(Auth0Error::Decode {
                endpoint: TOKEN_ENDPOINT,
                message: "empty access_token".into(),
            });
        }
        let ttl = parsed
            .expires_in
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_TTL);
        let now = Instant::now();
        let scopes = parsed
            .scope
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>();
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(
            ttl_s = ttl.as_secs(),
            scopes = scopes.len(),
            generation,
            "fetched Auth0 management token"
        );
        Ok(Cached {
            value: parsed.access_token,
            generation,
            refresh_at: now + ttl - refresh_margin(ttl),
            expires_at: now + ttl,
            scopes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin() {
        assert_eq!(
            refresh_margin(Duration::from_secs(86_400)),
            Duration::from_secs(60)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(300)),
            Duration::from_secs(30)
        );
        assert_eq!(
            refresh_margin(Duration::from_secs(2)),
            Duration::from_millis(200)
        );
        assert_eq!(refresh_margin(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn parses_token_responses() {
        let m = TokenManager::new(
            Url::parse("http://x/oauth/token").unwrap(),
            "d".into(),
            "c".into(),
            Credential::Secret(Secret::new("s")),
            "a".into(),
        );
        let c = m
            .parse_success(br#"{"access_token":"tok","token_type":"Bearer","expires_in":86400,"scope":"read:clients  create:clients"}"#)
            .unwrap();
        assert_eq!(c.scopes, ["read:clients", "create:clients"]);
        assert_eq!(c.value.expose(), "tok");
        assert!(c.expires_at - c.refresh_at == Duration::from_secs(60));
        let c = m
            .parse_success(br#"{"access_token":"tok","expires_in":"10"}"#)
            .unwrap();
        assert!(c.scopes.is_empty());
        assert!(c.expires_at - c.refresh_at == Duration::from_secs(1));
        assert_eq!(c.generation, 2);
        assert!(m.parse_success(br#"{"access_token":""}"#).is_err());
        let e = m
            .parse_success(br#"{"token":"secret-token-value"}"#)
            .err()
            .unwrap();
        assert!(!e.to_string().contains("secret-token-value"));
    }

    /// The assertions as before: `{"alg","typ":"JWT"[,"kid"]}`, `iss` = `sub` = client id,
    /// `aud` the tenant, one minute, a 32-hex-digit `jti`; each signature checked with `ring`
    /// (not the signer's crate) against the key's public half.
    #[test]
    fn client_assertions_verify_with_an_independent_implementation() {
        use base64::Engine as _;
        use rsa::pkcs8::EncodePrivateKey as _;
        use rsa::traits::PublicKeyParts as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).unwrap();
        let pem = ::pem::encode(&::pem::Pem::new(
            "PRIVATE KEY",
            key.to_pkcs8_der().unwrap().as_bytes(),
        ));
        let (n, e) = (key.n().to_bytes_be(), key.e().to_bytes_be());
        let public = ring::signature::RsaPublicKeyComponents { n: &n, e: &e };
        let Credential::PrivateKey(operator_key) =
            Credential::private_key(&Secret::new(pem.clone())).unwrap()
        else {
            unreachable!()
        };
        let operator = client_assertion(&operator_key, "cid", "t.auth0.test").unwrap();
        for (jwt, alg, kid, params) in [
            (
                operator,
                "RS256",
                None,
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            ),
            (
                workload_client_assertion(&pem, "k1", "RS384", "cid", "t.auth0.test").unwrap(),
                "RS384",
                Some("k1"),
                &ring::signature::RSA_PKCS1_2048_8192_SHA384,
            ),
            (
                workload_client_assertion(&pem, "k2", "PS256", "cid", "t.auth0.test").unwrap(),
                "PS256",
                Some("k2"),
                &ring::signature::RSA_PSS_2048_8192_SHA256,
            ),
        ] {
            let parts: Vec<&str> = jwt.split('.').collect();
            assert_eq!(parts.len(), 3);
            let json = |p: &str| -> serde_json::Value {
                serde_json::from_slice(&b64.decode(p).unwrap()).unwrap()
            };
            let mut want_header = serde_json::json!({"alg": alg, "typ": "JWT"});
            if let Some(kid) = kid {
                want_header["kid"] = kid.into();
            }
            assert_eq!(json(parts[0]), want_header);
            let claims = json(parts[1]);
            assert_eq!(
                (&claims["iss"], &claims["sub"], &claims["aud"]),
                (
                    &serde_json::json!("cid"),
                    &serde_json::json!("cid"),
                    &serde_json::json!("https://t.auth0.test/")
                )
            );
            assert_eq!(
                claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
                60
            );
            let jti = claims["jti"].as_str().unwrap();
            assert!(jti.len() == 32 && jti.bytes().all(|b| b.is_ascii_hexdigit()));
            let input = format!("{}.{}", parts[0], parts[1]);
            public
                .verify(params, input.as_bytes(), &b64.decode(parts[2]).unwrap())
                .unwrap_or_else(|_| panic!("{alg} verifies"));
            let mut forged = input.into_bytes();
            forged[0] ^= 1;
            assert!(
                public
                    .verify(params, &forged, &b64.decode(parts[2]).unwrap())
                    .is_err()
            );
        }
        let err = workload_client_assertion(&pem, "k", "HS256", "cid", "d").unwrap_err();
        assert!(
            err.to_string()
                .contains("unsupported client assertion algorithm")
        );
    }

    /// Keys the operator cannot sign with are configuration errors that never quote the key.
    #[test]
    fn unusable_private_keys() {
        use rsa::pkcs1::EncodeRsaPrivateKey as _;
        let message = |pem: &str| match Credential::private_key(&Secret::new(pem.to_string())) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("{pem} is refused"),
        };
        assert!(message("no pem here").contains("not a PEM RSA private key"));
        let public = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----\n";
        assert!(message(public).contains("not a PEM RSA private key"));
        let junk = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
        let m = message(junk);
        assert!(
            m.contains("not a usable RSA key") && !m.contains("bm90IGEga2V5"),
            "{m}"
        );
        let bad64 = "-----BEGIN PRIVATE KEY-----\nbm90I%%%GEga2V5\n-----END PRIVATE KEY-----\n";
        assert!(message(bad64).contains("not base64"));
        // ring refused keys under 2048 bits; so does the operator still.
        let small = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
        let small = ::pem::encode(&::pem::Pem::new(
            "RSA PRIVATE KEY",
            small.to_pkcs1_der().unwrap().as_bytes(),
        ));
        assert!(message(&small).contains("1024-bit modulus"));
    }

    #[test]
    fn invalidate_only_matching_generation() {
        let m = TokenManager::new(
            Url::parse("http://x/oauth/token").unwrap(),
            "d".into(),
            "c".into(),
            Credential::Secret(Secret::new("s")),
            "a".into(),
        );
        let c = m
            .parse_success(br#"{"access_token":"tok","expires_in":100}"#)
            .unwrap();
        *m.cache.write() = Some(c);
        m.invalidate(99);
        assert!(m.fresh().is_some());
        m.invalidate(1);
        assert!(m.fresh().is_none());
        assert!(m.scopes().is_none());
    }
}
