//! The simulator as a tenant's Authentication API: client-credentials tokens for every client
//! (RS256 JWTs checked here with `ring`, not with the signer's own crate), the published keys
//! and discovery document, Auth0's error bodies, and the management application as an
//! ordinary client of the tenant.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use auth0_operator::sim::{SimConfig, Simulator};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use pretty_assertions::assert_eq;
use serde_json::{Value, json};

use common::jwt::verify;
use common::sim_http::{call, http};

const DOMAIN: &str = "tokens.auth0.test";
const MGMT: &str = "https://tokens.auth0.test/api/v2/";
const API: &str = "https://api.example.test/";
const CREATE_GRANT_HINT: &str = "You need to create a \"client-grant\" associated to this API. See: https://auth0.com/docs/api/v2#!/Client_Grants/post_client_grants";

async fn sim() -> Simulator {
    Simulator::start(SimConfig::new(DOMAIN, "mgmt", "s3cret"))
        .await
        .unwrap()
}

/// `POST /oauth/token` with a JSON body: (status, cache-control, body).
async fn token_json(sim: &Simulator, body: Value) -> (u16, String, Value) {
    let r = http()
        .post(format!("{}/oauth/token", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    response(r).await
}

async fn response(r: reqwest::Response) -> (u16, String, Value) {
    let status = r.status().as_u16();
    let cc = r
        .headers()
        .get("cache-control")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, cc, r.json().await.unwrap())
}

fn cc(id: &str, secret: &str, audience: &str) -> Value {
    json!({"grant_type": "client_credentials", "client_id": id, "client_secret": secret, "audience": audience})
}

async fn mgmt_token(sim: &Simulator) -> String {
    let (s, _, v) = token_json(sim, cc("mgmt", "s3cret", MGMT)).await;
    assert_eq!(s, 200, "{v}");
    v["access_token"].as_str().unwrap().to_string()
}

/// A tenant with an API (`API`, scopes read:a write:a delete:a, 3600 s lifetime) and an M2M
/// application holding a grant for `read:a write:a`: (client, grant).
async fn tenant_with_m2m_app(sim: &Simulator) -> (Value, Value) {
    let tok = mgmt_token(sim).await;
    let (s, _) = call(
        sim,
        &tok,
        "POST",
        "/api/v2/resource-servers",
        Some(
            json!({"name": "Orders", "identifier": API, "token_lifetime": 3600,
            "scopes": [{"value": "read:a"}, {"value": "write:a"}, {"value": "delete:a"}]}),
        ),
    )
    .await;
    assert_eq!(s, 201);
    let (s, client) = call(
        sim,
        &tok,
        "POST",
        "/api/v2/clients",
        Some(json!({"name": "orders-worker", "app_type": "non_interactive"})),
    )
    .await;
    assert_eq!(s, 201, "{client}");
    let (s, grant) = call(
        sim,
        &tok,
        "POST",
        "/api/v2/client-grants",
        Some(json!({"client_id": client["client_id"], "audience": API, "scope": ["read:a", "write:a"]})),
    )
    .await;
    assert_eq!(s, 201, "{grant}");
    (client, grant)
}

fn id_secret(c: &Value) -> (String, String) {
    (
        c["client_id"].as_str().unwrap().to_string(),
        c["client_secret"].as_str().unwrap().to_string(),
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

async fn fetch_jwks(sim: &Simulator) -> Value {
    let r = http()
        .get(format!("{}/.well-known/jwks.json", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn any_client_with_a_grant_gets_a_signed_jwt_with_exact_claims() {
    let sim = sim().await;
    let (client, _) = tenant_with_m2m_app(&sim).await;
    let (id, secret) = id_secret(&client);
    let before = now();
    let (s, cache, v) = token_json(&sim, cc(&id, &secret, API)).await;
    assert_eq!((s, cache.as_str()), (200, "no-store"), "{v}");
    let tok = v["access_token"].as_str().unwrap();
    assert_eq!(
        v,
        json!({"access_token": tok, "token_type": "Bearer", "expires_in": 3600, "scope": "read:a write:a"})
    );

    let jwks = fetch_jwks(&sim).await;
    assert_eq!(jwks, sim.jwks());
    let (header, claims) = verify(tok, &jwks).unwrap();
    assert_eq!(
        header,
        json!({"alg": "RS256", "typ": "JWT", "kid": jwks["keys"][0]["kid"]})
    );
    let iat = claims["iat"].as_u64().unwrap();
    assert!((before..=now()).contains(&iat), "iat {iat}");
    assert_eq!(
        claims,
        json!({
            "iss": "https://tokens.auth0.test/",
            "sub": format!("{id}@clients"),
            "aud": API,
            "iat": iat,
            "exp": iat + 3600,
            "scope": "read:a write:a",
            "gty": "client-credentials",
            "azp": id,
        })
    );

    // The check can fail: a changed payload or another tenant's keys do not verify.
    let mut parts: Vec<String> = tok.split('.').map(str::to_string).collect();
    let mut forged = claims.clone();
    forged["scope"] = json!("read:a write:a delete:a");
    parts[1] = URL_SAFE_NO_PAD.encode(forged.to_string());
    assert_eq!(verify(&parts.join("."), &jwks), Err("bad signature".into()));
    let other = sim_with_domain("other.auth0.test").await;
    let mut other_jwks = other.jwks();
    other_jwks["keys"][0]["kid"] = jwks["keys"][0]["kid"].clone();
    assert_eq!(verify(tok, &other_jwks), Err("bad signature".into()));
}

async fn sim_with_domain(domain: &str) -> Simulator {
    Simulator::start(SimConfig::new(domain, "mgmt", "s3cret"))
        .await
        .unwrap()
}

#[tokio::test]
async fn form_body_basic_auth_and_narrowed_scope() {
    let sim = sim().await;
    let (client, _) = tenant_with_m2m_app(&sim).await;
    let (id, secret) = id_secret(&client);
    let url = format!("{}/oauth/token", sim.base_url());

    // Form body (client_secret_post), scope narrowed to one granted scope.
    let r = http()
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("audience", API),
            ("scope", "write:a"),
        ])
        .send()
        .await
        .unwrap();
    let (s, _, v) = response(r).await;
    assert_eq!((s, v["scope"].clone()), (200, json!("write:a")), "{v}");
    let (_, claims) = verify(v["access_token"].as_str().unwrap(), &sim.jwks()).unwrap();
    assert_eq!(claims["scope"], "write:a");

    // HTTP Basic (client_secret_basic), form body without credentials.
    let r = http()
        .post(&url)
        .basic_auth(&id, Some(&secret))
        .form(&[("grant_type", "client_credentials"), ("audience", API)])
        .send()
        .await
        .unwrap();
    let (s, _, v) = response(r).await;
    assert_eq!(
        (s, v["scope"].clone()),
        (200, json!("read:a write:a")),
        "{v}"
    );
    // Basic with a wrong secret.
    let r = http()
        .post(&url)
        .basic_auth(&id, Some("wrong"))
        .form(&[("grant_type", "client_credentials"), ("audience", API)])
        .send()
        .await
        .unwrap();
    let (s, _, v) = response(r).await;
    assert_eq!(
        (s, v),
        (
            401,
            json!({"error": "access_denied", "error_description": "Unauthorized"})
        )
    );

    // A scope the API defines but the grant does not hold.
    let mut body = cc(&id, &secret, API);
    body["scope"] = json!("read:a delete:a");
    let (s, cache, v) = token_json(&sim, body).await;
    assert_eq!(
        (s, cache.as_str(), v),
        (
            403,
            "no-store",
            json!({"error": "access_denied", "error_description": "Client has not been granted scopes: delete:a"})
        )
    );
}

#[tokio::test]
async fn auth0_error_bodies() {
    let sim = sim().await;
    let (client, _) = tenant_with_m2m_app(&sim).await;
    let (id, secret) = id_secret(&client);
    let tok = mgmt_token(&sim).await;
    let (_, _) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/resource-servers",
        Some(json!({"identifier": "https://nogrant.example.test/"})),
    )
    .await;

    let unauthorized = json!({"error": "access_denied", "error_description": "Unauthorized"});
    // Wrong secret, unknown client.
    assert_eq!(
        token_json(&sim, cc(&id, "nope", API)).await,
        (401, "no-store".into(), unauthorized.clone())
    );
    assert_eq!(
        token_json(&sim, cc("unknown", &secret, API)).await,
        (401, "no-store".into(), unauthorized)
    );
    // An API the application holds no grant for.
    assert_eq!(
        token_json(&sim, cc(&id, &secret, "https://nogrant.example.test/")).await,
        (
            403,
            "no-store".into(),
            json!({"error": "access_denied", "error_description": format!("Client is not authorized to access \"https://nogrant.example.test/\". {CREATE_GRANT_HINT}")})
        )
    );
    // The Management API, which this application holds no grant for either.
    assert_eq!(
        token_json(&sim, cc(&id, &secret, MGMT)).await.2["error_description"],
        format!("Client is not authorized to access \"{MGMT}\". {CREATE_GRANT_HINT}")
    );
    // No such API.
    assert_eq!(
        token_json(&sim, cc(&id, &secret, "https://nothing.example.test/")).await,
        (
            403,
            "no-store".into(),
            json!({"error": "access_denied", "error_description": "Service not enabled within domain: https://nothing.example.test/"})
        )
    );
    // No audience.
    let mut body = cc(&id, &secret, API);
    body.as_object_mut().unwrap().remove("audience");
    assert_eq!(
        token_json(&sim, body).await.2,
        json!({"error": "access_denied", "error_description": "No audience parameter was provided, and no default audience has been configured"})
    );
}

#[tokio::test]
async fn client_credentials_needs_the_grant_type_and_a_confidential_client() {
    let sim = sim().await;
    let (client, _) = tenant_with_m2m_app(&sim).await;
    let (id, secret) = id_secret(&client);
    let tok = mgmt_token(&sim).await;
    let not_allowed = json!({
        "error": "unauthorized_client",
        "error_description": "Grant type 'client_credentials' not allowed for the client.",
        "error_uri": "https://auth0.com/docs/clients/client-grant-types",
    });
    let (s, _) = call(
        &sim,
        &tok,
        "PATCH",
        &format!("/api/v2/clients/{id}"),
        Some(json!({"grant_types": ["authorization_code"]})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        token_json(&sim, cc(&id, &secret, API)).await,
        (403, "no-store".into(), not_allowed.clone())
    );
    // The secret is still checked first.
    assert_eq!(token_json(&sim, cc(&id, "nope", API)).await.0, 401);

    // A public application (no client authentication) never gets one, secret or not.
    let (s, spa) = call(
        &sim,
        &tok,
        "POST",
        "/api/v2/clients",
        Some(json!({"name": "spa", "app_type": "spa", "token_endpoint_auth_method": "none"})),
    )
    .await;
    assert_eq!(s, 201);
    let spa_id = spa["client_id"].as_str().unwrap();
    sim.create_grant_out_of_band(
        json!({"client_id": spa_id, "audience": API, "scope": ["read:a"]}),
    );
    let body = json!({"grant_type": "client_credentials", "client_id": spa_id, "audience": API});
    assert_eq!(
        token_json(&sim, body).await,
        (403, "no-store".into(), not_allowed)
    );
}

#[tokio::test]
async fn grant_changes_show_in_the_next_token() {
    let sim = sim().await;
    let (client, grant) = tenant_with_m2m_app(&sim).await;
    let (id, secret) = id_secret(&client);
    let tok = mgmt_token(&sim).await;
    let gid = grant["id"].as_str().unwrap();
    let path = format!("/api/v2/client-grants/{gid}");

    let (s, _) = call(
        &sim,
        &tok,
        "PATCH",
        &path,
        Some(json!({"scope": ["delete:a"]})),
    )
    .await;
    assert_eq!(s, 200);
    let v = token_json(&sim, cc(&id, &secret, API)).await.2;
    assert_eq!(v["scope"], "delete:a");
    assert_eq!(
        verify(v["access_token"].as_str().unwrap(), &sim.jwks())
            .unwrap()
            .1["scope"],
        "delete:a"
    );

    // allow_all_scopes: every scope the API defines.
    let (s, _) = call(
        &sim,
        &tok,
        "PATCH",
        &path,
        Some(json!({"allow_all_scopes": true})),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        token_json(&sim, cc(&id, &secret, API)).await.2["scope"],
        "read:a write:a delete:a"
    );

    let (s, _) = call(&sim, &tok, "DELETE", &path, None).await;
    assert_eq!(s, 204);
    assert_eq!(
        token_json(&sim, cc(&id, &secret, API)).await,
        (
            403,
            "no-store".into(),
            json!({"error": "access_denied", "error_description": format!("Client is not authorized to access \"{API}\". {CREATE_GRANT_HINT}")})
        )
    );
}

#[tokio::test]
async fn the_management_application_is_an_ordinary_client() {
    let sim = sim().await;
    assert_eq!(sim.management_client_id(), "mgmt");
    let tok = mgmt_token(&sim).await;
    let (_, claims) = verify(&tok, &fetch_jwks(&sim).await).unwrap();
    assert_eq!(
        (
            claims["sub"].clone(),
            claims["aud"].clone(),
            claims["azp"].clone(),
            claims["gty"].clone()
        ),
        (
            json!("mgmt@clients"),
            json!(MGMT),
            json!("mgmt"),
            json!("client-credentials")
        )
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        86400
    );

    let (s, c) = call(&sim, &tok, "GET", "/api/v2/clients/mgmt", None).await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["client_id"], "mgmt");
    assert_eq!(c["client_secret"], "s3cret");
    assert_eq!(c["app_type"], "non_interactive");
    assert_eq!(c["grant_types"], json!(["client_credentials"]));
    let (_, list) = call(&sim, &tok, "GET", "/api/v2/clients?is_global=false", None).await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["mgmt"]);
    // Its grant to the Management API is an ordinary grant too.
    let (_, grants) = call(
        &sim,
        &tok,
        "GET",
        "/api/v2/client-grants?client_id=mgmt",
        None,
    )
    .await;
    assert_eq!(grants.as_array().unwrap().len(), 1);
    assert_eq!(grants[0]["audience"], MGMT);
    let granted: Vec<&str> = grants[0]["scope"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert_eq!(granted, auth0_operator::sim::DEFAULT_SCOPES);

    // The test hooks: built-in clients and their grants are left out of clients()/grants().
    assert!(sim.clients().is_empty());
    assert!(sim.grants().is_empty());
    assert_eq!(
        sim.all_clients().len(),
        2,
        "the management application and the global client"
    );
    assert_eq!(sim.all_grants().len(), 1);

    // set_scopes is the grant's scope.
    sim.set_scopes(vec!["read:clients".into()]);
    let (_, g) = call(
        &sim,
        &tok,
        "GET",
        &format!(
            "/api/v2/client-grants/{}",
            grants[0]["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(g["scope"], json!(["read:clients"]));
    let v = token_json(&sim, cc("mgmt", "s3cret", MGMT)).await.2;
    assert_eq!(v["scope"], "read:clients");

    // set_management_secret is the client's secret.
    sim.set_management_secret("rotated");
    assert_eq!(token_json(&sim, cc("mgmt", "s3cret", MGMT)).await.0, 401);
    assert_eq!(token_json(&sim, cc("mgmt", "rotated", MGMT)).await.0, 200);
    assert_eq!(sim.client("mgmt").unwrap()["client_secret"], "rotated");
}

#[tokio::test]
async fn the_management_api_refuses_tokens_for_other_apis() {
    let sim = sim().await;
    let (client, _) = tenant_with_m2m_app(&sim).await;
    let (id, secret) = id_secret(&client);
    let v = token_json(&sim, cc(&id, &secret, API)).await.2;
    let other = v["access_token"].as_str().unwrap();
    assert_eq!(
        call(&sim, other, "GET", "/api/v2/clients", None).await,
        (
            401,
            json!({"statusCode": 401, "error": "Unauthorized", "message": format!("Bad audience: {API}")})
        )
    );
    // The same application with a Management API grant gets in, with that grant's scopes.
    sim.create_grant_out_of_band(
        json!({"client_id": id, "audience": MGMT, "scope": ["read:clients"]}),
    );
    let v = token_json(&sim, cc(&id, &secret, MGMT)).await.2;
    let tok = v["access_token"].as_str().unwrap();
    assert_eq!(call(&sim, tok, "GET", "/api/v2/clients", None).await.0, 200);
    assert_eq!(
        call(&sim, tok, "GET", "/api/v2/client-grants", None).await,
        (
            403,
            json!({"statusCode": 403, "error": "Forbidden", "message": "Insufficient scope, expected any of: read:client_grants", "errorCode": "insufficient_scope"})
        )
    );
    // revoke_tokens invalidates every issued token.
    sim.revoke_tokens();
    assert_eq!(
        call(&sim, tok, "GET", "/api/v2/clients", None).await.1["message"],
        "Invalid token"
    );
}

/// Minimal DER reader: (tag, content, rest).
fn der_next(b: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = b[0];
    let (len, hdr) = if b[1] < 0x80 {
        (b[1] as usize, 2)
    } else {
        let n = (b[1] & 0x7f) as usize;
        (
            b[2..2 + n].iter().fold(0usize, |a, x| a << 8 | *x as usize),
            2 + n,
        )
    };
    (tag, &b[hdr..hdr + len], &b[hdr + len..])
}

#[tokio::test]
async fn jwks_and_discovery_documents() {
    let sim = sim().await;
    let jwks = fetch_jwks(&sim).await;
    let keys = jwks["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let k = &keys[0];
    let mut members: Vec<&str> = k.as_object().unwrap().keys().map(String::as_str).collect();
    members.sort();
    assert_eq!(
        members,
        ["alg", "e", "kid", "kty", "n", "use", "x5c", "x5t"]
    );
    assert_eq!(
        (&k["kty"], &k["use"], &k["alg"], &k["e"]),
        (
            &json!("RSA"),
            &json!("sig"),
            &json!("RS256"),
            &json!("AQAB")
        )
    );
    let n = URL_SAFE_NO_PAD.decode(k["n"].as_str().unwrap()).unwrap();
    assert_eq!(n.len(), 256, "RSA-2048");

    // x5c: a self-signed certificate for that key; x5t: its SHA-1 thumbprint.
    let cert = STANDARD.decode(k["x5c"][0].as_str().unwrap()).unwrap();
    let sha1 = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &cert);
    assert_eq!(k["x5t"], URL_SAFE_NO_PAD.encode(sha1.as_ref()));
    let (tag, body, rest) = der_next(&cert);
    assert_eq!((tag, rest.len()), (0x30, 0));
    let (_, _, after_tbs) = der_next(body);
    let tbs = &body[..body.len() - after_tbs.len()];
    let (_, _, sig) = der_next(after_tbs);
    let (tag, bits, _) = der_next(sig);
    assert_eq!((tag, bits[0]), (0x03, 0));
    let e = URL_SAFE_NO_PAD.decode(k["e"].as_str().unwrap()).unwrap();
    ring::signature::RsaPublicKeyComponents { n: &n, e: &e }
        .verify(
            &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            tbs,
            &bits[1..],
        )
        .expect("certificate signed by the published key");
    assert!(
        tbs.windows(n.len()).any(|w| w == n.as_slice()),
        "certificate carries the key"
    );
    assert!(
        tbs.windows(DOMAIN.len()).any(|w| w == DOMAIN.as_bytes()),
        "CN is the tenant"
    );

    let r = http()
        .get(format!(
            "{}/.well-known/openid-configuration",
            sim.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let d: Value = r.json().await.unwrap();
    for (k, v) in [
        ("issuer", json!("https://tokens.auth0.test/")),
        (
            "authorization_endpoint",
            json!("https://tokens.auth0.test/authorize"),
        ),
        (
            "token_endpoint",
            json!("https://tokens.auth0.test/oauth/token"),
        ),
        (
            "jwks_uri",
            json!("https://tokens.auth0.test/.well-known/jwks.json"),
        ),
        (
            "userinfo_endpoint",
            json!("https://tokens.auth0.test/userinfo"),
        ),
        (
            "token_endpoint_auth_methods_supported",
            json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt"
            ]),
        ),
        (
            "id_token_signing_alg_values_supported",
            json!(["HS256", "RS256", "PS256"]),
        ),
        ("subject_types_supported", json!(["public"])),
    ] {
        assert_eq!(d[k], v, "{k}");
    }
}
