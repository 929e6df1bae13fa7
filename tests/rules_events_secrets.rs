//! What a new user hit on an API server that does not run the CRDs' CEL rules (the test
//! apiserver, like every apiserver before 1.25): the operator enforces each rule itself; events
//! keep their own notes; Secrets are cleaned up without a garbage collector and a stale one is
//! replaced; a grant whose client went away stops naming it; a Secret conflict is found before
//! anything is created in Auth0.
//!
//! Version-agnostic: where the API server does run the CEL rules, a refused write (422) is the
//! expected outcome and the operator-side check is not reached.
//!
//! Needs `KUBEBUILDER_ASSETS`; skips loudly without it, and fails when `CI=true`.

mod common;

use std::time::Duration;

use auth0_operator::crd::{Auth0Client, Auth0ClientGrant};
use common::*;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

/// Merge-patches `spec`. `Ok(true)`: stored; `Ok(false)`: refused by the API server's CEL
/// validation (422), which only apiservers ≥ 1.25 do.
async fn patch_spec<K>(api: &Api<K>, name: &str, spec: serde_json::Value) -> bool
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    match api
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "spec": spec })),
        )
        .await
    {
        Ok(_) => true,
        Err(kube::Error::Api(s)) if s.code == 422 => {
            eprintln!(
                "the API server refused the change itself (CEL): {}",
                s.message
            );
            false
        }
        Err(e) => panic!("patch {name}: {e}"),
    }
}

/// Creates; `false` when the API server's CEL rules refused it (422).
async fn create_or_refused<K>(api: &Api<K>, obj: &K) -> bool
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    match api.create(&PostParams::default(), obj).await {
        Ok(_) => true,
        Err(kube::Error::Api(s)) if s.code == 422 => false,
        Err(e) => panic!("create: {e}"),
    }
}

fn grant_calls(w: &World) -> usize {
    w.sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v2/client-grants") && r.method != "GET")
        .count()
}

fn message<K: serde::Serialize>(o: &K) -> String {
    let v = serde_json::to_value(o).unwrap();
    v["status"]["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn cel_rules_are_enforced_by_the_operator() {
    let aud = "https://orders.example.com/api";
    let other = "https://billing.example.com/api";
    let Some(w) = world("cel_rules_are_enforced_by_the_operator", &[aud, other]).await else {
        return;
    };
    namespace(&w.kube, "rules").await;
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(60)));
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "rules");
    let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), "rules");
    for name in ["app", "app2"] {
        clients
            .create(
                &PostParams::default(),
                &client_obj(name, json!({"name": name})),
            )
            .await
            .unwrap();
    }
    let app = client_ready(&clients, "app", "True", "Synced", T).await;
    let app_id = app.status.clone().unwrap().client_id.unwrap();
    client_ready(&clients, "app2", "True", "Synced", T).await;
    w.sim.clear_requests();

    // Exactly one of clientRef and clientId.
    let both = grant_obj(
        "both",
        json!({"clientRef": {"name": "app"}, "clientId": app_id, "audience": aud}),
    );
    if create_or_refused(&grants, &both).await {
        let g = grant_ready(&grants, "both", "False", "InvalidSpec", T).await;
        assert!(
            message(&g).contains("exactly one of clientRef and clientId"),
            "{}",
            message(&g)
        );
        assert!(message(&g).contains("both"), "{}", message(&g));
        grants
            .delete("both", &DeleteParams::default())
            .await
            .unwrap();
    }
    let neither = grant_obj("neither", json!({"audience": aud}));
    if create_or_refused(&grants, &neither).await {
        let g = grant_ready(&grants, "neither", "False", "InvalidSpec", T).await;
        assert!(message(&g).contains("neither"), "{}", message(&g));
        grants
            .delete("neither", &DeleteParams::default())
            .await
            .unwrap();
    }
    assert_eq!(grant_calls(&w), 0, "no Auth0 call for an invalid grant");

    // A valid grant, then attempts to change what is immutable.
    grants
        .create(
            &PostParams::default(),
            &grant_obj(
                "orders",
                json!({"clientRef": {"name": "app"}, "audience": aud, "scopes": ["read:orders"]}),
            ),
        )
        .await
        .unwrap();
    let g = grant_ready(&grants, "orders", "True", "Synced", T).await;
    let st = g.status.unwrap();
    let grant_id = st.grant_id.clone().unwrap();
    assert_eq!(
        st.audience.as_deref(),
        Some(aud),
        "the audience is recorded"
    );
    assert_eq!(st.client_ref.as_ref().map(|r| r.name.as_str()), Some("app"));
    let one_grant = |w: &World| {
        let gs = w.sim.grants();
        let ours: Vec<_> = gs
            .iter()
            .filter(|g| g["audience"] == aud || g["audience"] == other)
            .collect();
        assert_eq!(ours.len(), 1, "exactly one grant in Auth0: {ours:?}");
        assert_eq!(ours[0]["id"], grant_id.as_str());
        assert_eq!(ours[0]["audience"], aud);
        assert_eq!(ours[0]["client_id"], app_id.as_str());
    };
    w.sim.clear_requests();
    for (what, change, needle) in [
        (
            "audience",
            json!({"audience": other}),
            "audience is immutable",
        ),
        (
            "clientRef",
            json!({"clientRef": {"name": "app2"}}),
            "clientRef is immutable",
        ),
        (
            "clientRef to clientId",
            json!({"clientRef": null, "clientId": app_id}),
            "clientRef is immutable",
        ),
    ] {
        if !patch_spec(&grants, "orders", change).await {
            continue;
        }
        let g = grant_ready(&grants, "orders", "False", "InvalidSpec", T).await;
        assert!(message(&g).contains(needle), "{what}: {}", message(&g));
        let st = g.status.unwrap();
        assert_eq!(
            st.grant_id.as_deref(),
            Some(grant_id.as_str()),
            "{what}: status keeps the managed grant"
        );
        assert_eq!(
            st.client_id.as_deref(),
            Some(app_id.as_str()),
            "{what}: status keeps its client"
        );
        assert_eq!(st.audience.as_deref(), Some(aud));
        one_grant(&w);
        assert_eq!(grant_calls(&w), 0, "{what}: no Auth0 write");
        // Put it back: the grant recovers.
        let back = json!({"audience": aud, "clientRef": {"name": "app"}, "clientId": null});
        assert!(patch_spec(&grants, "orders", back).await);
        grant_ready(&grants, "orders", "True", "Synced", T).await;
    }
    // Deleting a grant whose spec was changed (and refused) deletes the grant it managed.
    if patch_spec(&grants, "orders", json!({"audience": other})).await {
        grant_ready(&grants, "orders", "False", "InvalidSpec", T).await;
    }
    grants
        .delete("orders", &DeleteParams::default())
        .await
        .unwrap();
    eventually("grant resource gone", T, || async {
        grants
            .get_opt("orders")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(
        w.sim
            .grants()
            .iter()
            .all(|g| g["audience"] != aud && g["audience"] != other),
        "no grant left behind: {:?}",
        w.sim.grants()
    );

    // Auth0Client.clientId: cannot be added to a resource that created its application...
    w.sim.clear_requests();
    if patch_spec(&clients, "app2", json!({"clientId": app_id})).await {
        let c = client_ready(&clients, "app2", "False", "InvalidSpec", T).await;
        assert!(
            message(&c).contains("clientId is immutable"),
            "{}",
            message(&c)
        );
        assert!(patch_spec(&clients, "app2", json!({"clientId": null})).await);
        client_ready(&clients, "app2", "True", "Synced", T).await;
    }
    // ...nor removed from one that adopted its application.
    let legacy = w
        .sim
        .create_client_out_of_band(json!({"name": "Legacy", "app_type": "non_interactive"}));
    let legacy_id = legacy["client_id"].as_str().unwrap().to_string();
    clients
        .create(
            &PostParams::default(),
            &client_obj(
                "legacy",
                json!({"name": "Legacy", "clientId": legacy_id, "deletionPolicy": "Orphan"}),
            ),
        )
        .await
        .unwrap();
    let c = client_ready(&clients, "legacy", "True", "Synced", T).await;
    assert_eq!(c.status.unwrap().adopted, Some(true));
    if patch_spec(&clients, "legacy", json!({"clientId": null})).await {
        let c = client_ready(&clients, "legacy", "False", "InvalidSpec", T).await;
        assert!(
            message(&c).contains("clientId was removed"),
            "{}",
            message(&c)
        );
        let tags = &w.sim.client(&legacy_id).unwrap()["client_metadata"];
        assert!(
            tags.get("k8s_operator_uid").is_none(),
            "the adopted client was not re-tagged as created: {tags}"
        );
    }
    assert!(
        !w.sim
            .requests()
            .iter()
            .any(|r| r.method == "PATCH" || r.method == "POST" && r.path == "/api/v2/clients"),
        "no Auth0 write for refused client specs: {:?}",
        w.sim.requests()
    );
    op.stop().await;
}

async fn events_of(kube: &kube::Client, ns: &str, name: &str) -> Vec<Event> {
    let api: Api<Event> = Api::namespaced(kube.clone(), ns);
    api.list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn events_secrets_and_stale_status() {
    let aud = "https://orders.example.com/api";
    let Some(w) = world("events_secrets_and_stale_status", &[aud]).await else {
        return;
    };
    namespace(&w.kube, "ev").await;
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(60)));
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "ev");
    let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), "ev");
    let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), "ev");

    // Two different updates in a row: two events, each with its own note.
    clients
        .create(
            &PostParams::default(),
            &client_obj("web", json!({"name": "Web"})),
        )
        .await
        .unwrap();
    let c = client_ready(&clients, "web", "True", "Synced", T).await;
    let id = c.status.unwrap().client_id.unwrap();
    assert!(patch_spec(&clients, "web", json!({"description": "first"})).await);
    eventually("description in Auth0", T, || async {
        (w.sim.client(&id)?["description"] == "first").then_some(())
    })
    .await;
    assert!(
        patch_spec(
            &clients,
            "web",
            json!({"callbacks": ["https://web.example.com/cb"]})
        )
        .await
    );
    let notes = eventually("two Updated events", T, || async {
        let notes: Vec<String> = events_of(&w.kube, "ev", "web")
            .await
            .into_iter()
            .filter(|e| e.reason.as_deref() == Some("Updated"))
            .filter_map(|e| e.message)
            .collect();
        (notes.len() >= 2).then_some(notes)
    })
    .await;
    let mut sorted = notes.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        vec![
            format!("Updated Auth0 client {id}: callbacks"),
            format!("Updated Auth0 client {id}: description"),
        ],
        "each update has its own event with its own note"
    );

    // A grant whose client is deleted: ClientNotReady (with an event) and no stale ids.
    grants
        .create(
            &PostParams::default(),
            &grant_obj(
                "web-orders",
                json!({"clientRef": {"name": "web"}, "audience": aud}),
            ),
        )
        .await
        .unwrap();
    let g = grant_ready(&grants, "web-orders", "True", "Synced", T).await;
    assert!(g.status.unwrap().grant_id.is_some());
    clients
        .delete("web", &DeleteParams::default())
        .await
        .unwrap();
    eventually("client resource gone", T, || async {
        clients
            .get_opt("web")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    // No garbage collector runs here: the operator removed the Secret itself.
    assert!(
        secrets.get_opt("web-auth0").await.unwrap().is_none(),
        "the credentials Secret is deleted with its Auth0Client"
    );
    let g = eventually("grant without stale ids", T, || async {
        let g = grants.get("web-orders").await.ok()?;
        let st = g.status.clone()?;
        (st.grant_id.is_none() && st.client_id.is_none()).then_some(g)
    })
    .await;
    let (status, reason, _) = ready_of(&g.status.unwrap().conditions).unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "ClientNotReady")
    );
    let waiting = eventually("ClientNotReady event", T, || async {
        events_of(&w.kube, "ev", "web-orders")
            .await
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("ClientNotReady"))
    })
    .await;
    assert_eq!(waiting.type_.as_deref(), Some("Normal"));
    assert!(waiting.message.unwrap_or_default().contains("web"));

    // The same name again, after a deletion with no garbage collector: a Secret the operator
    // made for the deleted resource is stale, not a conflict.
    let stale: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": "again-auth0",
            "labels": {"app.kubernetes.io/managed-by": "auth0-operator"},
            "ownerReferences": [{
                "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
                "name": "again", "uid": "6b1c1f3e-0000-4000-8000-000000000000", "controller": true
            }]
        },
        "stringData": {"AUTH0_CLIENT_ID": "deleted-app", "AUTH0_CLIENT_SECRET": "old", "AUTH0_DOMAIN": DOMAIN}
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &stale)
        .await
        .unwrap();
    clients
        .create(
            &PostParams::default(),
            &client_obj("again", json!({"name": "Again"})),
        )
        .await
        .unwrap();
    let c = client_ready(&clients, "again", "True", "Synced", T).await;
    let again_id = c.status.unwrap().client_id.unwrap();
    let s = secrets.get("again-auth0").await.unwrap();
    assert_eq!(
        secret_value(&s, "AUTH0_CLIENT_ID").as_deref(),
        Some(again_id.as_str())
    );
    let owners = s.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert_eq!(Some(owners[0].uid.clone()), c.metadata.uid.clone());

    // A Secret owned by something else: a conflict that names the owner, found before any
    // application is created in Auth0.
    let cm: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "holder"}
    }))
    .unwrap();
    let cm = Api::<k8s_openapi::api::core::v1::ConfigMap>::namespaced(w.kube.clone(), "ev")
        .create(&PostParams::default(), &cm)
        .await
        .unwrap();
    let foreign: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {
            "name": "taken",
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "holder", "uid": cm.uid().unwrap()}]
        },
        "stringData": {"password": "hunter2"}
    }))
    .unwrap();
    let foreign = secrets
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();
    w.sim.clear_requests();
    clients
        .create(
            &PostParams::default(),
            &client_obj("clash", json!({"name": "Clash", "secretName": "taken"})),
        )
        .await
        .unwrap();
    let c = client_ready(&clients, "clash", "False", "SecretConflict", T).await;
    let msg = message(&c);
    assert!(msg.contains("ConfigMap holder"), "names the owner: {msg}");
    assert!(c.status.unwrap().client_id.is_none());
    assert!(
        !w.sim
            .requests()
            .iter()
            .any(|r| r.method == "POST" && r.path == "/api/v2/clients"),
        "nothing created in Auth0 while the Secret conflicts"
    );
    let after = secrets.get("taken").await.unwrap();
    assert_eq!(after.resource_version(), foreign.resource_version());
    op.stop().await;
}

/// `secretTemplate`: the Secret holds exactly the rendered keys, its type, the template's
/// labels and annotations under the operator's own, and hashes that change with the credential
/// only; a template change re-renders it (the credential kept); an invalid template is refused
/// (all keys or none); a type change replaces the Secret.
#[tokio::test]
async fn secret_templates_shape_the_credentials_secret() {
    use auth0_operator::controller::secret::template::{
        CREDENTIALS_HASH_ANNOTATION, TEMPLATE_HASH_ANNOTATION,
    };
    let Some(w) = world("secret_templates_shape_the_credentials_secret", &[]).await else {
        return;
    };
    namespace(&w.kube, "tpl").await;
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "tpl");
    let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), "tpl");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    let spec = |tpl: serde_json::Value| {
        client_obj(
            "templated",
            json!({"name": "Templated", "appType": "non_interactive", "secretTemplate": tpl}),
        )
    };
    let first = json!({
        "metadata": {"labels": {"team": "billing"},
                     "annotations": {"reloader.stakater.com/match": "true"}},
        "data": {"OIDC_ISSUER": "$(issuer)", "credentials.json": "$(json)",
                 "literal": "$$(clientId)"}
    });
    clients
        .patch(
            "templated",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&spec(first)),
        )
        .await
        .unwrap();
    let c = client_ready(&clients, "templated", "True", "Synced", T).await;
    let client_id = c.status.unwrap().client_id.unwrap();
    let held = w.sim.client(&client_id).unwrap();
    let secret = held["client_secret"].as_str().unwrap().to_string();
    let s = secrets.get("templated-auth0").await.unwrap();
    let data = s.data.clone().unwrap();
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        ["OIDC_ISSUER", "credentials.json", "literal"],
        "exactly the template's keys"
    );
    assert_eq!(
        secret_value(&s, "OIDC_ISSUER").as_deref(),
        Some(format!("https://{DOMAIN}/").as_str())
    );
    assert_eq!(secret_value(&s, "literal").as_deref(), Some("$(clientId)"));
    let creds: serde_json::Value =
        serde_json::from_str(&secret_value(&s, "credentials.json").unwrap()).unwrap();
    assert_eq!(
        creds,
        json!({"clientId": client_id, "clientSecret": secret, "domain": DOMAIN,
               "issuer": format!("https://{DOMAIN}/"),
               "tokenEndpoint": format!("https://{DOMAIN}/oauth/token"),
               "jwksUri": format!("https://{DOMAIN}/.well-known/jwks.json")})
    );
    let labels = s.metadata.labels.clone().unwrap();
    assert_eq!(labels["team"], "billing");
    assert_eq!(labels["app.kubernetes.io/managed-by"], "auth0-operator");
    let ann = s.metadata.annotations.clone().unwrap();
    assert_eq!(ann["reloader.stakater.com/match"], "true");
    let hash = ann[CREDENTIALS_HASH_ANNOTATION].clone();
    assert!(
        hash.starts_with("sha256:") && !hash.contains(&secret),
        "{hash}"
    );
    assert_eq!(s.type_.as_deref(), Some("Opaque"));

    // Another template: re-rendered, same credential (same hash), the secret kept.
    // (Replaced with merge patches, as client-side `kubectl apply` does: server-side apply on
    // 1.20 turns map fields dropped from the applied config into nulls the schema refuses.)
    let second = json!({"data": {"SECRET": "$(clientSecret)", "ID": "$(clientId)"}});
    let replace_template = |tpl: serde_json::Value| {
        let clients = clients.clone();
        async move {
            for body in [json!(null), tpl] {
                clients
                    .patch(
                        "templated",
                        &PatchParams::default(),
                        &Patch::Merge(json!({"spec": {"secretTemplate": body}})),
                    )
                    .await
                    .unwrap();
            }
        }
    };
    replace_template(second.clone()).await;
    let s = eventually("the Secret is re-rendered", T, || async {
        let s = secrets.get("templated-auth0").await.ok()?;
        s.data.as_ref()?.contains_key("SECRET").then_some(s)
    })
    .await;
    assert_eq!(s.data.as_ref().unwrap().len(), 2, "old keys are gone");
    assert_eq!(secret_value(&s, "SECRET").as_deref(), Some(secret.as_str()));
    let ann = s.metadata.annotations.clone().unwrap();
    assert_eq!(
        ann[CREDENTIALS_HASH_ANNOTATION], hash,
        "the credential did not change"
    );
    assert!(!ann.contains_key("reloader.stakater.com/match"));
    let rendered_from = ann[TEMPLATE_HASH_ANNOTATION].clone();

    // Invalid (an API server before 1.25 does not run the CRD's CEL): refused, Secret untouched.
    let invalid = clients
        .patch(
            "templated",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"secretTemplate": {"data": {"X": "$(clientSecrets)"}}}})),
        )
        .await;
    if let Err(e) = invalid {
        // An API server that runs the CRD's CEL refuses it at apply time.
        assert!(
            e.to_string()
                .contains("secretTemplate.data may only use the variables"),
            "{e}"
        );
    } else {
        let c = client_ready(&clients, "templated", "False", "InvalidSpec", T).await;
        let (_, _, message) = ready_of(&c.status.unwrap().conditions).unwrap();
        assert!(
            message.contains("($$ escapes a $): secretTemplate.data.X uses $(clientSecrets)"),
            "{message}"
        );
        let s = secrets.get("templated-auth0").await.unwrap();
        assert_eq!(
            s.metadata.annotations.unwrap()[TEMPLATE_HASH_ANNOTATION],
            rendered_from,
            "nothing rendered"
        );
    }

    // Another type: the Secret is replaced (Kubernetes cannot change a Secret's type).
    let mut typed = second;
    typed["type"] = json!("example.com/auth0-credentials");
    replace_template(typed).await;
    let s = eventually("the Secret has the new type", T, || async {
        let s = secrets.get("templated-auth0").await.ok()?;
        (s.type_.as_deref() == Some("example.com/auth0-credentials")).then_some(s)
    })
    .await;
    assert_eq!(secret_value(&s, "SECRET").as_deref(), Some(secret.as_str()));
    client_ready(&clients, "templated", "True", "Synced", T).await;
    op.stop().await;
}
