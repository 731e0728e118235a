use std::collections::{HashMap, HashSet};
use std::time::Duration;

use crate::helpers::*;
use roster::db::{self, Db};
use roster::email::SMTP_CONNECTIONS;

async fn the_welcome_email_arrives_over_smtp_after_set_up(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };

    app.set_up().await;

    let mail = sink.wait_for_mail_to(ADMIN_EMAIL).await;
    assert_eq!(mail.subject, "Welcome to Roster, Ada Lovelace");
    assert!(
        mail.text.contains(&format!("{}/sign-in", app.address)),
        "{}",
        mail.text
    );
    assert!(
        mail.html.contains("<strong>Analytical Engines</strong>"),
        "{}",
        mail.html
    );
}

async fn an_invitation_email_names_its_inviter_and_shows_its_link_plainly(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;

    let invited = app
        .post_form(
            &format!("/orgs/{ORG_SLUG}/invitations"),
            &[("emails", "dee@example.com"), ("role", "member")],
        )
        .await;

    assert_eq!(invited.status(), 303);
    let mail = sink.wait_for_mail_to("dee@example.com").await;
    assert!(
        mail.text
            .starts_with("Ada Lovelace <ada@example.com> invited you to join Analytical Engines"),
        "{}",
        mail.text
    );
    let doc = scraper::Html::parse_document(&mail.html);
    let select = |css: &str| {
        let selector = scraper::Selector::parse(css).unwrap();
        doc.select(&selector)
            .map(|e| e.text().collect::<String>())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        select("meta[name=viewport][content='width=device-width, initial-scale=1']").len(),
        1,
        "phones show the email at their width"
    );
    assert!(
        select("body > p")[0].starts_with("Ada Lovelace <ada@example.com> invited you"),
        "{}",
        mail.html
    );
    let links: Vec<String> = doc
        .select(&scraper::Selector::parse("a[href*='/invitations/']").unwrap())
        .map(|a| a.value().attr("href").unwrap().to_string())
        .collect();
    assert_eq!(
        links.len(),
        2,
        "the button, and the link written out: {links:?}"
    );
    assert_eq!(links[0], links[1]);
    assert!(
        select("a[href*='/invitations/']").contains(&links[0]),
        "the link is shown as text to copy"
    );
}

async fn without_smtp_nothing_is_queued(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };

    app.set_up().await;

    assert_eq!(
        scalar_i64(&app.state.db, "SELECT COUNT(*) FROM outbox").await,
        0
    );
}

async fn a_stopped_smtp_server_delays_mail_but_loses_none(backend: Backend) {
    let mut sink = SmtpSink::start().await;
    let Some(app) = TestApp::spawn_with(
        backend,
        &["--smtp-url", &sink.url(), "--email-retry-secs", "1"],
    )
    .await
    else {
        return;
    };
    sink.stop().await;

    app.set_up().await;
    let failed = wait_until(|| async {
        first_outbox_status(&app.state.db)
            .await
            .is_some_and(|s| s.last_error.is_some())
    })
    .await;
    assert!(failed, "the failed attempt is recorded");
    assert!(sink.received().is_empty());
    sink.restart().await;

    let mail = sink.wait_for_mail_to(ADMIN_EMAIL).await;
    assert_eq!(mail.subject, "Welcome to Roster, Ada Lovelace");
    // The sink has the message before the worker records the delivery.
    let recorded = wait_until(|| async {
        first_outbox_status(&app.state.db)
            .await
            .is_some_and(|s| s.sent_at.is_some())
    })
    .await;
    let status = first_outbox_status(&app.state.db).await.unwrap();
    assert!(recorded && status.attempts >= 2, "{status:?}");
    assert_eq!(sink.received().len(), 1, "sent once");
}

async fn two_workers_on_one_outbox_send_each_message_once(backend: Backend) {
    let sink = SmtpSink::start().await;
    // No SMTP for the server itself: only the two workers below deliver.
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let workers = vec![
        smtp_worker(&app, &sink.url()).await,
        smtp_worker(&app, &sink.url()).await,
    ];
    queue_messages(&app, 60).await;

    let (stop, stopped) = tokio::sync::watch::channel(false);
    let running: Vec<_> = workers
        .into_iter()
        .map(|w| tokio::spawn(w.run(stopped.clone())))
        .collect();
    let received = sink.wait_for(60).await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    stop.send(true).unwrap();
    for r in running {
        r.await.unwrap();
    }

    let mut per_subject: HashMap<String, usize> = HashMap::new();
    for mail in sink.received() {
        *per_subject.entry(mail.subject).or_default() += 1;
    }
    assert_eq!(received.len(), 60);
    assert_eq!(per_subject.len(), 60);
    assert!(per_subject.values().all(|&n| n == 1), "{per_subject:?}");
}

async fn send_test_email_delivers_from_the_command_line(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(db) = TestDb::create(backend).await else {
        return;
    };

    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args([
            "send-test-email",
            "ops@example.com",
            "--database-url",
            &db.url,
            "--smtp-url",
            &sink.url(),
        ])
        .output()
        .await
        .unwrap();

    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mail = sink.wait_for_mail_to("ops@example.com").await;
    assert_eq!(mail.subject, "Roster test email");
}

async fn a_message_is_recorded_sent_when_its_own_delivery_ends(backend: Backend) {
    // One message of the batch stays in flight while the others are acknowledged.
    let sink = SmtpSink::start_with_delay(|mail| {
        if mail.subject == "message 3" {
            Duration::from_secs(3)
        } else {
            Duration::ZERO
        }
    })
    .await;
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let worker = smtp_worker(&app, &sink.url()).await;
    let ids = queue_messages(&app, 8).await;

    let delivering = tokio::spawn(async move { worker.deliver_due().await });

    let others_recorded = wait_until(|| async { count_sent(&app.state.db).await == 7 }).await;
    let slow = db::outbox::status(&app.state.db, ids[3])
        .await
        .unwrap()
        .unwrap();
    assert!(
        others_recorded && slow.sent_at.is_none(),
        "the others are recorded sent while message 3 is in flight"
    );
    assert_eq!(delivering.await.unwrap().unwrap(), 8);
    assert_eq!(count_sent(&app.state.db).await, 8);
}

async fn a_message_keeps_its_message_id_when_sent_again_by_another_instance(backend: Backend) {
    let sink = SmtpSink::start().await;
    let Some(mut app) = TestApp::spawn_with(backend, &["--smtp-url", &sink.url()]).await else {
        return;
    };
    app.set_up().await;
    let first = sink.wait_for_mail_to(ADMIN_EMAIL).await;
    let recorded = wait_until(|| async { count_sent(&app.state.db).await == 1 }).await;
    assert!(recorded, "the first delivery is recorded");
    let other = smtp_worker(&app, &sink.url()).await;
    app.stop().await;
    // As if the first instance had died before recording the delivery.
    exec_sql(&other.db, "UPDATE outbox SET sent_at = NULL").await;

    assert_eq!(other.deliver_due().await.unwrap(), 1);

    let received = sink.wait_for(2).await;
    assert!(
        first.message_id.starts_with("outbox-1.") && first.message_id.ends_with("@localhost"),
        "from the outbox row and the From address: {}",
        first.message_id
    );
    assert_eq!(
        other.mailer.message_id(1),
        format!("<{}>", first.message_id)
    );
    assert_eq!(received[1].to, [ADMIN_EMAIL]);
    assert_eq!(received[1].message_id, first.message_id);
}

async fn a_worker_killed_mid_batch_sends_again_only_what_was_in_flight(backend: Backend) {
    // Each delivery stays in flight a while, kept by the sink but not yet acknowledged.
    let sink = SmtpSink::start_with_delay(|_| Duration::from_millis(300)).await;
    // No SMTP for this instance: the process below delivers.
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    const MESSAGES: usize = 160;
    queue_messages(&app, MESSAGES).await;
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_roster"))
        .args([
            "serve",
            "--database-url",
            app.db_url(),
            "--bind",
            "127.0.0.1:0",
        ])
        .args(["--smtp-url", &sink.url(), "--log", "warn"])
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Two batches have reached the sink: the second is then in flight.
    let midway = wait_until_fast(|| sink.received().len() >= 2 * SMTP_CONNECTIONS as usize).await;
    assert!(
        midway,
        "the process delivers: {} received",
        sink.received().len()
    );

    // SIGKILL, as `kill -9`: nothing of the process runs after it.
    child.kill().await.unwrap();

    let unsent = MESSAGES as i64 - count_sent(&app.state.db).await;
    assert!(unsent > 0, "killed before the end");
    // The dead process's claims lapse.
    exec_sql(&app.state.db, "UPDATE outbox SET claimed_until = NULL").await;
    let worker = smtp_worker(&app, &sink.url()).await;
    while worker.deliver_due().await.unwrap() > 0 {}
    assert_eq!(count_sent(&app.state.db).await, MESSAGES as i64);
    let mut per_recipient: HashMap<String, Vec<String>> = HashMap::new();
    for mail in sink.received() {
        per_recipient
            .entry(mail.to.join(","))
            .or_default()
            .push(mail.message_id);
    }
    assert_eq!(per_recipient.len(), MESSAGES, "every message delivered");
    let duplicates: usize = per_recipient.values().map(|ids| ids.len() - 1).sum();
    assert!(
        (1..=SMTP_CONNECTIONS as usize).contains(&duplicates),
        "{duplicates} sent again, with {SMTP_CONNECTIONS} in flight at most"
    );
    for ids in per_recipient.values() {
        assert!(
            ids.iter().all(|id| *id == ids[0]),
            "copies share a Message-ID: {ids:?}"
        );
    }
    let distinct: HashSet<&String> = per_recipient.values().map(|ids| &ids[0]).collect();
    assert_eq!(
        distinct.len(),
        MESSAGES,
        "each message has its own Message-ID"
    );
}

async fn count_sent(db: &Db) -> i64 {
    scalar_i64(db, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL").await
}

async fn first_outbox_status(db: &Db) -> Option<db::outbox::Status> {
    db::outbox::status(db, 1).await.unwrap()
}

/// Polls `check` for up to 15 s.
async fn wait_until<F, Fut>(check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..300 {
        if check().await {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// Polls `check` every 5 ms for up to 15 s, to catch a moment that lasts little.
async fn wait_until_fast(check: impl Fn() -> bool) -> bool {
    for _ in 0..3000 {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    false
}

crate::on_both_backends!(
    an_invitation_email_names_its_inviter_and_shows_its_link_plainly,
    the_welcome_email_arrives_over_smtp_after_set_up,
    without_smtp_nothing_is_queued,
    a_stopped_smtp_server_delays_mail_but_loses_none,
    two_workers_on_one_outbox_send_each_message_once,
    send_test_email_delivers_from_the_command_line,
    a_message_is_recorded_sent_when_its_own_delivery_ends,
    a_message_keeps_its_message_id_when_sent_again_by_another_instance,
    a_worker_killed_mid_batch_sends_again_only_what_was_in_flight,
);
