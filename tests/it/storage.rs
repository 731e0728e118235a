//! Storage when a request is dropped (its client gone) while its transaction begins:
//! no pooled connection is left inside a transaction, so later writes still succeed.

use std::time::Duration;

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

crate::on_both_backends!(a_transaction_dropped_while_it_begins_leaves_no_connection_inside_it,);
