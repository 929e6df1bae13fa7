//! Every request body the Auth0 client can send validates against the official OAS request
//! schema (via the simulator's `validate_request`), and invalid bodies are rejected.

use std::collections::BTreeMap;

use auth0_operator::auth0::{
    AppType, ClientCreate, ClientGrantCreate, ClientGrantUpdate, ClientUpdate, JwtConfiguration,
    Patch, RefreshTokenConfig, Secret,
};
use auth0_operator::sim::{RequestOp, validate_request};
use proptest::prelude::*;
use serde_json::{Value, json};

fn v<T: serde::Serialize>(body: &T) -> Value {
    serde_json::to_value(body).unwrap()
}

fn assert_valid(op: RequestOp, body: &Value) {
    if let Err(e) = validate_request(op, body) {
        panic!("{op:?} rejected {body}: {e}");
    }
}

fn assert_invalid(op: RequestOp, body: &Value) {
    assert!(
        validate_request(op, body).is_err(),
        "{op:?} unexpectedly accepted {body}"
    );
}

fn jwt() -> JwtConfiguration {
    let mut scopes = serde_json::Map::new();
    scopes.insert("users".into(), json!({"actions": ["read"]}));
    JwtConfiguration {
        lifetime_in_seconds: Some(3600),
        secret_encoded: Some(false),
        alg: Some("RS256".into()),
        scopes: Some(scopes),
    }
}

fn refresh() -> RefreshTokenConfig {
    RefreshTokenConfig {
        rotation_type: "rotating".into(),
        expiration_type: "expiring".into(),
        leeway: Some(0),
        token_lifetime: Some(2_592_000),
        idle_token_lifetime: Some(1_296_000),
        infinite_token_lifetime: Some(false),
        infinite_idle_token_lifetime: Some(false),
    }
}

fn urls(path: &str) -> Option<Vec<String>> {
    Some(vec![
        format!("https://app.example.com/{path}"),
        format!("http://localhost:3000/{path}"),
    ])
}

fn full_create() -> ClientCreate {
    ClientCreate {
        name: "My App (managed by auth0-operator)".into(),
        description: Some("Managed by the auth0-operator; do not edit in the dashboard".into()),
        app_type: Some(AppType::RegularWeb),
        callbacks: urls("callback"),
        allowed_logout_urls: urls("logout"),
        allowed_origins: Some(vec!["https://app.example.com".into()]),
        web_origins: Some(vec!["https://app.example.com".into()]),
        grant_types: Some(vec![
            "authorization_code".into(),
            "refresh_token".into(),
            "client_credentials".into(),
        ]),
        token_endpoint_auth_method: Some("client_secret_post".into()),
        is_first_party: Some(true),
        oidc_conformant: Some(true),
        jwt_configuration: Some(jwt()),
        refresh_token: Some(refresh()),
        client_metadata: Some(BTreeMap::from([
            (
                "k8s-uid".into(),
                "0d5c1c1e-8d8b-4b0e-9a59-3c2b9e1d7f00".into(),
            ),
            ("managed-by".into(), "auth0-operator".into()),
        ])),
        logo_uri: Some("https://app.example.com/logo.png".into()),
        initiate_login_uri: Some("https://app.example.com/login".into()),
        organization_usage: Some("allow".into()),
        organization_require_behavior: Some("no_prompt".into()),
        cross_origin_authentication: Some(true),
        cross_origin_loc: Some("https://app.example.com/cross-origin".into()),
        sso: Some(false),
        sso_disabled: Some(false),
        custom_login_page_on: Some(true),
        allowed_clients: Some(vec!["AaiyAPdpYdesoKnqjj8HJqRn4T5titww".into()]),
        client_aliases: Some(vec!["https://alias.example.com".into()]),
        require_pushed_authorization_requests: Some(true),
        resource_server_identifier: None,
    }
}

fn full_update() -> ClientUpdate {
    let c = full_create();
    ClientUpdate {
        name: Some(c.name),
        description: c.description,
        app_type: c.app_type,
        callbacks: c.callbacks,
        allowed_logout_urls: c.allowed_logout_urls,
        allowed_origins: c.allowed_origins,
        web_origins: c.web_origins,
        grant_types: c.grant_types,
        token_endpoint_auth_method: Patch::Value("client_secret_basic".into()),
        is_first_party: c.is_first_party,
        oidc_conformant: c.oidc_conformant,
        jwt_configuration: c.jwt_configuration,
        refresh_token: Patch::Value(refresh()),
        client_metadata: Some(BTreeMap::from([
            ("managed-by".into(), Some("auth0-operator".into())),
            ("old-key".into(), None),
        ])),
        logo_uri: c.logo_uri,
        initiate_login_uri: c.initiate_login_uri,
        organization_usage: Patch::Value("require".into()),
        organization_require_behavior: Patch::Value("pre_login_prompt".into()),
        cross_origin_authentication: c.cross_origin_authentication,
        cross_origin_loc: Patch::Value("https://app.example.com/co".into()),
        sso: c.sso,
        sso_disabled: c.sso_disabled,
        custom_login_page_on: c.custom_login_page_on,
        allowed_clients: c.allowed_clients,
        client_aliases: c.client_aliases,
        require_pushed_authorization_requests: Some(false),
        client_secret: Some(Secret::new(
            "a-custom-secret-that-is-long-enough-0123456789",
        )),
        client_authentication_methods: Patch::Absent,
    }
}

/// The bodies of the private-key JWT steps: registering a key, listing keys (and dropping the
/// token endpoint method), detaching them for a client secret again.
#[test]
fn credential_bodies_validate() {
    use auth0_operator::auth0::{ClientAuthenticationMethods, ClientCredentialCreate};
    let key = auth0_operator::controller::client::keys::generate();
    for alg in ["RS256", "RS384", "PS256"] {
        let body = v(&ClientCredentialCreate {
            credential_type: "public_key".into(),
            name: "auth0-operator/ns/name kid".into(),
            pem: key.public_pem.clone(),
            alg: alg.into(),
        });
        assert_valid(RequestOp::CreateClientCredential, &body);
    }
    let list = ClientUpdate {
        client_authentication_methods: Patch::Value(ClientAuthenticationMethods::private_key_jwt(
            &["cred_1".into(), "cred_2".into()],
        )),
        token_endpoint_auth_method: Patch::Null,
        ..Default::default()
    };
    let body = v(&list);
    assert_eq!(
        body,
        json!({"client_authentication_methods": {"private_key_jwt": {"credentials": [{"id": "cred_1"}, {"id": "cred_2"}]}},
               "token_endpoint_auth_method": null})
    );
    assert_valid(RequestOp::UpdateClient, &body);
    let detach = ClientUpdate {
        client_authentication_methods: Patch::Null,
        token_endpoint_auth_method: Patch::Value("client_secret_post".into()),
        ..Default::default()
    };
    let body = v(&detach);
    assert_eq!(
        body,
        json!({"client_authentication_methods": null, "token_endpoint_auth_method": "client_secret_post"})
    );
    assert_valid(RequestOp::UpdateClient, &body);
}

#[test]
fn client_create_minimal() {
    let body = v(&ClientCreate::new("minimal"));
    assert_eq!(body, json!({"name": "minimal"}));
    assert_valid(RequestOp::CreateClient, &body);
}

#[test]
fn client_create_fully_populated() {
    let body = v(&full_create());
    // Every field we model is present.
    assert_eq!(body.as_object().unwrap().len(), 26, "{body}");
    assert_valid(RequestOp::CreateClient, &body);
}

#[test]
fn client_create_per_app_type() {
    for app_type in [
        AppType::Native,
        AppType::Spa,
        AppType::RegularWeb,
        AppType::NonInteractive,
        AppType::Other("sso_integration".into()),
    ] {
        let body = v(&ClientCreate {
            app_type: Some(app_type),
            ..ClientCreate::new("per type")
        });
        assert_valid(RequestOp::CreateClient, &body);
    }
    // resource_server clients carry the create-only identifier.
    let body = v(&ClientCreate {
        app_type: Some(AppType::ResourceServer),
        resource_server_identifier: Some("https://api.example.com".into()),
        ..ClientCreate::new("rs")
    });
    assert_valid(RequestOp::CreateClient, &body);
}

#[test]
fn client_update_minimal_and_empty() {
    assert_valid(
        RequestOp::UpdateClient,
        &v(&ClientUpdate {
            description: Some("only this".into()),
            ..Default::default()
        }),
    );
    // Auth0 requires at least one property; the client never sends `{}` (it GETs instead).
    assert!(ClientUpdate::default().is_empty());
    assert_invalid(RequestOp::UpdateClient, &v(&ClientUpdate::default()));
}

#[test]
fn client_update_fully_populated() {
    let body = v(&full_update());
    assert_eq!(body.as_object().unwrap().len(), 27, "{body}");
    assert_valid(RequestOp::UpdateClient, &body);
}

#[test]
fn client_update_explicit_nulls() {
    let body = v(&ClientUpdate {
        token_endpoint_auth_method: Patch::Null,
        refresh_token: Patch::Null,
        organization_usage: Patch::Null,
        organization_require_behavior: Patch::Null,
        cross_origin_loc: Patch::Null,
        client_metadata: Some(BTreeMap::from([("gone".into(), None)])),
        ..Default::default()
    });
    assert_eq!(
        body,
        json!({
            "token_endpoint_auth_method": null,
            "refresh_token": null,
            "organization_usage": null,
            "organization_require_behavior": null,
            "cross_origin_loc": null,
            "client_metadata": {"gone": null},
        })
    );
    assert_valid(RequestOp::UpdateClient, &body);
}

#[test]
fn client_grant_create_minimal_and_full() {
    let minimal = v(&ClientGrantCreate {
        client_id: "AaiyAPdpYdesoKnqjj8HJqRn4T5titww".into(),
        audience: "https://api.example.com".into(),
        ..Default::default()
    });
    assert_eq!(
        minimal,
        json!({"client_id": "AaiyAPdpYdesoKnqjj8HJqRn4T5titww", "audience": "https://api.example.com"})
    );
    assert_valid(RequestOp::CreateClientGrant, &minimal);
    for subject_type in ["client", "user"] {
        let full = v(&ClientGrantCreate {
            client_id: "AaiyAPdpYdesoKnqjj8HJqRn4T5titww".into(),
            audience: "https://api.example.com".into(),
            scope: Some(vec!["read:things".into(), "write:things".into()]),
            organization_usage: Some("allow".into()),
            allow_any_organization: Some(true),
            subject_type: Some(subject_type.into()),
        });
        assert_valid(RequestOp::CreateClientGrant, &full);
    }
    let empty_scope = v(&ClientGrantCreate {
        client_id: "c".into(),
        audience: "https://api.example.com".into(),
        scope: Some(vec![]),
        ..Default::default()
    });
    assert_valid(RequestOp::CreateClientGrant, &empty_scope);
}

#[test]
fn client_grant_update_values_and_nulls() {
    let bodies = [
        ClientGrantUpdate {
            scope: Patch::Value(vec!["read:things".into()]),
            ..Default::default()
        },
        ClientGrantUpdate {
            scope: Patch::Value(vec![]),
            organization_usage: Patch::Value("require".into()),
            allow_any_organization: Patch::Value(false),
        },
        ClientGrantUpdate {
            scope: Patch::Null,
            organization_usage: Patch::Null,
            allow_any_organization: Patch::Null,
        },
    ];
    for b in &bodies {
        assert_valid(RequestOp::UpdateClientGrant, &v(b));
    }
}

#[test]
fn negative_controls_are_rejected() {
    // Echoing a GET response back: read-only and unknown properties.
    let recorded: Value =
        serde_json::from_str(include_str!("data/auth0-bodies/client_create_minimal.json")).unwrap();
    assert_invalid(RequestOp::CreateClient, &recorded);
    assert_invalid(RequestOp::UpdateClient, &recorded);
    // client_secret is PATCH-only.
    let mut create = v(&ClientCreate::new("x"));
    create["client_secret"] = json!("s3cret");
    assert_invalid(RequestOp::CreateClient, &create);
    // resource_server_identifier is create-only.
    assert_invalid(
        RequestOp::UpdateClient,
        &json!({"resource_server_identifier": "https://api.example.com"}),
    );
    // name pattern and description length.
    assert_invalid(RequestOp::CreateClient, &v(&ClientCreate::new("<script>")));
    assert_invalid(
        RequestOp::CreateClient,
        &v(&ClientCreate {
            description: Some("d".repeat(141)),
            ..ClientCreate::new("x")
        }),
    );
    // refresh_token without its required fields.
    assert_invalid(
        RequestOp::CreateClient,
        &json!({"name": "x", "refresh_token": {"leeway": 0}}),
    );
    // Non-nullable fields cannot be null on create.
    assert_invalid(
        RequestOp::CreateClient,
        &json!({"name": "x", "organization_usage": null}),
    );
    // Grant PATCH: empty and immutable fields.
    assert_invalid(
        RequestOp::UpdateClientGrant,
        &v(&ClientGrantUpdate::default()),
    );
    assert_invalid(
        RequestOp::UpdateClientGrant,
        &json!({"audience": "https://api.example.com", "client_id": "c"}),
    );
    // Grant POST without audience.
    assert_invalid(RequestOp::CreateClientGrant, &json!({"client_id": "c"}));
}

fn patch_of<T: Clone + std::fmt::Debug + 'static>(
    values: Vec<T>,
) -> impl Strategy<Value = Patch<T>> {
    prop_oneof![
        Just(Patch::Absent),
        Just(Patch::Null),
        prop::sample::select(values).prop_map(Patch::Value),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Any mix of absent / null / value PATCH fields is schema-valid.
    #[test]
    fn any_client_update_mix_is_valid(
        tam in patch_of(vec!["none".to_owned(), "client_secret_post".to_owned(), "client_secret_basic".to_owned()]),
        rt in patch_of(vec![refresh()]),
        ou in patch_of(vec!["deny".to_owned(), "allow".to_owned(), "require".to_owned()]),
        orb in patch_of(vec!["no_prompt".to_owned(), "pre_login_prompt".to_owned(), "post_login_prompt".to_owned()]),
        col in patch_of(vec!["https://app.example.com/co".to_owned()]),
        name in proptest::option::of("[a-zA-Z0-9 ._-]{1,30}"),
        md in proptest::option::of(prop::collection::btree_map("[a-z][a-z0-9_-]{0,10}", proptest::option::of("[ -~]{0,30}"), 0..10)),
    ) {
        let u = ClientUpdate {
            name,
            token_endpoint_auth_method: tam,
            refresh_token: rt,
            organization_usage: ou,
            organization_require_behavior: orb,
            cross_origin_loc: col,
            client_metadata: md,
            ..Default::default()
        };
        let body = v(&u);
        prop_assert_eq!(validate_request(RequestOp::UpdateClient, &body).is_ok(), !u.is_empty(), "{}", body);
    }

    #[test]
    fn any_nonempty_grant_update_is_valid(
        scope in patch_of(vec![vec![], vec!["read:a".to_owned()], vec!["read:a".to_owned(), "write:b".to_owned()]]),
        ou in patch_of(vec!["deny".to_owned(), "allow".to_owned(), "require".to_owned()]),
        any_org in patch_of(vec![true, false]),
    ) {
        let u = ClientGrantUpdate { scope, organization_usage: ou, allow_any_organization: any_org };
        let body = v(&u);
        prop_assert_eq!(validate_request(RequestOp::UpdateClientGrant, &body).is_ok(), !u.is_empty(), "{}", body);
    }
}

/// Every resource-server body Auth0 accepted in the recordings validates, and the same
/// bodies with an unknown property do not.
#[test]
fn recorded_resource_server_bodies_validate() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/recordings");
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let doc: Value =
            serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap();
        for it in doc["interactions"].as_array().unwrap() {
            let path = it["path"].as_str().unwrap();
            let ok = (200..300).contains(&it["status"].as_u64().unwrap());
            let op = match (it["method"].as_str().unwrap(), path) {
                ("POST", "/api/v2/resource-servers") => RequestOp::CreateResourceServer,
                ("PATCH", p) if p.starts_with("/api/v2/resource-servers/") => {
                    RequestOp::UpdateResourceServer
                }
                _ => continue,
            };
            assert!(ok);
            let body = &it["request_body"];
            assert_valid(op, body);
            let mut bad = body.clone();
            bad["identifier_typo"] = json!("x");
            assert_invalid(op, &bad);
            n += 1;
        }
    }
    assert_eq!(n, 59, "recorded POST/PATCH /resource-servers bodies");
    assert_invalid(
        RequestOp::UpdateResourceServer,
        &json!({"identifier": "https://x/"}),
    );
    assert_invalid(
        RequestOp::CreateResourceServer,
        &json!({"name": "no identifier"}),
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input at the spec door: any spec the CRD schema accepts either reaches Auth0 with a body
// the official request schema accepts, or stops at the operator's own validation (Ready=False
// InvalidSpec with a sentence) — never a request Auth0 would refuse with a 400, again and again.
// ---------------------------------------------------------------------------------------------

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ -~]{0,30}",
        "[a-z]{1,10}",
        "<script>[a-z]{0,5}",
        "[ -~]{130,300}",
        "https://[a-z]{1,8}\\.example\\.com/[a-z]{0,8}",
        "http://[a-z]{1,8}:[0-9]{1,5}",
        "\\PC{0,20}",
    ]
}

fn set() -> impl Strategy<Value = Option<Vec<String>>> {
    proptest::option::of(prop::collection::vec(text(), 0..4))
}

prop_compose! {
    fn client_spec()(
        name in text().prop_filter("the schema's length and pattern", |n| !n.is_empty() && n.chars().count() <= 255 && !n.contains(['<', '>'])),
        description in proptest::option::of(text()),
        app_type in proptest::option::of(prop::sample::select(vec!["native", "spa", "regular_web", "non_interactive"])),
        callbacks in set(), logout in set(), origins in set(), web in set(), clients in set(),
        grants in proptest::option::of(prop::collection::vec(prop::sample::select(vec![
            "authorization_code", "implicit", "refresh_token", "client_credentials", "password",
            "urn:ietf:params:oauth:grant-type:device_code"]), 0..4)),
        tem in proptest::option::of(prop::sample::select(vec!["none", "client_secret_post", "client_secret_basic"])),
        flags in prop::collection::vec(proptest::option::of(any::<bool>()), 8),
        lifetime in proptest::option::of(1i64..2592000),
        alg in proptest::option::of(prop::sample::select(vec!["HS256", "RS256", "RS512", "PS256"])),
        metadata in proptest::option::of(prop::collection::btree_map("\\PC{1,12}", "\\PC{0,20}", 0..10)),
        logo in proptest::option::of(text()),
        login in proptest::option::of(text()),
        col in proptest::option::of(text()),
        org in proptest::option::of(prop::sample::select(vec!["deny", "allow", "require"])),
        orb in proptest::option::of(prop::sample::select(vec!["no_prompt", "pre_login_prompt", "post_login_prompt"])),
        refresh in proptest::option::of((prop::sample::select(vec!["rotating", "non-rotating"]), prop::sample::select(vec!["expiring", "non-expiring"]), proptest::option::of(0i64..100), proptest::option::of(1i64..157788000))),
    ) -> Value {
        let mut s = json!({"name": name});
        let mut put = |k: &str, v: Option<Value>| { if let Some(v) = v { s[k] = v; } };
        put("description", description.map(Value::from));
        put("appType", app_type.map(Value::from));
        put("callbacks", callbacks.map(Value::from));
        put("allowedLogoutUrls", logout.map(Value::from));
        put("allowedOrigins", origins.map(Value::from));
        put("webOrigins", web.map(Value::from));
        put("allowedClients", clients.map(Value::from));
        put("grantTypes", grants.map(Value::from));
        put("tokenEndpointAuthMethod", tem.map(Value::from));
        for (k, f) in ["isFirstParty", "oidcConformant", "crossOriginAuthentication", "sso", "ssoDisabled", "customLoginPageOn", "requirePushedAuthorizationRequests"].iter().zip(&flags) {
            put(k, f.map(Value::from));
        }
        if lifetime.is_some() || alg.is_some() || flags[7].is_some() {
            let mut j = json!({});
            if let Some(l) = lifetime { j["lifetimeInSeconds"] = json!(l); }
            if let Some(a) = alg { j["alg"] = json!(a); }
            if let Some(e) = flags[7] { j["secretEncoded"] = json!(e); }
            put("jwtConfiguration", Some(j));
        }
        put("clientMetadata", metadata.map(|m| json!(m)));
        put("logoUri", logo.map(Value::from));
        put("initiateLoginUri", login.map(Value::from));
        put("crossOriginLoc", col.map(Value::from));
        put("organizationUsage", org.map(Value::from));
        put("organizationRequireBehavior", orb.map(Value::from));
        put("refreshToken", refresh.map(|(r, e, l, t)| {
            let mut v = json!({"rotationType": r, "expirationType": e});
            if let Some(l) = l { v["leeway"] = json!(l); }
            if let Some(t) = t { v["tokenLifetime"] = json!(t); }
            v
        }));
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_client_spec_reaches_auth0_valid_or_stops_with_a_reason(spec in client_spec()) {
        use auth0_operator::crd::Auth0ClientSpec;
        let typed: Auth0ClientSpec = serde_json::from_value(spec.clone()).expect("the spec deserializes");
        match auth0_operator::controller::client::spec::validate_client_spec(&typed) {
            Err(why) => prop_assert!(!why.is_empty()),
            Ok(()) => {
                let tags = BTreeMap::from([("k8s_operator_uid".to_string(), "u".to_string())]);
                let create = v(&auth0_operator::controller::client::spec::client_create(&typed, tags.clone()));
                let verdict = validate_request(RequestOp::CreateClient, &create);
                prop_assert!(verdict.is_ok(), "create body refused by the OAS: {:?}\n{}", verdict, create);
                let observed = auth0_operator::auth0::Client { client_id: "c".into(), name: "other".into(), ..Default::default() };
                let update = auth0_operator::controller::client::spec::client_update(&typed, &tags, &observed);
                let body = v(&update);
                let verdict = validate_request(RequestOp::UpdateClient, &body);
                prop_assert!(verdict.is_ok(), "PATCH body refused by the OAS: {:?}\n{}", verdict, body);
            }
        }
    }
}

prop_compose! {
    fn resource_server_spec()(
        identifier in prop_oneof!["https://[a-z]{1,8}\\.example\\.com/[a-z]{0,8}", "[ -~]{1,40}", "\\PC{1,20}"],
        name in proptest::option::of(text()),
        scopes in proptest::option::of(prop::collection::vec((text(), proptest::option::of(text())), 0..5)),
        alg in proptest::option::of(prop::sample::select(vec!["HS256", "RS256", "PS256"])),
        lifetimes in (proptest::option::of(0i64..3_000_000), proptest::option::of(0i64..3_000_000)),
        flags in prop::collection::vec(proptest::option::of(any::<bool>()), 3),
        dialect in proptest::option::of(prop::sample::select(vec!["access_token", "access_token_authz", "rfc9068_profile", "rfc9068_profile_authz"])),
    ) -> Value {
        let mut s = json!({"identifier": identifier});
        let mut put = |k: &str, v: Option<Value>| { if let Some(v) = v { s[k] = v; } };
        put("name", name.map(Value::from));
        put("scopes", scopes.map(|sc| Value::from(sc.into_iter().map(|(v, d)| {
            let mut o = json!({"value": v});
            if let Some(d) = d { o["description"] = json!(d); }
            o
        }).collect::<Vec<_>>())));
        put("signingAlg", alg.map(Value::from));
        put("tokenLifetime", lifetimes.0.map(Value::from));
        put("tokenLifetimeForWeb", lifetimes.1.map(Value::from));
        for (k, f) in ["allowOfflineAccess", "skipConsentForVerifiableFirstPartyClients", "enforcePolicies"].iter().zip(&flags) {
            put(k, f.map(Value::from));
        }
        put("tokenDialect", dialect.map(Value::from));
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_api_spec_reaches_auth0_valid_or_stops_with_a_reason(spec in resource_server_spec()) {
        use auth0_operator::crd::Auth0ResourceServerSpec;
        // What the CRD schema refuses never reaches the operator.
        let Ok(typed) = serde_json::from_value::<Auth0ResourceServerSpec>(spec.clone()) else {
            return Ok(());
        };
        if schema_refuses_api(&spec) {
            return Ok(());
        }
        match auth0_operator::controller::resource_server::spec::validate_resource_server_spec(&typed, None) {
            Err(why) => prop_assert!(!why.is_empty()),
            Ok(()) => {
                let create = v(&auth0_operator::controller::resource_server::spec::resource_server_create(&typed));
                let verdict = validate_request(RequestOp::CreateResourceServer, &create);
                prop_assert!(verdict.is_ok(), "create body refused by the OAS: {:?}\n{}", verdict, create);
                let observed = auth0_operator::auth0::ResourceServer { id: "rs".into(), identifier: typed.identifier.clone(), ..Default::default() };
                let update = auth0_operator::controller::resource_server::spec::resource_server_update(&typed, &observed);
                if !update.is_empty() {
                    let body = v(&update);
                    let verdict = validate_request(RequestOp::UpdateResourceServer, &body);
                    prop_assert!(verdict.is_ok(), "PATCH body refused by the OAS: {:?}\n{}", verdict, body);
                }
            }
        }
    }
}

/// The CRD schema's own limits on an API spec (lengths, ranges, patterns), checked by the API
/// server at apply time.
fn schema_refuses_api(spec: &Value) -> bool {
    let crd = auth0_operator::controller::kinds::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == "Auth0ResourceServer")
        .unwrap();
    let schema = serde_json::to_value(
        &crd.spec.versions[0]
            .schema
            .as_ref()
            .unwrap()
            .open_api_v3_schema,
    )
    .unwrap();
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .build(&schema["properties"]["spec"])
        .unwrap();
    !validator.is_valid(spec)
}

/// The property above is not vacuous: the CRD schema check passes a good spec (which then
/// reaches the OAS check) and refuses a bad one.
#[test]
fn the_api_schema_check_discriminates() {
    let good = json!({"identifier": "https://orders.example.com/api", "name": "Orders",
                      "scopes": [{"value": "read:orders"}], "tokenLifetime": 3600});
    assert!(!schema_refuses_api(&good));
    let bad = json!({"identifier": "https://orders.example.com/api", "signingAlg": "none"});
    assert!(schema_refuses_api(&bad));
}

prop_compose! {
    fn grant_spec()(
        client in prop_oneof!["[A-Za-z0-9_-]{1,64}".prop_map(|c| json!({"clientId": c})), Just(json!({"clientRef": {"name": "web"}}))],
        audience in prop_oneof!["https://[a-z]{1,8}\\.example\\.com/[a-z]{0,8}", "[ -~]{1,60}", "\\PC{1,20}"],
        scopes in prop::collection::vec(prop_oneof!["[a-z]{1,8}:[a-z]{1,8}", "\\PC{1,30}", "[ -~]{1,280}"], 0..6),
        org in proptest::option::of(prop::sample::select(vec!["deny", "allow", "require"])),
        any_org in proptest::option::of(any::<bool>()),
    ) -> Value {
        let mut s = client;
        s["audience"] = json!(audience);
        s["scopes"] = json!(scopes);
        if let Some(o) = org { s["organizationUsage"] = json!(o); }
        if let Some(a) = any_org { s["allowAnyOrganization"] = json!(a); }
        s
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_grant_spec_reaches_auth0_valid_or_stops_with_a_reason(spec in grant_spec()) {
        use auth0_operator::{auth0::ClientGrant, crd::Auth0ClientGrantSpec};
        let typed: Auth0ClientGrantSpec = serde_json::from_value(spec.clone()).expect("the spec deserializes");
        match auth0_operator::controller::grant::spec::validate_grant_spec(&typed, None) {
            Err(why) => prop_assert!(!why.is_empty()),
            Ok(()) => {
                let audience = typed.audience.clone().unwrap_or_default();
                let create = v(&auth0_operator::controller::grant::spec::grant_create(&typed, "client-id", &audience));
                let verdict = validate_request(RequestOp::CreateClientGrant, &create);
                prop_assert!(verdict.is_ok(), "create body refused by the OAS: {:?}\n{}", verdict, create);
                let observed = ClientGrant { id: "cgr_1".into(), client_id: Some("client-id".into()), audience, ..Default::default() };
                let update = auth0_operator::controller::grant::spec::grant_update(&typed, &observed);
                if !update.is_empty() {
                    let body = v(&update);
                    let verdict = validate_request(RequestOp::UpdateClientGrant, &body);
                    prop_assert!(verdict.is_ok(), "PATCH body refused by the OAS: {:?}\n{}", verdict, body);
                }
            }
        }
    }
}
