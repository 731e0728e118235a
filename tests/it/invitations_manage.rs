use crate::helpers::*;
use roster::db;
use roster::domain::Role;

fn manage_path() -> String {
    format!("/orgs/{ORG_SLUG}/invitations/manage")
}

async fn invite(app: &TestApp, emails: &str, role: &str) -> reqwest::Response {
    app.post_form(
        &format!("/orgs/{ORG_SLUG}/invitations"),
        &[("emails", emails), ("role", role)],
    )
    .await
}

async fn id_of(app: &TestApp, email: &str) -> String {
    scalar_i64(
        &app.state.db,
        &format!("SELECT id FROM invitations WHERE email = '{email}'"),
    )
    .await
    .to_string()
}

async fn state_of(app: &TestApp, email: &str) -> String {
    scalar_text(
        &app.state.db,
        &format!("SELECT state FROM invitations WHERE email = '{email}'"),
    )
    .await
}

fn link_path(mail: &crate::smtp_sink::Received) -> String {
    let link = mail
        .text
        .lines()
        .find(|l| l.contains("/invitations/"))
        .unwrap()
        .trim();
    link.split_once("://")
        .map(|(_, rest)| rest[rest.find('/').unwrap()..].to_string())
        .unwrap()
}

async fn resending_sends_a_new_link_and_kills_the_old_one(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    invite(&app, "slow@example.com", "member").await;
    let first = sink.wait_for_mail_to("slow@example.com").await;
    let id = id_of(&app, "slow@example.com").await;
    let row_action = format!("resend:{id}");

    let confirm = app
        .post_form(&manage_path(), &[("row_action", &row_action)])
        .await;
    assert_eq!(confirm.status(), 200);
    assert_eq!(
        texts(&confirm.text().await.unwrap(), "h1"),
        vec!["Resend 1 invitation?"]
    );
    assert_eq!(
        sink.received().len(),
        2,
        "nothing sent before confirming (welcome + invitation)"
    );
    let done = app
        .post_form(
            &manage_path(),
            &[("bulk_action", "resend"), ("ids", &id), ("confirm", "yes")],
        )
        .await;

    assert_eq!(done.status(), 303);
    sink.wait_for(3).await;
    let second = sink
        .received()
        .into_iter()
        .filter(|m| m.to == vec!["slow@example.com".to_string()])
        .nth(1)
        .unwrap();
    assert_ne!(link_path(&first), link_path(&second));
    let visitor = app.new_browser();
    assert_eq!(
        visitor.get_html(&link_path(&first)).await.0,
        404,
        "the old link is dead"
    );
    assert_eq!(visitor.get_html(&link_path(&second)).await.0, 200);
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT send_count FROM invitations").await,
        2
    );
}

async fn bulk_revoke_asks_first_then_revokes_and_tells_each_invitee(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    invite(
        &app,
        "a@example.com b@example.com keep@example.com",
        "viewer",
    )
    .await;
    let (a, b) = (
        id_of(&app, "a@example.com").await,
        id_of(&app, "b@example.com").await,
    );

    let confirm = app
        .post_form(
            &manage_path(),
            &[("bulk_action", "revoke"), ("ids", &a), ("ids", &b)],
        )
        .await;
    let confirm_html = confirm.text().await.unwrap();
    assert_eq!(texts(&confirm_html, "h1"), vec!["Revoke 2 invitations?"]);
    assert_eq!(
        texts(&confirm_html, "main li"),
        vec!["a@example.com", "b@example.com"]
    );
    assert_eq!(
        state_of(&app, "a@example.com").await,
        "pending",
        "nothing revoked before confirming"
    );
    let done = app
        .post_form(
            &manage_path(),
            &[
                ("bulk_action", "revoke"),
                ("ids", &a),
                ("ids", &b),
                ("confirm", "yes"),
            ],
        )
        .await;

    assert_eq!(done.status(), 303);
    assert_eq!(state_of(&app, "a@example.com").await, "revoked");
    assert_eq!(state_of(&app, "b@example.com").await, "revoked");
    assert_eq!(state_of(&app, "keep@example.com").await, "pending");
    let withdrawn = sink
        .wait_for_subject("Your invitation to Analytical Engines was withdrawn")
        .await;
    assert!(
        withdrawn.to == vec!["a@example.com".to_string()]
            || withdrawn.to == vec!["b@example.com".to_string()]
    );
    let (_, page) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/invitations?status=revoked"))
        .await;
    assert_eq!(texts(&page, "tbody tr").len(), 2);
    assert!(texts(&page, ".flash-success").contains(&"Revoked 2 invitations.".to_string()));
}

async fn another_organizations_invitation_is_a_404(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let mut tx = app.state.db.begin().await.unwrap();
    let other = db::orgs::insert(&mut tx, "Other", app.state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    exec_sql(
        &app.state.db,
        &format!("INSERT INTO invitations (org_id, email, email_normalized, role, created_at, expires_at, last_sent_at, token_hash) VALUES ({}, 'x@example.com', 'x@example.com', 'member', 0, 9999999999, 0, 'h')", other.id),
    )
    .await;
    let id = id_of(&app, "x@example.com").await;

    let response = app
        .post_form(
            &manage_path(),
            &[("bulk_action", "revoke"), ("ids", &id), ("confirm", "yes")],
        )
        .await;

    assert_eq!(response.status(), 404);
    assert_eq!(state_of(&app, "x@example.com").await, "pending");
}

async fn members_manage_only_their_own_and_admins_not_owner_invitations(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET members_may_invite = TRUE",
    )
    .await;
    app.add_member(ORG_SLUG, "admin@example.com", "Bea", Role::Admin)
        .await;
    app.add_member(ORG_SLUG, "member@example.com", "Mo", Role::Member)
        .await;
    let (admin, member) = (
        app.browser_for("admin@example.com").await,
        app.browser_for("member@example.com").await,
    );
    invite(&app, "future.owner@example.com", "owner").await;
    invite(&member, "mos.friend@example.com", "viewer").await;
    let (owner_invite, mos_invite) = (
        id_of(&app, "future.owner@example.com").await,
        id_of(&app, "mos.friend@example.com").await,
    );

    let admin_on_owner = admin
        .post_form(
            &manage_path(),
            &[
                ("bulk_action", "revoke"),
                ("ids", &owner_invite),
                ("confirm", "yes"),
            ],
        )
        .await;
    let member_on_owner = member
        .post_form(
            &manage_path(),
            &[
                ("bulk_action", "revoke"),
                ("ids", &owner_invite),
                ("confirm", "yes"),
            ],
        )
        .await;
    let member_on_own = member
        .post_form(
            &manage_path(),
            &[
                ("bulk_action", "revoke"),
                ("ids", &mos_invite),
                ("confirm", "yes"),
            ],
        )
        .await;

    assert_eq!(admin_on_owner.status(), 403);
    assert_eq!(member_on_owner.status(), 403);
    assert_eq!(member_on_own.status(), 303);
    assert_eq!(state_of(&app, "future.owner@example.com").await, "pending");
    assert_eq!(state_of(&app, "mos.friend@example.com").await, "revoked");
    let (_, admin_page) = admin
        .get_html(&format!("/orgs/{ORG_SLUG}/invitations"))
        .await;
    assert!(
        !admin_page.contains(&format!(r#"value="revoke:{owner_invite}""#)),
        "no Revoke button where it is not allowed"
    );
}

async fn resending_an_expired_invitation_reopens_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    invite(&app, "late@example.com", "member").await;
    app.clock().advance(8 * 86_400);
    let id = id_of(&app, "late@example.com").await;

    let response = app
        .post_form(
            &manage_path(),
            &[("bulk_action", "resend"), ("ids", &id), ("confirm", "yes")],
        )
        .await;

    assert_eq!(response.status(), 200, "new links shown (no SMTP)");
    let (_, pending) = app
        .get_html(&format!("/orgs/{ORG_SLUG}/invitations?status=pending"))
        .await;
    assert!(texts(&pending, "tbody tr")[0].contains("late@example.com"));
    assert!(texts(&pending, "tbody tr")[0].contains("in 7 days"));
}

async fn finished_invitations_cannot_be_revoked(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    invite(&app, "gone@example.com", "member").await;
    let id = id_of(&app, "gone@example.com").await;
    app.post_form(
        &manage_path(),
        &[("bulk_action", "revoke"), ("ids", &id), ("confirm", "yes")],
    )
    .await;

    let again = app
        .post_form(
            &manage_path(),
            &[("bulk_action", "resend"), ("ids", &id), ("confirm", "yes")],
        )
        .await;

    assert_eq!(again.status(), 303);
    let (_, page) = app.get_html(&format!("/orgs/{ORG_SLUG}/invitations")).await;
    assert!(texts(&page, ".flash-error")[0].contains("no longer open: gone@example.com"));
    assert_eq!(state_of(&app, "gone@example.com").await, "revoked");
}

crate::on_both_backends!(
    resending_sends_a_new_link_and_kills_the_old_one,
    bulk_revoke_asks_first_then_revokes_and_tells_each_invitee,
    another_organizations_invitation_is_a_404,
    members_manage_only_their_own_and_admins_not_owner_invitations,
    resending_an_expired_invitation_reopens_it,
    finished_invitations_cannot_be_revoked,
);

async fn the_delivery_state_follows_the_email_and_errors_show_to_admins_only(backend: Backend) {
    let mut sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(
        backend,
        &["--smtp-url", &sink.url(), "--email-retry-secs", "1"],
    )
    .await
    else {
        return;
    };
    app.set_up().await;
    sink.wait_for(1).await;
    sink.stop().await;
    app.add_member(ORG_SLUG, "viewer@example.com", "Vi", Role::Viewer)
        .await;
    let viewer = app.browser_for("viewer@example.com").await;
    invite(&app, "bounce@example.com", "member").await;
    let id = id_of(&app, "bounce@example.com").await;
    let cell = format!("/orgs/{ORG_SLUG}/invitations/{id}/delivery");

    let mut failed = String::new();
    for _ in 0..100 {
        failed = app.get_html(&cell).await.1;
        if failed.contains("failed") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (_, viewer_cell) = viewer.get_html(&cell).await;
    sink.restart().await;
    sink.wait_for_mail_to("bounce@example.com").await;
    // The sink has the message a moment before the worker records the delivery.
    let mut sent = String::new();
    for _ in 0..100 {
        sent = app.get_html(&cell).await.1;
        if sent.contains(">sent<") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let outbox = scalar_i64(&app.state.db, "SELECT outbox_id FROM invitations").await;
    exec_sql(&app.state.db, &format!("UPDATE outbox SET sent_at = NULL, last_error = NULL, next_attempt_at = 99999999999 WHERE id = {outbox}")).await;
    let (_, queued) = app.get_html(&cell).await;

    assert!(
        failed.contains(">failed<") && failed.contains("<span class=\"muted small\">"),
        "{failed}"
    );
    assert!(
        viewer_cell.contains(">failed<") && !viewer_cell.contains("muted small"),
        "no SMTP error for a Viewer: {viewer_cell}"
    );
    assert!(
        sent.contains(">sent<") && !sent.contains("data-hx-trigger"),
        "{sent}"
    );
    assert!(
        queued.contains(">queued<") && queued.contains(r#"data-hx-trigger="every 2s""#),
        "{queued}"
    );
    assert_eq!(
        app.get_html(&format!("/orgs/{ORG_SLUG}/invitations/999999/delivery"))
            .await
            .0,
        404
    );
}

crate::on_both_backends!(the_delivery_state_follows_the_email_and_errors_show_to_admins_only);

async fn htmx_asks_for_confirmation_in_a_dialog(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    invite(&app, "d@example.com", "member").await;
    let id = id_of(&app, "d@example.com").await;
    let token = app.csrf_token().await;
    let htmx_post = |fields: Vec<(&'static str, String)>| {
        app.client
            .post(app.url(&manage_path()))
            .header("HX-Request", "true")
            .header("X-CSRF-Token", token.clone())
            .form(&fields)
            .send()
    };

    let dialog = htmx_post(vec![("row_action", format!("revoke:{id}"))])
        .await
        .unwrap();
    let nothing = htmx_post(vec![("bulk_action", "revoke".to_string())])
        .await
        .unwrap();

    assert_eq!(dialog.status(), 200);
    let html = dialog.text().await.unwrap();
    assert!(html.trim_start().starts_with("<dialog"), "{html}");
    assert_eq!(texts(&html, "h2"), vec!["Revoke 1 invitation?"]);
    assert_eq!(nothing.status(), 422);
    assert_eq!(
        nothing.headers()["HX-Retarget"],
        "#bulk-feedback",
        "said next to the bulk buttons"
    );
    assert_eq!(state_of(&app, "d@example.com").await, "pending");
}

crate::on_both_backends!(htmx_asks_for_confirmation_in_a_dialog);
