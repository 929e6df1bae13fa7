//! The credentials Secret's shape, pure: its data (the template rendered with the credential),
//! labels, annotations and owner reference; whose a Secret is; whether it is up to date.

use std::collections::BTreeMap;

use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{Resource, ResourceExt, api::ObjectMeta};

use crate::crd::Auth0Client;

use crate::controller::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};

/// Label on each credentials Secret naming the `Auth0Client` it belongs to.
pub const CLIENT_LABEL: &str = "auth0.operator.dev/client";

/// The credentials Secret for `cr`: its keys (the default ones of its authentication method,
/// or `secretTemplate.data` rendered from the current credential; none while there is no
/// current credential yet), the keys of a rotation under way, its type, the template's labels
/// and annotations under the operator's own (the managed-by and client labels, the credentials
/// and template hashes, the rotation's times and ids), and a controller owner reference (so
/// garbage collection removes it with the resource). An invalid template is an error sentence
/// and nothing is rendered.
pub fn credentials_secret(
    cr: &Auth0Client,
    domain: &str,
    client_id: &str,
    held: &crate::controller::client::credentials::Held,
) -> Result<Secret, String> {
    use crate::controller::secret::template;
    let t = cr.spec.secret_template.as_ref();
    let method = crate::controller::client::credentials::method(&cr.spec);
    let meta = t.and_then(|t| t.metadata.as_ref());
    let mut annotations = meta.and_then(|m| m.annotations.clone()).unwrap_or_default();
    let mut data = BTreeMap::new();
    if let Some(credential) = &held.current {
        let vars = template::Variables {
            domain,
            client_id,
            credential,
        };
        data = template::render(t, &vars)?;
        annotations.insert(
            template::CREDENTIALS_HASH_ANNOTATION.to_string(),
            template::credentials_hash(&vars),
        );
    }
    data.extend(held.reserved_data());
    annotations.insert(
        template::TEMPLATE_HASH_ANNOTATION.to_string(),
        template::template_hash(t, domain, client_id, method),
    );
    for (k, v) in held.annotations() {
        annotations.insert(k.to_string(), v);
    }
    let mut labels = meta.and_then(|m| m.labels.clone()).unwrap_or_default();
    labels.insert(MANAGED_BY_LABEL.to_string(), MANAGED_BY_VALUE.to_string());
    labels.insert(CLIENT_LABEL.to_string(), cr.name_any());
    Ok(Secret {
        metadata: ObjectMeta {
            name: Some(cr.secret_name()),
            namespace: cr.namespace(),
            labels: Some(labels),
            annotations: Some(annotations),
            owner_references: cr.controller_owner_ref(&()).map(|o| vec![o]),
            ..Default::default()
        },
        type_: Some(secret_type(cr).to_string()),
        data: Some(
            data.into_iter()
                .map(|(k, v)| (k, ByteString(v.into_bytes())))
                .collect(),
        ),
        ..Default::default()
    })
}

/// Whether `existing` already is `desired` (keys, type, labels, annotations, owner): then no
/// write is needed.
pub fn secret_matches(existing: &Secret, desired: &Secret) -> bool {
    existing.data.clone().unwrap_or_default() == desired.data.clone().unwrap_or_default()
        && existing.type_.as_deref().unwrap_or("Opaque")
            == desired.type_.as_deref().unwrap_or("Opaque")
        && existing.metadata.labels == desired.metadata.labels
        && existing.metadata.annotations == desired.metadata.annotations
        && existing.metadata.owner_references == desired.metadata.owner_references
}

/// The type the credentials Secret of `cr` has (`Opaque` unless the template says otherwise).
pub fn secret_type(cr: &Auth0Client) -> &str {
    cr.spec
        .secret_template
        .as_ref()
        .and_then(|t| t.type_.as_deref())
        .unwrap_or("Opaque")
}

/// Whether `secret` is controlled by `cr` (a controller owner reference with its UID).
pub fn secret_owned_by(secret: &Secret, cr: &Auth0Client) -> bool {
    let Some(uid) = cr.meta().uid.as_deref() else {
        return false;
    };
    secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.uid == uid && o.controller == Some(true))
}

/// Who a Secret belongs to, for a conflict message: its controller owner, else the operator
/// label, else the first field manager that wrote it, else "no owner".
pub fn secret_owner_description(secret: &Secret) -> String {
    if let Some(o) = secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .or_else(|| secret.metadata.owner_references.iter().flatten().next())
    {
        return format!("it is owned by {} {}", o.kind, o.name);
    }
    if let Some(m) = secret
        .metadata
        .managed_fields
        .iter()
        .flatten()
        .find_map(|f| f.manager.clone())
    {
        return format!("it was created by {m} and has no owner");
    }
    "it has no owner".to_string()
}

/// The `Auth0Client` that a Secret made by the operator belongs to: `(name, uid)` of its
/// controller owner reference, when the Secret carries the operator's label and such a
/// reference. A Secret without both was not made by the operator and is never replaced.
pub fn operator_secret_owner(secret: &Secret) -> Option<(String, String)> {
    let labelled = secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(MANAGED_BY_LABEL))
        .is_some_and(|v| v == MANAGED_BY_VALUE);
    if !labelled {
        return None;
    }
    secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| {
            o.controller == Some(true)
                && o.kind == "Auth0Client"
                && o.api_version.starts_with("auth0.operator.dev/")
        })
        .map(|o| (o.name.clone(), o.uid.clone()))
}

/// Whether an owned Secret is rendered from the current template for this domain, client id
/// and method (its template-hash annotation says so), with every key present and non-empty and
/// the right type: then, with no rotation under way, no Auth0 read and no write is needed.
pub fn secret_up_to_date(secret: &Secret, cr: &Auth0Client, domain: &str, client_id: &str) -> bool {
    use crate::controller::secret::template;
    let t = cr.spec.secret_template.as_ref();
    let method = crate::controller::client::credentials::method(&cr.spec);
    let annotation = secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(template::TEMPLATE_HASH_ANNOTATION));
    let data = secret.data.as_ref();
    annotation == Some(&template::template_hash(t, domain, client_id, method))
        && secret.type_.as_deref().unwrap_or("Opaque") == secret_type(cr)
        && template::keys(t, method)
            .iter()
            .all(|k| data.and_then(|d| d.get(k)).is_some_and(|v| !v.0.is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        controller::client::spec::{fixtures::cr, validate_client_spec},
        crd::rules,
    };
    use pretty_assertions::assert_eq;
    use serde_json::json;

    #[test]
    fn secret_owner_is_named_and_only_operator_secrets_can_be_stale() {
        let secret = |v: serde_json::Value| -> Secret { serde_json::from_value(v).unwrap() };
        let owned = secret(json!({"metadata": {"name": "s", "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": "u", "controller": true}]}}));
        assert_eq!(
            secret_owner_description(&owned),
            "it is owned by Deployment api"
        );
        let by_kubectl = secret(json!({"metadata": {"name": "s", "managedFields": [
            {"manager": "kubectl-create", "operation": "Update", "apiVersion": "v1"}]}}));
        assert_eq!(
            secret_owner_description(&by_kubectl),
            "it was created by kubectl-create and has no owner"
        );
        assert_eq!(
            secret_owner_description(&secret(json!({"metadata": {"name": "s"}}))),
            "it has no owner"
        );
        let ours = json!({"metadata": {"name": "s",
            "labels": {"app.kubernetes.io/managed-by": "auth0-operator"},
            "ownerReferences": [{"apiVersion": "auth0.operator.dev/v1alpha1", "kind": "Auth0Client", "name": "web", "uid": "old", "controller": true}]}});
        assert_eq!(
            operator_secret_owner(&secret(ours.clone())),
            Some(("web".to_string(), "old".to_string()))
        );
        let mut unlabelled = ours.clone();
        unlabelled["metadata"]["labels"] = json!({});
        assert_eq!(operator_secret_owner(&secret(unlabelled)), None);
        let mut other_kind = ours;
        other_kind["metadata"]["ownerReferences"][0]["kind"] = json!("Deployment");
        assert_eq!(operator_secret_owner(&secret(other_kind)), None);
    }

    fn holding(secret: &str) -> crate::controller::client::credentials::Held {
        crate::controller::client::credentials::Held {
            current: Some(crate::controller::secret::template::Credential::Secret(
                secret.into(),
            )),
            ..Default::default()
        }
    }

    fn held_secret(s: &Secret, domain: &str, client_id: &str) -> Option<String> {
        crate::controller::client::credentials::Held::read(s, domain, client_id)
            .secret()
            .map(str::to_string)
    }

    #[test]
    fn a_private_key_is_found_again_in_a_templated_secret() {
        use crate::controller::{
            client::{credentials::Held, keys},
            secret::template::Credential,
        };
        let mut c = cr();
        c.spec.authentication = Some(crate::crd::Authentication {
            method: crate::crd::AuthenticationMethod::PrivateKeyJwt,
            algorithm: Some(crate::crd::KeyAlgorithm::RS384),
        });
        c.spec.secret_template =
            Some(serde_json::from_value(json!({"data": {"creds.json": "$(json)"}})).unwrap());
        let pair = keys::generate();
        let held = Held {
            current: Some(Credential::Key {
                pair: pair.clone(),
                alg: crate::crd::KeyAlgorithm::RS384,
            }),
            credential_id: Some("cred_1".into()),
            ..Default::default()
        };
        let s = credentials_secret(&c, "t.auth0.com", "cid", &held).unwrap();
        let again = Held::read(&s, "t.auth0.com", "cid");
        assert_eq!(
            again.key().map(|(p, a)| (p.kid.clone(), a)),
            Some((pair.kid.clone(), crate::crd::KeyAlgorithm::RS384))
        );
        assert_eq!(again.credential_id.as_deref(), Some("cred_1"));
        // Another client id: nothing is recognised.
        assert!(Held::read(&s, "t.auth0.com", "other").current.is_none());
        // A pending key and a next secret are kept beside the rendered keys.
        let pending = Held {
            pending_key: Some((keys::generate(), crate::crd::KeyAlgorithm::PS256)),
            ..held
        };
        let s = credentials_secret(&c, "t.auth0.com", "cid", &pending).unwrap();
        let data = s.data.clone().unwrap();
        assert!(data.contains_key(".auth0-operator-pending-key"));
        let again = Held::read(&s, "t.auth0.com", "cid");
        assert_eq!(
            again.pending_key.map(|(_, a)| a),
            Some(crate::crd::KeyAlgorithm::PS256)
        );
        assert!(
            !s.metadata
                .annotations
                .unwrap()
                .values()
                .any(|v| v.contains("PRIVATE KEY"))
        );
    }

    #[test]
    fn secret_has_three_keys_label_and_controller_owner() {
        let c = cr();
        let s = credentials_secret(&c, "t.auth0.com", "cid", &holding("shh")).unwrap();
        assert_eq!(s.metadata.name.as_deref(), Some("web-auth0"));
        assert_eq!(s.metadata.namespace.as_deref(), Some("team-a"));
        let keys: Vec<_> = s.data.as_ref().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            ["AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_DOMAIN"]
        );
        assert!(secret_owned_by(&s, &c));
        assert!(secret_up_to_date(&s, &c, "t.auth0.com", "cid"));
        assert!(!secret_up_to_date(&s, &c, "t.auth0.com", "other"));
        assert_eq!(
            held_secret(&s, "t.auth0.com", "cid").as_deref(),
            Some("shh")
        );
        assert_eq!(held_secret(&s, "t.auth0.com", "other"), None);
        // A Secret written before the hash annotations: current only once rewritten, but its
        // secret is found without asking Auth0.
        let mut old = s.clone();
        old.metadata.annotations = None;
        assert!(!secret_up_to_date(&old, &c, "t.auth0.com", "cid"));
        assert_eq!(
            held_secret(&old, "t.auth0.com", "cid").as_deref(),
            Some("shh")
        );
        let mut foreign = s.clone();
        foreign.metadata.owner_references = None;
        assert!(!secret_owned_by(&foreign, &c));
    }

    #[test]
    fn a_template_shapes_the_secret_under_the_operators_metadata() {
        let mut c = cr();
        c.spec.secret_template = Some(
            serde_json::from_value(json!({
                "type": "example.com/credentials",
                "metadata": {"labels": {"team": "billing"},
                             "annotations": {"reloader.stakater.com/match": "true"}},
                "data": {"OIDC_ISSUER": "$(issuer)", "creds": "$(clientId):$(clientSecret)"}
            }))
            .unwrap(),
        );
        let s = credentials_secret(&c, "t.auth0.com", "cid", &holding("shh")).unwrap();
        assert_eq!(s.type_.as_deref(), Some("example.com/credentials"));
        let data = s.data.clone().unwrap();
        assert_eq!(data.keys().collect::<Vec<_>>(), ["OIDC_ISSUER", "creds"]);
        assert_eq!(data["OIDC_ISSUER"].0, b"https://t.auth0.com/");
        assert_eq!(data["creds"].0, b"cid:shh");
        let labels = s.metadata.labels.clone().unwrap();
        assert_eq!(labels["team"], "billing");
        assert_eq!(labels[MANAGED_BY_LABEL], MANAGED_BY_VALUE);
        let ann = s.metadata.annotations.clone().unwrap();
        assert_eq!(ann["reloader.stakater.com/match"], "true");
        assert!(
            ann[crate::controller::secret::template::CREDENTIALS_HASH_ANNOTATION]
                .starts_with("sha256:")
        );
        assert!(secret_up_to_date(&s, &c, "t.auth0.com", "cid"));
        // No key holds the secret alone: it is not found (the operator reads it from Auth0).
        assert_eq!(held_secret(&s, "t.auth0.com", "cid"), None);
        // Another template: not current any more.
        let mut other = c.clone();
        other.spec.secret_template.as_mut().unwrap().type_ = None;
        assert!(!secret_up_to_date(&s, &other, "t.auth0.com", "cid"));
        // Invalid: nothing is rendered.
        c.spec.secret_template.as_mut().unwrap().data = Some(std::collections::BTreeMap::from([(
            "A".into(),
            "$(nope)".into(),
        )]));
        let e = credentials_secret(&c, "t.auth0.com", "cid", &holding("shh")).unwrap_err();
        assert!(
            e.contains(&format!(
                "{}: secretTemplate.data.A uses $(nope)",
                rules::TEMPLATE_VARIABLES
            )),
            "{e}"
        );
        assert!(validate_client_spec(&c.spec).is_err());
    }
}
