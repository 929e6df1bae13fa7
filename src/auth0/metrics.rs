//! In-memory counters for the Auth0 client, read through [`Metrics::snapshot`].
//!
//! Endpoint labels are templates such as `GET /api/v2/clients/{id}` (never ids), so the label
//! set is bounded by the number of operations × status codes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use parking_lot::Mutex;

/// Status recorded for a request that got no HTTP response (transport error).
pub const TRANSPORT_ERROR_STATUS: u16 = 0;

/// Live counters; shared by every clone of an [`ManagementApi`](super::ManagementApi).
#[derive(Debug)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(&'static str, u16), u64>>,
    rate_limited: AtomicU64,
    retries: AtomicU64,
    token_fetches: AtomicU64,
    token_fetch_failures: AtomicU64,
    token_refreshes_on_401: AtomicU64,
    throttle_waits: AtomicU64,
    throttle_wait_ms: AtomicU64,
    ratelimit_limit: AtomicI64,
    ratelimit_remaining: AtomicI64,
    ratelimit_reset: AtomicI64,
    /// -1 unknown, 0 rejected, 1 accepted (the last answer of the token endpoint).
    credentials_valid: AtomicI64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self {
            requests: Mutex::new(BTreeMap::new()),
            rate_limited: AtomicU64::new(0),
            retries: AtomicU64::new(0),
            token_fetches: AtomicU64::new(0),
            token_fetch_failures: AtomicU64::new(0),
            token_refreshes_on_401: AtomicU64::new(0),
            throttle_waits: AtomicU64::new(0),
            throttle_wait_ms: AtomicU64::new(0),
            ratelimit_limit: AtomicI64::new(-1),
            ratelimit_remaining: AtomicI64::new(-1),
            ratelimit_reset: AtomicI64::new(-1),
            credentials_valid: AtomicI64::new(-1),
        }
    }
}

/// One `(endpoint, status)` request counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestCount {
    /// Endpoint template, e.g. `PATCH /api/v2/clients/{id}` or `POST /oauth/token`.
    pub endpoint: &'static str,
    /// HTTP status, or [`TRANSPORT_ERROR_STATUS`] (0) for requests without a response.
    pub status: u16,
    pub count: u64,
}

/// A point-in-time copy of the counters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Every HTTP attempt (including retries and token requests), sorted by endpoint, status.
    pub requests: Vec<RequestCount>,
    /// 429 responses received.
    pub rate_limited: u64,
    /// Re-sent requests (after 429, 5xx, transport errors or a 401 token refresh).
    pub retries: u64,
    /// Successful token fetches.
    pub token_fetches: u64,
    /// Failed token fetches (after retries).
    pub token_fetch_failures: u64,
    /// Times a 401 from the Management API made the client drop its token and fetch a new one.
    pub token_refreshes_on_401: u64,
    /// Times a caller waited for the server-announced rate-limit reset before sending.
    pub throttle_waits: u64,
    /// Total milliseconds spent in those waits.
    pub throttle_wait_ms: u64,
    /// Last `x-ratelimit-limit` seen.
    pub ratelimit_limit: Option<u64>,
    /// Last `x-ratelimit-remaining` seen.
    pub ratelimit_remaining: Option<u64>,
    /// Last `x-ratelimit-reset` seen (UNIX epoch seconds).
    pub ratelimit_reset: Option<u64>,
    /// Whether the token endpoint accepted the management credentials the last time it
    /// answered: `Some(true)` on a token, `Some(false)` on a rejection (400/401/403), `None`
    /// before any answer (transport errors, 5xx and 429 say nothing about the credentials).
    pub credentials_valid: Option<bool>,
}

impl MetricsSnapshot {
    /// Requests for one endpoint template and status.
    pub fn count(&self, endpoint: &str, status: u16) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.endpoint == endpoint && r.status == status)
            .map(|r| r.count)
            .sum()
    }

    /// Requests for one endpoint template, any status.
    pub fn count_endpoint(&self, endpoint: &str) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.endpoint == endpoint)
            .map(|r| r.count)
            .sum()
    }

    /// All requests with this status.
    pub fn count_status(&self, status: u16) -> u64 {
        self.requests
            .iter()
            .filter(|r| r.status == status)
            .map(|r| r.count)
            .sum()
    }

    /// All requests.
    pub fn total_requests(&self) -> u64 {
        self.requests.iter().map(|r| r.count).sum()
    }
}

fn opt(v: i64) -> Option<u64> {
    u64::try_from(v).ok()
}

impl Metrics {
    pub(crate) fn record_request(&self, endpoint: &'static str, status: u16) {
        *self.requests.lock().entry((endpoint, status)).or_insert(0) += 1;
        if status == 429 {
            self.rate_limited.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn record_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_token_fetch(&self, ok: bool) {
        if ok {
            self.token_fetches.fetch_add(1, Ordering::Relaxed);
        } else {
            self.token_fetch_failures.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Records what the token endpoint said about the credentials.
    pub(crate) fn record_credentials(&self, valid: bool) {
        self.credentials_valid
            .store(i64::from(valid), Ordering::Relaxed);
    }

    pub(crate) fn record_token_refresh_on_401(&self) {
        self.token_refreshes_on_401.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_throttle_wait(&self, waited: std::time::Duration) {
        self.throttle_waits.fetch_add(1, Ordering::Relaxed);
        self.throttle_wait_ms
            .fetch_add(waited.as_millis() as u64, Ordering::Relaxed);
    }

    pub(crate) fn record_ratelimit_headers(
        &self,
        limit: Option<u64>,
        remaining: Option<u64>,
        reset: Option<u64>,
    ) {
        let store = |a: &AtomicI64, v: Option<u64>| {
            if let Some(v) = v {
                a.store(i64::try_from(v).unwrap_or(i64::MAX), Ordering::Relaxed);
            }
        };
        store(&self.ratelimit_limit, limit);
        store(&self.ratelimit_remaining, remaining);
        store(&self.ratelimit_reset, reset);
    }

    /// Copy the counters.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let requests = self
            .requests
            .lock()
            .iter()
            .map(|(&(endpoint, status), &count)| RequestCount {
                endpoint,
                status,
                count,
            })
            .collect();
        MetricsSnapshot {
            requests,
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            retries: self.retries.load(Ordering::Relaxed),
            token_fetches: self.token_fetches.load(Ordering::Relaxed),
            token_fetch_failures: self.token_fetch_failures.load(Ordering::Relaxed),
            token_refreshes_on_401: self.token_refreshes_on_401.load(Ordering::Relaxed),
            throttle_waits: self.throttle_waits.load(Ordering::Relaxed),
            throttle_wait_ms: self.throttle_wait_ms.load(Ordering::Relaxed),
            ratelimit_limit: opt(self.ratelimit_limit.load(Ordering::Relaxed)),
            ratelimit_remaining: opt(self.ratelimit_remaining.load(Ordering::Relaxed)),
            ratelimit_reset: opt(self.ratelimit_reset.load(Ordering::Relaxed)),
            credentials_valid: match self.credentials_valid.load(Ordering::Relaxed) {
                0 => Some(false),
                1 => Some(true),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_snapshot() {
        let m = Metrics::default();
        assert_eq!(m.snapshot().ratelimit_remaining, None);
        m.record_request("GET /api/v2/clients/{id}", 200);
        m.record_request("GET /api/v2/clients/{id}", 200);
        m.record_request("GET /api/v2/clients/{id}", 429);
        m.record_request("POST /api/v2/clients", TRANSPORT_ERROR_STATUS);
        m.record_retry();
        m.record_ratelimit_headers(Some(10), Some(0), Some(1_700_000_000));
        m.record_ratelimit_headers(None, Some(3), None);
        let s = m.snapshot();
        assert_eq!(s.count("GET /api/v2/clients/{id}", 200), 2);
        assert_eq!(s.count_endpoint("GET /api/v2/clients/{id}"), 3);
        assert_eq!(s.count_status(0), 1);
        assert_eq!(s.total_requests(), 4);
        assert_eq!(s.rate_limited, 1);
        assert_eq!(s.retries, 1);
        assert_eq!(s.ratelimit_limit, Some(10));
        assert_eq!(s.ratelimit_remaining, Some(3));
        assert_eq!(s.ratelimit_reset, Some(1_700_000_000));
    }
}
