//! Every page, and the Members and Users pages' dialogs, at a 1280×800 laptop and a 390×844 phone:
//! nothing wider than the screen, a row's actions visible without scrolling sideways,
//! dialogs and their buttons inside the viewport. Screenshots of each land in
//! `target/screenshots/` for a person to look at.

use fantoccini::Locator;

use crate::browser_helpers::Browser;
use crate::helpers::*;
use roster::domain::Role;

const SIZES: [(&str, u32, u32); 2] = [("laptop", 1280, 800), ("phone", 390, 844)];

const LONG_EMAIL: &str =
    "maximiliana.von-hohenzollern-sigmaringen.accounts@very-long-subdomain.example.com";

/// The widths that matter on the page shown: the document's, and the viewport's.
async fn widths(browser: &Browser) -> (i64, i64) {
    let v = browser
        .client()
        .execute(
            "return [document.documentElement.scrollWidth, document.documentElement.clientWidth];",
            vec![],
        )
        .await
        .unwrap();
    let pair = v.as_array().unwrap();
    (pair[0].as_i64().unwrap(), pair[1].as_i64().unwrap())
}

/// Elements matching `css` that are shown but reach outside the viewport (by their
/// bounding boxes), named by their text.
async fn outside_viewport(browser: &Browser, css: &str) -> Vec<String> {
    let script = format!(
        "return [...document.querySelectorAll({css:?})]
           .filter(e => e.getClientRects().length > 0)
           .filter(e => {{ const r = e.getBoundingClientRect();
                          return r.left < -1 || r.right > document.documentElement.clientWidth + 1; }})
           .map(e => (e.getAttribute('aria-label') || e.textContent).trim().slice(0, 60));"
    );
    let v = browser.client().execute(&script, vec![]).await.unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect()
}

async fn screenshot(browser: &Browser, name: &str) {
    let png = browser.client().screenshot().await.unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn check_page(browser: &Browser, size: &str, name: &str, problems: &mut Vec<String>) {
    // A filter bar sits above the list: its own screenshot, before scrolling to the list.
    let has_filters = browser
        .client()
        .execute(
            "return !!document.querySelector('form.filters, form.search');",
            vec![],
        )
        .await
        .unwrap();
    if has_filters.as_bool() == Some(true) {
        screenshot(browser, &format!("{size}-{name}-filters")).await;
    }
    // The page's first list in view, for the screenshot: rows become cards on a phone.
    browser
        .client()
        .execute(
            "const t = document.querySelector('table.data'); if (t) t.scrollIntoView();",
            vec![],
        )
        .await
        .unwrap();
    let (document, viewport) = widths(browser).await;
    if document > viewport {
        problems.push(format!(
            "{size} {name}: the document is {document} px wide in a {viewport} px viewport"
        ));
    }
    let actions = outside_viewport(browser, "td.row-actions summary, td.row-actions button").await;
    if !actions.is_empty() {
        problems.push(format!(
            "{size} {name}: row actions off-screen: {actions:?}"
        ));
    }
    screenshot(browser, &format!("{size}-{name}")).await;
}

/// Opens the row menu `menu` (a summary's selector), chooses `label` in it, and checks
/// that the dialog it opens and its controls stay on screen; saves a screenshot.
async fn check_menu_dialog(
    browser: &Browser,
    size: &str,
    what: &str,
    menu: &str,
    label: &str,
    problems: &mut Vec<String>,
) {
    browser
        .client()
        .find(Locator::Css(menu))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser
        .client()
        .find(Locator::XPath(&format!(
            "//details[@open]//a[normalize-space()='{label}']"
        )))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.open_dialog().await;
    let outside = outside_viewport(
        browser,
        "dialog[open], dialog[open] button, dialog[open] input, dialog[open] .table-scroll",
    )
    .await;
    if !outside.is_empty() {
        problems.push(format!("{size} {what} dialog: off-screen: {outside:?}"));
    }
    screenshot(browser, &format!("{size}-dialog-{what}")).await;
}

async fn every_page_fits_a_laptop_and_a_phone(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let maxi = app
        .add_member(
            ORG_SLUG,
            LONG_EMAIL,
            "Maximiliana von Hohenzollern-Sigmaringen",
            Role::Admin,
        )
        .await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let invitations = format!("/orgs/{ORG_SLUG}/invitations");
    let links = app
        .post_form(
            &invitations,
            &[
                (
                    "emails",
                    "dee@example.com eve.long-address-for-testing@example.org gone@example.com",
                ),
                ("role", "member"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    let landing = attrs(&links, "input.link-copy", "value")
        .into_iter()
        .next()
        .and_then(|link| link.find("/invitations/").map(|at| link[at..].to_string()))
        .expect("a link shown");
    let gone = scalar_i64(
        &app.state.db,
        "SELECT id FROM invitations WHERE email = 'gone@example.com'",
    )
    .await;
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/settings/domains"),
        &[(
            "domain",
            "a-long-subdomain.engineering.example-company.test",
        )],
    )
    .await;
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/settings/webhooks"),
        &[
            (
                "url",
                "https://hooks.a-long-subdomain.engineering.example-company.test/roster/events",
            ),
            ("description", "The data warehouse"),
            ("all_events", "on"),
        ],
    )
    .await;
    app.post_form(&format!("/orgs/{ORG_SLUG}/settings/webhooks/1/test"), &[])
        .await;
    let revoked = app
        .post_form(
            &format!("{invitations}/manage"),
            &[
                ("bulk_action", "revoke"),
                ("ids", &gone.to_string()),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(revoked.status(), 303);
    // Teams with long names, so that the Members page's Teams cell has to fit them.
    // A SCIM token in use: the settings page shows when it was made and used.
    app.post_form(&format!("/orgs/{ORG_SLUG}/settings/scim/token"), &[])
        .await;
    let mut team = 0;
    for name in [
        "Platform Reliability Engineering",
        "Finance and Procurement",
    ] {
        let created = app
            .post_form(&format!("/orgs/{ORG_SLUG}/teams"), &[("name", name)])
            .await;
        team = location(&created)
            .rsplit('/')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        for email in [LONG_EMAIL, "cleo@example.com"] {
            let member = app.membership_id(email).await.to_string();
            app.post_form(
                &format!("/orgs/{ORG_SLUG}/teams/{team}/members"),
                &[("member_id", member.as_str())],
            )
            .await;
        }
    }
    // Before seats: the token's member needs no seat yet.
    app.create_token(ORG_SLUG, "deploy").await;
    assert_eq!(app.turn_seats_on("10").await.status(), 303);
    // A pending access request, and an end to Cleo's access, for their pages.
    let ask = [
        (
            "emails",
            "fay@example.com gus.long-address-for-testing@example.org",
        ),
        ("role", "member"),
        (
            "reason",
            "Two contractors for the migration, until the end of the first quarter.",
        ),
    ];
    let cleo_browser = app.browser_for("cleo@example.com").await;
    let requested = cleo_browser
        .post_form(&format!("/orgs/{ORG_SLUG}/access-requests"), &ask)
        .await;
    assert_eq!(requested.status(), 303);
    exec_sql(
        &app.state.db,
        &format!(
            "UPDATE memberships SET access_until = {} WHERE user_id = (SELECT id FROM users WHERE email = 'cleo@example.com')",
            app.clock().now() / 86_400 * 86_400 + 30 * 86_400
        ),
    )
    .await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;
    let cleo = app.membership_id("cleo@example.com").await;
    let pages = [
        ("members", format!("/orgs/{ORG_SLUG}/members")),
        ("invitations", invitations.clone()),
        (
            "invitations-revoked",
            format!("{invitations}?status=revoked"),
        ),
        ("invite-page", format!("{invitations}/new")),
        (
            "access-requests",
            format!("/orgs/{ORG_SLUG}/access-requests"),
        ),
        (
            "access-end-page",
            format!("/orgs/{ORG_SLUG}/members/{cleo}/access"),
        ),
        ("invitation-landing", landing.clone()),
        ("new-organization", "/admin/orgs/new".to_string()),
        ("settings", format!("/orgs/{ORG_SLUG}/settings")),
        (
            "settings-domains",
            format!("/orgs/{ORG_SLUG}/settings#domains"),
        ),
        ("sso-settings", format!("/orgs/{ORG_SLUG}/settings/sso")),
        ("scim-settings", format!("/orgs/{ORG_SLUG}/settings/scim")),
        ("tokens", format!("/orgs/{ORG_SLUG}/tokens")),
        ("teams", format!("/orgs/{ORG_SLUG}/teams")),
        ("team", format!("/orgs/{ORG_SLUG}/teams/{team}?q=example")),
        (
            "team-delete-page",
            format!("/orgs/{ORG_SLUG}/teams/{team}/delete"),
        ),
        ("audit", format!("/orgs/{ORG_SLUG}/audit")),
        ("account", "/account".to_string()),
        ("two-factor-setup", "/account/two-factor".to_string()),
        ("users", "/admin/users".to_string()),
        ("instance-audit", "/admin/audit".to_string()),
        (
            "remove-page",
            format!("/orgs/{ORG_SLUG}/members/{cleo}/remove"),
        ),
        ("not-found", "/no-such-page".to_string()),
        (
            "domain-remove-page",
            format!("/orgs/{ORG_SLUG}/settings/domains/1/remove"),
        ),
        ("webhooks", format!("/orgs/{ORG_SLUG}/settings/webhooks")),
        ("webhook", format!("/orgs/{ORG_SLUG}/settings/webhooks/1")),
        (
            "webhook-delete-page",
            format!("/orgs/{ORG_SLUG}/settings/webhooks/1/delete"),
        ),
        (
            "user-deactivate-page",
            format!("/admin/users/{maxi}/deactivate"),
        ),
    ];
    let mut problems = Vec::new();
    for (size, width, height) in SIZES {
        browser
            .client()
            .set_window_size(width, height)
            .await
            .unwrap();
        for (name, path) in &pages {
            browser.goto(path).await;
            check_page(&browser, size, name, &mut problems).await;
        }
        // The change-role and remove dialogs, opened from a row's menu.
        for (what, label) in [("role", "Change role…"), ("remove", "Remove…")] {
            browser.goto(&format!("/orgs/{ORG_SLUG}/members")).await;
            let menu = "summary[aria-label='Actions for cleo@example.com']";
            check_menu_dialog(&browser, size, what, menu, label, &mut problems).await;
        }
        // The Users page's confirmations, opened from the row menu of the longest email.
        for (what, label) in [
            ("user-deactivate", "Deactivate…"),
            ("user-grant-admin", "Grant instance admin…"),
            ("user-delete", "Delete…"),
        ] {
            browser.goto("/admin/users").await;
            let menu = format!("summary[aria-label='Actions for {LONG_EMAIL}']");
            if what == "user-deactivate" {
                browser
                    .client()
                    .find(Locator::Css(&menu))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
                screenshot(&browser, &format!("{size}-users-menu")).await;
                browser
                    .client()
                    .find(Locator::Css(&menu))
                    .await
                    .unwrap()
                    .click()
                    .await
                    .unwrap();
            }
            check_menu_dialog(&browser, size, what, &menu, label, &mut problems).await;
        }
        // The seat dialog asking for more seats than are left: it says so, and how to
        // get more, with its button disabled.
        let seats =
            |n: i64| format!("UPDATE organizations SET seats = {n} WHERE slug = '{ORG_SLUG}'");
        exec_sql(&app.state.db, &seats(1)).await;
        browser.goto(&format!("/orgs/{ORG_SLUG}/members")).await;
        browser
            .client()
            .execute(
                "document.querySelectorAll('input[name=ids]').forEach(b => b.checked = true);",
                vec![],
            )
            .await
            .unwrap();
        browser.click("Assign seats to selected…").await;
        browser.open_dialog().await;
        browser.wait_for_text("Not enough seats").await;
        let outside = outside_viewport(
            &browser,
            "dialog[open], dialog[open] button, dialog[open] a, dialog[open] p",
        )
        .await;
        if !outside.is_empty() {
            problems.push(format!("{size} seats dialog: off-screen: {outside:?}"));
        }
        screenshot(&browser, &format!("{size}-dialog-seats-over-limit")).await;
        exec_sql(&app.state.db, &seats(10)).await;
        // Nothing ticked: the message appears beside the bulk buttons, in view.
        browser.goto(&format!("/orgs/{ORG_SLUG}/members")).await;
        browser.click("Assign seats to selected…").await;
        browser
            .wait_for_text("Select at least one member first.")
            .await;
        let outside = outside_viewport(&browser, "#seat-feedback .flash").await;
        if !outside.is_empty() {
            problems.push(format!("{size} seat feedback: off-screen: {outside:?}"));
        }
        screenshot(&browser, &format!("{size}-members-select-first")).await;
        // The invite dialog, opened by the Invitations page's primary action.
        browser.goto(&invitations).await;
        browser.click("Invite people").await;
        browser.open_dialog().await;
        let outside = outside_viewport(
            &browser,
            "dialog[open], dialog[open] button, dialog[open] input, dialog[open] textarea, dialog[open] select",
        )
        .await;
        if !outside.is_empty() {
            problems.push(format!("{size} invite dialog: off-screen: {outside:?}"));
        }
        screenshot(&browser, &format!("{size}-dialog-invite")).await;
    }
    // Signed out: the sign-in page.
    browser.client().delete_all_cookies().await.unwrap();
    for (size, width, height) in SIZES {
        browser
            .client()
            .set_window_size(width, height)
            .await
            .unwrap();
        browser.goto("/sign-in").await;
        check_page(&browser, size, "sign-in", &mut problems).await;
    }
    browser.close().await;

    // In dark mode, at both sizes, every page passes axe (contrast included).
    if let Some(script) = crate::quality::tool("axe-core/axe.min.js") {
        let axe_source = std::fs::read_to_string(script).unwrap();
        let dark = Browser::start_with(&app, &["--blink-settings=preferredColorScheme=0"])
            .await
            .expect("a browser, as above");
        dark.sign_in_as_admin().await;
        for (size, width, height) in SIZES {
            dark.client().set_window_size(width, height).await.unwrap();
            for (name, path) in &pages {
                dark.goto(path).await;
                let page = format!("{size} dark {name}");
                problems.extend(crate::quality::axe(&dark, &axe_source, &page).await);
                screenshot(&dark, &format!("{size}-dark-{name}")).await;
            }
        }
        dark.close().await;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Email delivery as it goes (retrying with its reason, failed for good, a bulk send's
/// progress) and secrets with their Copy button, at both sizes.
async fn delivery_states_and_new_secrets_fit_a_laptop_and_a_phone(backend: Backend) {
    let mut sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(
        backend,
        &["--smtp-url", &sink.url(), "--email-retry-secs", "60"],
    )
    .await
    else {
        return;
    };
    app.set_up().await;
    let invitations = format!("/orgs/{ORG_SLUG}/invitations");
    let refused = format!("nobody@{}", crate::smtp_sink::REFUSED_DOMAIN);
    app.post_form(&invitations, &[("emails", &refused), ("role", "member")])
        .await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;
    browser.goto(&invitations).await;
    browser.wait_for_text("failed for good").await;
    sink.stop().await;
    browser.click("Invite people").await;
    browser.open_dialog().await;
    browser
        .fill("Email addresses", &format!("dee@example.com {LONG_EMAIL}"))
        .await;
    browser.click("Send invitations").await;
    browser
        .wait_until(
            "retrying emails",
            "document.querySelectorAll('.delivery-retrying').length === 2",
        )
        .await;
    let batch_page = browser.path().await;
    let mut problems = Vec::new();
    for (size, width, height) in SIZES {
        browser
            .client()
            .set_window_size(width, height)
            .await
            .unwrap();
        browser.goto(&batch_page).await;
        check_page(&browser, size, "invitations-delivery", &mut problems).await;
        browser.goto("/account").await;
        browser
            .fill("Token name", &format!("deploy from a {size}"))
            .await;
        browser.click("Create token").await;
        browser.wait_for_text("Copy it now").await;
        check_page(&browser, size, "account-new-token", &mut problems).await;
        // The secret, its Copy button, and the token table below them.
        browser
            .client()
            .execute(
                "document.getElementById('new-token').scrollIntoView({block: 'start'});",
                vec![],
            )
            .await
            .unwrap();
        let outside = outside_viewport(&browser, "#new-token, button[data-copy]").await;
        if !outside.is_empty() {
            problems.push(format!("{size} new token: off-screen: {outside:?}"));
        }
        screenshot(&browser, &format!("{size}-account-new-token-copy")).await;
        // Every column of the token table in view, "Expires" included, without scrolling.
        let scrolled = browser
            .client()
            .execute(
                "return [...document.querySelectorAll('.table-wrap')]
                   .filter(w => w.scrollWidth > w.clientWidth + 1)
                   .map(w => w.getAttribute('aria-label') || w.textContent.trim().slice(0, 40));",
                vec![],
            )
            .await
            .unwrap();
        if scrolled.as_array().is_some_and(|a| !a.is_empty()) {
            problems.push(format!(
                "{size} account: tables scroll sideways: {scrolled}"
            ));
        }
    }
    browser.close().await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

crate::on_both_backends!(
    every_page_fits_a_laptop_and_a_phone,
    delivery_states_and_new_secrets_fit_a_laptop_and_a_phone,
);
