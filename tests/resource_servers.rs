//! `Auth0ResourceServer` (APIs) and grants that reference them, on the real kube-apiserver with
//! the simulator as Auth0.
//!
//! Needs `KUBEBUILDER_ASSETS`; skips loudly without it, and fails when `CI=true`.

mod common;

use std::time::Duration;

use auth0_operator::crd::{Auth0Client, Auth0ClientGrant, Auth0ResourceServer};
use common::{jwt::verify, *};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, ResourceExt,
    api::{DeleteParams, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(30);
const ORDERS: &str = "https://orders.example.com/api";

fn api_obj(name: &str, spec: Value) -> Auth0ResourceServer {
    serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0ResourceServer",
        "metadata": {"name": name}, "spec": spec
    }))
    .unwrap()
}

/// The simulator's API with this identifier.
fn sim_api(w: &World, identifier: &str) -> Option<Value> {
    w.sim
        .resource_servers()
        .into_iter()
        .find(|r| r["identifier"] == identifier)
}

/// Requests the operator sent with this method to a path starting with `prefix`.
fn sent(w: &World, method: &str, prefix: &str) -> Vec<auth0_operator::sim::RecordedRequest> {
    w.sim
        .requests()
        .into_iter()
        .filter(|r| r.method == method && r.path.starts_with(prefix))
        .collect()
}

/// The scope values of an API as the simulator holds them, sorted.
fn scope_values(api: &Value) -> Vec<String> {
    let mut v: Vec<String> = api["scopes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| s["value"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

async fn apply<K>(api: &Api<K>, obj: &K)
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let mut o = obj.clone();
    o.meta_mut().managed_fields = None;
    api.patch(
        &o.name_any(),
        &PatchParams::apply("test").force(),
        &Patch::Apply(&o),
    )
    .await
    .unwrap();
}

/// Applies the API `orders` (identifier [`ORDERS`]) defining `api_scopes`, the application
/// `worker`, and the grant `g` of `grant_scopes` to it by `resourceServerRef`.
async fn api_worker_and_grant(
    (apis, clients, grants): (
        &Api<Auth0ResourceServer>,
        &Api<Auth0Client>,
        &Api<Auth0ClientGrant>,
    ),
    api_scopes: &[&str],
    grant_scopes: &[&str],
) {
    let scopes: Vec<Value> = api_scopes.iter().map(|s| json!({"value": s})).collect();
    apply(
        apis,
        &api_obj("orders", json!({"identifier": ORDERS, "scopes": scopes})),
    )
    .await;
    apply(
        clients,
        &client_obj(
            "worker",
            json!({"name": "Worker", "appType": "non_interactive"}),
        ),
    )
    .await;
    apply(
        grants,
        &grant_obj(
            "g",
            json!({"clientRef": {"name": "worker"}, "resourceServerRef": {"name": "orders"},
                   "scopes": grant_scopes}),
        ),
    )
    .await;
}

/// An API with scopes, a worker client and its grant by `resourceServerRef` converge whatever
/// the order they are applied in; the grant holds exactly its scopes for the API's identifier;
/// and the workload's Secret obtains tokens for the API that follow the grant.
#[tokio::test]
async fn api_client_and_grant_converge_in_any_order() {
    let Some(w) = world("api_client_and_grant_converge_in_any_order", &[]).await else {
        return;
    };
    namespace(&w.kube, "shop").await;
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "shop");
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "shop");
    let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), "shop");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));

    // Grant first, then the client, then the API.
    grants
        .create(
            &PostParams::default(),
            &grant_obj(
                "worker-orders",
                json!({"clientRef": {"name": "worker"}, "resourceServerRef": {"name": "orders"},
                       "scopes": ["read:orders"]}),
            ),
        )
        .await
        .unwrap();
    let g = wait_ready(&grants, "worker-orders", "False", "ClientNotReady", T).await;
    drop(g);
    clients
        .create(
            &PostParams::default(),
            &client_obj(
                "worker",
                json!({"name": "Worker", "appType": "non_interactive",
                       "grantTypes": ["client_credentials"]}),
            ),
        )
        .await
        .unwrap();
    let g = wait_ready(
        &grants,
        "worker-orders",
        "False",
        "ResourceServerNotReady",
        T,
    )
    .await;
    let (_, _, message) = ready_of(&g.status.as_ref().unwrap().conditions).unwrap();
    assert_eq!(
        message,
        "Auth0ResourceServer orders does not exist in namespace shop"
    );
    apis.create(
        &PostParams::default(),
        &api_obj(
            "orders",
            json!({"identifier": ORDERS, "name": "Orders API",
                   "scopes": [{"value": "read:orders", "description": "Read orders"},
                              {"value": "write:orders"}],
                   "tokenLifetime": 3600}),
        ),
    )
    .await
    .unwrap();
    let a = wait_ready(&apis, "orders", "True", "Synced", T).await;
    let st = a.status.unwrap();
    let held = sim_api(&w, ORDERS).expect("the API exists in Auth0");
    assert_eq!(st.id.as_deref(), held["id"].as_str());
    assert_eq!(st.identifier.as_deref(), Some(ORDERS));
    assert_eq!(held["name"], "Orders API");
    assert_eq!(held["token_lifetime"], 3600);
    assert_eq!(scope_values(&held), ["read:orders", "write:orders"]);

    let g = wait_ready(&grants, "worker-orders", "True", "Synced", T).await;
    let c = wait_ready(&clients, "worker", "True", "Synced", T).await;
    let gs = g.status.unwrap();
    assert_eq!(gs.audience.as_deref(), Some(ORDERS));
    let client_id = c.status.unwrap().client_id.unwrap();
    let held: Vec<Value> = w
        .sim
        .grants()
        .into_iter()
        .filter(|g| g["audience"] == ORDERS)
        .collect();
    assert_eq!(held.len(), 1, "one grant for the API: {held:?}");
    assert_eq!(held[0]["client_id"], client_id.as_str());
    assert_eq!(held[0]["scope"], json!(["read:orders"]));
    assert_eq!(gs.grant_id.as_deref(), held[0]["id"].as_str());

    // The workload's credentials (from the Secret) obtain a token for the API, with exactly
    // the grant's scopes, signed by a key the tenant publishes.
    let secrets: Api<Secret> = Api::namespaced(w.kube.clone(), "shop");
    let s = secrets.get("worker-auth0").await.unwrap();
    let (id, secret) = (
        secret_value(&s, "AUTH0_CLIENT_ID").unwrap(),
        secret_value(&s, "AUTH0_CLIENT_SECRET").unwrap(),
    );
    assert_eq!(id, client_id);
    assert_eq!(secret_value(&s, "AUTH0_DOMAIN").as_deref(), Some(DOMAIN));
    let jwks: Value = reqwest::get(format!("{}/.well-known/jwks.json", w.sim.base_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (status, body) = token(&w, &id, &secret, ORDERS).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["scope"], "read:orders");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600, "the API's tokenLifetime");
    let (_, claims) = verify(body["access_token"].as_str().unwrap(), &jwks).expect("signature");
    assert_eq!(claims["iss"], format!("https://{DOMAIN}/"));
    assert_eq!(claims["aud"], ORDERS);
    assert_eq!(claims["sub"], format!("{client_id}@clients"));
    assert_eq!(claims["azp"], client_id.as_str());
    assert_eq!(claims["scope"], "read:orders");
    assert_eq!(claims["gty"], "client-credentials");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        3600
    );

    // A scope change on the grant shows in the next token.
    apply(
        &grants,
        &grant_obj(
            "worker-orders",
            json!({"clientRef": {"name": "worker"}, "resourceServerRef": {"name": "orders"},
                   "scopes": ["write:orders", "read:orders"]}),
        ),
    )
    .await;
    let body = eventually("the next token carries both scopes", T, || async {
        let (status, body) = token(&w, &id, &secret, ORDERS).await;
        (status == 200 && body["scope"] == "read:orders write:orders").then_some(body)
    })
    .await;
    let (_, claims) = verify(body["access_token"].as_str().unwrap(), &jwks).unwrap();
    assert_eq!(claims["scope"], "read:orders write:orders");

    // Without the grant, Auth0 refuses the token and says why.
    grants
        .delete("worker-orders", &DeleteParams::default())
        .await
        .unwrap();
    let body = eventually("the token is refused", T, || async {
        let (status, body) = token(&w, &id, &secret, ORDERS).await;
        (status == 403).then_some(body)
    })
    .await;
    assert_eq!(body["error"], "access_denied");
    assert_eq!(
        body["error_description"],
        format!(
            "Client is not authorized to access \"{ORDERS}\". You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants"
        )
    );
    op.stop().await;
}

/// `POST /oauth/token` (client credentials) at the simulator: (status, body).
async fn token(w: &World, id: &str, secret: &str, audience: &str) -> (u16, Value) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let r = reqwest::Client::new()
        .post(format!("{}/oauth/token", w.sim.base_url()))
        .json(&json!({"grant_type": "client_credentials", "client_id": id,
                      "client_secret": secret, "audience": audience}))
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// Scopes are a set keyed by value: reordering sends nothing, a changed description sends one
/// PATCH, `[]` clears them, and omitting the field leaves Auth0's scopes alone.
#[tokio::test]
async fn scopes_compare_as_a_set_and_only_when_managed() {
    let Some(w) = world("scopes_compare_as_a_set_and_only_when_managed", &[]).await else {
        return;
    };
    namespace(&w.kube, "sets").await;
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "sets");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    let spec = |scopes: Value| {
        let mut s = json!({"identifier": ORDERS});
        if !scopes.is_null() {
            s["scopes"] = scopes;
        }
        api_obj("orders", s)
    };
    apply(
        &apis,
        &spec(json!([{"value": "a", "description": "A"}, {"value": "b"}])),
    )
    .await;
    let a = wait_ready(&apis, "orders", "True", "Synced", T).await;
    let id = a.status.unwrap().id.unwrap();
    let patches = || sent(&w, "PATCH", "/api/v2/resource-servers/").len();
    assert_eq!(patches(), 0, "created with its scopes: nothing to patch");
    let generation = |a: &Auth0ResourceServer| {
        a.status
            .as_ref()
            .and_then(|s| s.observed_generation)
            .unwrap_or_default()
    };

    // Reordered: observed, nothing sent.
    apply(
        &apis,
        &spec(json!([{"value": "b"}, {"value": "a", "description": "A"}])),
    )
    .await;
    eventually("the reorder is observed", T, || async {
        let a = apis.get("orders").await.ok()?;
        (generation(&a) == a.metadata.generation?).then_some(())
    })
    .await;
    assert_eq!(patches(), 0, "a reordered list sends no PATCH");

    // A description changed: exactly one PATCH, with the whole list.
    apply(
        &apis,
        &spec(json!([{"value": "b"}, {"value": "a", "description": "All of A"}])),
    )
    .await;
    eventually("the description reaches Auth0", T, || async {
        let held = sim_api(&w, ORDERS)?;
        held["scopes"]
            .as_array()?
            .iter()
            .any(|s| s["value"] == "a" && s["description"] == "All of A")
            .then_some(())
    })
    .await;
    wait_ready(&apis, "orders", "True", "Synced", T).await;
    let p = sent(&w, "PATCH", "/api/v2/resource-servers/");
    assert_eq!(p.len(), 1, "one PATCH: {p:?}");
    assert_eq!(p[0].path, format!("/api/v2/resource-servers/{id}"));
    let body = p[0].body.clone().unwrap();
    assert_eq!(body.as_object().unwrap().len(), 1, "only scopes: {body}");
    let mut scopes = body["scopes"].as_array().unwrap().clone();
    scopes.sort_by_key(|s| s["value"].as_str().unwrap().to_string());
    assert_eq!(
        scopes,
        [
            json!({"value": "a", "description": "All of A"}),
            json!({"value": "b"})
        ],
        "the whole list"
    );

    // Omitted: scopes changed in the dashboard stay as they are. (Removed with a merge patch,
    // as client-side `kubectl apply` does: server-side apply on 1.20 turns a list-map field
    // dropped from the applied config into a null the schema refuses.)
    apis.patch(
        "orders",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"scopes": null}})),
    )
    .await
    .unwrap();
    assert!(apis.get("orders").await.unwrap().spec.scopes.is_none());
    eventually("the omission is observed", T, || async {
        let a = apis.get("orders").await.ok()?;
        (generation(&a) == a.metadata.generation?).then_some(())
    })
    .await;
    assert_eq!(patches(), 1, "unmanaged scopes send nothing");
    assert_eq!(scope_values(&sim_api(&w, ORDERS).unwrap()), ["a", "b"]);

    // []: no scopes.
    apply(&apis, &spec(json!([]))).await;
    eventually("the scopes are cleared", T, || async {
        scope_values(&sim_api(&w, ORDERS)?).is_empty().then_some(())
    })
    .await;
    assert_eq!(patches(), 2);
    op.stop().await;
}

/// An API that exists already is never taken over silently: `AlreadyExists` with a sentence
/// that says how to adopt, then adopted (and updated to the spec) with `adopt: true`.
#[tokio::test]
async fn an_existing_api_is_adopted_only_when_asked() {
    let Some(w) = world("an_existing_api_is_adopted_only_when_asked", &[ORDERS]).await else {
        return;
    };
    namespace(&w.kube, "adopt").await;
    let before = sim_api(&w, ORDERS).expect("seeded API");
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "adopt");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    apply(
        &apis,
        &api_obj("orders", json!({"identifier": ORDERS, "name": "Orders"})),
    )
    .await;
    let a = wait_ready(&apis, "orders", "False", "AlreadyExists", T).await;
    let (_, _, message) = ready_of(&a.status.as_ref().unwrap().conditions).unwrap();
    assert_eq!(
        message,
        format!(
            "an API with identifier {ORDERS} already exists in tenant default and was not created by this resource; set spec.adopt: true to manage it (the operator then updates it to this spec and, with deletionPolicy Delete, deletes it with this resource), or recreate this resource with another identifier"
        )
    );
    // It stays so: later passes do not mistake the API for theirs.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let a = apis.get("orders").await.unwrap();
    assert_eq!(
        ready_of(&a.status.as_ref().unwrap().conditions).unwrap().1,
        "AlreadyExists"
    );
    assert!(
        sent(&w, "POST", "/api/v2/resource-servers").is_empty(),
        "a taken identifier is found by its GET: no create is attempted"
    );
    let st = a.status.unwrap();
    assert_eq!(st.id, None, "nothing recorded as ours");
    assert_eq!(st.identifier, None);
    assert_eq!(
        sim_api(&w, ORDERS).unwrap()["name"],
        before["name"],
        "untouched"
    );

    apply(
        &apis,
        &api_obj(
            "orders",
            json!({"identifier": ORDERS, "name": "Orders", "adopt": true}),
        ),
    )
    .await;
    let a = wait_ready(&apis, "orders", "True", "Synced", T).await;
    assert_eq!(a.status.unwrap().id.as_deref(), before["id"].as_str());
    assert_eq!(sim_api(&w, ORDERS).unwrap()["name"], "Orders");
    op.stop().await;
}

/// The Management API (a system API) is refused before any call that could change it.
#[tokio::test]
async fn the_management_api_is_refused() {
    let Some(w) = world("the_management_api_is_refused", &[]).await else {
        return;
    };
    namespace(&w.kube, "sys").await;
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "sys");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    let mgmt = format!("https://{DOMAIN}/api/v2/");
    apply(
        &apis,
        &api_obj("mgmt", json!({"identifier": mgmt, "adopt": true})),
    )
    .await;
    let a = wait_ready(&apis, "mgmt", "False", "Protected", T).await;
    let (_, _, message) = ready_of(&a.status.as_ref().unwrap().conditions).unwrap();
    assert_eq!(
        message,
        format!(
            "{mgmt} is the tenant's Management API: no resource may adopt, change or delete it, in any namespace; give this resource the identifier of an API of its own"
        )
    );
    assert!(sent(&w, "POST", "/api/v2/resource-servers").is_empty());
    assert!(sent(&w, "PATCH", "/api/v2/resource-servers").is_empty());
    op.stop().await;
}

/// A grant asking for scopes its API does not define says which, and becomes ready as soon as
/// the API defines them.
#[tokio::test]
async fn unknown_scopes_are_named_until_the_api_defines_them() {
    let Some(w) = world("unknown_scopes_are_named_until_the_api_defines_them", &[]).await else {
        return;
    };
    namespace(&w.kube, "scopes").await;
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "scopes");
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "scopes");
    let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), "scopes");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    api_worker_and_grant(
        (&apis, &clients, &grants),
        &["read:orders"],
        &["read:orders", "write:orders", "delete:orders"],
    )
    .await;
    let g = wait_ready(&grants, "g", "False", "UnknownScopes", T).await;
    let (_, _, message) = ready_of(&g.status.as_ref().unwrap().conditions).unwrap();
    assert_eq!(
        message,
        format!(
            "the API {ORDERS} does not define the scopes delete:orders, write:orders: add them to spec.scopes of Auth0ResourceServer orders, or remove them from this grant's spec.scopes"
        )
    );
    // Auth0 was asked, and refused.
    let posts = sent(&w, "POST", "/api/v2/client-grants");
    assert!(
        !posts.is_empty() && posts.iter().all(|r| r.status == 400),
        "{posts:?}"
    );

    apply(
        &apis,
        &api_obj(
            "orders",
            json!({"identifier": ORDERS, "scopes": [{"value": "read:orders"},
                   {"value": "write:orders"}, {"value": "delete:orders"}]}),
        ),
    )
    .await;
    // Woken by the API's change (the calm retry of UnknownScopes is minutes away).
    let g = wait_ready(&grants, "g", "True", "Synced", Duration::from_secs(20)).await;
    assert!(g.status.unwrap().grant_id.is_some());
    op.stop().await;
}

/// Deleting the API (with the resource) takes its grants with it in Auth0; the grant that
/// referenced it says so and stops naming the gone grant, without looping on 404s.
#[tokio::test]
async fn a_deleted_api_is_reported_by_its_grants() {
    let Some(w) = world("a_deleted_api_is_reported_by_its_grants", &[]).await else {
        return;
    };
    namespace(&w.kube, "gone").await;
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "gone");
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "gone");
    let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), "gone");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    api_worker_and_grant(
        (&apis, &clients, &grants),
        &["read:orders"],
        &["read:orders"],
    )
    .await;
    wait_ready(&grants, "g", "True", "Synced", T).await;
    apis.delete("orders", &DeleteParams::default())
        .await
        .unwrap();
    eventually("the API resource is gone", T, || async {
        apis.get_opt("orders").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(sim_api(&w, ORDERS).is_none(), "deleted in Auth0");
    assert!(
        w.sim.grants().iter().all(|g| g["audience"] != ORDERS),
        "Auth0 deleted the API's grants"
    );
    wait_ready(&grants, "g", "False", "ResourceServerNotReady", T).await;
    // While the API resource is being deleted the grant says so; once it is gone, that.
    let st = eventually("the grant says the API resource is gone", T, || async {
        let st = grants.get("g").await.ok()?.status?;
        let (_, _, message) = ready_of(&st.conditions)?;
        (message == "Auth0ResourceServer orders does not exist in namespace gone").then_some(st)
    })
    .await;
    assert_eq!(st.grant_id, None, "the gone grant is no longer named");
    // Calm: no grant calls while it waits.
    let before = sent(&w, "POST", "/api/v2/client-grants").len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sent(&w, "POST", "/api/v2/client-grants").len(), before);
    op.stop().await;
}

/// The operator process is killed after Auth0 created the API but before the answer reached
/// it: after a restart there is exactly one API, adopted as this resource's own (the intent
/// was recorded in status before the POST), not reported as `AlreadyExists`.
#[tokio::test]
async fn killed_after_create_leaves_exactly_one_api() {
    let Some(w) = world("killed_after_create_leaves_exactly_one_api", &[]).await else {
        return;
    };
    namespace(&w.kube, "crash").await;
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "crash");
    w.sim
        .set_response_delay("POST", "/api/v2/resource-servers", Duration::from_secs(30));
    let bin = env!("CARGO_BIN_EXE_auth0-operator");
    let spawn = || {
        tokio::process::Command::new(bin)
            .arg("run")
            .env("KUBECONFIG", w.env.kubeconfig_path())
            .env("AUTH0_DOMAIN", DOMAIN)
            .env("AUTH0_CLIENT_ID", MGMT_ID)
            .env("AUTH0_CLIENT_SECRET", MGMT_SECRET)
            .env("AUTH0_BASE_URL", w.sim.base_url())
            .env("RUST_LOG", "info")
            .kill_on_drop(true)
            .spawn()
            .expect("operator binary starts")
    };
    let mut first = spawn();
    apis.create(
        &PostParams::default(),
        &api_obj("orders", json!({"identifier": ORDERS, "name": "Orders"})),
    )
    .await
    .unwrap();
    eventually("Auth0 created the API", T, || async {
        sim_api(&w, ORDERS).map(|_| ())
    })
    .await;
    first.start_kill().unwrap(); // SIGKILL while the create call waits for its answer
    first.wait().await.unwrap();
    let a = apis.get("orders").await.unwrap();
    let st = a.status.clone().unwrap_or_default();
    assert_eq!(st.id, None, "the answer never arrived");
    assert_eq!(
        st.identifier.as_deref(),
        Some(ORDERS),
        "the intent was recorded first"
    );

    w.sim
        .set_response_delay("POST", "/api/v2/resource-servers", Duration::ZERO);
    let mut second = spawn();
    let a = wait_ready(&apis, "orders", "True", "Synced", T).await;
    let held: Vec<Value> = w
        .sim
        .resource_servers()
        .into_iter()
        .filter(|r| r["identifier"] == ORDERS)
        .collect();
    assert_eq!(held.len(), 1, "exactly one API after the restart");
    assert_eq!(a.status.unwrap().id.as_deref(), held[0]["id"].as_str());
    // The held-back POST is never answered; the restarted operator adopted instead of posting
    // again (a second POST would have been answered 409).
    let posts = sent(&w, "POST", "/api/v2/resource-servers");
    assert!(posts.iter().all(|r| r.status != 409), "{posts:?}");
    assert!(posts.len() <= 1, "{posts:?}");
    second.start_kill().unwrap();
    let _ = second.wait().await;
}

/// A grant by `audience` for an API made elsewhere, after the operator listed the tenant's APIs:
/// Auth0 refuses undefined scopes with a 400 that names none of them; the grant's condition
/// names them.
#[tokio::test]
async fn auth0s_refusal_of_undefined_scopes_is_explained() {
    let Some(w) = world("auth0s_refusal_of_undefined_scopes_is_explained", &[]).await else {
        return;
    };
    namespace(&w.kube, "refused").await;
    let clients: Api<Auth0Client> = Api::namespaced(w.kube.clone(), "refused");
    let grants: Api<Auth0ClientGrant> = Api::namespaced(w.kube.clone(), "refused");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    apply(
        &clients,
        &client_obj(
            "worker",
            json!({"name": "Worker", "appType": "non_interactive"}),
        ),
    )
    .await;
    wait_ready(&clients, "worker", "True", "Synced", T).await;
    // The operator lists the tenant's APIs (for its own API)...
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "refused");
    apply(&apis, &api_obj("orders", json!({"identifier": ORDERS}))).await;
    wait_ready(&apis, "orders", "True", "Synced", T).await;
    // ...before this one is made in the dashboard.
    w.sim
        .add_resource_server_with_scopes("https://billing.example.com/", &["read:invoices"]);
    apply(
        &grants,
        &grant_obj(
            "g",
            json!({"clientRef": {"name": "worker"}, "audience": "https://billing.example.com/",
                   "scopes": ["read:invoices", "pay:invoices"]}),
        ),
    )
    .await;
    let g = wait_ready(&grants, "g", "False", "UnknownScopes", T).await;
    // Auth0 was asked (once more after the status write that reported it), then no more: the
    // grant waits for the user at a calm pace.
    let posts = sent(&w, "POST", "/api/v2/client-grants");
    assert!(
        (1..=2).contains(&posts.len()) && posts.iter().all(|r| r.status == 400),
        "{posts:?}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sent(&w, "POST", "/api/v2/client-grants").len(), posts.len());
    let (_, _, message) = ready_of(&g.status.unwrap().conditions).unwrap();
    assert_eq!(
        message,
        "the API https://billing.example.com/ does not define the scope pay:invoices: add it to the API https://billing.example.com/ in Auth0, or remove it from this grant's spec.scopes"
    );
    op.stop().await;
}

/// Auth0 made the API but its answer was lost behind its front (a 502): the create is not
/// resent (a second POST could only meet a 409), and the next pass finds the API by its
/// identifier, recognised as this resource's by the intent recorded before the POST.
#[tokio::test]
async fn a_create_whose_answer_was_lost_is_recognised() {
    let Some(w) = world("a_create_whose_answer_was_lost_is_recognised", &[]).await else {
        return;
    };
    namespace(&w.kube, "lost").await;
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "lost");
    w.sim.lose_answers("POST", "/api/v2/resource-servers", 1);
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    apply(&apis, &api_obj("orders", json!({"identifier": ORDERS}))).await;
    let a = wait_ready(&apis, "orders", "True", "Synced", T).await;
    let posts = sent(&w, "POST", "/api/v2/resource-servers");
    assert_eq!(posts.len(), 1, "never resent: {posts:?}");
    assert_eq!(posts[0].status, 502);
    let held: Vec<Value> = w
        .sim
        .resource_servers()
        .into_iter()
        .filter(|r| r["identifier"] == ORDERS)
        .collect();
    assert_eq!(held.len(), 1);
    assert_eq!(a.status.unwrap().id.as_deref(), held[0]["id"].as_str());
    // Found by one GET of its URL-encoded identifier, never by paging through every API.
    let looked_up = sent(&w, "GET", "/api/v2/resource-servers/");
    assert!(
        looked_up
            .iter()
            .any(|r| r.path == "/api/v2/resource-servers/https:%2F%2Forders.example.com%2Fapi"),
        "{looked_up:?}"
    );
    op.stop().await;
}

/// A create Auth0 refused outright leaves no intent behind: an API someone else makes with
/// that identifier afterwards is reported, never taken over.
#[tokio::test]
async fn a_refused_create_leaves_no_claim_on_the_identifier() {
    let Some(w) = world("a_refused_create_leaves_no_claim_on_the_identifier", &[]).await else {
        return;
    };
    namespace(&w.kube, "refusal").await;
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "refusal");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    apply(
        &apis,
        &api_obj("first", json!({"identifier": "https://first.example.com/"})),
    )
    .await;
    wait_ready(&apis, "first", "True", "Synced", T).await;
    // The operator's application loses create:resource_servers: the next POST is a 403.
    let all = auth0_operator::sim::DEFAULT_SCOPES;
    w.sim.set_scopes(
        all.iter()
            .filter(|s| **s != "create:resource_servers")
            .map(|s| s.to_string())
            .collect(),
    );
    w.sim.revoke_tokens();
    apply(&apis, &api_obj("orders", json!({"identifier": ORDERS}))).await;
    let posts = eventually("the create is refused", T, || async {
        let p = sent(&w, "POST", "/api/v2/resource-servers");
        p.iter().any(|r| r.status == 403).then_some(p)
    })
    .await;
    assert!(
        posts
            .iter()
            .filter(|r| r.body.as_ref().is_some_and(|b| b["identifier"] == ORDERS))
            .all(|r| r.status == 403),
        "{posts:?}"
    );
    let a = eventually("the refusal is in status", T, || async {
        let a = apis.get("orders").await.ok()?;
        let st = a.status.clone()?;
        (ready_of(&st.conditions)?.0 == "False" && st.identifier.is_none()).then_some(a)
    })
    .await;
    assert_eq!(a.status.unwrap().id, None);
    // Someone else makes it; the operator gets its scope back.
    let theirs = w
        .sim
        .add_resource_server_with_scopes(ORDERS, &["read:orders"]);
    w.sim
        .set_scopes(all.iter().map(|s| s.to_string()).collect());
    w.sim.revoke_tokens();
    // Woken by a change of the resource (a label), it reports instead of adopting.
    apis.patch(
        "orders",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"labels": {"poke": "1"}}})),
    )
    .await
    .unwrap();
    let a = wait_ready(&apis, "orders", "False", "AlreadyExists", T).await;
    assert_eq!(a.status.unwrap().id, None);
    assert_eq!(sim_api(&w, ORDERS).unwrap()["id"], theirs["id"]);
    op.stop().await;
}

/// An HS256 API has a signing secret in Auth0; it never reaches the resource's status or
/// events.
#[tokio::test]
async fn an_apis_signing_secret_stays_in_auth0() {
    let Some(w) = world("an_apis_signing_secret_stays_in_auth0", &[]).await else {
        return;
    };
    namespace(&w.kube, "hs").await;
    let apis: Api<Auth0ResourceServer> = Api::namespaced(w.kube.clone(), "hs");
    let op = Operator::start(&w.kube, operator_config(&w.sim, Duration::from_secs(600)));
    apply(
        &apis,
        &api_obj(
            "orders",
            json!({"identifier": ORDERS, "signingAlg": "HS256"}),
        ),
    )
    .await;
    let a = wait_ready(&apis, "orders", "True", "Synced", T).await;
    let secret = sim_api(&w, ORDERS).unwrap()["signing_secret"]
        .as_str()
        .expect("Auth0 holds a signing secret for an HS256 API")
        .to_string();
    assert!(secret.len() >= 16);
    let shown = serde_json::to_string(&a).unwrap();
    assert!(
        !shown.contains(&secret),
        "the secret is in the resource: {shown}"
    );
    let events: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(w.kube.clone(), "hs");
    // The event is published just after the status: wait until it is there to be read.
    let listed = eventually("the Created event", T, || async {
        let l = serde_json::to_string(&events.list(&Default::default()).await.ok()?).ok()?;
        l.contains("Created API").then_some(l)
    })
    .await;
    assert!(!listed.contains(&secret), "the secret is in an event");
    op.stop().await;
}
