//! Tenants: one Auth0 client (token cache + rate limiter) and one listing inventory per tenant,
//! shared by every object of that tenant; resolution of a resource's `tenantRef`; and the
//! controller that verifies `Auth0Tenant`/`ClusterAuth0Tenant` objects.
//!
//! A tenant is *usable* once the tenant controller verified its credentials with Auth0 (or, for
//! the default tenant from the environment, from the start). Resolution never calls Auth0: a
//! missing, unverified or forbidden tenant is a reason on the resource (`TenantNotFound`,
//! `TenantNotReady`, `TenantNotAllowed`), and the resource is woken when the tenant becomes ready.

use std::{sync::Arc, time::Duration};

use k8s_openapi::{
    api::core::v1::{Namespace, Secret},
    apimachinery::pkg::apis::meta::v1::{Condition, LabelSelector},
};
use kube::{
    Api, Resource, ResourceExt,
    runtime::{controller::Action, events::EventType, reflector::Store},
};
use tracing::{info, warn};

pub mod plan;

pub mod registry;

use plan::{ApplyPlan, CleanupPlan, Facts, Refusal, Verdict};
pub use plan::{
    Rights, TenantReason, TenantScope, TenantSpecView, domain_allowed, rights, tenant_config,
};
pub use registry::{Tenant, Tenants};

use super::{Context, Error, status};
use crate::{
    auth0::{Auth0Error, missing_scopes},
    crd::{
        AllowedNamespaces, Auth0Tenant, Auth0TenantStatus, CONDITION_READY, ClusterAuth0Tenant,
        DEFAULT_TENANT_KEY, TenantKind, TenantRef,
    },
};

/// The key of the tenant a resource in `namespace` with `tenant_ref` uses.
pub fn tenant_key(namespace: &str, tenant_ref: Option<&TenantRef>) -> String {
    match tenant_ref {
        None => DEFAULT_TENANT_KEY.to_string(),
        Some(r) => r.key(namespace),
    }
}

/// Whether `selector` matches `labels` (matchLabels and matchExpressions).
pub fn selector_matches(
    selector: &LabelSelector,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    let labels_ok = selector
        .match_labels
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let exprs_ok = selector.match_expressions.iter().flatten().all(|e| {
        let values = e.values.clone().unwrap_or_default();
        match e.operator.as_str() {
            "In" => labels.get(&e.key).is_some_and(|v| values.contains(v)),
            "NotIn" => labels.get(&e.key).is_none_or(|v| !values.contains(v)),
            "Exists" => labels.contains_key(&e.key),
            "DoesNotExist" => !labels.contains_key(&e.key),
            _ => false,
        }
    });
    labels_ok && exprs_ok
}

/// Whether `allowed` admits `namespace` (with these labels).
pub fn namespace_allowed(
    allowed: Option<&AllowedNamespaces>,
    namespace: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    match allowed {
        None => true,
        Some(a) => {
            a.names.iter().any(|n| n == namespace)
                || a.selector
                    .as_ref()
                    .is_some_and(|s| selector_matches(s, labels))
        }
    }
}

fn ready_of(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == CONDITION_READY)
}

fn not_ready_message(what: &str, conditions: &[Condition]) -> String {
    match ready_of(conditions) {
        Some(c) if c.status == "True" => {
            format!("{what} is ready but not verified by this operator yet")
        }
        Some(c) => format!("{what} is not ready: {} ({})", c.reason, c.message),
        None => format!("{what} has not been verified yet"),
    }
}

/// Resolves the tenant of a resource in `namespace` with `tenant_ref`, and the resource's
/// [`Rights`] in it (its namespace's, from the tenant's `spec.policy`). Costs no Auth0 call.
pub async fn resolve(
    ctx: &Context,
    namespace: &str,
    tenant_ref: Option<&TenantRef>,
) -> Result<(Arc<Tenant>, Rights), Error> {
    let Some(r) = tenant_ref else {
        let tenant = ctx.tenants.default_tenant().ok_or_else(|| {
            Error::TenantNotFound(
                "spec.tenantRef is not set and the operator has no default tenant (AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET are not set): set spec.tenantRef to an Auth0Tenant or ClusterAuth0Tenant".to_string(),
            )
        })?;
        let rights = plan::rights(
            TenantScope::Default,
            None,
            namespace,
            &Default::default(),
            &tenant.key,
            &tenant.domain,
            tenant.audience.as_deref(),
            &tenant.management_client_id,
            &ctx.config.tenant_policy.default_management_api_scopes,
        );
        return Ok((tenant.clone(), with_other_managers(ctx, &tenant, rights)));
    };
    let key = r.key(namespace);
    // Right after a start (or a leader change) the tenant caches may still be filling: wait for
    // them (bounded) rather than call an existing tenant missing.
    let fill = std::time::Duration::from_secs(10);
    let (scope, policy, conditions, what) = match r.kind {
        TenantKind::Auth0Tenant => {
            let _ =
                tokio::time::timeout(fill, super::store_ready(&ctx.tenant_stores.namespaced)).await;
            let obj = ctx
                .tenant_stores
                .namespaced
                .get(&kube::runtime::reflector::ObjectRef::new(&r.name).within(namespace))
                .ok_or_else(|| {
                    Error::TenantNotFound(format!(
                        "Auth0Tenant {} does not exist in namespace {namespace}",
                        r.name
                    ))
                })?;
            (
                TenantScope::Namespaced,
                obj.spec.policy.clone(),
                obj.status.clone().unwrap_or_default().conditions,
                format!("Auth0Tenant {}", r.name),
            )
        }
        TenantKind::ClusterAuth0Tenant => {
            let _ =
                tokio::time::timeout(fill, super::store_ready(&ctx.tenant_stores.cluster)).await;
            let obj = ctx
                .tenant_stores
                .cluster
                .get(&kube::runtime::reflector::ObjectRef::new(&r.name))
                .ok_or_else(|| {
                    Error::TenantNotFound(format!("ClusterAuth0Tenant {} does not exist", r.name))
                })?;
            let allowed = obj.spec.allowed_namespaces.as_ref();
            let labels = namespace_labels(ctx, namespace, uses_selector(&obj.spec)).await?;
            if !namespace_allowed(allowed, namespace, &labels) {
                return Err(Error::TenantNotAllowed(format!(
                    "ClusterAuth0Tenant {} does not allow namespace {namespace} (see its spec.allowedNamespaces)",
                    r.name
                )));
            }
            (
                TenantScope::Cluster,
                obj.spec.policy.clone(),
                obj.status.clone().unwrap_or_default().conditions,
                format!("ClusterAuth0Tenant {}", r.name),
            )
        }
    };
    let tenant = ctx
        .tenants
        .get(&key)
        .ok_or_else(|| Error::TenantNotReady(not_ready_message(&what, &conditions)))?;
    let labels = match scope {
        TenantScope::Cluster => {
            let selectors = policy.as_ref().is_some_and(policy_uses_selector);
            namespace_labels(ctx, namespace, selectors).await?
        }
        _ => Default::default(),
    };
    let rights = plan::rights(
        scope,
        policy.as_ref(),
        namespace,
        &labels,
        &tenant.key,
        &tenant.domain,
        tenant.audience.as_deref(),
        &tenant.management_client_id,
        &[],
    );
    let rights = with_other_managers(ctx, &tenant, rights);
    Ok((tenant, rights))
}

/// `rights` with the management applications of the operator's other tenants on the same
/// Auth0 domain: protected whichever tenant object a resource goes through.
fn with_other_managers(ctx: &Context, tenant: &Tenant, mut rights: Rights) -> Rights {
    rights.other_management_clients = ctx
        .tenants
        .all()
        .into_iter()
        .filter(|t| t.key != tenant.key && t.domain.eq_ignore_ascii_case(&tenant.domain))
        .map(|t| t.management_client_id.clone())
        .filter(|id| !id.is_empty() && *id != tenant.management_client_id)
        .collect();
    rights
}

/// Whether a `ClusterAuth0Tenant`'s namespace check needs the namespace's labels.
fn uses_selector(spec: &crate::crd::ClusterAuth0TenantSpec) -> bool {
    spec.allowed_namespaces
        .as_ref()
        .is_some_and(|a| a.selector.is_some())
}

/// Whether a tenant policy selects namespaces by label.
fn policy_uses_selector(p: &crate::crd::TenantPolicySpec) -> bool {
    [
        p.adoption.as_ref(),
        p.unmanaged_apis.as_ref(),
        p.management_api
            .as_ref()
            .and_then(|m| m.namespaces.as_ref()),
    ]
    .into_iter()
    .flatten()
    .any(|a| a.selector.is_some())
}

/// The labels of `namespace` when `needed` (only a selector needs them).
pub(crate) async fn namespace_labels(
    ctx: &Context,
    namespace: &str,
    needed: bool,
) -> Result<std::collections::BTreeMap<String, String>, Error> {
    if !needed {
        return Ok(Default::default());
    }
    Ok(Api::<Namespace>::all(ctx.kube.clone())
        .get_opt(namespace)
        .await?
        .map(|n| n.labels().clone())
        .unwrap_or_default())
}

/// Reflector caches of both tenant kinds.
#[derive(Clone)]
pub struct TenantStores {
    /// `Auth0Tenant`s.
    pub namespaced: Store<Auth0Tenant>,
    /// `ClusterAuth0Tenant`s.
    pub cluster: Store<ClusterAuth0Tenant>,
}

// ------------------------------------------------------------------------------ the controller

/// Keeps the tenant registered exactly while its credentials work with every needed scope
/// (`tenant`: the one just verified); returns whether the registry changed.
fn set_registered(ctx: &Context, key: &str, tenant: Option<Arc<Tenant>>) -> bool {
    match tenant {
        Some(tenant) => {
            let changed = ctx.tenants.register(tenant.clone());
            if changed {
                // Take both listings right away, before the resources it wakes create
                // anything: a client created after the grant listing began cannot have grants
                // the listing missed, so its grants need no pair lookup (as for the default
                // tenant at start-up).
                tokio::spawn(async move {
                    let (c, g) = tokio::join!(
                        tenant.inventory.ensure_clients(&tenant.auth0),
                        tenant.inventory.ensure_grants(&tenant.auth0)
                    );
                    if let Err(e) = c.and(g) {
                        warn!(tenant = %tenant.key, error = %e, "could not list the tenant's clients and grants yet; will retry on demand");
                    }
                });
            }
            changed
        }
        None => ctx.tenants.unregister(key),
    }
}

/// Verifies a tenant object (I/O only): reads its Secret, builds (or reuses) its client and
/// asks Auth0 for a token.
async fn observe(ctx: &Context, view: &TenantSpecView<'_>) -> (Verdict, Option<Arc<Tenant>>) {
    match check(ctx, view).await {
        Ok((tenant, granted)) => (Ok(granted), Some(tenant)),
        Err(refused) => (Err(refused), None),
    }
}

fn facts<T: TenantObject>(obj: &T) -> Facts<'_> {
    Facts {
        generation: obj.meta().generation,
        domain: obj.view().domain,
        status: obj.tenant_status(),
    }
}

/// The tenant and its granted scopes when its credentials work with every needed scope; else
/// why not (with the granted and missing scopes when the token lacks some).
async fn check(
    ctx: &Context,
    view: &TenantSpecView<'_>,
) -> Result<(Arc<Tenant>, Vec<String>), (Refusal, Vec<String>, Vec<String>)> {
    let refused = |reason: TenantReason, message: String| ((reason, message), vec![], vec![]);
    let secrets: Api<Secret> = Api::namespaced(ctx.kube.clone(), &view.secret_namespace);
    let secret = secrets.get_opt(view.secret_name).await.map_err(|e| {
        refused(
            TenantReason::SecretNotFound,
            format!(
                "cannot read Secret {}/{}: {e}",
                view.secret_namespace, view.secret_name
            ),
        )
    })?;
    let config = tenant_config(view, &ctx.tenants.policy, secret.as_ref())
        .map_err(|(reason, message)| refused(reason, message))?;
    let tenant = ctx
        .tenants
        .build(&view.key, config)
        .map_err(|e| refused(TenantReason::DomainNotAllowed, e.to_string()))?;
    ctx.metrics.set_auth0(&tenant.key, &tenant.auth0);
    let granted = match tenant.auth0.check_credentials().await {
        Ok(granted) => granted,
        Err(e @ Auth0Error::InvalidCredentials { .. }) => {
            return Err(refused(TenantReason::InvalidCredentials, e.to_string()));
        }
        Err(e) => return Err(refused(TenantReason::Unreachable, e.to_string())),
    };
    let missing: Vec<String> = missing_scopes(&ctx.required_scopes, &granted)
        .into_iter()
        .map(String::from)
        .collect();
    if missing.is_empty() {
        return Ok((tenant, granted));
    }
    let message = format!(
        "the management token lacks scopes the operator needs: {} (grant them to the application {} on the Auth0 Management API)",
        missing.join(" "),
        tenant.auth0.config().client_id
    );
    Err(((TenantReason::MissingScopes, message), granted, missing))
}

/// What the tenant controller needs from both kinds.
pub trait TenantObject:
    Resource<DynamicType = ()>
    + Clone
    + serde::de::DeserializeOwned
    + serde::Serialize
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Kind name.
    const KIND: &'static str;
    /// The settings.
    fn view(&self) -> TenantSpecView<'_>;
    /// Current status.
    fn tenant_status(&self) -> Option<&Auth0TenantStatus>;
    /// The Api to write its status through.
    fn api(&self, kube: &kube::Client) -> Api<Self>;
}

impl TenantObject for Auth0Tenant {
    const KIND: &'static str = "Auth0Tenant";
    fn view(&self) -> TenantSpecView<'_> {
        let ns = self.namespace().unwrap_or_default();
        TenantSpecView {
            key: format!("{ns}/{}", self.name_any()),
            domain: &self.spec.domain,
            secret_namespace: ns,
            secret_name: &self.spec.credentials_secret_ref.name,
            client_id_key: &self.spec.credentials_secret_ref.client_id_key,
            client_secret_key: &self.spec.credentials_secret_ref.client_secret_key,
            private_key_key: self.spec.credentials_secret_ref.private_key_key.as_deref(),
            audience: self.spec.audience.as_deref(),
            base_url: self.spec.base_url.as_deref(),
            rate_limit: self.spec.rate_limit,
            recorded_domain: self.status.as_ref().and_then(|s| s.domain.as_deref()),
        }
    }
    fn tenant_status(&self) -> Option<&Auth0TenantStatus> {
        self.status.as_ref()
    }
    fn api(&self, kube: &kube::Client) -> Api<Self> {
        Api::namespaced(kube.clone(), &self.namespace().unwrap_or_default())
    }
}

impl TenantObject for ClusterAuth0Tenant {
    const KIND: &'static str = "ClusterAuth0Tenant";
    fn view(&self) -> TenantSpecView<'_> {
        TenantSpecView {
            key: format!("cluster/{}", self.name_any()),
            domain: &self.spec.domain,
            secret_namespace: self.spec.credentials_secret_ref.namespace.clone(),
            secret_name: &self.spec.credentials_secret_ref.name,
            client_id_key: &self.spec.credentials_secret_ref.client_id_key,
            client_secret_key: &self.spec.credentials_secret_ref.client_secret_key,
            private_key_key: self.spec.credentials_secret_ref.private_key_key.as_deref(),
            audience: self.spec.audience.as_deref(),
            base_url: self.spec.base_url.as_deref(),
            rate_limit: self.spec.rate_limit,
            recorded_domain: self.status.as_ref().and_then(|s| s.domain.as_deref()),
        }
    }
    fn tenant_status(&self) -> Option<&Auth0TenantStatus> {
        self.status.as_ref()
    }
    fn api(&self, kube: &kube::Client) -> Api<Self> {
        Api::all(kube.clone())
    }
}

/// Reconciles a tenant object: verification on apply; on deletion, held (`InUse`) while
/// resources reference it.
#[tracing::instrument(skip_all, fields(kind = T::KIND, namespace = %obj.namespace().unwrap_or_default(), object = %obj.name_any()))]
pub async fn reconcile_tenant<T: TenantObject>(
    obj: Arc<T>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    use kube::runtime::finalizer::Event as Finalizer;
    let api = obj.api(&ctx.kube);
    let result = super::finalizer::finalized(&api, obj.clone(), |event| async {
        match event {
            Finalizer::Apply(o) => apply_tenant(&*o, &ctx).await,
            Finalizer::Cleanup(o) => cleanup_tenant(&*o, &ctx).await,
        }
    })
    .await;
    if result.is_ok() {
        // A tenant that recovered starts its next failure from the first backoff step again.
        ctx.reset_backoff(&*obj);
    }
    result
}

/// Requeue after a failed tenant reconcile.
pub fn tenant_error_policy<T: TenantObject>(obj: Arc<T>, err: &Error, ctx: Arc<Context>) -> Action {
    match err {
        Error::TenantInUse(_) => Action::requeue(Duration::from_secs(5)),
        _ => Action::requeue(ctx.next_backoff(&*obj)),
    }
}

async fn apply_tenant<T: TenantObject>(obj: &T, ctx: &Context) -> Result<Action, Error> {
    let view = obj.view();
    let (verdict, tenant) = observe(ctx, &view).await;
    let ApplyPlan {
        register,
        status,
        wake_users,
        note,
        requeue,
    } = plan::plan_apply(facts(obj), &verdict, ctx.config.resync_interval);
    let changed = set_registered(ctx, &view.key, tenant.filter(|_| register));
    status::apply_status(&obj.api(&ctx.kube), obj, obj.tenant_status(), &status).await?;
    if changed || wake_users {
        // Resources waiting for this tenant (or using its old credentials) reconcile now, and
        // their TenantNotReady message follows the tenant's.
        ctx.wake_tenant_users(&view.key);
    }
    if let Some(n) = note {
        let type_ = if n.warning {
            warn!(reason = n.reason.as_str(), "{}", n.message);
            EventType::Warning
        } else {
            info!(domain = view.domain, "{}", n.message);
            EventType::Normal
        };
        ctx.event(obj, type_, n.reason.as_str(), "Verify", n.message)
            .await;
    }
    Ok(Action::requeue(requeue))
}

async fn cleanup_tenant<T: TenantObject>(obj: &T, ctx: &Context) -> Result<Action, Error> {
    let view = obj.view();
    let users = ctx.tenant_users(&view.key);
    // Its resources' Delete cleanup needs working credentials: they are kept verified while
    // any is left (after a restart, or once a broken Secret is fixed).
    let (verdict, tenant) = if users > 0 {
        let (v, t) = observe(ctx, &view).await;
        (Some(v), t)
    } else {
        (None, None)
    };
    match plan::plan_cleanup(facts(obj), users, verdict.as_ref()) {
        CleanupPlan::Hold {
            register,
            status,
            message,
        } => {
            if set_registered(ctx, &view.key, tenant.filter(|_| register)) {
                ctx.wake_tenant_users(&view.key);
            }
            if let Err(e) =
                status::apply_status(&obj.api(&ctx.kube), obj, obj.tenant_status(), &status).await
            {
                warn!(error = %e, "could not write status");
            }
            Err(Error::TenantInUse(message))
        }
        CleanupPlan::Release => {
            ctx.tenants.unregister(&view.key);
            ctx.metrics.remove_auth0(&view.key);
            Ok(Action::await_change())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{auth0::Auth0Config, config::TenantPolicy};
    use k8s_openapi::ByteString;
    use serde_json::json;

    #[test]
    fn domain_globs() {
        let globs = vec!["*.auth0.com".to_string(), "dev-*.example.org".to_string()];
        assert!(domain_allowed("staging.eu.auth0.com", &globs));
        assert!(domain_allowed("Staging.EU.Auth0.com", &globs));
        assert!(domain_allowed("dev-1.example.org", &globs));
        assert!(!domain_allowed("auth0.com.evil.org", &globs));
        assert!(!domain_allowed("evil.org", &globs));
        assert!(!domain_allowed("prod.example.org", &globs));
        assert!(!domain_allowed("x.auth0.com", &[]));
    }

    #[test]
    fn allowed_namespaces_by_name_or_selector() {
        let allowed: AllowedNamespaces = serde_json::from_value(json!({
            "names": ["team-a"],
            "selector": {"matchLabels": {"tier": "prod"}, "matchExpressions": [{"key": "blocked", "operator": "DoesNotExist"}]}
        }))
        .unwrap();
        let none = Default::default();
        let prod = std::collections::BTreeMap::from([("tier".to_string(), "prod".to_string())]);
        let mut blocked = prod.clone();
        blocked.insert("blocked".into(), "yes".into());
        assert!(namespace_allowed(Some(&allowed), "team-a", &none));
        assert!(namespace_allowed(Some(&allowed), "team-x", &prod));
        assert!(!namespace_allowed(Some(&allowed), "team-x", &blocked));
        assert!(!namespace_allowed(Some(&allowed), "team-x", &none));
        assert!(
            namespace_allowed(None, "anything", &none),
            "absent: every namespace"
        );
        let names_only: AllowedNamespaces =
            serde_json::from_value(json!({"names": ["b"]})).unwrap();
        assert!(!namespace_allowed(Some(&names_only), "a", &prod));
    }

    fn view<'a>(domain: &'a str, base_url: Option<&'a str>) -> TenantSpecView<'a> {
        TenantSpecView {
            key: "team-a/t".into(),
            domain,
            secret_namespace: "team-a".into(),
            secret_name: "mgmt",
            client_id_key: "AUTH0_CLIENT_ID",
            client_secret_key: "AUTH0_CLIENT_SECRET",
            private_key_key: None,
            audience: None,
            base_url,
            rate_limit: Some(crate::crd::TenantRateLimit {
                burst: 5,
                per_second: 2.0,
            }),
            recorded_domain: None,
        }
    }

    fn secret(pairs: &[(&str, &str)]) -> Secret {
        Secret {
            data: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
                    .collect(),
            ),
            ..Default::default()
        }
    }

    #[test]
    fn tenant_settings_are_checked_before_any_call() {
        let policy = TenantPolicy::default();
        let good = secret(&[("AUTH0_CLIENT_ID", "id"), ("AUTH0_CLIENT_SECRET", "s3cr3t")]);
        let c = tenant_config(&view("t.eu.auth0.com", None), &policy, Some(&good)).unwrap();
        assert_eq!(
            (c.domain.as_str(), c.client_id.as_str()),
            ("t.eu.auth0.com", "id")
        );
        assert_eq!((c.rate_limit.burst, c.rate_limit.per_second), (5, 2.0));

        let (r, m) = tenant_config(&view("evil.org", None), &policy, Some(&good)).unwrap_err();
        assert_eq!(r, TenantReason::DomainNotAllowed);
        assert!(m.contains("ALLOWED_TENANT_DOMAINS"), "{m}");
        let (r, m) = tenant_config(
            &view("t.eu.auth0.com", Some("http://127.0.0.1:1")),
            &policy,
            Some(&good),
        )
        .unwrap_err();
        assert_eq!(r, TenantReason::DomainNotAllowed);
        assert!(m.contains("ALLOW_TENANT_BASE_URL"), "{m}");
        let (r, _) = tenant_config(&view("t.eu.auth0.com", None), &policy, None).unwrap_err();
        assert_eq!(r, TenantReason::SecretNotFound);
        let partial = secret(&[("AUTH0_CLIENT_ID", "id")]);
        let (r, m) =
            tenant_config(&view("t.eu.auth0.com", None), &policy, Some(&partial)).unwrap_err();
        assert_eq!(r, TenantReason::SecretNotFound);
        assert!(
            m.contains("AUTH0_CLIENT_SECRET") && !m.contains("id\""),
            "{m}"
        );
        let with_url = TenantPolicy {
            allow_base_url: true,
            ..TenantPolicy::default()
        };
        let c = tenant_config(
            &view("t.eu.auth0.com", Some("http://127.0.0.1:8081")),
            &with_url,
            Some(&good),
        )
        .unwrap();
        assert_eq!(c.base_url.unwrap().as_str(), "http://127.0.0.1:8081/");
    }

    #[test]
    fn a_changed_secret_makes_a_new_client_and_the_same_reuses_it() {
        let tenants = Tenants::new(None, TenantPolicy::default(), Duration::from_secs(60)).unwrap();
        let cfg = |s: &str| Auth0Config::new("t.eu.auth0.com", "id", s.to_string());
        let a = tenants.build("ns/t", cfg("one")).unwrap();
        assert!(
            tenants.register(a.clone()),
            "first registration wakes users"
        );
        let same = tenants.build("ns/t", cfg("one")).unwrap();
        assert!(
            Arc::ptr_eq(&a, &same),
            "unchanged settings keep the client (and its token)"
        );
        assert!(!tenants.register(same), "nothing changed: nobody to wake");
        let rotated = tenants.build("ns/t", cfg("two")).unwrap();
        assert!(!Arc::ptr_eq(&a, &rotated));
        assert!(tenants.register(rotated));
        assert!(tenants.get("ns/t").is_some());
        assert!(
            tenants.get("default").is_none(),
            "no default tenant configured"
        );
        assert!(tenants.unregister("ns/t"));
        assert!(tenants.get("ns/t").is_none());
    }

    #[test]
    fn keys() {
        let r = TenantRef {
            kind: TenantKind::Auth0Tenant,
            name: "t".into(),
        };
        assert_eq!(tenant_key("team-a", Some(&r)), "team-a/t");
        let c = TenantRef {
            kind: TenantKind::ClusterAuth0Tenant,
            name: "prod".into(),
        };
        assert_eq!(tenant_key("team-a", Some(&c)), "cluster/prod");
        assert_eq!(tenant_key("team-a", None), DEFAULT_TENANT_KEY);
    }
}
