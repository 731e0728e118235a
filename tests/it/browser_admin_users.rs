//! The Users page in a real browser: deleting an account through the type-the-email
//! dialog by keyboard alone, and searching as one types.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use fantoccini::key::Key;

use crate::browser_helpers::Browser;
use crate::helpers::*;
use roster::domain::Role;

const PATIENCE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(25);
const USERS: &str = "/admin/users";

async fn sign_in_as_admin(browser: &Browser) {
    browser.goto("/sign-in").await;
    browser.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    browser
        .wait_for_path(&format!("/orgs/{ORG_SLUG}/members"))
        .await;
}

/// Waits until `script` (a JavaScript expression) is true on the page shown.
async fn wait_until(browser: &Browser, what: &str, script: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        // While a page is being replaced, running a script may fail: that is "not yet".
        let done = browser
            .client()
            .execute(&format!("return !!({script});"), vec![])
            .await
            .is_ok_and(|v| v.as_bool() == Some(true));
        if done {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "expected {what} on {}, which shows:\n{}",
            browser.path().await,
            browser.text().await
        );
        tokio::time::sleep(POLL).await;
    }
}

/// Waits for the delete dialog to be open as a modal; returns its heading.
async fn open_dialog(browser: &Browser) -> String {
    wait_until(
        browser,
        "an open modal dialog",
        "document.querySelector('dialog[open]') && document.querySelector('dialog[open]').matches(':modal')",
    )
    .await;
    browser.texts("dialog[open] h2").await.remove(0)
}

/// What has the keyboard focus, by the name assistive technology gives it: its
/// aria-label, else its label, else its text.
async fn focused(browser: &Browser) -> String {
    let script = "const e = document.activeElement;
        const name = e.getAttribute('aria-label')
            || (e.labels && e.labels.length ? e.labels[0].innerText : e.innerText);
        return (name || e.tagName).trim();";
    let name = browser.client().execute(script, vec![]).await.unwrap();
    name.as_str().unwrap_or_default().to_string()
}

/// Presses Tab until `name` has the focus.
async fn tab_to(browser: &Browser, name: &str) {
    let mut reached = Vec::new();
    for _ in 0..40 {
        browser.press(Key::Tab).await;
        reached.push(focused(browser).await);
        if reached.last().is_some_and(|n| n == name) {
            return;
        }
    }
    panic!("Tab never reached {name:?}; it reached {reached:?}");
}

async fn delete_button_disabled(browser: &Browser) -> bool {
    browser
        .client()
        .find(Locator::XPath(
            "//dialog//button[normalize-space()='Delete account']",
        ))
        .await
        .unwrap()
        .prop("disabled")
        .await
        .unwrap()
        .as_deref()
        == Some("true")
}

async fn accounts(app: &TestApp) -> i64 {
    scalar_i64(&app.state.db, "SELECT COUNT(*) FROM users").await
}

async fn deleting_asks_for_the_email_in_a_dialog_that_works_by_keyboard(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    app.add_member(ORG_SLUG, "carl@example.com", "Carl", Role::Member)
        .await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    sign_in_as_admin(&browser).await;
    browser.goto(USERS).await;

    tab_to(&browser, "Delete bea@example.com").await;
    browser.press(Key::Enter).await;

    let heading = open_dialog(&browser).await;
    assert_eq!(heading, "Delete the account of bea@example.com?");
    assert_eq!(focused(&browser).await, "Type bea@example.com to confirm");
    assert!(
        delete_button_disabled(&browser).await,
        "disabled until typed"
    );
    browser.type_keys("bea@example").await;
    assert!(
        delete_button_disabled(&browser).await,
        "a part is not enough"
    );

    browser.press(Key::Escape).await;

    wait_until(&browser, "no dialog", "!document.querySelector('dialog')").await;
    assert_eq!(focused(&browser).await, "Delete bea@example.com");
    assert_eq!(accounts(&app).await, 3, "nothing deleted");

    browser.press(Key::Enter).await;
    open_dialog(&browser).await;
    assert_eq!(
        browser.value("Type bea@example.com to confirm").await,
        "",
        "a new dialog starts empty"
    );
    browser.type_keys("BEA@example.com").await;
    assert!(
        !delete_button_disabled(&browser).await,
        "enabled once the email matches, in any case"
    );
    browser.press(Key::Tab).await;
    assert_eq!(focused(&browser).await, "Delete account");
    browser.press(Key::Enter).await;

    browser
        .wait_for_text("Deleted the account of bea@example.com.")
        .await;
    assert_eq!(browser.path().await, USERS);
    assert_eq!(accounts(&app).await, 2);
    let rows = browser.texts("tbody tr").await;
    assert!(
        rows.iter().all(|r| !r.contains("bea@example.com")),
        "{rows:?}"
    );
    browser.close().await;
}

async fn searching_as_one_types_replaces_only_the_table(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    for (email, name) in [
        ("bea@example.com", "Bea"),
        ("carl@example.com", "Carl"),
        ("cecile@example.com", "Cécile"),
    ] {
        app.add_member(ORG_SLUG, email, name, Role::Member).await;
    }
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    sign_in_as_admin(&browser).await;
    browser.goto(USERS).await;
    // A mark that a full page load would wipe out.
    browser
        .client()
        .execute("window.stillThisPage = true;", vec![])
        .await
        .unwrap();

    browser.fill("Search by email or name", "car").await;

    wait_until(
        &browser,
        "one matching row",
        "document.querySelectorAll('tbody tr').length === 1",
    )
    .await;
    assert!(browser.texts("tbody tr").await[0].contains("carl@example.com"));
    assert_eq!(
        browser.texts("#user-count").await,
        ["1 account matches “car”"]
    );
    let same_page = browser
        .client()
        .execute("return window.stillThisPage === true;", vec![])
        .await
        .unwrap();
    assert_eq!(
        same_page.as_bool(),
        Some(true),
        "only the table was replaced"
    );
    wait_until(
        &browser,
        "the search in the address",
        "location.search === '?q=car'",
    )
    .await;
    assert_eq!(browser.value("Search by email or name").await, "car");
    browser.close().await;
}

crate::on_both_backends!(
    deleting_asks_for_the_email_in_a_dialog_that_works_by_keyboard,
    searching_as_one_types_replaces_only_the_table,
);
