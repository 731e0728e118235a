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
use crate::auth::{CurrentUser, session};
use crate::domain::two_factor::SecondFactor;
use crate::domain::{Email, LocalPath};
use crate::error::Result;
use crate::state::AppState;
use crate::{accounts, sso};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/sign-in", get(show_sign_in).post(sign_in))
        .route(
            "/sign-in/two-factor",
            get(show_second_factor).post(second_factor),
        )
        .route("/sign-out", post(sign_out))
}

/// The same words for an unknown email and a wrong password.
const WRONG_CREDENTIALS: &str = "That email and password do not match an active account.";

#[derive(Template, WebTemplate)]
#[template(path = "pages/sign_in.html")]
struct SignInPage {
    ctx: PageCtx,
    /// "email" first; "password" once the address signs in with one.
    step: &'static str,
    email: String,
    next: String,
    error: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "pages/sign_in_two_factor.html")]
struct SignInTwoFactorPage {
    ctx: PageCtx,
    /// Whether the field asks for a recovery code rather than an app's code.
    recovery: bool,
    error: Option<String>,
}

#[derive(Deserialize)]
struct SecondFactorQuery {
    #[serde(default)]
    recovery: Option<String>,
}

#[derive(Deserialize)]
struct SecondFactorForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    recovery: Option<String>,
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

/// The sign-in form: the email step sends no password; the password step (or a script)
/// sends both.
#[derive(Deserialize)]
struct SignInForm {
    #[serde(default)]
    email: String,
    password: Option<String>,
    #[serde(default)]
    next: String,
}

async fn home(State(state): State<AppState>, current: CurrentUser) -> Result<Response> {
    let orgs = accounts::organizations(&state, current.user.id).await?;
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
    let page = SignInPage {
        ctx,
        step: "email",
        email: q.email,
        next: local_next(&q.next),
        error: None,
    };
    Ok(with_sign_in_csp(&state, page))
}

async fn sign_in(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    device: DeviceCookie,
    client: session::Client,
    Form(form): Form<SignInForm>,
) -> Result<Response> {
    let step = if form.password.is_some() {
        "password"
    } else {
        "email"
    };
    let refuse =
        |status, message: String| refused(&state, &session, &flashes, status, &form, step, message);
    let Ok(email) = Email::parse(&form.email) else {
        return refused(
            &state,
            &session,
            &flashes,
            StatusCode::UNPROCESSABLE_ENTITY,
            &form,
            "email",
            "Enter your email address, like name@example.com.".into(),
        )
        .await;
    };
    let Some(password) = form.password.as_deref() else {
        return continue_with_email(&state, &session, &flashes, &form, &email).await;
    };
    let ip = &client.ip;
    let device_id = device.id_for(email.normalized());
    let signed_in = match accounts::sign_in(&state, &email, password, ip, device_id.as_deref())
        .await
    {
        Ok(accounts::SignInStep::SignedIn(signed_in)) => signed_in,
        Ok(accounts::SignInStep::SecondFactor { user_id }) => {
            let pending = session::PendingSignIn {
                user_id,
                account: email.normalized().to_string(),
                next: local_next(&form.next),
                until: state.clock.now() + session::SECOND_FACTOR_SECS,
            };
            session::begin_second_factor(&session, &pending).await?;
            return Ok(Redirect::to("/sign-in/two-factor").into_response());
        }
        Err(accounts::Error::Throttled(throttled)) => {
            let now = state.clock.now();
            let mut response =
                refuse(StatusCode::TOO_MANY_REQUESTS, throttled.message(now)).await?;
            response.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from(throttled.seconds_left(now)),
            );
            return Ok(response);
        }
        Err(
            accounts::Error::WrongCredentials
            | accounts::Error::WrongSecondFactor
            | accounts::Error::Invalid(_),
        ) => {
            return refuse(StatusCode::UNPROCESSABLE_ENTITY, WRONG_CREDENTIALS.into()).await;
        }
        Err(accounts::Error::SsoRequired(provider)) => {
            return refused(
                    &state,
                    &session,
                    &flashes,
                    StatusCode::FORBIDDEN,
                    &form,
                    "email",
                    format!(
                        "Addresses on {} sign in with {provider}, not with a password. Choose Continue.",
                        email.domain()
                    ),
                )
                .await;
        }
        Err(other) => return Err(other.into()),
    };
    device.remember(email.normalized(), device_id);
    session::sign_in(
        &state,
        &session,
        signed_in.user.id,
        signed_in.session_epoch,
        &client,
    )
    .await?;
    Ok(Redirect::to(LocalPath::or_home(&form.next).as_str()).into_response())
}

/// Back to the sign-in page when no second step is waiting (never started, or its five
/// minutes are over).
fn second_step_over(flashes: &Flashes) -> Response {
    flashes.add(
        "error",
        "Your sign-in took too long or was not started. Sign in again.",
    );
    Redirect::to("/sign-in").into_response()
}

async fn show_second_factor(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    Query(q): Query<SecondFactorQuery>,
) -> Result<Response> {
    if session::pending_second_factor(&session, state.clock.now())
        .await?
        .is_none()
    {
        return Ok(second_step_over(&flashes));
    }
    let ctx = PageCtx::load(&state, &session, &flashes, None).await?;
    Ok(SignInTwoFactorPage {
        ctx,
        recovery: q.recovery.is_some(),
        error: None,
    }
    .into_response())
}

async fn second_factor(
    State(state): State<AppState>,
    session: Session,
    flashes: Flashes,
    device: DeviceCookie,
    client: session::Client,
    Form(form): Form<SecondFactorForm>,
) -> Result<Response> {
    let now = state.clock.now();
    let Some(pending) = session::pending_second_factor(&session, now).await? else {
        session::end_second_factor(&session).await?;
        return Ok(second_step_over(&flashes));
    };
    let recovery = form.recovery.is_some();
    let refuse = |status: StatusCode, message: String| {
        let (state, session, flashes) = (&state, &session, &flashes);
        async move {
            let ctx = PageCtx::load(state, session, flashes, None).await?;
            let page = SignInTwoFactorPage {
                ctx,
                recovery,
                error: Some(message),
            };
            Ok::<_, crate::error::AppError>((status, page).into_response())
        }
    };
    let factor = match SecondFactor::parse(&form.code) {
        Ok(factor) => factor,
        Err(message) => return refuse(StatusCode::UNPROCESSABLE_ENTITY, message.into()).await,
    };
    let signed_in =
        match accounts::finish_sign_in(&state, pending.user_id, &factor, &client.ip).await {
            Ok(signed_in) => signed_in,
            Err(accounts::Error::Throttled(throttled)) => {
                let mut response =
                    refuse(StatusCode::TOO_MANY_REQUESTS, throttled.message(now)).await?;
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(throttled.seconds_left(now)),
                );
                return Ok(response);
            }
            Err(accounts::Error::WrongSecondFactor | accounts::Error::WrongCredentials) => {
                let message = if recovery {
                    "That recovery code is not right, or it was already used."
                } else {
                    crate::two_factor::WRONG_CODE
                };
                return refuse(StatusCode::UNPROCESSABLE_ENTITY, message.into()).await;
            }
            Err(other) => return Err(other.into()),
        };
    let device_id = device.id_for(&pending.account);
    device.remember(&pending.account, device_id);
    session::sign_in(
        &state,
        &session,
        signed_in.user.id,
        signed_in.session_epoch,
        &client,
    )
    .await?;
    Ok(Redirect::to(LocalPath::or_home(&pending.next).as_str()).into_response())
}

/// The email step's answer: an address on a domain with single sign-on goes to its
/// provider; any other to the password step. Nothing here depends on whether an
/// account exists.
async fn continue_with_email(
    state: &AppState,
    session: &Session,
    flashes: &Flashes,
    form: &SignInForm,
    email: &Email,
) -> Result<Response> {
    let Some(provider) = sso::provider_for(state, email).await? else {
        let ctx = PageCtx::load(state, session, flashes, None).await?;
        let page = SignInPage {
            ctx,
            step: "password",
            email: email.to_string(),
            next: local_next(&form.next),
            error: None,
        };
        return Ok(with_sign_in_csp(state, page));
    };
    match sso::begin(state, &provider, email, &local_next(&form.next)).await {
        Ok((url, pending)) => {
            session::begin_sso(session, &pending).await?;
            Ok(Redirect::to(&url).into_response())
        }
        Err(sso::SignInError::Internal(e)) => Err(e.into()),
        Err(refused_now) => {
            refused(
                state,
                session,
                flashes,
                StatusCode::BAD_GATEWAY,
                form,
                "email",
                refused_now.to_string(),
            )
            .await
        }
    }
}

/// The sign-in page again, at `step`, with what was typed (never the password) and why
/// it failed.
async fn refused(
    state: &AppState,
    session: &Session,
    flashes: &Flashes,
    status: StatusCode,
    form: &SignInForm,
    step: &'static str,
    message: String,
) -> Result<Response> {
    let ctx = PageCtx::load(state, session, flashes, None).await?;
    let page = SignInPage {
        ctx,
        step,
        email: form.email.trim().to_string(),
        next: local_next(&form.next),
        error: Some(message),
    };
    Ok(with_sign_in_csp(state, (status, page)))
}

/// A sign-in page with the policy that lets its form lead to an identity provider.
fn with_sign_in_csp(state: &AppState, page: impl IntoResponse) -> Response {
    let mut response = page.into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        super::sign_in_csp(state.config.allow_private_addresses),
    );
    response
}

/// Where signing out leads: `next` (a local path only), else the sign-in form — e.g.
/// back to an invitation opened while signed in as someone else, which then offers to
/// sign in (returning to it) or to create the invitee's account.
#[derive(Debug, Default, Deserialize)]
struct SignOutForm {
    #[serde(default)]
    next: String,
}

async fn sign_out(
    State(state): State<AppState>,
    current: CurrentUser,
    // htmx may send no body at all (its CSRF token travels as a header).
    form: std::result::Result<Form<SignOutForm>, axum::extract::rejection::FormRejection>,
) -> Result<Response> {
    let form = form.map(|Form(f)| f).unwrap_or_default();
    accounts::sign_out(&state, &current.user, &current.ip).await?;
    session::sign_out(&state, &current.session).await?;
    current.flashes.add("success", "You have signed out.");
    let to = LocalPath::parse(&form.next)
        .map_or("/sign-in".to_string(), |next| next.as_str().to_string());
    Ok(Redirect::to(&to).into_response())
}

/// The `next` the sign-in form carries on: a local path, or nothing.
fn local_next(next: &str) -> String {
    LocalPath::parse(next)
        .map(|path| path.as_str().to_string())
        .unwrap_or_default()
}
