//! Parsed CSV uploads waiting for the uploader's confirmation.

use super::{Db, Tx, on_db, on_tx};

/// Uploads left unconfirmed this long are forgotten.
const KEEP_SECS: i64 = 24 * 3600;

/// An upload as its preview shows it.
#[derive(Clone, Debug)]
pub struct Upload<'a> {
    pub org_id: i64,
    pub user_id: i64,
    pub file_name: &'a str,
    /// JSON array of [email, role] pairs, in file order.
    pub rows_json: &'a str,
    /// JSON array of each row's line in the file.
    pub lines_json: &'a str,
}

/// Stores an upload and forgets stale ones; returns its id.
pub async fn insert(db: &Db, upload: &Upload<'_>, now: i64) -> sqlx::Result<i64> {
    on_db!(db, pool => {
        sqlx::query("DELETE FROM csv_imports WHERE created_at < $1").bind(now - KEEP_SECS).execute(pool).await?;
        sqlx::query_scalar(
            "INSERT INTO csv_imports (org_id, user_id, created_at, rows, file_name, lines) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(upload.org_id)
        .bind(upload.user_id)
        .bind(now)
        .bind(upload.rows_json)
        .bind(upload.file_name)
        .bind(upload.lines_json)
        .fetch_one(pool)
        .await
    })
}

/// A stored upload: (rows, file name, lines), as JSON where `Upload` says so.
pub type Stored = (String, String, String);

/// An upload of this organization and uploader, still waiting for its confirmation.
pub async fn find(db: &Db, id: i64, org_id: i64, user_id: i64) -> sqlx::Result<Option<Stored>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT rows, file_name, lines FROM csv_imports WHERE id = $1 AND org_id = $2 AND user_id = $3",
    )
    .bind(id)
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await)
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
