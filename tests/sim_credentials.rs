//! Client credentials and `private_key_jwt` in the simulator: the
//! `/api/v2/clients/{id}/credentials` endpoints, `client_authentication_methods` on clients
//! (limits, exclusivity with `token_endpoint_auth_method`, deletes refused while listed), and
//! `/oauth/token` client assertions for applications and for the management application.
//! Keys are generated here with the `rsa` crate; tokens are checked against the JWKS with
//! `ring` (tests/common/jwt.rs).

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use auth0_operator::sim::{SimConfig, Simulator};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use pretty_assertions::assert_eq;
use rsa::pkcs8::EncodePublicKey;
use rsa::signature::{RandomizedSigner, SignatureEncoding, Signer};
use rsa::{RsaPrivateKey, sha2};
use serde_json::{Value, json};

const DOMAIN: &str = "creds.auth0.test";
const MGMT: &str = "https://creds.auth0.test/api/v2/";
const API: &str = "https://api.example.test/";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

struct Key {
    private: RsaPrivateKey,
    pem: String,
}

fn key() -> Key {
    key_of(2048)
}

fn key_of(bits: usize) -> Key {
    let private = RsaPrivateKey::new(&mut rsa::rand_core::OsRng, bits).unwrap();
    let der = private.to_public_key().to_public_key_der().unwrap();
    let pem = pem::encode_config(
        &pem::Pem::new("PUBLIC KEY", der.as_bytes()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    );
    Key { private, pem }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(key: &Key, alg: &str, kid: Option<&str>, claims: &Value) -> String {
    let mut header = json!({"alg": alg, "typ": "JWT"});
    if let Some(k) = kid {
        header["kid"] = json!(k);
    }
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = match alg {
        "RS256" => rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(key.private.clone())
            .sign(input.as_bytes())
            .to_vec(),
        "RS384" => rsa::pkcs1v15::SigningKey::<sha2::Sha384>::new(key.private.clone())
            .sign(input.as_bytes())
            .to_vec(),
        "PS256" => rsa::pss::SigningKey::<sha2::Sha256>::new(key.private.clone())
            .sign_with_rng(&mut rsa::rand_core::OsRng, input.as_bytes())
            .to_vec(),
        other => panic!("alg {other}"),
    };
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// A fresh, valid assertion for `client_id`.
fn assertion(key: &Key, alg: &str, client_id: &str) -> String {
    let t = now();
    sign(
        key,
        alg,
        None,
        &json!({"iss": client_id, "sub": client_id, "aud": format!("https://{DOMAIN}/"),
                "iat": t, "exp": t + 60, "jti": uuid()}),
    )
}

fn uuid() -> String {
    URL_SAFE_NO_PAD.encode(rand_bytes())
}

fn rand_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    rsa::rand_core::RngCore::fill_bytes(&mut rsa::rand_core::OsRng, &mut b);
    b
}

async fn token(sim: &Simulator, body: Value) -> (u16, Value) {
    let r = http()
        .post(format!("{}/oauth/token", sim.base_url()))
        .form(
            &body
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
                .collect::<Vec<_>>(),
        )
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn by_assertion(jwt: &str, audience: &str) -> Value {
    json!({"grant_type": "client_credentials", "client_assertion_type": JWT_BEARER,
           "client_assertion": jwt, "audience": audience})
}

struct Api<'a> {
    sim: &'a Simulator,
    token: String,
}

impl Api<'_> {
    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut r = http()
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                format!("{}/api/v2{path}", self.sim.base_url()),
            )
            .bearer_auth(&self.token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let r = r.send().await.unwrap();
        let s = r.status().as_u16();
        let t = r.text().await.unwrap();
        (
            s,
            if t.is_empty() {
                Value::Null
            } else {
                serde_json::from_str(&t).unwrap()
            },
        )
    }
}

async fn setup() -> (Simulator, String) {
    let sim = Simulator::start(SimConfig::new(DOMAIN, "mgmt", "s3cret"))
        .await
        .unwrap();
    sim.add_resource_server(API);
    let (s, v) = token(
        &sim,
        json!({"grant_type": "client_credentials", "client_id": "mgmt", "client_secret": "s3cret", "audience": MGMT}),
    )
    .await;
    assert_eq!(s, 200, "{v}");
    let t = v["access_token"].as_str().unwrap().to_string();
    (sim, t)
}

fn pkjwt(ids: &[&Value]) -> Value {
    json!({"client_authentication_methods": {"private_key_jwt": {"credentials":
        ids.iter().map(|c| json!({"id": c["id"]})).collect::<Vec<_>>()}},
        "token_endpoint_auth_method": null})
}

#[tokio::test]
async fn credentials_endpoints_and_limits() {
    let (sim, t) = setup().await;
    let api = Api {
        sim: &sim,
        token: t,
    };
    let (s, c) = api
        .call("POST", "/clients", Some(json!({"name": "svc", "app_type": "non_interactive", "token_endpoint_auth_method": "client_secret_post"})))
        .await;
    assert_eq!(s, 201);
    let cid = c["client_id"].as_str().unwrap().to_string();
    let base = format!("/clients/{cid}/credentials");
    let k1 = key();

    // Schema: credential_type required; unknown properties refused.
    let (s, e) = api.call("POST", &base, Some(json!({"pem": k1.pem}))).await;
    assert_eq!(
        (s, e["message"].as_str().unwrap()),
        (
            400,
            "Payload validation error: 'Missing required property: credential_type'."
        )
    );
    let (s, e) = api
        .call(
            "POST",
            &base,
            Some(json!({"credential_type": "public_key", "pem": "not a key"})),
        )
        .await;
    assert_eq!(s, 400, "{e}");

    let (s, c1) = api
        .call("POST", &base, Some(json!({"credential_type": "public_key", "name": "one", "pem": k1.pem, "expires_at": "2095-05-13T09:33:13Z"})))
        .await;
    assert_eq!(s, 201, "{c1}");
    // The recorded fields (in the recorded order on the wire; serde_json sorts them here).
    let mut keys: Vec<&str> = c1.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(
        keys,
        [
            "alg",
            "created_at",
            "credential_type",
            "expires_at",
            "id",
            "kid",
            "name",
            "updated_at"
        ]
    );
    assert!(c1["id"].as_str().unwrap().starts_with("cred_"));
    assert_eq!(
        (&c1["alg"], &c1["expires_at"]),
        (&json!("RS256"), &json!("2095-05-13T09:33:13.000Z"))
    );
    assert!(
        !c1.to_string().contains("BEGIN"),
        "the PEM is never returned"
    );

    // The same key again: refused.
    let (s, e) = api
        .call(
            "POST",
            &base,
            Some(json!({"credential_type": "public_key", "pem": k1.pem})),
        )
        .await;
    assert_eq!(
        (s, e["message"].as_str().unwrap()),
        (
            400,
            "credentials contains public keys that already exist in client"
        )
    );

    let id1 = c1["id"].as_str().unwrap();
    let (s, got) = api.call("GET", &format!("{base}/{id1}"), None).await;
    assert_eq!((s, &got), (200, &c1));
    let (s, e) = api.call("GET", &format!("{base}/cred_nope"), None).await;
    assert_eq!(
        (s, e["message"].as_str().unwrap()),
        (404, "Credential does not exist")
    );
    let (s, e) = api.call("GET", "/clients/nope/credentials", None).await;
    assert_eq!(
        (s, e["errorCode"].as_str().unwrap()),
        (404, "inexistent_client")
    );

    // PATCH: only expires_at.
    let (s, p) = api
        .call(
            "PATCH",
            &format!("{base}/{id1}"),
            Some(json!({"expires_at": "2096-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(
        (s, &p["expires_at"]),
        (200, &json!("2096-01-01T00:00:00.000Z"))
    );
    let (s, e) = api
        .call(
            "PATCH",
            &format!("{base}/{id1}"),
            Some(json!({"name": "x"})),
        )
        .await;
    assert_eq!(
        (s, e["message"].as_str().unwrap()),
        (
            400,
            "Payload validation error: 'Additional properties not allowed: name'."
        )
    );

    // Four credentials at most.
    let mut creds = vec![c1.clone()];
    for _ in 0..3 {
        let (s, c) = api
            .call(
                "POST",
                &base,
                Some(json!({"credential_type": "public_key", "pem": key().pem, "alg": "PS256"})),
            )
            .await;
        assert_eq!(s, 201, "{c}");
        creds.push(c);
    }
    let (s, e) = api
        .call(
            "POST",
            &base,
            Some(json!({"credential_type": "public_key", "pem": key().pem})),
        )
        .await;
    assert_eq!(
        (s, e["message"].as_str().unwrap()),
        (400, "A client can have a maximum of 4 credentials.")
    );
    let (s, list) = api
        .call(
            "GET",
            &format!("{base}?include_totals=true&per_page=50"),
            None,
        )
        .await;
    assert_eq!((s, list.as_array().unwrap().len()), (200, 4));
    assert_eq!(sim.client_credentials(&cid).len(), 4);

    // Listing: at most two; unknown ids refused; exclusive with token_endpoint_auth_method.
    let (s, e) = api
        .call(
            "PATCH",
            &format!("/clients/{cid}"),
            Some(pkjwt(&[&creds[0], &creds[1], &creds[2]])),
        )
        .await;
    assert_eq!(
        (s, e["message"].as_str().unwrap()),
        (
            400,
            "Payload validation error: 'Array is too long (3), maximum 2' on property client_authentication_methods.private_key_jwt.credentials."
        )
    );
    let (s, e) = api.call("PATCH", &format!("/clients/{cid}"), Some(json!({"client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": "cred_unknown"}]}}, "token_endpoint_auth_method": null}))).await;
    assert_eq!(s, 400, "{e}");
    let (s, e) = api.call("PATCH", &format!("/clients/{cid}"), Some(json!({"client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": id1}]}}}))).await;
    assert_eq!(s, 400, "token_endpoint_auth_method still set: {e}");
    let (s, c) = api
        .call(
            "PATCH",
            &format!("/clients/{cid}"),
            Some(pkjwt(&[&creds[0], &creds[1]])),
        )
        .await;
    assert_eq!(s, 200, "{c}");
    assert!(
        c.get("client_secret").is_none(),
        "hidden once private_key_jwt is set"
    );
    assert!(c.get("token_endpoint_auth_method").is_none());

    // A listed credential cannot be deleted; an unlisted one can.
    let (s, e) = api.call("DELETE", &format!("{base}/{id1}"), None).await;
    assert_eq!(
        (s, e),
        (
            400,
            json!({"statusCode": 400, "error": "Bad Request", "message": "Cannot delete credential still associated with a client"})
        )
    );
    let id4 = creds[3]["id"].as_str().unwrap();
    assert_eq!(
        api.call("DELETE", &format!("{base}/{id4}"), None).await.0,
        204
    );
    assert_eq!(api.call("GET", &format!("{base}/{id4}"), None).await.0, 404);

    // Back to a secret: the secret is shown again.
    let (s, c) = api.call("PATCH", &format!("/clients/{cid}"), Some(json!({"client_authentication_methods": null, "token_endpoint_auth_method": "client_secret_basic"}))).await;
    assert_eq!(s, 200);
    assert!(c["client_secret"].is_string());
    assert_eq!(
        api.call("DELETE", &format!("{base}/{id1}"), None).await.0,
        204
    );

    // Deleting the client deletes its credentials.
    assert_eq!(
        api.call("DELETE", &format!("/clients/{cid}"), None).await.0,
        204
    );
    assert!(sim.client_credentials(&cid).is_empty());
}

#[tokio::test]
async fn inline_credentials_on_create() {
    let (sim, t) = setup().await;
    let api = Api {
        sim: &sim,
        token: t,
    };
    let k = key();
    let (s, c) = api
        .call(
            "POST",
            "/clients",
            Some(json!({"name": "inline", "app_type": "non_interactive",
            "client_authentication_methods": {"private_key_jwt": {"credentials": [
                {"credential_type": "public_key", "name": "k", "pem": k.pem}]}}})),
        )
        .await;
    assert_eq!(s, 201, "{c}");
    let listed = &c["client_authentication_methods"]["private_key_jwt"]["credentials"];
    let creds = sim.client_credentials(c["client_id"].as_str().unwrap());
    assert_eq!(listed, &json!([{"id": creds[0]["id"]}]));
    assert!(c.get("client_secret").is_none());
}

#[tokio::test]
async fn private_key_jwt_flow_for_an_application() {
    let (sim, t) = setup().await;
    let api = Api {
        sim: &sim,
        token: t,
    };
    let (_, c) = api
        .call("POST", "/clients", Some(json!({"name": "svc", "app_type": "non_interactive", "token_endpoint_auth_method": "client_secret_post"})))
        .await;
    let cid = c["client_id"].as_str().unwrap().to_string();
    let secret = c["client_secret"].as_str().unwrap().to_string();
    let (s, _) = api
        .call(
            "POST",
            "/client-grants",
            Some(json!({"client_id": cid, "audience": API, "scope": ["read:x"]})),
        )
        .await;
    assert_eq!(s, 201);
    let base = format!("/clients/{cid}/credentials");
    let (k1, k2, k3, stranger) = (key(), key(), key(), key());
    let (_, c1) = api
        .call(
            "POST",
            &base,
            Some(json!({"credential_type": "public_key", "name": "k1", "pem": k1.pem})),
        )
        .await;
    let (_, c2) = api.call("POST", &base, Some(json!({"credential_type": "public_key", "name": "k2", "pem": k2.pem, "alg": "PS256"}))).await;
    let (_, c3) = api.call("POST", &base, Some(json!({"credential_type": "public_key", "name": "k3", "pem": k3.pem, "alg": "RS384"}))).await;

    // Registered but not listed: refused.
    let (s, e) = token(&sim, by_assertion(&assertion(&k1, "RS256", &cid), API)).await;
    assert_eq!(
        (s, e["error"].as_str().unwrap()),
        (401, "invalid_client"),
        "{e}"
    );

    assert_eq!(
        api.call(
            "PATCH",
            &format!("/clients/{cid}"),
            Some(pkjwt(&[&c1, &c2]))
        )
        .await
        .0,
        200
    );
    // Both listed keys work, each with its own alg.
    for (k, alg) in [(&k1, "RS256"), (&k2, "PS256")] {
        let (s, v) = token(&sim, by_assertion(&assertion(k, alg, &cid), API)).await;
        assert_eq!(s, 200, "{alg}: {v}");
        let (_, claims) =
            common::jwt::verify(v["access_token"].as_str().unwrap(), &sim.jwks()).unwrap();
        assert_eq!(
            (&claims["sub"], &claims["aud"], &claims["scope"]),
            (
                &json!(format!("{cid}@clients")),
                &json!(API),
                &json!("read:x")
            )
        );
    }
    // kid names the credential; a kid of another credential fails.
    let t0 = now();
    let claims = json!({"iss": cid, "sub": cid, "aud": format!("https://{DOMAIN}/"), "iat": t0, "exp": t0 + 60, "jti": uuid()});
    assert_eq!(
        token(
            &sim,
            by_assertion(&sign(&k1, "RS256", c1["kid"].as_str(), &claims), API)
        )
        .await
        .0,
        200
    );
    let mut other = claims.clone();
    other["jti"] = json!(uuid());
    assert_eq!(
        token(
            &sim,
            by_assertion(&sign(&k1, "RS256", c2["kid"].as_str(), &other), API)
        )
        .await
        .0,
        401
    );
    // The wrong alg for the credential, a third key, a stranger's key: refused.
    assert_eq!(
        token(&sim, by_assertion(&assertion(&k1, "PS256", &cid), API))
            .await
            .0,
        401
    );
    assert_eq!(
        token(&sim, by_assertion(&assertion(&k3, "RS384", &cid), API))
            .await
            .0,
        401
    );
    assert_eq!(
        token(
            &sim,
            by_assertion(&assertion(&stranger, "RS256", &cid), API)
        )
        .await
        .0,
        401
    );
    // A third listed key is refused by the API.
    assert_eq!(
        api.call(
            "PATCH",
            &format!("/clients/{cid}"),
            Some(pkjwt(&[&c1, &c2, &c3]))
        )
        .await
        .0,
        400
    );

    // Replay: the same assertion twice.
    let jwt = assertion(&k1, "RS256", &cid);
    assert_eq!(token(&sim, by_assertion(&jwt, API)).await.0, 200);
    let (s, e) = token(&sim, by_assertion(&jwt, API)).await;
    assert_eq!(
        (s, e),
        (
            401,
            json!({"error": "invalid_client", "error_description": "'jti' claim has already been used"})
        )
    );

    // Claims: expired, too long, no jti, wrong aud (the token endpoint URL is not the tenant), iss != sub.
    let bad = |f: &dyn Fn(&mut Value)| {
        let t = now();
        let mut c = json!({"iss": cid, "sub": cid, "aud": format!("https://{DOMAIN}/"), "iat": t, "exp": t + 60, "jti": uuid()});
        f(&mut c);
        sign(&k1, "RS256", None, &c)
    };
    for (what, jwt, desc) in [
        (
            "expired",
            bad(&|c| {
                c["iat"] = json!(now() - 120);
                c["exp"] = json!(now() - 60);
            }),
            "client_assertion has expired",
        ),
        (
            "lifetime",
            bad(&|c| c["exp"] = json!(now() + 600)),
            "'exp' claim must specify a time that is no more than 5 minutes after 'iat'",
        ),
        (
            "no jti",
            bad(&|c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            "'jti' claim is required",
        ),
        (
            "aud",
            bad(&|c| c["aud"] = json!(format!("https://{DOMAIN}/oauth/token"))),
            "'aud' claim must be https://creds.auth0.test/",
        ),
        (
            "iss",
            bad(&|c| c["iss"] = json!("someone")),
            "'iss' and 'sub' claims must both be the client_id",
        ),
    ] {
        let (s, e) = token(&sim, by_assertion(&jwt, API)).await;
        assert_eq!(
            (
                s,
                e["error"].as_str().unwrap(),
                e["error_description"].as_str().unwrap()
            ),
            (401, "invalid_client", desc),
            "{what}"
        );
    }
    // A bad signature (payload changed after signing).
    let jwt = assertion(&k1, "RS256", &cid);
    let parts: Vec<&str> = jwt.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(json!({"iss": cid, "sub": cid, "aud": format!("https://{DOMAIN}/"), "exp": now() + 60, "jti": uuid()}).to_string()), parts[2]);
    assert_eq!(token(&sim, by_assertion(&forged, API)).await.0, 401);
    // Wrong assertion type; secret with assertion.
    let mut b = by_assertion(&assertion(&k1, "RS256", &cid), API);
    b["client_assertion_type"] = json!("jwt");
    assert_eq!(token(&sim, b).await.0, 400);
    let mut b = by_assertion(&assertion(&k1, "RS256", &cid), API);
    b["client_secret"] = json!(secret);
    assert_eq!(token(&sim, b).await.0, 400);
    // The client secret no longer works.
    let (s, e) = token(&sim, json!({"grant_type": "client_credentials", "client_id": cid, "client_secret": secret, "audience": API})).await;
    assert_eq!(
        (s, e),
        (
            401,
            json!({"error": "access_denied", "error_description": "Unauthorized"})
        )
    );

    // The first key taken off the list: its assertions are refused at once.
    assert_eq!(
        api.call("PATCH", &format!("/clients/{cid}"), Some(pkjwt(&[&c2])))
            .await
            .0,
        200
    );
    assert_eq!(
        token(&sim, by_assertion(&assertion(&k1, "RS256", &cid), API))
            .await
            .0,
        401
    );
    assert_eq!(
        token(&sim, by_assertion(&assertion(&k2, "PS256", &cid), API))
            .await
            .0,
        200
    );
    // An expired credential is refused.
    let id2 = c2["id"].as_str().unwrap();
    assert_eq!(
        api.call(
            "PATCH",
            &format!("{base}/{id2}"),
            Some(json!({"expires_at": "2001-01-01T00:00:00Z"}))
        )
        .await
        .0,
        200
    );
    let (s, e) = token(&sim, by_assertion(&assertion(&k2, "PS256", &cid), API)).await;
    assert_eq!(
        (s, e["error_description"].as_str().unwrap()),
        (401, "The credential has expired")
    );
}

/// Assertions no listed credential verifies, whatever else is right in them: a key under
/// 2048 bits, `alg` `none` or HS256 keyed with the public key (algorithm confusion), a
/// truncated JWS.
#[tokio::test]
async fn assertions_the_simulator_refuses() {
    let (sim, t) = setup().await;
    let api = Api {
        sim: &sim,
        token: t,
    };
    let (_, c) = api
        .call("POST", "/clients", Some(json!({"name": "svc", "app_type": "non_interactive", "token_endpoint_auth_method": "client_secret_post"})))
        .await;
    let cid = c["client_id"].as_str().unwrap().to_string();
    api.call(
        "POST",
        "/client-grants",
        Some(json!({"client_id": cid, "audience": API, "scope": []})),
    )
    .await;
    let base = format!("/clients/{cid}/credentials");
    let (good, small) = (key(), key_of(1024));
    let (_, c1) = api
        .call(
            "POST",
            &base,
            Some(json!({"credential_type": "public_key", "pem": good.pem})),
        )
        .await;
    let (s, c2) = api
        .call(
            "POST",
            &base,
            Some(json!({"credential_type": "public_key", "pem": small.pem})),
        )
        .await;
    assert_eq!(s, 201, "{c2}");
    let (s, _) = api
        .call(
            "PATCH",
            &format!("/clients/{cid}"),
            Some(pkjwt(&[&c1, &c2])),
        )
        .await;
    assert_eq!(s, 200);
    let refused = |desc: &str| {
        (
            401,
            json!({"error": "invalid_client", "error_description": desc}),
        )
    };
    // The listed 2048-bit key works; the 1024-bit one never verifies.
    assert_eq!(
        token(&sim, by_assertion(&assertion(&good, "RS256", &cid), API))
            .await
            .0,
        200
    );
    assert_eq!(
        token(&sim, by_assertion(&assertion(&small, "RS256", &cid), API)).await,
        refused("Invalid client_assertion signature: no credential of the client verifies it")
    );
    let t0 = now();
    let claims = json!({"iss": cid, "sub": cid, "aud": format!("https://{DOMAIN}/"), "iat": t0, "exp": t0 + 60, "jti": uuid()});
    let unsigned = |alg: &str| {
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json!({"alg": alg, "typ": "JWT"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        )
    };
    assert_eq!(
        token(&sim, by_assertion(&format!("{}.", unsigned("none")), API))
            .await
            .0,
        401
    );
    let input = unsigned("HS256");
    let mac = ring::hmac::sign(
        &ring::hmac::Key::new(ring::hmac::HMAC_SHA256, good.pem.as_bytes()),
        input.as_bytes(),
    );
    let confused = format!("{input}.{}", URL_SAFE_NO_PAD.encode(mac.as_ref()));
    assert_eq!(
        token(&sim, by_assertion(&confused, API)).await,
        refused("Unsupported client_assertion algorithm: HS256")
    );
    assert_eq!(
        token(&sim, by_assertion(&unsigned("RS256"), API)).await,
        refused("client_assertion is not a valid JWT")
    );
}

#[tokio::test]
async fn the_management_application_with_private_key_jwt() {
    let (sim, _) = setup().await;
    let k = key();
    let cred = sim.add_management_key(&k.pem).unwrap();
    assert_eq!(cred["alg"], "RS256");
    assert_eq!(sim.client_credentials("mgmt"), vec![cred.clone()]);
    // The secret is refused from now on; an assertion gets a Management API token.
    let (s, _) = token(&sim, json!({"grant_type": "client_credentials", "client_id": "mgmt", "client_secret": "s3cret", "audience": MGMT})).await;
    assert_eq!(s, 401);
    let mut body = by_assertion(&assertion(&k, "RS256", "mgmt"), MGMT);
    body["client_id"] = json!("mgmt");
    let (s, v) = token(&sim, body).await;
    assert_eq!(s, 200, "{v}");
    let api = Api {
        sim: &sim,
        token: v["access_token"].as_str().unwrap().to_string(),
    };
    let (s, list) = api.call("GET", "/clients/mgmt/credentials", None).await;
    assert_eq!((s, list), (200, json!([cred])));
    let (s, c) = api.call("GET", "/clients/mgmt", None).await;
    assert_eq!(
        (s, &c["client_authentication_methods"]),
        (
            200,
            &json!({"private_key_jwt": {"credentials": [{"id": cred["id"]}]}})
        )
    );
    // A second key is listed too; a third is refused.
    let k2 = key();
    sim.add_management_key(&k2.pem).unwrap();
    assert_eq!(
        token(&sim, by_assertion(&assertion(&k2, "RS256", "mgmt"), MGMT))
            .await
            .0,
        200
    );
    assert!(sim.add_management_key(&key().pem).is_err());
}
