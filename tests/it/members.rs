use crate::helpers::*;
use roster::db;
use roster::domain::{Email, Role};

async fn members_page_lists_each_member_with_role_status_and_joined(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "Bea@Example.com", "Bea Admin", Role::Admin)
        .await;

    let (status, html) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;

    assert_eq!(status, 200);
    assert_eq!(
        texts(&html, "thead th"),
        vec![
            "Email",
            "Name",
            "Role",
            "Status",
            "Joined",
            "Last active",
            "Sign-in",
            "Actions"
        ]
    );
    let rows = texts(&html, "tbody tr");
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].starts_with("ada@example.com you Ada Lovelace Owner Active"),
        "{rows:?}"
    );
    assert!(
        rows[1].starts_with("Bea@Example.com Bea Admin Admin Active"),
        "{rows:?}"
    );
    assert!(html.contains("<time datetime="), "joined has an exact time");
}

async fn members_page_paginates(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    for n in 0..55 {
        app.add_member(
            ORG_SLUG,
            &format!("person{n:02}@example.com"),
            &format!("Person {n}"),
            Role::Member,
        )
        .await;
    }

    let (_, first) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let (_, second) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/members?page=2"))
        .await;

    assert_eq!(texts(&first, "tbody tr").len(), 50);
    assert_eq!(texts(&second, "tbody tr").len(), 6);
    assert!(
        texts(&first, ".pagination")
            .iter()
            .any(|t| t.contains("Page 1 of 2"))
    );
    assert!(
        texts(&first, "p.muted")
            .iter()
            .any(|t| t.starts_with("56 members"))
    );
}

async fn someone_in_several_organizations_gets_a_switcher(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (_, single) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let admin = db::users::find_by_email(&app.state.db, &Email::parse(ADMIN_EMAIL).unwrap())
        .await
        .unwrap()
        .unwrap();
    let mut tx = app.state.db.begin().await.unwrap();
    let other = db::orgs::insert(&mut tx, "Difference Engines", app.state.clock.now())
        .await
        .unwrap();
    db::memberships::insert(
        &mut tx,
        other.id,
        admin.id,
        Role::Viewer,
        None,
        app.state.clock.now(),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    let (_, html) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let (status, other_page) = app.get_html("/orgs/difference-engines/members").await;

    assert!(texts(&single, ".org-switcher").is_empty());
    assert_eq!(
        texts(&html, ".org-switcher a"),
        vec!["Analytical Engines", "Difference Engines"]
    );
    assert!(html.contains(r#"aria-current="page">Analytical Engines"#));
    assert_eq!(status, 200);
    assert!(
        texts(&other_page, "p.muted")
            .iter()
            .any(|t| t.contains("your role: Viewer"))
    );
}

async fn an_inactive_membership_does_not_open_the_organization(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let user_id = app
        .add_member(ORG_SLUG, "ina@example.com", "Ina", Role::Member)
        .await;
    exec_sql(
        &app.state.db,
        &format!("UPDATE memberships SET status = 'inactive' WHERE user_id = {user_id}"),
    )
    .await;
    let ina = app.new_browser();
    assert_eq!(
        ina.sign_in("ina@example.com", MEMBER_PASSWORD)
            .await
            .status(),
        303
    );

    let (status, _) = ina.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;

    assert_eq!(status, 404);
    let (_, home) = ina.get_html("/").await;
    assert!(
        texts(&home, "h1")
            .iter()
            .any(|t| t.contains("not in any organization"))
    );
}

/// Emails in the order the Members page shows them for `query`.
async fn listed(app: &TestApp, query: &str) -> Vec<String> {
    let (status, html) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/members?{query}"))
        .await;
    assert_eq!(status, 200, "{query}");
    texts(&html, "tbody tr td:first-child")
        .into_iter()
        .map(|t| t.trim_end_matches(" you").to_string())
        .collect()
}

async fn members_page_searches_filters_and_sorts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "zoe@example.com", "Zoe Ng", Role::Admin)
        .await;
    app.clock().advance(10);
    app.add_member(ORG_SLUG, "bob@example.com", "Bob 100%_Sure", Role::Viewer)
        .await;
    let zoe = app.browser_for("zoe@example.com").await;
    app.clock().advance(1);
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/invitations"),
        &[("emails", "carl@elsewhere.test"), ("role", "viewer")],
    )
    .await;
    app.clock().advance(120);
    zoe.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;

    assert_eq!(
        listed(&app, "").await,
        vec![
            "ada@example.com",
            "zoe@example.com",
            "bob@example.com",
            "carl@elsewhere.test"
        ]
    );
    assert_eq!(listed(&app, "q=ZOE").await, vec!["zoe@example.com"]);
    assert_eq!(
        listed(&app, "q=ng").await,
        vec!["zoe@example.com"],
        "by name"
    );
    assert_eq!(
        listed(&app, "q=elsewhere").await,
        vec!["carl@elsewhere.test"]
    );
    assert_eq!(
        listed(&app, "q=100%25_").await,
        vec!["bob@example.com"],
        "% and _ are literal"
    );
    assert_eq!(listed(&app, "q=%25").await, vec!["bob@example.com"]);
    assert_eq!(
        listed(&app, "role=viewer").await,
        vec!["bob@example.com", "carl@elsewhere.test"]
    );
    assert_eq!(
        listed(&app, "status=invited").await,
        vec!["carl@elsewhere.test"]
    );
    assert_eq!(
        listed(&app, "status=active&role=viewer").await,
        vec!["bob@example.com"]
    );
    assert_eq!(
        listed(&app, "sort=email&dir=desc").await,
        vec![
            "zoe@example.com",
            "carl@elsewhere.test",
            "bob@example.com",
            "ada@example.com"
        ]
    );
    assert_eq!(
        listed(&app, "sort=name&status=active").await,
        vec!["ada@example.com", "bob@example.com", "zoe@example.com"]
    );
    app.clock().advance(61);
    let by_activity = listed(&app, "sort=active&dir=desc&status=active").await;
    assert_eq!(
        by_activity,
        vec!["ada@example.com", "zoe@example.com", "bob@example.com"],
        "the viewer is active right now; Bob never was"
    );
    assert!(listed(&app, "q=nobody").await.is_empty());
    let (_, html) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/members?q=nobody"))
        .await;
    assert!(texts(&html, ".empty").contains(&"No members or invitations match.".to_string()));
}

async fn an_htmx_search_gets_only_the_results(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "zoe@example.com", "Zoe", Role::Member)
        .await;

    let response = app
        .client
        .get(app.url(&format!("/orgs/{ORG_SLUG}/members?q=zoe")))
        .header("HX-Request", "true")
        .header("HX-Target", "members-results")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(!html.contains("<html"), "a fragment, not a page");
    assert_eq!(texts(&html, "tbody tr").len(), 1);
    assert!(html.contains("zoe@example.com"));
}

async fn last_active_is_recorded_at_most_once_a_minute(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let members = format!("/orgs/{ORG_SLUG}/members");
    let last_active = || async {
        scalar_i64(
            &app.state.db,
            "SELECT last_active_at FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE u.email_normalized = 'ada@example.com'",
        )
        .await
    };
    app.get_html(&members).await;
    let first = last_active().await;

    app.clock().advance(30);
    app.get_html(&members).await;
    let within_a_minute = last_active().await;
    app.clock().advance(31);
    app.get_html(&members).await;
    let after_a_minute = last_active().await;

    assert_eq!(within_a_minute, first);
    // The clock runs on from the real time, so a second may tick between requests.
    assert!(
        (first + 61..first + 65).contains(&after_a_minute),
        "{first} then {after_a_minute}"
    );
    let (_, html) = app.get_html(&members).await;
    assert!(texts(&html, "tbody tr")[0].contains("just now"));
}

async fn a_renamed_member_is_found_and_sorted_by_the_new_name(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "zoe@example.com", "Zoe", Role::Member)
        .await;
    let zoe = app.browser_for("zoe@example.com").await;

    let renamed = zoe
        .post_form("/account/name", &[("name", "Aaron Zoe")])
        .await;

    assert_eq!(renamed.status(), 303);
    assert_eq!(listed(&app, "q=aaron").await, vec!["zoe@example.com"]);
    assert_eq!(
        listed(&app, "sort=name").await,
        vec!["zoe@example.com", "ada@example.com"]
    );
}

crate::on_both_backends!(
    members_page_lists_each_member_with_role_status_and_joined,
    members_page_paginates,
    someone_in_several_organizations_gets_a_switcher,
    an_inactive_membership_does_not_open_the_organization,
    members_page_searches_filters_and_sorts,
    an_htmx_search_gets_only_the_results,
    last_active_is_recorded_at_most_once_a_minute,
    a_renamed_member_is_found_and_sorted_by_the_new_name,
);
