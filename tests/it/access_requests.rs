//! Access requests: where members may not invite, a Member asks; Owners and Admins
//! approve (the invitation is sent, crediting the requester) or decline; the requester
//! is emailed either way. And the refusals.

use roster::access_requests::{self, Error};
use roster::domain::Role;

use crate::helpers::*;
use crate::on_both_backends;
use crate::smtp_sink::SmtpSink;

fn org(path: &str) -> String {
    format!("/orgs/{ORG_SLUG}{path}")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    scalar_i64(&app.state.db, sql).await
}

/// Grace, a Member, asks for invitations for `emails`; returns the request's id.
async fn grace_asks(app: &TestApp, emails: &str) -> i64 {
    let grace = app.browser_for("grace@example.com").await;
    let response = grace
        .post_form(
            &org("/access-requests"),
            &[
                ("emails", emails),
                ("role", "member"),
                ("reason", "Contractors for the\nfirst quarter"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303, "the request is taken");
    count(app, "SELECT MAX(id) FROM access_requests").await
}

async fn with_grace(backend: Backend, smtp: Option<&SmtpSink>) -> Option<(TestApp, i64)> {
    let app = match smtp {
        Some(sink) => TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await?,
        None => TestApp::spawn(backend).await?,
    };
    app.set_up().await;
    let grace = app
        .add_member(ORG_SLUG, "grace@example.com", "Grace Hopper", Role::Member)
        .await;
    Some((app, grace))
}

async fn a_member_asks_and_an_owner_approves(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some((app, grace_id)) = with_grace(backend, Some(&sink)).await else {
        return;
    };
    let grace = app.browser_for("grace@example.com").await;

    // Where she would be refused, she is offered the request form.
    let (_, invitations) = grace.get_html(&org("/invitations")).await;
    assert!(texts(&invitations, ".page-head a.button").contains(&"Request an invitation".into()));
    let new = grace.get(&org("/invitations/new")).await;
    assert_eq!(location(&new), org("/access-requests/new"));
    let (status, form) = grace.get_html(&org("/access-requests/new")).await;
    assert_eq!(status, 200);
    assert_eq!(attrs(&form, "#role option", "value"), ["member", "viewer"]);
    let id = grace_asks(&app, "a@example.com, B@Example.com").await;

    // The Owner sees it counted in the navigation, and listed.
    let (_, members) = app.get_html(&org("/members")).await;
    assert_eq!(
        texts(&members, "nav.org-nav a[href$='/access-requests']"),
        ["Requests 1 pending"]
    );
    let (_, list) = app.get_html(&org("/access-requests")).await;
    assert_eq!(
        texts(&list, &format!("#request-{id} h2")),
        ["Grace Hopper (grace@example.com) asks to invite 2 people as Member"]
    );
    assert_eq!(
        texts(&list, &format!("#request-{id} .addresses li")),
        ["a@example.com", "b@example.com"]
    );

    let approved = app
        .post_form(&org(&format!("/access-requests/{id}/approve")), &[])
        .await;

    assert_eq!(location(&approved), org("/access-requests"));
    assert_eq!(
        count(
            &app,
            &format!(
                "SELECT COUNT(*) FROM invitations i JOIN users u ON u.id = i.invited_by \
                 WHERE i.requested_by = {grace_id} AND u.email = '{ADMIN_EMAIL}' AND i.state = 'pending'"
            )
        )
        .await,
        2,
        "sent as the approver's, crediting the requester"
    );
    let (_, invitations) = app.get_html(&org("/invitations")).await;
    assert!(
        texts(&invitations, "td[data-label='Invited by']")
            .iter()
            .all(|t| t == "Ada Lovelace, requested by Grace Hopper"),
        "{:?}",
        texts(&invitations, "td[data-label='Invited by']")
    );
    let told = sink
        .wait_for_subject("Your invitation request in Analytical Engines was approved")
        .await;
    assert_eq!(told.to, ["grace@example.com"]);
    sink.wait_for_mail_to("a@example.com").await;
    let (_, audit) = app.get_html(&org("/audit")).await;
    let audit = texts(&audit, "main").join(" ");
    for sentence in [
        "Grace Hopper asked for an invitation for a@example.com, b@example.com as Member",
        "Ada Lovelace approved grace@example.com's request to invite a@example.com, b@example.com as Member",
    ] {
        assert!(audit.contains(sentence), "{sentence}");
    }
    let (_, members) = app.get_html(&org("/members")).await;
    assert_eq!(
        texts(&members, "nav.org-nav a[href$='/access-requests']"),
        ["Requests"]
    );
    // Approving again finds nothing pending, and invites nobody else.
    let again = app
        .post_form(&org(&format!("/access-requests/{id}/approve")), &[])
        .await;
    assert_eq!(again.status(), 303);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invitations").await, 2);
}

async fn an_admin_declines_with_a_note(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some((app, _)) = with_grace(backend, Some(&sink)).await else {
        return;
    };
    app.add_member(ORG_SLUG, "adele@example.com", "Adele", Role::Admin)
        .await;
    let id = grace_asks(&app, "c@example.com").await;
    let adele = app.browser_for("adele@example.com").await;
    let path = org(&format!("/access-requests/{id}/decline"));

    // A note with a control character, or too long, is refused in its field.
    for (note, words) in [
        ("no\u{0}", "Remove the control characters"),
        (&*"x".repeat(5_000), "Use at most 1000 characters."),
    ] {
        let refused = adele.post_form(&path, &[("note", note)]).await;
        assert_eq!(refused.status(), 422);
        let page = refused.text().await.unwrap();
        assert!(texts(&page, &format!("#note-{id}-error"))[0].starts_with(words));
    }
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM access_requests WHERE state = 'pending'"
        )
        .await,
        1
    );

    let declined = adele
        .post_form(&path, &[("note", "We hire contractors through IT.")])
        .await;

    assert_eq!(declined.status(), 303);
    let told = sink
        .wait_for_subject("Your invitation request in Analytical Engines was declined")
        .await;
    assert_eq!(told.to, ["grace@example.com"]);
    assert!(
        told.text.contains("We hire contractors through IT."),
        "{}",
        told.text
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invitations").await, 0);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'access_request.declined'"
        )
        .await,
        1
    );
    let approve = adele
        .post_form(&org(&format!("/access-requests/{id}/approve")), &[])
        .await;
    assert_eq!(
        approve.status(),
        303,
        "no longer pending: said in a message"
    );
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invitations").await, 0);
}

async fn who_may_ask_and_who_may_decide(backend: Backend) {
    let Some((app, _)) = with_grace(backend, None).await else {
        return;
    };
    app.add_member(ORG_SLUG, "vic@example.com", "Vic", Role::Viewer)
        .await;
    app.add_member(ORG_SLUG, "bill@example.com", "Bill", Role::Billing)
        .await;
    app.add_member(ORG_SLUG, "adele@example.com", "Adele", Role::Admin)
        .await;
    let ask = [
        ("emails", "d@example.com"),
        ("role", "member"),
        ("reason", "needed"),
    ];

    // A Viewer may not ask.
    let vic = app.browser_for("vic@example.com").await;
    assert_eq!(vic.get(&org("/access-requests/new")).await.status(), 403);
    assert_eq!(
        vic.post_form(&org("/access-requests"), &ask).await.status(),
        403
    );
    // A Billing manager may, up to Member.
    let bill = app.browser_for("bill@example.com").await;
    assert_eq!(
        bill.post_form(&org("/access-requests"), &ask)
            .await
            .status(),
        303
    );
    let grace = app.browser_for("grace@example.com").await;
    let admin_role = grace
        .post_form(
            &org("/access-requests"),
            &[
                ("emails", "d@example.com"),
                ("role", "admin"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(
        admin_role.status(),
        422,
        "no role above what a Member could invite"
    );
    let id = count(&app, "SELECT MAX(id) FROM access_requests").await;

    // A Member may neither list nor decide.
    assert_eq!(grace.get(&org("/access-requests")).await.status(), 403);
    let approve = org(&format!("/access-requests/{id}/approve"));
    assert_eq!(grace.post_form(&approve, &[]).await.status(), 403);
    let decline = org(&format!("/access-requests/{id}/decline"));
    assert_eq!(grace.post_form(&decline, &[]).await.status(), 403);
    let (_, page) = grace.get_html(&org("/members")).await;
    assert!(texts(&page, "nav.org-nav a[href$='/access-requests']").is_empty());

    // A request for a role above the approver's (only storage could hold one) is
    // refused to an Admin, and left pending.
    exec_sql(
        &app.state.db,
        &format!("UPDATE access_requests SET role = 'owner' WHERE id = {id}"),
    )
    .await;
    let adele = app.browser_for("adele@example.com").await;
    assert_eq!(adele.post_form(&approve, &[]).await.status(), 403);
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invitations").await, 0);

    // Where members may invite, a Member invites instead of asking.
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET members_may_invite = TRUE",
    )
    .await;
    assert_eq!(grace.get(&org("/invitations/new")).await.status(), 200);
    assert_eq!(
        grace
            .post_form(&org("/access-requests"), &ask)
            .await
            .status(),
        403
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM access_requests WHERE state = 'pending'"
        )
        .await,
        1
    );
}

async fn hostile_requests_are_refused_in_words(backend: Backend) {
    let Some((app, _)) = with_grace(backend, None).await else {
        return;
    };
    let grace = app.browser_for("grace@example.com").await;
    let many: String = (0..21).map(|i| format!("p{i}@example.com ")).collect();
    let cases = [
        (
            "e@example.com",
            "a\u{1}b",
            "reason",
            "Remove the control characters",
        ),
        (
            "e@example.com",
            &*"y".repeat(1_001),
            "reason",
            "Use at most 1000 characters.",
        ),
        ("e@example.com", "  ", "reason", "Say why they need access"),
        (
            "e@example.com\u{0}",
            "ok",
            "emails",
            "Remove the control characters",
        ),
        (&*"z".repeat(50_000), "ok", "emails", "Use at most"),
        (
            &*many,
            "ok",
            "emails",
            "Ask for at most 20 addresses at once.",
        ),
        (
            "not-an-address",
            "ok",
            "emails",
            "These are not email addresses: not-an-address.",
        ),
    ];
    for (emails, reason, field, words) in cases {
        let response = grace
            .post_form(
                &org("/access-requests"),
                &[("emails", emails), ("role", "member"), ("reason", reason)],
            )
            .await;
        assert_eq!(response.status(), 422, "{field}: {words}");
        let page = response.text().await.unwrap();
        let message = texts(&page, &format!("#{field}-error"));
        assert!(message[0].starts_with(words), "{message:?}");
        assert!(!page.contains('\u{0}') && !page.contains('\u{1}'));
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM access_requests").await, 0);
}

async fn two_approvals_at_once_send_one_invitation(backend: Backend) {
    let Some((app, _)) = with_grace(backend, None).await else {
        return;
    };
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Owner)
        .await;
    let ada = app.acting(ADMIN_EMAIL).await;
    let bea = app.acting("bea@example.com").await;
    for round in 0..3 {
        let id = grace_asks(&app, &format!("new{round}@example.com")).await;

        let (a, b) = tokio::join!(
            access_requests::approve(&app.state, &ada, id),
            access_requests::approve(&app.state, &bea, id)
        );

        let invited: usize = [&a, &b]
            .iter()
            .filter_map(|r| r.as_ref().ok())
            .map(|i| i.created.len())
            .sum();
        assert_eq!(invited, 1, "{a:?} {b:?}");
        assert!(
            [&a, &b].iter().any(|r| matches!(r, Err(Error::NotFound))),
            "{a:?} {b:?}"
        );
    }
    assert_eq!(count(&app, "SELECT COUNT(*) FROM invitations").await, 3);
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'access_request.approved'"
        )
        .await,
        3
    );
}

on_both_backends!(
    a_member_asks_and_an_owner_approves,
    an_admin_declines_with_a_note,
    who_may_ask_and_who_may_decide,
    hostile_requests_are_refused_in_words,
    two_approvals_at_once_send_one_invitation,
);
