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

crate::on_both_backends!(
    members_page_lists_each_member_with_role_status_and_joined,
    members_page_paginates,
    someone_in_several_organizations_gets_a_switcher,
    an_inactive_membership_does_not_open_the_organization,
);
