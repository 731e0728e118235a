//! Signing in and out, and the home page that sends people where they belong.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::pages::PageCtx;
use crate::auth::flash::Flashes;
use crate::auth::{ClientIp, CurrentUser, session, throttle};
use crate::db::{self, audit};
use crate::domain::{Email, password};
use crate::error::Result;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(show_sign_in).post(sign_in))
        .route("/sign-out", post(sign_out))
}

/// The same words for an unknown email and a wrong password.
const WRONG_CREDENTIALS: &str = "That email and password do not match an active account.";

#[derive(Template, WebTemplate)]
#[template(path = "pages/sign_in.html")]
struct SignInPage {
    ctx: PageCtx,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/no_organization.html")]
struct NoOrganizationPage {
    ctx: PageCtx,
}

#[derive(Deserialize)]
struct SignInQuery {
    #[serde(default)]
    next: String,
    #[serde(default)]
    email: String,
}

#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// Only paths on this site are followed after sign-in (no open redirect).
fn safe_next(next: &str) -> Option<&str> {
    (next.starts_with('/') && !next.starts_with("//") && !next.contains('\\')).then_some(next)
}

async fn home(State(state): State<AppState>, current: CurrentUser) -> Result<Response> {
    let orgs = db::orgs::list_for_user(&state.db, current.user.id).await?;
    match orgs.first() {
        Some(org) => Ok(Redirect::to(&format!("/orgs/{}/members", org.slug)).into_response()),
        None => {
            let ctx = PageCtx::load(
                &state,
                &current.session,
                &current.flashes,
                Some(&current.user),
            )
            .await?;
            Ok(NoOrganizationPage { ctx }.into_response())
        }
    }
}

async fn show_sign_in(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    Query(q): Query<SignInQuery>,
) -> Result<Response> {
    if CurrentUser::from_session(&state, &session).await?.is_some() {
        return Ok(Redirect::to(safe_next(&q.next).unwrap_or("/")).into_response());
    }
    let ctx = PageCtx::load(&state, &session, &flashes, None).await?;
    Ok(SignInPage {
        ctx,
        email: q.email,
        next: q.next,
        error: None,
    }
    .into_response())
}

async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    ClientIp(ip): ClientIp,
    Form(form): Form<SignInForm>,
) -> Result<Response> {
    let now = state.clock.now();
    let refuse =
        |status, message: String| refused(&state, &session, &flashes, status, &form, message);
    let Ok(email) = Email::parse(&form.email) else {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your email address, like name@example.com.".into(),
        )
        .await;
    };
    if throttle::is_throttled(&state.db, email.normalized(), &ip, now).await? {
        let minutes = throttle::WINDOW_SECS / 60;
        let message = format!("Too many failed sign-ins. Wait {minutes} minutes, then try again.");
        return refuse(StatusCode::TOO_MANY_REQUESTS, message).await;
    }
    let user = db::users::find_by_email(&state.db, &email).await?;
    let verified = match &user {
        Some(u) => password::verify(&form.password, &u.password_hash) && u.is_active(),
        None => {
            password::verify_nothing(&form.password);
            false
        }
    };
    let mut tx = state.db.begin().await?;
    let Some(user) = user.filter(|_| verified) else {
        let actor = audit::Actor {
            ip: Some(ip.clone()),
            ..Default::default()
        };
        let event = audit::Event::new(audit::Action::SignInFailed, &actor).target(
            "user",
            None,
            Some(email.normalized()),
        );
        audit::record(&mut tx, &event, now).await?;
        tx.commit().await?;
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, WRONG_CREDENTIALS.into()).await;
    };
    db::users::record_sign_in(&mut tx, user.id, now).await?;
    let actor = audit::Actor {
        user_id: Some(user.id),
        email: Some(user.email.clone()),
        ip: Some(ip),
    };
    let event = audit::Event::new(audit::Action::SignedIn, &actor).target(
        "user",
        Some(user.id),
        Some(email.normalized()),
    );
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    session::sign_in(&session, user.id, db::users::session_epoch(&user, now)).await?;
    Ok(Redirect::to(safe_next(&form.next).unwrap_or("/")).into_response())
}

/// The sign-in page again, with what was typed (never the password) and why it failed.
async fn refused(
    state: &AppState,
    session: &Session,
    flashes: &Flashes,
    status: StatusCode,
    form: &SignInForm,
    message: String,
) -> Result<Response> {
    let ctx = PageCtx::load(state, session, flashes, None).await?;
    let page = SignInPage {
        ctx,
        email: form.email.trim().to_string(),
        next: form.next.clone(),
        error: Some(message),
    };
    Ok((status, page).into_response())
}

async fn sign_out(State(state): State<AppState>, current: CurrentUser) -> Result<Response> {
    let mut tx = state.db.begin().await?;
    let actor = current.actor();
    let event = audit::Event::new(audit::Action::SignedOut, &actor).target(
        "user",
        Some(current.user.id),
        None,
    );
    audit::record(&mut tx, &event, state.clock.now()).await?;
    tx.commit().await?;
    session::sign_out(&current.session).await?;
    current.flashes.add("success", "You have signed out.");
    Ok(Redirect::to("/sign-in").into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(safe_next("/orgs/a/members"), Some("/orgs/a/members"));
        assert_eq!(safe_next("//evil.example"), None);
        assert_eq!(safe_next("https://evil.example"), None);
        assert_eq!(safe_next("/\\evil.example"), None);
        assert_eq!(safe_next(""), None);
    }
}
