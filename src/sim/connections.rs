//! Connections (`/api/v2/connections`) and the clients each is enabled for
//! (`/api/v2/connections/{id}/clients`, `/api/v2/clients/{id}/connections`).
//!
//! What a new tenant has: one database connection, `Username-Password-Authentication`
//! (strategy `auth0`), and the tenant flag `enable_client_connections` on (OAS
//! `TenantSettingsFlags.enable_client_connections`: "Whether all current connections should
//! be enabled when a new client (application) is created (true, default) or not (false)"), so
//! that an application created afterwards is enabled on every existing connection. The
//! tenant's built-in clients (the global "All Applications" client and the management
//! application) are enabled on no connection at start.
//!
//! Evidence and choices:
//! - The view is the OAS `ConnectionForList` (`additionalProperties: false`): `id` (`con_` +
//!   16 alphanumerics, the OAS example `con_0000000000000001`), `name`, `display_name`,
//!   `strategy`, `is_domain_connection: false`, `realms: [name]` ("if the array is empty or
//!   the property is not specified, the connection name will be added as realm") and
//!   `options: {}` (the tenant's real options vary with its age and plan).
//! - The deprecated `enabled_clients` array is never part of a view: `ConnectionForList` does
//!   not allow it, and the OAS replaces it by `/connections/{id}/clients` ("DEPRECATED
//!   property. Use the GET /connections/:id/clients endpoint"). No recording shows a real
//!   answer with it.
//! - `PATCH /connections/{id}/clients` naming a client that does not exist: 404 `The client
//!   does not exist` (`inexistent_client`), and nothing changes. The OAS lists that 404 for
//!   this operation ("The connection does not exist", "The client does not exist"); that the
//!   whole request is refused rather than applied up to the unknown entry is the simulator's
//!   choice (one request, one outcome). The same client twice: the last entry wins.
//! - A deleted client is enabled on no connection any more; a deleted connection takes its
//!   enabled clients with it.

use serde_json::{Value, json};

use super::schema::{RequestOp, validate_request, validate_schema};
use super::store::{ApiError, Connection, Store, random_alnum};

/// The 404 of the connection endpoints (OAS "The connection does not exist"; the errorCode
/// `inexistent_connection` is what the integration tests of Auth0's .NET SDK expect when they
/// read a deleted connection).
pub fn connection_not_found() -> ApiError {
    ApiError::new(
        404,
        "The connection does not exist",
        Some("inexistent_connection"),
    )
}

/// Whether `strategy` is one of the OAS `ConnectionStrategyEnum` values.
pub fn is_connection_strategy(strategy: &str) -> bool {
    validate_schema("ConnectionStrategyEnum", &json!(strategy)).is_ok()
}

impl Store {
    /// A connection by id or by name (the test hooks accept both).
    pub fn connection_index(&self, name_or_id: &str) -> Option<usize> {
        self.connections
            .iter()
            .position(|c| c.id() == name_or_id)
            .or_else(|| self.connections.iter().position(|c| c.name() == name_or_id))
    }

    /// A connection by id (what the API's paths name).
    pub fn connection_by_id(&self, id: &str) -> Result<&Connection, ApiError> {
        self.connections
            .iter()
            .find(|c| c.id() == id)
            .ok_or_else(connection_not_found)
    }

    /// Adds a connection enabled for no client and returns its view.
    ///
    /// # Errors
    /// The name is taken, or the strategy is not one of the OAS `ConnectionStrategyEnum`.
    pub fn add_connection(&mut self, name: &str, strategy: &str) -> Result<Value, String> {
        if name.is_empty() {
            return Err("a connection needs a name".into());
        }
        if self.connections.iter().any(|c| c.name() == name) {
            return Err(format!("a connection named {name:?} exists already"));
        }
        if !is_connection_strategy(strategy) {
            return Err(format!(
                "{strategy:?} is not a connection strategy (OAS ConnectionStrategyEnum)"
            ));
        }
        let view = json!({
            "id": format!("con_{}", random_alnum(16)),
            "name": name,
            "display_name": name,
            "strategy": strategy,
            "is_domain_connection": false,
            "realms": [name],
            "options": {},
        });
        self.connections.push(Connection {
            view: view.clone(),
            enabled_clients: Vec::new(),
        });
        Ok(view)
    }

    /// Deletes a connection by id or name; `false` if there was none.
    pub fn delete_connection(&mut self, name_or_id: &str) -> bool {
        match self.connection_index(name_or_id) {
            Some(i) => {
                self.connections.remove(i);
                true
            }
            None => false,
        }
    }

    /// Enables (`true`) or disables a client on the connection at `idx`; idempotent.
    pub fn set_connection_client(&mut self, idx: usize, client_id: &str, enabled: bool) {
        let list = &mut self.connections[idx].enabled_clients;
        let present = list.iter().any(|c| c == client_id);
        if enabled && !present {
            list.push(client_id.to_string());
        } else if !enabled && present {
            list.retain(|c| c != client_id);
        }
    }

    /// `PATCH /connections/{id}/clients`: the official request schema (an array of 1..=50
    /// `{client_id, status}`), then the connection (404), then every client (404), then the
    /// changes, in order.
    pub fn patch_connection_clients(&mut self, id: &str, body: &Value) -> Result<(), ApiError> {
        validate_request(RequestOp::UpdateConnectionClients, body)
            .map_err(ApiError::bad_request)?;
        let idx = self
            .connections
            .iter()
            .position(|c| c.id() == id)
            .ok_or_else(connection_not_found)?;
        let changes: Vec<(String, bool)> = body
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| {
                (
                    e["client_id"].as_str().unwrap_or_default().to_string(),
                    e["status"].as_bool().unwrap_or_default(),
                )
            })
            .collect();
        if changes.iter().any(|(c, _)| self.get_client(c).is_none()) {
            return Err(ApiError::client_not_found());
        }
        for (client_id, enabled) in changes {
            self.set_connection_client(idx, &client_id, enabled);
        }
        Ok(())
    }

    /// The views of the connections a client is enabled on, in connection order.
    pub fn client_connections(&self, client_id: &str) -> Vec<Value> {
        self.connections
            .iter()
            .filter(|c| c.enabled_clients.iter().any(|e| e == client_id))
            .map(|c| c.view.clone())
            .collect()
    }
}
