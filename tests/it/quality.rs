//! Page quality (DESIGN.md): every page is valid HTML for the Nu Html Checker and has no
//! WCAG 2.1 AA violations that axe-core finds. Both tools come from npm (tests/tools).

use std::path::{Path, PathBuf};

use roster::db;
use roster::domain::{Email, Role, password};
use serde_json::Value;

use crate::browser_helpers::{Browser, in_ci};
use crate::helpers::*;

const LONER_EMAIL: &str = "lone@example.com";
const LONER_PASSWORD: &str = "a lonely passphrase";

pub(crate) fn tool(relative: &str) -> Option<PathBuf> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tools/node_modules")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    let why = format!(
        "{} is missing: run `npm ci --ignore-scripts` in tests/tools",
        path.display()
    );
    assert!(!in_ci(), "{why}");
    eprintln!("\n*** SKIPPED page-quality test: {why} ***\n");
    None
}

fn java_runs() -> bool {
    let runs = std::process::Command::new("java")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !runs {
        let why = "java is missing: install a Java runtime (17+) for the Nu Html Checker, \
                   and run `npm ci --ignore-scripts` in tests/tools";
        assert!(!in_ci(), "{why}");
        eprintln!("\n*** SKIPPED page-quality test: {why} ***\n");
    }
    runs
}

/// The set-up token from the set-up URL.
fn setup_token(app: &TestApp) -> String {
    let url = app.setup_url.as_deref().unwrap();
    url.split("token=").nth(1).unwrap().to_string()
}

/// Makes the admin a Viewer of a second organization, so the header shows a switcher.
async fn add_second_organization(app: &TestApp) {
    let now = app.state.clock.now();
    let admin = db::users::find_by_email(&app.state.db, &Email::parse(ADMIN_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut tx = app.state.db.begin().await.unwrap();
    let other = db::orgs::insert(&mut tx, "Difference Engines", now)
        .await
        .unwrap();
    db::memberships::insert(&mut tx, other.id, admin.id, Role::Viewer, None, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

/// An account in no organization (arranged in storage), to see the no-organization page.
async fn add_account_without_organization(app: &TestApp) {
    let mut tx = app.state.db.begin().await.unwrap();
    db::users::insert(
        &mut tx,
        &Email::parse(LONER_EMAIL).unwrap(),
        "Lone Person",
        &password::hash(LONER_PASSWORD),
        false,
        app.state.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// The body of a page answered with `status`.
async fn html(response: reqwest::Response, status: u16) -> String {
    let url = response.url().to_string();
    assert_eq!(response.status(), status, "{url}");
    response.text().await.unwrap()
}

/// Runs the Nu Html Checker once over all pages; returns its errors and warnings.
async fn nu_html_checker(jar: &Path, pages: &[(&str, String)]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for (name, html) in pages {
        let file = dir.path().join(format!("{name}.html"));
        std::fs::write(&file, html).unwrap();
        files.push(file);
    }
    let output = tokio::process::Command::new("java")
        .arg("-jar")
        .arg(jar)
        .args(["--format", "json", "--exit-zero-always", "--stdout"])
        .args(&files)
        .output()
        .await
        .unwrap();
    let report: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "vnu gave no JSON ({e}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    report["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["type"] != "info" || m["subType"] == "warning")
        .map(|m| {
            let url = m["url"].as_str().unwrap_or_default();
            let file = url.rsplit('/').next().unwrap_or(url);
            let kind = m["subType"].as_str().or(m["type"].as_str()).unwrap_or("?");
            format!(
                "{file}:{}: {kind}: {}\n    {}",
                m["lastLine"],
                m["message"].as_str().unwrap_or_default(),
                m["extract"].as_str().unwrap_or_default().trim()
            )
        })
        .collect()
}

async fn every_page_is_valid_html(backend: Backend) {
    let Some(jar) = tool("vnu-jar/build/dist/vnu.jar") else {
        return;
    };
    if !java_runs() {
        return;
    }
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let stranger = app.new_browser();
    let loner = app.new_browser();
    let members = format!("/orgs/{ORG_SLUG}/members");
    let mut pages: Vec<(&str, String)> = Vec::new();

    let setup_page = app.client.get(app.setup_url.as_deref().unwrap());
    pages.push(("setup", html(setup_page.send().await.unwrap(), 200).await));
    let token = setup_token(&app);
    let mistaken = [
        ("token", token.as_str()),
        ("email", "ada.example.com"),
        ("name", ""),
        ("password", "short"),
        ("password_confirm", ""),
        ("organization", ""),
    ];
    let setup_errors = app.post_form("/setup", &mistaken).await;
    pages.push(("setup-with-errors", html(setup_errors, 422).await));
    app.set_up().await;
    pages.push(("members", html(app.get(&members).await, 200).await));
    let invitations = format!("/orgs/{ORG_SLUG}/invitations");
    pages.push((
        "invitations-only-member",
        html(app.get(&invitations).await, 200).await,
    ));
    add_second_organization(&app).await;
    pages.push((
        "members-with-switcher",
        html(app.get(&members).await, 200).await,
    ));
    pages.extend(organization_pages(&app, &stranger).await);
    pages.extend(member_pages(&app).await);
    pages.extend(team_pages(&app).await);
    pages.extend(account_pages(&app).await);
    pages.extend(two_factor_pages(&app, &stranger).await);
    pages.extend(users_pages(&app).await);
    pages.extend(password_pages(&app, &stranger).await);
    let audit = format!("/orgs/{ORG_SLUG}/audit");
    pages.push(("audit", html(app.get(&audit).await, 200).await));
    pages.push((
        "audit-with-errors",
        html(
            app.get(&format!("{audit}?from=soon&until=later")).await,
            422,
        )
        .await,
    ));
    pages.push((
        "admin-audit",
        html(app.get("/admin/audit").await, 200).await,
    ));
    pages.push(("not-found", html(app.get("/no-such-page").await, 404).await));
    let sso = format!("/orgs/{ORG_SLUG}/settings/sso");
    pages.push(("sso-settings", html(app.get(&sso).await, 200).await));
    pages.push((
        "sso-settings-with-errors",
        html(
            app.post_form(&sso, &[("issuer", "nope"), ("action", "save")])
                .await,
            422,
        )
        .await,
    ));
    let scim = format!("/orgs/{ORG_SLUG}/settings/scim");
    pages.push(("scim-settings", html(app.get(&scim).await, 200).await));
    pages.push((
        "scim-settings-with-token",
        html(app.post_form(&format!("{scim}/token"), &[]).await, 200).await,
    ));
    pages.push((
        "scim-settings-with-error",
        html(
            app.post_form(&scim, &[("default_role", "owner")]).await,
            422,
        )
        .await,
    ));
    pages.push((
        "scim-revoke",
        html(app.get(&format!("{scim}/revoke")).await, 200).await,
    ));
    pages.push((
        "sso-refused",
        html(stranger.get("/sso/callback?code=x&state=y").await, 400).await,
    ));
    pages.push(("sign-in", html(stranger.get("/sign-in").await, 200).await));
    pages.push((
        "sign-in-password-step",
        html(
            stranger
                .post_form("/sign-in", &[("email", ADMIN_EMAIL)])
                .await,
            200,
        )
        .await,
    ));
    let refused = stranger.sign_in(ADMIN_EMAIL, "not the password").await;
    pages.push(("sign-in-with-error", html(refused, 422).await));
    add_account_without_organization(&app).await;
    assert_eq!(
        loner.sign_in(LONER_EMAIL, LONER_PASSWORD).await.status(),
        303
    );
    pages.push(("no-organization", html(loner.get("/").await, 200).await));

    let problems = nu_html_checker(&jar, &pages).await;

    assert!(
        problems.is_empty(),
        "the Nu Html Checker found {} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// The settings and invitation pages, in their states, fetched as `app`'s Owner (and,
/// for an invitation's landing page, as `stranger`).
async fn organization_pages(app: &TestApp, stranger: &TestApp) -> Vec<(&'static str, String)> {
    let settings = format!("/orgs/{ORG_SLUG}/settings");
    let invitations = format!("/orgs/{ORG_SLUG}/invitations");
    let bad_settings = [
        ("name", ""),
        ("lifetime_value", "99"),
        ("lifetime_unit", "days"),
        ("max_pending_invitations", "0"),
        ("max_members", "many"),
        ("allowed_email_domains", "bad!"),
    ];
    let invite = [
        ("emails", "a@example.com b@example.com"),
        ("role", "member"),
    ];
    let links = html(app.post_form(&invitations, &invite).await, 200).await;
    let link = links
        .split("value=\"")
        .nth(2)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let landing = link
        .split_once("/invitations/")
        .map(|(_, t)| format!("/invitations/{t}"))
        .unwrap();
    let first = scalar_i64(&app.state.db, "SELECT MIN(id) FROM invitations")
        .await
        .to_string();
    let revoke = [("bulk_action", "revoke"), ("ids", first.as_str())];
    let token = app.csrf_token().await;
    let csv = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(b"email\nc@example.com\nnope\n".to_vec())
                .file_name("people.csv"),
        )
        .text("role", "viewer");
    let csv_url = app.url(&format!("{invitations}/csv?csrf_token={token}"));
    let uploaded = app
        .client
        .post(csv_url)
        .multipart(csv)
        .send()
        .await
        .unwrap();
    let domains = format!("{settings}/domains");
    app.post_form(&domains, &[("domain", "engineering.example-company.test")])
        .await;
    let domain = scalar_i64(&app.state.db, "SELECT MIN(id) FROM org_domains").await;
    let webhooks = format!("{settings}/webhooks");
    let webhook_added = html(
        app.post_form(
            &webhooks,
            &[
                ("url", "https://hooks.example-company.test/roster"),
                ("events", "member.added"),
                ("events", "invitation.expired"),
            ],
        )
        .await,
        200,
    )
    .await;
    let webhook = scalar_i64(&app.state.db, "SELECT MIN(id) FROM webhook_endpoints").await;
    let webhook = format!("{webhooks}/{webhook}");
    // A delivery that fails (the name does not resolve in tests), for the table.
    app.post_form(&format!("{webhook}/test"), &[]).await;
    assert_eq!(
        uploaded.status(),
        303,
        "the upload redirects to its preview"
    );
    let preview = app.get(&location(&uploaded)).await;
    let invite_dialog = app
        .client
        .get(app.url(&format!("{invitations}/new")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    let invitations_page = html(app.get(&invitations).await, 200).await;
    let revoked_tab = {
        let more = [("emails", "gone@example.com"), ("role", "member")];
        html(app.post_form(&invitations, &more).await, 200).await;
        let gone = scalar_i64(&app.state.db, "SELECT MAX(id) FROM invitations")
            .await
            .to_string();
        let revoke_now = [
            ("bulk_action", "revoke"),
            ("ids", gone.as_str()),
            ("confirm", "yes"),
        ];
        let done = app
            .post_form(&format!("{invitations}/manage"), &revoke_now)
            .await;
        assert_eq!(done.status(), 303);
        html(app.get(&format!("{invitations}?status=revoked")).await, 200).await
    };
    vec![
        ("settings", html(app.get(&settings).await, 200).await),
        (
            "settings-domain-refused",
            html(
                app.post_form(&domains, &[("domain", "gmail.com")]).await,
                422,
            )
            .await,
        ),
        (
            "domain-remove",
            html(app.get(&format!("{domains}/{domain}/remove")).await, 200).await,
        ),
        (
            "settings-with-errors",
            html(app.post_form(&settings, &bad_settings).await, 422).await,
        ),
        ("webhooks-secret-shown", webhook_added),
        ("webhooks", html(app.get(&webhooks).await, 200).await),
        (
            "webhooks-with-errors",
            html(
                app.post_form(
                    &webhooks,
                    &[("url", "ftp://x\u{1}"), ("description", "a\nb")],
                )
                .await,
                422,
            )
            .await,
        ),
        ("webhook", html(app.get(&webhook).await, 200).await),
        (
            "webhook-rotated",
            html(app.post_form(&format!("{webhook}/rotate"), &[]).await, 200).await,
        ),
        (
            "webhook-delete",
            html(app.get(&format!("{webhook}/delete")).await, 200).await,
        ),
        ("invitation-links", links.clone()),
        ("invitations", invitations_page.clone()),
        (
            "invitations-with-invite-dialog",
            with_dialog(&invitations_page, &html(invite_dialog, 200).await),
        ),
        (
            "invite-page",
            html(app.get(&format!("{invitations}/new")).await, 200).await,
        ),
        ("invitations-revoked", revoked_tab),
        (
            "invitations-with-errors",
            html(
                app.post_form(
                    &invitations,
                    &[("emails", "x@example.com nope"), ("role", "member")],
                )
                .await,
                422,
            )
            .await,
        ),
        (
            "invitations-confirm",
            html(
                app.post_form(&format!("{invitations}/manage"), &revoke)
                    .await,
                200,
            )
            .await,
        ),
        ("invitations-csv-preview", html(preview, 200).await),
        (
            "invitation-landing-new-account",
            html(stranger.get(&landing).await, 200).await,
        ),
        (
            "invitation-landing-someone-else",
            html(app.get(&landing).await, 200).await,
        ),
        (
            "invitation-confirm-decline",
            html(stranger.get(&format!("{landing}/decline")).await, 200).await,
        ),
        (
            "invitation-unknown",
            html(stranger.get("/invitations/not-a-token").await, 404).await,
        ),
    ]
}

/// `page` with `fragment` where htmx puts a dialog, so that the checker judges the
/// dialog where it lands.
fn with_dialog(page: &str, fragment: &str) -> String {
    page.replace(
        r#"<div id="dialog-slot"></div>"#,
        &format!(r#"<div id="dialog-slot">{fragment}</div>"#),
    )
}

/// The Teams page empty, with an error and with a team; a team's page with its members,
/// a search for people to add and a rename error; its delete confirmation as a page and
/// as a dialog; the Members page filtered by a team.
async fn team_pages(app: &TestApp) -> Vec<(&'static str, String)> {
    let teams = format!("/orgs/{ORG_SLUG}/teams");
    let empty = html(app.get(&teams).await, 200).await;
    let refused = html(app.post_form(&teams, &[("name", "")]).await, 422).await;
    let created = app.post_form(&teams, &[("name", "Platform")]).await;
    let team = location(&created);
    let cleo = app.membership_id("cleo@example.com").await.to_string();
    app.post_form(&format!("{team}/members"), &[("member_id", cleo.as_str())])
        .await;
    let id = team.rsplit('/').next().unwrap().to_string();
    let team_page = html(app.get(&format!("{team}?q=example")).await, 200).await;
    let dialog = app
        .client
        .get(app.url(&format!("{team}/delete")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    vec![
        ("teams-empty", empty),
        ("teams-with-error", refused),
        ("teams", html(app.get(&teams).await, 200).await),
        ("team", team_page.clone()),
        (
            "team-rename-error",
            html(
                app.post_form(&format!("{team}/rename"), &[("name", "\u{7}")])
                    .await,
                422,
            )
            .await,
        ),
        (
            "team-delete",
            html(app.get(&format!("{team}/delete")).await, 200).await,
        ),
        (
            "team-with-delete-dialog",
            with_dialog(&team_page, &html(dialog, 200).await),
        ),
        (
            "members-by-team",
            html(
                app.get(&format!("/orgs/{ORG_SLUG}/members?team={id}"))
                    .await,
                200,
            )
            .await,
        ),
    ]
}

/// The Members page with its action menus and search, and each member action's
/// confirmation as a page (no JavaScript) and as a dialog (htmx).
async fn member_pages(app: &TestApp) -> Vec<(&'static str, String)> {
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let cleo = app.membership_id("cleo@example.com").await;
    let member = |what: &str| format!("/orgs/{ORG_SLUG}/members/{cleo}/{what}");
    let dialog = |what: &str| {
        app.client
            .get(app.url(&member(what)))
            .header("HX-Request", "true")
            .send()
    };
    let mut pages = vec![
        (
            "members-with-actions",
            html(app.get(&format!("/orgs/{ORG_SLUG}/members")).await, 200).await,
        ),
        (
            "members-no-match",
            html(
                app.get(&format!("/orgs/{ORG_SLUG}/members?q=nobody&role=admin&status=inactive&sort=name&dir=desc"))
                    .await,
                200,
            )
            .await,
        ),
        ("member-role", html(app.get(&member("role")).await, 200).await),
        ("member-deactivate", html(app.get(&member("deactivate")).await, 200).await),
        ("member-remove", html(app.get(&member("remove")).await, 200).await),
        ("member-access", html(app.get(&member("access")).await, 200).await),
        (
            "member-access-past",
            html(
                app.post_form(&member("access"), &[("access_until", "2001-01-01")])
                    .await,
                422,
            )
            .await,
        ),
        (
            "member-remove-mismatch",
            html(
                app.post_form(&member("remove"), &[("confirm_email", "nope")])
                    .await,
                422,
            )
            .await,
        ),
        (
            "leave",
            html(app.get(&format!("/orgs/{ORG_SLUG}/leave")).await, 200).await,
        ),
    ];
    exec_sql(
        &app.state.db,
        &format!("UPDATE organizations SET seats = 5 WHERE slug = '{ORG_SLUG}'"),
    )
    .await;
    pages.push((
        "members-with-seats",
        html(app.get(&format!("/orgs/{ORG_SLUG}/members")).await, 200).await,
    ));
    let seats = format!("/orgs/{ORG_SLUG}/members/seats");
    let cleo_id = cleo.to_string();
    let assign = [("seat_action", "assign"), ("ids", cleo_id.as_str())];
    pages.push((
        "seat-confirm",
        html(app.post_form(&seats, &assign).await, 200).await,
    ));
    let token = app.csrf_token().await;
    let seat_dialog = app
        .client
        .post(app.url(&seats))
        .header("HX-Request", "true")
        .form(&[
            ("csrf_token", token.as_str()),
            ("seat_action", "assign"),
            ("ids", cleo_id.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let seat_dialog = html(seat_dialog, 200).await;
    pages.push(("seat-dialog", with_dialog(&pages[0].1, &seat_dialog)));
    for (name, what) in [
        ("member-role-dialog", "role"),
        ("member-deactivate-dialog", "deactivate"),
        ("member-remove-dialog", "remove"),
        ("member-access-dialog", "access"),
    ] {
        let fragment = html(dialog(what).await.unwrap(), 200).await;
        pages.push((name, with_dialog(&pages[0].1, &fragment)));
    }
    pages.extend(access_request_pages(app).await);
    pages
}

/// Access requests: the form a Member gets where members may not invite (and its
/// mistakes), the Owner's list empty and with a request (and a refused note), and the
/// Members page with an end to a member's access.
async fn access_request_pages(app: &TestApp) -> Vec<(&'static str, String)> {
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET members_may_invite = FALSE",
    )
    .await;
    let requests = format!("/orgs/{ORG_SLUG}/access-requests");
    let mut pages = vec![(
        "access-requests-empty",
        html(app.get(&requests).await, 200).await,
    )];
    let cleo = app.browser_for("cleo@example.com").await;
    pages.push((
        "access-request-new",
        html(cleo.get(&format!("{requests}/new")).await, 200).await,
    ));
    let bad = [
        ("emails", "x@example.com nope"),
        ("role", "member"),
        ("reason", ""),
    ];
    pages.push((
        "access-request-errors",
        html(cleo.post_form(&requests, &bad).await, 422).await,
    ));
    let ask = [
        ("emails", "x@example.com y@example.com"),
        ("role", "member"),
        ("reason", "Two contractors,\nuntil March."),
    ];
    assert_eq!(cleo.post_form(&requests, &ask).await.status(), 303);
    pages.push(("access-requests", html(app.get(&requests).await, 200).await));
    let id = scalar_i64(&app.state.db, "SELECT MAX(id) FROM access_requests").await;
    let decline = format!("{requests}/{id}/decline");
    pages.push((
        "access-requests-note-error",
        html(app.post_form(&decline, &[("note", "a\u{1}")]).await, 422).await,
    ));
    let cleo_id = app.membership_id("cleo@example.com").await;
    exec_sql(
        &app.state.db,
        &format!(
            "UPDATE memberships SET access_until = {} WHERE id = {cleo_id}",
            app.clock().now() / 86_400 * 86_400 + 30 * 86_400
        ),
    )
    .await;
    pages.push((
        "members-with-access-until",
        html(app.get(&format!("/orgs/{ORG_SLUG}/members")).await, 200).await,
    ));
    pages
}

/// Two-factor set-up (with a wrong first code), the recovery codes, the account page with
/// it on (and a refused turn-off), and the second step of sign-in (with a wrong code).
/// The admin has two-factor authentication from here on.
async fn two_factor_pages(app: &TestApp, stranger: &TestApp) -> Vec<(&'static str, String)> {
    let mut pages = vec![(
        "two-factor-setup",
        html(app.get("/account/two-factor?next=/").await, 200).await,
    )];
    let wrong = app
        .post_form("/account/two-factor", &[("code", "12")])
        .await;
    pages.push(("two-factor-setup-with-error", html(wrong, 422).await));
    let (secret, _) = crate::two_factor::enrol(app).await;
    let regenerated = app
        .post_form(
            "/account/two-factor/recovery-codes",
            &[("password", ADMIN_PASSWORD)],
        )
        .await;
    pages.push(("recovery-codes", html(regenerated, 200).await));
    pages.push((
        "account-with-two-factor",
        html(app.get("/account").await, 200).await,
    ));
    let refused = app
        .post_form(
            "/account/two-factor/disable",
            &[("password", "not it"), ("code", "")],
        )
        .await;
    pages.push(("account-with-two-factor-errors", html(refused, 422).await));
    let step = stranger.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(location(&step), "/sign-in/two-factor");
    pages.push((
        "sign-in-two-factor",
        html(stranger.get("/sign-in/two-factor").await, 200).await,
    ));
    pages.push((
        "sign-in-recovery-code",
        html(stranger.get("/sign-in/two-factor?recovery=1").await, 200).await,
    ));
    let wrong_code = if crate::two_factor::code_at(&secret, app.clock().now()) == "000000" {
        "111111"
    } else {
        "000000"
    };
    let refused = stranger
        .post_form("/sign-in/two-factor", &[("code", wrong_code)])
        .await;
    pages.push(("sign-in-two-factor-with-error", html(refused, 422).await));
    pages
}

/// The account page as it first shows, and with messages on each of its forms.
async fn account_pages(app: &TestApp) -> Vec<(&'static str, String)> {
    let bad_name = [("name", "")];
    let bad_password = [
        ("current_password", "not the password"),
        ("new_password", "short"),
        ("new_password_confirm", ""),
    ];
    // Seats may be on by now: the Owner creates tokens holding one.
    exec_sql(&app.state.db, "UPDATE memberships SET has_seat = TRUE").await;
    let bad_token = [("token_name", ""), ("org", ""), ("expires", "")];
    let good_token = [
        ("token_name", "nightly sync"),
        ("org", ORG_SLUG),
        ("expires", "90"),
    ];
    // A second session of the account, so that the list of sessions shows its actions.
    let elsewhere = app.new_browser();
    assert_eq!(
        elsewhere
            .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        303
    );
    let bad_email = [("new_email", "not an address"), ("email_password", "")];
    let confirm = email_change_link(app).await;
    vec![
        ("account", html(app.get("/account").await, 200).await),
        (
            "account-with-email-errors",
            html(app.post_form("/account/email", &bad_email).await, 422).await,
        ),
        (
            "email-change-confirm",
            html(app.new_browser().get(&confirm).await, 200).await,
        ),
        (
            "email-change-link-invalid",
            html(app.get("/account/email/confirm/nonsense").await, 404).await,
        ),
        (
            "account-with-name-error",
            html(app.post_form("/account/name", &bad_name).await, 422).await,
        ),
        (
            "account-with-password-errors",
            html(app.post_form("/account/password", &bad_password).await, 422).await,
        ),
        (
            "account-with-token-errors",
            html(app.post_form("/account/tokens", &bad_token).await, 422).await,
        ),
        (
            "account-with-new-token",
            html(app.post_form("/account/tokens", &good_token).await, 200).await,
        ),
        (
            "account-with-tokens",
            html(app.get("/account").await, 200).await,
        ),
        (
            "organization-tokens",
            html(app.get(&format!("/orgs/{ORG_SLUG}/tokens")).await, 200).await,
        ),
    ]
}

/// The path of a confirmation link for a change of the admin's address (arranged in
/// storage: the link itself goes by email).
async fn email_change_link(app: &TestApp) -> String {
    let token = "quality-check-link";
    exec_sql(
        &app.state.db,
        &format!(
            "INSERT INTO email_changes (user_id, new_email, token_hash, created_at, expires_at) \
             SELECT id, 'ada.new@example.com', '{}', 0, {} FROM users WHERE email = '{ADMIN_EMAIL}'",
            roster::domain::token::hash(token),
            app.clock().now() + 3600
        ),
    )
    .await;
    format!("/account/email/confirm/{token}")
}

/// The instance's Users page in its states, its delete confirmation (as a page, and as
/// the dialog htmx puts into the page), fetched as the instance admin.
async fn users_pages(app: &TestApp) -> Vec<(&'static str, String)> {
    let bea = app
        .add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let carl = app
        .add_member(ORG_SLUG, "carl@example.com", "Carl", Role::Member)
        .await;
    exec_sql(
        &app.state.db,
        &format!("UPDATE users SET status = 'deactivated' WHERE id = {carl}"),
    )
    .await;
    let ada = scalar_i64(
        &app.state.db,
        &format!("SELECT id FROM users WHERE email_normalized = '{ADMIN_EMAIL}'"),
    )
    .await;
    let users = html(app.get("/admin/users").await, 200).await;
    let change_dialog = |id: i64, what: &str| {
        let request = app
            .client
            .get(app.url(&format!("/admin/users/{id}/{what}")))
            .header("HX-Request", "true");
        async move { html(request.send().await.unwrap(), 200).await }
    };
    let dialog = |id: i64| change_dialog(id, "delete");
    let delete = format!("/admin/users/{bea}/delete");
    let no_org_name = [("org_name", ""), ("owner_email", "nobody@example.com")];
    vec![
        ("admin-users", users.clone()),
        (
            "admin-users-search",
            html(app.get("/admin/users?q=b").await, 200).await,
        ),
        (
            "admin-users-no-match",
            html(app.get("/admin/users?q=zzz").await, 200).await,
        ),
        (
            "admin-new-organization",
            html(app.get("/admin/orgs/new").await, 200).await,
        ),
        (
            "admin-new-organization-with-errors",
            html(app.post_form("/admin/orgs", &no_org_name).await, 422).await,
        ),
        ("admin-user-delete", html(app.get(&delete).await, 200).await),
        (
            "admin-user-delete-mistyped",
            html(
                app.post_form(&delete, &[("confirm_email", "someone else")])
                    .await,
                422,
            )
            .await,
        ),
        (
            "admin-user-delete-refused",
            html(app.get(&format!("/admin/users/{ada}/delete")).await, 200).await,
        ),
        (
            "admin-users-delete-dialog",
            with_dialog(&users, &dialog(bea).await),
        ),
        (
            "admin-users-refused-dialog",
            with_dialog(&users, &dialog(ada).await),
        ),
        (
            "admin-user-deactivate",
            html(
                app.get(&format!("/admin/users/{bea}/deactivate")).await,
                200,
            )
            .await,
        ),
        (
            "admin-user-deactivate-refused",
            html(
                app.get(&format!("/admin/users/{ada}/deactivate")).await,
                200,
            )
            .await,
        ),
        (
            "admin-users-grant-admin-dialog",
            with_dialog(&users, &change_dialog(bea, "grant-admin").await),
        ),
        (
            "admin-users-revoke-admin-dialog",
            with_dialog(&users, &change_dialog(ada, "revoke-admin").await),
        ),
        (
            "admin-users-password-reset-dialog",
            with_dialog(&users, &change_dialog(bea, "send-password-reset").await),
        ),
        (
            "admin-users-two-factor-dialog",
            with_dialog(&users, &change_dialog(bea, "reset-two-factor").await),
        ),
    ]
}

/// The path of a password reset link.
fn reset_path(link: &str) -> String {
    let (_, secret) = link.split_once("/password/reset/").expect("a reset link");
    format!("/password/reset/{secret}")
}

/// "Forgot your password?" and a reset link's pages, fetched signed out by `stranger`;
/// the link is the one shown to the admin (there is no email here).
async fn password_pages(app: &TestApp, stranger: &TestApp) -> Vec<(&'static str, String)> {
    let bea = scalar_i64(
        &app.state.db,
        "SELECT id FROM users WHERE email_normalized = 'bea@example.com'",
    )
    .await;
    let send = format!("/admin/users/{bea}/send-password-reset");
    let shown = html(app.post_form(&send, &[]).await, 200).await;
    let path = reset_path(&attrs(&shown, "#reset-link", "value").remove(0));
    let short = [("new_password", "short"), ("new_password_confirm", "")];
    let forgot = "/password/forgot";
    vec![
        ("admin-reset-link", shown),
        (
            "forgot-password",
            html(stranger.get(forgot).await, 200).await,
        ),
        (
            "forgot-password-with-error",
            html(stranger.post_form(forgot, &[("email", "nope")]).await, 422).await,
        ),
        (
            "forgot-password-sent",
            html(
                stranger
                    .post_form(forgot, &[("email", "bea@example.com")])
                    .await,
                200,
            )
            .await,
        ),
        ("reset-password", html(stranger.get(&path).await, 200).await),
        (
            "reset-password-with-errors",
            html(stranger.post_form(&path, &short).await, 422).await,
        ),
        (
            "reset-link-unusable",
            html(stranger.get("/password/reset/not-a-link").await, 410).await,
        ),
    ]
}

/// Runs axe-core's WCAG 2.1 A and AA rules on the page shown; returns its violations.
pub(crate) async fn axe(browser: &Browser, source: &str, page: &str) -> Vec<String> {
    let client = browser.client();
    client.execute(source, vec![]).await.unwrap();
    let script = "const done = arguments[arguments.length - 1];
        const only = { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] };
        axe.run(document, { runOnly: only }).then(
            (r) => done(r.violations.map((v) => `${v.id} (${v.impact}): ${v.help}\n    `
                + v.nodes.map((n) => n.target.join(' ')).join(', '))),
            (e) => done([`axe-core failed: ${e}`]));";
    let violations = client.execute_async(script, vec![]).await.unwrap();
    let violations = violations.as_array().unwrap().iter();
    violations
        .map(|v| format!("{page}: {}", v.as_str().unwrap_or_default()))
        .collect()
}

async fn every_page_passes_axe(backend: Backend) {
    let Some(script) = tool("axe-core/axe.min.js") else {
        return;
    };
    let axe_source = std::fs::read_to_string(script).unwrap();
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    let members = format!("/orgs/{ORG_SLUG}/members");
    let mut violations = Vec::new();

    browser.goto(app.setup_url.as_deref().unwrap()).await;
    violations.extend(axe(&browser, &axe_source, "setup").await);
    browser.fill("Email", "ada.example.com").await;
    browser.click("Create account and organization").await;
    browser.wait_for_path("/setup").await;
    violations.extend(axe(&browser, &axe_source, "setup with errors").await);
    browser.set_up(&app).await;
    browser.wait_for_path(&members).await;
    violations.extend(axe(&browser, &axe_source, "members").await);
    add_second_organization(&app).await;
    browser.goto(&members).await;
    browser
        .click("Analytical Engines (switch organization)")
        .await;
    browser.wait_for_text("Difference Engines").await;
    violations.extend(axe(&browser, &axe_source, "members with switcher open").await);
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    browser.goto(&members).await;
    browser.click("Actions").await;
    violations.extend(axe(&browser, &axe_source, "members with action menu open").await);
    browser.click("Change role…").await;
    browser.open_dialog().await;
    violations.extend(axe(&browser, &axe_source, "change role dialog").await);
    browser.press(fantoccini::key::Key::Escape).await;
    browser.wait_for_no_dialog().await;
    browser.click("Remove…").await;
    browser.open_dialog().await;
    violations.extend(axe(&browser, &axe_source, "remove dialog").await);
    browser.press(fantoccini::key::Key::Escape).await;
    browser.wait_for_no_dialog().await;
    browser.click("Set access end…").await;
    browser.open_dialog().await;
    violations.extend(axe(&browser, &axe_source, "access end dialog").await);
    browser.press(fantoccini::key::Key::Escape).await;
    browser.wait_for_no_dialog().await;
    let cleo = app.browser_for("cleo@example.com").await;
    let ask = [
        ("emails", "x@example.com"),
        ("role", "member"),
        ("reason", "A contractor"),
    ];
    let requests = format!("/orgs/{ORG_SLUG}/access-requests");
    assert_eq!(cleo.post_form(&requests, &ask).await.status(), 303);
    browser.goto(&requests).await;
    browser.click("Decline…").await;
    violations.extend(axe(&browser, &axe_source, "access requests").await);
    exec_sql(
        &app.state.db,
        &format!("UPDATE organizations SET seats = 5 WHERE slug = '{ORG_SLUG}'"),
    )
    .await;
    browser.goto(&members).await;
    browser.click("Assign seats to selected…").await;
    browser
        .wait_for_text("Select at least one member first.")
        .await;
    violations.extend(axe(&browser, &axe_source, "members with seats").await);
    browser.click("Account menu").await;
    violations.extend(axe(&browser, &axe_source, "account menu open").await);
    browser.goto(&format!("/orgs/{ORG_SLUG}/settings")).await;
    violations.extend(axe(&browser, &axe_source, "settings").await);
    browser
        .goto(&format!("/orgs/{ORG_SLUG}/settings/sso"))
        .await;
    violations.extend(axe(&browser, &axe_source, "single sign-on settings").await);
    browser
        .goto(&format!("/orgs/{ORG_SLUG}/settings/scim"))
        .await;
    browser.click("Create a token").await;
    browser.wait_for_text("Roster will not show it again").await;
    violations.extend(axe(&browser, &axe_source, "SCIM settings with a new token").await);
    browser.goto(&format!("/orgs/{ORG_SLUG}/invitations")).await;
    violations.extend(axe(&browser, &axe_source, "invitations before inviting").await);
    browser.click("Invite people").await;
    browser.open_dialog().await;
    violations.extend(axe(&browser, &axe_source, "invite dialog").await);
    browser.fill("Email addresses", "a@example.com nope").await;
    browser.click("Send invitations").await;
    browser.wait_for_text("Fix or remove these addresses").await;
    violations.extend(axe(&browser, &axe_source, "invitations with errors").await);
    browser.fill("Email addresses", "a@example.com").await;
    browser.click("Send invitations").await;
    browser.wait_for_text("Copy the invitation links").await;
    violations.extend(axe(&browser, &axe_source, "invitation links").await);
    browser.goto(&format!("/orgs/{ORG_SLUG}/invitations")).await;
    violations.extend(axe(&browser, &axe_source, "invitations").await);
    browser.click("Actions").await;
    violations.extend(axe(&browser, &axe_source, "invitations with row menu open").await);
    browser.click("Revoke invitation…").await;
    browser.wait_for_text("Revoke 1 invitation?").await;
    violations.extend(axe(&browser, &axe_source, "confirm revoke").await);
    let elsewhere = app.new_browser();
    assert_eq!(
        elsewhere
            .sign_in(ADMIN_EMAIL, ADMIN_PASSWORD)
            .await
            .status(),
        303
    );
    browser.goto("/account").await;
    violations.extend(axe(&browser, &axe_source, "account").await);
    browser.fill("New email address", "not an address").await;
    browser.click("Change address").await;
    browser.wait_for_text("Your address was not changed").await;
    violations.extend(axe(&browser, &axe_source, "account with email errors").await);
    browser.goto(&email_change_link(&app).await).await;
    violations.extend(axe(&browser, &axe_source, "email change confirmation").await);
    browser.goto("/account").await;
    browser.fill("Current password", "not the password").await;
    browser.fill("New password", "short").await;
    browser.click("Change password").await;
    browser.wait_for_text("Your password was not changed").await;
    violations.extend(axe(&browser, &axe_source, "account with errors").await);
    exec_sql(&app.state.db, "UPDATE memberships SET has_seat = TRUE").await;
    browser.click("Create token").await;
    browser.wait_for_text("The token was not created").await;
    violations.extend(axe(&browser, &axe_source, "account with token errors").await);
    browser.fill("Token name", "nightly sync").await;
    browser.click("Create token").await;
    browser.wait_for_text("Copy it now").await;
    violations.extend(axe(&browser, &axe_source, "account with a new token").await);
    browser.goto(&format!("/orgs/{ORG_SLUG}/tokens")).await;
    violations.extend(axe(&browser, &axe_source, "organization tokens").await);
    browser.goto(&format!("/orgs/{ORG_SLUG}/teams")).await;
    violations.extend(axe(&browser, &axe_source, "teams empty").await);
    browser.fill("Name", "Platform").await;
    browser.click("Create team").await;
    browser.wait_for_text("Created the team Platform.").await;
    violations.extend(axe(&browser, &axe_source, "team").await);
    // As typed: htmx swaps the results once the typing stops (clicking Search as
    // well would swap them twice, under the click that follows).
    browser.fill("Email or name", "example").await;
    browser
        .wait_until(
            "people to add",
            "document.querySelector('#candidates button')",
        )
        .await;
    browser.click("Add").await;
    browser.wait_for_text("to Platform.").await;
    violations.extend(axe(&browser, &axe_source, "team with a member").await);
    browser.click("Delete team…").await;
    browser.wait_for_text("Delete the team Platform?").await;
    violations.extend(axe(&browser, &axe_source, "delete team dialog").await);
    browser.goto(&format!("/orgs/{ORG_SLUG}/teams")).await;
    violations.extend(axe(&browser, &axe_source, "teams").await);
    browser.goto("/account/two-factor").await;
    violations.extend(axe(&browser, &axe_source, "two-factor set-up").await);
    browser.click("Turn on two-factor authentication").await;
    browser
        .wait_for_text("Two-factor authentication is not on yet")
        .await;
    violations.extend(axe(&browser, &axe_source, "two-factor set-up with error").await);
    let bea = app
        .add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    browser.goto("/admin/users").await;
    violations.extend(axe(&browser, &axe_source, "users").await);
    browser.goto("/admin/orgs/new").await;
    violations.extend(axe(&browser, &axe_source, "new organization").await);
    browser.click("Create organization").await;
    browser
        .wait_for_text("Enter a name for the organization.")
        .await;
    violations.extend(axe(&browser, &axe_source, "users with errors").await);
    browser.goto("/admin/users").await;
    browser
        .client()
        .find(fantoccini::Locator::Css(
            "summary[aria-label='Actions for bea@example.com']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    violations.extend(axe(&browser, &axe_source, "users with a row menu open").await);
    browser.click("Delete…").await;
    browser
        .wait_for_text("Type bea@example.com to confirm")
        .await;
    violations.extend(axe(&browser, &axe_source, "delete account dialog").await);
    browser.goto(&format!("/admin/users/{bea}/delete")).await;
    violations.extend(axe(&browser, &axe_source, "delete account page").await);
    browser.goto("/admin/users").await;
    // The first row's menu is the admin's own.
    browser.click("Actions").await;
    browser.click("Send password reset…").await;
    browser.wait_for_text("Roster sends no email").await;
    violations.extend(axe(&browser, &axe_source, "password reset dialog").await);
    browser.click("Show reset link").await;
    browser.wait_for_text("Copy the password reset link").await;
    violations.extend(axe(&browser, &axe_source, "password reset link").await);
    let reset = reset_path(
        &browser
            .value(&format!("Password reset link for {ADMIN_EMAIL}"))
            .await,
    );
    browser.goto(&format!("/orgs/{ORG_SLUG}/audit")).await;
    violations.extend(axe(&browser, &axe_source, "audit log").await);
    browser.goto("/admin/audit?from=soon").await;
    violations.extend(axe(&browser, &axe_source, "instance audit log with errors").await);
    browser.goto("/no-such-page").await;
    violations.extend(axe(&browser, &axe_source, "not found").await);
    browser.goto(&members).await;
    browser.click("Sign out").await;
    browser.wait_for_path("/sign-in").await;
    violations.extend(axe(&browser, &axe_source, "sign-in").await);
    browser.fill("Email", ADMIN_EMAIL).await;
    browser.click("Continue").await;
    browser.wait_for_text("Use another address").await;
    violations.extend(axe(&browser, &axe_source, "sign-in password step").await);
    browser.click("Use another address").await;
    browser.sign_in(ADMIN_EMAIL, "not the password").await;
    browser.wait_for_text("do not match").await;
    violations.extend(axe(&browser, &axe_source, "sign-in with error").await);
    browser.click("Forgot your password?").await;
    browser.wait_for_path("/password/forgot").await;
    violations.extend(axe(&browser, &axe_source, "forgot password").await);
    browser.fill("Email", "nope").await;
    browser.click("Send the link").await;
    browser.wait_for_text("Enter a valid email address").await;
    violations.extend(axe(&browser, &axe_source, "forgot password with error").await);
    browser.fill("Email", "nobody@example.com").await;
    browser.click("Send the link").await;
    browser
        .wait_for_text("If an account uses that address")
        .await;
    violations.extend(axe(&browser, &axe_source, "forgot password sent").await);
    browser.goto(&reset).await;
    violations.extend(axe(&browser, &axe_source, "reset password").await);
    browser.fill("New password", "short").await;
    browser.click("Set the new password").await;
    browser.wait_for_text("Your password was not changed").await;
    violations.extend(axe(&browser, &axe_source, "reset password with errors").await);
    browser.goto("/password/reset/not-a-link").await;
    violations.extend(axe(&browser, &axe_source, "reset link unusable").await);
    browser.goto("/sign-in").await;
    add_account_without_organization(&app).await;
    browser.sign_in(LONER_EMAIL, LONER_PASSWORD).await;
    browser
        .wait_for_text("You are not in any organization")
        .await;
    violations.extend(axe(&browser, &axe_source, "no organization").await);
    browser.close().await;

    assert!(
        violations.is_empty(),
        "axe found {} WCAG 2.1 AA violations:\n{}",
        violations.len(),
        violations.join("\n")
    );
}

crate::on_both_backends!(every_page_is_valid_html, every_page_passes_axe);

/// The Invitations page while emails are being retried, one has failed for good, and a
/// bulk send's progress is shown, as the Owner signed in to `browser` sees it.
async fn invitations_with_delivery_states(
    app: &TestApp,
    sink: &mut SmtpSink,
    browser: &Browser,
) -> String {
    let invitations = format!("/orgs/{ORG_SLUG}/invitations");
    let refused = format!("nobody@{}", crate::smtp_sink::REFUSED_DOMAIN);
    browser.goto(&invitations).await;
    browser.click("Invite people").await;
    browser.open_dialog().await;
    browser.fill("Email addresses", &refused).await;
    browser.click("Send invitations").await;
    browser.wait_for_text("failed for good").await;
    sink.stop().await;
    browser.click("Invite people").await;
    browser.open_dialog().await;
    browser
        .fill("Email addresses", "a@example.com b@example.com")
        .await;
    browser.click("Send invitations").await;
    browser
        .wait_until(
            "retrying emails and the progress",
            "document.querySelectorAll('.delivery-retrying').length === 2 \
             && document.querySelector('#batch-progress').textContent.includes('2 retrying')",
        )
        .await;
    let path = browser.path().await;
    app.get_html(&path).await.1
}

async fn delivery_states_are_valid_and_accessible(backend: Backend) {
    let (Some(jar), Some(script)) = (
        tool("vnu-jar/build/dist/vnu.jar"),
        tool("axe-core/axe.min.js"),
    ) else {
        return;
    };
    let mut sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(
        backend,
        &["--smtp-url", &sink.url(), "--email-retry-secs", "60"],
    )
    .await
    else {
        return;
    };
    let Some(browser) = Browser::start(&app).await else {
        return;
    };
    browser.set_up(&app).await;
    app.sign_in(ADMIN_EMAIL, ADMIN_PASSWORD).await;

    let page = invitations_with_delivery_states(&app, &mut sink, &browser).await;
    let violations = axe(
        &browser,
        &std::fs::read_to_string(script).unwrap(),
        "invitations with delivery states",
    )
    .await;
    browser.close().await;
    let problems = if java_runs() {
        nu_html_checker(&jar, &[("invitations-delivery-states", page)]).await
    } else {
        Vec::new()
    };

    assert!(violations.is_empty(), "{}", violations.join("\n"));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

crate::on_both_backends!(delivery_states_are_valid_and_accessible);
