//! `spec.secretTemplate`: the credentials Secret's keys rendered from `$(variable)` references
//! (Kubernetes' own syntax, so Helm and Argo CD users need no escaping; `$$` is a literal `$`).
//! Pure: parsing, validation, rendering and the hashes the Secret carries.

use std::collections::BTreeMap;

use crate::crd::{SECRET_TEMPLATE_VARIABLES, SecretTemplate};

/// Annotation on every credentials Secret: a hash of the credential (never a value), which
/// changes whenever the credential does (for tools that restart workloads on a change).
pub const CREDENTIALS_HASH_ANNOTATION: &str = "auth0.operator.dev/credentials-hash";
/// Annotation on every credentials Secret: a hash of what it was rendered from (template,
/// domain, client id), so the operator knows without Auth0 whether it is current.
pub const TEMPLATE_HASH_ANNOTATION: &str = "auth0.operator.dev/template-hash";
/// Prefix of the operator's own labels and annotations (a template cannot set them).
pub const OPERATOR_KEY_PREFIX: &str = "auth0.operator.dev/";

/// Variables only a private-key JWT client has.
const PRIVATE_KEY_VARIABLES: [&str; 3] = ["privateKey", "keyId", "algorithm"];

/// One piece of a template value.
#[derive(Debug, PartialEq, Eq)]
enum Piece<'a> {
    Text(&'a str),
    Var(&'a str),
}

/// Splits a value into text and `$(name)` references; `$$` is a literal `$`. An unclosed
/// `$(` is an error.
fn parse(value: &str) -> Result<Vec<Piece<'_>>, String> {
    let mut out = Vec::new();
    let mut rest = value;
    while let Some(i) = rest.find('$') {
        if i > 0 {
            out.push(Piece::Text(&rest[..i]));
        }
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push(Piece::Text("$"));
            rest = tail;
        } else if let Some(inner) = after.strip_prefix('(') {
            let Some(end) = inner.find(')') else {
                return Err(format!("an unclosed $( in {value:?}"));
            };
            out.push(Piece::Var(&inner[..end]));
            rest = &inner[end + 1..];
        } else {
            out.push(Piece::Text("$"));
            rest = after;
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    Ok(out)
}

/// Whether `key` may be a Secret data key.
fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Every rule of `spec.secretTemplate` (the CRD states them as CEL too): valid keys, known
/// variables (and none a client-secret client does not have), no operator labels or
/// annotations. One sentence per problem.
pub fn validate(t: &SecretTemplate) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, value) in t.data.iter().flatten() {
        if !valid_key(key) {
            problems.push(format!(
                "secretTemplate.data key {key:?} is not a valid Secret key (letters, digits, '-', '_' or '.')"
            ));
        }
        match parse(value) {
            Err(e) => problems.push(format!("secretTemplate.data.{key} has {e}")),
            Ok(pieces) => {
                for name in pieces.iter().filter_map(|p| match p {
                    Piece::Var(n) => Some(*n),
                    Piece::Text(_) => None,
                }) {
                    if !SECRET_TEMPLATE_VARIABLES.contains(&name) {
                        problems.push(format!(
                            "secretTemplate.data.{key} uses $({name}), which is not a variable (known: {})",
                            SECRET_TEMPLATE_VARIABLES.join(", ")
                        ));
                    } else if PRIVATE_KEY_VARIABLES.contains(&name) {
                        problems.push(format!(
                            "secretTemplate.data.{key} uses $({name}), which only private-key JWT clients have; this client authenticates with a client secret"
                        ));
                    }
                }
            }
        }
    }
    let meta = t.metadata.as_ref();
    for key in meta
        .and_then(|m| m.labels.as_ref())
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        if key == super::MANAGED_BY_LABEL || key.starts_with(OPERATOR_KEY_PREFIX) {
            problems.push(format!(
                "secretTemplate.metadata.labels cannot set {key}: it is the operator's own"
            ));
        }
    }
    for key in meta
        .and_then(|m| m.annotations.as_ref())
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        if key.starts_with(OPERATOR_KEY_PREFIX) {
            problems.push(format!(
                "secretTemplate.metadata.annotations cannot set {key}: it is the operator's own"
            ));
        }
    }
    problems
}

/// The values a template can use for a client-secret client.
#[derive(Debug)]
pub struct Variables<'a> {
    pub domain: &'a str,
    pub client_id: &'a str,
    pub client_secret: &'a str,
}

impl Variables<'_> {
    fn all(&self) -> BTreeMap<&'static str, String> {
        let base = format!("https://{}/", self.domain);
        BTreeMap::from([
            ("clientId", self.client_id.to_string()),
            ("clientSecret", self.client_secret.to_string()),
            ("domain", self.domain.to_string()),
            ("issuer", base.clone()),
            ("tokenEndpoint", format!("{base}oauth/token")),
            ("jwksUri", format!("{base}.well-known/jwks.json")),
        ])
    }
}

/// The Secret's data: the template's keys rendered (all of them, or an error naming what is
/// wrong), or without `data` the three default keys.
pub fn render(
    t: Option<&SecretTemplate>,
    vars: &Variables<'_>,
) -> Result<BTreeMap<String, String>, String> {
    let Some(data) = t.and_then(|t| t.data.as_ref()) else {
        return Ok(BTreeMap::from([
            (super::build::SECRET_KEY_DOMAIN.into(), vars.domain.into()),
            (
                super::build::SECRET_KEY_CLIENT_ID.into(),
                vars.client_id.into(),
            ),
            (
                super::build::SECRET_KEY_CLIENT_SECRET.into(),
                vars.client_secret.into(),
            ),
        ]));
    };
    if let Some(t) = t {
        let problems = validate(t);
        if !problems.is_empty() {
            return Err(problems.join("; "));
        }
    }
    let values = vars.all();
    let json = serde_json::to_string(&values).expect("a map of strings serializes");
    let mut out = BTreeMap::new();
    for (key, value) in data {
        let mut rendered = String::new();
        for piece in parse(value)? {
            match piece {
                Piece::Text(t) => rendered.push_str(t),
                Piece::Var("json") => rendered.push_str(&json),
                Piece::Var(name) => rendered.push_str(
                    values
                        .get(name)
                        .ok_or_else(|| format!("$({name}) is not a variable"))?,
                ),
            }
        }
        out.insert(key.clone(), rendered);
    }
    Ok(out)
}

/// The keys the Secret holds for this template.
pub fn keys(t: Option<&SecretTemplate>) -> Vec<String> {
    match t.and_then(|t| t.data.as_ref()) {
        Some(data) => data.keys().cloned().collect(),
        None => vec![
            super::build::SECRET_KEY_DOMAIN.into(),
            super::build::SECRET_KEY_CLIENT_ID.into(),
            super::build::SECRET_KEY_CLIENT_SECRET.into(),
        ],
    }
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        // Length-prefixed, so that no two different inputs hash alike.
        ctx.update(&(p.len() as u64).to_be_bytes());
        ctx.update(p);
    }
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The value of [`CREDENTIALS_HASH_ANNOTATION`]: changes with the domain, client id or secret.
pub fn credentials_hash(vars: &Variables<'_>) -> String {
    format!(
        "sha256:{}",
        sha256_hex(&[
            vars.domain.as_bytes(),
            vars.client_id.as_bytes(),
            vars.client_secret.as_bytes(),
        ])
    )
}

/// The value of [`TEMPLATE_HASH_ANNOTATION`]: what the Secret is rendered from, secret aside.
pub fn template_hash(t: Option<&SecretTemplate>, domain: &str, client_id: &str) -> String {
    let t = serde_json::to_string(&t).expect("a template serializes");
    format!(
        "sha256:{}",
        sha256_hex(&[t.as_bytes(), domain.as_bytes(), client_id.as_bytes()])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::SecretTemplateMetadata;

    fn vars() -> Variables<'static> {
        Variables {
            domain: "acme.eu.auth0.com",
            client_id: "cid",
            client_secret: "s3cret",
        }
    }

    fn template(data: &[(&str, &str)]) -> SecretTemplate {
        SecretTemplate {
            data: Some(
                data.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn renders_every_variable_and_json() {
        let t = template(&[
            ("OIDC_ISSUER", "$(issuer)"),
            ("TOKEN_URL", "$(tokenEndpoint)"),
            ("JWKS", "$(jwksUri)"),
            ("ID", "$(clientId)"),
            ("SECRET", "$(clientSecret)"),
            ("DOMAIN", "$(domain)"),
            ("credentials.json", "$(json)"),
            ("literal", "cost: $$(notAVariable) and $5"),
            ("mixed", "$(clientId):$(clientSecret)"),
        ]);
        let out = render(Some(&t), &vars()).unwrap();
        assert_eq!(out["OIDC_ISSUER"], "https://acme.eu.auth0.com/");
        assert_eq!(out["TOKEN_URL"], "https://acme.eu.auth0.com/oauth/token");
        assert_eq!(
            out["JWKS"],
            "https://acme.eu.auth0.com/.well-known/jwks.json"
        );
        assert_eq!(out["ID"], "cid");
        assert_eq!(out["SECRET"], "s3cret");
        assert_eq!(out["DOMAIN"], "acme.eu.auth0.com");
        assert_eq!(out["literal"], "cost: $(notAVariable) and $5");
        assert_eq!(out["mixed"], "cid:s3cret");
        let json: serde_json::Value = serde_json::from_str(&out["credentials.json"]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "clientId": "cid", "clientSecret": "s3cret", "domain": "acme.eu.auth0.com",
                "issuer": "https://acme.eu.auth0.com/",
                "tokenEndpoint": "https://acme.eu.auth0.com/oauth/token",
                "jwksUri": "https://acme.eu.auth0.com/.well-known/jwks.json"
            })
        );
        assert_eq!(out.len(), 9, "exactly the template's keys");
    }

    #[test]
    fn without_data_the_default_keys_remain() {
        let out = render(None, &vars()).unwrap();
        assert_eq!(
            out.keys().collect::<Vec<_>>(),
            ["AUTH0_CLIENT_ID", "AUTH0_CLIENT_SECRET", "AUTH0_DOMAIN"]
        );
        let labels_only = SecretTemplate {
            metadata: Some(SecretTemplateMetadata {
                labels: Some(BTreeMap::from([("team".into(), "billing".into())])),
                annotations: None,
            }),
            ..Default::default()
        };
        assert_eq!(render(Some(&labels_only), &vars()).unwrap(), out);
    }

    #[test]
    fn refuses_unknown_variables_bad_keys_and_operator_metadata_all_or_nothing() {
        let t = template(&[
            ("GOOD", "$(clientId)"),
            ("BAD", "$(clientSecrets)"),
            ("KEY", "$(privateKey)"),
            ("bad key", "x"),
            ("OPEN", "$(domain"),
        ]);
        let e = render(Some(&t), &vars()).unwrap_err();
        assert!(
            e.contains("secretTemplate.data.BAD uses $(clientSecrets), which is not a variable"),
            "{e}"
        );
        assert!(
            e.contains("secretTemplate.data.KEY uses $(privateKey), which only private-key JWT clients have"),
            "{e}"
        );
        assert!(e.contains("\"bad key\" is not a valid Secret key"), "{e}");
        assert!(
            e.contains("secretTemplate.data.OPEN has an unclosed $("),
            "{e}"
        );
        let meta = SecretTemplate {
            metadata: Some(SecretTemplateMetadata {
                labels: Some(BTreeMap::from([
                    ("app.kubernetes.io/managed-by".into(), "me".into()),
                    ("auth0.operator.dev/client".into(), "x".into()),
                ])),
                annotations: Some(BTreeMap::from([(
                    "auth0.operator.dev/credentials-hash".into(),
                    "forged".into(),
                )])),
            }),
            ..Default::default()
        };
        let problems = validate(&meta);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn hashes_change_with_what_they_cover_and_hide_the_secret() {
        let a = credentials_hash(&vars());
        let rotated = credentials_hash(&Variables {
            client_secret: "other",
            ..vars()
        });
        assert_ne!(a, rotated);
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
        assert!(!a.contains("s3cret"));
        let t = template(&[("A", "$(clientId)")]);
        assert_ne!(
            template_hash(Some(&t), "d", "c"),
            template_hash(None, "d", "c")
        );
        assert_ne!(
            template_hash(None, "d", "c"),
            template_hash(None, "d", "c2")
        );
    }
}
