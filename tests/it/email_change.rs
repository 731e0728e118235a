//! Changing one's address: requested with the password, confirmed by a link sent to the
//! new address, told to the old one.

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;
use roster::db;
use roster::domain::Role;

const NEW_EMAIL: &str = "nora.new@example.com";
const CONFIRM_SUBJECT: &str = "Confirm your new email address for Roster";
const REQUESTED_SUBJECT: &str = "A change of your Roster address was requested";
const CHANGED_SUBJECT: &str = "Your Roster address was changed";

async fn spawn(backend: Backend, sink: &SmtpSink) -> Option<TestApp> {
    let app = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await?;
    app.set_up().await;
    Some(app)
}

async fn audited(app: &TestApp, action: &str) -> Vec<db::audit::Listed> {
    db::audit::recent(&app.state.db, 50)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

/// Asks, on `browser`'s Account page, for its address to become `new_email`.
async fn request(browser: &TestApp, new_email: &str, password: &str) -> reqwest::Response {
    browser
        .post_form(
            "/account/email",
            &[("new_email", new_email), ("email_password", password)],
        )
        .await
}

/// The confirmation link's path in the email to `to` with subject `CONFIRM_SUBJECT`
/// (the latest one).
fn link_in(mail: &crate::smtp_sink::Received) -> String {
    let start = mail.text.find("/account/email/confirm/").expect("a link");
    let rest = &mail.text[start..];
    rest.split_whitespace().next().unwrap().to_string()
}

async fn link_sent_to(sink: &SmtpSink, to: &str, n: usize) -> String {
    let mails = sink.wait_for(n).await;
    let mail = mails
        .iter()
        .rev()
        .find(|m| m.to == vec![to.to_string()] && m.subject == CONFIRM_SUBJECT)
        .expect("a confirmation mail");
    link_in(mail)
}

async fn stored_email(app: &TestApp, id: i64) -> String {
    scalar_text(
        &app.state.db,
        &format!("SELECT email FROM users WHERE id = {id}"),
    )
    .await
}

async fn admin_id(app: &TestApp) -> i64 {
    scalar_i64(
        &app.state.db,
        &format!("SELECT id FROM users WHERE email = '{ADMIN_EMAIL}'"),
    )
    .await
}

async fn a_confirmed_change_moves_sign_in_and_members_search_to_the_new_address(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, &sink).await else {
        return;
    };
    let id = admin_id(&app).await;

    let response = request(&app, NEW_EMAIL, ADMIN_PASSWORD).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/account");
    let mails = sink.wait_for(3).await; // the welcome, then these two
    let to_new = mails.iter().find(|m| m.subject == CONFIRM_SUBJECT).unwrap();
    assert_eq!(to_new.to, vec![NEW_EMAIL.to_string()]);
    let link = link_in(to_new);
    assert!(to_new.html.contains(&link));
    let to_old = mails
        .iter()
        .find(|m| m.subject == REQUESTED_SUBJECT)
        .unwrap();
    assert_eq!(to_old.to, vec![ADMIN_EMAIL.to_string()]);
    assert!(to_old.text.contains("n***@example.com"), "{}", to_old.text);
    assert!(
        to_old
            .text
            .contains("if it wasn't you, change your password")
            || to_old
                .text
                .contains("If it wasn't you, change your password")
    );
    assert!(
        !to_old.text.contains("/account/email/confirm/")
            && !to_old.html.contains("/account/email/confirm/")
    );
    assert!(!to_old.text.contains(NEW_EMAIL));
    assert_eq!(
        stored_email(&app, id).await,
        ADMIN_EMAIL,
        "nothing changes yet"
    );

    // Opening the link (as a mail scanner would) changes nothing.
    let stranger = app.new_browser();
    let (status, html) = stranger.get_html(&link).await;
    assert_eq!(status, 200);
    assert!(html.contains(NEW_EMAIL));
    assert_eq!(stored_email(&app, id).await, ADMIN_EMAIL);

    // Confirmed from a browser that is not signed in: it stays signed out.
    let response = stranger.post_form(&link, &[]).await;
    assert_eq!(response.status(), 303);
    assert!(location(&response).starts_with("/sign-in?email="));
    assert_eq!(stored_email(&app, id).await, NEW_EMAIL);
    assert_eq!(stranger.get("/account").await.status(), 303);
    assert_eq!(
        app.new_browser()
            .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        422,
        "the old address no longer signs in"
    );
    assert_eq!(
        app.new_browser()
            .sign_in(NEW_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        303
    );
    let (status, html) = app.get_html("/account").await;
    assert_eq!(status, 200, "the session that asked goes on");
    assert!(html.contains(NEW_EMAIL));
    let (_, html) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/members?q=nora.new"))
        .await;
    assert!(
        html.contains(NEW_EMAIL),
        "the Members page finds the new address"
    );
    let (_, html) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/members?q=ada@"))
        .await;
    assert!(!html.contains(ADMIN_EMAIL), "nor the old one");
    let events = audited(&app, "user.email_changed").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].before_value.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(events[0].after_value.as_deref(), Some(NEW_EMAIL));
    let changed = sink.wait_for_subject(CHANGED_SUBJECT).await;
    assert_eq!(changed.to, vec![ADMIN_EMAIL.to_string()]);
    assert!(
        changed
            .text
            .contains(&format!("Your Roster address was changed to {NEW_EMAIL}"))
    );
    // The link is used up.
    assert_eq!(stranger.post_form(&link, &[]).await.status(), 404);
    assert_eq!(stranger.get(&link).await.status(), 404);
    assert_eq!(audited(&app, "user.email_changed").await.len(), 1);
}

async fn each_mistake_gets_a_field_message_and_nothing_is_written(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, &sink).await else {
        return;
    };
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let cases = [
        (
            NEW_EMAIL,
            "not my password",
            "email_password",
            "That is not your current password.",
        ),
        (
            NEW_EMAIL,
            "",
            "email_password",
            "Enter your current password.",
        ),
        (
            "BEA@example.com",
            ADMIN_PASSWORD,
            "new_email",
            "Another account uses that address.",
        ),
        (
            "Ada@Example.com",
            ADMIN_PASSWORD,
            "new_email",
            "That is already your address.",
        ),
        (
            "not an address",
            ADMIN_PASSWORD,
            "new_email",
            "Enter a valid email address, like name@example.com.",
        ),
        (
            "a\u{7}b@example.com",
            ADMIN_PASSWORD,
            "new_email",
            "Enter a valid email address, like name@example.com.",
        ),
    ];
    for (typed, password, field, message) in cases {
        let response = request(&app, typed, password).await;

        assert_eq!(response.status(), 422, "{typed}");
        let html = response.text().await.unwrap();
        assert_eq!(
            texts(&html, &format!("#{field}-error")),
            vec![message.to_string()],
            "{typed}"
        );
        if !typed.contains('\u{7}') {
            let doc = scraper::Html::parse_document(&html);
            let input = scraper::Selector::parse("#new_email").unwrap();
            let shown = doc.select(&input).next().unwrap().value().attr("value");
            assert_eq!(shown, Some(typed), "what was typed is kept");
        }
        let pw = scraper::Selector::parse("#email_password").unwrap();
        let doc = scraper::Html::parse_document(&html);
        assert!(
            doc.select(&pw)
                .next()
                .unwrap()
                .value()
                .attr("value")
                .is_none()
        );
    }
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM email_changes").await,
        0
    );
    // Only the welcome mail was sent.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(sink.received().iter().all(|m| m.subject != CONFIRM_SUBJECT));
    let huge = "x".repeat(300) + "@example.com";
    let response = request(&app, &huge, ADMIN_PASSWORD).await;
    assert_eq!(response.status(), 422);
}

async fn an_address_taken_before_confirming_is_refused_then(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, &sink).await else {
        return;
    };
    let id = admin_id(&app).await;
    assert_eq!(request(&app, NEW_EMAIL, ADMIN_PASSWORD).await.status(), 303);
    let link = link_sent_to(&sink, NEW_EMAIL, 3).await;
    app.add_member(ORG_SLUG, NEW_EMAIL, "Nora", Role::Member)
        .await;

    let response = app.post_form(&link, &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/account");
    let (_, html) = app.get_html("/account").await;
    assert!(
        html.contains("another account uses that address now"),
        "{html}"
    );
    assert_eq!(stored_email(&app, id).await, ADMIN_EMAIL);
    assert!(audited(&app, "user.email_changed").await.is_empty());
}

async fn expired_and_superseded_links_are_refused(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, &sink).await else {
        return;
    };
    let id = admin_id(&app).await;
    assert_eq!(
        request(&app, "first@example.com", ADMIN_PASSWORD)
            .await
            .status(),
        303
    );
    let first = link_sent_to(&sink, "first@example.com", 3).await;
    assert_eq!(
        request(&app, "second@example.com", ADMIN_PASSWORD)
            .await
            .status(),
        303
    );
    let second = link_sent_to(&sink, "second@example.com", 5).await;

    assert_eq!(app.get(&first).await.status(), 404, "superseded");
    assert_eq!(app.post_form(&first, &[]).await.status(), 404);
    assert_eq!(stored_email(&app, id).await, ADMIN_EMAIL);

    app.clock().advance(25 * 3600);
    let (status, html) = app.new_browser().get_html(&second).await;
    assert_eq!(status, 404, "expired");
    assert!(html.contains("This link does not work"));
    assert_eq!(
        app.new_browser().post_form(&second, &[]).await.status(),
        404
    );
    assert_eq!(stored_email(&app, id).await, ADMIN_EMAIL);
    assert!(audited(&app, "user.email_changed").await.is_empty());
    assert_eq!(
        app.new_browser()
            .get("/account/email/confirm/nonsense")
            .await
            .status(),
        404
    );
}

async fn two_accounts_confirming_one_address_at_once_only_one_wins(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, &sink).await else {
        return;
    };
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let bea = app.browser_for("bea@example.com").await;
    assert_eq!(request(&app, NEW_EMAIL, ADMIN_PASSWORD).await.status(), 303);
    let ada_link = link_sent_to(&sink, NEW_EMAIL, 3).await;
    assert_eq!(
        request(&bea, NEW_EMAIL, MEMBER_PASSWORD).await.status(),
        303
    );
    let bea_link = link_sent_to(&sink, NEW_EMAIL, 5).await;
    assert_ne!(ada_link, bea_link);
    let ada_confirm = app.new_browser();
    let bea_confirm = app.new_browser();
    // Each browser has its CSRF token before the race.
    let ada_token = meta_csrf(&ada_confirm.get_html(&ada_link).await.1);
    let bea_token = meta_csrf(&bea_confirm.get_html(&bea_link).await.1);

    let (a, b) = tokio::join!(
        ada_confirm
            .client
            .post(ada_confirm.url(&ada_link))
            .form(&[("csrf_token", ada_token.as_str())])
            .send(),
        bea_confirm
            .client
            .post(bea_confirm.url(&bea_link))
            .form(&[("csrf_token", bea_token.as_str())])
            .send(),
    );

    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.status(), 303);
    assert_eq!(b.status(), 303);
    let holders = scalar_i64(
        &app.state.db,
        &format!("SELECT COUNT(*) FROM users WHERE email_normalized = '{NEW_EMAIL}'"),
    )
    .await;
    assert_eq!(holders, 1, "exactly one account has the address");
    assert_eq!(audited(&app, "user.email_changed").await.len(), 1);
    let won = [location(&a), location(&b)]
        .iter()
        .filter(|l| l.starts_with("/sign-in?email="))
        .count();
    assert_eq!(
        won, 1,
        "one was told it changed, the other that it was taken"
    );
}

async fn a_different_signed_in_account_is_not_switched(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = spawn(backend, &sink).await else {
        return;
    };
    let id = admin_id(&app).await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let bea = app.browser_for("bea@example.com").await;
    assert_eq!(request(&app, NEW_EMAIL, ADMIN_PASSWORD).await.status(), 303);
    let link = link_sent_to(&sink, NEW_EMAIL, 3).await;

    let response = bea.post_form(&link, &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(stored_email(&app, id).await, NEW_EMAIL);
    let (status, html) = bea.get_html("/account").await;
    assert_eq!(status, 200);
    assert!(html.contains("bea@example.com"), "Bea is still Bea");
    assert!(!html.contains(&format!("<strong>{NEW_EMAIL}</strong>")));
}

crate::on_both_backends!(
    a_confirmed_change_moves_sign_in_and_members_search_to_the_new_address,
    each_mistake_gets_a_field_message_and_nothing_is_written,
    an_address_taken_before_confirming_is_refused_then,
    expired_and_superseded_links_are_refused,
    two_accounts_confirming_one_address_at_once_only_one_wins,
    a_different_signed_in_account_is_not_switched,
);
