//! The instance's Users page (instance admins only): every account with its
//! organizations, status, creation and last sign-in; search and pagination; deactivate,
//! activate, delete (type the email), grant and revoke instance admin, send a password
//! reset link; and a form that creates an organization.

use std::convert::Infallible;

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::FromRequestParts;
use axum::extract::{MatchedPath, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{MethodRouter, get, post};
use axum::{Form, Router};
use axum_htmx::{HxHistoryRestoreRequest, HxRequest};
use serde::Deserialize;
use tower_http::set_header::SetResponseHeaderLayer;

use super::pages::PageCtx;
use super::password;
use crate::accounts::{self, AdminReset};
use crate::auth::{CurrentUser, InstanceAdmin, session};
use crate::clock;
use crate::domain::{FieldErrors, text};
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::users::{self, Change, NewOrgForm, Refusal};

pub const PAGE_SIZE: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/admin/users",
            get(list_users).layer(vary_by_history_restore()),
        )
        .route(
            "/admin/users/{id}/deactivate",
            confirmed(post(deactivate_user)),
        )
        .route("/admin/users/{id}/activate", post(activate_user))
        .route(
            "/admin/users/{id}/grant-admin",
            confirmed(post(grant_instance_admin)),
        )
        .route(
            "/admin/users/{id}/revoke-admin",
            confirmed(post(revoke_instance_admin)),
        )
        .route("/admin/users/{id}/delete", confirmed(post(delete_user)))
        .route(
            "/admin/users/{id}/send-password-reset",
            confirmed(post(send_password_reset)),
        )
        .route(
            "/admin/users/{id}/reset-two-factor",
            confirmed(post(reset_two_factor)),
        )
        .route("/admin/orgs", post(create_organization))
        .route("/admin/orgs/new", get(new_organization))
}

/// A change's route: GET asks to confirm it (a dialog for htmx, a page otherwise), POST
/// makes it.
fn confirmed(post: MethodRouter<AppState>) -> MethodRouter<AppState> {
    post.merge(get(confirm_change).layer(vary_by_history_restore()))
}

/// Where the list was (search and page), carried through a change so that the person
/// comes back to the same rows.
#[derive(Clone, Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

impl ListQuery {
    /// The list's address for this search and `page`.
    fn path(&self, page: i64) -> String {
        let q = self.q.trim();
        match (q.is_empty(), page > 1) {
            (true, false) => "/admin/users".into(),
            (true, true) => format!("/admin/users?page={page}"),
            (false, false) => format!("/admin/users?q={}", encode(q)),
            (false, true) => format!("/admin/users?q={}&page={page}", encode(q)),
        }
    }

    fn back(&self) -> String {
        self.path(self.page.unwrap_or(1).max(1))
    }

    /// The search and page as a query string, for a link that must come back here.
    fn query_string(&self) -> String {
        format!(
            "q={}&page={}",
            encode(self.q.trim()),
            self.page.unwrap_or(1).max(1)
        )
    }
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A moment as a table cell shows it: relative, exact on hover, machine-readable.
struct Moment {
    relative: String,
    exact: String,
    iso: String,
}

impl Moment {
    fn new(now: i64, at: i64) -> Moment {
        Moment {
            relative: clock::relative(now, at),
            exact: clock::exact(at),
            iso: clock::iso(at),
        }
    }
}

/// One organization of an account.
struct OrgView {
    name: String,
    role: &'static str,
    inactive: bool,
}

impl OrgView {
    fn new(row: users::UserOrg) -> OrgView {
        OrgView {
            role: row.role.label(),
            inactive: !row.status.is_active(),
            name: row.org_name,
        }
    }
}

/// One account as the table shows it.
struct UserView {
    id: i64,
    email: String,
    name: String,
    active: bool,
    is_admin: bool,
    /// Whether the account uses two-factor authentication.
    two_factor: bool,
    is_you: bool,
    orgs: Vec<OrgView>,
    created: Moment,
    last_sign_in: Option<Moment>,
}

/// A page of the list, with what the table and its forms need.
struct UserList {
    csrf: String,
    users: Vec<UserView>,
    total: i64,
    page: i64,
    pages: i64,
    query: ListQuery,
}

impl UserList {
    fn page_path(&self, page: i64) -> String {
        self.query.path(page)
    }
}

/// Reads one page of accounts: one query for the accounts, one for their memberships.
async fn load_list(state: &AppState, admin: &CurrentUser, query: ListQuery) -> Result<UserList> {
    let q = text::search(&query.q).map_err(AppError::BadRequest)?;
    let users::Listing {
        total,
        page,
        pages,
        rows,
        orgs: user_orgs,
    } = users::list(state, q.as_deref().unwrap_or(""), query.page, PAGE_SIZE).await?;
    let mut orgs: HashMap<i64, Vec<OrgView>> = HashMap::new();
    for row in user_orgs {
        orgs.entry(row.user_id).or_default().push(OrgView::new(row));
    }
    let now = state.clock.now();
    let users = rows
        .into_iter()
        .map(|r| UserView {
            id: r.id,
            is_you: r.id == admin.user.id,
            active: r.status.is_active(),
            is_admin: r.is_instance_admin,
            two_factor: r.two_factor_enabled_at.is_some(),
            orgs: orgs.remove(&r.id).unwrap_or_default(),
            created: Moment::new(now, r.created_at),
            last_sign_in: r.last_sign_in_at.map(|at| Moment::new(now, at)),
            email: r.email,
            name: r.name,
        })
        .collect();
    Ok(UserList {
        csrf: session::csrf_token(&admin.session).await?,
        users,
        total,
        page,
        pages,
        query: ListQuery {
            q: query.q.trim().to_string(),
            page: Some(page),
        },
    })
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_users.html")]
struct UsersPage {
    ctx: PageCtx,
    list: UserList,
}

/// The form that creates an organization, with the mistakes of the last try.
#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_org_new.html")]
struct NewOrgPage {
    ctx: PageCtx,
    org_form: NewOrgForm,
    errors: FieldErrors,
}

async fn new_organization(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
) -> Result<Response> {
    let org_form = NewOrgForm {
        org_name: String::new(),
        owner_email: admin.user.email.clone(),
    };
    Ok(NewOrgPage {
        ctx: users_ctx(&state, &admin).await?,
        org_form,
        errors: FieldErrors::default(),
    }
    .into_response())
}

/// The table alone, for htmx's search-as-you-type.
#[derive(Template, WebTemplate)]
#[template(path = "partials/users_table.html")]
struct UsersTable {
    list: UserList,
}

/// True for htmx's own requests for a fragment; its history restore wants a full page.
struct WantsFragment(bool);

/// Adds HX-History-Restore-Request to `Vary` on the answers `WantsFragment` chose:
/// axum-htmx's `Vary` layer names HX-Request for it, but not this header.
fn vary_by_history_restore() -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::appending(
        header::VARY,
        HeaderValue::from_static("HX-History-Restore-Request"),
    )
}

impl<S: Send + Sync> FromRequestParts<S> for WantsFragment {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Infallible> {
        let HxRequest(htmx) = HxRequest::from_request_parts(parts, state).await?;
        let HxHistoryRestoreRequest(restore) =
            HxHistoryRestoreRequest::from_request_parts(parts, state).await?;
        Ok(WantsFragment(htmx && !restore))
    }
}

async fn users_ctx(state: &AppState, admin: &CurrentUser) -> Result<PageCtx> {
    let mut ctx = PageCtx::load(state, &admin.session, &admin.flashes, Some(&admin.user)).await?;
    ctx.section = "users";
    Ok(ctx)
}

async fn list_users(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    WantsFragment(fragment): WantsFragment,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    let list = load_list(&state, &admin, query).await?;
    if fragment {
        return Ok(UsersTable { list }.into_response());
    }
    Ok(UsersPage {
        ctx: users_ctx(&state, &admin).await?,
        list,
    }
    .into_response())
}

/// The outcome of a change to account `id`: a flash message on the list (303), or an
/// error page when the account is gone or the actor may no longer act.
async fn report(
    admin: &CurrentUser,
    id: i64,
    back: String,
    change: Change,
    outcome: std::result::Result<users::Done, users::Error>,
) -> Result<Response> {
    let (kind, text) = match outcome {
        Err(refused @ users::Error::Refused { .. }) => ("error", refused.to_string()),
        Err(other) => return Err(other.into()),
        Ok(done) => ("success", done_message(change, &done, id == admin.user.id)),
    };
    admin.flashes.add(kind, text);
    // Revoking one's own instance admin leaves this page out of reach.
    let back = if change == Change::RevokeAdmin && id == admin.user.id && kind == "success" {
        "/".to_string()
    } else {
        back
    };
    Ok(Redirect::to(&back).into_response())
}

fn done_message(change: Change, done: &users::Done, yourself: bool) -> String {
    let email = &done.email;
    match (change, done.changed) {
        (Change::Deactivate, true) => format!(
            "Deactivated {email}: their sessions have ended and they cannot sign in. They were told by email."
        ),
        (Change::Deactivate, false) => format!("{email} was already deactivated."),
        (Change::Activate, true) => {
            format!("Activated {email}: they can sign in again. They were told by email.")
        }
        (Change::Activate, false) => format!("{email} was already active."),
        (Change::GrantAdmin, true) => format!("{email} is now an instance admin."),
        (Change::GrantAdmin, false) => format!("{email} was already an instance admin."),
        (Change::RevokeAdmin, true) if yourself => "You are no longer an instance admin.".into(),
        (Change::RevokeAdmin, true) => format!("{email} is no longer an instance admin."),
        (Change::RevokeAdmin, false) => format!("{email} was not an instance admin."),
        (Change::Delete, _) => format!("Deleted the account of {email}."),
        (Change::ResetTwoFactor, true) => format!(
            "Reset the two-factor authentication of {email}: they sign in with their password alone until they set it up again. They were told by email."
        ),
        (Change::ResetTwoFactor, false) => {
            format!("{email} does not use two-factor authentication.")
        }
        (Change::SendPasswordReset, _) => format!("Sent a password reset link to {email}."),
    }
}

async fn deactivate_user(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    Path(id): Path<i64>,
    Form(back): Form<ListQuery>,
) -> Result<Response> {
    let outcome = users::set_status(&state, &admin.person(), id, false).await;
    report(&admin, id, back.back(), Change::Deactivate, outcome).await
}

async fn activate_user(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    Path(id): Path<i64>,
    Form(back): Form<ListQuery>,
) -> Result<Response> {
    let outcome = users::set_status(&state, &admin.person(), id, true).await;
    report(&admin, id, back.back(), Change::Activate, outcome).await
}

async fn reset_two_factor(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    Path(id): Path<i64>,
    Form(back): Form<ListQuery>,
) -> Result<Response> {
    let outcome = users::reset_two_factor(&state, &admin.person(), id).await;
    report(&admin, id, back.back(), Change::ResetTwoFactor, outcome).await
}

async fn grant_instance_admin(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    Path(id): Path<i64>,
    Form(back): Form<ListQuery>,
) -> Result<Response> {
    let outcome = users::set_instance_admin(&state, &admin.person(), id, true).await;
    report(&admin, id, back.back(), Change::GrantAdmin, outcome).await
}

async fn revoke_instance_admin(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    Path(id): Path<i64>,
    Form(back): Form<ListQuery>,
) -> Result<Response> {
    let outcome = users::set_instance_admin(&state, &admin.person(), id, false).await;
    report(&admin, id, back.back(), Change::RevokeAdmin, outcome).await
}

/// A change's confirmation: what it will do to the account (or why it cannot be made),
/// and the form that makes it; in a dialog or on a page.
struct ConfirmView {
    change: Change,
    csrf: String,
    id: i64,
    email: String,
    name: String,
    orgs: Vec<OrgView>,
    sends_email: bool,
    yourself: bool,
    refusal: Option<String>,
    typed: String,
    errors: FieldErrors,
    query: ListQuery,
}

impl ConfirmView {
    fn new(
        change: Change,
        csrf: String,
        target: users::Target,
        yourself: bool,
        query: ListQuery,
    ) -> ConfirmView {
        let refusal = target
            .refusal
            .as_ref()
            .map(|r| r.message(change, &target.email));
        ConfirmView {
            change,
            csrf,
            id: target.id,
            orgs: target.orgs.into_iter().map(OrgView::new).collect(),
            sends_email: target.sends_email,
            yourself,
            refusal,
            email: target.email,
            name: target.name,
            typed: String::new(),
            errors: FieldErrors::default(),
            query,
        }
    }

    /// Where the form posts: the change's own address.
    fn action(&self) -> String {
        format!("/admin/users/{}/{}", self.id, change_segment(self.change))
    }

    /// The dialog's or page's heading: the question, or what cannot be done.
    fn title(&self) -> String {
        let email = &self.email;
        let refused = self.refusal.is_some();
        match self.change {
            Change::Delete if refused => format!("The account of {email} cannot be deleted"),
            Change::Delete => format!("Delete the account of {email}?"),
            Change::Deactivate if refused => format!("{email} cannot be deactivated"),
            Change::Deactivate => format!("Deactivate {email}?"),
            Change::Activate => format!("Activate {email}?"),
            Change::GrantAdmin => format!("Make {email} an instance admin?"),
            Change::RevokeAdmin if refused => format!("{email} stays an instance admin"),
            Change::RevokeAdmin if self.yourself => "Stop being an instance admin?".into(),
            Change::RevokeAdmin => format!("Revoke instance admin from {email}?"),
            Change::SendPasswordReset if refused => format!("No password reset for {email}"),
            Change::SendPasswordReset => format!("Send a password reset link to {email}?"),
            Change::ResetTwoFactor => {
                format!("Reset the two-factor authentication of {email}?")
            }
        }
    }

    /// The confirming button's words.
    fn button(&self) -> &'static str {
        match self.change {
            Change::Delete => "Delete account",
            Change::Deactivate => "Deactivate account",
            Change::Activate => "Activate account",
            Change::GrantAdmin => "Make instance admin",
            Change::RevokeAdmin => "Revoke instance admin",
            Change::SendPasswordReset if self.sends_email => "Send reset link",
            Change::SendPasswordReset => "Show reset link",
            Change::ResetTwoFactor => "Reset two-factor",
        }
    }

    /// Whether the change takes something away at once (a red button).
    fn danger(&self) -> bool {
        matches!(
            self.change,
            Change::Delete | Change::Deactivate | Change::RevokeAdmin | Change::ResetTwoFactor
        )
    }
}

/// A change's last path segment, as its routes and forms name it.
fn change_segment(change: Change) -> &'static str {
    match change {
        Change::Deactivate => "deactivate",
        Change::Activate => "activate",
        Change::GrantAdmin => "grant-admin",
        Change::RevokeAdmin => "revoke-admin",
        Change::Delete => "delete",
        Change::ResetTwoFactor => "reset-two-factor",
        Change::SendPasswordReset => "send-password-reset",
    }
}

/// The confirmation as a `<dialog>` that htmx swaps into the Users page.
#[derive(Template, WebTemplate)]
#[template(path = "partials/user_confirm_dialog.html")]
struct UserConfirmDialog {
    d: ConfirmView,
}

/// The confirmation as a page of its own (without JavaScript).
#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_user_confirm.html")]
struct UserConfirmPage {
    ctx: PageCtx,
    d: ConfirmView,
}

async fn confirmation(
    state: &AppState,
    admin: &CurrentUser,
    (id, change): (i64, Change),
    query: ListQuery,
    fragment: bool,
    fill: impl FnOnce(&mut ConfirmView),
) -> Result<Response> {
    let target = users::assess(state, &admin.person(), id, change).await?;
    let csrf = session::csrf_token(&admin.session).await?;
    let mut d = ConfirmView::new(change, csrf, target, id == admin.user.id, query);
    fill(&mut d);
    if fragment {
        return Ok(UserConfirmDialog { d }.into_response());
    }
    let ctx = users_ctx(state, admin).await?;
    Ok(UserConfirmPage { ctx, d }.into_response())
}

/// GET on a change's address: its confirmation. The change is named by the route's
/// last segment, so every change that asks first shares this one handler.
async fn confirm_change(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    Path(id): Path<i64>,
    matched: MatchedPath,
    WantsFragment(fragment): WantsFragment,
    Query(query): Query<ListQuery>,
) -> Result<Response> {
    let segment = matched.as_str().rsplit('/').next().unwrap_or_default();
    let change = CONFIRMED
        .into_iter()
        .find(|c| change_segment(*c) == segment)
        .ok_or(AppError::NotFound)?;
    confirmation(&state, &admin, (id, change), query, fragment, |_| {}).await
}

/// The changes that ask to be confirmed first; activating gives back and needs not.
const CONFIRMED: [Change; 6] = [
    Change::Deactivate,
    Change::GrantAdmin,
    Change::RevokeAdmin,
    Change::SendPasswordReset,
    Change::ResetTwoFactor,
    Change::Delete,
];

/// The delete form: the email typed to confirm, and where the list was.
#[derive(Debug, Default, Deserialize)]
struct DeleteForm {
    #[serde(default)]
    confirm_email: String,
    #[serde(default)]
    q: String,
    page: Option<i64>,
}

async fn delete_user(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    Path(id): Path<i64>,
    WantsFragment(fragment): WantsFragment,
    Form(form): Form<DeleteForm>,
) -> Result<Response> {
    let query = ListQuery {
        q: form.q,
        page: form.page,
    };
    let outcome = users::delete(&state, &admin.person(), id, &form.confirm_email).await;
    if let Err(
        mismatch @ users::Error::Refused {
            refusal: Refusal::Mismatch,
            ..
        },
    ) = outcome
    {
        let typed = form.confirm_email;
        let page = confirmation(&state, &admin, (id, Change::Delete), query, fragment, |d| {
            d.errors.add("confirm_email", mismatch.to_string());
            d.typed = typed;
        })
        .await?;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
    }
    report(&admin, id, query.back(), Change::Delete, outcome).await
}

async fn create_organization(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    Form(form): Form<NewOrgForm>,
) -> Result<Response> {
    let errors = match form.parse() {
        Ok(new) => match users::create_org(&state, &admin.person(), &new).await {
            Ok(created) => {
                let (text, to) = if created.owner_id == admin.user.id {
                    (
                        format!("Created {}. You are its Owner.", created.org.name),
                        format!("/orgs/{}/members", created.org.slug),
                    )
                } else {
                    (
                        format!(
                            "Created {} with {} as its Owner.",
                            created.org.name, created.owner_email
                        ),
                        "/admin/users".to_string(),
                    )
                };
                admin.flashes.add("success", text);
                return Ok(Redirect::to(&to).into_response());
            }
            Err(users::Error::Fields(errors)) => errors,
            Err(other) => return Err(other.into()),
        },
        Err(errors) => errors,
    };
    let page = NewOrgPage {
        ctx: users_ctx(&state, &admin).await?,
        org_form: form,
        errors,
    };
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// The page that shows an admin a password reset link once, when Roster sends no email.
#[derive(Template, WebTemplate)]
#[template(path = "pages/admin_reset_link.html")]
struct ResetLinkPage {
    ctx: PageCtx,
    email: String,
    link: String,
    back: String,
}

async fn send_password_reset(
    State(state): State<AppState>,
    InstanceAdmin(admin): InstanceAdmin,
    Path(id): Path<i64>,
    Form(back): Form<ListQuery>,
) -> Result<Response> {
    match accounts::reset_link_by_admin(&state, &admin.person(), id).await {
        Ok(AdminReset::Emailed { email }) => {
            admin.flashes.add(
                "success",
                format!(
                    "Sent a password reset link to {email}. It works for one hour; their password stays as it is until they use it."
                ),
            );
        }
        Ok(AdminReset::Shown { email, link }) => {
            let page = ResetLinkPage {
                ctx: users_ctx(&state, &admin).await?,
                email,
                link,
                back: back.back(),
            };
            return Ok(page.into_response());
        }
        Err(refused @ accounts::ResetError::Deactivated(_)) => {
            admin.flashes.add("error", refused.to_string());
        }
        Err(other) => return Err(password::reset_refusal(other)),
    }
    Ok(Redirect::to(&back.back()).into_response())
}

/// The pages' answer to what they do not show on the list or a form.
impl From<users::Error> for AppError {
    fn from(err: users::Error) -> AppError {
        match err {
            users::Error::NotFound => AppError::NotFound,
            users::Error::NotAdmin => AppError::Forbidden,
            users::Error::Internal(e) => AppError::Other(e),
            other => AppError::Other(anyhow::anyhow!("unanswered refusal: {other}")),
        }
    }
}
