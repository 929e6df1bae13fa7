//! The Auth0 client against the in-process simulator: every operation, every error class,
//! tokens, pagination, rate limits, retries and dropped connections.

mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use auth0_operator::auth0::{
    AppType, Auth0Config, Auth0Error, ClientCreate, ClientGrantCreate, ClientGrantUpdate,
    ClientUpdate, JwtConfiguration, ListClientsParams, ListGrantsParams, ManagementApi, Patch,
    RateLimitConfig, RefreshTokenConfig, RetryConfig, missing_scopes,
};
use auth0_operator::sim::{Faults, RateLimit, RecordedRequest, SimConfig, Simulator};
use serde_json::json;
use url::Url;

const DOMAIN: &str = "test-tenant.auth0.test";
const MGMT_ID: &str = "operator-m2m-client-id";
const MGMT_SECRET: &str = "operator-m2m-client-secret-value-0123456789";
const API: &str = "https://api.example.com/";

fn fast_retry(max_attempts: u32) -> RetryConfig {
    RetryConfig {
        max_attempts,
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(40),
        max_rate_limit_retries: 30,
        rate_limit_fallback: Duration::from_millis(50),
    }
}

/// Captured `auth0_operator::auth0` logs (trace level) of every test in this binary.
#[derive(Clone, Default)]
struct LogBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuf {
    fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

fn init_logs() -> LogBuf {
    static LOGS: std::sync::OnceLock<LogBuf> = std::sync::OnceLock::new();
    LOGS.get_or_init(|| {
        let buf = LogBuf::default();
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "auth0_operator::auth0=trace",
            ))
            .with_writer(move || writer.clone())
            .with_ansi(false)
            .finish();
        let _ = tracing::subscriber::set_global_default(subscriber);
        buf
    })
    .clone()
}

fn config(sim: &Simulator, secret: &str) -> Auth0Config {
    init_logs();
    Auth0Config::new(DOMAIN, MGMT_ID, secret)
        .with_base_url(Url::parse(&sim.base_url()).unwrap())
        .with_retry(fast_retry(3))
        .with_rate_limit(RateLimitConfig {
            burst: 1000,
            per_second: 1000.0,
            max_server_wait: Duration::from_secs(5),
        })
        .with_request_timeout(Duration::from_secs(10))
}

async fn start(cfg: SimConfig) -> (Simulator, ManagementApi) {
    let sim = Simulator::start(cfg).await.expect("simulator starts");
    let client = ManagementApi::new(config(&sim, MGMT_SECRET)).expect("client builds");
    (sim, client)
}

async fn sim_default() -> (Simulator, ManagementApi) {
    let mut cfg = SimConfig::new(DOMAIN, MGMT_ID, MGMT_SECRET);
    cfg.audiences = vec![API.to_owned()];
    start(cfg).await
}

fn api_requests(sim: &Simulator) -> Vec<RecordedRequest> {
    sim.requests()
        .into_iter()
        .filter(|r| r.path.starts_with("/api/v2"))
        .collect()
}

fn full_create(name: &str) -> ClientCreate {
    ClientCreate {
        description: Some("managed by auth0-operator".into()),
        app_type: Some(AppType::RegularWeb),
        callbacks: Some(vec!["https://app.example.com/callback".into()]),
        allowed_logout_urls: Some(vec!["https://app.example.com/logout".into()]),
        allowed_origins: Some(vec!["https://app.example.com".into()]),
        web_origins: Some(vec!["https://app.example.com".into()]),
        grant_types: Some(vec!["authorization_code".into(), "refresh_token".into()]),
        token_endpoint_auth_method: Some("client_secret_post".into()),
        is_first_party: Some(true),
        oidc_conformant: Some(true),
        jwt_configuration: Some(JwtConfiguration {
            lifetime_in_seconds: Some(3600),
            secret_encoded: Some(false),
            alg: Some("RS256".into()),
            scopes: None,
        }),
        refresh_token: Some(RefreshTokenConfig {
            rotation_type: "rotating".into(),
            expiration_type: "expiring".into(),
            leeway: Some(0),
            token_lifetime: Some(2_592_000),
            idle_token_lifetime: Some(1_296_000),
            infinite_token_lifetime: Some(false),
            infinite_idle_token_lifetime: Some(false),
        }),
        client_metadata: Some(BTreeMap::from([
            ("k8s-uid".into(), "uid-1".into()),
            ("keep".into(), "yes".into()),
        ])),
        logo_uri: Some("https://app.example.com/logo.png".into()),
        initiate_login_uri: Some("https://app.example.com/login".into()),
        organization_usage: Some("allow".into()),
        organization_require_behavior: Some("no_prompt".into()),
        cross_origin_authentication: Some(true),
        cross_origin_loc: Some("https://app.example.com/co".into()),
        sso_disabled: Some(false),
        ..ClientCreate::new(name)
    }
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn client_lifecycle() {
    let (sim, client) = sim_default().await;

    let created = client
        .create_client(&full_create("lifecycle"))
        .await
        .unwrap();
    assert!(!created.client_id.is_empty());
    assert_eq!(created.name, "lifecycle");
    assert_eq!(created.app_type, Some(AppType::RegularWeb));
    assert_eq!(created.organization_usage.as_deref(), Some("allow"));
    assert_eq!(
        created
            .jwt_configuration
            .as_ref()
            .unwrap()
            .lifetime_in_seconds,
        Some(3600)
    );
    let secret = created
        .client_secret
        .clone()
        .expect("create returns the secret");
    assert!(!secret.expose().is_empty());
    assert!(!format!("{created:?}").contains(secret.expose()));
    let id = created.client_id.clone();

    let got = client.get_client(&id).await.unwrap();
    assert_eq!(got.client_id, id);
    assert_eq!(got.callbacks, created.callbacks);
    assert_eq!(
        got.client_metadata
            .as_ref()
            .unwrap()
            .get("k8s-uid")
            .map(String::as_str),
        Some("uid-1")
    );

    // PATCH with values and explicit nulls.
    let updated = client
        .update_client(
            &id,
            &ClientUpdate {
                description: Some("changed".into()),
                callbacks: Some(vec!["https://app.example.com/cb2".into()]),
                organization_usage: Patch::Null,
                organization_require_behavior: Patch::Null,
                cross_origin_loc: Patch::Null,
                client_metadata: Some(BTreeMap::from([
                    ("k8s-uid".into(), None),
                    ("new".into(), Some("v".into())),
                ])),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.description.as_deref(), Some("changed"));
    assert_eq!(
        updated.callbacks.as_deref(),
        Some(&["https://app.example.com/cb2".to_owned()][..])
    );
    assert_eq!(updated.organization_usage, None);
    assert_eq!(updated.cross_origin_loc, None);
    let md = updated.client_metadata.unwrap();
    assert!(!md.contains_key("k8s-uid"), "{md:?}");
    assert_eq!(md.get("keep").map(String::as_str), Some("yes"));
    assert_eq!(md.get("new").map(String::as_str), Some("v"));
    // The PATCH body on the wire carried the nulls and nothing else.
    let patch = api_requests(&sim)
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    let body = patch.body.unwrap();
    assert_eq!(body["organization_usage"], json!(null));
    assert_eq!(body["client_metadata"]["k8s-uid"], json!(null));
    assert_eq!(body.as_object().unwrap().len(), 6, "{body}");

    // An empty update sends no PATCH.
    sim.clear_requests();
    let same = client
        .update_client(&id, &ClientUpdate::default())
        .await
        .unwrap();
    assert_eq!(same.description.as_deref(), Some("changed"));
    assert!(api_requests(&sim).iter().all(|r| r.method == "GET"));

    // Rotation returns a new secret.
    let rotated = client.rotate_client_secret(&id).await.unwrap();
    let new_secret = rotated.client_secret.expect("rotate returns the secret");
    assert_ne!(new_secret.expose(), secret.expose());
    assert_eq!(
        sim.client(&id).unwrap()["client_secret"].as_str(),
        Some(new_secret.expose())
    );

    // Custom secret via PATCH.
    let custom = "a-custom-secret-0123456789-abcdefghijklmnopqrstuvwxyz";
    let patched = client
        .update_client(
            &id,
            &ClientUpdate {
                client_secret: Some(custom.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(patched.client_secret.unwrap().expose(), custom);

    let all = client
        .list_clients(&ListClientsParams::default())
        .await
        .unwrap();
    assert!(all.iter().any(|c| c.client_id == id));

    client.delete_client(&id).await.unwrap();
    assert!(sim.client(&id).is_none());
    let err = client.get_client(&id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(err.reason(), "NotFound");
    assert_eq!(err.error_code(), Some("inexistent_client"));
    // Deleting again is fine.
    client.delete_client(&id).await.unwrap();
    // Rotating a missing client is a NotFound.
    assert!(
        client
            .rotate_client_secret(&id)
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert!(
        client
            .update_client(
                &id,
                &ClientUpdate {
                    name: Some("x".into()),
                    ..Default::default()
                }
            )
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn client_grant_lifecycle() {
    let (sim, client) = sim_default().await;
    let app = client
        .create_client(&ClientCreate::new("granted"))
        .await
        .unwrap();

    let grant = client
        .create_client_grant(&ClientGrantCreate {
            client_id: app.client_id.clone(),
            audience: API.into(),
            scope: Some(vec!["read:things".into()]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(grant.id.starts_with("cgr_"), "{}", grant.id);
    assert_eq!(grant.client_id.as_deref(), Some(app.client_id.as_str()));
    assert_eq!(grant.audience, API);
    assert_eq!(
        grant.scope.as_deref(),
        Some(&["read:things".to_owned()][..])
    );
    assert_eq!(grant.subject_type.as_deref(), Some("client"));

    let by_client = client
        .list_client_grants(&ListGrantsParams {
            client_id: Some(app.client_id.clone()),
            audience: None,
        })
        .await
        .unwrap();
    assert_eq!(by_client.len(), 1);
    let by_both = client
        .list_client_grants(&ListGrantsParams {
            client_id: Some(app.client_id.clone()),
            audience: Some(API.into()),
        })
        .await
        .unwrap();
    assert_eq!(by_both[0].id, grant.id);
    let none = client
        .list_client_grants(&ListGrantsParams {
            client_id: Some("no-such-client".into()),
            audience: None,
        })
        .await
        .unwrap();
    assert!(none.is_empty());

    assert_eq!(client.get_client_grant(&grant.id).await.unwrap(), grant);

    let updated = client
        .update_client_grant(
            &grant.id,
            &ClientGrantUpdate {
                scope: Patch::Value(vec!["read:things".into(), "write:things".into()]),
                organization_usage: Patch::Value("allow".into()),
                allow_any_organization: Patch::Value(true),
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.scope.as_ref().unwrap().len(), 2);
    assert_eq!(updated.organization_usage.as_deref(), Some("allow"));
    assert_eq!(updated.allow_any_organization, Some(true));
    let cleared = client
        .update_client_grant(
            &grant.id,
            &ClientGrantUpdate {
                scope: Patch::Value(vec![]),
                organization_usage: Patch::Null,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.scope.as_deref(), Some(&[][..]));
    assert_eq!(cleared.organization_usage, None);
    // Empty update: no PATCH, returns the current grant.
    sim.clear_requests();
    let same = client
        .update_client_grant(&grant.id, &ClientGrantUpdate::default())
        .await
        .unwrap();
    assert_eq!(same.id, grant.id);
    assert!(api_requests(&sim).iter().all(|r| r.method == "GET"));

    // Duplicate (client, audience, subject_type) → Conflict.
    let dup = client
        .create_client_grant(&ClientGrantCreate {
            client_id: app.client_id.clone(),
            audience: API.into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(dup.is_conflict(), "{dup}");
    assert_eq!(dup.reason(), "Conflict");
    assert!(dup.to_string().contains("already exists"), "{dup}");
    // …but a user grant for the same pair is allowed.
    let user_grant = client
        .create_client_grant(&ClientGrantCreate {
            client_id: app.client_id.clone(),
            audience: API.into(),
            subject_type: Some("user".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(user_grant.subject_type.as_deref(), Some("user"));

    // Unknown audience → 404 (resource server not found).
    let err = client
        .create_client_grant(&ClientGrantCreate {
            client_id: app.client_id.clone(),
            audience: "https://nope.example.com/".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    client.delete_client_grant(&grant.id).await.unwrap();
    client.delete_client_grant(&grant.id).await.unwrap();
    let err = client.get_client_grant(&grant.id).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(
        client
            .update_client_grant(
                &grant.id,
                &ClientGrantUpdate {
                    allow_any_organization: Patch::Null,
                    ..Default::default()
                }
            )
            .await
            .unwrap_err()
            .is_not_found()
    );
    assert_eq!(sim.grants().len(), 1);
}

#[tokio::test]
async fn pagination_over_several_pages() {
    let (sim, client) = sim_default().await;
    for i in 0..250 {
        sim.create_client_out_of_band(json!({"name": format!("oob-{i:03}")}));
    }
    sim.clear_requests();
    let all = client
        .list_clients(&ListClientsParams::default())
        .await
        .unwrap();
    // The 250 and the tenant's built-in clients (the global one and the management application).
    assert_eq!(all.len(), 252);
    let mut names: Vec<_> = all.iter().map(|c| c.name.clone()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 252, "no duplicates across pages");
    let lists: Vec<_> = api_requests(&sim)
        .into_iter()
        .filter(|r| r.method == "GET" && r.path == "/api/v2/clients")
        .collect();
    assert_eq!(lists.len(), 3, "{lists:?}");
    for (i, r) in lists.iter().enumerate() {
        let q = r.query.as_deref().unwrap();
        assert!(q.contains(&format!("page={i}")), "{q}");
        assert!(q.contains("per_page=100"), "{q}");
        assert!(q.contains("include_totals=true"), "{q}");
    }

    // Projection and filter parameters.
    sim.clear_requests();
    let projected = client
        .list_clients(&ListClientsParams {
            fields: Some(vec!["client_id".into(), "name".into()]),
            include_fields: true,
            is_global: Some(false),
        })
        .await
        .unwrap();
    assert_eq!(projected.len(), 251);
    assert!(
        projected
            .iter()
            .all(|c| c.grant_types.is_none() && !c.client_id.is_empty())
    );
    let q = api_requests(&sim)[0].query.clone().unwrap();
    assert!(q.contains("fields=client_id%2Cname"), "{q}");
    assert!(q.contains("include_fields=true"), "{q}");
    assert!(q.contains("is_global=false"), "{q}");

    // Exactly one full page: the loop stops on the total, no extra empty request.
    let (sim2, client2) = sim_default().await;
    // 98 and the tenant's built-in clients (global, management application).
    for i in 0..98 {
        sim2.create_client_out_of_band(json!({"name": format!("p-{i}")}));
    }
    sim2.clear_requests();
    assert_eq!(
        client2
            .list_clients(&ListClientsParams::default())
            .await
            .unwrap()
            .len(),
        100
    );
    assert_eq!(api_requests(&sim2).len(), 1);

    // Grants: 130 audiences for one client → 2 pages.
    let app = sim.create_client_out_of_band(json!({"name": "many grants"}));
    let cid = app["client_id"].as_str().unwrap().to_owned();
    for i in 0..130 {
        let aud = format!("https://api-{i}.example.com/");
        sim.add_resource_server(&aud);
        sim.create_grant_out_of_band(json!({"client_id": cid, "audience": aud, "scope": []}));
    }
    sim.clear_requests();
    let grants = client
        .list_client_grants(&ListGrantsParams {
            client_id: Some(cid.clone()),
            audience: None,
        })
        .await
        .unwrap();
    assert_eq!(grants.len(), 130);
    assert_eq!(api_requests(&sim).len(), 2);
    assert!(
        api_requests(&sim)[1]
            .query
            .as_deref()
            .unwrap()
            .contains(&format!("client_id={cid}"))
    );
}

// ---------------------------------------------------------------------------------------------
// Error classes
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn validation_errors_are_typed_and_not_retried() {
    let (sim, client) = sim_default().await;
    sim.clear_requests();
    let err = client
        .create_client(&ClientCreate::new("<bad name>"))
        .await
        .unwrap_err();
    match &err {
        Auth0Error::Api {
            status,
            message,
            endpoint,
            ..
        } => {
            assert_eq!(*status, 400);
            assert!(
                message.contains("validation") || message.contains("pattern"),
                "{message}"
            );
            assert_eq!(*endpoint, "POST /api/v2/clients");
        }
        other => panic!("expected Api 400, got {other:?}"),
    }
    assert_eq!(err.reason(), "Auth0ValidationError");
    assert!(!err.is_retryable());
    assert_eq!(api_requests(&sim).len(), 1, "4xx are not retried");

    let long = ClientCreate {
        description: Some("x".repeat(141)),
        ..ClientCreate::new("ok")
    };
    let err = client.create_client(&long).await.unwrap_err();
    assert_eq!(err.status(), Some(400));
    // A semantically invalid combination the schema allows (public client + client_credentials).
    let err = client
        .create_client(&ClientCreate {
            token_endpoint_auth_method: Some("none".into()),
            grant_types: Some(vec!["client_credentials".into()]),
            ..ClientCreate::new("public")
        })
        .await;
    if let Err(e) = err {
        assert_eq!(e.status(), Some(400), "{e}");
    }
}

#[tokio::test]
async fn insufficient_scope() {
    let mut cfg = SimConfig::new(DOMAIN, MGMT_ID, MGMT_SECRET);
    cfg.scopes = vec!["read:clients".into(), "read:client_grants".into()];
    let (sim, client) = start(cfg).await;
    let scopes = client.check_credentials().await.unwrap();
    assert_eq!(scopes, ["read:clients", "read:client_grants"]);
    assert_eq!(client.granted_scopes().unwrap(), scopes);
    let missing = missing_scopes(
        &auth0_operator::controller::kinds::required_scopes(),
        &scopes,
    );
    assert!(missing.contains(&"create:clients"));
    assert!(!missing.contains(&"read:clients"));

    // Besides the global "All Applications" client, only the management application exists.
    let listed: Vec<String> = client
        .list_clients(&ListClientsParams {
            is_global: Some(false),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(listed, [MGMT_ID]);
    sim.clear_requests();
    let err = client
        .create_client(&ClientCreate::new("nope"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Auth0Error::InsufficientScope { .. }),
        "{err:?}"
    );
    assert_eq!(err.reason(), "InsufficientScope");
    assert!(err.to_string().contains("create:clients"), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(api_requests(&sim).len(), 1);
    let err = client.delete_client_grant("cgr_x").await.unwrap_err();
    assert!(
        matches!(err, Auth0Error::InsufficientScope { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn bad_credentials() {
    let (sim, _) = sim_default().await;
    let wrong = "definitely-the-wrong-secret-value";
    let client = ManagementApi::new(config(&sim, wrong)).unwrap();
    let err = client.check_credentials().await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, Auth0Error::InvalidCredentials { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(err.reason(), "InvalidCredentials");
    assert!(!err.is_retryable());
    for needle in [
        DOMAIN,
        MGMT_ID,
        "AUTH0_DOMAIN",
        "AUTH0_CLIENT_ID",
        "AUTH0_CLIENT_SECRET",
        "Management API",
    ] {
        assert!(msg.contains(needle), "{needle} missing from: {msg}");
    }
    assert!(!msg.contains(wrong) && !format!("{err:?}").contains(wrong));
    assert!(!format!("{client:?}").contains(wrong));
    // Credentials errors are not retried.
    let token_requests = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count();
    assert_eq!(token_requests, 1);
    assert_eq!(client.metrics().credentials_valid, Some(false));
    // Management calls surface the same error and send nothing to /api/v2; within the hold
    // time the rejection is answered from memory (one token request, not one per call).
    let err = client.get_client("abc").await.unwrap_err();
    assert_eq!(err.reason(), "InvalidCredentials");
    assert!(api_requests(&sim).is_empty());
    assert_eq!(client.metrics().token_fetch_failures, 1);
    let token_requests = sim
        .requests()
        .iter()
        .filter(|r| r.path == "/oauth/token")
        .count();
    assert_eq!(token_requests, 1, "a rejection is not asked again at once");
    let good = ManagementApi::new(config(&sim, MGMT_SECRET)).unwrap();
    assert_eq!(
        good.metrics().credentials_valid,
        None,
        "unknown before any answer"
    );
    good.check_credentials().await.unwrap();
    assert_eq!(good.metrics().credentials_valid, Some(true));

    // Wrong audience override: also a credentials/authorization problem.
    let client = ManagementApi::new(
        config(&sim, MGMT_SECRET).with_audience("https://unknown.example.com/api/v2/"),
    )
    .unwrap();
    let err = client.check_credentials().await.unwrap_err();
    assert!(
        matches!(err, Auth0Error::InvalidCredentials { status: 403, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn invalid_config_is_rejected_before_any_request() {
    init_logs();
    let err =
        ManagementApi::new(Auth0Config::new("https://x.auth0.com", "id", "secret")).unwrap_err();
    assert!(matches!(err, Auth0Error::Config(_)));
    assert_eq!(err.reason(), "InvalidConfig");
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn revoked_token_is_refreshed_once() {
    let (sim, client) = sim_default().await;
    let app = client.create_client(&ClientCreate::new("t")).await.unwrap();
    assert_eq!(sim.tokens_issued(), 1);
    sim.revoke_tokens();
    sim.clear_requests();
    let got = client.get_client(&app.client_id).await.unwrap();
    assert_eq!(got.client_id, app.client_id);
    let log: Vec<(String, u16)> = sim
        .requests()
        .iter()
        .map(|r| (r.path.clone(), r.status))
        .collect();
    let client_path = format!("/api/v2/clients/{}", app.client_id);
    assert_eq!(
        log,
        vec![
            (client_path.clone(), 401),
            ("/oauth/token".to_owned(), 200),
            (client_path, 200)
        ]
    );
    let m = client.metrics();
    assert_eq!(m.token_refreshes_on_401, 1);
    assert_eq!(m.token_fetches, 2);

    sim.revoke_tokens();
    sim.clear_requests();
    // Clones share the token cache: the refresh happens once for both.
    let clone = client.clone();
    let (a, b) = tokio::join!(
        client.get_client(&app.client_id),
        clone.get_client(&app.client_id)
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(
        sim.requests()
            .iter()
            .filter(|r| r.path == "/oauth/token")
            .count(),
        1,
        "concurrent 401s cause a single refresh"
    );
}

#[tokio::test]
async fn a_401_that_survives_the_refresh_is_an_error_not_a_loop() {
    let mut cfg = SimConfig::new(DOMAIN, MGMT_ID, MGMT_SECRET);
    // Tokens are dead on arrival: every Management API call answers 401 "Expired token".
    cfg.token_ttl = Duration::ZERO;
    let (sim, client) = start(cfg).await;
    let err = client.get_client("abc").await.unwrap_err();
    assert!(
        matches!(err, Auth0Error::Api { status: 401, .. }),
        "{err:?}"
    );
    assert_eq!(err.reason(), "Auth0Unauthorized");
    assert_eq!(
        api_requests(&sim).len(),
        2,
        "original + one retry after the refresh"
    );
    assert_eq!(sim.tokens_issued(), 2);
    assert_eq!(client.metrics().token_refreshes_on_401, 1);
}

#[tokio::test]
async fn short_lived_tokens_are_refreshed_before_expiry() {
    let mut cfg = SimConfig::new(DOMAIN, MGMT_ID, MGMT_SECRET);
    cfg.token_ttl = Duration::from_secs(2);
    let (sim, client) = start(cfg).await;
    client
        .list_clients(&ListClientsParams::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1900)).await;
    client
        .list_clients(&ListClientsParams::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    client
        .list_clients(&ListClientsParams::default())
        .await
        .unwrap();
    // Refreshed ahead of expiry (10 % of the TTL early), never sent an expired token.
    assert!(
        sim.requests().iter().all(|r| r.status != 401),
        "{:?}",
        sim.requests()
    );
    assert!(
        sim.tokens_issued() >= 2,
        "tokens issued: {}",
        sim.tokens_issued()
    );
    assert_eq!(client.metrics().token_refreshes_on_401, 0);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_fetch() {
    let (sim, client) = sim_default().await;
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.list_clients(&ListClientsParams::default()).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(sim.tokens_issued(), 1);
    assert_eq!(client.metrics().token_fetches, 1);
}

// ---------------------------------------------------------------------------------------------
// Rate limits
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn rate_limited_bursts_wait_and_all_succeed() {
    let sim = Simulator::start(SimConfig::new(DOMAIN, MGMT_ID, MGMT_SECRET))
        .await
        .unwrap();
    // The default 429 budget (10 retries), only the backoffs are shortened.
    let retry = RetryConfig {
        max_rate_limit_retries: RetryConfig::default().max_rate_limit_retries,
        ..fast_retry(3)
    };
    let client = ManagementApi::new(config(&sim, MGMT_SECRET).with_retry(retry)).unwrap();
    let app = client
        .create_client(&ClientCreate::new("rl"))
        .await
        .unwrap();
    sim.set_rate_limit(Some(RateLimit {
        burst: 5,
        per_second: 10.0,
    }));
    sim.clear_requests();
    let start = Instant::now();
    // 30 concurrent callers against a bucket of 5: most of the first wave gets 429.
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let c = client.clone();
            let id = app.client_id.clone();
            tokio::spawn(async move { c.get_client(&id).await })
        })
        .collect();
    let mut failures = 0;
    for t in tasks {
        if let Err(e) = t.await.unwrap() {
            eprintln!("failure: {e}");
            failures += 1;
        }
    }
    assert_eq!(failures, 0);
    let log = api_requests(&sim);
    let n429 = log.iter().filter(|r| r.status == 429).count() as u64;
    let n200 = log.iter().filter(|r| r.status == 200).count();
    assert_eq!(n200, 30);
    assert!(n429 > 0, "the burst should have hit the simulator's limit");
    // After the first wave the shared budget keeps callers from stampeding: far fewer 429s
    // than a retry-everyone-after-the-wait strategy would produce.
    assert!(n429 <= 30, "too many 429s: {n429}");
    let m = client.metrics();
    assert_eq!(m.rate_limited, n429);
    assert_eq!(m.count("GET /api/v2/clients/{id}", 429), n429);
    assert_eq!(m.count("GET /api/v2/clients/{id}", 200), 30);
    assert_eq!(m.ratelimit_limit, Some(5));
    assert!(m.retries >= n429);
    assert!(m.throttle_waits > 0);
    eprintln!("429s: {n429}, elapsed {:?}", start.elapsed());
    assert!(
        start.elapsed() < Duration::from_secs(15),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn remaining_zero_pauses_callers_until_reset_without_429s() {
    let (sim, client) = sim_default().await;
    let app = client
        .create_client(&ClientCreate::new("pace"))
        .await
        .unwrap();
    sim.set_rate_limit(Some(RateLimit {
        burst: 3,
        per_second: 3.0,
    }));
    sim.clear_requests();
    for _ in 0..7 {
        client.get_client(&app.client_id).await.unwrap();
    }
    let log = api_requests(&sim);
    assert_eq!(log.iter().filter(|r| r.status == 429).count(), 0, "{log:?}");
    let m = client.metrics();
    assert!(m.throttle_waits >= 1, "{m:?}");
    assert_eq!(m.ratelimit_limit, Some(3));
}

#[tokio::test]
async fn persistent_429_gives_up_with_rate_limited() {
    let sim = Simulator::start(SimConfig::new(DOMAIN, MGMT_ID, MGMT_SECRET))
        .await
        .unwrap();
    let mut cfg = config(&sim, MGMT_SECRET).with_retry(RetryConfig {
        max_rate_limit_retries: 2,
        ..fast_retry(3)
    });
    cfg.rate_limit.max_server_wait = Duration::from_millis(100);
    let client = ManagementApi::new(cfg).unwrap();
    client.check_credentials().await.unwrap();
    // One request, then a bucket that never refills in test time (Retry-After is huge and
    // gets capped at max_server_wait).
    sim.set_rate_limit(Some(RateLimit {
        burst: 1,
        per_second: 0.0001,
    }));
    sim.clear_requests();
    client
        .list_clients(&ListClientsParams::default())
        .await
        .unwrap();
    let err = client
        .list_clients(&ListClientsParams::default())
        .await
        .unwrap_err();
    match &err {
        Auth0Error::RateLimited {
            attempts,
            retry_after,
            ..
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(*retry_after, Some(Duration::from_millis(100)));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
    assert_eq!(err.reason(), "RateLimited");
    assert!(err.is_retryable());
    assert_eq!(
        api_requests(&sim)
            .iter()
            .filter(|r| r.status == 429)
            .count(),
        3
    );
}

// ---------------------------------------------------------------------------------------------
// Server errors and transport failures
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let (sim, client) = sim_default().await;
    let app = client
        .create_client(&ClientCreate::new("5xx"))
        .await
        .unwrap();
    sim.set_faults(Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    sim.clear_requests();
    let err = client.get_client(&app.client_id).await.unwrap_err();
    assert!(matches!(err.status(), Some(500 | 503)), "{err:?}");
    assert_eq!(err.reason(), "Auth0Unavailable");
    assert!(err.is_retryable());
    assert_eq!(api_requests(&sim).len(), 3, "max_attempts = 3");
    // A create answered 5xx is not resent: Auth0 may have made the client all the same (a
    // gateway lost the answer), and a second POST would make a second one. The caller treats
    // the error as ambiguous (retryable, later, after looking).
    sim.clear_requests();
    let err = client
        .create_client(&ClientCreate::new("x"))
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(api_requests(&sim).len(), 1);
    assert_eq!(client.metrics().count("POST /api/v2/clients", 201), 1);
    sim.set_faults(Faults::default());
    sim.lose_answers("POST", "/api/v2/clients", 1);
    let before = sim.clients().len();
    let err = client
        .create_client(&ClientCreate::new("made"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(502));
    assert_eq!(sim.clients().len(), before + 1, "made once, answered 502");
}

#[tokio::test]
async fn intermittent_server_errors_are_absorbed() {
    let (sim, _) = sim_default().await;
    let client = ManagementApi::new(config(&sim, MGMT_SECRET).with_retry(fast_retry(10))).unwrap();
    let app = client
        .create_client(&ClientCreate::new("flaky"))
        .await
        .unwrap();
    sim.set_faults(Faults {
        error_rate: 0.3,
        ..Default::default()
    });
    for _ in 0..20 {
        client.get_client(&app.client_id).await.unwrap();
    }
    client
        .update_client(
            &app.client_id,
            &ClientUpdate {
                description: Some("d".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn dropped_connections() {
    let (sim, client) = sim_default().await;
    let app = client
        .create_client(&ClientCreate::new("drop"))
        .await
        .unwrap();
    sim.set_faults(Faults {
        drop_rate: 1.0,
        ..Default::default()
    });
    sim.clear_requests();
    // Idempotent GET: retried max_attempts times, then a transport error.
    let err = client.get_client(&app.client_id).await.unwrap_err();
    assert!(matches!(err, Auth0Error::Transport { .. }), "{err:?}");
    assert_eq!(err.reason(), "TransportError");
    assert!(err.is_retryable());
    let log = api_requests(&sim);
    assert_eq!(log.len(), 3, "{log:?}");
    assert!(log.iter().all(|r| r.status == 0));
    // Non-idempotent POST: the request may have been processed, so it is not resent.
    sim.clear_requests();
    let err = client
        .create_client(&ClientCreate::new("maybe-created"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Auth0Error::Transport {
                pre_send: false,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(api_requests(&sim).len(), 1);
    assert_eq!(client.metrics().count("POST /api/v2/clients", 0), 1);

    // Some drops: absorbed by retries.
    let client = ManagementApi::new(config(&sim, MGMT_SECRET).with_retry(fast_retry(10))).unwrap();
    sim.set_faults(Faults {
        drop_rate: 0.3,
        ..Default::default()
    });
    for _ in 0..15 {
        client.get_client(&app.client_id).await.unwrap();
    }
}

/// 2xx answers that are not Auth0's (a proxy's sign-in page, an empty or truncated body, JSON of
/// another shape, a 200 where Auth0 answers 204) are never taken for success: no call reports
/// done, no object reads with an empty id, and Auth0's state is what it was. Before, a DELETE
/// answered 200 by a proxy was "deleted" and the application stayed in Auth0, and a 200
/// `{"clients":[…]}` read as an application whose id was `""`.
#[tokio::test]
async fn answers_that_are_not_auth0s_are_never_success() {
    let (sim, client) = sim_default().await;
    let app = client
        .create_client(&ClientCreate::new("kept"))
        .await
        .unwrap();
    let id = app.client_id.clone();
    let grant = client
        .create_client_grant(&ClientGrantCreate {
            client_id: id.clone(),
            audience: API.into(),
            scope: Some(vec!["read:things".into()]),
            ..Default::default()
        })
        .await
        .unwrap();
    let rs = client
        .get_resource_server(API)
        .await
        .unwrap()
        .expect("the simulator's API");
    let db = sim.add_connection("db", "auth0");
    let db_id = db["id"].as_str().unwrap().to_owned();
    let before = (
        sim.client(&id).unwrap(),
        sim.grants(),
        sim.resource_servers(),
        sim.connection_clients("db"),
    );
    sim.set_faults(Faults {
        garbage_rate: 1.0,
        ..Default::default()
    });
    sim.clear_requests();
    let update = ClientUpdate {
        description: Some("changed".into()),
        ..Default::default()
    };
    for round in 0..40 {
        let said = |what: &str, r: Result<String, Auth0Error>| match r {
            Ok(v) => {
                panic!("round {round}: {what} succeeded on an answer that is not Auth0's: {v}")
            }
            Err(e) => assert_ne!(e.reason(), "InvalidConfig", "round {round}: {what}: {e}"),
        };
        said(
            "GET client",
            client
                .get_client(&id)
                .await
                .map(|c| format!("client_id {:?}", c.client_id)),
        );
        said(
            "PATCH client",
            client
                .update_client(&id, &update)
                .await
                .map(|c| format!("client_id {:?}", c.client_id)),
        );
        said(
            "DELETE client",
            client.delete_client(&id).await.map(|()| "deleted".into()),
        );
        said(
            "list clients",
            client
                .list_clients(&ListClientsParams::default())
                .await
                .map(|l| format!("{} clients", l.len())),
        );
        said(
            "GET grant",
            client
                .get_client_grant(&grant.id)
                .await
                .map(|g| format!("id {:?}", g.id)),
        );
        said(
            "DELETE grant",
            client
                .delete_client_grant(&grant.id)
                .await
                .map(|()| "deleted".into()),
        );
        said(
            "GET API",
            client
                .get_resource_server(API)
                .await
                .map(|r| format!("{r:?}")),
        );
        said(
            "DELETE API",
            client
                .delete_resource_server(&rs.id)
                .await
                .map(|()| "deleted".into()),
        );
        said(
            "list credentials",
            client
                .list_client_credentials(&id)
                .await
                .map(|l| format!("{} credentials", l.len())),
        );
        said(
            "PATCH connection clients",
            client
                .update_connection_clients(
                    &db_id,
                    &[auth0_operator::auth0::ConnectionClientStatus {
                        client_id: id.clone(),
                        status: true,
                    }],
                )
                .await
                .map(|()| "enabled".into()),
        );
    }
    // Every kind of answer that is not Auth0's was given, a 2xx among them.
    let statuses: std::collections::BTreeSet<u16> =
        api_requests(&sim).iter().map(|r| r.status).collect();
    assert!(
        statuses.contains(&200) && statuses.contains(&502),
        "{statuses:?}"
    );
    sim.set_faults(Faults::default());
    let after = (
        sim.client(&id).unwrap(),
        sim.grants(),
        sim.resource_servers(),
        sim.connection_clients("db"),
    );
    assert_eq!(after, before, "Auth0's state is unchanged");
    // And with Auth0's answers, the same calls are done.
    client.delete_client_grant(&grant.id).await.unwrap();
    client.delete_client(&id).await.unwrap();
    assert!(sim.client(&id).is_none());
}

#[tokio::test]
async fn connect_errors_are_retried_even_for_post() {
    init_logs();
    // A port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = ManagementApi::new(
        Auth0Config::new(DOMAIN, MGMT_ID, MGMT_SECRET)
            .with_base_url(Url::parse(&format!("http://127.0.0.1:{port}")).unwrap())
            .with_retry(fast_retry(3)),
    )
    .unwrap();
    let err = client
        .create_client(&ClientCreate::new("x"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Auth0Error::Transport { pre_send: true, .. }),
        "{err:?}"
    );
    // The token request was attempted 3 times (connect errors), nothing else.
    let m = client.metrics();
    assert_eq!(m.count("POST /oauth/token", 0), 3);
    assert_eq!(m.token_fetch_failures, 1);
}

#[tokio::test]
async fn logs_never_contain_secrets() {
    let logs = init_logs();
    let (sim, client) = sim_default().await;
    let app = client
        .create_client(&ClientCreate::new("logged"))
        .await
        .unwrap();
    let secret = app.client_secret.clone().unwrap();
    let rotated = client.rotate_client_secret(&app.client_id).await.unwrap();
    sim.revoke_tokens();
    client.get_client(&app.client_id).await.unwrap();
    let _ = client.get_client("missing").await;
    sim.set_faults(Faults {
        error_rate: 1.0,
        ..Default::default()
    });
    let _ = client.get_client(&app.client_id).await;
    let bad = ManagementApi::new(config(&sim, "wrong-secret-for-logging-test")).unwrap();
    let _ = bad.check_credentials().await;

    // The buffer holds the logs of every test in this binary (one global subscriber, so
    // tracing's per-callsite interest cache is consistent across test threads).
    let logs = logs.contents();
    assert!(logs.contains("auth0_request"), "spans are logged: {logs}");
    assert!(logs.contains("GET /api/v2/clients/{id}"), "{logs}");
    for s in [
        MGMT_SECRET,
        "wrong-secret-for-logging-test",
        secret.expose(),
        rotated.client_secret.as_ref().unwrap().expose(),
        "Bearer",
    ] {
        assert!(!logs.contains(s), "log leaked {s:?}");
    }
}

#[tokio::test]
async fn metrics_use_endpoint_templates() {
    let (sim, client) = sim_default().await;
    let app = client.create_client(&ClientCreate::new("m")).await.unwrap();
    client.get_client(&app.client_id).await.unwrap();
    let _ = client.get_client("missing").await;
    let g = client
        .create_client_grant(&ClientGrantCreate {
            client_id: app.client_id.clone(),
            audience: API.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    client.delete_client_grant(&g.id).await.unwrap();
    client.delete_client(&app.client_id).await.unwrap();
    let m = client.metrics();
    for r in &m.requests {
        assert!(
            !r.endpoint.contains(&app.client_id) && !r.endpoint.contains(&g.id),
            "{r:?}"
        );
        assert!(!r.endpoint.contains("missing"), "{r:?}");
    }
    assert_eq!(m.count("POST /oauth/token", 200), 1);
    assert_eq!(m.count("POST /api/v2/clients", 201), 1);
    assert_eq!(m.count("GET /api/v2/clients/{id}", 200), 1);
    assert_eq!(m.count("GET /api/v2/clients/{id}", 404), 1);
    assert_eq!(m.count("POST /api/v2/client-grants", 201), 1);
    assert_eq!(m.count("DELETE /api/v2/client-grants/{id}", 204), 1);
    assert_eq!(m.count("DELETE /api/v2/clients/{id}", 204), 1);
    assert_eq!(
        m.ratelimit_limit,
        Some(1000),
        "shadow bucket headers are recorded"
    );
    assert!(m.ratelimit_remaining.is_some());
    assert_eq!(m.retries, 0);
    drop(sim);
}

// ---------------------------------------------------------------------------------------------
// Private-key JWT: the operator's own credentials as a key
// ---------------------------------------------------------------------------------------------

/// With a private key the operator asks for tokens with a signed client assertion (no secret
/// is sent), in PKCS#8 or PKCS#1 form; a key Auth0 does not list is refused as invalid
/// credentials; a bad PEM is a configuration error that never quotes it.
#[tokio::test]
async fn management_credentials_as_a_private_key() {
    let (sim, _) = sim_default().await;
    let (pkcs8, pkcs1, public) = common::jwt::pem_key_pair();
    sim.add_management_key(&public).unwrap();
    for private in [&pkcs8, &pkcs1] {
        let client =
            ManagementApi::new(config(&sim, "").with_private_key(private.as_str())).unwrap();
        sim.clear_requests();
        let scopes = client.check_credentials().await.unwrap();
        assert!(scopes.iter().any(|s| s == "create:clients"), "{scopes:?}");
        let app = client
            .create_client(&ClientCreate::new("by key"))
            .await
            .unwrap();
        assert!(!app.client_id.is_empty());
        let token_requests: Vec<_> = sim
            .requests()
            .into_iter()
            .filter(|r| r.path == "/oauth/token")
            .collect();
        assert_eq!(token_requests.len(), 1);
        let body = token_requests[0].body.clone().unwrap();
        assert_eq!(
            body["client_assertion_type"],
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert!(body.get("client_secret").is_none(), "{body}");
        assert_eq!(token_requests[0].status, 200);
    }
    // A key the tenant does not list for the application.
    let (other, _, _) = common::jwt::pem_key_pair();
    let stranger = ManagementApi::new(config(&sim, "").with_private_key(other.as_str())).unwrap();
    let err = stranger.check_credentials().await.unwrap_err();
    assert_eq!(err.reason(), "InvalidCredentials", "{err:?}");
    // Not a key: refused before any request, without echoing it.
    let junk = "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n";
    let err = match ManagementApi::new(config(&sim, "").with_private_key(junk)) {
        Err(e) => e,
        Ok(_) => panic!("a bad key is refused"),
    };
    let text = err.to_string();
    assert!(text.contains("not a usable RSA key"), "{text}");
    assert!(!text.contains("bm90IGEga2V5"), "{text}");
}
