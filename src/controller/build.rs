//! Pure functions: what Auth0 and Kubernetes should look like for a given spec, and the smallest
//! change that gets them there. No I/O here, so everything is unit-tested directly.
//!
//! Diff rules (the cure for Terraform's perpetual diffs):
//! * Only fields the user set are compared; Auth0's defaults for unset fields are left alone.
//! * URL lists, grant types, allowed clients and scopes are compared as sets.
//! * `jwtConfiguration` and `refreshToken` compare only the sub-fields the user set; when one
//!   differs, the object Auth0 has is sent back with the user's sub-fields laid over it.
//! * `clientMetadata`, when set, is authoritative for every key except the operator's own
//!   `k8s_operator_*` tags: missing keys are deleted (`key: null`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{Resource, ResourceExt, api::ObjectMeta};

use crate::{
    auth0::{
        AppType, Client, ClientCreate, ClientGrant, ClientGrantCreate, ClientGrantUpdate,
        ClientUpdate, JwtConfiguration, Patch, RefreshTokenConfig, ResourceServer,
        ResourceServerCreate, ResourceServerScope, ResourceServerUpdate,
    },
    crd::{
        Auth0Client, Auth0ClientGrantSpec, Auth0ClientGrantStatus, Auth0ClientSpec,
        Auth0ClientStatus, Auth0ResourceServerSpec, Auth0ResourceServerStatus,
        JwtConfiguration as JwtSpec, METADATA_OWNER_KEY, METADATA_UID_KEY, RefreshTokenSettings,
    },
};

use super::{MANAGED_BY_LABEL, MANAGED_BY_VALUE};
use crate::crd::rules;

/// Label on each credentials Secret naming the `Auth0Client` it belongs to.
pub const CLIENT_LABEL: &str = "auth0.operator.dev/client";

/// Checks Auth0 rules the CRD schema cannot express on every apiserver (CEL needs
/// Kubernetes ≥ 1.25) or at all. Returns one human sentence per problem.
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
    let method = super::credentials::method(spec);
    if let Some(t) = &spec.secret_template {
        problems.extend(super::template::validate(t, method));
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

/// The CRD's CEL rules for `Auth0ClientGrant`, enforced by the operator too (API servers before
/// 1.25 drop CEL rules silently): exactly one of `clientRef` and `clientId`, exactly one of
/// `audience` and `resourceServerRef`; all four immutable, checked against what the status
/// recorded when the grant was first synced. One sentence per problem.
pub fn validate_grant_spec(
    spec: &Auth0ClientGrantSpec,
    status: Option<&Auth0ClientGrantStatus>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    match (&spec.client_ref, &spec.client_id) {
        (Some(_), Some(_)) => problems.push(format!("{}, but both are", rules::GRANT_ONE_CLIENT)),
        (None, None) => problems.push(format!("{}, but neither is", rules::GRANT_ONE_CLIENT)),
        _ => {}
    }
    match (&spec.audience, &spec.resource_server_ref) {
        (Some(_), Some(_)) => problems.push(format!("{}, but both are", rules::GRANT_ONE_AUDIENCE)),
        (None, None) => problems.push(format!("{}, but neither is", rules::GRANT_ONE_AUDIENCE)),
        _ => {}
    }
    if let (Some(wanted), Some(managed)) = (
        spec.grant_id.as_deref(),
        status.and_then(|s| s.grant_id.as_deref()),
    ) && wanted != managed
    {
        problems.push(format!(
            "{}: this resource manages grant {managed}, not {wanted} (recreate the resource to adopt another grant)",
            rules::GRANT_ID_IMMUTABLE
        ));
    }
    // Only a status that recorded the audience recorded the client and API sources too.
    if let Some(status) = status
        && let Some(recorded) = status.audience.as_deref()
    {
        let grant = status.grant_id.as_deref().unwrap_or("(none yet)");
        match (&status.resource_server_ref, &spec.resource_server_ref) {
            (Some(old), Some(new)) if old.name != new.name => problems.push(format!(
                "{}: this resource manages grant {grant} for Auth0ResourceServer {} (to grant another API, create another Auth0ClientGrant)",
                rules::GRANT_RESOURCE_SERVER_REF_IMMUTABLE,
                old.name
            )),
            (Some(old), None) => problems.push(format!(
                "{}: this resource manages grant {grant} for Auth0ResourceServer {} and cannot switch to audience",
                rules::GRANT_RESOURCE_SERVER_REF_IMMUTABLE,
                old.name
            )),
            (None, Some(_)) => problems.push(format!(
                "{}: this resource manages grant {grant} for audience {recorded} and cannot switch to resourceServerRef",
                rules::GRANT_AUDIENCE_IMMUTABLE
            )),
            (None, None) if spec.audience.as_deref().is_some_and(|a| a != recorded) => {
                problems.push(format!(
                    "{}: this resource manages grant {grant} for audience {recorded} (to grant another API, create another Auth0ClientGrant)",
                    rules::GRANT_AUDIENCE_IMMUTABLE
                ));
            }
            _ => {}
        }
        match (&status.client_ref, &spec.client_ref) {
            (Some(old), Some(new)) if old.name != new.name => problems.push(format!(
                "{}: this resource was synced for Auth0Client {} (recreate the resource to authorize another client)",
                rules::GRANT_CLIENT_REF_IMMUTABLE,
                old.name
            )),
            (Some(old), None) => problems.push(format!(
                "{}: this resource was synced for Auth0Client {} and cannot switch to clientId",
                rules::GRANT_CLIENT_REF_IMMUTABLE,
                old.name
            )),
            (None, Some(_)) => problems.push(format!(
                "{}: this resource was synced with spec.clientId and cannot switch to clientRef",
                rules::GRANT_CLIENT_ID_IMMUTABLE
            )),
            (None, None) => {
                if let (Some(old), Some(new)) = (&status.client_id, &spec.client_id)
                    && old != new
                {
                    problems.push(format!(
                        "{}: this resource was synced for client {old} (recreate the resource to authorize another client)",
                        rules::GRANT_CLIENT_ID_IMMUTABLE
                    ));
                }
            }
            _ => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
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

/// Set equality of two string lists (order and duplicates ignored).
pub fn same_set(a: &[String], b: &[String]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

/// `Some(desired)` when the user set a value that differs from what Auth0 has.
fn changed<T: PartialEq + Clone>(desired: &Option<T>, observed: &Option<T>) -> Option<T> {
    match desired {
        Some(d) if observed.as_ref() != Some(d) => Some(d.clone()),
        _ => None,
    }
}

fn changed_set(
    desired: &Option<Vec<String>>,
    observed: &Option<Vec<String>>,
) -> Option<Vec<String>> {
    match desired {
        Some(d) if !same_set(d, observed.as_deref().unwrap_or_default()) => Some(d.clone()),
        _ => None,
    }
}

fn changed_str(desired: Option<&str>, observed: &Option<String>) -> Patch<String> {
    match desired {
        Some(d) if observed.as_deref() != Some(d) => Patch::Value(d.to_string()),
        _ => Patch::Absent,
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

/// Names of the fields a PATCH body sets (for events and logs; never values).
pub fn update_fields(update: &ClientUpdate) -> Vec<String> {
    match serde_json::to_value(update) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// `snake_case` (Auth0's field names) as `camelCase` (the CRDs').
pub fn camel_case(snake: &str) -> String {
    let mut name = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            name.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            name.push(c);
        }
    }
    name
}

/// The spec names (camelCase) of the Auth0 fields a PATCH body sets, for `status.drift`: the
/// operator's own `client_metadata` tags and the secret-method switch are named as the spec
/// fields that cause them.
pub fn spec_field_names(auth0_fields: &[String]) -> Vec<String> {
    let mut out: Vec<String> = auth0_fields
        .iter()
        .map(|f| match f.as_str() {
            "scope" => "scopes".to_string(),
            "client_authentication_methods" => "authentication".to_string(),
            other => camel_case(other),
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The `POST /api/v2/client-grants` body (`audience`: `spec.audience` or the identifier of the
/// referenced API).
pub fn grant_create(
    spec: &Auth0ClientGrantSpec,
    client_id: &str,
    audience: &str,
) -> ClientGrantCreate {
    let mut scopes: Vec<String> = spec
        .scopes
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    scopes.sort();
    ClientGrantCreate {
        client_id: client_id.to_string(),
        audience: audience.to_string(),
        scope: Some(scopes),
        organization_usage: spec.organization_usage.map(|o| o.as_str().to_string()),
        allow_any_organization: spec.allow_any_organization,
        subject_type: None,
    }
}

/// The smallest `PATCH /api/v2/client-grants/{id}` body; empty when the grant matches.
/// Scopes are always managed (the spec's list is the whole set).
pub fn grant_update(spec: &Auth0ClientGrantSpec, observed: &ClientGrant) -> ClientGrantUpdate {
    let scope = if same_set(&spec.scopes, observed.scope.as_deref().unwrap_or_default()) {
        Patch::Absent
    } else {
        let mut s: Vec<String> = spec
            .scopes
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        s.sort();
        Patch::Value(s)
    };
    ClientGrantUpdate {
        scope,
        organization_usage: changed_str(
            spec.organization_usage.map(|o| o.as_str()),
            &observed.organization_usage,
        ),
        allow_any_organization: match spec.allow_any_organization {
            Some(want) if observed.allow_any_organization.unwrap_or(false) != want => {
                Patch::Value(want)
            }
            _ => Patch::Absent,
        },
    }
}

/// Whether a grant is the one a spec describes: same client, same audience, subject type client.
pub fn grant_matches(g: &ClientGrant, client_id: &str, audience: &str) -> bool {
    g.client_id.as_deref() == Some(client_id)
        && g.audience == audience
        && g.subject_type.as_deref().unwrap_or("client") == "client"
}

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
    held: &super::credentials::Held,
) -> Result<Secret, String> {
    use super::template;
    let t = cr.spec.secret_template.as_ref();
    let method = super::credentials::method(&cr.spec);
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
    use super::template;
    let t = cr.spec.secret_template.as_ref();
    let method = super::credentials::method(&cr.spec);
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

// ---------------------------------------------------------------------------------------------
// Resource servers (APIs)
// ---------------------------------------------------------------------------------------------

/// The CRD's CEL rules for `Auth0ResourceServer` that need the old object (`identifier`
/// immutable, against what the status recorded) and the rules no schema states on every API
/// server (unique scope values). One sentence per problem.
pub fn validate_resource_server_spec(
    spec: &Auth0ResourceServerSpec,
    status: Option<&Auth0ResourceServerStatus>,
) -> Result<(), String> {
    let mut problems = Vec::new();
    if let Some(recorded) = status.and_then(|s| s.identifier.as_deref())
        && recorded != spec.identifier
    {
        let id = status
            .and_then(|s| s.id.as_deref())
            .unwrap_or("(being created)");
        problems.push(format!(
            "{}: this resource manages API {id} with identifier {recorded} (Auth0 cannot change an identifier; create another Auth0ResourceServer for another API)",
            rules::IDENTIFIER_IMMUTABLE
        ));
    }
    if let Some(scopes) = &spec.scopes {
        let mut seen = BTreeSet::new();
        let dup: BTreeSet<&str> = scopes
            .iter()
            .filter(|s| !seen.insert(s.value.as_str()))
            .map(|s| s.value.as_str())
            .collect();
        if !dup.is_empty() {
            problems.push(format!(
                "scopes must have unique values, but {} appear more than once",
                dup.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

fn scope_body(s: &crate::crd::Scope) -> ResourceServerScope {
    ResourceServerScope {
        value: s.value.clone(),
        description: s.description.clone().filter(|d| !d.is_empty()),
    }
}

/// The `POST /api/v2/resource-servers` body: the identifier and every field the user set.
pub fn resource_server_create(spec: &Auth0ResourceServerSpec) -> ResourceServerCreate {
    ResourceServerCreate {
        identifier: spec.identifier.clone(),
        settings: resource_server_settings(spec),
    }
}

/// Every setting the user set, as Auth0 names it.
fn resource_server_settings(spec: &Auth0ResourceServerSpec) -> ResourceServerUpdate {
    ResourceServerUpdate {
        name: spec.name.clone(),
        scopes: spec
            .scopes
            .as_ref()
            .map(|s| s.iter().map(scope_body).collect()),
        signing_alg: spec.signing_alg.map(|a| a.as_str().to_string()),
        token_lifetime: spec.token_lifetime,
        token_lifetime_for_web: spec.token_lifetime_for_web,
        allow_offline_access: spec.allow_offline_access,
        skip_consent_for_verifiable_first_party_clients: spec
            .skip_consent_for_verifiable_first_party_clients,
        enforce_policies: spec.enforce_policies,
        token_dialect: spec.token_dialect.map(|d| d.as_str().to_string()),
    }
}

/// Whether two scope lists define the same scopes with the same descriptions, in any order
/// (a missing description and an empty one are the same).
pub fn same_scopes(a: &[ResourceServerScope], b: &[ResourceServerScope]) -> bool {
    let norm = |l: &[ResourceServerScope]| -> BTreeMap<String, String> {
        l.iter()
            .map(|s| (s.value.clone(), s.description.clone().unwrap_or_default()))
            .collect()
    };
    a.len() == b.len() && norm(a) == norm(b)
}

/// The smallest `PATCH /api/v2/resource-servers/{id}` body: only fields the user set and Auth0
/// has otherwise; `scopes` (when managed) is the whole list, sent when the sets differ.
pub fn resource_server_update(
    spec: &Auth0ResourceServerSpec,
    observed: &ResourceServer,
) -> ResourceServerUpdate {
    let want = resource_server_settings(spec);
    let scopes = want.scopes.filter(|want| {
        let have = observed.scopes.clone().unwrap_or_default();
        !same_scopes(want, &have)
    });
    ResourceServerUpdate {
        name: changed(&want.name, &observed.name),
        scopes,
        signing_alg: changed(&want.signing_alg, &observed.signing_alg),
        token_lifetime: changed(&want.token_lifetime, &observed.token_lifetime),
        token_lifetime_for_web: changed(
            &want.token_lifetime_for_web,
            &observed.token_lifetime_for_web,
        ),
        allow_offline_access: changed(&want.allow_offline_access, &observed.allow_offline_access),
        skip_consent_for_verifiable_first_party_clients: changed(
            &want.skip_consent_for_verifiable_first_party_clients,
            &observed.skip_consent_for_verifiable_first_party_clients,
        ),
        enforce_policies: changed(&want.enforce_policies, &observed.enforce_policies),
        token_dialect: changed(&want.token_dialect, &observed.token_dialect),
    }
}

/// The names of the fields a resource-server PATCH sends.
pub fn resource_server_update_fields(update: &ResourceServerUpdate) -> Vec<String> {
    match serde_json::to_value(update) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => vec![],
    }
}

/// The requested scopes the API does not define, sorted.
pub fn unknown_scopes(requested: &[String], defined: &[ResourceServerScope]) -> Vec<String> {
    let defined: BTreeSet<&str> = defined.iter().map(|s| s.value.as_str()).collect();
    requested
        .iter()
        .filter(|s| !defined.contains(s.as_str()))
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{AppType as SpecAppType, OrganizationUsage, RotationType, SigningAlgorithm};
    use pretty_assertions::assert_eq;
    use serde_json::json;

    fn grant_spec(v: serde_json::Value) -> Auth0ClientGrantSpec {
        serde_json::from_value(v).unwrap()
    }

    fn grant_status(v: serde_json::Value) -> Auth0ClientGrantStatus {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn grant_rules_without_cel() {
        let aud = "https://api/";
        // Exactly one of clientRef and clientId.
        let both =
            grant_spec(json!({"clientRef": {"name": "a"}, "clientId": "c", "audience": aud}));
        let e = validate_grant_spec(&both, None).unwrap_err();
        assert!(
            e.contains("exactly one of clientRef and clientId") && e.contains("both"),
            "{e}"
        );
        let neither = grant_spec(json!({"audience": aud}));
        let e = validate_grant_spec(&neither, None).unwrap_err();
        assert!(e.contains("neither"), "{e}");
        let by_ref = grant_spec(json!({"clientRef": {"name": "a"}, "audience": aud}));
        assert!(validate_grant_spec(&by_ref, None).is_ok());

        // Immutability against the recorded status.
        let synced = grant_status(
            json!({"grantId": "cgr_1", "clientId": "c1", "audience": aud, "clientRef": {"name": "a"}}),
        );
        assert!(validate_grant_spec(&by_ref, Some(&synced)).is_ok());
        let moved = grant_spec(json!({"clientRef": {"name": "a"}, "audience": "https://other/"}));
        let e = validate_grant_spec(&moved, Some(&synced)).unwrap_err();
        assert!(
            e.contains("audience is immutable") && e.contains("cgr_1") && e.contains(aud),
            "{e}"
        );
        let other_ref = grant_spec(json!({"clientRef": {"name": "b"}, "audience": aud}));
        let e = validate_grant_spec(&other_ref, Some(&synced)).unwrap_err();
        assert!(e.contains("clientRef is immutable"), "{e}");
        let to_id = grant_spec(json!({"clientId": "c1", "audience": aud}));
        let e = validate_grant_spec(&to_id, Some(&synced)).unwrap_err();
        assert!(e.contains("cannot switch to clientId"), "{e}");

        let by_id = grant_status(json!({"grantId": "cgr_2", "clientId": "c1", "audience": aud}));
        assert!(validate_grant_spec(&to_id, Some(&by_id)).is_ok());
        let other_id = grant_spec(json!({"clientId": "c2", "audience": aud}));
        let e = validate_grant_spec(&other_id, Some(&by_id)).unwrap_err();
        assert!(
            e.contains("clientId is immutable") && e.contains("c1"),
            "{e}"
        );
        let e = validate_grant_spec(&by_ref, Some(&by_id)).unwrap_err();
        assert!(e.contains("cannot switch to clientRef"), "{e}");

        // A status written before the audience was recorded: nothing to compare with.
        let legacy = grant_status(json!({"grantId": "cgr_1", "clientId": "c1"}));
        assert!(validate_grant_spec(&moved, Some(&legacy)).is_ok());
        // Several problems are all named.
        let e = validate_grant_spec(
            &grant_spec(
                json!({"clientRef": {"name": "b"}, "clientId": "x", "audience": "https://other/"}),
            ),
            Some(&synced),
        )
        .unwrap_err();
        assert_eq!(e.matches("; ").count(), 2, "{e}");
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

    fn spec(v: serde_json::Value) -> Auth0ClientSpec {
        serde_json::from_value(v).unwrap()
    }

    fn observed(v: serde_json::Value) -> Client {
        serde_json::from_value(v).unwrap()
    }

    fn cr() -> Auth0Client {
        let mut c = Auth0Client::new("web", spec(json!({"name": "Web"})));
        c.metadata.namespace = Some("team-a".into());
        c.metadata.uid = Some("uid-1".into());
        c
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
        assert_eq!(update_fields(&u), vec!["description".to_string()]);
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
    fn grant_scopes_compare_as_sets() {
        let s: Auth0ClientGrantSpec = serde_json::from_value(
            json!({"clientId": "c", "audience": "https://api/", "scopes": ["b", "a"]}),
        )
        .unwrap();
        let g: ClientGrant = serde_json::from_value(json!({"id": "cgr_1", "client_id": "c", "audience": "https://api/", "scope": ["a", "b"]})).unwrap();
        assert!(grant_update(&s, &g).is_empty());
        let g2: ClientGrant = serde_json::from_value(
            json!({"id": "cgr_1", "client_id": "c", "audience": "https://api/", "scope": ["a"]}),
        )
        .unwrap();
        assert_eq!(
            serde_json::to_value(grant_update(&s, &g2)).unwrap(),
            json!({"scope": ["a", "b"]})
        );
        assert!(grant_matches(&g, "c", "https://api/"));
        assert!(!grant_matches(&g, "c", "https://other/"));
        let body = serde_json::to_value(grant_create(&s, "c", "https://api/")).unwrap();
        assert_eq!(
            body,
            json!({"client_id": "c", "audience": "https://api/", "scope": ["a", "b"]})
        );
    }

    fn holding(secret: &str) -> super::super::credentials::Held {
        super::super::credentials::Held {
            current: Some(super::super::template::Credential::Secret(secret.into())),
            ..Default::default()
        }
    }

    fn held_secret(s: &Secret, domain: &str, client_id: &str) -> Option<String> {
        super::super::credentials::Held::read(s, domain, client_id)
            .secret()
            .map(str::to_string)
    }

    #[test]
    fn a_grant_keeps_the_grant_it_adopted() {
        let spec: Auth0ClientGrantSpec = serde_json::from_value(
            json!({"clientId": "c", "audience": "https://api/", "grantId": "cgr_2"}),
        )
        .unwrap();
        let status = Auth0ClientGrantStatus {
            grant_id: Some("cgr_1".into()),
            ..Default::default()
        };
        let e = validate_grant_spec(&spec, Some(&status)).unwrap_err();
        assert!(
            e.contains(
                "grantId is immutable: it can only be set when the resource is created: this resource manages grant cgr_1, not cgr_2"
            ),
            "{e}"
        );
        let same = Auth0ClientGrantStatus {
            grant_id: Some("cgr_2".into()),
            ..Default::default()
        };
        assert_eq!(validate_grant_spec(&spec, Some(&same)), Ok(()));
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

    #[test]
    fn a_private_key_is_found_again_in_a_templated_secret() {
        use super::super::{credentials::Held, keys, template::Credential};
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
        assert!(ann[super::super::template::CREDENTIALS_HASH_ANNOTATION].starts_with("sha256:"));
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
