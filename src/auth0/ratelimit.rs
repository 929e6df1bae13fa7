//! Client-side pacing and server-driven rate-limit handling, shared per tenant.
//!
//! Two layers, both shared by every clone of an [`ManagementApi`](super::ManagementApi) (and by
//! every client built for the same domain + base URL in this process):
//!
//! 1. **Pacing** with a `governor` token bucket ([`RateLimitConfig`]): a ceiling, not the
//!    speed. The default, burst 50 and 16 requests/s, is Auth0's highest published Management
//!    API limit (Enterprise production), so the operator never runs slower than its tenant
//!    allows; smaller tenants (Enterprise non-production burst 10 at 2/s, Essentials and
//!    Professional burst 10 at 150/min, Free burst 2 at 2/s) are paced by layer 2. Lower it to
//!    leave part of a tenant's budget to other applications.
//! 2. **Server feedback**: every response's `x-ratelimit-limit` / `x-ratelimit-remaining` /
//!    `x-ratelimit-reset` (UNIX epoch seconds) is recorded; when `remaining` reaches 0 every
//!    caller waits until the reset instant before sending. A 429 blocks all callers for
//!    `Retry-After` seconds, else until `x-ratelimit-reset`, else an exponential fallback, and
//!    the request is retried (see [`RetryConfig::max_rate_limit_retries`]). Server-announced
//!    waits are capped at [`RateLimitConfig::max_server_wait`] so a bogus header cannot stall
//!    the operator.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, LazyLock, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use http::HeaderMap;
use parking_lot::Mutex;

use super::error::Auth0Error;
use super::metrics::Metrics;

/// Client-side pacing of Management API calls (per tenant).
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitConfig {
    /// Token-bucket size: requests that may be sent back to back. Default 50.
    pub burst: u32,
    /// Sustained requests per second. Default 16.0.
    pub per_second: f64,
    /// Upper bound for a single server-announced wait (`Retry-After` / `x-ratelimit-reset`).
    /// Default 60 s.
    pub max_server_wait: Duration,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            burst: 50,
            per_second: 16.0,
            max_server_wait: Duration::from_secs(60),
        }
    }
}

impl RateLimitConfig {
    pub(crate) fn validate(&self) -> Result<(), Auth0Error> {
        if self.burst == 0 {
            return Err(Auth0Error::Config(
                "rate limit burst must be at least 1".into(),
            ));
        }
        if !(self.per_second.is_finite() && self.per_second > 0.0) {
            return Err(Auth0Error::Config(
                "rate limit per_second must be a positive number".into(),
            ));
        }
        Ok(())
    }
}

/// Retry policy.
///
/// * 5xx responses and transport errors: at most `max_attempts` attempts in total, with
///   jittered exponential backoff from `min_backoff` to `max_backoff`. Non-idempotent POSTs are
///   only retried when the request provably did not reach Auth0 (connect error) or Auth0
///   answered 5xx/429; a timeout or a connection closed mid-request is *not* retried for POST,
///   since that could create a duplicate client or grant.
/// * 429: up to `max_rate_limit_retries` retries, each after the server-announced wait.
/// * 401 from the Management API: the token is dropped, a new one fetched, and the request is
///   retried once (not counted against the other budgets).
/// * Other 4xx: never retried.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryConfig {
    /// Attempts in total for 5xx and transport errors (1 = no retry). Default 4.
    pub max_attempts: u32,
    /// First backoff delay (before jitter). Default 500 ms.
    pub min_backoff: Duration,
    /// Largest backoff delay (before jitter). Default 10 s.
    pub max_backoff: Duration,
    /// 429 retries before giving up with [`Auth0Error::RateLimited`]. Default 10.
    pub max_rate_limit_retries: u32,
    /// First wait after a 429 that carried neither `Retry-After` nor `x-ratelimit-reset`
    /// (doubles each time, capped at `RateLimitConfig::max_server_wait`). Default 1 s.
    pub rate_limit_fallback: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            min_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(10),
            max_rate_limit_retries: 10,
            rate_limit_fallback: Duration::from_secs(1),
        }
    }
}

impl RetryConfig {
    pub(crate) fn validate(&self) -> Result<(), Auth0Error> {
        if self.max_attempts == 0 {
            return Err(Auth0Error::Config(
                "retry max_attempts must be at least 1".into(),
            ));
        }
        if self.min_backoff > self.max_backoff {
            return Err(Auth0Error::Config(
                "retry min_backoff must not exceed max_backoff".into(),
            ));
        }
        Ok(())
    }

    /// Backoff delays for 5xx / transport retries: `max_attempts - 1` jittered delays.
    pub(crate) fn backoff(&self) -> ExponentialBackoff {
        ExponentialBuilder::default()
            .with_min_delay(self.min_backoff)
            .with_max_delay(self.max_backoff)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.max_attempts.saturating_sub(1) as usize)
            .build()
    }

    /// Fallback wait after the `n`-th (1-based) 429 without usable headers.
    pub(crate) fn rate_limit_fallback(&self, n: u32, cap: Duration) -> Duration {
        let factor = 2u32.saturating_pow(n.saturating_sub(1).min(16));
        self.rate_limit_fallback.saturating_mul(factor).min(cap)
    }
}

/// The rate-limit related headers of one response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateLimitHeaders {
    pub limit: Option<u64>,
    pub remaining: Option<u64>,
    /// UNIX epoch seconds.
    pub reset: Option<u64>,
    pub retry_after: Option<Duration>,
}

impl RateLimitHeaders {
    /// Parse `x-ratelimit-*` and `Retry-After` (delta-seconds; HTTP dates are ignored).
    /// Malformed values are ignored.
    pub fn parse(headers: &HeaderMap) -> Self {
        fn num(headers: &HeaderMap, name: &str) -> Option<u64> {
            let v = headers.get(name)?.to_str().ok()?.trim();
            v.parse::<u64>().ok().or_else(|| {
                v.parse::<f64>()
                    .ok()
                    .filter(|f| f.is_finite() && *f >= 0.0)
                    .map(|f| f.ceil() as u64)
            })
        }
        let retry_after = headers
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|f| f.is_finite() && *f >= 0.0)
            .map(|f| Duration::from_secs_f64(f.min(86_400.0)));
        Self {
            limit: num(headers, "x-ratelimit-limit"),
            remaining: num(headers, "x-ratelimit-remaining"),
            reset: num(headers, "x-ratelimit-reset"),
            retry_after,
        }
    }

    /// Time from `now` until `reset` (zero if it already passed).
    pub fn until_reset(&self, now: SystemTime) -> Option<Duration> {
        let reset = UNIX_EPOCH + Duration::from_secs(self.reset?);
        Some(reset.duration_since(now).unwrap_or(Duration::ZERO))
    }

    /// How long to wait after a 429: `Retry-After`, else the reset instant (if in the future).
    pub fn wait_after_429(&self, now: SystemTime) -> Option<Duration> {
        self.retry_after
            .or_else(|| self.until_reset(now).filter(|d| !d.is_zero()))
    }
}

/// While the believed budget is zero and requests are in flight, callers wait for a response
/// at most this long before sending anyway (protects against slow responses).
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
struct ServerState {
    /// Nobody sends before this instant (429 or an empty bucket until its reset).
    blocked_until: Option<Instant>,
    /// Requests we believe Auth0 still accepts before the next refill: the last
    /// `x-ratelimit-remaining`, minus requests still in flight, minus what was sent since.
    /// `None` = unknown (no headers seen yet): client-side pacing only.
    budget: Option<u64>,
    /// Admitted requests without a response yet.
    in_flight: u64,
}

enum Admission {
    Go,
    Until(Instant),
    Notified(Instant),
}

/// One tenant's shared limiter.
#[derive(Debug)]
pub struct TenantLimiter {
    governor: DefaultDirectRateLimiter,
    state: Mutex<ServerState>,
    notify: tokio::sync::Notify,
    config: RateLimitConfig,
}

/// Permission to send one request. Report the response with [`Permit::observe`]; dropping the
/// permit without doing so counts as "no response" (transport error, cancellation).
#[must_use]
#[derive(Debug)]
pub struct Permit<'a> {
    limiter: &'a TenantLimiter,
    done: bool,
}

impl Permit<'_> {
    /// Feed the response's rate-limit headers back.
    pub fn observe(mut self, headers: &RateLimitHeaders, metrics: &Metrics) {
        self.done = true;
        self.limiter.observe(headers, metrics);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.limiter.finish_without_response();
        }
    }
}

impl TenantLimiter {
    /// A limiter with its own state (see [`shared_limiter`] for the per-tenant registry).
    pub fn new(config: RateLimitConfig) -> Self {
        let period = Duration::from_secs_f64(1.0 / config.per_second.max(1e-6));
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(config.burst).unwrap_or(NonZeroU32::MIN));
        Self {
            governor: RateLimiter::direct(quota),
            state: Mutex::new(ServerState::default()),
            notify: tokio::sync::Notify::new(),
            config,
        }
    }

    /// The configuration this limiter was built with.
    pub fn config(&self) -> &RateLimitConfig {
        &self.config
    }

    /// Wait until a request may be sent:
    ///
    /// 1. the client-side pacing bucket;
    /// 2. any server-imposed block (429, or `remaining: 0` until `x-ratelimit-reset`);
    /// 3. the server budget: with `remaining` known, at most that many requests go out; once
    ///    it is used up, callers wait for in-flight responses, and with nothing in flight a
    ///    single probe goes to learn the refilled budget (so callers do not stampede into a
    ///    fresh round of 429s after a reset).
    pub async fn acquire(&self, metrics: &Metrics) -> Permit<'_> {
        self.governor.until_ready().await;
        let start = Instant::now();
        let mut waited = false;
        let mut timed_out = false;
        loop {
            let (admission, notified) = {
                let mut s = self.state.lock();
                let now = Instant::now();
                let admission = match (s.blocked_until, s.budget) {
                    (Some(t), _) if t > now => Admission::Until(t),
                    (_, None) => Admission::Go,
                    (_, Some(n)) if n > 0 => {
                        s.budget = Some(n - 1);
                        Admission::Go
                    }
                    (_, Some(_)) if s.in_flight == 0 || timed_out => Admission::Go,
                    (_, Some(_)) => Admission::Notified(now + PROBE_TIMEOUT),
                };
                if matches!(admission, Admission::Go) {
                    s.in_flight += 1;
                }
                // Registered while the state is locked, so no notification is missed.
                let notified =
                    matches!(admission, Admission::Notified(_)).then(|| self.notify.notified());
                (admission, notified)
            };
            match admission {
                Admission::Go => break,
                Admission::Until(t) => {
                    waited = true;
                    tracing::debug!(
                        wait_ms = (t - Instant::now()).as_millis() as u64,
                        "waiting for the Auth0 rate limit to reset"
                    );
                    tokio::time::sleep_until(t.into()).await;
                }
                Admission::Notified(deadline) => {
                    waited = true;
                    if let Some(n) = notified {
                        timed_out = tokio::time::timeout_at(deadline.into(), n).await.is_err();
                    }
                }
            }
        }
        if waited {
            metrics.record_throttle_wait(start.elapsed());
        }
        Permit {
            limiter: self,
            done: false,
        }
    }

    /// Block every caller for `wait` (capped at `max_server_wait`) from now. Extends but never
    /// shortens an existing block. Used after a 429.
    pub fn block_for(&self, wait: Duration) {
        let until = Instant::now() + wait.min(self.config.max_server_wait);
        let mut s = self.state.lock();
        if s.blocked_until.is_none_or(|t| t < until) {
            s.blocked_until = Some(until);
        }
        s.budget = Some(0);
    }

    fn observe(&self, headers: &RateLimitHeaders, metrics: &Metrics) {
        metrics.record_ratelimit_headers(headers.limit, headers.remaining, headers.reset);
        {
            let mut s = self.state.lock();
            s.in_flight = s.in_flight.saturating_sub(1);
            match headers.remaining {
                Some(remaining) => {
                    // Requests still in flight may not be counted in `remaining` yet.
                    s.budget = Some(remaining.saturating_sub(s.in_flight));
                    if remaining == 0
                        && let Some(wait) = headers.until_reset(SystemTime::now())
                        && !wait.is_zero()
                    {
                        let until = Instant::now() + wait.min(self.config.max_server_wait);
                        if s.blocked_until.is_none_or(|t| t < until) {
                            s.blocked_until = Some(until);
                        }
                    }
                }
                // No headers (e.g. a proxy answered): fall back to client-side pacing only.
                None => s.budget = None,
            }
        }
        self.notify.notify_waiters();
    }

    fn finish_without_response(&self) {
        {
            let mut s = self.state.lock();
            s.in_flight = s.in_flight.saturating_sub(1);
        }
        self.notify.notify_waiters();
    }

    /// Whether callers are currently held back by a server-imposed block.
    pub fn is_blocked(&self) -> bool {
        self.state
            .lock()
            .blocked_until
            .is_some_and(|t| t > Instant::now())
    }
}

static REGISTRY: LazyLock<Mutex<HashMap<String, Weak<TenantLimiter>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The limiter for `key` (domain + base URL): every live client for the same tenant in this
/// process shares one. The first client's configuration wins.
pub(crate) fn shared_limiter(key: &str, config: &RateLimitConfig) -> Arc<TenantLimiter> {
    let mut registry = REGISTRY.lock();
    registry.retain(|_, weak| weak.strong_count() > 0);
    if let Some(existing) = registry.get(key).and_then(Weak::upgrade) {
        return existing;
    }
    let limiter = Arc::new(TenantLimiter::new(config.clone()));
    registry.insert(key.to_owned(), Arc::downgrade(&limiter));
    limiter
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn parses_rate_limit_headers() {
        let h = RateLimitHeaders::parse(&headers(&[
            ("x-ratelimit-limit", "10"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset", "1700000005"),
            ("retry-after", "3"),
        ]));
        assert_eq!(
            h,
            RateLimitHeaders {
                limit: Some(10),
                remaining: Some(0),
                reset: Some(1_700_000_005),
                retry_after: Some(Duration::from_secs(3)),
            }
        );
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(h.until_reset(now), Some(Duration::from_secs(5)));
        assert_eq!(h.wait_after_429(now), Some(Duration::from_secs(3)));
    }

    #[test]
    fn tolerates_missing_and_malformed_headers() {
        assert_eq!(
            RateLimitHeaders::parse(&HeaderMap::new()),
            RateLimitHeaders::default()
        );
        let h = RateLimitHeaders::parse(&headers(&[
            ("x-ratelimit-limit", "ten"),
            ("x-ratelimit-remaining", "-1"),
            ("x-ratelimit-reset", " 1700000005 "),
            ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"),
        ]));
        assert_eq!(h.limit, None);
        assert_eq!(h.remaining, None);
        assert_eq!(h.reset, Some(1_700_000_005));
        assert_eq!(h.retry_after, None);
        let h = RateLimitHeaders::parse(&headers(&[
            ("retry-after", "0.5"),
            ("x-ratelimit-remaining", "2.0"),
        ]));
        assert_eq!(h.retry_after, Some(Duration::from_millis(500)));
        assert_eq!(h.remaining, Some(2));
    }

    #[test]
    fn wait_after_429_falls_back_to_reset_then_none() {
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let h = RateLimitHeaders {
            reset: Some(1_700_000_002),
            ..Default::default()
        };
        assert_eq!(h.wait_after_429(now), Some(Duration::from_secs(2)));
        let past = RateLimitHeaders {
            reset: Some(1_600_000_000),
            ..Default::default()
        };
        assert_eq!(past.until_reset(now), Some(Duration::ZERO));
        assert_eq!(past.wait_after_429(now), None);
        assert_eq!(RateLimitHeaders::default().wait_after_429(now), None);
    }

    #[test]
    fn fallback_backoff_doubles_and_caps() {
        let r = RetryConfig {
            rate_limit_fallback: Duration::from_millis(100),
            ..Default::default()
        };
        let cap = Duration::from_secs(1);
        assert_eq!(r.rate_limit_fallback(1, cap), Duration::from_millis(100));
        assert_eq!(r.rate_limit_fallback(2, cap), Duration::from_millis(200));
        assert_eq!(r.rate_limit_fallback(4, cap), Duration::from_millis(800));
        assert_eq!(r.rate_limit_fallback(5, cap), cap);
        assert_eq!(r.rate_limit_fallback(1000, cap), cap);
    }

    #[test]
    fn backoff_yields_max_attempts_minus_one_delays() {
        let r = RetryConfig {
            max_attempts: 4,
            min_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(40),
            ..Default::default()
        };
        let delays: Vec<_> = r.backoff().collect();
        assert_eq!(delays.len(), 3);
        // Jitter adds up to +100%.
        assert!(
            delays
                .iter()
                .all(|d| *d >= Duration::from_millis(10) && *d <= Duration::from_millis(80))
        );
        assert_eq!(
            RetryConfig {
                max_attempts: 1,
                ..Default::default()
            }
            .backoff()
            .count(),
            0
        );
    }

    #[test]
    fn config_validation() {
        assert!(RateLimitConfig::default().validate().is_ok());
        assert!(
            RateLimitConfig {
                burst: 0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            RateLimitConfig {
                per_second: 0.0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(
            RateLimitConfig {
                per_second: f64::NAN,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
        assert!(RetryConfig::default().validate().is_ok());
        assert!(
            RetryConfig {
                max_attempts: 0,
                ..Default::default()
            }
            .validate()
            .is_err()
        );
    }

    fn fast() -> TenantLimiter {
        TenantLimiter::new(RateLimitConfig {
            burst: 100,
            per_second: 1000.0,
            ..Default::default()
        })
    }

    fn remaining(n: u64) -> RateLimitHeaders {
        RateLimitHeaders {
            remaining: Some(n),
            ..Default::default()
        }
    }

    #[tokio::test]
    async fn remaining_zero_blocks_until_reset() {
        let limiter = fast();
        let metrics = Metrics::default();
        let reset = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 1;
        limiter.acquire(&metrics).await.observe(
            &RateLimitHeaders {
                limit: Some(5),
                remaining: Some(0),
                reset: Some(reset),
                retry_after: None,
            },
            &metrics,
        );
        assert!(limiter.is_blocked());
        let start = Instant::now();
        let permit = limiter.acquire(&metrics).await;
        let reset_at = UNIX_EPOCH + Duration::from_secs(reset);
        assert!(SystemTime::now() + Duration::from_millis(20) >= reset_at);
        assert!(start.elapsed() <= Duration::from_millis(1100));
        let s = metrics.snapshot();
        assert_eq!(s.throttle_waits, 1);
        assert_eq!(s.ratelimit_remaining, Some(0));
        assert_eq!(s.ratelimit_limit, Some(5));
        // remaining > 0 never blocks.
        permit.observe(
            &RateLimitHeaders {
                remaining: Some(3),
                reset: Some(reset + 100),
                ..Default::default()
            },
            &metrics,
        );
        assert!(!limiter.is_blocked());
    }

    #[tokio::test]
    async fn budget_limits_concurrency_and_a_single_probe_goes_when_empty() {
        let limiter = Arc::new(fast());
        let metrics = Arc::new(Metrics::default());
        // Learn a budget of 2.
        limiter
            .acquire(&metrics)
            .await
            .observe(&remaining(2), &metrics);
        let p1 = limiter.acquire(&metrics).await;
        let p2 = limiter.acquire(&metrics).await;
        // Budget used up with requests in flight: the next caller waits for a response.
        let (l, m) = (limiter.clone(), metrics.clone());
        let waiter = tokio::spawn(async move {
            let p = l.acquire(&m).await;
            drop(p);
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiter.is_finished());
        // p1's response: remaining 1, but p2 is still in flight → budget 0, still waiting.
        p1.observe(&remaining(1), &metrics);
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiter.is_finished());
        // p2's response: remaining 3 with nothing in flight → the waiter goes.
        p2.observe(&remaining(3), &metrics);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(metrics.snapshot().throttle_waits, 1);

        // Empty bucket, nothing in flight: exactly one probe goes, the next waits for it.
        limiter
            .acquire(&metrics)
            .await
            .observe(&remaining(0), &metrics);
        let probe = limiter.acquire(&metrics).await;
        let (l, m) = (limiter.clone(), metrics.clone());
        let waiter = tokio::spawn(async move {
            let p = l.acquire(&m).await;
            drop(p);
        });
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(!waiter.is_finished());
        // The probe got no response (dropped permit): the waiter becomes the next probe.
        drop(probe);
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();

        // Responses without headers: pacing only.
        limiter
            .acquire(&metrics)
            .await
            .observe(&RateLimitHeaders::default(), &metrics);
        let mut permits = Vec::new();
        for _ in 0..10 {
            permits.push(
                tokio::time::timeout(Duration::from_secs(1), limiter.acquire(&metrics))
                    .await
                    .unwrap(),
            );
        }
    }

    #[tokio::test]
    async fn block_for_is_capped_and_only_extends() {
        let limiter = TenantLimiter::new(RateLimitConfig {
            burst: 100,
            per_second: 1000.0,
            max_server_wait: Duration::from_millis(50),
        });
        let metrics = Metrics::default();
        limiter.block_for(Duration::from_secs(3600));
        limiter.block_for(Duration::from_millis(1));
        let start = Instant::now();
        drop(limiter.acquire(&metrics).await);
        let waited = start.elapsed();
        assert!(
            waited >= Duration::from_millis(40) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
    }

    #[tokio::test]
    async fn governor_paces_after_burst() {
        let limiter = TenantLimiter::new(RateLimitConfig {
            burst: 2,
            per_second: 20.0,
            ..Default::default()
        });
        let metrics = Metrics::default();
        let start = Instant::now();
        for _ in 0..4 {
            drop(limiter.acquire(&metrics).await);
        }
        // 2 immediately, then 2 more at 50 ms intervals.
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn registry_shares_per_key() {
        let cfg = RateLimitConfig::default();
        let a = shared_limiter("t1|http://x", &cfg);
        let b = shared_limiter("t1|http://x", &cfg);
        let c = shared_limiter("t2|http://x", &cfg);
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }
}
