//! "Forgot your password?": asking for a reset link, and the page the link opens, which
//! sets a new password and signs this browser in.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::pages::PageCtx;
use crate::accounts::{self, NewPassword, ResetError};
use crate::auth::flash::Flashes;
use crate::auth::{ClientIp, session};
use crate::domain::{Email, FieldErrors};
use crate::error::{AppError, Result};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/password/forgot",
            get(show_forgot_password).post(forgot_password),
        )
        .route(
            "/password/reset/{token}",
            get(show_reset_password).post(reset_password),
        )
}

/// The one answer to every request for a link, whatever the address.
pub const LINK_SENT: &str =
    "If an account uses that address, we sent a link to it. It works for one hour.";

#[derive(Template, WebTemplate)]
#[template(path = "pages/password_forgot.html")]
struct ForgotPasswordPage {
    ctx: PageCtx,
    email: String,
    errors: FieldErrors,
    /// Whether a request was just answered (`LINK_SENT`).
    sent: bool,
    /// Whether Roster sends email at all.
    email_enabled: bool,
    link_sent: &'static str,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/password_reset.html")]
struct ResetPasswordPage {
    ctx: PageCtx,
    token: String,
    email: String,
    errors: FieldErrors,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/password_link_unusable.html")]
struct LinkUnusablePage {
    ctx: PageCtx,
}

#[derive(Deserialize)]
struct ForgotQuery {
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// The reset form as typed. It is never shown back.
#[derive(Deserialize)]
struct ResetForm {
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

async fn forgot_page(
    state: &AppState,
    session: &Session,
    flashes: &Flashes,
    email: String,
    errors: FieldErrors,
    sent: bool,
) -> Result<ForgotPasswordPage> {
    Ok(ForgotPasswordPage {
        ctx: PageCtx::load(state, session, flashes, None).await?,
        email,
        errors,
        sent,
        email_enabled: state.mailer.is_enabled(),
        link_sent: LINK_SENT,
    })
}

async fn show_forgot_password(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    Query(q): Query<ForgotQuery>,
) -> Result<Response> {
    // Only an address that reads as one is shown back in the field.
    let email = Email::parse(&q.email)
        .map(|e| e.to_string())
        .unwrap_or_default();
    let page = forgot_page(
        &state,
        &session,
        &flashes,
        email,
        FieldErrors::default(),
        false,
    );
    Ok(page.await?.into_response())
}

async fn forgot_password(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    ClientIp(ip): ClientIp,
    Form(form): Form<ForgotForm>,
) -> Result<Response> {
    let email = match Email::parse(&form.email) {
        Ok(email) => email,
        Err(message) => {
            let mut errors = FieldErrors::default();
            errors.add("email", message);
            let typed = form.email.trim().chars().take(254).collect();
            let page = forgot_page(&state, &session, &flashes, typed, errors, false).await?;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    accounts::request_password_reset(&state, &email, &ip)
        .await
        .map_err(reset_refusal)?;
    // The same page for every address: nothing typed is shown back.
    let page = forgot_page(
        &state,
        &session,
        &flashes,
        String::new(),
        FieldErrors::default(),
        true,
    );
    Ok(page.await?.into_response())
}

/// The page of a link that no longer works (410).
async fn link_unusable(state: &AppState, session: &Session, flashes: &Flashes) -> Result<Response> {
    let ctx = PageCtx::load(state, session, flashes, None).await?;
    Ok((StatusCode::GONE, LinkUnusablePage { ctx }).into_response())
}

async fn show_reset_password(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    Path(token): Path<String>,
) -> Result<Response> {
    match accounts::check_reset_token(&state, &token).await {
        Ok(target) => {
            let ctx = PageCtx::load(&state, &session, &flashes, None).await?;
            Ok(ResetPasswordPage {
                ctx,
                token,
                email: target.email,
                errors: FieldErrors::default(),
            }
            .into_response())
        }
        Err(ResetError::LinkUnusable) => link_unusable(&state, &session, &flashes).await,
        Err(other) => Err(reset_refusal(other)),
    }
}

async fn reset_password(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    client: session::Client,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> Result<Response> {
    let typed = NewPassword {
        new: form.new_password,
        confirm: form.new_password_confirm,
    };
    match accounts::reset_password(&state, &token, &typed, &client.ip).await {
        // A second factor is still asked for: the link stands in for the password only.
        Ok(signed_in) if signed_in.user.two_factor_enabled_at.is_some() => {
            flashes.add(
                "success",
                "Your password was changed and every session of your account was signed out. Sign in with it and your authentication code.",
            );
            Ok(Redirect::to("/sign-in").into_response())
        }
        Ok(signed_in) => {
            session::sign_in(
                &state,
                &session,
                signed_in.user.id,
                signed_in.session_epoch,
                &client,
            )
            .await?;
            flashes.add(
                "success",
                "Your password was changed and you are signed in. Every other session of your account was signed out.",
            );
            Ok(Redirect::to("/").into_response())
        }
        Err(ResetError::Invalid(errors)) => {
            let target = match accounts::check_reset_token(&state, &token).await {
                Ok(target) => target,
                Err(ResetError::LinkUnusable) => {
                    return link_unusable(&state, &session, &flashes).await;
                }
                Err(other) => return Err(reset_refusal(other)),
            };
            let ctx = PageCtx::load(&state, &session, &flashes, None).await?;
            let page = ResetPasswordPage {
                ctx,
                token,
                email: target.email,
                errors,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
        }
        Err(ResetError::LinkUnusable) => link_unusable(&state, &session, &flashes).await,
        Err(other) => Err(reset_refusal(other)),
    }
}

/// The pages' answer to a reset refusal they do not show on a form or a page of its own.
pub fn reset_refusal(err: ResetError) -> AppError {
    match err {
        ResetError::NotFound => AppError::NotFound,
        ResetError::NotAdmin => AppError::Forbidden,
        ResetError::Internal(e) => AppError::Other(e),
        other => AppError::Other(anyhow::anyhow!("unexpected refusal: {other}")),
    }
}
