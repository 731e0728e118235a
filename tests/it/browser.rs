//! What a person does in a real browser: set up, sign out and in, and by keyboard alone.

use fantoccini::key::Key;

use crate::browser_helpers::Browser;
use crate::helpers::*;

async fn set_up_explains_mistakes_next_to_the_fields_then_opens_the_members_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.goto(app.setup_url.as_deref().unwrap()).await;

    browser.fill("Email", "ada.example.com").await;
    browser.fill("Name", "Ada Lovelace").await;
    browser.fill("Password", ADMIN_PASSWORD).await;
    browser.fill("Password again", "another passphrase").await;
    browser.fill("Organization name", ORG_NAME).await;
    browser.click("Create account and organization").await;
    browser.wait_for_path("/setup").await;

    assert!(browser.text().await.contains("Some fields need attention"));
    assert_eq!(
        browser.message_next_to("Email").await,
        "Enter a valid email address, like name@example.com."
    );
    assert_eq!(
        browser.message_next_to("Password again").await,
        "The two passwords do not match."
    );
    assert_eq!(
        browser.message_next_to("Password").await,
        "At least 10 characters."
    );
    assert_eq!(browser.message_next_to("Name").await, "");
    assert_eq!(browser.message_next_to("Organization name").await, "");
    assert_eq!(browser.value("Email").await, "ada.example.com");
    assert_eq!(browser.value("Name").await, "Ada Lovelace");
    assert_eq!(browser.value("Organization name").await, ORG_NAME);

    browser.fill("Email", ADMIN_EMAIL).await;
    browser.fill("Password", ADMIN_PASSWORD).await;
    browser.fill("Password again", ADMIN_PASSWORD).await;
    browser.click("Create account and organization").await;
    browser
        .wait_for_path(&format!("/orgs/{ORG_SLUG}/members"))
        .await;

    let rows = browser.texts("tbody tr").await;
    assert!(
        rows.iter()
            .any(|row| row.contains(ADMIN_EMAIL) && row.contains("Owner")),
        "{rows:?}"
    );
    assert!(browser.text().await.contains("Roster is set up."));
    browser.close().await;
}

async fn sign_out_then_sign_in_again_after_a_wrong_password(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.set_up(&app).await;
    let members = format!("/orgs/{ORG_SLUG}/members");
    browser.wait_for_path(&members).await;

    browser.click("Sign out").await;
    browser.wait_for_path("/sign-in").await;
    browser.sign_in(ADMIN_EMAIL, "not the password").await;
    browser
        .wait_for_text("That email and password do not match an active account.")
        .await;
    assert_eq!(browser.value("Email").await, ADMIN_EMAIL);
    browser.fill("Password", ADMIN_PASSWORD).await;
    browser.click("Sign in").await;

    browser.wait_for_path(&members).await;
    assert!(browser.text().await.contains("Signed in as Ada Lovelace"));
    browser.close().await;
}

async fn the_sign_in_page_works_by_keyboard_alone(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };

    browser.goto("/sign-in").await;
    let order = browser.tab_to("Continue").await;
    assert_eq!(order, ["Skip to content", "Roster", "Email", "Continue"]);

    browser.goto("/sign-in").await;
    browser.tab_to("Email").await;
    browser.type_keys(ADMIN_EMAIL).await;
    browser.press(Key::Enter).await;
    browser.wait_for_text("Use another address").await;
    assert_eq!(
        browser.focused().await,
        "Password",
        "the password step starts in its field"
    );
    browser.type_keys(ADMIN_PASSWORD).await;
    browser.press(Key::Enter).await;

    browser
        .wait_for_path(&format!("/orgs/{ORG_SLUG}/members"))
        .await;
    browser.close().await;
}

crate::on_both_backends!(
    set_up_explains_mistakes_next_to_the_fields_then_opens_the_members_page,
    sign_out_then_sign_in_again_after_a_wrong_password,
    the_sign_in_page_works_by_keyboard_alone,
);
