//! Talking HTTP to the simulator from the simulator's own tests: one client, a management
//! token of the tenant's `mgmt` application, one request with its status, headers and JSON.

use auth0_operator::sim::{SimConfig, Simulator};
use serde_json::{Value, json};

/// The management application's credentials in [`start`]'s simulator.
pub const CLIENT_ID: &str = "mgmt";
pub const CLIENT_SECRET: &str = "s3cret";

pub fn http() -> reqwest::Client {
    // reqwest is built with `rustls-no-provider`; install one even for plain http.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A simulated tenant `domain` whose management application is [`CLIENT_ID`].
pub async fn start(domain: &str) -> Simulator {
    Simulator::start(SimConfig::new(domain, CLIENT_ID, CLIENT_SECRET))
        .await
        .unwrap()
}

/// A Management API token of [`CLIENT_ID`]: every scope it was granted, or only `scopes`
/// (the `scope` parameter of `/oauth/token`).
pub async fn token(sim: &Simulator, scopes: Option<&[&str]>) -> String {
    let mut body = json!({"grant_type": "client_credentials", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET, "audience": format!("https://{}/api/v2/", sim.domain())});
    if let Some(s) = scopes {
        body["scope"] = json!(s.join(" "));
    }
    let r = http()
        .post(format!("{}/oauth/token", sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Value>().await.unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Sends a request; returns (status, headers, JSON body or Null).
pub async fn call_with_headers(
    sim: &Simulator,
    tok: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut req = http()
        .request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", sim.base_url()),
        )
        .bearer_auth(tok);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().await.unwrap();
    let v = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap()
    };
    (status, headers, v)
}

/// Sends a request; returns (status, JSON body or Null).
pub async fn call(
    sim: &Simulator,
    tok: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (status, _, v) = call_with_headers(sim, tok, method, path, body).await;
    (status, v)
}
