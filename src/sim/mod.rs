//! Auth0 Management API simulator: an in-memory, HTTP-faithful stand-in for a tenant's
//! `/oauth/token` (client credentials, RS256 JWTs for every client holding a client grant;
//! clients authenticate with their secret or, once they list keys in
//! `client_authentication_methods.private_key_jwt`, with a signed client assertion),
//! `/.well-known/{jwks.json,openid-configuration}` and
//! `/api/v2/{clients,clients/{id}/credentials,client-grants,resource-servers}` (credentials:
//! see `sim/credentials.rs` for the evidence behind each rule and message).
//!
//! The management application whose credentials [`SimConfig`] names is an ordinary client of
//! the tenant with a client grant to the Management API (see `oauth.rs`); the
//! `Simulator::clients`/`grants` hooks leave such built-in clients out, `all_clients`/
//! `all_grants` include them.
//!
//! It is the oracle for the project's tests. Ground truth: the official OAS request schemas
//! (`openapi-subset.json`), the recorded Terraform-provider cassettes
//! (`tests/data/recordings`, replayed by `tests/sim_conformance.rs`) and the notes in the
//! project's reference material. Use it in-process ([`Simulator::start`]) or via the
//! `auth0-sim` binary.
//!
//! Rate limiting: with [`SimConfig::rate_limit`] set, a token bucket (`burst`, refilled at
//! `per_second`) guards all `/api/v2` calls and an empty bucket yields Auth0's 429. Without
//! it, the same headers are still sent from a shadow bucket of [`DEFAULT_RATE_LIMIT`] that is
//! never enforced (like a large tenant). `x-ratelimit-reset` is the UNIX time (seconds) at
//! which at least one more request is available (now + 1 s at the earliest).
//!
//! Faults ([`Faults`]) apply to `/api/v2` only, never to `/oauth/token`.
//!
//! Every simulated tenant starts like a real one: the system "Auth0 Management API" (with its
//! whole scope list), the global "All Applications" client (`global: true`, filtered out
//! by `GET /clients?is_global=false`) and the database connection
//! `Username-Password-Authentication` ([`SimConfig::connections`]). Test hooks such as
//! [`Simulator::clients`] leave the built-in clients out; [`Simulator::all_clients`] includes
//! them.
//!
//! Connections (`GET /connections`, `GET|PATCH /connections/{id}/clients`,
//! `GET /clients/{id}/connections`; see `sim/connections.rs`): a client created while the
//! tenant flag `enable_client_connections` is on ([`SimConfig::enable_client_connections`],
//! [`Simulator::set_enable_client_connections`]; Auth0's default) is enabled on every existing
//! connection; a deleted client is enabled on none.

mod connections;
mod credentials;
mod http;
mod oauth;
pub(crate) mod pem;
mod schema;
mod server;
mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

pub use connections::is_connection_strategy;
pub use schema::{OPENAPI_SUBSET, RequestOp, validate_request, validate_schema};
pub use store::{ApiError, apply_client_defaults};

/// All Management API scopes the simulator knows about (granted by default).
pub const DEFAULT_SCOPES: &[&str] = &[
    "read:clients",
    "create:clients",
    "update:clients",
    "delete:clients",
    "read:client_keys",
    "update:client_keys",
    "read:client_credentials",
    "create:client_credentials",
    "update:client_credentials",
    "delete:client_credentials",
    "read:client_grants",
    "create:client_grants",
    "update:client_grants",
    "delete:client_grants",
    "read:resource_servers",
    "create:resource_servers",
    "update:resource_servers",
    "delete:resource_servers",
    "read:connections",
    "update:connections",
];

/// The database connection every new tenant has.
pub const DEFAULT_CONNECTION: &str = "Username-Password-Authentication";

/// Headers-only bucket used when no rate limit is configured.
pub const DEFAULT_RATE_LIMIT: RateLimit = RateLimit {
    burst: 1000,
    per_second: 1000.0,
};

/// Simulator configuration.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// Tenant domain, e.g. `example.auth0.test`; the Management API audience is
    /// `https://{domain}/api/v2/`.
    pub domain: String,
    /// The management (M2M) application's credentials accepted by `/oauth/token`.
    pub client_id: String,
    pub client_secret: String,
    /// Extra resource servers (APIs) to seed, by identifier. Their scopes are open (see
    /// [`Simulator::add_resource_server`]).
    pub audiences: Vec<String>,
    /// Scopes granted to the management application.
    pub scopes: Vec<String>,
    pub token_ttl: Duration,
    pub rate_limit: Option<RateLimit>,
    pub faults: Faults,
    /// Connections the tenant starts with, as `(name, strategy)` (a strategy of the OAS
    /// `ConnectionStrategyEnum`, e.g. `auth0` for a database connection), in order; enabled
    /// for no client. [`SimConfig::new`] puts [`DEFAULT_CONNECTION`] (`auth0`) here.
    ///
    /// # Panics
    /// [`Simulator::start`] panics on a duplicate name or an unknown strategy.
    pub connections: Vec<(String, String)>,
    /// The tenant flag `enable_client_connections` (Auth0's default, `true`): every client
    /// created while it is on is enabled on every existing connection.
    pub enable_client_connections: bool,
}

impl SimConfig {
    /// All scopes, TTL 86400 s, no rate limit, no faults; the database connection
    /// [`DEFAULT_CONNECTION`]; `enable_client_connections` on.
    pub fn new(domain: &str, client_id: &str, client_secret: &str) -> Self {
        SimConfig {
            domain: domain.to_string(),
            client_id: client_id.to_string(),
            client_secret: client_secret.to_string(),
            audiences: Vec::new(),
            scopes: DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect(),
            token_ttl: Duration::from_secs(86400),
            rate_limit: None,
            faults: Faults::default(),
            connections: vec![(DEFAULT_CONNECTION.to_string(), "auth0".to_string())],
            enable_client_connections: true,
        }
    }
}

/// Token bucket: `burst` requests, refilled at `per_second`.
#[derive(Clone, Copy, Debug)]
pub struct RateLimit {
    pub burst: u32,
    pub per_second: f64,
}

/// Fault injection on `/api/v2` requests.
#[derive(Clone, Copy, Debug, Default)]
pub struct Faults {
    /// Fraction (0..=1) of requests answered with an Auth0-shaped 500 or 503.
    pub error_rate: f64,
    /// Latency added to every request.
    pub latency: Duration,
    /// Fraction (0..=1) of requests whose connection is closed without a response.
    pub drop_rate: f64,
    /// Fraction (0..=1) of requests answered with something that is not Auth0's answer, as a
    /// misbehaving proxy or a broken deployment would give (the request is not carried out):
    /// an HTML error page, truncated JSON, an empty body, JSON of the wrong shape, a huge body.
    pub garbage_rate: f64,
}

/// The answers [`Faults::garbage_rate`] picks from: (status, content type, body).
pub fn garbage_answers() -> Vec<(u16, &'static str, Vec<u8>)> {
    let huge = {
        let mut b = b"{\"clients\":[".to_vec();
        for i in 0..20_000 {
            if i > 0 {
                b.push(b',');
            }
            b.extend_from_slice(b"{\"padding\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}");
        }
        b.extend_from_slice(b"]}");
        b
    };
    vec![
        (
            502,
            "text/html",
            b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>".to_vec(),
        ),
        (200, "text/html", b"<!DOCTYPE html><html><body>Sign in to continue</body></html>".to_vec()),
        (200, "application/json", b"{\"client_id\": \"abc\", \"name\": \"trunc".to_vec()),
        (200, "application/json", Vec::new()),
        (200, "application/json", b"{\"client_id\": 5, \"name\": [\"x\"], \"scope\": {}}".to_vec()),
        (200, "application/json", b"null".to_vec()),
        (500, "application/json", b"{\"statusCode\": \"five hundred\", \"message\": null}".to_vec()),
        (200, "application/json", huge),
    ]
}

/// One served request (including `/oauth/token`), in order.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// Response status; `0` when the connection was dropped by fault injection.
    pub status: u16,
    /// Request JSON (or form, as an object) body with `client_secret`/`client_assertion`
    /// values replaced by `"[REDACTED]"`.
    pub body: Option<Value>,
}

/// A running simulator. Dropping it stops serving.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<server::Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Simulator {
    /// Listens on `127.0.0.1:0`.
    pub async fn start(cfg: SimConfig) -> std::io::Result<Simulator> {
        Self::start_on(cfg, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    pub async fn start_on(cfg: SimConfig, addr: SocketAddr) -> std::io::Result<Simulator> {
        let shared = Arc::new(server::Shared::new(cfg));
        let (addr, tx, task) = server::serve(shared.clone(), addr).await?;
        Ok(Simulator {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn domain(&self) -> String {
        self.shared.store.lock().domain.clone()
    }

    /// Full client objects, including `client_secret`, in creation order, **without the
    /// tenant's built-in clients** (the global "All Applications" client, and the management
    /// application once it is a client): what was created through the API or out of band.
    /// See [`Simulator::all_clients`] for every client the API lists.
    pub fn clients(&self) -> Vec<Value> {
        let store = self.shared.store.lock();
        store
            .clients
            .iter()
            .filter(|c| !store.is_builtin_client(c))
            .cloned()
            .collect()
    }

    /// Every client, the built-in ones included, in the order `GET /clients` lists them.
    pub fn all_clients(&self) -> Vec<Value> {
        self.shared.store.lock().clients.clone()
    }

    /// The tenant's global "All Applications" client (`global: true`).
    pub fn global_client(&self) -> Value {
        let store = self.shared.store.lock();
        store
            .clients
            .iter()
            .find(|c| c["global"] == true)
            .cloned()
            .expect("every tenant has a global client")
    }

    /// Client id of the management application: an ordinary client of the tenant (readable
    /// and listed through the API, able to get tokens) with a client grant to the Management
    /// API, created from [`SimConfig::client_id`] and [`SimConfig::client_secret`].
    pub fn management_client_id(&self) -> String {
        self.shared.oauth.management_client_id.clone()
    }

    /// The published signing keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> Value {
        self.shared.oauth.jwks()
    }

    pub fn client(&self, client_id: &str) -> Option<Value> {
        self.shared.store.lock().get_client(client_id).cloned()
    }

    /// Grants as the API returns them, **without** those of built-in clients (the management
    /// application's grant to the Management API); [`all_grants`](Self::all_grants) has them.
    pub fn grants(&self) -> Vec<Value> {
        let store = self.shared.store.lock();
        store
            .grants
            .iter()
            .filter(|g| {
                !store
                    .builtin_clients
                    .iter()
                    .any(|b| g["client_id"] == b.as_str())
            })
            .map(store::grant_view)
            .collect()
    }

    /// Every grant as the API returns it, built-in clients' included.
    pub fn all_grants(&self) -> Vec<Value> {
        self.shared
            .store
            .lock()
            .grants
            .iter()
            .map(store::grant_view)
            .collect()
    }

    /// Every API as `GET /resource-servers` lists it, the system "Auth0 Management API"
    /// (first) included.
    pub fn resource_servers(&self) -> Vec<Value> {
        self.shared.store.lock().resource_servers.clone()
    }

    /// An API by id or identifier.
    pub fn resource_server(&self, id_or_identifier: &str) -> Option<Value> {
        let store = self.shared.store.lock();
        store
            .find_rs(id_or_identifier)
            .map(|i| store.resource_servers[i].clone())
    }

    /// Creates a client as if via the dashboard: no schema validation, defaults applied.
    pub fn create_client_out_of_band(&self, body: Value) -> Value {
        self.shared.store.lock().insert_client(body)
    }

    /// Merge-patches a client as if via the dashboard (no validation).
    pub fn patch_client_out_of_band(&self, client_id: &str, patch: Value) -> Option<Value> {
        self.shared
            .store
            .lock()
            .patch_client_unchecked(client_id, &patch)
    }

    /// Deletes a client (and its grants); `false` if it did not exist.
    pub fn delete_client_out_of_band(&self, client_id: &str) -> bool {
        self.shared.store.lock().delete_client(client_id)
    }

    /// Creates a grant as if via the dashboard. The same semantic rules as the API apply
    /// (existing audience and client, one grant per client+audience+subject_type).
    ///
    /// # Panics
    /// If Auth0 would reject the grant (the message says why).
    pub fn create_grant_out_of_band(&self, body: Value) -> Value {
        match self.shared.store.lock().insert_grant(body) {
            Ok(g) => g,
            Err(e) => panic!("create_grant_out_of_band rejected: {}", e.body),
        }
    }

    /// A client's credentials as `GET /clients/{id}/credentials` lists them (newest first;
    /// never the PEM); empty for an unknown client.
    pub fn client_credentials(&self, client_id: &str) -> Vec<Value> {
        self.shared.store.lock().client_credentials(client_id)
    }

    /// Registers a credential on a client as `POST /clients/{id}/credentials` would (same
    /// body, same checks and limits, no scope needed) and returns it as the API does.
    pub fn create_credential_out_of_band(
        &self,
        client_id: &str,
        body: Value,
    ) -> Result<Value, ApiError> {
        self.shared.store.lock().create_credential(client_id, body)
    }

    /// Stores a credential exactly as given (its `id` is replaced by a new `cred_…` one,
    /// which is returned with it), without key material: it is listed and can be read and
    /// deleted, but no assertion verifies with it. For replaying recorded state whose PEM is
    /// unknown.
    pub fn seed_credential_view(&self, client_id: &str, mut view: Value) -> Value {
        view["id"] = serde_json::json!(format!("cred_{}", store::random_alnum(22)));
        self.shared
            .store
            .lock()
            .credentials
            .push(store::Credential {
                client_id: client_id.to_string(),
                view: view.clone(),
                key: None,
            });
        view
    }

    /// Lets the management application authenticate with `private_key_jwt`: registers `pem`
    /// (an RSA public key or certificate, `alg` RS256) as one of its credentials and lists it
    /// in its `client_authentication_methods.private_key_jwt` (after the ones already listed;
    /// at most two), clearing its `token_endpoint_auth_method` — from then on its secret is
    /// refused at `/oauth/token`, as for any application. Returns the credential (its `kid`
    /// is the RFC 7638 thumbprint of the key).
    pub fn add_management_key(&self, pem: &str) -> Result<Value, ApiError> {
        let id = self.management_client_id();
        let mut store = self.shared.store.lock();
        let cred = store.create_credential(
            &id,
            serde_json::json!({"credential_type": "public_key", "pem": pem, "name": "management key"}),
        )?;
        let mut ids: Vec<Value> = store
            .get_client(&id)
            .and_then(credentials::private_key_jwt_ids)
            .unwrap_or_default()
            .into_iter()
            .map(|i| serde_json::json!({"id": i}))
            .collect();
        ids.push(serde_json::json!({"id": cred["id"]}));
        let cam = serde_json::json!({"private_key_jwt": {"credentials": ids}});
        if let Err(e) = store.check_authentication_methods(&id, &cam) {
            let cid = cred["id"].as_str().unwrap_or_default().to_string();
            store.credentials.retain(|c| c.id() != cid);
            return Err(e);
        }
        store.patch_client_unchecked(
            &id,
            &serde_json::json!({"client_authentication_methods": cam, "token_endpoint_auth_method": null}),
        );
        Ok(cred)
    }

    /// Deletes a grant; `false` if it did not exist.
    pub fn delete_grant_out_of_band(&self, grant_id: &str) -> bool {
        self.shared.store.lock().delete_grant(grant_id)
    }

    /// Adds an API (resource server) with this identifier unless it exists. Like the APIs of
    /// [`SimConfig::audiences`], its scopes are open: a grant that asks for scopes it does not
    /// define adds them to it instead of getting Auth0's 400 (tests that do not care about
    /// the API's scopes). Use [`Simulator::add_resource_server_with_scopes`] for an API that
    /// enforces its scope list.
    pub fn add_resource_server(&self, identifier: &str) {
        self.shared.store.lock().add_resource_server(identifier);
    }

    /// Adds an API that defines exactly `scopes`; grants asking for others get Auth0's
    /// `400 Payload validation error: scope must be a subset of resource server scopes`.
    /// Returns the API as the API returns it.
    ///
    /// # Panics
    /// If an API with this identifier exists.
    pub fn add_resource_server_with_scopes(&self, identifier: &str, scopes: &[&str]) -> Value {
        self.shared
            .store
            .lock()
            .add_resource_server_with_scopes(identifier, scopes)
    }

    /// Adds a connection as if via the dashboard, enabled for no client, and returns it as
    /// `GET /connections` lists it (with its `con_…` id).
    ///
    /// # Panics
    /// If a connection with this name exists, or `strategy` is not one of the OAS
    /// `ConnectionStrategyEnum` (e.g. `auth0`, `google-oauth2`, `samlp`).
    pub fn add_connection(&self, name: &str, strategy: &str) -> Value {
        match self.shared.store.lock().add_connection(name, strategy) {
            Ok(c) => c,
            Err(e) => panic!("add_connection: {e}"),
        }
    }

    /// Every connection as `GET /connections` lists it, in creation order.
    pub fn connections(&self) -> Vec<Value> {
        self.shared
            .store
            .lock()
            .connections
            .iter()
            .map(|c| c.view.clone())
            .collect()
    }

    /// The ids of the clients a connection (by name or id) is enabled for, in the order
    /// `GET /connections/{id}/clients` lists them; empty for an unknown connection.
    pub fn connection_clients(&self, name_or_id: &str) -> Vec<String> {
        let store = self.shared.store.lock();
        store
            .connection_index(name_or_id)
            .map(|i| store.connections[i].enabled_clients.clone())
            .unwrap_or_default()
    }

    /// Enables (`true`) or disables a client on a connection (by name or id), as a person
    /// does in the dashboard (no request, no scope); idempotent.
    ///
    /// # Panics
    /// If the connection or the client does not exist.
    pub fn set_connection_clients_out_of_band(
        &self,
        name_or_id: &str,
        client_id: &str,
        enabled: bool,
    ) {
        let mut store = self.shared.store.lock();
        let Some(i) = store.connection_index(name_or_id) else {
            panic!("set_connection_clients_out_of_band: no connection {name_or_id:?}");
        };
        if store.get_client(client_id).is_none() {
            panic!("set_connection_clients_out_of_band: no client {client_id:?}");
        }
        store.set_connection_client(i, client_id, enabled);
    }

    /// Deletes a connection (by name or id) as if via the dashboard; `false` if there was
    /// none.
    pub fn delete_connection_out_of_band(&self, name_or_id: &str) -> bool {
        self.shared.store.lock().delete_connection(name_or_id)
    }

    /// Turns the tenant flag `enable_client_connections` on or off (see
    /// [`SimConfig::enable_client_connections`]); it applies to clients created from now on.
    pub fn set_enable_client_connections(&self, on: bool) {
        self.shared.store.lock().enable_client_connections = on;
    }

    /// The tenant flag `enable_client_connections`.
    pub fn enable_client_connections(&self) -> bool {
        self.shared.store.lock().enable_client_connections
    }

    pub fn set_faults(&self, faults: Faults) {
        self.shared.settings.lock().faults = faults;
    }

    pub fn set_rate_limit(&self, rl: Option<RateLimit>) {
        self.shared.set_rate_limit(rl);
    }

    /// Delays the response to `method path` (e.g. `POST`, `/api/v2/clients`) by `delay` *after*
    /// the request took effect, as when a response is lost in transit or the caller crashes
    /// mid-call. `Duration::ZERO` removes the delay.
    pub fn set_response_delay(&self, method: &str, path: &str, delay: Duration) {
        let mut s = self.shared.settings.lock();
        s.response_delays
            .retain(|(m, p, _)| !(m.eq_ignore_ascii_case(method) && p == path));
        if !delay.is_zero() {
            s.response_delays
                .push((method.to_string(), path.to_string(), delay));
        }
    }

    /// Lets the next `count` requests `method path` (e.g. `POST`, `/api/v2/resource-servers`)
    /// take effect and then answers them with a 502, as when Auth0 did the work but the answer
    /// was lost behind its front: the caller cannot tell whether anything happened.
    pub fn lose_answers(&self, method: &str, path: &str, count: u32) {
        let mut s = self.shared.settings.lock();
        s.lost_answers
            .retain(|(m, p, _)| !(m.eq_ignore_ascii_case(method) && p == path));
        if count > 0 {
            s.lost_answers
                .push((method.to_string(), path.to_string(), count));
        }
    }

    /// Empties the rate-limit bucket now, as if other applications of the tenant had spent it:
    /// the next requests get 429 until it refills (no effect without a rate limit).
    pub fn drain_rate_limit(&self) {
        self.shared.bucket.lock().drain();
    }

    /// The management application's secret accepted by `/oauth/token` from now on (as when it
    /// is rotated in the dashboard; tokens already issued stay valid until they expire). Sets
    /// the management client's `client_secret`; no effect once that client was deleted.
    pub fn set_management_secret(&self, secret: &str) {
        let id = self.management_client_id();
        self.shared
            .store
            .lock()
            .patch_client_unchecked(&id, &serde_json::json!({ "client_secret": secret }));
    }

    /// Scopes granted to Management API tokens issued from now on (issued tokens keep
    /// theirs): sets the scope of the management application's client grant to the
    /// Management API (recreating the grant if it was deleted; no effect once the management
    /// client was deleted).
    pub fn set_scopes(&self, scopes: Vec<String>) {
        let id = self.management_client_id();
        oauth::set_management_scopes(&mut self.shared.store.lock(), &id, &scopes);
    }

    /// Lifetime of Management API tokens issued from now on (any client's). The Management
    /// API's `token_lifetime` shows it in whole seconds; it may be shorter than a second.
    pub fn set_token_ttl(&self, ttl: Duration) {
        self.shared
            .oauth
            .set_management_ttl(&mut self.shared.store.lock(), ttl);
    }

    /// Every issued token (for any API) becomes invalid: the Management API answers 401
    /// "Invalid token".
    pub fn revoke_tokens(&self) {
        self.shared.revoke_tokens();
    }

    /// Number of `/oauth/token` requests that issued a token.
    pub fn tokens_issued(&self) -> usize {
        self.shared
            .requests
            .lock()
            .iter()
            .filter(|r| r.path == "/oauth/token" && r.status == 200)
            .count()
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.requests.lock().clone()
    }

    /// The served requests whose query (raw or percent-decoded) or body (keys or values, at
    /// any depth) contains `needle`, in order; e.g. `requests_mentioning("enabled_clients")`
    /// finds every use of the deprecated connection property.
    pub fn requests_mentioning(&self, needle: &str) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .iter()
            .filter(|r| {
                r.query.as_deref().is_some_and(|q| {
                    q.contains(needle)
                        || http::percent_decode(&q.replace('+', " ")).contains(needle)
                }) || r
                    .body
                    .as_ref()
                    .is_some_and(|b| b.to_string().contains(needle))
            })
            .cloned()
            .collect()
    }

    pub fn clear_requests(&self) {
        self.shared.requests.lock().clear();
    }

    /// Stops serving and waits (up to 5 s) for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.shared.kill_all_connections();
        if let Some(task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), task)
                .await
                .is_err()
        {
            tracing::warn!("auth0-sim: server task did not stop within 5s");
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.shared.kill_all_connections();
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
