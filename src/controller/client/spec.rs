//! `Auth0Client`, pure: the operator's own checks of the spec, the create body and the smallest
//! patch that makes Auth0's application match the spec. No I/O, unit-tested directly.
//!
//! Diff rules (the cure for Terraform's perpetual diffs):
//! * Only fields the user set are compared; Auth0's defaults for unset fields are left alone.
//! * URL lists and grant types are compared as sets.
//! * `jwtConfiguration` and `refreshToken` compare only the sub-fields the user set; when one
//!   differs, the object Auth0 has is sent back with the user's sub-fields laid over it.
//! * `clientMetadata`, when set, is authoritative for every key except the operator's own
//!   `k8s_operator_*` tags: missing keys are deleted (`key: null`).

use std::collections::BTreeMap;

use kube::ResourceExt;

use crate::{
    auth0::{
        AppType, Client, ClientCreate, ClientUpdate, JwtConfiguration, Patch, RefreshTokenConfig,
    },
    crd::{
        Auth0Client, Auth0ClientSpec, Auth0ClientStatus, JwtConfiguration as JwtSpec,
        METADATA_OWNER_KEY, METADATA_UID_KEY, RefreshTokenSettings, rules,
    },
};

use crate::controller::diff::{changed, changed_set, changed_str};

pub fn validate_client_spec(spec: &Auth0ClientSpec) -> Result<(), String> {
    let mut problems = Vec::new();
    if spec.name.trim().is_empty() || spec.name.contains(['<', '>']) {
        problems.push("name must be non-empty and must not contain < or >".to_string());
    }
    if spec
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 140)
    {
        problems.push("description is longer than 140 characters".to_string());
    }
    if let Some(md) = &spec.client_metadata {
        if md.len() > 8 {
            problems.push(format!(
                "clientMetadata has {} keys; at most 8 are allowed",
                md.len()
            ));
        }
        for (k, v) in md {
            if k.starts_with("k8s_operator_") {
                problems.push(format!("{}: {k}", rules::CLIENT_METADATA_RESERVED));
            }
            if k.is_empty() || k.chars().count() > 255 || !k.chars().all(metadata_key_char) {
                problems.push(format!(
                    "clientMetadata key {k:?} must be 1-255 characters of letters, digits and :,-+=_*?\"/\\()<>@ space or tab"
                ));
            }
            if v.chars().count() > 255 {
                problems.push(format!(
                    "clientMetadata value of {k} is longer than 255 characters"
                ));
            }
        }
    }
    let public = spec.token_endpoint_auth_method == Some(crate::crd::TokenEndpointAuthMethod::None);
    if public
        && spec
            .grant_types
            .as_ref()
            .is_some_and(|g| g.iter().any(|t| t == "client_credentials"))
    {
        problems.push(rules::PUBLIC_APP_CLIENT_CREDENTIALS.to_string());
    }
    if spec
        .allowed_clients
        .iter()
        .flatten()
        .any(|c| c.trim().is_empty())
    {
        problems.push("allowedClients must not contain an empty client id".to_string());
    }
    if let Some(names) = &spec.connections {
        problems.extend(super::connections::validate(names));
    }
    let method = super::credentials::method(spec);
    if let Some(t) = &spec.secret_template {
        problems.extend(crate::controller::secret::template::validate(t, method));
    }
    problems.extend(validate_credential_lifecycle(spec));
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// The CRD's rules for `authentication` and `rotation` (CEL, which API servers before 1.25
/// drop): one sentence per problem.
fn validate_credential_lifecycle(spec: &Auth0ClientSpec) -> Vec<String> {
    use crate::crd::{AuthenticationMethod, parse_duration};
    let mut problems = Vec::new();
    let method = super::credentials::method(spec);
    if let Some(a) = &spec.authentication
        && a.algorithm.is_some()
        && method != AuthenticationMethod::PrivateKeyJwt
    {
        problems.push(rules::ALGORITHM_PRIVATE_KEY_JWT_ONLY.to_string());
    }
    if method == AuthenticationMethod::PrivateKeyJwt && spec.token_endpoint_auth_method.is_some() {
        problems.push(rules::AUTH_METHOD_WITH_PRIVATE_KEY_JWT.to_string());
    }
    if spec.management_policy == crate::crd::ManagementPolicy::Observe
        && (spec.rotation.is_some() || method == AuthenticationMethod::PrivateKeyJwt)
    {
        problems.push(rules::OBSERVE_CANNOT_ROTATE.to_string());
    }
    let Some(r) = &spec.rotation else {
        return problems;
    };
    let every = r.every.as_deref().map(|e| (e, parse_duration(e)));
    let overlap = r.overlap.as_deref().map(|o| (o, parse_duration(o)));
    for (field, value) in [("every", every), ("overlap", overlap)] {
        if let Some((text, None)) = value {
            problems.push(format!(
                "rotation.{field} {text:?} is not a duration such as 720h, 90m or 30s"
            ));
        }
    }
    if let Some((_, Some(e))) = every
        && e < std::time::Duration::from_secs(3600)
    {
        problems.push(rules::ROTATION_EVERY_AT_LEAST_1H.to_string());
    }
    if let (Some((_, Some(e))), Some((_, Some(o)))) = (every, overlap)
        && o >= e
    {
        problems.push(rules::ROTATION_OVERLAP_SHORTER.to_string());
    }
    if r.strategy.is_some() && method == AuthenticationMethod::PrivateKeyJwt {
        problems.push(rules::ROTATION_STRATEGY_CLIENT_SECRET_ONLY.to_string());
    }
    problems
}

/// The CRD's `clientId` rule (CEL: "clientId is immutable: it can only be set when the
/// resource is created"), checked against what the status recorded: a resource that created its
/// application cannot start adopting one, an adopting resource cannot stop naming its
/// application, and the adopted id cannot change.
pub fn validate_client_identity(
    spec: &Auth0ClientSpec,
    status: Option<&Auth0ClientStatus>,
) -> Result<(), String> {
    let Some(status) = status else { return Ok(()) };
    let Some(managed) = status.client_id.as_deref() else {
        return Ok(());
    };
    match (&spec.client_id, status.adopted) {
        (Some(id), _) if id != managed => Err(format!(
            "{}: spec.clientId {id} differs from the client {managed} this resource already manages (recreate the resource to adopt another client)",
            rules::CLIENT_ID_IMMUTABLE
        )),
        (Some(_), Some(false)) => Err(format!(
            "{}: spec.clientId was added, but this resource created its own Auth0 client {managed} (remove spec.clientId)",
            rules::CLIENT_ID_IMMUTABLE
        )),
        (None, Some(true)) => Err(format!(
            "{}: spec.clientId was removed, but this resource adopted the Auth0 client {managed} by id (put spec.clientId: {managed} back, or recreate the resource)",
            rules::CLIENT_ID_IMMUTABLE
        )),
        _ => Ok(()),
    }
}

fn metadata_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ":,-+=_*?\"/\\()<>@ \t".contains(c)
}

/// The operator's own `client_metadata` tags: the resource's UID (found again after a crash
/// between the create call and the status write) and `<namespace>/<name>` for humans.
pub fn ownership_tags(cr: &Auth0Client) -> BTreeMap<String, String> {
    BTreeMap::from([
        (METADATA_UID_KEY.to_string(), cr.uid().unwrap_or_default()),
        (
            METADATA_OWNER_KEY.to_string(),
            format!("{}/{}", cr.namespace().unwrap_or_default(), cr.name_any()),
        ),
    ])
}

fn jwt_body(j: &JwtSpec) -> JwtConfiguration {
    JwtConfiguration {
        lifetime_in_seconds: j.lifetime_in_seconds,
        secret_encoded: j.secret_encoded,
        alg: j.alg.map(|a| a.as_str().to_string()),
        scopes: None,
    }
}

fn refresh_body(r: &RefreshTokenSettings) -> RefreshTokenConfig {
    RefreshTokenConfig {
        rotation_type: r.rotation_type.as_str().to_string(),
        expiration_type: r.expiration_type.as_str().to_string(),
        leeway: r.leeway,
        token_lifetime: r.token_lifetime,
        idle_token_lifetime: r.idle_token_lifetime,
        infinite_token_lifetime: r.infinite_token_lifetime,
        infinite_idle_token_lifetime: r.infinite_idle_token_lifetime,
    }
}

/// The `POST /api/v2/clients` body for a spec, tagged with `tags`.
pub fn client_create(spec: &Auth0ClientSpec, tags: BTreeMap<String, String>) -> ClientCreate {
    let mut metadata = spec.client_metadata.clone().unwrap_or_default();
    metadata.extend(tags);
    ClientCreate {
        name: spec.name.clone(),
        description: spec.description.clone(),
        app_type: spec.app_type.map(|a| AppType::parse(a.as_str())),
        callbacks: spec.callbacks.clone(),
        allowed_logout_urls: spec.allowed_logout_urls.clone(),
        allowed_origins: spec.allowed_origins.clone(),
        web_origins: spec.web_origins.clone(),
        grant_types: spec.grant_types.clone(),
        token_endpoint_auth_method: spec
            .token_endpoint_auth_method
            .map(|m| m.as_str().to_string()),
        is_first_party: spec.is_first_party,
        oidc_conformant: spec.oidc_conformant,
        jwt_configuration: spec.jwt_configuration.as_ref().map(jwt_body),
        refresh_token: spec.refresh_token.as_ref().map(refresh_body),
        client_metadata: (!metadata.is_empty()).then_some(metadata),
        logo_uri: spec.logo_uri.clone(),
        initiate_login_uri: spec.initiate_login_uri.clone(),
        organization_usage: spec.organization_usage.map(|o| o.as_str().to_string()),
        organization_require_behavior: spec
            .organization_require_behavior
            .map(|o| o.as_str().to_string()),
        cross_origin_authentication: spec.cross_origin_authentication,
        cross_origin_loc: spec.cross_origin_loc.clone(),
        sso: spec.sso,
        sso_disabled: spec.sso_disabled,
        custom_login_page_on: spec.custom_login_page_on,
        require_pushed_authorization_requests: spec.require_pushed_authorization_requests,
        allowed_clients: spec.allowed_clients.clone(),
        client_aliases: None,
        resource_server_identifier: None,
    }
}

fn jwt_update(
    spec: &Option<JwtSpec>,
    observed: &Option<JwtConfiguration>,
) -> Option<JwtConfiguration> {
    let want = jwt_body(spec.as_ref()?);
    let mut merged = observed.clone().unwrap_or_default();
    let before = merged.clone();
    if want.lifetime_in_seconds.is_some() {
        merged.lifetime_in_seconds = want.lifetime_in_seconds;
    }
    if want.secret_encoded.is_some() {
        merged.secret_encoded = want.secret_encoded;
    }
    if want.alg.is_some() {
        merged.alg = want.alg;
    }
    (merged != before).then_some(merged)
}

fn refresh_update(
    spec: &Option<RefreshTokenSettings>,
    observed: &Option<RefreshTokenConfig>,
) -> Patch<RefreshTokenConfig> {
    let Some(spec) = spec else {
        return Patch::Absent;
    };
    let want = refresh_body(spec);
    let mut merged = observed.clone().unwrap_or_default();
    let before = merged.clone();
    merged.rotation_type = want.rotation_type;
    merged.expiration_type = want.expiration_type;
    macro_rules! overlay {
        ($($f:ident),*) => { $( if want.$f.is_some() { merged.$f = want.$f; } )* };
    }
    overlay!(
        leeway,
        token_lifetime,
        idle_token_lifetime,
        infinite_token_lifetime,
        infinite_idle_token_lifetime
    );
    if merged != before {
        Patch::Value(merged)
    } else {
        Patch::Absent
    }
}

fn metadata_update(
    desired: &Option<BTreeMap<String, String>>,
    tags: &BTreeMap<String, String>,
    observed: &Option<BTreeMap<String, String>>,
) -> Option<BTreeMap<String, Option<String>>> {
    let empty = BTreeMap::new();
    let observed = observed.as_ref().unwrap_or(&empty);
    let mut patch = BTreeMap::new();
    for (k, v) in desired.iter().flatten().chain(tags) {
        if observed.get(k) != Some(v) {
            patch.insert(k.clone(), Some(v.clone()));
        }
    }
    if let Some(desired) = desired {
        for k in observed.keys() {
            if !desired.contains_key(k) && !tags.contains_key(k) && !k.starts_with("k8s_operator_")
            {
                patch.insert(k.clone(), None);
            }
        }
    }
    (!patch.is_empty()).then_some(patch)
}

/// The smallest `PATCH /api/v2/clients/{id}` body that makes `observed` match `spec` (plus the
/// operator's `tags`, empty for adopted clients). Empty when nothing differs.
pub fn client_update(
    spec: &Auth0ClientSpec,
    tags: &BTreeMap<String, String>,
    observed: &Client,
) -> ClientUpdate {
    let mut update = ClientUpdate {
        name: (spec.name != observed.name).then(|| spec.name.clone()),
        description: changed(&spec.description, &observed.description),
        app_type: changed(
            &spec.app_type.map(|a| AppType::parse(a.as_str())),
            &observed.app_type,
        ),
        callbacks: changed_set(&spec.callbacks, &observed.callbacks),
        allowed_logout_urls: changed_set(&spec.allowed_logout_urls, &observed.allowed_logout_urls),
        allowed_origins: changed_set(&spec.allowed_origins, &observed.allowed_origins),
        web_origins: changed_set(&spec.web_origins, &observed.web_origins),
        grant_types: changed_set(&spec.grant_types, &observed.grant_types),
        token_endpoint_auth_method: changed_str(
            spec.token_endpoint_auth_method.map(|m| m.as_str()),
            &observed.token_endpoint_auth_method,
        ),
        is_first_party: changed(&spec.is_first_party, &observed.is_first_party),
        oidc_conformant: changed(&spec.oidc_conformant, &observed.oidc_conformant),
        jwt_configuration: jwt_update(&spec.jwt_configuration, &observed.jwt_configuration),
        refresh_token: refresh_update(&spec.refresh_token, &observed.refresh_token),
        client_metadata: metadata_update(&spec.client_metadata, tags, &observed.client_metadata),
        logo_uri: changed(&spec.logo_uri, &observed.logo_uri),
        initiate_login_uri: changed(&spec.initiate_login_uri, &observed.initiate_login_uri),
        organization_usage: changed_str(
            spec.organization_usage.map(|o| o.as_str()),
            &observed.organization_usage,
        ),
        organization_require_behavior: changed_str(
            spec.organization_require_behavior.map(|o| o.as_str()),
            &observed.organization_require_behavior,
        ),
        cross_origin_authentication: changed(
            &spec.cross_origin_authentication,
            &observed.cross_origin_authentication,
        ),
        cross_origin_loc: changed_str(spec.cross_origin_loc.as_deref(), &observed.cross_origin_loc),
        sso: changed(&spec.sso, &observed.sso),
        sso_disabled: changed(&spec.sso_disabled, &observed.sso_disabled),
        custom_login_page_on: changed(&spec.custom_login_page_on, &observed.custom_login_page_on),
        require_pushed_authorization_requests: changed(
            &spec.require_pushed_authorization_requests,
            &observed.require_pushed_authorization_requests,
        ),
        allowed_clients: changed_set(&spec.allowed_clients, &observed.allowed_clients),
        client_aliases: None,
        client_secret: None,
        client_authentication_methods: Patch::Absent,
    };
    // Back from private-key JWT to a client secret: Auth0 takes neither both methods nor none,
    // so the key list goes with a token endpoint method in one PATCH.
    let uses_keys = observed
        .client_authentication_methods
        .as_ref()
        .and_then(|m| m.private_key_jwt.as_ref())
        .is_some();
    if uses_keys
        && super::credentials::method(spec) == crate::crd::AuthenticationMethod::ClientSecret
    {
        update.client_authentication_methods = Patch::Null;
        update.token_endpoint_auth_method = Patch::Value(
            spec.token_endpoint_auth_method
                .map_or("client_secret_post", |m| m.as_str())
                .to_string(),
        );
    }
    update
}

/// Test fixtures, shared with other modules' tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::crd::{Auth0Client, Auth0ClientSpec};
    use serde_json::json;

    pub(crate) fn spec(v: serde_json::Value) -> Auth0ClientSpec {
        serde_json::from_value(v).unwrap()
    }

    /// An `Auth0Client` with a namespace and a UID (what ownership tags and Secrets need).
    pub(crate) fn cr() -> Auth0Client {
        let mut c = Auth0Client::new("web", spec(json!({"name": "Web"})));
        c.metadata.namespace = Some("team-a".into());
        c.metadata.uid = Some("uid-1".into());
        c
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{cr, spec};
    use super::*;
    use crate::crd::{AppType as SpecAppType, OrganizationUsage, RotationType, SigningAlgorithm};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn observed(v: serde_json::Value) -> Client {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn client_id_can_only_be_set_at_creation() {
        let status =
            |v: serde_json::Value| -> Auth0ClientStatus { serde_json::from_value(v).unwrap() };
        let created = status(json!({"clientId": "c1", "adopted": false}));
        let adopted = status(json!({"clientId": "c1", "adopted": true}));
        let plain = spec(json!({"name": "W"}));
        let with_c1 = spec(json!({"name": "W", "clientId": "c1"}));
        let with_c2 = spec(json!({"name": "W", "clientId": "c2"}));
        assert!(validate_client_identity(&plain, None).is_ok());
        assert!(validate_client_identity(&with_c1, None).is_ok());
        assert!(validate_client_identity(&plain, Some(&created)).is_ok());
        assert!(validate_client_identity(&with_c1, Some(&adopted)).is_ok());
        let e = validate_client_identity(&with_c1, Some(&created)).unwrap_err();
        assert!(e.contains("was added"), "{e}");
        let e = validate_client_identity(&plain, Some(&adopted)).unwrap_err();
        assert!(e.contains("was removed") && e.contains("c1"), "{e}");
        let e = validate_client_identity(&with_c2, Some(&adopted)).unwrap_err();
        assert!(e.contains("differs"), "{e}");
        // Without the recorded origin only a different id is certain.
        let legacy = status(json!({"clientId": "c1"}));
        assert!(validate_client_identity(&plain, Some(&legacy)).is_ok());
        assert!(validate_client_identity(&with_c1, Some(&legacy)).is_ok());
        assert!(validate_client_identity(&with_c2, Some(&legacy)).is_err());
    }

    #[test]
    fn create_body_carries_only_what_the_user_set_plus_tags() {
        let s = spec(
            json!({"name": "Web", "appType": "spa", "callbacks": ["https://a/cb"], "clientMetadata": {"team": "a"}}),
        );
        let body = serde_json::to_value(client_create(&s, ownership_tags(&cr()))).unwrap();
        assert_eq!(
            body,
            json!({
                "name": "Web", "app_type": "spa", "callbacks": ["https://a/cb"],
                "client_metadata": {"team": "a", "k8s_operator_uid": "uid-1", "k8s_operator_owner": "team-a/web"}
            })
        );
    }

    #[test]
    fn server_defaults_for_unset_fields_are_not_a_diff() {
        let s = spec(json!({"name": "Web", "appType": "regular_web"}));
        let o = observed(json!({
            "client_id": "abc", "name": "Web", "app_type": "regular_web",
            "grant_types": ["authorization_code", "implicit", "refresh_token", "client_credentials"],
            "jwt_configuration": {"lifetime_in_seconds": 36000, "secret_encoded": false},
            "refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring"},
            "is_first_party": true, "oidc_conformant": false, "custom_login_page_on": true,
            "client_metadata": {"dashboard-key": "kept"}
        }));
        let u = client_update(&s, &BTreeMap::new(), &o);
        assert!(
            u.is_empty(),
            "unexpected diff: {}",
            serde_json::to_string(&u).unwrap()
        );
    }

    #[test]
    fn lists_compare_as_sets() {
        let s = spec(
            json!({"name": "Web", "callbacks": ["https://b", "https://a"], "grantTypes": ["refresh_token", "authorization_code"]}),
        );
        let o = observed(
            json!({"client_id": "x", "name": "Web", "callbacks": ["https://a", "https://b"], "grant_types": ["authorization_code", "refresh_token"]}),
        );
        assert!(client_update(&s, &BTreeMap::new(), &o).is_empty());
        let o2 = observed(
            json!({"client_id": "x", "name": "Web", "callbacks": ["https://a"], "grant_types": ["authorization_code", "refresh_token"]}),
        );
        let u = client_update(&s, &BTreeMap::new(), &o2);
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            json!({"callbacks": ["https://b", "https://a"]})
        );
    }

    #[test]
    fn one_changed_field_gives_a_one_field_patch() {
        let s = spec(json!({"name": "Web", "description": "new", "logoUri": "https://l"}));
        let o = observed(
            json!({"client_id": "x", "name": "Web", "description": "old", "logo_uri": "https://l"}),
        );
        let u = client_update(&s, &BTreeMap::new(), &o);
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            json!({"description": "new"})
        );
        assert_eq!(
            crate::controller::diff::sent_fields(&u),
            vec!["description".to_string()]
        );
    }

    #[test]
    fn nested_objects_overlay_user_fields_on_what_auth0_has() {
        let s = Auth0ClientSpec {
            name: "Web".into(),
            jwt_configuration: Some(JwtSpec {
                alg: Some(SigningAlgorithm::RS256),
                ..Default::default()
            }),
            refresh_token: Some(RefreshTokenSettings {
                rotation_type: RotationType::Rotating,
                expiration_type: crate::crd::ExpirationType::Expiring,
                leeway: None,
                token_lifetime: Some(3600),
                idle_token_lifetime: None,
                infinite_token_lifetime: Some(false),
                infinite_idle_token_lifetime: None,
            }),
            ..Default::default()
        };
        let o = observed(json!({
            "client_id": "x", "name": "Web",
            "jwt_configuration": {"lifetime_in_seconds": "36000", "secret_encoded": false},
            "refresh_token": {"rotation_type": "non-rotating", "expiration_type": "non-expiring", "leeway": 0,
                "token_lifetime": 2592000, "idle_token_lifetime": 1296000, "infinite_token_lifetime": true, "infinite_idle_token_lifetime": true}
        }));
        let u = serde_json::to_value(client_update(&s, &BTreeMap::new(), &o)).unwrap();
        assert_eq!(
            u["jwt_configuration"],
            json!({"lifetime_in_seconds": 36000, "secret_encoded": false, "alg": "RS256"})
        );
        assert_eq!(
            u["refresh_token"],
            json!({"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0, "token_lifetime": 3600,
                "idle_token_lifetime": 1296000, "infinite_token_lifetime": false, "infinite_idle_token_lifetime": true})
        );
    }

    #[test]
    fn metadata_is_authoritative_when_set_but_keeps_operator_tags() {
        let s = spec(json!({"name": "Web", "clientMetadata": {"team": "a"}}));
        let tags = ownership_tags(&cr());
        let o = observed(json!({"client_id": "x", "name": "Web", "client_metadata": {
            "team": "b", "old": "x", "k8s_operator_uid": "uid-1", "k8s_operator_owner": "team-a/web"}}));
        let u = serde_json::to_value(client_update(&s, &tags, &o)).unwrap();
        assert_eq!(u, json!({"client_metadata": {"team": "a", "old": null}}));
        // Unset metadata: only the tags are ensured.
        let s2 = spec(json!({"name": "Web"}));
        let o2 =
            observed(json!({"client_id": "x", "name": "Web", "client_metadata": {"dash": "y"}}));
        let u2 = serde_json::to_value(client_update(&s2, &tags, &o2)).unwrap();
        assert_eq!(
            u2,
            json!({"client_metadata": {"k8s_operator_uid": "uid-1", "k8s_operator_owner": "team-a/web"}})
        );
    }

    #[test]
    fn enums_map_to_wire_values() {
        let s = Auth0ClientSpec {
            name: "Web".into(),
            app_type: Some(SpecAppType::NonInteractive),
            organization_usage: Some(OrganizationUsage::Require),
            ..Default::default()
        };
        let o = observed(json!({"client_id": "x", "name": "Web", "app_type": "spa"}));
        let u = serde_json::to_value(client_update(&s, &BTreeMap::new(), &o)).unwrap();
        assert_eq!(
            u,
            json!({"app_type": "non_interactive", "organization_usage": "require"})
        );
    }

    #[test]
    fn validation_names_each_problem() {
        let s = spec(
            json!({"name": "Web", "tokenEndpointAuthMethod": "none", "grantTypes": ["client_credentials"],
            "clientMetadata": {"k8s_operator_x": "1", "bad.key": "2"}}),
        );
        let e = validate_client_spec(&s).unwrap_err();
        assert!(e.contains("reserved"), "{e}");
        assert!(e.contains("bad.key"), "{e}");
        assert!(e.contains("client_credentials"), "{e}");
        assert!(validate_client_spec(&spec(json!({"name": "Web"}))).is_ok());
    }

    #[test]
    fn the_lifecycle_rules_are_the_operators_too() {
        let check = |spec: serde_json::Value| {
            let mut spec = spec;
            spec["name"] = json!("A");
            let spec: Auth0ClientSpec = serde_json::from_value(spec).unwrap();
            validate_client_spec(&spec).err().unwrap_or_default()
        };
        for ok in [
            json!({"authentication": {"method": "privateKeyJwt", "algorithm": "PS256"},
                   "rotation": {"every": "720h", "overlap": "24h"}}),
            json!({"rotation": {"every": "1h", "overlap": "0s", "strategy": "Immediate"}}),
            json!({"rotation": {"every": "2h30m"}}),
        ] {
            assert_eq!(check(ok.clone()), "", "{ok}");
        }
        for (bad, message) in [
            (
                json!({"authentication": {"algorithm": "RS256"}}),
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
                json!({"rotation": {"every": "2h", "overlap": "2h"}}),
                "rotation.overlap must be shorter than rotation.every",
            ),
            (
                json!({"rotation": {"overlap": "1.5h"}}),
                "rotation.overlap \"1.5h\" is not a duration",
            ),
            (
                json!({"authentication": {"method": "privateKeyJwt"}, "secretTemplate": {"data": {"S": "$(clientSecret)"}}}),
                "private-key JWT clients do not have",
            ),
        ] {
            let e = check(bad.clone());
            assert!(e.contains(message), "{bad}: {e}");
        }
    }
}
