//! The table of managed kinds: one entry per kind, and everything that lists the kinds is
//! derived from it.
//!
//! An entry names the kind's type (its CRD type in `crd/`, whose [`Kind`] implementation is
//! its folder under `controller/`) and the Management API scopes the kind needs. From the
//! table come:
//!
//! - the controllers the operator runs (`controller::wire_kinds`, through [`each`]);
//! - the CRDs it installs, checks at start-up and writes to `crds/` ([`crds`]);
//! - the scopes a tenant's token must grant ([`required_scopes`]);
//! - the files `auth0-operator generate` writes (see `crate::manifests`): the chart's RBAC
//!   rules for the kinds (`charts/auth0-operator/templates/_kinds.tpl`) and the Argo CD health
//!   check keys (`deploy/argocd/argocd-cm-values.yaml`, `docs/argocd.md`).
//!
//! The tenants (`Auth0Tenant`, `ClusterAuth0Tenant`) are not managed kinds (they have their
//! own controller, `controller::tenant`); [`crds`] adds their CRDs after the table's.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;

use super::driver::Kind;
use crate::crd::{self, Auth0Client, Auth0ClientGrant, Auth0ResourceServer};

/// One managed kind, as everything outside its folder sees it.
#[derive(Clone, Copy, Debug)]
pub struct ManagedKind {
    /// The kind's name ([`Kind::KIND`]), e.g. `Auth0Client`.
    pub kind: &'static str,
    /// The Management API scopes its reconciles use.
    pub scopes: &'static [&'static str],
    /// Whether it owns the operator's Secrets ([`Kind::OWNS_SECRETS`]): its objects' Secrets
    /// carry a blocking owner reference, so the chart grants `update` on its `finalizers`.
    pub owns_secrets: bool,
    /// Its CRD, as generated from the type (before `crd::tidy`).
    crd: fn() -> CustomResourceDefinition,
}

impl ManagedKind {
    /// Its CRD as installed (see `crd::tidy`).
    pub fn crd(&self) -> CustomResourceDefinition {
        crd::tidy((self.crd)())
    }

    /// Its resource name, e.g. `auth0clients` (RBAC rules name it).
    pub fn plural(&self) -> String {
        (self.crd)().spec.names.plural
    }
}

/// Something done once per managed kind, with its type (the wiring of its controller).
pub trait EachKind {
    /// Called for each kind of the table, in order.
    fn kind<K: Kind>(&mut self);
}

/// The table: `Type: [scopes]`, one entry per managed kind. Expands to [`MANAGED`] and [`each`],
/// so the types are listed once.
macro_rules! managed_kinds {
    ($($ty:ident: [$($scope:literal),* $(,)?]),* $(,)?) => {
        /// The managed kinds, in the order they are wired and their CRDs are listed.
        pub const MANAGED: &[ManagedKind] = &[$(
            ManagedKind {
                kind: <$ty as Kind>::KIND,
                scopes: &[$($scope),*],
                owns_secrets: <$ty as Kind>::OWNS_SECRETS,
                crd: <$ty as kube::CustomResourceExt>::crd,
            }
        ),*];

        /// Calls `v.kind::<K>()` for every managed kind `K`, in the order of [`MANAGED`].
        pub fn each(v: &mut impl EachKind) {
            $(v.kind::<$ty>();)*
        }
    };
}

managed_kinds! {
    // Applications: the application itself, its client secret (read, rotated) and its
    // private_key_jwt credentials (listed, registered, retired).
    Auth0Client: [
        "read:clients",
        "create:clients",
        "update:clients",
        "delete:clients",
        "read:client_keys",
        "update:client_keys",
        "read:client_credentials",
        "create:client_credentials",
        "update:client_credentials",
        "delete:client_credentials",
        // spec.connections, on the per-connection endpoints.
        "read:connections",
        "update:connections",
    ],
    // Grants; the API a grant names is read for its scopes.
    Auth0ClientGrant: [
        "read:client_grants",
        "create:client_grants",
        "update:client_grants",
        "delete:client_grants",
        "read:resource_servers",
    ],
    // APIs.
    Auth0ResourceServer: [
        "read:resource_servers",
        "create:resource_servers",
        "update:resource_servers",
        "delete:resource_servers",
    ],
}

/// The Management API scopes the operator needs: the union of the kinds' scopes, each once, in
/// the table's order. A tenant whose token lacks one is refused (`auth0::missing_scopes`).
pub fn required_scopes() -> Vec<&'static str> {
    let mut all: Vec<&'static str> = Vec::new();
    for scope in MANAGED.iter().flat_map(|k| k.scopes) {
        if !all.contains(scope) {
            all.push(scope);
        }
    }
    all
}

/// Every CRD as installed: the managed kinds' (in the table's order), then `Auth0Tenant` and
/// `ClusterAuth0Tenant`.
pub fn crds() -> Vec<CustomResourceDefinition> {
    MANAGED
        .iter()
        .map(ManagedKind::crd)
        .chain(crd::tenant_crds().map(crd::tidy))
        .collect()
}

/// The generated CRDs as `(file name, YAML)` pairs, in the order of [`crds`] (what
/// `auth0-operator generate` writes to `crds/` and the chart's `crds/`).
pub fn crd_files() -> Vec<(String, String)> {
    crds()
        .iter()
        .map(|c| (crd::file_name(c), crd::to_yaml(c)))
        .collect()
}

/// All CRDs as one multi-document YAML stream (what `auth0-operator crds` prints).
pub fn crds_yaml() -> String {
    crd_files().into_iter().map(|(_, yaml)| yaml).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry is a different kind, with scopes, and its CRD is its kind's.
    #[test]
    fn the_table_is_consistent() {
        for (i, k) in MANAGED.iter().enumerate() {
            assert!(
                MANAGED[..i].iter().all(|o| o.kind != k.kind),
                "{} twice",
                k.kind
            );
            assert!(!k.scopes.is_empty(), "{}: no scopes", k.kind);
            assert_eq!(k.crd().spec.names.kind, k.kind);
            assert_eq!(k.crd().spec.group, crd::GROUP);
            assert_eq!(k.crd().spec.scope, "Namespaced");
        }
        let kinds: Vec<&str> = MANAGED.iter().map(|k| k.kind).collect();
        assert_eq!(
            kinds,
            ["Auth0Client", "Auth0ClientGrant", "Auth0ResourceServer"]
        );
        // Only applications own Secrets.
        let owners: Vec<&str> = MANAGED
            .iter()
            .filter(|k| k.owns_secrets)
            .map(|k| k.kind)
            .collect();
        assert_eq!(owners, ["Auth0Client"]);
    }

    /// The union: every scope once, the kinds' in order.
    #[test]
    fn required_scopes_are_the_union_of_the_kinds() {
        let required = required_scopes();
        for k in MANAGED {
            for s in k.scopes {
                assert_eq!(required.iter().filter(|r| *r == s).count(), 1, "{s}");
            }
        }
        assert_eq!(required.len(), 20);
        assert_eq!(required[0], "read:clients");
    }

    /// The managed kinds' CRDs, then the tenants'; file names are `<plural>.<group>.yaml`.
    #[test]
    fn crds_list_the_table_then_the_tenants() {
        let names: Vec<String> = crd_files().into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            names,
            [
                "auth0clients.auth0.operator.dev.yaml",
                "auth0clientgrants.auth0.operator.dev.yaml",
                "auth0resourceservers.auth0.operator.dev.yaml",
                "auth0tenants.auth0.operator.dev.yaml",
                "clusterauth0tenants.auth0.operator.dev.yaml",
            ]
        );
        assert_eq!(MANAGED[0].plural(), "auth0clients");
    }
}
