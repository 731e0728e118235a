//! The first-run set-up page: reachable only with the one-time token from the log, and
//! only while no account exists.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::pages::PageCtx;
use crate::auth::flash::Flashes;
use crate::auth::session;
use crate::domain::{FieldErrors, token};
use crate::error::{AppError, Result};
use crate::first_run::{self, FirstAccountForm, SetupError};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/setup", get(show_setup).post(submit_setup))
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/setup.html")]
struct SetupPage {
    ctx: PageCtx,
    token: String,
    form: FirstAccountForm,
    errors: FieldErrors,
}

#[derive(Deserialize)]
struct TokenQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize)]
struct SetupForm {
    #[serde(default)]
    token: String,
    #[serde(flatten)]
    account: FirstAccountForm,
}

/// What someone who opened the page without its token (or with a stale one) should do.
const SETUP_LINK: &str = "This page needs its one-time token. Open the set-up link printed in Roster’s log when it started (a line with “/setup?token=”); if Roster has been restarted since, use the newest one.";

/// Refuses unless Roster has no account yet (404) and the token is one it issued (403).
async fn check_open(state: &AppState, token: &str) -> Result<()> {
    match first_run::link_state(state, token).await? {
        first_run::LinkState::Open => Ok(()),
        first_run::LinkState::AlreadySetUp => Err(AppError::NotFound),
        first_run::LinkState::NotIssued => Err(AppError::Refused(SETUP_LINK.into())),
    }
}

async fn show_setup(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    Query(q): Query<TokenQuery>,
) -> Result<Response> {
    check_open(&state, &q.token).await?;
    let ctx = PageCtx::load(&state, &session, &flashes, None).await?;
    Ok(SetupPage {
        ctx,
        token: q.token,
        form: FirstAccountForm::default(),
        errors: FieldErrors::default(),
    }
    .into_response())
}

async fn submit_setup(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    client: session::Client,
    Form(form): Form<SetupForm>,
) -> Result<Response> {
    check_open(&state, &form.token).await?;
    let account = match form.account.parse() {
        Ok(account) => account,
        Err(errors) => {
            let ctx = PageCtx::load(&state, &session, &flashes, None).await?;
            let typed = FirstAccountForm {
                password: String::new(),
                password_confirm: String::new(),
                ..form.account
            };
            let page = SetupPage {
                ctx,
                token: form.token,
                form: typed,
                errors,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
        }
    };
    let created = match first_run::create(
        &state,
        &account,
        Some(&token::hash(&form.token)),
        Some(client.ip.clone()),
    )
    .await
    {
        Ok(created) => created,
        Err(SetupError::AlreadySetUp) => return Err(AppError::NotFound),
        Err(SetupError::InvalidToken) => return Err(AppError::Refused(SETUP_LINK.into())),
        Err(SetupError::Other(err)) => return Err(err.into()),
    };
    session::sign_in(
        &state,
        &session,
        created.user_id,
        state.clock.now(),
        &client,
    )
    .await?;
    flashes.add(
        "success",
        "Roster is set up. You are the Owner of your organization and an instance admin.",
    );
    Ok(Redirect::to(&format!("/orgs/{}/members", created.org_slug)).into_response())
}
