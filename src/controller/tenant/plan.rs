//! Tenant objects, pure: what a reconcile of an `Auth0Tenant` or `ClusterAuth0Tenant` does,
//! decided from what verifying its credentials found. Every branch is unit-tested here.

use std::time::Duration;

use k8s_openapi::{api::core::v1::Secret, apimachinery::pkg::apis::meta::v1::Condition};

use crate::{
    auth0::{Auth0Config, RateLimitConfig},
    config::TenantPolicy,
    controller::status,
    crd::{Auth0TenantStatus, CONDITION_READY},
};

/// Ready reasons of a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantReason {
    /// Credentials verified with Auth0, every needed scope granted.
    Verified,
    /// The credentials Secret (or one of its keys) is missing.
    SecretNotFound,
    /// Auth0 rejected the credentials.
    InvalidCredentials,
    /// The token lacks scopes the operator needs.
    MissingScopes,
    /// Auth0 could not be reached or answered with an error.
    Unreachable,
    /// The domain or baseUrl is not allowed by the operator's settings.
    DomainNotAllowed,
    /// Deletion is held while resources use the tenant.
    InUse,
    /// The spec breaks a rule of the CRD that the API server did not enforce (before 1.25 it
    /// drops CEL rules): the domain changed after the tenant was verified.
    InvalidSpec,
}

impl TenantReason {
    /// The wire value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "Verified",
            Self::SecretNotFound => "SecretNotFound",
            Self::InvalidCredentials => "InvalidCredentials",
            Self::MissingScopes => "MissingScopes",
            Self::Unreachable => "Unreachable",
            Self::DomainNotAllowed => "DomainNotAllowed",
            Self::InUse => "InUse",
            Self::InvalidSpec => "InvalidSpec",
        }
    }
}

/// Whether `domain` matches one of the globs (`*` matches any run of characters, case-insensitive).
pub fn domain_allowed(domain: &str, globs: &[String]) -> bool {
    fn matches(pattern: &[u8], text: &[u8]) -> bool {
        match (pattern.first(), text.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                matches(&pattern[1..], text) || (!text.is_empty() && matches(pattern, &text[1..]))
            }
            (Some(p), Some(t)) if p.eq_ignore_ascii_case(t) => matches(&pattern[1..], &text[1..]),
            _ => false,
        }
    }
    globs
        .iter()
        .any(|g| matches(g.trim().as_bytes(), domain.as_bytes()))
}

/// What the tenant controller needs from either tenant kind.
pub struct TenantSpecView<'a> {
    /// Registry key.
    pub key: String,
    pub domain: &'a str,
    pub secret_namespace: String,
    pub secret_name: &'a str,
    pub client_id_key: &'a str,
    pub client_secret_key: &'a str,
    /// The key of a private key to use instead of the secret.
    pub private_key_key: Option<&'a str>,
    pub audience: Option<&'a str>,
    pub base_url: Option<&'a str>,
    pub rate_limit: Option<crate::crd::TenantRateLimit>,
    /// The domain the status recorded (immutability).
    pub recorded_domain: Option<&'a str>,
}

/// The client settings for a tenant object, or why it cannot have any.
pub fn tenant_config(
    view: &TenantSpecView<'_>,
    policy: &TenantPolicy,
    secret: Option<&Secret>,
) -> Result<Auth0Config, Refusal> {
    if let Some(recorded) = view.recorded_domain
        && !recorded.eq_ignore_ascii_case(view.domain)
    {
        return Err((
            TenantReason::InvalidSpec,
            format!(
                "{}: this tenant was verified for {recorded} (its resources live there); create another tenant for {}",
                crate::crd::rules::DOMAIN_IMMUTABLE,
                view.domain
            ),
        ));
    }
    if !domain_allowed(view.domain, &policy.allowed_domains) {
        return Err((
            TenantReason::DomainNotAllowed,
            format!(
                "domain {} is not allowed: the operator's ALLOWED_TENANT_DOMAINS is {}",
                view.domain,
                policy.allowed_domains.join(",")
            ),
        ));
    }
    if view.base_url.is_some() && !policy.allow_base_url {
        return Err((
            TenantReason::DomainNotAllowed,
            "spec.baseUrl is refused: the operator runs without ALLOW_TENANT_BASE_URL=true (it would send the credentials to another host)".to_string(),
        ));
    }
    let Some(secret) = secret else {
        return Err((
            TenantReason::SecretNotFound,
            format!(
                "Secret {} does not exist in namespace {}",
                view.secret_name, view.secret_namespace
            ),
        ));
    };
    let get = |key: &str| -> Option<String> {
        secret
            .data
            .as_ref()
            .and_then(|d| d.get(key))
            .and_then(|b| String::from_utf8(b.0.clone()).ok())
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    let credential_key = view.private_key_key.unwrap_or(view.client_secret_key);
    let missing: Vec<&str> = [view.client_id_key, credential_key]
        .into_iter()
        .filter(|k| get(k).is_none())
        .collect();
    if !missing.is_empty() {
        return Err((
            TenantReason::SecretNotFound,
            format!(
                "Secret {}/{} has no (or an empty) {}",
                view.secret_namespace,
                view.secret_name,
                missing.join(" and ")
            ),
        ));
    }
    let mut config = match view.private_key_key {
        None => Auth0Config::new(
            view.domain,
            get(view.client_id_key).unwrap_or_default(),
            get(view.client_secret_key).unwrap_or_default(),
        ),
        Some(k) => Auth0Config::new(view.domain, get(view.client_id_key).unwrap_or_default(), "")
            .with_private_key(get(k).unwrap_or_default()),
    };
    if let Some(a) = view.audience {
        config = config.with_audience(a);
    }
    if let Some(u) = view.base_url {
        let url = u.parse().map_err(|e| {
            (
                TenantReason::DomainNotAllowed,
                format!("spec.baseUrl {u} is not a URL: {e}"),
            )
        })?;
        config = config.with_base_url(url);
    }
    config.retry = policy.retry.clone();
    config.rate_limit = match view.rate_limit {
        Some(r) => RateLimitConfig {
            burst: r.burst,
            per_second: r.per_second,
            ..policy.rate_limit.clone()
        },
        None => policy.rate_limit.clone(),
    };
    config
        .validate()
        .map_err(|e| (TenantReason::DomainNotAllowed, e.to_string()))?;
    Ok(config)
}

/// Why a tenant is not usable: reason and a human sentence (never a secret).
pub type Refusal = (TenantReason, String);

/// What verifying a tenant found: the scopes its token was granted, or why it cannot be used
/// (with the granted and missing scopes when the token lacks some).
pub type Verdict = Result<Vec<String>, (Refusal, Vec<String>, Vec<String>)>;

/// The tenant object as the plan needs it.
#[derive(Clone, Copy, Debug)]
pub struct Facts<'a> {
    pub generation: Option<i64>,
    pub domain: &'a str,
    pub status: Option<&'a Auth0TenantStatus>,
}

/// An event of a tenant reconcile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub warning: bool,
    pub reason: TenantReason,
    pub message: String,
}

/// What a tenant reconcile (the object lives) does.
#[derive(Clone, Debug, PartialEq)]
pub struct ApplyPlan {
    /// Keep the tenant in the registry (its credentials work) or take it out.
    pub register: bool,
    pub status: Auth0TenantStatus,
    /// Wake its resources even if the registry does not change: the reason changed, and their
    /// `TenantNotReady` message follows it. (The executor also wakes them when the registry
    /// changed.)
    pub wake_users: bool,
    pub note: Option<Note>,
    pub requeue: Duration,
}

/// What a tenant reconcile does once the object is deleted.
#[derive(Clone, Debug, PartialEq)]
pub enum CleanupPlan {
    /// Resources still use it: deletion waits (their `Delete` cleanup needs its credentials,
    /// so they are kept verified: `register`).
    Hold {
        register: bool,
        status: Auth0TenantStatus,
        message: String,
    },
    /// Nothing uses it: out of the registry, and the finalizer goes.
    Release,
}

fn ready_of(conditions: &[Condition]) -> Option<&Condition> {
    conditions.iter().find(|c| c.type_ == CONDITION_READY)
}

/// The status of a tenant object with this verdict.
pub fn tenant_status(
    facts: Facts<'_>,
    ok: bool,
    reason: TenantReason,
    message: &str,
    granted: Vec<String>,
    missing: Vec<String>,
) -> Auth0TenantStatus {
    let previous = facts
        .status
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    Auth0TenantStatus {
        observed_generation: facts.generation,
        conditions: vec![status::ready(
            ok,
            reason.as_str(),
            message,
            facts.generation,
            previous,
        )],
        granted_scopes: granted,
        missing_scopes: missing,
        // Recorded once verified; kept from then on.
        domain: facts
            .status
            .and_then(|s| s.domain.clone())
            .or_else(|| ok.then(|| facts.domain.to_string())),
    }
}

/// The plan of a reconcile of a live tenant object.
pub fn plan_apply(facts: Facts<'_>, verdict: &Verdict, resync: Duration) -> ApplyPlan {
    let (ok, reason, message, granted, missing) = match verdict {
        Ok(granted) => (
            true,
            TenantReason::Verified,
            format!(
                "credentials for {} verified; {} Management API scopes granted",
                facts.domain,
                granted.len()
            ),
            granted.clone(),
            vec![],
        ),
        Err(((reason, message), granted, missing)) => (
            false,
            *reason,
            message.clone(),
            granted.clone(),
            missing.clone(),
        ),
    };
    let previous = facts
        .status
        .and_then(|s| ready_of(&s.conditions))
        .map(|c| (c.status == "True", c.reason.clone()));
    let was_ready = previous.as_ref().is_some_and(|(ready, _)| *ready);
    let reason_changed = previous.as_ref().map(|(_, r)| r.as_str()) != Some(reason.as_str());
    let status = tenant_status(facts, ok, reason, &message, granted, missing);
    let (note, requeue) = if ok {
        // Told once, when it becomes verified.
        let note = (!was_ready).then_some(Note {
            warning: false,
            reason,
            message,
        });
        (note, resync)
    } else {
        // Told each time; a calm pace: the user must act, and a change of its Secret wakes
        // the tenant at once anyway.
        let note = Some(Note {
            warning: true,
            reason,
            message,
        });
        (note, resync.min(Duration::from_secs(60)))
    };
    ApplyPlan {
        register: ok,
        status,
        // A changed spec (its policy, its allowed namespaces) is re-evaluated by every
        // resource at once.
        wake_users: reason_changed
            || facts.status.and_then(|s| s.observed_generation) != facts.generation,
        note,
        requeue,
    }
}

/// The plan of a reconcile of a deleted tenant object: `users` resources still use it;
/// `verdict` is what verifying found (looked at only while it is held).
pub fn plan_cleanup(facts: Facts<'_>, users: usize, verdict: Option<&Verdict>) -> CleanupPlan {
    if users == 0 {
        return CleanupPlan::Release;
    }
    let credentials = match verdict {
        Some(Err(((reason, message), _, _))) => format!(
            "; its credentials do not work ({}: {message})",
            reason.as_str()
        ),
        _ => String::new(),
    };
    let message = format!(
        "{users} resource(s) still use this tenant; deletion waits until they are gone (their Delete cleanup needs its credentials){credentials}"
    );
    let previous = facts.status.cloned().unwrap_or_default();
    let status = Auth0TenantStatus {
        conditions: tenant_status(facts, false, TenantReason::InUse, &message, vec![], vec![])
            .conditions,
        ..previous
    };
    CleanupPlan::Hold {
        register: matches!(verdict, Some(Ok(_))),
        status,
        message,
    }
}

/// Which tenant object a resource uses, for its [`Rights`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TenantScope {
    /// The operator's default tenant (environment): single-team, documented as such.
    Default,
    /// An `Auth0Tenant` of the resource's own namespace.
    Namespaced,
    /// A `ClusterAuth0Tenant`.
    Cluster,
}

/// What a resource of one namespace may do in its tenant beyond its own objects, and what in
/// the tenant is never anyone's to take. Computed when the tenant is resolved (pure:
/// [`rights`]); every plan reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rights {
    /// The tenant's key (for sentences).
    pub tenant: String,
    /// May adopt Auth0 objects no resource manages (`policy.adoption`).
    pub adopt: bool,
    /// Grants may name APIs no `Auth0ResourceServer` manages (`policy.unmanagedApis`).
    pub unmanaged_apis: bool,
    /// The Management API scopes grants of this namespace may hold; `None`: no grant may name
    /// the Management API.
    pub management_api: Option<Vec<String>>,
    /// The tenant's management application (its credentials Secret's client id, or the
    /// default tenant's `AUTH0_CLIENT_ID`): protected.
    pub management_client_id: String,
    /// The management applications of the operator's other tenants on the same Auth0 domain
    /// (protected too: "any tenant" must not reach them through another tenant object).
    pub other_management_clients: Vec<String>,
    /// The Management API's identifiers (`https://<domain>/api/v2/`, and the tenant's
    /// `audience` when set): protected.
    pub management_apis: Vec<String>,
}

impl Rights {
    /// Whether `client_id` is a management application of the operator on this tenant.
    pub fn is_management_client(&self, client_id: &str) -> bool {
        (!self.management_client_id.is_empty() && client_id == self.management_client_id)
            || self.other_management_clients.iter().any(|c| c == client_id)
    }

    /// Whether `identifier` is the tenant's Management API.
    pub fn is_management_api(&self, identifier: &str) -> bool {
        let trimmed = identifier.trim_end_matches('/');
        self.management_apis
            .iter()
            .any(|m| m.trim_end_matches('/').eq_ignore_ascii_case(trimmed))
    }
}

/// Whether `selection` admits `namespace` (with these labels). An absent selection admits
/// nobody; on an `Auth0Tenant`, an empty one (`{}`) admits its own namespace.
fn admits(
    selection: Option<&crate::crd::AllowedNamespaces>,
    scope: TenantScope,
    namespace: &str,
    labels: &std::collections::BTreeMap<String, String>,
) -> bool {
    let Some(s) = selection else {
        return false;
    };
    let empty = s.names.is_empty() && s.selector.is_none();
    (scope == TenantScope::Namespaced && empty)
        || s.names.iter().any(|n| n == namespace)
        || s.selector
            .as_ref()
            .is_some_and(|sel| super::selector_matches(sel, labels))
}

/// The [`Rights`] of a resource in `namespace` (with these labels) in a tenant of `scope` with
/// this `policy`, `domain`, optional `audience` and management application. The defaults: an
/// `Auth0Tenant` lets its own namespace adopt and name unmanaged APIs; a `ClusterAuth0Tenant`
/// allows neither until its policy says so; the default tenant allows both (single-team). The
/// Management API is closed unless a policy (or, for the default tenant,
/// `default_management_scopes`) opens it.
#[allow(clippy::too_many_arguments)]
pub fn rights(
    scope: TenantScope,
    policy: Option<&crate::crd::TenantPolicySpec>,
    namespace: &str,
    labels: &std::collections::BTreeMap<String, String>,
    tenant: &str,
    domain: &str,
    audience: Option<&str>,
    management_client_id: &str,
    default_management_scopes: &[String],
) -> Rights {
    let open = |s: Option<&crate::crd::AllowedNamespaces>, default: bool| match (scope, s) {
        (TenantScope::Default, _) => default,
        (TenantScope::Namespaced, None) => default,
        (_, s) => admits(s, scope, namespace, labels),
    };
    let management_api = match scope {
        TenantScope::Default => {
            (!default_management_scopes.is_empty()).then(|| default_management_scopes.to_vec())
        }
        _ => policy
            .and_then(|p| p.management_api.as_ref())
            .and_then(|m| {
                let who = match (scope, &m.namespaces) {
                    (TenantScope::Namespaced, None) => true,
                    (_, n) => admits(n.as_ref(), scope, namespace, labels),
                };
                who.then(|| m.scopes.clone())
            }),
    };
    let mut management_apis = vec![format!("https://{domain}/api/v2/")];
    management_apis.extend(audience.map(str::to_string));
    Rights {
        tenant: tenant.to_string(),
        adopt: open(policy.and_then(|p| p.adoption.as_ref()), true),
        unmanaged_apis: open(policy.and_then(|p| p.unmanaged_apis.as_ref()), true),
        management_api,
        management_client_id: management_client_id.to_string(),
        other_management_clients: Vec::new(),
        management_apis,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESYNC: Duration = Duration::from_secs(300);

    fn status(ready: bool, reason: TenantReason, domain: Option<&str>) -> Auth0TenantStatus {
        Auth0TenantStatus {
            conditions: vec![status::ready(ready, reason.as_str(), "m", Some(1), &[])],
            domain: domain.map(String::from),
            observed_generation: Some(1),
            ..Default::default()
        }
    }

    fn facts(s: Option<&Auth0TenantStatus>) -> Facts<'_> {
        Facts {
            generation: Some(1),
            domain: "t.auth0.test",
            status: s,
        }
    }

    fn refused(reason: TenantReason) -> Verdict {
        Err(((reason, "why".into()), vec![], vec![]))
    }

    #[test]
    fn a_live_tenant_in_every_state() {
        let granted: Verdict = Ok(vec!["read:clients".into(), "create:clients".into()]);
        // Verified for the first time: registered, a Normal event, its resources woken, the
        // domain recorded.
        let p = plan_apply(facts(None), &granted, RESYNC);
        assert!(p.register && p.wake_users);
        assert_eq!(
            p.note,
            Some(Note {
                warning: false,
                reason: TenantReason::Verified,
                message: "credentials for t.auth0.test verified; 2 Management API scopes granted"
                    .into()
            })
        );
        assert_eq!(p.status.domain.as_deref(), Some("t.auth0.test"));
        assert_eq!(p.status.granted_scopes.len(), 2);
        assert_eq!(p.requeue, RESYNC);
        // Verified again: quiet.
        let was = status(true, TenantReason::Verified, Some("t.auth0.test"));
        let p = plan_apply(facts(Some(&was)), &granted, RESYNC);
        assert!(p.register && !p.wake_users && p.note.is_none());
        // Its spec changed (a policy, the allowed namespaces): every resource re-evaluates.
        let changed = Facts {
            generation: Some(2),
            ..facts(Some(&was))
        };
        let p = plan_apply(changed, &granted, RESYNC);
        assert!(p.register && p.wake_users && p.note.is_none());
        // Refused: out of the registry, a Warning each time, a calm requeue, the domain kept.
        let p = plan_apply(
            facts(Some(&was)),
            &refused(TenantReason::InvalidCredentials),
            RESYNC,
        );
        assert!(!p.register && p.wake_users);
        assert!(p.note.as_ref().is_some_and(|n| n.warning));
        assert_eq!(p.requeue, Duration::from_secs(60));
        assert_eq!(p.status.domain.as_deref(), Some("t.auth0.test"));
        assert_eq!(p.status.conditions[0].reason, "InvalidCredentials");
        // Refused the same way again: its resources need not be woken.
        let was = status(false, TenantReason::InvalidCredentials, None);
        let p = plan_apply(
            facts(Some(&was)),
            &refused(TenantReason::InvalidCredentials),
            RESYNC,
        );
        assert!(!p.wake_users && p.note.is_some());
        assert_eq!(p.status.domain, None, "never verified: no domain recorded");
        // Missing scopes: both lists in status.
        let p = plan_apply(
            facts(None),
            &Err((
                (TenantReason::MissingScopes, "lacks".into()),
                vec!["read:clients".into()],
                vec!["create:clients".into()],
            )),
            RESYNC,
        );
        assert_eq!(p.status.granted_scopes, vec!["read:clients"]);
        assert_eq!(p.status.missing_scopes, vec!["create:clients"]);
    }

    #[test]
    fn a_deleted_tenant_waits_for_its_resources() {
        let was = status(true, TenantReason::Verified, Some("t.auth0.test"));
        assert_eq!(
            plan_cleanup(facts(Some(&was)), 0, None),
            CleanupPlan::Release
        );
        let granted: Verdict = Ok(vec![]);
        let CleanupPlan::Hold {
            register,
            status,
            message,
        } = plan_cleanup(facts(Some(&was)), 3, Some(&granted))
        else {
            panic!("held")
        };
        assert!(register);
        assert_eq!(status.conditions[0].reason, "InUse");
        assert_eq!(status.domain.as_deref(), Some("t.auth0.test"));
        assert!(message.starts_with("3 resource(s) still use this tenant"));
        let CleanupPlan::Hold {
            register, message, ..
        } = plan_cleanup(
            facts(Some(&was)),
            1,
            Some(&refused(TenantReason::SecretNotFound)),
        )
        else {
            panic!("held")
        };
        assert!(!register);
        assert!(message.ends_with("; its credentials do not work (SecretNotFound: why)"));
    }

    #[test]
    fn rights_follow_the_tenant_kind_and_its_policy() {
        use crate::crd::{AllowedNamespaces, ManagementApiPolicy, TenantPolicySpec};
        let labels: std::collections::BTreeMap<String, String> =
            [("team".to_string(), "b".to_string())].into();
        let r = |scope, policy: Option<&TenantPolicySpec>, ns: &str| {
            rights(
                scope,
                policy,
                ns,
                &labels,
                "t",
                "x.auth0.com",
                None,
                "mgmt",
                &[],
            )
        };
        // Defaults.
        let d = r(TenantScope::Default, None, "a");
        assert!(d.adopt && d.unmanaged_apis && d.management_api.is_none());
        let n = r(TenantScope::Namespaced, None, "a");
        assert!(n.adopt && n.unmanaged_apis && n.management_api.is_none());
        let c = r(TenantScope::Cluster, None, "a");
        assert!(!c.adopt && !c.unmanaged_apis && c.management_api.is_none());
        assert_eq!(c.management_client_id, "mgmt");
        assert!(c.is_management_client("mgmt") && !c.is_management_client("other"));
        let with_others = Rights {
            other_management_clients: vec!["other".into()],
            ..c.clone()
        };
        assert!(with_others.is_management_client("other"));
        assert!(!Rights::default().is_management_client(""));
        assert!(c.is_management_api("https://x.auth0.com/api/v2/"));
        assert!(c.is_management_api("https://X.auth0.com/api/v2"));
        assert!(!c.is_management_api("https://x.auth0.com/api/v3/"));
        // A cluster tenant's policy: by name, by selector, and nobody else.
        let policy = TenantPolicySpec {
            adoption: Some(AllowedNamespaces {
                names: vec!["team-b".into()],
                selector: None,
            }),
            unmanaged_apis: Some(AllowedNamespaces {
                names: vec![],
                selector: Some(
                    k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector {
                        match_labels: Some([("team".to_string(), "b".to_string())].into()),
                        ..Default::default()
                    },
                ),
            }),
            management_api: Some(ManagementApiPolicy {
                namespaces: Some(AllowedNamespaces {
                    names: vec!["ops".into()],
                    selector: None,
                }),
                scopes: vec!["read:users".into()],
            }),
        };
        let b = r(TenantScope::Cluster, Some(&policy), "team-b");
        assert!(b.adopt && b.unmanaged_apis && b.management_api.is_none());
        let ops = r(TenantScope::Cluster, Some(&policy), "ops");
        assert!(!ops.adopt);
        assert!(ops.unmanaged_apis, "the selector matches these labels");
        assert_eq!(ops.management_api, Some(vec!["read:users".to_string()]));
        // An Auth0Tenant: an empty selection is its own namespace; the Management API opens
        // for it without naming it.
        let own = TenantPolicySpec {
            adoption: Some(AllowedNamespaces::default()),
            management_api: Some(ManagementApiPolicy {
                namespaces: None,
                scopes: vec!["read:clients".into()],
            }),
            ..Default::default()
        };
        let a = r(TenantScope::Namespaced, Some(&own), "a");
        assert!(a.adopt && a.unmanaged_apis);
        assert_eq!(a.management_api, Some(vec!["read:clients".to_string()]));
        // The default tenant's Management API scopes come from the operator's settings.
        let d = rights(
            TenantScope::Default,
            None,
            "a",
            &labels,
            "default",
            "x.auth0.com",
            Some("https://api.example.com/"),
            "m",
            &["read:users".to_string()],
        );
        assert_eq!(d.management_api, Some(vec!["read:users".to_string()]));
        assert!(d.is_management_api("https://api.example.com/"));
    }
}
