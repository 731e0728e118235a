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

/// GETs `path` (every 100 ms, up to 15 s) until its body contains `text`; returns the
/// last answer's status and body.
async fn poll_until(app: &TestApp, path: &str, text: &str) -> (u16, String) {
    let mut last = (0, String::new());
    for _ in 0..150 {
        let response = app.get(path).await;
        last = (response.status().as_u16(), response.text().await.unwrap());
        if last.1.contains(text) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    last
}

async fn the_delivery_state_follows_the_email_and_errors_show_to_admins_only(backend: Backend) {
    let Some((mut sink, app)) = set_up_with_smtp_down(backend).await else {
        return;
    };
    app.add_member(ORG_SLUG, "viewer@example.com", "Vi", Role::Viewer)
        .await;
    let viewer = app.browser_for("viewer@example.com").await;
    invite(&app, "bounce@example.com", "member").await;
    let id = id_of(&app, "bounce@example.com").await;
    let cell = format!("/orgs/{ORG_SLUG}/invitations/{id}/delivery");

    let (_, retrying) = poll_until(&app, &cell, ">retrying<").await;
    let (_, viewer_cell) = viewer.get_html(&cell).await;
    sink.restart().await;
    sink.wait_for_mail_to("bounce@example.com").await;
    // The sink has the message a moment before the worker records the delivery.
    let (_, delivered) = poll_until(&app, &cell, ">delivered<").await;
    let outbox = scalar_i64(&app.state.db, "SELECT outbox_id FROM invitations").await;
    exec_sql(&app.state.db, &format!("UPDATE outbox SET sent_at = NULL, last_error = NULL, attempts = 0, next_attempt_at = 99999999999 WHERE id = {outbox}")).await;
    let (_, queued) = app.get_html(&cell).await;

    let why = texts(&retrying, ".delivery-why").join(" ");
    assert!(
        why.starts_with("Attempt ")
            && why.contains(" failed. The mail server did not answer. Next try "),
        "{retrying}"
    );
    assert!(
        retrying.contains("data-hx-trigger=\"every "),
        "a retrying cell keeps asking: {retrying}"
    );
    let raw = attrs(&retrying, "span.delivery", "title");
    assert!(
        raw.len() == 1 && !raw[0].is_empty() && !why.contains(&raw[0]),
        "the SMTP error only on hover: {retrying}"
    );
    assert!(
        viewer_cell.contains(">retrying<")
            && viewer_cell.contains("The mail server did not answer.")
            && attrs(&viewer_cell, "span.delivery", "title").is_empty(),
        "no SMTP error for a Viewer: {viewer_cell}"
    );
    assert!(
        delivered.contains(">delivered<") && !delivered.contains("data-hx-trigger"),
        "{delivered}"
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

async fn an_address_the_server_refuses_fails_for_good_and_stops_polling(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    let address = format!("nobody@{}", crate::smtp_sink::REFUSED_DOMAIN);
    invite(&app, &address, "member").await;
    let id = id_of(&app, &address).await;
    let cell = format!("/orgs/{ORG_SLUG}/invitations/{id}/delivery");

    let (status, failed) = poll_until(&app, &cell, "failed for good").await;

    assert_eq!(status, 200);
    assert_eq!(
        texts(&failed, ".delivery-why"),
        vec!["The mail server refused the address.".to_string()],
        "{failed}"
    );
    assert!(!failed.contains("data-hx-trigger"), "{failed}");
    assert!(
        attrs(&failed, "span.delivery", "title")[0].contains("550"),
        "{failed}"
    );
    let attempts = scalar_i64(
        &app.state.db,
        &format!("SELECT attempts FROM outbox WHERE recipient = '{address}'"),
    )
    .await;
    assert_eq!(attempts, 1, "a permanent refusal is not tried again");
}

async fn a_bulk_send_shows_its_progress_until_every_email_is_delivered(backend: Backend) {
    let Some((mut sink, app)) = set_up_with_smtp_down(backend).await else {
        return;
    };

    let response = invite(&app, "a@example.com b@example.com c@example.com", "member").await;

    let page_path = location(&response);
    assert!(page_path.contains("/invitations?batch="), "{page_path}");
    let (_, page) = app.get_html(&page_path).await;
    assert_eq!(
        texts(&page, ".flash-success"),
        vec!["3 invitations queued; delivery below.".to_string()]
    );
    let progress_path = attrs(&page, "#batch-progress", "data-hx-get").remove(0);
    assert_eq!(attrs(&page, "#batch-progress", "aria-live"), vec!["polite"]);
    let (status, retrying) = poll_until(&app, &progress_path, "3 retrying").await;
    assert_eq!(
        (status, retrying.trim()),
        (
            200,
            "0 of 3 emails delivered, 3 retrying; the rest are on their way."
        )
    );
    sink.restart().await;
    let (status, done) = poll_until(&app, &progress_path, "All 3").await;
    assert_eq!(
        (status, done.trim()),
        (286, "All 3 emails delivered."),
        "286 tells htmx to stop polling"
    );
    let (_, reloaded) = app.get_html(&page_path).await;
    assert_eq!(
        texts(&reloaded, "#batch-progress"),
        vec!["All 3 emails delivered.".to_string()],
        "right on reload, without JavaScript"
    );
    assert!(attrs(&reloaded, "#batch-progress", "data-hx-get").is_empty());
}

async fn a_bulk_resend_is_queued_and_followed_like_a_bulk_send(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    invite(&app, "a@example.com b@example.com", "member").await;
    sink.wait_for(3).await;
    let (a, b) = (
        id_of(&app, "a@example.com").await,
        id_of(&app, "b@example.com").await,
    );

    let resent = app
        .post_form(
            &manage_path(),
            &[
                ("bulk_action", "resend"),
                ("ids", &a),
                ("ids", &b),
                ("confirm", "yes"),
            ],
        )
        .await;

    let page_path = location(&resent);
    assert!(page_path.contains("/invitations?batch="), "{page_path}");
    let (_, page) = app.get_html(&page_path).await;
    assert_eq!(
        texts(&page, ".flash-success"),
        vec![
            "Resent 2 invitations; queued, delivery below. Earlier links no longer work."
                .to_string()
        ]
    );
    sink.wait_for(5).await;
    let progress_path = format!(
        "/orgs/{ORG_SLUG}/invitations/progress?{}",
        page_path.split_once('?').unwrap().1
    );
    let (status, done) = poll_until(&app, &progress_path, "All 2").await;
    assert_eq!((status, done.trim()), (286, "All 2 emails delivered."));
}

async fn a_batch_is_counted_within_the_askers_organization_only(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    let response = invite(&app, "a@example.com b@example.com", "member").await;
    let batch = location(&response)
        .split_once("batch=")
        .unwrap()
        .1
        .to_string();
    let mut tx = app.state.db.begin().await.unwrap();
    let other = db::orgs::insert(&mut tx, "Other", app.state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.add_member(&other.slug, "olga@example.com", "Olga", Role::Owner)
        .await;
    let olga = app.browser_for("olga@example.com").await;

    let in_her_org = olga
        .get(&format!(
            "/orgs/{}/invitations/progress?batch={batch}",
            other.slug
        ))
        .await;
    let in_ours = olga
        .get(&format!(
            "/orgs/{ORG_SLUG}/invitations/progress?batch={batch}"
        ))
        .await;
    let malformed = app
        .get(&format!("/orgs/{ORG_SLUG}/invitations/progress?batch=9-1"))
        .await;

    assert_eq!(in_her_org.status(), 286);
    assert_eq!(
        in_her_org.text().await.unwrap().trim(),
        "",
        "nothing of ours"
    );
    assert_eq!(in_ours.status(), 404);
    assert_eq!(malformed.status(), 404);
}

crate::on_both_backends!(
    the_delivery_state_follows_the_email_and_errors_show_to_admins_only,
    an_address_the_server_refuses_fails_for_good_and_stops_polling,
    a_bulk_send_shows_its_progress_until_every_email_is_delivered,
    a_batch_is_counted_within_the_askers_organization_only,
    a_bulk_resend_is_queued_and_followed_like_a_bulk_send,
);

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
