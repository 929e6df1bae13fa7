//! Cached view of the tenant's clients, grants and APIs (resource servers), refreshed by listing.
//!
//! Reconciles read Auth0 state from here instead of one GET per object: a refresh lists every
//! client (or grant) at 100 per request, at most once per `max_age` (the resync interval), and
//! concurrent callers share one refresh. Writes the operator makes (create, patch, delete) are
//! applied to the cache immediately, and survive a refresh that was already in flight.
//! The cache never holds client secrets: clients are listed without `client_secret`.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use parking_lot::RwLock;

use crate::{
    auth0::{
        Auth0Error, Client, ClientGrant, Connection, ListClientsParams, ListGrantsParams,
        ManagementApi, ResourceServer,
    },
    crd::METADATA_UID_KEY,
};

/// Client fields the operator compares; listing only these keeps the cache small.
pub const CLIENT_FIELDS: &[&str] = &[
    "client_id",
    "name",
    "description",
    "app_type",
    "callbacks",
    "allowed_logout_urls",
    "allowed_origins",
    "web_origins",
    "grant_types",
    "token_endpoint_auth_method",
    "is_first_party",
    "oidc_conformant",
    "jwt_configuration",
    "refresh_token",
    "client_metadata",
    "logo_uri",
    "initiate_login_uri",
    "organization_usage",
    "organization_require_behavior",
    "cross_origin_authentication",
    "cross_origin_loc",
    "sso",
    "sso_disabled",
    "custom_login_page_on",
    "require_pushed_authorization_requests",
    "allowed_clients",
    "client_authentication_methods",
    "global",
];

struct Listing<T> {
    /// Boxed: a hash table keeps room for more entries than it holds, and an Auth0 client is
    /// 800 bytes (a third of the table was empty slots that size).
    items: HashMap<String, Box<T>>,
    fetched_at: Option<Instant>,
    /// When the listing in flight started (refreshes are one at a time).
    refreshing: Option<Instant>,
    /// Local writes made while a listing is in flight, replayed over it when it lands. Kept
    /// only then: between listings it stays empty, so it does not grow with the writes of a
    /// whole resync interval (it held a copy of every client created since the last listing).
    local: Vec<(String, Option<Box<T>>)>,
    forced: bool,
}

impl<T: Clone> Listing<T> {
    fn new() -> Self {
        Self {
            items: HashMap::new(),
            fetched_at: None,
            refreshing: None,
            local: Vec::new(),
            forced: true,
        }
    }

    fn fresh(&self, max_age: Duration) -> bool {
        !self.forced && self.fetched_at.is_some_and(|t| t.elapsed() < max_age)
    }

    fn write(&mut self, id: String, value: Option<T>) {
        let value = value.map(Box::new);
        match &value {
            Some(v) => self.items.insert(id.clone(), v.clone()),
            None => self.items.remove(&id),
        };
        if self.refreshing.is_some() {
            self.local.push((id, value));
        }
    }

    /// A listing starts now: writes from here on are replayed over it.
    fn begin(&mut self) -> Instant {
        let now = Instant::now();
        self.refreshing = Some(now);
        self.local.clear();
        now
    }

    /// The listing in flight failed: nothing to replay.
    fn abort(&mut self) {
        self.refreshing = None;
        self.local = Vec::new();
    }

    /// The listing that started at [`Listing::begin`] landed with `items`.
    fn replace(&mut self, items: HashMap<String, Box<T>>) {
        self.items = items;
        for (id, value) in std::mem::take(&mut self.local) {
            match value {
                Some(v) => self.items.insert(id, v),
                None => self.items.remove(&id),
            };
        }
        self.items.shrink_to_fit();
        self.fetched_at = self.refreshing.take();
        self.forced = false;
    }
}

/// See the module documentation.
pub struct Inventory {
    max_age: Duration,
    clients: RwLock<Listing<Client>>,
    grants: RwLock<Listing<ClientGrant>>,
    apis: RwLock<Listing<ResourceServer>>,
    /// The tenant's connections by id (listed only once a resource names connections).
    connections: RwLock<Listing<Connection>>,
    /// Per application, the ids of the connections enabled for it: every application the
    /// client listing held when the connection listing began (none enabled: an empty entry),
    /// and those looked up one by one since (see [`Inventory::enabled_connections`]).
    enabled: RwLock<Listing<Vec<String>>>,
    connection_refresh: tokio::sync::Mutex<()>,
    client_refresh: tokio::sync::Mutex<()>,
    grant_refresh: tokio::sync::Mutex<()>,
    api_refresh: tokio::sync::Mutex<()>,
    /// Clients this process created, with when: a client created after the grant listing
    /// cannot have grants the listing missed, except ones made elsewhere in between.
    created_clients: RwLock<HashMap<String, Instant>>,
    /// Applications whose credentials this process has listed (see
    /// [`credentials_checked`](Self::credentials_checked)).
    credentials_checked: RwLock<std::collections::HashSet<String>>,
}

impl Inventory {
    /// An empty cache whose listings are refreshed when older than `max_age`.
    pub fn new(max_age: Duration) -> Self {
        Self {
            max_age,
            clients: RwLock::new(Listing::new()),
            grants: RwLock::new(Listing::new()),
            apis: RwLock::new(Listing::new()),
            connections: RwLock::new(Listing::new()),
            enabled: RwLock::new(Listing::new()),
            connection_refresh: tokio::sync::Mutex::new(()),
            client_refresh: tokio::sync::Mutex::new(()),
            grant_refresh: tokio::sync::Mutex::new(()),
            api_refresh: tokio::sync::Mutex::new(()),
            created_clients: RwLock::new(HashMap::new()),
            credentials_checked: RwLock::new(Default::default()),
        }
    }

    /// Refreshes `listing` from `list` when it is older than `max_age`, one refresh at a time
    /// (`lock`): writes made while the listing is in flight are replayed over it, a failed one
    /// leaves nothing to replay, and the memory of the pages is given back. Returns when the
    /// listing began, or `None` when it was fresh.
    async fn refresh<T: Clone>(
        &self,
        listing: &RwLock<Listing<T>>,
        lock: &tokio::sync::Mutex<()>,
        id: impl Fn(&T) -> String,
        list: impl std::future::Future<Output = Result<Vec<T>, Auth0Error>>,
    ) -> Result<Option<Instant>, Auth0Error> {
        if listing.read().fresh(self.max_age) {
            return Ok(None);
        }
        let _refresh = lock.lock().await;
        if listing.read().fresh(self.max_age) {
            return Ok(None); // someone else refreshed while we waited
        }
        let started = listing.write().begin();
        let listed = match list.await {
            Ok(l) => l,
            Err(e) => {
                listing.write().abort();
                return Err(e);
            }
        };
        let items = listed.into_iter().map(|x| (id(&x), Box::new(x))).collect();
        listing.write().replace(items);
        // The pages and the table they were decoded into are gone.
        super::release_freed_memory();
        Ok(Some(started))
    }

    /// Makes sure the client listing is at most `max_age` old (one shared refresh).
    pub async fn ensure_clients(&self, auth0: &ManagementApi) -> Result<(), Auth0Error> {
        let params = ListClientsParams {
            fields: Some(CLIENT_FIELDS.iter().map(|s| s.to_string()).collect()),
            include_fields: true,
            is_global: Some(false),
        };
        let list = async {
            let mut listed = auth0.list_clients(&params).await?;
            for c in &mut listed {
                c.client_secret = None;
            }
            Ok(listed)
        };
        self.refresh(
            &self.clients,
            &self.client_refresh,
            |c: &Client| c.client_id.clone(),
            list,
        )
        .await
        .map(|_| ())
    }

    /// Makes sure the grant listing is at most `max_age` old (one shared refresh).
    pub async fn ensure_grants(&self, auth0: &ManagementApi) -> Result<(), Auth0Error> {
        let params = ListGrantsParams::default();
        let list = auth0.list_client_grants(&params);
        let grant_id = |g: &ClientGrant| g.id.clone();
        if let Some(started) = self
            .refresh(&self.grants, &self.grant_refresh, grant_id, list)
            .await?
        {
            // Only clients created after this listing began can be covered by it.
            self.created_clients.write().retain(|_, at| *at >= started);
        }
        Ok(())
    }

    /// Whether a grant listing has been taken (so [`Inventory::grant`] answering `None` means
    /// the grant is gone, as far as this process knows).
    pub fn grants_listed(&self) -> bool {
        self.grants.read().fetched_at.is_some()
    }

    /// The cached client with this id.
    /// Whether this process has listed the credentials of application `client_id`: until it
    /// has, a key an earlier process registered may be left over unnoticed (a stop between two
    /// steps), so the credential's plan lists them once.
    pub fn credentials_checked(&self, client_id: &str) -> bool {
        self.credentials_checked.read().contains(client_id)
    }

    /// The credentials of application `client_id` were listed.
    pub fn mark_credentials_checked(&self, client_id: &str) {
        self.credentials_checked
            .write()
            .insert(client_id.to_string());
    }

    pub fn client(&self, client_id: &str) -> Option<Client> {
        self.clients
            .read()
            .items
            .get(client_id)
            .map(|c| (**c).clone())
    }

    /// The cached client tagged with this Kubernetes UID (see [`METADATA_UID_KEY`]).
    pub fn client_by_uid(&self, uid: &str) -> Option<Client> {
        self.clients
            .read()
            .items
            .values()
            .find(|c| {
                c.client_metadata
                    .as_ref()
                    .and_then(|m| m.get(METADATA_UID_KEY))
                    .is_some_and(|v| v == uid)
            })
            .map(|x| (**x).clone())
    }

    /// Records a client the operator created or patched (its secret is dropped).
    pub fn upsert_client(&self, client: &Client) {
        let mut c = client.clone();
        c.client_secret = None;
        self.clients.write().write(c.client_id.clone(), Some(c));
    }

    /// Records a client this process just created.
    pub fn record_created_client(&self, client: &Client) {
        self.created_clients
            .write()
            .insert(client.client_id.clone(), Instant::now());
        self.upsert_client(client);
    }

    /// True when this process created the client after the current grant listing was taken,
    /// so the listing is complete for that client as far as this process can know.
    pub fn grants_listing_covers_new_client(&self, client_id: &str) -> bool {
        let fetched = self.grants.read().fetched_at;
        match (self.created_clients.read().get(client_id), fetched) {
            (Some(created), Some(fetched)) => *created >= fetched,
            _ => false,
        }
    }

    /// Records that a client is gone.
    pub fn remove_client(&self, client_id: &str) {
        self.clients.write().write(client_id.to_string(), None);
        if self.enabled.read().items.contains_key(client_id) {
            self.enabled.write().write(client_id.to_string(), None);
        }
    }

    /// Forces a refresh before the next client lookup (after an ambiguous create, say).
    pub fn invalidate_clients(&self) {
        self.clients.write().forced = true;
    }

    /// The cached grant with this id.
    pub fn grant(&self, grant_id: &str) -> Option<ClientGrant> {
        self.grants
            .read()
            .items
            .get(grant_id)
            .map(|g| (**g).clone())
    }

    /// The cached grant for (client, audience) with subject type `client`.
    pub fn find_grant(&self, client_id: &str, audience: &str) -> Option<ClientGrant> {
        self.grants
            .read()
            .items
            .values()
            .find(|g| crate::controller::grant::spec::grant_matches(g, client_id, audience))
            .map(|x| (**x).clone())
    }

    /// Records a grant the operator created or patched.
    pub fn upsert_grant(&self, grant: &ClientGrant) {
        self.grants
            .write()
            .write(grant.id.clone(), Some(grant.clone()));
    }

    /// Records that a grant is gone.
    pub fn remove_grant(&self, grant_id: &str) {
        self.grants.write().write(grant_id.to_string(), None);
    }

    /// Drops every cached grant of a client (Auth0 deletes them with the client).
    pub fn remove_grants_of_client(&self, client_id: &str) {
        self.remove_grants_where(|g| g.client_id.as_deref() == Some(client_id));
    }

    /// Records that every cached grant `pick` selects is gone.
    fn remove_grants_where(&self, pick: impl Fn(&ClientGrant) -> bool) {
        let ids: Vec<String> = self
            .grants
            .read()
            .items
            .values()
            .filter(|g| pick(g))
            .map(|g| g.id.clone())
            .collect();
        let mut grants = self.grants.write();
        for id in ids {
            grants.write(id, None);
        }
    }

    /// Forces a refresh before the next grant lookup.
    pub fn invalidate_grants(&self) {
        self.grants.write().forced = true;
    }

    /// Makes sure the API listing is at most `max_age` old (one shared refresh).
    pub async fn ensure_resource_servers(&self, auth0: &ManagementApi) -> Result<(), Auth0Error> {
        let api_id = |r: &ResourceServer| r.id.clone();
        self.refresh(
            &self.apis,
            &self.api_refresh,
            api_id,
            auth0.list_resource_servers(),
        )
        .await
        .map(|_| ())
    }

    /// The cached API with this id.
    pub fn resource_server(&self, id: &str) -> Option<ResourceServer> {
        self.apis.read().items.get(id).map(|r| (**r).clone())
    }

    /// The cached API with this identifier (audience).
    pub fn resource_server_by_identifier(&self, identifier: &str) -> Option<ResourceServer> {
        self.apis
            .read()
            .items
            .values()
            .find(|r| r.identifier == identifier)
            .map(|x| (**x).clone())
    }

    /// Records an API the operator created, adopted or patched.
    pub fn upsert_resource_server(&self, api: &ResourceServer) {
        self.apis.write().write(api.id.clone(), Some(api.clone()));
    }

    /// Records that the API `id` with `identifier` is gone, and with it its grants (Auth0
    /// deletes an API's grants with it).
    pub fn remove_resource_server(&self, id: &str, identifier: &str) {
        self.apis.write().write(id.to_string(), None);
        self.remove_grants_where(|g| g.audience == identifier);
    }

    /// Makes sure the connection listing is at most `max_age` old (one shared refresh): every
    /// connection (`GET /connections`, 100 per page), then the applications each is enabled
    /// for (`GET /connections/{id}/clients`, 1000 per page). Per resync that is one request
    /// per 100 connections plus one per connection and 1000 of its applications, whatever the
    /// number of resources. Listed only for tenants whose resources name connections.
    pub async fn ensure_connections(&self, auth0: &ManagementApi) -> Result<(), Auth0Error> {
        // Runs inside the connections' refresh, once it began: the per-application listing
        // begins, lands and fails with it.
        let list = async {
            // Every application the client listing holds now existed before this listing
            // began, so the listing says exactly which connections it has.
            let known: Vec<String> = self.clients.read().items.keys().cloned().collect();
            self.enabled.write().begin();
            let listed = async {
                let connections = auth0.list_connections().await?;
                let mut enabled: HashMap<String, Box<Vec<String>>> =
                    known.into_iter().map(|id| (id, Box::default())).collect();
                for c in &connections {
                    for client_id in auth0.list_connection_clients(&c.id).await? {
                        enabled.entry(client_id).or_default().push(c.id.clone());
                    }
                }
                Ok::<_, Auth0Error>((connections, enabled))
            };
            match listed.await {
                Ok((connections, enabled)) => {
                    self.enabled.write().replace(enabled);
                    Ok(connections)
                }
                Err(e) => {
                    self.enabled.write().abort();
                    Err(e)
                }
            }
        };
        self.refresh(
            &self.connections,
            &self.connection_refresh,
            |c: &Connection| c.id.clone(),
            list,
        )
        .await
        .map(|_| ())
    }

    /// Forces a refresh of the connections before the next look at them.
    pub fn invalidate_connections(&self) {
        self.connections.write().forced = true;
    }

    /// The cached connection named `name`.
    pub fn connection_by_name(&self, name: &str) -> Option<Connection> {
        self.connections
            .read()
            .items
            .values()
            .find(|c| c.name == name)
            .map(|c| (**c).clone())
    }

    /// Records a connection found since the listing (by name), with the applications it is
    /// enabled for.
    pub fn record_connection(&self, connection: &Connection, clients: &[String]) {
        self.connections
            .write()
            .write(connection.id.clone(), Some(connection.clone()));
        let known: Vec<(String, Vec<String>)> = {
            let enabled = self.enabled.read();
            clients
                .iter()
                .filter_map(|id| enabled.items.get(id).map(|v| (id.clone(), (**v).clone())))
                .collect()
        };
        let mut enabled = self.enabled.write();
        for (client_id, mut ids) in known {
            if !ids.contains(&connection.id) {
                ids.push(connection.id.clone());
                enabled.write(client_id, Some(ids));
            }
        }
    }

    /// The connections enabled for application `client_id`, when the cache knows them: the
    /// application existed when the connections were listed, or was looked up since. `None`:
    /// ask Auth0 (`GET /clients/{id}/connections`) and [record](Self::record_enabled) it.
    pub fn enabled_connections(&self, client_id: &str) -> Option<Vec<Connection>> {
        let ids = self
            .enabled
            .read()
            .items
            .get(client_id)
            .map(|v| (**v).clone())?;
        let connections = self.connections.read();
        Some(
            ids.iter()
                .filter_map(|id| connections.items.get(id).map(|c| (**c).clone()))
                .collect(),
        )
    }

    /// Records which connections are enabled for application `client_id` (looked up, or
    /// just changed by the operator).
    pub fn record_enabled(&self, client_id: &str, connections: &[Connection]) {
        {
            let mut listing = self.connections.write();
            for c in connections {
                if !listing.items.contains_key(&c.id) {
                    listing.write(c.id.clone(), Some(c.clone()));
                }
            }
        }
        self.enabled.write().write(
            client_id.to_string(),
            Some(connections.iter().map(|c| c.id.clone()).collect()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_writes_survive_an_older_listing() {
        let mut l: Listing<u32> = Listing::new();
        l.begin();
        l.write("new".into(), Some(1));
        l.write("gone".into(), None);
        l.replace(HashMap::from([
            ("old".to_string(), Box::new(0)),
            ("gone".to_string(), Box::new(2)),
        ]));
        assert_eq!(l.items.get("new").map(|v| **v), Some(1));
        assert_eq!(l.items.get("old").map(|v| **v), Some(0));
        assert_eq!(l.items.get("gone"), None);
        // A listing that started after the write supersedes it.
        l.begin();
        l.replace(HashMap::new());
        assert!(l.items.is_empty());
        assert!(l.fresh(Duration::from_secs(60)));
        l.forced = true;
        assert!(!l.fresh(Duration::from_secs(60)));
    }

    #[test]
    fn writes_between_listings_are_not_kept_twice() {
        let mut l: Listing<u32> = Listing::new();
        l.begin();
        l.replace(HashMap::new());
        for i in 0..1000 {
            l.write(format!("c{i}"), Some(i));
        }
        assert_eq!(l.items.len(), 1000);
        assert!(
            l.local.is_empty(),
            "no listing in flight: nothing to replay"
        );
        // A failed listing leaves nothing to replay behind either.
        l.begin();
        l.write("during".into(), Some(1));
        assert_eq!(l.local.len(), 1);
        l.abort();
        assert!(l.local.is_empty() && l.refreshing.is_none());
        assert_eq!(l.items.get("during").map(|v| **v), Some(1));
    }
}
