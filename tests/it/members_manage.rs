//! Changing roles, deactivating, activating, removing and leaving, by the rules of
//! DESIGN.md's permission table, on both backends.

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;
use roster::db;
use roster::domain::Role;

async fn role_of(app: &TestApp, email: &str) -> String {
    scalar_text(
        &app.state.db,
        &format!(
            "SELECT m.role FROM memberships m JOIN users u ON u.id = m.user_id \
             WHERE u.email_normalized = '{email}'"
        ),
    )
    .await
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar_i64(&app.state.db, sql).await
}

fn member_path(id: i64, what: &str) -> String {
    format!("/orgs/{ORG_SLUG}/members/{id}/{what}")
}

async fn flashes(app: &TestApp) -> Vec<String> {
    let (_, html) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    texts(&html, ".flash")
}

async fn an_owner_changes_a_role_and_the_member_is_told(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let id = app.membership_id("cleo@example.com").await;

    let (status, dialog) = app.get_html(&member_path(id, "role")).await;
    let response = app
        .post_form(&member_path(id, "role"), &[("role", "admin")])
        .await;

    assert_eq!(status, 200);
    assert!(
        dialog.contains("What each role may do"),
        "the permission table"
    );
    assert_eq!(response.status(), 303);
    assert_eq!(role_of(&app, "cleo@example.com").await, "admin");
    assert!(
        flashes(&app)
            .await
            .iter()
            .any(|t| t.contains("cleo@example.com is now Admin."))
    );
    let event = db::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!(event.action, "member.role_changed");
    assert_eq!(event.actor_email.as_deref(), Some(ADMIN_EMAIL));
    assert_eq!(event.target_email.as_deref(), Some("cleo@example.com"));
    assert_eq!(event.before_value.as_deref(), Some("member"));
    assert_eq!(event.after_value.as_deref(), Some("admin"));
    let mail = sink.wait_for_mail_to("cleo@example.com").await;
    assert_eq!(mail.subject, "Your role in Analytical Engines is now Admin");
    assert!(mail.text.contains("from Member to Admin"));
}

async fn an_admin_cannot_touch_owners_or_admins_nor_grant_owner(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Admin)
        .await;
    app.add_member(ORG_SLUG, "abe@example.com", "Abe", Role::Admin)
        .await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let bea = app.browser_for("bea@example.com").await;
    let owner = app.membership_id(ADMIN_EMAIL).await;
    let admin = app.membership_id("abe@example.com").await;
    let member = app.membership_id("cleo@example.com").await;
    let events = count(&app, "SELECT COUNT(*) FROM audit_events").await;

    let cases = [
        (member_path(owner, "role"), vec![("role", "member")]),
        (member_path(admin, "role"), vec![("role", "member")]),
        (member_path(member, "role"), vec![("role", "owner")]),
        (member_path(owner, "deactivate"), vec![]),
        (member_path(admin, "deactivate"), vec![]),
        (
            member_path(owner, "remove"),
            vec![("confirm_email", ADMIN_EMAIL)],
        ),
        (
            member_path(admin, "remove"),
            vec![("confirm_email", "abe@example.com")],
        ),
    ];
    for (path, form) in &cases {
        assert_eq!(bea.post_form(path, form).await.status(), 403, "POST {path}");
    }

    assert_eq!(role_of(&app, ADMIN_EMAIL).await, "owner");
    assert_eq!(role_of(&app, "abe@example.com").await, "admin");
    assert_eq!(role_of(&app, "cleo@example.com").await, "member");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM memberships WHERE status = 'active'"
        )
        .await,
        4
    );
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM audit_events").await,
        events,
        "nothing was recorded"
    );
    let (status, _) = bea.get_html(&member_path(owner, "remove")).await;
    assert_eq!(status, 403);
    let allowed = bea
        .post_form(&member_path(member, "role"), &[("role", "admin")])
        .await;
    assert_eq!(allowed.status(), 303, "an Admin may make a Member an Admin");
    assert_eq!(role_of(&app, "cleo@example.com").await, "admin");
}

async fn members_billing_and_viewers_change_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    app.add_member(ORG_SLUG, "bill@example.com", "Bill", Role::Billing)
        .await;
    app.add_member(ORG_SLUG, "vi@example.com", "Vi", Role::Viewer)
        .await;
    let target = app.membership_id("vi@example.com").await;

    for email in ["cleo@example.com", "bill@example.com", "vi@example.com"] {
        let client = app.browser_for(email).await;
        for (what, form) in [
            ("role", vec![("role", "member")]),
            ("deactivate", vec![]),
            ("remove", vec![("confirm_email", "vi@example.com")]),
        ] {
            let response = client.post_form(&member_path(target, what), &form).await;
            assert_eq!(response.status(), 403, "{email} {what}");
        }
        let (_, page) = client.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
        assert!(
            texts(&page, ".row-menu").is_empty(),
            "{email} is offered no actions"
        );
    }

    assert_eq!(role_of(&app, "vi@example.com").await, "viewer");
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM memberships WHERE status = 'active'"
        )
        .await,
        4
    );
}

async fn nobody_changes_their_own_membership_and_roles_change_only_when_active(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "ina@example.com", "Ina", Role::Member)
        .await;
    let me = app.membership_id(ADMIN_EMAIL).await;
    let ina = app.membership_id("ina@example.com").await;
    assert_eq!(
        app.post_form(&member_path(ina, "deactivate"), &[])
            .await
            .status(),
        303
    );

    let own = app
        .post_form(&member_path(me, "role"), &[("role", "admin")])
        .await;
    let inactive = app
        .post_form(&member_path(ina, "role"), &[("role", "admin")])
        .await;

    assert_eq!(own.status(), 403);
    assert_eq!(role_of(&app, ADMIN_EMAIL).await, "owner");
    assert_eq!(inactive.status(), 303);
    assert_eq!(role_of(&app, "ina@example.com").await, "member");
    assert!(flashes(&app).await.iter().any(|t| {
        t.contains("ina@example.com is inactive. Activate them before changing their role.")
    }));
    let (_, page) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let own_row = texts(&page, &format!("#member-{me}")).remove(0);
    assert!(!own_row.contains("Actions"), "no menu on one's own row");
    assert!(page.contains(&member_path(ina, "activate")));
    assert!(
        !page.contains(&member_path(ina, "role")),
        "no role change while inactive"
    );
}

async fn a_deactivated_member_gets_nothing_until_activated(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "ina@example.com", "Ina", Role::Admin)
        .await;
    let ina = app.browser_for("ina@example.com").await;
    let id = app.membership_id("ina@example.com").await;
    let members = format!("/orgs/{ORG_SLUG}/members");
    assert_eq!(ina.get_html(&members).await.0, 200);

    let response = app.post_form(&member_path(id, "deactivate"), &[]).await;

    assert_eq!(response.status(), 303);
    assert_eq!(ina.get_html(&members).await.0, 404);
    let invite = ina
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations"),
            &[("emails", "x@example.com"), ("role", "member")],
        )
        .await;
    assert_eq!(
        invite.status(),
        404,
        "an inactive member's session changes nothing"
    );
    let mail = sink.wait_for_mail_to("ina@example.com").await;
    assert_eq!(mail.subject, "You were deactivated in Analytical Engines");
    let event = db::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!(event.action, "member.deactivated");
    let (_, page) = app.get_html(&members).await;
    assert!(texts(&page, &format!("#member-{id}"))[0].contains("Inactive"));

    assert_eq!(
        app.post_form(&member_path(id, "activate"), &[])
            .await
            .status(),
        303
    );
    assert_eq!(ina.get_html(&members).await.0, 200);
    assert_eq!(
        db::audit::recent(&app.state.db, 1).await.unwrap()[0].action,
        "member.activated"
    );
    sink.wait_for_subject("Your access to Analytical Engines is back")
        .await;
}

async fn removal_needs_the_typed_email_and_the_member_can_be_invited_again(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "Rex@Example.com", "Rex", Role::Member)
        .await;
    let rex = app.browser_for("rex@example.com").await;
    let id = app.membership_id("rex@example.com").await;

    let (status, page) = app.get_html(&member_path(id, "remove")).await;
    assert_eq!(status, 200);
    assert!(
        texts(&page, "label")
            .iter()
            .any(|t| t == "Type Rex@Example.com to confirm")
    );
    let wrong = app
        .post_form(
            &member_path(id, "remove"),
            &[("confirm_email", "rex@example.org")],
        )
        .await;
    assert_eq!(wrong.status(), 422);
    let wrong_html = wrong.text().await.unwrap();
    assert_eq!(
        texts(&wrong_html, "#confirm_email-error"),
        vec!["Type Rex@Example.com exactly to confirm."]
    );
    assert!(
        wrong_html.contains(r#"value="rex@example.org""#),
        "the typed text is kept"
    );
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM memberships WHERE id = {id}")
        )
        .await,
        1,
        "nothing removed"
    );

    let right = app
        .post_form(
            &member_path(id, "remove"),
            &[("confirm_email", " rex@example.com ")],
        )
        .await;

    assert_eq!(right.status(), 303);
    assert_eq!(
        count(
            &app,
            &format!("SELECT COUNT(*) FROM memberships WHERE id = {id}")
        )
        .await,
        0
    );
    assert_eq!(
        rex.get_html(&format!("/orgs/{ORG_SLUG}/members")).await.0,
        404
    );
    let event = db::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!(event.action, "member.removed");
    assert_eq!(event.target_email.as_deref(), Some("Rex@Example.com"));
    assert_eq!(event.before_value.as_deref(), Some("member"));
    let mail = sink.wait_for_mail_to("Rex@Example.com").await;
    assert_eq!(mail.subject, "You were removed from Analytical Engines");
    let again = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations"),
            &[("emails", "rex@example.com"), ("role", "viewer")],
        )
        .await;
    assert_eq!(again.status(), 303);
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM invitations WHERE email_normalized = 'rex@example.com' AND state = 'pending'").await,
        1
    );
}

async fn a_member_of_another_organization_is_not_found(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let now = app.state.clock.now();
    let mut tx = app.state.db.begin().await.unwrap();
    let other = db::orgs::insert(&mut tx, "Difference Engines", now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.add_member(&other.slug, "far@example.com", "Far", Role::Member)
        .await;
    let far = app.membership_id("far@example.com").await;

    for (what, form) in [
        ("role", vec![("role", "viewer")]),
        ("deactivate", vec![]),
        ("remove", vec![("confirm_email", "far@example.com")]),
    ] {
        let response = app.post_form(&member_path(far, what), &form).await;
        assert_eq!(response.status(), 404, "{what}");
        assert_eq!(app.get_html(&member_path(far, what)).await.0, 404);
    }
    assert_eq!(role_of(&app, "far@example.com").await, "member");
}

async fn leaving_works_except_for_the_last_owner(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "vi@example.com", "Vi", Role::Viewer)
        .await;
    let vi = app.browser_for("vi@example.com").await;
    let leave = format!("/orgs/{ORG_SLUG}/leave");

    let (status, confirm) = vi.get_html(&leave).await;
    let (_, vi_members) = vi.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let (_, owner_members) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let (_, owner_confirm) = app.get_html(&leave).await;
    let left = vi.post_form(&leave, &[]).await;
    let refused = app.post_form(&leave, &[]).await;

    assert_eq!(status, 200);
    assert_eq!(texts(&confirm, "h1"), vec!["Leave Analytical Engines?"]);
    assert_eq!(
        attrs(&vi_members, ".account-menu a[href$='/leave']", "href"),
        [leave.as_str()]
    );
    // The only Owner is not offered Leave: the menu says why instead.
    assert!(attrs(&owner_members, ".account-menu a[href$='/leave']", "href").is_empty());
    assert_eq!(
        texts(&owner_members, ".account-menu .menu-hint"),
        ["You are the only Owner of Analytical Engines; make someone else Owner before leaving."]
    );
    assert_eq!(
        texts(&owner_confirm, "h1"),
        ["You cannot leave Analytical Engines yet"]
    );
    assert!(
        texts(&owner_confirm, "main form button").is_empty(),
        "no Leave button"
    );
    assert_eq!(left.status(), 303);
    assert_eq!(
        vi.get_html(&format!("/orgs/{ORG_SLUG}/members")).await.0,
        404
    );
    assert_eq!(
        db::audit::recent(&app.state.db, 1).await.unwrap()[0].action,
        "member.left"
    );
    assert_eq!(refused.status(), 303);
    assert!(flashes(&app).await.iter().any(|t| t.contains(
        "You are the last active Owner of Analytical Engines, so you cannot leave it. Make someone else Owner first."
    )));
    assert_eq!(role_of(&app, ADMIN_EMAIL).await, "owner");

    app.add_member(ORG_SLUG, "otto@example.com", "Otto", Role::Owner)
        .await;
    assert_eq!(app.post_form(&leave, &[]).await.status(), 303);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM memberships WHERE role = 'owner'"
        )
        .await,
        1
    );
}

async fn an_invitation_row_is_revoked_from_the_members_page_and_back_there(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/invitations"),
        &[("emails", "ivy@example.com"), ("role", "viewer")],
    )
    .await;
    let id = scalar_i64(&app.state.db, "SELECT id FROM invitations").await;
    let (_, page) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(
        page.contains(&format!(r#"value="revoke:{id}""#)),
        "offered in the row's menu"
    );
    let manage = format!("/orgs/{ORG_SLUG}/invitations/manage");
    let row_action = format!("revoke:{id}");

    let asked = app
        .post_form(&manage, &[("row_action", &row_action), ("from", "members")])
        .await;
    let asked_html = asked.text().await.unwrap();
    let done = app
        .post_form(
            &manage,
            &[
                ("bulk_action", "revoke"),
                ("ids", &id.to_string()),
                ("confirm", "yes"),
                ("from", "members"),
            ],
        )
        .await;

    assert!(asked_html.contains(r#"<input type="hidden" name="from" value="members">"#));
    assert_eq!(done.status(), 303);
    assert_eq!(location(&done), format!("/orgs/{ORG_SLUG}/members"));
    assert_eq!(
        scalar_text(&app.state.db, "SELECT state FROM invitations").await,
        "revoked"
    );
    assert!(
        flashes(&app)
            .await
            .iter()
            .any(|t| t.contains("Revoked 1 invitation."))
    );
}

/// Two Owners, alone in their organization, act on each other at the same moment, many
/// times over: one Owner is always left.
async fn two_owners_acting_on_each_other_at_once_leave_one_owner(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    for round in 0..6 {
        let mut tx = app.state.db.begin().await.unwrap();
        let org = db::orgs::insert(&mut tx, &format!("Pair {round}"), app.state.clock.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let (a_email, b_email) = (
            format!("a{round}@example.com"),
            format!("b{round}@example.com"),
        );
        app.add_member(&org.slug, &a_email, "A", Role::Owner).await;
        app.add_member(&org.slug, &b_email, "B", Role::Owner).await;
        let (a, b) = (
            app.browser_for(&a_email).await,
            app.browser_for(&b_email).await,
        );
        let (a_id, b_id) = (
            app.membership_id(&a_email).await,
            app.membership_id(&b_email).await,
        );
        let (a_token, b_token) = (a.csrf_token().await, b.csrf_token().await);
        let what = if round % 2 == 0 { "role" } else { "remove" };
        let path = |id| format!("/orgs/{}/members/{id}/{what}", org.slug);
        let a_form = [
            ("csrf_token", a_token.as_str()),
            ("role", "member"),
            ("confirm_email", b_email.as_str()),
        ];
        let b_form = [
            ("csrf_token", b_token.as_str()),
            ("role", "member"),
            ("confirm_email", a_email.as_str()),
        ];

        let (a_done, b_done) = tokio::join!(
            a.client.post(a.url(&path(b_id))).form(&a_form).send(),
            b.client.post(b.url(&path(a_id))).form(&b_form).send(),
        );

        let statuses = [
            a_done.unwrap().status().as_u16(),
            b_done.unwrap().status().as_u16(),
        ];
        let owners = count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM memberships \
                 WHERE org_id = {} AND role = 'owner' AND status = 'active'",
                org.id
            ),
        )
        .await;
        assert_eq!(owners, 1, "round {round} ({what}): {statuses:?}");
        assert!(statuses.contains(&303), "round {round}: one of them acted");
    }
}

/// The `return_to` of every action form on `html`.
fn return_tos(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse("input[name=return_to]").unwrap();
    doc.select(&selector)
        .map(|e| e.value().attr("value").unwrap_or_default().to_string())
        .collect()
}

async fn every_action_goes_back_to_the_view_it_was_taken_from(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.turn_seats_on("5").await;
    for email in ["cleo@example.com", "dan@example.com", "eve@example.com"] {
        app.add_member(ORG_SLUG, email, "Someone", Role::Member)
            .await;
    }
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/invitations"),
        &[("emails", "ivy@example.com"), ("role", "viewer")],
    )
    .await;
    let (cleo, dan, eve) = (
        app.membership_id("cleo@example.com").await,
        app.membership_id("dan@example.com").await,
        app.membership_id("eve@example.com").await,
    );
    let invitation = scalar_i64(&app.state.db, "SELECT id FROM invitations").await;
    let members = format!("/orgs/{ORG_SLUG}/members");
    let view = format!("{members}?q=example&status=active&sort=email&dir=desc");

    let (_, page) = app.get_html(&format!("{view}&page=1")).await;
    let (_, dialog) = app
        .get_html(&format!(
            "{}?return_to={}",
            member_path(dan, "remove"),
            url::form_urlencoded::byte_serialize(view.as_bytes()).collect::<String>()
        ))
        .await;
    let role = app
        .post_form(
            &member_path(cleo, "role"),
            &[("role", "admin"), ("return_to", &view)],
        )
        .await;
    let deactivated = app
        .post_form(&member_path(cleo, "deactivate"), &[("return_to", &view)])
        .await;
    let removed = app
        .post_form(
            &member_path(dan, "remove"),
            &[("confirm_email", "dan@example.com"), ("return_to", &view)],
        )
        .await;
    let seat = app
        .post_form(
            &format!("{members}/seats"),
            &[
                ("seat_action", "assign"),
                ("ids", &eve.to_string()),
                ("confirm", "yes"),
                ("return_to", &view),
            ],
        )
        .await;
    let revoked = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations/manage"),
            &[
                ("bulk_action", "revoke"),
                ("ids", &invitation.to_string()),
                ("confirm", "yes"),
                ("from", "members"),
                ("return_to", &view),
            ],
        )
        .await;
    let refused = app
        .post_form(
            &member_path(eve, "role"),
            &[("role", "member"), ("return_to", &view)],
        )
        .await;

    let forms = return_tos(&page);
    assert!(forms.len() > 3, "the seat forms and each row's: {forms:?}");
    assert!(forms.iter().all(|f| *f == view), "{forms:?}");
    assert!(
        page.contains(&format!("href=\"{}?return_to=", member_path(dan, "remove"))),
        "the menu's links carry the view too"
    );
    assert_eq!(return_tos(&dialog), vec![view.clone()]);
    let cancel = scraper::Html::parse_document(&dialog)
        .select(&scraper::Selector::parse("main a").unwrap())
        .find(|a| a.text().collect::<String>() == "Cancel")
        .and_then(|a| a.value().attr("href").map(str::to_string));
    assert_eq!(
        cancel.as_deref(),
        Some(view.as_str()),
        "Cancel goes back there"
    );
    for response in [role, deactivated, removed, seat, revoked] {
        assert_eq!(response.status(), 303);
        assert_eq!(location(&response), view);
    }
    assert_eq!(refused.status(), 303);
    assert_eq!(location(&refused), view, "a refusal goes back there too");
    assert!(
        flashes(&app)
            .await
            .iter()
            .any(|t| t.contains("Nothing to change: eve@example.com is already like that."))
    );
}

async fn return_to_never_leaves_the_organizations_members_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    let cleo = app.membership_id("cleo@example.com").await;
    let members = format!("/orgs/{ORG_SLUG}/members");

    let mut went = Vec::new();
    for elsewhere in [
        "https://evil.example/orgs/analytical-engines/members",
        "//evil.example/orgs/analytical-engines/members",
        "/orgs/someone-else/members?q=x",
        "/orgs/analytical-engines/settings",
        "/orgs/analytical-engines/members/1/remove",
    ] {
        let role = if went.len() % 2 == 0 {
            "admin"
        } else {
            "member"
        };
        let response = app
            .post_form(
                &member_path(cleo, "role"),
                &[("role", role), ("return_to", elsewhere)],
            )
            .await;
        assert_eq!(response.status(), 303, "{elsewhere}");
        went.push(location(&response));
    }

    assert!(went.iter().all(|l| *l == members), "{went:?}");
}

crate::on_both_backends!(
    an_owner_changes_a_role_and_the_member_is_told,
    an_admin_cannot_touch_owners_or_admins_nor_grant_owner,
    members_billing_and_viewers_change_nothing,
    nobody_changes_their_own_membership_and_roles_change_only_when_active,
    a_deactivated_member_gets_nothing_until_activated,
    removal_needs_the_typed_email_and_the_member_can_be_invited_again,
    a_member_of_another_organization_is_not_found,
    leaving_works_except_for_the_last_owner,
    an_invitation_row_is_revoked_from_the_members_page_and_back_there,
    two_owners_acting_on_each_other_at_once_leave_one_owner,
    every_action_goes_back_to_the_view_it_was_taken_from,
    return_to_never_leaves_the_organizations_members_page,
);
