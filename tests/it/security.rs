use crate::helpers::*;
use roster::domain::Role;

async fn pages_need_a_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let stranger = app.new_browser();

    let response = stranger.get(&format!("/orgs/{ORG_SLUG}/members")).await;

    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/sign-in?next="));
}

async fn a_missing_or_wrong_csrf_token_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let missing = app
        .client
        .post(app.url("/sign-out"))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    let wrong = app
        .client
        .post(app.url("/sign-out"))
        .form(&[("csrf_token", "forged")])
        .send()
        .await
        .unwrap();
    let wrong_header = app
        .client
        .post(app.url("/sign-out"))
        .header("X-CSRF-Token", "forged")
        .send()
        .await
        .unwrap();

    assert_eq!(missing.status(), 403);
    assert_eq!(wrong.status(), 403);
    assert_eq!(wrong_header.status(), 403);
    assert_eq!(
        app.get(&format!("/orgs/{ORG_SLUG}/members")).await.status(),
        200,
        "still signed in"
    );
}

async fn the_csrf_header_that_htmx_sends_is_accepted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let token = app.csrf_token().await;

    let response = app
        .client
        .post(app.url("/sign-out"))
        .header("X-CSRF-Token", token)
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 303);
    assert_eq!(
        app.get(&format!("/orgs/{ORG_SLUG}/members")).await.status(),
        303,
        "signed out"
    );
}

async fn a_foreign_origin_is_refused_even_with_the_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let token = app.csrf_token().await;

    let response = app
        .client
        .post(app.url("/sign-out"))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", token)])
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 403);
}

async fn the_session_id_changes_at_sign_in(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let browser = app.new_browser();
    let before = browser.get("/sign-in").await;
    let anonymous_cookie = before.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let token = meta_csrf(&before.text().await.unwrap());

    let response = browser
        .client
        .post(app.url("/sign-in"))
        .form(&[
            ("csrf_token", token.as_str()),
            ("email", ADMIN_EMAIL),
            ("password", ADMIN_PASSWORD),
        ])
        .send()
        .await
        .unwrap();

    let cookie = response.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert_ne!(
        cookie.split(';').next().unwrap(),
        anonymous_cookie,
        "a new session id after sign-in"
    );
}

async fn responses_carry_the_security_headers(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let response = app.get("/sign-in").await;

    let headers = response.headers();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("frame-ancestors 'none'")
            && csp.contains("script-src 'self'")
            && !csp.contains("unsafe-inline")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    assert!(headers["vary"].to_str().unwrap().contains("HX-Request"));
}

async fn oversized_bodies_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Announce a body over the limit and send none of it: the server must answer at once
    // (a client still writing 2 MiB may see the connection closed before the answer).
    let mut stream = tokio::net::TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap();
    let request = format!(
        "POST /sign-in HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n",
        roster::routes::BODY_LIMIT + 1
    );

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = vec![0; 64];
    let n = stream.read(&mut answer).await.unwrap();

    let status_line = String::from_utf8_lossy(&answer[..n])
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(status_line, "HTTP/1.1 413 Payload Too Large");
}

async fn a_member_of_another_organization_gets_a_404(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let (status, html) = app.get_html("/orgs/someone-elses-org/members").await;

    assert_eq!(status, 404);
    assert_eq!(
        texts(&html, "main p").first().map(String::as_str),
        Some("There is no organization at /orgs/someone-elses-org, or you are not a member of it.")
    );
    assert_eq!(
        texts(&html, ".account-menu summary"),
        ["Account menu"],
        "a signed-in person keeps their header on an error page"
    );
    assert!(html.contains(r#"action="/sign-out""#));
}

async fn a_refusal_says_what_was_refused_and_keeps_the_header(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Admin)
        .await;
    let bea = app.browser_for("bea@example.com").await;
    let stranger = app.new_browser();

    let (settings, settings_page) = bea.get_html(&format!("/orgs/{ORG_SLUG}/settings")).await;
    let (users, users_page) = bea.get_html("/admin/users").await;
    let (missing, missing_page) = bea.get_html("/no/such/page").await;
    let (anonymous, anonymous_page) = stranger.get_html("/no/such/page").await;
    let htmx = bea
        .client
        .get(bea.url(&format!("/orgs/{ORG_SLUG}/settings")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();

    assert_eq!(settings, 403);
    assert_eq!(
        texts(&settings_page, "main p").first().map(String::as_str),
        Some("Only Owners can change organization settings.")
    );
    assert_eq!(users, 403);
    assert!(texts(&users_page, "main p")[0].starts_with("Only instance admins"));
    assert_eq!(missing, 404);
    for page in [&settings_page, &users_page, &missing_page] {
        assert!(page.contains("Signed in as <strong>Bea</strong>"), "{page}");
        assert_eq!(texts(page, ".account-menu summary"), ["Account menu"]);
    }
    assert_eq!(anonymous, 404);
    assert!(!anonymous_page.contains("Signed in as"));
    assert_eq!(htmx.status(), 403);
    let fragment = htmx.text().await.unwrap();
    assert!(
        !fragment.contains("<html"),
        "htmx still gets a flash, not a page"
    );
    assert!(fragment.contains("Only Owners can change organization settings."));
}

async fn a_flash_message_is_shown_once_by_whichever_instance_serves_the_next_page(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let members = location(&app.set_up().await);
    let other = app.another_instance().await;

    let (status, page) = other.get_html(&members).await;
    let (_, again) = app.get_html(&members).await;

    assert_eq!(status, 200);
    assert_eq!(
        texts(&page, ".flash-success"),
        ["Roster is set up. You are the Owner of your organization and an instance admin."]
    );
    assert!(texts(&again, ".flash").is_empty(), "shown once");
}

async fn a_flash_cookie_altered_in_the_browser_is_not_shown(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.get(&format!("/orgs/{ORG_SLUG}/members")).await;
    let signed_out = app.post_form("/sign-out", &[]).await;
    let line = set_cookie(&signed_out, "roster_flash").expect("sign-out leaves a message");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Lax"),
        "{line}"
    );
    let genuine = cookie_value(&line).to_string();
    // The signature (44 characters) stays; the message is rewritten.
    let payload =
        base64_url(r#"[{"kind":"error","text":"Call +1 555 0100 to keep your account."}]"#);
    let altered = format!("{}{payload}", &genuine[..44]);
    let unsigned = payload.clone();
    let plain = reqwest::Client::builder().build().unwrap();
    let sign_in_page = |value: String| {
        plain
            .get(app.url("/sign-in"))
            .header("cookie", format!("roster_flash={value}"))
            .send()
    };

    let shown = sign_in_page(genuine.clone()).await.unwrap();
    let removed = set_cookie(&shown, "roster_flash");
    let removed = removed.as_deref().map(cookie_value);
    let shown = shown.text().await.unwrap();
    let mut refused = Vec::new();
    for forged in [altered, unsigned] {
        let response = sign_in_page(forged).await.unwrap();
        let removal = set_cookie(&response, "roster_flash");
        let removal = removal.as_deref().map(cookie_value).map(str::to_string);
        refused.push((removal, texts(&response.text().await.unwrap(), ".flash")));
    }

    assert_eq!(texts(&shown, ".flash-success"), ["You have signed out."]);
    assert_eq!(removed, Some(""), "taken from the browser once shown");
    for (removal, flashes) in refused {
        assert!(flashes.is_empty(), "{flashes:?}");
        assert_eq!(removal.as_deref(), Some(""), "a forged cookie is dropped");
    }
}

async fn a_token_in_the_query_string_is_ignored_outside_the_csv_upload(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(
        ORG_SLUG,
        "cleo@example.com",
        "Cleo",
        roster::domain::Role::Member,
    )
    .await;
    let member = app.membership_id("cleo@example.com").await;
    let token = app.csrf_token().await;

    let sign_out = app
        .client
        .post(app.url(&format!("/sign-out?csrf_token={token}")))
        .form(&[("x", "y")])
        .send()
        .await
        .unwrap();
    let change_role = app
        .client
        .post(app.url(&format!(
            "/orgs/{ORG_SLUG}/members/{member}/role?csrf_token={token}"
        )))
        .form(&[("role", "admin")])
        .send()
        .await
        .unwrap();

    assert_eq!(sign_out.status(), 403);
    assert_eq!(change_role.status(), 403);
    assert_eq!(
        scalar_text(
            &app.state.db,
            &format!("SELECT role FROM memberships WHERE id = {member}")
        )
        .await,
        "member"
    );
    assert_eq!(
        app.get(&format!("/orgs/{ORG_SLUG}/members")).await.status(),
        200,
        "still signed in"
    );
}

async fn signed_in_pages_and_api_answers_are_not_stored_but_static_files_are(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let api_token = app.create_token(ORG_SLUG, "cache check").await;
    let members = format!("/orgs/{ORG_SLUG}/members");
    let api = |path: &str, token: &str| {
        reqwest::Client::new()
            .get(app.url(&format!("/api/v1{path}")))
            .bearer_auth(token)
            .send()
    };

    let answers = vec![
        ("page", app.get(&members).await),
        (
            "htmx partial",
            app.client
                .get(app.url(&format!("{members}?q=ada")))
                .header("HX-Request", "true")
                .send()
                .await
                .unwrap(),
        ),
        (
            "error page",
            app.get(&format!("/orgs/{ORG_SLUG}/nowhere")).await,
        ),
        (
            "API answer",
            api(&format!("/orgs/{ORG_SLUG}/members"), &api_token)
                .await
                .unwrap(),
        ),
        (
            "API error",
            api(&format!("/orgs/{ORG_SLUG}/members"), "roster_forged")
                .await
                .unwrap(),
        ),
        ("API 404", api("/nowhere", &api_token).await.unwrap()),
    ];
    let stylesheet = app.get("/static/app.css").await;

    let statuses: Vec<_> = answers
        .iter()
        .map(|(what, r)| (*what, r.status().as_u16()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("page", 200),
            ("htmx partial", 200),
            ("error page", 404),
            ("API answer", 200),
            ("API error", 401),
            ("API 404", 404),
        ]
    );
    for (what, response) in &answers {
        assert_eq!(response.headers()["cache-control"], "no-store", "{what}");
    }
    assert_eq!(stylesheet.status(), 200);
    assert!(!stylesheet.headers().contains_key("cache-control"));
}

async fn hsts_is_sent_only_with_secure_cookies(backend: Backend) {
    let Some(secure) = TestApp::spawn_with(backend, &["--secure-cookies"]).await else {
        return;
    };
    let Some(plain) = TestApp::spawn(backend).await else {
        return;
    };

    let secure_page = secure.get("/sign-in").await;
    let secure_file = secure.get("/static/app.css").await;
    let plain_page = plain.get("/sign-in").await;
    let plain_file = plain.get("/static/app.css").await;

    for response in [&secure_page, &secure_file] {
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains"
        );
    }
    for response in [&plain_page, &plain_file] {
        assert!(!response.headers().contains_key("strict-transport-security"));
    }
}

fn base64_url(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

crate::on_both_backends!(
    pages_need_a_session,
    a_missing_or_wrong_csrf_token_is_refused,
    the_csrf_header_that_htmx_sends_is_accepted,
    a_foreign_origin_is_refused_even_with_the_token,
    the_session_id_changes_at_sign_in,
    responses_carry_the_security_headers,
    oversized_bodies_are_refused,
    a_member_of_another_organization_gets_a_404,
    a_refusal_says_what_was_refused_and_keeps_the_header,
    a_flash_message_is_shown_once_by_whichever_instance_serves_the_next_page,
    a_flash_cookie_altered_in_the_browser_is_not_shown,
    a_token_in_the_query_string_is_ignored_outside_the_csv_upload,
    signed_in_pages_and_api_answers_are_not_stored_but_static_files_are,
    hsts_is_sent_only_with_secure_cookies,
);
