//! The simulator's resource servers (APIs), the tenant's built-in clients and APIs, and the
//! rules that tie client grants to their API (scopes, deletion). Exact statuses and bodies.

use serde_json::{Value, json};

mod common;
use common::sim_http::{call, start, token};

const DOMAIN: &str = "example.auth0.test";
const MGMT: &str = "https://example.auth0.test/api/v2/";
const ORDERS: &str = "https://orders.example.com/api";
const ORDERS_ENC: &str = "https%3A%2F%2Forders.example.com%2Fapi";

fn bad_request(message: &str) -> Value {
    json!({"statusCode": 400, "error": "Bad Request", "message": message, "errorCode": "invalid_body"})
}

fn not_found() -> Value {
    json!({"statusCode": 404, "error": "Not Found", "message": "The resource server does not exist", "errorCode": "inexistent_resource_server"})
}

fn without_id(mut v: Value) -> Value {
    v.as_object_mut().unwrap().remove("id");
    v
}

#[tokio::test]
async fn create_applies_recorded_defaults_and_validates() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    // TestAccResourceServer.yaml #0: only the identifier.
    let (s, v) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/resource-servers",
        Some(json!({"identifier": ORDERS})),
    )
    .await;
    assert_eq!(s, 201);
    let id = v["id"].as_str().unwrap().to_string();
    assert!(
        id.len() == 24 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    assert_eq!(
        without_id(v),
        json!({
            "identifier": ORDERS,
            "allow_offline_access": false,
            "skip_consent_for_verifiable_first_party_clients": false,
            "subject_type_authorization": {"client": {"policy": "require_client_grant"}, "user": {"policy": "allow_all"}},
            "token_lifetime": 86400,
            "token_lifetime_for_web": 7200,
            "signing_alg": "RS256",
        })
    );
    // Everything sent is echoed; `token_lifetime_for_web` is accepted although the OAS
    // request schema lacks it (recorded).
    let (s, v) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/resource-servers",
        Some(json!({"name": "Billing", "identifier": "https://billing/", "token_lifetime": 7200,
                    "token_lifetime_for_web": 3600, "enforce_policies": true, "allow_online_access": true,
                    "scopes": [{"value": "read:invoices", "description": "Read invoices"}]})),
    )
    .await;
    assert_eq!(s, 201, "{v}");
    assert_eq!(
        (
            v["name"].clone(),
            v["token_lifetime_for_web"].clone(),
            v["enforce_policies"].clone(),
            v["scopes"].clone()
        ),
        (
            json!("Billing"),
            json!(3600),
            json!(true),
            json!([{"value": "read:invoices", "description": "Read invoices"}])
        )
    );
    assert!(
        v.get("signing_secret").is_none(),
        "RS256 APIs have no signing secret"
    );

    // Request schema (CreateResourceServerRequestContent).
    let cases = [
        (
            json!({"name": "x"}),
            "Payload validation error: 'Missing required property: identifier'.",
        ),
        (
            json!({"identifier": "https://x/", "foo": 1}),
            "Payload validation error: 'Additional properties not allowed: foo'.",
        ),
        (
            json!({"identifier": "https://x/", "name": "a<b"}),
            "Payload validation error: 'String does not match pattern ^[^<>]+$: a<b' on property name.",
        ),
        (
            json!({"identifier": "https://x/", "token_lifetime": 2592001}),
            "Payload validation error: 'Value 2592001 is greater than maximum 2592000' on property token_lifetime.",
        ),
        (
            json!({"identifier": "https://x/", "scopes": [{"description": "no value"}]}),
            "Payload validation error: 'Missing required property: value' on property scopes.0.",
        ),
        (
            json!({"identifier": "https://x/", "signing_alg": "none"}),
            "Payload validation error: 'No enum match for: \"none\"' on property signing_alg.",
        ),
    ];
    for (body, msg) in cases {
        let (s, v) = call(
            &sim,
            &tok,
            "POST",
            "/api/v2/resource-servers",
            Some(body.clone()),
        )
        .await;
        assert_eq!((s, v), (400, bad_request(msg)), "{body}");
    }

    // Duplicate identifier.
    let (s, v) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/resource-servers",
        Some(json!({"identifier": ORDERS, "name": "again"})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            409,
            json!({"statusCode": 409, "error": "Conflict", "message": "A resource server with the same identifier already exists.", "errorCode": "resource_server_conflict"})
        )
    );
    assert_eq!(
        sim.resource_servers().len(),
        3,
        "Management API + 2 created"
    );
}

#[tokio::test]
async fn signing_secret_and_token_encryption_thumbprint() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    let (s, v) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/resource-servers",
        Some(json!({"identifier": "https://hs/", "signing_alg": "HS256"})),
    )
    .await;
    assert_eq!(s, 201);
    let secret = v["signing_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 32);
    let (_, g) = call(
        &sim,
        &tok,
        "GET",
        &format!("/api/v2/resource-servers/{}", v["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(
        g["signing_secret"],
        secret.as_str(),
        "returned on read, stable"
    );
    let (s, v) = call(&sim, &tok, "POST", "/api/v2/resource-servers", Some(json!({"identifier": "https://hs2/", "signing_alg": "HS256", "signing_secret": "0123456789abcdefXYZ"}))).await;
    assert_eq!(
        (s, v["signing_secret"].as_str()),
        (201, Some("0123456789abcdefXYZ"))
    );

    // The recorded token-encryption certificate and the thumbprint Auth0 returned for it
    // (TestAccResourceServer.yaml #11): the `pem` is not returned.
    let rec: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/data/recordings/TestAccResourceServer.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let te = rec["interactions"][11]["request_body"]["token_encryption"].clone();
    assert!(
        te["encryption_key"]["pem"]
            .as_str()
            .unwrap()
            .contains("BEGIN CERTIFICATE")
    );
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        "/api/v2/resource-servers/https:%2F%2Fhs%2F",
        Some(json!({"token_encryption": te})),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        v["token_encryption"],
        json!({"format": "compact-nested-jwe", "encryption_key": {"name": "encryptkey", "alg": "RSA-OAEP-256", "thumbprint_sha256": "w0kIFOc-q7KKK-pa2Uj5b_Cl3f0hAgFeseLg8iEmWu0"}})
    );
}

#[tokio::test]
async fn read_by_id_or_url_encoded_identifier_and_list() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    let (_, created) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/resource-servers",
        Some(json!({"identifier": ORDERS, "name": "Orders"})),
    )
    .await;
    let id = created["id"].as_str().unwrap();
    for path in [
        format!("/api/v2/resource-servers/{id}"),
        format!("/api/v2/resource-servers/{ORDERS_ENC}"),
        // As go-auth0 sends it (':' kept) and doubly encoded (TestAccDataSourceResourceServer).
        "/api/v2/resource-servers/https:%2F%2Forders.example.com%2Fapi".to_string(),
        "/api/v2/resource-servers/https%3A%252F%252Forders.example.com%252Fapi".to_string(),
    ] {
        let (s, v) = call(&sim, &tok, "GET", &path, None).await;
        assert_eq!((s, &v), (200, &created), "{path}");
    }
    let (s, v) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/resource-servers/this-resource-server-does-not-exist",
        None,
    )
    .await;
    assert_eq!((s, v), (404, not_found()));

    for i in 0..4 {
        sim.add_resource_server(&format!("https://api{i}/"));
    }
    // Bare array by default, Management API first.
    let (s, v) = call(&sim, &tok, "GET", "/api/v2/resource-servers", None).await;
    assert_eq!(s, 200);
    let all = v.as_array().unwrap();
    assert_eq!(all.len(), 6);
    assert_eq!(
        (all[0]["identifier"].as_str(), all[0]["is_system"].as_bool()),
        (Some(MGMT), Some(true))
    );
    // include_totals + page/per_page.
    let (_, v) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/resource-servers?include_totals=true&page=1&per_page=4",
        None,
    )
    .await;
    assert_eq!(
        (v["start"].clone(), v["limit"].clone(), v["total"].clone()),
        (json!(4), json!(4), json!(6))
    );
    let page: Vec<&str> = v["resource_servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["https://api2/", "https://api3/"]);
    // identifiers filter (array parameter, repeated).
    let (_, v) = call(
        &sim,
        &tok,
        "GET",
        &format!(
            "/api/v2/resource-servers?identifiers={ORDERS_ENC}&identifiers=https%3A%2F%2Fapi1%2F"
        ),
        None,
    )
    .await;
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["identifier"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [ORDERS, "https://api1/"]);
    // per_page is 1..100 (OAS).
    let (s, v) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/resource-servers?per_page=0",
        None,
    )
    .await;
    assert_eq!(
        (s, v),
        (
            400,
            json!({"statusCode": 400, "error": "Bad Request", "message": "Query validation error: 'Value 0 is less than minimum 1' on property per_page.", "errorCode": "invalid_query_string"})
        )
    );
}

#[tokio::test]
async fn patch_replaces_scopes_refuses_identifier_and_clears_nulls() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    let (_, rs) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/resource-servers",
        Some(json!({"identifier": ORDERS, "scopes": [{"value": "read:orders"}, {"value": "write:orders"}], "authorization_details": [{"type": "payment"}]})),
    )
    .await;
    let id = rs["id"].as_str().unwrap();
    let path = format!("/api/v2/resource-servers/{ORDERS_ENC}");
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        &path,
        Some(json!({"scopes": [{"value": "admin:orders", "description": "Admin"}]})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        v["scopes"],
        json!([{"value": "admin:orders", "description": "Admin"}]),
        "the whole list is replaced"
    );
    let (s, v) = call(&sim, &tok, "PATCH", &path, Some(json!({"scopes": []}))).await;
    assert_eq!((s, v["scopes"].clone()), (200, json!([])));
    // `null` clears a nullable field (TestAccDataSourceResourceServer #2).
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/resource-servers/{id}"),
        Some(json!({"authorization_details": null})),
    )
    .await;
    assert_eq!(s, 200);
    assert!(v.get("authorization_details").is_none(), "{v}");
    // The identifier cannot change (auth0-java #224).
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        &path,
        Some(json!({"identifier": "https://other/", "id": "x"})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            400,
            bad_request(
                "Payload validation error: 'Additional properties not allowed: id,identifier'."
            )
        )
    );
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        "/api/v2/resource-servers/nope",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!((s, v), (404, not_found()));
    assert_eq!(sim.resource_server(ORDERS).unwrap()["identifier"], ORDERS);
}

#[tokio::test]
async fn system_apis() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    let mgmt = sim.resource_server(MGMT).unwrap();
    let scopes: Vec<&str> = mgmt["scopes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"].as_str().unwrap())
        .collect();
    assert_eq!(scopes.len(), 266);
    assert!(
        [
            "read:clients",
            "create:client_grants",
            "read:client_keys",
            "read:resource_servers",
            "create:role_members"
        ]
        .iter()
        .all(|s| scopes.contains(s))
    );
    assert_eq!(mgmt["is_system"], true);

    let path = "/api/v2/resource-servers/https%3A%2F%2Fexample.auth0.test%2Fapi%2Fv2%2F";
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        path,
        Some(json!({"scopes": [{"value": "read:rate_limit_policies"}]})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            400,
            bad_request("Payload validation error: 'Additional properties not allowed: scopes'.")
        )
    );
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        path,
        Some(json!({"name": "Mine", "token_lifetime": 3600})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            400,
            bad_request("Payload validation error: 'Additional properties not allowed: name'.")
        )
    );
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        path,
        Some(json!({"subject_type_authorization": {"client": {"policy": "deny_all"}}})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            400,
            bad_request(
                "Payload validation error: 'Additional properties not allowed: client' on property subject_type_authorization."
            )
        )
    );
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        path,
        Some(json!({"token_lifetime": 3600, "skip_consent_for_verifiable_first_party_clients": true, "subject_type_authorization": {"user": {"policy": "deny_all"}}})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        (
            v["token_lifetime"].clone(),
            v["skip_consent_for_verifiable_first_party_clients"].clone(),
            v["subject_type_authorization"].clone()
        ),
        (
            json!(3600),
            json!(true),
            json!({"user": {"policy": "deny_all"}})
        )
    );
    let (s, v) = call(&sim, &tok, "DELETE", path, None).await;
    assert_eq!(
        (s, v),
        (
            403,
            json!({"statusCode": 403, "error": "Forbidden", "message": "You cannot delete a system resource server", "errorCode": "operation_not_supported"})
        )
    );
    assert!(sim.resource_server(MGMT).is_some());

    // Creating `https://{tenant}/me/` activates the My Account API (TestAccResourceServer_ACR).
    let me = format!("https://{DOMAIN}/me/");
    let (s, v) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/resource-servers",
        Some(json!({"name": "Mine", "identifier": me})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(
        (
            v["name"].as_str(),
            v["is_system"].as_bool(),
            v["token_lifetime"].as_i64()
        ),
        (Some("Auth0 My Account API"), Some(true), Some(600))
    );
    let (s, v2) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/resource-servers/{}", v["id"].as_str().unwrap()),
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(
        (s, v2),
        (
            400,
            bad_request("Payload validation error: 'Additional properties not allowed: name'.")
        )
    );
    let (s, _) = call(
        &sim,
        &tok,
        "DELETE",
        &format!("/api/v2/resource-servers/{}", v["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 204, "the My Account API can be deactivated");
    assert!(sim.resource_server(&me).is_none());
}

#[tokio::test]
async fn delete_is_repeatable_and_takes_the_apis_grants() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    sim.add_resource_server_with_scopes(ORDERS, &["read:orders"]);
    sim.add_resource_server_with_scopes("https://keep/", &["read:keep"]);
    let c = sim.create_client_out_of_band(json!({"name": "app", "app_type": "non_interactive"}));
    let cid = c["client_id"].as_str().unwrap();
    let gone = sim.create_grant_out_of_band(
        json!({"client_id": cid, "audience": ORDERS, "scope": ["read:orders"]}),
    );
    let kept = sim.create_grant_out_of_band(
        json!({"client_id": cid, "audience": "https://keep/", "scope": ["read:keep"]}),
    );
    let path = format!("/api/v2/resource-servers/{ORDERS_ENC}");
    let (s, v) = call(&sim, &tok, "DELETE", &path, None).await;
    assert_eq!((s, v), (204, Value::Null));
    let (s, v) = call(&sim, &tok, "DELETE", &path, None).await;
    assert_eq!((s, v), (204, Value::Null), "deleting again is 204");
    let (s, _) = call(
        &sim,
        &tok,
        "GET",
        &format!("/api/v2/client-grants/{}", gone["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(s, 404, "the API's grants went with it");
    let ids: Vec<Value> = sim.grants().iter().map(|g| g["id"].clone()).collect();
    assert_eq!(ids, vec![kept["id"].clone()]);
    // A grant for the deleted audience cannot be recreated.
    let (s, v) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/client-grants",
        Some(json!({"client_id": cid, "audience": ORDERS, "scope": []})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            404,
            json!({"statusCode": 404, "error": "Not Found", "message": "Resource server not found", "errorCode": "inexistent_resource_server"})
        )
    );
}

#[tokio::test]
async fn grant_scopes_must_be_defined_by_the_api() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    sim.add_resource_server_with_scopes(ORDERS, &["read:orders", "write:orders"]);
    let c = sim.create_client_out_of_band(json!({"name": "app", "app_type": "non_interactive"}));
    let cid = c["client_id"].as_str().unwrap();
    let subset =
        bad_request("Payload validation error: scope must be a subset of resource server scopes");

    let (s, v) = call(&sim, &tok, "POST", "/api/v2/client-grants", Some(json!({"client_id": cid, "audience": ORDERS, "scope": ["read:orders", "delete:orders"]}))).await;
    assert_eq!((s, v), (400, subset.clone()));
    assert!(sim.grants().is_empty());
    let (s, g) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/client-grants",
        Some(json!({"client_id": cid, "audience": ORDERS, "scope": ["read:orders"]})),
    )
    .await;
    assert_eq!(s, 201);
    let gpath = format!("/api/v2/client-grants/{}", g["id"].as_str().unwrap());
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        &gpath,
        Some(json!({"scope": ["read:orders", "nuke:orders"]})),
    )
    .await;
    assert_eq!((s, v), (400, subset.clone()));
    assert_eq!(
        sim.grants()[0]["scope"],
        json!(["read:orders"]),
        "unchanged"
    );
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        &gpath,
        Some(json!({"scope": ["read:orders", "write:orders"]})),
    )
    .await;
    assert_eq!(
        (s, v["scope"].clone()),
        (200, json!(["read:orders", "write:orders"]))
    );
    // Removing a scope from the API does not touch grants that hold it; only new values
    // sent in `scope` are checked.
    let (s, _) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/resource-servers/{ORDERS_ENC}"),
        Some(json!({"scopes": [{"value": "read:orders"}]})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        sim.grants()[0]["scope"],
        json!(["read:orders", "write:orders"])
    );
    let (s, _) = call(
        &sim,
        &tok,
        "PATCH",
        &gpath,
        Some(json!({"organization_usage": "allow"})),
    )
    .await;
    assert_eq!(s, 200);
    // The Management API defines its scopes too.
    let (s, v) = call(&sim, &tok, "POST", "/api/v2/client-grants", Some(json!({"client_id": cid, "audience": MGMT, "scope": ["read:clients", "read:nonexistent_things"]}))).await;
    assert_eq!((s, v), (400, subset));
    let (s, _) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/client-grants",
        Some(json!({"client_id": cid, "audience": MGMT, "scope": ["read:clients", "read:users"]})),
    )
    .await;
    assert_eq!(s, 201);
    // APIs seeded as test fixtures (`SimConfig::audiences`, `add_resource_server`) define the
    // scopes asked of them.
    sim.add_resource_server("https://open/");
    let (s, _) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/client-grants",
        Some(json!({"client_id": cid, "audience": "https://open/", "scope": ["anything"]})),
    )
    .await;
    assert_eq!(s, 201);
    assert_eq!(
        sim.resource_server("https://open/").unwrap()["scopes"],
        json!([{"value": "anything", "description": "anything"}])
    );
}

#[tokio::test]
async fn resource_server_scopes_are_enforced() {
    let sim = start(DOMAIN).await;
    sim.set_scopes(vec!["read:clients".into()]);
    let tok = token(&sim, None).await;
    for (method, path, body, scope) in [
        (
            "GET",
            "/api/v2/resource-servers",
            None,
            "read:resource_servers",
        ),
        (
            "GET",
            "/api/v2/resource-servers/x",
            None,
            "read:resource_servers",
        ),
        (
            "POST",
            "/api/v2/resource-servers",
            Some(json!({"identifier": "https://x/"})),
            "create:resource_servers",
        ),
        (
            "PATCH",
            "/api/v2/resource-servers/x",
            Some(json!({"name": "x"})),
            "update:resource_servers",
        ),
        (
            "DELETE",
            "/api/v2/resource-servers/x",
            None,
            "delete:resource_servers",
        ),
    ] {
        let (s, v) = call(&sim, &tok, method, path, body).await;
        assert_eq!(
            (s, v),
            (
                403,
                json!({"statusCode": 403, "error": "Forbidden", "message": format!("Insufficient scope, expected any of: {scope}"), "errorCode": "insufficient_scope"})
            ),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn every_tenant_has_a_global_client() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    let global = sim.global_client();
    let gid = global["client_id"].as_str().unwrap();
    assert_eq!(gid.len(), 32);
    let (s, v) = call(&sim, &tok, "GET", &format!("/api/v2/clients/{gid}"), None).await;
    assert_eq!(s, 200);
    let mut v = v;
    for k in ["client_id", "client_secret", "signing_keys"] {
        assert!(v.as_object_mut().unwrap().remove(k).is_some(), "{k}");
    }
    assert_eq!(
        v,
        json!({
            "tenant": "example", "global": true, "name": "All Applications", "is_first_party": true,
            "is_token_endpoint_ip_header_trusted": false, "oidc_conformant": true,
            "jwt_configuration": {"alg": "RS256"}, "sso": false, "sso_disabled": false,
            "cross_origin_authentication": false, "custom_login_page_on": true,
            "refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring", "leeway": 0,
                              "token_lifetime": 2592000, "infinite_token_lifetime": true,
                              "infinite_idle_token_lifetime": true, "idle_token_lifetime": 1296000},
        })
    );
    sim.create_client_out_of_band(json!({"name": "mine"}));
    let names = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_string())
            .collect()
    };
    let (_, v) = call(&sim, &tok, "GET", "/api/v2/clients", None).await;
    // The management application is an ordinary client too (made with the tenant).
    let mgmt = "Auth0 Operator (Management API)";
    assert_eq!(names(&v), ["All Applications", mgmt, "mine"]);
    let (_, v) = call(&sim, &tok, "GET", "/api/v2/clients?is_global=false", None).await;
    assert_eq!(names(&v), [mgmt, "mine"]);
    let (_, v) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/clients?is_global=true&fields=client_id&include_fields=true",
        None,
    )
    .await;
    assert_eq!(v, json!([{"client_id": gid}]));
    let (_, v) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/clients?is_first_party=true&app_type=non_interactive",
        None,
    )
    .await;
    // Only the management application is a first-party machine-to-machine client.
    assert_eq!(names(&v), [mgmt]);
    // Test hooks: `clients()` counts what was created, `all_clients()` what the API lists.
    assert_eq!(sim.clients().len(), 1);
    assert_eq!(sim.all_clients().len(), 3);
}
