use crate::helpers::*;
use roster::db;
use roster::domain::Role;

const NEW_PASSWORD: &str = "a brand new passphrase";
const PASSWORD_CHANGED: &str = "Your Roster password was changed";

/// The `value` of the input matching `css`.
fn field_value(html: &str, css: &str) -> String {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(css).unwrap();
    doc.select(&selector)
        .next()
        .and_then(|e| e.value().attr("value"))
        .unwrap_or_default()
        .to_string()
}

async fn stored_name(app: &TestApp) -> String {
    scalar_text(
        &app.state.db,
        &format!("SELECT name FROM users WHERE email = '{ADMIN_EMAIL}'"),
    )
    .await
}

/// The admin's password hash and sessions cut-off, to see that nothing changed.
async fn stored_credentials(app: &TestApp) -> (String, i64) {
    let hash = scalar_text(
        &app.state.db,
        &format!("SELECT password_hash FROM users WHERE email = '{ADMIN_EMAIL}'"),
    )
    .await;
    let cut_off = scalar_i64(
        &app.state.db,
        &format!("SELECT sessions_valid_after FROM users WHERE email = '{ADMIN_EMAIL}'"),
    )
    .await;
    (hash, cut_off)
}

async fn audited(app: &TestApp, action: &str) -> Vec<db::audit::Listed> {
    db::audit::recent(&app.state.db, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

fn password_form<'a>(current: &'a str, new: &'a str, confirm: &'a str) -> [(&'a str, &'a str); 3] {
    [
        ("current_password", current),
        ("new_password", new),
        ("new_password_confirm", confirm),
    ]
}

async fn a_new_name_shows_in_the_header_and_is_audited(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (status, page) = app.get_html("/account").await;
    assert_eq!(status, 200);
    assert_eq!(field_value(&page, "#name"), "Ada Lovelace");

    let response = app
        .post_form("/account/name", &[("name", "  Ada King  ")])
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/account");
    let (_, html) = app.get_html("/account").await;
    assert_eq!(texts(&html, ".who strong"), vec!["Ada King"]);
    assert_eq!(field_value(&html, "#name"), "Ada King");
    assert!(texts(&html, ".flash-success").contains(&"Name saved.".to_string()));
    let events = audited(&app, "user.name_changed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_email.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(events[0].target_email.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(events[0].before_value.as_deref(), Some("Ada Lovelace"));
    assert_eq!(events[0].after_value.as_deref(), Some("Ada King"));
}

async fn an_unchanged_name_saves_nothing_and_writes_no_audit_event(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let response = app
        .post_form("/account/name", &[("name", "Ada Lovelace")])
        .await;

    assert_eq!(response.status(), 303);
    let (_, html) = app.get_html("/account").await;
    assert!(
        texts(&html, ".flash-success")
            .contains(&"Nothing to save: your name is unchanged.".to_string())
    );
    assert!(audited(&app, "user.name_changed").await.is_empty());
}

async fn a_blank_or_too_long_name_gets_a_field_message_and_nothing_is_saved(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let too_long = "N".repeat(101);

    let blank = app.post_form("/account/name", &[("name", "   ")]).await;
    let long = app.post_form("/account/name", &[("name", &too_long)]).await;

    assert_eq!(blank.status(), 422);
    let blank_html = blank.text().await.unwrap();
    assert_eq!(texts(&blank_html, "#name-error"), vec!["Enter your name."]);
    assert_eq!(long.status(), 422);
    let long_html = long.text().await.unwrap();
    assert_eq!(
        texts(&long_html, "#name-error"),
        vec!["Use at most 100 characters."]
    );
    assert_eq!(
        field_value(&long_html, "#name"),
        too_long,
        "typed value kept"
    );
    assert_eq!(
        texts(&long_html, ".who strong"),
        vec!["Ada Lovelace"],
        "the header still shows the stored name"
    );
    assert!(texts(&long_html, "#current_password-error").is_empty());
    assert_eq!(stored_name(&app).await, "Ada Lovelace");
    assert!(audited(&app, "user.name_changed").await.is_empty());
}

async fn each_password_mistake_gets_its_own_field_message_and_changes_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let before = stored_credentials(&app).await;
    let cases = [
        (
            password_form("not my password", NEW_PASSWORD, NEW_PASSWORD),
            "#current_password-error",
            "That is not your current password.",
        ),
        (
            password_form(ADMIN_PASSWORD, "too short", "too short"),
            "#new_password-error",
            "Use at least 10 characters.",
        ),
        (
            password_form(ADMIN_PASSWORD, NEW_PASSWORD, "a brand new passphrasE"),
            "#new_password_confirm-error",
            "The two new passwords do not match.",
        ),
    ];

    for (form, field, message) in cases {
        let response = app.post_form("/account/password", &form).await;

        assert_eq!(response.status(), 422, "{field}");
        let html = response.text().await.unwrap();
        assert_eq!(texts(&html, field), vec![message]);
        assert_eq!(
            texts(&html, ".field-error").len(),
            1,
            "only {field} has a message"
        );
        for (_, typed) in form {
            assert!(!html.contains(typed), "a password was echoed: {typed}");
        }
    }
    assert_eq!(stored_credentials(&app).await, before);
    assert!(audited(&app, "user.password_changed").await.is_empty());
    assert_eq!(app.get("/account").await.status(), 200, "still signed in");
}

async fn a_new_password_replaces_the_old_ends_other_sessions_and_is_emailed(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    let elsewhere = app.new_browser();
    assert_eq!(
        elsewhere
            .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(elsewhere.get("/account").await.status(), 200);
    let members = format!("/orgs/{ORG_SLUG}/members");
    assert_eq!(elsewhere.get(&members).await.status(), 200);
    // The other session was signed in within the same second as the change: it ends too.

    let response = app
        .post_form(
            "/account/password",
            &password_form(ADMIN_PASSWORD, NEW_PASSWORD, NEW_PASSWORD),
        )
        .await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/account");
    let (status, html) = app.get_html("/account").await;
    assert_eq!(status, 200, "this session goes on");
    assert!(
        texts(&html, ".flash-success")
            .iter()
            .any(|t| t.starts_with("Password changed."))
    );
    let ended = elsewhere.get("/account").await;
    assert_eq!(ended.status(), 303, "the other session has ended");
    assert_eq!(location(&ended), "/sign-in?next=%2Faccount");
    // Its instance had seen it on an organization's page, which reads it with the account.
    assert_eq!(elsewhere.get(&members).await.status(), 303);
    let old = app.new_browser().sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(old.status(), 422, "the old password no longer works");
    let new = app.new_browser().sign_in(ADMIN_EMAIL, NEW_PASSWORD).await;
    assert_eq!(new.status(), 303, "the new password works");
    let events = audited(&app, "user.password_changed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_email.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(events[0].target_email.as_deref(), Some(ADMIN_EMAIL));
    assert!(events[0].before_value.is_none() && events[0].after_value.is_none());
    let mail = sink.wait_for_subject(PASSWORD_CHANGED).await;
    assert_eq!(mail.to, vec![ADMIN_EMAIL.to_string()]);
    assert!(mail.text.contains("Hello Ada Lovelace"), "{}", mail.text);
    assert!(mail.text.contains("was changed at"), "{}", mail.text);
    assert!(!mail.text.contains(NEW_PASSWORD) && !mail.html.contains(NEW_PASSWORD));
    assert!(
        mail.html
            .contains(&format!("<strong>{ADMIN_EMAIL}</strong>"))
    );
}

async fn any_signed_in_member_has_an_account_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "viewer@example.com", "Vera Viewer", Role::Viewer)
        .await;
    let viewer = app.browser_for("viewer@example.com").await;

    let (status, html) = viewer.get_html("/account").await;
    let rename = viewer
        .post_form("/account/name", &[("name", "Vera V.")])
        .await;

    assert_eq!(status, 200);
    assert!(html.contains("viewer@example.com"));
    assert_eq!(field_value(&html, "#name"), "Vera Viewer");
    assert_eq!(rename.status(), 303);
    let (_, after) = viewer.get_html("/account").await;
    assert_eq!(texts(&after, ".who strong"), vec!["Vera V."]);
    assert_eq!(
        stored_name(&app).await,
        "Ada Lovelace",
        "only their own name"
    );
}

async fn without_a_session_the_account_page_sends_you_to_sign_in(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let stranger = app.new_browser();

    let page = stranger.get("/account").await;
    let rename = stranger
        .post_form("/account/name", &[("name", "Mallory")])
        .await;
    let password = stranger
        .post_form(
            "/account/password",
            &password_form(ADMIN_PASSWORD, NEW_PASSWORD, NEW_PASSWORD),
        )
        .await;

    assert_eq!(page.status(), 303);
    assert_eq!(location(&page), "/sign-in?next=%2Faccount");
    assert_eq!(rename.status(), 303);
    assert!(location(&rename).starts_with("/sign-in?next="));
    assert_eq!(password.status(), 303);
    assert!(location(&password).starts_with("/sign-in?next="));
    assert_eq!(stored_name(&app).await, "Ada Lovelace");
}

async fn changes_without_the_csrf_token_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let before = stored_credentials(&app).await;

    let rename = app
        .client
        .post(app.url("/account/name"))
        .form(&[("name", "Mallory")])
        .send()
        .await
        .unwrap();
    let password = app
        .client
        .post(app.url("/account/password"))
        .form(&password_form(ADMIN_PASSWORD, NEW_PASSWORD, NEW_PASSWORD))
        .send()
        .await
        .unwrap();

    assert_eq!(rename.status(), 403);
    assert_eq!(password.status(), 403);
    assert_eq!(stored_name(&app).await, "Ada Lovelace");
    assert_eq!(stored_credentials(&app).await, before);
}

async fn guessing_the_current_password_is_throttled(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let before = stored_credentials(&app).await;
    for _ in 0..roster::auth::throttle::PASSWORD_CONFIRMATION.hits {
        let wrong = password_form("not my password", NEW_PASSWORD, NEW_PASSWORD);
        assert_eq!(
            app.post_form("/account/password", &wrong).await.status(),
            422
        );
    }

    let right = password_form(ADMIN_PASSWORD, NEW_PASSWORD, NEW_PASSWORD);
    let response = app.post_form("/account/password", &right).await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    let message = texts(&html, "#current_password-error");
    assert!(
        message[0].starts_with("Too many wrong passwords"),
        "{message:?}"
    );
    assert_eq!(stored_credentials(&app).await, before, "nothing changed");
}

crate::on_both_backends!(
    a_new_name_shows_in_the_header_and_is_audited,
    an_unchanged_name_saves_nothing_and_writes_no_audit_event,
    a_blank_or_too_long_name_gets_a_field_message_and_nothing_is_saved,
    each_password_mistake_gets_its_own_field_message_and_changes_nothing,
    a_new_password_replaces_the_old_ends_other_sessions_and_is_emailed,
    any_signed_in_member_has_an_account_page,
    without_a_session_the_account_page_sends_you_to_sign_in,
    changes_without_the_csrf_token_are_refused,
    guessing_the_current_password_is_throttled,
);
