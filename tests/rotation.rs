//! Credential lifecycle against the real API server and the simulator's token endpoint: a
//! workload that re-reads the credentials Secret every 100 ms (as a pod with a mounted Secret
//! would) and asks for a token with whatever it holds, across rotations of a private-key JWT
//! client and of client secrets; switching methods both ways; the schedule across restarts;
//! and the operator binary killed at random instants of rotations.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use auth0_operator::{
    crd::{Auth0Client, Auth0ClientGrant},
    sim::Simulator,
};
use common::*;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(60);
const API_ID: &str = "https://billing.example/";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the workload authenticates.
#[derive(Clone, Copy, Debug)]
enum Mode {
    /// `AUTH0_PRIVATE_KEY` + `AUTH0_KEY_ID` + `AUTH0_SIGNING_ALG`.
    Key,
    /// `AUTH0_CLIENT_SECRET` only.
    Secret,
    /// `AUTH0_CLIENT_SECRET`, then `AUTH0_CLIENT_SECRET_NEXT` when it is refused (README).
    SecretWithNext,
}

/// What a workload saw.
#[derive(Debug, Default)]
struct Figures {
    attempts: u64,
    failures: u64,
    /// The first few failures: (status, which credential).
    failed: Vec<String>,
    /// Most credentials the application had registered in Auth0 at any sample.
    max_keys: usize,
    /// Distinct credentials the workload used successfully.
    used: std::collections::BTreeSet<String>,
}

async fn token_with_secret(sim: &Simulator, id: &str, secret: &str) -> u16 {
    token_request(
        sim,
        json!({"grant_type": "client_credentials", "client_id": id,
               "client_secret": secret, "audience": API_ID}),
    )
    .await
}

async fn token_with_key(sim: &Simulator, id: &str, pem: &str, kid: &str, alg: &str) -> u16 {
    let assertion = jwt::client_assertion(pem, kid, alg, id, DOMAIN);
    token_request(
        sim,
        json!({"grant_type": "client_credentials", "client_id": id,
               "client_assertion_type": JWT_BEARER, "client_assertion": assertion,
               "audience": API_ID}),
    )
    .await
}

/// One token request with what `s` holds: (status, the credential's short name).
async fn try_secret(sim: &Simulator, s: &Secret, mode: Mode) -> Option<(u16, String)> {
    let id = secret_value(s, "AUTH0_CLIENT_ID")?;
    match mode {
        Mode::Key => {
            let pem = secret_value(s, "AUTH0_PRIVATE_KEY")?;
            let kid = secret_value(s, "AUTH0_KEY_ID")?;
            let alg = secret_value(s, "AUTH0_SIGNING_ALG")?;
            Some((token_with_key(sim, &id, &pem, &kid, &alg).await, kid))
        }
        Mode::Secret | Mode::SecretWithNext => {
            let secret = secret_value(s, "AUTH0_CLIENT_SECRET")?;
            let status = token_with_secret(sim, &id, &secret).await;
            let short = secret[..8].to_string();
            if status != 200
                && matches!(mode, Mode::SecretWithNext)
                && let Some(next) = secret_value(s, "AUTH0_CLIENT_SECRET_NEXT")
            {
                let status = token_with_secret(sim, &id, &next).await;
                return Some((status, format!("next {}", &next[..8])));
            }
            Some((status, short))
        }
    }
}

/// A workload polling the Secret every 100 ms until `stop` is set.
fn workload(
    kube: &kube::Client,
    ns: &str,
    secret: &str,
    sim: Arc<Simulator>,
    mode: Mode,
) -> (Arc<AtomicBool>, tokio::task::JoinHandle<Figures>) {
    let stop = Arc::new(AtomicBool::new(false));
    let api: Api<Secret> = Api::namespaced(kube.clone(), ns);
    let (name, flag) = (secret.to_string(), stop.clone());
    let task = tokio::spawn(async move {
        let mut f = Figures::default();
        while !flag.load(Ordering::Relaxed) {
            if let Ok(Some(s)) = api.get_opt(&name).await
                && let Some((status, which)) = try_secret(&sim, &s, mode).await
            {
                f.attempts += 1;
                if status == 200 {
                    f.used.insert(which);
                } else {
                    f.failures += 1;
                    if f.failed.len() < 5 {
                        f.failed.push(format!("{status} with {which}"));
                    }
                }
                if let Some(id) = secret_value(&s, "AUTH0_CLIENT_ID") {
                    f.max_keys = f.max_keys.max(sim.client_credentials(&id).len());
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        f
    });
    (stop, task)
}

async fn finish(stop: Arc<AtomicBool>, task: tokio::task::JoinHandle<Figures>) -> Figures {
    stop.store(true, Ordering::Relaxed);
    task.await.unwrap()
}

async fn set_annotation(api: &Api<Auth0Client>, name: &str, key: &str, value: &str) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {key: value}}})),
    )
    .await
    .unwrap();
}

async fn merge_spec(api: &Api<Auth0Client>, name: &str, spec: Value) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": spec})),
    )
    .await
    .unwrap();
}

fn condition(c: &Auth0Client, type_: &str) -> Option<(String, String)> {
    c.status
        .as_ref()?
        .conditions
        .iter()
        .find(|x| x.type_ == type_)
        .map(|x| (x.status.clone(), x.reason.clone()))
}

/// A world with the test API, the operator (resync `resync`) and `name` with a grant in `ns`.
async fn setup(
    test: &str,
    ns: &str,
    name: &str,
    extra: Value,
    resync: Duration,
) -> Option<(World, Operator, Api<Auth0Client>)> {
    let w = world(test, &[API_ID]).await?;
    let op = Operator::start(&w.kube, operator_config(&w.sim, resync));
    let clients = client_with_grant(&w, ns, name, extra).await;
    Some((w, op, clients))
}

/// The client and a grant to the test API, in `ns`.
async fn client_with_grant(w: &World, ns: &str, name: &str, extra: Value) -> Api<Auth0Client> {
    namespace(&w.kube, ns).await;
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), ns);
    let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), ns);
    let mut spec = json!({"name": name, "appType": "non_interactive",
                          "grantTypes": ["client_credentials"]});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    clients
        .create(&PostParams::default(), &client_obj(name, spec))
        .await
        .unwrap();
    grants
        .create(
            &PostParams::default(),
            &grant_obj(
                name,
                json!({"clientRef": {"name": name}, "audience": API_ID, "scope": ["read:invoices"]}),
            ),
        )
        .await
        .unwrap();
    grant_ready(&grants, name, "True", "Synced", T).await;
    clients
}

/// Every event and the status of `name` in `ns`, as text (to look for secrets in).
async fn events_and_status(w: &World, ns: &str, name: &str) -> String {
    let events: Api<Event> = Api::namespaced(w.kube.clone(), ns);
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), ns);
    let mut text = String::new();
    for e in events.list(&ListParams::default()).await.unwrap() {
        text.push_str(&format!(
            "{} {}\n",
            e.reason.unwrap_or_default(),
            e.message.unwrap_or_default()
        ));
    }
    text.push_str(&serde_json::to_string(&clients.get(name).await.unwrap().status).unwrap());
    text
}

fn event_count(text: &str, reason: &str) -> usize {
    text.lines()
        .filter(|l| l.starts_with(&format!("{reason} ")))
        .count()
}

/// A private-key JWT client through three rotations: the workload never fails, at most two
/// keys are ever registered, the old key is retired after the overlap. Then the client is
/// switched to a client secret and back, each time with a working Secret.
#[tokio::test]
async fn private_key_jwt_rotations_never_fail_a_workload_and_methods_switch_both_ways() {
    let Some((w, op, clients)) = setup(
        "private_key_jwt_rotations_never_fail_a_workload_and_methods_switch_both_ways",
        "keys",
        "worker",
        json!({"authentication": {"method": "privateKeyJwt", "algorithm": "PS256"},
               "rotation": {"overlap": "3s"}}),
        Duration::from_secs(600),
    )
    .await
    else {
        return;
    };
    let c = client_ready(&clients, "worker", "True", "Synced", T).await;
    let id = c.status.as_ref().unwrap().client_id.clone().unwrap();
    let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), "keys");
    let s = secrets.get("worker-auth0").await.unwrap();
    let keys: Vec<_> = s.data.as_ref().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        [
            "AUTH0_CLIENT_ID",
            "AUTH0_DOMAIN",
            "AUTH0_KEY_ID",
            "AUTH0_PRIVATE_KEY",
            "AUTH0_SIGNING_ALG"
        ]
    );
    assert_eq!(
        secret_value(&s, "AUTH0_SIGNING_ALG").as_deref(),
        Some("PS256")
    );
    let first_kid = secret_value(&s, "AUTH0_KEY_ID").unwrap();
    let creds = w.sim.client_credentials(&id);
    assert_eq!(creds.len(), 1, "{creds:?}");
    assert_eq!(
        creds[0]["kid"],
        first_kid.as_str(),
        "Auth0's kid is the Secret's key id"
    );
    assert_eq!(creds[0]["alg"], "PS256");
    assert_eq!(
        c.status.as_ref().unwrap().credential_ids,
        Some(vec![creds[0]["id"].as_str().unwrap().to_string()])
    );
    assert!(c.status.as_ref().unwrap().last_rotation_time.is_some());
    assert_eq!(
        condition(&c, "Rotating"),
        Some(("False".into(), "Idle".into()))
    );
    // The application's secret no longer works; the key does.
    let sim_client = w
        .sim
        .all_clients()
        .into_iter()
        .find(|x| x["client_id"] == id.as_str())
        .unwrap();
    assert!(sim_client["client_authentication_methods"]["private_key_jwt"].is_object());
    assert!(sim_client["token_endpoint_auth_method"].is_null());

    let (stop, task) = workload(&w.kube, "keys", "worker-auth0", w.sim.clone(), Mode::Key);
    let mut kid = first_kid.clone();
    for round in 1..=3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        set_annotation(
            &clients,
            "worker",
            "auth0.operator.dev/rotate",
            &round.to_string(),
        )
        .await;
        kid = eventually("the Secret holds the new key", T, || {
            let (secrets, kid) = (secrets.clone(), kid.clone());
            async move {
                let s = secrets.get("worker-auth0").await.ok()?;
                secret_value(&s, "AUTH0_KEY_ID").filter(|k| *k != kid)
            }
        })
        .await;
        // Retired: Auth0 holds only the new key, and the status says so (the status of the
        // reconcile before the rotation also showed one id: compare the id).
        let c = eventually("the previous key is retired", T, || {
            let (clients, sim, id, kid) = (clients.clone(), w.sim.clone(), id.clone(), kid.clone());
            async move {
                let creds = sim.client_credentials(&id);
                let only = (creds.len() == 1 && creds[0]["kid"] == kid.as_str())
                    .then(|| creds[0]["id"].as_str().map(str::to_string))??;
                let c = clients.get("worker").await.ok()?;
                let st = c.status.as_ref()?;
                (st.credential_ids.as_ref()? == &vec![only]
                    && condition(&c, "Rotating")?.0 == "False")
                    .then_some(c)
            }
        })
        .await;
        assert_eq!(
            c.metadata.annotations.as_ref().unwrap()["auth0.operator.dev/rotate"],
            round.to_string()
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let f = finish(stop, task).await;
    println!(
        "privateKeyJwt, 3 rotations (overlap 3s): {} token requests, {} failed, {} keys used, at most {} registered",
        f.attempts,
        f.failures,
        f.used.len(),
        f.max_keys
    );
    assert_eq!(f.failures, 0, "failed token requests: {:?}", f.failed);
    assert!(f.attempts >= 50, "{f:?}");
    assert_eq!(
        f.used.len(),
        4,
        "the first key and three rotated ones: {f:?}"
    );
    assert!(f.max_keys <= 2, "{f:?}");
    let text = eventually("three KeyRetired events", T, || async {
        let text = events_and_status(&w, "keys", "worker").await;
        (event_count(&text, "KeyRetired") >= 3).then_some(text)
    })
    .await;
    assert_eq!(event_count(&text, "Rotated"), 3, "{text}");
    assert_eq!(event_count(&text, "KeyRetired"), 3, "{text}");
    assert_eq!(event_count(&text, "KeyRegistered"), 1, "{text}");
    let s = secrets.get("worker-auth0").await.unwrap();
    let pem = secret_value(&s, "AUTH0_PRIVATE_KEY").unwrap();
    let body_line = pem.lines().nth(1).unwrap();
    assert!(
        !text.contains(body_line),
        "no key material in events or status"
    );

    // Switch to a client secret: the Secret holds a working secret, the keys are gone.
    merge_spec(
        &clients,
        "worker",
        json!({"authentication": {"method": "clientSecret", "algorithm": null}, "rotation": null}),
    )
    .await;
    let s = eventually("the Secret holds a client secret", T, || {
        let secrets = secrets.clone();
        async move {
            let s = secrets.get("worker-auth0").await.ok()?;
            (secret_value(&s, "AUTH0_CLIENT_SECRET").is_some()
                && secret_value(&s, "AUTH0_PRIVATE_KEY").is_none())
            .then_some(s)
        }
    })
    .await;
    client_ready(&clients, "worker", "True", "Synced", T).await;
    assert_eq!(
        token_with_secret(
            &w.sim,
            &id,
            &secret_value(&s, "AUTH0_CLIENT_SECRET").unwrap()
        )
        .await,
        200
    );
    eventually("the operator's keys are deleted", T, || async {
        w.sim.client_credentials(&id).is_empty().then_some(())
    })
    .await;
    let c = eventually("no credential ids in status", T, || {
        let clients = clients.clone();
        async move {
            let c = clients.get("worker").await.ok()?;
            c.status.as_ref()?.credential_ids.is_none().then_some(c)
        }
    })
    .await;
    drop(c);
    // And back to a key.
    merge_spec(
        &clients,
        "worker",
        json!({"authentication": {"method": "privateKeyJwt"}}),
    )
    .await;
    let s = eventually("the Secret holds a key again", T, || {
        let secrets = secrets.clone();
        async move {
            let s = secrets.get("worker-auth0").await.ok()?;
            (secret_value(&s, "AUTH0_PRIVATE_KEY").is_some()
                && secret_value(&s, "AUTH0_CLIENT_SECRET").is_none())
            .then_some(s)
        }
    })
    .await;
    client_ready(&clients, "worker", "True", "Synced", T).await;
    assert_eq!(
        try_secret(&w.sim, &s, Mode::Key).await.map(|(s, _)| s),
        Some(200)
    );
    assert_eq!(
        secret_value(&s, "AUTH0_SIGNING_ALG").as_deref(),
        Some("RS256")
    );
    assert_eq!(w.sim.client_credentials(&id).len(), 1);
    op.stop().await;
}

/// Client secrets: `Staged` publishes the next secret first, so a workload that falls back to
/// `AUTH0_CLIENT_SECRET_NEXT` never fails; `Immediate` (Auth0's rotate-secret) gives no
/// overlap, and the failures of a workload without help are counted and printed.
#[tokio::test]
async fn client_secret_rotations_staged_with_next_fallback_and_immediate_counted() {
    let Some((w, op, clients)) = setup(
        "client_secret_rotations_staged_with_next_fallback_and_immediate_counted",
        "secrets",
        "billing",
        json!({"rotation": {"overlap": "2s", "strategy": "Staged"}}),
        Duration::from_secs(600),
    )
    .await
    else {
        return;
    };
    let c = client_ready(&clients, "billing", "True", "Synced", T).await;
    let id = c.status.as_ref().unwrap().client_id.clone().unwrap();
    let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), "secrets");
    let current = |secrets: Api<Secret>| async move {
        let s = secrets.get("billing-auth0").await.ok()?;
        Some((
            secret_value(&s, "AUTH0_CLIENT_SECRET")?,
            secret_value(&s, "AUTH0_CLIENT_SECRET_NEXT"),
        ))
    };
    let (mut secret, next) = current(secrets.clone()).await.unwrap();
    assert_eq!(next, None);

    let (stop, task) = workload(
        &w.kube,
        "secrets",
        "billing-auth0",
        w.sim.clone(),
        Mode::SecretWithNext,
    );
    let mut saw_next = 0;
    for round in 1..=3 {
        tokio::time::sleep(Duration::from_millis(300)).await;
        set_annotation(
            &clients,
            "billing",
            "auth0.operator.dev/rotate",
            &format!("s{round}"),
        )
        .await;
        let (_, next) = eventually("the next secret is published", T, || {
            let secrets = secrets.clone();
            async move { current(secrets).await.filter(|(_, n)| n.is_some()) }
        })
        .await;
        let next = next.unwrap();
        assert_eq!(next.len(), 64);
        assert!(
            next.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        saw_next += 1;
        eventually("Rotating=True NextSecretPublished", T, || {
            let clients = clients.clone();
            async move {
                let c = clients.get("billing").await.ok()?;
                (condition(&c, "Rotating")? == ("True".into(), "NextSecretPublished".into()))
                    .then_some(())
            }
        })
        .await;
        // The old secret still works while the next one is published.
        assert_eq!(token_with_secret(&w.sim, &id, &secret).await, 200);
        let (promoted, _) = eventually("the next secret is promoted", T, || {
            let (secrets, next) = (secrets.clone(), next.clone());
            async move {
                current(secrets)
                    .await
                    .filter(|(s, n)| *s == next && n.is_none())
            }
        })
        .await;
        assert_eq!(token_with_secret(&w.sim, &id, &promoted).await, 200);
        assert_eq!(
            token_with_secret(&w.sim, &id, &secret).await,
            401,
            "the old secret is dead"
        );
        secret = promoted;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let f = finish(stop, task).await;
    println!(
        "clientSecret Staged, 3 rotations (overlap 2s), workload falling back to _NEXT: {} token requests, {} failed",
        f.attempts, f.failures
    );
    assert_eq!(saw_next, 3);
    assert_eq!(f.failures, 0, "failed token requests: {:?}", f.failed);
    assert!(f.attempts >= 30, "{f:?}");

    // Immediate: no overlap; a workload without help fails until it re-reads the Secret.
    merge_spec(
        &clients,
        "billing",
        json!({"rotation": {"strategy": "Immediate"}}),
    )
    .await;
    client_ready(&clients, "billing", "True", "Synced", T).await;
    let (stop, task) = workload(
        &w.kube,
        "secrets",
        "billing-auth0",
        w.sim.clone(),
        Mode::Secret,
    );
    for round in 1..=3 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        set_annotation(
            &clients,
            "billing",
            "auth0.operator.dev/rotate",
            &format!("i{round}"),
        )
        .await;
        secret = eventually("the secret is rotated", T, || {
            let (secrets, secret) = (secrets.clone(), secret.clone());
            async move { current(secrets).await.map(|c| c.0).filter(|s| *s != secret) }
        })
        .await;
        assert_eq!(token_with_secret(&w.sim, &id, &secret).await, 200);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let f = finish(stop, task).await;
    println!(
        "clientSecret Immediate, 3 rotations, workload without fallback: {} token requests, {} failed ({:?})",
        f.attempts, f.failures, f.failed
    );
    assert!(f.attempts >= 15, "{f:?}");
    // Events are published just after the status.
    let text = eventually("six Rotated events", Duration::from_secs(10), || async {
        let text = events_and_status(&w, "secrets", "billing").await;
        (event_count(&text, "Rotated") >= 6).then_some(text)
    })
    .await;
    assert_eq!(event_count(&text, "Rotated"), 6, "{text}");
    assert_eq!(event_count(&text, "NextSecretPublished"), 3, "{text}");
    assert!(!text.contains(&secret), "no secret in events or status");
    op.stop().await;
}

/// `rotation.every`: `nextRotationTime` is `every` after `lastRotationTime`, is the same after
/// a restart (it is kept with the Secret), and a rotation happens once it has passed.
#[tokio::test]
async fn scheduled_rotation_and_next_rotation_time_survive_a_restart() {
    let Some((w, op, clients)) = setup(
        "scheduled_rotation_and_next_rotation_time_survive_a_restart",
        "sched",
        "nightly",
        json!({"rotation": {"every": "1h", "overlap": "0s"}}),
        Duration::from_secs(2),
    )
    .await
    else {
        return;
    };
    let c = client_ready(&clients, "nightly", "True", "Synced", T).await;
    let st = c.status.clone().unwrap();
    let last: k8s_openapi::jiff::Timestamp =
        st.last_rotation_time.clone().unwrap().parse().unwrap();
    let next: k8s_openapi::jiff::Timestamp =
        st.next_rotation_time.clone().unwrap().parse().unwrap();
    assert_eq!(next.as_second() - last.as_second(), 3600);
    let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), "sched");
    let secret = secret_value(
        &secrets.get("nightly-auth0").await.unwrap(),
        "AUTH0_CLIENT_SECRET",
    )
    .unwrap();

    // A restart (and a few resyncs) later: same schedule, no rotation.
    op.kill();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(2)));
    tokio::time::sleep(Duration::from_secs(5)).await;
    let c = client_ready(&clients, "nightly", "True", "Synced", T).await;
    assert_eq!(
        c.status.as_ref().unwrap().next_rotation_time,
        st.next_rotation_time
    );
    assert_eq!(
        c.status.as_ref().unwrap().last_rotation_time,
        st.last_rotation_time
    );
    let s = secrets.get("nightly-auth0").await.unwrap();
    assert_eq!(
        secret_value(&s, "AUTH0_CLIENT_SECRET").as_deref(),
        Some(secret.as_str())
    );

    // The last rotation was more than `every` ago (as if the hour had passed): it rotates.
    let two_hours_ago = k8s_openapi::jiff::Timestamp::from_second(last.as_second() - 7200).unwrap();
    secrets
        .patch(
            "nightly-auth0",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": {"auth0.operator.dev/rotated-at": two_hours_ago.to_string()}}})),
        )
        .await
        .unwrap();
    let rotated = eventually("a scheduled rotation", T, || {
        let (secrets, secret) = (secrets.clone(), secret.clone());
        async move {
            let s = secrets.get("nightly-auth0").await.ok()?;
            secret_value(&s, "AUTH0_CLIENT_SECRET")
                .filter(|v| *v != secret && secret_value(&s, "AUTH0_CLIENT_SECRET_NEXT").is_none())
        }
    })
    .await;
    let id = c.status.as_ref().unwrap().client_id.clone().unwrap();
    assert_eq!(token_with_secret(&w.sim, &id, &rotated).await, 200);
    let c = eventually("the status shows the new schedule", T, || {
        let (clients, st) = (clients.clone(), st.clone());
        async move {
            let c = clients.get("nightly").await.ok()?;
            (c.status.as_ref()?.last_rotation_time != st.last_rotation_time).then_some(c)
        }
    })
    .await;
    let st = c.status.unwrap();
    let last: k8s_openapi::jiff::Timestamp = st.last_rotation_time.unwrap().parse().unwrap();
    let next: k8s_openapi::jiff::Timestamp = st.next_rotation_time.unwrap().parse().unwrap();
    assert_eq!(next.as_second() - last.as_second(), 3600);
    assert!((k8s_openapi::jiff::Timestamp::now().as_second() - last.as_second()).abs() < 60);
    op.stop().await;
}

/// Invalid lifecycle settings stop at `Ready=False InvalidSpec` with a sentence (our test API
/// server drops CEL), before anything reaches Auth0.
#[tokio::test]
async fn invalid_lifecycle_settings_are_refused_by_the_operator() {
    let Some(w) = world(
        "invalid_lifecycle_settings_are_refused_by_the_operator",
        &[],
    )
    .await
    else {
        return;
    };
    namespace(&w.kube, "bad").await;
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "bad");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    for (name, spec, message) in [
        (
            "short",
            json!({"rotation": {"every": "30m"}}),
            "rotation.every must be at least 1h",
        ),
        (
            "strategy",
            json!({"authentication": {"method": "privateKeyJwt"}, "rotation": {"strategy": "Immediate"}}),
            "rotation.strategy is for the clientSecret method only",
        ),
        (
            "tmpl",
            json!({"authentication": {"method": "privateKeyJwt"}, "secretTemplate": {"data": {"S": "$(clientSecret)"}}}),
            "secretTemplate.data may use $(clientSecret) only with authentication.method clientSecret",
        ),
    ] {
        let mut spec = spec;
        spec["name"] = json!(name);
        match clients
            .create(&PostParams::default(), &client_obj(name, spec))
            .await
        {
            // An API server that runs CEL (1.25+) refuses it at apply time, with the same words.
            Err(kube::Error::Api(s)) => {
                assert!(
                    s.code == 422 && s.message.contains(message),
                    "{name}: {s:?}"
                )
            }
            Err(e) => panic!("{name}: {e}"),
            Ok(_) => {
                let c = client_ready(&clients, name, "False", "InvalidSpec", T).await;
                let msg = ready_of(&c.status.as_ref().unwrap().conditions).unwrap().2;
                assert!(msg.contains(message), "{name}: {msg}");
            }
        }
    }
    assert!(w.sim.clients().is_empty(), "nothing reached Auth0");
    op.stop().await;
}

/// The operator binary SIGKILLed at seeded random instants of rotations of a private-key JWT
/// client and a `Staged` client-secret client (`ROTATION_KILL_SEED` replays a run): each
/// rotation completes after the restart, the Secrets' credentials work, at most two keys are
/// ever registered, and no secret or key appears in the logs, events or status.
#[tokio::test]
async fn killed_at_random_instants_of_rotations_it_finishes_them() {
    let Some(w) = world(
        "killed_at_random_instants_of_rotations_it_finishes_them",
        &[API_ID],
    )
    .await
    else {
        return;
    };
    let mut rng = Seeded::from_env("ROTATION_KILL_SEED");
    let seed = rng.0;
    println!("rotation kill test seed: ROTATION_KILL_SEED={seed}");
    let dir = tempfile::tempdir().unwrap();
    let log = |i: usize| dir.path().join(format!("operator-{i}.log"));
    let mut runs = 0;
    let mut op = operator_with_log(&w, free_port(), &[], Some(&log(runs)));
    let pk = client_with_grant(
        &w,
        "chaos",
        "pk",
        json!({"authentication": {"method": "privateKeyJwt", "algorithm": "RS384"}, "rotation": {"overlap": "1s"}}),
    )
    .await;
    let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), "chaos");
    grants
        .create(
            &PostParams::default(),
            &grant_obj(
                "staged",
                json!({"clientRef": {"name": "staged"}, "audience": API_ID}),
            ),
        )
        .await
        .unwrap();
    pk.create(
        &PostParams::default(),
        &client_obj(
            "staged",
            json!({"name": "staged", "appType": "non_interactive", "grantTypes": ["client_credentials"],
                   "rotation": {"overlap": "1s", "strategy": "Staged"}}),
        ),
    )
    .await
    .unwrap();
    let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), "chaos");
    let mut ids = Vec::new();
    for name in ["pk", "staged"] {
        let c = client_ready(&pk, name, "True", "Synced", T).await;
        ids.push(c.status.unwrap().client_id.unwrap());
    }
    // Samples every 20 ms: the most keys registered, and every secret value the Secrets held.
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (stop, sim, secrets, pk_id) =
            (stop.clone(), w.sim.clone(), secrets.clone(), ids[0].clone());
        tokio::spawn(async move {
            let mut max_keys = 0;
            let mut max_listed = 0;
            let mut values = std::collections::BTreeSet::new();
            while !stop.load(Ordering::Relaxed) {
                max_keys = max_keys.max(sim.client_credentials(&pk_id).len());
                if let Some(c) = sim
                    .all_clients()
                    .into_iter()
                    .find(|c| c["client_id"] == pk_id.as_str())
                {
                    let n = c["client_authentication_methods"]["private_key_jwt"]["credentials"]
                        .as_array()
                        .map_or(0, Vec::len);
                    max_listed = max_listed.max(n);
                }
                for s in secrets
                    .list(&ListParams::default())
                    .await
                    .into_iter()
                    .flat_map(|l| l.items)
                {
                    for key in [
                        "AUTH0_CLIENT_SECRET",
                        "AUTH0_CLIENT_SECRET_NEXT",
                        "AUTH0_PRIVATE_KEY",
                        ".auth0-operator-pending-key",
                    ] {
                        if let Some(v) = secret_value(&s, key) {
                            // A PEM's second line is 64 characters of key material.
                            values.insert(v.lines().nth(1).unwrap_or(&v).to_string());
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (max_keys, max_listed, values)
        })
    };
    let rounds = 8;
    let mut kills = Vec::new();
    for round in 1..=rounds {
        let value = format!("k{round}");
        for name in ["pk", "staged"] {
            set_annotation(&pk, name, "auth0.operator.dev/rotate", &value).await;
        }
        let at = rng.below(1400);
        tokio::time::sleep(Duration::from_millis(at)).await;
        // Where each rotation was when the process died.
        let mut phase = Vec::new();
        for name in ["pk", "staged"] {
            let s = secrets.get(&format!("{name}-auth0")).await.unwrap();
            let data = s.data.clone().unwrap_or_default();
            let handled = s
                .metadata
                .annotations
                .clone()
                .unwrap_or_default()
                .get("auth0.operator.dev/rotate-handled")
                == Some(&value);
            let c = pk.get(name).await.unwrap();
            phase.push(if data.contains_key(".auth0-operator-pending-key") {
                "key generated, not yet promoted"
            } else if data.contains_key("AUTH0_CLIENT_SECRET_NEXT") {
                "next secret published"
            } else if !handled {
                "not started"
            } else if condition(&c, "Rotating").is_some_and(|r| r.0 == "True") {
                "in overlap"
            } else {
                "finished"
            });
        }
        op.start_kill().unwrap();
        kills.push((at, phase));
        let _ = op.wait().await;
        runs += 1;
        op = operator_with_log(&w, free_port(), &[], Some(&log(runs)));
        // The rotation finishes: the Secret answered this request and nothing is pending.
        for name in ["pk", "staged"] {
            let what =
                format!("{name} finishes rotation {round} (killed after {at} ms, seed {seed})");
            eventually(&what, T, || {
                let (secrets, pk, value) = (secrets.clone(), pk.clone(), value.clone());
                async move { rotation_finished(&secrets, &pk, name, &value).await }
            })
            .await;
        }
        // Each Secret's credential works.
        let s = secrets.get("pk-auth0").await.unwrap();
        assert_eq!(
            try_secret(&w.sim, &s, Mode::Key).await.map(|r| r.0),
            Some(200),
            "round {round}, seed {seed}"
        );
        let s = secrets.get("staged-auth0").await.unwrap();
        assert_eq!(
            try_secret(&w.sim, &s, Mode::Secret).await.map(|r| r.0),
            Some(200),
            "round {round}, seed {seed}"
        );
        assert_eq!(
            w.sim.client_credentials(&ids[0]).len(),
            1,
            "round {round}, seed {seed}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    let (max_keys, max_listed, values) = sampler.await.unwrap();
    op.start_kill().unwrap();
    let _ = op.wait().await;
    println!(
        "killed {rounds} times (ms after the rotation was asked for, [pk, staged] phase): {kills:?} (seed {seed}): every rotation finished; at most {max_keys} keys registered, {max_listed} listed; {} secret values checked against the logs",
        values.len()
    );
    assert!(
        max_keys <= 2 && max_listed <= 2,
        "seed {seed}: {max_keys} keys, {max_listed} listed"
    );
    let mut logs = String::new();
    for i in 0..=runs {
        logs.push_str(&std::fs::read_to_string(log(i)).unwrap_or_default());
    }
    assert!(!logs.contains("panicked"), "no panic in the logs");
    let mut texts = logs.clone();
    for name in ["pk", "staged"] {
        texts.push_str(&events_and_status(&w, "chaos", name).await);
    }
    for v in &values {
        assert!(
            !texts.contains(v.as_str()),
            "seed {seed}: a secret value appears in logs, events or status"
        );
    }
    // Only the operator's own clients: nothing was duplicated.
    assert_eq!(w.sim.clients().len(), 2);
}

/// Auth0 does each step of a rotation but its answer is lost (a 502 after the fact): the key
/// is registered once (recognised by its kid, never sent again), listed, and the old one is
/// retired; the staged secret goes live once; `Immediate` ends with a secret that works.
#[tokio::test]
async fn answers_lost_at_each_rotation_step_do_not_duplicate_or_lose_a_credential() {
    let Some((w, op, clients)) = setup(
        "answers_lost_at_each_rotation_step_do_not_duplicate_or_lose_a_credential",
        "lost",
        "pk",
        json!({"authentication": {"method": "privateKeyJwt"}, "rotation": {"overlap": "1s"}}),
        Duration::from_secs(600),
    )
    .await
    else {
        return;
    };
    let c = client_ready(&clients, "pk", "True", "Synced", T).await;
    let id = c.status.as_ref().unwrap().client_id.clone().unwrap();
    let old = c.status.as_ref().unwrap().credential_ids.clone().unwrap()[0].clone();
    w.sim
        .lose_answers("POST", &format!("/api/v2/clients/{id}/credentials"), 1);
    w.sim
        .lose_answers("PATCH", &format!("/api/v2/clients/{id}"), 1);
    w.sim.lose_answers(
        "DELETE",
        &format!("/api/v2/clients/{id}/credentials/{old}"),
        1,
    );
    let max = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (sim, id, max, stop) = (w.sim.clone(), id.clone(), max.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                max.fetch_max(sim.client_credentials(&id).len(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    set_annotation(&clients, "pk", "auth0.operator.dev/rotate", "lost").await;
    let c = eventually(
        "the rotation completes and the old key is retired",
        T,
        || {
            let (clients, old) = (clients.clone(), old.clone());
            async move {
                let c = clients.get("pk").await.ok()?;
                let ids = c.status.as_ref()?.credential_ids.clone()?;
                (ids.len() == 1 && ids[0] != old && condition(&c, "Ready")?.0 == "True")
                    .then_some(c)
            }
        },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    sampler.await.unwrap();
    let creds = w.sim.client_credentials(&id);
    assert_eq!(creds.len(), 1, "{creds:?}");
    assert_eq!(
        creds[0]["id"],
        c.status.as_ref().unwrap().credential_ids.as_ref().unwrap()[0].as_str()
    );
    assert!(
        max.load(Ordering::Relaxed) <= 2,
        "at most two keys at any time"
    );
    let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), "lost");
    let s = secrets.get("pk-auth0").await.unwrap();
    assert_eq!(
        try_secret(&w.sim, &s, Mode::Key).await.map(|r| r.0),
        Some(200)
    );

    // Client secrets: the PATCH that makes the next secret live, and rotate-secret.
    merge_spec(
        &clients,
        "pk",
        json!({"authentication": null, "rotation": {"overlap": "1s", "strategy": "Staged"}}),
    )
    .await;
    let s = eventually("a client secret", T, || {
        let secrets = secrets.clone();
        async move {
            let s = secrets.get("pk-auth0").await.ok()?;
            secret_value(&s, "AUTH0_CLIENT_SECRET").map(|_| s)
        }
    })
    .await;
    client_ready(&clients, "pk", "True", "Synced", T).await;
    let mut before = secret_value(&s, "AUTH0_CLIENT_SECRET").unwrap();
    for (strategy, value) in [("Staged", "s"), ("Immediate", "i")] {
        merge_spec(&clients, "pk", json!({"rotation": {"strategy": strategy}})).await;
        let path = if strategy == "Staged" {
            format!("/api/v2/clients/{id}")
        } else {
            format!("/api/v2/clients/{id}/rotate-secret")
        };
        w.sim.lose_answers(
            if strategy == "Staged" {
                "PATCH"
            } else {
                "POST"
            },
            &path,
            1,
        );
        set_annotation(&clients, "pk", "auth0.operator.dev/rotate", value).await;
        let now = eventually(&format!("{strategy}: the secret is rotated"), T, || {
            let (secrets, before) = (secrets.clone(), before.clone());
            async move {
                let s = secrets.get("pk-auth0").await.ok()?;
                let v = secret_value(&s, "AUTH0_CLIENT_SECRET")?;
                (v != before && secret_value(&s, "AUTH0_CLIENT_SECRET_NEXT").is_none()).then_some(v)
            }
        })
        .await;
        eventually(&format!("{strategy}: the Secret's secret works"), T, || {
            let (sim, id, now) = (w.sim.clone(), id.clone(), now.clone());
            async move { (token_with_secret(&sim, &id, &now).await == 200).then_some(()) }
        })
        .await;
        before = now;
    }
    op.stop().await;
}

/// Whether the status was written after the Secret's last write: a private-key client's status
/// lists exactly the key the Secret holds. (A process stopped between its Secret write and its
/// status write leaves the previous status, `Rotating=False Idle` included, until the next
/// reconcile: that status describes the state before the rotation, not after it.)
fn status_shows_the_secrets_key(
    c: &Auth0Client,
    secret_annotations: &std::collections::BTreeMap<String, String>,
) -> bool {
    match secret_annotations.get("auth0.operator.dev/credential-id") {
        Some(id) => {
            c.status.as_ref().and_then(|s| s.credential_ids.clone()) == Some(vec![id.clone()])
        }
        None => true,
    }
}

/// Whether `name`'s rotation answering `value` is over: the Secret answered it, nothing is
/// pending or published, `Rotating=False Idle` and `Ready=True`.
async fn rotation_finished(
    secrets: &Api<Secret>,
    clients: &Api<Auth0Client>,
    name: &str,
    value: &str,
) -> Option<()> {
    let s = secrets.get(&format!("{name}-auth0")).await.ok()?;
    let ann = s.metadata.annotations.clone()?;
    let data = s.data.clone()?;
    let c = clients.get(name).await.ok()?;
    let done = ann
        .get("auth0.operator.dev/rotate-handled")
        .map(String::as_str)
        == Some(value)
        && status_shows_the_secrets_key(&c, &ann)
        && !data.contains_key("AUTH0_CLIENT_SECRET_NEXT")
        && !data.contains_key(".auth0-operator-pending-key")
        && condition(&c, "Rotating")? == ("False".into(), "Idle".into())
        && condition(&c, "Ready")?.0 == "True";
    done.then_some(())
}

/// The operator binary stopped right after each write of a rotation, one after the other
/// (`AUTH0_OPERATOR_CRASH_AFTER_WRITES=n` aborts the process after its nth write: every Auth0
/// write, every credentials Secret write, every status write), then started again: every
/// rotation finishes, the Secret's credential works, and Auth0 has exactly the intended
/// credentials (one key registered, the same one listed). Deterministic: each step is a crash
/// point, in order, for a private-key JWT client and a `Staged` client-secret client.
#[tokio::test]
async fn stopped_after_every_write_of_a_rotation_it_finishes_it() {
    let Some(w) = world(
        "stopped_after_every_write_of_a_rotation_it_finishes_it",
        &[API_ID],
    )
    .await
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let dir_path = std::env::var("ROTATION_STEPS_LOGS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| dir.path().to_path_buf());
    let log = |label: &str| dir_path.join(format!("operator-{label}.log"));
    let mut op = operator_with_log(&w, free_port(), &[], Some(&log("setup")));
    let pk_clients = client_with_grant(
        &w,
        "steps-pk",
        "pk",
        json!({"authentication": {"method": "privateKeyJwt", "algorithm": "PS256"}, "rotation": {"overlap": "1s"}}),
    )
    .await;
    let staged_clients = client_with_grant(
        &w,
        "steps-staged",
        "staged",
        json!({"rotation": {"overlap": "1s", "strategy": "Staged"}}),
    )
    .await;
    let mut ids = std::collections::BTreeMap::new();
    for (name, clients) in [("pk", &pk_clients), ("staged", &staged_clients)] {
        let c = client_ready(clients, name, "True", "Synced", T).await;
        ids.insert(name, c.status.unwrap().client_id.unwrap());
    }
    op.start_kill().unwrap();
    let _ = op.wait().await;
    for (name, mode, clients) in [
        ("pk", Mode::Key, pk_clients),
        ("staged", Mode::Secret, staged_clients),
    ] {
        let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), &format!("steps-{name}"));
        let mut stopped_after = Vec::new();
        for n in 1.. {
            assert!(
                n < 40,
                "{name}: the rotation never ended without a crash point"
            );
            let value = format!("{name}-{n}");
            set_annotation(&clients, name, "auth0.operator.dev/rotate", &value).await;
            let writes = n.to_string();
            let mut op = operator_with_log(
                &w,
                free_port(),
                &[("AUTH0_OPERATOR_CRASH_AFTER_WRITES", writes.as_str())],
                Some(&log(&format!("{name}-{n}"))),
            );
            // It stops after its nth write, or the rotation ends with fewer writes.
            let crashed = eventually(&format!("{name}: write {n} or the end"), T, || {
                let (secrets, clients, value) = (secrets.clone(), clients.clone(), value.clone());
                let exited = op.try_wait().ok().flatten().is_some();
                async move {
                    if exited {
                        return Some(true);
                    }
                    rotation_finished(&secrets, &clients, name, &value)
                        .await
                        .map(|_| false)
                }
            })
            .await;
            if !crashed {
                op.start_kill().unwrap();
            }
            let _ = op.wait().await;
            let mut again = operator_with_log(
                &w,
                free_port(),
                &[],
                Some(&log(&format!("{name}-{n}-restart"))),
            );
            eventually(
                &format!("{name} finishes rotation {value} after a stop after write {n}"),
                T,
                || {
                    let (secrets, clients, value) =
                        (secrets.clone(), clients.clone(), value.clone());
                    async move { rotation_finished(&secrets, &clients, name, &value).await }
                },
            )
            .await;
            let s = secrets.get(&format!("{name}-auth0")).await.unwrap();
            assert_eq!(
                try_secret(&w.sim, &s, mode).await.map(|r| r.0),
                Some(200),
                "{name}: the credential works after a stop after write {n}"
            );
            let id = &ids[name];
            let registered: Vec<String> = w
                .sim
                .client_credentials(id)
                .iter()
                .map(|c| c["id"].as_str().unwrap_or_default().to_string())
                .collect();
            let app = w
                .sim
                .all_clients()
                .into_iter()
                .find(|c| c["client_id"] == id.as_str())
                .unwrap();
            let listed: Vec<String> =
                app["client_authentication_methods"]["private_key_jwt"]["credentials"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|c| c["id"].as_str().unwrap_or_default().to_string())
                    .collect();
            match mode {
                Mode::Key => {
                    assert_eq!(
                        registered.len(),
                        1,
                        "{name}: one key registered after a stop after write {n}: {registered:?}"
                    );
                    assert_eq!(listed, registered, "{name}: the registered key is listed");
                }
                _ => assert!(
                    registered.is_empty() && listed.is_empty(),
                    "{name}: no keys"
                ),
            }
            again.start_kill().unwrap();
            let _ = again.wait().await;
            if !crashed {
                break;
            }
            stopped_after.push(n);
        }
        println!(
            "{name}: stopped after each of writes {stopped_after:?} of a rotation; every one finished after the restart"
        );
        assert!(
            stopped_after.len() >= 3,
            "{name}: a rotation takes several writes: {stopped_after:?}"
        );
    }
    let mut logs = String::new();
    for entry in std::fs::read_dir(&dir_path).unwrap() {
        logs.push_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap_or_default());
    }
    assert!(!logs.contains("panicked"), "no panic in the logs");
    assert_eq!(w.sim.clients().len(), 2, "nothing was duplicated");
}
