//! Prometheus metrics (`/metrics`). Label values are bounded: kinds, condition reasons, result,
//! Auth0 endpoint templates and status codes; never object names or ids.
//!
//! Every name is registered *without* the `auth0_operator_` prefix: the registry adds it (to
//! collectors' descriptors too). `docs/metrics.md` is the contract; a test compares the full
//! exposition with it.

use std::{
    collections::BTreeMap,
    sync::{Arc, atomic::AtomicU64},
};

use kube::runtime::reflector::Store;
use parking_lot::Mutex;
use prometheus_client::{
    collector::Collector,
    encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric},
    metrics::{
        counter::{ConstCounter, Counter},
        family::Family,
        gauge::{ConstGauge, Gauge},
        histogram::Histogram,
    },
    registry::Registry,
};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use crate::{auth0::ManagementApi, crd::ready_condition};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindResult {
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindReason {
    kind: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabel {
    phase: &'static str,
}

/// The start-up phases [`Metrics::startup_phase`] records, in order.
pub mod phase {
    /// Connected to the API server and found the CRDs served.
    pub const CONNECTED: &str = "connected";
    /// The caches' initial lists were requested (after winning the lease, with leader election).
    pub const WATCHING: &str = "watching";
    /// Every cache has its initial list: `/readyz` answers 200 from here.
    pub const SYNCED: &str = "synced";
}

/// Everything `/metrics` shows.
pub struct Metrics {
    registry: Registry,
    reconciles: Family<KindResult, Counter>,
    errors: Family<KindReason, Counter>,
    refusals: Family<KindReason, Counter>,
    duration: Family<KindLabel, Histogram>,
    drift: Family<KindLabel, Counter>,
    startup: Family<PhaseLabel, Gauge<f64, AtomicU64>>,
    /// When this process started (the registry is made first thing).
    started: std::time::Instant,
    sources: Arc<Sources>,
}

/// Values read at scrape time.
#[derive(Debug, Default)]
struct Sources {
    /// Each tenant's Management API client, by tenant key.
    auth0: Mutex<std::collections::BTreeMap<String, ManagementApi>>,
    /// Per managed kind and scope: adds its objects to the counts by (kind, readiness).
    kinds: Mutex<Vec<KindCounter>>,
}

/// Counts one cache's objects by (kind, readiness).
struct KindCounter(Box<dyn Fn(&mut Counts) + Send + Sync>);

/// Object counts by (kind, readiness).
type Counts = BTreeMap<(&'static str, &'static str), i64>;

impl std::fmt::Debug for KindCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KindCounter")
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// A registry with every metric registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("auth0_operator");
        let reconciles = Family::<KindResult, Counter>::default();
        registry.register(
            "reconciles",
            "Reconciles by kind and result (success, error)",
            reconciles.clone(),
        );
        let errors = Family::<KindReason, Counter>::default();
        registry.register(
            "reconcile_errors",
            "Failed reconciles by kind and Ready reason",
            errors.clone(),
        );
        let refusals = Family::<KindReason, Counter>::default();
        registry.register(
            "trust_refusals",
            "Reconciles the trust boundary refused, by kind and Ready reason (Protected, OwnedElsewhere, AdoptionNotAllowed, ManagementApiNotAllowed, ConsumerNotAllowed)",
            refusals.clone(),
        );
        let duration = Family::<KindLabel, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ])
        });
        registry.register(
            "reconcile_duration_seconds",
            "Duration of one reconcile",
            duration.clone(),
        );
        let drift = Family::<KindLabel, Counter>::default();
        registry.register(
            "drift_corrections",
            "Changes made outside Kubernetes that the operator set back (managementPolicy Manage), by kind",
            drift.clone(),
        );
        let startup = Family::<PhaseLabel, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "startup_seconds",
            "Seconds from the start of the process to each start-up phase (connected, watching, synced)",
            startup.clone(),
        );
        let sources = Arc::new(Sources::default());
        registry.register_collector(Box::new(sources.clone()));
        Self {
            registry,
            reconciles,
            errors,
            refusals,
            duration,
            drift,
            startup,
            started: std::time::Instant::now(),
            sources,
        }
    }

    /// Records that the process reached a start-up [`phase`] now; returns the seconds since
    /// it started.
    pub fn startup_phase(&self, phase: &'static str) -> f64 {
        let secs = self.started.elapsed().as_secs_f64();
        self.startup.get_or_create(&PhaseLabel { phase }).set(secs);
        secs
    }

    /// Records one correction of drift (an Auth0 object changed outside Kubernetes, set back).
    pub fn drift_corrected(&self, kind: &'static str) {
        self.drift.get_or_create(&KindLabel { kind }).inc();
    }

    /// Records one finished reconcile.
    pub fn reconciled(&self, kind: &'static str, seconds: f64, error_reason: Option<&'static str>) {
        let result = if error_reason.is_some() {
            "error"
        } else {
            "success"
        };
        self.reconciles
            .get_or_create(&KindResult { kind, result })
            .inc();
        if let Some(reason) = error_reason {
            self.errors
                .get_or_create(&KindReason { kind, reason })
                .inc();
        }
        self.duration
            .get_or_create(&KindLabel { kind })
            .observe(seconds);
    }

    /// Records one reconcile the trust boundary refused (`reason` is one of its five reasons).
    pub fn refused(&self, kind: &'static str, reason: &'static str) {
        self.refusals
            .get_or_create(&KindReason { kind, reason })
            .inc();
    }

    /// Makes a tenant's Auth0 client's counters part of the output (replacing the tenant's
    /// previous client, e.g. after its credentials changed).
    pub fn set_auth0(&self, tenant: &str, client: &ManagementApi) {
        self.sources
            .auth0
            .lock()
            .insert(tenant.to_string(), client.clone());
    }

    /// Drops a tenant's series (the tenant was deleted).
    pub fn remove_auth0(&self, tenant: &str) {
        self.sources.auth0.lock().remove(tenant);
    }

    /// Adds the cache of `kind`, whose objects are counted by readiness (their `conditions`),
    /// and shows the kind's drift corrections from 0.
    pub fn add_store<K>(
        &self,
        kind: &'static str,
        store: Store<K>,
        conditions: fn(&K) -> &[Condition],
    ) where
        K: kube::Resource + Clone + Send + Sync + 'static,
        K::DynamicType: Eq + std::hash::Hash + Clone,
    {
        let _ = self.drift.get_or_create(&KindLabel { kind });
        self.sources
            .kinds
            .lock()
            .push(KindCounter(Box::new(move |counts| {
                for o in store.state() {
                    *counts.entry((kind, readiness(conditions(&o)))).or_default() += 1;
                }
            })));
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Encoding into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointStatus {
    tenant: String,
    endpoint: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TenantLabel {
    tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindReady {
    kind: &'static str,
    ready: &'static str,
}

fn readiness(conditions: &[Condition]) -> &'static str {
    match ready_condition(conditions).map(|c| c.status.as_str()) {
        Some("True") => "true",
        Some("False") => "false",
        _ => "unknown",
    }
}

impl Collector for Sources {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let snaps: Vec<(String, crate::auth0::MetricsSnapshot)> = self
            .auth0
            .lock()
            .iter()
            .map(|(tenant, c)| (tenant.clone(), c.metrics()))
            .collect();
        if !snaps.is_empty() {
            let mut family = encoder.encode_descriptor(
                "auth0_requests",
                "Auth0 HTTP attempts by tenant, endpoint template and status (0: no response)",
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for (tenant, snap) in &snaps {
                for r in &snap.requests {
                    let labels = EndpointStatus {
                        tenant: tenant.clone(),
                        endpoint: r.endpoint.to_string(),
                        status: r.status.to_string(),
                    };
                    ConstCounter::new(r.count).encode(family.encode_family(&labels)?)?;
                }
            }
            type Pick = fn(&crate::auth0::MetricsSnapshot) -> Option<u64>;
            let counters: [(&str, &str, Pick); 4] = [
                ("auth0_rate_limited", "429 answers from Auth0", |s| {
                    Some(s.rate_limited)
                }),
                (
                    "auth0_retries",
                    "Requests sent again after 429, 5xx, transport errors or a token refresh",
                    |s| Some(s.retries),
                ),
                (
                    "auth0_token_fetches",
                    "Management API tokens fetched",
                    |s| Some(s.token_fetches),
                ),
                (
                    "auth0_throttle_waits",
                    "Times a request waited for Auth0's rate-limit reset",
                    |s| Some(s.throttle_waits),
                ),
            ];
            for (name, help, pick) in counters {
                let mut family = encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    prometheus_client::metrics::MetricType::Counter,
                )?;
                for (tenant, snap) in &snaps {
                    if let Some(v) = pick(snap) {
                        let labels = TenantLabel {
                            tenant: tenant.clone(),
                        };
                        ConstCounter::new(v).encode(family.encode_family(&labels)?)?;
                    }
                }
            }
            let gauges: [(&str, &str, Pick); 3] = [
                (
                    "auth0_ratelimit_remaining",
                    "Last x-ratelimit-remaining seen",
                    |s| s.ratelimit_remaining,
                ),
                (
                    "auth0_credentials_valid",
                    "1 when Auth0 last accepted the operator's management credentials, 0 when it rejected them",
                    |s| s.credentials_valid.map(u64::from),
                ),
                (
                    "auth0_ratelimit_limit",
                    "Last x-ratelimit-limit seen",
                    |s| s.ratelimit_limit,
                ),
            ];
            for (name, help, pick) in gauges {
                let values: Vec<(&String, u64)> = snaps
                    .iter()
                    .filter_map(|(t, s)| pick(s).map(|v| (t, v)))
                    .collect();
                if values.is_empty() {
                    continue;
                }
                let mut family = encoder.encode_descriptor(
                    name,
                    help,
                    None,
                    prometheus_client::metrics::MetricType::Gauge,
                )?;
                for (tenant, v) in values {
                    let labels = TenantLabel {
                        tenant: tenant.clone(),
                    };
                    ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX))
                        .encode(family.encode_family(&labels)?)?;
                }
            }
        }
        let mut counts = Counts::default();
        for count in self.kinds.lock().iter() {
            (count.0)(&mut counts);
        }
        let mut family = encoder.encode_descriptor(
            "managed_objects",
            "Custom resources by kind and Ready status",
            None,
            prometheus_client::metrics::MetricType::Gauge,
        )?;
        for ((kind, ready), n) in counts {
            ConstGauge::new(n).encode(family.encode_family(&KindReady { kind, ready })?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_reconcile_metrics_without_object_names() {
        let m = Metrics::new();
        m.reconciled("Auth0Client", 0.02, None);
        m.reconciled("Auth0Client", 0.5, Some("Auth0Error"));
        m.refused("Auth0ClientGrant", "ManagementApiNotAllowed");
        let text = m.render();
        assert!(
            text.lines().any(|l| l
                == r#"auth0_operator_trust_refusals_total{kind="Auth0ClientGrant",reason="ManagementApiNotAllowed"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(
                r#"auth0_operator_reconciles_total{kind="Auth0Client",result="success"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"auth0_operator_reconcile_errors_total{kind="Auth0Client",reason="Auth0Error"} 1"#
            ),
            "{text}"
        );
        assert!(
            text.contains("auth0_operator_reconcile_duration_seconds_bucket"),
            "{text}"
        );
        assert!(text.contains("# EOF"));
    }
}
