//! Two-factor authentication in a real browser: set up from the Account page with the
//! key shown as text, recovery codes, then a sign-in that asks for the code in a field
//! password managers recognise.

use crate::browser_helpers::Browser;
use crate::helpers::*;
use crate::two_factor::code_at;

async fn set_up_then_sign_in_with_a_code_and_with_a_recovery_code(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;
    browser.goto("/account").await;

    browser.click("Set up two-factor authentication").await;
    browser.wait_for_path("/account/two-factor").await;
    let secret: String = browser.texts("#two-factor-secret").await[0]
        .split_whitespace()
        .collect();
    assert_eq!(
        browser.texts(".qr-code svg").await.len(),
        1,
        "the QR code is drawn on the page"
    );
    browser
        .fill("Authentication code", &code_at(&secret, app.clock().now()))
        .await;
    browser.click("Turn on two-factor authentication").await;
    browser.wait_for_text("Your recovery codes").await;
    let codes = browser.texts("ol.recovery-codes code").await;
    assert_eq!(codes.len(), 10);
    browser.click("I have saved them: continue").await;
    browser.wait_for_path("/account").await;
    browser.click("Sign out").await;
    browser.wait_for_path("/sign-in").await;
    app.clock().advance(30);

    browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.wait_for_path("/sign-in/two-factor").await;
    let field = browser.field("Authentication code").await;
    assert_eq!(
        field.attr("autocomplete").await.unwrap().as_deref(),
        Some("one-time-code")
    );
    assert_eq!(
        field.attr("inputmode").await.unwrap().as_deref(),
        Some("numeric")
    );
    browser.fill("Authentication code", "000000").await;
    browser.click("Verify").await;
    browser.wait_for_text("That code is not right").await;
    browser
        .fill("Authentication code", &code_at(&secret, app.clock().now()))
        .await;
    browser.click("Verify").await;
    browser
        .wait_for_path(&format!("/orgs/{ORG_SLUG}/members"))
        .await;

    // Without the phone: a recovery code, once.
    browser.click("Sign out").await;
    browser.wait_for_path("/sign-in").await;
    browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser.wait_for_path("/sign-in/two-factor").await;
    browser.click("Use a recovery code instead").await;
    browser.fill("Recovery code", &codes[3]).await;
    browser.click("Verify").await;
    browser
        .wait_for_path(&format!("/orgs/{ORG_SLUG}/members"))
        .await;
    browser.close().await;
}

crate::on_both_backends!(set_up_then_sign_in_with_a_code_and_with_a_recovery_code);
