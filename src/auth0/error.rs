//! The one error type of the Auth0 client.
//!
//! Messages never contain request bodies, access tokens or client secrets. They may contain
//! Auth0's own error message, the endpoint template (no ids), the tenant domain and the
//! operator's client id.

use std::time::Duration;

use serde::Deserialize;

/// Everything that can go wrong talking to the Auth0 Management API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Auth0Error {
    /// A non-success answer not covered by a more specific variant (400 validation errors,
    /// 5xx after retries, a 401 that survived a token refresh, …).
    #[error("Auth0 {endpoint} failed with {status} {error}: {message}{}", code_suffix(.error_code))]
    Api {
        status: u16,
        error: String,
        message: String,
        error_code: Option<String>,
        endpoint: &'static str,
    },

    /// 404 from Auth0 (the client or grant does not exist).
    #[error("Auth0 {endpoint}: not found: {message}")]
    NotFound {
        endpoint: &'static str,
        message: String,
        error_code: Option<String>,
    },

    /// 409 from Auth0 (e.g. "A client grant already exists between … and …").
    #[error("Auth0 {endpoint}: conflict: {message}")]
    Conflict {
        endpoint: &'static str,
        message: String,
        error_code: Option<String>,
    },

    /// Still rate limited (429) after the configured number of waits.
    #[error(
        "Auth0 {endpoint}: rate limited by Auth0, gave up after {attempts} attempts{}",
        retry_after_suffix(.retry_after)
    )]
    RateLimited {
        endpoint: &'static str,
        retry_after: Option<Duration>,
        attempts: u32,
    },

    /// The token endpoint rejected the operator's own management credentials.
    #[error(
        "Auth0 rejected the operator's management credentials for domain {domain} (client id \
         {client_id}): check AUTH0_DOMAIN, AUTH0_CLIENT_ID, AUTH0_CLIENT_SECRET, and that the \
         application is authorized for the Auth0 Management API with the needed scopes \
         (HTTP {status}: {detail})"
    )]
    InvalidCredentials {
        domain: String,
        client_id: String,
        status: u16,
        /// Auth0's `error`/`error_description`, e.g. `access_denied: Unauthorized`.
        detail: String,
    },

    /// 403 `insufficient_scope`: the operator's token lacks a scope for this call.
    #[error(
        "Auth0 {endpoint}: insufficient scope: {message} (grant the operator's application the \
         missing Management API scopes)"
    )]
    InsufficientScope {
        endpoint: &'static str,
        message: String,
    },

    /// Network-level failure (connect error, timeout, connection closed) after retries.
    #[error("Auth0 {endpoint}: transport error: {message}")]
    Transport {
        endpoint: &'static str,
        message: String,
        /// True when the request is known not to have been sent (connect failure).
        pre_send: bool,
        #[source]
        source: Option<reqwest::Error>,
    },

    /// A success response whose body did not parse.
    #[error("Auth0 {endpoint}: could not decode the response: {message}")]
    Decode {
        endpoint: &'static str,
        message: String,
    },

    /// Invalid client configuration (detected before any request is sent).
    #[error("invalid Auth0 configuration: {0}")]
    Config(String),
}

fn code_suffix(code: &Option<String>) -> String {
    code.as_ref().map(|c| format!(" ({c})")).unwrap_or_default()
}

fn retry_after_suffix(d: &Option<Duration>) -> String {
    d.map(|d| format!(" (Auth0 asked to wait {:.1}s)", d.as_secs_f64()))
        .unwrap_or_default()
}

impl Auth0Error {
    /// The object does not exist (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Auth0Error::NotFound { .. })
    }

    /// A conflicting object exists (409).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Auth0Error::Conflict { .. })
    }

    /// Whether trying the same operation again later may succeed without a configuration
    /// change (rate limits, transport errors, 5xx). Use this to pick a requeue delay.
    pub fn is_retryable(&self) -> bool {
        match self {
            Auth0Error::RateLimited { .. } | Auth0Error::Transport { .. } => true,
            Auth0Error::Api { status, .. } => *status >= 500 || *status == 408,
            _ => false,
        }
    }

    /// HTTP status from Auth0, when there was a response.
    pub fn status(&self) -> Option<u16> {
        match self {
            Auth0Error::Api { status, .. } | Auth0Error::InvalidCredentials { status, .. } => {
                Some(*status)
            }
            Auth0Error::NotFound { .. } => Some(404),
            Auth0Error::Conflict { .. } => Some(409),
            Auth0Error::RateLimited { .. } => Some(429),
            Auth0Error::InsufficientScope { .. } => Some(403),
            _ => None,
        }
    }

    /// Auth0's `errorCode` (e.g. `inexistent_client`), when present.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            Auth0Error::Api { error_code, .. }
            | Auth0Error::NotFound { error_code, .. }
            | Auth0Error::Conflict { error_code, .. } => error_code.as_deref(),
            _ => None,
        }
    }

    /// A short CamelCase reason for Kubernetes conditions and events.
    pub fn reason(&self) -> &'static str {
        match self {
            Auth0Error::Api { status, .. } if *status == 400 => "Auth0ValidationError",
            Auth0Error::Api { status, .. } if *status == 401 => "Auth0Unauthorized",
            Auth0Error::Api { status, .. } if *status >= 500 => "Auth0Unavailable",
            Auth0Error::Api { .. } => "Auth0Error",
            Auth0Error::NotFound { .. } => "NotFound",
            Auth0Error::Conflict { .. } => "Conflict",
            Auth0Error::RateLimited { .. } => "RateLimited",
            Auth0Error::InvalidCredentials { .. } => "InvalidCredentials",
            Auth0Error::InsufficientScope { .. } => "InsufficientScope",
            Auth0Error::Transport { .. } => "TransportError",
            Auth0Error::Decode { .. } => "DecodeError",
            Auth0Error::Config(_) => "InvalidConfig",
        }
    }

    /// Build the error for a non-success Management API response (not 429: that one is
    /// handled by the retry loop).
    pub(crate) fn from_response(endpoint: &'static str, status: u16, body: &[u8]) -> Self {
        let parsed = ErrorBody::parse(status, body);
        match status {
            404 => Auth0Error::NotFound {
                endpoint,
                message: parsed.message,
                error_code: parsed.error_code,
            },
            409 => Auth0Error::Conflict {
                endpoint,
                message: parsed.message,
                error_code: parsed.error_code,
            },
            403 if parsed.error_code.as_deref() == Some("insufficient_scope")
                || parsed
                    .message
                    .to_ascii_lowercase()
                    .contains("insufficient scope") =>
            {
                Auth0Error::InsufficientScope {
                    endpoint,
                    message: parsed.message,
                }
            }
            _ => Auth0Error::Api {
                status,
                error: parsed.error,
                message: parsed.message,
                error_code: parsed.error_code,
                endpoint,
            },
        }
    }

    pub(crate) fn decode(endpoint: &'static str, err: &serde_json::Error) -> Self {
        // Only the category and position: serde's message can quote input values.
        Auth0Error::Decode {
            endpoint,
            message: format!(
                "{:?} error at line {} column {}",
                err.classify(),
                err.line(),
                err.column()
            ),
        }
    }

    pub(crate) fn transport(endpoint: &'static str, err: reqwest::Error) -> Self {
        let kind = if err.is_connect() {
            "connect error"
        } else if err.is_timeout() {
            "timed out"
        } else if err.is_body() || err.is_decode() {
            "error reading the response body"
        } else {
            "request failed"
        };
        // reqwest's Display includes the URL (no secrets: ids only) and the cause.
        let message = format!("{kind}: {}", error_chain(&err));
        Auth0Error::Transport {
            endpoint,
            message,
            pre_send: err.is_connect(),
            source: Some(err),
        }
    }
}

/// `err: cause: cause…`, without the URL duplication reqwest does for every level.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut src = err.source();
    while let Some(s) = src {
        let s_text = s.to_string();
        if !out.contains(&s_text) {
            out.push_str(": ");
            out.push_str(&s_text);
        }
        src = s.source();
    }
    out
}

/// An Auth0 error body, either the Management API's `{statusCode, error, message, errorCode}`
/// or the Authentication API's OAuth `{error, error_description}`. Every field is optional and
/// non-JSON bodies are tolerated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: String,
    pub message: String,
    pub error_code: Option<String>,
}

impl ErrorBody {
    /// Parse a response body for `status`. Never fails.
    pub fn parse(status: u16, body: &[u8]) -> Self {
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Raw {
            error: Option<serde_json::Value>,
            message: Option<serde_json::Value>,
            #[serde(rename = "errorCode")]
            error_code: Option<serde_json::Value>,
            error_description: Option<serde_json::Value>,
        }
        fn text(v: Option<serde_json::Value>) -> Option<String> {
            match v? {
                serde_json::Value::String(s) if !s.trim().is_empty() => Some(s),
                serde_json::Value::Null | serde_json::Value::String(_) => None,
                other => Some(other.to_string()),
            }
        }
        let reason = http::StatusCode::from_u16(status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("Unknown")
            .to_owned();
        match serde_json::from_slice::<Raw>(body) {
            Ok(raw) => {
                let error = text(raw.error);
                let message = text(raw.message).or_else(|| text(raw.error_description));
                ErrorBody {
                    message: message
                        .or_else(|| error.clone())
                        .unwrap_or_else(|| reason.clone()),
                    error: error.unwrap_or(reason),
                    error_code: text(raw.error_code),
                }
            }
            Err(_) => {
                let snippet = body_snippet(body);
                ErrorBody {
                    error: reason.clone(),
                    message: if snippet.is_empty() {
                        reason
                    } else {
                        format!("non-JSON response: {snippet}")
                    },
                    error_code: None,
                }
            }
        }
    }
}

/// At most 120 printable characters of a body, for diagnosing proxies and load balancers.
fn body_snippet(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if cleaned.chars().count() > 120 {
        let cut: String = cleaned.chars().take(120).collect();
        format!("{cut}…")
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EP: &str = "GET /api/v2/clients/{id}";

    #[test]
    fn parses_recorded_404() {
        let body = include_bytes!("../../tests/data/auth0-bodies/client_not_found.json");
        let e = Auth0Error::from_response(EP, 404, body);
        assert!(e.is_not_found());
        assert_eq!(e.error_code(), Some("inexistent_client"));
        assert_eq!(e.reason(), "NotFound");
        assert!(e.to_string().contains("The client does not exist"), "{e}");
        assert!(!e.is_retryable());
    }

    #[test]
    fn parses_bodies_table() {
        let cases: &[(u16, &str, &str, &str, Option<&str>)] = &[
            (
                400,
                r#"{"statusCode":400,"error":"Bad Request","message":"Payload validation error: 'Additional properties not allowed: foo'.","errorCode":"invalid_body"}"#,
                "Bad Request",
                "Payload validation error: 'Additional properties not allowed: foo'.",
                Some("invalid_body"),
            ),
            // errorCode missing
            (
                404,
                r#"{"statusCode":404,"error":"Not Found","message":"The grant does not exist."}"#,
                "Not Found",
                "The grant does not exist.",
                None,
            ),
            // message missing
            (
                500,
                r#"{"statusCode":500,"error":"Internal Server Error"}"#,
                "Internal Server Error",
                "Internal Server Error",
                None,
            ),
            // empty object
            (502, "{}", "Bad Gateway", "Bad Gateway", None),
            // empty body
            (503, "", "Service Unavailable", "Service Unavailable", None),
            // non-JSON body
            (
                502,
                "<html><body>\n<h1>502 Bad Gateway</h1></body></html>",
                "Bad Gateway",
                "non-JSON response: <html><body> <h1>502 Bad Gateway</h1></body></html>",
                None,
            ),
            // OAuth-style token error
            (
                401,
                r#"{"error":"access_denied","error_description":"Unauthorized"}"#,
                "access_denied",
                "Unauthorized",
                None,
            ),
            // odd types
            (
                400,
                r#"{"error":null,"message":42,"errorCode":7}"#,
                "Bad Request",
                "42",
                Some("7"),
            ),
            // JSON but not an object
            (
                500,
                r#""oops""#,
                "Internal Server Error",
                "non-JSON response: \"oops\"",
                None,
            ),
        ];
        for (status, body, error, message, code) in cases {
            let b = ErrorBody::parse(*status, body.as_bytes());
            assert_eq!(b.error, *error, "{body}");
            assert_eq!(b.message, *message, "{body}");
            assert_eq!(b.error_code.as_deref(), *code, "{body}");
        }
    }

    #[test]
    fn long_bodies_are_truncated() {
        let body = "x".repeat(10_000);
        let b = ErrorBody::parse(500, body.as_bytes());
        assert!(b.message.chars().count() < 150);
    }

    #[test]
    fn classification() {
        let e = Auth0Error::from_response(EP, 409, br#"{"statusCode":409,"error":"Conflict","message":"A client grant already exists between a and b"}"#);
        assert!(e.is_conflict());
        assert_eq!(e.reason(), "Conflict");
        let e = Auth0Error::from_response(EP, 403, br#"{"statusCode":403,"error":"Forbidden","message":"Insufficient scope, expected any of: read:clients","errorCode":"insufficient_scope"}"#);
        assert!(matches!(e, Auth0Error::InsufficientScope { .. }));
        assert_eq!(e.reason(), "InsufficientScope");
        let e = Auth0Error::from_response(EP, 403, br#"{"statusCode":403,"error":"Forbidden","message":"nope","errorCode":"operation_not_supported"}"#);
        assert!(matches!(e, Auth0Error::Api { status: 403, .. }));
        let e = Auth0Error::from_response(EP, 400, b"{}");
        assert_eq!(e.reason(), "Auth0ValidationError");
        assert!(!e.is_retryable());
        let e = Auth0Error::from_response(EP, 503, b"");
        assert!(e.is_retryable());
        assert_eq!(e.reason(), "Auth0Unavailable");
        let e = Auth0Error::RateLimited {
            endpoint: EP,
            retry_after: Some(Duration::from_secs(2)),
            attempts: 11,
        };
        assert!(e.is_retryable());
        assert_eq!(e.reason(), "RateLimited");
        assert_eq!(e.status(), Some(429));
        assert!(e.to_string().contains("11 attempts"), "{e}");
    }

    #[test]
    fn invalid_credentials_message_says_what_to_check() {
        let e = Auth0Error::InvalidCredentials {
            domain: "tenant.eu.auth0.com".into(),
            client_id: "abc".into(),
            status: 401,
            detail: "access_denied: Unauthorized".into(),
        };
        let msg = e.to_string();
        for needle in [
            "tenant.eu.auth0.com",
            "abc",
            "AUTH0_DOMAIN",
            "AUTH0_CLIENT_ID",
            "AUTH0_CLIENT_SECRET",
            "Management API",
            "scopes",
        ] {
            assert!(msg.contains(needle), "{needle} missing from {msg}");
        }
        assert_eq!(e.reason(), "InvalidCredentials");
        assert!(!e.is_retryable());
    }

    #[test]
    fn decode_error_does_not_quote_input() {
        let err = serde_json::from_str::<u32>("\"super-secret-value\"").unwrap_err();
        let e = Auth0Error::decode(EP, &err);
        assert!(!e.to_string().contains("super-secret"), "{e}");
    }
}
