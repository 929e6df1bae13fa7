//! The steps of an `Auth0Client`'s credential lifecycle that write the Secret and call Auth0:
//! issuing the first credential, rotations of client secrets (`Staged`, `Immediate`) and of
//! private keys, switching methods, and retiring old keys. The rules are in
//! [`credentials`](super::credentials).

use std::time::Duration;

use k8s_openapi::{api::core::v1::Secret, jiff::Timestamp};
use kube::{Api, ResourceExt, api::PostParams};

use super::{
    credentials::{
        self, Held, Schedule, after, credential_name, due, is_ours, requested, rfc3339, until,
    },
    keys,
};
use crate::controller::{Error, FIELD_MANAGER, secret::template::Credential, tenant::Tenant};
use crate::{
    auth0::{
        Auth0Error, Client, ClientAuthenticationMethods, ClientCredential, ClientCredentialCreate,
        ClientUpdate, Patch, Secret as SecretValue,
    },
    crd::{Auth0Client, AuthenticationMethod, EventReason, RotationStrategy},
};

/// What the credential steps did and what the status should say.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// Whether the Secret was written.
    pub written: bool,
    /// Events, in order (never material).
    pub notes: Vec<(EventReason, String)>,
    /// `Rotating=True` with this reason and message while a hand-over is in progress.
    pub rotating: Option<(&'static str, String)>,
    /// Reconcile again after this long (a hand-over's next step, the next scheduled rotation).
    pub requeue_after: Option<Duration>,
    pub last_rotation: Option<String>,
    pub next_rotation: Option<String>,
    /// The credential ids the application lists (privateKeyJwt), `None` for a secret client.
    pub credential_ids: Option<Vec<String>>,
}

impl Report {
    fn requeue(&mut self, d: Duration) {
        let d = d.max(Duration::from_millis(200));
        self.requeue_after = Some(self.requeue_after.map_or(d, |r| r.min(d)));
    }
}

/// The credentials Secret being written: what it is now (so each write is guarded by its
/// resourceVersion and skipped when nothing changed).
struct Slot<'a> {
    obj: &'a Auth0Client,
    api: Api<Secret>,
    domain: String,
    client_id: String,
    existing: Option<Secret>,
    written: bool,
}

impl Slot<'_> {
    async fn write(&mut self, held: &Held) -> Result<(), Error> {
        let desired = crate::controller::secret::shape::credentials_secret(
            self.obj,
            &self.domain,
            &self.client_id,
            held,
        )
        .map_err(Error::InvalidSpec)?;
        if let Some(e) = &self.existing
            && crate::controller::secret::shape::secret_matches(e, &desired)
        {
            return Ok(());
        }
        let name = self.obj.secret_name();
        if let Some(s) = &self.existing
            && s.type_.as_deref().unwrap_or("Opaque")
                != crate::controller::secret::shape::secret_type(self.obj)
        {
            // Kubernetes cannot change a Secret's type: replace it (ours, guarded by its UID).
            crate::controller::secret::store::delete_if_owned(self.obj, &self.api, &name).await?;
            self.existing = None;
        }
        let pp = PostParams {
            field_manager: Some(FIELD_MANAGER.to_string()),
            ..Default::default()
        };
        let now = match &self.existing {
            None => match self.api.create(&pp, &desired).await {
                Ok(s) => s,
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    // Created by someone else since we looked: only take it over if it is ours.
                    let now = self.api.get(&name).await?;
                    if !crate::controller::secret::shape::secret_owned_by(&now, self.obj) {
                        return Err(crate::controller::secret::store::conflict(&name, &now));
                    }
                    replace(&self.api, &now, desired).await?
                }
                Err(e) => return Err(e.into()),
            },
            Some(now) => replace(&self.api, now, desired).await?,
        };
        self.existing = Some(now);
        self.written = true;
        crate::crash::after_write("the credentials Secret");
        Ok(())
    }
}

/// Replaces an owned credentials Secret by `desired` as a whole: its keys, labels and
/// annotations become exactly the rendered ones (keys and metadata a previous template had go
/// with it; the Secret is the operator's). Guarded by the resourceVersion it was read at.
async fn replace(api: &Api<Secret>, now: &Secret, mut desired: Secret) -> Result<Secret, Error> {
    desired.metadata.resource_version = now.metadata.resource_version.clone();
    let pp = PostParams {
        field_manager: Some(FIELD_MANAGER.to_string()),
        ..Default::default()
    };
    Ok(api.replace(&now.name_any(), &pp, &desired).await?)
}

fn insufficient_keys_scope() -> Error {
    Error::Auth0(Auth0Error::InsufficientScope {
        endpoint: "GET /api/v2/clients/{id}",
        message: "Auth0 did not return the client secret; the operator's application needs the read:client_keys scope to (re)write the credentials Secret".into(),
    })
}

/// Makes the credentials Secret hold a working credential of the method the spec asks for,
/// and carries out any rotation that is due or under way. `fresh_secret` is the secret of a
/// client just created; `existing` is the Secret as `current_secret` (in the client's reconcile) found it
/// (owned by this resource, or absent). Credential ids the status recorded that are no longer
/// listed are leftovers: the operator's among them are deleted.
pub async fn ensure(
    obj: &Auth0Client,
    ctx: &crate::controller::Context,
    tenant: &Tenant,
    observed: &Client,
    fresh_secret: Option<SecretValue>,
    existing: Option<Secret>,
    observe: bool,
) -> Result<Report, Error> {
    let ns = obj.namespace().unwrap_or_default();
    let domain = tenant.auth0.domain().to_string();
    let client_id = observed.client_id.clone();
    let now = Timestamp::now();
    let schedule = Schedule::of(&obj.spec);
    let requested = requested(obj);
    let read = existing
        .as_ref()
        .map(|s| Held::read(s, &domain, &client_id))
        .unwrap_or_default();
    let mut held = read.clone();
    if existing.is_none() {
        // A new Secret answers the annotation as it is now.
        held.rotate_handled = Some(requested.clone());
    }
    let up_to_date = existing.as_ref().is_some_and(|s| {
        crate::controller::secret::shape::secret_up_to_date(s, obj, &domain, &client_id)
    });
    let mut slot = Slot {
        obj,
        api: Api::namespaced(ctx.kube.clone(), &ns),
        domain,
        client_id,
        existing,
        written: false,
    };
    let mut report = Report::default();
    let mut step = Step {
        obj,
        tenant,
        observe,
        slot: &mut slot,
        held: &mut held,
        report: &mut report,
        schedule,
        requested: &requested,
        now,
    };
    let recorded = obj
        .status
        .as_ref()
        .and_then(|s| s.credential_ids.clone())
        .unwrap_or_default();
    let quiet = match credentials::method(&obj.spec) {
        AuthenticationMethod::ClientSecret => {
            step.client_secret(observed, fresh_secret, up_to_date)
                .await?
        }
        AuthenticationMethod::PrivateKeyJwt => {
            step.private_key(observed).await?;
            false
        }
    };
    // Keys the operator registered that no method lists any more (a switch back to a client
    // secret, a crash between unlisting a key and deleting it).
    let listed = report.credential_ids.clone().unwrap_or_default();
    if recorded.iter().any(|id| !listed.contains(id)) {
        let creds = tenant
            .auth0
            .list_client_credentials(&observed.client_id)
            .await?;
        for c in creds {
            if !listed.contains(&c.id) && is_ours(c.name.as_deref()) {
                tenant
                    .auth0
                    .delete_client_credential(&observed.client_id, &c.id)
                    .await?;
            }
        }
    }
    if !quiet {
        if held.rotated_at.is_none() {
            held.rotated_at = Some(now);
        }
        if held.rotate_handled.is_none() && schedule.every.is_some() {
            held.rotate_handled = Some(String::new());
        }
        slot.write(&held).await?;
    }
    report.last_rotation = held.rotated_at.map(rfc3339);
    if let Some(next) = schedule.next(held.rotated_at) {
        report.next_rotation = Some(rfc3339(next));
        report.requeue(until(now, next));
    }
    report.written = slot.written;
    crate::controller::secret::store::cleanup_old_secret(obj, &slot.api, &obj.secret_name())
        .await?;
    Ok(report)
}

struct Step<'a, 'b> {
    obj: &'a Auth0Client,
    tenant: &'a Tenant,
    /// `managementPolicy: Observe`: the Secret is written from what Auth0 has; nothing rotates.
    observe: bool,
    slot: &'b mut Slot<'a>,
    held: &'b mut Held,
    report: &'b mut Report,
    schedule: Schedule,
    requested: &'a str,
    now: Timestamp,
}

impl Step<'_, '_> {
    fn client_id(&self) -> String {
        self.slot.client_id.clone()
    }

    /// The client-secret method. Returns whether the Secret is current and nothing is due, so
    /// that it need not be rendered (its secret may not even be readable from it).
    async fn client_secret(
        &mut self,
        observed: &Client,
        fresh_secret: Option<SecretValue>,
        up_to_date: bool,
    ) -> Result<bool, Error> {
        let _ = observed;
        let (now, requested) = (self.now, self.requested.to_string());
        // Leftovers of the private-key method (a switch back).
        let switched_back = self.held.pending_key.take().is_some()
            || self.held.credential_id.take().is_some()
            || self.held.key().is_some();
        if let Some(f) = fresh_secret {
            self.held
                .promote(Credential::Secret(f.expose().to_string()), now, &requested);
        }
        if self.observe {
            // Nothing is rotated or finished: the Secret holds what Auth0 has.
            self.held.next_secret = None;
            self.held.next_published_at = None;
            self.held.rotating_since = None;
            if self.held.secret().is_none() {
                let live = self.live_secret().await?;
                self.held.current = Some(Credential::Secret(live));
            }
            return Ok(false);
        }
        // An Immediate rotation that was started: did Auth0 rotate before the crash?
        if self.held.rotating_since.is_some() {
            let live = self.live_secret().await?;
            if Some(live.as_str()) != self.held.secret() {
                self.finish_immediate(live).await?;
            } else {
                self.immediate().await?;
            }
        }
        let overlap = self.schedule.overlap;
        if self.held.next_secret.is_none()
            && let Some(why) = due(&self.schedule, self.held, &requested, now)
        {
            match self.schedule.strategy {
                RotationStrategy::Staged => {
                    // New material goes to the Secret before Auth0 learns it.
                    self.held.next_secret = Some(keys::generate_secret());
                    self.held.next_published_at = Some(now);
                    self.slot.write(self.held).await?;
                    self.report.notes.push((
                        EventReason::NextSecretPublished,
                        format!(
                            "Rotating the client secret ({why}): the next secret is published as AUTH0_CLIENT_SECRET_NEXT and goes live in Auth0 at {}",
                            rfc3339(after(now, overlap))
                        ),
                    ));
                }
                RotationStrategy::Immediate => {
                    self.immediate().await?;
                }
            }
        }
        if let Some(next) = self.held.next_secret.clone() {
            let live_at = after(self.held.next_published_at.unwrap_or(now), overlap);
            if now >= live_at {
                // Idempotent: after a crash this sets the same secret again.
                self.patch_client(ClientUpdate {
                    client_secret: Some(SecretValue::new(next.clone())),
                    ..Default::default()
                })
                .await?;
                self.held.next_secret = None;
                self.held.next_published_at = None;
                self.held.promote(Credential::Secret(next), now, &requested);
                self.slot.write(self.held).await?;
                self.report.notes.push((
                    EventReason::Rotated,
                    format!(
                        "Rotated the client secret ({}): the published next secret is live in Auth0 and is now AUTH0_CLIENT_SECRET",
                        self.fingerprint()
                    ),
                ));
            } else {
                self.report.rotating = Some((
                    "NextSecretPublished",
                    format!(
                        "The next client secret is published as AUTH0_CLIENT_SECRET_NEXT; it goes live in Auth0 at {}",
                        rfc3339(live_at)
                    ),
                ));
                self.report.requeue(until(now, live_at));
            }
        }
        if self.held.secret().is_none() {
            let quiet = up_to_date
                && !switched_back
                && self.held.next_secret.is_none()
                && self.held.rotating_since.is_none()
                && due(&self.schedule, self.held, &requested, now).is_none();
            if quiet {
                return Ok(true);
            }
            // Not in the Secret (a new Secret, a template without it, a switch back): Auth0's.
            let live = self.live_secret().await?;
            self.held.current = Some(Credential::Secret(live));
        }
        Ok(false)
    }

    /// The secret Auth0 has for the client (needs `read:client_keys`).
    async fn live_secret(&self) -> Result<String, Error> {
        let c = self.tenant.auth0.get_client(&self.client_id()).await?;
        self.tenant.inventory.upsert_client(&c);
        c.client_secret
            .map(|s| s.expose().to_string())
            .ok_or_else(insufficient_keys_scope)
    }

    /// `Immediate`: records the intent in the Secret, rotates in Auth0, writes the new secret.
    async fn immediate(&mut self) -> Result<(), Error> {
        self.held.rotating_since = Some(self.now);
        self.slot.write(self.held).await?;
        let c = self
            .tenant
            .auth0
            .rotate_client_secret(&self.client_id())
            .await?;
        let live = match c.client_secret {
            Some(s) => s.expose().to_string(),
            None => self.live_secret().await?,
        };
        self.finish_immediate(live).await
    }

    async fn finish_immediate(&mut self, live: String) -> Result<(), Error> {
        self.held.rotating_since = None;
        self.held.next_secret = None;
        self.held.next_published_at = None;
        let requested = self.requested.to_string();
        self.held
            .promote(Credential::Secret(live), self.now, &requested);
        self.slot.write(self.held).await?;
        self.report.notes.push((
            EventReason::Rotated,
            format!(
                "Rotated the client secret ({}) with Auth0's rotate-secret (Immediate: the previous secret stopped working at once)",
                self.fingerprint()
            ),
        ));
        Ok(())
    }

    /// A short, public name of the current credential for events: the start of its
    /// credentials hash (as on the Secret's annotation; never the value).
    fn fingerprint(&self) -> String {
        let hash = self.held.current.as_ref().map(|credential| {
            crate::controller::secret::template::credentials_hash(
                &crate::controller::secret::template::Variables {
                    domain: &self.slot.domain,
                    client_id: &self.slot.client_id,
                    credential,
                },
            )
        });
        let hash = hash.unwrap_or_default();
        format!("credentials hash {}", hash.get(..19).unwrap_or(&hash))
    }

    /// Auth0's credentials of the client.
    async fn credentials(&self) -> Result<Vec<ClientCredential>, Error> {
        Ok(self
            .tenant
            .auth0
            .list_client_credentials(&self.client_id())
            .await?)
    }

    async fn list_keys(&mut self, ids: &[String], detach_secret: bool) -> Result<(), Error> {
        let update = ClientUpdate {
            client_authentication_methods: Patch::Value(
                ClientAuthenticationMethods::private_key_jwt(ids),
            ),
            // Auth0 refuses a token endpoint method beside the key list.
            token_endpoint_auth_method: if detach_secret {
                Patch::Null
            } else {
                Patch::Absent
            },
            ..Default::default()
        };
        self.patch_client(update).await
    }

    /// `Rotating=True`: the previous key is registered until `retire_at` (then a reconcile).
    fn in_overlap(&mut self, retire_at: Timestamp) {
        self.report.rotating = Some((
            "PreviousKeyInOverlap",
            format!(
                "The Secret holds the new key; the previous key stays registered until {}",
                rfc3339(retire_at)
            ),
        ));
        self.report.requeue(until(self.now, retire_at));
    }

    /// PATCHes the client and keeps the tenant's listing current with the answer.
    async fn patch_client(&self, update: ClientUpdate) -> Result<(), Error> {
        let patched = self
            .tenant
            .auth0
            .update_client(&self.client_id(), &update)
            .await?;
        self.tenant.inventory.upsert_client(&patched);
        Ok(())
    }

    /// The private-key JWT method.
    async fn private_key(&mut self, observed: &Client) -> Result<(), Error> {
        let (now, requested) = (self.now, self.requested.to_string());
        let alg = credentials::algorithm(&self.obj.spec);
        // Leftovers of the secret method (a switch).
        self.held.next_secret = None;
        self.held.next_published_at = None;
        self.held.rotating_since = None;
        let listed = observed
            .client_authentication_methods
            .as_ref()
            .and_then(ClientAuthenticationMethods::private_key_jwt_ids);
        let detach_secret = listed.is_none() || observed.token_endpoint_auth_method.is_some();
        let listed_ids = listed.clone().unwrap_or_default();
        let current = self.held.key().map(|(p, a)| (p.clone(), a));
        let current_id = self
            .held
            .credential_id
            .clone()
            .filter(|id| current.is_some() && listed_ids.contains(id));
        let mut others: Vec<String> = listed_ids
            .iter()
            .filter(|id| Some(*id) != current_id.as_ref())
            .cloned()
            .collect();
        let overlap = self.schedule.overlap;
        // Retire the previous key once its overlap is over.
        if let Some(cur) = &current_id
            && !others.is_empty()
        {
            let retire_at = after(self.held.rotated_at.unwrap_or(now), overlap);
            if now >= retire_at {
                self.list_keys(std::slice::from_ref(cur), false).await?;
                let creds = self.credentials().await?;
                for id in &others {
                    if creds
                        .iter()
                        .any(|c| &c.id == id && is_ours(c.name.as_deref()))
                    {
                        self.tenant
                            .auth0
                            .delete_client_credential(&self.client_id(), id)
                            .await?;
                    }
                }
                self.report.notes.push((
                    EventReason::KeyRetired,
                    format!(
                        "The overlap ended: retired the previous key ({}); only the current key {} is registered",
                        others.join(", "),
                        current.as_ref().map(|(p, _)| p.kid.as_str()).unwrap_or_default()
                    ),
                ));
                others.clear();
            } else {
                self.in_overlap(retire_at);
            }
        }
        // A new key when there is none that works, the algorithm changed, or one is due.
        let why = match &current {
            None => Some("the application has no key yet"),
            Some(_) if current_id.is_none() => Some("the Secret's key is not registered in Auth0"),
            Some((_, a)) if *a != alg => Some("authentication.algorithm changed"),
            Some(_) => due(&self.schedule, self.held, &requested, now),
        };
        if let Some(why) = why
            && self.held.pending_key.is_none()
        {
            if current_id.is_some() && !others.is_empty() {
                // At most two keys: the next one waits for the previous one to retire.
                let waiting =
                    format!("A rotation is due ({why}); it starts when the previous key retires");
                self.report.rotating = Some(("RotationWaiting", waiting));
            } else {
                // New material goes to the Secret before Auth0 learns it.
                self.held.pending_key = Some((keys::generate_async().await, alg));
                self.slot.write(self.held).await?;
            }
        }
        let mut final_ids = listed_ids.clone();
        if let Some((pair, palg)) = self.held.pending_key.clone() {
            let creds = self.credentials().await?;
            let cred = match creds
                .iter()
                .find(|c| c.kid.as_deref() == Some(pair.kid.as_str()))
            {
                Some(c) => c.clone(),
                None => {
                    // Room first: keys the operator registered that nothing lists.
                    for c in &creds {
                        if !listed_ids.contains(&c.id)
                            && Some(&c.id) != current_id.as_ref()
                            && is_ours(c.name.as_deref())
                        {
                            self.tenant
                                .auth0
                                .delete_client_credential(&self.client_id(), &c.id)
                                .await?;
                        }
                    }
                    let body = ClientCredentialCreate {
                        credential_type: "public_key".into(),
                        name: credential_name(self.obj, &pair.kid),
                        pem: pair.public_pem.clone(),
                        alg: palg.as_str().into(),
                    };
                    self.tenant
                        .auth0
                        .create_client_credential(&self.client_id(), &body)
                        .await?
                }
            };
            let ids: Vec<String> = current_id
                .iter()
                .cloned()
                .chain([cred.id.clone()])
                .collect();
            if listed.as_ref() != Some(&ids) || detach_secret {
                self.list_keys(&ids, detach_secret).await?;
            }
            let previous = current_id
                .as_ref()
                .and(current.as_ref())
                .map(|(p, _)| p.kid.clone());
            self.held.pending_key = None;
            self.held.credential_id = Some(cred.id.clone());
            self.held.promote(
                Credential::Key {
                    pair: pair.clone(),
                    alg: palg,
                },
                now,
                &requested,
            );
            self.slot.write(self.held).await?;
            match previous {
                Some(old) => {
                    let retire_at = after(now, overlap);
                    self.report.notes.push((
                        EventReason::Rotated,
                        format!(
                            "Registered key {} ({}) and wrote it to the Secret; the previous key {old} stays registered until {}",
                            pair.kid,
                            palg.as_str(),
                            rfc3339(retire_at)
                        ),
                    ));
                    self.in_overlap(retire_at);
                }
                None => self.report.notes.push((
                    EventReason::KeyRegistered,
                    format!(
                        "Registered key {} ({}) for private-key JWT and wrote it to the Secret",
                        pair.kid,
                        palg.as_str()
                    ),
                )),
            }
            final_ids = ids;
        } else if let Some(cur) = &current_id
            && others.is_empty()
        {
            final_ids = vec![cur.clone()];
        }
        self.report.credential_ids = Some(final_ids);
        Ok(())
    }
}
