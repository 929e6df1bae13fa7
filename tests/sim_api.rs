//! Direct HTTP tests of the Auth0 simulator (`auth0_operator::sim`).

use std::time::Duration;

use auth0_operator::sim::{Faults, RateLimit, RequestOp, validate_request};
use serde_json::{Value, json};

mod common;
use common::sim_http::{call_with_headers as call, http, start, token};

const DOMAIN: &str = "example.auth0.test";
const MGMT: &str = "https://example.auth0.test/api/v2/";

#[tokio::test]
async fn token_endpoint_success_and_errors() {
    let sim = start(DOMAIN).await;
    let url = format!("{}/oauth/token", sim.base_url());
    // form body
    let r = http()
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", "mgmt"),
            ("client_secret", "s3cret"),
            ("audience", MGMT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 86400);
    assert!(
        v["scope"]
            .as_str()
            .unwrap()
            .split(' ')
            .any(|s| s == "read:client_keys")
    );
    assert!(v["access_token"].as_str().unwrap().len() >= 32);

    let post = |body: Value| {
        let url = url.clone();
        async move {
            let r = http().post(url).json(&body).send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) = post(json!({"grant_type": "client_credentials", "client_id": "mgmt", "client_secret": "nope", "audience": MGMT})).await;
    assert_eq!(
        (s, v),
        (
            401,
            json!({"error": "access_denied", "error_description": "Unauthorized"})
        )
    );
    let (s, v) = post(json!({"grant_type": "client_credentials", "client_id": "mgmt", "client_secret": "s3cret", "audience": "https://other/"})).await;
    assert_eq!(s, 403);
    assert_eq!(v["error"], "access_denied");
    assert_eq!(
        v["error_description"],
        "Service not enabled within domain: https://other/"
    );
    let (s, v) = post(json!({"grant_type": "password", "client_id": "mgmt", "client_secret": "s3cret", "audience": MGMT})).await;
    assert_eq!((s, v["error"].as_str()), (403, Some("unauthorized_client")));
    let (s, v) = post(json!({"grant_type": "magic", "client_id": "mgmt", "client_secret": "s3cret", "audience": MGMT})).await;
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("unsupported_grant_type"))
    );
    let (s, v) = post(json!({"grant_type": "client_credentials", "client_id": "mgmt", "client_secret": "s3cret", "audience": MGMT, "scope": "read:clients read:users"})).await;
    assert_eq!(s, 403);
    assert_eq!(
        v["error_description"],
        "Client has not been granted scopes: read:users"
    );

    // The request log records token calls with the secret redacted.
    let reqs = sim.requests();
    assert_eq!(reqs[0].path, "/oauth/token");
    assert_eq!(
        reqs[0].body.as_ref().unwrap()["client_secret"],
        "[REDACTED]"
    );
    assert!(!format!("{reqs:?}").contains("s3cret"));
}

#[tokio::test]
async fn bearer_token_validation_and_scopes() {
    let sim = start(DOMAIN).await;
    let (s, _, v) = call(&sim, "garbage", "GET", "/api/v2/clients", None).await;
    assert_eq!(
        (s, v),
        (
            401,
            json!({"statusCode": 401, "error": "Unauthorized", "message": "Invalid token"})
        )
    );

    sim.set_token_ttl(Duration::from_millis(50));
    let short = token(&sim, None).await;
    tokio::time::sleep(Duration::from_millis(120)).await;
    let (s, _, v) = call(&sim, &short, "GET", "/api/v2/clients", None).await;
    assert_eq!((s, v["message"].as_str()), (401, Some("Expired token")));

    sim.set_token_ttl(Duration::from_secs(3600));
    let tok = token(&sim, None).await;
    assert_eq!(
        call(&sim, &tok, "GET", "/api/v2/clients", None).await.0,
        200
    );
    sim.revoke_tokens();
    assert_eq!(
        call(&sim, &tok, "GET", "/api/v2/clients", None).await.0,
        401
    );

    sim.set_scopes(vec!["read:clients".into()]);
    let ro = token(&sim, None).await;
    let (s, _, v) = call(
        &sim,
        &ro,
        "POST",
        "/api/v2/clients",
        Some(json!({"name": "x"})),
    )
    .await;
    assert_eq!(
        (s, v),
        (
            403,
            json!({"statusCode": 403, "error": "Forbidden", "message": "Insufficient scope, expected any of: create:clients", "errorCode": "insufficient_scope"})
        )
    );
}

#[tokio::test]
async fn client_lifecycle_defaults_merge_and_secrets() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    let (s, _, c) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/clients",
        Some(json!({"name": "app", "client_metadata": {"a": "1", "b": "2"}})),
    )
    .await;
    assert_eq!(s, 201);
    let id = c["client_id"].as_str().unwrap().to_string();
    assert_eq!(id.len(), 32);
    assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    let secret = c["client_secret"].as_str().unwrap().to_string();
    assert_eq!(secret.len(), 64);
    assert_eq!(
        c["grant_types"],
        json!([
            "authorization_code",
            "implicit",
            "refresh_token",
            "client_credentials"
        ])
    );
    assert_eq!(c["is_first_party"], true);
    assert_eq!(c["oidc_conformant"], false);
    assert_eq!(
        c["jwt_configuration"],
        json!({"secret_encoded": false, "lifetime_in_seconds": 36000})
    );
    assert_eq!(c["refresh_token"]["token_lifetime"], 2592000);
    assert_eq!(c["global"], false);
    assert_eq!(c["callback_url_template"], false);
    assert_eq!(c["tenant"], "example");
    assert!(c.get("token_endpoint_auth_method").is_none());
    assert!(c["signing_keys"].as_array().is_some_and(|k| !k.is_empty()));

    // SPA with `none`: public-client grant types.
    let (_, _, spa) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/clients",
        Some(json!({"name": "spa", "app_type": "spa", "token_endpoint_auth_method": "none"})),
    )
    .await;
    assert_eq!(
        spa["grant_types"],
        json!(["authorization_code", "implicit", "refresh_token"])
    );

    // PATCH merges metadata, null deletes a key, nullable fields are cleared.
    let (s, _, p) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/clients/{id}"),
        Some(json!({"client_metadata": {"a": null, "c": "3"}, "description": "d", "refresh_token": null})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(p["client_metadata"], json!({"b": "2", "c": "3"}));
    assert_eq!(p["description"], "d");
    assert!(p.get("refresh_token").is_none());
    assert_eq!(p["name"], "app");

    // client_id is not accepted in a PATCH.
    let (s, _, v) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/clients/{id}"),
        Some(json!({"client_id": "x"})),
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(
        v["message"],
        "Payload validation error: 'Additional properties not allowed: client_id'."
    );
    assert_eq!(v["errorCode"], "invalid_body");

    // fields / include_fields
    let (_, _, f) = call(
        &sim,
        &tok,
        "GET",
        &format!("/api/v2/clients/{id}?fields=client_id,name&include_fields=true"),
        None,
    )
    .await;
    assert_eq!(f, json!({"client_id": id, "name": "app"}));
    let (_, _, f) = call(
        &sim,
        &tok,
        "GET",
        &format!("/api/v2/clients/{id}?fields=client_secret&include_fields=false"),
        None,
    )
    .await;
    assert!(f.get("client_secret").is_none() && f.get("name").is_some());

    // rotate-secret
    let (s, _, r) = call(
        &sim,
        &tok,
        "POST",
        &format!("/api/v2/clients/{id}/rotate-secret"),
        None,
    )
    .await;
    assert_eq!(s, 200);
    assert_ne!(r["client_secret"].as_str().unwrap(), secret);
    assert_eq!(
        sim.client(&id).unwrap()["client_secret"],
        r["client_secret"]
    );

    // Without read:client_keys the secret is omitted, and asking for it is a 403.
    sim.set_scopes(vec!["read:clients".into(), "update:clients".into()]);
    let nokeys = token(&sim, None).await;
    let (_, _, g) = call(&sim, &nokeys, "GET", &format!("/api/v2/clients/{id}"), None).await;
    assert!(g.get("client_secret").is_none());
    let (s, _, v) = call(
        &sim,
        &nokeys,
        "GET",
        &format!("/api/v2/clients/{id}?fields=client_secret"),
        None,
    )
    .await;
    assert_eq!(
        (s, v["message"].as_str()),
        (
            403,
            Some("You cannot read the following fields: client_secret")
        )
    );
    let (s, _, _) = call(
        &sim,
        &nokeys,
        "POST",
        &format!("/api/v2/clients/{id}/rotate-secret"),
        None,
    )
    .await;
    assert_eq!(s, 403);

    // DELETE is repeatable; GET afterwards is the recorded 404.
    assert_eq!(
        call(&sim, &tok, "DELETE", &format!("/api/v2/clients/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        call(&sim, &tok, "DELETE", &format!("/api/v2/clients/{id}"), None)
            .await
            .0,
        204
    );
    let (s, _, v) = call(&sim, &tok, "GET", &format!("/api/v2/clients/{id}"), None).await;
    assert_eq!(
        (s, v),
        (
            404,
            json!({"statusCode": 404, "error": "Not Found", "message": "The client does not exist", "errorCode": "inexistent_client"})
        )
    );
}

#[tokio::test]
async fn client_validation_errors() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    let cases = [
        (
            json!({"name": "x", "foo": 1}),
            "Payload validation error: 'Additional properties not allowed: foo'.",
        ),
        (
            json!({}),
            "Payload validation error: 'Missing required property: name'.",
        ),
        (
            json!({"name": "a<b>"}),
            "Payload validation error: 'String does not match pattern ^[^<>]+$: a<b>' on property name.",
        ),
        (
            json!({"name": "x", "description": "d".repeat(141)}),
            "Payload validation error: 'String is too long (141 chars), maximum 140' on property description.",
        ),
        (
            json!({"name": "x", "app_type": "desktop"}),
            "Payload validation error: 'No enum match for: \"desktop\"' on property app_type.",
        ),
        (
            json!({"name": "x", "client_metadata": {"k": "v".repeat(256)}}),
            "Payload validation error: 'String is too long (256 chars), maximum 255' on property client_metadata.k.",
        ),
        (
            json!({"name": "x", "client_metadata": (0..11).map(|i| (format!("k{i}"), json!("v"))).collect::<serde_json::Map<_, _>>()}),
            "Payload validation error: 'Too many properties defined (11), maximum 10' on property client_metadata.",
        ),
    ];
    for (body, msg) in cases {
        let (s, _, v) = call(&sim, &tok, "POST", "/api/v2/clients", Some(body.clone())).await;
        assert_eq!(s, 400, "{body}");
        assert_eq!(v["message"], msg, "{body}");
        assert_eq!(v["errorCode"], "invalid_body");
        assert_eq!(v["error"], "Bad Request");
        assert_eq!(
            validate_request(RequestOp::CreateClient, &body).unwrap_err(),
            msg
        );
    }
    // TF #266
    let (s, _, v) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/clients",
        Some(json!({"name": "x", "token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]})),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("must not have Token Endpoint Authentication Method set to \"none\"")
    );
    assert!(sim.clients().is_empty());
}

#[tokio::test]
async fn client_list_pagination_and_filters() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    for i in 0..55 {
        let app_type = if i % 5 == 0 { "spa" } else { "non_interactive" };
        sim.create_client_out_of_band(json!({"name": format!("c{i}"), "app_type": app_type}));
    }
    let (_, _, v) = call(&sim, &tok, "GET", "/api/v2/clients", None).await;
    assert_eq!(v.as_array().unwrap().len(), 50, "default page size");
    let (_, _, v) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/clients?page=1&per_page=50&include_totals=true",
        None,
    )
    .await;
    // 55 created + the tenant's built-in clients: the global "All Applications" client (listed
    // first) and the management application.
    assert_eq!(
        (v["start"].clone(), v["limit"].clone(), v["total"].clone()),
        (json!(50), json!(50), json!(57))
    );
    assert_eq!(v["clients"].as_array().unwrap().len(), 7);
    let (_, _, v) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/clients?is_global=false&include_totals=true&per_page=100",
        None,
    )
    .await;
    assert_eq!(v["total"], 56, "all but the global client");
    assert!(
        v["clients"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["global"] == false)
    );
    let (_, _, v) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/clients?app_type=spa&per_page=100",
        None,
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 11);
    let (_, _, v) = call(&sim, &tok, "GET", "/api/v2/clients?is_global=true", None).await;
    assert_eq!(v.as_array().unwrap().len(), 1);
    assert_eq!(v[0]["name"], "All Applications");
    assert_eq!(sim.clients().len(), 55, "built-in clients are not counted");
    assert_eq!(
        sim.all_clients().len(),
        57,
        "with the global client and the management application"
    );
    let (s, _, v) = call(&sim, &tok, "GET", "/api/v2/clients?per_page=101", None).await;
    assert_eq!(
        (s, v["errorCode"].as_str()),
        (400, Some("invalid_query_string"))
    );
}

#[tokio::test]
async fn client_grants_crud_conflicts_and_list_shapes() {
    let sim = start(DOMAIN).await;
    sim.add_resource_server("https://api.example/");
    let tok = token(&sim, None).await;
    let c = sim.create_client_out_of_band(json!({"name": "m2m", "app_type": "non_interactive"}));
    let cid = c["client_id"].as_str().unwrap();

    let body = json!({"client_id": cid, "audience": "https://api.example/", "scope": ["read:x"]});
    let (s, _, g) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/client-grants",
        Some(body.clone()),
    )
    .await;
    assert_eq!(s, 201);
    let gid = g["id"].as_str().unwrap().to_string();
    assert!(gid.starts_with("cgr_") && gid.len() == 20);
    assert_eq!(g["subject_type"], "client");
    assert!(g.get("organization_usage").is_none() && g.get("allow_any_organization").is_none());

    let (s, _, v) = call(&sim, &tok, "POST", "/api/v2/client-grants", Some(body)).await;
    assert_eq!(
        (s, v),
        (
            409,
            json!({"statusCode": 409, "error": "Conflict", "message": format!("A client grant already exists between {cid} and https://api.example/"), "errorCode": "client_grant_conflict"})
        )
    );
    // Same pair, other subject_type: allowed.
    let (s, _, _) = call(&sim, &tok, "POST", "/api/v2/client-grants", Some(json!({"client_id": cid, "audience": "https://api.example/", "scope": [], "subject_type": "user"}))).await;
    assert_eq!(s, 201);

    let (s, _, v) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/client-grants",
        Some(json!({"client_id": cid, "audience": "https://nope/"})),
    )
    .await;
    assert_eq!(
        (s, v["message"].as_str(), v["errorCode"].as_str()),
        (
            404,
            Some("Resource server not found"),
            Some("inexistent_resource_server")
        )
    );
    let (s, _, _) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/client-grants",
        Some(json!({"client_id": "missing", "audience": MGMT})),
    )
    .await;
    assert_eq!(s, 404);

    // PATCH: allowed fields only; allow_all_scopes hides scope.
    let (s, _, v) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/client-grants/{gid}"),
        Some(json!({"audience": "a", "client_id": "b"})),
    )
    .await;
    assert_eq!(
        (s, v["message"].as_str()),
        (
            400,
            Some(
                "Payload validation error: 'Additional properties not allowed: audience,client_id'."
            )
        )
    );
    let (s, _, _) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/client-grants/{gid}"),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, 400);
    let (_, _, v) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/client-grants/{gid}"),
        Some(json!({"allow_all_scopes": true})),
    )
    .await;
    assert!(v.get("scope").is_none());
    let (_, _, v) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/client-grants/{gid}"),
        Some(json!({"allow_all_scopes": false, "scope": ["a", "b"]})),
    )
    .await;
    assert_eq!(v["scope"], json!(["a", "b"]));

    // List shapes.
    let (_, _, v) = call(
        &sim,
        &tok,
        "GET",
        &format!("/api/v2/client-grants?client_id={cid}"),
        None,
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 2);
    let (_, _, v) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/client-grants?subject_type=user&include_totals=true&per_page=50",
        None,
    )
    .await;
    assert_eq!(
        (v["total"].clone(), v["start"].clone(), v["limit"].clone()),
        (json!(1), json!(0), json!(50))
    );
    let (_, _, v) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/client-grants?take=1&include_totals=true",
        None,
    )
    .await;
    assert_eq!(v["client_grants"].as_array().unwrap().len(), 1);
    let next = v["next"].as_str().unwrap().to_string();
    let (_, _, v) = call(
        &sim,
        &tok,
        "GET",
        &format!("/api/v2/client-grants?take=1&from={next}"),
        None,
    )
    .await;
    assert_eq!(v["client_grants"].as_array().unwrap().len(), 1);
    // Three grants: these two and the management application's (a tenant's built-in grant).
    let next = v["next"].as_str().unwrap().to_string();
    let (_, _, v) = call(
        &sim,
        &tok,
        "GET",
        &format!("/api/v2/client-grants?take=1&from={next}"),
        None,
    )
    .await;
    assert_eq!(v["client_grants"].as_array().unwrap().len(), 1);
    assert!(v.get("next").is_none());

    // GET / DELETE
    assert_eq!(
        call(
            &sim,
            &tok,
            "GET",
            &format!("/api/v2/client-grants/{gid}"),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &sim,
            &tok,
            "DELETE",
            &format!("/api/v2/client-grants/{gid}"),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &sim,
            &tok,
            "DELETE",
            &format!("/api/v2/client-grants/{gid}"),
            None
        )
        .await
        .0,
        204
    );
    let (s, _, v) = call(
        &sim,
        &tok,
        "GET",
        &format!("/api/v2/client-grants/{gid}"),
        None,
    )
    .await;
    assert_eq!(
        (s, v),
        (
            404,
            json!({"statusCode": 404, "error": "Not Found", "message": "The grant does not exist.", "errorCode": "inexistent_client_grant"})
        )
    );

    // Deleting the client deletes its remaining grant.
    assert_eq!(sim.grants().len(), 1);
    assert_eq!(
        call(
            &sim,
            &tok,
            "DELETE",
            &format!("/api/v2/clients/{cid}"),
            None
        )
        .await
        .0,
        204
    );
    assert!(sim.grants().is_empty());
}

#[tokio::test]
async fn resource_servers() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    let (_, _, v) = call(&sim, &tok, "GET", "/api/v2/resource-servers", None).await;
    let mgmt = &v.as_array().unwrap()[0];
    assert_eq!(
        (mgmt["identifier"].as_str(), mgmt["is_system"].as_bool()),
        (Some(MGMT), Some(true))
    );
    assert_eq!(mgmt["name"], "Auth0 Management API");
    let (s, _, rs) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/resource-servers",
        Some(json!({"name": "API", "identifier": "https://api/"})),
    )
    .await;
    assert_eq!(s, 201);
    let id = rs["id"].as_str().unwrap();
    assert_eq!(id.len(), 24);
    let (s, _, v) = call(
        &sim,
        &tok,
        "PATCH",
        "/api/v2/resource-servers/https:%2F%2Fapi%2F",
        Some(json!({"scopes": [{"value": "read:x"}]})),
    )
    .await;
    assert_eq!((s, v["scopes"][0]["value"].as_str()), (200, Some("read:x")));
    assert_eq!(
        call(
            &sim,
            &tok,
            "GET",
            &format!("/api/v2/resource-servers/{id}"),
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(
        call(
            &sim,
            &tok,
            "POST",
            "/api/v2/resource-servers",
            Some(json!({"name": "API", "identifier": "https://api/"}))
        )
        .await
        .0,
        409
    );
    assert_eq!(
        call(
            &sim,
            &tok,
            "DELETE",
            &format!("/api/v2/resource-servers/{id}"),
            None
        )
        .await
        .0,
        204
    );
    assert_eq!(
        call(
            &sim,
            &tok,
            "GET",
            &format!("/api/v2/resource-servers/{id}"),
            None
        )
        .await
        .0,
        404
    );
}

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    // Unconfigured: generous headers, never limited.
    let (_, h, _) = call(&sim, &tok, "GET", "/api/v2/clients", None).await;
    assert_eq!(h["x-ratelimit-limit"], "1000");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let reset: u64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
    assert!(reset > now && reset <= now + 2, "reset {reset} now {now}");

    sim.set_rate_limit(Some(RateLimit {
        burst: 2,
        per_second: 0.5,
    }));
    let (s1, h1, _) = call(&sim, &tok, "GET", "/api/v2/clients", None).await;
    let (s2, h2, _) = call(&sim, &tok, "GET", "/api/v2/clients", None).await;
    let (s3, h3, v3) = call(&sim, &tok, "GET", "/api/v2/clients", None).await;
    assert_eq!((s1, s2, s3), (200, 200, 429));
    assert_eq!(
        (
            h1["x-ratelimit-remaining"].to_str().unwrap(),
            h2["x-ratelimit-remaining"].to_str().unwrap()
        ),
        ("1", "0")
    );
    assert_eq!(h3["x-ratelimit-limit"], "2");
    assert_eq!(h3["x-ratelimit-remaining"], "0");
    let retry: u64 = h3["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry));
    assert_eq!(
        v3,
        json!({"statusCode": 429, "error": "Too Many Requests", "message": "Global limit has been reached", "errorCode": "too_many_requests"})
    );
    // The token endpoint is never rate limited.
    token(&sim, None).await;
    // Error responses carry the headers too.
    sim.set_rate_limit(Some(RateLimit {
        burst: 5,
        per_second: 5.0,
    }));
    let (s, h, _) = call(&sim, "bad", "GET", "/api/v2/clients", None).await;
    assert_eq!(s, 401);
    assert!(h.contains_key("x-ratelimit-remaining"));
}

#[tokio::test]
async fn fault_injection() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    sim.set_faults(Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let (s, h, v) = call(&sim, &tok, "GET", "/api/v2/clients", None).await;
    assert!(s == 500 || s == 503, "{s}");
    assert_eq!(v["statusCode"], s);
    assert!(h.contains_key("x-ratelimit-limit"));
    // Faults never touch /oauth/token.
    token(&sim, None).await;

    sim.set_faults(Faults {
        drop_rate: 1.0,
        ..Default::default()
    });
    let err = http()
        .get(format!("{}/api/v2/clients", sim.base_url()))
        .bearer_auth(&tok)
        .send()
        .await;
    assert!(err.is_err(), "connection should be dropped: {err:?}");
    assert_eq!(sim.requests().last().unwrap().status, 0);
    token(&sim, None).await;

    sim.set_faults(Faults {
        latency: Duration::from_millis(200),
        ..Default::default()
    });
    let t = std::time::Instant::now();
    assert_eq!(
        call(&sim, &tok, "GET", "/api/v2/clients", None).await.0,
        200
    );
    assert!(t.elapsed() >= Duration::from_millis(200));

    sim.set_faults(Faults::default());
    assert_eq!(
        call(&sim, &tok, "GET", "/api/v2/clients", None).await.0,
        200
    );
}

#[tokio::test]
async fn request_log_and_shutdown() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    sim.clear_requests();
    call(
        &sim,
        &tok,
        "PATCH",
        "/api/v2/clients/nope?x=1",
        Some(json!({"client_secret": "abcdef"})),
    )
    .await;
    let r = &sim.requests()[0];
    assert_eq!(
        (
            r.method.as_str(),
            r.path.as_str(),
            r.query.as_deref(),
            r.status
        ),
        ("PATCH", "/api/v2/clients/nope", Some("x=1"), 404)
    );
    assert_eq!(r.body.as_ref().unwrap()["client_secret"], "[REDACTED]");
    let base = sim.base_url();
    sim.shutdown().await;
    assert!(
        http()
            .get(format!("{base}/api/v2/clients"))
            .send()
            .await
            .is_err()
    );
}

/// The client answers the recorded traffic pins down (tests/sim_conformance.rs replays it;
/// these are the rules, each with a minimal example).
#[tokio::test]
async fn client_answers_as_recorded() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, None).await;
    let post = |body: Value| {
        let (sim, tok) = (&sim, &tok);
        async move {
            let (s, _, c) = call(sim, tok, "POST", "/api/v2/clients", Some(body)).await;
            assert_eq!(s, 201, "{c}");
            c
        }
    };
    let patch = |id: String, body: Value| {
        let (sim, tok) = (&sim, &tok);
        async move {
            let (s, _, c) = call(
                sim,
                tok,
                "PATCH",
                &format!("/api/v2/clients/{id}"),
                Some(body),
            )
            .await;
            assert_eq!(s, 200, "{c}");
            c
        }
    };
    let get = |id: String| {
        let (sim, tok) = (&sim, &tok);
        async move {
            call(sim, tok, "GET", &format!("/api/v2/clients/{id}"), None)
                .await
                .2
        }
    };

    // jwt_configuration given: as given plus secret_encoded false, nothing else added.
    let c = post(json!({"name": "a", "jwt_configuration": {"alg": "RS256"}})).await;
    assert_eq!(
        c["jwt_configuration"],
        json!({"secret_encoded": false, "alg": "RS256"})
    );
    let id = c["client_id"].as_str().unwrap().to_string();
    // A PATCH merges it key by key.
    let p = patch(
        id.clone(),
        json!({"jwt_configuration": {"lifetime_in_seconds": 7200}}),
    )
    .await;
    assert_eq!(
        p["jwt_configuration"],
        json!({"secret_encoded": false, "alg": "RS256", "lifetime_in_seconds": 7200})
    );
    // No async_approval_notification_channels unless given.
    assert!(c.get("async_approval_notification_channels").is_none());
    let c2 = post(json!({"name": "b", "async_approval_notification_channels": ["email"]})).await;
    assert_eq!(c2["async_approval_notification_channels"], json!(["email"]));
    // tenant is in every answer, single or listed.
    assert_eq!(get(id.clone()).await["tenant"], "example");
    let (_, _, list) = call(&sim, &tok, "GET", "/api/v2/clients", None).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|c| c["tenant"] == "example")
    );

    // A client with client_authentication_methods (any method) has no client_secret in any
    // answer; it is back once they are removed.
    let cred = sim
        .create_credential_out_of_band(
            &id,
            json!({"credential_type": "cert_subject_dn", "subject_dn": "CN=a", "name": "mtls"}),
        )
        .unwrap();
    assert!(get(id.clone()).await["client_secret"].is_string());
    let p = patch(
        id.clone(),
        json!({"client_authentication_methods": {"tls_client_auth": {"credentials": [{"id": cred["id"]}]}}, "token_endpoint_auth_method": null}),
    )
    .await;
    assert!(p.get("client_secret").is_none(), "{p}");
    assert!(get(id.clone()).await.get("client_secret").is_none());
    let p = patch(
        id.clone(),
        json!({"client_authentication_methods": null, "token_endpoint_auth_method": "client_secret_post"}),
    )
    .await;
    assert!(p["client_secret"].is_string());

    // session_transfer: defaults for what is not given; a PATCH keeps what it does not send.
    let c =
        post(json!({"name": "st", "session_transfer": {"enforce_device_binding": "asn"}})).await;
    assert_eq!(
        c["session_transfer"],
        json!({"can_create_session_transfer_token": false, "allowed_authentication_methods": [],
               "enforce_device_binding": "asn", "allow_refresh_token": false,
               "enforce_online_refresh_tokens": true, "enforce_cascade_revocation": true})
    );
    let st = c["client_id"].as_str().unwrap().to_string();
    let p = patch(
        st.clone(),
        json!({"session_transfer": {"allow_refresh_token": true, "delegation": {"allow_delegated_access": true}}}),
    )
    .await;
    assert_eq!(p["session_transfer"]["enforce_device_binding"], "asn");
    assert_eq!(p["session_transfer"]["allow_refresh_token"], true);
    let p = patch(
        st.clone(),
        json!({"session_transfer": {"delegation": null}}),
    )
    .await;
    assert!(p["session_transfer"].get("delegation").is_none());

    // mobile and native_social_login merge per platform / provider.
    let c = post(json!({"name": "m", "app_type": "native",
        "mobile": {"ios": {"team_id": "T", "app_bundle_identifier": "b"}},
        "native_social_login": {"apple": {"enabled": true}}}))
    .await;
    let m = c["client_id"].as_str().unwrap().to_string();
    let p = patch(
        m,
        json!({"mobile": {"android": {"app_package_name": "p"}}, "native_social_login": {"facebook": {"enabled": false}}}),
    )
    .await;
    assert_eq!(p["mobile"]["ios"]["team_id"], "T");
    assert_eq!(p["mobile"]["android"]["app_package_name"], "p");
    assert_eq!(
        p["native_social_login"],
        json!({"apple": {"enabled": true}, "facebook": {"enabled": false}})
    );

    // oidc_backchannel_logout: null clears oidc_logout too; an empty initiate_login_uri is
    // no initiate_login_uri.
    let c = post(json!({"name": "o", "oidc_logout": {"backchannel_logout_urls": ["https://a.example.com/l"]}})).await;
    let o = c["client_id"].as_str().unwrap().to_string();
    assert!(c["oidc_backchannel_logout"].is_object());
    let p = patch(
        o.clone(),
        json!({"initiate_login_uri": "https://a.example.com/login"}),
    )
    .await;
    assert_eq!(p["initiate_login_uri"], "https://a.example.com/login");
    let p = patch(
        o,
        json!({"oidc_backchannel_logout": null, "initiate_login_uri": ""}),
    )
    .await;
    assert!(p.get("oidc_logout").is_none() && p.get("oidc_backchannel_logout").is_none());
    assert!(p.get("initiate_login_uri").is_none());
}
