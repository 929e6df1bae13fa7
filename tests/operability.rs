//! The operator binary as it runs in a cluster: `/healthz`, `/readyz` and `/metrics`, and leader
//! election between two instances (only the leader reconciles; SIGTERM hands over the lease).
//!
//! Needs `KUBEBUILDER_ASSETS`; skips loudly without it, and fails when `CI=true`.

mod common;

use std::{net::TcpListener, process::Stdio, time::Duration};

use auth0_operator::crd::Auth0Client;
use common::*;
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, api::PostParams};
use serde_json::json;
use tokio::process::{Child, Command};

const T: Duration = Duration::from_secs(30);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn operator(w: &World, port: u16, extra: &[(&str, &str)]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_auth0-operator"));
    cmd.arg("run")
        .env("KUBECONFIG", w.env.kubeconfig_path())
        .env("AUTH0_DOMAIN", DOMAIN)
        .env("AUTH0_CLIENT_ID", MGMT_ID)
        .env("AUTH0_CLIENT_SECRET", MGMT_SECRET)
        .env("AUTH0_BASE_URL", w.sim.base_url())
        .env("HTTP_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .kill_on_drop(true);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().expect("operator binary starts")
}

async fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let r = reqwest::get(format!("http://127.0.0.1:{port}{path}"))
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.ok()?))
}

fn sigterm(child: &Child) {
    let pid = child.id().expect("running") as i32;
    // SAFETY-free: plain libc-less signal through the `kill` command.
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
}

#[tokio::test]
async fn probes_and_metrics() {
    let Some(w) = world("probes_and_metrics", &[]).await else {
        return;
    };
    let port = free_port();
    let started = std::time::Instant::now();
    let mut op = operator(&w, port, &[]);
    let (code, body) = eventually("/healthz answers", T, || async {
        get(port, "/healthz").await
    })
    .await;
    assert_eq!((code, body.as_str()), (200, "ok"));
    eventually("/readyz is 200", T, || async {
        get(port, "/readyz").await.filter(|(c, _)| *c == 200)
    })
    .await;
    eprintln!("ready {} ms after start", started.elapsed().as_millis());

    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "default");
    clients
        .create(
            &PostParams::default(),
            &client_obj("metered", json!({"name": "metered"})),
        )
        .await
        .unwrap();
    client_ready(&clients, "metered", "True", "Synced", T).await;
    let metrics = eventually("managed objects counted", T, || async {
        let (_, m) = get(port, "/metrics").await?;
        m.contains(r#"auth0_operator_managed_objects{kind="Auth0Client",ready="true"} 1"#)
            .then_some(m)
    })
    .await;
    for needle in [
        r#"auth0_operator_reconciles_total{kind="Auth0Client",result="success"}"#,
        "auth0_operator_reconcile_duration_seconds_bucket",
        r#"auth0_operator_auth0_requests_total{endpoint="POST /api/v2/clients",status="201"} 1"#,
        "auth0_operator_auth0_rate_limited_total 0",
        "auth0_operator_auth0_ratelimit_remaining",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in:\n{metrics}");
    }
    assert!(
        !metrics.contains("metered"),
        "no object names in metric labels"
    );
    let id = clients
        .get("metered")
        .await
        .unwrap()
        .status
        .unwrap()
        .client_id
        .unwrap();
    assert!(!metrics.contains(&id), "no Auth0 ids in metric labels");

    sigterm(&op);
    let status = tokio::time::timeout(T, op.wait())
        .await
        .expect("exits on SIGTERM")
        .unwrap();
    assert!(status.success(), "clean exit on SIGTERM: {status:?}");
}

#[tokio::test]
async fn leader_election_one_active_instance() {
    let Some(w) = world("leader_election_one_active_instance", &[]).await else {
        return;
    };
    let (pa, pb) = (free_port(), free_port());
    let le = |id: &'static str| {
        [
            ("LEADER_ELECT", "true"),
            ("LEASE_NAMESPACE", "default"),
            ("POD_NAME", id),
        ]
    };
    let mut a = operator(&w, pa, &le("instance-a"));
    let mut b = operator(&w, pb, &le("instance-b"));
    let leases: Api<Lease> = Api::namespaced(w.kube.clone(), "default");
    // Exactly one instance leads (and is ready once synced); the other is a ready hot standby.
    let (leader_port, standby_port) =
        eventually("one leader and one standby, both ready", T, || async {
            let (ca, ra) = get(pa, "/readyz").await?;
            let (cb, rb) = get(pb, "/readyz").await?;
            match (ca, cb, ra.as_str(), rb.as_str()) {
                (200, 200, "ok (leader)", "ok (standby)") => Some((pa, pb)),
                (200, 200, "ok (standby)", "ok (leader)") => Some((pb, pa)),
                _ => None,
            }
        })
        .await;
    let holder = leases
        .get("auth0-operator")
        .await
        .unwrap()
        .spec
        .unwrap()
        .holder_identity
        .unwrap();
    assert_eq!(
        holder,
        if leader_port == pa {
            "instance-a"
        } else {
            "instance-b"
        },
        "the Lease names the leader"
    );

    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "default");
    clients
        .create(
            &PostParams::default(),
            &client_obj("first", json!({"name": "first"})),
        )
        .await
        .unwrap();
    client_ready(&clients, "first", "True", "Synced", T).await;
    let leader_metrics = get(leader_port, "/metrics").await.unwrap().1;
    let standby_metrics = get(standby_port, "/metrics").await.unwrap().1;
    assert!(
        leader_metrics
            .contains(r#"auth0_operator_reconciles_total{kind="Auth0Client",result="success"}"#)
    );
    assert!(
        !standby_metrics.contains("auth0_operator_reconciles_total{"),
        "the standby reconciles nothing:\n{standby_metrics}"
    );
    assert!(
        !standby_metrics.contains(r#"endpoint="POST /api/v2/clients""#),
        "the standby calls no Auth0 API"
    );

    // SIGTERM the leader: it releases the lease and the standby takes over.
    let (leader, standby) = if holder == "instance-a" {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    sigterm(leader);
    assert!(
        tokio::time::timeout(T, leader.wait())
            .await
            .expect("leader exits")
            .unwrap()
            .success()
    );
    let new_holder = eventually("the standby takes the lease", T, || async {
        let h = leases
            .get_opt("auth0-operator")
            .await
            .ok()
            .flatten()?
            .spec?
            .holder_identity?;
        (h != holder).then_some(h)
    })
    .await;
    assert_ne!(new_holder, holder);
    clients
        .create(
            &PostParams::default(),
            &client_obj("second", json!({"name": "second"})),
        )
        .await
        .unwrap();
    client_ready(&clients, "second", "True", "Synced", T).await;
    let m = get(standby_port, "/metrics").await.unwrap().1;
    assert!(
        m.contains(r#"auth0_operator_reconciles_total{kind="Auth0Client",result="success"}"#),
        "new leader reconciles"
    );
    assert_eq!(
        w.sim.clients().len(),
        2,
        "one Auth0 client per resource, no duplicates across the hand-over"
    );
    standby.start_kill().unwrap();
}
