//! A typed, rate-limit-aware client for the Auth0 Management API v2 (clients and client
//! grants).
//!
//! ```no_run
//! # async fn demo() -> Result<(), auth0_operator::auth0::Auth0Error> {
//! use auth0_operator::auth0::{ManagementApi, Auth0Config, ClientCreate};
//! let client = ManagementApi::new(Auth0Config::new("tenant.eu.auth0.com", "id", "secret"))?;
//! let scopes = client.check_credentials().await?;
//! let created = client.create_client(&ClientCreate::new("my app")).await?;
//! client.delete_client(&created.client_id).await?;
//! # Ok(()) }
//! ```
//!
//! * [`ManagementApi`] is cheap to clone; clones share the HTTP connection pool, the token cache,
//!   the metrics and the per-tenant rate limiter.
//! * Rate limiting and retries: see [`ratelimit`] ([`RateLimitConfig`], [`RetryConfig`]).
//! * Errors: [`Auth0Error`], with `is_not_found()`, `is_conflict()`, `is_retryable()` and
//!   `reason()` for Kubernetes conditions.

mod client;
pub mod error;
pub mod metrics;
pub mod models;
pub mod ratelimit;
pub mod token;

use std::time::Duration;

use url::Url;

pub use client::{Listing, ManagementApi, OPTIONAL_SCOPES, missing_scopes};
pub use error::{Auth0Error, ErrorBody};
pub use metrics::{MetricsSnapshot, RequestCount, TRANSPORT_ERROR_STATUS};
pub use models::{
    AppType, Client, ClientAuthenticationMethods, ClientCreate, ClientCredential,
    ClientCredentialCreate, ClientGrant, ClientGrantCreate, ClientGrantUpdate, ClientUpdate,
    Connection, ConnectionClientStatus, JwtConfiguration, ListClientsParams, ListGrantsParams,
    Patch, RefreshTokenConfig, ResourceServer, ResourceServerCreate, ResourceServerScope,
    ResourceServerUpdate, Secret,
};
pub use ratelimit::{RateLimitConfig, RateLimitHeaders, RetryConfig};

/// Install rustls' `ring` crypto provider as the process default unless one is installed
/// already. reqwest is built with `rustls-no-provider`, so this must run before the first HTTP
/// client is built; [`ManagementApi::new`] calls it. Safe to call any number of times.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race with another installer is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Connection settings for one Auth0 tenant.
#[derive(Debug, Clone)]
pub struct Auth0Config {
    /// Tenant domain, e.g. `my-tenant.eu.auth0.com` (no scheme, no path).
    pub domain: String,
    /// The operator's machine-to-machine application.
    pub client_id: String,
    /// Its secret (`Debug` prints `[redacted]`). Unused when [`Auth0Config::private_key`] is set.
    pub client_secret: Secret,
    /// A PEM RSA private key (PKCS#8 or PKCS#1) whose public half is registered for the
    /// application (private-key JWT): tokens are then requested with a client assertion signed
    /// with it (RS256) instead of the secret.
    pub private_key: Option<Secret>,
    /// Token audience; default `https://{domain}/api/v2/`.
    pub audience: Option<String>,
    /// Send every request (token and Management API) here instead of `https://{domain}`,
    /// e.g. `http://127.0.0.1:8081` for the simulator. Scheme, host and port only.
    pub base_url: Option<Url>,
    /// Timeout of one HTTP attempt (connect + request + response body). Default 30 s.
    pub request_timeout: Duration,
    /// TCP/TLS connect timeout. Default 10 s.
    pub connect_timeout: Duration,
    /// Retry policy.
    pub retry: RetryConfig,
    /// Client-side pacing (shared per tenant).
    pub rate_limit: RateLimitConfig,
}

impl Auth0Config {
    /// Config with default timeouts, retries and rate limits.
    pub fn new(
        domain: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: impl Into<Secret>,
    ) -> Self {
        Self {
            domain: domain.into(),
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            private_key: None,
            audience: None,
            base_url: None,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            retry: RetryConfig::default(),
            rate_limit: RateLimitConfig::default(),
        }
    }

    /// Override the base URL (see [`Auth0Config::base_url`]).
    pub fn with_base_url(mut self, base_url: Url) -> Self {
        self.base_url = Some(base_url);
        self
    }

    /// Authenticate with a private key (PEM) instead of the secret (see
    /// [`Auth0Config::private_key`]).
    pub fn with_private_key(mut self, pem: impl Into<Secret>) -> Self {
        self.private_key = Some(pem.into());
        self
    }

    /// Override the token audience.
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Replace the retry policy.
    pub fn with_retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Replace the rate-limit settings.
    pub fn with_rate_limit(mut self, rate_limit: RateLimitConfig) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    /// Set the per-attempt request timeout.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// The audience requested for management tokens.
    pub fn effective_audience(&self) -> String {
        self.audience
            .clone()
            .unwrap_or_else(|| format!("https://{}/api/v2/", self.domain.trim()))
    }

    /// The URL every request is sent to (scheme, host, port).
    pub fn effective_base_url(&self) -> Result<Url, Auth0Error> {
        match &self.base_url {
            Some(u) => Ok(u.clone()),
            None => Url::parse(&format!("https://{}/", self.domain.trim()))
                .map_err(|e| Auth0Error::Config(format!("domain {:?}: {e}", self.domain))),
        }
    }

    /// Check the configuration without sending anything.
    pub fn validate(&self) -> Result<(), Auth0Error> {
        let cfg = |m: String| Err(Auth0Error::Config(m));
        let domain = self.domain.trim();
        if domain.is_empty() {
            return cfg("the Auth0 domain (AUTH0_DOMAIN) is empty".into());
        }
        if domain.contains("://") {
            return cfg(format!(
                "the Auth0 domain {domain:?} must be a host name without a scheme, e.g. \
                 my-tenant.eu.auth0.com"
            ));
        }
        if domain.contains(['/', '?', '#', '@']) || domain.chars().any(char::is_whitespace) {
            return cfg(format!(
                "the Auth0 domain {domain:?} must be a bare host name (no path, query or spaces)"
            ));
        }
        match Url::parse(&format!("https://{domain}/")) {
            Ok(u) if u.host_str().is_some() => {}
            _ => {
                return cfg(format!(
                    "the Auth0 domain {domain:?} is not a valid host name"
                ));
            }
        }
        if self.client_id.trim().is_empty() {
            return cfg("the Auth0 client id (AUTH0_CLIENT_ID) is empty".into());
        }
        match &self.private_key {
            Some(k) if k.expose().trim().is_empty() => {
                return cfg("the Auth0 private key (AUTH0_PRIVATE_KEY) is empty".into());
            }
            Some(_) => {}
            None if self.client_secret.expose().trim().is_empty() => {
                return cfg("the Auth0 client secret (AUTH0_CLIENT_SECRET) is empty".into());
            }
            None => {}
        }
        if let Some(a) = &self.audience
            && a.trim().is_empty()
        {
            return cfg("the Auth0 audience override is empty".into());
        }
        if let Some(u) = &self.base_url {
            if !matches!(u.scheme(), "http" | "https") || u.host_str().is_none() {
                return cfg(format!(
                    "the Auth0 base URL {u} must be an http(s) URL with a host"
                ));
            }
            if u.path() != "/" || u.query().is_some() || u.fragment().is_some() {
                return cfg(format!(
                    "the Auth0 base URL {u} must contain only scheme, host and port"
                ));
            }
            if !u.username().is_empty() || u.password().is_some() {
                return cfg("the Auth0 base URL must not contain credentials".into());
            }
        }
        if self.request_timeout.is_zero() {
            return cfg("the request timeout must be positive".into());
        }
        self.retry.validate()?;
        self.rate_limit.validate()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Auth0Config {
        Auth0Config::new("tenant.eu.auth0.com", "cid", "top-secret-value")
    }

    #[test]
    fn debug_redacts_secret() {
        let dbg = format!("{:?}", base());
        assert!(!dbg.contains("top-secret-value"), "{dbg}");
        assert!(dbg.contains("[redacted]"));
    }

    #[test]
    fn defaults() {
        let c = base();
        assert!(c.validate().is_ok());
        assert_eq!(
            c.effective_audience(),
            "https://tenant.eu.auth0.com/api/v2/"
        );
        assert_eq!(
            c.effective_base_url().unwrap().as_str(),
            "https://tenant.eu.auth0.com/"
        );
        let c = base().with_base_url(Url::parse("http://127.0.0.1:8081").unwrap());
        assert!(c.validate().is_ok());
        assert_eq!(
            c.effective_base_url().unwrap().as_str(),
            "http://127.0.0.1:8081/"
        );
        // The audience stays the tenant's.
        assert_eq!(
            c.effective_audience(),
            "https://tenant.eu.auth0.com/api/v2/"
        );
        assert_eq!(base().with_audience("aud").effective_audience(), "aud");
    }

    #[test]
    fn validation_table() {
        let bad: Vec<Auth0Config> = vec![
            Auth0Config::new("", "cid", "s"),
            Auth0Config::new("  ", "cid", "s"),
            Auth0Config::new("https://tenant.eu.auth0.com", "cid", "s"),
            Auth0Config::new("tenant.eu.auth0.com/api/v2", "cid", "s"),
            Auth0Config::new("ten ant.auth0.com", "cid", "s"),
            Auth0Config::new("tenant.eu.auth0.com", "", "s"),
            Auth0Config::new("tenant.eu.auth0.com", "cid", ""),
            base().with_audience(" "),
            base().with_base_url(Url::parse("ftp://x").unwrap()),
            base().with_base_url(Url::parse("http://x/prefix").unwrap()),
            base().with_base_url(Url::parse("http://u:p@x/").unwrap()),
            base().with_retry(RetryConfig {
                max_attempts: 0,
                ..Default::default()
            }),
            base().with_rate_limit(RateLimitConfig {
                burst: 0,
                ..Default::default()
            }),
            base().with_request_timeout(Duration::ZERO),
        ];
        for c in bad {
            let e = c.validate().expect_err(&format!("{c:?}"));
            assert_eq!(e.reason(), "InvalidConfig");
            assert!(!e.to_string().contains("top-secret-value"));
        }
        assert!(
            Auth0Config::new("localhost:8443", "c", "s")
                .validate()
                .is_ok()
        );
    }
}
