//! `Auth0ClientGrant`, pure: the operator's own checks of the spec, the create body and the
//! patch (scopes compared as sets).

use std::collections::BTreeSet;

use crate::{
    auth0::{ClientGrant, ClientGrantCreate, ClientGrantUpdate, Patch},
    crd::{Auth0ClientGrantSpec, Auth0ClientGrantStatus, rules},
};

use crate::controller::diff::{changed_str, same_set};

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

#[cfg(test)]
mod tests {
    use super::*;
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
}
