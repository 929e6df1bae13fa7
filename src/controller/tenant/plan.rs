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
        wake_users: reason_changed,
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

#[cfg(test)]
mod tests {
    use super::*;

    const RESYNC: Duration = Duration::from_secs(300);

    fn status(ready: bool, reason: TenantReason, domain: Option<&str>) -> Auth0TenantStatus {
        Auth0TenantStatus {
            conditions: vec![status::ready(ready, reason.as_str(), "m", Some(1), &[])],
            domain: domain.map(String::from),
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
}
