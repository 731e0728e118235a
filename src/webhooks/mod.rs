//! Webhook endpoints (Owners only): add one, change it, send it a test event, rotate
//! its signing secret, disable, enable or delete it. The events themselves are written
//! where the audit events are (`db::audit::record_all`), so every service that changes
//! members or invitations emits them; `worker` delivers them.

pub mod worker;

use serde_json::json;

use crate::actor::Actor;
pub use crate::db::webhooks::{DeliveryRow, Endpoint};
use crate::db::{self, audit};
use crate::domain::FieldErrors;
use crate::domain::permissions::{self, Action};
use crate::domain::webhook::{self, EndpointForm, EndpointSettings, Events};
use crate::sealed::{Purpose, Sealer};
use crate::state::AppState;

/// How long the previous secret goes on signing after a rotation, so that receivers
/// can switch to the new one without missing an event.
pub const ROTATION_OVERLAP_SECS: i64 = 24 * 3600;
/// How many deliveries an endpoint's page lists.
const RECENT: i64 = 50;

/// Why a change to an endpoint was refused; nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Only Owners manage webhooks.
    #[error("forbidden")]
    Forbidden,
    #[error("no such endpoint")]
    NotFound,
    /// The form's fields, with a message each.
    #[error("invalid fields")]
    Fields(FieldErrors),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

/// Whether `actor` may see and manage the organization's webhooks.
pub fn may_manage(actor: &Actor) -> bool {
    permissions::allows(actor.role, Action::ManageWebhooks)
}

fn require(actor: &Actor) -> Result<(), Error> {
    if may_manage(actor) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// The organization's endpoints.
pub async fn list(state: &AppState, actor: &Actor) -> Result<Vec<Endpoint>, Error> {
    require(actor)?;
    Ok(db::webhooks::of_org(&state.db, actor.org.id).await?)
}

/// One endpoint and its recent deliveries, newest first.
pub async fn show(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<(Endpoint, Vec<DeliveryRow>), Error> {
    require(actor)?;
    let endpoint = db::webhooks::find(&state.db, actor.org.id, id)
        .await?
        .ok_or(Error::NotFound)?;
    let deliveries = db::webhooks::recent_deliveries(&state.db, id, RECENT).await?;
    Ok((endpoint, deliveries))
}

/// The form's settings, with the URL's address checked against the operator's setting.
fn parse(state: &AppState, form: &EndpointForm) -> Result<EndpointSettings, Error> {
    let mut settings = form.parse().map_err(Error::Fields)?;
    match state.outbound.check_url(&settings.url) {
        Ok(url) => settings.url = url.to_string(),
        Err(why) => {
            let mut errors = FieldErrors::default();
            errors.add("url", why.to_string());
            return Err(Error::Fields(errors));
        }
    }
    Ok(settings)
}

/// Adds an endpoint; returns it and its signing secret, which is shown this once.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    form: &EndpointForm,
) -> Result<(Endpoint, String), Error> {
    require(actor)?;
    let settings = parse(state, form)?;
    let (secret, shown) = webhook::new_secret();
    let sealed = Sealer::new(state, Purpose::WebhookSecret).seal(&secret)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let new = db::webhooks::NewEndpoint {
        org_id: actor.org.id,
        url: &settings.url,
        description: &settings.description,
        events: &settings.events.stored(),
        secret_sealed: &sealed,
    };
    let id = db::webhooks::insert(&mut tx, &new, now).await?;
    let event = audit::Event::new(audit::Action::WebhookAdded, &actor.audit)
        .in_org(actor.org.id)
        .target("webhook", Some(id), None)
        .after(settings.url.as_str());
    audit::record(&mut tx, &event, now).await?;
    let endpoint = db::webhooks::find_for_update(&mut tx, actor.org.id, id)
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    Ok((endpoint, shown))
}

/// What the audit log keeps of an endpoint's settings.
fn settings_json(url: &str, description: &str, events: &Events) -> String {
    json!({ "url": url, "description": description, "events": events.label() }).to_string()
}

/// Changes the endpoint's URL, description and events; false when nothing changed.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    id: i64,
    form: &EndpointForm,
) -> Result<bool, Error> {
    require(actor)?;
    let settings = parse(state, form)?;
    let (mut tx, endpoint, now) = begin_on(state, actor, id).await?;
    let stored = settings.events.stored();
    if endpoint.url == settings.url
        && endpoint.description == settings.description
        && endpoint.events == stored
    {
        return Ok(false);
    }
    db::webhooks::update(&mut tx, id, &settings.url, &settings.description, &stored).await?;
    let event = audit::Event::new(audit::Action::WebhookChanged, &actor.audit)
        .in_org(actor.org.id)
        .target("webhook", Some(id), None)
        .before(settings_json(
            &endpoint.url,
            &endpoint.description,
            &Events::from_stored(&endpoint.events),
        ))
        .after(settings_json(
            &settings.url,
            &settings.description,
            &settings.events,
        ));
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// The endpoint `id` of the actor's organization, locked in a new transaction, for one
/// of the actions below; and the time.
async fn begin_on(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<(db::Tx, Endpoint, i64), Error> {
    require(actor)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let endpoint = db::webhooks::find_for_update(&mut tx, actor.org.id, id)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((tx, endpoint, now))
}

/// Audits `action` on `endpoint` (named by its URL) and commits.
async fn audit_and_commit(
    mut tx: db::Tx,
    actor: &Actor,
    action: audit::Action,
    endpoint: &Endpoint,
    now: i64,
) -> Result<(), Error> {
    let event = audit::Event::new(action, &actor.audit)
        .in_org(actor.org.id)
        .target("webhook", Some(endpoint.id), None)
        .before(endpoint.url.as_str());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Disables or enables the endpoint; returns it as it was. No event is queued for a
/// disabled endpoint; enabled again, it receives what was still waiting, in order,
/// then new events.
pub async fn set_enabled(
    state: &AppState,
    actor: &Actor,
    id: i64,
    enabled: bool,
) -> Result<Endpoint, Error> {
    let (mut tx, endpoint, now) = begin_on(state, actor, id).await?;
    let disabled = (!enabled).then_some(("owner", now));
    if !db::webhooks::set_disabled(&mut tx, id, disabled).await? {
        return Ok(endpoint);
    }
    let action = if enabled {
        audit::Action::WebhookEnabled
    } else {
        audit::Action::WebhookDisabled
    };
    audit_and_commit(tx, actor, action, &endpoint, now).await?;
    Ok(endpoint)
}

/// A new signing secret, shown this once; the previous one goes on signing for
/// `ROTATION_OVERLAP_SECS` (both signatures are sent meanwhile).
pub async fn rotate_secret(
    state: &AppState,
    actor: &Actor,
    id: i64,
) -> Result<(Endpoint, String), Error> {
    require(actor)?;
    let (secret, shown) = webhook::new_secret();
    let sealed = Sealer::new(state, Purpose::WebhookSecret).seal(&secret)?;
    let (mut tx, endpoint, now) = begin_on(state, actor, id).await?;
    db::webhooks::rotate_secret(&mut tx, id, &sealed, now + ROTATION_OVERLAP_SECS).await?;
    let action = audit::Action::WebhookSecretRotated;
    audit_and_commit(tx, actor, action, &endpoint, now).await?;
    Ok((endpoint, shown))
}

/// Deletes the endpoint and every delivery waiting for it; returns it as it was.
pub async fn delete(state: &AppState, actor: &Actor, id: i64) -> Result<Endpoint, Error> {
    let (mut tx, endpoint, now) = begin_on(state, actor, id).await?;
    db::webhooks::delete(&mut tx, id).await?;
    audit_and_commit(tx, actor, audit::Action::WebhookDeleted, &endpoint, now).await?;
    Ok(endpoint)
}

/// Queues a `webhook.test` event for the endpoint alone, after whatever it is still
/// waiting for.
pub async fn send_test(state: &AppState, actor: &Actor, id: i64) -> Result<Endpoint, Error> {
    let (mut tx, endpoint, now) = begin_on(state, actor, id).await?;
    let data = json!({
        "message": "A test event from Roster.",
        "actor": { "user_id": actor.user_id(), "email": actor.audit.email },
    });
    db::webhooks::emit_test(&mut tx, &endpoint, &actor.org.slug, data, now).await?;
    audit_and_commit(tx, actor, audit::Action::WebhookTestSent, &endpoint, now).await?;
    Ok(endpoint)
}
