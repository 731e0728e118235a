//! Inviting people in a real browser: the invite form, a CSV upload, and resending or
//! revoking through the confirmation dialog, by mouse and by keyboard alone.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::key::Key;

use crate::browser_helpers::Browser;
use crate::helpers::*;
use crate::smtp_sink::Received;

/// How long to wait for something to appear or go before failing.
const PATIENCE: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(25);

fn invitations_path() -> String {
    format!("/orgs/{ORG_SLUG}/invitations")
}

async fn invitation_count(app: &TestApp) -> i64 {
    scalar_i64(&app.state.db, "SELECT COUNT(*) FROM invitations").await
}

async fn state_of(app: &TestApp, email: &str) -> String {
    scalar_text(
        &app.state.db,
        &format!("SELECT state FROM invitations WHERE email = '{email}'"),
    )
    .await
}

/// Signs the browser in as the admin that `TestApp::set_up` created, on the sign-in page.
/// Words separated by single spaces, as a person reads them.
fn squash(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The text of each row of the table shown, as a person reads it.
async fn rows(browser: &Browser) -> Vec<String> {
    browser
        .texts("tbody tr")
        .await
        .iter()
        .map(|row| squash(row))
        .collect()
}

/// The invitation links shown on the "Copy the invitation links" page, by the address
/// each is for (as their field is labelled).
async fn links_shown(browser: &Browser) -> Vec<(String, String)> {
    let mut links = Vec::new();
    for field in browser
        .client()
        .find_all(Locator::Css("input.link-copy"))
        .await
        .unwrap()
    {
        let label = field.attr("aria-label").await.unwrap().unwrap_or_default();
        let link = field.prop("value").await.unwrap().unwrap_or_default();
        links.push((label, link));
    }
    links
}

/// Roster with `emails` invited as Members (without SMTP), and a browser signed in as
/// its Owner.
async fn signed_in_with_invitations(backend: Backend, emails: &str) -> Option<(TestApp, Browser)> {
    let app = TestApp::spawn(backend).await?;
    app.set_up().await;
    app.post_form(
        &invitations_path(),
        &[("emails", emails), ("role", "member")],
    )
    .await;
    let browser = Browser::start(&app).await?;
    browser.sign_in_as_admin().await;
    Some((app, browser))
}

/// Opens the action menu of `email`'s row.
async fn open_row_menu(browser: &Browser, email: &str) {
    let name = format!("Actions for {email}");
    browser
        .client()
        .find(Locator::Css(&format!("summary[aria-label=\"{name}\"]")))
        .await
        .unwrap_or_else(|e| panic!("no menu named {name:?}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Which of a, b and c@example.com are ticked.
async fn ticked(browser: &Browser) -> Vec<bool> {
    let mut ticked = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        ticked.push(is_ticked(browser, email).await);
    }
    ticked
}

/// Clicks the select-all box of the invitations table.
async fn select_all(browser: &Browser) {
    browser
        .client()
        .find(Locator::Css("label.select-all input[data-select-all]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The aria-disabled of the button reading `text`.
async fn aria_disabled(browser: &Browser, text: &str) -> Option<String> {
    browser
        .client()
        .find(Locator::XPath(&format!(
            "//button[normalize-space()='{text}']"
        )))
        .await
        .unwrap()
        .attr("aria-disabled")
        .await
        .unwrap()
}

/// Presses Tab (or Shift+Tab, going `back`) until `name` has the focus; returns what
/// got it on the way, in order.
async fn tab_to(browser: &Browser, name: &str, back: bool) -> Vec<String> {
    let mut reached = Vec::new();
    for _ in 0..30 {
        let mut keys = KeyActions::new("keyboard".into());
        if back {
            keys = keys.then(KeyAction::Down {
                value: Key::Shift.into(),
            });
        }
        keys = keys
            .then(KeyAction::Down {
                value: Key::Tab.into(),
            })
            .then(KeyAction::Up {
                value: Key::Tab.into(),
            });
        if back {
            keys = keys.then(KeyAction::Up {
                value: Key::Shift.into(),
            });
        }
        browser.client().perform_actions(keys).await.unwrap();
        reached.push(browser.focused().await);
        if reached.last().is_some_and(|n| n == name) {
            return reached;
        }
    }
    panic!("Tab never reached {name:?}; it reached {reached:?}");
}

async fn is_ticked(browser: &Browser, email: &str) -> bool {
    browser
        .client()
        .find(Locator::Css(&format!(
            "input[type=checkbox][aria-label=\"Select {email}\"]"
        )))
        .await
        .unwrap()
        .is_selected()
        .await
        .unwrap()
}

/// The path of the invitation link in an email.
fn link_in(mail: &Received) -> String {
    mail.text
        .lines()
        .find(|l| l.contains("/invitations/"))
        .expect("a link in the email")
        .trim()
        .to_string()
}

/// Waits until `n` emails have arrived for `address`, and returns them in order.
async fn wait_for_mails_to(sink: &SmtpSink, address: &str, n: usize) -> Vec<Received> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let mails: Vec<Received> = sink
            .received()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect();
        if mails.len() >= n {
            return mails;
        }
        assert!(
            Instant::now() < deadline,
            "expected {n} emails to {address}, got {mails:?}"
        );
        tokio::time::sleep(POLL).await;
    }
}

async fn a_bad_address_is_named_under_the_field_and_once_fixed_the_links_are_shown(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;
    browser.goto(&invitations_path()).await;
    browser.click("Invite people").await;
    let (heading, _) = browser.open_dialog().await;
    assert_eq!(heading, "Invite people");
    assert_eq!(browser.focused().await, "Email addresses");
    let typed = "not-an-address, good@example.com";

    browser.fill("Email addresses", typed).await;
    browser.click("Send invitations").await;

    browser
        .wait_for_text("Nothing was sent. Fix or remove these addresses, then send again.")
        .await;
    let message = squash(&browser.message_next_to("Email addresses").await);
    assert!(
        message.contains(
            "not-an-address: invalid address: Enter a valid email address, like name@example.com."
        ),
        "{message}"
    );
    assert!(
        !message.contains("good@example.com"),
        "only the bad address is named: {message}"
    );
    assert_eq!(browser.value("Email addresses").await, typed);
    assert_eq!(
        browser
            .field("Email addresses")
            .await
            .attr("aria-invalid")
            .await
            .unwrap()
            .as_deref(),
        Some("true")
    );
    assert_eq!(browser.texts("h1").await, ["Invite people"]);
    assert_eq!(invitation_count(&app).await, 0, "nothing invited");

    browser
        .fill("Email addresses", "fixed@example.com, good@example.com")
        .await;
    browser.click("Send invitations").await;

    browser.wait_for_text("Copy the invitation links").await;
    let links = links_shown(&browser).await;
    assert_eq!(
        links
            .iter()
            .map(|(label, _)| label.as_str())
            .collect::<Vec<_>>(),
        [
            "Invitation link for fixed@example.com",
            "Invitation link for good@example.com"
        ]
    );
    assert!(
        links
            .iter()
            .all(|(_, link)| link.starts_with(&format!("{}/invitations/", app.address))),
        "{links:?}"
    );
    assert_ne!(links[0].1, links[1].1, "one link per address");
    browser.click("Back to invitations").await;
    browser.wait_for_path(&invitations_path()).await;
    let listed = rows(&browser).await;
    assert_eq!(listed.len(), 2, "{listed:?}");
    for email in ["fixed@example.com", "good@example.com"] {
        assert!(
            listed
                .iter()
                .any(|row| row.contains(email) && row.contains("link shown")),
            "{email} is pending: {listed:?}"
        );
    }
    assert_eq!(
        squash(&browser.texts("#invitation-count").await.remove(0)),
        "2 pending"
    );
    browser.close().await;
}

async fn a_csv_file_is_previewed_row_by_row_before_anyone_is_invited(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("people.csv");
    std::fs::write(
        &file,
        "email,role\nnew@example.com,\nada@example.com,\nnot-an-email,\n",
    )
    .unwrap();
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;
    browser.goto(&invitations_path()).await;
    browser.click("Invite people").await;
    browser.open_dialog().await;

    browser
        .field("CSV file")
        .await
        .send_keys(&file.display().to_string())
        .await
        .unwrap();
    browser.click("Preview the file").await;

    browser
        .wait_for_text("Check people.csv before inviting")
        .await;
    assert!(
        browser.text().await.contains(
            "1 person will be invited; 2 rows will be skipped. Nothing has been sent yet."
        )
    );
    assert_eq!(
        rows(&browser).await,
        [
            "2 new@example.com Member will be invited",
            "3 ada@example.com Member already a member",
            "4 not-an-email Member invalid address: Enter a valid email address, like name@example.com.",
        ]
    );
    assert_eq!(invitation_count(&app).await, 0, "nothing invited yet");
    // The preview has an address of its own: reloading it shows it again and sends
    // nothing twice.
    let preview_path = browser.path().await;
    assert!(
        preview_path.starts_with(&format!("{}/csv/", invitations_path())),
        "{preview_path}"
    );
    browser.client().refresh().await.unwrap();
    browser
        .wait_for_text("Check people.csv before inviting")
        .await;
    assert_eq!(browser.path().await, preview_path);
    assert_eq!(rows(&browser).await.len(), 3);
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM csv_imports").await,
        1,
        "one upload kept"
    );

    browser.click("Invite 1 person").await;

    browser.wait_for_text("Copy the invitation links").await;
    let links = links_shown(&browser).await;
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(links[0].0, "Invitation link for new@example.com");
    assert!(
        links[0]
            .1
            .starts_with(&format!("{}/invitations/", app.address))
    );
    assert_eq!(invitation_count(&app).await, 1);
    browser.close().await;
}

async fn bulk_revoke_asks_in_a_dialog_that_escape_cancels_by_keyboard_and_mouse(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let invited = app
        .post_form(
            &invitations_path(),
            &[
                ("emails", "a@example.com b@example.com keep@example.com"),
                ("role", "member"),
            ],
        )
        .await;
    assert_eq!(invited.status(), 200, "the links page (no SMTP)");
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;
    browser.goto(&invitations_path()).await;

    // By keyboard alone: tick two invitations (newest first: keep, b, a), then ask to
    // revoke them.
    tab_to(&browser, "Select b@example.com", false).await;
    browser.press(Key::Space).await;
    let on_the_way = tab_to(&browser, "Select a@example.com", false).await;
    browser.press(Key::Space).await;
    let back_up = tab_to(&browser, "Revoke selected", true).await;
    browser.press(Key::Enter).await;

    let (heading, listed) = browser.open_dialog().await;
    assert_eq!(
        on_the_way,
        ["Actions for b@example.com", "Select a@example.com"]
    );
    assert_eq!(
        back_up,
        [
            "Actions for b@example.com",
            "Select b@example.com",
            "Actions for keep@example.com",
            "Select keep@example.com",
            "Revoke selected"
        ]
    );
    assert_eq!(heading, "Revoke 2 invitations?");
    assert_eq!(listed, ["a@example.com", "b@example.com"]);
    assert_eq!(browser.focused().await, "Revoke 2 invitations");

    browser.press(Key::Escape).await;

    browser.wait_for_no_dialog().await;
    assert_eq!(browser.focused().await, "Revoke selected");
    assert_eq!(rows(&browser).await.len(), 3, "nothing revoked");
    assert_eq!(state_of(&app, "a@example.com").await, "pending");
    assert_eq!(state_of(&app, "b@example.com").await, "pending");
    assert!(is_ticked(&browser, "a@example.com").await);
    assert!(is_ticked(&browser, "b@example.com").await);
    assert!(!is_ticked(&browser, "keep@example.com").await);

    // By mouse: Cancel also closes it, then confirm for real.
    browser.click("Revoke selected").await;
    browser.open_dialog().await;
    browser.click("Cancel").await;
    browser.wait_for_no_dialog().await;
    assert_eq!(browser.focused().await, "Revoke selected");
    assert_eq!(state_of(&app, "a@example.com").await, "pending");

    browser.click("Revoke selected").await;
    let (heading, _) = browser.open_dialog().await;
    assert_eq!(heading, "Revoke 2 invitations?");
    browser.click("Revoke 2 invitations").await;

    browser.wait_for_text("Revoked 2 invitations.").await;
    assert_eq!(
        browser.texts(".flash-success").await,
        ["Revoked 2 invitations."]
    );
    let pending = rows(&browser).await;
    assert_eq!(pending.len(), 1, "{pending:?}");
    assert!(pending[0].contains("keep@example.com"), "{pending:?}");
    browser.click("Revoked").await;
    browser
        .wait_for_path(&format!("{}?status=revoked", invitations_path()))
        .await;
    let revoked = rows(&browser).await;
    assert_eq!(revoked.len(), 2, "{revoked:?}");
    assert!(
        ["a@example.com", "b@example.com"]
            .iter()
            .all(|email| revoked.iter().any(|row| row.contains(email))),
        "{revoked:?}"
    );
    browser.close().await;
}

async fn resending_a_row_asks_in_a_dialog_then_emails_a_new_link_and_kills_the_old(
    backend: Backend,
) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    let invited = app
        .post_form(
            &invitations_path(),
            &[("emails", "slow@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(invited.status(), 303);
    let first = wait_for_mails_to(&sink, "slow@example.com", 1)
        .await
        .remove(0);
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;
    browser.goto(&invitations_path()).await;

    open_row_menu(&browser, "slow@example.com").await;
    browser.click("Resend invitation…").await;
    let (heading, listed) = browser.open_dialog().await;
    assert_eq!(heading, "Resend 1 invitation?");
    assert_eq!(listed, ["slow@example.com"]);
    assert_eq!(browser.focused().await, "Resend 1 invitation");
    browser.click("Resend 1 invitation").await;

    browser
        .wait_for_text("Resent 1 invitation; queued, delivery below. Earlier links no longer work.")
        .await;
    let mails = wait_for_mails_to(&sink, "slow@example.com", 2).await;
    let (old_link, new_link) = (link_in(&first), link_in(&mails[1]));
    assert_ne!(old_link, new_link);
    browser.goto(&old_link).await;
    browser
        .wait_for_text("This invitation link is not valid")
        .await;
    browser.goto(&new_link).await;
    browser
        .wait_for_text(
            "Ada Lovelace invited slow@example.com to join Analytical Engines as Member.",
        )
        .await;
    browser.close().await;
}

async fn bulk_feedback_shows_beside_the_buttons_and_a_revoke_keeps_the_other_ticks(
    backend: Backend,
) {
    let Some((app, browser)) =
        signed_in_with_invitations(backend, "a@example.com b@example.com keep@example.com").await
    else {
        return;
    };
    let pending = format!("{}?status=pending", invitations_path());
    browser.goto(&pending).await;

    // Nothing ticked: said next to the buttons, in a live region, not only at the top.
    browser.click("Revoke selected").await;
    browser
        .wait_until(
            "the message beside the bulk buttons",
            "document.querySelector('.bulk-bar [role=status]').innerText.includes('Select at least one invitation first.')",
        )
        .await;
    assert!(browser.texts("#flash").await.concat().is_empty());

    // Tick keep, then revoke a's invitation from its row.
    browser
        .client()
        .find(Locator::Css("input[aria-label='Select keep@example.com']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    open_row_menu(&browser, "a@example.com").await;
    browser
        .client()
        .find(Locator::XPath(
            "//details[@open]//button[normalize-space()='Revoke invitation…']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.open_dialog().await;
    browser.click("Revoke 1 invitation").await;
    browser.wait_for_text("Revoked 1 invitation.").await;
    browser
        .wait_until(
            "focus on the row that took its place",
            "document.activeElement && document.activeElement !== document.body",
        )
        .await;

    assert_eq!(browser.path().await, pending, "the same tab");
    assert_eq!(state_of(&app, "a@example.com").await, "revoked");
    assert!(is_ticked(&browser, "keep@example.com").await, "kept ticked");
    assert!(!is_ticked(&browser, "b@example.com").await);
    assert_eq!(browser.focused().await, "Actions for b@example.com");
    browser.close().await;
}

async fn select_all_ticks_every_row_and_bulk_buttons_wait_for_a_selection(backend: Backend) {
    let Some((_app, browser)) =
        signed_in_with_invitations(backend, "a@example.com b@example.com c@example.com").await
    else {
        return;
    };
    browser.goto(&invitations_path()).await;

    // Nothing ticked: the bulk buttons say they are unavailable, and a click does nothing.
    assert_eq!(
        aria_disabled(&browser, "Resend selected").await.as_deref(),
        Some("true")
    );
    browser.click("Revoke selected").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(browser.texts("dialog").await.is_empty(), "no dialog opened");
    assert_eq!(browser.path().await, invitations_path());

    select_all(&browser).await;
    assert_eq!(ticked(&browser).await, [true, true, true]);
    assert_eq!(aria_disabled(&browser, "Revoke selected").await, None);

    select_all(&browser).await;
    assert_eq!(ticked(&browser).await, [false, false, false]);
    assert_eq!(
        aria_disabled(&browser, "Revoke selected").await.as_deref(),
        Some("true")
    );

    // One ticked by hand: the select-all box is half-ticked, the buttons work.
    browser
        .client()
        .find(Locator::Css("input[aria-label=\"Select b@example.com\"]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let half = browser
        .client()
        .execute(
            "return document.querySelector('input[data-select-all]').indeterminate;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(half.as_bool(), Some(true));
    browser.click("Revoke selected").await;
    let (heading, listed) = browser.open_dialog().await;
    assert_eq!(heading, "Revoke 1 invitation?");
    assert_eq!(listed, ["b@example.com"]);
    browser.close().await;
}

async fn delivery_states_and_a_bulk_sends_progress_update_in_place(backend: Backend) {
    let Some((mut sink, app)) = set_up_with_smtp_down(backend).await else {
        return;
    };
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;
    browser.goto(&invitations_path()).await;

    browser.click("Invite people").await;
    browser.open_dialog().await;
    browser
        .fill("Email addresses", "one@example.com two@example.com")
        .await;
    browser.click("Send invitations").await;
    browser
        .wait_for_text("2 invitations queued; delivery below.")
        .await;
    // Marks this page: a reload would lose the mark.
    browser
        .client()
        .execute("window.notReloaded = true;", vec![])
        .await
        .unwrap();
    browser
        .wait_until(
            "both emails retrying, with the attempt and a plain reason",
            "document.querySelector('#batch-progress').textContent.includes('2 retrying') \
             && document.querySelectorAll('.delivery-retrying').length === 2 \
             && document.querySelector('.delivery-why').textContent.includes('failed. The mail server did not answer. Next try')",
        )
        .await;
    sink.restart().await;

    browser
        .wait_until(
            "both delivered, on the same page",
            "document.querySelector('#batch-progress').textContent.trim() === 'All 2 emails delivered.' \
             && document.querySelectorAll('.delivery-sent').length === 2 && window.notReloaded === true",
        )
        .await;
    assert_eq!(
        rows(&browser)
            .await
            .iter()
            .filter(|r| r.contains("delivered"))
            .count(),
        2
    );
    browser.close().await;
}

/// Clicks the Copy button of the secret `copy_id` and waits for its status to say
/// "Copied".
async fn copy(browser: &Browser, copy_id: &str) {
    let button = browser
        .client()
        .find(Locator::Css(&format!("button[data-copy=\"{copy_id}\"]")))
        .await
        .unwrap();
    assert!(
        button.is_displayed().await.unwrap(),
        "Copy is shown with JavaScript"
    );
    button.click().await.unwrap();
    browser
        .wait_until(
            "the Copied announcement",
            &format!("document.getElementById('{copy_id}-copied').textContent === 'Copied'"),
        )
        .await;
}

/// Empties the field labelled `label` and pastes into it with Ctrl+V; returns what it
/// then holds.
async fn paste_into(browser: &Browser, label: &str) -> String {
    browser.fill(label, "").await;
    browser.field(label).await.click().await.unwrap();
    let paste = KeyActions::new("keyboard".into())
        .then(KeyAction::Down {
            value: Key::Control.into(),
        })
        .then(KeyAction::Down { value: 'v' })
        .then(KeyAction::Up { value: 'v' })
        .then(KeyAction::Up {
            value: Key::Control.into(),
        });
    browser.client().perform_actions(paste).await.unwrap();
    browser.value(label).await
}

async fn secrets_shown_once_have_a_copy_button_that_says_copied(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let without_js = app
        .post_form(
            &invitations_path(),
            &[
                ("emails", "one@example.com two@example.com"),
                ("role", "member"),
            ],
        )
        .await
        .text()
        .await
        .unwrap();
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.sign_in_as_admin().await;

    browser.goto(&invitations_path()).await;
    browser.click("Invite people").await;
    browser.open_dialog().await;
    browser
        .fill("Email addresses", "three@example.com four@example.com")
        .await;
    browser.click("Send invitations").await;
    browser.wait_for_text("Copy the invitation links").await;
    let links = links_shown(&browser).await;
    copy(&browser, "link-2").await;
    browser.goto("/account").await;
    let pasted_link = paste_into(&browser, "Token name").await;
    browser.fill("Token name", "deploy").await;
    browser.click("Create token").await;
    browser.wait_for_text("Your new token").await;
    let token = browser.value("Token").await;
    copy(&browser, "new-token").await;
    let pasted_token = paste_into(&browser, "Token name").await;

    assert_eq!(
        attrs(&without_js, "button[data-copy]", "hidden"),
        ["", ""],
        "without JavaScript the buttons stay hidden"
    );
    assert_eq!(
        attrs(&without_js, "button[data-copy]", "aria-label"),
        [
            "Copy the link for one@example.com",
            "Copy the link for two@example.com"
        ]
    );
    assert_eq!(pasted_link, links[1].1, "the second link was copied");
    assert_eq!(pasted_token, token);
    browser.close().await;
}

crate::on_both_backends!(
    select_all_ticks_every_row_and_bulk_buttons_wait_for_a_selection,
    a_bad_address_is_named_under_the_field_and_once_fixed_the_links_are_shown,
    a_csv_file_is_previewed_row_by_row_before_anyone_is_invited,
    bulk_revoke_asks_in_a_dialog_that_escape_cancels_by_keyboard_and_mouse,
    resending_a_row_asks_in_a_dialog_then_emails_a_new_link_and_kills_the_old,
    bulk_feedback_shows_beside_the_buttons_and_a_revoke_keeps_the_other_ticks,
    delivery_states_and_a_bulk_sends_progress_update_in_place,
    secrets_shown_once_have_a_copy_button_that_says_copied,
);
