//! The signed-in sessions of each account (migration 0018), beside the session store's
//! opaque records (`sessions_table`).

use super::{Db, Tx, on_db, on_tx, sessions_table};

/// One session of an account, as the Account page lists it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub session_id: String,
    pub user_agent: String,
    pub ip: String,
    pub signed_in_at: i64,
    pub last_seen_at: i64,
}

/// Records that the session `session_id` signed in as `user_id`; `replaces` is the id the
/// same browser's session had before (its row goes: signing in again, or a change of
/// password, gives the session a new id).
pub async fn record(
    db: &Db,
    replaces: Option<&str>,
    session_id: &str,
    user_id: i64,
    user_agent: &str,
    ip: &str,
    now: i64,
) -> sqlx::Result<()> {
    let mut tx = db.begin().await?;
    if let Some(old) = replaces {
        delete_row(&mut tx, old).await?;
    }
    on_tx!(&mut tx, conn => sqlx::query(
        "INSERT INTO account_sessions (session_id, user_id, user_agent, ip, signed_in_at, last_seen_at) \
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(session_id)
    .bind(user_id)
    .bind(user_agent)
    .bind(ip)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    tx.commit().await
}

/// Forgets the row of a session that signed out (its record is deleted by the store).
pub async fn forget(db: &Db, session_id: &str) -> sqlx::Result<()> {
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query("DELETE FROM account_sessions WHERE session_id = $1")
        .bind(session_id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

async fn delete_row(tx: &mut Tx, session_id: &str) -> sqlx::Result<u64> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM account_sessions WHERE session_id = $1")
        .bind(session_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))
}

/// Forgets the rows of sessions whose records are gone (expired and deleted by the
/// store's clean-up).
pub async fn prune(db: &Db) -> sqlx::Result<u64> {
    let sql = format!(
        "DELETE FROM account_sessions WHERE NOT EXISTS \
         (SELECT 1 FROM {sessions} s WHERE s.id = account_sessions.session_id)",
        sessions = sessions_table(db),
    );
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query(&sql)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
}

/// Sets the session's last use to `now` unless it was set in the last minute.
pub async fn touch(db: &Db, session_id: &str, now: i64) -> sqlx::Result<()> {
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query(
        "UPDATE account_sessions SET last_seen_at = $1 WHERE session_id = $2 AND last_seen_at <= $3",
    )
    .bind(now)
    .bind(session_id)
    .bind(now - 60)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The account's sessions that still stand: their record has not expired and no change
/// of password (or deactivation) ended them since; the latest first.
pub async fn of_user(db: &Db, user_id: i64) -> sqlx::Result<Vec<SessionRow>> {
    let sql = format!(
        "SELECT a.session_id, a.user_agent, a.ip, a.signed_in_at, a.last_seen_at \
         FROM account_sessions a JOIN users u ON u.id = a.user_id \
         JOIN {sessions} s ON s.id = a.session_id \
         WHERE a.user_id = $1 AND s.expiry_date > $2 AND a.signed_in_at >= u.sessions_valid_after \
         ORDER BY a.last_seen_at DESC, a.signed_in_at DESC, a.session_id",
        sessions = sessions_table(db),
    );
    // The session store's own test of expiry, with the same type of value.
    let session_now = time::OffsetDateTime::now_utc();
    on_db!(db, pool => sqlx::query_as(&sql)
        .bind(user_id)
        .bind(session_now)
        .fetch_all(pool)
        .await)
}

/// Ends the sessions of `user_id` among `session_ids` (or, with `keep`, every one but
/// `keep`): their records and rows are deleted, so their next request is signed out, on
/// every instance. Another account's session is never touched. Returns how many ended.
pub async fn end(tx: &mut Tx, user_id: i64, which: Which<'_>) -> sqlx::Result<u64> {
    let (filter, id) = match which {
        Which::One(id) => ("session_id = $2", id),
        Which::AllBut(id) => ("session_id <> $2", id),
    };
    let sql = format!(
        "DELETE FROM {sessions} WHERE id IN \
         (SELECT session_id FROM account_sessions WHERE user_id = $1 AND {filter})",
        sessions = sessions_table_of(tx),
    );
    on_tx!(tx, conn => sqlx::query(&sql)
        .bind(user_id)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    let sql = format!("DELETE FROM account_sessions WHERE user_id = $1 AND {filter}");
    on_tx!(tx, conn => sqlx::query(&sql)
        .bind(user_id)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))
}

/// Writes a session's record back if it is still stored; how many were (0 or 1). A
/// request that began before its session was ended must not bring the record back, as
/// the store's own upsert would.
pub async fn update_record(
    db: &Db,
    id: &str,
    data: &[u8],
    expiry: time::OffsetDateTime,
) -> sqlx::Result<u64> {
    let sql = format!(
        "UPDATE {sessions} SET data = $1, expiry_date = $2 WHERE id = $3",
        sessions = sessions_table(db),
    );
    on_db!(db, pool => sqlx::query(&sql)
        .bind(data)
        .bind(expiry)
        .bind(id)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))
}

/// Which of an account's sessions `end` ends.
#[derive(Clone, Copy, Debug)]
pub enum Which<'a> {
    One(&'a str),
    AllBut(&'a str),
}

fn sessions_table_of(tx: &Tx) -> &'static str {
    match tx {
        Tx::Sqlite(..) => "tower_sessions",
        Tx::Postgres(_) => "\"tower_sessions\".\"session\"",
    }
}
