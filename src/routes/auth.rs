//! Signing in and out, and the home page that sends people where they belong.

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use tower_sessions::Session;

use super::pages::PageCtx;
use crate::auth::device::DeviceCookie;
use crate::auth::flash::Flashes;
use crate::auth::passwords::Passwords;
use crate::auth::{ClientIp, CurrentUser, session, throttle};
use crate::clock;
use crate::db::{self, audit};
use crate::domain::{Email, LocalPath};
use crate::email::messages::SignInsPaused;
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
        return Ok(Redirect::to(LocalPath::or_home(&q.next).as_str()).into_response());
    }
    let ctx = PageCtx::load(&state, &session, &flashes, None).await?;
    Ok(SignInPage {
        ctx,
        email: q.email,
        next: local_next(&q.next),
        error: None,
    }
    .into_response())
}

async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    device: DeviceCookie,
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
    let account = email.normalized();
    let device_id = device.id_for(account);
    let attempt =
        match throttle::sign_in(&state.db, account, &ip, device_id.as_deref(), now).await? {
            Ok(attempt) => attempt,
            Err(throttled) => {
                if throttled.alert {
                    tell_of_paused_sign_ins(&state, &email, &ip, throttled.retry_at).await?;
                }
                let mut response =
                    refuse(StatusCode::TOO_MANY_REQUESTS, throttled.message(now)).await?;
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(throttled.seconds_left(now)),
                );
                return Ok(response);
            }
        };
    let user = db::users::find_by_email(&state.db, &email).await?;
    let verified = match &user {
        Some(u) => {
            state
                .extension::<Passwords>()
                .verify(&form.password, &u.password_hash)
                .await
                && u.is_active()
        }
        None => {
            state
                .extension::<Passwords>()
                .verify_nothing(&form.password)
                .await;
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
            Some(account),
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
        Some(account),
    );
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    attempt.succeeded(&state.db).await?;
    device.remember(account, device_id);
    session::sign_in(&session, user.id, db::users::session_epoch(&user, now)).await?;
    Ok(Redirect::to(LocalPath::or_home(&form.next).as_str()).into_response())
}

/// Records that sign-ins as `email` were paused, and tells the account's owner, if
/// there is an active account with that address (the answer to the browser is the same
/// either way).
async fn tell_of_paused_sign_ins(
    state: &AppState,
    email: &Email,
    ip: &str,
    until: i64,
) -> Result<()> {
    let now = state.clock.now();
    let user = db::users::find_by_email(&state.db, email)
        .await?
        .filter(|u| u.is_active());
    let mut tx = state.db.begin().await?;
    let actor = audit::Actor {
        ip: Some(ip.to_string()),
        ..Default::default()
    };
    let event = audit::Event::new(audit::Action::SignInsPaused, &actor).target(
        "user",
        user.as_ref().map(|u| u.id),
        Some(email.normalized()),
    );
    audit::record(&mut tx, &event, now).await?;
    if let Some(user) = &user {
        let notice = SignInsPaused {
            to: user.email.clone(),
            name: user.name.clone(),
            address: ip.to_string(),
            until: clock::exact(until),
        };
        state.mailer.queue(&mut tx, &notice, now).await?;
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(())
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
        next: local_next(&form.next),
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

/// The `next` the sign-in form carries on: a local path, or nothing.
fn local_next(next: &str) -> String {
    LocalPath::parse(next)
        .map(|path| path.as_str().to_string())
        .unwrap_or_default()
}
