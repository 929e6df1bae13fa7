//! Operator configuration from command-line flags and environment variables.
//!
//! Every setting has a flag and an environment variable. Problems are collected, not reported
//! one at a time: [`RunArgs::resolve`] returns all of them so that start-up fails once with a
//! paragraph naming each problem (exit code 2).

use std::{path::PathBuf, time::Duration};

use clap::Args;
use url::Url;

use crate::auth0::{Auth0Config, RateLimitConfig, RetryConfig};

/// Flags of `auth0-operator run`.
#[derive(Args, Debug, Clone, Default)]
pub struct RunArgs {
    /// Domain of the default tenant, e.g. `my-tenant.eu.auth0.com`: the tenant of resources
    /// without `spec.tenantRef`. Optional: without it (and its credentials) every resource names
    /// an `Auth0Tenant` or `ClusterAuth0Tenant`.
    #[arg(long, env = "AUTH0_DOMAIN")]
    pub auth0_domain: Option<String>,
    /// Client id of the operator's machine-to-machine application.
    #[arg(long, env = "AUTH0_CLIENT_ID")]
    pub auth0_client_id: Option<String>,
    /// Its client secret. Prefer `--auth0-client-secret-file` (a mounted Secret).
    #[arg(long, env = "AUTH0_CLIENT_SECRET", hide_env_values = true)]
    pub auth0_client_secret: Option<String>,
    /// File holding the client secret (surrounding whitespace is trimmed).
    #[arg(long, env = "AUTH0_CLIENT_SECRET_FILE")]
    pub auth0_client_secret_file: Option<PathBuf>,
    /// Instead of a client secret: the PEM RSA private key (PKCS#8 or PKCS#1) whose public
    /// half is registered for the application (private-key JWT); the operator then signs a
    /// client assertion for each token. Prefer `--auth0-private-key-file`.
    #[arg(long, env = "AUTH0_PRIVATE_KEY", hide_env_values = true)]
    pub auth0_private_key: Option<String>,
    /// File holding that private key (a mounted Secret).
    #[arg(long, env = "AUTH0_PRIVATE_KEY_FILE")]
    pub auth0_private_key_file: Option<PathBuf>,
    /// Send all Auth0 requests to this base URL (scheme, host, port) instead of
    /// `https://<domain>`, e.g. the simulator at `http://127.0.0.1:8081`.
    #[arg(long, env = "AUTH0_BASE_URL")]
    pub auth0_base_url: Option<String>,
    /// Management API audience; default `https://<domain>/api/v2/`.
    #[arg(long, env = "AUTH0_AUDIENCE")]
    pub auth0_audience: Option<String>,
    /// Client-side request budget as `BURST:PER_SECOND` (e.g. `10:2`), shared by all reconciles.
    /// Default `50:16` (Auth0's highest published Management API limit). The operator also
    /// follows Auth0's `x-ratelimit-*` headers, so this only needs to be set to share a
    /// tenant's budget.
    #[arg(long, env = "AUTH0_RATE_LIMIT")]
    pub auth0_rate_limit: Option<String>,
    /// How often every object is compared with Auth0 even without changes (e.g. `10m`, `1h`).
    #[arg(long, env = "RESYNC_INTERVAL", default_value = "10m")]
    pub resync_interval: String,
    /// Maximum number of objects reconciled at the same time, per kind.
    #[arg(long, env = "CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,
    /// Watch only these namespaces, comma-separated (default: all namespaces). With a list,
    /// the operator needs only namespaced Roles (see the Helm chart's `watchNamespaces`).
    #[arg(long, env = "WATCH_NAMESPACES", value_delimiter = ',')]
    pub watch_namespaces: Vec<String>,
    /// Address of the HTTP server for `/metrics`, `/healthz` and `/readyz`; `off` disables it.
    #[arg(long, env = "HTTP_ADDR", default_value = "0.0.0.0:8080")]
    pub http_addr: String,
    /// Elect a leader through a Lease so that only one replica reconciles at a time.
    #[arg(long, env = "LEADER_ELECT", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub leader_elect: bool,
    /// Name of the Lease used for leader election.
    #[arg(long, env = "LEASE_NAME", default_value = "auth0-operator")]
    pub lease_name: String,
    /// Namespace of the Lease (default: `POD_NAMESPACE`, else `default`).
    #[arg(long, env = "LEASE_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// This instance's identity in the Lease and in events (default: `POD_NAME`, else the host
    /// name plus a random suffix).
    #[arg(long, env = "POD_NAME")]
    pub identity: Option<String>,
    /// Log format: `text` or `json`.
    #[arg(long, env = "LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// Domains that `Auth0Tenant`/`ClusterAuth0Tenant` objects may name: comma-separated globs
    /// (`*` matches anything). The default tenant from the environment is trusted.
    #[arg(long, env = "ALLOWED_TENANT_DOMAINS", default_value = "*.auth0.com")]
    pub allowed_tenant_domains: String,
    /// Let tenant objects set `spec.baseUrl` (send their calls, with their credentials, to another
    /// host, e.g. a local simulator). Off by default: a namespaced user could otherwise turn the
    /// operator into a proxy.
    #[arg(long, env = "ALLOW_TENANT_BASE_URL", default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub allow_tenant_base_url: bool,
    /// Management API scopes that grants of resources using the default tenant may hold
    /// (comma-separated). Empty (default): no grant may name the default tenant's Management
    /// API.
    #[arg(long, env = "DEFAULT_TENANT_MANAGEMENT_API_SCOPES", default_value = "")]
    pub default_tenant_management_api_scopes: String,
}

/// Validated operator settings.
#[derive(Debug, Clone)]
pub struct OperatorConfig {
    /// The default tenant (resources without `spec.tenantRef`), if configured.
    pub auth0: Option<Auth0Config>,
    /// What tenant objects may do, and their default rate limit and retries.
    pub tenant_policy: TenantPolicy,
    /// Periodic drift check interval.
    pub resync_interval: Duration,
    /// Reconcile concurrency per kind.
    pub concurrency: u16,
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    /// Where `/metrics`, `/healthz` and `/readyz` are served (None: not served).
    pub http_addr: Option<std::net::SocketAddr>,
    /// Leader election settings (None: this instance always reconciles).
    pub leader_election: Option<LeaderElection>,
    /// Identity of this instance (events' reporting instance, Lease holder).
    pub identity: String,
    /// Log format.
    pub log_format: LogFormat,
}

/// Leader election through a `coordination.k8s.io/v1` Lease.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaderElection {
    /// Lease name.
    pub lease_name: String,
    /// Lease namespace.
    pub lease_namespace: String,
    /// Seconds a lease is valid without renewal.
    pub lease_duration_secs: u64,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl OperatorConfig {
    /// Settings for tests and embedding: everything else at its default.
    pub fn new(auth0: Auth0Config) -> Self {
        Self {
            tenant_policy: TenantPolicy {
                rate_limit: auth0.rate_limit.clone(),
                retry: auth0.retry.clone(),
                ..Default::default()
            },
            auth0: Some(auth0),
            resync_interval: Duration::from_secs(600),
            concurrency: 8,
            namespaces: Vec::new(),
            http_addr: None,
            leader_election: None,
            identity: default_identity(),
            log_format: LogFormat::Text,
        }
    }
}

fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "auth0-operator".into());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{host}-{:08x}", nanos ^ std::process::id())
}

/// All configuration problems found at once.
#[derive(Debug, thiserror::Error)]
#[error("auth0-operator cannot start because of its configuration: {}. Set these with flags or environment variables (see `auth0-operator run --help`).", .problems.join("; "))]
pub struct ConfigError {
    /// One sentence per problem.
    pub problems: Vec<String>,
}

fn non_empty(v: &Option<String>) -> Option<String> {
    v.as_ref()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Parses `BURST:PER_SECOND`.
pub fn parse_rate_limit(s: &str) -> Result<(u32, f64), String> {
    let (b, r) = s.split_once(':').ok_or_else(|| {
        format!("AUTH0_RATE_LIMIT `{s}` is not of the form BURST:PER_SECOND (e.g. 10:2)")
    })?;
    let burst: u32 = b
        .trim()
        .parse()
        .map_err(|_| format!("AUTH0_RATE_LIMIT burst `{b}` is not a whole number"))?;
    let rate: f64 = r
        .trim()
        .parse()
        .map_err(|_| format!("AUTH0_RATE_LIMIT rate `{r}` is not a number"))?;
    if burst == 0 || !(rate > 0.0 && rate.is_finite()) {
        return Err(format!(
            "AUTH0_RATE_LIMIT `{s}` must have a burst of at least 1 and a positive rate"
        ));
    }
    Ok((burst, rate))
}

/// A credential given as a value or as a file (trimmed); a problem when both are given or the
/// file is empty or unreadable. The value never appears in a problem.
fn read_credential(
    value: Option<String>,
    file: Option<&std::path::Path>,
    (var, file_var): (&str, &str),
    problems: &mut Vec<String>,
) -> Option<String> {
    match (value, file) {
        (Some(_), Some(_)) => {
            problems.push(format!("both {var} and {file_var} are set: use only one"));
            None
        }
        (Some(s), None) => Some(s),
        (None, Some(path)) => match std::fs::read_to_string(path) {
            Ok(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Ok(_) => {
                problems.push(format!("{file_var} {} is empty", path.display()));
                None
            }
            Err(e) => {
                problems.push(format!("{file_var} {} cannot be read: {e}", path.display()));
                None
            }
        },
        (None, None) => None,
    }
}

impl RunArgs {
    /// Validates the settings, reading the secret file if one is given.
    pub fn resolve(&self) -> Result<OperatorConfig, ConfigError> {
        let mut problems = Vec::new();
        // The default tenant is optional, but all or nothing.
        let wants_default = [
            &self.auth0_domain,
            &self.auth0_client_id,
            &self.auth0_client_secret,
        ]
        .iter()
        .any(|v| non_empty(v).is_some())
            || self.auth0_client_secret_file.is_some()
            || non_empty(&self.auth0_private_key).is_some()
            || self.auth0_private_key_file.is_some();
        let domain = non_empty(&self.auth0_domain);
        match &domain {
            None if !wants_default => {}
            None => problems.push("AUTH0_DOMAIN (--auth0-domain) is not set: give your tenant's domain, e.g. my-tenant.eu.auth0.com (or set none of AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET to run without a default tenant)".to_string()),
            Some(d) if d.contains("://") || d.contains('/') || d.contains(char::is_whitespace) => problems.push(format!(
                "AUTH0_DOMAIN `{d}` must be a bare host name such as my-tenant.eu.auth0.com (no scheme, no path)"
            )),
            _ => {}
        }
        let client_id = non_empty(&self.auth0_client_id);
        if client_id.is_none() && wants_default {
            problems.push("AUTH0_CLIENT_ID (--auth0-client-id) is not set: give the client id of the operator's machine-to-machine application".to_string());
        }
        let secret = read_credential(
            non_empty(&self.auth0_client_secret),
            self.auth0_client_secret_file.as_deref(),
            ("AUTH0_CLIENT_SECRET", "AUTH0_CLIENT_SECRET_FILE"),
            &mut problems,
        );
        let private_key = read_credential(
            non_empty(&self.auth0_private_key),
            self.auth0_private_key_file.as_deref(),
            ("AUTH0_PRIVATE_KEY", "AUTH0_PRIVATE_KEY_FILE"),
            &mut problems,
        );
        let given = |v: &Option<String>, f: &Option<PathBuf>| non_empty(v).is_some() || f.is_some();
        match (
            given(&self.auth0_client_secret, &self.auth0_client_secret_file),
            given(&self.auth0_private_key, &self.auth0_private_key_file),
        ) {
            (true, true) => problems.push(
                "both a client secret (AUTH0_CLIENT_SECRET[_FILE]) and a private key (AUTH0_PRIVATE_KEY[_FILE]) are set: use only one".to_string(),
            ),
            (false, false) if wants_default => problems.push(
                "neither AUTH0_CLIENT_SECRET nor AUTH0_CLIENT_SECRET_FILE is set: give the operator application's client secret (or its private key: AUTH0_PRIVATE_KEY[_FILE])".to_string(),
            ),
            _ => {}
        }
        let base_url = match non_empty(&self.auth0_base_url) {
            None => None,
            Some(s) => match Url::parse(&s) {
                Ok(u)
                    if (u.scheme() == "http" || u.scheme() == "https")
                        && u.host().is_some()
                        && (u.path() == "/" || u.path().is_empty()) =>
                {
                    Some(u)
                }
                _ => {
                    problems.push(format!("AUTH0_BASE_URL `{s}` must be an http(s) URL with scheme, host and optional port only, e.g. http://127.0.0.1:8081"));
                    None
                }
            },
        };
        let rate_limit = match non_empty(&self.auth0_rate_limit) {
            None => None,
            Some(s) => match parse_rate_limit(&s) {
                Ok(v) => Some(v),
                Err(e) => {
                    problems.push(e);
                    None
                }
            },
        };
        let resync = match humantime::parse_duration(self.resync_interval.trim()) {
            Ok(d) if d >= Duration::from_secs(1) => Some(d),
            Ok(_) => {
                problems.push(format!(
                    "RESYNC_INTERVAL `{}` is shorter than one second",
                    self.resync_interval
                ));
                None
            }
            Err(_) => {
                problems.push(format!(
                    "RESYNC_INTERVAL `{}` is not a duration such as 10m or 1h",
                    self.resync_interval
                ));
                None
            }
        };
        if self.concurrency == 0 {
            problems.push("CONCURRENCY must be at least 1".to_string());
        }
        let mut namespaces: Vec<String> = self
            .watch_namespaces
            .iter()
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        namespaces.sort();
        namespaces.dedup();
        for ns in &namespaces {
            let valid = ns.len() <= 63
                && ns
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !ns.starts_with('-')
                && !ns.ends_with('-');
            if !valid {
                problems.push(format!(
                    "WATCH_NAMESPACES entry `{ns}` is not a valid namespace name"
                ));
            }
        }
        let http_addr = match self.http_addr.trim() {
            "" | "off" | "none" => None,
            a => match a.parse() {
                Ok(addr) => Some(addr),
                Err(_) => {
                    problems.push(format!(
                        "HTTP_ADDR `{a}` is not an address such as 0.0.0.0:8080 (or `off`)"
                    ));
                    None
                }
            },
        };
        let log_format = match self.log_format.trim() {
            "text" | "" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                problems.push(format!("LOG_FORMAT `{other}` must be text or json"));
                LogFormat::Text
            }
        };
        let leader_election = self.leader_elect.then(|| LeaderElection {
            lease_name: self.lease_name.clone(),
            lease_namespace: non_empty(&self.lease_namespace)
                .or_else(|| {
                    std::env::var("POD_NAMESPACE")
                        .ok()
                        .filter(|s| !s.is_empty())
                })
                .unwrap_or_else(|| "default".into()),
            lease_duration_secs: 15,
        });
        let allowed_domains: Vec<String> = self
            .allowed_tenant_domains
            .split(',')
            .map(|g| g.trim().to_string())
            .filter(|g| !g.is_empty())
            .collect();
        for g in &allowed_domains {
            if g.contains("://") || g.contains('/') || g.contains(char::is_whitespace) {
                problems.push(format!(
                    "ALLOWED_TENANT_DOMAINS entry `{g}` must be a host name glob such as *.auth0.com"
                ));
            }
        }
        if !problems.is_empty() {
            return Err(ConfigError { problems });
        }
        // Every None above that mattered pushed a problem.
        let Some(resync) = resync else {
            return Err(ConfigError {
                problems: vec!["a required setting is missing".into()],
            });
        };
        let rate_limit = match rate_limit {
            Some((burst, per_second)) => RateLimitConfig {
                burst,
                per_second,
                ..RateLimitConfig::default()
            },
            None => RateLimitConfig::default(),
        };
        let credential = match (secret, private_key) {
            (Some(s), None) => Some((s, None)),
            (None, Some(k)) => Some((String::new(), Some(k))),
            _ => None,
        };
        let auth0 = match (domain, client_id, credential) {
            (Some(domain), Some(client_id), Some((secret, key))) => {
                let mut auth0 = Auth0Config::new(domain, client_id, secret);
                auth0.private_key = key.map(Into::into);
                auth0.base_url = base_url;
                auth0.audience = non_empty(&self.auth0_audience);
                auth0.rate_limit = rate_limit.clone();
                Some(auth0)
            }
            _ => None,
        };
        Ok(OperatorConfig {
            auth0,
            tenant_policy: TenantPolicy {
                allowed_domains,
                allow_base_url: self.allow_tenant_base_url,
                default_management_api_scopes: self
                    .default_tenant_management_api_scopes
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
                rate_limit,
                retry: Default::default(),
            },
            resync_interval: resync,
            concurrency: self.concurrency,
            namespaces,
            http_addr,
            leader_election,
            identity: non_empty(&self.identity).unwrap_or_else(default_identity),
            log_format,
        })
    }
}

/// Operator-wide tenant settings.
#[derive(Debug, Clone)]
pub struct TenantPolicy {
    /// Globs a tenant's domain must match (`ALLOWED_TENANT_DOMAINS`).
    pub allowed_domains: Vec<String>,
    /// Whether tenants may set `baseUrl` (`ALLOW_TENANT_BASE_URL`).
    pub allow_base_url: bool,
    /// The Management API scopes grants may hold in the default tenant
    /// (`DEFAULT_TENANT_MANAGEMENT_API_SCOPES`; empty: none may name it).
    pub default_management_api_scopes: Vec<String>,
    /// Rate limit of tenants that set none (`AUTH0_RATE_LIMIT`).
    pub rate_limit: RateLimitConfig,
    /// Retry policy of every tenant's client.
    pub retry: RetryConfig,
}

impl Default for TenantPolicy {
    fn default() -> Self {
        Self {
            allowed_domains: vec!["*.auth0.com".to_string()],
            allow_base_url: false,
            default_management_api_scopes: Vec::new(),
            rate_limit: RateLimitConfig::default(),
            retry: RetryConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> RunArgs {
        RunArgs {
            auth0_domain: Some("t.eu.auth0.com".into()),
            auth0_client_id: Some("id".into()),
            auth0_client_secret: Some("s3cr3t-value".into()),
            resync_interval: "10m".into(),
            concurrency: 4,
            http_addr: "0.0.0.0:8080".into(),
            lease_name: "auth0-operator".into(),
            log_format: "text".into(),
            allowed_tenant_domains: "*.auth0.com".into(),
            ..Default::default()
        }
    }

    #[test]
    fn valid_settings_resolve() {
        let c = args().resolve().unwrap();
        assert_eq!(c.resync_interval, Duration::from_secs(600));
        assert_eq!(c.auth0.as_ref().unwrap().domain, "t.eu.auth0.com");
        assert_eq!(
            c.tenant_policy.allowed_domains,
            vec!["*.auth0.com".to_string()]
        );
        assert!(!c.tenant_policy.allow_base_url);
        assert!(c.namespaces.is_empty());
        assert_eq!(c.http_addr, Some("0.0.0.0:8080".parse().unwrap()));
        assert_eq!(c.leader_election, None);
    }

    #[test]
    fn every_problem_is_named_once_and_no_secret_leaks() {
        let a = RunArgs {
            auth0_domain: Some("https://t.auth0.com/".into()),
            auth0_client_id: None,
            auth0_client_secret: Some("s3cr3t-value".into()),
            auth0_client_secret_file: Some("/nonexistent/secret".into()),
            auth0_base_url: Some("ftp://x".into()),
            auth0_rate_limit: Some("ten".into()),
            resync_interval: "soon".into(),
            concurrency: 0,
            watch_namespaces: vec!["ok-ns".into(), "Bad_NS".into()],
            http_addr: "everywhere".into(),
            log_format: "xml".into(),
            ..Default::default()
        };
        let e = a.resolve().unwrap_err();
        assert_eq!(e.problems.len(), 10, "{:#?}", e.problems);
        let text = e.to_string();
        for needle in [
            "AUTH0_DOMAIN",
            "AUTH0_CLIENT_ID",
            "only one",
            "AUTH0_BASE_URL",
            "AUTH0_RATE_LIMIT",
            "RESYNC_INTERVAL",
            "CONCURRENCY",
            "Bad_NS",
            "HTTP_ADDR",
            "LOG_FORMAT",
        ] {
            assert!(text.contains(needle), "{needle} missing from: {text}");
        }
        assert!(!text.contains("s3cr3t-value"));
    }

    #[test]
    fn secret_file_is_read_and_trimmed() {
        let dir = std::env::temp_dir().join(format!("a0op-cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("secret");
        std::fs::write(&f, "from-file\n").unwrap();
        let a = RunArgs {
            auth0_client_secret: None,
            auth0_client_secret_file: Some(f),
            ..args()
        };
        let c = a.resolve().unwrap();
        assert_eq!(c.auth0.unwrap().client_secret.expose(), "from-file");
    }

    #[test]
    fn a_private_key_replaces_the_secret_but_not_both() {
        let dir = std::env::temp_dir().join(format!("a0op-cfg-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("key.pem");
        let pem = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----";
        std::fs::write(&f, format!("{pem}\n")).unwrap();
        let by_key = RunArgs {
            auth0_client_secret: None,
            auth0_private_key_file: Some(f.clone()),
            ..args()
        };
        let auth0 = by_key.resolve().unwrap().auth0.unwrap();
        assert_eq!(auth0.private_key.as_ref().map(|k| k.expose()), Some(pem));
        let both = RunArgs {
            auth0_private_key: Some(pem.into()),
            ..args()
        };
        let e = both.resolve().unwrap_err().to_string();
        assert!(
            e.contains("both a client secret (AUTH0_CLIENT_SECRET[_FILE]) and a private key (AUTH0_PRIVATE_KEY[_FILE]) are set"),
            "{e}"
        );
        assert!(!e.contains("AAAA") && !e.contains("s3cr3t"), "{e}");
        let neither = RunArgs {
            auth0_client_secret: None,
            ..args()
        };
        let e = neither.resolve().unwrap_err().to_string();
        assert!(
            e.contains("or its private key: AUTH0_PRIVATE_KEY[_FILE]"),
            "{e}"
        );
    }

    #[test]
    fn the_default_tenant_is_optional_but_all_or_nothing() {
        let none = RunArgs {
            auth0_domain: None,
            auth0_client_id: None,
            auth0_client_secret: None,
            ..args()
        };
        let c = none.resolve().unwrap();
        assert!(c.auth0.is_none(), "no default tenant");
        let partial = RunArgs {
            auth0_client_id: None,
            auth0_client_secret: None,
            ..args()
        };
        let e = partial.resolve().unwrap_err().to_string();
        assert!(
            e.contains("AUTH0_CLIENT_ID") && e.contains("AUTH0_CLIENT_SECRET"),
            "{e}"
        );
        let globs = RunArgs {
            allowed_tenant_domains: "*.auth0.com, *.example.org".into(),
            allow_tenant_base_url: true,
            ..args()
        };
        let c = globs.resolve().unwrap();
        assert_eq!(
            c.tenant_policy.allowed_domains,
            vec!["*.auth0.com".to_string(), "*.example.org".to_string()]
        );
        assert!(c.tenant_policy.allow_base_url);
    }

    #[test]
    fn rate_limit_parses() {
        assert_eq!(parse_rate_limit("10:2").unwrap(), (10, 2.0));
        assert!(parse_rate_limit("0:2").is_err());
        assert!(parse_rate_limit("10").is_err());
    }
}
