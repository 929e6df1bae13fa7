//! The committed CRD YAML under `crds/` must match the Rust types, and the CEL rules in the
//! schema must accept and reject what they promise (evaluated client-side: our test apiserver,
//! Kubernetes 1.20, predates CEL validation).

use auth0_operator::controller::kinds::crd_files;
use auth0_operator::crd::{Auth0Client, Auth0ClientGrant, Auth0ResourceServer};
use kube::CustomResourceExt;
use serde_json::{Value, json};

#[test]
fn committed_crds_match_the_rust_types() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("crds");
    let mut stale = Vec::new();
    for (file, expected) in crd_files() {
        let path = dir.join(file);
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != expected {
            stale.push(path.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "CRD YAML is out of date: {stale:?}\nregenerate with: cargo run -- generate"
    );
}

/// Every file generated from the CRD types and the table of kinds (`src/manifests.rs`: crds/,
/// the chart's crds/ and `templates/_kinds.tpl`, the Argo CD values and the ConfigMap of
/// docs/argocd.md) is what `auth0-operator generate` would write now.
#[test]
fn generated_files_are_in_sync() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = auth0_operator::manifests::files(root).expect("the sources are readable");
    let mut stale = Vec::new();
    for (file, expected) in &files {
        let committed = std::fs::read_to_string(root.join(file)).unwrap_or_default();
        if &committed != expected {
            stale.push(file.display().to_string());
        }
    }
    assert!(
        stale.is_empty(),
        "generated files are out of date: {stale:?}\nregenerate with: cargo run -- generate"
    );
    for needed in [
        auth0_operator::manifests::RBAC_TEMPLATE,
        auth0_operator::manifests::ARGOCD_VALUES,
        auth0_operator::manifests::ARGOCD_DOC,
    ] {
        assert!(
            files
                .iter()
                .any(|(f, _)| f.as_path() == std::path::Path::new(needed)),
            "{needed}"
        );
    }
}

#[test]
fn crd_names_and_columns() {
    let c = Auth0Client::crd();
    assert_eq!(
        c.metadata.name.as_deref(),
        Some("auth0clients.auth0.operator.dev")
    );
    assert_eq!(c.spec.names.short_names, Some(vec!["a0c".to_string()]));
    assert_eq!(c.spec.names.categories, Some(vec!["auth0".to_string()]));
    let cols: Vec<_> = c.spec.versions[0]
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        cols,
        [
            "Auth0 Name",
            "Client ID",
            "Ready",
            "Reason",
            "Secret",
            "Connections",
            "Age"
        ]
    );
    let g = Auth0ClientGrant::crd();
    assert_eq!(g.spec.names.short_names, Some(vec!["a0cg".to_string()]));
    assert_eq!(g.spec.scope, "Namespaced");
    // The grant's Audience is the one it resolved (spec.audience or its API's identifier).
    let audience = g.spec.versions[0]
        .additional_printer_columns
        .as_ref()
        .unwrap()
        .iter()
        .find(|c| c.name == "Audience")
        .expect("an Audience column");
    assert_eq!(audience.json_path, ".status.audience");
    let a = Auth0ResourceServer::crd();
    assert_eq!(
        a.metadata.name.as_deref(),
        Some("auth0resourceservers.auth0.operator.dev")
    );
    assert_eq!(
        a.spec.names.singular.as_deref(),
        Some("auth0resourceserver")
    );
    assert_eq!(a.spec.names.categories, Some(vec!["auth0".to_string()]));
    // What `kubectl get` shows without -o wide: the Ready reason of every kind is among it.
    let default_columns = |kind: &str| -> Vec<String> {
        let crd = auth0_operator::controller::kinds::crds()
            .into_iter()
            .find(|c| c.spec.names.kind == kind)
            .unwrap();
        crd.spec.versions[0]
            .additional_printer_columns
            .clone()
            .unwrap()
            .into_iter()
            .filter(|c| c.priority.unwrap_or(0) == 0)
            .map(|c| c.name)
            .collect()
    };
    assert_eq!(
        default_columns("Auth0ResourceServer"),
        ["Identifier", "ID", "Ready", "Reason", "Age"]
    );
    assert_eq!(
        default_columns("Auth0ClientGrant"),
        ["Client", "Audience", "Ready", "Reason", "Age"]
    );
    for crd in auth0_operator::controller::kinds::crds() {
        let default_cols: Vec<String> = crd.spec.versions[0]
            .additional_printer_columns
            .as_ref()
            .unwrap()
            .iter()
            .filter(|c| c.priority.unwrap_or(0) == 0)
            .map(|c| c.name.clone())
            .collect();
        for col in ["Ready", "Reason", "Age"] {
            assert!(
                default_cols.iter().any(|c| c == col),
                "{}: `kubectl get` hides {col}: {default_cols:?}",
                crd.spec.names.kind
            );
        }
    }
    let scoped: Vec<(String, String, Vec<String>)> = auth0_operator::controller::kinds::crds()
        .iter()
        .map(|c| {
            (
                c.spec.names.kind.clone(),
                c.spec.scope.clone(),
                c.spec.names.short_names.clone().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        scoped,
        vec![
            (
                "Auth0Client".into(),
                "Namespaced".into(),
                vec!["a0c".into()]
            ),
            (
                "Auth0ClientGrant".into(),
                "Namespaced".into(),
                vec!["a0cg".into()]
            ),
            (
                "Auth0ResourceServer".into(),
                "Namespaced".into(),
                vec!["a0api".into()]
            ),
            (
                "Auth0Tenant".into(),
                "Namespaced".into(),
                vec!["a0t".into()]
            ),
            (
                "ClusterAuth0Tenant".into(),
                "Cluster".into(),
                vec!["ca0t".into()]
            ),
        ]
    );
}

/// Every property in both schemas carries a description (that is what `kubectl explain` shows).
#[test]
fn every_field_is_documented() {
    fn walk(path: &str, schema: &Value, missing: &mut Vec<String>) {
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (name, sub) in props {
                let p = format!("{path}.{name}");
                // apiVersion/kind/metadata are described by Kubernetes itself.
                let k8s_owned =
                    path.is_empty() && ["apiVersion", "kind", "metadata"].contains(&name.as_str());
                if !k8s_owned && sub.get("description").is_none() {
                    missing.push(p.clone());
                }
                walk(&p, sub, missing);
            }
        }
        if let Some(items) = schema.get("items") {
            walk(&format!("{path}[]"), items, missing);
        }
    }
    let mut missing = Vec::new();
    // Every CRD the operator installs (the one table), so a new kind is covered too.
    for crd in auth0_operator::controller::kinds::crds() {
        let schema = serde_json::to_value(
            crd.spec.versions[0]
                .schema
                .as_ref()
                .unwrap()
                .open_api_v3_schema
                .as_ref()
                .unwrap(),
        )
        .unwrap();
        walk(&crd.spec.names.kind, &schema, &mut missing);
    }
    assert!(
        missing.is_empty(),
        "fields without a description: {missing:?}"
    );
}

fn client(spec: Value) -> Auth0Client {
    serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client",
        "metadata": {"name": "web", "namespace": "default"}, "spec": spec
    }))
    .expect("valid Auth0Client")
}

fn grant(spec: Value) -> Auth0ClientGrant {
    serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0ClientGrant",
        "metadata": {"name": "g", "namespace": "default"}, "spec": spec
    }))
    .expect("valid Auth0ClientGrant")
}

fn cel_errors(new: &impl serde::Serialize, old: Option<&impl serde::Serialize>) -> Vec<String> {
    fn run<K: CustomResourceExt + serde::Serialize>(new: &K, old: Option<&K>) -> Vec<String> {
        let r = match old {
            Some(old) => kube::core::cel::validate_cel_update(new, old),
            None => kube::core::cel::validate_cel(new),
        };
        match r {
            Ok(()) => vec![],
            Err(e) => vec![e.to_string()],
        }
    }
    let v = serde_json::to_value(new).unwrap();
    let oldv = old.map(|o| serde_json::to_value(o).unwrap());
    if v["kind"] == "Auth0Client" {
        let n: Auth0Client = serde_json::from_value(v).unwrap();
        let o: Option<Auth0Client> = oldv.map(|o| serde_json::from_value(o).unwrap());
        run(&n, o.as_ref())
    } else if v["kind"] == "Auth0ResourceServer" {
        let n: Auth0ResourceServer = serde_json::from_value(v).unwrap();
        let o: Option<Auth0ResourceServer> = oldv.map(|o| serde_json::from_value(o).unwrap());
        run(&n, o.as_ref())
    } else {
        let n: Auth0ClientGrant = serde_json::from_value(v).unwrap();
        let o: Option<Auth0ClientGrant> = oldv.map(|o| serde_json::from_value(o).unwrap());
        run(&n, o.as_ref())
    }
}

#[test]
fn cel_client_id_is_immutable() {
    let none = client(json!({"name": "a"}));
    let adopt = client(json!({"name": "a", "clientId": "abc"}));
    let other = client(json!({"name": "a", "clientId": "xyz"}));
    assert!(cel_errors(&adopt, None::<&Auth0Client>).is_empty());
    assert!(
        cel_errors(&adopt, Some(&adopt)).is_empty(),
        "unchanged clientId is fine"
    );
    let e = cel_errors(&other, Some(&adopt));
    assert!(
        e.iter().any(|m| m.contains("clientId is immutable")),
        "{e:?}"
    );
    let e = cel_errors(&adopt, Some(&none));
    assert!(
        e.iter().any(|m| m.contains("clientId is immutable")),
        "adding later is refused: {e:?}"
    );
    let e = cel_errors(&none, Some(&adopt));
    assert!(
        e.iter().any(|m| m.contains("clientId is immutable")),
        "removing is refused: {e:?}"
    );
}

#[test]
fn cel_reserved_metadata_and_public_apps() {
    let bad = client(json!({"name": "a", "clientMetadata": {"k8s_operator_uid": "x"}}));
    let e = cel_errors(&bad, None::<&Auth0Client>);
    assert!(e.iter().any(|m| m.contains("reserved")), "{e:?}");
    let ok = client(json!({"name": "a", "clientMetadata": {"team": "x"}}));
    assert!(cel_errors(&ok, None::<&Auth0Client>).is_empty());
    let public_m2m = client(
        json!({"name": "a", "tokenEndpointAuthMethod": "none", "grantTypes": ["client_credentials"]}),
    );
    let e = cel_errors(&public_m2m, None::<&Auth0Client>);
    assert!(e.iter().any(|m| m.contains("client_credentials")), "{e:?}");
}

#[test]
fn cel_grant_exactly_one_client_and_immutable_audience() {
    let both =
        grant(json!({"clientRef": {"name": "web"}, "clientId": "abc", "audience": "https://api/"}));
    let neither = grant(json!({"audience": "https://api/"}));
    let by_ref = grant(json!({"clientRef": {"name": "web"}, "audience": "https://api/"}));
    let by_id = grant(json!({"clientId": "abc", "audience": "https://api/"}));
    for bad in [&both, &neither] {
        let e = cel_errors(bad, None::<&Auth0ClientGrant>);
        assert!(
            e.iter()
                .any(|m| m.contains("exactly one of clientRef and clientId")),
            "{e:?}"
        );
    }
    assert!(cel_errors(&by_ref, None::<&Auth0ClientGrant>).is_empty());
    assert!(cel_errors(&by_id, None::<&Auth0ClientGrant>).is_empty());
    let moved = grant(json!({"clientRef": {"name": "web"}, "audience": "https://other/"}));
    let e = cel_errors(&moved, Some(&by_ref));
    assert!(
        e.iter().any(|m| m.contains("audience is immutable")),
        "{e:?}"
    );
    // grantId: set at creation only, never changed.
    let adopting = grant(
        json!({"clientRef": {"name": "web"}, "audience": "https://api/", "grantId": "cgr_1"}),
    );
    assert!(cel_errors(&adopting, None::<&Auth0ClientGrant>).is_empty());
    for (new, old) in [(&adopting, &by_ref), (&by_ref, &adopting)] {
        let e = cel_errors(new, Some(old));
        assert!(
            e.iter().any(|m| m.contains("grantId is immutable")),
            "{e:?}"
        );
    }
    let rescoped = grant(
        json!({"clientRef": {"name": "web"}, "audience": "https://api/", "scopes": ["read:x"]}),
    );
    assert!(
        cel_errors(&rescoped, Some(&by_ref)).is_empty(),
        "scopes may change"
    );
    let repointed = grant(json!({"clientRef": {"name": "other"}, "audience": "https://api/"}));
    let e = cel_errors(&repointed, Some(&by_ref));
    assert!(
        e.iter().any(|m| m.contains("clientRef is immutable")),
        "{e:?}"
    );
}

fn api(spec: Value) -> Auth0ResourceServer {
    serde_json::from_value(json!({
        "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0ResourceServer",
        "metadata": {"name": "orders-api", "namespace": "default"}, "spec": spec
    }))
    .expect("valid Auth0ResourceServer")
}

#[test]
fn cel_grant_exactly_one_audience_or_resource_server_ref_both_immutable() {
    let by_aud = grant(json!({"clientId": "abc", "audience": "https://api/"}));
    let by_ref = grant(json!({"clientId": "abc", "resourceServerRef": {"name": "orders-api"}}));
    let both = grant(
        json!({"clientId": "abc", "audience": "https://api/", "resourceServerRef": {"name": "orders-api"}}),
    );
    let neither = grant(json!({"clientId": "abc"}));
    assert!(cel_errors(&by_aud, None::<&Auth0ClientGrant>).is_empty());
    assert!(cel_errors(&by_ref, None::<&Auth0ClientGrant>).is_empty());
    for bad in [&both, &neither] {
        let e = cel_errors(bad, None::<&Auth0ClientGrant>);
        assert!(
            e.iter()
                .any(|m| m.contains("exactly one of audience and resourceServerRef")),
            "{e:?}"
        );
    }
    let other = grant(json!({"clientId": "abc", "resourceServerRef": {"name": "other-api"}}));
    for (new, old, what) in [
        (&other, &by_ref, "renamed"),
        (&by_aud, &by_ref, "switched to audience"),
    ] {
        let e = cel_errors(new, Some(old));
        assert!(
            e.iter()
                .any(|m| m.contains("resourceServerRef is immutable")),
            "{what}: {e:?}"
        );
    }
    let e = cel_errors(&by_ref, Some(&by_aud));
    assert!(
        e.iter().any(|m| m.contains("audience is immutable")),
        "switched to resourceServerRef: {e:?}"
    );
    assert!(cel_errors(&by_ref, Some(&by_ref)).is_empty());
}

#[test]
fn cel_api_identifier_and_tenant_ref_are_immutable() {
    let a = api(json!({"identifier": "https://orders.example.com/api"}));
    let b = api(json!({"identifier": "https://orders.example.com/v2"}));
    assert!(cel_errors(&a, None::<&Auth0ResourceServer>).is_empty());
    let renamed = api(json!({"identifier": "https://orders.example.com/api", "name": "Orders"}));
    assert!(
        cel_errors(&renamed, Some(&a)).is_empty(),
        "other fields may change"
    );
    let e = cel_errors(&b, Some(&a));
    assert!(
        e.iter().any(|m| m.contains("identifier is immutable")),
        "{e:?}"
    );
    let t =
        api(json!({"identifier": "https://orders.example.com/api", "tenantRef": {"name": "t"}}));
    let e = cel_errors(&t, Some(&a));
    assert!(
        e.iter().any(|m| m.contains("tenantRef is immutable")),
        "{e:?}"
    );
    // Defaults: Delete, and adopt off (not even serialized).
    assert_eq!(
        a.spec.deletion_policy,
        auth0_operator::crd::DeletionPolicy::Delete
    );
    assert!(!a.spec.adopt);
    assert!(
        serde_json::to_value(&a).unwrap()["spec"]
            .get("adopt")
            .is_none()
    );
}

#[test]
fn defaults_fill_in() {
    let c = client(json!({"name": "a"}));
    assert_eq!(
        c.spec.deletion_policy,
        auth0_operator::crd::DeletionPolicy::Delete
    );
    assert_eq!(c.secret_name(), "web-auth0");
    let g = grant(json!({"clientId": "abc", "audience": "x"}));
    assert!(g.spec.scopes.is_empty());
}

#[test]
fn cel_tenant_ref_and_tenant_domain_are_immutable() {
    let plain = client(json!({"name": "a"}));
    let one = client(json!({"name": "a", "tenantRef": {"name": "one"}}));
    let two = client(json!({"name": "a", "tenantRef": {"name": "two"}}));
    let cluster =
        client(json!({"name": "a", "tenantRef": {"kind": "ClusterAuth0Tenant", "name": "one"}}));
    assert!(cel_errors(&one, None::<&Auth0Client>).is_empty());
    assert!(cel_errors(&one, Some(&one)).is_empty());
    for (new, old, what) in [
        (&two, &one, "renamed"),
        (&cluster, &one, "other kind"),
        (&one, &plain, "added"),
        (&plain, &one, "removed"),
    ] {
        let e = cel_errors(new, Some(old));
        assert!(
            e.iter().any(|m| m.contains("tenantRef is immutable")),
            "{what}: {e:?}"
        );
    }
    let g1 =
        grant(json!({"clientId": "c", "audience": "https://api/", "tenantRef": {"name": "one"}}));
    let g2 =
        grant(json!({"clientId": "c", "audience": "https://api/", "tenantRef": {"name": "two"}}));
    let e = cel_errors(&g2, Some(&g1));
    assert!(
        e.iter().any(|m| m.contains("tenantRef is immutable")),
        "{e:?}"
    );

    let t = |domain: &str| -> auth0_operator::crd::Auth0Tenant {
        serde_json::from_value(json!({
            "apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Tenant",
            "metadata": {"name": "t", "namespace": "default"},
            "spec": {"domain": domain, "credentialsSecretRef": {"name": "s"}}
        }))
        .unwrap()
    };
    let (a, b) = (t("a.auth0.com"), t("b.auth0.com"));
    assert!(kube::core::cel::validate_cel_update(&a, &a).is_ok());
    let e = kube::core::cel::validate_cel_update(&b, &a)
        .unwrap_err()
        .to_string();
    assert!(e.contains("domain is immutable"), "{e}");
}

/// Every manifest in `examples/` is a valid object of its kind: no field lost in a round trip
/// through the Rust types (a typo would be dropped by the API server's pruning), the CRD's CEL
/// rules hold, and a grant's `resourceServerRef` / `clientRef` name an example of the same file.
#[test]
fn examples_are_valid_objects() {
    use serde::Deserialize as _;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut kinds = std::collections::BTreeSet::new();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
            .map(|d| Value::deserialize(d).unwrap())
            .filter(|v| !v.is_null())
            .collect();
        let names = |kind: &str| -> Vec<&str> {
            docs.iter()
                .filter(|d| d["kind"] == kind)
                .filter_map(|d| d["metadata"]["name"].as_str())
                .collect()
        };
        for v in &docs {
            let what = format!(
                "{} {} in {}",
                v["kind"],
                v["metadata"]["name"],
                path.display()
            );
            fn check<K>(v: &Value, what: &str) -> Vec<String>
            where
                K: CustomResourceExt + serde::Serialize + serde::de::DeserializeOwned,
            {
                let k: K = serde_json::from_value(v.clone())
                    .unwrap_or_else(|e| panic!("{what}: not a valid object: {e}"));
                let mut back = serde_json::to_value(&k).unwrap();
                // Schema defaults the Rust types fill in (the API server does the same).
                if v["spec"].get("deletionPolicy").is_none() {
                    back["spec"]
                        .as_object_mut()
                        .unwrap()
                        .remove("deletionPolicy");
                }
                if v["spec"].get("scopes").is_none() && back["spec"]["scopes"] == json!([]) {
                    back["spec"].as_object_mut().unwrap().remove("scopes");
                }
                if v["spec"]["tenantRef"].get("kind").is_none()
                    && let Some(t) = back["spec"]["tenantRef"].as_object_mut()
                {
                    t.remove("kind");
                }
                pretty_assertions::assert_eq!(&back, v, "{}: fields lost in a round trip", what);
                match kube::core::cel::validate_cel(&k) {
                    Ok(()) => vec![],
                    Err(e) => vec![e.to_string()],
                }
            }
            let kind = v["kind"].as_str().unwrap_or_default();
            kinds.insert(kind.to_string());
            let errors = match kind {
                "Auth0Client" => check::<Auth0Client>(v, &what),
                "Auth0ClientGrant" => check::<Auth0ClientGrant>(v, &what),
                "Auth0ResourceServer" => check::<Auth0ResourceServer>(v, &what),
                other => panic!("{what}: unexpected kind {other}"),
            };
            assert!(errors.is_empty(), "{what}: CEL: {errors:?}");
            if let Some(api) = v["spec"]["resourceServerRef"]["name"].as_str() {
                assert!(
                    names("Auth0ResourceServer").contains(&api),
                    "{what}: no API {api}"
                );
            }
            if let Some(client) = v["spec"]["clientRef"]["name"].as_str() {
                assert!(
                    names("Auth0Client").contains(&client),
                    "{what}: no client {client}"
                );
            }
        }
    }
    assert!(
        kinds.contains("Auth0ResourceServer"),
        "an example shows an Auth0ResourceServer: {kinds:?}"
    );
}

/// `secretTemplate`: only known `$(variables)` (with `$$` escaping), valid Secret keys, and no
/// label or annotation of the operator's own — refused at apply time (the operator refuses the
/// same, tested in `controller::template`).
#[test]
fn cel_secret_template_variables_keys_and_metadata() {
    let with = |t: Value| client(json!({"name": "A", "secretTemplate": t}));
    let ok = with(json!({
        "type": "Opaque",
        "metadata": {"labels": {"team": "billing"}, "annotations": {"reloader.stakater.com/match": "true"}},
        "data": {"OIDC_ISSUER": "$(issuer)", "credentials.json": "$(json)",
                 "both": "$(clientId):$(clientSecret) at $(tokenEndpoint), $(jwksUri), $(domain)",
                 "literal": "$$(notAVariable) costs $5 $", "escaped": "$$(privateKey)"}
    }));
    assert_eq!(cel_errors(&ok, None::<&Auth0Client>), Vec::<String>::new());
    // Each method has its own variables.
    let pk = |data: Value| {
        client(
            json!({"name": "A", "authentication": {"method": "privateKeyJwt"},
                      "secretTemplate": {"data": data}}),
        )
    };
    assert_eq!(
        cel_errors(
            &pk(json!({"pk": "$(privateKey) $(keyId) $(algorithm)", "esc": "$$(clientSecret)"})),
            None::<&Auth0Client>
        ),
        Vec::<String>::new()
    );
    let e = cel_errors(&pk(json!({"s": "x$(clientSecret)"})), None::<&Auth0Client>);
    assert!(
        e.len() == 1
            && e[0].contains("$(clientSecret) only with authentication.method clientSecret"),
        "{e:?}"
    );
    let e = cel_errors(
        &with(json!({"data": {"k": "$(keyId)"}})),
        None::<&Auth0Client>,
    );
    assert!(
        e.len() == 1 && e[0].contains("only with privateKeyJwt"),
        "{e:?}"
    );
    let unknown = with(json!({"data": {"A": "$(clientSecrets)"}}));
    let e = cel_errors(&unknown, None::<&Auth0Client>);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(
        e[0].contains("secretTemplate.data may only use the variables"),
        "{e:?}"
    );
    let unclosed = with(json!({"data": {"A": "$(domain"}}));
    assert_eq!(cel_errors(&unclosed, None::<&Auth0Client>).len(), 1);
    let bad_key = with(json!({"data": {"bad key": "$(domain)"}}));
    let e = cel_errors(&bad_key, None::<&Auth0Client>);
    assert!(
        e.len() == 1 && e[0].contains("keys must consist of letters"),
        "{e:?}"
    );
    for meta in [
        json!({"labels": {"app.kubernetes.io/managed-by": "me"}}),
        json!({"labels": {"auth0.operator.dev/client": "x"}}),
        json!({"annotations": {"auth0.operator.dev/credentials-hash": "forged"}}),
    ] {
        let e = cel_errors(&with(json!({"metadata": meta})), None::<&Auth0Client>);
        assert!(
            e.len() == 1 && e[0].contains("the operator's own"),
            "{meta}: {e:?}"
        );
    }
}

/// `authentication` and `rotation`: refused at apply time where CEL runs (the operator refuses
/// the same, tested in `controller::build`).
#[test]
fn cel_authentication_and_rotation() {
    let errors = |spec: Value| {
        let mut spec = spec;
        spec["name"] = json!("A");
        cel_errors(&client(spec), None::<&Auth0Client>)
    };
    for ok in [
        json!({"authentication": {"method": "privateKeyJwt", "algorithm": "PS256"},
               "rotation": {"every": "720h", "overlap": "24h"}}),
        json!({"authentication": {"method": "clientSecret"},
               "rotation": {"every": "1h", "overlap": "0s", "strategy": "Immediate"}}),
        json!({"rotation": {"every": "2h30m", "strategy": "Staged"}}),
        json!({"rotation": {"overlap": "48h"}}),
    ] {
        assert_eq!(errors(ok.clone()), Vec::<String>::new(), "{ok}");
    }
    for (bad, message) in [
        (
            json!({"authentication": {"method": "clientSecret", "algorithm": "RS256"}}),
            "authentication.algorithm is for the privateKeyJwt method only",
        ),
        (
            json!({"authentication": {"method": "privateKeyJwt"}, "tokenEndpointAuthMethod": "client_secret_post"}),
            "tokenEndpointAuthMethod cannot be set with authentication.method privateKeyJwt",
        ),
        (
            json!({"authentication": {"method": "privateKeyJwt"}, "rotation": {"strategy": "Staged"}}),
            "rotation.strategy is for the clientSecret method only",
        ),
        (
            json!({"rotation": {"every": "59m"}}),
            "rotation.every must be at least 1h",
        ),
        (
            json!({"rotation": {"every": "1h", "overlap": "1h"}}),
            "rotation.overlap must be shorter than rotation.every",
        ),
    ] {
        let e = errors(bad.clone());
        assert!(e.len() == 1 && e[0].contains(message), "{bad}: {e:?}");
    }
}
