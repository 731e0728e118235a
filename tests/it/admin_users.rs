//! The instance's Users page: the list and its search, deactivate and activate, delete,
//! instance admins, new organizations, and who may do any of it.

use crate::helpers::*;
use roster::db;
use roster::domain::{Email, Role};

const USERS: &str = "/admin/users";
const BEA: &str = "bea@example.com";

async fn user_id(app: &TestApp, email: &str) -> i64 {
    scalar_i64(
        &app.state.db,
        &format!(
            "SELECT id FROM users WHERE email_normalized = '{}'",
            email.to_lowercase()
        ),
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar_i64(&app.state.db, sql).await
}

async fn is_admin(app: &TestApp, email: &str) -> bool {
    count(
        app,
        &format!(
            "SELECT COUNT(*) FROM users WHERE email_normalized = '{email}' AND is_instance_admin"
        ),
    )
    .await
        == 1
}

/// The href of every link matching `css`.
fn links(html: &str, css: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(css).unwrap();
    doc.select(&selector)
        .filter_map(|a| a.value().attr("href").map(str::to_string))
        .collect()
}

fn action(id: i64, what: &str) -> String {
    format!("{USERS}/{id}/{what}")
}

/// The page a 303 leads to, as the same client sees it next.
async fn follow(app: &TestApp, response: reqwest::Response) -> String {
    assert_eq!(response.status(), 303, "expected a redirect");
    let (status, html) = app.get_html(&location(&response)).await;
    assert_eq!(status, 200);
    html
}

/// An organization with `owner` as its only (active) Owner.
async fn org_owned_by(app: &TestApp, name: &str, owner: i64) -> i64 {
    let now = app.state.clock.now();
    let mut tx = app.state.db.begin().await.unwrap();
    let org = db::orgs::insert(&mut tx, name, now).await.unwrap();
    db::memberships::insert(&mut tx, org.id, owner, Role::Owner, None, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    org.id
}

async fn the_list_shows_each_account_with_its_organizations_status_and_times(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let bea = app
        .add_member(ORG_SLUG, BEA, "Bea Admin", Role::Admin)
        .await;
    let other = org_owned_by(&app, "Difference Engines", user_id(&app, ADMIN_EMAIL).await).await;
    db_membership(&app, other, bea, Role::Viewer, "inactive").await;
    let carl = app
        .add_member(ORG_SLUG, "carl@example.com", "Carl", Role::Member)
        .await;
    exec_sql(
        &app.state.db,
        &format!("DELETE FROM memberships WHERE user_id = {carl}"),
    )
    .await;
    exec_sql(
        &app.state.db,
        &format!("UPDATE users SET status = 'deactivated' WHERE id = {carl}"),
    )
    .await;
    app.browser_for(BEA).await;

    let (status, html) = app.get_html(USERS).await;

    assert_eq!(status, 200);
    assert_eq!(
        texts(&html, "thead th"),
        [
            "Email",
            "Name",
            "Status",
            "Organizations",
            "Created",
            "Last sign-in",
            "Actions"
        ]
    );
    assert_eq!(texts(&html, "#user-count"), ["3 accounts"]);
    let rows = texts(&html, "tbody tr");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(
        rows[0].starts_with(
            "ada@example.com you instance admin Ada Lovelace Active \
             Analytical Engines: Owner Difference Engines: Owner just now just now \
             Actions Revoke instance admin… Send password reset…"
        ),
        "{rows:?}"
    );
    assert!(
        rows[1].starts_with(
            "bea@example.com Bea Admin Active Analytical Engines: Admin \
             Difference Engines: Viewer (inactive) just now just now \
             Actions Deactivate… Grant instance admin… Send password reset… Delete…"
        ),
        "{rows:?}"
    );
    assert!(
        rows[2]
            .starts_with("carl@example.com Carl Deactivated none just now never Actions Activate"),
        "{rows:?}"
    );
    assert_eq!(
        attrs(&html, "tbody td.cell-email", "title"),
        [ADMIN_EMAIL, BEA, "carl@example.com"],
        "a long email truncates with the whole of it at hand"
    );
    assert_eq!(
        texts(&html, "tbody tr:nth-child(2) time[datetime][title]").len(),
        2,
        "created and last sign-in have exact times"
    );
    assert_eq!(
        texts(&html, ".account-menu a[aria-current=page]"),
        ["Users of this instance"]
    );
}

async fn db_membership(app: &TestApp, org_id: i64, user_id: i64, role: Role, status: &str) {
    let mut tx = app.state.db.begin().await.unwrap();
    let id = db::memberships::insert(&mut tx, org_id, user_id, role, None, 0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    exec_sql(
        &app.state.db,
        &format!("UPDATE memberships SET status = '{status}' WHERE id = {id}"),
    )
    .await;
}

async fn search_finds_the_start_of_an_email_or_a_name_in_any_case(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    for (email, name) in [
        ("bob@example.com", "Robert Brown"),
        ("Bobby@Example.org", "Bobby Tables"),
        ("carol@example.com", "Carol Bob"),
        ("under_score@example.com", "100% Percent"),
        ("underxscore@example.com", "Plain"),
    ] {
        app.add_member(ORG_SLUG, email, name, Role::Member).await;
    }
    let emails = |html: &str| -> Vec<String> {
        texts(html, "tbody tr td:first-child")
            .into_iter()
            .map(|t| t.split(' ').next().unwrap().to_string())
            .collect()
    };

    let (_, by_email) = app.get_html(&format!("{USERS}?q=BOB")).await;
    let (_, by_name) = app.get_html(&format!("{USERS}?q=rob")).await;
    let (_, underscore) = app.get_html(&format!("{USERS}?q=under_")).await;
    let (_, wildcard) = app.get_html(&format!("{USERS}?q=%25")).await;
    let (_, percent) = app.get_html(&format!("{USERS}?q=100%25")).await;
    let (_, nothing) = app.get_html(&format!("{USERS}?q=zed")).await;

    assert_eq!(emails(&by_email), ["bob@example.com", "Bobby@Example.org"]);
    assert_eq!(texts(&by_email, "#user-count"), ["2 accounts match “BOB”"]);
    assert!(by_email.contains(r#"value="BOB""#), "the search is kept");
    assert_eq!(emails(&by_name), ["bob@example.com"]);
    assert_eq!(
        emails(&underscore),
        ["under_score@example.com"],
        "_ is literal"
    );
    assert!(emails(&wildcard).is_empty(), "% is literal");
    assert_eq!(emails(&percent), ["under_score@example.com"]);
    assert_eq!(
        texts(&nothing, ".empty"),
        ["No account’s email address or name starts with “zed”."]
    );
}

async fn htmx_searches_get_only_the_table(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;

    let fragment = app
        .client
        .get(app.url(&format!("{USERS}?q=bea")))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    let vary = fragment.headers().get_all("vary").iter().any(|v| {
        v.to_str()
            .unwrap()
            .to_ascii_lowercase()
            .contains("hx-request")
    });
    let fragment = fragment.text().await.unwrap();
    let (_, page) = app.get_html(&format!("{USERS}?q=bea")).await;

    assert!(vary, "responses vary by HX-Request");
    assert!(!fragment.contains("<html") && !fragment.contains("<h1"));
    assert_eq!(texts(&fragment, "tbody tr").len(), 1);
    assert_eq!(texts(&fragment, "#user-count"), ["1 account matches “bea”"]);
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert_eq!(texts(&page, "h1"), ["Users of this instance"]);
    assert_eq!(texts(&page, "#users-table tbody tr").len(), 1);
    let search = texts(
        &page,
        r#"input[data-hx-trigger="input changed delay:300ms, search"]"#,
    );
    assert_eq!(search.len(), 1, "the search box searches as one types");
}

async fn the_list_shows_fifty_accounts_a_page_with_the_total(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let now = app.state.clock.now();
    let mut tx = app.state.db.begin().await.unwrap();
    for n in 0..120 {
        let email = Email::parse(&format!("person{n:03}@example.com")).unwrap();
        db::users::insert(&mut tx, &email, &format!("Person {n}"), "x", false, now)
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

    let (_, first) = app.get_html(USERS).await;
    let (_, last) = app.get_html(&format!("{USERS}?page=3")).await;
    let (_, searched) = app.get_html(&format!("{USERS}?q=person&page=3")).await;
    let (_, beyond) = app.get_html(&format!("{USERS}?page=99")).await;

    assert_eq!(texts(&first, "tbody tr").len(), 50);
    assert_eq!(texts(&first, "#user-count"), ["121 accounts"]);
    assert!(
        texts(&first, ".pagination")
            .iter()
            .any(|t| t.contains("Page 1 of 3"))
    );
    assert_eq!(
        links(&first, ".pagination a[rel=next]"),
        ["/admin/users?page=2"]
    );
    assert_eq!(texts(&last, "tbody tr").len(), 21);
    assert_eq!(
        texts(&searched, "#user-count"),
        ["120 accounts match “person”"]
    );
    assert_eq!(texts(&searched, "tbody tr").len(), 20);
    assert_eq!(
        links(&searched, ".pagination a[rel=prev]"),
        ["/admin/users?q=person&page=2"]
    );
    assert_eq!(
        texts(&beyond, "tbody tr").len(),
        21,
        "past the end: the last page"
    );
}

async fn only_instance_admins_reach_the_users_page_and_its_actions(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    // An Owner of an organization is not an instance admin.
    app.add_member(ORG_SLUG, BEA, "Bea", Role::Owner).await;
    let ada = user_id(&app, ADMIN_EMAIL).await;
    let bea = app.browser_for(BEA).await;
    let stranger = app.new_browser();
    let orgs_before = count(&app, "SELECT COUNT(*) FROM organizations").await;
    let gets = [
        USERS.to_string(),
        action(ada, "delete"),
        action(ada, "deactivate"),
        action(ada, "grant-admin"),
        action(ada, "revoke-admin"),
        action(ada, "send-password-reset"),
        action(ada, "reset-two-factor"),
    ];
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (action(ada, "deactivate"), vec![]),
        (action(ada, "activate"), vec![]),
        (action(ada, "grant-admin"), vec![]),
        (action(ada, "revoke-admin"), vec![]),
        (action(ada, "delete"), vec![("confirm_email", ADMIN_EMAIL)]),
        (action(ada, "send-password-reset"), vec![]),
        (action(ada, "reset-two-factor"), vec![]),
        (
            "/admin/orgs".into(),
            vec![("org_name", "Sneaky"), ("owner_email", BEA)],
        ),
    ];

    for path in &gets {
        let (status, html) = bea.get_html(path).await;
        assert_eq!(status, 403, "GET {path}");
        assert_eq!(texts(&html, "h1"), ["Not allowed"]);
        let anonymous = stranger.get(path).await;
        assert_eq!(anonymous.status(), 303, "GET {path} without a session");
        assert!(location(&anonymous).starts_with("/sign-in?next=%2Fadmin%2Fusers"));
    }
    let (status, _) = bea.get_html("/admin/orgs/new").await;
    assert_eq!(status, 403, "GET /admin/orgs/new");
    for (path, fields) in &posts {
        assert_eq!(
            bea.post_form(path, fields).await.status(),
            403,
            "POST {path}"
        );
        let anonymous = stranger.post_form(path, fields).await;
        assert_eq!(anonymous.status(), 303, "POST {path} without a session");
        assert!(location(&anonymous).starts_with("/sign-in"));
    }
    let (_, members) = bea.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;

    assert!(
        !members.contains(r#"href="/admin/users""#),
        "the account menu offers the Users page to instance admins only"
    );
    assert!(is_admin(&app, ADMIN_EMAIL).await);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM users WHERE status = 'active'").await,
        2
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM organizations").await,
        orgs_before
    );
    assert!(!is_admin(&app, BEA).await);
}

async fn deactivating_ends_their_sessions_and_sign_in_and_activating_restores_them(
    backend: Backend,
) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    let id = app.add_member(ORG_SLUG, BEA, "Bea", Role::Admin).await;
    let bea = app.browser_for(BEA).await;
    let members = format!("/orgs/{ORG_SLUG}/members");
    assert_eq!(bea.get(&members).await.status(), 200);

    let response = app
        .post_form(&action(id, "deactivate"), &[("q", "bea"), ("page", "1")])
        .await;

    assert_eq!(location(&response), "/admin/users?q=bea");
    let list = follow(&app, response).await;
    assert_eq!(
        texts(&list, ".flash-success"),
        [
            "Deactivated bea@example.com: their sessions have ended and they cannot sign in. They were told by email."
        ]
    );
    assert!(texts(&list, "tbody tr")[0].contains("Deactivated"));
    let signed_out = bea.get(&members).await;
    assert_eq!(signed_out.status(), 303);
    assert!(location(&signed_out).starts_with("/sign-in"));
    let refused = app.new_browser().sign_in(BEA, MEMBER_PASSWORD).await;
    assert_eq!(refused.status(), 422);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("That email and password do not match an active account."),
        "the same answer as for a wrong password"
    );
    let mail = sink.wait_for_mail_to(BEA).await;
    assert_eq!(mail.subject, "Your Roster account was deactivated");
    let events = db::audit::recent(&app.state.db, 5).await.unwrap();
    let event = events
        .iter()
        .find(|e| e.action == "user.deactivated")
        .expect("the deactivation is audited");
    assert_eq!(event.target_email.as_deref(), Some(BEA));
    assert_eq!(event.actor_email.as_deref(), Some(ADMIN_EMAIL));

    let response = app.post_form(&action(id, "activate"), &[]).await;

    let list = follow(&app, response).await;
    assert_eq!(
        texts(&list, ".flash-success"),
        ["Activated bea@example.com: they can sign in again. They were told by email."]
    );
    let again = app.new_browser();
    assert_eq!(again.sign_in(BEA, MEMBER_PASSWORD).await.status(), 303);
    assert_eq!(again.get(&members).await.status(), 200);
    assert_eq!(
        bea.get(&members).await.status(),
        303,
        "the session ended by deactivation stays ended"
    );
    sink.wait_for_subject("Your Roster account is active again")
        .await;
    let event = db::audit::recent(&app.state.db, 2).await.unwrap();
    assert!(
        event
            .iter()
            .any(|e| e.action == "user.activated" && e.target_email.as_deref() == Some(BEA)),
        "{event:?}"
    );
}

async fn a_mistyped_email_deletes_nothing_and_keeps_what_was_typed(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let id = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;

    let response = app
        .post_form(
            &action(id, "delete"),
            &[("confirm_email", "bea@example.org")],
        )
        .await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert_eq!(
        texts(&html, "#confirm_email-error"),
        ["That is not bea@example.com. Type the account’s email address exactly to delete it."]
    );
    assert!(
        html.contains(r#"value="bea@example.org""#),
        "what was typed is kept"
    );
    assert!(html.contains(r#"aria-invalid="true""#));
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM users WHERE id = {id}")).await,
        1
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM memberships WHERE user_id = {id}")
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'user.deleted'"
        )
        .await,
        0
    );
}

async fn the_last_owner_of_an_organization_is_not_deleted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let bea = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let org = org_owned_by(&app, "Difference Engines", bea).await;
    let carl = app
        .add_member(ORG_SLUG, "carl@example.com", "Carl", Role::Member)
        .await;
    // An Owner whose account is deactivated owns nothing in practice.
    db_membership(&app, org, carl, Role::Owner, "active").await;
    exec_sql(
        &app.state.db,
        &format!("UPDATE users SET status = 'deactivated' WHERE id = {carl}"),
    )
    .await;
    let refusal = "bea@example.com is the last active Owner of Difference Engines. \
                   Make someone else an Owner there first.";

    let (status, page) = app.get_html(&action(bea, "delete")).await;
    let response = app
        .post_form(&action(bea, "delete"), &[("confirm_email", BEA)])
        .await;

    assert_eq!(status, 200);
    assert_eq!(texts(&page, "#confirm-text"), [refusal]);
    assert!(
        texts(&page, "#confirm-email").is_empty(),
        "no way to confirm"
    );
    let list = follow(&app, response).await;
    assert_eq!(texts(&list, ".flash-error"), [refusal]);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM users WHERE id = {bea}")
        )
        .await,
        1
    );

    // Once the other Owner is active again, Bea is not the last one.
    exec_sql(
        &app.state.db,
        &format!("UPDATE users SET status = 'active' WHERE id = {carl}"),
    )
    .await;
    let response = app
        .post_form(&action(bea, "delete"), &[("confirm_email", BEA)])
        .await;
    let list = follow(&app, response).await;
    assert_eq!(
        texts(&list, ".flash-success"),
        ["Deleted the account of bea@example.com."]
    );
}

async fn the_last_owner_of_an_organization_is_not_deactivated(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let bea = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    org_owned_by(&app, "Difference Engines", bea).await;
    let refusal = "bea@example.com is the last active Owner of Difference Engines. \
                   Make someone else an Owner there first.";

    let response = app.post_form(&action(bea, "deactivate"), &[]).await;

    let list = follow(&app, response).await;
    assert_eq!(texts(&list, ".flash-error"), [refusal]);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM users WHERE id = {bea} AND status = 'active'")
        )
        .await,
        1
    );
}

async fn deleting_removes_the_account_and_its_memberships_and_is_audited(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let id = app.add_member(ORG_SLUG, BEA, "Bea", Role::Admin).await;
    let bea = app.browser_for(BEA).await;
    // What Bea leaves behind: an invitation she sent, a member she invited, a CSV
    // upload waiting for confirmation.
    let invited = bea
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations"),
            &[("emails", "new@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(invited.status(), 200, "the links page (no SMTP)");
    let org = count(&app, "SELECT id FROM organizations").await;
    let carl = app
        .add_member(ORG_SLUG, "carl@example.com", "Carl", Role::Member)
        .await;
    exec_sql(
        &app.state.db,
        &format!("UPDATE memberships SET invited_by = {id} WHERE user_id = {carl}"),
    )
    .await;
    exec_sql(
        &app.state.db,
        &format!("INSERT INTO csv_imports (org_id, user_id, created_at, rows) VALUES ({org}, {id}, 0, '[]')"),
    )
    .await;

    let (status, page) = app.get_html(&action(id, "delete")).await;
    let response = app
        .post_form(
            &action(id, "delete"),
            &[
                ("confirm_email", " BEA@example.COM "),
                ("q", "b"),
                ("page", "1"),
            ],
        )
        .await;

    assert_eq!(status, 200);
    assert_eq!(
        texts(&page, "h1"),
        ["Delete the account of bea@example.com?"]
    );
    assert_eq!(
        texts(&page, "label[for=confirm-email]"),
        ["Type bea@example.com to confirm"]
    );
    assert!(page.contains(r#"data-confirm-value="bea@example.com""#));
    assert!(page.contains(r#"data-confirm-input="confirm-email""#));
    assert_eq!(location(&response), "/admin/users?q=b");
    let list = follow(&app, response).await;
    assert_eq!(
        texts(&list, ".flash-success"),
        ["Deleted the account of bea@example.com."]
    );
    assert_eq!(
        count(&app, &format!("SELECT COUNT(*) FROM users WHERE id = {id}")).await,
        0
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM memberships WHERE user_id = {id}")
        )
        .await,
        0
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM csv_imports").await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM invitations WHERE invited_by IS NULL AND state = 'pending'"
        )
        .await,
        1,
        "her invitation stays, without an inviter"
    );
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM memberships WHERE user_id = {carl} AND invited_by IS NULL"
            )
        )
        .await,
        1
    );
    let event = db::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!(event.action, "user.deleted");
    assert_eq!(event.target_email.as_deref(), Some(BEA));
    assert_eq!(event.actor_email.as_deref(), Some(ADMIN_EMAIL));
    let before: serde_json::Value =
        serde_json::from_str(event.before_value.as_deref().unwrap()).unwrap();
    assert_eq!(before["organizations"][0]["name"], ORG_NAME);
    assert_eq!(before["organizations"][0]["role"], "admin");
    let her_events = count(
        &app,
        &format!("SELECT COUNT(*) FROM audit_events WHERE actor_email = '{BEA}' AND actor_user_id IS NULL"),
    )
    .await;
    assert!(her_events >= 1, "what she did stays in the audit log");
    let signed_out = bea.get(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(location(&signed_out).starts_with("/sign-in"));
    assert_eq!(
        app.new_browser()
            .sign_in(BEA, MEMBER_PASSWORD)
            .await
            .status(),
        422
    );
}

async fn the_last_instance_admin_is_never_revoked_deactivated_or_deleted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let ada = user_id(&app, ADMIN_EMAIL).await;
    // A deactivated instance admin does not count.
    let bea = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    exec_sql(
        &app.state.db,
        &format!(
            "UPDATE users SET is_instance_admin = TRUE, status = 'deactivated' WHERE id = {bea}"
        ),
    )
    .await;

    let revoke = app.post_form(&action(ada, "revoke-admin"), &[]).await;
    let revoked = follow(&app, revoke).await;
    let deactivate = app.post_form(&action(ada, "deactivate"), &[]).await;
    let deactivated = follow(&app, deactivate).await;
    let (_, delete_page) = app.get_html(&action(ada, "delete")).await;
    let delete = app
        .post_form(&action(ada, "delete"), &[("confirm_email", ADMIN_EMAIL)])
        .await;
    let deleted = follow(&app, delete).await;

    assert_eq!(
        texts(&revoked, ".flash-error"),
        [
            "ada@example.com is the last active instance admin, and Roster needs one. Make someone else an instance admin first."
        ]
    );
    assert_eq!(
        texts(&deactivated, ".flash-error"),
        ["You cannot deactivate your own account."]
    );
    assert_eq!(
        texts(&delete_page, "#confirm-text"),
        ["You cannot delete your own account."]
    );
    assert_eq!(
        texts(&deleted, ".flash-error"),
        ["You cannot delete your own account."]
    );
    assert!(is_admin(&app, ADMIN_EMAIL).await);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM users WHERE status = 'active' AND is_instance_admin"
        )
        .await,
        1
    );
    // Revoking the deactivated admin takes no active one away.
    let response = app.post_form(&action(bea, "revoke-admin"), &[]).await;
    let list = follow(&app, response).await;
    assert_eq!(
        texts(&list, ".flash-success"),
        ["bea@example.com is no longer an instance admin."]
    );
}

async fn granting_and_revoking_instance_admin_is_audited(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let ada = user_id(&app, ADMIN_EMAIL).await;
    let bea_id = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let bea = app.browser_for(BEA).await;
    assert_eq!(bea.get(USERS).await.status(), 403);

    let granted = app.post_form(&action(bea_id, "grant-admin"), &[]).await;

    let list = follow(&app, granted).await;
    assert_eq!(
        texts(&list, ".flash-success"),
        ["bea@example.com is now an instance admin."]
    );
    let (status, bea_list) = bea.get_html(USERS).await;
    assert_eq!(status, 200);
    assert!(bea_list.contains(r#"href="/admin/users" aria-current="page""#));
    let event = db::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!(event.action, "user.instance_admin_granted");
    assert_eq!(event.target_email.as_deref(), Some(BEA));

    // Ada steps down herself, now that she is not the last one.
    let revoked = app.post_form(&action(ada, "revoke-admin"), &[]).await;

    assert_eq!(location(&revoked), "/");
    assert_eq!(app.get(USERS).await.status(), 403);
    let event = db::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!(event.action, "user.instance_admin_revoked");
    assert_eq!(event.target_email.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(event.actor_email.as_deref(), Some(ADMIN_EMAIL));
    let (_, members) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert_eq!(
        texts(&members, ".flash-success"),
        ["You are no longer an instance admin."]
    );
    assert!(!is_admin(&app, ADMIN_EMAIL).await);
    assert!(is_admin(&app, BEA).await);
}

async fn instance_admins_create_organizations_for_an_existing_owner(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let bea = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let orgs = || count(&app, "SELECT COUNT(*) FROM organizations");
    let (_, users) = app.get_html(USERS).await;
    assert_eq!(
        attrs(&users, ".page-head a.button.primary", "href"),
        ["/admin/orgs/new"],
        "creating an organization is the Users page's primary action"
    );
    let (_, page) = app.get_html("/admin/orgs/new").await;
    assert!(
        page.contains(r#"name="owner_email" value="ada@example.com""#),
        "the first Owner is yourself unless changed"
    );

    let mine = app
        .post_form(
            "/admin/orgs",
            &[
                ("org_name", "Difference Engines"),
                ("owner_email", ADMIN_EMAIL),
            ],
        )
        .await;

    assert_eq!(location(&mine), "/orgs/difference-engines/members");
    let members = follow(&app, mine).await;
    assert_eq!(
        texts(&members, ".flash-success"),
        ["Created Difference Engines. You are its Owner."]
    );

    let hers = app
        .post_form(
            "/admin/orgs",
            &[
                ("org_name", "Bea Looms"),
                ("owner_email", " BEA@example.com "),
            ],
        )
        .await;

    assert_eq!(location(&hers), USERS);
    let list = follow(&app, hers).await;
    assert_eq!(
        texts(&list, ".flash-success"),
        ["Created Bea Looms with bea@example.com as its Owner."]
    );
    let looms = db::orgs::find_by_slug(&app.state.db, "bea-looms")
        .await
        .unwrap()
        .expect("Bea's organization exists");
    let membership = db::memberships::find(&app.state.db, looms.id, bea)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (membership.role.as_str(), membership.status.as_str()),
        ("owner", "active")
    );
    let event = db::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!(event.action, "organization.created");
    assert_eq!(event.org_id, Some(looms.id));
    assert_eq!(event.actor_email.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(orgs().await, 3);

    // An unknown or deactivated Owner is a field error; what was typed stays.
    let unknown = app
        .post_form(
            "/admin/orgs",
            &[("org_name", "Third"), ("owner_email", "nobody@example.com")],
        )
        .await;
    assert_eq!(unknown.status(), 422);
    let html = unknown.text().await.unwrap();
    assert_eq!(
        texts(&html, "#owner_email-error"),
        [
            "No account uses nobody@example.com. The first Owner needs an account on this Roster; make yourself the Owner and invite them instead."
        ]
    );
    assert!(html.contains(r#"value="Third""#) && html.contains(r#"value="nobody@example.com""#));
    assert_eq!(texts(&html, "h1"), ["Create an organization"]);
    exec_sql(
        &app.state.db,
        &format!("UPDATE users SET status = 'deactivated' WHERE id = {bea}"),
    )
    .await;
    let deactivated = app
        .post_form(
            "/admin/orgs",
            &[("org_name", "Third"), ("owner_email", BEA)],
        )
        .await;
    assert_eq!(deactivated.status(), 422);
    assert!(
        texts(&deactivated.text().await.unwrap(), "#owner_email-error")[0]
            .starts_with("The account of bea@example.com is deactivated.")
    );
    let blank = app
        .post_form(
            "/admin/orgs",
            &[("org_name", " "), ("owner_email", ADMIN_EMAIL)],
        )
        .await;
    assert_eq!(blank.status(), 422);
    assert_eq!(
        texts(&blank.text().await.unwrap(), "#org_name-error"),
        ["Enter a name for the organization."]
    );
    assert_eq!(orgs().await, 3, "nothing more created");
}

async fn two_admins_revoking_each_other_at_once_leave_exactly_one(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let ada_id = user_id(&app, ADMIN_EMAIL).await;
    let bea_id = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let bea = app.browser_for(BEA).await;
    let (ada_token, bea_token) = (app.csrf_token().await, bea.csrf_token().await);

    for round in 0..5 {
        exec_sql(
            &app.state.db,
            &format!("UPDATE users SET is_instance_admin = TRUE WHERE id IN ({ada_id}, {bea_id})"),
        )
        .await;
        let by_ada = app
            .client
            .post(app.url(&action(bea_id, "revoke-admin")))
            .form(&[("csrf_token", ada_token.as_str())]);
        let by_bea = bea
            .client
            .post(bea.url(&action(ada_id, "revoke-admin")))
            .form(&[("csrf_token", bea_token.as_str())]);

        let (a, b) = tokio::join!(by_ada.send(), by_bea.send());

        let statuses = [a.unwrap().status().as_u16(), b.unwrap().status().as_u16()];
        assert!(
            statuses.iter().all(|s| [303, 403].contains(s)),
            "round {round}: {statuses:?}"
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM users WHERE is_instance_admin AND status = 'active'"
            )
            .await,
            1,
            "round {round}: exactly one instance admin remains"
        );
        assert_eq!(
            count(
                &app,
                "SELECT COUNT(*) FROM audit_events WHERE action = 'user.instance_admin_revoked'"
            )
            .await,
            round + 1,
            "round {round}: one revocation happened"
        );
    }
}

/// The hidden fields and the action of the form `css` on a page.
fn form_of(html: &str, css: &str) -> (String, Vec<(String, String)>) {
    let doc = scraper::Html::parse_document(html);
    let form = doc
        .select(&scraper::Selector::parse(css).unwrap())
        .next()
        .unwrap_or_else(|| panic!("no {css} in {html}"));
    let hidden = scraper::Selector::parse("input[type=hidden]").unwrap();
    let fields = form
        .select(&hidden)
        .map(|i| {
            let v = i.value();
            (
                v.attr("name").unwrap().to_string(),
                v.attr("value").unwrap_or_default().to_string(),
            )
        })
        .collect();
    (form.value().attr("action").unwrap().to_string(), fields)
}

async fn each_change_asks_first_and_says_what_will_happen(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let bea = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    let back = "?q=bea&page=1";
    let cases = [
        (
            "deactivate",
            "Deactivate bea@example.com?",
            "They are signed out everywhere at once and cannot sign in until an instance admin activates the account again.",
            "Deactivate account",
        ),
        (
            "grant-admin",
            "Make bea@example.com an instance admin?",
            "An instance admin sees every account of this Roster",
            "Make instance admin",
        ),
        (
            "send-password-reset",
            "Send a password reset link to bea@example.com?",
            "Roster sends no email, so the link is shown to you once, to pass on to bea@example.com.",
            "Show reset link",
        ),
        (
            "reset-two-factor",
            "Reset the two-factor authentication of bea@example.com?",
            "They sign in with their password alone until they set up two-factor authentication again",
            "Reset two-factor",
        ),
    ];

    for (what, title, text, button) in cases {
        let (status, page) = app.get_html(&format!("{}{back}", action(bea, what))).await;
        let dialog = app
            .client
            .get(app.url(&format!("{}{back}", action(bea, what))))
            .header("HX-Request", "true")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();

        assert_eq!(status, 200, "{what}");
        assert_eq!(texts(&page, "h1"), [title], "{what}");
        assert!(
            texts(&page, "#confirm-text")[0].contains(text),
            "{what}: {page}"
        );
        assert_eq!(texts(&page, ".confirm-form button[type=submit]"), [button]);
        let (to, fields) = form_of(&page, "form.confirm-form");
        assert_eq!(to, action(bea, what));
        assert!(
            fields
                .iter()
                .any(|(k, v)| k == "csrf_token" && !v.is_empty())
        );
        assert!(fields.contains(&("q".into(), "bea".into())), "{fields:?}");
        assert_eq!(
            texts(&page, "main a"),
            ["Cancel"],
            "the page leads back without changing anything"
        );
        assert_eq!(attrs(&page, "main a", "href"), ["/admin/users?q=bea"]);
        assert!(!dialog.contains("<html"), "htmx gets the dialog alone");
        assert_eq!(texts(&dialog, "dialog#user-dialog h2"), [title], "{what}");
        assert_eq!(texts(&dialog, "dialog .dialog-cancel button"), ["Cancel"]);
    }
    // Asking changed nothing.
    assert!(!is_admin(&app, BEA).await);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action LIKE 'user.%'"
        )
        .await,
        0
    );

    // The confirmation's own form makes the change and comes back to the same search.
    let (_, page) = app
        .get_html(&format!("{}{back}", action(bea, "deactivate")))
        .await;
    let (to, fields) = form_of(&page, "form.confirm-form");
    let without_token: Vec<(&str, &str)> = fields
        .iter()
        .filter(|(k, _)| k != "csrf_token")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let forged = app
        .client
        .post(app.url(&to))
        .form(&without_token)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403, "no CSRF token, no change");
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM users WHERE id = {bea} AND status = 'active'")
        )
        .await,
        1
    );
    let all: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = app
        .client
        .post(app.url(&to))
        .form(&all)
        .send()
        .await
        .unwrap();

    assert_eq!(location(&done), "/admin/users?q=bea");
    let list = follow(&app, done).await;
    assert!(texts(&list, ".flash-success")[0].starts_with("Deactivated bea@example.com"));
    // Revoking instance admin asks too, once there is one to revoke.
    exec_sql(
        &app.state.db,
        &format!("UPDATE users SET is_instance_admin = TRUE WHERE id = {bea}"),
    )
    .await;
    let (_, page) = app.get_html(&action(bea, "revoke-admin")).await;
    assert_eq!(
        texts(&page, "h1"),
        ["Revoke instance admin from bea@example.com?"]
    );
    assert_eq!(
        texts(&page, "#confirm-text"),
        ["They lose the Users page at once. Their organizations and roles stay as they are."]
    );
}

async fn a_refused_change_says_why_before_anyone_confirms(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let ada = user_id(&app, ADMIN_EMAIL).await;
    let bea = app.add_member(ORG_SLUG, BEA, "Bea", Role::Member).await;
    org_owned_by(&app, "Difference Engines", bea).await;
    let carl = app
        .add_member(ORG_SLUG, "carl@example.com", "Carl", Role::Member)
        .await;
    exec_sql(
        &app.state.db,
        &format!("UPDATE users SET status = 'deactivated' WHERE id = {carl}"),
    )
    .await;

    let (_, deactivate) = app.get_html(&action(bea, "deactivate")).await;
    let (_, revoke) = app.get_html(&action(ada, "revoke-admin")).await;
    let (_, reset) = app.get_html(&action(carl, "send-password-reset")).await;

    assert_eq!(
        texts(&deactivate, "h1"),
        ["bea@example.com cannot be deactivated"]
    );
    assert_eq!(
        texts(&deactivate, "#confirm-text"),
        [
            "bea@example.com is the last active Owner of Difference Engines. Make someone else an Owner there first."
        ]
    );
    assert!(
        texts(&deactivate, "form.confirm-form").is_empty(),
        "nothing to confirm"
    );
    assert_eq!(texts(&deactivate, "main a"), ["Back to the users"]);
    assert_eq!(
        texts(&revoke, "#confirm-text"),
        [
            "ada@example.com is the last active instance admin, and Roster needs one. Make someone else an instance admin first."
        ]
    );
    assert_eq!(
        texts(&reset, "#confirm-text"),
        [
            "carl@example.com is deactivated and cannot sign in. Activate the account before sending a password reset link."
        ]
    );
    assert_eq!(
        app.get(&format!("{USERS}/{bea}/activate")).await.status(),
        405,
        "activating gives back and is one click: it has no confirmation"
    );
    assert_eq!(app.get(&action(999_999, "deactivate")).await.status(), 404);
}

async fn the_last_sign_in_counts_every_way_in(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    // Set-up signs its person in; so do a sign-up from an invitation and a reset link.
    app.set_up().await;
    let invited = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations"),
            &[("emails", BEA), ("role", "member")],
        )
        .await;
    let link = attrs(&invited.text().await.unwrap(), "input.link-copy", "value")
        .into_iter()
        .next()
        .expect("the invitation link is shown");
    let path = link
        .split_once("/invitations/")
        .map(|(_, t)| format!("/invitations/{t}"))
        .unwrap();
    let bea = app.new_browser();
    let joined = bea
        .post_form(
            &format!("{path}/accept"),
            &[
                ("name", "Bea"),
                ("password", MEMBER_PASSWORD),
                ("password_confirm", MEMBER_PASSWORD),
            ],
        )
        .await;
    assert_eq!(joined.status(), 303);
    let carl = app
        .add_member(ORG_SLUG, "carl@example.com", "Carl", Role::Member)
        .await;
    let shown = app
        .post_form(&action(carl, "send-password-reset"), &[])
        .await
        .text()
        .await
        .unwrap();
    let reset = attrs(&shown, "input.link-copy", "value").remove(0);
    let reset_path = format!("/password/reset/{}", reset.rsplit('/').next().unwrap());
    let carl_browser = app.new_browser();
    assert_eq!(
        carl_browser.get(&reset_path).await.status(),
        200,
        "{reset_path}"
    );
    let new_password = "a brand new passphrase";
    let done = carl_browser
        .post_form(
            &reset_path,
            &[
                ("new_password", new_password),
                ("new_password_confirm", new_password),
            ],
        )
        .await;
    assert_eq!(done.status(), 303);

    let (_, list) = app.get_html(USERS).await;

    let rows = texts(&list, "tbody tr td[data-label='Last sign-in']");
    assert_eq!(rows, ["just now", "just now", "just now"], "{list}");
}

crate::on_both_backends!(
    the_list_shows_each_account_with_its_organizations_status_and_times,
    search_finds_the_start_of_an_email_or_a_name_in_any_case,
    htmx_searches_get_only_the_table,
    the_list_shows_fifty_accounts_a_page_with_the_total,
    only_instance_admins_reach_the_users_page_and_its_actions,
    deactivating_ends_their_sessions_and_sign_in_and_activating_restores_them,
    a_mistyped_email_deletes_nothing_and_keeps_what_was_typed,
    the_last_owner_of_an_organization_is_not_deleted,
    the_last_owner_of_an_organization_is_not_deactivated,
    deleting_removes_the_account_and_its_memberships_and_is_audited,
    the_last_instance_admin_is_never_revoked_deactivated_or_deleted,
    granting_and_revoking_instance_admin_is_audited,
    instance_admins_create_organizations_for_an_existing_owner,
    two_admins_revoking_each_other_at_once_leave_exactly_one,
    each_change_asks_first_and_says_what_will_happen,
    a_refused_change_says_why_before_anyone_confirms,
    the_last_sign_in_counts_every_way_in,
);
