//! The signed-in person's own account: their name, their password and their API tokens.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, State};
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
use crate::error::{AppError, Result};
use crate::state::AppState;
use crate::tokens::{self, NewTokenForm};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show_account))
        .route("/account/name", post(change_name))
        .route("/account/password", post(change_password))
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
    /// Which form the errors belong to: "name", "password", "token", or "" when none failed.
    failed: &'static str,
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
