//! `Auth0Client.spec.connections`, pure: the names' rules, which names the tenant lacks, what
//! to enable and disable, and what is in effect. The I/O is the client's observe (the
//! tenant's cached listing, [`Inventory::ensure_connections`](crate::controller::inventory::Inventory::ensure_connections))
//! and its `Patch` step (`PATCH /connections/{id}/clients`).

use crate::auth0::Connection;
use crate::controller::Error;

/// At most this many names (the CRD's `maxItems`).
pub const MAX_CONNECTIONS: usize = 100;

/// The rules of `spec.connections`, also enforced where the API server does not check the
/// schema's pattern: Auth0's connection name (1–128 letters, digits and inner single `-`),
/// each name once, at most [`MAX_CONNECTIONS`].
pub fn validate(names: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    if names.len() > MAX_CONNECTIONS {
        problems.push(format!(
            "connections names {} connections; at most {MAX_CONNECTIONS} are allowed",
            names.len()
        ));
    }
    for (i, name) in names.iter().enumerate() {
        if !valid_name(name) {
            problems.push(format!(
                "connections: {name:?} is not a connection name (1-128 letters, digits and single '-' between them)"
            ));
        } else if names[..i].contains(name) {
            problems.push(format!("connections names {name} twice"));
        }
    }
    problems
}

/// Auth0's connection name: `^[a-zA-Z0-9](-[a-zA-Z0-9]|[a-zA-Z0-9])*$`, at most 128.
fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
        && !name.contains("--")
}

/// What a reconcile observed of the connections of an application whose spec names them.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Seen {
    /// The spec's names, each with the tenant's connection of that name (`None`: it has none).
    pub named: Vec<(String, Option<Connection>)>,
    /// The connections enabled for the application, once there is one.
    pub enabled: Option<Vec<Connection>>,
}

/// Enable (`true`) or disable a connection for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub connection: Connection,
    pub enable: bool,
}

/// The refusal when the spec names connections the tenant does not have.
pub fn unknown(seen: &Seen) -> Option<Error> {
    let missing: Vec<&str> = seen
        .named
        .iter()
        .filter(|(_, c)| c.is_none())
        .map(|(n, _)| n.as_str())
        .collect();
    (!missing.is_empty()).then(|| {
        Error::UnknownConnection(format!(
            "the tenant has no connection named {} (spec.connections; names are case-sensitive, as in the Auth0 dashboard under Authentication); nothing was changed",
            missing.join(", ")
        ))
    })
}

/// What makes the application's connections exactly the named ones: enable those it lacks,
/// disable those it has beyond them (by name, enabling first). Nothing while a name is
/// unknown or the enabled ones are not known.
pub fn changes(seen: &Seen) -> Vec<Change> {
    let Some(enabled) = &seen.enabled else {
        return Vec::new();
    };
    if unknown(seen).is_some() {
        return Vec::new();
    }
    let wanted: Vec<&Connection> = seen.named.iter().filter_map(|(_, c)| c.as_ref()).collect();
    let mut enable: Vec<Change> = wanted
        .iter()
        .filter(|w| !enabled.iter().any(|e| e.id == w.id))
        .map(|c| Change {
            connection: (*c).clone(),
            enable: true,
        })
        .collect();
    let mut disable: Vec<Change> = enabled
        .iter()
        .filter(|e| !wanted.iter().any(|w| w.id == e.id))
        .map(|c| Change {
            connection: c.clone(),
            enable: false,
        })
        .collect();
    enable.sort_by(|a, b| a.connection.name.cmp(&b.connection.name));
    disable.sort_by(|a, b| a.connection.name.cmp(&b.connection.name));
    enable.append(&mut disable);
    enable
}

/// The names of the enabled connections, sorted (`status.connections`).
pub fn in_effect(enabled: &[Connection]) -> Vec<String> {
    let mut names: Vec<String> = enabled.iter().map(|c| c.name.clone()).collect();
    names.sort();
    names.dedup();
    names
}

/// The enabled connections after `change` was made.
pub fn apply(enabled: &mut Vec<Connection>, change: &Change) {
    enabled.retain(|c| c.id != change.connection.id);
    if change.enable {
        enabled.push(change.connection.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn con(name: &str) -> Connection {
        Connection {
            id: format!("con_{name}"),
            name: name.into(),
            strategy: Some("auth0".into()),
        }
    }

    fn seen(named: &[(&str, bool)], enabled: Option<&[&str]>) -> Seen {
        Seen {
            named: named
                .iter()
                .map(|(n, known)| (n.to_string(), known.then(|| con(n))))
                .collect(),
            enabled: enabled.map(|e| e.iter().map(|n| con(n)).collect()),
        }
    }

    fn show(changes: &[Change]) -> Vec<String> {
        changes
            .iter()
            .map(|c| format!("{}{}", if c.enable { "+" } else { "-" }, c.connection.name))
            .collect()
    }

    #[test]
    fn names_follow_auth0s_rule() {
        assert!(
            validate(&[
                "Username-Password-Authentication".into(),
                "google-oauth2".into()
            ])
            .is_empty()
        );
        for bad in ["", "-a", "a-", "a--b", "a b", "a_b", &"x".repeat(129)] {
            assert_eq!(validate(&[bad.to_string()]).len(), 1, "{bad:?}");
        }
        assert_eq!(
            validate(&["a".into(), "b".into(), "a".into()]),
            ["connections names a twice"]
        );
        let many: Vec<String> = (0..101).map(|i| format!("c{i}")).collect();
        assert_eq!(validate(&many).len(), 1);
        assert!(validate(&[]).is_empty(), "[] disables every connection");
    }

    #[test]
    fn unknown_names_are_named_and_nothing_changes() {
        let s = seen(
            &[("db", true), ("Nope", false), ("other", false)],
            Some(&["x"]),
        );
        let e = unknown(&s).unwrap();
        assert_eq!(e.reason(), crate::crd::Reason::UnknownConnection);
        assert!(
            e.to_string()
                .starts_with("the tenant has no connection named Nope, other ")
        );
        assert!(
            changes(&s).is_empty(),
            "nothing changes while a name is unknown"
        );
        assert!(unknown(&seen(&[("db", true)], None)).is_none());
    }

    #[test]
    fn changes_make_the_set_exact() {
        // (named, enabled) -> changes
        type Case<'a> = (&'a [(&'a str, bool)], Option<&'a [&'a str]>, &'a [&'a str]);
        let cases: &[Case] = &[
            (&[("db", true)], Some(&[]), &["+db"]),
            (&[("db", true)], Some(&["db"]), &[]),
            (
                &[("db", true)],
                Some(&["db", "google", "apple"]),
                &["-apple", "-google"],
            ),
            (
                &[("b", true), ("a", true)],
                Some(&["c"]),
                &["+a", "+b", "-c"],
            ),
            // [] disables every connection the application has.
            (&[], Some(&["db", "google"]), &["-db", "-google"]),
            (&[], Some(&[]), &[]),
            // No application yet: nothing to change.
            (&[("db", true)], None, &[]),
        ];
        for (named, enabled, want) in cases {
            let s = seen(named, *enabled);
            assert_eq!(show(&changes(&s)), *want, "{named:?} {enabled:?}");
        }
    }

    #[test]
    fn applying_the_changes_reaches_the_named_set() {
        let mut s = seen(&[("a", true), ("b", true)], Some(&["b", "c", "d"]));
        for c in changes(&s) {
            apply(s.enabled.as_mut().unwrap(), &c);
        }
        assert_eq!(in_effect(s.enabled.as_ref().unwrap()), ["a", "b"]);
        assert!(changes(&s).is_empty());
        assert_eq!(in_effect(&[con("z"), con("a")]), ["a", "z"]);
    }
}
