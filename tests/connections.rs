//! `Auth0Client.spec.connections` on the real kube-apiserver with the simulator as Auth0: the
//! application is enabled on exactly the named connections, through the per-connection
//! endpoints only; drift is set back (`Manage`) or reported (`Observe`); an unknown name
//! changes nothing; an unset field leaves the connections alone.
//!
//! Needs `KUBEBUILDER_ASSETS`; skips loudly without it, and fails when `CI=true`.

mod common;

use std::time::Duration;

use auth0_operator::crd::Auth0Client;
use common::*;
use kube::{
    Api, ResourceExt,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);
const DB: &str = "Username-Password-Authentication";

/// The names of the simulator's connections enabled for `client_id`, sorted.
fn enabled_for(w: &World, client_id: &str) -> Vec<String> {
    let mut names: Vec<String> = w
        .sim
        .connections()
        .iter()
        .filter(|c| {
            w.sim
                .connection_clients(c["id"].as_str().unwrap_or_default())
                .iter()
                .any(|id| id == client_id)
        })
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

fn status_connections(c: &Auth0Client) -> Option<Vec<String>> {
    c.status.as_ref().and_then(|s| s.connections.clone())
}

async fn set_connections(api: &Api<Auth0Client>, name: &str, connections: Value) {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"connections": connections}})),
    )
    .await
    .unwrap();
}

/// Waits until the client's status says `want` (generation observed) and returns it.
async fn wait_status(api: &Api<Auth0Client>, name: &str, want: &[&str]) -> Auth0Client {
    eventually(
        &format!("{name}: status.connections = {want:?}"),
        T,
        || async {
            let c = api.get(name).await.ok()?;
            let s = c.status.as_ref()?;
            let synced =
                ready_of(&s.conditions).is_some_and(|(st, r, _)| st == "True" && r == "Synced");
            (synced
                && s.observed_generation == c.metadata.generation
                && status_connections(&c).as_deref()
                    == Some(&want.iter().map(|s| s.to_string()).collect::<Vec<_>>()[..]))
            .then_some(c)
        },
    )
    .await
}

/// Waits until the client's `status.drift` names `connections`, and returns it.
async fn wait_connections_drift(api: &Api<Auth0Client>, name: &str) -> Auth0Client {
    eventually(
        &format!("{name}: status.drift names connections"),
        T,
        || async {
            let c = api.get(name).await.ok()?;
            c.status
                .as_ref()?
                .drift
                .as_ref()?
                .contains(&"connections".to_string())
                .then_some(c)
        },
    )
    .await
}

#[tokio::test]
async fn an_application_is_enabled_on_exactly_the_named_connections() {
    let Some(w) = world("connections", &[]).await else {
        return;
    };
    w.sim.add_connection("google-oauth2", "google-oauth2");
    w.sim.add_connection("corp-sso", "samlp");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(2)));
    let api: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "default");

    // Created with one connection: Auth0 enabled the new application on all three (the
    // tenant's "Enable Application Connections"); the operator leaves exactly the named one.
    api.create(
        &PostParams::default(),
        &client_obj(
            "web",
            json!({"name": "Web", "appType": "regular_web", "connections": [DB]}),
        ),
    )
    .await
    .unwrap();
    let web = wait_status(&api, "web", &[DB]).await;
    let id = web.status.as_ref().unwrap().client_id.clone().unwrap();
    assert_eq!(enabled_for(&w, &id), [DB]);

    // Unset: an application's connections are left as Auth0 made them.
    api.create(
        &PostParams::default(),
        &client_obj("job", json!({"name": "Job", "appType": "non_interactive"})),
    )
    .await
    .unwrap();
    let job = client_ready(&api, "job", "True", "Synced", T).await;
    let job_id = job.status.as_ref().unwrap().client_id.clone().unwrap();
    assert_eq!(
        enabled_for(&w, &job_id),
        [
            "Username-Password-Authentication",
            "corp-sso",
            "google-oauth2"
        ]
    );
    assert_eq!(status_connections(&job), None);

    // Enabled by hand: set back at the next resync, and reported as corrected drift.
    w.sim
        .set_connection_clients_out_of_band("google-oauth2", &id, true);
    eventually("the hand-enabled connection disabled again", T, || async {
        (enabled_for(&w, &id) == [DB]).then_some(())
    })
    .await;
    let web = wait_connections_drift(&api, "web").await;
    assert_eq!(
        status_connections(&web).as_deref(),
        Some(&[DB.to_string()][..])
    );

    // Two named, then none.
    set_connections(&api, "web", json!(["corp-sso", DB])).await;
    wait_status(&api, "web", &[DB, "corp-sso"]).await;
    assert_eq!(enabled_for(&w, &id), [DB, "corp-sso"]);
    set_connections(&api, "web", json!([])).await;
    wait_status(&api, "web", &[]).await;
    assert!(enabled_for(&w, &id).is_empty());

    // An unknown name: refused before anything is created in Auth0, naming it.
    api.create(
        &PostParams::default(),
        &client_obj(
            "bad",
            json!({"name": "Bad", "appType": "spa", "tokenEndpointAuthMethod": "none", "connections": [DB, "github"]}),
        ),
    )
    .await
    .unwrap();
    let bad = client_ready(&api, "bad", "False", "UnknownConnection", T).await;
    let (_, _, message) = ready_of(&bad.status.as_ref().unwrap().conditions).unwrap();
    assert!(message.contains("no connection named github"), "{message}");
    assert!(!message.contains(DB), "only the unknown name: {message}");
    assert!(
        sim_clients_with_uid(&w.sim, &bad.uid().unwrap()).is_empty(),
        "nothing was created"
    );
    // The connection is created in Auth0: found at the next retry, without a restart.
    w.sim.add_connection("github", "github");
    let bad = wait_status(&api, "bad", &[DB, "github"]).await;
    let bad_id = bad.status.as_ref().unwrap().client_id.clone().unwrap();
    assert_eq!(enabled_for(&w, &bad_id), [DB, "github"]);

    // Observe: what differs is reported, nothing is changed.
    let dashboard = w
        .sim
        .create_client_out_of_band(json!({"name": "Portal", "app_type": "regular_web"}));
    let portal_id = dashboard["client_id"].as_str().unwrap().to_string();
    let before = enabled_for(&w, &portal_id);
    assert!(
        !before.is_empty(),
        "Auth0 enabled the dashboard's application somewhere"
    );
    api.create(
        &PostParams::default(),
        &client_obj(
            "portal",
            json!({"name": "Portal", "appType": "regular_web", "clientId": portal_id,
                   "managementPolicy": "Observe", "connections": ["corp-sso"]}),
        ),
    )
    .await
    .unwrap();
    let portal = wait_connections_drift(&api, "portal").await;
    assert_eq!(status_connections(&portal).as_ref(), Some(&before));
    assert_eq!(
        enabled_for(&w, &portal_id),
        before,
        "Observe changes nothing"
    );

    // Only the per-connection endpoints: no request carries the deprecated array.
    let requests = w.sim.requests();
    for r in &requests {
        let text = format!("{} {:?} {:?}", r.path, r.query, r.body);
        assert!(
            !text.contains("enabled_clients"),
            "a request carries enabled_clients: {} {}",
            r.method,
            text
        );
    }
    assert!(
        requests.iter().any(|r| r.method == "PATCH"
            && r.path.ends_with("/clients")
            && r.path.contains("/connections/")),
        "the per-connection endpoint was used"
    );
    op.stop().await;
}
