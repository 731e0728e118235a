use crate::helpers::*;
use roster::db;

async fn set_up_creates_the_admin_owner_and_signs_in(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let response = app.set_up().await;

    assert_eq!(location(&response), format!("/orgs/{ORG_SLUG}/members"));
    let (status, html) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert_eq!(status, 200);
    assert!(
        texts(&html, "tbody tr")
            .iter()
            .any(|row| row.contains(ADMIN_EMAIL)
                && row.contains("Owner")
                && row.contains("Active"))
    );
    assert!(
        texts(&html, ".flash-success")
            .iter()
            .any(|t| t.contains("Roster is set up"))
    );
    let events = db::audit::recent(&app.state.db, 10).await.unwrap();
    assert!(events.iter().any(|e| e.action == "instance.set_up" && e.actor_email.as_deref() == Some(ADMIN_EMAIL)));
}

async fn set_up_refuses_without_the_token(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let (missing, missing_page) = app.get_html("/setup").await;
    let (wrong, wrong_page) = app.get_html("/setup?token=not-the-token").await;
    let post = app
        .post_form(
            "/setup",
            &[
                ("token", "forged"),
                ("email", "eve@example.com"),
                ("name", "Eve"),
                ("password", "0123456789ab"),
                ("password_confirm", "0123456789ab"),
                ("organization", "Evil"),
            ],
        )
        .await;

    assert_eq!(missing, 403);
    assert_eq!(wrong, 403);
    for page in [&missing_page, &wrong_page] {
        let message = texts(page, "main p").remove(0);
        assert!(
            message.contains("Open the set-up link printed in Roster’s log when it started"),
            "the page says what to do: {message}"
        );
        assert!(!page.contains("Your role does not allow that"));
    }
    assert_eq!(post.status(), 403);
    assert!(
        post.text()
            .await
            .unwrap()
            .contains("Open the set-up link printed in Roster’s log")
    );
    assert_eq!(db::users::count(&app.state.db).await.unwrap(), 0);
}

async fn set_up_is_gone_once_an_account_exists(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let setup_url = app.setup_url.clone().unwrap();
    app.set_up().await;

    let again = app.client.get(&setup_url).send().await.unwrap();

    assert_eq!(again.status(), 404);
    assert_eq!(db::users::count(&app.state.db).await.unwrap(), 1);
}

async fn set_up_shows_field_errors_and_keeps_what_was_typed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let token = app
        .setup_url
        .clone()
        .unwrap()
        .split("token=")
        .nth(1)
        .unwrap()
        .to_string();
    app.get(&format!("/setup?token={token}")).await;

    let response = app
        .post_form(
            "/setup",
            &[
                ("token", &token),
                ("email", "not-an-email"),
                ("name", "Ada"),
                ("password", "short"),
                ("password_confirm", "short"),
                ("organization", "Engines"),
            ],
        )
        .await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert_eq!(
        texts(&html, "#email-error"),
        vec!["Enter a valid email address, like name@example.com."]
    );
    assert!(
        texts(&html, "#password-hint").is_empty(),
        "the error replaces the hint rather than saying it twice"
    );
    assert_eq!(
        attrs(&html, "#password", "aria-describedby"),
        ["password-error"]
    );
    assert_eq!(
        texts(&html, "#password-error"),
        vec!["Use at least 10 characters."]
    );
    assert!(html.contains(r#"value="not-an-email""#) && html.contains(r#"value="Engines""#));
    assert!(
        !html.contains(r#"value="short""#),
        "passwords are never sent back"
    );
    assert_eq!(
        db::users::count(&app.state.db).await.unwrap(),
        0,
        "nothing half-written"
    );
}

async fn a_restart_before_set_up_issues_a_new_link(backend: Backend) {
    let Some(first) = TestApp::spawn(backend).await else {
        return;
    };
    let db = first.stop_and_take_db().await;

    let second = TestApp::spawn_on(db, &[]).await;

    let url = second.setup_url.clone().expect("still not set up");
    assert_eq!(second.client.get(&url).send().await.unwrap().status(), 200);
}

async fn create_admin_does_what_the_set_up_page_does(backend: Backend) {
    let Some(db) = TestDb::create(backend).await else {
        return;
    };
    let binary = env!("CARGO_BIN_EXE_roster");

    let mut child = std::process::Command::new(binary)
        .args([
            "create-admin",
            "--database-url",
            &db.url,
            "--email",
            "grace@example.com",
            "--name",
            "Grace Hopper",
            "--organization",
            "Navy Labs",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a very long password\n")
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let app = TestApp::spawn_on(db, &[]).await;
    assert!(
        app.setup_url.is_none(),
        "no set-up link once an account exists"
    );
    assert_eq!(
        app.sign_in("grace@example.com", "a very long password")
            .await
            .status(),
        303
    );
    let (status, html) = app.get_html("/orgs/navy-labs/members").await;
    assert_eq!(status, 200);
    assert!(html.contains("grace@example.com"));

    let again = std::process::Command::new(binary)
        .args([
            "create-admin",
            "--database-url",
            app.db_url(),
            "--email",
            "x@example.com",
            "--name",
            "X",
            "--organization",
            "X",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!again.status.success(), "refused once set up");
}

crate::on_both_backends!(
    set_up_creates_the_admin_owner_and_signs_in,
    set_up_refuses_without_the_token,
    set_up_is_gone_once_an_account_exists,
    set_up_shows_field_errors_and_keeps_what_was_typed,
    a_restart_before_set_up_issues_a_new_link,
    create_admin_does_what_the_set_up_page_does,
);
