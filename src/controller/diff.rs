//! What every kind's diff shares: set comparison of lists, "only what the user set" comparison
//! of fields, and the names of changed fields as the spec spells them.

use std::collections::BTreeSet;

use crate::auth0::Patch;

/// Set equality of two string lists (order and duplicates ignored).
pub fn same_set(a: &[String], b: &[String]) -> bool {
    a.iter().collect::<BTreeSet<_>>() == b.iter().collect::<BTreeSet<_>>()
}

/// `Some(desired)` when the user set a value that differs from what Auth0 has.
pub fn changed<T: PartialEq + Clone>(desired: &Option<T>, observed: &Option<T>) -> Option<T> {
    match desired {
        Some(d) if observed.as_ref() != Some(d) => Some(d.clone()),
        _ => None,
    }
}

pub fn changed_set(
    desired: &Option<Vec<String>>,
    observed: &Option<Vec<String>>,
) -> Option<Vec<String>> {
    match desired {
        Some(d) if !same_set(d, observed.as_deref().unwrap_or_default()) => Some(d.clone()),
        _ => None,
    }
}

pub fn changed_str(desired: Option<&str>, observed: &Option<String>) -> Patch<String> {
    match desired {
        Some(d) if observed.as_deref() != Some(d) => Patch::Value(d.to_string()),
        _ => Patch::Absent,
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

/// The Auth0 fields a PATCH body sends (the keys of its JSON: unset fields are omitted).
pub fn sent_fields<T: serde::Serialize>(body: &T) -> Vec<String> {
    match serde_json::to_value(body) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
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
