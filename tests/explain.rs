//! What `kubectl explain` shows for the CRDs comes from the OpenAPI documents the apiserver
//! publishes for them: every object field must be published with `type: object` and its nested
//! fields, in OpenAPI v2 (all releases; what kubectl reads from servers before 1.24) and in v3
//! (1.24+). A field marked `nullable` loses both in v2, so the generated CRDs carry no `nullable`
//! (see `tidy` in src/crd/mod.rs); a `null` a user writes is pruned by the apiserver instead.
//!
//! Needs `KUBEBUILDER_ASSETS` (`export KUBEBUILDER_ASSETS="$(scripts/envtest-assets.sh)"`); skips
//! loudly without it (and fails when `CI=true`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use auth0_operator::envtest::{TestEnv, start_or_skip};
use kube::api::{Api, DynamicObject, GroupVersionKind, Patch, PatchParams, PostParams};
use kube::discovery::ApiResource;
use serde_json::{Value, json};

/// The OpenAPI definition name of the `Auth0Client` schema (reversed group, version, kind).
const CLIENT_DEF: &str = "dev.operator.auth0.v1alpha1.Auth0Client";
const GRANT_DEF: &str = "dev.operator.auth0.v1alpha1.Auth0ClientGrant";
const API_DEF: &str = "dev.operator.auth0.v1alpha1.Auth0ResourceServer";

/// `GET path`: the HTTP status and the body (error answers are not always a JSON `Status`).
async fn get(client: &kube::Client, path: &str) -> (http::StatusCode, String) {
    let req = http::Request::get(path)
        .body(kube::client::Body::empty())
        .expect("request");
    let res = client
        .send(req)
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let status = res.status();
    let body = res
        .into_body()
        .collect_bytes()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: reading the body: {e}"));
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get_json(client: &kube::Client, path: &str) -> Value {
    let (status, body) = get(client, path).await;
    assert!(status.is_success(), "GET {path}: {status}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON: {e}"))
}

/// Asserts that the object fields of a published `Auth0Client` / `Auth0ClientGrant` /
/// `Auth0ResourceServer` definition carry `type: object` and their nested fields. `doc` names
/// the document in messages.
fn assert_objects_are_typed(doc: &str, client: &Value, grant: &Value, api: &Value) {
    let at = |def: &Value, path: &[&str]| -> Value {
        let mut node = def;
        for p in path {
            node = &node["properties"][p];
        }
        node.clone()
    };
    let cases: [(&Value, &[&str], &[&str]); 8] = [
        (
            client,
            &["spec", "refreshToken"],
            &["rotationType", "expirationType", "leeway", "tokenLifetime"],
        ),
        (
            client,
            &["spec", "jwtConfiguration"],
            &["lifetimeInSeconds", "alg", "secretEncoded"],
        ),
        (
            client,
            &["status"],
            &["observedGeneration", "conditions", "clientId", "secretName"],
        ),
        (grant, &["spec", "clientRef"], &["name"]),
        (grant, &["spec", "resourceServerRef"], &["name"]),
        (
            grant,
            &["status"],
            &[
                "observedGeneration",
                "conditions",
                "grantId",
                "clientId",
                "audience",
                "resourceServerRef",
            ],
        ),
        (
            api,
            &["spec"],
            &[
                "tenantRef",
                "identifier",
                "name",
                "scopes",
                "signingAlg",
                "tokenLifetime",
                "tokenLifetimeForWeb",
                "allowOfflineAccess",
                "skipConsentForVerifiableFirstPartyClients",
                "enforcePolicies",
                "tokenDialect",
                "deletionPolicy",
                "adopt",
            ],
        ),
        (
            api,
            &["status"],
            &[
                "observedGeneration",
                "conditions",
                "id",
                "identifier",
                "tenant",
            ],
        ),
    ];
    for (def, path, nested) in cases {
        let node = at(def, path);
        let name = path.join(".");
        assert_eq!(
            node["type"], "object",
            "{doc}: {name} is published without `type: object`: {node:#}"
        );
        for field in nested {
            assert!(
                node["properties"][field].is_object(),
                "{doc}: {name}.{field} is not published: {node:#}"
            );
        }
    }
    // Scalars keep their type too (a nullable one was published untyped as well).
    for (path, ty) in [
        (&["spec", "appType"][..], "string"),
        (&["spec", "callbacks"][..], "array"),
        (&["spec", "refreshToken", "leeway"][..], "integer"),
        (&["status", "conditions"][..], "array"),
    ] {
        assert_eq!(at(client, path)["type"], ty, "{doc}: {}", path.join("."));
    }
    // An API's scopes: a list of objects (value, description).
    let scopes = at(api, &["spec", "scopes"]);
    assert_eq!(scopes["type"], "array", "{doc}: spec.scopes: {scopes:#}");
    assert_eq!(
        scopes["items"]["type"], "object",
        "{doc}: spec.scopes items: {scopes:#}"
    );
    for field in ["value", "description"] {
        assert!(
            scopes["items"]["properties"][field].is_object(),
            "{doc}: spec.scopes[].{field} is not published: {scopes:#}"
        );
    }
    for (path, ty) in [
        (&["spec", "identifier"][..], "string"),
        (&["spec", "tokenLifetime"][..], "integer"),
        (&["spec", "adopt"][..], "boolean"),
    ] {
        assert_eq!(at(api, path)["type"], ty, "{doc}: {}", path.join("."));
    }
}

/// The definitions are all published in `defs` (a v2 `definitions` or v3 `components.schemas`).
fn all_published(defs: &Value) -> bool {
    [CLIENT_DEF, GRANT_DEF, API_DEF]
        .iter()
        .all(|d| defs[d].is_object())
}

/// The kubectl to run: the one of the envtest assets, else `kubectl` on PATH, else
/// /usr/bin/kubectl.
fn kubectl() -> Option<PathBuf> {
    let from_assets = TestEnv::assets_dir().map(|d| d.join("kubectl"));
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("kubectl"));
    from_assets
        .into_iter()
        .chain(on_path)
        .chain([PathBuf::from("/usr/bin/kubectl")])
        .find(|p| p.is_file())
}

fn run_kubectl(kubectl: &PathBuf, env: &TestEnv, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(kubectl)
        .arg("--kubeconfig")
        .arg(env.kubeconfig_path())
        .args(args)
        .output()
        .expect("kubectl runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn crd_object_fields_are_published_with_types() {
    let Some(env) = start_or_skip("crd_object_fields_are_published_with_types").await else {
        return;
    };
    let client = env.client();
    auth0_operator::install_crds(&client)
        .await
        .expect("CRDs installed and established");
    let version = client.apiserver_version().await.expect("GET /version");

    // OpenAPI v2: the CRD definitions appear a moment after the CRDs are established.
    let deadline = Instant::now() + Duration::from_secs(60);
    let v2 = loop {
        let doc = get_json(&client, "/openapi/v2").await;
        if all_published(&doc["definitions"]) {
            break doc;
        }
        assert!(
            Instant::now() < deadline,
            "{CLIENT_DEF} / {GRANT_DEF} / {API_DEF} not in /openapi/v2 after 60 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_objects_are_typed(
        "/openapi/v2",
        &v2["definitions"][CLIENT_DEF],
        &v2["definitions"][GRANT_DEF],
        &v2["definitions"][API_DEF],
    );

    // OpenAPI v3 (1.24+; a 404 before).
    let v3_path = "/openapi/v3/apis/auth0.operator.dev/v1alpha1";
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (status, body) = get(&client, v3_path).await;
        if status == http::StatusCode::NOT_FOUND {
            let (root, _) = get(&client, "/openapi/v3").await;
            if root == http::StatusCode::NOT_FOUND {
                eprintln!(
                    "no OpenAPI v3 on Kubernetes {} (before 1.24): checked v2 only",
                    version.git_version
                );
                break;
            }
            // v3 is served, the group version is not published yet.
        } else {
            assert!(status.is_success(), "GET {v3_path}: {status}: {body}");
            let doc: Value = serde_json::from_str(&body).expect("JSON");
            let schemas = &doc["components"]["schemas"];
            if all_published(schemas) {
                assert_objects_are_typed(
                    v3_path,
                    &schemas[CLIENT_DEF],
                    &schemas[GRANT_DEF],
                    &schemas[API_DEF],
                );
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{v3_path}: the CRD schemas did not appear within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // kubectl explain itself.
    let Some(kubectl) = kubectl() else {
        assert!(
            !std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")),
            "CI=true but no kubectl (KUBEBUILDER_ASSETS/kubectl, PATH, /usr/bin/kubectl)"
        );
        eprintln!("!!! no kubectl found: `kubectl explain` NOT checked (the OpenAPI checks ran)");
        env.stop().await;
        return;
    };
    // kubectl 1.27+ explains from OpenAPI v3 and falls back to v2 where the server has no v3
    // (before 1.24), as older kubectls always do: this checks whichever the server offers.
    let fields = "auth0client.spec.refreshToken";
    let (ok, text) = run_kubectl(&kubectl, &env, &["explain", fields]);
    assert!(ok, "kubectl explain {fields} failed:\n{text}");
    eprintln!("kubectl explain {fields}:\n{text}");
    assert!(
        text.contains("<Object>"),
        "kubectl explain {fields}:\n{text}"
    );
    assert!(!text.contains("<>"), "kubectl explain {fields}:\n{text}");
    for nested in ["rotationType", "expirationType", "tokenLifetime"] {
        assert!(
            text.contains(nested),
            "kubectl explain {fields} does not list {nested}:\n{text}"
        );
    }
    // The new kind, by its singular name; and the grant's alternative to `audience`.
    for (fields, nested) in [
        (
            "auth0resourceserver.spec",
            &[
                "identifier",
                "name",
                "scopes",
                "signingAlg",
                "tokenLifetime",
                "tokenLifetimeForWeb",
                "allowOfflineAccess",
                "skipConsentForVerifiableFirstPartyClients",
                "enforcePolicies",
                "tokenDialect",
                "deletionPolicy",
                "adopt",
                "tenantRef",
            ][..],
        ),
        (
            "auth0resourceserver.spec.scopes",
            &["value", "description"][..],
        ),
        ("auth0clientgrant.spec.resourceServerRef", &["name"][..]),
    ] {
        let (ok, text) = run_kubectl(&kubectl, &env, &["explain", fields]);
        assert!(ok, "kubectl explain {fields} failed:\n{text}");
        assert!(!text.contains("<>"), "kubectl explain {fields}:\n{text}");
        for n in nested {
            assert!(
                text.contains(n),
                "kubectl explain {fields} does not list {n}:\n{text}"
            );
        }
    }
    env.stop().await;
}

/// Without `nullable`, a `null` that a user writes for an optional field is pruned by the
/// apiserver before defaulting and validation: `refreshToken: null` on create or update (what
/// `kubectl create`, `kubectl replace` and client-side `kubectl apply` send) means "not set". (With
/// `nullable` the null was stored, and refused for enum fields such as `appType`, whose enum
/// cannot hold `null` on 1.20.)
///
/// Server-side apply does not prune: the apiserver refuses the null with a 422 naming each field
/// (`must be of type object`), and stores nothing. Seen the same on 1.20.2 and 1.32.6; with
/// `nullable` (not shipped) 1.32 accepted and stored the nulls, and `kubectl explain` on 1.20 lost
/// the fields (see the README, "Explicit nulls").
#[tokio::test]
async fn null_for_an_optional_field_is_pruned() {
    let Some(env) = start_or_skip("null_for_an_optional_field_is_pruned").await else {
        return;
    };
    let client = env.client();
    auth0_operator::install_crds(&client)
        .await
        .expect("CRDs installed and established");
    let ar = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("auth0.operator.dev", "v1alpha1", "Auth0Client"),
        "auth0clients",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), "default", &ar);
    let with_nulls = |name: &str| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
            "metadata": {"name": name},
            "spec": {"name": "Web", "refreshToken": null, "jwtConfiguration": null, "appType": null}
        }))
        .expect("valid object")
    };
    let assert_dropped = |what: &str, o: &DynamicObject| {
        let spec = o.data["spec"].as_object().expect("spec");
        for field in ["refreshToken", "jwtConfiguration", "appType"] {
            assert!(!spec.contains_key(field), "{what}: {field} kept: {spec:?}");
        }
        assert_eq!(spec["name"], "Web", "{what}");
    };

    // Create.
    let created = api
        .create(&PostParams::default(), &with_nulls("web"))
        .await
        .expect("nulls are accepted on create");
    assert_dropped("create response", &created);
    assert_dropped("stored after create", &api.get("web").await.expect("get"));

    // Update: set refreshToken, then replace the object with one where it is null.
    let mut set = api.get("web").await.expect("get");
    set.data["spec"]["refreshToken"] =
        json!({"rotationType": "rotating", "expirationType": "expiring", "leeway": 5});
    let set = api
        .replace("web", &PostParams::default(), &set)
        .await
        .expect("refreshToken set");
    assert_eq!(set.data["spec"]["refreshToken"]["leeway"], 5);
    let mut cleared = with_nulls("web");
    cleared.metadata.resource_version = set.metadata.resource_version.clone();
    let cleared = api
        .replace("web", &PostParams::default(), &cleared)
        .await
        .expect("nulls are accepted on update");
    assert_dropped("update response", &cleared);
    assert_dropped("stored after update", &api.get("web").await.expect("get"));

    // Server-side apply.
    let version = client.apiserver_version().await.expect("GET /version");
    let applied = api
        .patch(
            "applied",
            &PatchParams::apply("explain-test").force(),
            &Patch::Apply(with_nulls("applied")),
        )
        .await;
    match applied {
        Err(kube::Error::Api(s)) if s.code == 422 => {
            for field in ["spec.refreshToken", "spec.jwtConfiguration"] {
                assert!(
                    s.message
                        .contains(&format!("{field}: Invalid value: \"null\"")),
                    "the refusal names {field}: {s:?}"
                );
            }
            eprintln!(
                "server-side apply of explicit nulls refused by Kubernetes {}: {}",
                version.git_version, s.message
            );
            assert!(
                api.get_opt("applied").await.expect("get").is_none(),
                "nothing stored"
            );
        }
        other => panic!(
            "server-side apply of explicit nulls on Kubernetes {}: expected a 422 naming the fields, got {other:?}",
            version.git_version
        ),
    }
    env.stop().await;
}
