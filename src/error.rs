//! One error type for handlers. Internal causes are logged, never shown.

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum_htmx::HxRedirect;

use crate::db::orgs::OrgLink;

pub type Result<T, E = AppError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Not signed in: go to the sign-in page, then come back to `next`.
    #[error("sign-in required")]
    SignInRequired { next: String },
    /// The organization requires a second factor the account does not have: set it up,
    /// then come back to `next`.
    #[error("two-factor authentication required")]
    TwoFactorRequired { next: String },
    #[error("forbidden")]
    Forbidden,
    /// A 403 that says what was refused, e.g. "Only Owners can change organization
    /// settings."
    #[error("forbidden: {0}")]
    Refused(String),
    #[error("the form has expired or did not come from Roster")]
    Csrf,
    #[error("not found")]
    NotFound,
    /// A 404 that says what was looked for, e.g. the organization of the address.
    #[error("not found: {0}")]
    Missing(String),
    /// A request that cannot be read (a malformed body, a search with control
    /// characters); the message says what to change.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// A body over `routes::BODY_LIMIT`, found while reading it.
    #[error("request body too large")]
    TooLarge,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Session(#[from] tower_sessions::session::Error),
    #[error(transparent)]
    Template(#[from] askama::Error),
    #[error(transparent)]
    Other(#[from] anyhow::Error),
}

/// Marks a response as an error page, so that `routes::htmx_errors` can turn it into a
/// flash message for htmx requests.
#[derive(Clone, Debug)]
pub struct ErrorMessage(pub String);

/// The error page's title, so that `routes::signed_in_errors` can draw the page again
/// for the person signed in.
#[derive(Clone, Copy, Debug)]
pub struct ErrorTitle(pub &'static str);

/// Marks an error response whose cause was a lost database connection, so that
/// `routes::retry::reads` can run a read once more.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLost;

impl AppError {
    /// Whether the cause is a database connection found dead, not the request itself.
    fn lost_connection(&self) -> bool {
        match self {
            AppError::Database(e) => crate::db::is_connection_error(e),
            AppError::Other(e) => lost_connection(e),
            _ => false,
        }
    }

    fn status_and_message(&self) -> (StatusCode, &'static str, &str) {
        match self {
            AppError::SignInRequired { .. } => (
                StatusCode::UNAUTHORIZED,
                "Sign in required",
                "Sign in to continue.",
            ),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "Not allowed",
                "Your role does not allow that. Ask an Owner or Admin of the organization, or an administrator of this Roster installation, if you need it.",
            ),
            AppError::Refused(message) => (StatusCode::FORBIDDEN, "Not allowed", message),
            AppError::Csrf => (
                StatusCode::FORBIDDEN,
                "Form expired",
                "This form has expired or did not come from this site. Reload the page and try again.",
            ),
            AppError::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                "That request cannot be read",
                message,
            ),
            AppError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too large",
                "That is more than Roster accepts at once (2 MiB). Split it into smaller parts.",
            ),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here, or you do not have access to it. Check the address, or go back to your organization.",
            ),
            AppError::Missing(message) => (StatusCode::NOT_FOUND, "Page not found", message),
            _ => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Roster could not finish that. Nothing was changed by the failed step; try again in a moment.",
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let AppError::SignInRequired { next } = &self {
            let target = format!(
                "/sign-in?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            // htmx follows HX-Redirect with a full page load instead of swapping a fragment.
            return (HxRedirect(target.clone()), Redirect::to(&target)).into_response();
        }
        if let AppError::TwoFactorRequired { next } = &self {
            let target = format!(
                "/account/two-factor?next={}",
                url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
            );
            return (HxRedirect(target.clone()), Redirect::to(&target)).into_response();
        }
        let (status, title, message) = self.status_and_message();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        let body = ErrorPage::render_page(status, title, message);
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
            body,
        )
            .into_response();
        if self.lost_connection() {
            response.extensions_mut().insert(ConnectionLost);
        }
        response
            .extensions_mut()
            .insert(ErrorMessage(message.to_string()));
        response.extensions_mut().insert(ErrorTitle(title));
        response
    }
}

/// 403, 404, 500 and friends, as a full page. It is drawn as for someone signed out
/// (no account, organization or flash in the layout), so that an error needs nothing
/// beyond itself to show, and the error type needs nothing of the pages;
/// `routes::signed_in_errors` draws a 403 or 404 again with the person's header.
#[derive(Template)]
#[template(path = "pages/error.html")]
struct ErrorPage<'a> {
    ctx: SignedOut,
    status: u16,
    title: &'a str,
    message: &'a str,
}

impl ErrorPage<'_> {
    fn render_page(status: StatusCode, title: &str, message: &str) -> String {
        let page = ErrorPage {
            ctx: SignedOut::default(),
            status: status.as_u16(),
            title,
            message,
        };
        page.render()
            .unwrap_or_else(|_| format!("{status} {title}: {message}"))
    }
}

/// What `base.html` reads from its `ctx`, all empty: the layout's context
/// (`routes::pages::PageCtx`) for nobody signed in. Its fields follow `PageCtx`'s; a test
/// in `routes::pages` checks that both draw the same page.
#[derive(Default)]
struct SignedOut {
    csrf: &'static str,
    user: Option<NoUser>,
    orgs: Vec<OrgLink>,
    current_org: Option<OrgLink>,
    section: &'static str,
    can_edit_settings: bool,
    can_see_audit: bool,
    can_manage_tokens: bool,
    sole_owner: bool,
    access_requests: Option<i64>,
    flashes: Vec<NoFlash>,
}

impl SignedOut {
    fn is_current(&self, _slug: &str) -> bool {
        false
    }
}

/// Never made: the type of `SignedOut::user`, with the fields the layout reads.
struct NoUser {
    name: &'static str,
    email: &'static str,
    is_instance_admin: bool,
}

/// Never made: the type of `SignedOut::flashes`' items, with the fields the layout reads.
struct NoFlash {
    kind: &'static str,
    text: &'static str,
}

#[cfg(test)]
pub(crate) fn error_page_for_test(status: StatusCode, title: &str, message: &str) -> String {
    ErrorPage::render_page(status, title, message)
}

/// Whether `err` was caused by a database connection found dead, not by the request
/// itself: such a read may be run once more.
pub fn lost_connection(err: &anyhow::Error) -> bool {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<sqlx::Error>())
        .any(crate::db::is_connection_error)
}
