use crate::helpers::*;
use roster::db;
use roster::domain::Role;
use roster::domain::invitation::Status;

fn invitations_path() -> String {
    format!("/orgs/{ORG_SLUG}/invitations")
}

async fn invite(app: &TestApp, emails: &str, role: &str) -> reqwest::Response {
    app.post_form(&invitations_path(), &[("emails", emails), ("role", role)])
        .await
}

/// Invites without SMTP and returns the links shown once, in order.
async fn invite_for_links(app: &TestApp, emails: &str, role: &str) -> Vec<String> {
    let response = invite(app, emails, role).await;
    assert_eq!(response.status(), 200, "the links page");
    let html = response.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let selector = scraper::Selector::parse("input.link-copy").unwrap();
    doc.select(&selector)
        .map(|e| e.value().attr("value").unwrap().to_string())
        .collect()
}

fn path_of(link: &str) -> String {
    link.split_once("://")
        .map(|(_, rest)| rest[rest.find('/').unwrap()..].to_string())
        .unwrap()
}

async fn invitation_count(app: &TestApp) -> i64 {
    scalar_i64(&app.state.db, "SELECT COUNT(*) FROM invitations").await
}

/// The emails of the members (not the pending invitations) on the Members page.
async fn members_emails(app: &TestApp) -> Vec<String> {
    let (_, html) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    texts(&html, "tbody tr")
        .into_iter()
        .filter(|row| !row.contains("Pending invitation"))
        .map(|row| row.split(' ').next().unwrap().to_string())
        .collect()
}

async fn an_invitee_gets_the_email_signs_up_and_becomes_a_member(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;

    let response = invite(&app, "New.Person@Example.com", "member").await;

    assert_eq!(response.status(), 303);
    let (_, page) = app.get_html(&invitations_path()).await;
    assert!(
        texts(&page, ".flash-success")
            .contains(&"Invitation to New.Person@Example.com queued; delivery below.".to_string())
    );
    let row = texts(&page, "tbody tr").remove(0);
    assert!(
        row.starts_with("New.Person@Example.com Member Ada Lovelace just now in 7 days"),
        "{row}"
    );
    let mail = sink.wait_for_mail_to("New.Person@Example.com").await;
    assert_eq!(
        mail.subject,
        "Ada Lovelace invited you to Analytical Engines on Roster"
    );
    let link = mail
        .text
        .lines()
        .find(|l| l.contains("/invitations/"))
        .unwrap()
        .trim()
        .to_string();
    assert!(mail.html.contains(&link));

    let invitee = app.new_browser();
    let (status, landing) = invitee.get_html(&path_of(&link)).await;
    assert_eq!(status, 200);
    assert!(texts(&landing, "p").iter().any(|t| t
        == "Ada Lovelace invited New.Person@Example.com to join Analytical Engines as Member."));
    assert_eq!(
        texts(&landing, "form .fixed-value"),
        ["Email New.Person@Example.com"],
        "the invited address is text, not a field that looks editable"
    );
    assert!(texts(&landing, "input[type=email]").is_empty());
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM invitations WHERE state = 'pending'"
        )
        .await,
        1,
        "a GET changes nothing"
    );
    let accepted = invitee
        .post_form(
            &format!("{}/accept", path_of(&link)),
            &[
                ("name", "New Person"),
                ("password", "a new long password"),
                ("password_confirm", "a new long password"),
            ],
        )
        .await;

    assert_eq!(location(&accepted), format!("/orgs/{ORG_SLUG}/members"));
    let (_, members) = invitee.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(
        texts(&members, "tbody tr")
            .iter()
            .any(|r| r.starts_with("New.Person@Example.com you New Person Member Active"))
    );
    let notice = sink
        .wait_for_subject("New.Person@Example.com joined Analytical Engines")
        .await;
    assert_eq!(
        notice.to,
        vec![ADMIN_EMAIL.to_string()],
        "the inviter hears of it"
    );
    let (replay, page) = app.new_browser().get_html(&path_of(&link)).await;
    assert_eq!(replay, 410);
    assert_eq!(
        texts(&page, "h1"),
        vec!["This invitation has already been accepted"]
    );
    let (_, accepted_tab) = app
        .get_html(&format!("{}?status=accepted", invitations_path()))
        .await;
    assert_eq!(texts(&accepted_tab, "tbody tr").len(), 1);
}

async fn without_smtp_the_links_are_shown_once_and_audited(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let links = invite_for_links(
        &app,
        "a@example.com, b@example.com\nc@example.com",
        "viewer",
    )
    .await;

    assert_eq!(links.len(), 3);
    assert!(
        links
            .iter()
            .all(|l| l.starts_with(&format!("{}/invitations/", app.address)))
    );
    let (_, page) = app.get_html(&invitations_path()).await;
    assert_eq!(texts(&page, "tbody tr").len(), 3);
    assert!(
        texts(&page, "tbody tr")
            .iter()
            .all(|r| r.contains("link shown"))
    );
    assert!(!page.contains(&links[0]), "a link is shown only once");
    let shown = db::audit::recent(&app.state.db, 20)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "invitation.link_shown")
        .count();
    assert_eq!(shown, 3);
}

async fn an_admin_cannot_invite_an_owner(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "admin@example.com", "Bea Admin", Role::Admin)
        .await;
    let admin = app.browser_for("admin@example.com").await;

    let response = invite(&admin, "boss@example.com", "owner").await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        texts(&html, "#emails-error li")
            .contains(&"boss@example.com: you cannot invite as Owner".to_string())
    );
    assert!(html.contains("boss@example.com"), "what was typed is kept");
    assert_eq!(invitation_count(&app).await, 0);
    let (_, page) = admin.get_html(&invitations_path()).await;
    assert!(
        !page.contains(r#"value="owner""#),
        "Owner is not offered to an Admin"
    );
}

async fn members_invite_only_where_the_organization_allows_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "member@example.com", "Mo Member", Role::Member)
        .await;
    let member = app.browser_for("member@example.com").await;

    let refused = invite(&member, "friend@example.com", "member").await;
    let (_, page) = member.get_html(&invitations_path()).await;
    let (_, members_page) = member.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert_eq!(refused.status(), 403);
    assert!(texts(&page, "#invite-heading").is_empty(), "no invite form");
    assert!(!texts(&members_page, "a.button").contains(&"Invite people".to_string()));
    assert!(!texts(&page, "a.button").contains(&"Invite people".to_string()));
    // Where they would be refused, they may ask instead (`access_requests`).
    let new = member.get(&format!("{}/new", invitations_path())).await;
    assert_eq!(
        location(&new),
        format!("/orgs/{ORG_SLUG}/access-requests/new"),
        "not the invite page, but the request form"
    );

    exec_sql(
        &app.state.db,
        "UPDATE organizations SET members_may_invite = TRUE",
    )
    .await;
    let as_admin = invite(&member, "friend@example.com", "admin").await;
    let as_member = invite(&member, "friend@example.com", "member").await;

    assert_eq!(as_admin.status(), 422);
    assert_eq!(as_member.status(), 200, "links shown (no SMTP)");
    assert_eq!(invitation_count(&app).await, 1);
}

async fn inviting_starts_from_a_button_that_opens_the_form_as_a_page_or_a_dialog(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let new = format!("{}/new", invitations_path());

    let (_, list) = app.get_html(&invitations_path()).await;
    let (_, members) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let (status, page) = app.get_html(&new).await;
    let dialog = app
        .client
        .get(app.url(&new))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    for html in [&list, &members] {
        assert_eq!(
            attrs(html, ".page-head a.button.primary", "href"),
            [new.as_str()],
            "the primary action of the page"
        );
        assert_eq!(
            attrs(html, ".page-head a.button.primary", "data-hx-get"),
            [new.as_str()]
        );
        assert!(
            texts(html, ".empty-state")[0].starts_with("You are the only member."),
            "a solo Owner is invited to invite"
        );
        assert!(texts(html, "textarea").is_empty(), "no form on the list");
    }
    assert_eq!(status, 200);
    assert_eq!(texts(&page, "h1"), ["Invite people"]);
    assert_eq!(
        attrs(&page, "form.stacked", "action"),
        [
            invitations_path(),
            format!("{}/csv?csrf_token={}", invitations_path(), meta_csrf(&page))
        ]
    );
    assert!(
        dialog.starts_with("<dialog id=\"invite-dialog\""),
        "{dialog}"
    );
    assert_eq!(texts(&dialog, "textarea").len(), 1);

    invite(&app, "first@example.com", "member").await;
    let (_, list) = app.get_html(&invitations_path()).await;
    let (_, members) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(texts(&list, ".empty-state").is_empty());
    assert!(texts(&members, ".empty-state").is_empty());
}

async fn billing_and_viewers_cannot_invite(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET members_may_invite = TRUE",
    )
    .await;
    for (email, role) in [
        ("billing@example.com", Role::Billing),
        ("viewer@example.com", Role::Viewer),
    ] {
        app.add_member(ORG_SLUG, email, "Someone", role).await;
        let browser = app.browser_for(email).await;

        let response = invite(&browser, "friend@example.com", "viewer").await;

        assert_eq!(response.status(), 403, "{role:?}");
    }
    assert_eq!(invitation_count(&app).await, 0);
}

async fn each_bad_address_is_named_and_nothing_is_sent(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    invite_for_links(&app, "pending@example.com", "member").await;
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET allowed_email_domains = 'example.com'",
    )
    .await;

    let response = invite(&app, "ok@example.com not-an-address ADA@example.com pending@example.com ok@example.com someone@elsewhere.org", "member").await;

    assert_eq!(response.status(), 422);
    let problems = texts(&response.text().await.unwrap(), "#emails-error li");
    assert_eq!(
        problems,
        vec![
            "not-an-address: invalid address: Enter a valid email address, like name@example.com.",
            "ADA@example.com: already a member",
            "pending@example.com: already invited (resend the pending invitation instead)",
            "ok@example.com: duplicate in this list",
            "someone@elsewhere.org: domain not allowed in this organization",
        ]
    );
    assert_eq!(
        invitation_count(&app).await,
        1,
        "only the earlier invitation"
    );
}

async fn a_limit_reached_halfway_sends_nothing_and_says_how_many_fit(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET max_pending_invitations = 3",
    )
    .await;
    invite_for_links(&app, "first@example.com", "member").await;

    let response = invite(&app, "a@example.com b@example.com c@example.com", "member").await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert!(
        texts(&html, "#emails-error p")[0]
            .contains("2 invitations fit within the organization's limits, and you asked for 3")
    );
    assert_eq!(invitation_count(&app).await, 1);
    exec_sql(
        &app.state.db,
        "UPDATE organizations SET max_pending_invitations = 50, max_members = 2",
    )
    .await;
    let members_limit = invite(&app, "a@example.com b@example.com", "member").await;
    assert_eq!(
        members_limit.status(),
        422,
        "pending invitations count towards max members"
    );
}

/// Invitations asked for at the same moment, by two people, are planned one after
/// another (they may be written together): the limit holds, an address is invited once,
/// every invitation has its one audit event and names who sent it.
async fn invitations_asked_for_at_once_are_planned_one_after_another(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "grace@example.com", "Grace", Role::Admin)
        .await;
    let grace = std::sync::Arc::new(app.browser_for("grace@example.com").await);
    let db = app.state.db.clone();
    exec_sql(&db, "UPDATE organizations SET max_pending_invitations = 6").await;
    let ada = std::sync::Arc::new(app);

    let mut requests = tokio::task::JoinSet::new();
    for i in 0..16 {
        let (who, client) = if i % 2 == 0 {
            (ADMIN_EMAIL, ada.clone())
        } else {
            ("grace@example.com", grace.clone())
        };
        let email = if i % 4 == 3 {
            "same@example.com".to_string()
        } else {
            format!("person{i}@example.com")
        };
        requests.spawn(async move {
            let status = invite(&client, &email, "member").await.status().as_u16();
            (email, who, status)
        });
    }
    // Grace, an Admin, may not invite an Owner, whatever she is batched with.
    let owner_asked = {
        let grace = grace.clone();
        tokio::spawn(async move { invite(&grace, "boss@example.com", "owner").await.status() })
    };
    let mut sent = Vec::new();
    while let Some(answer) = requests.join_next().await {
        let (email, who, status) = answer.unwrap();
        match status {
            200 => sent.push((email, who)),
            422 => {}
            other => panic!("{email}: answered {other}"),
        }
    }

    assert_eq!(
        owner_asked.await.unwrap(),
        422,
        "an Admin inviting an Owner"
    );
    assert_eq!(sent.len(), 6, "as many as the limit lets through: {sent:?}");
    let same = sent.iter().filter(|(e, _)| e == "same@example.com").count();
    assert!(same <= 1, "one invitation to an address asked for 4 times");
    assert_eq!(invitation_count(ada.as_ref()).await, 6);
    let distinct = "SELECT COUNT(DISTINCT email_normalized) FROM invitations";
    assert_eq!(scalar_i64(&db, distinct).await, 6);
    let kept = "SELECT pending_count FROM organizations";
    assert_eq!(scalar_i64(&db, kept).await, 6);
    let events = "SELECT COUNT(*) FROM audit_events WHERE action = 'invitation.created'";
    assert_eq!(scalar_i64(&db, events).await, 6);
    for (email, who) in sent {
        let inviter = format!(
            "SELECT u.email FROM invitations i JOIN users u ON u.id = i.invited_by \
             WHERE i.email_normalized = '{email}'"
        );
        assert_eq!(scalar_text(&db, &inviter).await, who, "{email}");
        let actor = format!(
            "SELECT actor_email FROM audit_events \
             WHERE action = 'invitation.created' AND target_email = '{email}'"
        );
        assert_eq!(scalar_text(&db, &actor).await, who, "{email}");
    }
}

async fn accepting_while_signed_in_as_someone_else_is_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "other@example.com", "Otto", Role::Viewer)
        .await;
    let links = invite_for_links(&app, "invitee@example.com", "admin").await;
    let other = app.browser_for("other@example.com").await;

    let (status, page) = other.get_html(&path_of(&links[0])).await;
    let accept = other
        .post_form(&format!("{}/accept", path_of(&links[0])), &[])
        .await;
    let decline = other
        .post_form(&format!("{}/decline", path_of(&links[0])), &[])
        .await;

    assert_eq!(status, 200);
    assert!(texts(&page, ".form-error")[0].contains(
        "This invitation is for invitee@example.com, but you are signed in as other@example.com"
    ));
    assert_eq!(accept.status(), 200, "the same explanation, nothing done");
    assert_eq!(decline.status(), 200, "nor can they decline it");
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM invitations WHERE state = 'pending'"
        )
        .await,
        1
    );
    assert!(
        !members_emails(&app)
            .await
            .contains(&"invitee@example.com".to_string())
    );
}

async fn an_expired_invitation_cannot_be_accepted(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let links = invite_for_links(&app, "late@example.com", "member").await;
    app.clock().advance(7 * 86_400 + 1);
    let invitee = app.new_browser();

    let (status, page) = invitee.get_html(&path_of(&links[0])).await;
    let accept = invitee
        .post_form(
            &format!("{}/accept", path_of(&links[0])),
            &[
                ("name", "Late"),
                ("password", "a late long password"),
                ("password_confirm", "a late long password"),
            ],
        )
        .await;

    assert_eq!(status, 410);
    assert_eq!(texts(&page, "h1"), vec!["This invitation has expired"]);
    assert!(
        texts(&page, "p")[0]
            .contains("Ask Ada Lovelace or an Owner of Analytical Engines for a new invitation")
    );
    assert_eq!(accept.status(), 410);
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM users").await,
        1,
        "no account made"
    );
    let (_, expired_tab) = app
        .get_html(&format!("{}?status=expired", invitations_path()))
        .await;
    assert_eq!(texts(&expired_tab, "tbody tr").len(), 1);
    let again = invite_for_links(&app, "late@example.com", "viewer").await;
    assert_eq!(
        again.len(),
        1,
        "an expired invitation's address can be invited again"
    );
    assert_eq!(
        invitation_count(&app).await,
        1,
        "in place of the expired one"
    );
}

async fn unknown_and_malformed_links_get_the_same_answer(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;

    let (unknown, unknown_page) = app
        .get_html("/invitations/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .await;
    let (malformed, malformed_page) = app.get_html("/invitations/%3Cscript%3E").await;

    assert_eq!(unknown, 404);
    assert_eq!(malformed, 404);
    assert_eq!(texts(&unknown_page, "main"), texts(&malformed_page, "main"));
}

async fn someone_with_an_account_elsewhere_signs_in_and_accepts(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let mut tx = app.state.db.begin().await.unwrap();
    db::orgs::insert(&mut tx, "Elsewhere", app.state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.add_member("elsewhere", "grace@example.com", "Grace", Role::Owner)
        .await;
    let links = invite_for_links(&app, "Grace@Example.com", "billing").await;
    let grace = app.new_browser();

    let (_, landing) = grace.get_html(&path_of(&links[0])).await;
    let accept_anonymously = grace
        .post_form(&format!("{}/accept", path_of(&links[0])), &[])
        .await;
    let signed_in = grace
        .post_form(
            "/sign-in",
            &[
                ("email", "grace@example.com"),
                ("password", MEMBER_PASSWORD),
                ("next", &path_of(&links[0])),
            ],
        )
        .await;
    let accepted = grace
        .post_form(&format!("{}/accept", path_of(&links[0])), &[])
        .await;

    assert!(texts(&landing, "a.button").contains(&"Sign in to accept".to_string()));
    assert!(location(&accept_anonymously).starts_with("/sign-in?email=Grace%40Example.com&next="));
    assert_eq!(location(&signed_in), path_of(&links[0]));
    assert_eq!(location(&accepted), format!("/orgs/{ORG_SLUG}/members"));
    assert!(
        members_emails(&app)
            .await
            .contains(&"grace@example.com".to_string())
    );
}

async fn an_invitee_can_decline(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let links = invite_for_links(&app, "no.thanks@example.com", "member").await;
    let invitee = app.new_browser();
    let (_, landing) = invitee.get_html(&path_of(&links[0])).await;
    let decline_path = format!("{}/decline", path_of(&links[0]));
    assert_eq!(
        attrs(&landing, "main a[href$='/decline']", "href"),
        [decline_path.as_str()],
        "Decline leads to a confirmation, not a POST"
    );

    // Asking to decline changes nothing yet: the page asks to confirm.
    let (status, confirm) = invitee.get_html(&decline_path).await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&confirm, "h1"),
        ["Decline the invitation to Analytical Engines?"]
    );
    assert_eq!(
        attrs(&confirm, "main form", "action"),
        [decline_path.as_str()]
    );
    assert_eq!(
        scalar_text(&app.state.db, "SELECT state FROM invitations").await,
        "pending"
    );

    let declined = invitee.post_form(&decline_path, &[]).await;

    assert_eq!(declined.status(), 303);
    let after = location(&declined);
    assert_eq!(after, format!("{}?declined=1", path_of(&links[0])));
    let (status, page) = invitee.get_html(&after).await;
    assert_eq!(status, 410);
    assert_eq!(
        texts(&page, "h1"),
        ["You declined the invitation to Analytical Engines"]
    );
    assert!(
        texts(&page, "main p")[0].contains("ask Ada Lovelace or an Owner of Analytical Engines"),
        "names as typed: {page}"
    );
    let (_, tab) = app
        .get_html(&format!("{}?status=declined", invitations_path()))
        .await;
    assert_eq!(texts(&tab, "tbody tr").len(), 1);
    let (status, page) = invitee.get_html(&path_of(&links[0])).await;
    assert_eq!(status, 410);
    assert_eq!(texts(&page, "h1"), ["This invitation was declined"]);
    assert!(
        texts(&page, "main p")[0]
            .contains("If that was not you, ask Ada Lovelace or an Owner of Analytical Engines"),
        "{page}"
    );
}

async fn settled_invitations_say_who_ended_them_and_when_instead_of_an_expiry(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let links = invite_for_links(
        &app,
        "gone@example.com no@example.com still@example.com",
        "member",
    )
    .await;
    let gone = scalar_i64(
        &app.state.db,
        "SELECT id FROM invitations WHERE email = 'gone@example.com'",
    )
    .await;
    app.clock().advance(3 * 3600);
    let revoked = app
        .post_form(
            &format!("{}/manage", invitations_path()),
            &[
                ("bulk_action", "revoke"),
                ("ids", &gone.to_string()),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(revoked.status(), 303);
    let invitee = app.new_browser();
    invitee
        .post_form(&format!("{}/decline", path_of(&links[1])), &[])
        .await;

    let (_, revoked_tab) = app
        .get_html(&format!("{}?status=revoked", invitations_path()))
        .await;
    let (_, declined_tab) = app
        .get_html(&format!("{}?status=declined", invitations_path()))
        .await;

    assert_eq!(
        texts(&revoked_tab, "thead th"),
        [
            "Email",
            "Role",
            "Invited by",
            "Sent",
            "Revoked",
            "Withdrawal email"
        ]
    );
    let row = &texts(&revoked_tab, "tbody tr")[0];
    assert!(row.contains(&format!("by {ADMIN_EMAIL} just now")), "{row}");
    assert!(!row.contains("in 7 days"), "no expiry: {row}");
    assert_eq!(
        texts(&declined_tab, "thead th"),
        [
            "Email",
            "Role",
            "Invited by",
            "Sent",
            "Declined",
            "Email delivery"
        ]
    );
    let row = &texts(&declined_tab, "tbody tr")[0];
    assert!(row.starts_with("no@example.com"), "{row}");
    assert!(
        row.contains("just now") && !row.contains(" by "),
        "declined without an account: when, not by whom: {row}"
    );
    assert!(!row.contains("in 7 days"), "no expiry: {row}");
    let (_, pending_tab) = app.get_html(&invitations_path()).await;
    assert!(texts(&pending_tab, "thead th").contains(&"Expires".to_string()));
}

async fn signing_out_of_the_wrong_account_comes_back_to_the_invitation(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "other@example.com", "Otto", Role::Viewer)
        .await;
    let links = invite_for_links(&app, "invitee@example.com", "admin").await;
    let other = app.browser_for("other@example.com").await;
    let (_, page) = other.get_html(&path_of(&links[0])).await;
    let invitation = path_of(&links[0]);
    let next = attrs(
        &page,
        "main form[action='/sign-out'] input[name=next]",
        "value",
    );
    assert_eq!(next, [invitation.as_str()]);
    let out = other.post_form("/sign-out", &[("next", &next[0])]).await;

    assert_eq!(out.status(), 303);
    assert_eq!(location(&out), invitation, "back to the invitation");
    let (status, landing) = other.get_html(&invitation).await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&landing, "h2"),
        ["Create your account"],
        "signed out, the page offers the invitee's sign-up (or sign-in, with an account)"
    );
    assert_eq!(
        texts(&landing, ".fixed-value"),
        ["Email invitee@example.com"]
    );
    // A `next` off the site is dropped, not followed.
    let again = app.browser_for("other@example.com").await;
    let out = again
        .post_form("/sign-out", &[("next", "//evil.example/x")])
        .await;
    assert_eq!(location(&out), "/sign-in");
}

async fn sign_up_errors_keep_the_name_and_create_nothing(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let links = invite_for_links(&app, "typo@example.com", "member").await;
    let invitee = app.new_browser();

    let response = invitee
        .post_form(
            &format!("{}/accept", path_of(&links[0])),
            &[
                ("name", "Tia Typo"),
                ("password", "a long password"),
                ("password_confirm", "a different one"),
            ],
        )
        .await;

    assert_eq!(response.status(), 422);
    let html = response.text().await.unwrap();
    assert_eq!(
        texts(&html, "#password_confirm-error"),
        vec!["The two passwords do not match."]
    );
    assert!(html.contains(r#"value="Tia Typo""#));
    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM users").await,
        1
    );
}

async fn pending_invitations_appear_on_the_members_page(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    invite_for_links(&app, "soon@example.com", "admin").await;

    let (_, html) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    app.clock().advance(8 * 86_400);
    let (_, later) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;

    let rows = texts(&html, "tbody tr");
    assert_eq!(rows.len(), 2);
    assert!(
        rows[1].starts_with("soon@example.com Admin Pending invitation"),
        "{rows:?}"
    );
    assert!(texts(&html, "p.muted")[0].starts_with("1 member, 1 pending invitation"));
    assert_eq!(
        texts(&later, "tbody tr").len(),
        1,
        "an expired invitation is not listed"
    );
    assert!(texts(&html, "a.button").contains(&"Invite people".to_string()));
}

/// The organization's kept pending count (migration 0010) against the invitations
/// themselves, and the open (pending, not expired) count read from it against the
/// Members page and a count of the rows.
async fn assert_pending_counts(app: &TestApp, pending: i64, open: i64, step: &str) {
    let db = &app.state.db;
    let org_id = scalar_i64(
        db,
        &format!("SELECT id FROM organizations WHERE slug = '{ORG_SLUG}'"),
    )
    .await;
    let kept = scalar_i64(
        db,
        &format!("SELECT pending_count FROM organizations WHERE id = {org_id}"),
    )
    .await;
    let counted = scalar_i64(
        db,
        "SELECT COUNT(*) FROM invitations WHERE state = 'pending'",
    )
    .await;
    assert_eq!((kept, counted), (pending, pending), "pending after {step}");
    let now = app.clock().now();
    let open_counted = scalar_i64(
        db,
        &format!("SELECT COUNT(*) FROM invitations WHERE state = 'pending' AND expires_at > {now}"),
    )
    .await;
    let open_read = db::invitations::count(db, org_id, Status::Pending, now)
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    let open_in_tx = db::invitations::count_pending(&mut tx, org_id, now)
        .await
        .unwrap();
    let open_for_limits = db::invitations::standing(&mut tx, org_id, &[], now)
        .await
        .unwrap()
        .pending;
    drop(tx);
    assert_eq!(
        (open_counted, open_read, open_in_tx, open_for_limits),
        (open, open, open, open),
        "open after {step}"
    );
    let (_, html) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    let summary = texts(&html, "p.muted").remove(0);
    match open {
        0 => assert!(!summary.contains("pending invitation"), "{step}: {summary}"),
        1 => assert!(
            summary.contains("1 pending invitation"),
            "{step}: {summary}"
        ),
        n => assert!(
            summary.contains(&format!("{n} pending invitations")),
            "{step}: {summary}"
        ),
    }
}

async fn invitation_id(app: &TestApp, email: &str) -> String {
    scalar_i64(
        &app.state.db,
        &format!("SELECT id FROM invitations WHERE email = '{email}'"),
    )
    .await
    .to_string()
}

async fn the_kept_pending_count_follows_every_change(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    assert_pending_counts(&app, 0, 0, "set-up").await;
    let links = invite_for_links(
        &app,
        "a@example.com, b@example.com, c@example.com, d@example.com, e@example.com",
        "member",
    )
    .await;
    assert_eq!(links.len(), 5);
    assert_pending_counts(&app, 5, 5, "inviting five").await;

    let accepted = app
        .new_browser()
        .post_form(
            &format!("{}/accept", path_of(&links[0])),
            &[
                ("name", "Ann"),
                ("password", "a long enough password"),
                ("password_confirm", "a long enough password"),
            ],
        )
        .await;
    assert_eq!(accepted.status(), 303);
    assert_pending_counts(&app, 4, 4, "an accept").await;

    let declined = app
        .new_browser()
        .post_form(&format!("{}/decline", path_of(&links[1])), &[])
        .await;
    assert_eq!(declined.status(), 303);
    assert_pending_counts(&app, 3, 3, "a decline").await;

    let c = invitation_id(&app, "c@example.com").await;
    let revoked = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations/manage"),
            &[("bulk_action", "revoke"), ("ids", &c), ("confirm", "yes")],
        )
        .await;
    assert_eq!(revoked.status(), 303);
    assert_pending_counts(&app, 2, 2, "a revoke").await;

    app.clock().advance(7 * 86_400 + 1);
    assert_pending_counts(&app, 2, 0, "expiry").await;

    let d = invitation_id(&app, "d@example.com").await;
    let resent = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations/manage"),
            &[("bulk_action", "resend"), ("ids", &d), ("confirm", "yes")],
        )
        .await;
    assert!(resent.status().as_u16() < 400, "{}", resent.status());
    assert_pending_counts(&app, 2, 1, "resending an expired one").await;

    let again = invite_for_links(&app, "e@example.com", "viewer").await;
    assert_eq!(again.len(), 1);
    assert_pending_counts(&app, 2, 2, "inviting an expired one's address again").await;
}

crate::on_both_backends!(
    the_kept_pending_count_follows_every_change,
    pending_invitations_appear_on_the_members_page,
    an_invitee_gets_the_email_signs_up_and_becomes_a_member,
    without_smtp_the_links_are_shown_once_and_audited,
    an_admin_cannot_invite_an_owner,
    members_invite_only_where_the_organization_allows_it,
    billing_and_viewers_cannot_invite,
    each_bad_address_is_named_and_nothing_is_sent,
    a_limit_reached_halfway_sends_nothing_and_says_how_many_fit,
    invitations_asked_for_at_once_are_planned_one_after_another,
    accepting_while_signed_in_as_someone_else_is_refused,
    an_expired_invitation_cannot_be_accepted,
    unknown_and_malformed_links_get_the_same_answer,
    someone_with_an_account_elsewhere_signs_in_and_accepts,
    an_invitee_can_decline,
    inviting_starts_from_a_button_that_opens_the_form_as_a_page_or_a_dialog,
    settled_invitations_say_who_ended_them_and_when_instead_of_an_expiry,
    signing_out_of_the_wrong_account_comes_back_to_the_invitation,
    sign_up_errors_keep_the_name_and_create_nothing,
);
