use crate::helpers::*;
use roster::db;
use roster::domain::Role;

fn settings_path() -> String {
    format!("/orgs/{ORG_SLUG}/settings")
}

fn valid_form<'a>() -> Vec<(&'a str, &'a str)> {
    vec![
        ("name", "Analytical Engines Ltd"),
        ("lifetime_value", "3"),
        ("lifetime_unit", "days"),
        ("max_pending_invitations", "200"),
        ("max_members", "5,000"),
        ("members_may_invite", "on"),
        ("allowed_email_domains", "example.com\n@Engines.example"),
    ]
}

async fn stored(app: &TestApp) -> roster::domain::settings::OrgSettings {
    let org = db::orgs::find_by_slug(&app.state.db, ORG_SLUG)
        .await
        .unwrap()
        .unwrap();
    db::orgs::settings(&app.state.db, org.id).await.unwrap()
}

async fn an_owner_changes_the_settings_and_it_is_audited(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (status, page) = app.get_html(&settings_path()).await;
    assert_eq!(status, 200);
    assert!(
        page.contains(r#"value="7""#),
        "the default lifetime is 7 days"
    );

    let response = app.post_form(&settings_path(), &valid_form()).await;

    assert_eq!(response.status(), 303);
    let settings = stored(&app).await;
    assert_eq!(settings.name, "Analytical Engines Ltd");
    assert_eq!(settings.invitation_lifetime_secs, 3 * 86_400);
    assert_eq!(settings.max_pending_invitations, 200);
    assert_eq!(settings.max_members, 5_000);
    assert!(settings.members_may_invite);
    assert_eq!(
        settings.allowed_domains(),
        vec!["example.com", "engines.example"]
    );
    let (_, html) = app.get_html(&settings_path()).await;
    assert!(texts(&html, ".flash-success").contains(&"Settings saved.".to_string()));
    let event = db::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!(event.action, "organization.settings_changed");
    assert_eq!(event.actor_email.as_deref(), Some(ADMIN_EMAIL));
    let before: serde_json::Value =
        serde_json::from_str(event.before_value.as_deref().unwrap()).unwrap();
    let after: serde_json::Value =
        serde_json::from_str(event.after_value.as_deref().unwrap()).unwrap();
    assert_eq!(before["max_members"], 1000);
    assert_eq!(after["max_members"], 5000);
    assert!(before.get("members_may_invite").is_some() && before.get("unchanged").is_none());
}

async fn bad_values_get_field_messages_and_nothing_is_saved(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let before = stored(&app).await;
    let mut form = valid_form();
    form[1] = ("lifetime_value", "45");
    form[3] = ("max_pending_invitations", "0");
    form[6] = ("allowed_email_domains", "example.com not a domain");

    let response = app.post_form(&settings_path(), &form).await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert_eq!(
        texts(&html, "#lifetime_value-error"),
        vec!["Use between 1 hour and 30 days."]
    );
    assert_eq!(
        texts(&html, "#max_pending_invitations-error"),
        vec!["Use a number from 1 to 1,000,000."]
    );
    assert_eq!(
        texts(&html, "#allowed_email_domains-error"),
        vec!["“not” is not a domain, like example.com."]
    );
    assert!(texts(&html, "#max_members-error").is_empty());
    assert!(
        html.contains(r#"value="45""#) && html.contains("example.com not a domain"),
        "typed values kept"
    );
    assert_eq!(stored(&app).await, before);
}

async fn only_owners_see_and_change_settings(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let before = stored(&app).await;
    for (email, role) in [
        ("admin@example.com", Role::Admin),
        ("billing@example.com", Role::Billing),
        ("member@example.com", Role::Member),
        ("viewer@example.com", Role::Viewer),
    ] {
        app.add_member(ORG_SLUG, email, "Someone", role).await;
        let browser = app.browser_for(email).await;

        let (page_status, members) = browser.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
        let (status, _) = browser.get_html(&settings_path()).await;
        let post = browser.post_form(&settings_path(), &valid_form()).await;

        assert_eq!(page_status, 200);
        assert!(
            texts(&members, ".org-nav a")
                .iter()
                .all(|t| t != "Settings"),
            "{role:?} is not offered Settings"
        );
        assert_eq!(status, 403, "{role:?} may not see settings");
        assert_eq!(post.status(), 403, "{role:?} may not change settings");
    }
    assert_eq!(stored(&app).await, before);
    let (_, owner_page) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(texts(&owner_page, ".org-nav a").contains(&"Settings".to_string()));
}

async fn another_organizations_settings_are_a_404(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let mut tx = app.state.db.begin().await.unwrap();
    db::orgs::insert(&mut tx, "Someone Else", app.state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let (status, _) = app.get_html("/orgs/someone-else/settings").await;
    let post = app
        .post_form("/orgs/someone-else/settings", &valid_form())
        .await;

    assert_eq!(status, 404);
    assert_eq!(post.status(), 404);
}

crate::on_both_backends!(
    an_owner_changes_the_settings_and_it_is_audited,
    bad_values_get_field_messages_and_nothing_is_saved,
    only_owners_see_and_change_settings,
    another_organizations_settings_are_a_404,
);
