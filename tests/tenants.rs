//! Several Auth0 tenants from one operator: `Auth0Tenant` and `ClusterAuth0Tenant` on the real
//! kube-apiserver, each tenant a simulator of its own.
//!
//! Needs `KUBEBUILDER_ASSETS`; skips loudly without it, and fails when `CI=true`.

mod common;

use std::{collections::BTreeMap, time::Duration};

use auth0_operator::{
    crd::{Auth0Client, Auth0ClientGrant, Auth0Tenant, ClusterAuth0Tenant},
    sim::{DEFAULT_SCOPES, SimConfig, Simulator},
};
use common::*;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::json;

const T: Duration = Duration::from_secs(30);
const AUD: &str = "https://orders.example.com/api";

async fn sim(domain: &str, id: &str, secret: &str) -> Simulator {
    let mut cfg = SimConfig::new(domain, id, secret);
    cfg.audiences = vec![AUD.to_string()];
    Simulator::start(cfg).await.unwrap()
}

/// The operator with tenants allowed on `*.auth0.test` through simulator base URLs.
fn config(w: &World, default_tenant: bool) -> auth0_operator::config::OperatorConfig {
    let mut c = operator_config(&w.sim, Duration::from_secs(60));
    c.tenant_policy.allowed_domains = vec!["*.auth0.test".into()];
    c.tenant_policy.allow_base_url = true;
    if !default_tenant {
        c.auth0 = None;
    }
    c
}

async fn secret(kube: &kube::Client, ns: &str, name: &str, id: &str, value: &str) {
    let s: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
        "stringData": {"AUTH0_CLIENT_ID": id, "AUTH0_CLIENT_SECRET": value}
    }))
    .unwrap();
    let api: Api<Secret> = Api::namespaced(kube.clone(), ns);
    api.patch(name, &PatchParams::apply("test").force(), &Patch::Apply(&s))
        .await
        .unwrap();
}

fn tenant(name: &str, spec: serde_json::Value) -> Auth0Tenant {
    serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Tenant",
        "metadata": {"name": name}, "spec": spec
    }))
    .unwrap()
}

fn cluster_tenant(name: &str, spec: serde_json::Value) -> ClusterAuth0Tenant {
    serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "ClusterAuth0Tenant",
        "metadata": {"name": name}, "spec": spec
    }))
    .unwrap()
}

async fn label_namespace(kube: &kube::Client, name: &str, labels: BTreeMap<&str, &str>) {
    Api::<Namespace>::all(kube.clone())
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": labels}})),
        )
        .await
        .unwrap();
}

fn api_calls(s: &Simulator) -> usize {
    s.requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v2"))
        .count()
}

fn domain_of(s: &Secret) -> String {
    secret_value(s, "AUTH0_DOMAIN").unwrap_or_default()
}

#[tokio::test]
async fn resources_land_in_their_own_tenant() {
    let Some(w) = world("resources_land_in_their_own_tenant", &[AUD]).await else {
        return;
    };
    let one = sim("one.auth0.test", "m2m-one", "secret-one").await;
    let two = sim("two.auth0.test", "m2m-two", "secret-two").await;
    for ns in ["team-a", "team-b", "team-c", "ops"] {
        namespace(&w.kube, ns).await;
    }
    label_namespace(
        &w.kube,
        "team-b",
        BTreeMap::from([("auth0-tenant/two", "true")]),
    )
    .await;
    secret(&w.kube, "team-a", "mgmt", "m2m-one", "secret-one").await;
    secret(&w.kube, "ops", "two-mgmt", "m2m-two", "secret-two").await;
    Api::<Auth0Tenant>::namespaced(w.kube.clone(), "team-a")
        .create(
            &PostParams::default(),
            &tenant(
                "one",
                json!({"domain": "one.auth0.test", "baseUrl": one.base_url(), "credentialsSecretRef": {"name": "mgmt"}}),
            ),
        )
        .await
        .unwrap();
    Api::<ClusterAuth0Tenant>::all(w.kube.clone())
        .create(
            &PostParams::default(),
            &cluster_tenant(
                "two",
                json!({
                    "domain": "two.auth0.test", "baseUrl": two.base_url(),
                    "credentialsSecretRef": {"name": "two-mgmt", "namespace": "ops"},
                    "allowedNamespaces": {"selector": {"matchLabels": {"auth0-tenant/two": "true"}}},
                    // The grants name an API no resource manages: the tenant's owner allows it.
                    "policy": {"unmanagedApis": {"selector": {"matchLabels": {"auth0-tenant/two": "true"}}}}
                }),
            ),
        )
        .await
        .unwrap();
    let op = Operator::start(&w.kube, config(&w, true));
    let t1 = wait_ready(
        &Api::<Auth0Tenant>::namespaced(w.kube.clone(), "team-a"),
        "one",
        "True",
        "Verified",
        T,
    )
    .await;
    let st = t1.status.unwrap();
    assert!(
        st.granted_scopes.iter().any(|s| s == "create:clients"),
        "{st:?}"
    );
    assert!(st.missing_scopes.is_empty());
    wait_ready(
        &Api::<ClusterAuth0Tenant>::all(w.kube.clone()),
        "two",
        "True",
        "Verified",
        T,
    )
    .await;
    // Events about a cluster-scoped tenant are accepted (they live in kube-system).
    eventually("an event about ClusterAuth0Tenant two", T, || async {
        let events: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(w.kube.clone(), "kube-system");
        events
            .list(&kube::api::ListParams::default())
            .await
            .ok()?
            .items
            .into_iter()
            .find(|e| {
                e.involved_object.kind.as_deref() == Some("ClusterAuth0Tenant")
                    && e.reason.as_deref() == Some("Verified")
            })
    })
    .await;

    let mut ids = BTreeMap::new();
    for (ns, tref, expect_domain, expect_key) in [
        (
            "team-a",
            json!({"name": "one"}),
            "one.auth0.test",
            "team-a/one",
        ),
        (
            "team-b",
            json!({"kind": "ClusterAuth0Tenant", "name": "two"}),
            "two.auth0.test",
            "cluster/two",
        ),
    ] {
        let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), ns);
        let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), ns);
        clients
            .create(
                &PostParams::default(),
                &client_obj("app", json!({"name": format!("app-{ns}"), "appType": "non_interactive", "tenantRef": tref})),
            )
            .await
            .unwrap();
        grants
            .create(
                &PostParams::default(),
                &grant_obj("app-orders", json!({"clientRef": {"name": "app"}, "audience": AUD, "scopes": ["read:orders"], "tenantRef": tref})),
            )
            .await
            .unwrap();
        let c = client_ready(&clients, "app", "True", "Synced", T).await;
        let st = c.status.clone().unwrap();
        assert_eq!(st.tenant.as_deref(), Some(expect_key));
        let s = Api::<Secret>::namespaced(w.kube.clone(), ns)
            .get("app-auth0")
            .await
            .unwrap();
        assert_eq!(
            domain_of(&s),
            expect_domain,
            "{ns}: the Secret names its tenant's domain"
        );
        grant_ready(&grants, "app-orders", "True", "Synced", T).await;
        ids.insert(ns, (st.client_id.unwrap(), c.uid().unwrap()));
    }
    // Each tenant holds exactly its own namespace's application and grant; the default none.
    let (a_id, a_uid) = &ids["team-a"];
    let (b_id, b_uid) = &ids["team-b"];
    assert_eq!(one.clients().len(), 1);
    assert_eq!(one.clients()[0]["client_id"], a_id.as_str());
    assert_eq!(
        one.clients()[0]["client_metadata"]["k8s_operator_uid"],
        a_uid.as_str()
    );
    assert_eq!(two.clients().len(), 1);
    assert_eq!(two.clients()[0]["client_id"], b_id.as_str());
    assert_eq!(
        two.clients()[0]["client_metadata"]["k8s_operator_uid"],
        b_uid.as_str()
    );
    assert!(one.grants().iter().any(|g| g["client_id"] == a_id.as_str()));
    assert!(two.grants().iter().any(|g| g["client_id"] == b_id.as_str()));
    assert!(w.sim.clients().is_empty(), "nothing in the default tenant");

    // team-c is not allowed to use the cluster tenant: refused without an Auth0 call.
    let before = api_calls(&two);
    let clients_c: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "team-c");
    clients_c
        .create(
            &PostParams::default(),
            &client_obj("app", json!({"name": "app-c", "tenantRef": {"kind": "ClusterAuth0Tenant", "name": "two"}})),
        )
        .await
        .unwrap();
    let c = client_ready(&clients_c, "app", "False", "TenantNotAllowed", T).await;
    let (_, _, msg) = ready_of(&c.status.unwrap().conditions).unwrap();
    assert!(
        msg.contains("team-c") && msg.contains("allowedNamespaces"),
        "{msg}"
    );
    assert_eq!(
        api_calls(&two),
        before,
        "no Auth0 call for a refused tenant"
    );

    // A grant cannot name a client of another tenant.
    let grants_b: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), "team-b");
    grants_b
        .create(
            &PostParams::default(),
            &grant_obj(
                "cross",
                json!({"clientRef": {"name": "app"}, "audience": AUD}),
            ),
        )
        .await
        .unwrap();
    let g = grant_ready(&grants_b, "cross", "False", "InvalidSpec", T).await;
    let (_, _, msg) = ready_of(&g.status.unwrap().conditions).unwrap();
    assert!(msg.contains("tenant"), "{msg}");
    op.stop().await;
}

#[tokio::test]
async fn credentials_are_verified_fixed_and_rotated_without_restart() {
    let Some(w) = world(
        "credentials_are_verified_fixed_and_rotated_without_restart",
        &[AUD],
    )
    .await
    else {
        return;
    };
    let one = sim("one.auth0.test", "m2m-one", "secret-one").await;
    let mut limited_cfg = SimConfig::new("limited.auth0.test", "m2m-l", "secret-l");
    limited_cfg.scopes = DEFAULT_SCOPES
        .iter()
        .filter(|s| **s != "delete:clients")
        .map(|s| s.to_string())
        .collect();
    let limited = Simulator::start(limited_cfg).await.unwrap();
    namespace(&w.kube, "team-a").await;
    secret(&w.kube, "team-a", "mgmt", "m2m-one", "not-the-secret").await;
    secret(&w.kube, "team-a", "limited-mgmt", "m2m-l", "secret-l").await;
    let tenants: Api<Auth0Tenant> = Api::namespaced(w.kube.clone(), "team-a");
    tenants
        .create(
            &PostParams::default(),
            &tenant(
                "one",
                json!({"domain": "one.auth0.test", "baseUrl": one.base_url(), "credentialsSecretRef": {"name": "mgmt"}}),
            ),
        )
        .await
        .unwrap();
    tenants
        .create(
            &PostParams::default(),
            &tenant(
                "limited",
                json!({"domain": "limited.auth0.test", "baseUrl": limited.base_url(), "credentialsSecretRef": {"name": "limited-mgmt"}}),
            ),
        )
        .await
        .unwrap();
    let op = Operator::start(&w.kube, config(&w, true));
    let t = wait_ready(&tenants, "one", "False", "InvalidCredentials", T).await;
    let (_, _, msg) = ready_of(&t.status.unwrap().conditions).unwrap();
    assert!(
        !msg.contains("not-the-secret"),
        "no secret in the message: {msg}"
    );
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "team-a");
    clients
        .create(
            &PostParams::default(),
            &client_obj("app", json!({"name": "app", "tenantRef": {"name": "one"}})),
        )
        .await
        .unwrap();
    client_ready(&clients, "app", "False", "TenantNotReady", T).await;
    assert_eq!(
        api_calls(&one),
        0,
        "no Management API call while the tenant is not ready"
    );

    // Missing scopes are named.
    let l = wait_ready(&tenants, "limited", "False", "MissingScopes", T).await;
    assert_eq!(
        l.status.unwrap().missing_scopes,
        vec!["delete:clients".to_string()]
    );

    // Fixing the Secret recovers the tenant and then its resource, without a restart.
    secret(&w.kube, "team-a", "mgmt", "m2m-one", "secret-one").await;
    wait_ready(&tenants, "one", "True", "Verified", T).await;
    let c = client_ready(&clients, "app", "True", "Synced", T).await;
    let id = c.status.unwrap().client_id.unwrap();
    assert_eq!(one.clients().len(), 1);

    // The management secret is rotated in Auth0 and in the Secret: the next calls use a new
    // token obtained with the new secret.
    let issued = one.tokens_issued();
    one.set_management_secret("secret-one-rotated");
    secret(&w.kube, "team-a", "mgmt", "m2m-one", "secret-one-rotated").await;
    eventually("a token fetched with the new secret", T, || async {
        (one.tokens_issued() > issued).then_some(())
    })
    .await;
    let patch = json!({"spec": {"description": "after rotation"}});
    clients
        .patch("app", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    eventually("the change reached Auth0", T, || async {
        (one.client(&id)?["description"] == "after rotation").then_some(())
    })
    .await;
    wait_ready(&tenants, "one", "True", "Verified", T).await;

    // The domain cannot change (where the API server does not refuse it already, the operator
    // does, keeping the tenant's resources where they live).
    let moved = tenants
        .patch(
            "one",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"domain": "elsewhere.auth0.test"}})),
        )
        .await;
    match moved {
        Ok(_) => {
            let t = wait_ready(&tenants, "one", "False", "InvalidSpec", T).await;
            let (_, _, msg) = ready_of(&t.status.unwrap().conditions).unwrap();
            assert!(
                msg.contains("domain is immutable") && msg.contains("one.auth0.test"),
                "{msg}"
            );
            client_ready(&clients, "app", "False", "TenantNotReady", T).await;
        }
        Err(kube::Error::Api(e)) if e.code == 422 => {}
        Err(e) => panic!("{e}"),
    }
    op.stop().await;
}

#[tokio::test]
async fn a_tenant_in_use_is_deleted_after_its_resources() {
    let Some(w) = world("a_tenant_in_use_is_deleted_after_its_resources", &[]).await else {
        return;
    };
    let one = sim("one.auth0.test", "m2m-one", "secret-one").await;
    namespace(&w.kube, "team-a").await;
    secret(&w.kube, "team-a", "mgmt", "m2m-one", "secret-one").await;
    let tenants: Api<Auth0Tenant> = Api::namespaced(w.kube.clone(), "team-a");
    tenants
        .create(
            &PostParams::default(),
            &tenant(
                "one",
                json!({"domain": "one.auth0.test", "baseUrl": one.base_url(), "credentialsSecretRef": {"name": "mgmt"}}),
            ),
        )
        .await
        .unwrap();
    let op = Operator::start(&w.kube, config(&w, false));
    wait_ready(&tenants, "one", "True", "Verified", T).await;
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "team-a");
    clients
        .create(
            &PostParams::default(),
            &client_obj(
                "app",
                json!({"name": "app", "tenantRef": {"name": "one"}, "deletionPolicy": "Delete"}),
            ),
        )
        .await
        .unwrap();
    client_ready(&clients, "app", "True", "Synced", T).await;
    assert_eq!(one.clients().len(), 1);

    tenants
        .delete("one", &DeleteParams::default())
        .await
        .unwrap();
    let t = wait_ready(&tenants, "one", "False", "InUse", T).await;
    let (_, _, msg) = ready_of(&t.status.unwrap().conditions).unwrap();
    assert!(msg.contains("1 resource"), "{msg}");
    assert!(t.metadata.deletion_timestamp.is_some());

    // The credentials break while the tenant is being deleted: the client's Delete cleanup
    // cannot run (nothing is left behind in Auth0, the client waits)...
    secret(&w.kube, "team-a", "mgmt", "m2m-one", "broken").await;
    eventually("InUse names the broken credentials", T, || async {
        let t = tenants.get("one").await.ok()?;
        let (_, reason, msg) = ready_of(&t.status?.conditions)?;
        (reason == "InUse" && msg.contains("InvalidCredentials")).then_some(())
    })
    .await;
    clients
        .delete("app", &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        clients.get_opt("app").await.unwrap().is_some(),
        "cleanup waits for working credentials"
    );
    assert_eq!(one.clients().len(), 1);

    // ...until they are fixed: the deleting tenant is verified again, the client's cleanup
    // deletes its application, then the tenant goes.
    secret(&w.kube, "team-a", "mgmt", "m2m-one", "secret-one").await;
    eventually("client gone from Auth0 and Kubernetes", T, || async {
        (one.clients().is_empty() && clients.get_opt("app").await.ok()?.is_none()).then_some(())
    })
    .await;
    eventually("tenant gone", T, || async {
        tenants.get_opt("one").await.ok()?.is_none().then_some(())
    })
    .await;
    op.stop().await;
}

#[tokio::test]
async fn domains_base_urls_and_missing_default_are_refused() {
    let Some(w) = world("domains_base_urls_and_missing_default_are_refused", &[]).await else {
        return;
    };
    namespace(&w.kube, "team-a").await;
    secret(&w.kube, "team-a", "mgmt", MGMT_ID, MGMT_SECRET).await;
    let tenants: Api<Auth0Tenant> = Api::namespaced(w.kube.clone(), "team-a");
    tenants
        .create(
            &PostParams::default(),
            &tenant(
                "evil",
                json!({"domain": "evil.example.org", "credentialsSecretRef": {"name": "mgmt"}}),
            ),
        )
        .await
        .unwrap();
    tenants
        .create(
            &PostParams::default(),
            &tenant(
                "proxied",
                json!({"domain": "proxied.auth0.com", "baseUrl": w.sim.base_url(), "credentialsSecretRef": {"name": "mgmt"}}),
            ),
        )
        .await
        .unwrap();
    // Operator defaults: *.auth0.com only, no baseUrl, and here no default tenant.
    let mut c = operator_config(&w.sim, Duration::from_secs(60));
    c.auth0 = None;
    let op = Operator::start(&w.kube, c);
    let t = wait_ready(&tenants, "evil", "False", "DomainNotAllowed", T).await;
    let (_, _, msg) = ready_of(&t.status.unwrap().conditions).unwrap();
    assert!(msg.contains("ALLOWED_TENANT_DOMAINS"), "{msg}");
    let t = wait_ready(&tenants, "proxied", "False", "DomainNotAllowed", T).await;
    let (_, _, msg) = ready_of(&t.status.unwrap().conditions).unwrap();
    assert!(msg.contains("ALLOW_TENANT_BASE_URL"), "{msg}");
    assert!(w.sim.requests().is_empty(), "nothing was sent anywhere");

    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "team-a");
    clients
        .create(
            &PostParams::default(),
            &client_obj("plain", json!({"name": "plain"})),
        )
        .await
        .unwrap();
    let c = client_ready(&clients, "plain", "False", "TenantNotFound", T).await;
    let (_, _, msg) = ready_of(&c.status.unwrap().conditions).unwrap();
    assert!(msg.contains("no default tenant"), "{msg}");
    clients
        .create(
            &PostParams::default(),
            &client_obj(
                "typo",
                json!({"name": "typo", "tenantRef": {"name": "nope"}}),
            ),
        )
        .await
        .unwrap();
    let c = client_ready(&clients, "typo", "False", "TenantNotFound", T).await;
    let (_, _, msg) = ready_of(&c.status.unwrap().conditions).unwrap();
    assert!(msg.contains("Auth0Tenant nope does not exist"), "{msg}");
    // Deleting resources that never reached a tenant is not held.
    clients
        .delete("typo", &DeleteParams::default())
        .await
        .unwrap();
    eventually("never-synced resource deleted", T, || async {
        clients.get_opt("typo").await.ok()?.is_none().then_some(())
    })
    .await;
    op.stop().await;
}

/// A tenant whose management application authenticates with private-key JWT: the Secret holds
/// its private key (`credentialsSecretRef.privateKeyKey`), the operator signs a client
/// assertion for each token, sends no secret, and the tenant's resources are made through it.
#[tokio::test]
async fn a_tenant_authenticates_with_a_private_key() {
    let Some(w) = world("a_tenant_authenticates_with_a_private_key", &[]).await else {
        return;
    };
    // The application's secret is known to the simulator but never sent.
    let keyed = sim("keyed.auth0.test", "m2m-keyed", "never-sent").await;
    let (private, _, public) = common::jwt::pem_key_pair();
    keyed.add_management_key(&public).unwrap();
    namespace(&w.kube, "keyed").await;
    let s: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mgmt"},
        "stringData": {"AUTH0_CLIENT_ID": "m2m-keyed", "AUTH0_PRIVATE_KEY": private}
    }))
    .unwrap();
    Api::<Secret>::namespaced(w.kube.clone(), "keyed")
        .create(&PostParams::default(), &s)
        .await
        .unwrap();
    Api::<Auth0Tenant>::namespaced(w.kube.clone(), "keyed")
        .create(
            &PostParams::default(),
            &tenant(
                "keyed",
                json!({"domain": "keyed.auth0.test", "baseUrl": keyed.base_url(),
                       "credentialsSecretRef": {"name": "mgmt", "privateKeyKey": "AUTH0_PRIVATE_KEY"}}),
            ),
        )
        .await
        .unwrap();
    let op = Operator::start(&w.kube, config(&w, false));
    wait_ready(
        &Api::<Auth0Tenant>::namespaced(w.kube.clone(), "keyed"),
        "keyed",
        "True",
        "Verified",
        T,
    )
    .await;
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "keyed");
    clients
        .create(
            &PostParams::default(),
            &client_obj(
                "app",
                json!({"name": "App", "tenantRef": {"name": "keyed"}}),
            ),
        )
        .await
        .unwrap();
    client_ready(&clients, "app", "True", "Synced", T).await;
    assert_eq!(keyed.clients().len(), 1, "made in the keyed tenant");
    let tokens: Vec<_> = keyed
        .requests()
        .into_iter()
        .filter(|r| r.path == "/oauth/token")
        .collect();
    assert!(!tokens.is_empty());
    for t in &tokens {
        let body = t.body.clone().unwrap_or_default();
        assert_eq!(t.status, 200, "{body}");
        assert!(
            body.get("client_secret").is_none(),
            "no secret is sent: {body}"
        );
        assert_eq!(
            body["client_assertion_type"],
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
    }
    op.stop().await;
}
