//! Membership expiry: a last day of access on a member or an invitation, the warning a
//! week before, the deactivation at the end (with the clock moved), the Owner rule, and
//! the refusals.

use reqwest::Method;
use roster::domain::Role;
use roster::domain::access::AccessUntil;
use roster::members::{self, Change, Error};
use serde_json::json;

use crate::helpers::*;
use crate::on_both_backends;
use crate::smtp_sink::SmtpSink;

const DAY: i64 = 86_400;

fn org(path: &str) -> String {
    format!("/orgs/{ORG_SLUG}{path}")
}

/// The day `days` after today, as the clock of `app` says.
fn day_in(app: &TestApp, days: i64) -> AccessUntil {
    let iso = roster::clock::iso(app.clock().now() + days * DAY);
    AccessUntil::from_iso(&iso[..10]).unwrap()
}

/// Emails queued to `to` whose subject starts with `subject`.
async fn queued(app: &TestApp, to: &str, subject: &str) -> i64 {
    scalar_i64(
        &app.state.db,
        &format!(
            "SELECT COUNT(*) FROM outbox WHERE recipient = '{to}' AND subject LIKE '{}%'",
            subject.replace('\'', "''")
        ),
    )
    .await
}

async fn status_of(app: &TestApp, email: &str) -> String {
    let id = app.membership_id(email).await;
    scalar_text(
        &app.state.db,
        &format!("SELECT status FROM memberships WHERE id = {id}"),
    )
    .await
}

async fn set_until(
    app: &TestApp,
    by: &str,
    email: &str,
    day: Option<AccessUntil>,
) -> Result<(), Error> {
    let actor = app.acting(by).await;
    let id = app.membership_id(email).await;
    members::change(&app.state, &actor, id, &Change::AccessUntil(day))
        .await
        .map(|_| ())
}

async fn a_member_is_warned_once_then_deactivated_with_their_tokens(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "grace@example.com", "Grace", Role::Member)
        .await;
    let token = app
        .browser_for("grace@example.com")
        .await
        .create_token(ORG_SLUG, "grace's script")
        .await;
    let last_day = day_in(&app, 10);
    set_until(&app, ADMIN_EMAIL, "grace@example.com", Some(last_day))
        .await
        .unwrap();
    let ending = format!("Your access to {ORG_NAME} ends after");
    let others_ending = "grace@example.com's access to";

    // Ten days before: nothing yet.
    members::expire_due(&app.state).await.unwrap();
    assert_eq!(queued(&app, "grace@example.com", &ending).await, 0);

    // Five days on, the end is within a week: the member, and (no inviter is known)
    // the Owner, are warned; passes after that warn nobody again.
    app.clock().advance(5 * DAY);
    members::expire_due(&app.state).await.unwrap();
    members::expire_due(&app.state).await.unwrap();
    assert_eq!(queued(&app, "grace@example.com", &ending).await, 1);
    assert_eq!(queued(&app, ADMIN_EMAIL, others_ending).await, 1);
    assert_eq!(status_of(&app, "grace@example.com").await, "active");
    let (status, _) = app.api(Method::GET, &token, &org(""), None).await;
    assert_eq!(status, 200, "the token works until the end");

    // The last day itself still has access; the next midnight does not.
    app.clock().advance(5 * DAY);
    members::expire_due(&app.state).await.unwrap();
    assert_eq!(status_of(&app, "grace@example.com").await, "active");
    app.clock().advance(2 * DAY);
    members::expire_due(&app.state).await.unwrap();
    members::expire_due(&app.state).await.unwrap();

    assert_eq!(status_of(&app, "grace@example.com").await, "inactive");
    let (status, _) = app.api(Method::GET, &token, &org(""), None).await;
    assert_eq!(status, 401, "its API tokens ended with it");
    let ended = format!("Your access to {ORG_NAME} has ended");
    assert_eq!(queued(&app, "grace@example.com", &ended).await, 1);
    assert_eq!(
        queued(
            &app,
            ADMIN_EMAIL,
            "grace@example.com's access to Analytical Engines has ended"
        )
        .await,
        1
    );
    let audited = scalar_text(
        &app.state.db,
        "SELECT actor_email || ' ' || target_email || ' ' || before_value FROM audit_events \
         WHERE action = 'member.access_ended'",
    )
    .await;
    assert_eq!(
        audited,
        format!("system grace@example.com {}", last_day.iso())
    );
    let (_, page) = app.get_html(&org("/audit")).await;
    let sentence = format!(
        "Roster deactivated grace@example.com: their access ended after {}",
        last_day.long()
    );
    assert!(page.contains(&sentence), "{sentence}");
}

async fn two_processes_warn_and_deactivate_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    for i in 0..6 {
        let email = format!("temp{i}@example.com");
        app.add_member(ORG_SLUG, &email, "Temp", Role::Member).await;
        set_until(&app, ADMIN_EMAIL, &email, Some(day_in(&app, 3)))
            .await
            .unwrap();
    }
    let other_state = other_state(&app, &sink).await;

    let (a, b) = tokio::join!(
        members::expire_due(&app.state),
        members::expire_due(&other_state)
    );
    a.unwrap();
    b.unwrap();
    app.clock().advance(5 * DAY);
    let (a, b) = tokio::join!(
        members::expire_due(&app.state),
        members::expire_due(&other_state)
    );
    a.unwrap();
    b.unwrap();

    for i in 0..6 {
        let email = format!("temp{i}@example.com");
        assert_eq!(queued(&app, &email, "Your access to").await, 2, "{email}");
        assert_eq!(status_of(&app, &email).await, "inactive");
    }
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM audit_events WHERE action = 'member.access_ended'"
        )
        .await,
        6
    );
}

/// A second Roster's state on the same database and clock, as another process.
async fn other_state(app: &TestApp, sink: &SmtpSink) -> roster::state::AppState {
    let db = roster::db::Db::connect(app.db_url()).await.unwrap();
    let config = config(app.db_url(), &["--smtp-url", &sink.url()]);
    roster::state::AppState::new(db, config, app.clock().clone())
        .await
        .unwrap()
}

async fn the_last_owner_without_an_end_keeps_having_none(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Owner)
        .await;
    app.add_member(ORG_SLUG, "cy@example.com", "Cy", Role::Owner)
        .await;
    let day = Some(day_in(&app, 30));

    // Three lasting Owners: one may be given an end, then a second; not the third.
    set_until(&app, ADMIN_EMAIL, "cy@example.com", day)
        .await
        .unwrap();
    set_until(&app, ADMIN_EMAIL, "bea@example.com", day)
        .await
        .unwrap();
    let err = set_until(&app, "bea@example.com", ADMIN_EMAIL, day)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LastLastingOwner { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "ada@example.com is the organization's last Owner whose access does not end. \
         Make someone else Owner, with no end date, first."
    );
    // Nor may the last lasting Owner stop being one while Owners with an end remain.
    let ada = app.membership_id(ADMIN_EMAIL).await;
    let bea = app.acting("bea@example.com").await;
    let demoted = members::change(&app.state, &bea, ada, &Change::Role(Role::Admin)).await;
    assert!(
        matches!(demoted, Err(Error::LastOwner { .. })),
        "{demoted:?}"
    );
    let ada_acting = app.acting(ADMIN_EMAIL).await;
    let left = members::leave(&app.state, &ada_acting).await;
    assert!(
        matches!(left, Err(Error::LastOwnerLeaving { .. })),
        "{left:?}"
    );
    // An Owner with an end may still be demoted: a lasting Owner remains.
    let bea_id = app.membership_id("bea@example.com").await;
    members::change(&app.state, &ada_acting, bea_id, &Change::Role(Role::Admin))
        .await
        .unwrap();
}

async fn two_owners_ending_each_other_at_once_leave_one_lasting(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Owner)
        .await;
    let day = Some(day_in(&app, 30));

    for _ in 0..3 {
        let (a, b) = tokio::join!(
            set_until(&app, ADMIN_EMAIL, "bea@example.com", day),
            set_until(&app, "bea@example.com", ADMIN_EMAIL, day),
        );
        let refused = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(Error::LastLastingOwner { .. })))
            .count();
        assert_eq!(refused, 1, "{a:?} {b:?}");
        assert_eq!(
            scalar_i64(
                &app.state.db,
                "SELECT COUNT(*) FROM memberships WHERE role = 'owner' AND access_until IS NULL"
            )
            .await,
            1
        );
        // Back to two lasting Owners for the next round.
        exec_sql(&app.state.db, "UPDATE memberships SET access_until = NULL").await;
    }
}

async fn bad_dates_and_forbidden_setters_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let owner_token = app.create_token(ORG_SLUG, "owner's script").await;
    app.add_member(ORG_SLUG, "grace@example.com", "Grace", Role::Member)
        .await;
    app.add_member(ORG_SLUG, "alan@example.com", "Alan", Role::Member)
        .await;
    app.add_member(ORG_SLUG, "adele@example.com", "Adele", Role::Admin)
        .await;
    let grace = app.membership_id("grace@example.com").await;
    let ada = app.membership_id(ADMIN_EMAIL).await;
    let path = org(&format!("/members/{grace}/access"));
    let yesterday = roster::clock::iso(app.clock().now() - DAY)[..10].to_string();

    for (typed, words) in [
        (yesterday.as_str(), "That date is in the past."),
        ("12/01/2027", "Enter the date as YYYY-MM-DD"),
        ("2027-01-12\u{1}", "Enter the date as YYYY-MM-DD"),
        (&*"9".repeat(10_000), "Enter the date as YYYY-MM-DD"),
    ] {
        let (status, body) = app
            .api(
                Method::POST,
                &owner_token,
                &path,
                Some(json!({ "access_until": typed })),
            )
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(body["message"].as_str().unwrap().contains(words), "{body}");
    }
    // The page's form says it in the field and keeps what was typed.
    let response = app
        .post_form(&path, &[("access_until", &yesterday), ("return_to", "")])
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert_eq!(
        texts(&page, "#access_until-error"),
        [format!(
            "That date is in the past. Choose today ({}) or a later day.",
            &roster::clock::iso(app.clock().now())[..10]
        )]
    );
    assert_eq!(attrs(&page, "#access-until", "value"), [yesterday.as_str()]);

    // A Member may not set an end; an Admin may not set an Owner's; nobody their own.
    let member_token = app
        .browser_for("alan@example.com")
        .await
        .create_token(ORG_SLUG, "alan's script")
        .await;
    let day = day_in(&app, 20).iso();
    let (status, _) = app
        .api(
            Method::POST,
            &member_token,
            &path,
            Some(json!({ "access_until": day })),
        )
        .await;
    assert_eq!(status, 403);
    let alan = app.browser_for("alan@example.com").await;
    let response = alan.post_form(&path, &[("access_until", &day)]).await;
    assert_eq!(response.status(), 403);
    let by_admin = set_until(
        &app,
        "adele@example.com",
        ADMIN_EMAIL,
        Some(day_in(&app, 20)),
    )
    .await;
    assert!(matches!(by_admin, Err(Error::Forbidden)), "{by_admin:?}");
    let own = org(&format!("/members/{ada}/access"));
    let (status, body) = app
        .api(
            Method::POST,
            &owner_token,
            &own,
            Some(json!({ "access_until": day })),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("own_membership"))
    );
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM memberships WHERE access_until IS NOT NULL"
        )
        .await,
        0,
        "nothing was written"
    );

    // The Owner's API sets it, shows it, and removes it.
    let (status, body) = app
        .api(
            Method::POST,
            &owner_token,
            &path,
            Some(json!({ "access_until": day })),
        )
        .await;
    assert_eq!(
        (status, body["access_until"].as_str()),
        (200, Some(day.as_str()))
    );
    let (_, members_page) = app.get_html(&org("/members")).await;
    let short = day_in(&app, 20).short();
    assert!(
        texts(&members_page, &format!("#member-{grace} .access-until"))
            .contains(&format!("Access until {short}")),
        "{short}"
    );
    assert_eq!(
        attrs(
            &members_page,
            &format!("#member-{grace} .access-until time"),
            "datetime"
        ),
        [day.as_str()]
    );
    let (status, body) = app
        .api(
            Method::POST,
            &owner_token,
            &path,
            Some(json!({ "access_until": null })),
        )
        .await;
    assert_eq!(
        (status, &body["access_until"]),
        (200, &serde_json::Value::Null)
    );
    let events = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'member.access_until_changed'",
    )
    .await;
    assert_eq!(events, 2);
}

async fn an_invitation_carries_its_end_to_the_membership(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let token = app.create_token(ORG_SLUG, "owner's script").await;
    let day = day_in(&app, 14).iso();

    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &org("/invitations"),
            Some(json!({ "invitations": [
                { "email": "temp@example.com", "access_until": day },
                { "email": "late@example.com", "access_until": "2001-01-01" },
            ] })),
        )
        .await;
    assert_eq!(status, 422, "a past date refuses the batch: {body}");
    assert!(
        body["fields"]["invitations[1].access_until"].is_string(),
        "{body}"
    );

    let (status, body) = app
        .api(
            Method::POST,
            &token,
            &org("/invitations"),
            Some(json!({ "invitations": [{ "email": "temp@example.com", "access_until": day }] })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let link = body["results"][0]["link"].as_str().unwrap().to_string();
    let path = link.split_once("/invitations/").unwrap().1;
    let invitee = app.new_browser();
    let accepted = invitee
        .post_form(
            &format!("/invitations/{path}/accept"),
            &[
                ("name", "Temp"),
                ("password", "a new long password"),
                ("password_confirm", "a new long password"),
            ],
        )
        .await;
    assert_eq!(accepted.status(), 303);

    let id = app.membership_id("temp@example.com").await;
    let (_, member) = app
        .api(Method::GET, &token, &org(&format!("/members/{id}")), None)
        .await;
    assert_eq!(member["access_until"].as_str(), Some(day.as_str()));

    // The invite form refuses a past date in its field, keeping the addresses.
    let response = app
        .post_form(
            &org("/invitations"),
            &[
                ("emails", "other@example.com"),
                ("role", "member"),
                ("access_until", "2001-01-01"),
            ],
        )
        .await;
    assert_eq!(response.status(), 422);
    let page = response.text().await.unwrap();
    assert!(texts(&page, "#access_until-error")[0].starts_with("That date is in the past."));
    assert_eq!(texts(&page, "#emails"), ["other@example.com"]);
}

async fn a_csv_column_gives_each_row_its_end(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let day = day_in(&app, 14);
    let csv = format!(
        "email,role,access_until\ntemp@example.com,viewer,{}\nlate@example.com,,2001-01-01\nlasting@example.com\n",
        day.iso()
    );
    let token = app.csrf_token().await;
    let form = reqwest::multipart::Form::new()
        .part(
            "file",
            reqwest::multipart::Part::bytes(csv.into_bytes())
                .file_name("people.csv")
                .mime_str("text/csv")
                .unwrap(),
        )
        .text("role", "member");
    let uploaded = app
        .client
        .post(app.url(&org(&format!("/invitations/csv?csrf_token={token}"))))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let (_, preview) = app.get_html(&location(&uploaded)).await;

    assert_eq!(
        texts(&preview, "tbody tr"),
        [
            format!(
                "2 temp@example.com Viewer will be invited, with access until {}",
                day.long()
            ),
            format!(
                "3 late@example.com Member access until: That date is in the past. Choose today ({}) or a later day.",
                &roster::clock::iso(app.clock().now())[..10]
            ),
            "4 lasting@example.com Member will be invited".to_string(),
        ]
    );
    let action = attrs(&preview, "form.actions", "action")[0].clone();
    app.post_form(&action, &[]).await;
    let stored = |email: &str| {
        format!("SELECT COALESCE(access_until, -1) FROM invitations WHERE email = '{email}'")
    };
    assert_eq!(
        scalar_i64(&app.state.db, &stored("temp@example.com")).await,
        day.stored()
    );
    assert_eq!(
        scalar_i64(&app.state.db, &stored("lasting@example.com")).await,
        -1
    );
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM invitations WHERE email = 'late@example.com'"
        )
        .await,
        0
    );
}

on_both_backends!(
    a_csv_column_gives_each_row_its_end,
    a_member_is_warned_once_then_deactivated_with_their_tokens,
    two_processes_warn_and_deactivate_once,
    the_last_owner_without_an_end_keeps_having_none,
    two_owners_ending_each_other_at_once_leave_one_lasting,
    bad_dates_and_forbidden_setters_are_refused,
    an_invitation_carries_its_end_to_the_membership,
);
