use crate::helpers::*;
use roster::auth::throttle;
use roster::db;

async fn sign_in_lands_on_the_members_page_and_sign_out_ends_the_session(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let browser = app.new_browser();

    let response = browser.sign_in("ADA@example.com", ADMIN_PASSWORD).await;
    assert_eq!(location(&response), "/");
    let home = browser.get("/").await;
    assert_eq!(location(&home), format!("/orgs/{ORG_SLUG}/members"));
    let (_, html) = browser.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(
        texts(&html, ".who")
            .iter()
            .any(|t| t.contains("Ada Lovelace"))
    );

    let out = browser.post_form("/sign-out", &[]).await;
    assert_eq!(location(&out), "/sign-in");
    let after = browser.get(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert_eq!(after.status(), 303);
    let actions: Vec<String> = db::audit::recent(&app.state.db, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert!(actions.contains(&"session.signed_in".to_string()));
    assert!(actions.contains(&"session.signed_out".to_string()));
}

async fn sign_in_returns_to_the_page_asked_for(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let browser = app.new_browser();

    let bounce = browser
        .get(&format!("/orgs/{ORG_SLUG}/members?page=1"))
        .await;
    assert_eq!(
        location(&bounce),
        format!("/sign-in?next=%2Forgs%2F{ORG_SLUG}%2Fmembers%3Fpage%3D1")
    );
    let response = browser
        .post_form(
            "/sign-in",
            &[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("next", &format!("/orgs/{ORG_SLUG}/members?page=1")),
            ],
        )
        .await;
    assert_eq!(
        location(&response),
        format!("/orgs/{ORG_SLUG}/members?page=1")
    );

    let evil = app.new_browser();
    let response = evil
        .post_form(
            "/sign-in",
            &[
                ("email", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/", "no open redirect");
}

async fn wrong_password_and_unknown_email_get_the_same_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let browser = app.new_browser();

    let wrong = browser.sign_in(ADMIN_EMAIL, "not the password").await;
    let wrong_status = wrong.status();
    let wrong_html = wrong.text().await.unwrap();
    let unknown = browser
        .sign_in("nobody@example.com", "not the password")
        .await;
    let unknown_status = unknown.status();
    let unknown_html = unknown.text().await.unwrap();

    assert_eq!(wrong_status, 422);
    assert_eq!(unknown_status, 422);
    assert_eq!(
        texts(&wrong_html, "#sign-in-error"),
        texts(&unknown_html, "#sign-in-error")
    );
    assert!(
        wrong_html.contains(&format!(r#"value="{ADMIN_EMAIL}""#)),
        "the typed email is kept"
    );
    let failures = db::audit::recent(&app.state.db, 10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "session.sign_in_failed")
        .count();
    assert_eq!(failures, 2);
}

async fn repeated_failures_are_throttled_per_account(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let browser = app.new_browser();
    for _ in 0..throttle::PER_ACCOUNT {
        assert_eq!(
            browser
                .sign_in(ADMIN_EMAIL, "guess guess guess")
                .await
                .status(),
            422
        );
    }

    let throttled = browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_eq!(throttled.status(), 429, "even the right password waits");
    assert!(
        texts(&throttled.text().await.unwrap(), "#sign-in-error")[0]
            .contains("Too many failed sign-ins")
    );
    app.clock().advance(throttle::WINDOW_SECS + 1);
    assert_eq!(
        browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(),
        303,
        "allowed again after the window"
    );
}

async fn repeated_failures_are_throttled_per_address(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let browser = app.new_browser();
    for n in 0..throttle::PER_ADDRESS {
        let email = format!("guess{n}@example.com");
        assert_eq!(
            browser.sign_in(&email, "guess guess guess").await.status(),
            422
        );
    }

    let throttled = browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_eq!(throttled.status(), 429);
}

/// A signed-in session's cookie, sent by a client of its own to any instance.
struct Carried {
    cookie: String,
    client: reqwest::Client,
}

impl Carried {
    /// Signs `browser` in as the admin and keeps the session's cookie.
    async fn sign_in(browser: &TestApp) -> Carried {
        let signed_in = browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
        let line = set_cookie(&signed_in, "roster_session").expect("signing in sets the session");
        Carried {
            cookie: format!("roster_session={}", cookie_value(&line)),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    /// The Members page from `instance`, with the session.
    async fn members(&self, instance: &TestApp) -> reqwest::Response {
        self.client
            .get(instance.url(&format!("/orgs/{ORG_SLUG}/members")))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap()
    }
}

async fn a_session_signed_out_on_one_instance_is_refused_by_another_that_served_it(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let other = app.another_instance().await;
    let browser = app.new_browser();
    let session = Carried::sign_in(&browser).await;

    // The second visit reads the session with its account, the instance having seen it.
    let first = session.members(&other).await.text().await.unwrap();
    let second = session.members(&other).await;
    assert_eq!(second.status(), 200);
    let second = second.text().await.unwrap();
    assert!(
        texts(&second, ".who")
            .iter()
            .any(|t| t.contains("Ada Lovelace"))
    );
    assert_eq!(
        meta_csrf(&second),
        meta_csrf(&first),
        "the session's own token"
    );
    let out = browser.post_form("/sign-out", &[]).await;
    assert_eq!(location(&out), "/sign-in");

    let after = session.members(&other).await;
    assert_eq!(after.status(), 303, "ended on every instance");
    assert!(location(&after).starts_with("/sign-in"));
}

async fn an_expired_session_is_refused_by_an_instance_that_served_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let session = Carried::sign_in(&app.new_browser()).await;
    assert_eq!(session.members(&app).await.status(), 200);
    assert_eq!(session.members(&app).await.status(), 200);

    // The store keeps the expiry as its own type: RFC 3339 text on SQLite.
    let expire = match &app.state.db {
        db::Db::Sqlite(..) => "UPDATE tower_sessions SET expiry_date = '2000-01-01T00:00:00Z'",
        db::Db::Postgres(_) => {
            "UPDATE \"tower_sessions\".\"session\" SET expiry_date = now() - interval '1 hour'"
        }
    };
    exec_sql(&app.state.db, expire).await;

    let after = session.members(&app).await;
    assert_eq!(after.status(), 303);
    assert!(location(&after).starts_with("/sign-in"));
}

crate::on_both_backends!(
    a_session_signed_out_on_one_instance_is_refused_by_another_that_served_it,
    an_expired_session_is_refused_by_an_instance_that_served_it,
    sign_in_lands_on_the_members_page_and_sign_out_ends_the_session,
    sign_in_returns_to_the_page_asked_for,
    wrong_password_and_unknown_email_get_the_same_answer,
    repeated_failures_are_throttled_per_account,
    repeated_failures_are_throttled_per_address,
);
