//! Leader election through a `coordination.k8s.io/v1` Lease (kube-lease-manager), so that
//! two replicas never reconcile at once. A standby waits (and reports ready); the leader runs
//! the controllers while it keeps renewing the lease. Losing the lease stops the controllers
//! and ends the process with an error, so Kubernetes restarts it as a fresh standby; SIGTERM
//! stops the controllers and releases the lease at once, so a standby takes over without
//! waiting for the lease to expire.

use std::sync::{Arc, atomic::Ordering};

use anyhow::Context as _;
use futures::FutureExt;
use kube_lease_manager::{LeaseManagerBuilder, LeaseParams};
use tracing::{info, warn};

use crate::{
    config::{LeaderElection, OperatorConfig},
    http::Health,
    metrics::Metrics,
};

/// The lease settings of the instance `identity`. The field manager is the instance's own:
/// taking the lease is a server-side apply of `holderIdentity` without force, so that a second
/// instance applying at the same moment gets a conflict. With one field manager shared by every
/// instance both applies succeeded, and two instances that started together both led for a few
/// seconds (each created the same Auth0 application: a chaos run found one left behind).
pub fn lease_params(identity: &str, duration: u64, grace: u64) -> LeaseParams {
    LeaseParams::new(identity.to_string(), duration, grace)
        .with_field_manager(format!("auth0-operator-leader-election-{identity}"))
}

/// Runs the controllers whenever this instance holds the lease, until `shutdown`.
pub async fn run_elected(
    kube: kube::Client,
    config: OperatorConfig,
    le: LeaderElection,
    metrics: Arc<Metrics>,
    health: Arc<Health>,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> anyhow::Result<()> {
    health.electing.store(true, Ordering::Relaxed);
    let duration = le.lease_duration_secs.max(3);
    // Renew once a third of the lease has passed (like client-go's renew deadline, 10 s of 15 s):
    // a slow API server then has two thirds of the lease, not one, before the standby may take
    // it (under load the old 5 s margin was missed and the leader stepped down).
    let grace = (duration * 2 / 3).clamp(1, duration - 1);
    let manager = LeaseManagerBuilder::new(kube.clone(), &le.lease_name)
        .with_namespace(&le.lease_namespace)
        .with_parameters(lease_params(&config.identity, duration, grace))
        .build()
        .await
        .with_context(|| format!("cannot use Lease {}/{}", le.lease_namespace, le.lease_name))?;
    let shutdown = shutdown.boxed().shared();
    info!(identity = %config.identity, lease = %format!("{}/{}", le.lease_namespace, le.lease_name), "waiting to become leader");

    // Standby until the lease is ours (or we are told to stop).
    loop {
        tokio::select! {
            changed = manager.changed() => {
                match changed {
                    Ok(true) => break,
                    Ok(false) => continue,
                    Err(e) => {
                        warn!(error = %e, "leader election error; retrying");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
            _ = shutdown.clone() => return Ok(()),
        }
    }
    health.leader.store(true, Ordering::Relaxed);
    info!(identity = %config.identity, "became leader");

    // Lead: keep renewing; stop the controllers when the lease is lost or on shutdown.
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
    let renew = async {
        loop {
            match manager.changed().await {
                Ok(true) => continue,
                Ok(false) => break,
                Err(e) => {
                    warn!(error = %e, "lease renewal failed");
                    break;
                }
            }
        }
        let _ = lost_tx.send(());
    };
    let stop = {
        let shutdown = shutdown.clone();
        async move {
            tokio::select! {
                _ = shutdown => false,
                _ = lost_rx => true,
            }
        }
        .shared()
    };
    let controllers = crate::controller::run_with(
        kube,
        config,
        metrics,
        health.clone(),
        stop.clone().map(|_| ()),
    );
    tokio::pin!(controllers);
    tokio::pin!(renew);
    let result = tokio::select! {
        r = &mut controllers => r,
        // Lease lost: `stop` fired, so the controllers are shutting down; let them finish.
        _ = &mut renew => controllers.await,
    };
    health.leader.store(false, Ordering::Relaxed);
    let lost = stop.peek().copied().unwrap_or(false);
    if let Err(e) = manager.release().await {
        warn!(error = %e, "could not release the lease");
    } else {
        info!("released the lease");
    }
    result?;
    if lost {
        anyhow::bail!(
            "lost the leader lease; exiting so that Kubernetes restarts this instance as a standby"
        );
    }
    Ok(())
}
