//! Single sign-on tried as a new user would, in headless Chromium, with a real
//! provider: the Owner verifies a domain and connects the provider through the pages,
//! then a colleague signs in with it, through its login and consent pages, and appears
//! on the Members page.

use fantoccini::Locator;

use crate::browser_helpers::Browser;
use crate::helpers::*;
use crate::oidc_provider::{CLIENT_ID, CLIENT_SECRET, OidcProvider};

async fn an_owner_connects_a_provider_and_a_colleague_signs_in_with_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let Some(provider) = OidcProvider::start(&app, &[]).await else {
        return;
    };
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;

    // The Owner claims the domain (as the instance admin she is, without DNS).
    browser.goto(&format!("/orgs/{ORG_SLUG}/settings")).await;
    browser.fill("Add a domain", "acme.test").await;
    browser.click("Add domain").await;
    browser.wait_for_text("Added acme.test").await;
    browser.click("Mark verified (instance admin)").await;
    browser.wait_for_text("Verified").await;

    // She connects the provider, testing the connection first.
    browser.click("Set up single sign-on").await;
    browser
        .wait_for_path(&format!("/orgs/{ORG_SLUG}/settings/sso"))
        .await;
    browser
        .wait_for_text(&format!("{}/sso/callback", app.address))
        .await;
    browser.fill("Provider name", "Acme IdP").await;
    browser.fill("Issuer URL", &provider.issuer).await;
    browser.fill("Client ID", CLIENT_ID).await;
    browser.fill("Client secret", CLIENT_SECRET).await;
    browser
        .field("Just-in-time membership")
        .await
        .click()
        .await
        .unwrap();
    browser.click("Test connection").await;
    browser.wait_for_text("The connection works").await;
    // The secret typed is not sent back with the page: typed again to save.
    assert_eq!(browser.value("Client secret").await, "");
    browser.fill("Client secret", CLIENT_SECRET).await;
    browser.click("Save").await;
    browser.wait_for_text("Single sign-on for").await;
    browser.click("Sign out").await;
    browser.wait_for_path("/sign-in").await;

    // A colleague signs in: email first, then the provider's own pages.
    browser.fill("Email", "grace@acme.test").await;
    browser.click("Continue").await;
    let password = wait_for(&browser, Locator::Css("input[name=password]")).await;
    password.send_keys("her provider password").await.unwrap();
    browser.click("Sign-in").await;
    let consent = wait_for(
        &browser,
        Locator::XPath("//button[normalize-space()='Continue']"),
    )
    .await;
    consent.click().await.unwrap();

    browser
        .wait_for_path(&format!("/orgs/{ORG_SLUG}/members"))
        .await;
    browser.wait_for_text("Welcome to Analytical Engines").await;
    browser.wait_for_text("grace@acme.test").await;
    browser.close().await;
    let (_, page) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(page.contains("SSO (Acme IdP)"), "{page}");
}

/// The element `locator` finds on the page shown, once it is there (another site's
/// page loads at its own pace).
async fn wait_for(browser: &Browser, locator: Locator<'_>) -> fantoccini::elements::Element {
    for _ in 0..100 {
        if let Ok(found) = browser.client().find(locator).await {
            return found;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{locator:?} never appeared");
}

crate::on_both_backends!(an_owner_connects_a_provider_and_a_colleague_signs_in_with_it);
