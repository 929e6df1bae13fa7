//! The committed CRD YAML under `crds/` must match the Rust types, and the CEL rules in the
//! schema must accept and reject what they promise (evaluated client-side: our test apiserver,
//! Kubernetes 1.20, predates CEL validation).

use auth0_operator::crd::{Auth0Client, Auth0ClientGrant, crd_files};
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
        "CRD YAML is out of date: {stale:?}\nregenerate with: cargo run -- crds --dir crds"
    );
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
            "Age"
        ]
    );
    let g = Auth0ClientGrant::crd();
    assert_eq!(g.spec.names.short_names, Some(vec!["a0cg".to_string()]));
    assert_eq!(g.spec.scope, "Namespaced");
    // What `kubectl get` shows without -o wide: the Ready reason of every kind is among it.
    for crd in auth0_operator::crd::crds() {
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
    let scoped: Vec<(String, String, Vec<String>)> = auth0_operator::crd::crds()
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
    for crd in auth0_operator::crd::crds() {
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
