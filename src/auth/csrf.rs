//! CSRF protection for every state-changing request: the Origin must be this site, and
//! the request must carry the session's token (the `csrf_token` form field, or the
//! `X-CSRF-Token` header that htmx sends).

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;
use tower_sessions::Session;

use super::session;
use crate::error::AppError;
use crate::state::AppState;

pub const FIELD: &str = "csrf_token";
pub const HEADER: &str = "x-csrf-token";
/// Form bodies are read whole to find the token; larger ones are refused.
const MAX_FORM_BYTES: usize = 2 * 1024 * 1024;

pub async fn protect(
    State(state): State<AppState>,
    session: Session,
    request: Request,
    next: Next,
) -> Response {
    if matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    ) {
        return next.run(request).await;
    }
    if !origin_allowed(request.headers(), &state.public_origin) {
        tracing::warn!(origin = ?request.headers().get(header::ORIGIN), "cross-origin request refused");
        return AppError::Csrf.into_response();
    }
    let expected = match session::expected_csrf(&session).await {
        Ok(Some(token)) => token,
        Ok(None) => return AppError::Csrf.into_response(),
        Err(err) => return AppError::from(err).into_response(),
    };
    let (request, presented) = match presented_token(request).await {
        Ok(found) => found,
        Err(response) => return response,
    };
    let valid = presented.is_some_and(|t| bool::from(t.as_bytes().ct_eq(expected.as_bytes())));
    if !valid {
        return AppError::Csrf.into_response();
    }
    next.run(request).await
}

/// A browser always sends Origin on a cross-site POST; when it is present it must be
/// this site: the configured public URL, or the Host the request was sent to.
fn origin_allowed(headers: &HeaderMap, public_origin: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    if origin == public_origin {
        return true;
    }
    // Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` even for this
    // site's own forms; then only its Sec-Fetch-Site can tell that the form is ours.
    if origin == "null" {
        return headers
            .get("sec-fetch-site")
            .is_some_and(|site| site == "same-origin");
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_authority = origin.split_once("://").map(|(_, rest)| rest);
    matches!((origin_authority, host), (Some(a), Some(h)) if a.eq_ignore_ascii_case(h))
}

/// Finds the token in the header, the query string or an urlencoded body; a body that
/// was read is put back for the handler.
async fn presented_token(request: Request) -> Result<(Request, Option<String>), Response> {
    if let Some(value) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        let value = value.to_string();
        return Ok((request, Some(value)));
    }
    if let Some(token) = request.uri().query().and_then(|q| field(q.as_bytes())) {
        return Ok((request, Some(token)));
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((request, None));
    }
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, MAX_FORM_BYTES).await.map_err(|_| {
        (
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            "Request body too large",
        )
            .into_response()
    })?;
    let token = field(&bytes);
    Ok((Request::from_parts(parts, Body::from(bytes)), token))
}

fn field(urlencoded: &[u8]) -> Option<String> {
    url::form_urlencoded::parse(urlencoded)
        .find(|(k, _)| k == FIELD)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(origin: Option<&str>, host: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        h
    }

    #[test]
    fn same_site_origins_pass_and_others_fail() {
        let public = "https://roster.example.com";
        assert!(origin_allowed(&headers(None, "x"), public));
        assert!(origin_allowed(
            &headers(Some(public), "internal:3000"),
            public
        ));
        assert!(origin_allowed(
            &headers(Some("http://localhost:3000"), "localhost:3000"),
            public
        ));
        assert!(!origin_allowed(
            &headers(Some("https://evil.example"), "localhost:3000"),
            public
        ));
        assert!(!origin_allowed(
            &headers(Some("null"), "localhost:3000"),
            public
        ));
        let mut own_form = headers(Some("null"), "localhost:3000");
        own_form.insert("sec-fetch-site", "same-origin".parse().unwrap());
        assert!(origin_allowed(&own_form, public));
        let mut sandboxed = headers(Some("null"), "localhost:3000");
        sandboxed.insert("sec-fetch-site", "cross-site".parse().unwrap());
        assert!(!origin_allowed(&sandboxed, public));
    }
}
