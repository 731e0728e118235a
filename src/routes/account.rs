//! The signed-in person's own account: their name, address, password, sessions and API
//! tokens; and the page that confirms a new address (signed in or not).

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
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
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::tokens::{self, NewTokenForm};

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
    /// Which form the errors belong to: "name", "email", "password", "token", or "" when
    /// none failed.
    failed: &'static str,
    sessions: Vec<SessionView>,
    tokens: Vec<TokenView>,
    token_form: NewTokenForm,
    /// A token just created, whose secret is shown this once.
    created: Option<tokens::Created>,
    revoke_base: &'static str,
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
