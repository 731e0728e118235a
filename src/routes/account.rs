//! The signed-in person's own account: their name, their password and their API tokens.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;

use super::pages::PageCtx;
use super::tokens::{TokenView, revoke_and_flash};
use crate::accounts;
use crate::auth::{CurrentUser, session};
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
    /// Which form the errors belong to: "name", "password", "token", "recovery_codes",
    /// "two_factor_off", or "" when none failed.
    failed: &'static str,
    tokens: Vec<TokenView>,
    token_form: NewTokenForm,
    /// A token just created, whose secret is shown this once.
    created: Option<tokens::Created>,
    revoke_base: &'static str,
    two_factor: two_factor::Status,
}

impl AccountPage {
    async fn load(state: &AppState, current: &CurrentUser) -> Result<AccountPage> {
        let mut ctx = PageCtx::load(
            state,
            &current.session,
            &current.flashes,
            Some(&current.user),
        )
        .await?;
        ctx.section = "account";
        Ok(AccountPage {
            ctx,
            email: current.user.email.clone(),
            name: current.user.name.clone(),
            errors: FieldErrors::default(),
            failed: "",
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
            session::sign_in(&current.session, user.id, sessions_from).await?;
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
        let mut ctx = PageCtx::load(
            state,
            &current.session,
            &current.flashes,
            Some(&current.user),
        )
        .await?;
        ctx.section = "account";
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
        let mut ctx = PageCtx::load(
            state,
            &current.session,
            &current.flashes,
            Some(&current.user),
        )
        .await?;
        ctx.section = "account";
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
            refused => AppError::Other(anyhow::anyhow!("unexpected refusal: {refused}")),
        }
    }
}
