//! The Members page's action menu and its dialogs in a real browser, by mouse and by
//! keyboard alone: change a role, and remove someone by typing their email; and its
//! pages, swapped in place by the First, Previous, Next and Last links.

use fantoccini::Locator;
use fantoccini::key::Key;

use crate::browser_helpers::Browser;
use crate::helpers::*;
use roster::domain::Role;

async fn signed_in_on_members(app: &TestApp) -> Option<Browser> {
    let browser = Browser::start(app).await?;
    browser.sign_in_as_admin().await;
    Some(browser)
}

/// The row of `email`, as a person reads it.
async fn row_of(browser: &Browser, email: &str) -> String {
    browser
        .texts("tbody tr")
        .await
        .into_iter()
        .find(|row| row.starts_with(email))
        .map(|row| row.split_whitespace().collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

async fn is_enabled(browser: &Browser, text: &str) -> bool {
    let xpath = format!("//dialog//button[normalize-space()='{text}']");
    browser
        .client()
        .find(Locator::XPath(&xpath))
        .await
        .unwrap()
        .is_enabled()
        .await
        .unwrap()
}

async fn the_action_menu_changes_a_role_in_a_dialog_by_mouse(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let Some(browser) = signed_in_on_members(&app).await else {
        return;
    };

    browser
        .client()
        .find(Locator::Css(
            "summary[aria-label='Actions for cleo@example.com']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let offered = browser.texts("details[open] .menu-list li").await;
    browser.click("Change role…").await;
    let (heading, _) = browser.open_dialog().await;
    browser
        .client()
        .find(Locator::Css("label[for='role-admin']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.click("Change role").await;
    browser
        .wait_for_text("cleo@example.com is now Admin.")
        .await;

    assert_eq!(
        offered,
        vec!["Change role…", "Deactivate…", "Set access end…", "Remove…"]
    );
    assert_eq!(heading, "Change the role of cleo@example.com");
    assert!(
        row_of(&browser, "cleo@example.com")
            .await
            .starts_with("cleo@example.com Cleo Admin Active"),
    );
    browser.close().await;
}

async fn removal_by_keyboard_waits_for_the_typed_email_and_escape_cancels(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let Some(browser) = signed_in_on_members(&app).await else {
        return;
    };

    // Open the row's menu and ask to remove, by keyboard alone.
    browser.tab_to("Actions for cleo@example.com").await;
    browser.press(Key::Enter).await;
    browser.tab_to("Remove…").await;
    browser.press(Key::Enter).await;
    let (heading, _) = browser.open_dialog().await;
    let focus_in_dialog = browser.focused().await;
    let enabled_at_first = is_enabled(&browser, "Remove member").await;
    browser.type_keys("cleo@example.org").await;
    let enabled_when_wrong = is_enabled(&browser, "Remove member").await;
    browser.press(Key::Escape).await;
    browser.wait_for_no_dialog().await;
    let focus_after_escape = browser.focused().await;

    assert_eq!(heading, "Remove cleo@example.com from Analytical Engines?");
    assert_eq!(focus_in_dialog, "Type cleo@example.com to confirm");
    assert!(!enabled_at_first, "Remove waits for the email");
    assert!(!enabled_when_wrong, "a wrong email does not enable Remove");
    assert_eq!(
        focus_after_escape, "Remove…",
        "focus goes back to the opener"
    );
    assert!(
        row_of(&browser, "cleo@example.com")
            .await
            .contains("Active")
    );

    // Again, this time typing the address (in other letter case) and confirming.
    browser.press(Key::Enter).await;
    browser.open_dialog().await;
    browser.type_keys("Cleo@Example.com").await;
    assert!(is_enabled(&browser, "Remove member").await);
    browser.tab_to("Remove member").await;
    browser.press(Key::Enter).await;
    browser
        .wait_for_text("Removed cleo@example.com from Analytical Engines.")
        .await;

    assert_eq!(row_of(&browser, "cleo@example.com").await, "");
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM memberships").await,
        1
    );
    browser.close().await;
}

async fn escape_closes_an_action_menu_and_focus_stays_on_its_button(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let Some(browser) = signed_in_on_members(&app).await else {
        return;
    };

    browser.tab_to("Actions for cleo@example.com").await;
    browser.press(Key::Enter).await;
    browser.tab_to("Deactivate…").await;
    browser.press(Key::Escape).await;

    assert!(browser.texts("details[open]").await.is_empty());
    assert_eq!(browser.focused().await, "Actions for cleo@example.com");
    browser.close().await;
}

async fn last_previous_and_next_swap_the_table_and_keep_the_address(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let Some(browser) = signed_in_on_members(&app).await else {
        return;
    };
    for n in 0..120 {
        app.add_member(
            ORG_SLUG,
            &format!("p{n:03}@example.com"),
            "Pat",
            Role::Member,
        )
        .await;
    }
    browser.goto(&format!("/orgs/{ORG_SLUG}/members")).await;
    browser.wait_for_text("Page 1 of 3").await;

    browser.click("Last").await;
    browser.wait_for_text("Page 3 of 3").await;
    assert!(browser.path().await.ends_with("&page=3"));
    assert_eq!(browser.texts("tbody tr").await.len(), 21);
    browser.click("Previous").await;
    browser.wait_for_text("Page 2 of 3").await;
    assert!(browser.path().await.contains("&page=2&before=m"));
    let rows = browser.texts("tbody tr td:first-child").await;
    assert_eq!(rows.len(), 50);
    assert_eq!(
        (rows[0].as_str(), rows[49].as_str()),
        ("p049@example.com", "p098@example.com")
    );
    browser.click("Next").await;
    browser.wait_for_text("Page 3 of 3").await;
    assert!(browser.path().await.contains("&page=3&after=m"));
    assert_eq!(
        browser
            .texts("tbody tr td:first-child")
            .await
            .first()
            .map(String::as_str),
        Some("p099@example.com")
    );
    browser.close().await;
}

async fn a_removal_by_keyboard_keeps_the_view_the_ticks_and_a_place_for_focus(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.turn_seats_on("5").await;
    for email in ["cleo@example.com", "dan@example.com", "eve@example.com"] {
        app.add_member(ORG_SLUG, email, "Someone", Role::Member)
            .await;
    }
    app.add_member(ORG_SLUG, "ida@example.com", "Ida", Role::Admin)
        .await;
    let Some(browser) = signed_in_on_members(&app).await else {
        return;
    };
    let view = format!("/orgs/{ORG_SLUG}/members?role=member");
    browser.goto(&view).await;
    browser.wait_for_text("eve@example.com").await;

    // Tick Eve (without moving the keyboard's place), then remove Cleo by keyboard alone.
    browser
        .client()
        .execute(
            "document.querySelector(\"input[aria-label='Select eve@example.com']\").checked = true;",
            vec![],
        )
        .await
        .unwrap();
    browser.tab_to("Actions for cleo@example.com").await;
    browser.press(Key::Enter).await;
    browser.tab_to("Remove…").await;
    browser.press(Key::Enter).await;
    browser.open_dialog().await;
    browser.type_keys("cleo@example.com").await;
    browser.tab_to("Remove member").await;
    browser.press(Key::Enter).await;
    browser
        .wait_for_text("Removed cleo@example.com from Analytical Engines.")
        .await;
    browser
        .wait_until(
            "focus on a row's menu",
            "document.activeElement && document.activeElement.tagName === 'SUMMARY'",
        )
        .await;

    assert_eq!(
        browser.path().await,
        view,
        "the filtered view, not all members"
    );
    assert_eq!(
        browser.texts("tbody tr td.cell-email").await,
        vec!["dan@example.com", "eve@example.com"],
        "still only Members"
    );
    assert_eq!(
        browser.focused().await,
        "Actions for dan@example.com",
        "focus on the row that took the removed one's place"
    );
    let ticked = browser
        .client()
        .execute(
            "return [...document.querySelectorAll('input[name=ids]:checked')].map(b => b.getAttribute('aria-label'));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(ticked, serde_json::json!(["Select eve@example.com"]));

    // The last rows go too: focus then goes to the page's heading, not to <body>.
    for email in ["dan@example.com", "eve@example.com"] {
        browser
            .wait_until(
                "focus on the next row's menu",
                &format!(
                    "document.activeElement.getAttribute('aria-label') === 'Actions for {email}'"
                ),
            )
            .await;
        browser.press(Key::Enter).await;
        browser.tab_to("Remove…").await;
        browser.press(Key::Enter).await;
        browser.open_dialog().await;
        browser.type_keys(email).await;
        browser.tab_to("Remove member").await;
        browser.press(Key::Enter).await;
        browser
            .wait_for_text(&format!("Removed {email} from Analytical Engines."))
            .await;
    }
    browser
        .wait_until(
            "focus on the heading",
            "document.activeElement.tagName === 'H1'",
        )
        .await;
    assert_eq!(browser.path().await, view);
    browser.close().await;
}

async fn cancelling_a_dialog_from_a_closed_menu_gives_focus_to_the_menu_button(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let Some(browser) = signed_in_on_members(&app).await else {
        return;
    };

    browser.tab_to("Actions for cleo@example.com").await;
    browser.press(Key::Enter).await;
    browser.tab_to("Deactivate…").await;
    browser.press(Key::Enter).await;
    browser.open_dialog().await;
    // The menu closes behind the dialog (a click elsewhere would close it too).
    browser
        .client()
        .execute(
            "document.querySelector('details.menu[open]').open = false;",
            vec![],
        )
        .await
        .unwrap();
    browser.press(Key::Escape).await;
    browser.wait_for_no_dialog().await;

    assert_eq!(browser.focused().await, "Actions for cleo@example.com");
    browser.close().await;
}

crate::on_both_backends!(
    last_previous_and_next_swap_the_table_and_keep_the_address,
    the_action_menu_changes_a_role_in_a_dialog_by_mouse,
    removal_by_keyboard_waits_for_the_typed_email_and_escape_cancels,
    escape_closes_an_action_menu_and_focus_stays_on_its_button,
    a_removal_by_keyboard_keeps_the_view_the_ticks_and_a_place_for_focus,
    cancelling_a_dialog_from_a_closed_menu_gives_focus_to_the_menu_button,
);
