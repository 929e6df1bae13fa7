//! Kubernetes objects the operator reads, as someone else left them: a tenant's credentials
//! Secret with binary or missing keys, a credentials Secret whose keys were mangled, a status
//! written by someone else. Each is handled with a reason or repaired, never a panic and never
//! a duplicate in Auth0.

mod common;

use std::time::Duration;

use auth0_operator::crd::{Auth0Client, Auth0Tenant};
use common::*;
use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{
    Api,
    api::{Patch, PatchParams, PostParams},
};
use serde_json::json;

const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn objects_left_broken_by_someone_else() {
    let Some(w) = world("objects_left_broken_by_someone_else", &[]).await else {
        return;
    };
    namespace(&w.kube, "bad").await;
    let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), "bad");
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "bad");
    let mut config = operator_config(&w.sim, Duration::from_secs(600));
    config.tenant_policy.allowed_domains = vec!["*.auth0.test".into()];
    config.tenant_policy.allow_base_url = true;
    let op = Operator::start(&w.kube, config);

    // A tenant whose credentials Secret holds binary bytes and lacks the secret.
    let mut creds = Secret::default();
    creds.metadata.name = Some("binary".into());
    creds.data = Some(
        [(
            "AUTH0_CLIENT_ID".to_string(),
            ByteString(vec![0xff, 0xfe, 0x00, 0x80]),
        )]
        .into(),
    );
    secrets
        .create(&PostParams::default(), &creds)
        .await
        .unwrap();
    let tenant: Auth0Tenant = serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Tenant",
        "metadata": {"name": "t"},
        "spec": {"domain": DOMAIN, "baseUrl": w.sim.base_url(), "credentialsSecretRef": {"name": "binary"}}
    }))
    .unwrap();
    let tenants: Api<Auth0Tenant> = Api::namespaced(w.kube.clone(), "bad");
    tenants
        .create(&PostParams::default(), &tenant)
        .await
        .unwrap();
    let t = wait_ready(&tenants, "t", "False", "SecretNotFound", T).await;
    let msg = ready_of(&t.status.unwrap().conditions).unwrap().2;
    assert!(
        msg.contains("AUTH0_CLIENT_ID") && msg.contains("AUTH0_CLIENT_SECRET"),
        "names the unusable keys: {msg}"
    );

    // A client whose credentials Secret is mangled (binary bytes, a key removed): rewritten.
    clients
        .create(
            &PostParams::default(),
            &client_obj("web", json!({"name": "web"})),
        )
        .await
        .unwrap();
    let c = client_ready(&clients, "web", "True", "Synced", T).await;
    let id = c.status.as_ref().unwrap().client_id.clone().unwrap();
    secrets
        .patch(
            "web-auth0",
            &PatchParams::default(),
            &Patch::Merge(
                json!({"data": {"AUTH0_CLIENT_SECRET": "//79AA==", "AUTH0_DOMAIN": null}}),
            ),
        )
        .await
        .unwrap();
    let s = eventually("the Secret is rewritten", T, || {
        let secrets = secrets.clone();
        async move {
            let s = secrets.get("web-auth0").await.ok()?;
            let secret = secret_value_lossy(&s, "AUTH0_CLIENT_SECRET")?;
            (secret.len() == 64 && secret_value_lossy(&s, "AUTH0_DOMAIN").is_some()).then_some(s)
        }
    })
    .await;
    assert_eq!(
        secret_value_lossy(&s, "AUTH0_CLIENT_SECRET").as_deref(),
        w.sim.client(&id).unwrap()["client_secret"].as_str()
    );

    // A status written by someone else (a wrong client id, a bogus condition): the operator
    // finds its application by its tag again, and never makes a second one.
    clients
        .patch_status(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"clientId": "not-a-real-client", "secretName": "elsewhere",
                "conditions": [{"type": "Ready", "status": "Maybe", "reason": "Someone", "message": "written by someone else", "lastTransitionTime": "2020-01-01T00:00:00Z"}]}})),
        )
        .await
        .unwrap();
    clients
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"description": "touch"}})),
        )
        .await
        .unwrap();
    let c = eventually("the status is repaired", T, || {
        let (clients, id) = (clients.clone(), id.clone());
        async move {
            let c = clients.get("web").await.ok()?;
            let st = c.status.as_ref()?;
            (st.client_id.as_deref() == Some(id.as_str()) && ready_of(&st.conditions)?.0 == "True")
                .then_some(c)
        }
    })
    .await;
    assert_eq!(
        sim_clients_with_uid(&w.sim, c.metadata.uid.as_deref().unwrap()).len(),
        1,
        "no second application"
    );
    op.stop().await;
}

/// A Secret value as text, replacing bytes that are not UTF-8.
fn secret_value_lossy(s: &Secret, key: &str) -> Option<String> {
    s.data
        .as_ref()?
        .get(key)
        .map(|b| String::from_utf8_lossy(&b.0).to_string())
}
