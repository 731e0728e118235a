//! Access requests in pages: the request form a Member or Billing manager gets where the
//! organization does not let members invite, and the list of pending requests where
//! Owners and Admins approve or decline them.

use askama::Template;
use askama_web::WebTemplate;
use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::pages::PageCtx;
use crate::access_requests::{self, AccessRequest, Asked, Error};
use crate::auth::OrgMember;
use crate::clock;
use crate::domain::{FieldErrors, Role, text};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{slug}/access-requests",
            get(list_access_requests).post(request_invitation),
        )
        .route("/orgs/{slug}/access-requests/new", get(new_access_request))
        .route(
            "/orgs/{slug}/access-requests/{id}/approve",
            post(approve_access_request),
        )
        .route(
            "/orgs/{slug}/access-requests/{id}/decline",
            post(decline_access_request),
        )
}

/// The pages' answer to a refusal with no place of its own on the page.
impl From<Error> for AppError {
    fn from(err: Error) -> AppError {
        match err {
            Error::Forbidden => AppError::Forbidden,
            Error::NotFound => AppError::NotFound,
            Error::Internal(e) => AppError::Other(e),
            Error::Invalid(_) => AppError::Other(anyhow::anyhow!("unanswered refusal: {err}")),
        }
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
struct RequestForm {
    #[serde(default)]
    emails: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    reason: String,
}

/// The request form.
#[derive(Template, WebTemplate)]
#[template(path = "pages/access_request_new.html")]
struct AccessRequestPage {
    ctx: PageCtx,
    slug: String,
    roles: Vec<Role>,
    form: RequestForm,
    errors: FieldErrors,
}

async fn request_page(
    state: &AppState,
    member: &OrgMember,
    form: RequestForm,
    errors: FieldErrors,
) -> Result<Response> {
    let roles = access_requests::requestable_roles(state, &member.acting()).await?;
    if roles.is_empty() {
        return Err(AppError::Forbidden);
    }
    let status = super::pages::form_status(&errors);
    let page = AccessRequestPage {
        ctx: PageCtx::for_org(member, "invitations").await?,
        slug: member.org.slug.clone(),
        roles,
        form,
        errors,
    };
    Ok((status, page).into_response())
}

async fn new_access_request(State(state): State<AppState>, member: OrgMember) -> Result<Response> {
    let form = RequestForm {
        role: Role::Member.as_str().into(),
        ..Default::default()
    };
    request_page(&state, &member, form, FieldErrors::default()).await
}

async fn request_invitation(
    State(state): State<AppState>,
    member: OrgMember,
    Form(form): Form<RequestForm>,
) -> Result<Response> {
    let asked = Asked {
        emails: form.emails.clone(),
        role: form.role.clone(),
        reason: form.reason.clone(),
    };
    match access_requests::request(&state, &member.acting(), &asked).await {
        Ok(_) => {
            member.current.flashes.add(
                "success",
                "Your request was sent to the Owners and Admins. You will get an email when one of them decides.",
            );
            let to = format!("/orgs/{}/invitations", member.org.slug);
            Ok(Redirect::to(&to).into_response())
        }
        Err(Error::Invalid(errors)) => {
            // What was typed is shown again, without what cannot be shown.
            let shown = RequestForm {
                emails: text::sanitized_multi_line(&form.emails, 8_000),
                role: form.role,
                reason: text::sanitized_multi_line(&form.reason, access_requests::MAX_TEXT),
            };
            request_page(&state, &member, shown, errors).await
        }
        Err(err) => Err(err.into()),
    }
}

/// One pending request as the list shows it.
struct RequestView {
    id: i64,
    requester: String,
    addresses: Vec<String>,
    role: &'static str,
    reason: String,
    asked: String,
    asked_exact: String,
    asked_iso: String,
}

impl RequestView {
    fn new(r: AccessRequest, now: i64) -> RequestView {
        RequestView {
            id: r.id,
            requester: match &r.requester_name {
                Some(name) => format!("{name} ({})", r.requester_email),
                None => r.requester_email.clone(),
            },
            addresses: r.addresses().into_iter().map(str::to_string).collect(),
            role: r.role.label(),
            asked: clock::relative(now, r.created_at),
            asked_exact: clock::exact(r.created_at),
            asked_iso: clock::iso(r.created_at),
            reason: r.reason,
        }
    }
}

/// The pending requests, for Owners and Admins.
#[derive(Template, WebTemplate)]
#[template(path = "pages/access_requests.html")]
struct AccessRequestsPage {
    ctx: PageCtx,
    slug: String,
    requests: Vec<RequestView>,
    /// A decline whose note was refused: its request, the note as typed, the message.
    declining: Option<(i64, String, String)>,
}

impl AccessRequestsPage {
    /// The refused note's message for the request `id`.
    fn note_error(&self, id: &i64) -> Option<&str> {
        self.declining
            .as_ref()
            .filter(|(d, _, _)| d == id)
            .map(|(_, _, m)| m.as_str())
    }

    fn note_typed(&self, id: &i64) -> &str {
        self.declining
            .as_ref()
            .filter(|(d, _, _)| d == id)
            .map_or("", |(_, n, _)| n.as_str())
    }
}

async fn requests_page(
    state: &AppState,
    member: &OrgMember,
    declining: Option<(i64, String, String)>,
) -> Result<Response> {
    let now = state.clock.now();
    let requests = access_requests::pending(state, &member.acting())
        .await?
        .into_iter()
        .map(|r| RequestView::new(r, now))
        .collect();
    let status = if declining.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = AccessRequestsPage {
        ctx: PageCtx::for_org(member, "access-requests").await?,
        slug: member.org.slug.clone(),
        requests,
        declining,
    };
    Ok((status, page).into_response())
}

async fn list_access_requests(
    State(state): State<AppState>,
    member: OrgMember,
) -> Result<Response> {
    requests_page(&state, &member, None).await
}

/// Back to the list, with what happened.
fn back(member: &OrgMember, kind: &str, text: String) -> Response {
    member.current.flashes.add(kind, text);
    Redirect::to(&format!("/orgs/{}/access-requests", member.org.slug)).into_response()
}

async fn approve_access_request(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    match access_requests::approve(&state, &member.acting(), id).await {
        Ok(invited) => {
            let sent: Vec<&str> = invited.created.iter().map(|c| c.email.as_str()).collect();
            let skipped: Vec<String> = invited
                .plan
                .rows
                .iter()
                .filter(|r| !r.outcome.is_invite())
                .map(|r| format!("{} ({})", r.raw, r.outcome.describe()))
                .collect();
            let mut text = if sent.is_empty() {
                "Approved, but nobody could be invited.".to_string()
            } else {
                format!("Approved: invited {}.", sent.join(", "))
            };
            if !skipped.is_empty() {
                text.push_str(&format!(" Not invited: {}.", skipped.join("; ")));
            }
            Ok(back(&member, "success", text))
        }
        Err(refusal @ Error::NotFound) => Ok(back(&member, "error", refusal.to_string())),
        Err(err) => Err(err.into()),
    }
}

#[derive(Deserialize)]
struct DeclineForm {
    #[serde(default)]
    note: String,
}

async fn decline_access_request(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
    Form(form): Form<DeclineForm>,
) -> Result<Response> {
    match access_requests::decline(&state, &member.acting(), id, &form.note).await {
        Ok(request) => Ok(back(
            &member,
            "success",
            format!(
                "Declined the request of {}. They were told by email.",
                request.requester_email
            ),
        )),
        Err(Error::Invalid(errors)) => {
            let message = errors.get("note").unwrap_or_default().to_string();
            let typed = text::sanitized_multi_line(&form.note, access_requests::MAX_TEXT);
            requests_page(&state, &member, Some((id, typed, message))).await
        }
        Err(refusal @ Error::NotFound) => Ok(back(&member, "error", refusal.to_string())),
        Err(err) => Err(err.into()),
    }
}
