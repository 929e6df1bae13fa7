//! `spec.secretTemplate`: the credentials Secret's keys rendered from `$(variable)` references
//! (Kubernetes' own syntax, so Helm and Argo CD users need no escaping; `$$` is a literal `$`).
//! Pure: parsing, validation, rendering and the hashes the Secret carries.

use std::collections::BTreeMap;

use crate::controller::client::keys::KeyPair;
use crate::crd::rules;
use crate::crd::{AuthenticationMethod, KeyAlgorithm, SECRET_TEMPLATE_VARIABLES, SecretTemplate};

/// Secret key for the tenant domain.
pub const SECRET_KEY_DOMAIN: &str = "AUTH0_DOMAIN";
/// Secret key for the client id.
pub const SECRET_KEY_CLIENT_ID: &str = "AUTH0_CLIENT_ID";
/// Secret key for the client secret.
pub const SECRET_KEY_CLIENT_SECRET: &str = "AUTH0_CLIENT_SECRET";
/// Secret key for a private-key JWT client's private key (PKCS#8 PEM).
pub const SECRET_KEY_PRIVATE_KEY: &str = "AUTH0_PRIVATE_KEY";
/// Secret key for the `kid` of that key (Auth0's credential key id).
pub const SECRET_KEY_KEY_ID: &str = "AUTH0_KEY_ID";
/// Secret key for the algorithm client assertions are signed with.
pub const SECRET_KEY_SIGNING_ALG: &str = "AUTH0_SIGNING_ALG";

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
/// Variables only a client-secret client has.
const SECRET_VARIABLES: [&str; 1] = ["clientSecret"];

/// Secret keys the operator adds beside the rendered ones during a rotation (a template
/// cannot use them): the next client secret (`Staged`), and a private key generated but not
/// yet registered with Auth0 (a dot file where the Secret is mounted; never for workloads).
pub const NEXT_SECRET_KEY: &str = "AUTH0_CLIENT_SECRET_NEXT";
pub const PENDING_KEY_KEY: &str = ".auth0-operator-pending-key";

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
pub fn validate(t: &SecretTemplate, method: AuthenticationMethod) -> Vec<String> {
    let mut problems = Vec::new();
    for (key, value) in t.data.iter().flatten() {
        if !valid_key(key) {
            problems.push(format!(
                "{} and be at most 253 characters long: {key:?} is not",
                rules::TEMPLATE_DATA_KEYS
            ));
        }
        if key == NEXT_SECRET_KEY || key == PENDING_KEY_KEY {
            problems.push(format!(
                "secretTemplate.data cannot set {key}: the operator writes it during rotations"
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
                            "{}: secretTemplate.data.{key} uses $({name})",
                            rules::TEMPLATE_VARIABLES
                        ));
                    } else if method == AuthenticationMethod::ClientSecret
                        && PRIVATE_KEY_VARIABLES.contains(&name)
                    {
                        problems.push(format!(
                            "{}: secretTemplate.data.{key} uses $({name}), which only private-key JWT clients have; this client authenticates with a client secret",
                            rules::TEMPLATE_VARIABLES_OF_METHOD
                        ));
                    } else if method == AuthenticationMethod::PrivateKeyJwt
                        && SECRET_VARIABLES.contains(&name)
                    {
                        problems.push(format!(
                            "{}: secretTemplate.data.{key} uses $({name}), which private-key JWT clients do not have (authentication.method is privateKeyJwt)",
                            rules::TEMPLATE_VARIABLES_OF_METHOD
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
        if key == crate::controller::MANAGED_BY_LABEL || key.starts_with(OPERATOR_KEY_PREFIX) {
            problems.push(format!("{}: {key}", rules::TEMPLATE_LABELS));
        }
    }
    for key in meta
        .and_then(|m| m.annotations.as_ref())
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        if key.starts_with(OPERATOR_KEY_PREFIX) {
            problems.push(format!("{}: {key}", rules::TEMPLATE_ANNOTATIONS));
        }
        if kubernetes_owned(key) {
            problems.push(format!("{}: {key}", rules::TEMPLATE_KUBERNETES_ANNOTATIONS));
        }
    }
    if let Some(ty) = t.type_.as_deref()
        && ty != "Opaque"
        && kubernetes_owned(ty)
    {
        problems.push(format!("{}: {ty}", rules::TEMPLATE_TYPE));
    }
    problems
}

/// Whether `key` (an annotation key or a Secret type) is under `kubernetes.io/` or `k8s.io/`,
/// or a subdomain of them: Kubernetes acts on those.
fn kubernetes_owned(key: &str) -> bool {
    ["kubernetes.io/", "k8s.io/"]
        .iter()
        .any(|p| key.starts_with(p) || key.contains(&format!(".{p}")))
}

/// What a workload authenticates with: a client secret, or a private key (with the algorithm
/// its assertions are signed with). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub enum Credential {
    Secret(String),
    Key { pair: KeyPair, alg: KeyAlgorithm },
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Secret(_) => f.write_str("Secret([redacted])"),
            Self::Key { pair, alg } => write!(f, "Key({}, {})", pair.kid, alg.as_str()),
        }
    }
}

impl Credential {
    /// The method this credential belongs to.
    pub fn method(&self) -> AuthenticationMethod {
        match self {
            Self::Secret(_) => AuthenticationMethod::ClientSecret,
            Self::Key { .. } => AuthenticationMethod::PrivateKeyJwt,
        }
    }
}

/// The values a template can use.
#[derive(Debug)]
pub struct Variables<'a> {
    pub domain: &'a str,
    pub client_id: &'a str,
    pub credential: &'a Credential,
}

impl Variables<'_> {
    fn all(&self) -> BTreeMap<&'static str, String> {
        let base = format!("https://{}/", self.domain);
        let mut out = BTreeMap::from([
            ("clientId", self.client_id.to_string()),
            ("domain", self.domain.to_string()),
            ("issuer", base.clone()),
            ("tokenEndpoint", format!("{base}oauth/token")),
            ("jwksUri", format!("{base}.well-known/jwks.json")),
        ]);
        match self.credential {
            Credential::Secret(s) => {
                out.insert("clientSecret", s.clone());
            }
            Credential::Key { pair, alg } => {
                out.insert("privateKey", pair.private_pem.clone());
                out.insert("keyId", pair.kid.clone());
                out.insert("algorithm", alg.as_str().to_string());
            }
        }
        out
    }
}

/// The Secret's data: the template's keys rendered (all of them, or an error naming what is
/// wrong), or without `data` the three default keys.
pub fn render(
    t: Option<&SecretTemplate>,
    vars: &Variables<'_>,
) -> Result<BTreeMap<String, String>, String> {
    let Some(data) = t.and_then(|t| t.data.as_ref()) else {
        let mut out = BTreeMap::from([
            (SECRET_KEY_DOMAIN.into(), vars.domain.into()),
            (SECRET_KEY_CLIENT_ID.into(), vars.client_id.into()),
        ]);
        match vars.credential {
            Credential::Secret(s) => {
                out.insert(SECRET_KEY_CLIENT_SECRET.into(), s.clone());
            }
            Credential::Key { pair, alg } => {
                out.insert(SECRET_KEY_PRIVATE_KEY.into(), pair.private_pem.clone());
                out.insert(SECRET_KEY_KEY_ID.into(), pair.kid.clone());
                out.insert(SECRET_KEY_SIGNING_ALG.into(), alg.as_str().into());
            }
        }
        return Ok(out);
    };
    if let Some(t) = t {
        let problems = validate(t, vars.credential.method());
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
                Piece::Var(name) => rendered.push_str(values.get(name).ok_or_else(|| {
                    format!("$({name}) is not a variable of this client's authentication method")
                })?),
            }
        }
        out.insert(key.clone(), rendered);
    }
    Ok(out)
}

/// The keys the Secret holds for this template and authentication method.
pub fn keys(t: Option<&SecretTemplate>, method: AuthenticationMethod) -> Vec<String> {
    match (t.and_then(|t| t.data.as_ref()), method) {
        (Some(data), _) => data.keys().cloned().collect(),
        (None, AuthenticationMethod::ClientSecret) => vec![
            SECRET_KEY_DOMAIN.into(),
            SECRET_KEY_CLIENT_ID.into(),
            SECRET_KEY_CLIENT_SECRET.into(),
        ],
        (None, AuthenticationMethod::PrivateKeyJwt) => vec![
            SECRET_KEY_DOMAIN.into(),
            SECRET_KEY_CLIENT_ID.into(),
            SECRET_KEY_PRIVATE_KEY.into(),
            SECRET_KEY_KEY_ID.into(),
            SECRET_KEY_SIGNING_ALG.into(),
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

/// The value of [`CREDENTIALS_HASH_ANNOTATION`]: changes with the domain, client id or
/// credential (secret; key and algorithm).
pub fn credentials_hash(vars: &Variables<'_>) -> String {
    let (d, c) = (vars.domain.as_bytes(), vars.client_id.as_bytes());
    let hex = match vars.credential {
        Credential::Secret(s) => sha256_hex(&[d, c, s.as_bytes()]),
        Credential::Key { pair, alg } => sha256_hex(&[
            d,
            c,
            b"private_key_jwt",
            pair.private_pem.as_bytes(),
            alg.as_str().as_bytes(),
        ]),
    };
    format!("sha256:{hex}")
}

/// The value of [`TEMPLATE_HASH_ANNOTATION`]: what the Secret is rendered from, credential
/// aside (template, domain, client id, and the method when it is not the default).
pub fn template_hash(
    t: Option<&SecretTemplate>,
    domain: &str,
    client_id: &str,
    method: AuthenticationMethod,
) -> String {
    let t = serde_json::to_string(&t).expect("a template serializes");
    let mut parts: Vec<&[u8]> = vec![t.as_bytes(), domain.as_bytes(), client_id.as_bytes()];
    if method == AuthenticationMethod::PrivateKeyJwt {
        parts.push(b"private_key_jwt");
    }
    format!("sha256:{}", sha256_hex(&parts))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::SecretTemplateMetadata;

    fn secret() -> &'static Credential {
        static S: std::sync::OnceLock<Credential> = std::sync::OnceLock::new();
        S.get_or_init(|| Credential::Secret("s3cret".into()))
    }

    fn vars() -> Variables<'static> {
        Variables {
            domain: "acme.eu.auth0.com",
            client_id: "cid",
            credential: secret(),
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
            e.contains(&format!(
                "{}: secretTemplate.data.BAD uses $(clientSecrets)",
                rules::TEMPLATE_VARIABLES
            )),
            "{e}"
        );
        assert!(
            e.contains(&format!(
                "{}: secretTemplate.data.KEY uses $(privateKey), which only private-key JWT clients have",
                rules::TEMPLATE_VARIABLES_OF_METHOD
            )),
            "{e}"
        );
        assert!(
            e.contains(&format!(
                "{} and be at most 253 characters long: \"bad key\" is not",
                rules::TEMPLATE_DATA_KEYS
            )),
            "{e}"
        );
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
        let problems = validate(&meta, AuthenticationMethod::ClientSecret);
        assert_eq!(problems.len(), 3, "{problems:?}");
    }

    #[test]
    fn the_secret_never_becomes_one_kubernetes_acts_on() {
        let with = |ty: Option<&str>, annotation: &str| SecretTemplate {
            type_: ty.map(String::from),
            metadata: Some(SecretTemplateMetadata {
                annotations: Some(BTreeMap::from([(annotation.into(), "x".into())])),
                ..Default::default()
            }),
            ..Default::default()
        };
        let problems = |t: &SecretTemplate| validate(t, AuthenticationMethod::ClientSecret);
        // A service-account token Secret, filled by the cluster's token controller: refused.
        let attack = with(
            Some("kubernetes.io/service-account-token"),
            "kubernetes.io/service-account.name",
        );
        assert_eq!(
            problems(&attack),
            vec![
                format!(
                    "{}: kubernetes.io/service-account.name",
                    rules::TEMPLATE_KUBERNETES_ANNOTATIONS
                ),
                format!(
                    "{}: kubernetes.io/service-account-token",
                    rules::TEMPLATE_TYPE
                ),
            ]
        );
        for refused in [
            "bootstrap.kubernetes.io/token",
            "kubernetes.io/tls",
            "k8s.io/anything",
        ] {
            assert_eq!(problems(&with(Some(refused), "ok")).len(), 1, "{refused}");
        }
        assert_eq!(problems(&with(None, "x.k8s.io/y")).len(), 1);
        // Opaque, types and annotations of other domains: fine.
        for ok in ["Opaque", "example.com/auth0-credentials"] {
            assert!(problems(&with(Some(ok), "reloader.stakater.com/match")).is_empty());
        }
        assert!(problems(&with(None, "app.kubernetes.io.example/x")).is_empty());
    }

    #[test]
    fn hashes_change_with_what_they_cover_and_hide_the_secret() {
        let a = credentials_hash(&vars());
        let other = Credential::Secret("other".into());
        let rotated = credentials_hash(&Variables {
            credential: &other,
            ..vars()
        });
        assert_ne!(a, rotated);
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
        assert!(!a.contains("s3cret"));
        let t = template(&[("A", "$(clientId)")]);
        let cs = AuthenticationMethod::ClientSecret;
        assert_ne!(
            template_hash(Some(&t), "d", "c", cs),
            template_hash(None, "d", "c", cs)
        );
        assert_ne!(
            template_hash(None, "d", "c", cs),
            template_hash(None, "d", "c2", cs)
        );
        assert_ne!(
            template_hash(None, "d", "c", cs),
            template_hash(None, "d", "c", AuthenticationMethod::PrivateKeyJwt)
        );
    }

    #[test]
    fn a_private_key_client_renders_its_key_and_not_a_secret() {
        let pair = crate::controller::client::keys::generate();
        let cred = Credential::Key {
            pair: pair.clone(),
            alg: KeyAlgorithm::PS256,
        };
        let vars = Variables {
            domain: "d.example",
            client_id: "cid",
            credential: &cred,
        };
        let out = render(None, &vars).unwrap();
        assert_eq!(
            out.keys().collect::<Vec<_>>(),
            [
                "AUTH0_CLIENT_ID",
                "AUTH0_DOMAIN",
                "AUTH0_KEY_ID",
                "AUTH0_PRIVATE_KEY",
                "AUTH0_SIGNING_ALG"
            ]
        );
        assert_eq!(out["AUTH0_PRIVATE_KEY"], pair.private_pem);
        assert_eq!(out["AUTH0_KEY_ID"], pair.kid);
        assert_eq!(out["AUTH0_SIGNING_ALG"], "PS256");
        let t = template(&[("k", "$(keyId)/$(algorithm)"), ("j", "$(json)")]);
        let out = render(Some(&t), &vars).unwrap();
        assert_eq!(out["k"], format!("{}/PS256", pair.kid));
        let json: serde_json::Value = serde_json::from_str(&out["j"]).unwrap();
        assert_eq!(json["privateKey"], pair.private_pem.as_str());
        assert!(json.get("clientSecret").is_none());
        let t = template(&[("s", "$(clientSecret)")]);
        let e = render(Some(&t), &vars).unwrap_err();
        assert!(e.contains("private-key JWT clients do not have"), "{e}");
        assert_eq!(
            validate(
                &template(&[("AUTH0_CLIENT_SECRET_NEXT", "x")]),
                cred.method()
            )
            .len(),
            1
        );
        // A different algorithm is a different credential.
        let other = Credential::Key {
            pair,
            alg: KeyAlgorithm::RS256,
        };
        assert_ne!(
            credentials_hash(&vars),
            credentials_hash(&Variables {
                credential: &other,
                ..vars
            })
        );
    }
}
