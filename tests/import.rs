//! `auth0-operator import`, and the promise it makes: applying what it writes changes nothing
//! in Auth0 — in `Observe`, after switching to `Manage`, and when the resources are deleted —
//! while a change made outside Kubernetes shows as drift (`Observe`) or is set back (`Manage`).
//!
//! The tenant is seeded with every distinct client body of the recorded Auth0 traffic in the
//! repository (addons, JWT configuration, refresh tokens, metadata, mobile, SAML, OIDC logout,
//! …), plus APIs with scopes and grants.

mod common;

use std::{collections::BTreeSet, time::Duration};

use auth0_operator::{
    crd::{Auth0Client, Auth0ClientGrant, Auth0ResourceServer},
    sim::Simulator,
};
use common::*;
use kube::{
    Api,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(120);
const NS: &str = "imported";

/// Every distinct client state Auth0 returned in the recordings (a successful response with a
/// name), without its id, secret and signing keys, and without credentials references (their
/// keys are not recorded).
fn recorded_client_bodies() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/recordings");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for file in files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        for it in doc["interactions"].as_array().into_iter().flatten() {
            let path = it["path"].as_str().unwrap_or_default();
            let client_path = path == "/api/v2/clients"
                || (path.starts_with("/api/v2/clients/") && path.matches('/').count() == 4);
            let status = it["status"].as_u64().unwrap_or_default();
            let body = &it["response_body"];
            if !client_path || !(200..300).contains(&status) || body.get("name").is_none() {
                continue;
            }
            let mut b = body.clone();
            let o = b.as_object_mut().unwrap();
            for k in [
                "client_id",
                "client_secret",
                "signing_keys",
                "client_authentication_methods",
                "signed_request_object",
                "token_vault_privileged_access",
                "tenant",
                "global",
            ] {
                o.remove(k);
            }
            if seen.insert(b.to_string()) {
                out.push(b);
            }
        }
    }
    out
}

/// Runs the `import` binary against the simulator; returns (stdout, stderr).
async fn import(sim: &Simulator, extra: &[&str]) -> (String, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_auth0-operator"))
        .args(["import", "--namespace", NS])
        .args(extra)
        .env("AUTH0_DOMAIN", DOMAIN)
        .env("AUTH0_CLIENT_ID", MGMT_ID)
        .env("AUTH0_CLIENT_SECRET", MGMT_SECRET)
        .env("AUTH0_BASE_URL", sim.base_url())
        .env_remove("KUBECONFIG")
        .output()
        .await
        .expect("the import runs");
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(out.status.success(), "import failed: {stderr}");
    (stdout, stderr)
}

fn documents(yaml: &str) -> Vec<Value> {
    yaml.split("\n---\n")
        .flat_map(|d| d.strip_prefix("---\n").or(Some(d)))
        .filter(|d| !d.trim().is_empty())
        .map(|d| serde_yaml::from_str::<Value>(d).unwrap())
        .collect()
}

/// Writes to Auth0's Management API (not the token endpoint) since `from`.
fn writes(sim: &Simulator, from: usize) -> Vec<String> {
    sim.requests()
        .into_iter()
        .skip(from)
        .filter(|r| r.path.starts_with("/api/v2/") && r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

async fn apply(w: &World, docs: &[Value]) {
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), NS);
    let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), NS);
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), NS);
    let pp = PostParams::default();
    for d in docs {
        match d["kind"].as_str().unwrap() {
            "Auth0Client" => drop(
                clients
                    .create(&pp, &serde_json::from_value(d.clone()).unwrap())
                    .await
                    .unwrap(),
            ),
            "Auth0ClientGrant" => drop(
                grants
                    .create(&pp, &serde_json::from_value(d.clone()).unwrap())
                    .await
                    .unwrap(),
            ),
            "Auth0ResourceServer" => drop(
                apis.create(&pp, &serde_json::from_value(d.clone()).unwrap())
                    .await
                    .unwrap(),
            ),
            other => panic!("unexpected kind {other}"),
        }
    }
}

/// `(name, Ready, InSync, drift)` of every object of the three kinds.
async fn states(
    w: &World,
) -> Vec<(
    String,
    String,
    String,
    Option<Vec<String>>,
    Option<i64>,
    Option<i64>,
)> {
    let mut out = Vec::new();
    let lp = ListParams::default();
    macro_rules! collect {
        ($k:ty) => {{
            let api: Api<$k> = Api::namespaced(w.kube.clone(), NS);
            for o in api.list(&lp).await.unwrap() {
                let v = serde_json::to_value(&o).unwrap();
                let cond = |t: &str| {
                    v["status"]["conditions"]
                        .as_array()
                        .and_then(|cs| cs.iter().find(|c| c["type"] == t))
                        .map(|c| {
                            format!(
                                "{}/{}",
                                c["status"].as_str().unwrap_or(""),
                                c["reason"].as_str().unwrap_or("")
                            )
                        })
                        .unwrap_or_default()
                };
                out.push((
                    format!(
                        "{}/{}",
                        v["kind"].as_str().unwrap_or(""),
                        v["metadata"]["name"].as_str().unwrap()
                    ),
                    cond("Ready"),
                    cond("InSync"),
                    serde_json::from_value(v["status"]["drift"].clone()).unwrap_or(None),
                    v["metadata"]["generation"].as_i64(),
                    v["status"]["observedGeneration"].as_i64(),
                ));
            }
        }};
    }
    collect!(Auth0Client);
    collect!(Auth0ClientGrant);
    collect!(Auth0ResourceServer);
    out
}

/// Waits until every object is Ready and in sync at its current generation.
async fn all_in_sync(w: &World, n: usize, in_sync: &[&str]) {
    let mut last = Vec::new();
    let r = tokio::time::timeout(T, async {
        loop {
            last = states(w).await;
            let done = last.len() == n
                && last.iter().all(|(_, ready, sync, _, g, og)| {
                    ready == "True/Synced" && in_sync.contains(&sync.as_str()) && g == og
                });
            if done {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    })
    .await;
    if r.is_err() {
        let bad: Vec<_> = last
            .iter()
            .filter(|(_, ready, sync, _, g, og)| {
                ready != "True/Synced" || !in_sync.contains(&sync.as_str()) || g != og
            })
            .take(10)
            .collect();
        panic!(
            "not all {n} objects ready and in sync ({} listed): {bad:#?}",
            last.len()
        );
    }
}

/// The promise, end to end.
#[tokio::test]
async fn importing_changes_nothing_and_drift_shows_or_is_corrected() {
    let Some(w) = world(
        "importing_changes_nothing_and_drift_shows_or_is_corrected",
        &[],
    )
    .await
    else {
        return;
    };
    // The tenant: every recorded client body, two APIs with scopes, grants between them.
    let bodies = recorded_client_bodies();
    let mut ids = Vec::new();
    for b in &bodies {
        ids.push(
            w.sim.create_client_out_of_band(b.clone())["client_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let m2m = w.sim.create_client_out_of_band(
        json!({"name": "Billing Worker", "app_type": "non_interactive",
        "grant_types": ["client_credentials"], "token_endpoint_auth_method": "client_secret_post"}),
    );
    let m2m_id = m2m["client_id"].as_str().unwrap().to_string();
    w.sim.add_resource_server_with_scopes(
        "https://invoices.example.com/api",
        &["read:invoices", "write:invoices"],
    );
    w.sim
        .add_resource_server_with_scopes("https://orders.example.com/api", &["read:orders"]);
    w.sim.create_grant_out_of_band(json!({"client_id": m2m_id, "audience": "https://invoices.example.com/api", "scope": ["read:invoices"]}));
    w.sim.create_grant_out_of_band(
        json!({"client_id": m2m_id, "audience": "https://orders.example.com/api", "scope": []}),
    );
    w.sim.create_grant_out_of_band(json!({"client_id": ids[0], "audience": "https://orders.example.com/api", "scope": ["read:orders"]}));

    let (yaml, summary) = import(&w.sim, &[]).await;
    let (again, _) = import(&w.sim, &[]).await;
    assert_eq!(yaml, again, "the same tenant imports to the same bytes");
    println!("{summary}");
    let docs = documents(&yaml);
    let kinds = |k: &str| docs.iter().filter(|d| d["kind"] == k).count();
    assert_eq!(kinds("Auth0ResourceServer"), 2, "{summary}");
    assert_eq!(kinds("Auth0ClientGrant"), 3, "{summary}");
    let imported_clients = kinds("Auth0Client");
    println!(
        "{} distinct recorded client bodies seeded; {imported_clients} imported as Auth0Client",
        bodies.len()
    );
    assert!(imported_clients >= bodies.len() * 3 / 4, "{summary}");
    for c in w.sim.all_clients() {
        if let Some(secret) = c["client_secret"].as_str().filter(|s| s.len() >= 16) {
            assert!(!yaml.contains(secret), "never a secret: {}", c["name"]);
        }
    }
    for d in &docs {
        assert_eq!(d["spec"]["managementPolicy"], "Observe", "{d}");
        assert_eq!(d["spec"]["deletionPolicy"], "Orphan", "{d}");
    }
    // Grants name what was imported with them.
    let grant = docs
        .iter()
        .find(|d| {
            d["kind"] == "Auth0ClientGrant" && d["spec"]["clientRef"]["name"] == "billing-worker"
        })
        .unwrap();
    assert!(
        grant["spec"]["resourceServerRef"]["name"].is_string(),
        "{grant}"
    );
    assert!(grant["spec"]["grantId"].is_string(), "{grant}");

    // Observe: everything is Ready and in sync, and nothing is written to Auth0.
    namespace(&w.kube, NS).await;
    let n = docs.len();
    let from = w.sim.requests().len();
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(3)));
    apply(&w, &docs).await;
    all_in_sync(&w, n, &["True/InSync"]).await;
    tokio::time::sleep(Duration::from_secs(4)).await; // a resync
    assert_eq!(
        writes(&w.sim, from),
        Vec::<String>::new(),
        "Observe writes nothing"
    );
    // Observe still hands out credentials.
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(w.kube.clone(), NS);
    let s = secrets.get("billing-worker-auth0").await.unwrap();
    assert_eq!(
        secret_value(&s, "AUTH0_CLIENT_ID").as_deref(),
        Some(m2m_id.as_str())
    );
    assert!(secret_value(&s, "AUTH0_CLIENT_SECRET").is_some());

    // Switched to Manage: still nothing to write (no false drift from Auth0's defaults).
    let to_manage = json!({"spec": {"managementPolicy": "Manage"}});
    for d in &docs {
        patch_kind(&w, d, &to_manage).await;
    }
    all_in_sync(&w, n, &["True/InSync"]).await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(
        writes(&w.sim, from),
        Vec::<String>::new(),
        "Manage after import writes nothing"
    );

    // A change made in the dashboard: corrected under Manage, reported under Observe.
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), NS);
    w.sim.patch_client_out_of_band(&m2m_id, json!({"description": "edited in the dashboard", "grant_types": ["client_credentials", "implicit"]}));
    let c = eventually("the drift is corrected", T, || {
        let clients = clients.clone();
        async move {
            let c = clients.get("billing-worker").await.ok()?;
            (c.status.as_ref()?.drift.is_some()).then_some(c)
        }
    })
    .await;
    // Only managed fields drift: the import wrote grantTypes (not Auth0's default), not
    // description (Auth0 had none), which stays as the dashboard left it.
    assert_eq!(
        c.status.as_ref().unwrap().drift,
        Some(vec!["grantTypes".to_string()])
    );
    let in_sync = c
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|x| x.type_ == "InSync")
        .unwrap()
        .clone();
    assert_eq!(
        (in_sync.status.as_str(), in_sync.reason.as_str()),
        ("True", "Corrected")
    );
    assert_eq!(
        w.sim.client(&m2m_id).unwrap()["grant_types"],
        json!(["client_credentials"])
    );
    assert_eq!(
        w.sim.client(&m2m_id).unwrap()["description"],
        "edited in the dashboard"
    );
    let corrected = writes(&w.sim, from);
    assert_eq!(
        corrected,
        vec![format!("PATCH /api/v2/clients/{m2m_id}")],
        "one PATCH corrects it"
    );

    // Observe on one object: the dashboard change is reported, not corrected.
    patch_kind(
        &w,
        &docs
            .iter()
            .find(|d| d["metadata"]["name"] == "billing-worker")
            .unwrap()
            .clone(),
        &json!({"spec": {"managementPolicy": "Observe"}}),
    )
    .await;
    client_ready(&clients, "billing-worker", "True", "Synced", T).await;
    let before = w.sim.requests().len();
    w.sim.patch_client_out_of_band(
        &m2m_id,
        json!({"grant_types": ["client_credentials", "password"]}),
    );
    let c = eventually("the drift is reported", T, || {
        let clients = clients.clone();
        async move {
            let c = clients.get("billing-worker").await.ok()?;
            let st = c.status.as_ref()?;
            // (The drift corrected under Manage is listed until then: wait for the report.)
            let in_sync = st.conditions.iter().find(|x| x.type_ == "InSync")?;
            (in_sync.reason == "Drifted" && st.drift.as_ref()? == &vec!["grantTypes".to_string()])
                .then_some(c)
        }
    })
    .await;
    let in_sync = c
        .status
        .as_ref()
        .unwrap()
        .conditions
        .iter()
        .find(|x| x.type_ == "InSync")
        .unwrap()
        .clone();
    assert_eq!(
        (in_sync.status.as_str(), in_sync.reason.as_str()),
        ("False", "Drifted")
    );
    assert!(
        in_sync.message.contains("grantTypes"),
        "{}",
        in_sync.message
    );
    assert!(!in_sync.message.contains("password"), "names, never values");
    assert!(c.status.as_ref().unwrap().last_drift_time.is_some());
    assert_eq!(
        writes(&w.sim, before),
        Vec::<String>::new(),
        "Observe corrects nothing"
    );

    // Deleting the imported resources deletes nothing in Auth0.
    let clients_before = w.sim.clients().len();
    let before = w.sim.requests().len();
    let dp = DeleteParams::default();
    for d in &docs {
        delete_kind(&w, d, &dp).await;
    }
    eventually("every imported resource is gone", T, || async {
        states(&w).await.is_empty().then_some(())
    })
    .await;
    assert_eq!(
        writes(&w.sim, before),
        Vec::<String>::new(),
        "nothing is deleted in Auth0"
    );
    assert_eq!(w.sim.clients().len(), clients_before);
    assert_eq!(w.sim.grants().len(), 3);
    op.stop().await;
}

async fn patch_kind(w: &World, d: &Value, patch: &Value) {
    let name = d["metadata"]["name"].as_str().unwrap();
    let pp = PatchParams::default();
    match d["kind"].as_str().unwrap() {
        "Auth0Client" => drop(
            Api::<Auth0Client>::namespaced(w.kube.clone(), NS)
                .patch(name, &pp, &Patch::Merge(patch))
                .await
                .unwrap(),
        ),
        "Auth0ClientGrant" => drop(
            Api::<Auth0ClientGrant>::namespaced(w.kube.clone(), NS)
                .patch(name, &pp, &Patch::Merge(patch))
                .await
                .unwrap(),
        ),
        _ => drop(
            Api::<Auth0ResourceServer>::namespaced(w.kube.clone(), NS)
                .patch(name, &pp, &Patch::Merge(patch))
                .await
                .unwrap(),
        ),
    }
}

async fn delete_kind(w: &World, d: &Value, dp: &DeleteParams) {
    let name = d["metadata"]["name"].as_str().unwrap();
    match d["kind"].as_str().unwrap() {
        "Auth0Client" => drop(
            Api::<Auth0Client>::namespaced(w.kube.clone(), NS)
                .delete(name, dp)
                .await
                .unwrap(),
        ),
        "Auth0ClientGrant" => drop(
            Api::<Auth0ClientGrant>::namespaced(w.kube.clone(), NS)
                .delete(name, dp)
                .await
                .unwrap(),
        ),
        _ => drop(
            Api::<Auth0ResourceServer>::namespaced(w.kube.clone(), NS)
                .delete(name, dp)
                .await
                .unwrap(),
        ),
    }
}

/// More than a page of everything, names that collide, `--match`, `--manage`, `--include`,
/// and a directory output: planned from the simulator's tenant, deterministically.
#[tokio::test]
async fn pages_collisions_and_options() {
    let sim = Simulator::start(auth0_operator::sim::SimConfig::new(
        DOMAIN,
        MGMT_ID,
        MGMT_SECRET,
    ))
    .await
    .unwrap();
    for i in 0..120 {
        let c = sim.create_client_out_of_band(
            json!({"name": format!("Service {i:03}"), "app_type": "non_interactive"}),
        );
        let api = format!("https://api{i:03}.example.com/");
        sim.add_resource_server_with_scopes(&api, &["read"]);
        sim.create_grant_out_of_band(
            json!({"client_id": c["client_id"], "audience": api, "scope": ["read"]}),
        );
    }
    // Two applications with the same name, and one whose name is all punctuation.
    for name in ["Same Name", "Same Name", "!!!"] {
        sim.create_client_out_of_band(
            json!({"name": name, "app_type": "spa", "callbacks": ["https://x.example.com/cb"]}),
        );
    }
    let (yaml, summary) = import(&sim, &[]).await;
    let docs = documents(&yaml);
    let count = |k: &str| docs.iter().filter(|d| d["kind"] == k).count();
    assert_eq!(
        (
            count("Auth0Client"),
            count("Auth0ResourceServer"),
            count("Auth0ClientGrant")
        ),
        (123, 120, 120),
        "{summary}"
    );
    assert!(
        summary.contains("import: listing applications… "),
        "a progress line: {summary}"
    );
    let names: Vec<&str> = docs
        .iter()
        .filter(|d| d["kind"] == "Auth0Client")
        .map(|d| d["metadata"]["name"].as_str().unwrap())
        .collect();
    let same: Vec<&&str> = names
        .iter()
        .filter(|n| n.starts_with("same-name"))
        .collect();
    assert_eq!(same.len(), 2);
    assert!(
        same.iter().all(|n| n.len() > "same-name-".len()),
        "both get an id suffix: {same:?}"
    );
    assert_ne!(same[0], same[1]);
    assert!(names.contains(&"client"), "{names:?}");
    assert!(
        names.contains(&"service-007"),
        "no suffix without a collision"
    );
    let all: BTreeSet<(&str, &str)> = docs
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap(),
                d["metadata"]["name"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(all.len(), docs.len(), "names are unique per kind");
    // A spa's defaults are not written; what differs is.
    let spa = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "client")
        .unwrap();
    assert_eq!(
        spa["spec"]["callbacks"],
        json!(["https://x.example.com/cb"])
    );
    for default in [
        "grantTypes",
        "jwtConfiguration",
        "refreshToken",
        "isFirstParty",
        "oidcConformant",
    ] {
        assert!(
            spa["spec"].get(default).is_none(),
            "{default} is Auth0's default: {spa}"
        );
    }

    // --match, --manage, --include, a directory.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let (_, summary) = import(
        &sim,
        &[
            "--match",
            "^Service 00[0-4]$",
            "--manage",
            "--include",
            "clients,grants",
            "--output",
            out,
        ],
    )
    .await;
    let mut files: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), 10, "{files:?} {summary}");
    assert!(
        files.contains(&"auth0client-service-003.yaml".to_string()),
        "{files:?}"
    );
    let g: Value = serde_yaml::from_str(
        &std::fs::read_to_string(
            dir.path().join(
                files
                    .iter()
                    .find(|f| f.starts_with("auth0clientgrant"))
                    .unwrap(),
            ),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(g["spec"]["managementPolicy"], "Manage");
    assert!(
        g["spec"]["clientRef"].is_object() && g["spec"]["audience"].is_string(),
        "APIs not imported: audience: {g}"
    );
}

/// `--tenant-ref`: the import reads the tenant of an `Auth0Tenant` with the credentials in its
/// Secret (through the kubeconfig, with the operator's tenant policy), and the manifests name
/// it in `tenantRef`.
#[tokio::test]
async fn a_tenant_object_is_read_with_its_credentials() {
    let Some(w) = world("a_tenant_object_is_read_with_its_credentials", &[]).await else {
        return;
    };
    namespace(&w.kube, NS).await;
    let secret: k8s_openapi::api::core::v1::Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mgmt"},
        "stringData": {"AUTH0_CLIENT_ID": MGMT_ID, "AUTH0_CLIENT_SECRET": MGMT_SECRET}
    }))
    .unwrap();
    Api::<k8s_openapi::api::core::v1::Secret>::namespaced(w.kube.clone(), NS)
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let tenant: auth0_operator::crd::Auth0Tenant = serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Tenant",
        "metadata": {"name": "prod"},
        "spec": {"domain": DOMAIN, "baseUrl": w.sim.base_url(), "credentialsSecretRef": {"name": "mgmt"}}
    }))
    .unwrap();
    Api::<auth0_operator::crd::Auth0Tenant>::namespaced(w.kube.clone(), NS)
        .create(&PostParams::default(), &tenant)
        .await
        .unwrap();
    w.sim
        .create_client_out_of_band(json!({"name": "Dashboard App", "app_type": "regular_web"}));
    let run = |policy: &'static [(&'static str, &'static str)]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_auth0-operator"));
        cmd.args([
            "import",
            "--namespace",
            NS,
            "--tenant-ref",
            "Auth0Tenant/prod",
        ])
        .env("KUBECONFIG", w.env.kubeconfig_path())
        .env_remove("AUTH0_DOMAIN")
        .env_remove("AUTH0_CLIENT_ID")
        .env_remove("AUTH0_CLIENT_SECRET");
        for (k, v) in policy {
            cmd.env(k, v);
        }
        cmd.output()
    };
    // The operator's tenant policy applies: a base URL needs ALLOW_TENANT_BASE_URL.
    let refused = run(&[("ALLOWED_TENANT_DOMAINS", "*.auth0.test")])
        .await
        .unwrap();
    assert!(!refused.status.success());
    let e = String::from_utf8_lossy(&refused.stderr);
    assert!(e.contains("ALLOW_TENANT_BASE_URL"), "{e}");
    let out = run(&[
        ("ALLOWED_TENANT_DOMAINS", "*.auth0.test"),
        ("ALLOW_TENANT_BASE_URL", "true"),
    ])
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let docs = documents(&String::from_utf8(out.stdout).unwrap());
    let app = docs
        .iter()
        .find(|d| d["metadata"]["name"] == "dashboard-app")
        .unwrap_or_else(|| panic!("{docs:?} {stderr}"));
    assert_eq!(app["spec"]["tenantRef"], json!({"name": "prod"}));
    assert_eq!(app["metadata"]["namespace"], NS);
}
