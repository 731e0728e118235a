//! CSRF protection for every state-changing request: the Origin must be this site, and
//! the request must carry the session's token (the `csrf_token` form field, the
//! `X-CSRF-Token` header that htmx sends, or for a multipart upload the query string).

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
    if !origin_allowed(
        request.headers(),
        &state.public_origin,
        served_scheme(&state),
    ) {
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
/// this site: the configured public origin, or the Host the request was sent to reached
/// with the scheme this instance is served on (`served_scheme`). Scheme, host and port
/// are all compared: an `https://` page is another origin than the same host's `http://`.
fn origin_allowed(headers: &HeaderMap, public_origin: &str, served_scheme: &str) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    // Under `Referrer-Policy: no-referrer` a browser sends `Origin: null` even for this
    // site's own forms; then only its Sec-Fetch-Site can tell that the form is ours.
    if origin == "null" {
        return headers
            .get("sec-fetch-site")
            .is_some_and(|site| site == "same-origin");
    }
    // Parsed, so that case and default ports compare as a browser means them.
    let Some(origin) = tuple_origin(origin) else {
        return false;
    };
    if tuple_origin(public_origin).is_some_and(|public| public == origin) {
        return true;
    }
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    host.and_then(|host| tuple_origin(&format!("{served_scheme}://{host}")))
        .is_some_and(|requested| requested == origin)
}

/// The scheme, host and port of an `http(s)://` origin; None for anything else.
fn tuple_origin(text: &str) -> Option<url::Origin> {
    let url = url::Url::parse(text).ok()?;
    let origin = url.origin();
    (matches!(url.scheme(), "http" | "https") && origin.is_tuple()).then_some(origin)
}

/// The scheme browsers reach this instance with: https behind TLS (secure cookies, or an
/// https public URL), http otherwise.
fn served_scheme(state: &AppState) -> &'static str {
    if state.config.secure_cookies || state.public_origin.starts_with("https:") {
        "https"
    } else {
        "http"
    }
}

/// Finds the token in the header, an urlencoded body or, for a multipart upload only,
/// the query string; a body that was read is put back for the handler.
async fn presented_token(request: Request) -> Result<(Request, Option<String>), Response> {
    if let Some(value) = request.headers().get(HEADER).and_then(|v| v.to_str().ok()) {
        let value = value.to_string();
        return Ok((request, Some(value)));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    // A multipart body (the CSV upload's) is not read here, so its form's action carries
    // the token. A token in a URL ends up in logs and history; no other request may
    // present it there.
    if request.method() == Method::POST && content_type.starts_with("multipart/form-data") {
        let token = request.uri().query().and_then(|q| field(q.as_bytes()));
        return Ok((request, token));
    }
    if !content_type.starts_with("application/x-www-form-urlencoded") {
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
    fn an_origin_passes_only_with_the_scheme_host_and_port_of_this_site() {
        let public = "https://roster.example.com";
        // (Origin, Host, scheme served on, allowed)
        #[rustfmt::skip]
        let cases = [
            (None, "x", "http", true),
            (Some(public), "internal:3000", "http", true),
            (Some("https://roster.example.com:443"), "internal:3000", "http", true),
            (Some("https://ROSTER.example.com"), "internal:3000", "http", true),
            (Some("http://roster.example.com"), "roster.internal", "https", false),
            (Some("https://roster.example.com:8443"), "roster.internal", "https", false),
            (Some("http://localhost:3000"), "localhost:3000", "http", true),
            (Some("http://LOCALHOST:3000"), "localhost:3000", "http", true),
            (Some("http://localhost:3000"), "LocalHost:3000", "http", true),
            (Some("https://localhost:3000"), "localhost:3000", "http", false),
            (Some("http://localhost:3000"), "localhost:3000", "https", false),
            (Some("http://localhost:3001"), "localhost:3000", "http", false),
            (Some("http://localhost"), "localhost:3000", "http", false),
            (Some("http://localhost:80"), "localhost", "http", true),
            (Some("http://localhost"), "localhost:80", "http", true),
            (Some("https://localhost"), "localhost:443", "https", true),
            (Some("https://localhost:443"), "localhost", "http", false),
            (Some("https://evil.example"), "localhost:3000", "http", false),
            (Some("https://localhost:3000.evil.example"), "localhost:3000", "http", false),
            (Some("localhost:3000"), "localhost:3000", "http", false),
            (Some("ftp://localhost:3000"), "localhost:3000", "http", false),
            (Some("http://"), "localhost:3000", "http", false),
            (Some("garbage"), "localhost:3000", "http", false),
            (Some("null"), "localhost:3000", "http", false),
        ];
        for (origin, host, scheme, allowed) in cases {
            assert_eq!(
                origin_allowed(&headers(origin, host), public, scheme),
                allowed,
                "Origin {origin:?}, Host {host}, served on {scheme}"
            );
        }
    }

    #[test]
    fn a_null_origin_passes_only_when_the_browser_says_the_form_is_this_sites() {
        let public = "https://roster.example.com";
        let with_site = |site: &str| {
            let mut h = headers(Some("null"), "localhost:3000");
            h.insert("sec-fetch-site", site.parse().unwrap());
            h
        };

        assert!(origin_allowed(&with_site("same-origin"), public, "http"));
        assert!(!origin_allowed(&with_site("cross-site"), public, "http"));
        assert!(!origin_allowed(&with_site("same-site"), public, "http"));
    }
}
