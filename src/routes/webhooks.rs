//! The organization's webhook endpoints (Owners only): the list with the add form, each
//! endpoint's page (its settings, recent deliveries and actions), and the delete
//! confirmation.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Router, routing::get, routing::post};
use axum_extra::extract::Form;

use super::pages::PageCtx;
use super::tokens::When;
use crate::auth::OrgMember;
use crate::clock;
use crate::domain::FieldErrors;
use crate::domain::webhook::{EVENT_TYPES, EndpointForm, Events, URL_MAX};
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::webhooks::{self, DeliveryRow, Endpoint};

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{slug}/settings/webhooks",
            get(list_webhooks).post(add_webhook),
        )
        .route(
            "/orgs/{slug}/settings/webhooks/{id}",
            get(show_webhook).post(change_webhook),
        )
        .route(
            "/orgs/{slug}/settings/webhooks/{id}/test",
            post(test_webhook),
        )
        .route(
            "/orgs/{slug}/settings/webhooks/{id}/rotate",
            post(rotate_webhook_secret),
        )
        .route(
            "/orgs/{slug}/settings/webhooks/{id}/delete",
            get(confirm_delete_webhook).post(delete_webhook),
        )
        .route(
            "/orgs/{slug}/settings/webhooks/{id}/{what}",
            post(enable_or_disable_webhook),
        )
}

/// An endpoint as the pages show it.
struct EndpointView {
    id: i64,
    url: String,
    description: String,
    events: String,
    /// "Disabled by an Owner", "Disabled after failing since …"; None when enabled.
    disabled: Option<String>,
    /// "Failing since …", while it fails and is enabled.
    failing: Option<String>,
    /// Until when the previous secret still signs, during a rotation.
    rotation_until: Option<String>,
    created: When,
}

impl EndpointView {
    fn new(e: &Endpoint, now: i64) -> EndpointView {
        EndpointView {
            id: e.id,
            url: e.url.clone(),
            description: e.description.clone(),
            events: Events::from_stored(&e.events).label(),
            disabled: e.disabled_at.map(|at| match e.disabled_reason.as_deref() {
                Some("failing") => format!(
                    "Disabled by Roster on {}: every delivery failed for 3 days.",
                    clock::exact(at)
                ),
                _ => format!("Disabled by an Owner on {}.", clock::exact(at)),
            }),
            failing: e
                .failing_since
                .filter(|_| e.disabled_at.is_none())
                .map(|at| format!("Deliveries have failed since {}.", clock::exact(at))),
            rotation_until: e
                .previous_secret_until
                .filter(|until| *until > now)
                .map(clock::exact),
            created: When::new(now, e.created_at),
        }
    }
}

/// A delivery as the endpoint's page lists it.
struct DeliveryView {
    event_type: String,
    created: When,
    attempts: i64,
    /// "Delivered", "Next try …", "Waiting".
    outcome: String,
    status: String,
    response: String,
}

impl DeliveryView {
    fn new(d: DeliveryRow, now: i64) -> DeliveryView {
        let outcome = match (d.delivered_at, d.attempts) {
            (Some(at), _) => format!("Delivered {}", clock::relative(now, at)),
            (None, 0) => "Waiting".into(),
            (None, _) => format!(
                "Failed; next try {}",
                clock::relative(now, d.next_attempt_at)
            ),
        };
        DeliveryView {
            event_type: d.event_type,
            created: When::new(now, d.created_at),
            attempts: d.attempts,
            outcome,
            status: d.last_status.map_or_else(|| "—".into(), |s| s.to_string()),
            response: d.last_response.unwrap_or_default(),
        }
    }
}

/// A secret just made, shown this once.
struct NewSecret {
    secret: String,
    url: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/webhooks.html")]
struct WebhooksPage {
    ctx: PageCtx,
    slug: String,
    endpoints: Vec<EndpointView>,
    form: EndpointForm,
    errors: FieldErrors,
    created: Option<NewSecret>,
    event_types: &'static [(&'static str, &'static str)],
    url_max: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/webhook.html")]
struct WebhookPage {
    ctx: PageCtx,
    slug: String,
    endpoint: EndpointView,
    deliveries: Vec<DeliveryView>,
    form: EndpointForm,
    errors: FieldErrors,
    created: Option<NewSecret>,
    event_types: &'static [(&'static str, &'static str)],
    url_max: usize,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/webhook_delete.html")]
struct DeleteWebhookPage {
    ctx: PageCtx,
    slug: String,
    endpoint: EndpointView,
}

/// The pages' answer to a refusal that is not shown on a form.
fn refusal(err: webhooks::Error) -> AppError {
    match err {
        webhooks::Error::Forbidden => {
            AppError::Refused("Only Owners can see and manage the organization's webhooks.".into())
        }
        webhooks::Error::NotFound => AppError::NotFound,
        webhooks::Error::Internal(e) => AppError::Other(e),
        webhooks::Error::Fields(_) => AppError::Other(anyhow::anyhow!("unexpected field errors")),
    }
}

/// The secret is in this response only: no cache may keep it.
fn not_stored(page: impl IntoResponse) -> Response {
    ([(header::CACHE_CONTROL, "no-store")], page).into_response()
}

async fn webhooks_page(
    state: &AppState,
    member: &OrgMember,
    form: EndpointForm,
    errors: FieldErrors,
    created: Option<NewSecret>,
) -> Result<WebhooksPage> {
    let now = state.clock.now();
    let endpoints = webhooks::list(state, &member.acting())
        .await
        .map_err(refusal)?;
    Ok(WebhooksPage {
        ctx: PageCtx::for_org(member, "settings").await?,
        slug: member.org.slug.clone(),
        endpoints: endpoints
            .iter()
            .map(|e| EndpointView::new(e, now))
            .collect(),
        form,
        errors,
        created,
        event_types: EVENT_TYPES,
        url_max: URL_MAX,
    })
}

async fn list_webhooks(State(state): State<AppState>, member: OrgMember) -> Result<WebhooksPage> {
    webhooks_page(
        &state,
        &member,
        EndpointForm::default(),
        FieldErrors::default(),
        None,
    )
    .await
}

async fn add_webhook(
    State(state): State<AppState>,
    member: OrgMember,
    Form(form): Form<EndpointForm>,
) -> Result<Response> {
    match webhooks::add(&state, &member.acting(), &form).await {
        Ok((endpoint, secret)) => {
            let created = NewSecret {
                secret,
                url: endpoint.url,
            };
            let page = webhooks_page(
                &state,
                &member,
                EndpointForm::default(),
                FieldErrors::default(),
                Some(created),
            )
            .await?;
            Ok(not_stored(page))
        }
        Err(webhooks::Error::Fields(errors)) => {
            let page = webhooks_page(&state, &member, form.as_shown(), errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(refusal(other)),
    }
}

async fn webhook_page(
    state: &AppState,
    member: &OrgMember,
    id: i64,
    form: Option<EndpointForm>,
    errors: FieldErrors,
    created: Option<String>,
) -> Result<WebhookPage> {
    let now = state.clock.now();
    let (endpoint, deliveries) = webhooks::show(state, &member.acting(), id)
        .await
        .map_err(refusal)?;
    let form = form.unwrap_or_else(|| {
        EndpointForm::showing(
            &endpoint.url,
            &endpoint.description,
            &Events::from_stored(&endpoint.events),
        )
    });
    Ok(WebhookPage {
        ctx: PageCtx::for_org(member, "settings").await?,
        slug: member.org.slug.clone(),
        created: created.map(|secret| NewSecret {
            secret,
            url: endpoint.url.clone(),
        }),
        endpoint: EndpointView::new(&endpoint, now),
        deliveries: deliveries
            .into_iter()
            .map(|d| DeliveryView::new(d, now))
            .collect(),
        form,
        errors,
        event_types: EVENT_TYPES,
        url_max: URL_MAX,
    })
}

async fn show_webhook(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<WebhookPage> {
    webhook_page(&state, &member, id, None, FieldErrors::default(), None).await
}

fn to_webhook(slug: &str, id: i64) -> Response {
    Redirect::to(&format!("/orgs/{slug}/settings/webhooks/{id}")).into_response()
}

async fn change_webhook(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<EndpointForm>,
) -> Result<Response> {
    match webhooks::change(&state, &member.acting(), id, &form).await {
        Ok(changed) => {
            let message = if changed {
                "Endpoint saved."
            } else {
                "Nothing to save: the endpoint is unchanged."
            };
            member.current.flashes.add("success", message);
            Ok(to_webhook(&member.org.slug, id))
        }
        Err(webhooks::Error::Fields(errors)) => {
            let page =
                webhook_page(&state, &member, id, Some(form.as_shown()), errors, None).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(other) => Err(refusal(other)),
    }
}

async fn test_webhook(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let endpoint = webhooks::send_test(&state, &member.acting(), id)
        .await
        .map_err(refusal)?;
    let message = if endpoint.disabled_at.is_some() {
        "Test event queued. The endpoint is disabled: it is sent once the endpoint is enabled."
    } else {
        "Test event queued: it is sent in a moment, after any event still waiting. Its delivery appears below."
    };
    member.current.flashes.add("success", message);
    Ok(to_webhook(&member.org.slug, id))
}

async fn rotate_webhook_secret(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let (_, secret) = webhooks::rotate_secret(&state, &member.acting(), id)
        .await
        .map_err(refusal)?;
    let page = webhook_page(
        &state,
        &member,
        id,
        None,
        FieldErrors::default(),
        Some(secret),
    )
    .await?;
    Ok(not_stored(page))
}

async fn set_enabled(
    state: &AppState,
    member: &OrgMember,
    id: i64,
    enabled: bool,
) -> Result<Response> {
    let endpoint = webhooks::set_enabled(state, &member.acting(), id, enabled)
        .await
        .map_err(refusal)?;
    let message = if enabled {
        format!("Enabled {}: events are sent to it again.", endpoint.url)
    } else {
        format!(
            "Disabled {}: no events are sent to it until it is enabled.",
            endpoint.url
        )
    };
    member.current.flashes.add("success", message);
    Ok(to_webhook(&member.org.slug, id))
}

/// Disable or Enable, by the last part of the path.
async fn enable_or_disable_webhook(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id, what)): Path<(String, i64, String)>,
) -> Result<Response> {
    let enabled = match what.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(AppError::NotFound),
    };
    set_enabled(&state, &member, id, enabled).await
}

async fn confirm_delete_webhook(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<DeleteWebhookPage> {
    let (endpoint, _) = webhooks::show(&state, &member.acting(), id)
        .await
        .map_err(refusal)?;
    Ok(DeleteWebhookPage {
        ctx: PageCtx::for_org(&member, "settings").await?,
        slug: member.org.slug.clone(),
        endpoint: EndpointView::new(&endpoint, state.clock.now()),
    })
}

async fn delete_webhook(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let endpoint = webhooks::delete(&state, &member.acting(), id)
        .await
        .map_err(refusal)?;
    member.current.flashes.add(
        "success",
        format!(
            "Deleted the endpoint {}: nothing more is sent to it.",
            endpoint.url
        ),
    );
    Ok(Redirect::to(&format!("/orgs/{}/settings/webhooks", member.org.slug)).into_response())
}
