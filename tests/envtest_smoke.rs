//! Smoke test of the envtest harness against a real etcd + kube-apiserver (v1.20.2).
//!
//! Needs `KUBEBUILDER_ASSETS` (`export KUBEBUILDER_ASSETS="$(scripts/envtest-assets.sh)"`); skips
//! loudly without it (and fails when `CI=true`).

use std::collections::BTreeMap;
use std::time::Duration;

use auth0_operator::envtest::start_or_skip;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::core::ObjectMeta;
use kube::discovery::ApiResource;
use kube::runtime::wait::{await_condition, conditions};
use serde_json::json;

fn widget_crd() -> CustomResourceDefinition {
    serde_json::from_value(json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": { "name": "widgets.envtest.example.com" },
        "spec": {
            "group": "envtest.example.com",
            "names": { "kind": "Widget", "plural": "widgets", "singular": "widget", "listKind": "WidgetList" },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1",
                "served": true,
                "storage": true,
                "subresources": { "status": {} },
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": {
                        "spec": {
                            "type": "object",
                            "properties": { "size": { "type": "integer", "minimum": 1 } }
                        },
                        "status": { "type": "object", "x-kubernetes-preserve-unknown-fields": true }
                    }
                }}
            }]
        }
    }))
    .expect("valid CRD")
}

#[tokio::test]
async fn envtest_smoke() {
    let Some(env) = start_or_skip("envtest_smoke").await else {
        return;
    };
    let client = env.client();
    assert!(env.kubeconfig_path().is_file());
    assert!(env.server_url().starts_with("https://127.0.0.1:"));

    // Namespace + ConfigMap round trip.
    let namespaces: Api<Namespace> = Api::all(client.clone());
    namespaces
        .create(
            &PostParams::default(),
            &Namespace {
                metadata: ObjectMeta {
                    name: Some("smoke".into()),
                    ..Default::default()
                },
                ..Default::default()
            },
        )
        .await
        .expect("create namespace");

    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "smoke");
    let cm = ConfigMap {
        metadata: ObjectMeta {
            name: Some("hello".into()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([("greeting".to_string(), "hi".to_string())])),
        ..Default::default()
    };
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create configmap");
    let got = cms.get("hello").await.expect("get configmap");
    assert_eq!(
        got.data
            .unwrap_or_default()
            .get("greeting")
            .map(String::as_str),
        Some("hi")
    );

    // Server-side apply works on 1.20 (beta, enabled by default).
    let applied = cms
        .patch(
            "hello",
            &PatchParams::apply("envtest-smoke").force(),
            &Patch::Apply(json!({
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": { "name": "hello" },
                "data": { "greeting": "hello" }
            })),
        )
        .await
        .expect("server-side apply");
    assert_eq!(
        applied
            .data
            .unwrap_or_default()
            .get("greeting")
            .map(String::as_str),
        Some("hello")
    );

    // A CRD (apiextensions v1) becomes Established and serves its resource.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &widget_crd())
        .await
        .expect("create CRD");
    tokio::time::timeout(
        Duration::from_secs(30),
        await_condition(
            crds.clone(),
            "widgets.envtest.example.com",
            conditions::is_crd_established(),
        ),
    )
    .await
    .expect("CRD established within 30 s")
    .expect("watch CRD");

    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("envtest.example.com", "v1", "Widget"),
        "widgets",
    );
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), "smoke", &ar);
    let widget: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "envtest.example.com/v1",
        "kind": "Widget",
        "metadata": { "name": "w1" },
        "spec": { "size": 3 }
    }))
    .expect("valid widget");
    // The CRD's discovery/storage may lag Established by a moment.
    let mut created = None;
    for _ in 0..50 {
        match widgets.create(&PostParams::default(), &widget).await {
            Ok(w) => {
                created = Some(w);
                break;
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("create widget: {e}"),
        }
    }
    let created = created.expect("widget created");
    assert_eq!(created.data["spec"]["size"], 3);

    // Schema validation is enforced (minimum: 1).
    let mut bad = widget.clone();
    bad.metadata.name = Some("w2".into());
    bad.data["spec"]["size"] = json!(0);
    let err = widgets
        .create(&PostParams::default(), &bad)
        .await
        .expect_err("size 0 violates minimum 1");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 422),
        "unexpected error: {err}"
    );

    env.stop().await;
}

#[tokio::test]
async fn envtest_static_users_and_impersonation() {
    let Some(env) = start_or_skip("envtest_static_users_and_impersonation").await else {
        return;
    };
    // Pre-registered static-token user without RBAC grants: authenticated, but forbidden.
    let alice = env
        .client_for_static_user("alice")
        .await
        .expect("alice client");
    let err = Api::<ConfigMap>::namespaced(alice, "default")
        .list(&Default::default())
        .await
        .expect_err("alice has no RBAC grants");
    assert!(
        matches!(&err, kube::Error::Api(s) if s.code == 403),
        "unexpected error: {err}"
    );
    // Impersonating a member of system:masters is allowed for the admin.
    let bob = env
        .client_for_user("bob", &["system:masters"])
        .expect("impersonating client");
    Api::<ConfigMap>::namespaced(bob, "default")
        .list(&Default::default())
        .await
        .expect("impersonated system:masters may list");
    // An unknown static user is an error, not a panic.
    assert!(env.client_for_static_user("mallory").await.is_err());
}
