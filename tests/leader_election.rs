//! Leader election on the real API server: instances that start at the same moment, with no
//! Lease yet, never both become leader (each takes the lease with its own field manager, so the
//! second server-side apply of `holderIdentity` is a conflict).
//!
//! Needs `KUBEBUILDER_ASSETS`; skips loudly without it, and fails when `CI=true`.

use std::time::Duration;

use auth0_operator::{envtest::start_or_skip, leader::lease_params};
use kube_lease_manager::LeaseManagerBuilder;

#[tokio::test]
async fn instances_starting_together_never_both_lead() {
    let Some(env) = start_or_skip("instances_starting_together_never_both_lead").await else {
        return;
    };
    let kube = env.client();
    let mut leaders_seen = Vec::new();
    for round in 0..10 {
        let lease = format!("race-{round}");
        let manager = |identity: &str| {
            LeaseManagerBuilder::new(kube.clone(), &lease)
                .with_namespace("default")
                .with_parameters(lease_params(identity, 15, 10))
                .build()
        };
        let (a, b) = tokio::join!(manager("replica-a"), manager("replica-b"));
        let (a, b) = (a.unwrap(), b.unwrap());
        // Each asks until it is leader or has waited a second (the lease lasts 15 s: a standby
        // cannot take it in that time).
        let lead = |m: kube_lease_manager::LeaseManager| async move {
            let won = tokio::time::timeout(Duration::from_secs(1), async {
                loop {
                    match m.changed().await {
                        Ok(true) => return true,
                        Ok(false) => continue,
                        Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            })
            .await
            .unwrap_or(false);
            (won, m)
        };
        let ((won_a, _a), (won_b, _b)) = tokio::join!(lead(a), lead(b));
        assert!(
            !(won_a && won_b),
            "round {round}: both instances became leader of Lease {lease}"
        );
        leaders_seen.push(u8::from(won_a) + u8::from(won_b));
    }
    assert!(
        leaders_seen.iter().all(|n| *n == 1),
        "every round has exactly one leader: {leaders_seen:?}"
    );
    env.stop().await;
}
