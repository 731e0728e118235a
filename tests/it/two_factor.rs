//! Two-factor authentication: enrolment, the second step of sign-in, recovery codes,
//! turning it off, an instance admin's reset, and an organization's requirement.

use reqwest::Method;
use roster::domain::Role;
use totp_rs::{Algorithm, Secret, TOTP};

use crate::helpers::*;

const BEA: &str = "bea@example.com";

/// The code an authenticator app shows for `secret` (base32) at `now`.
pub(crate) fn code_at(secret: &str, now: i64) -> String {
    let bytes = Secret::Encoded(secret.to_string()).to_bytes().unwrap();
    TOTP::new_unchecked(Algorithm::SHA1, 6, 1, 30, bytes).generate(now as u64)
}

/// Sets up two-factor authentication for the client's signed-in person; returns the
/// secret and the recovery codes. The clock then moves to the next time step, so that
/// the next code is a fresh one.
pub(crate) async fn enrol(app: &TestApp) -> (String, Vec<String>) {
    let (status, page) = app.get_html("/account/two-factor").await;
    assert_eq!(status, 200);
    let secret: String = texts(&page, "#two-factor-secret")[0]
        .split_whitespace()
        .collect();
    assert!(
        page.contains("role=\"img\""),
        "the QR code is an image with a name"
    );
    let code = code_at(&secret, app.clock().now());
    let response = app
        .post_form("/account/two-factor", &[("code", &code)])
        .await;
    assert_eq!(response.status(), 200);
    let page = response.text().await.unwrap();
    let codes = texts(&page, "ol.recovery-codes code");
    app.clock().advance(30);
    (secret, codes)
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar_i64(&app.state.db, sql).await
}

/// Signs in with the password only; the browser is at the second step.
async fn password_step(app: &TestApp, email: &str, password: &str) -> TestApp {
    let browser = app.new_browser();
    let response = browser.sign_in(email, password).await;
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/sign-in/two-factor");
    browser
}

async fn enrolment_shows_ten_codes_once_and_refuses_a_wrong_first_code(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let (_, page) = app.get_html("/account").await;
    assert!(page.contains("Set up two-factor authentication"));
    assert_eq!(app.get("/account/two-factor").await.status(), 200);
    let wrong = app
        .post_form("/account/two-factor", &[("code", "000000")])
        .await;
    assert_eq!(wrong.status(), 422);
    let page = wrong.text().await.unwrap();
    assert!(
        !texts(&page, "#code-error").is_empty(),
        "a message by the field: {page}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE two_factor_secret IS NOT NULL"
        )
        .await,
        0
    );

    let (secret, codes) = enrol(&app).await;
    assert_eq!(codes.len(), 10);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM recovery_codes").await,
        10,
        "stored"
    );
    let stored = scalar_text(&app.state.db, "SELECT two_factor_secret FROM users").await;
    assert!(!stored.contains(&secret), "the secret is sealed at rest");
    let (_, account) = app.get_html("/account").await;
    assert!(account.contains("10 unused recovery codes"));
    for code in &codes {
        assert!(!account.contains(code.as_str()), "the codes are shown once");
    }
    let again = app.get("/account/two-factor").await;
    assert_eq!(again.status(), 303, "set-up is over");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'two_factor.enabled'"
        )
        .await,
        1
    );
}

async fn sign_in_asks_for_a_code_and_never_takes_one_twice(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (secret, _) = enrol(&app).await;

    let browser = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let members = browser.get(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert_eq!(members.status(), 303, "not signed in yet");
    assert!(location(&members).starts_with("/sign-in"));
    let (status, page) = browser.get_html("/sign-in/two-factor").await;
    assert_eq!(status, 200);
    assert!(page.contains("autocomplete=\"one-time-code\""));
    assert!(page.contains("Use a recovery code instead"));

    let code = code_at(&secret, app.clock().now());
    let done = browser
        .post_form("/sign-in/two-factor", &[("code", &code)])
        .await;
    assert_eq!(done.status(), 303);
    let members = browser.get(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert_eq!(members.status(), 200, "signed in");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'session.signed_in'"
        )
        .await,
        1,
        "one sign-in, recorded when the code was right"
    );

    // The same code, replayed in another browser, is refused.
    let other = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let replay = other
        .post_form("/sign-in/two-factor", &[("code", &code)])
        .await;
    assert_eq!(replay.status(), 422);
    assert_eq!(
        other
            .get(&format!("/orgs/{ORG_SLUG}/members"))
            .await
            .status(),
        303
    );
}

async fn one_code_sent_twice_at_once_signs_in_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (secret, _) = enrol(&app).await;
    let mut browsers = Vec::new();
    for _ in 0..4 {
        let browser = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let token = browser.csrf_token().await;
        browsers.push((browser, token));
    }
    let code = code_at(&secret, app.clock().now());
    let attempts = browsers.iter().map(|(browser, token)| {
        browser
            .client
            .post(browser.url("/sign-in/two-factor"))
            .form(&[("csrf_token", token.as_str()), ("code", code.as_str())])
            .send()
    });
    let statuses: Vec<u16> = futures_util::future::join_all(attempts)
        .await
        .into_iter()
        .map(|r| r.unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(statuses.iter().filter(|s| **s == 422).count(), 3);
}

async fn a_recovery_code_works_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (_, codes) = enrol(&app).await;

    let browser = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (_, page) = browser.get_html("/sign-in/two-factor?recovery=1").await;
    assert!(page.contains("Recovery code"));
    let used = browser
        .post_form(
            "/sign-in/two-factor",
            &[("code", &codes[3].to_uppercase()), ("recovery", "1")],
        )
        .await;
    assert_eq!(used.status(), 303);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM recovery_codes").await, 9);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'two_factor.recovery_code_used'"
        )
        .await,
        1
    );

    let again = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let refused = again
        .post_form(
            "/sign-in/two-factor",
            &[("code", &codes[3]), ("recovery", "1")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("already used"));
}

async fn wrong_codes_are_throttled(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (secret, _) = enrol(&app).await;
    let browser = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let right = code_at(&secret, app.clock().now());
    let wrong = if right == "123456" {
        "654321"
    } else {
        "123456"
    };
    for _ in 0..5 {
        let response = browser
            .post_form("/sign-in/two-factor", &[("code", wrong)])
            .await;
        assert_eq!(response.status(), 422);
    }
    let throttled = browser
        .post_form("/sign-in/two-factor", &[("code", &right)])
        .await;
    assert_eq!(throttled.status(), 429, "even the right code waits");
    assert!(throttled.text().await.unwrap().contains("Try again in"));
}

async fn the_second_step_expires(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (secret, _) = enrol(&app).await;
    let browser = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.clock().advance(5 * 60 + 1);
    let code = code_at(&secret, app.clock().now());
    let late = browser
        .post_form("/sign-in/two-factor", &[("code", &code)])
        .await;
    assert_eq!(late.status(), 303);
    assert_eq!(location(&late), "/sign-in");
    assert_eq!(
        browser
            .get(&format!("/orgs/{ORG_SLUG}/members"))
            .await
            .status(),
        303,
        "not signed in"
    );
}

async fn turning_it_off_needs_the_password_and_a_code(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (secret, _) = enrol(&app).await;
    let code = code_at(&secret, app.clock().now());

    let wrong_password = app
        .post_form(
            "/account/two-factor/disable",
            &[("password", "not my password"), ("code", &code)],
        )
        .await;
    assert_eq!(wrong_password.status(), 422);
    assert!(
        wrong_password
            .text()
            .await
            .unwrap()
            .contains("off-password-error")
    );
    let wrong_code = app
        .post_form(
            "/account/two-factor/disable",
            &[("password", ADMIN_PASSWORD), ("code", "1234")],
        )
        .await;
    assert_eq!(wrong_code.status(), 422);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE two_factor_enabled_at IS NOT NULL"
        )
        .await,
        1
    );

    let off = app
        .post_form(
            "/account/two-factor/disable",
            &[("password", ADMIN_PASSWORD), ("code", &code)],
        )
        .await;
    assert_eq!(off.status(), 303);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE two_factor_enabled_at IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM recovery_codes").await, 0);
    let browser = app.new_browser();
    assert_eq!(
        location(&browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await),
        "/",
        "the password alone signs in again"
    );
}

async fn new_recovery_codes_replace_the_old_ones(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (_, old) = enrol(&app).await;
    let refused = app
        .post_form(
            "/account/two-factor/recovery-codes",
            &[("password", "nope")],
        )
        .await;
    assert_eq!(refused.status(), 422);
    let response = app
        .post_form(
            "/account/two-factor/recovery-codes",
            &[("password", ADMIN_PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), 200);
    let new = texts(&response.text().await.unwrap(), "ol.recovery-codes code");
    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| !old.contains(c)));
    let browser = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let stale = browser
        .post_form("/sign-in/two-factor", &[("code", &old[0])])
        .await;
    assert_eq!(stale.status(), 422);
}

async fn an_instance_admin_resets_it_and_nobody_else_may(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let bea_id = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let bea = app.browser_for(BEA).await;
    enrol(&bea).await;

    let path = format!("/admin/users/{bea_id}/reset-two-factor");
    assert_eq!(bea.post_form(&path, &[]).await.status(), 403);
    let (_, page) = app.get_html("/admin/users").await;
    assert!(page.contains("Reset two-factor"));
    let reset = app.post_form(&path, &[]).await;
    assert_eq!(reset.status(), 303);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE two_factor_enabled_at IS NOT NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'two_factor.reset'"
        )
        .await,
        1
    );
    let again = app.new_browser().sign_in(BEA, MEMBER_PASSWORD).await;
    assert_eq!(
        location(&again),
        "/",
        "Bea signs in with her password alone"
    );
}

/// The settings form with the requirement on or off.
async fn require_two_factor(app: &TestApp, on: bool) -> reqwest::Response {
    let mut fields = vec![
        ("name", ORG_NAME),
        ("lifetime_value", "7"),
        ("lifetime_unit", "days"),
        ("max_pending_invitations", "50"),
        ("max_members", "1000"),
        ("allowed_email_domains", ""),
    ];
    if on {
        fields.push(("require_two_factor", "on"));
    }
    app.post_form(&format!("/orgs/{ORG_SLUG}/settings"), &fields)
        .await
}

async fn an_organization_can_require_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let bea = app.browser_for(BEA).await;
    let token = bea.create_token(ORG_SLUG, "sync").await;
    let (_, settings) = app.get_html(&format!("/orgs/{ORG_SLUG}/settings")).await;
    assert!(settings.contains("2 active members do not have it yet"));

    enrol(&app).await;
    assert_eq!(require_two_factor(&app, true).await.status(), 303);

    let members = bea.get(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert_eq!(members.status(), 303);
    let to = location(&members);
    assert!(to.starts_with("/account/two-factor?next="), "{to}");
    let (_, page) = bea.get_html(&to).await;
    assert!(page.contains("requires two-factor authentication"));
    let (status, body) = bea
        .api(Method::GET, &token, &format!("/orgs/{ORG_SLUG}"), None)
        .await;
    assert_eq!(status, 403);
    assert_eq!(body["code"], "two_factor_required");

    // Once Bea has it, the organization and her token work again; she may still not
    // change the requirement.
    enrol(&bea).await;
    assert_eq!(
        bea.get(&format!("/orgs/{ORG_SLUG}/members")).await.status(),
        200
    );
    let (status, _) = bea
        .api(Method::GET, &token, &format!("/orgs/{ORG_SLUG}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(require_two_factor(&bea, false).await.status(), 403);

    // It holds for members who join later.
    app.add_member(ORG_SLUG, "cy@example.com", "Cy", Role::Admin)
        .await;
    let cy = app.browser_for("cy@example.com").await;
    assert_eq!(
        cy.get(&format!("/orgs/{ORG_SLUG}/members")).await.status(),
        303
    );
}

async fn a_used_recovery_code_is_emailed_with_how_many_are_left(backend: Backend) {
    let sink = crate::smtp_sink::SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    let (_, codes) = enrol(&app).await;
    let browser = password_step(&app, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let used = browser
        .post_form(
            "/sign-in/two-factor",
            &[("code", &codes[0]), ("recovery", "1")],
        )
        .await;
    assert_eq!(used.status(), 303);
    let mail = sink
        .wait_for_subject("A recovery code was used for your Roster account")
        .await;
    assert_eq!(mail.to, vec![ADMIN_EMAIL.to_string()]);
    assert!(mail.text.contains("9 recovery codes left"), "{}", mail.text);
    assert!(!mail.text.contains(&codes[0]));
}

async fn the_members_page_shows_who_has_it_and_filters_by_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let bea = app.browser_for(BEA).await;
    enrol(&bea).await;
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/invitations"),
        &[("emails", "cy@example.com"), ("role", "viewer")],
    )
    .await;
    let members = format!("/orgs/{ORG_SLUG}/members");

    let (_, page) = app.get_html(&members).await;
    let row = |email: &str| {
        texts(&page, "tbody tr")
            .into_iter()
            .find(|r| r.contains(email))
            .unwrap_or_else(|| panic!("{email} is listed"))
    };
    assert!(row(BEA).contains("Password 2FA"), "{}", row(BEA));
    assert!(row(ADMIN_EMAIL).contains("no 2FA"), "{}", row(ADMIN_EMAIL));
    assert!(
        !row("cy@example.com").contains("2FA"),
        "an invitation has no second factor to show"
    );

    let emails = |html: &str| -> Vec<String> {
        texts(html, "tbody tr td.cell-email")
            .into_iter()
            .map(|t| t.trim_end_matches(" you").to_string())
            .collect()
    };
    let (_, on) = app.get_html(&format!("{members}?two_factor=on")).await;
    assert_eq!(emails(&on), [BEA]);
    assert!(on.contains("1 row"), "the count follows the filter");
    let (_, off) = app.get_html(&format!("{members}?two_factor=off")).await;
    assert_eq!(
        emails(&off),
        [ADMIN_EMAIL],
        "invitations are not members without a second factor"
    );
    // The filter stays in the links that sort and page.
    assert!(off.contains("two_factor=off&#38;sort="), "{off}");

    let token = app.create_token(ORG_SLUG, "audit").await;
    let (status, body) = app
        .api(
            Method::GET,
            &token,
            &format!("/orgs/{ORG_SLUG}/members?two_factor=true"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let listed: Vec<_> = body["items"].as_array().unwrap().iter().collect();
    assert_eq!(listed.len(), 1, "{body}");
    assert_eq!(listed[0]["email"], BEA);
    assert_eq!(listed[0]["two_factor"], true);
    let (_, body) = app
        .api(
            Method::GET,
            &token,
            &format!("/orgs/{ORG_SLUG}/members"),
            None,
        )
        .await;
    let admin = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["email"] == ADMIN_EMAIL)
        .unwrap();
    assert_eq!(admin["two_factor"], false);
}

crate::on_both_backends!(
    the_members_page_shows_who_has_it_and_filters_by_it,
    a_used_recovery_code_is_emailed_with_how_many_are_left,
    enrolment_shows_ten_codes_once_and_refuses_a_wrong_first_code,
    sign_in_asks_for_a_code_and_never_takes_one_twice,
    one_code_sent_twice_at_once_signs_in_once,
    a_recovery_code_works_once,
    wrong_codes_are_throttled,
    the_second_step_expires,
    turning_it_off_needs_the_password_and_a_code,
    new_recovery_codes_replace_the_old_ones,
    an_instance_admin_resets_it_and_nobody_else_may,
    an_organization_can_require_it,
);
