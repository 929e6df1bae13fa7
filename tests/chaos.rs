//! A seeded chaos run: the operator **binary** against the real API server and two simulated
//! tenants, under a schedule of user actions (creates, edits, deletes with both policies,
//! deleted Secrets, a foreign Secret, rotations, a tenant's management credentials changed)
//! interleaved with faults (SIGKILLs of the operator or of the leader, Auth0 5xx, dropped
//! connections, answers after the client's timeout, answers that are not Auth0's, latency
//! spikes, 429 storms, full outages, the kube-apiserver killed and restarted). After the faults stop and a bounded settle time, the
//! promises are checked as invariants and the figures printed as a table.
//!
//! CI runs the small configuration (12 applications, 4 kills, 3 s outages); the large one is
//! `CHAOS_N=200 CHAOS_K=50 CHAOS_OUTAGE_SECS=30 cargo nextest run --test chaos --no-capture`
//! (README, "What it survives"). `CHAOS_SEED` replays a run's schedule.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    time::{Duration, Instant},
};

use auth0_operator::{
    crd::{Auth0Client, Auth0ClientGrant, Auth0Tenant},
    sim::{Faults, RateLimit, SimConfig, Simulator},
};
use common::*;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::{
    Api,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

const API_A: &str = "https://chaos-a.example.com/api";
const API_B: &str = "https://chaos-b.example.com/api";
const DOMAIN_B: &str = "chaos-b.auth0.test";
/// The product's memory target (README; the memory benchmark measures the release binary at
/// 5,000 objects): the operator of this run, a debug build, stays under it too.
const RSS_BOUND_MIB: f64 = 64.0;
/// Management API and token requests per managed object over the whole run, faults included.
const MAX_REQUESTS_PER_OBJECT: f64 = 25.0;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// One managed application of the run.
#[derive(Clone, Debug)]
struct App {
    ns: &'static str,
    name: String,
    /// Alive in Kubernetes (not deleted by the schedule).
    live: bool,
    /// Deleted with `deletionPolicy: Orphan`: its Auth0 client must stay (exactly one).
    orphaned_uid: Option<String>,
    /// Its status named an Auth0 client when it was deleted.
    had_client: bool,
    /// Deleted with `Delete`: no Auth0 client may keep its UID.
    deleted_uid: Option<String>,
    key: bool,
}

fn tally(counts: &mut BTreeMap<&'static str, u64>, what: &'static str) {
    *counts.entry(what).or_default() += 1;
}

#[tokio::test]
async fn chaos_run_keeps_every_promise() {
    chaos_run("chaos_run_keeps_every_promise", 1, 12, 4).await;
}

/// The same with two replicas behind leader election: each kill is the current leader's (the
/// standby takes over when the lease expires).
#[tokio::test]
async fn chaos_run_with_two_replicas_keeps_every_promise() {
    chaos_run("chaos_run_with_two_replicas_keeps_every_promise", 2, 8, 2).await;
}

/// The replica the Lease names as leader (the first when none does yet).
async fn leader(kube: &kube::Client, ids: &[String]) -> usize {
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(kube.clone(), "default");
    let holder = leases
        .get_opt("auth0-operator")
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec?.holder_identity);
    holder
        .and_then(|h| ids.iter().position(|i| *i == h))
        .unwrap_or(0)
}

async fn chaos_run(test: &str, replicas: usize, default_n: u64, default_k: u64) {
    let Some(mut w) = world(test, &[API_A]).await else {
        return;
    };
    let n = env_or("CHAOS_N", default_n) as usize;
    let kills = env_or("CHAOS_K", default_k);
    let mut rng = Seeded::from_env("CHAOS_SEED");
    let seed = rng.0;
    println!("chaos: CHAOS_SEED={seed} CHAOS_N={n} CHAOS_K={kills}");
    let mut injected: BTreeMap<&'static str, u64> = BTreeMap::new();

    // Tenant A: the operator's default tenant (the world's simulator). Tenant B: an
    // Auth0Tenant in namespace chaos-b with its own simulator.
    let mut cfg_b = SimConfig::new(DOMAIN_B, "m2m-b", "secret-b");
    cfg_b.audiences = vec![API_B.to_string()];
    let sim_b = Simulator::start(cfg_b).await.unwrap();
    // Rate-limited like a production tenant, so that 429 storms bite.
    for s in [&*w.sim, &sim_b] {
        s.set_rate_limit(Some(RateLimit {
            burst: 50,
            per_second: 30.0,
        }));
    }
    let sims = [(&*w.sim, "chaos-a"), (&sim_b, "chaos-b")];
    for ns in ["chaos-a", "chaos-b"] {
        namespace(&w.kube, ns).await;
    }
    let mgmt: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mgmt"},
        "stringData": {"AUTH0_CLIENT_ID": "m2m-b", "AUTH0_CLIENT_SECRET": "secret-b"}
    }))
    .unwrap();
    Api::<Secret>::namespaced(w.kube.clone(), "chaos-b")
        .create(&PostParams::default(), &mgmt)
        .await
        .unwrap();
    let tenant: Auth0Tenant = serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Tenant",
        "metadata": {"name": "b"},
        "spec": {"domain": DOMAIN_B, "baseUrl": sim_b.base_url(), "credentialsSecretRef": {"name": "mgmt"}}
    }))
    .unwrap();
    Api::<Auth0Tenant>::namespaced(w.kube.clone(), "chaos-b")
        .create(&PostParams::default(), &tenant)
        .await
        .unwrap();
    // A Secret someone else made, in the way of one application: never overwritten.
    let foreign: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "blocked-auth0"},
        "stringData": {"owner": "someone else"}
    }))
    .unwrap();
    Api::<Secret>::namespaced(w.kube.clone(), "chaos-a")
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let log = |i: u64| dir.path().join(format!("operator-{i}.log"));
    let extra = [
        ("ALLOWED_TENANT_DOMAINS", "*.auth0.test"),
        ("ALLOW_TENANT_BASE_URL", "true"),
        ("RESYNC_INTERVAL", "20s"),
    ];
    let mut runs = 0;
    let ids: Vec<String> = (0..replicas).map(|i| format!("replica-{i}")).collect();
    let start = |w: &World, id: &str, run: u64| {
        let mut env: Vec<(&str, &str)> = extra.to_vec();
        if replicas > 1 {
            env.extend([
                ("LEADER_ELECT", "true"),
                ("LEASE_NAMESPACE", "default"),
                ("POD_NAME", id),
            ]);
        }
        operator_with_log(w, free_port(), &env, Some(&log(run)))
    };
    let mut ops = Vec::new();
    for id in &ids {
        ops.push(start(&w, id, runs));
        runs += 1;
    }

    let apps_api = |ns: &str| Api::<Auth0Client>::namespaced(w.kube.clone(), ns);
    let grants_api = |ns: &str| Api::<Auth0ClientGrant>::namespaced(w.kube.clone(), ns);
    let mut apps: Vec<App> = Vec::new();
    let started = Instant::now();
    // The schedule: n applications (each with a grant), created in waves, with edits, deletes,
    // Secret deletions and rotations; faults switched on and off; kills spread over it.
    let steps = n + kills as usize * 2 + 10;
    let mut kill_at: BTreeSet<usize> = BTreeSet::new();
    while kill_at.len() < (kills as usize).min(steps) {
        kill_at.insert(rng.below(steps as u64) as usize);
    }
    let outage = Duration::from_secs(env_or("CHAOS_OUTAGE_SECS", 3));
    let timeout_at: BTreeSet<usize> = (0..env_or("CHAOS_TIMEOUTS", 1))
        .map(|_| rng.below(steps as u64) as usize)
        .collect();
    let cred_change_at: BTreeSet<usize> = (0..env_or("CHAOS_TENANT_CREDENTIAL_CHANGES", 1))
        .map(|_| rng.below(steps as u64) as usize)
        .collect();
    let restart_at: BTreeSet<usize> = (0..env_or("CHAOS_APISERVER_RESTARTS", 1))
        .map(|_| rng.below(steps as u64) as usize)
        .collect();
    let mut outages_left = env_or("CHAOS_OUTAGES", 2);
    let mut killed = 0;
    let mut created = 0;
    for step in 0..steps {
        // Faults for this step.
        let faults = match rng.below(10) {
            0..=3 => Faults::default(),
            4..=5 => {
                tally(&mut injected, "5xx 20 % + drops 5 %");
                Faults {
                    error_rate: 0.2,
                    drop_rate: 0.05,
                    ..Default::default()
                }
            }
            6 => {
                tally(&mut injected, "answers that are not Auth0's 15 %");
                Faults {
                    garbage_rate: 0.15,
                    ..Default::default()
                }
            }
            7 => {
                tally(&mut injected, "latency spike 400 ms");
                Faults {
                    latency: Duration::from_millis(400),
                    ..Default::default()
                }
            }
            8 => {
                tally(&mut injected, "429 storm");
                w.sim.drain_rate_limit();
                sim_b.drain_rate_limit();
                Faults::default()
            }
            _ if outages_left > 0 => {
                outages_left -= 1;
                tally(&mut injected, "full outages");
                Faults {
                    error_rate: 1.0,
                    ..Default::default()
                }
            }
            _ => Faults::default(),
        };
        for (s, _) in &sims {
            s.set_faults(faults);
        }
        // One user action.
        if created < n {
            let (sim_ns, ns) = sims[created % 2];
            let _ = sim_ns;
            let name = if created == 0 {
                "blocked".to_string()
            } else {
                format!("app-{created}")
            };
            let key = created % 5 == 3;
            let mut spec = json!({"name": name, "appType": "non_interactive",
                                  "grantTypes": ["client_credentials"]});
            if ns == "chaos-b" {
                spec["tenantRef"] = json!({"name": "b"});
            }
            if key {
                spec["authentication"] = json!({"method": "privateKeyJwt"});
                spec["rotation"] = json!({"overlap": "2s"});
            }
            let _ = apps_api(ns)
                .create(&PostParams::default(), &client_obj(&name, spec))
                .await;
            let audience = if ns == "chaos-a" { API_A } else { API_B };
            let mut gspec =
                json!({"clientRef": {"name": name}, "audience": audience, "scopes": []});
            if ns == "chaos-b" {
                gspec["tenantRef"] = json!({"name": "b"});
            }
            let _ = grants_api(ns)
                .create(&PostParams::default(), &grant_obj(&name, gspec))
                .await;
            apps.push(App {
                ns,
                name,
                live: true,
                orphaned_uid: None,
                had_client: false,
                deleted_uid: None,
                key,
            });
            created += 1;
        }
        if apps.len() > 3 && rng.chance(30) {
            let i = 1 + rng.below(apps.len() as u64 - 1) as usize;
            let a = apps[i].clone();
            if a.live {
                match rng.below(4) {
                    0 => {
                        tally(&mut injected, "spec edits");
                        let _ = apps_api(a.ns)
                            .patch(
                                &a.name,
                                &PatchParams::default(),
                                &Patch::Merge(
                                    json!({"spec": {"description": format!("edit {step}")}}),
                                ),
                            )
                            .await;
                    }
                    1 => {
                        tally(&mut injected, "credentials Secrets deleted");
                        let _ = Api::<Secret>::namespaced(w.kube.clone(), a.ns)
                            .delete(&format!("{}-auth0", a.name), &DeleteParams::default())
                            .await;
                    }
                    2 if a.key => {
                        tally(&mut injected, "rotations asked for");
                        let _ = apps_api(a.ns)
                            .patch(&a.name, &PatchParams::default(), &Patch::Merge(json!({"metadata": {"annotations": {"auth0.operator.dev/rotate": format!("r{step}")}}})))
                            .await;
                    }
                    _ => {
                        let orphan = rng.chance(50);
                        tally(
                            &mut injected,
                            if orphan {
                                "deletes (Orphan)"
                            } else {
                                "deletes (Delete)"
                            },
                        );
                        let current = apps_api(a.ns).get(&a.name).await.ok();
                        let uid = current.as_ref().and_then(|c| c.metadata.uid.clone());
                        // Whether an Auth0 client was known to exist (a resource deleted before
                        // any operator reconciled it has none, and Orphan keeps none).
                        apps[i].had_client = current
                            .as_ref()
                            .and_then(|c| c.status.as_ref())
                            .and_then(|st| st.client_id.as_ref())
                            .is_some();
                        if orphan {
                            let _ = apps_api(a.ns)
                                .patch(
                                    &a.name,
                                    &PatchParams::default(),
                                    &Patch::Merge(json!({"spec": {"deletionPolicy": "Orphan"}})),
                                )
                                .await;
                            let _ = grants_api(a.ns)
                                .patch(
                                    &a.name,
                                    &PatchParams::default(),
                                    &Patch::Merge(json!({"spec": {"deletionPolicy": "Orphan"}})),
                                )
                                .await;
                            // The policy must be seen before the delete.
                            tokio::time::sleep(Duration::from_millis(300)).await;
                        }
                        let _ = grants_api(a.ns)
                            .delete(&a.name, &DeleteParams::default())
                            .await;
                        let _ = apps_api(a.ns)
                            .delete(&a.name, &DeleteParams::default())
                            .await;
                        apps[i].live = false;
                        if orphan {
                            apps[i].orphaned_uid = uid;
                        } else {
                            apps[i].deleted_uid = uid;
                        }
                    }
                }
            }
        }
        if timeout_at.contains(&step) {
            // Answers that come after the client's 30 s request timeout (the create took effect).
            tally(&mut injected, "requests timed out (answer after 31 s)");
            for (sim, _) in &sims {
                sim.set_response_delay("POST", "/api/v2/client-grants", Duration::from_secs(31));
            }
        } else {
            for (sim, _) in &sims {
                sim.set_response_delay("POST", "/api/v2/client-grants", Duration::ZERO);
            }
        }
        if cred_change_at.contains(&step) {
            // Tenant B's management secret is rotated in Auth0, then in its Secret.
            tally(&mut injected, "tenant credentials changed");
            let secret = format!("secret-b-{step}");
            sim_b.set_management_secret(&secret);
            tokio::time::sleep(Duration::from_millis(rng.below(1500))).await;
            // (Retried: the API server may be down at this instant; the user would retry too.)
            eventually(
                "the tenant's Secret is updated",
                Duration::from_secs(60),
                || {
                    let (kube, secret) = (w.kube.clone(), secret.clone());
                    async move {
                        Api::<Secret>::namespaced(kube, "chaos-b")
                            .patch(
                                "mgmt",
                                &PatchParams::default(),
                                &Patch::Merge(
                                    json!({"stringData": {"AUTH0_CLIENT_SECRET": secret}}),
                                ),
                            )
                            .await
                            .ok()
                    }
                },
            )
            .await;
        }
        if restart_at.contains(&step) {
            // The API server dies (watches cut, requests refused) and comes back on its etcd.
            tally(&mut injected, "kube-apiserver killed and restarted");
            w.env
                .restart_apiserver()
                .await
                .expect("the apiserver restarts");
        }
        if kill_at.contains(&step) {
            tokio::time::sleep(Duration::from_millis(rng.below(700))).await;
            let victim = if replicas > 1 {
                leader(&w.kube, &ids).await
            } else {
                0
            };
            ops[victim].start_kill().unwrap();
            let _ = ops[victim].wait().await;
            killed += 1;
            ops[victim] = start(&w, &ids[victim], runs);
            runs += 1;
        }
        tokio::time::sleep(Duration::from_millis(300 + rng.below(600))).await;
        if faults.error_rate >= 1.0 {
            tokio::time::sleep(outage).await;
        }
    }
    // The faults stop.
    for (s, _) in &sims {
        s.set_faults(Faults::default());
    }
    let last_fault = Instant::now();
    let schedule_secs = last_fault.duration_since(started).as_secs_f64();

    // Settle (bounded): every live object Ready (the blocked one: SecretConflict), every deleted
    // one gone.
    let settle_limit = Duration::from_secs(120 + n as u64);
    let mut pending: Vec<String> = Vec::new();
    let settled = tokio::time::timeout(settle_limit, async {
        loop {
            pending.clear();
            for a in apps.iter().filter(|a| a.live) {
                let want = if a.name == "blocked" {
                    ("False", "SecretConflict")
                } else {
                    ("True", "Synced")
                };
                let c = apps_api(a.ns).get(&a.name).await.ok();
                let ready = c
                    .as_ref()
                    .and_then(|c| c.status.as_ref())
                    .and_then(|s| ready_of(&s.conditions));
                if ready.as_ref().map(|(s, r, _)| (s.as_str(), r.as_str())) != Some(want) {
                    pending.push(format!("Auth0Client {}/{}: {ready:?}", a.ns, a.name));
                }
                if a.name != "blocked" {
                    // Its Secret is there again (a deleted one is rewritten).
                    let secret = Api::<Secret>::namespaced(w.kube.clone(), a.ns)
                        .get_opt(&format!("{}-auth0", a.name))
                        .await
                        .ok()
                        .flatten();
                    // ... with a credential (not only a key still being registered).
                    if secret
                        .as_ref()
                        .and_then(|s| secret_value(s, "AUTH0_CLIENT_ID"))
                        .is_none()
                    {
                        pending.push(format!("Secret {}/{}-auth0 not written yet", a.ns, a.name));
                    }
                    let g = grants_api(a.ns).get(&a.name).await.ok();
                    let ready = g
                        .as_ref()
                        .and_then(|g| g.status.as_ref())
                        .and_then(|s| ready_of(&s.conditions));
                    if ready.as_ref().map(|(s, _, _)| s.as_str()) != Some("True") {
                        pending.push(format!("Auth0ClientGrant {}/{}: {ready:?}", a.ns, a.name));
                    }
                }
            }
            // Deleted resources are gone (the operator finished their cleanup, finalizer off).
            for a in apps.iter().filter(|a| !a.live) {
                if apps_api(a.ns)
                    .get_opt(&a.name)
                    .await
                    .ok()
                    .flatten()
                    .is_some()
                {
                    pending.push(format!(
                        "Auth0Client {}/{} still being deleted",
                        a.ns, a.name
                    ));
                }
                if grants_api(a.ns)
                    .get_opt(&a.name)
                    .await
                    .ok()
                    .flatten()
                    .is_some()
                {
                    pending.push(format!(
                        "Auth0ClientGrant {}/{} still being deleted",
                        a.ns, a.name
                    ));
                }
            }
            if pending.is_empty() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    })
    .await;
    let settle = last_fault.elapsed();
    assert!(
        settled.is_ok(),
        "seed {seed}: not settled in {settle_limit:?}: {pending:#?}"
    );

    // Invariants.
    let mut violations: Vec<String> = Vec::new();
    let mut duplicates = 0;
    let mut dead = 0;
    for (sim, ns) in &sims {
        let by_uid = |uid: &str| {
            sim.clients()
                .into_iter()
                .filter(|c| c["client_metadata"]["k8s_operator_uid"] == uid)
                .collect::<Vec<Value>>()
        };
        for a in apps.iter().filter(|a| a.ns == *ns) {
            if a.live && a.name != "blocked" {
                let c = apps_api(a.ns).get(&a.name).await.unwrap();
                let uid = c.metadata.uid.clone().unwrap();
                let found = by_uid(&uid);
                if found.len() != 1 {
                    duplicates += found.len().saturating_sub(1);
                    violations.push(format!("{ns}/{}: {} Auth0 clients", a.name, found.len()));
                }
                let id = c
                    .status
                    .as_ref()
                    .and_then(|s| s.client_id.clone())
                    .unwrap_or_default();
                let grants: Vec<Value> = sim
                    .grants()
                    .into_iter()
                    .filter(|g| g["client_id"] == id.as_str())
                    .collect();
                if grants.len() != 1 {
                    violations.push(format!("{ns}/{}: {} grants", a.name, grants.len()));
                }
                // The Secret's credential obtains a token.
                let s = Api::<Secret>::namespaced(w.kube.clone(), a.ns)
                    .get(&format!("{}-auth0", a.name))
                    .await;
                let audience = if *ns == "chaos-a" { API_A } else { API_B };
                let held = s
                    .as_ref()
                    .ok()
                    .map(|s| {
                        let keys: Vec<String> =
                            s.data.iter().flatten().map(|(k, _)| k.clone()).collect();
                        format!("{keys:?} kid {:?}", secret_value(s, "AUTH0_KEY_ID"))
                    })
                    .unwrap_or_default();
                let ok = match s {
                    Ok(s) => {
                        token_with(
                            sim,
                            &s,
                            audience,
                            if *ns == "chaos-a" { DOMAIN } else { DOMAIN_B },
                        )
                        .await
                            == 200
                    }
                    Err(_) => false,
                };
                if !ok {
                    dead += 1;
                    let listed = sim
                        .all_clients()
                        .into_iter()
                        .find(|c| c["client_id"] == id.as_str())
                        .map(|c| c["client_authentication_methods"].to_string())
                        .unwrap_or_default();
                    violations.push(format!(
                        "{ns}/{}: the Secret's credential gets no token (the Secret holds {held}; Auth0 lists {listed}, kids {:?})",
                        a.name,
                        sim.client_credentials(&id).iter().map(|c| c["kid"].to_string()).collect::<Vec<_>>()
                    ));
                }
            }
            if let Some(uid) = &a.deleted_uid
                && !by_uid(uid).is_empty()
            {
                let left: Vec<String> = by_uid(uid)
                    .iter()
                    .map(|c| c["client_id"].as_str().unwrap_or_default().to_string())
                    .collect();
                violations.push(format!(
                    "{ns}/{}: deleted with Delete, still in Auth0 ({})",
                    a.name,
                    left.join(", ")
                ));
            }
            // Orphan keeps the application it had (exactly one), and never makes one.
            if let Some(uid) = &a.orphaned_uid
                && (by_uid(uid).len() > 1 || (a.had_client && by_uid(uid).len() != 1))
            {
                violations.push(format!(
                    "{ns}/{}: orphaned, {} Auth0 clients",
                    a.name,
                    by_uid(uid).len()
                ));
            }
        }
    }
    // The foreign Secret is untouched.
    let f = Api::<Secret>::namespaced(w.kube.clone(), "chaos-a")
        .get("blocked-auth0")
        .await
        .unwrap();
    if secret_value(&f, "owner").as_deref() != Some("someone else")
        || f.data.as_ref().map(|d| d.len()) != Some(1)
    {
        violations.push("the foreign Secret was changed".into());
    }
    // Memory of the running operator(s), after everything settled.
    let rss_mib = ops
        .iter()
        .filter_map(|op| op.id())
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .fold(0.0f64, |a, kib| a.max(kib / 1024.0));
    if rss_mib > RSS_BOUND_MIB {
        violations.push(format!(
            "operator RSS {rss_mib:.1} MiB over {RSS_BOUND_MIB} MiB"
        ));
    }
    // No secret byte in logs, events or status; no panic.
    for op in &mut ops {
        let _ = op.start_kill();
        let _ = op.wait().await;
    }
    let mut logs = String::new();
    for i in 0..runs {
        logs.push_str(&std::fs::read_to_string(log(i)).unwrap_or_default());
    }
    let mut exposed = logs.clone();
    for ns in ["chaos-a", "chaos-b"] {
        for e in Api::<Event>::namespaced(w.kube.clone(), ns)
            .list(&ListParams::default())
            .await
            .unwrap()
        {
            exposed.push_str(&e.message.unwrap_or_default());
        }
        for c in apps_api(ns).list(&ListParams::default()).await.unwrap() {
            exposed.push_str(&serde_json::to_string(&c.status).unwrap());
        }
    }
    let mut secrets: BTreeSet<String> = BTreeSet::new();
    for (sim, _) in &sims {
        for c in sim.all_clients() {
            if let Some(s) = c["client_secret"].as_str() {
                secrets.insert(s.to_string());
            }
        }
    }
    for ns in ["chaos-a", "chaos-b"] {
        for s in Api::<Secret>::namespaced(w.kube.clone(), ns)
            .list(&ListParams::default())
            .await
            .unwrap()
        {
            if let Some(pem) = secret_value(&s, "AUTH0_PRIVATE_KEY") {
                secrets.insert(pem.lines().nth(1).unwrap_or_default().to_string());
            }
        }
    }
    let leaked = secrets
        .iter()
        .filter(|s| s.len() >= 16 && exposed.contains(s.as_str()))
        .count();
    if leaked > 0 {
        violations.push(format!("{leaked} secret values in logs, events or status"));
    }
    let panics = logs.matches("panicked").count();
    if panics > 0 {
        violations.push(format!("{panics} panics in the logs"));
    }
    let requests: usize = sims.iter().map(|(s, _)| s.requests().len()).sum();
    // No retry storm: faults cost retries, not an avalanche.
    let per_object = requests as f64 / (2 * n) as f64;
    if per_object > MAX_REQUESTS_PER_OBJECT {
        violations.push(format!(
            "{per_object:.1} requests per object (over {MAX_REQUESTS_PER_OBJECT}): a retry storm"
        ));
    }
    let by_status = |pred: &dyn Fn(u16) -> bool| -> usize {
        sims.iter()
            .map(|(s, _)| {
                s.requests()
                    .into_iter()
                    .filter(|r| r.path.starts_with("/api/v2/") && pred(r.status))
                    .count()
            })
            .sum()
    };

    println!(
        "\nchaos run (seed {seed}): {n} applications + {n} grants over 2 tenants, {replicas} replica(s), {schedule_secs:.0} s of schedule"
    );
    println!("| figure | value |");
    println!("| --- | --- |");
    println!(
        "| operator SIGKILLs survived{} | {killed} |",
        if replicas > 1 {
            " (the leader each time)"
        } else {
            ""
        }
    );
    for (what, count) in &injected {
        println!("| {what} | {count} steps |");
    }
    println!(
        "| Management API answers 5xx / dropped / 429 | {} / {} / {} |",
        by_status(&|s| s >= 500),
        by_status(&|s| s == 0),
        by_status(&|s| s == 429)
    );
    println!("| requests sent (both tenants) | {requests} ({per_object:.1} per object) |");
    println!(
        "| operator RSS after settling (debug build; bound {RSS_BOUND_MIB} MiB) | {rss_mib:.1} MiB |"
    );
    println!(
        "| settle time after the last fault | {:.1} s |",
        settle.as_secs_f64()
    );
    println!("| duplicate Auth0 objects | {duplicates} |");
    println!("| lost or dead credentials | {dead} |");
    println!(
        "| leaked secret values ({} checked) | {leaked} |",
        secrets.len()
    );
    println!("| panics | {panics} |");
    if !violations.is_empty() {
        // Keep the operator logs of a failed run.
        let kept = dir.keep();
        panic!(
            "seed {seed}: {violations:#?}\noperator logs kept in {}",
            kept.display()
        );
    }
}

/// A token request with what the Secret holds (a client secret or a private key).
async fn token_with(sim: &Simulator, s: &Secret, audience: &str, domain: &str) -> u16 {
    let Some(id) = secret_value(s, "AUTH0_CLIENT_ID") else {
        return 0;
    };
    let body = match (
        secret_value(s, "AUTH0_PRIVATE_KEY"),
        secret_value(s, "AUTH0_CLIENT_SECRET"),
    ) {
        (Some(pem), _) => json!({
            "grant_type": "client_credentials", "client_id": id, "audience": audience,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": jwt::client_assertion(&pem, &secret_value(s, "AUTH0_KEY_ID").unwrap_or_default(), &secret_value(s, "AUTH0_SIGNING_ALG").unwrap_or_default(), &id, domain),
        }),
        (None, Some(secret)) => json!({"grant_type": "client_credentials", "client_id": id,
                                       "client_secret": secret, "audience": audience}),
        _ => return 0,
    };
    token_request(sim, body).await
}
