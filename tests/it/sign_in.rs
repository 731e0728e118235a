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

/// Values of `next` that browsers have been seen to follow off-site.
const REDIRECT_BYPASSES: &[&str] = &[
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "//evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "https://evil.example",
    "javascript:alert(1)",
    "/\u{FF0F}evil.example",
    "/\u{2215}evil.example",
];

async fn sign_in_never_redirects_off_site(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    for next in REDIRECT_BYPASSES {
        let browser = app.new_browser();
        let response = browser
            .post_form(
                "/sign-in",
                &[
                    ("email", ADMIN_EMAIL),
                    ("password", ADMIN_PASSWORD),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(location(&response), "/", "{next:?}");

        // Signed in, the sign-in page sends the browser on at once.
        let query: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let again = browser.get(&format!("/sign-in?next={query}")).await;
        assert_eq!(again.status(), 303, "{next:?}");
        assert_eq!(location(&again), "/", "{next:?}");
    }
    // Signed out, the page does not carry a bad value on in its form.
    let (status, html) = app
        .new_browser()
        .get_html("/sign-in?next=%2F%09%2Fevil.example")
        .await;
    assert_eq!(status, 200);
    assert_eq!(attrs(&html, r#"input[name="next"]"#, "value"), vec![""]);
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

async fn repeated_failures_from_one_address_are_throttled_for_that_account(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let browser = app.new_browser();
    for _ in 0..throttle::PER_ACCOUNT_AND_ADDRESS.hits {
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
    let retry_after: i64 = throttled.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= throttle::PER_ACCOUNT_AND_ADDRESS.window_secs);
    let message = texts(&throttled.text().await.unwrap(), "#sign-in-error")[0].clone();
    assert!(message.contains("Too many failed sign-ins"), "{message}");
    assert!(message.contains("Try again in 15 minutes"), "{message}");
    app.clock()
        .advance(throttle::PER_ACCOUNT_AND_ADDRESS.window_secs + 1);
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
    for n in 0..throttle::PER_ADDRESS.hits {
        let email = format!("guess{n}@example.com");
        assert_eq!(
            browser.sign_in(&email, "guess guess guess").await.status(),
            422
        );
    }

    let throttled = browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_eq!(throttled.status(), 429);
}

/// How many sign-ins were checked and refused, from the audit trail.
async fn failed_sign_ins(app: &TestApp) -> usize {
    db::audit::recent(&app.state.db, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "session.sign_in_failed")
        .count()
}

async fn parallel_guesses_check_no_more_passwords_than_the_limit(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let browser = app.new_browser();
    let token = browser.csrf_token().await;

    let guesses = (0..60).map(|n| {
        let client = browser.client.clone();
        let url = browser.url("/sign-in");
        let token = token.clone();
        tokio::spawn(async move {
            let guess = format!("guess number {n}");
            let form = [
                ("csrf_token", token.as_str()),
                ("email", ADMIN_EMAIL),
                ("password", guess.as_str()),
            ];
            client.post(url).form(&form).send().await.unwrap().status()
        })
    });
    let statuses = futures_util::future::join_all(guesses).await;

    let checked = statuses
        .iter()
        .filter(|s| *s.as_ref().unwrap() == 422)
        .count();
    let throttled = statuses
        .iter()
        .filter(|s| *s.as_ref().unwrap() == 429)
        .count();
    assert_eq!(checked + throttled, 60, "{statuses:?}");
    assert!(
        checked as i64 <= throttle::PER_ACCOUNT_AND_ADDRESS.hits,
        "{checked} checked"
    );
    assert_eq!(failed_sign_ins(&app).await, checked);
    assert_eq!(
        browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(),
        429,
        "the right password waits too"
    );
}

/// A browser of its own connecting from `address` (any of 127.0.0.0/8).
fn browser_at(app: &TestApp, address: &str) -> TestApp {
    let mut browser = app.new_browser();
    browser.client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .local_address(address.parse::<std::net::IpAddr>().unwrap())
        .build()
        .unwrap();
    browser
}

/// A browser that signed in to the admin's account before, then signed out.
async fn known_browser(app: &TestApp, address: &str) -> TestApp {
    let browser = browser_at(app, address);
    assert_eq!(
        browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(),
        303
    );
    assert_eq!(browser.post_form("/sign-out", &[]).await.status(), 303);
    browser
}

async fn guesses_from_many_addresses_do_not_lock_out_a_known_browser(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    let welcome = sink.wait_for(1).await.len();
    let known = known_browser(&app, "127.0.0.1").await;

    // Guesses from many addresses, each staying under its own limit.
    let per_address = throttle::PER_ACCOUNT_AND_ADDRESS.hits;
    let addresses = throttle::PER_ACCOUNT.hits / per_address + 1;
    let mut refused = 0;
    for a in 0..addresses {
        let attacker = browser_at(&app, &format!("127.0.1.{}", a + 1));
        for _ in 0..per_address {
            let status = attacker
                .sign_in(ADMIN_EMAIL, "guess guess guess")
                .await
                .status();
            assert!(status == 422 || status == 429, "{status}");
            refused += usize::from(status == 429);
        }
    }
    assert!(refused > 0, "the account-wide limit ran out");

    let stranger = browser_at(&app, "127.0.2.1");
    assert_eq!(
        stranger.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(),
        429,
        "a browser new to the account waits"
    );
    assert_eq!(
        known.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await.status(),
        303,
        "the account's own browser still signs in"
    );
    let alert = sink
        .wait_for_subject("Someone is trying to sign in to your Roster account")
        .await;
    assert_eq!(alert.to, vec![ADMIN_EMAIL.to_string()]);
    assert!(alert.text.contains("127.0."), "{}", alert.text);
    // Once, however long the attack goes on.
    let more = browser_at(&app, "127.0.2.2");
    for _ in 0..3 {
        assert_eq!(
            more.sign_in(ADMIN_EMAIL, "guess guess guess")
                .await
                .status(),
            429
        );
    }
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let alerts = sink
        .received()
        .into_iter()
        .filter(|m| m.subject.starts_with("Someone is trying"))
        .count();
    assert_eq!(alerts, 1);
    assert_eq!(sink.received().len(), welcome + 1);
    let paused = db::audit::recent(&app.state.db, 1_000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "session.sign_ins_paused")
        .count();
    assert_eq!(paused, 1);
}

async fn a_browser_known_to_another_account_is_throttled_like_a_stranger(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(
        ORG_SLUG,
        "bea@example.com",
        "Bea",
        roster::domain::Role::Member,
    )
    .await;
    // The attacker's own account gives their browser a device cookie: for that account.
    let attacker = browser_at(&app, "127.0.4.1");
    assert_eq!(
        attacker
            .sign_in("bea@example.com", MEMBER_PASSWORD)
            .await
            .status(),
        303
    );
    assert_eq!(attacker.post_form("/sign-out", &[]).await.status(), 303);
    for _ in 0..throttle::PER_ACCOUNT_AND_ADDRESS.hits {
        assert_eq!(
            attacker
                .sign_in(ADMIN_EMAIL, "guess guess guess")
                .await
                .status(),
            422
        );
    }

    let throttled = attacker.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_eq!(
        throttled.status(),
        429,
        "no exemption from another account's cookie"
    );
}

async fn guesses_from_a_shared_address_do_not_lock_out_a_known_browser(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let office = "127.0.3.1";
    let colleague = known_browser(&app, office).await;
    let attacker = browser_at(&app, office);
    for n in 0..throttle::PER_ADDRESS.hits {
        let email = format!("guess{n}@example.com");
        assert_eq!(
            attacker.sign_in(&email, "guess guess guess").await.status(),
            422
        );
    }
    assert_eq!(
        attacker
            .sign_in(ADMIN_EMAIL, "guess guess guess")
            .await
            .status(),
        429
    );

    let response = colleague.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    assert_eq!(
        response.status(),
        303,
        "the colleague's own browser signs in"
    );
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
    sign_in_never_redirects_off_site,
    wrong_password_and_unknown_email_get_the_same_answer,
    repeated_failures_from_one_address_are_throttled_for_that_account,
    repeated_failures_are_throttled_per_address,
    parallel_guesses_check_no_more_passwords_than_the_limit,
    guesses_from_many_addresses_do_not_lock_out_a_known_browser,
    guesses_from_a_shared_address_do_not_lock_out_a_known_browser,
    a_browser_known_to_another_account_is_throttled_like_a_stranger,
);
