//! `Auth0ResourceServer`, pure: the operator's own checks of the spec, the create body and the
//! patch (scopes compared as sets, by name and description).

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    auth0::{ResourceServer, ResourceServerCreate, ResourceServerScope, ResourceServerUpdate},
    crd::{Auth0ResourceServerSpec, Auth0ResourceServerStatus, rules},
};

use crate::controller::diff::changed;

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
