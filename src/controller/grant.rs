//! Reconciler of `Auth0ClientGrant`.

use kube::{
    Api, ResourceExt,
    runtime::{controller::Action, events::EventType, reflector::ObjectRef},
};
use tracing::{info, warn};

use super::{Context, Error, build, status};
use crate::{
    auth0::{ClientGrant, ListGrantsParams},
    crd::{
        Auth0Client, Auth0ClientGrant, Auth0ClientGrantStatus, CONDITION_READY, DeletionPolicy,
        reason,
    },
};

#[derive(Debug, Default)]
struct Outcome {
    grant_id: String,
    client_id: String,
    created: bool,
    adopted: bool,
    updated_fields: Vec<String>,
}

impl super::Reconciled for Auth0ClientGrant {
    const KIND: &'static str = "Auth0ClientGrant";

    fn apply<'a>(
        &'a self,
        ctx: &'a Context,
        api: &'a Api<Self>,
    ) -> impl std::future::Future<Output = Result<Action, Error>> + Send + 'a {
        apply(self, ctx, api)
    }

    fn cleanup<'a>(
        &'a self,
        ctx: &'a Context,
    ) -> impl std::future::Future<Output = Result<Action, Error>> + Send + 'a {
        cleanup(self, ctx)
    }
}

async fn apply(
    obj: &Auth0ClientGrant,
    ctx: &Context,
    api: &Api<Auth0ClientGrant>,
) -> Result<Action, Error> {
    let previous = obj.status.clone().unwrap_or_default();
    match sync(obj, ctx).await {
        Ok(out) => {
            let message = format!(
                "client grant {} gives {} access to {}",
                out.grant_id, out.client_id, obj.spec.audience
            );
            let new_status = Auth0ClientGrantStatus {
                observed_generation: obj.metadata.generation,
                conditions: vec![status::ready(
                    true,
                    reason::SYNCED,
                    &message,
                    obj.metadata.generation,
                    &previous.conditions,
                )],
                grant_id: Some(out.grant_id.clone()),
                client_id: Some(out.client_id.clone()),
                audience: Some(obj.spec.audience.clone()),
                client_ref: obj.spec.client_ref.clone(),
            };
            status::apply_status(api, obj, obj.status.as_ref(), &new_status).await?;
            let note = if out.created {
                Some(("Created", format!("Created client grant {}", out.grant_id)))
            } else if out.adopted {
                Some((
                    "Adopted",
                    format!("Adopted existing client grant {}", out.grant_id),
                ))
            } else if !out.updated_fields.is_empty() {
                Some((
                    "Updated",
                    format!(
                        "Updated client grant {}: {}",
                        out.grant_id,
                        out.updated_fields.join(", ")
                    ),
                ))
            } else {
                None
            };
            if let Some((reason, note)) = note {
                info!(grant_id = %out.grant_id, "{note}");
                ctx.event(obj, EventType::Normal, reason, "Sync", note)
                    .await;
            }
            Ok(ctx.resync())
        }
        Err(err) => {
            let mut new_status = Auth0ClientGrantStatus {
                observed_generation: obj.metadata.generation,
                conditions: vec![status::ready(
                    false,
                    err.reason(),
                    &err.to_string(),
                    obj.metadata.generation,
                    &previous.conditions,
                )],
                ..previous.clone()
            };
            if matches!(err, Error::ClientNotReady(_))
                && let Some(id) = previous.grant_id.as_deref()
                && ctx.inventory.grants_listed()
                && ctx.inventory.grant(id).is_none()
            {
                // The grant went away with its client (Auth0 deletes a client's grants):
                // the status must not keep naming them.
                new_status.grant_id = None;
                new_status.client_id = None;
            }
            if let Err(e) = status::apply_status(api, obj, obj.status.as_ref(), &new_status).await {
                warn!(error = %e, "could not write status");
            }
            if matches!(err, Error::ClientNotReady(_)) {
                // Not a failure: the client reconciler wakes this grant up when the client is
                // ready. A Normal event says what it waits for.
                info!(reason = err.reason(), "{err}");
                ctx.event(
                    obj,
                    EventType::Normal,
                    err.reason(),
                    "Reconcile",
                    format!("Waiting: {err}"),
                )
                .await;
            } else {
                warn!(reason = err.reason(), error = %err, "reconcile failed");
                ctx.event(
                    obj,
                    EventType::Warning,
                    err.reason(),
                    "Reconcile",
                    err.to_string(),
                )
                .await;
            }
            Err(err)
        }
    }
}

/// The Auth0 client id the grant is for.
/// The Auth0 client id the grant is for. The cache of `Auth0Client`s is consulted first; when
/// it does not show the client ready, the API server is asked, because this grant may have been
/// woken by the client's change before that cache saw it (they are separate watches).
async fn resolve_client_id(obj: &Auth0ClientGrant, ctx: &Context) -> Result<String, Error> {
    if let Some(id) = &obj.spec.client_id {
        return Ok(id.clone());
    }
    let ns = obj.namespace().unwrap_or_default();
    let name = obj
        .spec
        .client_ref
        .as_ref()
        .map(|r| r.name.clone())
        .unwrap_or_default();
    let cached = ctx.clients.get(&ObjectRef::new(&name).within(&ns));
    if let Some(id) = cached.as_deref().and_then(ready_client_id) {
        return Ok(id);
    }
    let api: kube::Api<Auth0Client> = kube::Api::namespaced(ctx.kube.clone(), &ns);
    let Some(client) = api.get_opt(&name).await? else {
        return Err(Error::ClientNotReady(format!(
            "Auth0Client {name} does not exist in namespace {ns}"
        )));
    };
    if client.metadata.deletion_timestamp.is_some() {
        return Err(Error::ClientNotReady(format!(
            "Auth0Client {name} is being deleted"
        )));
    }
    ready_client_id(&client)
        .ok_or_else(|| Error::ClientNotReady(format!("Auth0Client {name} is not ready yet")))
}

/// The client id of a ready, not deleting `Auth0Client`.
fn ready_client_id(client: &Auth0Client) -> Option<String> {
    if client.metadata.deletion_timestamp.is_some() {
        return None;
    }
    let status = client.status.as_ref()?;
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == CONDITION_READY)
        .is_some_and(|c| c.status == "True");
    if ready {
        status.client_id.clone()
    } else {
        None
    }
}

async fn sync(obj: &Auth0ClientGrant, ctx: &Context) -> Result<Outcome, Error> {
    // The CRD's rules, enforced here too (API servers before 1.25 ignore CEL); no Auth0 call
    // and no change before they pass.
    build::validate_grant_spec(&obj.spec, obj.status.as_ref()).map_err(Error::InvalidSpec)?;
    let client_id = resolve_client_id(obj, ctx).await?;
    let audience = obj.spec.audience.clone();
    ctx.inventory.ensure_grants(&ctx.auth0).await?;
    let mut out = Outcome {
        client_id: client_id.clone(),
        ..Default::default()
    };

    let by_status = obj
        .status
        .as_ref()
        .and_then(|s| s.grant_id.as_deref())
        .and_then(|id| ctx.inventory.grant(id))
        .filter(|g| build::grant_matches(g, &client_id, &audience));
    let mut cached = by_status.or_else(|| ctx.inventory.find_grant(&client_id, &audience));
    if cached.is_none() && !ctx.inventory.grants_listing_covers_new_client(&client_id) {
        // The listing may predate a grant made elsewhere: ask Auth0 for exactly this pair
        // before creating, to adopt instead of running into a 409. (Skipped for clients this
        // process created after the listing: they cannot have such a grant.)
        let params = ListGrantsParams {
            client_id: Some(client_id.clone()),
            audience: Some(audience.clone()),
        };
        cached = ctx
            .auth0
            .list_client_grants(&params)
            .await?
            .into_iter()
            .find(|g| build::grant_matches(g, &client_id, &audience));
        if let Some(g) = &cached {
            ctx.inventory.upsert_grant(g);
        }
    }
    let observed: ClientGrant = match cached {
        Some(g) => {
            out.adopted =
                obj.status.as_ref().and_then(|s| s.grant_id.as_deref()) != Some(g.id.as_str());
            g
        }
        None => match ctx
            .auth0
            .create_client_grant(&build::grant_create(&obj.spec, &client_id))
            .await
        {
            Ok(g) => {
                ctx.inventory.upsert_grant(&g);
                out.created = true;
                g
            }
            Err(e) if e.is_conflict() => {
                // It exists (made elsewhere, or our cache is behind): adopt it.
                let params = ListGrantsParams {
                    client_id: Some(client_id.clone()),
                    audience: Some(audience.clone()),
                };
                let found = ctx.auth0.list_client_grants(&params).await?;
                let g = found
                    .into_iter()
                    .find(|g| build::grant_matches(g, &client_id, &audience))
                    .ok_or_else(|| Error::Auth0(e))?;
                ctx.inventory.upsert_grant(&g);
                out.adopted = true;
                g
            }
            Err(e) if e.is_not_found() => {
                return Err(Error::NotFound(format!(
                    "Auth0 refused the grant: {e} (check that client {client_id} and the API {audience} exist)"
                )));
            }
            Err(e) => return Err(e.into()),
        },
    };
    out.grant_id = observed.id.clone();
    let update = build::grant_update(&obj.spec, &observed);
    if !update.is_empty() {
        out.updated_fields = match serde_json::to_value(&update) {
            Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
            _ => vec![],
        };
        match ctx.auth0.update_client_grant(&observed.id, &update).await {
            Ok(g) => ctx.inventory.upsert_grant(&g),
            Err(e) if e.is_not_found() => {
                // Deleted behind our back (e.g. with its client): create it on the next pass.
                ctx.inventory.remove_grant(&observed.id);
                return Err(e.into());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(out)
}

async fn cleanup(obj: &Auth0ClientGrant, ctx: &Context) -> Result<Action, Error> {
    if obj.spec.deletion_policy == DeletionPolicy::Orphan {
        ctx.event(
            obj,
            EventType::Normal,
            "Orphaned",
            "Delete",
            "deletionPolicy is Orphan: the client grant is kept".into(),
        )
        .await;
        return Ok(Action::await_change());
    }
    let status = obj.status.clone().unwrap_or_default();
    // The audience the grant was made for, even if the spec was changed since (refused).
    let audience = status
        .audience
        .clone()
        .unwrap_or_else(|| obj.spec.audience.clone());
    let id = match (status.grant_id, status.client_id) {
        (Some(id), _) => Some(id),
        (None, Some(client_id)) => {
            ctx.inventory.ensure_grants(&ctx.auth0).await?;
            ctx.inventory
                .find_grant(&client_id, &audience)
                .map(|g| g.id)
        }
        (None, None) => None,
    };
    if let Some(id) = id {
        ctx.auth0.delete_client_grant(&id).await?;
        ctx.inventory.remove_grant(&id);
        info!(grant_id = %id, "deleted client grant");
        ctx.event(
            obj,
            EventType::Normal,
            "Deleted",
            "Delete",
            format!("Deleted client grant {id}"),
        )
        .await;
    }
    Ok(Action::await_change())
}
