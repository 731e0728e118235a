//! Storage when a request is dropped (its client gone) while its transaction begins:
//! no pooled connection is left inside a transaction, so later writes still succeed.
//! On SQLite, writes wait their turn behind an open transaction instead of failing. On
//! PostgreSQL, a read whose pooled connection the server ended is answered all the same.

use std::time::Duration;

use roster::db::{self, Db, outbox::NewMessage};

use crate::helpers::*;

async fn a_transaction_dropped_while_it_begins_leaves_no_connection_inside_it(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let db = &app.state.db;
    // Dropped at every point of beginning, from before the BEGIN to after it.
    for i in 0..3000u64 {
        let _ = tokio::time::timeout(Duration::from_micros(i % 400), db.begin()).await;
    }

    for n in 0..16 {
        let tx = tokio::time::timeout(Duration::from_secs(5), db.begin())
            .await
            .unwrap_or_else(|_| panic!("transaction {n} waited for a lock left held"))
            .unwrap_or_else(|e| panic!("transaction {n} could not begin: {e}"));
        tx.commit().await.unwrap();
    }
    app.set_up().await;
    assert_eq!(
        scalar_i64(db, "SELECT COUNT(*) FROM organizations").await,
        1,
        "a write after them all"
    );
}

async fn writes_wait_their_turn_behind_an_open_transaction(backend: Backend) {
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    let db = app.state.db.clone();
    let now = app.state.clock.now();
    let message = NewMessage {
        recipient: "ada@example.com".into(),
        subject: "Hello".into(),
        text_body: "Hello".into(),
        html_body: "<p>Hello</p>".into(),
    };
    let mut tx = db.begin().await.unwrap();
    let id = db::outbox::enqueue(&mut tx, &message, now).await.unwrap();
    tx.commit().await.unwrap();

    // A transaction that writes and stays open, and 32 single writes meanwhile.
    let mut open = db.begin().await.unwrap();
    db::outbox::enqueue(&mut open, &message, now).await.unwrap();
    let writes: Vec<_> = (0..32)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move { db::outbox::mark_sent(&db, id, now).await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    if matches!(backend, Backend::Sqlite) {
        // SQLite has one writer: they queue behind the transaction.
        assert!(writes.iter().all(|w| !w.is_finished()));
    }
    open.commit().await.unwrap();
    for write in writes {
        tokio::time::timeout(Duration::from_secs(5), write)
            .await
            .expect("a write waited more than 5 s after the transaction ended")
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        scalar_i64(&db, "SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL").await,
        1
    );
}

async fn a_page_read_on_connections_the_server_ended_is_answered(backend: Backend) {
    // Only PostgreSQL ends its clients' connections (restart, fail-over, administrator);
    // a SQLite connection is a file handle that stays good.
    if backend == Backend::Sqlite {
        return;
    }
    let Some(app) = TestApp::spawn(backend).await else {
        return;
    };
    app.set_up().await;
    let members = format!("/orgs/{ORG_SLUG}/members");
    // Page loads side by side, so that the pool holds several connections.
    let warm_up = (0..8).map(|_| app.get(&members));
    for response in futures_util::future::join_all(warm_up).await {
        assert_eq!(response.status(), 200);
    }
    let Db::Postgres(pool) = &app.state.db else {
        unreachable!("PostgreSQL");
    };
    assert!(pool.num_idle() > 1, "the pool holds idle connections");

    terminate_other_backends(app.db_url()).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(app.get(&members).await.status().as_u16());
    }

    assert_eq!(statuses, vec![200; 6]);
}

crate::on_both_backends!(
    a_transaction_dropped_while_it_begins_leaves_no_connection_inside_it,
    writes_wait_their_turn_behind_an_open_transaction,
    a_page_read_on_connections_the_server_ended_is_answered,
);
