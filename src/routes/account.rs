//! The signed-in person's own account: their name, address, password, sessions and API
//! tokens; and the page that confirms a new address (signed in or not).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::pages::PageCtx;
use super::tokens::{TokenView, When, revoke_and_flash};
use crate::accounts;
use crate::auth::flash::Flashes;
use crate::auth::{ClientIp, CurrentUser, session};
use crate::domain::FieldErrors;
use crate::domain::LocalPath;
use crate::domain::two_factor::TotpSecret;
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::tokens::{self, NewTokenForm};
use crate::two_factor;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show_account))
        .route("/account/name", post(change_name))
        .route("/account/password", post(change_password))
        .route("/account/email", post(request_email_change))
        .route(
            "/account/email/confirm/{token}",
            get(show_email_confirm).post(confirm_email_change),
        )
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/sessions/end-others", post(end_other_sessions))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route(
            "/account/two-factor",
            get(show_two_factor_setup).post(enable_two_factor),
        )
        .route(
            "/account/two-factor/recovery-codes",
            post(regenerate_recovery_codes),
        )
        .route("/account/two-factor/disable", post(disable_two_factor))
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/account.html")]
struct AccountPage {
    ctx: PageCtx,
    email: String,
    /// What the name field shows: the stored name, or what was typed when it failed.
    name: String,
    errors: FieldErrors,
    /// What the new-address field shows: what was typed when the request failed.
    new_email: String,
    /// Which form the errors belong to: "name", "email", "password", "token",
    /// "recovery_codes", "two_factor_off", or "" when none failed.
    failed: &'static str,
    sessions: Vec<SessionView>,
    tokens: Vec<TokenView>,
    token_form: NewTokenForm,
    /// A token just created, whose secret is shown this once.
    created: Option<tokens::Created>,
    revoke_base: &'static str,
    two_factor: two_factor::Status,
    /// False for an account made by signing in with an identity provider: it has no
    /// password to change or to confirm with.
    has_password: bool,
}

impl AccountPage {
    async fn load(state: &AppState, current: &CurrentUser) -> Result<AccountPage> {
        let ctx = PageCtx::for_user(state, current, "account").await?;
        Ok(AccountPage {
            ctx,
            has_password: !current.user.password_hash.is_empty(),
            email: current.user.email.clone(),
            name: current.user.name.clone(),
            errors: FieldErrors::default(),
            new_email: String::new(),
            failed: "",
            sessions: accounts::sessions_of(
                state,
                &current.user,
                current_session(current).as_deref(),
            )
            .await?
            .into_iter()
            .map(|s| SessionView::new(s, state.clock.now()))
            .collect(),
            tokens: tokens::of_user(state, current.user.id)
                .await?
                .into_iter()
                .map(|t| TokenView::new(t, state.clock.now()))
                .collect(),
            token_form: NewTokenForm {
                expires: "90".into(),
                ..Default::default()
            },
            created: None,
            revoke_base: "/account/tokens",
            two_factor: two_factor::status(state, &current.user).await?,
        })
    }

    /// The page again with the messages of the form that failed (422).
    fn refused(mut self, failed: &'static str, errors: FieldErrors) -> Response {
        self.failed = failed;
        self.errors = errors;
        (StatusCode::UNPROCESSABLE_ENTITY, self).into_response()
    }
}

/// One session of the account as the page lists it.
struct SessionView {
    id: String,
    browser: String,
    ip: String,
    signed_in: When,
    last_seen: When,
    current: bool,
}

impl SessionView {
    fn new(s: accounts::AccountSession, now: i64) -> SessionView {
        SessionView {
            id: s.id,
            browser: s.browser,
            ip: s.ip,
            signed_in: When::new(now, s.signed_in_at),
            last_seen: When::new(now, s.last_seen_at),
            current: s.current,
        }
    }
}

/// The id of the request's session, as the account's sessions name it.
fn current_session(current: &CurrentUser) -> Option<String> {
    current.session.id().map(|id| id.to_string())
}

/// The new-address form as typed. The password is never shown back.
#[derive(Default, Deserialize)]
struct EmailForm {
    #[serde(default)]
    new_email: String,
    #[serde(default)]
    email_password: String,
}

/// The page a confirmation link opens: the change it stands for, and a button.
#[derive(Template, WebTemplate)]
#[template(path = "pages/email_confirm.html")]
struct EmailConfirmPage {
    ctx: PageCtx,
    token: String,
    /// The new address, when the link still works.
    new_email: Option<String>,
}

/// The name form as typed.
#[derive(Debug, Default, Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

/// The password form as typed. It is never shown back.
#[derive(Default, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

impl PasswordForm {
    fn change(&self) -> accounts::PasswordChange {
        accounts::PasswordChange {
            current: self.current_password.clone(),
            new: self.new_password.clone(),
            confirm: self.new_password_confirm.clone(),
        }
    }
}

async fn show_account(State(state): State<AppState>, current: CurrentUser) -> Result<AccountPage> {
    AccountPage::load(&state, &current).await
}

async fn change_name(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<NameForm>,
) -> Result<Response> {
    let name = match accounts::parse_name(&form.name) {
        Ok(name) => name,
        Err(errors) => {
            let mut page = AccountPage::load(&state, &current).await?;
            page.name = form.name;
            return Ok(page.refused("name", errors));
        }
    };
    let changed = accounts::change_name(&state, &current.user, &current.ip, &name).await?;
    let message = if changed {
        "Name saved."
    } else {
        "Nothing to save: your name is unchanged."
    };
    current.flashes.add("success", message);
    Ok(Redirect::to("/account").into_response())
}

async fn change_password(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<PasswordForm>,
) -> Result<Response> {
    let user = &current.user;
    match accounts::change_password(&state, user, &current.ip, &form.change()).await {
        Ok(sessions_from) => {
            session::sign_in(
                &state,
                &current.session,
                user.id,
                sessions_from,
                &current.client(),
            )
            .await?;
            current.flashes.add(
                "success",
                "Password changed. Every other session of your account was signed out.",
            );
            Ok(Redirect::to("/account").into_response())
        }
        Err(accounts::Error::Invalid(errors)) => {
            let page = AccountPage::load(&state, &current).await?;
            Ok(page.refused("password", errors))
        }
        Err(other) => Err(other.into()),
    }
}

async fn request_email_change(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<EmailForm>,
) -> Result<Response> {
    match accounts::request_email_change(
        &state,
        &current.user,
        &form.new_email,
        &form.email_password,
    )
    .await
    {
        Ok(()) => {
            current.flashes.add(
                "success",
                format!(
                    "We sent a link to {} to confirm it. Your address changes once you open it.",
                    form.new_email.trim()
                ),
            );
            Ok(Redirect::to("/account").into_response())
        }
        Err(accounts::Error::Invalid(errors)) => {
            let mut page = AccountPage::load(&state, &current).await?;
            page.new_email = form.new_email;
            Ok(page.refused("email", errors))
        }
        Err(other) => Err(other.into()),
    }
}

async fn show_email_confirm(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    Path(token): Path<String>,
) -> Result<Response> {
    let user = CurrentUser::from_session(&state, &session).await?;
    let ctx = PageCtx::load(&state, &session, &flashes, user.as_ref()).await?;
    match accounts::email_change_link(&state, &token).await {
        Ok(link) => Ok(EmailConfirmPage {
            ctx,
            token,
            new_email: Some(link.new_email),
        }
        .into_response()),
        Err(accounts::Error::LinkInvalid) => Ok((
            StatusCode::NOT_FOUND,
            EmailConfirmPage {
                ctx,
                token: String::new(),
                new_email: None,
            },
        )
            .into_response()),
        Err(other) => Err(other.into()),
    }
}

async fn confirm_email_change(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    ClientIp(ip): ClientIp,
    Path(token): Path<String>,
) -> Result<Response> {
    let signed_in = CurrentUser::from_session(&state, &session).await?;
    match accounts::confirm_email_change(&state, &token, &ip).await {
        Ok((user_id, new_email)) => {
            flashes.add(
                "success",
                format!("Your address is now {new_email}. Sign in with it from now on."),
            );
            // The browser stays as it was: signed in as the same account, as another
            // one, or not at all.
            let to = match signed_in {
                Some(u) if u.id == user_id => "/account".to_string(),
                Some(_) => "/".to_string(),
                None => format!(
                    "/sign-in?email={}",
                    url::form_urlencoded::byte_serialize(new_email.as_bytes()).collect::<String>()
                ),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(accounts::Error::LinkInvalid) => {
            let ctx = PageCtx::load(&state, &session, &flashes, signed_in.as_ref()).await?;
            let page = EmailConfirmPage {
                ctx,
                token: String::new(),
                new_email: None,
            };
            Ok((StatusCode::NOT_FOUND, page).into_response())
        }
        Err(accounts::Error::AddressTaken) => {
            flashes.add(
                "error",
                "Your address was not changed: another account uses that address now.",
            );
            let to = if signed_in.is_some() {
                "/account"
            } else {
                "/sign-in"
            };
            Ok(Redirect::to(to).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn end_session(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response> {
    let this = current_session(&current);
    accounts::end_session(&state, &current.user, &current.ip, this.as_deref(), &id).await?;
    current
        .flashes
        .add("success", "That session was signed out.");
    Ok(Redirect::to("/account").into_response())
}

async fn end_other_sessions(
    State(state): State<AppState>,
    current: CurrentUser,
) -> Result<Response> {
    let Some(this) = current_session(&current) else {
        return Ok(Redirect::to("/account").into_response());
    };
    let ended = accounts::end_other_sessions(&state, &current.user, &current.ip, &this).await?;
    let message = match ended {
        0 => "You had no other sessions.".to_string(),
        1 => "Your other session was signed out.".to_string(),
        n => format!("Your {n} other sessions were signed out."),
    };
    current.flashes.add("success", message);
    Ok(Redirect::to("/account").into_response())
}

async fn create_token(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<NewTokenForm>,
) -> Result<Response> {
    match tokens::create(&state, &current.person(), &form).await {
        Ok(created) => {
            let mut page = AccountPage::load(&state, &current).await?;
            page.created = Some(created);
            // The secret is in this response only: no cache may keep it.
            Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
        }
        Err(tokens::Error::Fields(errors)) => {
            let mut page = AccountPage::load(&state, &current).await?;
            page.token_form = form;
            Ok(page.refused("token", errors))
        }
        Err(other) => Err(other.into()),
    }
}

async fn revoke_token(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<i64>,
) -> Result<Response> {
    revoke_and_flash(&state, &current, id, None).await?;
    Ok(Redirect::to("/account").into_response())
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/two_factor_setup.html")]
struct TwoFactorSetupPage {
    ctx: PageCtx,
    /// The QR code, as inline SVG.
    qr_svg: String,
    /// The secret, in groups, to type by hand.
    secret: String,
    /// Where to go once it is on (a local path, or empty).
    next: String,
    errors: FieldErrors,
}

impl TwoFactorSetupPage {
    async fn load(
        state: &AppState,
        current: &CurrentUser,
        next: &str,
    ) -> Result<TwoFactorSetupPage> {
        let ctx = PageCtx::for_user(state, current, "account").await?;
        let stored =
            session::two_factor_setup(&current.session, || TotpSecret::generate().base32()).await?;
        let secret = match TotpSecret::from_base32(&stored) {
            Some(secret) => secret,
            None => {
                session::end_two_factor_setup(&current.session).await?;
                return Err(AppError::Other(anyhow::anyhow!(
                    "a pending two-factor secret could not be read"
                )));
            }
        };
        Ok(TwoFactorSetupPage {
            ctx,
            qr_svg: secret.qr_svg(&current.user.email),
            secret: secret.grouped(),
            next: local_next(next),
            errors: FieldErrors::default(),
        })
    }
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/recovery_codes.html")]
struct RecoveryCodesPage {
    ctx: PageCtx,
    codes: Vec<String>,
    /// Where to go on from here.
    next: String,
}

impl RecoveryCodesPage {
    /// The codes, shown this once: no cache may keep them.
    async fn show(
        state: &AppState,
        current: &CurrentUser,
        codes: Vec<String>,
        next: &str,
    ) -> Result<Response> {
        let ctx = PageCtx::for_user(state, current, "account").await?;
        let next =
            LocalPath::parse(next).map_or_else(|| "/account".into(), |p| p.as_str().to_string());
        let page = RecoveryCodesPage { ctx, codes, next };
        Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
    }
}

/// The `next` a form carries on: a local path, or nothing.
fn local_next(next: &str) -> String {
    LocalPath::parse(next)
        .map(|path| path.as_str().to_string())
        .unwrap_or_default()
}

#[derive(Debug, Default, Deserialize)]
struct SetupQuery {
    #[serde(default)]
    next: String,
}

#[derive(Default, Deserialize)]
struct EnableForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

#[derive(Default, Deserialize)]
struct ConfirmForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    code: String,
}

async fn show_two_factor_setup(
    State(state): State<AppState>,
    current: CurrentUser,
    Query(q): Query<SetupQuery>,
) -> Result<Response> {
    if current.user.has_two_factor() {
        current
            .flashes
            .add("success", "Two-factor authentication is already on.");
        return Ok(Redirect::to("/account").into_response());
    }
    let page = TwoFactorSetupPage::load(&state, &current, &q.next).await?;
    // The page carries the secret: no cache may keep it.
    Ok(([(header::CACHE_CONTROL, "no-store")], page).into_response())
}

async fn enable_two_factor(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<EnableForm>,
) -> Result<Response> {
    let secret = session::pending_two_factor_setup(&current.session)
        .await?
        .and_then(|s| TotpSecret::from_base32(&s));
    let Some(secret) = secret else {
        current.flashes.add(
            "error",
            "That set-up was not started in this session. Scan the new code below.",
        );
        return Ok(Redirect::to("/account/two-factor").into_response());
    };
    match two_factor::enable(&state, &current.user, &current.ip, &secret, &form.code).await {
        Ok(codes) => {
            session::end_two_factor_setup(&current.session).await?;
            current
                .flashes
                .add("success", "Two-factor authentication is on.");
            RecoveryCodesPage::show(&state, &current, codes, &form.next).await
        }
        Err(two_factor::Error::Invalid(errors)) => {
            let mut page = TwoFactorSetupPage::load(&state, &current, &form.next).await?;
            page.errors = errors;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                [(header::CACHE_CONTROL, "no-store")],
                page,
            )
                .into_response())
        }
        Err(two_factor::Error::AlreadyOn) => {
            session::end_two_factor_setup(&current.session).await?;
            current
                .flashes
                .add("success", "Two-factor authentication is already on.");
            Ok(Redirect::to("/account").into_response())
        }
        Err(other) => Err(other.into()),
    }
}

async fn regenerate_recovery_codes(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<ConfirmForm>,
) -> Result<Response> {
    match two_factor::regenerate_recovery_codes(&state, &current.user, &current.ip, &form.password)
        .await
    {
        Ok(codes) => {
            current.flashes.add(
                "success",
                "New recovery codes made. The old ones no longer work.",
            );
            RecoveryCodesPage::show(&state, &current, codes, "/account").await
        }
        Err(two_factor::Error::Invalid(errors)) => {
            let page = AccountPage::load(&state, &current).await?;
            Ok(page.refused("recovery_codes", errors))
        }
        Err(two_factor::Error::NotOn) => Ok(Redirect::to("/account").into_response()),
        Err(other) => Err(other.into()),
    }
}

async fn disable_two_factor(
    State(state): State<AppState>,
    current: CurrentUser,
    Form(form): Form<ConfirmForm>,
) -> Result<Response> {
    match two_factor::disable(
        &state,
        &current.user,
        &current.ip,
        &form.password,
        &form.code,
    )
    .await
    {
        Ok(()) => {
            current
                .flashes
                .add("success", "Two-factor authentication is off.");
            Ok(Redirect::to("/account").into_response())
        }
        Err(two_factor::Error::Invalid(errors)) => {
            let page = AccountPage::load(&state, &current).await?;
            Ok(page.refused("two_factor_off", errors))
        }
        Err(two_factor::Error::NotOn) => Ok(Redirect::to("/account").into_response()),
        Err(other) => Err(other.into()),
    }
}

/// The pages' answer to a second-factor refusal they do not show on a form.
impl From<two_factor::Error> for AppError {
    fn from(err: two_factor::Error) -> AppError {
        match err {
            two_factor::Error::Internal(e) => AppError::Other(e),
            refused => AppError::Other(anyhow::anyhow!("unexpected refusal: {refused}")),
        }
    }
}

/// The pages' answer to a token refusal they do not show on a form.
impl From<tokens::Error> for AppError {
    fn from(err: tokens::Error) -> AppError {
        match err {
            tokens::Error::NotFound => AppError::NotFound,
            tokens::Error::Internal(e) => AppError::Other(e),
            refused => AppError::Other(anyhow::anyhow!("unexpected refusal: {refused}")),
        }
    }
}

/// The pages' answer to a refusal they do not show on a form: none is expected, so any
/// is an error.
impl From<accounts::Error> for AppError {
    fn from(err: accounts::Error) -> AppError {
        match err {
            accounts::Error::Internal(e) => AppError::Other(e),
            accounts::Error::NotFound => AppError::NotFound,
            refused => AppError::Other(anyhow::anyhow!("unexpected refusal: {refused}")),
        }
    }
}
