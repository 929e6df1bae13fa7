//! The tenants the operator can use: per tenant one Auth0 client (token cache, rate limiter)
//! and one listing inventory, shared by every object of that tenant, rebuilt only when its
//! settings change.

use std::{
    collections::HashMap,
    hash::{Hash, Hasher},
    sync::Arc,
    time::Duration,
};

use parking_lot::RwLock;

use crate::{
    auth0::{Auth0Config, Auth0Error, ManagementApi},
    config::TenantPolicy,
    controller::Inventory,
    crd::DEFAULT_TENANT_KEY,
};

/// One Auth0 tenant as the operator uses it.
pub struct Tenant {
    /// `namespace/name`, `cluster/name` or `default`; also the `tenant` metric label.
    pub key: String,
    /// The tenant's domain (what credentials Secrets carry as `AUTH0_DOMAIN`).
    pub domain: String,
    /// Management API client: one token cache and one rate limiter for the whole tenant.
    pub auth0: ManagementApi,
    /// Listings of the tenant's clients and grants.
    pub inventory: Arc<Inventory>,
    /// The management application's client id (protected: never a resource's).
    pub management_client_id: String,
    /// The Management API audience the tenant's settings name, if not the default one.
    pub audience: Option<String>,
    /// Hash of the settings and credentials the client was built from.
    fingerprint: u64,
}

impl std::fmt::Debug for Tenant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tenant")
            .field("key", &self.key)
            .field("domain", &self.domain)
            .finish_non_exhaustive()
    }
}

impl Tenant {
    /// A tenant built from `config` (no Auth0 call yet).
    pub fn new(key: String, config: Auth0Config, resync: Duration) -> Result<Self, Auth0Error> {
        let fingerprint = fingerprint(&config);
        Ok(Self {
            key,
            domain: config.domain.clone(),
            management_client_id: config.client_id.clone(),
            audience: config.audience.clone(),
            auth0: ManagementApi::new(config)?,
            inventory: Arc::new(Inventory::new(resync)),
            fingerprint,
        })
    }
}

/// Hash of everything that makes a different client (the secret included; kept in memory only).
fn fingerprint(c: &Auth0Config) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    c.domain.hash(&mut h);
    c.client_id.hash(&mut h);
    c.client_secret.expose().hash(&mut h);
    c.private_key.as_ref().map(|k| k.expose()).hash(&mut h);
    c.audience.hash(&mut h);
    c.base_url
        .as_ref()
        .map(|u| u.as_str().to_string())
        .hash(&mut h);
    c.rate_limit.burst.hash(&mut h);
    c.rate_limit.per_second.to_bits().hash(&mut h);
    h.finish()
}

/// The verified tenants, by key.
pub struct Tenants {
    default: Option<Arc<Tenant>>,
    verified: RwLock<HashMap<String, Arc<Tenant>>>,
    /// Settings every tenant object is checked against.
    pub policy: TenantPolicy,
    resync: Duration,
}

impl Tenants {
    /// The registry, with the default tenant from the environment if one is configured.
    pub fn new(
        default: Option<Auth0Config>,
        policy: TenantPolicy,
        resync: Duration,
    ) -> Result<Self, Auth0Error> {
        let default = default
            .map(|c| Tenant::new(DEFAULT_TENANT_KEY.to_string(), c, resync).map(Arc::new))
            .transpose()?;
        Ok(Self {
            default,
            verified: RwLock::new(HashMap::new()),
            policy,
            resync,
        })
    }

    /// The default tenant, if configured.
    pub fn default_tenant(&self) -> Option<Arc<Tenant>> {
        self.default.clone()
    }

    /// A verified tenant by key.
    pub fn get(&self, key: &str) -> Option<Arc<Tenant>> {
        if key == DEFAULT_TENANT_KEY {
            return self.default.clone();
        }
        self.verified.read().get(key).cloned()
    }

    /// Every tenant in use (the default first), e.g. for metrics.
    pub fn all(&self) -> Vec<Arc<Tenant>> {
        let mut v: Vec<Arc<Tenant>> = self.default.iter().cloned().collect();
        let mut rest: Vec<Arc<Tenant>> = self.verified.read().values().cloned().collect();
        rest.sort_by(|a, b| a.key.cmp(&b.key));
        v.extend(rest);
        v
    }

    /// The tenant for `config`: the registered one when nothing changed (its token cache and
    /// inventory survive), else a new one (a changed secret drops the cached token at once).
    pub(crate) fn build(&self, key: &str, config: Auth0Config) -> Result<Arc<Tenant>, Auth0Error> {
        if let Some(t) = self.verified.read().get(key)
            && t.fingerprint == fingerprint(&config)
        {
            return Ok(t.clone());
        }
        Ok(Arc::new(Tenant::new(key.to_string(), config, self.resync)?))
    }

    pub(crate) fn register(&self, tenant: Arc<Tenant>) -> bool {
        let mut map = self.verified.write();
        let changed = map
            .get(&tenant.key)
            .is_none_or(|t| !Arc::ptr_eq(t, &tenant));
        map.insert(tenant.key.clone(), tenant);
        changed
    }

    pub(crate) fn unregister(&self, key: &str) -> bool {
        self.verified.write().remove(key).is_some()
    }
}
