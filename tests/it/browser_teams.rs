//! Teams in a real browser: an Admin creates a team, finds a member by typing part of
//! their name (htmx swaps the results as they type) and adds them, then filters the
//! Members page by the team.

use fantoccini::Locator;

use crate::browser_helpers::Browser;
use crate::helpers::*;
use roster::domain::Role;

async fn a_team_is_created_filled_and_used_as_a_members_filter(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo Rivers", Role::Member)
        .await;
    app.add_member(ORG_SLUG, "dan@example.com", "Dan Other", Role::Viewer)
        .await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;

    browser.click("Teams").await;
    browser.wait_for_text("No teams yet.").await;
    browser.fill("Name", "Platform").await;
    browser.click("Create team").await;
    browser.wait_for_text("Created the team Platform.").await;
    browser.fill("Email or name", "rivers").await;
    browser
        .wait_until(
            "Cleo offered as they type",
            "document.querySelector('#candidates button[aria-label=\"Add cleo@example.com to Platform\"]')",
        )
        .await;
    let offered = browser.texts("#candidates li").await;
    browser.click("Add").await;
    browser
        .wait_for_text("Added cleo@example.com to Platform.")
        .await;
    let in_team = browser.texts(".team-members tbody tr").await;
    browser.click("Members").await;
    browser.wait_for_text("3 rows").await;
    let team_filter = browser.field("Team").await;
    team_filter
        .select_by_label("Platform")
        .await
        .expect("the Team filter offers Platform");
    browser.click("Apply").await;
    browser.wait_for_text("1 row").await;
    let emails = browser.texts("tbody .cell-email").await;
    let address = browser.client().current_url().await.unwrap();
    let teams_cell = browser
        .client()
        .find(Locator::Css("tbody .cell-teams"))
        .await
        .unwrap()
        .attr("title")
        .await
        .unwrap();

    assert_eq!(offered.len(), 1, "{offered:?}");
    assert!(offered[0].starts_with("cleo@example.com"), "{offered:?}");
    assert_eq!(in_team.len(), 1);
    assert!(in_team[0].starts_with("cleo@example.com"), "{in_team:?}");
    assert_eq!(emails, ["cleo@example.com"]);
    assert!(
        address.query().unwrap_or("").contains("team="),
        "the filter is in the address: {address}"
    );
    assert_eq!(teams_cell.as_deref(), Some("Platform"));
    browser.close().await;
}

crate::on_both_backends!(a_team_is_created_filled_and_used_as_a_members_filter);
