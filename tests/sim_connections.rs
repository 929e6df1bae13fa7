//! Connections in the Auth0 simulator: `GET /api/v2/connections`,
//! `GET|PATCH /api/v2/connections/{id}/clients`, `GET /api/v2/clients/{id}/connections`, the
//! tenant flag `enable_client_connections`, the test hooks, the `--connection` flag of
//! `auth0-sim`, and the answers' conformance to the official OAS response schemas.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use auth0_operator::sim::{
    DEFAULT_CONNECTION, DEFAULT_SCOPES, SimConfig, Simulator, validate_schema,
};
use serde_json::{Value, json};

mod common;
use common::sim_http::{CLIENT_ID, CLIENT_SECRET, call, http, start, token};

const DOMAIN: &str = "example.auth0.test";
const MGMT: &str = "https://example.auth0.test/api/v2/";

async fn get(sim: &Simulator, tok: &str, path: &str) -> (u16, Value) {
    call(sim, tok, "GET", path, None).await
}

fn ids(list: &Value, key: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|c| c[key].as_str().unwrap().to_string())
        .collect()
}

fn client(sim: &Simulator, name: &str) -> String {
    sim.create_client_out_of_band(json!({"name": name, "app_type": "non_interactive"}))["client_id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn query_error(message: &str) -> Value {
    json!({"statusCode": 400, "error": "Bad Request",
           "message": format!("Query validation error: {message}"), "errorCode": "invalid_query_string"})
}

fn body_error(message: &str) -> Value {
    json!({"statusCode": 400, "error": "Bad Request",
           "message": format!("Payload validation error: {message}"), "errorCode": "invalid_body"})
}

fn connection_not_found() -> Value {
    json!({"statusCode": 404, "error": "Not Found", "message": "The connection does not exist",
           "errorCode": "inexistent_connection"})
}

fn client_not_found() -> Value {
    json!({"statusCode": 404, "error": "Not Found", "message": "The client does not exist",
           "errorCode": "inexistent_client"})
}

fn assert_conforms(schema: &str, answer: &Value) {
    if let Err(e) = validate_schema(schema, answer) {
        panic!("{schema} refuses the answer ({e}): {answer}");
    }
}

#[tokio::test]
async fn a_new_tenant_has_its_database_connection() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, Some(DEFAULT_SCOPES)).await;
    let conns = sim.connections();
    assert_eq!(conns.len(), 1);
    let c = &conns[0];
    let id = c["id"].as_str().unwrap();
    assert!(
        id.len() == 20
            && id.starts_with("con_")
            && id[4..].chars().all(|c| c.is_ascii_alphanumeric()),
        "{id}"
    );
    assert_eq!(
        c,
        &json!({"id": id, "name": DEFAULT_CONNECTION, "display_name": DEFAULT_CONNECTION,
                "strategy": "auth0", "is_domain_connection": false,
                "realms": [DEFAULT_CONNECTION], "options": {}})
    );
    // Without paging parameters: a bare array, as the hook shows it (never `enabled_clients`).
    let (s, list) = get(&sim, &tok, "/api/v2/connections").await;
    assert_eq!(s, 200);
    assert_eq!(list, json!(conns));
    assert_conforms("ListConnectionsResponseContent", &list);
    // The built-in clients are enabled on no connection.
    assert!(sim.connection_clients(DEFAULT_CONNECTION).is_empty());
    assert!(sim.connection_clients(id).is_empty());
    let (s, v) = get(&sim, &tok, &format!("/api/v2/connections/{id}/clients")).await;
    assert_eq!((s, v), (200, json!({"clients": []})));
    assert!(sim.enable_client_connections());

    // SimConfig: more connections, or none.
    let mut cfg = SimConfig::new(DOMAIN, CLIENT_ID, CLIENT_SECRET);
    cfg.connections
        .push(("google".into(), "google-oauth2".into()));
    let two = Simulator::start(cfg).await.unwrap();
    let names: Vec<Value> = two
        .connections()
        .iter()
        .map(|c| c["name"].clone())
        .collect();
    assert_eq!(names, vec![json!(DEFAULT_CONNECTION), json!("google")]);
    assert_eq!(two.connections()[1]["strategy"], "google-oauth2");
    let mut cfg = SimConfig::new(DOMAIN, CLIENT_ID, CLIENT_SECRET);
    cfg.connections.clear();
    let none = Simulator::start(cfg).await.unwrap();
    assert!(none.connections().is_empty());
}

#[tokio::test]
async fn list_connections_paging_filters_and_fields() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, Some(DEFAULT_SCOPES)).await;
    // 120 connections: the default one, then 79 databases and 40 SAML ones.
    for i in 1..120 {
        let strategy = if i % 3 == 0 { "samlp" } else { "auth0" };
        sim.add_connection(&format!("conn-{i:03}"), strategy);
    }
    let all = sim.connections();
    assert_eq!(all.len(), 120);
    let all_ids = ids(&json!(all), "id");

    // Offset paging: per_page defaults to 100 (OAS), pages are zero-based.
    let (s, v) = get(&sim, &tok, "/api/v2/connections").await;
    assert_eq!(s, 200);
    assert_eq!(ids(&v, "id"), all_ids[..100]);
    let (_, v) = get(&sim, &tok, "/api/v2/connections?per_page=50&page=2").await;
    assert_eq!(ids(&v, "id"), all_ids[100..]);
    let (_, v) = get(&sim, &tok, "/api/v2/connections?per_page=50&page=3").await;
    assert_eq!(v, json!([]));
    let (_, v) = get(
        &sim,
        &tok,
        "/api/v2/connections?per_page=50&page=1&include_totals=true",
    )
    .await;
    assert_eq!(v["start"], 50);
    assert_eq!(v["limit"], 50);
    assert_eq!(v["total"], 120);
    assert_eq!(ids(&v["connections"], "id"), all_ids[50..100]);
    assert_eq!(v.as_object().unwrap().len(), 4);
    assert_conforms("ListConnectionsResponseContent", &v);

    // Checkpoint paging: take 50 across the boundaries, `next` only while more remain.
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut path = "/api/v2/connections?take=50".to_string();
    loop {
        let (s, v) = get(&sim, &tok, &path).await;
        assert_eq!(s, 200, "{v}");
        assert_conforms("ListConnectionsResponseContent", &v);
        let page = ids(&v["connections"], "id");
        pages.push(page.len());
        seen.extend(page);
        match v.get("next").and_then(Value::as_str) {
            Some(next) => path = format!("/api/v2/connections?take=50&from={next}"),
            None => break,
        }
    }
    assert_eq!(pages, vec![50, 50, 20]);
    assert_eq!(seen, all_ids);
    // `from` alone: take defaults to 50; checkpoint paging wins over include_totals.
    let (_, v) = get(
        &sim,
        &tok,
        "/api/v2/connections?from=100&include_totals=true",
    )
    .await;
    assert_eq!(ids(&v["connections"], "id"), all_ids[100..]);
    assert!(v.get("next").is_none() && v.get("total").is_none());
    let (_, v) = get(&sim, &tok, "/api/v2/connections?take=100").await;
    assert_eq!(v["connections"].as_array().unwrap().len(), 100);
    assert_eq!(v["next"], "100");

    // Filters: name (exact), strategy (repeatable).
    let (_, v) = get(&sim, &tok, "/api/v2/connections?name=conn-003").await;
    assert_eq!(ids(&v, "name"), vec!["conn-003"]);
    let (_, v) = get(&sim, &tok, "/api/v2/connections?name=conn-00").await;
    assert_eq!(v, json!([]));
    let (_, v) = get(
        &sim,
        &tok,
        "/api/v2/connections?strategy=samlp&per_page=100",
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 39);
    assert!(
        v.as_array()
            .unwrap()
            .iter()
            .all(|c| c["strategy"] == "samlp")
    );
    let (_, v) = get(
        &sim,
        &tok,
        "/api/v2/connections?strategy=samlp&strategy=auth0&include_totals=true",
    )
    .await;
    assert_eq!(v["total"], 120);
    let (_, v) = get(&sim, &tok, "/api/v2/connections?strategy=google-oauth2").await;
    assert_eq!(v, json!([]));
    let (_, v) = get(
        &sim,
        &tok,
        &format!("/api/v2/connections?name={DEFAULT_CONNECTION}&strategy=auth0"),
    )
    .await;
    assert_eq!(v.as_array().unwrap().len(), 1);

    // fields / include_fields.
    let (_, v) = get(
        &sim,
        &tok,
        "/api/v2/connections?name=conn-001&fields=id,name",
    )
    .await;
    assert_eq!(v, json!([{"id": all_ids[1], "name": "conn-001"}]));
    let (_, v) = get(
        &sim,
        &tok,
        "/api/v2/connections?name=conn-001&fields=options,realms,display_name&include_fields=false",
    )
    .await;
    assert_eq!(
        v,
        json!([{"id": all_ids[1], "name": "conn-001", "strategy": "auth0", "is_domain_connection": false}])
    );
    assert_conforms("ListConnectionsResponseContent", &v);

    // Query errors (400), scope (403).
    for (q, msg) in [
        (
            "per_page=0",
            "'Value 0 is less than minimum 1' on property per_page.",
        ),
        (
            "per_page=101",
            "'Value 101 is greater than maximum 100' on property per_page.",
        ),
        (
            "page=-1",
            "'Value -1 is less than minimum 0' on property page.",
        ),
        (
            "take=0",
            "'Value 0 is less than minimum 1' on property take.",
        ),
        (
            "take=101",
            "'Value 101 is greater than maximum 100' on property take.",
        ),
        (
            "take=ten",
            "'Expected type integer but found type string' on property take.",
        ),
        (
            "include_totals=yes",
            "'Expected type boolean but found type string' on property include_totals (yes).",
        ),
        (
            "strategy=ldap",
            "'No enum match for: \"ldap\"' on property strategy.",
        ),
    ] {
        let (s, v) = get(&sim, &tok, &format!("/api/v2/connections?{q}")).await;
        assert_eq!((s, v), (400, query_error(msg)), "{q}");
    }
    let (s, v) = get(&sim, &tok, "/api/v2/connections?from=nope").await;
    assert_eq!(s, 400, "{v}");
    let narrow = token(&sim, Some(&["read:clients"])).await;
    let (s, v) = get(&sim, &narrow, "/api/v2/connections").await;
    assert_eq!(
        (s, v),
        (
            403,
            json!({"statusCode": 403, "error": "Forbidden",
                   "message": "Insufficient scope, expected any of: read:connections",
                   "errorCode": "insufficient_scope"})
        )
    );
}

#[tokio::test]
async fn enabled_clients_of_a_connection_page_by_checkpoint() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, Some(DEFAULT_SCOPES)).await;
    let conn = sim.connections()[0]["id"].as_str().unwrap().to_string();
    // enable_client_connections is on: every new client is enabled on the connection.
    let created: Vec<String> = (0..120)
        .map(|i| client(&sim, &format!("app-{i}")))
        .collect();
    assert_eq!(sim.connection_clients(DEFAULT_CONNECTION), created);

    let base = format!("/api/v2/connections/{conn}/clients");
    let (s, v) = get(&sim, &tok, &base).await;
    assert_eq!(s, 200);
    assert_eq!(
        v["clients"].as_array().unwrap().len(),
        50,
        "take defaults to 50"
    );
    assert_eq!(v["clients"][0], json!({"client_id": created[0]}));
    assert_conforms("GetConnectionEnabledClientsResponseContent", &v);

    for take in [1usize, 50, 119, 120, 1000] {
        let mut seen = Vec::new();
        let mut pages = 0;
        let mut path = format!("{base}?take={take}");
        loop {
            let (s, v) = get(&sim, &tok, &path).await;
            assert_eq!(s, 200, "{v}");
            assert_conforms("GetConnectionEnabledClientsResponseContent", &v);
            let page = ids(&v["clients"], "client_id");
            assert!(page.len() <= take);
            seen.extend(page);
            pages += 1;
            match v.get("next").and_then(Value::as_str) {
                Some(next) => {
                    assert!(seen.len() < 120, "next after the last page");
                    path = format!("{base}?take={take}&from={next}");
                }
                None => break,
            }
        }
        assert_eq!(seen, created, "take={take}");
        assert_eq!(pages, 120_usize.div_ceil(take), "take={take}");
    }

    // 400 for a bad take (before the connection is looked up), 404 for an unknown connection.
    for (q, msg) in [
        (
            "take=0",
            "'Value 0 is less than minimum 1' on property take.",
        ),
        (
            "take=1001",
            "'Value 1001 is greater than maximum 1000' on property take.",
        ),
        (
            "take=x",
            "'Expected type integer but found type string' on property take.",
        ),
    ] {
        let (s, v) = get(&sim, &tok, &format!("{base}?{q}")).await;
        assert_eq!((s, v), (400, query_error(msg)), "{q}");
        let (s, v) = get(
            &sim,
            &tok,
            &format!("/api/v2/connections/con_0000000000000000/clients?{q}"),
        )
        .await;
        assert_eq!(s, 400, "{v}");
    }
    let (s, v) = get(&sim, &tok, &format!("{base}?from=opaque")).await;
    assert_eq!(s, 400, "{v}");
    for unknown in ["con_0000000000000000", DEFAULT_CONNECTION] {
        let (s, v) = get(
            &sim,
            &tok,
            &format!("/api/v2/connections/{unknown}/clients"),
        )
        .await;
        assert_eq!((s, v), (404, connection_not_found()), "{unknown}");
    }
    let narrow = token(&sim, Some(&["read:clients", "update:connections"])).await;
    let (s, v) = get(&sim, &narrow, &base).await;
    assert_eq!(s, 403);
    assert_eq!(
        v["message"],
        "Insufficient scope, expected any of: read:connections"
    );
}

#[tokio::test]
async fn patch_enabled_clients_of_a_connection() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, Some(DEFAULT_SCOPES)).await;
    sim.set_enable_client_connections(false);
    let conn = sim.connections()[0]["id"].as_str().unwrap().to_string();
    let path = format!("/api/v2/connections/{conn}/clients");
    let a = client(&sim, "a");
    let b = client(&sim, "b");
    assert!(sim.connection_clients(&conn).is_empty());

    // Enable both, then disable a; the same client twice: the last entry wins.
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        &path,
        Some(json!([{"client_id": a, "status": true}, {"client_id": b, "status": true}])),
    )
    .await;
    assert_eq!((s, v), (204, Value::Null));
    assert_eq!(sim.connection_clients(&conn), vec![a.clone(), b.clone()]);
    let (s, _) = call(
        &sim,
        &tok,
        "PATCH",
        &path,
        Some(json!([{"client_id": a, "status": false}, {"client_id": b, "status": false}, {"client_id": b, "status": true}])),
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(sim.connection_clients(&conn), vec![b.clone()]);
    // Idempotent.
    let (s, _) = call(
        &sim,
        &tok,
        "PATCH",
        &path,
        Some(json!([{"client_id": b, "status": true}])),
    )
    .await;
    assert_eq!(s, 204);
    assert_eq!(sim.connection_clients(&conn), vec![b.clone()]);
    let (_, v) = get(&sim, &tok, &path).await;
    assert_eq!(v, json!({"clients": [{"client_id": b}]}));

    // The official request schema: an array of 1..=50 `{client_id, status}`, nothing else.
    let entry = |id: &str| json!({"client_id": id, "status": true});
    let cases: Vec<(Value, Value)> = vec![
        (
            json!([]),
            body_error("'Array is too short (0), minimum 1'."),
        ),
        (
            json!({"client_id": a, "status": true}),
            body_error("'Expected type array but found type object'."),
        ),
        (
            json!([{"client_id": a}]),
            body_error("'Missing required property: status' on property 0."),
        ),
        (
            json!([{"status": true}]),
            body_error("'Missing required property: client_id' on property 0."),
        ),
        (
            json!([{"client_id": a, "status": "yes"}]),
            body_error("'Expected type boolean but found type string' on property 0.status."),
        ),
        (
            json!([{"client_id": 7, "status": true}]),
            body_error("'Expected type string but found type integer' on property 0.client_id."),
        ),
        (
            json!([entry(&a), {"client_id": a, "status": true, "connection_id": conn}]),
            body_error("'Additional properties not allowed: connection_id' on property 1."),
        ),
        (
            json!((0..51).map(|_| entry(&a)).collect::<Vec<_>>()),
            body_error("'Array is too long (51), maximum 50'."),
        ),
    ];
    for (body, want) in cases {
        let (s, v) = call(&sim, &tok, "PATCH", &path, Some(body.clone())).await;
        assert_eq!((s, v), (400, want), "{body}");
    }
    // Not JSON.
    let r = http()
        .patch(format!("{}{path}", sim.base_url()))
        .bearer_auth(&tok)
        .header("content-type", "application/json")
        .body("[{")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(
        sim.connection_clients(&conn),
        vec![b.clone()],
        "nothing changed"
    );

    // Exactly 50 entries is the limit, not an error.
    let many: Vec<String> = (0..48).map(|i| client(&sim, &format!("m{i}"))).collect();
    let mut body: Vec<Value> = many.iter().map(|id| entry(id)).collect();
    body.push(entry(&a));
    body.push(json!({"client_id": b, "status": false}));
    assert_eq!(body.len(), 50);
    let (s, v) = call(&sim, &tok, "PATCH", &path, Some(json!(body))).await;
    assert_eq!((s, v), (204, Value::Null));
    let mut want = many.clone();
    want.push(a.clone());
    assert_eq!(sim.connection_clients(&conn), want);

    // 404: the connection; a client that does not exist (nothing is applied).
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        "/api/v2/connections/con_0000000000000000/clients",
        Some(json!([entry(&a)])),
    )
    .await;
    assert_eq!((s, v), (404, connection_not_found()));
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        &path,
        Some(json!([entry(&b), {"client_id": "no-such-client", "status": true}])),
    )
    .await;
    assert_eq!((s, v), (404, client_not_found()));
    assert_eq!(sim.connection_clients(&conn), want, "nothing applied");
    // A body error wins over an unknown connection.
    let (s, _) = call(
        &sim,
        &tok,
        "PATCH",
        "/api/v2/connections/con_0000000000000000/clients",
        Some(json!([])),
    )
    .await;
    assert_eq!(s, 400);

    // 403 without update:connections.
    let read_only = token(&sim, Some(&["read:connections", "read:clients"])).await;
    let (s, v) = call(&sim, &read_only, "PATCH", &path, Some(json!([entry(&b)]))).await;
    assert_eq!(
        (s, v),
        (
            403,
            json!({"statusCode": 403, "error": "Forbidden",
                   "message": "Insufficient scope, expected any of: update:connections",
                   "errorCode": "insufficient_scope"})
        )
    );
    assert_eq!(sim.connection_clients(&conn), want);
}

#[tokio::test]
async fn connections_of_a_client() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, Some(DEFAULT_SCOPES)).await;
    for (n, st) in [
        ("db-2", "auth0"),
        ("google", "google-oauth2"),
        ("saml-1", "samlp"),
        ("saml-2", "samlp"),
    ] {
        sim.add_connection(n, st);
    }
    let later = sim.add_connection("after", "auth0");
    let (s, c) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/clients",
        Some(json!({"name": "web", "app_type": "regular_web"})),
    )
    .await;
    assert_eq!(s, 201);
    let id = c["client_id"].as_str().unwrap().to_string();
    // Created after every connection: enabled on all six; then one is disabled by hand.
    sim.set_connection_clients_out_of_band(later["id"].as_str().unwrap(), &id, false);
    let path = format!("/api/v2/clients/{id}/connections");
    let (s, v) = get(&sim, &tok, &path).await;
    assert_eq!(s, 200);
    assert_conforms("ListClientConnectionsResponseContent", &v);
    assert_eq!(
        ids(&v["connections"], "name"),
        vec![DEFAULT_CONNECTION, "db-2", "google", "saml-1", "saml-2"]
    );
    assert!(v.get("next").is_none());
    assert_eq!(v["connections"][2], sim.connections()[2]);

    // Checkpoint paging.
    let (_, p1) = get(&sim, &tok, &format!("{path}?take=2")).await;
    assert_eq!(
        ids(&p1["connections"], "name"),
        vec![DEFAULT_CONNECTION, "db-2"]
    );
    let next = p1["next"].as_str().unwrap();
    let (_, p2) = get(&sim, &tok, &format!("{path}?take=2&from={next}")).await;
    assert_eq!(ids(&p2["connections"], "name"), vec!["google", "saml-1"]);
    let next = p2["next"].as_str().unwrap();
    let (_, p3) = get(&sim, &tok, &format!("{path}?take=2&from={next}")).await;
    assert_eq!(ids(&p3["connections"], "name"), vec!["saml-2"]);
    assert!(p3.get("next").is_none());
    for p in [&p1, &p2, &p3] {
        assert_conforms("ListClientConnectionsResponseContent", p);
    }

    // strategy (repeatable), fields.
    let (_, v) = get(&sim, &tok, &format!("{path}?strategy=samlp")).await;
    assert_eq!(ids(&v["connections"], "name"), vec!["saml-1", "saml-2"]);
    let (_, v) = get(
        &sim,
        &tok,
        &format!("{path}?strategy=samlp&strategy=google-oauth2&fields=name,strategy"),
    )
    .await;
    assert_eq!(
        v,
        json!({"connections": [{"name": "google", "strategy": "google-oauth2"},
                               {"name": "saml-1", "strategy": "samlp"},
                               {"name": "saml-2", "strategy": "samlp"}]})
    );
    let (_, v) = get(
        &sim,
        &tok,
        &format!("{path}?take=1&fields=options,realms,display_name,is_domain_connection&include_fields=false"),
    )
    .await;
    assert_eq!(v["connections"][0].as_object().unwrap().len(), 3);
    assert_conforms("ListClientConnectionsResponseContent", &v);

    // 400, 404.
    for (q, msg) in [
        (
            "take=0",
            "'Value 0 is less than minimum 1' on property take.",
        ),
        (
            "take=101",
            "'Value 101 is greater than maximum 100' on property take.",
        ),
        (
            "strategy=nope",
            "'No enum match for: \"nope\"' on property strategy.",
        ),
        (
            "include_fields=1",
            "'Expected type boolean but found type string' on property include_fields (1).",
        ),
    ] {
        let (s, v) = get(&sim, &tok, &format!("{path}?{q}")).await;
        assert_eq!((s, v), (400, query_error(msg)), "{q}");
    }
    let (s, v) = get(&sim, &tok, "/api/v2/clients/nope/connections").await;
    assert_eq!((s, v), (404, client_not_found()));

    // Scopes: read:connections and any of read:clients / read:client_summary.
    let mut granted: Vec<String> = DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect();
    granted.push("read:client_summary".into());
    sim.set_scopes(granted);
    let forbidden = json!({"statusCode": 403, "error": "Forbidden",
        "message": "Insufficient scope; expected: read:connections and any of: read:clients or read:client_summary.",
        "errorCode": "insufficient_scope"});
    for scopes in [
        &["read:clients"][..],
        &["read:connections"][..],
        &["read:connections", "read:client_keys"][..],
    ] {
        let t = token(&sim, Some(scopes)).await;
        let (s, v) = get(&sim, &t, &path).await;
        assert_eq!((s, &v), (403, &forbidden), "{scopes:?}");
    }
    for scopes in [
        &["read:connections", "read:clients"][..],
        &["read:connections", "read:client_summary"][..],
    ] {
        let t = token(&sim, Some(scopes)).await;
        let (s, _) = get(&sim, &t, &path).await;
        assert_eq!(s, 200, "{scopes:?}");
    }
}

#[tokio::test]
async fn enable_client_connections_on_and_off() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, Some(DEFAULT_SCOPES)).await;
    let social = sim.add_connection("social", "google-oauth2");
    let post = |name: &'static str| {
        let (sim, tok) = (&sim, &tok);
        async move {
            let (s, c) = call(
                sim,
                tok,
                "POST",
                "/api/v2/clients",
                Some(json!({"name": name})),
            )
            .await;
            assert_eq!(s, 201);
            c["client_id"].as_str().unwrap().to_string()
        }
    };
    // On (the default): a new application is enabled on every existing connection...
    let on = post("on").await;
    assert_eq!(sim.connection_clients(DEFAULT_CONNECTION), vec![on.clone()]);
    assert_eq!(sim.connection_clients("social"), vec![on.clone()]);
    // ...but not on a connection created after it.
    let later = sim.add_connection("later", "auth0");
    assert!(
        sim.connection_clients(later["id"].as_str().unwrap())
            .is_empty()
    );
    // Off: a new application is enabled on none.
    sim.set_enable_client_connections(false);
    assert!(!sim.enable_client_connections());
    let off = post("off").await;
    let (_, v) = get(&sim, &tok, &format!("/api/v2/clients/{off}/connections")).await;
    assert_eq!(v, json!({"connections": []}));
    assert_eq!(sim.connection_clients("social"), vec![on.clone()]);
    // Back on.
    sim.set_enable_client_connections(true);
    let again = post("again").await;
    assert_eq!(
        sim.connection_clients(social["id"].as_str().unwrap()),
        vec![on.clone(), again.clone()]
    );
    assert_eq!(sim.connection_clients("later"), vec![again]);

    // SimConfig::enable_client_connections = false from the start.
    let mut cfg = SimConfig::new(DOMAIN, CLIENT_ID, CLIENT_SECRET);
    cfg.enable_client_connections = false;
    let off_sim = Simulator::start(cfg).await.unwrap();
    assert!(!off_sim.enable_client_connections());
    client(&off_sim, "x");
    assert!(off_sim.connection_clients(DEFAULT_CONNECTION).is_empty());
}

#[tokio::test]
async fn a_deleted_client_leaves_every_connection() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, Some(DEFAULT_SCOPES)).await;
    sim.add_connection("other", "auth0");
    let a = client(&sim, "a");
    let b = client(&sim, "b");
    let c = client(&sim, "c");
    assert_eq!(
        sim.connection_clients("other"),
        vec![a.clone(), b.clone(), c.clone()]
    );
    let (s, _) = call(&sim, &tok, "DELETE", &format!("/api/v2/clients/{b}"), None).await;
    assert_eq!(s, 204);
    assert!(sim.delete_client_out_of_band(&c));
    for conn in [DEFAULT_CONNECTION, "other"] {
        assert_eq!(sim.connection_clients(conn), vec![a.clone()], "{conn}");
    }
    let id = sim.connections()[1]["id"].as_str().unwrap().to_string();
    let (_, v) = get(&sim, &tok, &format!("/api/v2/connections/{id}/clients")).await;
    assert_eq!(v, json!({"clients": [{"client_id": a}]}));
    let (s, v) = get(&sim, &tok, &format!("/api/v2/clients/{b}/connections")).await;
    assert_eq!((s, v), (404, client_not_found()));
    // A deleted client cannot be enabled again.
    let (s, v) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/connections/{id}/clients"),
        Some(json!([{"client_id": b, "status": true}])),
    )
    .await;
    assert_eq!((s, v), (404, client_not_found()));
}

#[tokio::test]
async fn test_hooks() {
    let sim = start(DOMAIN).await;
    let tok = token(&sim, Some(DEFAULT_SCOPES)).await;
    let saml = sim.add_connection("saml", "samlp");
    let saml_id = saml["id"].as_str().unwrap().to_string();
    assert_eq!(sim.connections()[1], saml);
    let a = client(&sim, "a");
    // By name or id; idempotent.
    sim.set_connection_clients_out_of_band("saml", &a, false);
    assert!(sim.connection_clients(&saml_id).is_empty());
    sim.set_connection_clients_out_of_band(&saml_id, &a, true);
    sim.set_connection_clients_out_of_band("saml", &a, true);
    assert_eq!(sim.connection_clients("saml"), vec![a.clone()]);
    assert!(sim.connection_clients("no-such-connection").is_empty());
    // Out-of-band changes make no request.
    assert!(sim.requests().iter().all(|r| r.path == "/oauth/token"));

    // Deleting a connection: gone from the list and from its client's connections.
    assert!(sim.delete_connection_out_of_band("saml"));
    assert!(!sim.delete_connection_out_of_band(&saml_id));
    assert_eq!(sim.connections().len(), 1);
    let (s, v) = get(
        &sim,
        &tok,
        &format!("/api/v2/connections/{saml_id}/clients"),
    )
    .await;
    assert_eq!((s, v), (404, connection_not_found()));
    let (_, v) = get(&sim, &tok, &format!("/api/v2/clients/{a}/connections")).await;
    assert_eq!(ids(&v["connections"], "name"), vec![DEFAULT_CONNECTION]);
    // The name is free again; the new connection has a new id.
    let again = sim.add_connection("saml", "samlp");
    assert_ne!(again["id"], saml["id"]);

    // requests_mentioning: query or body, keys or values.
    sim.clear_requests();
    assert!(sim.requests_mentioning("enabled_clients").is_empty());
    get(&sim, &tok, "/api/v2/connections?fields=enabled_clients").await;
    get(
        &sim,
        &tok,
        "/api/v2/connections?fields=name%2Cenabled_clients",
    )
    .await;
    call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/clients/{a}"),
        Some(json!({"description": "uses enabled_clients"})),
    )
    .await;
    call(&sim, &tok, "GET", "/api/v2/clients", None).await;
    let hits = sim.requests_mentioning("enabled_clients");
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert_eq!(hits[2].method, "PATCH");
    let hits = sim.requests_mentioning("name,enabled_clients");
    assert_eq!(hits.len(), 1, "percent-decoded query: {hits:?}");
}

#[test]
#[should_panic(expected = "exists already")]
fn add_connection_refuses_a_taken_name() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sim = start(DOMAIN).await;
        sim.add_connection(DEFAULT_CONNECTION, "auth0");
    });
}

#[test]
#[should_panic(expected = "not a connection strategy")]
fn add_connection_refuses_an_unknown_strategy() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let sim = start(DOMAIN).await;
        sim.add_connection("x", "ldap");
    });
}

/// The OAS schemas the answers are validated against do discriminate: the deprecated
/// `enabled_clients` inside a listed connection, or a page key of the wrong shape, is refused.
#[test]
fn the_response_schemas_discriminate() {
    let conn = json!({"id": "con_0000000000000001", "name": "x", "strategy": "auth0"});
    assert_conforms("ListConnectionsResponseContent", &json!([conn]));
    let mut with_enabled = conn.clone();
    with_enabled["enabled_clients"] = json!(["abc"]);
    assert!(validate_schema("ListConnectionsResponseContent", &json!([with_enabled])).is_err());
    assert!(
        validate_schema(
            "ListConnectionsResponseContent",
            &json!({"connections": [conn], "total": 1, "next": "1"})
        )
        .is_err(),
        "offset and checkpoint keys mixed"
    );
    assert!(
        validate_schema(
            "GetConnectionEnabledClientsResponseContent",
            &json!({"next": "1"})
        )
        .is_err()
    );
    assert!(
        validate_schema(
            "GetConnectionEnabledClientsResponseContent",
            &json!({"clients": [{"id": "x"}]})
        )
        .is_err()
    );
    assert!(
        validate_schema(
            "ListClientConnectionsResponseContent",
            &json!({"clients": []})
        )
        .is_err()
    );
}

/// `auth0-sim --connection NAME[:STRATEGY]` (repeatable) adds connections to the default one;
/// `--enable-client-connections false` turns the tenant flag off.
#[tokio::test]
async fn the_binary_takes_connections() {
    let bin = env!("CARGO_BIN_EXE_auth0-sim");
    let mut child = Command::new(bin)
        .args([
            "--domain",
            DOMAIN,
            "--client-id",
            "mgmt",
            "--client-secret",
            "s3cret",
            "--connection",
            "Google:google-oauth2",
            "--connection",
            "Partners",
            "--enable-client-connections",
            "false",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim()
        .strip_prefix("auth0-sim listening on ")
        .unwrap_or_else(|| panic!("{line:?}"))
        .to_string();
    let result = async {
        let h = http();
        let tok: Value = h
            .post(format!("{url}/oauth/token"))
            .json(
                &json!({"grant_type": "client_credentials", "client_id": "mgmt",
                          "client_secret": "s3cret", "audience": MGMT}),
            )
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tok = tok["access_token"].as_str().unwrap().to_string();
        let list: Value = h
            .get(format!("{url}/api/v2/connections?fields=name,strategy"))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let c: Value = h
            .post(format!("{url}/api/v2/clients"))
            .bearer_auth(&tok)
            .json(&json!({"name": "x"}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let of_client: Value = h
            .get(format!(
                "{url}/api/v2/clients/{}/connections",
                c["client_id"].as_str().unwrap()
            ))
            .bearer_auth(&tok)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (list, of_client)
    }
    .await;
    let _ = child.kill();
    let _ = child.wait();
    let (list, of_client) = result;
    assert_eq!(
        list,
        json!([{"name": DEFAULT_CONNECTION, "strategy": "auth0"},
               {"name": "Google", "strategy": "google-oauth2"},
               {"name": "Partners", "strategy": "auth0"}])
    );
    assert_eq!(of_client, json!({"connections": []}));

    // A strategy Auth0 does not have, or a name taken, is refused at start.
    for args in [
        &["--connection", "x:ldap"][..],
        &["--connection", DEFAULT_CONNECTION][..],
        &["--connection", ":auth0"][..],
    ] {
        let out = Command::new(bin)
            .args(["--client-id", "m", "--client-secret", "s"])
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("connection"), "{args:?}: {err}");
    }
}
