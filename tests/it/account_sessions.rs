//! The Account page's list of one's sessions, and ending them.

use crate::helpers::*;
use roster::db;
use roster::domain::Role;

const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const SAFARI: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";
const CHROME: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";

/// A new browser that sends `user_agent`, signed in as `email`.
async fn browser_with(app: &TestApp, user_agent: &str, email: &str, password: &str) -> TestApp {
    let mut browser = app.new_browser();
    browser.client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .unwrap();
    let response = browser.sign_in(email, password).await;
    assert_eq!(response.status(), 303, "{email} signs in");
    browser
}

/// The rows of the sessions table: (browser cell text, has "This browser", end-form action).
fn listed(html: &str) -> Vec<(String, bool, Option<String>)> {
    let doc = scraper::Html::parse_document(html);
    let rows =
        scraper::Selector::parse("section[aria-labelledby=sessions-heading] tbody tr").unwrap();
    let cell = scraper::Selector::parse("td").unwrap();
    let form = scraper::Selector::parse("form").unwrap();
    doc.select(&rows)
        .map(|row| {
            let first = row.select(&cell).next().unwrap();
            let text = first.text().collect::<String>();
            (
                text.trim().to_string(),
                text.contains("This browser"),
                row.select(&form)
                    .next()
                    .and_then(|f| f.value().attr("action"))
                    .map(str::to_string),
            )
        })
        .collect()
}

async fn audited(app: &TestApp, action: &str) -> Vec<db::audit::Listed> {
    db::audit::recent(&app.state.db, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

async fn sessions_listed_with_their_browsers_and_this_one_marked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let firefox = browser_with(&app, FIREFOX, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let safari = browser_with(&app, SAFARI, ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let (status, html) = firefox.get_html("/account").await;

    assert_eq!(status, 200);
    let rows = listed(&html);
    // The set-up browser (no User-Agent), Firefox and Safari.
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows[0].0.starts_with("Firefox 128 on Linux"), "{rows:?}");
    assert!(rows[0].1, "this browser is marked and listed first");
    assert!(
        rows[0].2.is_none(),
        "this browser is signed out with Sign out"
    );
    assert!(
        rows.iter()
            .any(|r| r.0 == "Safari 17 on iOS" && !r.1 && r.2.is_some())
    );
    assert!(rows.iter().any(|r| r.0 == "Unknown browser" && !r.1));
    assert_eq!(rows.iter().filter(|r| r.1).count(), 1);
    let (_, html) = safari.get_html("/account").await;
    let rows = listed(&html);
    assert!(
        rows[0].0.starts_with("Safari 17 on iOS") && rows[0].1,
        "{rows:?}"
    );
    assert!(html.contains("127.0.0.1"), "the address is shown");
    // Another account's sessions are not listed.
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let bea = browser_with(&app, CHROME, "bea@example.com", MEMBER_PASSWORD).await;
    let (_, html) = bea.get_html("/account").await;
    let rows = listed(&html);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(rows[0].0.starts_with("Chrome 126 on Windows"));
    // Signing out forgets the session.
    assert_eq!(safari.post_form("/sign-out", &[]).await.status(), 303);
    let (_, html) = firefox.get_html("/account").await;
    assert_eq!(listed(&html).len(), 2);
}

async fn ending_another_session_signs_it_out_at_once(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let firefox = browser_with(&app, FIREFOX, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let safari = browser_with(&app, SAFARI, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let members = format!("/orgs/{ORG_SLUG}/members");
    // Seen on an organization's page, whose authorization reads the session with the
    // account (the instance remembers it).
    assert_eq!(safari.get(&members).await.status(), 200);
    let (_, html) = firefox.get_html("/account").await;
    let action = listed(&html)
        .into_iter()
        .find(|r| r.0 == "Safari 17 on iOS")
        .and_then(|r| r.2)
        .unwrap();

    let response = firefox.post_form(&action, &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/account");
    let ended = safari.get(&members).await;
    assert_eq!(ended.status(), 303, "the ended session is signed out");
    assert!(location(&ended).starts_with("/sign-in"));
    assert_eq!(safari.get("/account").await.status(), 303);
    assert_eq!(
        firefox.get("/account").await.status(),
        200,
        "this one goes on"
    );
    assert_eq!(app.get("/account").await.status(), 200, "and the third");
    let events = audited(&app, "session.ended").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_email.as_deref(), Some(ADMIN_EMAIL));
    // Ending it again finds nothing.
    assert_eq!(firefox.post_form(&action, &[]).await.status(), 404);
    // This browser's own session is not ended from the list (signing out does that).
    let own = scalar_text(
        &app.state.db,
        &format!("SELECT session_id FROM account_sessions WHERE user_agent = '{FIREFOX}'"),
    )
    .await;
    let response = firefox
        .post_form(&format!("/account/sessions/{own}/end"), &[])
        .await;
    assert_eq!(response.status(), 404);
    assert_eq!(firefox.get("/account").await.status(), 200);
}

async fn signing_out_all_others_keeps_only_this_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let firefox = browser_with(&app, FIREFOX, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let safari = browser_with(&app, SAFARI, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let bea = browser_with(&app, CHROME, "bea@example.com", MEMBER_PASSWORD).await;
    // A second instance serves the same database: ending is seen there too.
    let other_instance = safari.another_instance().await;
    assert_eq!(other_instance.get("/account").await.status(), 200);

    let response = firefox.post_form("/account/sessions/end-others", &[]).await;

    assert_eq!(response.status(), 303);
    let (status, html) = firefox.get_html("/account").await;
    assert_eq!(status, 200);
    assert!(
        html.contains("Your 2 other sessions were signed out."),
        "{html}"
    );
    let rows = listed(&html);
    assert_eq!(rows.len(), 1);
    assert!(rows[0].1);
    assert_eq!(safari.get("/account").await.status(), 303);
    assert_eq!(other_instance.get("/account").await.status(), 303);
    assert_eq!(app.get("/account").await.status(), 303);
    assert_eq!(
        bea.get("/account").await.status(),
        200,
        "another account's stay"
    );
    let events = audited(&app, "session.others_ended").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].after_value.as_deref(), Some("2"));
}

async fn another_accounts_session_cannot_be_ended(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let bea = browser_with(&app, CHROME, "bea@example.com", MEMBER_PASSWORD).await;
    let bea_id = scalar_i64(
        &app.state.db,
        "SELECT id FROM users WHERE email = 'bea@example.com'",
    )
    .await;
    let bea_session = scalar_text(
        &app.state.db,
        &format!("SELECT session_id FROM account_sessions WHERE user_id = {bea_id}"),
    )
    .await;

    let response = app
        .post_form(&format!("/account/sessions/{bea_session}/end"), &[])
        .await;

    assert_eq!(response.status(), 404);
    assert_eq!(
        bea.get("/account").await.status(),
        200,
        "Bea stays signed in"
    );
    assert!(audited(&app, "session.ended").await.is_empty());
    // Nor is an unknown id anything but a 404.
    let response = app.post_form("/account/sessions/nonsense/end", &[]).await;
    assert_eq!(response.status(), 404);
}

async fn last_seen_is_written_at_most_once_a_minute(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let firefox = browser_with(&app, FIREFOX, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let seen = || async {
        scalar_i64(
            &app.state.db,
            "SELECT MAX(last_seen_at) FROM account_sessions",
        )
        .await
    };
    let members = format!("/orgs/{ORG_SLUG}/members");
    let signed_in = seen().await;

    app.clock().advance(30);
    assert_eq!(firefox.get(&members).await.status(), 200);
    assert_eq!(firefox.get("/account").await.status(), 200);
    assert_eq!(seen().await, signed_in, "not written within the minute");

    app.clock().advance(31);
    assert_eq!(firefox.get(&members).await.status(), 200);
    let written = seen().await;
    assert!(written >= signed_in + 61, "written after a minute");
    assert_eq!(firefox.get("/account").await.status(), 200);
    assert_eq!(seen().await, written, "once");

    // A second instance (its own memory) still writes at most once a minute.
    let other = firefox.another_instance().await;
    assert_eq!(other.get("/account").await.status(), 200);
    assert_eq!(
        seen().await,
        written,
        "the row says it was written this minute"
    );
}

async fn expired_sessions_are_not_listed_and_are_forgotten(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let firefox = browser_with(&app, FIREFOX, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let safari_id = {
        let _safari = browser_with(&app, SAFARI, ADMIN_EMAIL, ADMIN_PASSWORD).await;
        scalar_text(
            &app.state.db,
            &format!("SELECT session_id FROM account_sessions WHERE user_agent = '{SAFARI}'"),
        )
        .await
    };
    let (table, past) = if matches!(app.state.db, db::Db::Sqlite(..)) {
        ("tower_sessions", "0")
    } else {
        ("tower_sessions.session", "'2000-01-01T00:00:00Z'")
    };
    exec_sql(
        &app.state.db,
        &format!("UPDATE {table} SET expiry_date = {past} WHERE id = '{safari_id}'"),
    )
    .await;

    let (_, html) = firefox.get_html("/account").await;

    let rows = listed(&html);
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| !r.0.contains("Safari")));
    // The store's clean-up deletes the expired record; the row goes with the next prune.
    exec_sql(
        &app.state.db,
        &format!("DELETE FROM {table} WHERE id = '{safari_id}'"),
    )
    .await;
    assert_eq!(db::account_sessions::prune(&app.state.db).await.unwrap(), 1);
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM account_sessions").await,
        2
    );
}

/// A request that began before its session was ended, and changes the session (a flash
/// message, say), saves the record as it ends: the record must stay gone.
async fn a_request_in_flight_does_not_bring_an_ended_session_back(backend: Backend) {
    use tower_sessions::SessionStore;
    use tower_sessions::session::Id;

    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let firefox = browser_with(&app, FIREFOX, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let safari = browser_with(&app, SAFARI, ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let id = scalar_text(
        &app.state.db,
        &format!("SELECT session_id FROM account_sessions WHERE user_agent = '{SAFARI}'"),
    )
    .await;
    let store = roster::auth::store::Store::for_db(&app.state.db)
        .await
        .unwrap();
    let id: Id = id.parse().unwrap();
    // What Safari's request in flight holds.
    let mut record = store
        .load(&id)
        .await
        .unwrap()
        .expect("the record is stored");

    let response = firefox.post_form("/account/sessions/end-others", &[]).await;
    assert_eq!(response.status(), 303);
    record.data.insert("late".into(), serde_json::json!(true));
    store.save(&record).await.unwrap();

    assert!(store.load(&id).await.unwrap().is_none(), "it stays ended");
    assert_eq!(safari.get("/account").await.status(), 303, "and signed out");
    // A record still stored is saved as before.
    let own = scalar_text(
        &app.state.db,
        &format!("SELECT session_id FROM account_sessions WHERE user_agent = '{FIREFOX}'"),
    )
    .await;
    let own: Id = own.parse().unwrap();
    let mut record = store
        .load(&own)
        .await
        .unwrap()
        .expect("this browser's record is stored");
    record.data.insert("late".into(), serde_json::json!(true));
    store.save(&record).await.unwrap();
    let saved = store
        .load(&own)
        .await
        .unwrap()
        .expect("a record still stored is saved, not dropped");
    assert_eq!(saved.data.get("late"), Some(&serde_json::json!(true)));
    assert_eq!(firefox.get("/account").await.status(), 200);
}

crate::on_both_backends!(
    a_request_in_flight_does_not_bring_an_ended_session_back,
    expired_sessions_are_not_listed_and_are_forgotten,
    sessions_listed_with_their_browsers_and_this_one_marked,
    ending_another_session_signs_it_out_at_once,
    signing_out_all_others_keeps_only_this_one,
    another_accounts_session_cannot_be_ended,
    last_seen_is_written_at_most_once_a_minute,
);
