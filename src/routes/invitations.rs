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
use crate::db::{self, audit, invitations::Row};
use crate::domain::invitation::{Outcome, Status, parse_csv, parse_role_name, split_addresses};
use crate::domain::permissions::{self, Action};
use crate::domain::{Email, FieldErrors, Role, password, text};
use crate::error::{AppError, Result};
use crate::invitations::{self as invite, Closed, Inviter, Request};
use crate::state::AppState;

pub const PAGE_SIZE: i64 = 50;
/// Addresses accepted at once in the form (larger lists go through a CSV file).
pub const MAX_TYPED: usize = 1_000;
/// The longest list of addresses accepted in the form: room for `MAX_TYPED` long ones.
const MAX_TYPED_CHARS: usize = MAX_TYPED * 256;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/orgs/{slug}/invitations",
            get(list_invitations).post(create_invitations),
        )
        .route("/orgs/{slug}/invitations/manage", post(manage_invitations))
        .route("/orgs/{slug}/invitations/csv", post(preview_csv))
        .route("/orgs/{slug}/invitations/csv/{id}", post(confirm_csv))
        .route("/orgs/{slug}/invitations/{id}/delivery", get(show_delivery))
        .route("/invitations/{token}", get(show_invitation))
        .route("/invitations/{token}/accept", post(accept_invitation))
        .route("/invitations/{token}/decline", post(decline_invitation))
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
    delivery: &'static str,
    delivery_key: &'static str,
    delivery_error: Option<String>,
}

/// The delivery state of an invitation's latest email: (label, key).
pub fn delivery_of(row: &Row) -> (&'static str, &'static str) {
    match (
        row.outbox_id,
        row.sent_at,
        row.gave_up_at.is_some() || row.last_error.is_some(),
    ) {
        (None, _, _) => ("link shown", "link"),
        (Some(_), Some(_), _) => ("sent", "sent"),
        (Some(_), None, true) => ("failed", "failed"),
        (Some(_), None, false) => ("queued", "queued"),
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
        let (delivery, delivery_key) = delivery_of(&row);
        InvitationView {
            id: row.id,
            manageable,
            email: row.email,
            role: role.map_or("Unknown", Role::label),
            inviter: row.inviter_name.unwrap_or_else(|| "a former member".into()),
            sent: clock::relative(now, row.last_sent_at),
            sent_exact: clock::exact(row.last_sent_at),
            sent_iso: clock::iso(row.last_sent_at),
            expires: clock::relative(now, row.expires_at),
            expires_exact: clock::exact(row.expires_at),
            expires_iso: clock::iso(row.expires_at),
            delivery,
            delivery_key,
            delivery_error: if show_errors && delivery == "failed" {
                row.last_error
            } else {
                None
            },
        }
    }
}

/// Creates the plan's invitations, commits, and reports them (`report_created`).
async fn create_and_report(
    state: &AppState,
    member: &OrgMember,
    mut tx: db::Tx,
    settings: &crate::domain::settings::OrgSettings,
    plan: &invite::Plan,
    now: i64,
    summary: impl FnOnce(&[invite::Created]) -> String,
) -> Result<Response> {
    let acting = member.acting();
    let created = invite::create(
        state,
        &mut tx,
        &member.org,
        settings,
        &Inviter::of(&acting),
        plan,
        now,
    )
    .await?;
    tx.commit().await?;
    state.mailer.wake();
    report_created(state, member, created, summary).await
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
    Ok(Redirect::to(&format!("/orgs/{}/invitations", member.org.slug)).into_response())
}

/// The invite form as typed.
#[derive(Clone, Debug, Default, Deserialize)]
struct InviteForm {
    #[serde(default)]
    emails: String,
    #[serde(default)]
    role: String,
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
    roles: Vec<Role>,
    form: InviteForm,
    errors: FieldErrors,
    problems: Vec<(String, String)>,
    tabs: Vec<Tab>,
    status_label: &'static str,
    status: &'static str,
    invitations: Vec<InvitationView>,
    any_manageable: bool,
    total: i64,
    page: i64,
    pages: i64,
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
}

async fn invitations_page(
    state: &AppState,
    member: &OrgMember,
    status: Status,
    page: i64,
    form: InviteForm,
    errors: FieldErrors,
    problems: Vec<(String, String)>,
) -> Result<InvitationsPage> {
    let settings = &member.settings;
    let now = state.clock.now();
    // The pending ones were counted with the membership; nothing has changed since.
    let total = match status {
        Status::Pending => member.counts.1,
        _ => db::invitations::count(&state.db, member.org.id, status, now).await?,
    };
    let pages = ((total + PAGE_SIZE - 1) / PAGE_SIZE).max(1);
    let page = page.clamp(1, pages);
    let rows = db::invitations::list(
        &state.db,
        member.org.id,
        status,
        now,
        PAGE_SIZE,
        (page - 1) * PAGE_SIZE,
    )
    .await?;
    let invitations: Vec<InvitationView> = rows
        .into_iter()
        .map(|r| InvitationView::new(r, now, member))
        .collect();
    Ok(InvitationsPage {
        ctx: PageCtx::for_org(member, "invitations").await?,
        slug: member.org.slug.clone(),
        roles: permissions::invitable_roles(member.role, settings.members_may_invite),
        form,
        errors,
        problems,
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
        any_manageable: invitations.iter().any(|i| i.manageable),
        invitations,
        total,
        page,
        pages,
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
    let form = InviteForm {
        role: Role::Member.as_str().into(),
        ..Default::default()
    };
    invitations_page(
        &state,
        &member,
        status,
        q.page.unwrap_or(1),
        form,
        FieldErrors::default(),
        Vec::new(),
    )
    .await
}

async fn create_invitations(
    State(state): State<AppState>,
    member: OrgMember,
    Form(form): Form<InviteForm>,
) -> Result<Response> {
    let settings = &member.settings;
    if permissions::invitable_roles(member.role, settings.members_may_invite).is_empty() {
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
    let refuse = |errors, problems| async {
        let page = invitations_page(
            &state,
            &member,
            Status::Pending,
            1,
            form.clone(),
            errors,
            problems,
        )
        .await?;
        Ok::<_, AppError>((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
    };
    let Some(role) = role.filter(|_| errors.is_empty()) else {
        return refuse(errors, Vec::new()).await;
    };
    let requests: Vec<Request> = addresses
        .iter()
        .map(|a| Request {
            raw: a.to_string(),
            role,
            bad_role: None,
        })
        .collect();
    let acting = member.acting();
    let (plan, created) =
        invite::invite(&state, &member.org, &Inviter::of(&acting), &requests, false).await?;
    if !plan.all_invite() {
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
    let summary = |created: &[invite::Created]| match created {
        [one] => format!("Invitation sent to {}.", one.email),
        all => format!("{} invitations sent.", all.len()),
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
    closed: Option<(&'static str, String)>,
    org_name: String,
    inviter: String,
    role: &'static str,
    email: String,
    expires: String,
    /// "invitee", "other" (signed in as someone else), "existing" (must sign in), "new".
    viewer: &'static str,
    signed_in_as: String,
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

fn closed_text(
    reason: Closed,
    details: Option<&db::invitations::Details>,
) -> (&'static str, String) {
    let ask = match details {
        Some(d) => format!(
            "Ask {} or an Owner of {} for a new invitation.",
            d.inviter_name
                .as_deref()
                .unwrap_or("the person who invited you"),
            d.org_name
        ),
        None => "Ask the person who invited you for a new invitation.".into(),
    };
    match reason {
        Closed::Expired => (
            "This invitation has expired",
            format!("Invitation links work for a limited time. {ask}"),
        ),
        Closed::Revoked => (
            "This invitation was withdrawn",
            format!("It can no longer be used. {ask}"),
        ),
        Closed::Used => (
            "This invitation has already been used",
            format!(
                "It was accepted or declined already. If that was not you, {}",
                ask.to_lowercase()
            ),
        ),
        Closed::Unknown => (
            "This invitation link is not valid",
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
        signup,
        errors,
    };
    let details = match invite::open_by_token(state, token).await? {
        Ok(details) => details,
        Err((reason, known)) => {
            page.closed = Some(closed_text(reason, known.as_ref()));
            let status = if reason == Closed::Unknown {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::GONE
            };
            return Ok((status, page).into_response());
        }
    };
    page.viewer = match &user {
        Some(u) if u.email.eq_ignore_ascii_case(&details.email) => "invitee",
        Some(_) => "other",
        None => match Email::parse(&details.email) {
            Ok(e) if db::users::find_by_email(&state.db, &e).await?.is_some() => "existing",
            _ => "new",
        },
    };
    page.org_name = details.org_name;
    page.inviter = details
        .inviter_name
        .unwrap_or_else(|| "A former member".into());
    page.role = details.role.parse::<Role>().map_or("Unknown", Role::label);
    page.expires = format!(
        "{} ({})",
        clock::relative(state.clock.now(), details.expires_at),
        clock::exact(details.expires_at)
    );
    page.email = details.email;
    let status = if page.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, page).into_response())
}

/// The landing page with nothing typed yet.
async fn plain_landing(
    state: &AppState,
    session: &Session,
    flashes: &Flashes,
    token: &str,
) -> Result<Response> {
    landing(
        state,
        session,
        flashes,
        token,
        SignupForm::default(),
        FieldErrors::default(),
    )
    .await
}

async fn show_invitation(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    Path(token): Path<String>,
) -> Result<Response> {
    plain_landing(&state, &session, &flashes, &token).await
}

async fn accept_invitation(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
    Form(form): Form<SignupForm>,
) -> Result<Response> {
    let details = match invite::open_by_token(&state, &token).await? {
        Ok(details) => details,
        Err(_) => {
            return plain_landing(&state, &session, &flashes, &token).await;
        }
    };
    let now = state.clock.now();
    let user = CurrentUser::from_session(&state, &session).await?;
    let invited = Email::parse(&details.email).map_err(|e| AppError::Other(anyhow::anyhow!(e)))?;
    let (user_id, tx) = match user {
        Some(u) if u.email.eq_ignore_ascii_case(&details.email) => {
            let mut tx = state.db.begin().await?;
            let actor = audit::Actor {
                user_id: Some(u.id),
                email: Some(u.email.clone()),
                ip: Some(ip),
            };
            if !invite::accept(&state, &mut tx, &details, u.id, &actor, now).await? {
                drop(tx);
                return already_member(&flashes, &details.org_slug).await;
            }
            (u.id, tx)
        }
        Some(_) => {
            return plain_landing(&state, &session, &flashes, &token).await;
        }
        None => {
            if db::users::find_by_email(&state.db, &invited)
                .await?
                .is_some()
            {
                let next = format!("/invitations/{token}");
                let to = format!(
                    "/sign-in?email={}&next={}",
                    encode(invited.as_str()),
                    encode(&next)
                );
                return Ok(Redirect::to(&to).into_response());
            }
            let mut errors = FieldErrors::default();
            let name = text::single_line(&form.name, "your name", 100)
                .map_err(|m| errors.add("name", m))
                .ok();
            if let Err(m) = password::check_new(&form.password) {
                errors.add("password", m);
            } else if form.password != form.password_confirm {
                errors.add("password_confirm", "The two passwords do not match.");
            }
            let Some(name) = name.filter(|_| errors.is_empty()) else {
                let typed = SignupForm {
                    name: form.name,
                    ..Default::default()
                };
                return landing(&state, &session, &flashes, &token, typed, errors).await;
            };
            // Hashed before the transaction begins: the hash takes a while, and a
            // burst of sign-ups must not hold every pooled connection meanwhile.
            let hash = state
                .extension::<crate::auth::passwords::Passwords>()
                .hash(&form.password)
                .await?;
            let mut tx = state.db.begin().await?;
            let inserted = db::users::insert(&mut tx, &invited, &name, &hash, false, now).await;
            let user_id = match inserted {
                Ok(user_id) => user_id,
                // Another sign-up on the same link made the account first (a double
                // click, or the link opened twice): the landing page now says the link
                // was used, and this attempt leaves nothing behind.
                Err(e) if db::is_unique_violation(&e) => {
                    drop(tx);
                    return plain_landing(&state, &session, &flashes, &token).await;
                }
                Err(e) => return Err(e.into()),
            };
            let actor = audit::Actor {
                user_id: Some(user_id),
                email: Some(invited.to_string()),
                ip: Some(ip),
            };
            let event = audit::Event::new(audit::Action::UserSignedUp, &actor).target(
                "user",
                Some(user_id),
                Some(invited.normalized()),
            );
            audit::record(&mut tx, &event, now).await?;
            if !invite::accept(&state, &mut tx, &details, user_id, &actor, now).await? {
                drop(tx);
                return plain_landing(&state, &session, &flashes, &token).await;
            }
            (user_id, tx)
        }
    };
    tx.commit().await?;
    state.mailer.wake();
    if CurrentUser::from_session(&state, &session).await?.is_none() {
        session::sign_in(&session, user_id, now).await?;
    }
    flashes.add("success", format!("Welcome to {}.", details.org_name));
    Ok(Redirect::to(&format!("/orgs/{}/members", details.org_slug)).into_response())
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
    let details = match invite::open_by_token(&state, &token).await? {
        Ok(details) => details,
        Err(_) => {
            return plain_landing(&state, &session, &flashes, &token).await;
        }
    };
    let user = CurrentUser::from_session(&state, &session).await?;
    if user
        .as_ref()
        .is_some_and(|u| !u.email.eq_ignore_ascii_case(&details.email))
    {
        return plain_landing(&state, &session, &flashes, &token).await;
    }
    let actor = audit::Actor {
        user_id: user.as_ref().map(|u| u.id),
        email: Some(details.email.clone()),
        ip: Some(ip),
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    invite::decline(&mut tx, &details, &actor, now).await?;
    tx.commit().await?;
    flashes.add(
        "success",
        format!("You declined the invitation to {}.", details.org_name),
    );
    Ok(Redirect::to(&format!("/invitations/{token}")).into_response())
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
}

/// The same confirmation as a `<dialog>` that htmx swaps into the Invitations page.
#[derive(Template, WebTemplate)]
#[template(path = "partials/confirm_manage.html")]
struct ConfirmManageDialog {
    ctx: PageCtx,
    slug: String,
    from_members: bool,
    action: &'static str,
    verb: &'static str,
    targets: Vec<db::invitations::Managed>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/invitations_confirm.html")]
struct ConfirmManagePage {
    ctx: PageCtx,
    slug: String,
    from_members: bool,
    action: &'static str,
    verb: &'static str,
    targets: Vec<db::invitations::Managed>,
}

async fn manage_invitations(
    State(state): State<AppState>,
    member: OrgMember,
    axum_htmx::HxRequest(is_htmx): axum_htmx::HxRequest,
    axum_extra::extract::Form(form): axum_extra::extract::Form<ManageForm>,
) -> Result<Response> {
    let from_members = form.from == "members";
    let back = if from_members {
        format!("/orgs/{}/members", member.org.slug)
    } else {
        format!("/orgs/{}/invitations", member.org.slug)
    };
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
        return Ok(super::flash_response(
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
    let targets = db::invitations::find_many(&state.db, member.org.id, &ids).await?;
    if targets.len() != ids.iter().collect::<std::collections::HashSet<_>>().len() {
        return Err(AppError::NotFound);
    }
    let verb = match action {
        invite::Manage::Resend => "Resend",
        invite::Manage::Revoke => "Revoke",
    };
    if form.confirm.as_deref() != Some("yes") {
        let ctx = PageCtx::for_org(&member, "invitations").await?;
        let (slug, action) = (member.org.slug.clone(), action.as_str());
        return Ok(if is_htmx {
            ConfirmManageDialog {
                ctx,
                slug,
                from_members,
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
                action,
                verb,
                targets,
            }
            .into_response()
        });
    }
    let acting = member.acting();
    let links = match invite::manage(&state, &member.org, &Inviter::of(&acting), &targets, action)
        .await?
    {
        Ok(links) => links,
        Err(invite::ManageRefusal::Forbidden) => return Err(AppError::Forbidden),
        Err(refusal) => {
            let text = match refusal {
                invite::ManageRefusal::Finished(emails) => format!(
                    "Nothing was changed: these invitations are no longer open: {}.",
                    emails.join(", ")
                ),
                invite::ManageRefusal::OverLimit { room } => format!(
                    "Nothing was resent: only {room} more pending invitations fit within the organization's limit."
                ),
                invite::ManageRefusal::Forbidden => unreachable!("handled above"),
            };
            member.current.flashes.add("error", text);
            return Ok(Redirect::to(&back).into_response());
        }
    };
    let n = targets.len();
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
        invite::Manage::Resend => format!("Resent {n} {plural}. Earlier links no longer work."),
        invite::Manage::Revoke => format!("Revoked {n} {plural}."),
    };
    member.current.flashes.add("success", text);
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
    let row = db::invitations::row(&state.db, member.org.id, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let i = InvitationView::new(row, state.clock.now(), &member);
    Ok(DeliveryCell {
        slug: member.org.slug.clone(),
        i,
    })
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

/// The requests of CSV rows: the role column, or `default_role` where it is empty.
fn csv_requests(rows: &[(String, String)], default_role: Role) -> Vec<Request> {
    rows.iter()
        .map(|(email, role)| {
            let parsed = if role.is_empty() {
                Some(default_role)
            } else {
                parse_role_name(role)
            };
            Request {
                raw: email.clone(),
                role: parsed.unwrap_or(default_role),
                bad_role: parsed.is_none().then(|| role.clone()),
            }
        })
        .collect()
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

/// Reads an uploaded CSV file and shows what would happen to each row; nothing is
/// invited until the person confirms.
async fn preview_csv(
    State(state): State<AppState>,
    member: OrgMember,
    mut multipart: axum::extract::Multipart,
) -> Result<Response> {
    let settings = &member.settings;
    if permissions::invitable_roles(member.role, settings.members_may_invite).is_empty() {
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
        let form = InviteForm {
            role: Role::Member.as_str().into(),
            ..Default::default()
        };
        let page = invitations_page(
            &state,
            &member,
            Status::Pending,
            1,
            form,
            errors,
            Vec::new(),
        )
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    };
    let pairs: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.email.clone(),
                if r.role.is_empty() {
                    default_role.as_str().to_string()
                } else {
                    r.role.clone()
                },
            )
        })
        .collect();
    let now = state.clock.now();
    let import_id = db::csv_imports::insert(
        &state.db,
        member.org.id,
        member.current.user.id,
        &serde_json::to_string(&pairs).map_err(anyhow::Error::from)?,
        now,
    )
    .await?;
    let mut tx = state.db.begin().await?;
    let plan = invite::plan(
        &mut tx,
        member.org.id,
        settings,
        member.role,
        &csv_requests(&pairs, default_role),
        now,
    )
    .await?;
    drop(tx);
    let invites = plan.invites();
    let preview = rows
        .iter()
        .zip(&plan.rows)
        .map(|(row, planned)| CsvPreviewRow {
            line: row.line,
            email: row.email.clone(),
            role: if planned.outcome == Outcome::UnknownRole(row.role.clone()) {
                row.role.clone()
            } else {
                planned.role.label().to_string()
            },
            invite: planned.outcome.is_invite(),
            what: planned.outcome.describe(),
        })
        .collect::<Vec<_>>();
    let ctx = PageCtx::for_org(&member, "invitations").await?;
    Ok(CsvPreviewPage {
        ctx,
        slug: member.org.slug.clone(),
        import_id,
        file_name,
        invites,
        skipped: preview.len() - invites,
        rows: preview,
    }
    .into_response())
}

/// Invites the rows of a previewed CSV upload that may still be invited.
async fn confirm_csv(
    State(state): State<AppState>,
    member: OrgMember,
    Path((_, id)): Path<(String, i64)>,
) -> Result<Response> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let settings = db::orgs::settings_for_update(&mut tx, member.org.id).await?;
    if permissions::invitable_roles(member.role, settings.members_may_invite).is_empty() {
        return Err(AppError::Forbidden);
    }
    let rows_json = db::csv_imports::take(&mut tx, id, member.org.id, member.current.user.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let pairs: Vec<(String, String)> =
        serde_json::from_str(&rows_json).map_err(anyhow::Error::from)?;
    let plan = invite::plan(
        &mut tx,
        member.org.id,
        &settings,
        member.role,
        &csv_requests(&pairs, Role::Member),
        now,
    )
    .await?;
    let rows = plan.rows.len();
    let summary = move |created: &[invite::Created]| {
        format!(
            "{} invitations sent from the CSV file; {} rows skipped.",
            created.len(),
            rows - created.len()
        )
    };
    create_and_report(&state, &member, tx, &settings, &plan, now, summary).await
}
