//! Attempt counts in fixed windows, for throttling (`auth::throttle`).

use super::{Db, on_db};

/// One key's count in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Count {
    /// Attempts in the window, this one included.
    pub hits: i64,
    pub window_start: i64,
}

/// Adds one attempt to `key` and returns its count, in one statement: a window that
/// started `window_secs` or more before `now` starts again at `now`. Concurrent calls
/// on one key each get a count of their own (SQLite's writer takes them in turn,
/// PostgreSQL locks the row for the upsert).
pub async fn hit(db: &Db, key: &str, now: i64, window_secs: i64) -> sqlx::Result<Count> {
    const SQL: &str = "INSERT INTO throttle_counts (key, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (key) DO UPDATE SET \
         hits = CASE WHEN throttle_counts.window_start <= $3 THEN 1 ELSE throttle_counts.hits + 1 END, \
         window_start = CASE WHEN throttle_counts.window_start <= $3 THEN $2 ELSE throttle_counts.window_start END \
         RETURNING hits, window_start";
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query_as(SQL)
        .bind(key)
        .bind(now)
        .bind(now - window_secs)
        .fetch_one(pool)
        .await)
}

/// Takes back one attempt of `key`'s window that started at `window_start` (an attempt
/// that succeeded); nothing if the window has started again since.
pub async fn refund(db: &Db, key: &str, window_start: i64) -> sqlx::Result<()> {
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query(
        "UPDATE throttle_counts SET hits = hits - 1 WHERE key = $1 AND window_start = $2 AND hits > 0",
    )
    .bind(key)
    .bind(window_start)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets `key`'s count.
pub async fn clear(db: &Db, key: &str) -> sqlx::Result<()> {
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query("DELETE FROM throttle_counts WHERE key = $1")
        .bind(key)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Deletes the counts whose window started before `before`; returns how many.
pub async fn delete_older_than(db: &Db, before: i64) -> sqlx::Result<u64> {
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query("DELETE FROM throttle_counts WHERE window_start < $1")
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
}
