//! The HTTP surface: each area owns its router; `app` merges them and adds the layers
//! every request passes through.

pub mod access_requests;
pub mod account;
pub mod api;
pub mod audit;
pub mod auth;
pub mod csv_download;
pub mod health;
pub mod invitations;
pub mod members;
pub mod pages;
pub mod password;
pub mod retry;
pub mod scim;
pub mod scim_settings;
pub mod settings;
pub mod setup;
pub mod sso;
pub mod teams;
pub mod tokens;
pub mod users;
pub mod webhooks;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum_htmx::{AutoVaryLayer, HX_REQUEST, HxReswap, HxRetarget, SwapOption};
use tower_http::LatencyUnit;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, Session, SessionManagerLayer};
use tracing::Level;

use crate::auth::csrf;
use crate::auth::store::Store;
use crate::error::{AppError, ConnectionLost, ErrorMessage, ErrorTitle};
use crate::state::AppState;

/// Request bodies above this are refused (413).
pub const BODY_LIMIT: usize = 2 * 1024 * 1024;
/// A session ends after this long without a request.
const SESSION_IDLE: Duration = Duration::from_secs(7 * 24 * 3600);

const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'";

/// The sign-in page's policy: its email step's answer may send the browser on to an
/// organization's identity provider, and browsers apply `form-action` to where a form's
/// answer redirects. Plain HTTP only where the operator allows such providers.
pub fn sign_in_csp(allow_private: bool) -> HeaderValue {
    let to = if allow_private {
        "https: http:"
    } else {
        "https:"
    };
    HeaderValue::from_str(&CSP.replace("form-action 'self'", &format!("form-action 'self' {to}")))
        .expect("a valid header")
}

/// The whole application, ready to serve.
pub fn app(state: AppState, store: Store) -> Router {
    let sessions = SessionManagerLayer::new(store)
        .with_name("roster_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config.secure_cookies)
        .with_expiry(Expiry::OnInactivity(time::Duration::seconds(
            SESSION_IDLE.as_secs() as i64,
        )));

    let pages = Router::new()
        .merge(health::router())
        .merge(setup::router())
        .merge(auth::router())
        .merge(password::router())
        .merge(members::router())
        .merge(settings::router())
        .merge(sso::router())
        .merge(scim_settings::router())
        .merge(invitations::router())
        .merge(access_requests::router())
        .merge(account::router())
        .merge(users::router())
        .merge(audit::router())
        .merge(tokens::router())
        .merge(webhooks::router())
        .merge(teams::router())
        .nest_service(
            "/static",
            tower::ServiceBuilder::new()
                .layer(middleware::from_fn(static_names))
                .service(ServeDir::new(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/static"
                ))),
        )
        .fallback(|| async { AppError::NotFound })
        .layer(middleware::from_fn_with_state(state.clone(), csrf::protect))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            signed_in_errors,
        ))
        .layer(middleware::from_fn(htmx_errors))
        // Names in `Vary` the htmx headers a handler read through axum-htmx's
        // extractors (HX-Target, …). It stays inside `retry::reads`, whose copy of the
        // request's extensions would otherwise keep the extractors from reporting.
        .layer(AutoVaryLayer)
        .layer(sessions);
    // The API authenticates each request by its bearer token: no cookies, so no session
    // and no CSRF token.
    Router::new()
        .nest(api::BASE, api::router())
        // So is SCIM, by the organization's SCIM token.
        .nest(scim::BASE, scim::router())
        .merge(pages)
        .layer(middleware::from_fn_with_state(state.clone(), retry::reads))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(middleware::from_fn_with_state(
            state.config.secure_cookies,
            caching_and_transport,
        ))
        // A page that needs another policy (the sign-in page) sets its own.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        ))
        .layer(security_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(security_header(header::X_FRAME_OPTIONS, "DENY"))
        .layer(security_header(header::REFERRER_POLICY, "no-referrer"))
        // Every page answer depends on HX-Request, if only through `htmx_errors`.
        .layer(SetResponseHeaderLayer::appending(
            header::VARY,
            HeaderValue::from_static("HX-Request"),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let path = request
                        .extensions()
                        .get::<MatchedPath>()
                        .map_or("-", MatchedPath::as_str);
                    tracing::info_span!("request", method = %request.method(), path)
                })
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        .with_state(state)
}

/// `Cache-Control: no-store` on every answer but the static files, and HSTS behind TLS.
///
/// Every answer outside `/static` is either personal (a signed-in page, an htmx partial,
/// an API answer, an error about either) or carries the session's CSRF token (the
/// sign-in and set-up forms), so none may be kept by the browser or a proxy; deciding by
/// the path instead of by the request's credentials leaves no case where a session that
/// is not (or no longer) valid lets a page through to a cache.
async fn caching_and_transport(
    State(secure_cookies): State<bool>,
    request: Request,
    next: Next,
) -> Response {
    let is_static = request.uri().path().starts_with("/static/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !is_static {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // Secure cookies are the setting that says Roster is reached over TLS; without them
    // HSTS would lock browsers out of an instance served over plain HTTP.
    if secure_cookies {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

fn security_header(name: HeaderName, value: &'static str) -> SetResponseHeaderLayer<HeaderValue> {
    SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
}

/// A flash message for htmx to show in `#flash`, in place of the request's own target.
pub fn flash_response(status: axum::http::StatusCode, kind: &str, text: &str) -> Response {
    message_at("#flash", status, kind, text)
}

/// An htmx answer that puts one message into `target`, a live region next to the
/// control that was used, where the person is looking (the top of a long page may be
/// out of view).
pub fn message_at(
    target: &str,
    status: axum::http::StatusCode,
    kind: &str,
    text: &str,
) -> Response {
    let flash = crate::auth::flash::Flash {
        kind: kind.into(),
        text: text.into(),
    };
    let body = pages::FlashPartial {
        flashes: vec![flash],
    }
    .render_string();
    (
        status,
        HxRetarget(target.into()),
        HxReswap(SwapOption::InnerHtml),
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

/// The longest path under `/static` looked up on disk: a longer name is a 404 here,
/// where the file system would answer ENAMETOOLONG and ServeDir a 500.
const STATIC_PATH_MAX: usize = 255;

async fn static_names(request: Request, next: Next) -> Response {
    if request.uri().path().len() > STATIC_PATH_MAX {
        return AppError::NotFound.into_response();
    }
    next.run(request).await
}

/// For htmx requests, an error page becomes a flash message swapped into `#flash`, so
/// that a failed action explains itself where the person is looking.
///
/// It reads the header itself rather than through `HxRequest`: every answer depends on
/// it and says so in the `Vary: HX-Request` that `router` adds to all of them.
async fn htmx_errors(request: Request, next: Next) -> Response {
    let is_htmx = request.headers().contains_key(HX_REQUEST);
    let response = next.run(request).await;
    if !is_htmx {
        return response;
    }
    let Some(ErrorMessage(message)) = response.extensions().get::<ErrorMessage>().cloned() else {
        return response;
    };
    let mut flash = flash_response(response.status(), "error", &message);
    if let Some(lost) = response.extensions().get::<ConnectionLost>() {
        flash.extensions_mut().insert(*lost);
    }
    flash
}

/// A 403 or 404 page for someone signed in keeps their header (organization switcher,
/// account menu). `AppError` draws every error page for nobody, needing nothing beyond
/// itself; here, with the session at hand, the page is drawn again for its person. htmx
/// requests are left alone: `htmx_errors` turns their errors into a flash.
async fn signed_in_errors(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let is_htmx = request.headers().contains_key(HX_REQUEST);
    let session = request.extensions().get::<Session>().cloned();
    let response = next.run(request).await;
    let status = response.status();
    if is_htmx || !matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND) {
        return response;
    }
    let (Some(session), Some(ErrorMessage(message)), Some(ErrorTitle(title))) = (
        session,
        response.extensions().get::<ErrorMessage>().cloned(),
        response.extensions().get::<ErrorTitle>().copied(),
    ) else {
        return response;
    };
    match pages::signed_in_error_page(&state, &session, status, title, &message).await {
        Ok(Some(page)) => {
            let (parts, _) = response.into_parts();
            Response::from_parts(parts, Body::from(page))
        }
        Ok(None) => response,
        Err(err) => {
            // The page drawn for nobody still says what happened.
            tracing::warn!(error = ?err, "could not draw the error page for its person");
            response
        }
    }
}
