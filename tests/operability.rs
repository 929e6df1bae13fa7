//! The operator binary as it runs in a cluster: `/healthz`, `/readyz` and `/metrics`, and leader
//! election between two instances (only the leader reconciles; SIGTERM hands over the lease).
//!
//! Needs `KUBEBUILDER_ASSETS`; skips loudly without it, and fails when `CI=true`.

mod common;

use std::time::Duration;

use auth0_operator::crd::Auth0Client;
use common::*;
use k8s_openapi::api::coordination::v1::Lease;
use kube::{Api, api::PostParams};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

/// `(name, type, label names)` of every metric family a scrape shows, named as documented:
/// counters with their `_total` suffix.
fn exposed_families(text: &str) -> std::collections::BTreeSet<(String, String, Vec<String>)> {
    let mut types: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut it = rest.split_whitespace();
            types.push((it.next().unwrap().into(), it.next().unwrap().into()));
        }
    }
    types
        .into_iter()
        .map(|(family, kind)| {
            let mut labels = std::collections::BTreeSet::new();
            for line in text.lines().filter(|l| !l.starts_with('#')) {
                let name = line.split(['{', ' ']).next().unwrap_or_default();
                let of_family = name == family
                    || name.strip_prefix(family.as_str()).is_some_and(|suffix| {
                        ["_total", "_bucket", "_sum", "_count", "_created"].contains(&suffix)
                    });
                if !of_family {
                    continue;
                }
                if let Some(inner) = line.split_once('{').and_then(|(_, r)| r.split_once('}')) {
                    for pair in inner.0.split(',') {
                        if let Some((k, _)) = pair.split_once('=')
                            && k != "le"
                        {
                            labels.insert(k.to_string());
                        }
                    }
                }
            }
            let name = if kind == "counter" {
                format!("{family}_total")
            } else {
                family
            };
            (name, kind, labels.into_iter().collect())
        })
        .collect()
}

/// The same from the tables of `docs/metrics.md`: rows `| \`name\` | type | labels | meaning |`.
fn documented_families() -> std::collections::BTreeSet<(String, String, Vec<String>)> {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/metrics.md")).unwrap();
    doc.lines()
        .filter(|l| l.starts_with("| `auth0_operator_"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let name = cells[1].trim_matches('`').to_string();
            let kind = cells[2].to_string();
            let mut labels: Vec<String> = cells[3]
                .split(',')
                .map(|c| c.trim().trim_matches('`').to_string())
                .filter(|c| !c.is_empty() && c != "—")
                .collect();
            labels.sort();
            (name, kind, labels)
        })
        .collect()
}

async fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let r = reqwest::get(format!("http://127.0.0.1:{port}{path}"))
        .await
        .ok()?;
    let status = r.status().as_u16();
    Some((status, r.text().await.ok()?))
}

fn sigterm(child: &tokio::process::Child) {
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
    // And one that fails (a foreign Secret in the way), so that error families have series.
    let foreign: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "blocked-auth0"}
    }))
    .unwrap();
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(w.kube.clone(), "default")
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();
    clients
        .create(
            &PostParams::default(),
            &client_obj("blocked", json!({"name": "blocked"})),
        )
        .await
        .unwrap();
    client_ready(&clients, "blocked", "False", "SecretConflict", T).await;
    // And one the trust boundary refuses (the operator's own application), for its family.
    clients
        .create(
            &PostParams::default(),
            &client_obj("protected", json!({"name": "p", "clientId": MGMT_ID})),
        )
        .await
        .unwrap();
    client_ready(&clients, "protected", "False", "Protected", T).await;
    let metrics = eventually("managed objects counted", T, || async {
        let (_, m) = get(port, "/metrics").await?;
        (m.contains(r#"auth0_operator_managed_objects{kind="Auth0Client",ready="true"} 1"#)
            && m.contains(r#"auth0_operator_managed_objects{kind="Auth0Client",ready="false"} 2"#))
        .then_some(m)
    })
    .await;
    for needle in [
        r#"auth0_operator_reconciles_total{kind="Auth0Client",result="success"}"#,
        "auth0_operator_reconcile_duration_seconds_bucket",
        r#"auth0_operator_auth0_requests_total{tenant="default",endpoint="POST /api/v2/clients",status="201"} 1"#,
        r#"auth0_operator_auth0_rate_limited_total{tenant="default"} 0"#,
        "auth0_operator_auth0_ratelimit_remaining",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in:\n{metrics}");
    }
    assert!(
        metrics.contains("\nauth0_operator_auth0_credentials_valid{tenant=\"default\"} 1\n"),
        "credentials reported valid:\n{metrics}"
    );
    // The exposition is exactly what docs/metrics.md documents: every family, its type and its
    // labels (and nothing undocumented, like a doubled prefix).
    pretty_assertions::assert_eq!(
        exposed_families(&metrics),
        documented_families(),
        "left: /metrics, right: docs/metrics.md"
    );
    assert!(
        metrics.contains(
            r#"auth0_operator_reconcile_errors_total{kind="Auth0Client",reason="SecretConflict"}"#
        ),
        "{metrics}"
    );
    assert!(
        !metrics.contains("metered") && !metrics.contains("blocked"),
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
    // The reconcile is counted once it has ended, a moment after its status write is visible.
    let leader_metrics = eventually("the leader counted the reconcile", T, || async {
        let m = get(leader_port, "/metrics").await?.1;
        m.contains(r#"auth0_operator_reconciles_total{kind="Auth0Client",result="success"}"#)
            .then_some(m)
    })
    .await;
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

/// `LOG_FORMAT=json`: every reconcile line parses as JSON and names the object's kind,
/// namespace and name in distinct fields (the span's own `name` must not hide the object's).
#[tokio::test]
async fn json_logs_name_the_object() {
    let Some(w) = world("json_logs_name_the_object", &[]).await else {
        return;
    };
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("operator.log");
    let mut op = operator_with_log(&w, port, &[("LOG_FORMAT", "json")], Some(&log));
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "default");
    clients
        .create(
            &PostParams::default(),
            &client_obj("json-web", json!({"name": "json-web"})),
        )
        .await
        .unwrap();
    client_ready(&clients, "json-web", "True", "Synced", T).await;
    let line = eventually("a JSON log line about json-web", T, || async {
        let text = std::fs::read_to_string(&log).ok()?;
        text.lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["span"]["object"] == "json-web")
    })
    .await;
    assert_eq!(line["span"]["kind"], "Auth0Client", "{line}");
    assert_eq!(line["span"]["namespace"], "default", "{line}");
    assert_eq!(line["span"]["object"], "json-web", "{line}");
    assert_eq!(line["span"]["name"], "reconcile", "{line}");
    let text = std::fs::read_to_string(&log).unwrap();
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<serde_json::Value>(l)
            .unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}"));
        assert!(!l.contains("\u{1b}["), "no colour codes in JSON logs: {l}");
    }
    op.start_kill().unwrap();
    let _ = op.wait().await;
}

/// Wrong management credentials: the process stays ready (a standby must too), but the log says
/// so at start, `auth0_operator_auth0_credentials_valid` is 0, and each resource's Ready message
/// names the problem.
#[tokio::test]
async fn wrong_credentials_are_visible() {
    let Some(w) = world("wrong_credentials_are_visible", &[]).await else {
        return;
    };
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("operator.log");
    let wrong = "not-the-management-secret";
    let mut op = operator_with_log(
        &w,
        port,
        &[("AUTH0_CLIENT_SECRET", wrong), ("LOG_FORMAT", "text")],
        Some(&log),
    );
    eventually("/readyz is 200", T, || async {
        get(port, "/readyz").await.filter(|(c, _)| *c == 200)
    })
    .await;
    let line = eventually("a start-up log line about the credentials", T, || async {
        let text = std::fs::read_to_string(&log).ok()?;
        text.lines()
            .find(|l| l.contains("Auth0 rejected the management credentials"))
            .map(String::from)
    })
    .await;
    assert!(line.contains("ERROR"), "{line}");
    assert!(
        line.contains("AUTH0_CLIENT_SECRET"),
        "says what to check: {line}"
    );
    eventually("credentials_valid 0", T, || async {
        let (_, m) = get(port, "/metrics").await?;
        m.contains("\nauth0_operator_auth0_credentials_valid{tenant=\"default\"} 0\n")
            .then_some(())
    })
    .await;
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "default");
    clients
        .create(
            &PostParams::default(),
            &client_obj("locked-out", json!({"name": "locked-out"})),
        )
        .await
        .unwrap();
    let c = client_ready(&clients, "locked-out", "False", "Auth0Error", T).await;
    let (_, _, message) = ready_of(&c.status.unwrap().conditions).unwrap();
    assert!(
        message.contains("rejected the operator's management credentials"),
        "{message}"
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(!text.contains(wrong), "the secret is never logged");
    assert!(!message.contains(wrong));
    assert!(w.sim.clients().is_empty());
    op.start_kill().unwrap();
    let _ = op.wait().await;
}
