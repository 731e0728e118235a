//! "Forgot your password?" and reset links: the whole flow from the email, the one answer
//! for every address, links that stop working (used, expired, replaced, password
//! changed), throttling, the form's rules, instance admins' "Send password reset", and
//! parallel uses of one link.

use crate::helpers::*;
use roster::db;
use roster::domain::Role;

const BEA: &str = "bea@example.com";
const CARL: &str = "carl@example.com";
const NEW_PASSWORD: &str = "a brand new passphrase";
const RESET_SUBJECT: &str = "Reset your Roster password";
const CHANGED_SUBJECT: &str = "Your Roster password was changed";
const LINK_SENT: &str =
    "If an account uses that address, we sent a link to it. It works for one hour.";
const UNUSABLE: &str = "This link has expired or was already used";

/// Roster with SMTP to a sink, set up, with Bea (active) and Carl (deactivated).
async fn spawn_with_mail(backend: Backend) -> Option<(TestApp, SmtpSink)> {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await?;
    add_people(&app).await;
    Some((app, sink))
}

/// Roster without SMTP, set up, with Bea and Carl.
async fn spawn_without_mail(backend: Backend) -> Option<TestApp> {
    let app = TestApp::spawn(backend).await?;
    add_people(&app).await;
    Some(app)
}

async fn add_people(app: &TestApp) {
    app.set_up().await;
    app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let carl = app.add_member(ORG_SLUG, CARL, "Carl", Role::Member).await;
    exec_sql(
        &app.state.db,
        &format!("UPDATE users SET status = 'deactivated' WHERE id = {carl}"),
    )
    .await;
}

async fn user_id(app: &TestApp, email: &str) -> i64 {
    scalar_i64(
        &app.state.db,
        &format!("SELECT id FROM users WHERE email_normalized = '{email}'"),
    )
    .await
}

async fn password_hash(app: &TestApp, email: &str) -> String {
    scalar_text(
        &app.state.db,
        &format!("SELECT password_hash FROM users WHERE email_normalized = '{email}'"),
    )
    .await
}

/// Messages queued for `email` with `subject` (delivered or not).
async fn queued(app: &TestApp, email: &str, subject: &str) -> i64 {
    scalar_i64(
        &app.state.db,
        &format!(
            "SELECT COUNT(*) FROM outbox WHERE recipient = '{email}' AND subject = '{subject}'"
        ),
    )
    .await
}

async fn audited(app: &TestApp, action: &str) -> Vec<db::audit::Listed> {
    db::audit::recent(&app.state.db, 200)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// Asks for a link for `email` as a signed-out browser would; returns the page.
async fn ask_for_link(browser: &TestApp, email: &str) -> String {
    let response = browser
        .post_form("/password/forgot", &[("email", email)])
        .await;
    assert_eq!(response.status(), 200, "asking for {email}");
    response.text().await.unwrap()
}

/// The path of the reset link in an email's text.
fn link_path(text: &str) -> String {
    let start = text
        .find("/password/reset/")
        .unwrap_or_else(|| panic!("no reset link in {text}"));
    text[start..].split_whitespace().next().unwrap().to_string()
}

/// Waits for the `n`th reset email to `email` and returns its link's path.
async fn nth_link_to(sink: &SmtpSink, email: &str, n: usize) -> String {
    for _ in 0..300 {
        let mails: Vec<_> = sink
            .received()
            .into_iter()
            .filter(|m| m.subject == RESET_SUBJECT && m.to.iter().any(|t| t == email))
            .collect();
        if mails.len() >= n {
            return link_path(&mails[n - 1].text);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no reset email number {n} to {email}");
}

fn new_password(new: &str, confirm: &str) -> [(&'static str, String); 2] {
    [
        ("new_password", new.to_string()),
        ("new_password_confirm", confirm.to_string()),
    ]
}

async fn set_password(
    browser: &TestApp,
    path: &str,
    new: &str,
    confirm: &str,
) -> reqwest::Response {
    let fields = new_password(new, confirm);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post_form(path, &fields).await
}

/// Asserts that `path` is a link that no longer works, by GET and by POST.
async fn assert_unusable(browser: &TestApp, path: &str) {
    let (status, html) = browser.get_html(path).await;
    assert_eq!(status, 410, "{path} should be gone");
    assert!(html.contains(UNUSABLE), "{html}");
    assert!(attrs(&html, "main a", "href").contains(&"/password/forgot".to_string()));
    let posted = set_password(browser, path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(posted.status(), 410);
}

async fn the_whole_flow_from_the_email_sets_a_new_password_and_signs_in(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    let elsewhere = app.browser_for(BEA).await;
    assert_eq!(elsewhere.get("/account").await.status(), 200);
    let members = format!("/orgs/{ORG_SLUG}/members");
    assert_eq!(elsewhere.get(&members).await.status(), 200);
    let browser = app.new_browser();
    let (_, sign_in) = browser.get_html("/sign-in").await;
    assert!(attrs(&sign_in, "main a", "href").contains(&"/password/forgot".to_string()));

    let page = ask_for_link(&browser, BEA).await;
    assert_eq!(texts(&page, "#link-sent"), vec![LINK_SENT.to_string()]);
    let mail = sink.wait_for_subject(RESET_SUBJECT).await;
    assert_eq!(mail.to, vec![BEA.to_string()]);
    assert!(mail.text.contains("one hour"), "{}", mail.text);
    assert!(mail.html.contains("/password/reset/"), "{}", mail.html);
    let path = link_path(&mail.text);
    let secret = path.trim_start_matches("/password/reset/");
    let stored = scalar_text(&app.state.db, "SELECT token_hash FROM password_resets").await;
    assert_eq!(
        stored,
        roster::domain::token::hash(secret),
        "only a hash is kept"
    );
    assert_ne!(stored, secret);

    let (status, form) = browser.get_html(&path).await;
    assert_eq!(status, 200);
    assert!(form.contains(BEA), "the page names the account");
    assert_eq!(
        attrs(&form, "input[name=username]", "value"),
        vec![BEA.to_string()]
    );
    assert_eq!(
        attrs(&form, "input[type=password]", "autocomplete"),
        vec!["new-password", "new-password"]
    );
    let done = set_password(&browser, &path, NEW_PASSWORD, NEW_PASSWORD).await;

    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), "/");
    let (status, account) = browser.get_html("/account").await;
    assert_eq!(status, 200, "this browser is signed in");
    assert!(account.contains(BEA));
    let ended = elsewhere.get("/account").await;
    assert_eq!(
        ended.status(),
        303,
        "the session signed in before has ended"
    );
    assert_eq!(elsewhere.get(&members).await.status(), 303);
    assert_eq!(
        app.new_browser()
            .sign_in(BEA, MEMBER_PASSWORD)
            .await
            .status(),
        422
    );
    assert_eq!(
        app.new_browser().sign_in(BEA, NEW_PASSWORD).await.status(),
        303
    );
    let requested = audited(&app, "password.reset_requested").await;
    assert_eq!(requested.len(), 1);
    assert_eq!(
        requested[0].actor_email, None,
        "asked for by nobody signed in"
    );
    assert_eq!(requested[0].target_email.as_deref(), Some(BEA));
    let reset = audited(&app, "password.reset").await;
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0].actor_email.as_deref(), Some(BEA));
    assert!(reset[0].ip.is_some());
    let changed = sink.wait_for_subject(CHANGED_SUBJECT).await;
    assert_eq!(changed.to, vec![BEA.to_string()]);
    assert!(!changed.text.contains(NEW_PASSWORD));
    assert_unusable(&app.new_browser(), &path).await;
}

async fn every_address_gets_the_same_answer_and_only_active_accounts_get_mail(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    let browser = app.new_browser();

    let unknown = ask_for_link(&browser, "nobody@example.com").await;
    let deactivated = ask_for_link(&browser, CARL).await;
    let known = ask_for_link(&browser, "  BEA@example.com ").await;

    assert_eq!(unknown, known, "unknown and known addresses read the same");
    assert_eq!(deactivated, known, "a deactivated account reads the same");
    assert!(known.contains(LINK_SENT));
    sink.wait_for_mail_to(BEA).await;
    assert_eq!(queued(&app, CARL, RESET_SUBJECT).await, 0);
    assert_eq!(queued(&app, "nobody@example.com", RESET_SUBJECT).await, 0);
    let resets = sink
        .received()
        .into_iter()
        .filter(|m| m.subject == RESET_SUBJECT);
    assert_eq!(resets.count(), 1, "only the active account got a link");
    let requested = audited(&app, "password.reset_requested").await;
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0].target_email.as_deref(), Some(BEA));
    // A typo is told as one, and what was typed is kept.
    let typo = browser
        .post_form("/password/forgot", &[("email", "bea.example.com")])
        .await;
    assert_eq!(typo.status(), 422);
    let page = typo.text().await.unwrap();
    assert!(!texts(&page, "#email-error").is_empty());
    assert_eq!(
        attrs(&page, "#email", "value"),
        vec!["bea.example.com".to_string()]
    );
}

async fn a_link_works_once(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    let browser = app.new_browser();
    ask_for_link(&browser, BEA).await;
    let path = nth_link_to(&sink, BEA, 1).await;
    let first = set_password(&browser, &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(first.status(), 303);

    assert_unusable(&app.new_browser(), &path).await;
    assert_eq!(
        app.new_browser().sign_in(BEA, NEW_PASSWORD).await.status(),
        303
    );
    assert_unusable(&app.new_browser(), "/password/reset/not-a-link").await;
}

async fn a_link_expires_after_an_hour(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    let browser = app.new_browser();
    ask_for_link(&browser, BEA).await;
    let path = nth_link_to(&sink, BEA, 1).await;
    app.clock().advance(59 * 60);
    assert_eq!(
        browser.get(&path).await.status(),
        200,
        "still within the hour"
    );

    app.clock().advance(61);

    assert_unusable(&browser, &path).await;
    assert_eq!(
        app.new_browser()
            .sign_in(BEA, MEMBER_PASSWORD)
            .await
            .status(),
        303
    );
}

async fn a_newer_link_replaces_the_last(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    let browser = app.new_browser();
    ask_for_link(&browser, BEA).await;
    let first = nth_link_to(&sink, BEA, 1).await;

    ask_for_link(&browser, BEA).await;
    let second = nth_link_to(&sink, BEA, 2).await;

    assert_ne!(first, second);
    assert_unusable(&browser, &first).await;
    assert_eq!(browser.get(&second).await.status(), 200);
    let done = set_password(&browser, &second, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 303);
}

async fn changing_the_password_on_the_account_page_ends_the_link(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    ask_for_link(&app.new_browser(), ADMIN_EMAIL).await;
    let path = nth_link_to(&sink, ADMIN_EMAIL, 1).await;

    let changed = app
        .post_form(
            "/account/password",
            &[
                ("current_password", ADMIN_PASSWORD),
                ("new_password", NEW_PASSWORD),
                ("new_password_confirm", NEW_PASSWORD),
            ],
        )
        .await;

    assert_eq!(changed.status(), 303);
    assert_unusable(&app.new_browser(), &path).await;
    assert_eq!(
        app.new_browser()
            .sign_in(ADMIN_EMAIL, NEW_PASSWORD)
            .await
            .status(),
        303
    );
}

async fn requests_are_throttled_without_saying_so(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    let browser = app.new_browser();
    let first = ask_for_link(&browser, BEA).await;
    for _ in 0..4 {
        ask_for_link(&browser, BEA).await;
    }
    nth_link_to(&sink, BEA, 5).await;

    let sixth = ask_for_link(&browser, BEA).await;

    assert_eq!(sixth, first, "the answer stays the same");
    assert_eq!(
        queued(&app, BEA, RESET_SUBJECT).await,
        5,
        "the sixth sends nothing"
    );
    assert_eq!(audited(&app, "password.reset_requested").await.len(), 5);
    // An hour later the account may ask again.
    app.clock().advance(3601);
    ask_for_link(&browser, BEA).await;
    assert_eq!(queued(&app, BEA, RESET_SUBJECT).await, 6);
}

async fn one_address_asking_for_many_accounts_is_throttled(backend: Backend) {
    let Some((app, _sink)) = spawn_with_mail(backend).await else {
        return;
    };
    let browser = app.new_browser();
    for i in 0..20 {
        ask_for_link(&browser, &format!("nobody{i}@example.com")).await;
    }

    let page = ask_for_link(&browser, BEA).await;

    assert!(page.contains(LINK_SENT));
    assert_eq!(queued(&app, BEA, RESET_SUBJECT).await, 0);
}

async fn a_bad_new_password_gets_a_field_message_and_changes_nothing(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    let browser = app.new_browser();
    ask_for_link(&browser, BEA).await;
    let path = nth_link_to(&sink, BEA, 1).await;
    let before = password_hash(&app, BEA).await;
    let cut_off =
        "SELECT sessions_valid_after FROM users WHERE email_normalized = 'bea@example.com'";
    let sessions_from = scalar_i64(&app.state.db, cut_off).await;

    let short = set_password(&browser, &path, "short", "short").await;
    assert_eq!(short.status(), 422);
    let page = short.text().await.unwrap();
    assert!(!texts(&page, "#new_password-error").is_empty(), "{page}");
    assert!(page.contains(BEA));
    let mismatch = set_password(&browser, &path, NEW_PASSWORD, "another passphrase").await;
    assert_eq!(mismatch.status(), 422);
    let page = mismatch.text().await.unwrap();
    assert!(!texts(&page, "#new_password_confirm-error").is_empty());
    assert!(
        !page.contains(NEW_PASSWORD),
        "a password is never shown back"
    );

    assert_eq!(password_hash(&app, BEA).await, before);
    assert_eq!(scalar_i64(&app.state.db, cut_off).await, sessions_from);
    assert!(audited(&app, "password.reset").await.is_empty());
    assert_eq!(
        browser.get(&path).await.status(),
        200,
        "the link still works"
    );
    let done = set_password(&browser, &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 303);
}

async fn an_admin_sends_a_reset_link_by_email(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    let bea = user_id(&app, BEA).await;
    let carl = user_id(&app, CARL).await;

    let sent = app
        .post_form(&format!("/admin/users/{bea}/send-password-reset"), &[])
        .await;

    assert_eq!(sent.status(), 303);
    assert_eq!(location(&sent), "/admin/users");
    let (_, users) = app.get_html("/admin/users").await;
    assert!(
        texts(&users, ".flash-success")
            .iter()
            .any(|t| t.starts_with("Sent a password reset link to bea@example.com")),
        "{users}"
    );
    let path = nth_link_to(&sink, BEA, 1).await;
    assert_eq!(app.new_browser().get(&path).await.status(), 200);
    let requested = audited(&app, "password.reset_requested").await;
    assert_eq!(requested.len(), 1);
    assert_eq!(requested[0].actor_email.as_deref(), Some(ADMIN_EMAIL));
    assert!(audited(&app, "password.reset_link_shown").await.is_empty());

    let refused = app
        .post_form(&format!("/admin/users/{carl}/send-password-reset"), &[])
        .await;
    assert_eq!(refused.status(), 303);
    let (_, users) = app.get_html("/admin/users").await;
    assert!(
        texts(&users, ".flash-error")
            .iter()
            .any(|t| t.contains("carl@example.com is deactivated")),
        "{users}"
    );
    assert_eq!(queued(&app, CARL, RESET_SUBJECT).await, 0);

    let member = app.browser_for(BEA).await;
    let forbidden = member
        .post_form(&format!("/admin/users/{bea}/send-password-reset"), &[])
        .await;
    assert_eq!(forbidden.status(), 403);
    assert_eq!(queued(&app, BEA, RESET_SUBJECT).await, 1);
    let missing = app
        .post_form("/admin/users/999999/send-password-reset", &[])
        .await;
    assert_eq!(missing.status(), 404);
}

async fn without_email_an_admin_sees_the_link_once_and_it_is_audited(backend: Backend) {
    let Some(app) = spawn_without_mail(backend).await else {
        return;
    };
    let bea = user_id(&app, BEA).await;
    let forgot = ask_for_link(&app.new_browser(), BEA).await;
    assert!(forgot.contains(LINK_SENT));
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM password_resets").await,
        0,
        "without email, asking makes no link"
    );

    let shown = app
        .post_form(&format!("/admin/users/{bea}/send-password-reset"), &[])
        .await;

    assert_eq!(shown.status(), 200);
    let page = shown.text().await.unwrap();
    let link = attrs(&page, "#reset-link", "value");
    assert_eq!(link.len(), 1, "{page}");
    assert!(link[0].starts_with(&app.state.public_url()));
    let path = link_path(&link[0]);
    let events = audited(&app, "password.reset_link_shown").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_email.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(events[0].target_email.as_deref(), Some(BEA));
    let (_, users) = app.get_html("/admin/users").await;
    assert!(!users.contains(&path), "the link is shown only once");
    let browser = app.new_browser();
    let (status, form) = browser.get_html(&path).await;
    assert_eq!(status, 200);
    assert!(form.contains(BEA));
    let done = set_password(&browser, &path, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), 303);
    assert_eq!(
        app.new_browser().sign_in(BEA, NEW_PASSWORD).await.status(),
        303
    );
}

async fn of_parallel_uses_of_one_link_exactly_one_succeeds(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    ask_for_link(&app.new_browser(), BEA).await;
    let path = nth_link_to(&sink, BEA, 1).await;
    let mut browsers = Vec::new();
    for i in 0..10 {
        let browser = app.new_browser();
        let token = browser.csrf_token().await;
        browsers.push((browser, token, format!("{NEW_PASSWORD} {i}")));
    }

    let uses = browsers.iter().map(|(browser, token, password)| {
        browser
            .client
            .post(browser.url(&path))
            .form(&[
                ("csrf_token", token.as_str()),
                ("new_password", password.as_str()),
                ("new_password_confirm", password.as_str()),
            ])
            .send()
    });
    let answers = futures_util::future::join_all(uses).await;

    let statuses: Vec<u16> = answers
        .iter()
        .map(|a| a.as_ref().unwrap().status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 303).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 410).count(),
        9,
        "{statuses:?}"
    );
    let winner = statuses.iter().position(|s| *s == 303).unwrap();
    let password = &browsers[winner].2;
    assert_eq!(app.new_browser().sign_in(BEA, password).await.status(), 303);
    assert_eq!(audited(&app, "password.reset").await.len(), 1);
    assert_eq!(queued(&app, BEA, CHANGED_SUBJECT).await, 1);
}

/// A link stands in for the password only: an account with two-factor authentication
/// still signs in with its code afterwards.
async fn a_link_does_not_skip_the_second_factor(backend: Backend) {
    let Some((app, sink)) = spawn_with_mail(backend).await else {
        return;
    };
    let bea = app.browser_for(BEA).await;
    let (secret, _) = crate::two_factor::enrol(&bea).await;
    let browser = app.new_browser();
    ask_for_link(&browser, BEA).await;
    let path = nth_link_to(&sink, BEA, 1).await;

    let done = set_password(&browser, &path, NEW_PASSWORD, NEW_PASSWORD).await;

    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), "/sign-in");
    assert_eq!(browser.get("/account").await.status(), 303, "not signed in");
    let step = browser.sign_in(BEA, NEW_PASSWORD).await;
    assert_eq!(location(&step), "/sign-in/two-factor");
    let code = crate::two_factor::code_at(&secret, app.clock().now());
    let finished = browser
        .post_form("/sign-in/two-factor", &[("code", &code)])
        .await;
    assert_eq!(finished.status(), 303);
    assert_eq!(browser.get("/account").await.status(), 200);
}

crate::on_both_backends!(
    a_link_does_not_skip_the_second_factor,
    the_whole_flow_from_the_email_sets_a_new_password_and_signs_in,
    every_address_gets_the_same_answer_and_only_active_accounts_get_mail,
    a_link_works_once,
    a_link_expires_after_an_hour,
    a_newer_link_replaces_the_last,
    changing_the_password_on_the_account_page_ends_the_link,
    requests_are_throttled_without_saying_so,
    one_address_asking_for_many_accounts_is_throttled,
    a_bad_new_password_gets_a_field_message_and_changes_nothing,
    an_admin_sends_a_reset_link_by_email,
    without_email_an_admin_sees_the_link_once_and_it_is_audited,
    of_parallel_uses_of_one_link_exactly_one_succeeds,
);
