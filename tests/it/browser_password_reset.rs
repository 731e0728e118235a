//! "Forgot your password?" in a real browser: from the sign-in page to the email's link,
//! a new password, and signed in.

use crate::browser_helpers::Browser;
use crate::helpers::*;
use roster::domain::Role;

async fn forgot_password_to_signed_in_through_the_emailed_link(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.goto("/sign-in").await;

    browser.click("Forgot your password?").await;
    browser.wait_for_path("/password/forgot").await;
    browser.fill("Email", "bea@example.com").await;
    browser.click("Send the link").await;
    browser
        .wait_for_text("If an account uses that address, we sent a link to it.")
        .await;
    let mail = sink.wait_for_subject("Reset your Roster password").await;
    let start = mail.text.find("/password/reset/").expect("a link");
    let path = mail.text[start..].split_whitespace().next().unwrap();
    browser.goto(path).await;
    browser.wait_for_text("bea@example.com").await;
    browser.fill("New password", "a brand new passphrase").await;
    browser
        .fill("New password again", "a brand new passphrase")
        .await;
    browser.click("Set the new password").await;

    browser
        .wait_for_path(&format!("/orgs/{ORG_SLUG}/members"))
        .await;
    browser
        .wait_for_text("Your password was changed and you are signed in.")
        .await;
    browser.close().await;
    let old = app
        .new_browser()
        .sign_in("bea@example.com", MEMBER_PASSWORD)
        .await;
    assert_eq!(old.status(), 422, "the old password no longer works");
}

crate::on_both_backends!(forgot_password_to_signed_in_through_the_emailed_link);
