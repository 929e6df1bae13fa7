//! Every CEL rule of every CRD, proven where it is enforced: one violating object per rule.
//!
//! - On an API server that runs CEL (1.25 and later), the object is refused with 422, and the
//!   refusal names the rule's field path and carries the rule's own message (the only cause).
//! - On an older one (the oldest supported, 1.20, drops the rules), the object is stored, and
//!   the operator refuses it: `Ready=False`, reason `InvalidSpec`, a message that contains the
//!   rule's message.
//!
//! The table and the CRDs cannot drift apart: [`every_rule_has_exactly_one_case`] fails for a
//! rule without a case (or a case without a rule), and [`each_case_breaks_its_rule_and_no_other`]
//! checks each case with kube's CEL evaluator, without a cluster.
//!
//! Needs `KUBEBUILDER_ASSETS` for [`every_rule_is_enforced_by_the_server_or_the_operator`]; skips
//! loudly without it, and fails when `CI=true`.

mod common;

use std::{collections::BTreeSet, time::Duration};

use auth0_operator::crd::{
    Auth0Client, Auth0ClientGrant, Auth0ResourceServer, Auth0Tenant, ClusterAuth0Tenant,
};
use common::*;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, CustomResourceExt,
    api::{ApiResource, DynamicObject, Patch, PatchParams, PostParams},
    core::GroupVersionKind,
};
use serde_json::{Value, json};

/// One CEL rule and an object that breaks it.
struct Case {
    /// The CRD's kind.
    kind: &'static str,
    /// Where the rule sits, as the API server reports it (`spec`, `spec.rotation`, …).
    path: &'static str,
    /// The rule's message, exactly.
    message: &'static str,
    /// For a transition rule: a spec the rules accept, which [`Case::spec`] then replaces.
    before: Option<Value>,
    /// The spec that breaks the rule (and no other).
    spec: Value,
}

/// The API of the `Auth0ResourceServer` named `api` in the cases.
const RS_IDENTIFIER: &str = "https://rs.cel.example.com/api";

/// The audience of grant case `n` (each grant case has an API of its own, so no two cases
/// share a grant).
fn aud(n: usize) -> String {
    format!("https://cel{n}.example.com/api")
}

/// A client id for `@app` where no application is made (the API server's checks).
const PLACEHOLDER_CLIENT_ID: &str = "placeholderClientId";

/// Replaces `@app` in string values with the client id of the Auth0Client `app`.
fn fill(v: &Value, app_client_id: &str) -> Value {
    match v {
        Value::String(s) if s == "@app" => Value::String(app_client_id.to_string()),
        Value::Array(a) => Value::Array(a.iter().map(|x| fill(x, app_client_id)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), fill(x, app_client_id)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn tenant_spec(domain: &str, base_url: &str, cluster: bool) -> Value {
    let mut secret = json!({"name": "mgmt"});
    if cluster {
        secret["namespace"] = json!("default");
    }
    json!({"domain": domain, "baseUrl": base_url, "credentialsSecretRef": secret})
}

/// The table: one case per CEL rule. `base_url` is the simulator's (tenant cases).
fn cases(base_url: &str) -> Vec<Case> {
    let name = "cel";
    let grant = |n: usize, extra: Value| {
        let mut s = json!({"clientRef": {"name": "app"}, "audience": aud(n)});
        s.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        s
    };
    vec![
        // ---------------------------------------------------------------- Auth0Client
        Case {
            kind: "Auth0Client",
            path: "spec",
            message: "clientId is immutable: it can only be set when the resource is created",
            before: Some(json!({"name": name})),
            spec: json!({"name": name, "clientId": "someOtherClient"}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec",
            message: "clientMetadata keys starting with k8s_operator_ are reserved for the operator",
            before: None,
            spec: json!({"name": name, "clientMetadata": {"k8s_operator_uid": "x"}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec",
            message: "tokenEndpointAuthMethod none (a public application) cannot use the client_credentials grant",
            before: None,
            spec: json!({"name": name, "tokenEndpointAuthMethod": "none", "grantTypes": ["client_credentials"]}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec",
            message: "tenantRef is immutable",
            before: Some(json!({"name": name})),
            spec: json!({"name": name, "tenantRef": {"name": "elsewhere"}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec",
            message: "tokenEndpointAuthMethod cannot be set with authentication.method privateKeyJwt (Auth0 keeps the two apart)",
            before: None,
            spec: json!({"name": name, "authentication": {"method": "privateKeyJwt"}, "tokenEndpointAuthMethod": "client_secret_post"}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec",
            message: "rotation.strategy is for the clientSecret method only: private-key JWT rotations always overlap",
            before: None,
            spec: json!({"name": name, "authentication": {"method": "privateKeyJwt"}, "rotation": {"strategy": "Immediate"}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec",
            message: "secretTemplate.data may use $(clientSecret) only with authentication.method clientSecret, and $(privateKey), $(keyId) and $(algorithm) only with privateKeyJwt",
            before: None,
            spec: json!({"name": name, "secretTemplate": {"data": {"KEY": "$(privateKey)"}}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec",
            message: "managementPolicy Observe cannot rotate credentials or register keys: remove rotation and authentication.method privateKeyJwt, or use Manage",
            before: None,
            spec: json!({"name": name, "managementPolicy": "Observe", "rotation": {"every": "720h"}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec.authentication",
            message: "authentication.algorithm is for the privateKeyJwt method only",
            before: None,
            spec: json!({"name": name, "authentication": {"method": "clientSecret", "algorithm": "RS384"}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec.rotation",
            message: "rotation.every must be at least 1h",
            before: None,
            spec: json!({"name": name, "rotation": {"every": "30m", "overlap": "10m"}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec.rotation",
            message: "rotation.overlap must be shorter than rotation.every",
            before: None,
            spec: json!({"name": name, "rotation": {"every": "2h", "overlap": "3h"}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec.secretTemplate.data",
            message: "secretTemplate.data keys must consist of letters, digits, '-', '_' or '.'",
            before: None,
            spec: json!({"name": name, "secretTemplate": {"data": {"CLIENT ID": "$(clientId)"}}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec.secretTemplate.data",
            message: "secretTemplate.data may only use the variables $(clientId), $(clientSecret), $(privateKey), $(keyId), $(algorithm), $(domain), $(issuer), $(tokenEndpoint), $(jwksUri) and $(json) ($$ escapes a $)",
            before: None,
            spec: json!({"name": name, "secretTemplate": {"data": {"ID": "$(clientID)"}}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec.secretTemplate.metadata",
            message: "secretTemplate.metadata.labels cannot set app.kubernetes.io/managed-by or keys under auth0.operator.dev/ (the operator's own)",
            before: None,
            spec: json!({"name": name, "secretTemplate": {"metadata": {"labels": {"app.kubernetes.io/managed-by": "me"}}}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec.secretTemplate.metadata",
            message: "secretTemplate.metadata.annotations cannot set keys under auth0.operator.dev/ (the operator's own)",
            before: None,
            spec: json!({"name": name, "secretTemplate": {"metadata": {"annotations": {"auth0.operator.dev/rotate": "now"}}}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec.secretTemplate.metadata",
            message: "secretTemplate.metadata.annotations cannot set keys under kubernetes.io/ or k8s.io/ (Kubernetes acts on them)",
            before: None,
            spec: json!({"name": name, "secretTemplate": {"metadata": {"annotations": {"kubernetes.io/service-account.name": "default"}}}}),
        },
        Case {
            kind: "Auth0Client",
            path: "spec.secretTemplate.type",
            message: "secretTemplate.type must be Opaque or a type outside kubernetes.io/ and k8s.io/ (a Kubernetes type such as kubernetes.io/service-account-token makes the cluster act on the Secret)",
            before: None,
            spec: json!({"name": name, "secretTemplate": {"type": "kubernetes.io/service-account-token"}}),
        },
        // ---------------------------------------------------------------- Auth0ClientGrant
        Case {
            kind: "Auth0ClientGrant",
            path: "spec",
            message: "exactly one of clientRef and clientId must be set",
            before: None,
            spec: grant(0, json!({"clientId": "@app"})),
        },
        Case {
            kind: "Auth0ClientGrant",
            path: "spec",
            message: "clientId is immutable",
            before: Some(json!({"clientId": "@app", "audience": aud(1)})),
            spec: json!({"clientId": "someOtherClient", "audience": aud(1)}),
        },
        Case {
            kind: "Auth0ClientGrant",
            path: "spec",
            message: "clientRef is immutable",
            before: Some(grant(2, json!({}))),
            spec: json!({"clientRef": {"name": "other-app"}, "audience": aud(2)}),
        },
        Case {
            kind: "Auth0ClientGrant",
            path: "spec",
            message: "exactly one of audience and resourceServerRef must be set",
            before: None,
            spec: grant(3, json!({"resourceServerRef": {"name": "api"}})),
        },
        Case {
            kind: "Auth0ClientGrant",
            path: "spec",
            message: "audience is immutable",
            before: Some(grant(4, json!({}))),
            spec: grant(5, json!({})),
        },
        Case {
            kind: "Auth0ClientGrant",
            path: "spec",
            message: "resourceServerRef is immutable",
            before: Some(
                json!({"clientRef": {"name": "app"}, "resourceServerRef": {"name": "api"}}),
            ),
            spec: json!({"clientRef": {"name": "app"}, "resourceServerRef": {"name": "other-api"}}),
        },
        Case {
            kind: "Auth0ClientGrant",
            path: "spec",
            message: "tenantRef is immutable",
            before: Some(grant(6, json!({}))),
            spec: grant(6, json!({"tenantRef": {"name": "elsewhere"}})),
        },
        Case {
            kind: "Auth0ClientGrant",
            path: "spec",
            message: "grantId is immutable: it can only be set when the resource is created",
            before: Some(grant(7, json!({}))),
            spec: grant(7, json!({"grantId": "cgr_someOtherGrant"})),
        },
        // ---------------------------------------------------------------- Auth0ResourceServer
        Case {
            kind: "Auth0ResourceServer",
            path: "spec",
            message: "tenantRef is immutable",
            before: Some(json!({"identifier": "https://tenantref.cel.example.com"})),
            spec: json!({"identifier": "https://tenantref.cel.example.com", "tenantRef": {"name": "elsewhere"}}),
        },
        Case {
            kind: "Auth0ResourceServer",
            path: "spec.identifier",
            message: "identifier is immutable",
            before: Some(json!({"identifier": "https://identifier.cel.example.com"})),
            spec: json!({"identifier": "https://other.cel.example.com"}),
        },
        // ---------------------------------------------------------------- tenants
        Case {
            kind: "Auth0Tenant",
            path: "spec.domain",
            message: "domain is immutable",
            before: Some(tenant_spec(DOMAIN, base_url, false)),
            spec: tenant_spec("other.auth0.test", base_url, false),
        },
        Case {
            kind: "ClusterAuth0Tenant",
            path: "spec.domain",
            message: "domain is immutable",
            before: Some(tenant_spec(DOMAIN, base_url, true)),
            spec: tenant_spec("other.auth0.test", base_url, true),
        },
    ]
}

/// Every `x-kubernetes-validations` rule of the CRDs: (kind, path, message).
fn rules() -> Vec<(String, String, String)> {
    fn walk(kind: &str, path: &str, schema: &Value, out: &mut Vec<(String, String, String)>) {
        for rule in schema["x-kubernetes-validations"]
            .as_array()
            .into_iter()
            .flatten()
        {
            out.push((
                kind.to_string(),
                path.to_string(),
                rule["message"]
                    .as_str()
                    .unwrap_or_else(|| {
                        panic!("{kind} {path}: a CEL rule without a message: {rule}")
                    })
                    .to_string(),
            ));
        }
        if let Some(props) = schema["properties"].as_object() {
            for (k, v) in props {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(kind, &p, v, out);
            }
        }
        if schema["items"].is_object() {
            walk(kind, &format!("{path}[*]"), &schema["items"], out);
        }
        if schema["additionalProperties"].is_object() {
            walk(
                kind,
                &format!("{path}[*]"),
                &schema["additionalProperties"],
                out,
            );
        }
    }
    let mut out = Vec::new();
    for crd in auth0_operator::controller::kinds::crds() {
        let schema = serde_json::to_value(
            crd.spec.versions[0]
                .schema
                .as_ref()
                .and_then(|s| s.open_api_v3_schema.as_ref())
                .expect("a schema"),
        )
        .unwrap();
        walk(&crd.spec.names.kind, "", &schema, &mut out);
    }
    out
}

#[test]
fn every_rule_has_exactly_one_case() {
    let rules = rules();
    let mut seen = BTreeSet::new();
    for r in &rules {
        assert!(
            seen.insert(r.clone()),
            "two CEL rules of {} at {} share the message {:?}: give each its own sentence",
            r.0,
            r.1,
            r.2
        );
    }
    let table: Vec<(String, String, String)> = cases("http://127.0.0.1:1")
        .iter()
        .map(|c| (c.kind.into(), c.path.into(), c.message.into()))
        .collect();
    let mut cased = BTreeSet::new();
    for c in &table {
        assert!(cased.insert(c.clone()), "two cases for one rule: {c:?}");
    }
    let without_case: Vec<_> = seen.difference(&cased).collect();
    let without_rule: Vec<_> = cased.difference(&seen).collect();
    assert!(
        without_case.is_empty() && without_rule.is_empty(),
        "the table of tests/cel_rules.rs and the CRDs' CEL rules differ.\nrules without a case: {without_case:#?}\ncases without a rule: {without_rule:#?}"
    );
    assert_eq!(rules.len(), 29, "the CRDs' CEL rules, counted");
}

/// The CEL errors (messages) kube's evaluator reports for `spec` of `kind` (after `before`).
fn cel_messages(kind: &str, before: Option<&Value>, spec: &Value) -> Vec<String> {
    fn run<K>(kind: &str, before: Option<&Value>, spec: &Value) -> Vec<String>
    where
        K: CustomResourceExt + serde::Serialize + serde::de::DeserializeOwned,
    {
        let obj = |spec: &Value| -> K {
            serde_json::from_value(json!({
                "apiVersion": "auth0.operator.dev/v1alpha1", "kind": kind,
                "metadata": {"name": "cel"}, "spec": spec
            }))
            .unwrap_or_else(|e| panic!("{kind} spec {spec} does not deserialize: {e}"))
        };
        let new = obj(spec);
        let result = match before {
            Some(b) => kube::core::cel::validate_cel_update(&new, &obj(b)),
            None => kube::core::cel::validate_cel(&new),
        };
        match result {
            Ok(()) => Vec::new(),
            Err(e) => e.iter().map(|e| e.to_string()).collect(),
        }
    }
    match kind {
        "Auth0Client" => run::<Auth0Client>(kind, before, spec),
        "Auth0ClientGrant" => run::<Auth0ClientGrant>(kind, before, spec),
        "Auth0ResourceServer" => run::<Auth0ResourceServer>(kind, before, spec),
        "Auth0Tenant" => run::<Auth0Tenant>(kind, before, spec),
        "ClusterAuth0Tenant" => run::<ClusterAuth0Tenant>(kind, before, spec),
        other => panic!("unknown kind {other}"),
    }
}

#[test]
fn each_case_breaks_its_rule_and_no_other() {
    for c in cases("http://127.0.0.1:1") {
        if let Some(before) = &c.before {
            assert_eq!(
                cel_messages(c.kind, None, before),
                Vec::<String>::new(),
                "{} / {:?}: the spec before the update must pass every rule",
                c.kind,
                c.message
            );
        }
        let errors = cel_messages(c.kind, c.before.as_ref(), &c.spec);
        assert!(
            errors.len() == 1 && errors[0].contains(c.message),
            "{} / {:?}: expected exactly this rule to fail, got {errors:#?}",
            c.kind,
            c.message
        );
    }
}

/// The API resource of `kind`, from the CRD table.
fn api_of(kube: &kube::Client, kind: &str) -> Api<DynamicObject> {
    let crd = auth0_operator::controller::kinds::crds()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap();
    let gvk = GroupVersionKind::gvk(&crd.spec.group, &crd.spec.versions[0].name, kind);
    let ar = ApiResource::from_gvk_with_plural(&gvk, &crd.spec.names.plural);
    if crd.spec.scope == "Namespaced" {
        Api::namespaced_with(kube.clone(), "default", &ar)
    } else {
        Api::all_with(kube.clone(), &ar)
    }
}

fn object(kind: &str, name: &str, spec: &Value) -> DynamicObject {
    serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": kind,
        "metadata": {"name": name}, "spec": spec
    }))
    .unwrap()
}

/// Sets the spec of `name` to `spec` (a full replacement, as `kubectl replace` does).
async fn replace_spec(
    api: &Api<DynamicObject>,
    name: &str,
    spec: &Value,
) -> Result<DynamicObject, kube::Error> {
    let mut current = api.get(name).await.expect("the object exists");
    current.data["spec"] = spec.clone();
    api.replace(name, &PostParams::default(), &current).await
}

/// The case's object name: kind initial + index (`c3`, `g17`, …).
fn name_of(i: usize, c: &Case) -> String {
    let prefix = match c.kind {
        "Auth0Client" => "c",
        "Auth0ClientGrant" => "g",
        "Auth0ResourceServer" => "rs",
        "Auth0Tenant" => "t",
        _ => "ct",
    };
    format!("{prefix}{i}")
}

const T: Duration = Duration::from_secs(60);

#[tokio::test]
async fn every_rule_is_enforced_by_the_server_or_the_operator() {
    let audiences: Vec<String> = (0..8).map(aud).collect();
    let audiences: Vec<&str> = audiences.iter().map(String::as_str).collect();
    let Some(w) = world(
        "every_rule_is_enforced_by_the_server_or_the_operator",
        &audiences,
    )
    .await
    else {
        return;
    };
    let server = w.kube.apiserver_version().await.expect("GET /version");
    let minor: u32 = server
        .minor
        .trim_end_matches('+')
        .parse()
        .expect("a numeric minor version");
    let cel = server.major == "1" && minor >= 25;
    eprintln!(
        "Kubernetes {}: CEL rules {}",
        server.git_version,
        if cel {
            "enforced by the API server (422 expected)"
        } else {
            "dropped by the API server (the operator's InvalidSpec expected)"
        }
    );
    let cases = cases(&w.sim.base_url());

    if cel {
        for (i, c) in cases.iter().enumerate() {
            let api = api_of(&w.kube, c.kind);
            let name = name_of(i, c);
            let result = match &c.before {
                Some(before) => {
                    api.create(
                        &PostParams::default(),
                        &object(c.kind, &name, &fill(before, PLACEHOLDER_CLIENT_ID)),
                    )
                    .await
                    .unwrap_or_else(|e| {
                        panic!(
                            "{} {name}: the spec before the update is refused: {e}",
                            c.kind
                        )
                    });
                    replace_spec(&api, &name, &fill(&c.spec, PLACEHOLDER_CLIENT_ID)).await
                }
                None => {
                    api.create(
                        &PostParams::default(),
                        &object(c.kind, &name, &fill(&c.spec, PLACEHOLDER_CLIENT_ID)),
                    )
                    .await
                }
            };
            let status = match result {
                Err(kube::Error::Api(s)) => s,
                other => panic!(
                    "{} {name}: expected the API server to refuse {:?} with 422, got {other:?}",
                    c.kind, c.message
                ),
            };
            assert_eq!(status.code, 422, "{} {name}: {status:?}", c.kind);
            let raw = serde_json::to_value(&status).unwrap();
            let causes = raw["details"]["causes"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let expected_tail = format!(": {}", c.message);
            assert!(
                causes.len() == 1
                    && causes[0]["field"] == c.path
                    && causes[0]["message"]
                        .as_str()
                        .is_some_and(|m| m.ends_with(&expected_tail)),
                "{} {name}: expected one cause at {} with the message {:?}, got {causes:#?}",
                c.kind,
                c.path,
                c.message
            );
        }
        w.env.stop().await;
        return;
    }

    // An API server without CEL: the operator refuses what the rules would have.
    let mut config = operator_config(&w.sim, Duration::from_secs(60));
    config.tenant_policy.allowed_domains = vec!["*.auth0.test".into()];
    config.tenant_policy.allow_base_url = true;
    let op = Operator::start(&w.kube, config);
    let mgmt: Secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mgmt"},
        "stringData": {"AUTH0_CLIENT_ID": MGMT_ID, "AUTH0_CLIENT_SECRET": MGMT_SECRET}
    }))
    .unwrap();
    Api::<Secret>::namespaced(w.kube.clone(), "default")
        .patch(
            "mgmt",
            &PatchParams::apply("test").force(),
            &Patch::Apply(&mgmt),
        )
        .await
        .unwrap();
    // What the grant cases refer to: the application `app` and the API `api`.
    let clients = api_of(&w.kube, "Auth0Client");
    clients
        .create(
            &PostParams::default(),
            &object("Auth0Client", "app", &json!({"name": "app"})),
        )
        .await
        .unwrap();
    let apis = api_of(&w.kube, "Auth0ResourceServer");
    apis.create(
        &PostParams::default(),
        &object(
            "Auth0ResourceServer",
            "api",
            &json!({"identifier": RS_IDENTIFIER}),
        ),
    )
    .await
    .unwrap();
    let app = wait_ready(&clients, "app", "True", "Synced", T).await;
    let app_id = app.data["status"]["clientId"]
        .as_str()
        .expect("app's client id")
        .to_string();
    wait_ready(&apis, "api", "True", "Synced", T).await;

    // Transition cases: their first spec is synced before it is changed.
    let ready_reason = |kind: &str| {
        if kind.ends_with("Tenant") {
            "Verified"
        } else {
            "Synced"
        }
    };
    for (i, c) in cases.iter().enumerate() {
        if let Some(before) = &c.before {
            api_of(&w.kube, c.kind)
                .create(
                    &PostParams::default(),
                    &object(c.kind, &name_of(i, c), &fill(before, &app_id)),
                )
                .await
                .unwrap_or_else(|e| panic!("{} {}: {e}", c.kind, name_of(i, c)));
        }
    }
    for (i, c) in cases.iter().enumerate() {
        if c.before.is_some() {
            wait_ready(
                &api_of(&w.kube, c.kind),
                &name_of(i, c),
                "True",
                ready_reason(c.kind),
                T,
            )
            .await;
        }
    }
    // From here on, nothing may reach Auth0: every spec below is refused before any write.
    let writes_before = auth0_writes(&w);
    for (i, c) in cases.iter().enumerate() {
        let api = api_of(&w.kube, c.kind);
        let name = name_of(i, c);
        let spec = fill(&c.spec, &app_id);
        match &c.before {
            Some(_) => replace_spec(&api, &name, &spec).await.map(|_| ()),
            None => api
                .create(&PostParams::default(), &object(c.kind, &name, &spec))
                .await
                .map(|_| ()),
        }
        .unwrap_or_else(|e| {
            panic!(
                "{} {name}: an API server without CEL stores the object: {e}",
                c.kind
            )
        });
    }
    for pass in ["refused", "still refused after another reconcile"] {
        for (i, c) in cases.iter().enumerate() {
            check_refused(&w, i, c, pass).await;
        }
        // Another reconcile of every object (an annotation wakes it): a refusal must not record
        // the refused spec as synced (it once did for a changed identifier, which the next pass
        // then took for the API's own).
        for (i, c) in cases.iter().enumerate() {
            api_of(&w.kube, c.kind)
                .patch(
                    &name_of(i, c),
                    &PatchParams::default(),
                    &Patch::Merge(json!({"metadata": {"annotations": {"test/poke": pass}}})),
                )
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert_eq!(
        auth0_writes(&w),
        writes_before,
        "a refused spec wrote to Auth0"
    );
    op.stop().await;
    w.env.stop().await;
}

/// The Management API writes (anything but GET) the simulator has answered.
fn auth0_writes(w: &World) -> Vec<String> {
    w.sim
        .requests()
        .iter()
        .filter(|r| r.path.starts_with("/api/v2") && r.method != "GET")
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

/// Case `i` is `Ready=False InvalidSpec`, with the rule's sentence in its message.
async fn check_refused(w: &World, i: usize, c: &Case, pass: &str) {
    {
        let api = api_of(&w.kube, c.kind);
        let name = name_of(i, c);
        let refused = wait_ready(&api, &name, "False", "InvalidSpec", T).await;
        let message = refused.data["status"]["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
            .and_then(|c| c["message"].as_str())
            .unwrap_or_default()
            .to_string();
        assert!(
            message.contains(c.message),
            "{} {name} ({pass}): the operator's InvalidSpec message must carry the rule's sentence {:?}; it says {message:?}",
            c.kind,
            c.message
        );
    }
}
