//! The trust boundary, tried as an attacker who holds rights on the auth0 kinds of one
//! namespace (`team-b`) of a shared `ClusterAuth0Tenant`, on the real kube-apiserver with the
//! simulator as the tenant. Every attack checks Auth0's state and the other namespace's objects
//! afterwards, not only the reason shown; the positive paths (a consented grant gets a token,
//! consent withdrawn revokes it) are checked the same way.
//!
//! Needs `KUBEBUILDER_ASSETS`; skips loudly without it, and fails when `CI=true`.

mod common;

use std::time::Duration;

use auth0_operator::crd::{
    Auth0Client, Auth0ClientGrant, Auth0ResourceServer, Auth0Tenant, ClusterAuth0Tenant, Reason,
};
use common::*;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);
const ORDERS: &str = "https://orders.example.com/api";

fn obj<K: serde::de::DeserializeOwned>(kind: &str, name: &str, spec: Value) -> K {
    serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": kind,
        "metadata": {"name": name}, "spec": spec
    }))
    .unwrap()
}

fn tenant_ref() -> Value {
    json!({"kind": "ClusterAuth0Tenant", "name": "shared"})
}

async fn create<K>(api: &Api<K>, o: &K)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.create(&PostParams::default(), o).await.unwrap();
}

async fn delete_and_wait<K>(api: &Api<K>, name: &str)
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    api.delete(name, &DeleteParams::default()).await.unwrap();
    eventually(&format!("{name} is gone"), T, || {
        let api = api.clone();
        let name = name.to_string();
        async move { api.get_opt(&name).await.ok()?.is_none().then_some(()) }
    })
    .await;
}

/// The reason of a refusal, with the checks every refusal shares: `Ready=False` with a sentence.
async fn refused<K>(api: &Api<K>, name: &str, reason: Reason) -> String
where
    K: kube::Resource + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let o = wait_ready(api, name, "False", reason.as_str(), T).await;
    let v = serde_json::to_value(&o).unwrap();
    let ready = v["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "Ready")
        .unwrap()
        .clone();
    let message = ready["message"].as_str().unwrap().to_string();
    assert!(message.len() > 40, "a sentence: {message}");
    message
}

fn grants_of(w: &World, client_id: &str) -> Vec<Value> {
    w.sim
        .all_grants()
        .into_iter()
        .filter(|g| g["client_id"] == client_id)
        .collect()
}

/// Sets `spec.allowedConsumers` of the API `orders` (null: removes it).
async fn allow_consumers(apis: &Api<Auth0ResourceServer>, consumers: Value) {
    apis.patch(
        "orders",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"allowedConsumers": consumers}})),
    )
    .await
    .unwrap();
}

/// Waits until Auth0 holds no grant of application `client_id`.
async fn no_grants_of(w: &World, client_id: &str, what: &str) {
    eventually(what, T, || {
        let gone = grants_of(w, client_id).is_empty();
        async move { gone.then_some(()) }
    })
    .await;
}

/// The management application's credentials Secret `mgmt` (no namespace set).
fn mgmt_secret() -> Secret {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mgmt"},
        "stringData": {"AUTH0_CLIENT_ID": MGMT_ID, "AUTH0_CLIENT_SECRET": MGMT_SECRET}
    }))
    .unwrap()
}

/// Creates `namespaces`, the management Secret in `ops` and the `ClusterAuth0Tenant` `shared`
/// over the simulator, with `spec` (its `allowedNamespaces` and `policy`) added.
async fn shared_tenant(w: &World, namespaces: &[&str], spec: Value) {
    for ns in namespaces.iter().chain(&["ops"]) {
        namespace(&w.kube, ns).await;
    }
    Api::<Secret>::namespaced(w.kube.clone(), "ops")
        .create(&PostParams::default(), &mgmt_secret())
        .await
        .unwrap();
    let mut tenant = json!({
        "domain": w.sim.domain(), "baseUrl": w.sim.base_url(),
        "credentialsSecretRef": {"name": "mgmt", "namespace": "ops"},
    });
    tenant
        .as_object_mut()
        .unwrap()
        .extend(spec.as_object().unwrap().clone());
    create(
        &Api::<ClusterAuth0Tenant>::all(w.kube.clone()),
        &obj("ClusterAuth0Tenant", "shared", tenant),
    )
    .await;
}

/// The operator without a default tenant: it reaches the simulator only through tenant
/// objects.
fn tenant_objects_only(w: &World) -> auth0_operator::config::OperatorConfig {
    let mut config = operator_config(&w.sim, Duration::from_secs(600));
    config.auth0 = None;
    config.tenant_policy.allowed_domains = vec!["*.auth0.test".into()];
    config.tenant_policy.allow_base_url = true;
    config
}

#[tokio::test]
async fn a_namespace_gets_no_more_than_its_own_objects() {
    let Some(w) = world("a_namespace_gets_no_more_than_its_own_objects", &[]).await else {
        return;
    };
    shared_tenant(
        &w,
        &["team-b"],
        json!({
            "allowedNamespaces": {"names": ["default", "team-b"]},
            "policy": {"adoption": {"names": ["default"]}, "unmanagedApis": {"names": ["default"]}}
        }),
    )
    .await;
    let config = tenant_objects_only(&w);
    let op = Operator::start(&w.kube, config);
    let mgmt_api = format!("https://{}/api/v2/", w.sim.domain());
    let mgmt_app = w.sim.management_client_id();
    assert_eq!(mgmt_app, MGMT_ID);

    // ---- `default` owns an application, an API and a grant between them.
    let clients_a: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "default");
    let apis_a: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "default");
    let grants_a: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), "default");
    create(
        &clients_a,
        &obj(
            "Auth0Client",
            "web-app",
            json!({"name": "Web", "appType": "non_interactive", "grantTypes": ["client_credentials"], "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    create(
        &apis_a,
        &obj(
            "Auth0ResourceServer",
            "orders",
            json!({"identifier": ORDERS, "name": "Orders", "scopes": [{"value": "read:orders"}], "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    let web = client_ready(&clients_a, "web-app", "True", "Synced", T).await;
    let web_id = web.status.unwrap().client_id.unwrap();
    wait_ready(&apis_a, "orders", "True", "Synced", T).await;
    create(
        &grants_a,
        &obj(
            "Auth0ClientGrant",
            "web-orders",
            json!({"clientRef": {"name": "web-app"}, "resourceServerRef": {"name": "orders"}, "scopes": ["read:orders"], "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    let g = grant_ready(&grants_a, "web-orders", "True", "Synced", T).await;
    let web_grant = g.status.unwrap().grant_id.unwrap();
    let web_secret_before = w.sim.client(&web_id).unwrap()["client_secret"].clone();

    // ---- The attacker: rights on the auth0 kinds of team-b only.
    let clients_b: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "team-b");
    let apis_b: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "team-b");
    let grants_b: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), "team-b");
    let secrets_b: Api<Secret> = Api::namespaced(w.kube.clone(), "team-b");
    let mgmt_name = w.sim.client(&mgmt_app).unwrap()["name"].clone();

    // 1. The operator's own management application, managed and observed.
    for (name, policy) in [("steal-mgmt", "Manage"), ("peek-mgmt", "Observe")] {
        create(
            &clients_b,
            &obj(
                "Auth0Client",
                name,
                json!({"name": "Mine now", "clientId": mgmt_app, "managementPolicy": policy, "tenantRef": tenant_ref()}),
            ),
        )
        .await;
        refused(&clients_b, name, Reason::Protected).await;
        assert!(
            secrets_b
                .get_opt(&format!("{name}-auth0"))
                .await
                .unwrap()
                .is_none(),
            "{name}: nothing copied into a Secret"
        );
    }
    assert_eq!(
        w.sim.client(&mgmt_app).unwrap()["name"],
        mgmt_name,
        "not renamed"
    );
    // 2. Deleting it leaves the management application alone.
    delete_and_wait(&clients_b, "steal-mgmt").await;
    delete_and_wait(&clients_b, "peek-mgmt").await;
    assert!(
        w.sim.client(&mgmt_app).is_some(),
        "the management application survives"
    );

    // 3. The other team's application: refused, not renamed, not copied, not deleted.
    create(
        &clients_b,
        &obj(
            "Auth0Client",
            "steal-web",
            json!({"name": "Renamed by team-b", "clientId": web_id, "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    let m = refused(&clients_b, "steal-web", Reason::OwnedElsewhere).await;
    assert!(
        !m.contains("web-app"),
        "the owner in another namespace is not named: {m}"
    );
    assert!(
        secrets_b
            .get_opt("steal-web-auth0")
            .await
            .unwrap()
            .is_none()
    );
    delete_and_wait(&clients_b, "steal-web").await;
    let web_now = w
        .sim
        .client(&web_id)
        .expect("default's application survives");
    assert_eq!(web_now["name"], "Web");
    assert_eq!(
        web_now["client_secret"], web_secret_before,
        "its credentials unchanged"
    );

    // 4. team-b's own application is fine; a grant from it to the Management API is not.
    create(
        &clients_b,
        &obj(
            "Auth0Client",
            "b-app",
            json!({"name": "B", "appType": "non_interactive", "grantTypes": ["client_credentials"], "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    let b = client_ready(&clients_b, "b-app", "True", "Synced", T).await;
    let b_id = b.status.unwrap().client_id.unwrap();
    create(
        &grants_b,
        &obj(
            "Auth0ClientGrant",
            "b-mgmt",
            json!({"clientRef": {"name": "b-app"}, "audience": mgmt_api, "scopes": ["read:client_keys", "create:clients"], "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    refused(&grants_b, "b-mgmt", Reason::ManagementApiNotAllowed).await;
    assert!(
        grants_of(&w, &b_id).is_empty(),
        "no grant to the Management API"
    );
    // A grant for the management application itself.
    create(
        &grants_b,
        &obj(
            "Auth0ClientGrant",
            "mgmt-orders",
            json!({"clientId": mgmt_app, "audience": ORDERS, "scopes": ["read:orders"], "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    refused(&grants_b, "mgmt-orders", Reason::Protected).await;
    assert!(
        !grants_of(&w, &mgmt_app)
            .iter()
            .any(|g| g["audience"] == ORDERS),
        "the management application got nothing"
    );

    // 5. The other team's API (adopt) and the Management API as an API: refused, and
    //    deleting the refused resources deletes nothing.
    create(
        &apis_b,
        &obj(
            "Auth0ResourceServer",
            "orders",
            json!({"identifier": ORDERS, "name": "Taken", "adopt": true, "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    refused(&apis_b, "orders", Reason::OwnedElsewhere).await;
    create(
        &apis_b,
        &obj(
            "Auth0ResourceServer",
            "mgmt",
            json!({"identifier": mgmt_api, "name": "Mine", "adopt": true, "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    refused(&apis_b, "mgmt", Reason::Protected).await;
    delete_and_wait(&apis_b, "orders").await;
    delete_and_wait(&apis_b, "mgmt").await;
    let orders = w
        .sim
        .resource_server(ORDERS)
        .expect("default's API survives");
    assert_eq!(orders["name"], "Orders", "not renamed");
    assert!(w.sim.resource_server(&mgmt_api).is_some());
    assert!(
        w.sim
            .all_grants()
            .iter()
            .any(|g| g["id"] == web_grant.as_str()),
        "default's grant survives"
    );

    // 6. default's grant: by its pair and by its id.
    create(
        &grants_b,
        &obj(
            "Auth0ClientGrant",
            "pair",
            json!({"clientId": web_id, "audience": ORDERS, "scopes": ["read:orders"], "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    refused(&grants_b, "pair", Reason::OwnedElsewhere).await;
    create(
        &grants_b,
        &obj(
            "Auth0ClientGrant",
            "by-id",
            json!({"clientId": web_id, "audience": ORDERS, "grantId": web_grant, "scopes": ["read:orders"], "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    refused(&grants_b, "by-id", Reason::OwnedElsewhere).await;
    delete_and_wait(&grants_b, "pair").await;
    delete_and_wait(&grants_b, "by-id").await;
    let still = w
        .sim
        .all_grants()
        .into_iter()
        .find(|g| g["id"] == web_grant.as_str())
        .expect("default's grant survives");
    assert_eq!(still["scope"], json!(["read:orders"]));

    // 7. A grant from team-b's application to default's API: only with its owner's consent.
    create(
        &grants_b,
        &obj(
            "Auth0ClientGrant",
            "b-orders",
            json!({"clientRef": {"name": "b-app"}, "audience": ORDERS, "scopes": ["read:orders"], "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    refused(&grants_b, "b-orders", Reason::ConsumerNotAllowed).await;
    assert!(grants_of(&w, &b_id).is_empty());
    // The API's owner consents (by label selector, edited later).
    Api::<k8s_openapi::api::core::v1::Namespace>::all(w.kube.clone())
        .patch(
            "team-b",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"orders-consumer": "yes"}}})),
        )
        .await
        .unwrap();
    allow_consumers(
        &apis_a,
        json!({"selector": {"matchLabels": {"orders-consumer": "yes"}}}),
    )
    .await;
    grant_ready(&grants_b, "b-orders", "True", "Synced", T).await;
    assert_eq!(grants_of(&w, &b_id).len(), 1);
    let b_secret = secrets_b.get("b-app-auth0").await.unwrap();
    let status = token_request(
        &w.sim,
        json!({
            "grant_type": "client_credentials", "client_id": b_id,
            "client_secret": secret_value(&b_secret, "AUTH0_CLIENT_SECRET").unwrap(),
            "audience": ORDERS
        }),
    )
    .await;
    assert_eq!(status, 200, "the consented grant gets a token");
    // Consent withdrawn: the grant is revoked in Auth0.
    allow_consumers(&apis_a, Value::Null).await;
    refused(&grants_b, "b-orders", Reason::ConsumerNotAllowed).await;
    no_grants_of(&w, &b_id, "the grant is revoked in Auth0").await;
    // Consent by selector again, then withdrawn by relabelling team-b alone: the namespace
    // watch checks the grant at once (the resync is 10 minutes away) and it is revoked.
    allow_consumers(
        &apis_a,
        json!({"selector": {"matchLabels": {"orders-consumer": "yes"}}}),
    )
    .await;
    grant_ready(&grants_b, "b-orders", "True", "Synced", T).await;
    assert_eq!(grants_of(&w, &b_id).len(), 1);
    Api::<k8s_openapi::api::core::v1::Namespace>::all(w.kube.clone())
        .patch(
            "team-b",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"orders-consumer": null}}})),
        )
        .await
        .unwrap();
    refused(&grants_b, "b-orders", Reason::ConsumerNotAllowed).await;
    no_grants_of(
        &w,
        &b_id,
        "the relabelled namespace's grant is revoked in Auth0",
    )
    .await;

    // 8. An API no resource manages: team-b may not adopt it or grant to it; default may.
    let dashboard = w
        .sim
        .add_resource_server_with_scopes("https://dashboard.example.com/", &["read"]);
    create(
        &apis_b,
        &obj(
            "Auth0ResourceServer",
            "dash",
            json!({"identifier": "https://dashboard.example.com/", "adopt": true, "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    refused(&apis_b, "dash", Reason::AdoptionNotAllowed).await;
    create(
        &grants_b,
        &obj(
            "Auth0ClientGrant",
            "b-dash",
            json!({"clientRef": {"name": "b-app"}, "audience": "https://dashboard.example.com/", "scopes": ["read"], "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    refused(&grants_b, "b-dash", Reason::ConsumerNotAllowed).await;
    assert!(grants_of(&w, &b_id).is_empty());
    assert_eq!(
        w.sim
            .resource_server("https://dashboard.example.com/")
            .unwrap()["name"],
        dashboard["name"],
        "not adopted, not renamed"
    );
    create(
        &apis_a,
        &obj(
            "Auth0ResourceServer",
            "dash",
            json!({"identifier": "https://dashboard.example.com/", "name": "Dash (default)", "adopt": true, "tenantRef": tenant_ref()}),
        ),
    )
    .await;
    wait_ready(&apis_a, "dash", "True", "Synced", T).await;

    // 10. A namespace with an `Auth0Tenant` of its own (on the same Auth0 tenant): it adopts an
    //     unmanaged API freely (its namespace owns the tenant), but going through another tenant
    //     object changes nothing about who owns default's application.
    namespace(&w.kube, "team-c").await;
    Api::<Secret>::namespaced(w.kube.clone(), "team-c")
        .create(&PostParams::default(), &mgmt_secret())
        .await
        .unwrap();
    let own_tenants: Api<Auth0Tenant> = Api::namespaced(w.kube.clone(), "team-c");
    create(
        &own_tenants,
        &obj(
            "Auth0Tenant",
            "own",
            json!({"domain": w.sim.domain(), "baseUrl": w.sim.base_url(), "credentialsSecretRef": {"name": "mgmt"}}),
        ),
    )
    .await;
    let own_ref = json!({"kind": "Auth0Tenant", "name": "own"});
    let legacy = w
        .sim
        .add_resource_server_with_scopes("https://legacy.example.com/", &["read"]);
    let apis_c: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "team-c");
    let clients_c: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "team-c");
    create(
        &apis_c,
        &obj(
            "Auth0ResourceServer",
            "legacy",
            json!({"identifier": "https://legacy.example.com/", "name": "Legacy (team-c)", "adopt": true, "tenantRef": own_ref}),
        ),
    )
    .await;
    wait_ready(&apis_c, "legacy", "True", "Synced", T).await;
    assert_ne!(legacy["name"], "Legacy (team-c)");
    assert_eq!(
        w.sim
            .resource_server("https://legacy.example.com/")
            .unwrap()["name"],
        "Legacy (team-c)",
        "adopted and updated"
    );
    create(
        &clients_c,
        &obj(
            "Auth0Client",
            "web",
            json!({"name": "Renamed by team-c", "clientId": web_id, "tenantRef": own_ref}),
        ),
    )
    .await;
    refused(&clients_c, "web", Reason::OwnedElsewhere).await;
    assert_eq!(w.sim.client(&web_id).unwrap()["name"], "Web");

    // 9. A Secret the cluster would fill with a service-account token: refused by the API
    //    server (CEL) where it runs CEL, else by the operator; no such Secret either way.
    let sa_token = obj::<Auth0Client>(
        "Auth0Client",
        "sa-token",
        json!({
            "name": "SA", "tenantRef": tenant_ref(),
            "secretTemplate": {"type": "kubernetes.io/service-account-token",
                               "metadata": {"annotations": {"kubernetes.io/service-account.name": "default"}}}
        }),
    );
    match clients_b.create(&PostParams::default(), &sa_token).await {
        Err(kube::Error::Api(e)) => assert_eq!(e.code, 422, "{e:?}"),
        Ok(_) => {
            refused(&clients_b, "sa-token", Reason::InvalidSpec).await;
        }
        Err(e) => panic!("{e}"),
    }
    assert!(secrets_b.get_opt("sa-token-auth0").await.unwrap().is_none());

    // The refusals are counted by kind and reason.
    let metrics = op.metrics.render();
    for line in [
        r#"auth0_operator_trust_refusals_total{kind="Auth0Client",reason="Protected"}"#,
        r#"auth0_operator_trust_refusals_total{kind="Auth0Client",reason="OwnedElsewhere"}"#,
        r#"auth0_operator_trust_refusals_total{kind="Auth0ClientGrant",reason="ManagementApiNotAllowed"}"#,
        r#"auth0_operator_trust_refusals_total{kind="Auth0ClientGrant",reason="ConsumerNotAllowed"}"#,
        r#"auth0_operator_trust_refusals_total{kind="Auth0ResourceServer",reason="AdoptionNotAllowed"}"#,
    ] {
        assert!(
            metrics.lines().any(|l| l.split(' ').next() == Some(line)),
            "{line} in {metrics}"
        );
    }
    op.stop().await;
}

/// Two namespaces, both allowed to adopt, ask for the same unmanaged application at the same
/// instant: exactly one adopts it, the other is `OwnedElsewhere` and changes nothing (the
/// name stays the winner's); the outcome survives a restart of the operator, and deleting
/// the refused resource leaves the application alone.
#[tokio::test]
async fn two_namespaces_racing_for_one_application_one_adopts_it() {
    let Some(w) = world(
        "two_namespaces_racing_for_one_application_one_adopts_it",
        &[],
    )
    .await
    else {
        return;
    };
    shared_tenant(
        &w,
        &["team-a", "team-b"],
        json!({
            "allowedNamespaces": {"names": ["team-a", "team-b"]},
            "policy": {"adoption": {"names": ["team-a", "team-b"]}}
        }),
    )
    .await;
    let config = || tenant_objects_only(&w);
    let op = Operator::start(&w.kube, config());
    // Made in the dashboard: no resource manages it.
    let portal = w
        .sim
        .create_client_out_of_band(json!({"name": "Portal", "app_type": "regular_web"}));
    let id = portal["client_id"].as_str().unwrap().to_string();

    let a: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "team-a");
    let b: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "team-b");
    let spec = |name: &str| {
        obj::<Auth0Client>(
            "Auth0Client",
            "portal",
            json!({"name": name, "clientId": id, "tenantRef": tenant_ref()}),
        )
    };
    let (pp, spec_a, spec_b) = (
        PostParams::default(),
        spec("Portal of team-a"),
        spec("Portal of team-b"),
    );
    let (ra, rb) = tokio::join!(a.create(&pp, &spec_a), b.create(&pp, &spec_b));
    ra.unwrap();
    rb.unwrap();

    // Both settle: one Synced, the other OwnedElsewhere.
    let settled = |api: Api<Auth0Client>| async move {
        let deadline = tokio::time::Instant::now() + T;
        let mut last = None;
        while tokio::time::Instant::now() < deadline {
            let c = api.get("portal").await.unwrap();
            last = c.status.as_ref().and_then(|s| ready_of(&s.conditions));
            if let Some((status, reason, _)) = &last
                && (status == "True" && reason == "Synced" || reason == "OwnedElsewhere")
            {
                return reason.clone();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "{:?}/portal did not settle: last Ready {last:?}",
            api.resource_url()
        );
    };
    let outcome = |ra: &str, rb: &str| -> (&'static str, Api<Auth0Client>, Api<Auth0Client>) {
        match (ra, rb) {
            ("Synced", "OwnedElsewhere") => ("Portal of team-a", a.clone(), b.clone()),
            ("OwnedElsewhere", "Synced") => ("Portal of team-b", b.clone(), a.clone()),
            other => panic!("exactly one adopts: {other:?}"),
        }
    };
    let (winner_name, winner, loser) =
        outcome(&settled(a.clone()).await, &settled(b.clone()).await);
    assert_eq!(w.sim.client(&id).unwrap()["name"], winner_name);

    // A restart (a new leader) comes to the same decision, from Auth0 and the statuses.
    op.stop().await;
    let op = Operator::start(&w.kube, config());
    let (again, _, _) = outcome(&settled(a.clone()).await, &settled(b.clone()).await);
    assert_eq!(again, winner_name, "the same owner after a restart");
    assert_eq!(w.sim.client(&id).unwrap()["name"], winner_name);

    // Deleting the refused resource leaves the application and its owner alone.
    delete_and_wait(&loser, "portal").await;
    assert!(w.sim.client(&id).is_some(), "the application survives");
    client_ready(&winner, "portal", "True", "Synced", T).await;
    op.stop().await;
}
