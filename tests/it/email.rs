use std::collections::HashMap;

use crate::helpers::*;
use roster::db::{self, Db};
use roster::email::worker::Worker;

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
    let config = config(app.db_url(), &["--smtp-url", &sink.url()]);
    let mut workers = Vec::new();
    for _ in 0..2 {
        let db = Db::connect(app.db_url()).await.unwrap();
        let state = roster::state::AppState::new(db, config.clone(), app.state.clock.clone())
            .await
            .unwrap();
        workers.push(Worker::for_state(&state));
    }
    let queueing = workers[0].clone();
    let mut tx = queueing.db.begin().await.unwrap();
    for n in 0..60 {
        let message = db::outbox::NewMessage {
            recipient: format!("person{n}@example.com"),
            subject: format!("message {n}"),
            text_body: "text".into(),
            html_body: "<p>html</p>".into(),
        };
        db::outbox::enqueue(&mut tx, &message, app.state.clock.now())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();

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

crate::on_both_backends!(
    the_welcome_email_arrives_over_smtp_after_set_up,
    without_smtp_nothing_is_queued,
    a_stopped_smtp_server_delays_mail_but_loses_none,
    two_workers_on_one_outbox_send_each_message_once,
    send_test_email_delivers_from_the_command_line,
);
