//! The Invitations page (invite, list) and the invitation landing page (accept, decline).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::pages::PageCtx;
use crate::auth::flash::Flashes;
use crate::auth::{ClientIp, CurrentUser, OrgMember, session};
use crate::clock;
use crate::domain::access::AccessUntil;
use crate::domain::delivery::Delivery;
use crate::domain::invitation::{Outcome, Status, parse_csv, split_addresses};
use crate::domain::local_path::LocalPath;
use crate::domain::permissions::{self, Action};
use crate::domain::{FieldErrors, Role, text};
use crate::error::{AppError, Result};
use crate::invitations::{self as invite, Batch, Closed, Details, Error, Progress, Request, Row};
use crate::state::AppState;

pub use crate::invitations::MAX_TYPED;

pub const PAGE_SIZE: i64 = 50;
/// The longest list of addresses accepted in the form: room for `MAX_TYPED` long ones.
const MAX_TYPED_CHARS: usize = MAX_TYPED * 256;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{slug}/invitations",
            get(list_invitations).post(create_invitations),
        )
        .route("/orgs/{slug}/invitations/new", get(new_invitations))
        .route("/orgs/{slug}/invitations/manage", post(manage_invitations))
        .route("/orgs/{slug}/invitations/csv", post(upload_csv))
        .route(
            "/orgs/{slug}/invitations/csv/{id}",
            get(show_csv_preview).post(confirm_csv),
        )
        .route("/orgs/{slug}/invitations/{id}/delivery", get(show_delivery))
        .route("/orgs/{slug}/invitations/progress", get(show_progress))
        .route("/invitations/{token}", get(show_invitation))
        .route("/invitations/{token}/accept", post(accept_invitation))
        .route(
            "/invitations/{token}/decline",
            get(confirm_decline).post(decline_invitation),
        )
}

/// One invitation as the table shows it.
struct InvitationView {
    id: i64,
    /// Whether the viewer may resend or revoke it (and it is still open).
    manageable: bool,
    email: String,
    role: &'static str,
    inviter: String,
    sent: String,
    sent_exact: String,
    sent_iso: String,
    expires: String,
    expires_exact: String,
    expires_iso: String,
    delivery: DeliveryView,
    /// How a settled (accepted, declined, revoked) invitation ended: "by ada@example.com"
    /// (empty when nobody with an account is known), then when.
    ended_by: String,
    ended: String,
    ended_exact: String,
    ended_iso: String,
}

/// The delivery state of an invitation's latest email as its cell shows it.
struct DeliveryView {
    label: &'static str,
    key: &'static str,
    /// Which attempt failed or is under way, when past the first.
    attempt: Option<i64>,
    /// Why the last attempt failed, in plain words.
    reason: Option<&'static str>,
    /// When the next attempt is due: (relative, exact, ISO).
    next_try: Option<(String, String, String)>,
    /// The transport's own error, for Owners and Admins (on hover; it names hosts).
    error: Option<String>,
    /// Seconds until htmx asks again; None once the state is final.
    poll_secs: Option<i64>,
}

impl DeliveryView {
    fn new(row: &Row, now: i64, show_errors: bool) -> DeliveryView {
        let Some(delivery) = invite::delivery(row, now) else {
            return DeliveryView {
                label: "link shown",
                key: "link",
                attempt: None,
                reason: None,
                next_try: None,
                error: None,
                poll_secs: None,
            };
        };
        let (attempt, reason, next_try) = match delivery {
            Delivery::Sending { attempt } => (Some(attempt).filter(|&a| a > 1), None, None),
            Delivery::Retrying {
                attempt,
                next_at,
                reason,
            } => {
                let when = if next_at - now < 45 {
                    "in under a minute".to_string()
                } else {
                    clock::relative(now, next_at)
                };
                let next = (when, clock::exact(next_at), clock::iso(next_at));
                (Some(attempt), Some(reason.describe()), Some(next))
            }
            Delivery::Failed { reason } => (None, Some(reason.describe()), None),
            Delivery::Queued | Delivery::Delivered { .. } => (None, None, None),
        };
        DeliveryView {
            label: delivery.label(),
            key: delivery.key(),
            attempt,
            reason,
            next_try,
            error: row
                .last_error
                .clone()
                .filter(|_| show_errors && reason.is_some()),
            poll_secs: delivery.poll_secs(now),
        }
    }
}

impl InvitationView {
    fn new(row: Row, now: i64, viewer: &OrgMember) -> InvitationView {
        let show_errors = matches!(viewer.role, Role::Owner | Role::Admin);
        let role = row.role.parse::<Role>().ok();
        let own = row.invited_by == Some(viewer.current.user.id);
        let manageable = row.state == "pending"
            && role.is_some_and(|role| {
                permissions::allows(viewer.role, Action::ManageInvitation { role, own })
            });
        let delivery = DeliveryView::new(&row, now, show_errors);
        let ended_at = row.ended_at.unwrap_or(row.last_sent_at);
        InvitationView {
            id: row.id,
            manageable,
            email: row.email,
            role: role.map_or("Unknown", Role::label),
            inviter: {
                let inviter = row.inviter_name.unwrap_or_else(|| "a former member".into());
                match row.requester_name {
                    Some(requester) => format!("{inviter}, requested by {requester}"),
                    None => inviter,
                }
            },
            sent: clock::relative(now, row.last_sent_at),
            sent_exact: clock::exact(row.last_sent_at),
            sent_iso: clock::iso(row.last_sent_at),
            expires: clock::relative(now, row.expires_at),
            expires_exact: clock::exact(row.expires_at),
            expires_iso: clock::iso(row.expires_at),
            delivery,
            ended_by: row
                .ended_by_email
                .map(|email| format!("by {email}"))
                .unwrap_or_default(),
            ended: clock::relative(now, ended_at),
            ended_exact: clock::exact(ended_at),
            ended_iso: clock::iso(ended_at),
        }
    }
}

/// The pages' answer to a refusal that has no place of its own on the page.
impl From<Error> for AppError {
    fn from(err: Error) -> AppError {
        match err {
            Error::Forbidden => AppError::Forbidden,
            Error::NotFound => AppError::NotFound,
            Error::Internal(e) => AppError::Other(e),
            // The others are answered by the handlers where they can happen.
            other => AppError::Other(anyhow::anyhow!("unanswered refusal: {other}")),
        }
    }
}

/// Reports created invitations: their links, once, when email is off; otherwise a flash
/// with `summary` and the Invitations page.
async fn report_created(
    state: &AppState,
    member: &OrgMember,
    created: Vec<invite::Created>,
    summary: impl FnOnce(&[invite::Created]) -> String,
) -> Result<Response> {
    if !state.mailer.is_enabled() && !created.is_empty() {
        let ctx = PageCtx::for_org(member, "invitations").await?;
        return Ok(InvitationLinksPage {
            ctx,
            slug: member.org.slug.clone(),
            created,
        }
        .into_response());
    }
    member.current.flashes.add("success", summary(&created));
    Ok(Redirect::to(&invitations_following(&member.org.slug, &created)).into_response())
}

/// The Invitations page, following the progress of `created`'s emails when they are
/// several.
fn invitations_following(slug: &str, created: &[invite::Created]) -> String {
    match Batch::of(created) {
        Some(batch) => format!("/orgs/{slug}/invitations?batch={batch}"),
        None => format!("/orgs/{slug}/invitations"),
    }
}

/// The invite form as typed.
#[derive(Clone, Debug, Default, Deserialize)]
struct InviteForm {
    #[serde(default)]
    emails: String,
    #[serde(default)]
    role: String,
    /// The last day of access of the memberships, `YYYY-MM-DD`; empty for no end.
    #[serde(default)]
    access_until: String,
}

/// A tab of the status filter.
struct Tab {
    status: &'static str,
    label: &'static str,
    current: bool,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/invitations.html")]
struct InvitationsPage {
    ctx: PageCtx,
    slug: String,
    org_name: String,
    /// Who may be invited by the viewer (none: no invite button).
    roles: Vec<Role>,
    /// The viewer may not invite, but may ask for an invitation.
    may_request: bool,
    /// The only member, with no invitation out: the page invites them to invite.
    alone: bool,
    tabs: Vec<Tab>,
    status_label: &'static str,
    status: &'static str,
    /// Accepted, declined or revoked: no expiry, but who ended it and when.
    settled: bool,
    invitations: Vec<InvitationView>,
    any_manageable: bool,
    total: i64,
    page: i64,
    pages: i64,
    /// The bulk send whose progress the page shows, with how its emails stand.
    batch: Option<(Batch, Progress)>,
}

impl InvitationsPage {
    /// This tab and page: where a resend or revoke taken from it goes back.
    fn view_href(&self) -> String {
        let page = if self.page > 1 {
            format!("&page={}", self.page)
        } else {
            String::new()
        };
        format!(
            "/orgs/{}/invitations?status={}{page}",
            self.slug, self.status
        )
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/invitation_links.html")]
struct InvitationLinksPage {
    ctx: PageCtx,
    slug: String,
    created: Vec<invite::Created>,
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    page: Option<i64>,
    /// A bulk send to follow (`Batch`); a malformed one is ignored.
    batch: Option<String>,
}

/// Which part of the list the Invitations page shows: a status, a page of it, and the
/// bulk send to follow, if any.
#[derive(Clone, Copy)]
struct Shown {
    status: Status,
    page: i64,
    batch: Option<Batch>,
}

async fn invitations_page(
    state: &AppState,
    member: &OrgMember,
    Shown {
        status,
        page,
        batch,
    }: Shown,
) -> Result<InvitationsPage> {
    let settings = &member.settings;
    let now = state.clock.now();
    // The pending ones were counted with the membership; nothing has changed since.
    let invite::Listing {
        rows,
        total,
        page,
        pages,
        progress,
    } = invite::list_page(
        state,
        member.org.id,
        status,
        page,
        PAGE_SIZE,
        member.counts.1,
        batch,
    )
    .await?;
    let invitations: Vec<InvitationView> = rows
        .into_iter()
        .map(|r| InvitationView::new(r, now, member))
        .collect();
    Ok(InvitationsPage {
        ctx: PageCtx::for_org(member, "invitations").await?,
        slug: member.org.slug.clone(),
        org_name: member.org.name.clone(),
        roles: permissions::invitable_roles(member.role, settings.members_may_invite),
        may_request: !permissions::requestable_roles(member.role, settings.members_may_invite)
            .is_empty(),
        alone: member.counts == (1, 0),
        tabs: Status::ALL
            .into_iter()
            .map(|s| Tab {
                status: s.as_str(),
                label: s.label(),
                current: s == status,
            })
            .collect(),
        status_label: status.label(),
        status: status.as_str(),
        settled: matches!(
            status,
            Status::Accepted | Status::Declined | Status::Revoked
        ),
        any_manageable: invitations.iter().any(|i| i.manageable),
        invitations,
        total,
        page,
        pages,
        batch: batch.zip(progress).filter(|(_, p)| p.total > 0),
    })
}

async fn list_invitations(
    State(state): State<AppState>,
    member: OrgMember,
    Query(q): Query<ListQuery>,
) -> Result<InvitationsPage> {
    let status = q
        .status
        .as_deref()
        .and_then(Status::parse)
        .unwrap_or(Status::Pending);
    invitations_page(
        &state,
        &member,
        Shown {
            status,
            page: q.page.unwrap_or(1),
            batch: q.batch.as_deref().and_then(Batch::parse),
        },
    )
    .await
}

/// The invite forms (typed addresses, a CSV file): a page of their own, or a dialog
/// that htmx opens over the Invitations or Members page.
#[derive(Template, WebTemplate)]
#[template(path = "pages/invitations_new.html")]
struct InvitePage {
    ctx: PageCtx,
    slug: String,
    roles: Vec<Role>,
    form: InviteForm,
    errors: FieldErrors,
    problems: Vec<(String, String)>,
}

#[derive(Template, WebTemplate)]
#[template(path = "partials/invite_dialog.html")]
struct InviteDialog {
    ctx: PageCtx,
    slug: String,
    roles: Vec<Role>,
    form: InviteForm,
    errors: FieldErrors,
    problems: Vec<(String, String)>,
}

/// The invite page with `form` as typed and its mistakes (a 422 when there are some).
async fn invite_page(
    member: &OrgMember,
    form: InviteForm,
    errors: FieldErrors,
    problems: Vec<(String, String)>,
) -> Result<Response> {
    let status = super::pages::form_status(&errors);
    let page = InvitePage {
        ctx: PageCtx::for_org(member, "invitations").await?,
        slug: member.org.slug.clone(),
        roles: permissions::invitable_roles(member.role, member.settings.members_may_invite),
        form,
        errors,
        problems,
    };
    Ok((status, page).into_response())
}

fn blank_invite_form() -> InviteForm {
    InviteForm {
        role: Role::Member.as_str().into(),
        ..Default::default()
    }
}

async fn new_invitations(
    member: OrgMember,
    axum_htmx::HxRequest(is_htmx): axum_htmx::HxRequest,
) -> Result<Response> {
    if !invite::may_invite(&member.acting(), &member.settings) {
        let roles = permissions::requestable_roles(member.role, member.settings.members_may_invite);
        if roles.is_empty() {
            return Err(AppError::Forbidden);
        }
        // Asked for instead of refused.
        let to = format!("/orgs/{}/access-requests/new", member.org.slug);
        return Ok(Redirect::to(&to).into_response());
    }
    if !is_htmx {
        return invite_page(
            &member,
            blank_invite_form(),
            FieldErrors::default(),
            Vec::new(),
        )
        .await;
    }
    Ok(InviteDialog {
        ctx: PageCtx::for_org(&member, "invitations").await?,
        slug: member.org.slug.clone(),
        roles: permissions::invitable_roles(member.role, member.settings.members_may_invite),
        form: blank_invite_form(),
        errors: FieldErrors::default(),
        problems: Vec::new(),
    }
    .into_response())
}

async fn create_invitations(
    State(state): State<AppState>,
    member: OrgMember,
    Form(form): Form<InviteForm>,
) -> Result<Response> {
    let acting = member.acting();
    if !invite::may_invite(&acting, &member.settings) {
        return Err(AppError::Forbidden);
    }
    let mut errors = FieldErrors::default();
    let role = form
        .role
        .parse::<Role>()
        .map_err(|m| errors.add("role", m))
        .ok();
    let addresses = split_addresses(&form.emails);
    // A textarea breaks lines; any other control character has no place in a list of
    // addresses (and a NUL would reach PostgreSQL).
    if let Err(m) = text::check_multi_line(&form.emails, MAX_TYPED_CHARS) {
        errors.add("emails", m);
    } else if addresses.is_empty() {
        errors.add("emails", "Enter at least one email address.");
    } else if addresses.len() > MAX_TYPED {
        errors.add(
            "emails",
            format!("Enter at most {MAX_TYPED} addresses at once, or upload a CSV file."),
        );
    }
    let access_until = AccessUntil::parse(&form.access_until, state.clock.now())
        .map_err(|m| errors.add("access_until", m))
        .ok()
        .flatten();
    // What was typed is shown again, without what cannot be shown.
    let shown = InviteForm {
        access_until: text::sanitized(&form.access_until, 40),
        ..form.clone()
    };
    let refuse = |errors, problems| invite_page(&member, shown.clone(), errors, problems);
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return refuse(errors, Vec::new()).await;
    };
    let requests: Vec<Request> = addresses
        .iter()
        .map(|a| Request::new(a, role).until(access_until))
        .collect();
    let created = match invite::invite(&state, &acting, requests, false).await {
        Ok(invited) => invited.created,
        Err(Error::Refused(plan)) => {
            let problems: Vec<(String, String)> = plan
                .rows
                .iter()
                .filter(|r| !r.outcome.is_invite())
                .map(|r| (r.raw.clone(), r.outcome.describe()))
                .collect();
            let message = if plan.rows.iter().any(|r| r.outcome == Outcome::OverLimit) {
                format!(
                    "Nothing was sent: {} invitations fit within the organization's limits, and you asked for {}.",
                    plan.room_before,
                    plan.rows.len()
                )
            } else {
                "Nothing was sent. Fix or remove these addresses, then send again.".to_string()
            };
            let mut errors = FieldErrors::default();
            errors.add("emails", message);
            return refuse(errors, problems).await;
        }
        Err(e) => return Err(e.into()),
    };
    let summary = |created: &[invite::Created]| match created {
        [one] => format!("Invitation to {} queued; delivery below.", one.email),
        all => format!("{} invitations queued; delivery below.", all.len()),
    };
    report_created(&state, &member, created, summary).await
}

/// The landing page of an invitation link, in each of its situations.
#[derive(Template, WebTemplate)]
#[template(path = "pages/invitation.html")]
struct InvitationPage {
    ctx: PageCtx,
    token: String,
    /// Set when the invitation cannot be used: the heading and the explanation.
    closed: Option<(String, String)>,
    org_name: String,
    inviter: String,
    role: &'static str,
    email: String,
    expires: String,
    /// "invitee", "other" (signed in as someone else), "existing" (must sign in), "new".
    viewer: &'static str,
    signed_in_as: String,
    /// The invitee asked to decline: the page asks them to confirm.
    confirm_decline: bool,
    signup: SignupForm,
    errors: FieldErrors,
}

#[derive(Clone, Debug, Default, Deserialize)]
struct SignupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// The heading and explanation of a link that cannot be used. `declined_here`: the
/// person has just declined it from this page.
fn closed_text(reason: Closed, details: Option<&Details>, declined_here: bool) -> (String, String) {
    // Names and organizations as they were typed, whatever begins the sentence.
    let (ask, ask_lower) = match details {
        Some(d) => {
            let whom = format!(
                "{} or an Owner of {} for a new invitation.",
                d.inviter_name
                    .as_deref()
                    .unwrap_or("the person who invited you"),
                d.org_name
            );
            (format!("Ask {whom}"), format!("ask {whom}"))
        }
        None => (
            "Ask the person who invited you for a new invitation.".into(),
            "ask the person who invited you for a new invitation.".into(),
        ),
    };
    let org = details.map_or("the organization", |d| d.org_name.as_str());
    match reason {
        Closed::Declined if declined_here => (
            format!("You declined the invitation to {org}"),
            format!("Nobody was added to {org}. If you change your mind, {ask_lower}"),
        ),
        Closed::Expired => (
            "This invitation has expired".into(),
            format!("Invitation links work for a limited time. {ask}"),
        ),
        Closed::Revoked => (
            "This invitation was withdrawn".into(),
            format!("It can no longer be used. {ask}"),
        ),
        Closed::Accepted => (
            "This invitation has already been accepted".into(),
            format!("Sign in to reach {org}. If that was not you, {ask_lower}"),
        ),
        Closed::Declined => (
            "This invitation was declined".into(),
            format!("It can no longer be used. If that was not you, {ask_lower}"),
        ),
        Closed::Unknown => (
            "This invitation link is not valid".into(),
            format!("It may be incomplete or replaced by a newer one. {ask}"),
        ),
    }
}

/// Renders the landing page for `token`, for whoever is looking.
async fn landing(
    state: &AppState,
    session: &Session,
    flashes: &Flashes,
    token: &str,
    asked: Asked,
    signup: SignupForm,
    errors: FieldErrors,
) -> Result<Response> {
    let user = CurrentUser::from_session(state, session).await?;
    let ctx = PageCtx::load(state, session, flashes, user.as_ref()).await?;
    let mut page = InvitationPage {
        ctx,
        token: token.to_string(),
        closed: None,
        org_name: String::new(),
        inviter: String::new(),
        role: "",
        email: String::new(),
        expires: String::new(),
        viewer: "",
        signed_in_as: user.as_ref().map(|u| u.email.clone()).unwrap_or_default(),
        confirm_decline: asked == Asked::ConfirmDecline,
        signup,
        errors,
    };
    let signed_in = user.as_ref().map(|u| u.email.as_str());
    let invite::Link {
        invitation: details,
        viewer,
    } = match invite::open_link(state, token, signed_in).await {
        Ok(link) => link,
        Err(Error::Closed { reason, invitation }) => {
            page.closed = Some(closed_text(
                reason,
                invitation.as_deref(),
                asked == Asked::Declined,
            ));
            let status = if reason == Closed::Unknown {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::GONE
            };
            return Ok((status, page).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    page.viewer = viewer.as_str();
    page.org_name = details.org_name;
    page.inviter = details
        .inviter_name
        .unwrap_or_else(|| "A former member".into());
    page.role = details.role.label();
    page.expires = format!(
        "{} ({})",
        clock::relative(state.clock.now(), details.expires_at),
        clock::exact(details.expires_at)
    );
    page.email = details.email;
    let status = super::pages::form_status(&page.errors);
    Ok((status, page).into_response())
}

/// What the person asked of the landing page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Asked {
    /// To see the invitation.
    Show,
    /// To decline it: the page asks to confirm.
    ConfirmDecline,
    /// Nothing more: they have just declined it (the redirect after declining).
    Declined,
}

/// The landing page with nothing typed yet.
async fn plain_landing(
    state: &AppState,
    session: &Session,
    flashes: &Flashes,
    token: &str,
    asked: Asked,
) -> Result<Response> {
    landing(
        state,
        session,
        flashes,
        token,
        asked,
        SignupForm::default(),
        FieldErrors::default(),
    )
    .await
}

#[derive(Deserialize)]
struct LandingQuery {
    #[serde(default)]
    declined: Option<String>,
}

async fn show_invitation(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    Path(token): Path<String>,
    Query(q): Query<LandingQuery>,
) -> Result<Response> {
    // Only changes the wording of a link already declined; GET still changes nothing.
    let asked = if q.declined.is_some() {
        Asked::Declined
    } else {
        Asked::Show
    };
    plain_landing(&state, &session, &flashes, &token, asked).await
}

/// Declining is final, so the Decline button leads here first: the same page, asking to
/// confirm with a form that posts the decline.
async fn confirm_decline(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    Path(token): Path<String>,
) -> Result<Response> {
    plain_landing(&state, &session, &flashes, &token, Asked::ConfirmDecline).await
}

async fn accept_invitation(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    client: session::Client,
    Path(token): Path<String>,
    Form(form): Form<SignupForm>,
) -> Result<Response> {
    let user = CurrentUser::from_session(&state, &session).await?;
    let who = match user {
        Some(u) => invite::Accepting::SignedIn {
            user_id: u.id,
            email: u.email,
        },
        None => invite::Accepting::SigningUp(invite::SignUp {
            name: form.name,
            password: form.password,
            password_confirm: form.password_confirm,
        }),
    };
    let accepted = match invite::accept(&state, &token, who, &client.ip).await {
        Ok(accepted) => accepted,
        Err(Error::AlreadyMember { org_slug }) => {
            return already_member(&flashes, &org_slug).await;
        }
        Err(Error::HasAccount { email }) => {
            let next = format!("/invitations/{token}");
            let to = format!(
                "/sign-in?email={}&next={}",
                encode(email.as_str()),
                encode(&next)
            );
            return Ok(Redirect::to(&to).into_response());
        }
        Err(Error::SignUpInvalid { name, errors }) => {
            let typed = SignupForm {
                name,
                ..Default::default()
            };
            return landing(
                &state,
                &session,
                &flashes,
                &token,
                Asked::Show,
                typed,
                errors,
            )
            .await;
        }
        Err(Error::Closed { .. } | Error::WrongAccount | Error::UsedMeanwhile) => {
            return plain_landing(&state, &session, &flashes, &token, Asked::Show).await;
        }
        Err(e) => return Err(e.into()),
    };
    if CurrentUser::from_session(&state, &session).await?.is_none() {
        session::sign_in(
            &state,
            &session,
            accepted.user_id,
            state.clock.now(),
            &client,
        )
        .await?;
    }
    flashes.add("success", format!("Welcome to {}.", accepted.org_name));
    Ok(Redirect::to(&format!("/orgs/{}/members", accepted.org_slug)).into_response())
}

async fn already_member(flashes: &Flashes, slug: &str) -> Result<Response> {
    flashes.add("success", "You are already a member of this organization.");
    Ok(Redirect::to(&format!("/orgs/{slug}/members")).into_response())
}

async fn decline_invitation(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Result<Response> {
    let user = CurrentUser::from_session(&state, &session).await?;
    let signed_in = user.as_ref().map(|u| (u.id, u.email.as_str()));
    match invite::decline(&state, &token, signed_in, &ip).await {
        Ok(_) => {}
        Err(Error::Closed { .. } | Error::WrongAccount) => {
            return plain_landing(&state, &session, &flashes, &token, Asked::Show).await;
        }
        Err(e) => return Err(e.into()),
    }
    // The landing page, told the link was just declined here, says so in its heading.
    Ok(Redirect::to(&format!("/invitations/{token}?declined=1")).into_response())
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The resend/revoke form: a row's own button (`row_action` = "resend:ID"), or a bulk
/// button (`bulk_action`) with the ticked `ids`; `confirm` once the person confirmed.
#[derive(Debug, Default, Deserialize)]
struct ManageForm {
    row_action: Option<String>,
    bulk_action: Option<String>,
    #[serde(default)]
    ids: Vec<i64>,
    confirm: Option<String>,
    /// "members" when asked from the Members page, which is then where it returns.
    #[serde(default)]
    from: String,
    /// The view of that page (its filters and page) to return to.
    #[serde(default)]
    return_to: String,
}

/// The same confirmation as a `<dialog>` that htmx swaps into the Invitations page.
#[derive(Template, WebTemplate)]
#[template(path = "partials/confirm_manage.html")]
struct ConfirmManageDialog {
    ctx: PageCtx,
    slug: String,
    from_members: bool,
    /// The view of the page the action was taken from.
    back: String,
    action: &'static str,
    verb: &'static str,
    targets: Vec<invite::Managed>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/invitations_confirm.html")]
struct ConfirmManagePage {
    ctx: PageCtx,
    slug: String,
    from_members: bool,
    /// The view of the page the action was taken from.
    back: String,
    action: &'static str,
    verb: &'static str,
    targets: Vec<invite::Managed>,
}

async fn manage_invitations(
    State(state): State<AppState>,
    member: OrgMember,
    axum_htmx::HxRequest(is_htmx): axum_htmx::HxRequest,
    axum_extra::extract::Form(form): axum_extra::extract::Form<ManageForm>,
) -> Result<Response> {
    let from_members = form.from == "members";
    let page = if from_members {
        format!("/orgs/{}/members", member.org.slug)
    } else {
        format!("/orgs/{}/invitations", member.org.slug)
    };
    let mut back = LocalPath::at_or(&form.return_to, &page)
        .as_str()
        .to_string();
    let (action, ids) = match (&form.row_action, &form.bulk_action) {
        (Some(row), _) => {
            let (action, id) = row.split_once(':').ok_or(AppError::NotFound)?;
            (
                action.to_string(),
                vec![id.parse::<i64>().map_err(|_| AppError::NotFound)?],
            )
        }
        (None, Some(bulk)) => (bulk.clone(), form.ids.clone()),
        (None, None) => return Err(AppError::NotFound),
    };
    let action = invite::Manage::parse(&action).ok_or(AppError::NotFound)?;
    if ids.is_empty() && is_htmx {
        return Ok(super::message_at(
            "#bulk-feedback",
            StatusCode::UNPROCESSABLE_ENTITY,
            "error",
            "Select at least one invitation first.",
        ));
    }
    if ids.is_empty() {
        member
            .current
            .flashes
            .add("error", "Select at least one invitation first.");
        return Ok(Redirect::to(&back).into_response());
    }
    let acting = member.acting();
    let verb = match action {
        invite::Manage::Resend => "Resend",
        invite::Manage::Revoke => "Revoke",
    };
    if form.confirm.as_deref() != Some("yes") {
        let targets = invite::invitations_to_manage(&state, &acting, &ids).await?;
        let ctx = PageCtx::for_org(&member, "invitations").await?;
        let (slug, action) = (member.org.slug.clone(), action.as_str());
        return Ok(if is_htmx {
            ConfirmManageDialog {
                ctx,
                slug,
                from_members,
                back,
                action,
                verb,
                targets,
            }
            .into_response()
        } else {
            ConfirmManagePage {
                ctx,
                slug,
                from_members,
                back,
                action,
                verb,
                targets,
            }
            .into_response()
        });
    }
    let links = match invite::manage(&state, &acting, &ids, action).await {
        Ok(links) => links,
        Err(Error::Finished(emails)) => {
            let text = format!(
                "Nothing was changed: these invitations are no longer open: {}.",
                emails.join(", ")
            );
            member.current.flashes.add("error", text);
            return Ok(Redirect::to(&back).into_response());
        }
        Err(Error::OverLimit { room }) => {
            let text = format!(
                "Nothing was resent: only {room} more pending invitations fit within the organization's limit."
            );
            member.current.flashes.add("error", text);
            return Ok(Redirect::to(&back).into_response());
        }
        Err(e) => return Err(e.into()),
    };
    let n = ids.iter().collect::<std::collections::HashSet<_>>().len();
    let plural = if n == 1 { "invitation" } else { "invitations" };
    if action == invite::Manage::Resend && !state.mailer.is_enabled() {
        let ctx = PageCtx::for_org(&member, "invitations").await?;
        return Ok(InvitationLinksPage {
            ctx,
            slug: member.org.slug.clone(),
            created: links,
        }
        .into_response());
    }
    let text = match action {
        invite::Manage::Resend if from_members => {
            format!("Resent {n} {plural}; the emails are queued. Earlier links no longer work.")
        }
        invite::Manage::Resend => {
            format!("Resent {n} {plural}; queued, delivery below. Earlier links no longer work.")
        }
        invite::Manage::Revoke => format!("Revoked {n} {plural}."),
    };
    member.current.flashes.add("success", text);
    if action == invite::Manage::Resend && !from_members {
        back = invitations_following(&member.org.slug, &links);
    }
    Ok(Redirect::to(&back).into_response())
}

/// The delivery cell of one invitation; htmx polls it while its email is queued.
#[derive(Template, WebTemplate)]
#[template(path = "partials/delivery_cell.html")]
struct DeliveryCell {
    slug: String,
    i: InvitationView,
}

async fn show_delivery(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<DeliveryCell> {
    let row = invite::invitation(&state, member.org.id, id).await?;
    let i = InvitationView::new(row, state.clock.now(), &member);
    Ok(DeliveryCell {
        slug: member.org.slug.clone(),
        i,
    })
}

/// How a bulk send's emails stand; htmx polls it in place until the worker is done.
#[derive(Template, WebTemplate)]
#[template(path = "partials/batch_progress.html")]
struct BatchProgress {
    progress: Progress,
}

#[derive(Deserialize)]
struct ProgressQuery {
    batch: String,
}

/// htmx stops polling an element when its answer has this status (and still swaps it).
const STOP_POLLING: u16 = 286;

async fn show_progress(
    State(state): State<AppState>,
    member: OrgMember,
    Query(q): Query<ProgressQuery>,
) -> Result<Response> {
    let batch = Batch::parse(&q.batch).ok_or(AppError::NotFound)?;
    let progress = invite::batch_progress(&state, member.org.id, batch).await?;
    let status = if progress.is_done() {
        StatusCode::from_u16(STOP_POLLING).expect("a valid status")
    } else {
        StatusCode::OK
    };
    Ok((status, BatchProgress { progress }).into_response())
}

/// One row of the CSV preview.
struct CsvPreviewRow {
    line: u64,
    email: String,
    role: String,
    invite: bool,
    what: String,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/invitations_csv.html")]
struct CsvPreviewPage {
    ctx: PageCtx,
    slug: String,
    import_id: i64,
    file_name: String,
    invites: usize,
    skipped: usize,
    rows: Vec<CsvPreviewRow>,
}

/// A multipart body that cannot be read is the sender's doing (a cut or hand-made
/// request), not Roster's: a 400 that says so.
fn unreadable_upload(e: axum::extract::multipart::MultipartError) -> AppError {
    tracing::debug!(error = %e, "unreadable upload");
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::TooLarge;
    }
    AppError::BadRequest(
        "The upload could not be read. Choose the CSV file again and send the form once more."
            .into(),
    )
}

/// Reads an uploaded CSV file, keeps it, and sends the browser to its preview: a page of
/// its own (reloading it is safe), where nothing is invited until the person confirms.
async fn upload_csv(
    State(state): State<AppState>,
    member: OrgMember,
    mut multipart: axum::extract::Multipart,
) -> Result<Response> {
    let acting = member.acting();
    if !invite::may_invite(&acting, &member.settings) {
        return Err(AppError::Forbidden);
    }
    let (mut data, mut file_name, mut role) = (Vec::new(), String::new(), String::new());
    while let Some(field) = multipart.next_field().await.map_err(unreadable_upload)? {
        match field.name() {
            Some("file") => {
                file_name = field.file_name().unwrap_or("upload.csv").to_string();
                data = field.bytes().await.map_err(unreadable_upload)?.to_vec();
            }
            Some("role") => role = field.text().await.map_err(unreadable_upload)?,
            _ => {}
        }
    }
    let mut errors = FieldErrors::default();
    let default_role = role
        .parse::<Role>()
        .map_err(|m| errors.add("csv_role", m))
        .ok();
    let rows = if data.is_empty() {
        errors.add("csv", "Choose a CSV file.");
        None
    } else {
        parse_csv(&data).map_err(|m| errors.add("csv", m)).ok()
    };
    let (Some(default_role), Some(rows)) = (default_role, rows) else {
        return invite_page(&member, blank_invite_form(), errors, Vec::new()).await;
    };
    // A file name is the sender's to choose: keep it short and printable.
    let file_name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let import_id = invite::upload_csv(
        &state,
        &acting,
        &member.settings,
        &file_name,
        &rows,
        default_role,
    )
    .await?;
    let to = format!("/orgs/{}/invitations/csv/{import_id}", member.org.slug);
    Ok(Redirect::to(&to).into_response())
}

/// What would happen to each row of a kept upload, as things stand now.
async fn show_csv_preview(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let preview = invite::csv_preview(&state, &member.acting(), &member.settings, id).await?;
    let invites = preview.plan.invites();
    let rows = preview
        .rows
        .iter()
        .zip(&preview.plan.rows)
        .map(|(row, planned)| CsvPreviewRow {
            line: row.line,
            email: row.email.clone(),
            role: if planned.outcome == Outcome::UnknownRole(row.role.clone()) {
                row.role.clone()
            } else {
                planned.role.label().to_string()
            },
            invite: planned.outcome.is_invite(),
            what: match planned.access_until {
                Some(day) if planned.outcome.is_invite() => format!(
                    "{}, with access until {}",
                    planned.outcome.describe(),
                    day.long()
                ),
                _ => planned.outcome.describe(),
            },
        })
        .collect::<Vec<_>>();
    let ctx = PageCtx::for_org(&member, "invitations").await?;
    Ok(CsvPreviewPage {
        ctx,
        slug: member.org.slug.clone(),
        import_id: preview.import_id,
        file_name: preview.file_name,
        invites,
        skipped: rows.len() - invites,
        rows,
    }
    .into_response())
}

/// Invites the rows of a previewed CSV upload that may still be invited.
async fn confirm_csv(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let invited = invite::confirm_csv(&state, &member.acting(), id).await?;
    let rows = invited.plan.rows.len();
    let summary = move |created: &[invite::Created]| {
        let (sent, skipped) = (created.len(), rows - created.len());
        format!(
            "{sent} {} queued from the CSV file; {skipped} {} skipped. Delivery below.",
            if sent == 1 {
                "invitation"
            } else {
                "invitations"
            },
            if skipped == 1 { "row" } else { "rows" },
        )
    };
    report_created(&state, &member, invited.created, summary).await
}
