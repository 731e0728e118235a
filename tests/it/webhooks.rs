//! Webhooks end to end: a real receiver (tests/tools/webhook_receiver.js, verifying
//! with the `standardwebhooks` npm package) on loopback, Roster's worker delivering to
//! it, and the Owner's pages.

use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::helpers::*;
use crate::on_both_backends;
use roster::domain::Role;
use roster::invitations::{self, Request};
use roster::members::{self, Change};

/// Retries come after a second, then two…, so that a test sees several in seconds.
const FAST_RETRY: &[&str] = &["--webhook-retry-secs", "1"];

/// The Node receiver, stopped when dropped.
struct Receiver {
    _child: Child,
    port: u16,
    client: reqwest::Client,
}

/// One request the receiver saw.
#[derive(Debug, serde::Deserialize)]
struct Seen {
    id: Option<String>,
    #[serde(rename = "type")]
    event_type: Option<String>,
    status: u16,
    verified: Vec<bool>,
    signatures: usize,
    body: String,
}

impl Receiver {
    async fn start() -> Receiver {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/tools/webhook_receiver.js"
        );
        let mut child = Command::new("node")
            .arg(script)
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools"))
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (tests/tools needs `npm ci`)");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the receiver starts")
            .unwrap()
            .expect("the receiver says where it listens");
        let port = line.strip_prefix("listening ").unwrap().parse().unwrap();
        Receiver {
            _child: child,
            port,
            client: reqwest::Client::new(),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/hook", self.port)
    }

    async fn configure(&self, config: Value) {
        let response = self
            .client
            .post(format!("http://127.0.0.1:{}/_control", self.port))
            .json(&config)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 204);
    }

    async fn seen(&self) -> Vec<Seen> {
        self.client
            .get(format!("http://127.0.0.1:{}/_control", self.port))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// What it saw once `done` holds of it, waiting up to 30 seconds.
    async fn wait_for(&self, done: impl Fn(&[Seen]) -> bool) -> Vec<Seen> {
        for _ in 0..300 {
            let seen = self.seen().await;
            if done(&seen) {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the receiver saw only {:#?}", self.seen().await);
    }
}

/// The requests answered with success.
fn delivered(seen: &[Seen]) -> Vec<&Seen> {
    seen.iter().filter(|s| s.status == 204).collect()
}

fn webhooks_path() -> String {
    format!("/orgs/{ORG_SLUG}/settings/webhooks")
}

/// The secret a page shows once.
fn shown_secret(html: &str) -> String {
    attrs(html, "#new-secret", "value")
        .pop()
        .expect("the page shows the new secret")
}

/// Adds an endpoint for every event as the signed-in Owner; returns its id and secret.
async fn add_endpoint(app: &TestApp, url: &str) -> (i64, String) {
    let response = app
        .post_form(
            &webhooks_path(),
            &[("url", url), ("description", "tests"), ("all_events", "on")],
        )
        .await;
    assert_eq!(response.status(), 200, "the endpoint is added");
    assert_eq!(
        response.headers()["cache-control"],
        "no-store",
        "no cache keeps the secret"
    );
    let html = response.text().await.unwrap();
    let secret = shown_secret(&html);
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = scalar_i64(&app.state.db, "SELECT MAX(id) FROM webhook_endpoints").await;
    (id, secret)
}

/// Set up, signed in as the Owner, with a receiver and an endpoint for every event.
async fn with_endpoint(backend: Backend) -> Option<(TestApp, Receiver, i64, String)> {
    let app = TestApp::spawn_with(backend, FAST_RETRY).await?;
    app.set_up().await;
    let receiver = Receiver::start().await;
    let (id, secret) = add_endpoint(&app, &receiver.url()).await;
    receiver.configure(json!({ "secrets": [secret] })).await;
    Some((app, receiver, id, secret))
}

async fn invite(app: &TestApp, email: &str) {
    let owner = app.acting(ADMIN_EMAIL).await;
    invitations::invite(
        &app.state,
        &owner,
        vec![Request::new(email, Role::Member)],
        false,
    )
    .await
    .unwrap();
}

async fn events_reach_the_receiver_signed_once_each_across_two_processes(backend: Backend) {
    let Some((app, receiver, _, _)) = with_endpoint(backend).await else {
        return;
    };
    let second = app.another_instance_with(FAST_RETRY).await;
    let bea = app
        .add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let bea = scalar_i64(
        &app.state.db,
        &format!("SELECT id FROM memberships WHERE user_id = {bea}"),
    )
    .await;
    let owner = app.acting(ADMIN_EMAIL).await;

    // Changes through the pages and through the services, on either process.
    for n in 0..6 {
        invite(&app, &format!("guest{n}@example.com")).await;
    }
    let response = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/members/{bea}/role"),
            &[("role", "admin")],
        )
        .await;
    assert_eq!(response.status(), 303, "the role changes");
    members::change(&second.state, &owner, bea, &Change::Deactivate)
        .await
        .unwrap();
    members::change(&second.state, &owner, bea, &Change::Activate)
        .await
        .unwrap();

    let expected = 9;
    receiver
        .wait_for(|seen| delivered(seen).len() >= expected)
        .await;
    // Time for a second delivery of anything, were there one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = receiver.seen().await;
    let ok = delivered(&seen);
    assert_eq!(ok.len(), expected, "each event once: {seen:#?}");
    let mut ids: Vec<&str> = ok.iter().map(|s| s.id.as_deref().unwrap()).collect();
    let in_order = ids.clone();
    ids.sort_by_key(|id| id[4..].parse::<i64>().unwrap());
    assert_eq!(ids, in_order, "in the order they happened");
    ids.dedup();
    assert_eq!(ids.len(), expected, "no webhook-id twice");
    assert!(
        seen.iter().all(|s| s.verified == [true]),
        "every signature verifies"
    );
    let types: Vec<&str> = ok
        .iter()
        .map(|s| s.event_type.as_deref().unwrap())
        .collect();
    assert_eq!(
        types[6..],
        [
            "member.role_changed",
            "member.deactivated",
            "member.activated"
        ]
    );
    let role_changed: Value = serde_json::from_str(&ok[6].body).unwrap();
    assert_eq!(role_changed["data"]["member"]["email"], "bea@example.com");
    assert_eq!(role_changed["data"]["member"]["role"], "admin");
    assert_eq!(role_changed["data"]["previous_role"], "member");
    assert_eq!(role_changed["data"]["organization"]["slug"], ORG_SLUG);
    assert_eq!(role_changed["data"]["actor"]["email"], ADMIN_EMAIL);
    let invited: Value = serde_json::from_str(&ok[0].body).unwrap();
    assert_eq!(invited["type"], "invitation.created");
    assert_eq!(invited["data"]["invitation"]["email"], "guest0@example.com");
    assert!(invited["timestamp"].as_str().unwrap().ends_with('Z'));
}

async fn a_failing_endpoint_is_retried_until_it_answers(backend: Backend) {
    let Some((app, receiver, id, _)) = with_endpoint(backend).await else {
        return;
    };
    receiver.configure(json!({ "fail_first": 2 })).await;

    invite(&app, "grace@example.com").await;
    invite(&app, "hopper@example.com").await;

    let seen = receiver.wait_for(|seen| delivered(seen).len() == 2).await;
    let statuses: Vec<u16> = seen.iter().map(|s| s.status).collect();
    assert_eq!(statuses, [500, 500, 204, 204], "{seen:#?}");
    let first = seen[0].id.clone();
    assert!(
        seen[..3].iter().all(|s| s.id == first),
        "the second event waits while the first is retried: {seen:#?}"
    );
    let (status, html) = app.get_html(&format!("{}/{id}", webhooks_path())).await;
    assert_eq!(status, 200);
    let attempts = texts(&html, "td[data-label=Attempts]");
    assert_eq!(attempts, ["1", "3"], "newest first");
    assert!(texts(&html, "td[data-label=Outcome]")[1].starts_with("Delivered"));
    let failing_since = scalar_i64(
        &app.state.db,
        &format!(
            "SELECT COUNT(*) FROM webhook_endpoints WHERE id = {id} AND failing_since IS NULL"
        ),
    )
    .await;
    assert_eq!(failing_since, 1, "a success ends the run of failures");
}

async fn a_failure_shows_the_answer_made_safe(backend: Backend) {
    let Some((app, receiver, id, _)) = with_endpoint(backend).await else {
        return;
    };
    receiver.configure(json!({ "fail_first": 100 })).await;

    invite(&app, "grace@example.com").await;
    receiver.wait_for(|seen| !seen.is_empty()).await;
    let html = loop {
        let (_, html) = app.get_html(&format!("{}/{id}", webhooks_path())).await;
        if !texts(&html, "td[data-label=Status]").contains(&"—".to_string()) {
            break html;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    assert_eq!(texts(&html, "td[data-label=Status]"), ["500"]);
    let answer = texts(&html, "td[data-label=Answer]").pop().unwrap();
    assert_eq!(
        answer, "down [31mfor now",
        "control characters shown as spaces"
    );
    assert!(!html.contains('\u{1b}'));
    assert!(texts(&html, "td[data-label=Outcome]")[0].starts_with("Failed; next try"));
}

async fn nothing_is_sent_after_the_endpoint_is_deleted(backend: Backend) {
    let Some((app, receiver, id, _)) = with_endpoint(backend).await else {
        return;
    };
    receiver.configure(json!({ "fail_first": 1000 })).await;
    invite(&app, "grace@example.com").await;
    receiver.wait_for(|seen| !seen.is_empty()).await;

    let (status, html) = app
        .get_html(&format!("{}/{id}/delete", webhooks_path()))
        .await;
    assert_eq!(status, 200, "a confirmation first");
    assert!(html.contains("Delete the endpoint"));
    let response = app
        .post_form(&format!("{}/{id}/delete", webhooks_path()), &[])
        .await;
    assert_eq!(response.status(), 303);
    receiver.configure(json!({ "fail_first": 0 })).await;
    let before = receiver.seen().await.len();
    invite(&app, "hopper@example.com").await;
    tokio::time::sleep(Duration::from_secs(4)).await;

    assert_eq!(
        receiver.seen().await.len(),
        before,
        "nothing after the delete"
    );
    let waiting = scalar_i64(&app.state.db, "SELECT COUNT(*) FROM webhook_deliveries").await;
    assert_eq!(waiting, 0, "its waiting deliveries went with it");
    let audited = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'webhook.deleted'",
    )
    .await;
    assert_eq!(audited, 1);
    let (status, _) = app.get_html(&format!("{}/{id}", webhooks_path())).await;
    assert_eq!(status, 404);
}

async fn team_changes_reach_the_receiver(backend: Backend) {
    let Some((app, receiver, _, _)) = with_endpoint(backend).await else {
        return;
    };
    app.add_member(ORG_SLUG, "bea@example.com", "Bea", Role::Member)
        .await;
    let membership = app.membership_id("bea@example.com").await;
    let created = app
        .post_form(&format!("/orgs/{ORG_SLUG}/teams"), &[("name", "Platform")])
        .await;
    assert_eq!(created.status(), 303);
    let team = location(&created).rsplit('/').next().unwrap().to_string();
    let added = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/teams/{team}/members"),
            &[("member_id", &membership.to_string())],
        )
        .await;
    assert_eq!(added.status(), 303);

    let seen = receiver.wait_for(|seen| delivered(seen).len() >= 2).await;

    let types: Vec<&str> = seen
        .iter()
        .filter_map(|s| s.event_type.as_deref())
        .collect();
    assert_eq!(types, ["team.created", "team.member_added"]);
    assert!(seen.iter().all(|s| s.verified.iter().any(|v| *v)));
    let body: Value = serde_json::from_str(&seen[1].body).unwrap();
    assert_eq!(body["data"]["team"]["name"], "Platform");
    assert_eq!(body["data"]["member"]["email"], "bea@example.com");
}

async fn both_secrets_sign_during_a_rotation(backend: Backend) {
    let Some((app, receiver, id, old)) = with_endpoint(backend).await else {
        return;
    };

    let response = app
        .post_form(&format!("{}/{id}/rotate", webhooks_path()), &[])
        .await;
    assert_eq!(response.status(), 200);
    let new = shown_secret(&response.text().await.unwrap());
    assert_ne!(new, old);
    receiver.configure(json!({ "secrets": [new, old] })).await;
    let response = app
        .post_form(&format!("{}/{id}/test", webhooks_path()), &[])
        .await;
    assert_eq!(response.status(), 303);

    let seen = receiver.wait_for(|seen| !seen.is_empty()).await;
    assert_eq!(seen[0].event_type.as_deref(), Some("webhook.test"));
    assert_eq!(seen[0].signatures, 2);
    assert_eq!(
        seen[0].verified,
        [true, true],
        "each secret verifies it alone"
    );

    // After the overlap only the new secret signs.
    receiver.configure(json!({ "secrets": [new, old] })).await;
    exec_sql(
        &app.state.db,
        &format!("UPDATE webhook_endpoints SET previous_secret_until = 1 WHERE id = {id}"),
    )
    .await;
    app.post_form(&format!("{}/{id}/test", webhooks_path()), &[])
        .await;
    let seen = receiver.wait_for(|seen| seen.len() == 2).await;
    assert_eq!(seen[1].signatures, 1);
    assert_eq!(seen[1].verified, [true, false]);
    let rotated = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM audit_events WHERE action = 'webhook.secret_rotated'",
    )
    .await;
    assert_eq!(rotated, 1);
}

async fn an_expired_invitation_and_a_disabled_endpoint(backend: Backend) {
    let Some((app, receiver, id, _)) = with_endpoint(backend).await else {
        return;
    };
    let response = app
        .post_form(&format!("{}/{id}/disable", webhooks_path()), &[])
        .await;
    assert_eq!(response.status(), 303);
    invite(&app, "grace@example.com").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        receiver.seen().await.is_empty(),
        "a disabled endpoint gets nothing"
    );

    let response = app
        .post_form(&format!("{}/{id}/enable", webhooks_path()), &[])
        .await;
    assert_eq!(response.status(), 303);
    // The invitation's date passes (arranged in storage: the receiver checks the
    // signature's time against the real clock, which a moved clock would fail).
    exec_sql(
        &app.state.db,
        "UPDATE invitations SET expires_at = 1000 WHERE email_normalized = 'grace@example.com'",
    )
    .await;

    let seen = receiver.wait_for(|seen| !delivered(seen).is_empty()).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let seen_after = receiver.seen().await;
    assert_eq!(seen_after.len(), seen.len(), "announced once");
    let expired: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(expired["type"], "invitation.expired");
    assert_eq!(expired["data"]["invitation"]["email"], "grace@example.com");
    let actions = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM audit_events WHERE action IN ('webhook.disabled', 'webhook.enabled', 'webhook.added')",
    )
    .await;
    assert_eq!(actions, 3);
}

async fn an_endpoint_failing_for_three_days_is_disabled(backend: Backend) {
    let sink = SmtpSink::start().await;
    let smtp = sink.url();
    let Some(app) =
        TestApp::spawn_with(backend, &["--webhook-retry-secs", "1", "--smtp-url", &smtp]).await
    else {
        return;
    };
    app.set_up().await;
    let receiver = Receiver::start().await;
    let (id, secret) = add_endpoint(&app, &receiver.url()).await;
    receiver.configure(json!({ "secrets": [secret] })).await;
    receiver.configure(json!({ "fail_first": 1000 })).await;
    let long_ago = app.clock().now() - 3 * 86_400 - 60;
    exec_sql(
        &app.state.db,
        &format!("UPDATE webhook_endpoints SET failing_since = {long_ago} WHERE id = {id}"),
    )
    .await;

    invite(&app, "grace@example.com").await;
    receiver.wait_for(|seen| !seen.is_empty()).await;
    for _ in 0..100 {
        let disabled = scalar_i64(
            &app.state.db,
            &format!("SELECT COUNT(*) FROM webhook_endpoints WHERE id = {id} AND disabled_reason = 'failing'"),
        )
        .await;
        if disabled == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (_, html) = app.get_html(&format!("{}/{id}", webhooks_path())).await;
    assert!(html.contains("Disabled by Roster"), "{html}");
    let (_, audit) = app.get_html(&format!("/orgs/{ORG_SLUG}/audit")).await;
    assert!(
        audit.contains("Roster disabled the webhook endpoint"),
        "audited as done by Roster"
    );
    let told = sink
        .wait_for_subject(&format!("A webhook endpoint of {ORG_NAME} was disabled"))
        .await;
    assert!(
        told.to.iter().any(|to| to == ADMIN_EMAIL),
        "the Owner is emailed"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.seen().await.len(), 1, "nothing more is tried");
}

async fn a_private_address_is_refused_in_its_field_unless_allowed(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, &["--allow-private-addresses=false"]).await else {
        return;
    };
    app.set_up().await;

    for (url, message) in [
        ("http://127.0.0.1/hook", "must start with https://"),
        ("https://127.0.0.1/hook", "127.0.0.1 is a private, loopback"),
        (
            "https://[::ffff:10.0.0.1]/hook",
            "private, loopback or reserved",
        ),
        ("ftp://example.com/hook", "is not a web address"),
    ] {
        let response = app
            .post_form(&webhooks_path(), &[("url", url), ("all_events", "on")])
            .await;
        assert_eq!(response.status(), 422, "{url}");
        let html = response.text().await.unwrap();
        let error = texts(&html, "#url-error").pop().unwrap_or_default();
        assert!(error.contains(message), "{url}: {error}");
        assert_eq!(
            attrs(&html, "#url", "value"),
            [url],
            "what was typed is kept"
        );
    }
    let endpoints = scalar_i64(&app.state.db, "SELECT COUNT(*) FROM webhook_endpoints").await;
    assert_eq!(endpoints, 0);
}

async fn control_characters_and_huge_values_are_refused_in_words(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let huge = format!("https://example.com/{}", "a".repeat(5000));

    for (fields, field, message) in [
        (
            vec![
                ("url", "https://example.com/\u{1}hook"),
                ("all_events", "on"),
            ],
            "#url-error",
            "control characters",
        ),
        (
            vec![("url", huge.as_str()), ("all_events", "on")],
            "#url-error",
            "at most 2000 characters",
        ),
        (
            vec![
                ("url", "https://example.com/hook"),
                ("description", "two\nlines"),
                ("all_events", "on"),
            ],
            "#description-error",
            "control characters",
        ),
        (
            vec![("url", "https://example.com/hook")],
            "#events-error",
            "Choose the events",
        ),
        (
            vec![
                ("url", "https://example.com/hook"),
                ("events", "member.hacked"),
            ],
            "#events-error",
            "not an event Roster sends",
        ),
    ] {
        let response = app.post_form(&webhooks_path(), &fields).await;
        assert_eq!(response.status(), 422, "{fields:?}");
        let html = response.text().await.unwrap();
        let error = texts(&html, field).pop().unwrap_or_default();
        assert!(error.contains(message), "{field}: {error}");
    }
    let endpoints = scalar_i64(&app.state.db, "SELECT COUNT(*) FROM webhook_endpoints").await;
    assert_eq!(endpoints, 0, "nothing half-written");
}

async fn only_owners_see_webhooks_and_only_their_organizations(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (id, _) = add_endpoint(&app, "https://example.com/hook").await;
    for role in [Role::Admin, Role::Member] {
        let email = format!("{}@example.com", role.as_str());
        app.add_member(ORG_SLUG, &email, "Someone", role).await;
        let browser = app.browser_for(&email).await;
        for path in [
            webhooks_path(),
            format!("{}/{id}", webhooks_path()),
            format!("{}/{id}/delete", webhooks_path()),
        ] {
            let (status, html) = browser.get_html(&path).await;
            assert_eq!(status, 403, "{role:?} GET {path}");
            assert!(
                !html.contains("example.com/hook"),
                "{role:?} sees no endpoint"
            );
        }
        for (path, fields) in [
            (
                webhooks_path(),
                vec![("url", "https://evil.example/"), ("all_events", "on")],
            ),
            (
                format!("{}/{id}", webhooks_path()),
                vec![("url", "https://evil.example/"), ("all_events", "on")],
            ),
            (format!("{}/{id}/rotate", webhooks_path()), vec![]),
            (format!("{}/{id}/disable", webhooks_path()), vec![]),
            (format!("{}/{id}/test", webhooks_path()), vec![]),
            (format!("{}/{id}/delete", webhooks_path()), vec![]),
        ] {
            let response = browser.post_form(&path, &fields).await;
            assert_eq!(response.status(), 403, "{role:?} POST {path}");
        }
    }

    // The Owner of another organization, asking for this one's endpoint there.
    let owner_id = scalar_i64(
        &app.state.db,
        &format!("SELECT id FROM users WHERE email_normalized = '{ADMIN_EMAIL}'"),
    )
    .await;
    let now = app.clock().now();
    let mut tx = app.state.db.begin().await.unwrap();
    let other = roster::db::orgs::insert(&mut tx, "Difference Engines", now)
        .await
        .unwrap();
    roster::db::memberships::insert(&mut tx, other.id, owner_id, Role::Owner, None, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let elsewhere = format!("/orgs/{}/settings/webhooks/{id}", other.slug);
    for path in [elsewhere.clone(), format!("{elsewhere}/delete")] {
        let (status, _) = app.get_html(&path).await;
        assert_eq!(status, 404, "GET {path}");
    }
    for what in ["rotate", "disable", "test", "delete"] {
        let response = app.post_form(&format!("{elsewhere}/{what}"), &[]).await;
        assert_eq!(response.status(), 404, "POST {what}");
    }
    let untouched = scalar_i64(
        &app.state.db,
        "SELECT COUNT(*) FROM webhook_endpoints WHERE disabled_at IS NULL",
    )
    .await;
    assert_eq!(untouched, 1);
    let tests = scalar_i64(&app.state.db, "SELECT COUNT(*) FROM webhook_events").await;
    assert_eq!(tests, 0, "no test event was queued by anyone refused");
}

async fn an_endpoint_can_be_changed_and_the_change_is_audited(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let (id, _) = add_endpoint(&app, "https://example.com/hook").await;

    let response = app
        .post_form(
            &format!("{}/{id}", webhooks_path()),
            &[
                ("url", "https://example.com/other"),
                ("description", "members only"),
                ("events", "member.added"),
                ("events", "member.removed"),
            ],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = app.get_html(&format!("{}/{id}", webhooks_path())).await;
    assert_eq!(attrs(&html, "#url", "value"), ["https://example.com/other"]);
    assert_eq!(
        attrs(&html, "input[name=events][checked]", "value"),
        ["member.added", "member.removed"]
    );
    let (_, audit) = app.get_html(&format!("/orgs/{ORG_SLUG}/audit")).await;
    assert!(audit.contains("changed a webhook endpoint"));
    assert!(
        audit.contains("Events: All events → member.added, member.removed"),
        "{audit}"
    );
}

async fn the_openapi_document_describes_every_event(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    let doc: Value = app.get("/api/v1/openapi.json").await.json().await.unwrap();

    let webhooks = doc["webhooks"].as_object().expect("a webhooks section");
    for (event_type, _) in roster::domain::webhook::EVENT_TYPES {
        let body = &webhooks[*event_type]["post"]["requestBody"]["content"]["application/json"];
        assert_eq!(body["example"]["type"], *event_type);
        assert_eq!(
            body["schema"]["$ref"],
            "#/components/schemas/WebhookPayload"
        );
    }
    assert!(doc["components"]["schemas"]["WebhookPayload"].is_object());
}

on_both_backends!(
    team_changes_reach_the_receiver,
    the_openapi_document_describes_every_event,
    events_reach_the_receiver_signed_once_each_across_two_processes,
    a_failing_endpoint_is_retried_until_it_answers,
    a_failure_shows_the_answer_made_safe,
    nothing_is_sent_after_the_endpoint_is_deleted,
    both_secrets_sign_during_a_rotation,
    an_expired_invitation_and_a_disabled_endpoint,
    an_endpoint_failing_for_three_days_is_disabled,
    a_private_address_is_refused_in_its_field_unless_allowed,
    control_characters_and_huge_values_are_refused_in_words,
    only_owners_see_webhooks_and_only_their_organizations,
    an_endpoint_can_be_changed_and_the_change_is_audited,
);
