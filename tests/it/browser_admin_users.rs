//! The Users page in a real browser: deleting an account through the type-the-email
//! dialog and deactivating one through its confirmation, from the row menu by keyboard
//! alone, and searching as one types.

use fantoccini::Locator;
use fantoccini::key::Key;

use crate::browser_helpers::Browser;
use crate::helpers::*;
use roster::domain::Role;

const USERS: &str = "/admin/users";

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
    browser.sign_in_as_admin().await;
    browser.goto(USERS).await;

    browser.tab_to("Actions for bea@example.com").await;
    browser.press(Key::Enter).await;
    browser.tab_to("Delete…").await;
    browser.press(Key::Enter).await;

    let (heading, _) = browser.open_dialog().await;
    assert_eq!(heading, "Delete the account of bea@example.com?");
    assert_eq!(browser.focused().await, "Type bea@example.com to confirm");
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

    browser.wait_for_no_dialog().await;
    assert_eq!(
        browser.focused().await,
        "Delete…",
        "focus goes back to the opener"
    );
    assert_eq!(accounts(&app).await, 3, "nothing deleted");

    browser.press(Key::Enter).await;
    browser.open_dialog().await;
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
    assert_eq!(browser.focused().await, "Delete account");
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

async fn deactivating_asks_first_in_a_dialog_that_works_by_keyboard(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;
    browser.goto(USERS).await;

    browser.tab_to("Actions for bea@example.com").await;
    browser.press(Key::Enter).await;
    browser.tab_to("Deactivate…").await;
    browser.press(Key::Enter).await;
    let (heading, _) = browser.open_dialog().await;
    let first_focus = browser.focused().await;
    browser.press(Key::Escape).await;
    browser.wait_for_no_dialog().await;

    assert_eq!(heading, "Deactivate bea@example.com?");
    assert_eq!(first_focus, "Deactivate account");
    assert_eq!(browser.focused().await, "Deactivate…");
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM users WHERE status = 'active'"
        )
        .await,
        2,
        "closing the dialog changed nothing"
    );

    browser.press(Key::Enter).await;
    browser.open_dialog().await;
    browser.press(Key::Enter).await;

    browser
        .wait_for_text("Deactivated bea@example.com: their sessions have ended")
        .await;
    assert_eq!(browser.path().await, USERS);
    assert!(browser.texts("tbody tr").await[1].contains("Deactivated"));
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM users WHERE status = 'active'"
        )
        .await,
        1
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
    browser.sign_in_as_admin().await;
    browser.goto(USERS).await;
    // A mark that a full page load would wipe out.
    browser
        .client()
        .execute("window.stillThisPage = true;", vec![])
        .await
        .unwrap();

    browser.fill("Search by email or name", "car").await;

    browser
        .wait_until(
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
    browser
        .wait_until("the search in the address", "location.search === '?q=car'")
        .await;
    assert_eq!(browser.value("Search by email or name").await, "car");
    browser.close().await;
}

crate::on_both_backends!(
    deleting_asks_for_the_email_in_a_dialog_that_works_by_keyboard,
    deactivating_asks_first_in_a_dialog_that_works_by_keyboard,
    searching_as_one_types_replaces_only_the_table,
);
