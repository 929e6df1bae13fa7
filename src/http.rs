//! The operator's HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (the process is
//! alive and its runtime answers) and `/readyz` (see [`Health::ready`]).

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};

use crate::metrics::Metrics;

/// Readiness state, set by the parts of the operator as they come up.
#[derive(Debug, Default)]
pub struct Health {
    /// The CRDs are served by the API server.
    pub crds_ready: AtomicBool,
    /// The controllers' caches have their initial lists.
    pub caches_synced: AtomicBool,
    /// Leader election is on.
    pub electing: AtomicBool,
    /// This instance holds the lease.
    pub leader: AtomicBool,
}

impl Health {
    /// Ready when the CRDs are served and, for the instance that runs the controllers, the caches
    /// are synced. A hot standby (electing, not leading) is ready as soon as the CRDs are: it
    /// can take over at any time.
    pub fn ready(&self) -> Result<(), &'static str> {
        if !self.crds_ready.load(Ordering::Relaxed) {
            return Err("CRDs not available yet");
        }
        let standby = self.electing.load(Ordering::Relaxed) && !self.leader.load(Ordering::Relaxed);
        if !standby && !self.caches_synced.load(Ordering::Relaxed) {
            return Err("caches not synced yet");
        }
        Ok(())
    }

    /// Short state for logs and `/readyz`.
    pub fn role(&self) -> &'static str {
        match (
            self.electing.load(Ordering::Relaxed),
            self.leader.load(Ordering::Relaxed),
        ) {
            (false, _) => "single instance",
            (true, true) => "leader",
            (true, false) => "standby",
        }
    }
}

#[derive(Clone)]
struct AppState {
    metrics: Arc<Metrics>,
    health: Arc<Health>,
}

/// The router (exposed for tests).
pub fn router(metrics: Arc<Metrics>, health: Arc<Health>) -> Router {
    Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(AppState { metrics, health })
}

async fn metrics_handler(State(s): State<AppState>) -> impl IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
}

async fn readyz(State(s): State<AppState>) -> impl IntoResponse {
    match s.health.ready() {
        Ok(()) => (StatusCode::OK, format!("ok ({})", s.health.role())),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why.to_string()),
    }
}

/// Binds `addr` and serves until the process ends. Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
) -> std::io::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(metrics, health);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server stopped");
        }
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_rules() {
        let h = Health::default();
        assert!(h.ready().is_err());
        h.crds_ready.store(true, Ordering::Relaxed);
        assert_eq!(h.ready(), Err("caches not synced yet"));
        h.electing.store(true, Ordering::Relaxed);
        assert!(h.ready().is_ok(), "a standby is ready");
        h.leader.store(true, Ordering::Relaxed);
        assert!(h.ready().is_err(), "a new leader waits for its caches");
        h.caches_synced.store(true, Ordering::Relaxed);
        assert!(h.ready().is_ok());
    }
}
