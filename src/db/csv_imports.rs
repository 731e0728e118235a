//! Parsed CSV uploads waiting for the uploader's confirmation.

use super::{Db, Tx, on_db, on_tx};

/// Uploads left unconfirmed this long are forgotten.
const KEEP_SECS: i64 = 24 * 3600;

/// Stores the rows of an upload (JSON) and forgets stale ones; returns its id.
pub async fn insert(
    db: &Db,
    org_id: i64,
    user_id: i64,
    rows_json: &str,
    now: i64,
) -> sqlx::Result<i64> {
    on_db!(db, pool => {
        sqlx::query("DELETE FROM csv_imports WHERE created_at < $1").bind(now - KEEP_SECS).execute(pool).await?;
        sqlx::query_scalar("INSERT INTO csv_imports (org_id, user_id, created_at, rows) VALUES ($1, $2, $3, $4) RETURNING id")
            .bind(org_id)
            .bind(user_id)
            .bind(now)
            .bind(rows_json)
            .fetch_one(pool)
            .await
    })
}

/// Takes (reads and deletes) an upload of this organization and uploader.
pub async fn take(tx: &mut Tx, id: i64, org_id: i64, user_id: i64) -> sqlx::Result<Option<String>> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "DELETE FROM csv_imports WHERE id = $1 AND org_id = $2 AND user_id = $3 RETURNING rows",
    )
    .bind(id)
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(&mut *conn)
    .await)
}
