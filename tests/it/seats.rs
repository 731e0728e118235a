//! Seats: an Owner turns them on with a number; Owners, Admins and Billing managers
//! assign and revoke them, never past the number, and each member is told.

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;
use roster::db;
use roster::domain::Role;

fn seats_path() -> String {
    format!("/orgs/{ORG_SLUG}/members/seats")
}

/// Who holds a seat, among `emails`.
async fn seated(app: &TestApp, emails: &[&str]) -> Vec<String> {
    let mut holders = Vec::new();
    for email in emails {
        let n = scalar_i64(
            &app.state.db,
            &format!(
                "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
                 WHERE u.email_normalized = '{email}' AND m.has_seat"
            ),
        )
        .await;
        if n == 1 {
            holders.push(email.to_string());
        }
    }
    holders
}

const PEOPLE: [&str; 4] = [
    "ada@example.com",
    "bill@example.com",
    "cleo@example.com",
    "dan@example.com",
];

async fn a_billing_manager_assigns_seats_after_confirming_and_each_member_is_told(
    backend: Backend,
) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    assert_eq!(app.turn_seats_on("3").await.status(), 303);
    app.add_member(ORG_SLUG, "bill@example.com", "Bill", Role::Billing)
        .await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    app.add_member(ORG_SLUG, "dan@example.com", "Dan", Role::Viewer)
        .await;
    let bill = app.browser_for("bill@example.com").await;
    let (cleo, dan) = (
        app.membership_id("cleo@example.com").await.to_string(),
        app.membership_id("dan@example.com").await.to_string(),
    );
    let (_, page) = bill.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert_eq!(texts(&page, "#seats-used"), vec!["0 of 3 seats used"]);
    assert!(texts(&page, "thead th").contains(&"Seat".to_string()));

    let asked = bill
        .post_form(
            &seats_path(),
            &[("seat_action", "assign"), ("ids", &cleo), ("ids", &dan)],
        )
        .await;
    let asked_html = asked.text().await.unwrap();
    assert_eq!(texts(&asked_html, "h1"), vec!["Assign 2 seats?"]);
    assert_eq!(
        texts(&asked_html, "#seat-confirm-text"),
        ["Each of them gets a seat and is told by email."]
    );
    let one = bill
        .post_form(&seats_path(), &[("seat_action", "revoke"), ("ids", &dan)])
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(texts(&one, "h1"), vec!["Revoke 1 seat?"]);
    assert_eq!(
        texts(&one, "#seat-confirm-text"),
        [
            "dan@example.com loses their seat and is told by email; API tokens that need a seat stop working."
        ],
        "one person is named, not \"each of them\""
    );
    assert!(
        seated(&app, &PEOPLE).await.is_empty(),
        "nothing before confirming"
    );
    let done = bill
        .post_form(
            &seats_path(),
            &[
                ("seat_action", "assign"),
                ("ids", &cleo),
                ("ids", &dan),
                ("confirm", "yes"),
            ],
        )
        .await;

    assert_eq!(done.status(), 303);
    assert_eq!(
        seated(&app, &PEOPLE).await,
        ["cleo@example.com", "dan@example.com"]
    );
    let (_, page) = bill.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert_eq!(texts(&page, "#seats-used"), vec!["2 of 3 seats used"]);
    assert!(
        texts(&page, ".flash")
            .iter()
            .any(|t| t.contains("Assigned seats to 2 members."))
    );
    let mail = sink.wait_for_mail_to("cleo@example.com").await;
    assert_eq!(mail.subject, "You have a seat in Analytical Engines");
    sink.wait_for_mail_to("dan@example.com").await;
    let event = db::audit::recent(&app.state.db, 1).await.unwrap().remove(0);
    assert_eq!(event.action, "member.seat_assigned");
    assert_eq!(event.actor_email.as_deref(), Some("bill@example.com"));

    let revoked = bill
        .post_form(
            &seats_path(),
            &[("seat_action", "revoke"), ("ids", &dan), ("confirm", "yes")],
        )
        .await;
    assert_eq!(revoked.status(), 303);
    assert_eq!(seated(&app, &PEOPLE).await, ["cleo@example.com"]);
    let (_, page) = bill.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(
        texts(&page, ".flash")
            .iter()
            .any(|t| t.contains("Revoked the seat of 1 member.")),
        "{page}"
    );
    sink.wait_for_subject("Your seat in Analytical Engines was revoked")
        .await;
}

async fn assigning_past_the_number_of_seats_assigns_none_and_says_how_many_are_left(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.turn_seats_on("2").await;
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        app.add_member(ORG_SLUG, email, "Someone", Role::Member)
            .await;
    }
    let a = app.membership_id("a@example.com").await.to_string();
    let b = app.membership_id("b@example.com").await.to_string();
    let c = app.membership_id("c@example.com").await.to_string();
    app.post_form(
        &seats_path(),
        &[("seat_action", "assign"), ("ids", &a), ("confirm", "yes")],
    )
    .await;

    let refused = app
        .post_form(
            &seats_path(),
            &[
                ("seat_action", "assign"),
                ("ids", &b),
                ("ids", &c),
                ("confirm", "yes"),
            ],
        )
        .await;

    assert_eq!(refused.status(), 422, "the confirmation again, with why");
    let refused = refused.text().await.unwrap();
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM memberships WHERE has_seat"
        )
        .await,
        1,
        "all or nothing"
    );
    assert_eq!(texts(&refused, "#seats-left"), vec!["1 seat is left."]);
    assert_eq!(
        texts(&refused, "#seat-refusal"),
        vec![
            "Not enough seats: 2 needed, only 1 left. Select fewer members, or raise the seat limit in Settings."
        ]
    );
    let lowered = app.turn_seats_on("0").await;
    assert_eq!(lowered.status(), 422);
    app.post_form(
        &seats_path(),
        &[("seat_action", "assign"), ("ids", &b), ("confirm", "yes")],
    )
    .await;
    let below = app.turn_seats_on("1").await;
    assert_eq!(below.status(), 422);
    let below = below.text().await.unwrap();
    assert_eq!(
        texts(&below, "#seats-error"),
        vec!["2 seats are assigned now. Revoke some first, or choose at least 2."]
    );
}

async fn members_viewers_other_organizations_and_seats_off_are_refused(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.add_member(ORG_SLUG, "cleo@example.com", "Cleo", Role::Member)
        .await;
    app.add_member(ORG_SLUG, "vi@example.com", "Vi", Role::Viewer)
        .await;
    let cleo = app.membership_id("cleo@example.com").await.to_string();
    let assign = |id: &str| {
        vec![
            ("seat_action", "assign".to_string()),
            ("ids", id.to_string()),
            ("confirm", "yes".to_string()),
        ]
    };
    let form = assign(&cleo);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();

    let off = app.post_form(&seats_path(), &form).await;
    assert_eq!(off.status(), 303);
    let (_, page) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(
        texts(&page, ".flash")
            .iter()
            .any(|t| t.contains("Seats are off"))
    );
    assert!(
        texts(&page, "#seats-used").is_empty(),
        "no seat count while off"
    );

    app.turn_seats_on("5").await;
    let nobody = app
        .post_form(
            &seats_path(),
            &[("seat_action", "assign"), ("confirm", "yes")],
        )
        .await;
    assert_eq!(nobody.status(), 303);
    let (_, page) = app.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
    assert!(
        texts(&page, ".flash-error").contains(&"Select at least one member first.".to_string())
    );
    let unknown = app
        .post_form(&seats_path(), &[("seat_action", "give"), ("ids", &cleo)])
        .await;
    assert_eq!(unknown.status(), 404, "an unknown seat action");
    for email in ["cleo@example.com", "vi@example.com"] {
        let client = app.browser_for(email).await;
        assert_eq!(client.post_form(&seats_path(), &form).await.status(), 403);
        let (_, page) = client.get_html(&format!("/orgs/{ORG_SLUG}/members")).await;
        assert!(
            texts(&page, "#seat-form").is_empty(),
            "{email} sees no seat controls"
        );
    }
    let mut tx = app.state.db.begin().await.unwrap();
    let other = db::orgs::insert(&mut tx, "Difference Engines", app.state.clock.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    app.add_member(&other.slug, "far@example.com", "Far", Role::Member)
        .await;
    let far = app.membership_id("far@example.com").await.to_string();
    let far_form = assign(&far);
    let far_form: Vec<(&str, &str)> = far_form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(app.post_form(&seats_path(), &far_form).await.status(), 404);
    assert_eq!(
        scalar_i64(
            &app.state.db,
            "SELECT COUNT(*) FROM memberships WHERE has_seat"
        )
        .await,
        0
    );
}

async fn the_confirmation_says_how_many_seats_are_left_and_blocks_asking_for_more(
    backend: Backend,
) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    app.turn_seats_on("2").await;
    app.add_member(ORG_SLUG, "bill@example.com", "Bill", Role::Billing)
        .await;
    let mut ids = Vec::new();
    for email in ["a@example.com", "b@example.com", "c@example.com"] {
        app.add_member(ORG_SLUG, email, "Someone", Role::Member)
            .await;
        ids.push(app.membership_id(email).await.to_string());
    }
    let bill = app.browser_for("bill@example.com").await;
    let ask = |ids: &[String]| {
        let mut form = vec![("seat_action", "assign".to_string())];
        form.extend(ids.iter().map(|id| ("ids", id.clone())));
        form
    };
    async fn post(client: &TestApp, form: Vec<(&'static str, String)>) -> (u16, String) {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let response = client.post_form(&seats_path(), &form).await;
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    }

    let (fits_status, fits) = post(&app, ask(&ids[..2])).await;
    let (owner_status, too_many) = post(&app, ask(&ids)).await;
    let (_, billing) = post(&bill, ask(&ids)).await;

    assert_eq!(fits_status, 200);
    assert_eq!(texts(&fits, "#seats-left"), vec!["2 seats are left."]);
    assert!(texts(&fits, "#seat-refusal").is_empty());
    let confirm = scraper::Selector::parse("form.actions button[type=submit]").unwrap();
    let button = |html: &str| {
        let doc = scraper::Html::parse_document(html);
        let b = doc.select(&confirm).next().expect("the confirm button");
        (
            b.value().attr("disabled").is_some(),
            b.text().collect::<String>(),
        )
    };
    assert_eq!(button(&fits), (false, "Assign 2 seats".to_string()));
    assert_eq!(owner_status, 200);
    assert_eq!(
        button(&too_many),
        (true, "Assign 3 seats".to_string()),
        "blocked before submitting"
    );
    assert_eq!(
        texts(&too_many, "#seat-refusal"),
        vec![
            "Not enough seats: 3 needed, only 2 left. Select fewer members, or raise the seat limit in Settings."
        ]
    );
    assert!(
        too_many.contains(&format!(r#"<a href="/orgs/{ORG_SLUG}/settings#seats">"#)),
        "an Owner is taken to the setting"
    );
    assert_eq!(
        texts(&billing, "#seat-refusal"),
        vec![
            "Not enough seats: 3 needed, only 2 left. Select fewer members, or ask an Owner (Ada Lovelace) to raise the seat limit."
        ]
    );
    assert!(!billing.contains("/settings#seats"));
}

crate::on_both_backends!(
    a_billing_manager_assigns_seats_after_confirming_and_each_member_is_told,
    assigning_past_the_number_of_seats_assigns_none_and_says_how_many_are_left,
    members_viewers_other_organizations_and_seats_off_are_refused,
    the_confirmation_says_how_many_seats_are_left_and_blocks_asking_for_more,
);
