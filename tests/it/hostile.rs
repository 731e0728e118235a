//! Never a 500 on hostile input: every route of the router (pages, htmx partials, the
//! JSON API) gets each hostile value once in each of its parameters and fields, and must
//! answer below 500 without dropping the connection (a panicking handler would).

use std::collections::BTreeSet;
use std::time::Instant;

use reqwest::Method;
use reqwest::header::CONTENT_TYPE;
use roster::domain::Role;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

/// Values as they go into a query string or a urlencoded body (already encoded).
fn hostile_values() -> Vec<(&'static str, String)> {
    vec![
        ("NUL", "Gamma%00".into()),
        ("NUL alone", "%00".into()),
        ("CR LF", "a%0D%0Ab".into()),
        ("header injection", "x%0D%0ASet-Cookie:%20evil=1".into()),
        ("escape sequence", "%1B%5B31mred".into()),
        ("100 kB", "x".repeat(100_000)),
        ("invalid UTF-8", "%FF%FEa".into()),
        ("out of range", "99999999999999999999999".into()),
        ("i64 max", "9223372036854775807".into()),
        ("i64 min", "-9223372036854775808".into()),
        ("wrong type", "abc".into()),
        ("fraction", "1.5".into()),
        ("empty", String::new()),
        ("quotes and wildcards", "%27%22%25_%5C%2A".into()),
        ("right-to-left override", "%E2%80%AEa".into()),
    ]
}

/// Values put in place of one JSON field of an API request body.
fn hostile_json() -> Vec<(&'static str, Value)> {
    vec![
        ("NUL", json!("Gamma\u{0}")),
        ("CR LF", json!("a\r\nb")),
        ("100 kB", json!("x".repeat(100_000))),
        (
            "out of range",
            serde_json::from_str("99999999999999999999999").unwrap(),
        ),
        ("i64 min", json!(i64::MIN)),
        ("negative", json!(-1)),
        ("fraction", json!(1.5)),
        ("wrong type", json!("abc")),
        ("array", json!([1, "x", null])),
        ("object", json!({"a": "\u{0}"})),
        ("null", Value::Null),
        ("boolean", json!(true)),
    ]
}

/// Whole bodies that cannot be read as what they claim to be.
const MALFORMED_FORMS: &[&[u8]] = &[
    b"\xff\xfe=\xff",
    b"name=%ZZ&role=%",
    b"&&&===&",
    b"name=a\x00b",
];
const MALFORMED_JSON: &[&[u8]] = &[
    b"{",
    b"",
    b"\xff\xfe",
    b"[]",
    b"null",
    b"{\"role\":\"admin\",\"role\":\"viewer\",\"email\":1}",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A page or htmx partial: query string, urlencoded body, session and CSRF token.
    Page,
    /// The JSON API: query string, JSON body, bearer token.
    Api,
}

struct Route {
    method: Method,
    path: &'static str,
    fields: &'static [&'static str],
    kind: Kind,
}

const fn page(method: Method, path: &'static str, fields: &'static [&'static str]) -> Route {
    Route {
        method,
        path,
        fields,
        kind: Kind::Page,
    }
}

const fn api(method: Method, path: &'static str, fields: &'static [&'static str]) -> Route {
    Route {
        method,
        path,
        fields,
        kind: Kind::Api,
    }
}

const MEMBERS_QUERY: &[&str] = &[
    "q",
    "role",
    "status",
    "two_factor",
    "team",
    "sort",
    "dir",
    "page",
    "after",
    "before",
];
const AUDIT_QUERY: &[&str] = &["action", "actor", "target", "from", "until", "after"];
const USERS_QUERY: &[&str] = &["q", "page"];

/// Every route of the router, signed in as the Owner (the instance admin too). The
/// invitation landing pages are walked by a browser that is not signed in, and set-up
/// before it is done; both are further down.
fn routes() -> Vec<Route> {
    use Method as M;
    vec![
        page(M::GET, "/", &[]),
        page(M::GET, "/healthz", &[]),
        page(M::GET, "/readyz", &[]),
        page(M::GET, "/sign-in", &["email", "next"]),
        page(M::GET, "/account", &[]),
        page(M::POST, "/account/name", &["name"]),
        page(
            M::POST,
            "/account/password",
            &["current_password", "new_password", "new_password_confirm"],
        ),
        page(
            M::POST,
            "/account/tokens",
            &["token_name", "org", "expires"],
        ),
        page(M::POST, "/account/tokens/{token_id}/revoke", &[]),
        page(M::GET, "/orgs/{slug}/members", MEMBERS_QUERY),
        page(M::GET, "/orgs/{slug}/members/{member_id}/role", &["role"]),
        page(M::POST, "/orgs/{slug}/members/{member_id}/role", &["role"]),
        page(M::GET, "/orgs/{slug}/members/{member_id}/{status}", &[]),
        page(M::POST, "/orgs/{slug}/members/{member_id}/{status}", &[]),
        page(M::GET, "/orgs/{slug}/members/{member_id}/access", &[]),
        page(
            M::POST,
            "/orgs/{slug}/members/{member_id}/access",
            &["access_until"],
        ),
        page(M::GET, "/orgs/{slug}/access-requests", &[]),
        page(M::GET, "/orgs/{slug}/access-requests/new", &[]),
        page(
            M::POST,
            "/orgs/{slug}/access-requests",
            &["emails", "role", "reason"],
        ),
        page(
            M::POST,
            "/orgs/{slug}/access-requests/{request_id}/approve",
            &[],
        ),
        page(
            M::POST,
            "/orgs/{slug}/access-requests/{request_id}/decline",
            &["note"],
        ),
        page(M::GET, "/orgs/{slug}/members/{member_id}/remove", &[]),
        page(
            M::POST,
            "/orgs/{slug}/members/{member_id}/remove",
            &["confirm_email"],
        ),
        page(
            M::POST,
            "/orgs/{slug}/members/seats",
            &["seat_action", "ids", "confirm"],
        ),
        page(M::GET, "/orgs/{slug}/leave", &[]),
        page(M::GET, "/orgs/{slug}/settings", &[]),
        page(M::POST, "/orgs/{slug}/settings/domains", &["domain"]),
        page(
            M::POST,
            "/orgs/{slug}/settings/domains/{domain_id}/verify",
            &[],
        ),
        page(
            M::POST,
            "/orgs/{slug}/settings/domains/{domain_id}/mark-verified",
            &[],
        ),
        page(
            M::GET,
            "/orgs/{slug}/settings/domains/{domain_id}/remove",
            &[],
        ),
        page(
            M::POST,
            "/orgs/{slug}/settings/domains/{domain_id}/remove",
            &[],
        ),
        page(M::GET, "/orgs/{slug}/settings/scim", &[]),
        page(M::POST, "/orgs/{slug}/settings/scim", &["default_role"]),
        page(M::POST, "/orgs/{slug}/settings/scim/token", &[]),
        page(M::GET, "/orgs/{slug}/settings/scim/revoke", &[]),
        page(M::POST, "/orgs/{slug}/settings/scim/revoke", &[]),
        page(M::GET, "/orgs/{slug}/members.csv", MEMBERS_QUERY),
        page(M::GET, "/orgs/{slug}/teams", &[]),
        page(M::POST, "/orgs/{slug}/teams", &["name"]),
        page(M::GET, "/orgs/{slug}/teams/{team_id}", &["q"]),
        page(M::POST, "/orgs/{slug}/teams/{team_id}/rename", &["name"]),
        page(
            M::POST,
            "/orgs/{slug}/teams/{team_id}/members",
            &["member_id"],
        ),
        page(
            M::POST,
            "/orgs/{slug}/teams/{team_id}/members/{member_id}/remove",
            &[],
        ),
        page(M::GET, "/orgs/{slug}/teams/{team_id}/delete", &[]),
        page(M::POST, "/orgs/{slug}/teams/{team_id}/delete", &[]),
        page(
            M::POST,
            "/orgs/{slug}/settings",
            &[
                "name",
                "lifetime_value",
                "lifetime_unit",
                "max_pending_invitations",
                "max_members",
                "members_may_invite",
                "allowed_email_domains",
                "seats_enabled",
                "seats",
            ],
        ),
        page(M::GET, "/orgs/{slug}/invitations", &["status", "page"]),
        page(M::POST, "/orgs/{slug}/invitations", &["emails", "role"]),
        page(
            M::POST,
            "/orgs/{slug}/invitations/manage",
            &["row_action", "bulk_action", "ids", "confirm", "from"],
        ),
        page(M::GET, "/orgs/{slug}/invitations/new", &[]),
        page(M::GET, "/orgs/{slug}/invitations/csv/{csv_id}", &[]),
        page(M::POST, "/orgs/{slug}/invitations/csv/{csv_id}", &[]),
        page(
            M::GET,
            "/orgs/{slug}/invitations/{invitation_id}/delivery",
            &[],
        ),
        page(M::GET, "/orgs/{slug}/tokens", &[]),
        page(M::POST, "/orgs/{slug}/tokens/{token_id}/revoke", &[]),
        page(M::GET, "/orgs/{slug}/audit", AUDIT_QUERY),
        page(M::GET, "/orgs/{slug}/audit.csv", AUDIT_QUERY),
        page(M::GET, "/admin/audit", AUDIT_QUERY),
        page(M::GET, "/admin/audit.csv", AUDIT_QUERY),
        page(M::GET, "/admin/users", USERS_QUERY),
        page(M::POST, "/admin/users/{user_id}/deactivate", USERS_QUERY),
        page(M::POST, "/admin/users/{user_id}/activate", USERS_QUERY),
        page(M::POST, "/admin/users/{user_id}/grant-admin", USERS_QUERY),
        page(M::POST, "/admin/users/{user_id}/revoke-admin", USERS_QUERY),
        page(M::GET, "/admin/users/{user_id}/delete", USERS_QUERY),
        page(
            M::POST,
            "/admin/users/{user_id}/delete",
            &["confirm_email", "q", "page"],
        ),
        page(
            M::POST,
            "/admin/users/{user_id}/send-password-reset",
            USERS_QUERY,
        ),
        page(M::GET, "/admin/orgs/new", &[]),
        page(M::POST, "/admin/orgs", &["org_name", "owner_email"]),
        page(M::GET, "/password/forgot", &["email"]),
        page(M::POST, "/password/forgot", &["email"]),
        page(M::GET, "/password/reset/{reset}", &[]),
        page(
            M::POST,
            "/password/reset/{reset}",
            &["new_password", "new_password_confirm"],
        ),
        page(M::GET, "/static/{file}", &[]),
        page(M::GET, "/no/such/{page}", &[]),
        api(M::GET, "/api/v1/orgs/{slug}", &[]),
        api(
            M::POST,
            "/api/v1/orgs/{slug}/seats/assign",
            &["/member_ids"],
        ),
        api(
            M::POST,
            "/api/v1/orgs/{slug}/seats/revoke",
            &["/member_ids"],
        ),
        api(
            M::GET,
            "/api/v1/orgs/{slug}/members",
            &[
                "q", "role", "status", "team", "sort", "order", "page", "per_page",
            ],
        ),
        api(
            M::GET,
            "/api/v1/orgs/{slug}/members.csv",
            &["q", "role", "status", "two_factor", "sort", "order"],
        ),
        api(M::GET, "/api/v1/orgs/{slug}/members/{member_id}", &[]),
        api(
            M::DELETE,
            "/api/v1/orgs/{slug}/members/{member_id}",
            &["/email"],
        ),
        api(
            M::POST,
            "/api/v1/orgs/{slug}/members/{member_id}/role",
            &["/role"],
        ),
        api(
            M::POST,
            "/api/v1/orgs/{slug}/members/{member_id}/deactivate",
            &[],
        ),
        api(
            M::POST,
            "/api/v1/orgs/{slug}/members/{member_id}/activate",
            &[],
        ),
        api(
            M::POST,
            "/api/v1/orgs/{slug}/members/{member_id}/access",
            &["/access_until"],
        ),
        api(
            M::GET,
            "/api/v1/orgs/{slug}/invitations",
            &["status", "page", "per_page"],
        ),
        api(
            M::POST,
            "/api/v1/orgs/{slug}/invitations",
            &[
                "/invitations",
                "/invitations/0",
                "/invitations/0/email",
                "/invitations/0/role",
                "/invitations/0/access_until",
                "/partial",
            ],
        ),
        api(
            M::POST,
            "/api/v1/orgs/{slug}/invitations/{invitation_id}/resend",
            &[],
        ),
        api(
            M::POST,
            "/api/v1/orgs/{slug}/invitations/{invitation_id}/revoke",
            &[],
        ),
        api(M::GET, "/api/v1/orgs/{slug}/teams", &[]),
        api(M::POST, "/api/v1/orgs/{slug}/teams", &["/name"]),
        api(M::GET, "/api/v1/orgs/{slug}/teams/{team_id}", &[]),
        api(M::PATCH, "/api/v1/orgs/{slug}/teams/{team_id}", &["/name"]),
        api(M::GET, "/api/v1/orgs/{slug}/teams/{team_id}/members", &[]),
        api(
            M::POST,
            "/api/v1/orgs/{slug}/teams/{team_id}/members",
            &["/member_id"],
        ),
        api(
            M::DELETE,
            "/api/v1/orgs/{slug}/teams/{team_id}/members/{member_id}",
            &[],
        ),
        api(M::DELETE, "/api/v1/orgs/{slug}/teams/{team_id}", &[]),
        api(M::GET, "/api/v1/openapi.json", &[]),
        api(M::GET, "/api/v1/no/such/{page}", &[]),
    ]
}

/// A sensible value for each field, so that each request is refused (if it is) for its
/// one hostile value.
fn default_value(field: &str) -> &'static str {
    match field {
        "name" | "org_name" | "token_name" => "Gamma",
        "organization" => "Gamma Corp",
        "email" | "owner_email" | "confirm_email" => "nobody@example.com",
        "emails" => "new@example.com",
        "role" => "member",
        "status" => "pending",
        "expires" | "lifetime_value" => "7",
        "lifetime_unit" => "days",
        "max_pending_invitations" | "max_members" | "seats" => "50",
        "org" => ORG_SLUG,
        "page" | "per_page" => "1",
        "ids" => "1",
        "seat_action" => "assign",
        "from" => "2026-01-01",
        "until" => "2026-12-31",
        // Never the right one: the walk must not change the Owner's password.
        "current_password" => "not the password",
        "new_password" | "new_password_confirm" | "password" => "a long enough password",
        // Never equal to the password: set-up and sign-up are refused, yet parse it all.
        "password_confirm" => "a different password",
        _ => "",
    }
}

/// Ids and names the paths of the walk point at.
struct Targets {
    member_id: String,
    user_id: String,
    invitation_id: String,
    token_id: String,
    invitation_token: String,
}

impl Targets {
    fn default_param(&self, name: &str) -> String {
        match name {
            "slug" => ORG_SLUG.into(),
            "member_id" => self.member_id.clone(),
            "user_id" => self.user_id.clone(),
            "invitation_id" => self.invitation_id.clone(),
            "token_id" => self.token_id.clone(),
            "token" => self.invitation_token.clone(),
            "csv_id" | "request_id" => "1".into(),
            // The walk adds one domain and one team first
            // (`every_route_answers_hostile_input…`).
            "domain_id" | "team_id" => "1".into(),
            "status" => "deactivate".into(),
            "file" => "app.css".into(),
            _ => "x".into(),
        }
    }
}

/// The `{name}`s of a path.
fn params_of(path: &str) -> Vec<&str> {
    path.split('/')
        .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
        .collect()
}

fn fill(path: &str, targets: &Targets, hostile: Option<(&str, &str)>) -> String {
    path.split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => match hostile {
                    Some((param, value)) if param == name => value.to_string(),
                    _ => targets.default_param(name),
                },
                None => segment.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `fields` with their defaults, `field` set to `value` (already encoded), and `field`
/// a second time when `duplicate` is given.
fn form_string(
    fields: &[&str],
    field: Option<&str>,
    value: &str,
    duplicate: Option<&str>,
) -> String {
    let mut parts: Vec<String> = fields
        .iter()
        .map(|f| {
            if Some(*f) == field {
                format!("{f}={value}")
            } else {
                format!("{f}={}", encode(default_value(f)))
            }
        })
        .collect();
    if let (Some(field), Some(second)) = (field, duplicate) {
        parts.push(format!("{field}={second}"));
    }
    parts.join("&")
}

/// A default JSON body for an API route: what its fields describe.
fn default_json(route: &Route, targets: &Targets) -> Value {
    if route.path.contains("/seats/") {
        json!({"member_ids": [targets.member_id.parse::<i64>().unwrap()]})
    } else if route.path.ends_with("/role") {
        json!({"role": "viewer"})
    } else if route.path.ends_with("/invitations") {
        json!({"invitations": [{"email": "api@example.com", "role": "member"}], "partial": true})
    } else if route.path.ends_with("/teams") || route.method == Method::PATCH {
        json!({"name": "Gamma"})
    } else if route.path.ends_with("/teams/{team_id}/members") {
        json!({"member_id": targets.member_id.parse::<i64>().unwrap()})
    } else if route.method == Method::DELETE {
        json!({"email": "nobody@example.com"})
    } else {
        json!({})
    }
}

/// One request of the walk, described for failure messages.
struct Walk<'a> {
    app: &'a TestApp,
    client: reqwest::Client,
    csrf: String,
    api_token: String,
    requests: usize,
    failures: Vec<String>,
}

impl Walk<'_> {
    #[allow(
        clippy::too_many_arguments,
        reason = "each is one axis of the walk; a struct would only rename them"
    )]
    async fn send(
        &mut self,
        kind: Kind,
        method: Method,
        path: &str,
        query: Option<&str>,
        body: Option<(&str, Vec<u8>)>,
        htmx: bool,
        what: &str,
    ) {
        let mut url = self.app.url(path);
        if let Some(query) = query.filter(|q| !q.is_empty()) {
            url = format!("{url}?{query}");
        }
        // A fresh connection each time: an answer sent before its request's body was
        // read closes the connection, and the next request must not be sent on it.
        let mut request = self
            .client
            .request(method.clone(), &url)
            .header(reqwest::header::CONNECTION, "close");
        match kind {
            Kind::Page => request = request.header("x-csrf-token", &self.csrf),
            Kind::Api => request = request.bearer_auth(&self.api_token),
        }
        if htmx {
            request = request
                .header("HX-Request", "true")
                .header("HX-Target", "members-results");
        }
        if let Some((content_type, bytes)) = body {
            request = request.header(CONTENT_TYPE, content_type).body(bytes);
        }
        self.requests += 1;
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                // Read the whole body: a stream that fails midway is an error too.
                let body = response.bytes().await;
                if status.is_server_error() {
                    self.failures
                        .push(format!("{status} for {method} {path} with {what}"));
                } else if let Err(e) = body {
                    self.failures
                        .push(format!("body cut ({e}) for {method} {path} with {what}"));
                }
            }
            Err(e) => self.failures.push(format!(
                "no answer ({e}) for {method} {path} with {what}: did the handler panic?"
            )),
        }
    }

    /// Each hostile value in each field, path parameter, and as a second value of each
    /// field; then each malformed body.
    async fn walk(&mut self, route: &Route, targets: &Targets) {
        let path = fill(route.path, targets, None);
        let in_body = route.method != Method::GET && route.method != Method::DELETE
            || route.kind == Kind::Api && route.method == Method::DELETE;
        for (i, (label, value)) in hostile_values().iter().enumerate() {
            let htmx = route.kind == Kind::Page && i % 2 == 1;
            // The `http` crate refuses an address over 64 kB, before it is sent.
            let in_url = &value[..value.len().min(60_000)];
            for param in params_of(route.path) {
                let hostile_path = fill(route.path, targets, Some((param, in_url)));
                let what = format!("{label} in path parameter {param}");
                let (query, body) = self.defaults(route, targets, in_body);
                self.send(
                    route.kind,
                    route.method.clone(),
                    &hostile_path,
                    query.as_deref(),
                    body,
                    htmx,
                    &what,
                )
                .await;
            }
            for field in route.fields {
                let what = format!("{label} in field {field}");
                if route.kind == Kind::Api && field.starts_with('/') {
                    continue; // JSON fields get JSON values, below.
                }
                let (query, body) = if in_body && route.kind == Kind::Page {
                    let form = form_string(route.fields, Some(field), value, None);
                    (None, Some(form_body(form)))
                } else {
                    let form = form_string(route.fields, Some(field), in_url, None);
                    (Some(form), self.defaults(route, targets, in_body).1)
                };
                self.send(
                    route.kind,
                    route.method.clone(),
                    &path,
                    query.as_deref(),
                    body,
                    htmx,
                    &what,
                )
                .await;
            }
        }
        // Duplicate keys, each field once.
        for field in route.fields.iter().filter(|f| !f.starts_with('/')) {
            let form = form_string(route.fields, Some(field), "a", Some("b"));
            let what = format!("a duplicate {field}");
            let (query, body) = if in_body && route.kind == Kind::Page {
                (None, Some(form_body(form)))
            } else {
                (Some(form), self.defaults(route, targets, in_body).1)
            };
            self.send(
                route.kind,
                route.method.clone(),
                &path,
                query.as_deref(),
                body,
                false,
                &what,
            )
            .await;
        }
        if !in_body {
            return;
        }
        match route.kind {
            Kind::Page => {
                for bytes in MALFORMED_FORMS {
                    let what = format!("the malformed form {:?}", String::from_utf8_lossy(bytes));
                    let body = Some(("application/x-www-form-urlencoded", bytes.to_vec()));
                    self.send(
                        route.kind,
                        route.method.clone(),
                        &path,
                        None,
                        body,
                        false,
                        &what,
                    )
                    .await;
                }
                let body = Some(("application/json", b"{\"name\": 1}".to_vec()));
                self.send(
                    route.kind,
                    route.method.clone(),
                    &path,
                    None,
                    body,
                    false,
                    "JSON for a form",
                )
                .await;
            }
            Kind::Api => {
                let default = default_json(route, targets);
                for field in route.fields.iter().filter(|f| f.starts_with('/')) {
                    for (label, value) in hostile_json() {
                        let mut body = default.clone();
                        if let Some(slot) = body.pointer_mut(field) {
                            *slot = value;
                        }
                        let what = format!("{label} in JSON field {field}");
                        let body = Some(("application/json", serde_json::to_vec(&body).unwrap()));
                        self.send(
                            route.kind,
                            route.method.clone(),
                            &path,
                            None,
                            body,
                            false,
                            &what,
                        )
                        .await;
                    }
                }
                for bytes in MALFORMED_JSON {
                    let what = format!("the malformed JSON {:?}", String::from_utf8_lossy(bytes));
                    let body = Some(("application/json", bytes.to_vec()));
                    self.send(
                        route.kind,
                        route.method.clone(),
                        &path,
                        None,
                        body,
                        false,
                        &what,
                    )
                    .await;
                }
                let body = Some(("text/plain", b"role=viewer".to_vec()));
                self.send(
                    route.kind,
                    route.method.clone(),
                    &path,
                    None,
                    body,
                    false,
                    "a form for JSON",
                )
                .await;
            }
        }
    }

    /// The route's own fields at their defaults: (query, body).
    fn defaults(
        &self,
        route: &Route,
        targets: &Targets,
        in_body: bool,
    ) -> (Option<String>, Option<(&'static str, Vec<u8>)>) {
        let form = form_string(route.fields, None, "", None);
        match (route.kind, in_body) {
            (Kind::Page, true) => (None, Some(form_body(form))),
            (Kind::Api, true) => (
                None,
                Some((
                    "application/json",
                    serde_json::to_vec(&default_json(route, targets)).unwrap(),
                )),
            ),
            (_, false) => (Some(form), None),
        }
    }
}

fn form_body(form: String) -> (&'static str, Vec<u8>) {
    ("application/x-www-form-urlencoded", form.into_bytes())
}

/// Multipart bodies for the CSV upload: cut, with a wrong boundary, with hostile values.
fn hostile_uploads() -> Vec<(&'static str, String, Vec<u8>)> {
    let ct = |b: &str| format!("multipart/form-data; boundary={b}");
    let part = |name: &str, content: &[u8]| {
        let mut v = format!(
            "--XX\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"a.csv\"\r\n\r\n"
        )
        .into_bytes();
        v.extend_from_slice(content);
        v.extend_from_slice(b"\r\n");
        v
    };
    let whole = |parts: Vec<Vec<u8>>| {
        let mut v: Vec<u8> = parts.concat();
        v.extend_from_slice(b"--XX--\r\n");
        v
    };
    vec![
        (
            "a cut body",
            ct("XX"),
            b"--XX\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nab".to_vec(),
        ),
        (
            "a wrong boundary",
            ct("YY"),
            whole(vec![part("file", b"a@example.com")]),
        ),
        (
            "no boundary",
            "multipart/form-data".into(),
            b"file=a".to_vec(),
        ),
        ("garbage", ct("XX"), b"\xff\xfe\x00garbage".to_vec()),
        (
            "headers without end",
            ct("XX"),
            b"--XX\r\nContent-Disposition: form-data; name=\"file\"".to_vec(),
        ),
        (
            "invalid UTF-8 role",
            ct("XX"),
            whole(vec![
                part("file", b"a@example.com"),
                part("role", b"\xff\xfe"),
            ]),
        ),
        (
            "NUL role",
            ct("XX"),
            whole(vec![
                part("file", b"a@example.com"),
                part("role", b"mem\x00ber"),
            ]),
        ),
        (
            "NUL in rows",
            ct("XX"),
            whole(vec![
                part("file", b"a\x00@example.com,adm\x00in\nb@example.com,\x00"),
                part("role", b"member"),
            ]),
        ),
        (
            "CR LF in rows",
            ct("XX"),
            whole(vec![
                part("file", b"\"a\r\n@example.com\",member"),
                part("role", b"member"),
            ]),
        ),
        (
            "invalid UTF-8 rows",
            ct("XX"),
            whole(vec![
                part("file", b"\xff\xfe@example.com,\xff"),
                part("role", b"member"),
            ]),
        ),
        (
            "an unclosed quote",
            ct("XX"),
            whole(vec![
                part("file", b"\"a@example.com,member\nb"),
                part("role", b"member"),
            ]),
        ),
        (
            "100 kB row",
            ct("XX"),
            whole(vec![
                part("file", "x".repeat(100_000).as_bytes()),
                part("role", b"member"),
            ]),
        ),
    ]
}

async fn every_route_answers_hostile_input_without_a_server_error(backend: Backend) {
    // Arrange
    // Every API request of the walk is answered by its handler, not the rate limit.
    let Some(app) = TestApp::spawn_with(backend, &["--api-rate-limit", "1000000"]).await else {
        return;
    };
    let started = Instant::now();
    let mut failures = Vec::new();
    let mut requests = 0;
    // Set-up, before it is done, as the one who has its link.
    let setup_token = app
        .setup_url
        .clone()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    {
        let setup = [
            page(Method::GET, "/setup", &["token"]),
            page(
                Method::POST,
                "/setup",
                &[
                    "token",
                    "email",
                    "name",
                    "password",
                    "password_confirm",
                    "organization",
                ],
            ),
        ];
        let targets = no_targets();
        let mut walk = Walk {
            app: &app,
            client: app.client.clone(),
            csrf: app.csrf_token().await,
            api_token: String::new(),
            requests: 0,
            failures: Vec::new(),
        };
        for route in &setup {
            walk.walk_with_token(route, &targets, &setup_token).await;
        }
        requests += walk.requests;
        failures.append(&mut walk.failures);
    }
    app.set_up().await;
    let victim_member = app
        .add_member(ORG_SLUG, "victim@example.com", "Victim", Role::Member)
        .await;
    let victim_user = scalar_i64(
        &app.state.db,
        "SELECT id FROM users WHERE email_normalized = 'victim@example.com'",
    )
    .await;
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/settings/domains"),
        &[("domain", "walk.test")],
    )
    .await;
    app.post_form(&format!("/orgs/{ORG_SLUG}/teams"), &[("name", "Walk")])
        .await;
    let api_token = app.create_token(ORG_SLUG, "walk").await;
    app.create_token(ORG_SLUG, "spare").await;
    let token_id = scalar_i64(
        &app.state.db,
        "SELECT id FROM api_tokens WHERE name = 'spare'",
    )
    .await;
    let link = invitation_link(&app, "invitee@example.com").await;
    let invitation_id = scalar_i64(
        &app.state.db,
        "SELECT id FROM invitations WHERE email_normalized = 'invitee@example.com'",
    )
    .await;
    let targets = Targets {
        member_id: victim_member.to_string(),
        user_id: victim_user.to_string(),
        invitation_id: invitation_id.to_string(),
        token_id: token_id.to_string(),
        invitation_token: link.rsplit('/').next().unwrap().to_string(),
    };
    let all = routes();
    assert_covers_the_api(&app, &all).await;

    // Act
    let mut walk = Walk {
        app: &app,
        client: app.client.clone(),
        csrf: app.csrf_token().await,
        api_token,
        requests: 0,
        failures: Vec::new(),
    };
    for route in &all {
        walk.walk(route, &targets).await;
    }
    let upload = format!("/orgs/{ORG_SLUG}/invitations/csv");
    for (label, content_type, body) in hostile_uploads() {
        walk.send(
            Kind::Page,
            Method::POST,
            &upload,
            None,
            Some((content_type.as_str(), body)),
            false,
            &format!("the upload {label}"),
        )
        .await;
    }
    requests += walk.requests;
    failures.append(&mut walk.failures);
    // The invitation landing pages, as the invitee who is not signed in.
    let invitee = app.new_browser();
    let mut walk = Walk {
        app: &app,
        client: invitee.client.clone(),
        csrf: invitee.csrf_token().await,
        api_token: String::new(),
        requests: 0,
        failures: Vec::new(),
    };
    for route in [
        page(Method::GET, "/invitations/{token}", &["declined"]),
        page(Method::GET, "/invitations/{token}/decline", &[]),
        page(
            Method::POST,
            "/invitations/{token}/accept",
            &["name", "password", "password_confirm"],
        ),
        page(Method::POST, "/invitations/{token}/decline", &[]),
        page(Method::POST, "/sign-in", &["email", "password", "next"]),
    ] {
        walk.walk(&route, &targets).await;
    }
    requests += walk.requests;
    failures.append(&mut walk.failures);

    // Assert
    let (health, _) = app.get_html("/healthz").await;
    assert_eq!(health, 200, "the server still answers");
    assert!(
        failures.is_empty(),
        "{} of {requests} hostile requests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{requests} hostile requests on {backend:?} in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

impl Walk<'_> {
    /// `walk`, with the set-up token as the default of the `token` field.
    async fn walk_with_token(&mut self, route: &Route, targets: &Targets, token: &str) {
        let in_body = route.method == Method::POST;
        for (i, (label, value)) in hostile_values().iter().enumerate() {
            let value = if in_body {
                value.as_str()
            } else {
                &value[..value.len().min(60_000)]
            };
            for field in route.fields {
                let form = route
                    .fields
                    .iter()
                    .map(|f| match *f {
                        f if f == *field => format!("{f}={value}"),
                        "token" => format!("token={token}"),
                        f => format!("{f}={}", encode(default_value(f))),
                    })
                    .collect::<Vec<_>>()
                    .join("&");
                let what = format!("{label} in field {field}");
                let (query, body) = if in_body {
                    (None, Some(form_body(form)))
                } else {
                    (Some(form), None)
                };
                self.send(
                    Kind::Page,
                    route.method.clone(),
                    route.path,
                    query.as_deref(),
                    body,
                    i % 2 == 1,
                    &what,
                )
                .await;
            }
        }
        let _ = targets;
        if in_body {
            for bytes in MALFORMED_FORMS {
                let what = format!("the malformed form {:?}", String::from_utf8_lossy(bytes));
                let body = Some(("application/x-www-form-urlencoded", bytes.to_vec()));
                self.send(
                    Kind::Page,
                    route.method.clone(),
                    route.path,
                    None,
                    body,
                    false,
                    &what,
                )
                .await;
            }
        }
    }
}

fn no_targets() -> Targets {
    Targets {
        member_id: "1".into(),
        user_id: "1".into(),
        invitation_id: "1".into(),
        token_id: "1".into(),
        invitation_token: "x".into(),
    }
}

/// Invites `email` without SMTP and returns the link the page shows once.
async fn invitation_link(app: &TestApp, email: &str) -> String {
    let response = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations"),
            &[("emails", email), ("role", "member")],
        )
        .await;
    assert_eq!(response.status(), 200, "the links page");
    let html = response.text().await.unwrap();
    attrs(&html, "input.link-copy", "value")
        .into_iter()
        .next()
        .expect("the page shows the link")
}

/// Fails when the OpenAPI document lists an operation the walk does not know.
async fn assert_covers_the_api(app: &TestApp, routes: &[Route]) {
    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();
    let walked: BTreeSet<(String, String)> = routes
        .iter()
        .filter(|r| r.kind == Kind::Api)
        .map(|r| (r.method.as_str().to_lowercase(), normalize(r.path)))
        .collect();
    for (path, operations) in doc["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            let key = (method.clone(), normalize(&format!("/api/v1{path}")));
            assert!(
                walked.contains(&key),
                "the hostile walk misses {method} {path}: add it to `routes()`"
            );
        }
    }
}

/// A path with its parameters unnamed, so that `{id}` and `{member_id}` compare equal.
fn normalize(path: &str) -> String {
    path.split('/')
        .map(|s| if s.starts_with('{') { "{}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

on_both_backends!(every_route_answers_hostile_input_without_a_server_error);

/// Parallel sign-ups on one invitation link.
const RACERS: usize = 30;

async fn parallel_sign_ups_on_one_link_make_one_account(backend: Backend) {
    // Arrange
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let link = invitation_link(&app, "racer@example.com").await;
    let path = format!("/invitations/{}/accept", link.rsplit('/').next().unwrap());
    let mut browsers = Vec::new();
    for _ in 0..RACERS {
        let browser = app.new_browser();
        let csrf = browser.csrf_token().await;
        browsers.push((browser, csrf));
    }

    // Act
    let answers = futures_util::future::join_all(browsers.iter().map(|(browser, csrf)| {
        browser
            .client
            .post(browser.url(&path))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("name", "Racer"),
                ("password", MEMBER_PASSWORD),
                ("password_confirm", MEMBER_PASSWORD),
            ])
            .send()
    }))
    .await;

    // Assert
    let mut welcomed = 0;
    for answer in answers {
        let answer = answer.expect("every sign-up gets an answer");
        let status = answer.status().as_u16();
        assert!(status < 500, "a sign-up that lost the race got {status}");
        let to = if status == 303 {
            location(&answer)
        } else {
            String::new()
        };
        if to.ends_with("/members") {
            welcomed += 1;
        } else if !to.starts_with("/sign-in") {
            // Losers that found the account made are sent to sign in; the others are
            // told the link was used.
            let page = answer.text().await.unwrap();
            assert!(
                page.contains("This invitation has already been accepted"),
                "a loser is told the link was used: {status} {to} {page}"
            );
        }
    }
    assert_eq!(welcomed, 1, "exactly one sign-up succeeds");
    let db = &app.state.db;
    let accounts = scalar_i64(
        db,
        "SELECT COUNT(*) FROM users WHERE email_normalized = 'racer@example.com'",
    )
    .await;
    assert_eq!(accounts, 1, "exactly one account");
    let memberships = scalar_i64(
        db,
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE u.email_normalized = 'racer@example.com'",
    )
    .await;
    assert_eq!(memberships, 1, "exactly one membership");
    let sign_ups = scalar_i64(
        db,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'user.signed_up'",
    )
    .await;
    assert_eq!(sign_ups, 1, "nothing half-written by the losers");
}

on_both_backends!(parallel_sign_ups_on_one_link_make_one_account);
