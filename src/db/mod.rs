//! Storage: the only place SQL lives. One set of portable SQL (`$1` placeholders) runs on
//! either backend's own sqlx driver; the `on_db!` and `on_tx!` macros compile each body
//! once per backend. Branch explicitly only where the dialects differ.

pub mod access_requests;
pub mod account_sessions;
pub mod api_tokens;
pub mod audit;
pub mod csv_imports;
pub mod domains;
pub mod email_changes;
pub mod invitations;
pub mod memberships;
pub mod orgs;
pub mod outbox;
pub mod password_resets;
pub mod scim;
pub mod secrets;
pub mod setup_tokens;
pub mod sso;
pub mod teams;
pub mod throttle;
pub mod two_factor;
pub mod users;
pub mod webhooks;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_aux::serde_introspection::serde_introspect;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{PgPool, Postgres, Sqlite, SqlitePool, Transaction};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// A connection pool on one of the two supported backends.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool, Writer),
    Postgres(PgPool),
}

/// An open transaction on one of the two supported backends; on SQLite, with the
/// writer's turn it holds until it ends.
pub enum Tx {
    Sqlite(Transaction<'static, Sqlite>, OwnedSemaphorePermit),
    Postgres(Transaction<'static, Postgres>),
}

/// The turn of SQLite's one writer, handed out in the process in order. SQLite lets one
/// connection write at a time; the others wait in its busy handler, which sleeps (1 ms,
/// then longer, up to 100 ms) and tries again, so under load the lock sat free while its
/// waiters slept. Roster's writes queue here first and find the lock free: transactions
/// hold the turn until they end, a single write (`Db::writer_turn`) while it runs.
#[derive(Clone, Debug)]
pub struct Writer(Arc<Semaphore>);

impl Writer {
    fn new() -> Writer {
        Writer(Arc::new(Semaphore::new(1)))
    }

    /// Waits for the turn as long as SQLite's busy handler would have (`busy_timeout`).
    async fn turn(&self) -> sqlx::Result<OwnedSemaphorePermit> {
        match tokio::time::timeout(BUSY_TIMEOUT, self.0.clone().acquire_owned()).await {
            Ok(Ok(turn)) => Ok(turn),
            _ => Err(sqlx::Error::PoolTimedOut),
        }
    }
}

/// How long a writer waits for SQLite's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `$body` with `$pool` bound to the backend's pool (`&Pool<_>`, an executor).
macro_rules! on_db {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool, _) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}

/// Runs `$body` with `$conn` bound to the transaction's connection (`&mut XConnection`);
/// use `&mut *$conn` as the executor of each query.
macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            $crate::db::Tx::Sqlite(t, _) => {
                let $conn = &mut **t;
                $body
            }
            $crate::db::Tx::Postgres(t) => {
                let $conn = &mut **t;
                $body
            }
        }
    };
}
/// Sets `table.column` to `now` on row `id` unless it was set in the last minute: a use
/// is recorded at most once a minute (a member's last activity, a token's last use).
async fn touch(db: &Db, table: &str, column: &str, id: i64, now: i64) -> sqlx::Result<()> {
    let sql = format!(
        "UPDATE {table} SET {column} = $1 WHERE id = $2 AND ({column} IS NULL OR {column} <= $3)"
    );
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query(&sql)
        .bind(now)
        .bind(id)
        .bind(now - 60)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A value bound to a query whose SQL is built at run time.
pub(crate) enum Bind {
    Int(i64),
    Text(String),
}

/// Binds each of `$binds` (`&[Bind]`) to `$query`, in order.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut query = $query;
        for value in $binds {
            query = match value {
                $crate::db::Bind::Int(v) => query.bind(*v),
                $crate::db::Bind::Text(v) => query.bind(v.clone()),
            };
        }
        query
    }};
}

/// Runs `$body` with `$ex` bound to an executor of `$reader` (`&mut Reader`): the pool,
/// or the transaction's connection; use `$ex` once, as the executor of one query.
macro_rules! on_reader {
    ($reader:expr, $ex:ident => $body:expr) => {
        match $reader {
            $crate::db::Reader::Pool($crate::db::Db::Sqlite($ex, _)) => $body,
            $crate::db::Reader::Pool($crate::db::Db::Postgres($ex)) => $body,
            $crate::db::Reader::Tx($crate::db::Tx::Sqlite(t, _)) => {
                let $ex = &mut **t;
                $body
            }
            $crate::db::Reader::Tx($crate::db::Tx::Postgres(t)) => {
                let $ex = &mut **t;
                $body
            }
        }
    };
}

pub(crate) use {bind_all, on_db, on_reader, on_tx};

/// Where a read runs: on the pool, or inside an open transaction (to see its writes and
/// read under its locks). A read needs no write transaction of its own.
pub enum Reader<'a> {
    Pool(&'a Db),
    Tx(&'a mut Tx),
}

impl Reader<'_> {
    pub fn is_sqlite(&self) -> bool {
        matches!(
            self,
            Reader::Pool(Db::Sqlite(..)) | Reader::Tx(Tx::Sqlite(..))
        )
    }
}

impl<'a> From<&'a Db> for Reader<'a> {
    fn from(db: &'a Db) -> Reader<'a> {
        Reader::Pool(db)
    }
}

impl<'a> From<&'a mut Tx> for Reader<'a> {
    fn from(tx: &'a mut Tx) -> Reader<'a> {
        Reader::Tx(tx)
    }
}

/// Every row of `sql` (with `values` bound in order), for a list of many rows; `sql`
/// selects (at least) a column for each field of `T`, by the field's name.
///
/// On SQLite the rows come back as one JSON array in a single row: sqlx runs each SQLite
/// connection on a thread of its own and hands every row of a result over to the waiting
/// task by itself, so a page of 50 rows cost dozens of thread wake-ups, more than its
/// query. Each row is an array of `T`'s fields in the order `T` declares them (serde
/// reads a struct from such an array), which is half the JSON of an object with their
/// names to build and to read. The order of the rows is the order `sql` gives them
/// (SQLite keeps a subquery's ORDER BY under any aggregate but count, min and max, for
/// this use).
/// PostgreSQL's rows arrive together on its socket and are read as they are.
pub(crate) async fn fetch_list<T>(
    db: &Db,
    sql: &str,
    values: &[Bind],
    persistent: bool,
) -> sqlx::Result<Vec<T>>
where
    T: serde::de::DeserializeOwned
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    match db {
        Db::Sqlite(pool, _) => {
            let sql = format!(
                "SELECT json_group_array(json_array(r.{})) FROM ({sql}) AS r",
                serde_introspect::<T>().join(", r.")
            );
            let json: String = bind_all!(sqlx::query_scalar(&sql), values)
                .persistent(persistent)
                .fetch_one(pool)
                .await?;
            serde_json::from_str(&json).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        }
        Db::Postgres(pool) => {
            bind_all!(sqlx::query_as(sql), values)
                .persistent(persistent)
                .fetch_all(pool)
                .await
        }
    }
}

/// Reads a boolean that SQLite's JSON gives as 0 or 1 (or as true or false).
/// A visitor of its own: an untagged enum buffered every value and built an error
/// message for each integer before trying the next variant.
pub(crate) fn json_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    struct Flag;
    impl serde::de::Visitor<'_> for Flag {
        type Value = bool;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a boolean, or 0 or 1")
        }

        fn visit_bool<E>(self, b: bool) -> Result<bool, E> {
            Ok(b)
        }

        fn visit_i64<E>(self, i: i64) -> Result<bool, E> {
            Ok(i != 0)
        }

        fn visit_u64<E>(self, i: u64) -> Result<bool, E> {
            Ok(i != 0)
        }
    }
    d.deserialize_any(Flag)
}

impl Db {
    /// Opens a pool for a `sqlite://` or `postgres://` URL; a SQLite file is created if missing.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        if is_sqlite_url(url) {
            let options = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(BUSY_TIMEOUT);
            // A pooled connection is not pinged before each use: that round trip to the
            // connection's thread (or, on PostgreSQL, to the server) doubled the cost of
            // every short query. A broken connection fails its query instead.
            let pool = SqlitePoolOptions::new()
                .max_connections(8)
                .test_before_acquire(false)
                .connect_with(options)
                .await?;
            Ok(Db::Sqlite(pool, Writer::new()))
        } else {
            let options = PgConnectOptions::from_str(url)?;
            // Eight, as on SQLite: on the two-core machine of the benchmarks, sixteen
            // connections made every page and invitation 10–25% slower than eight (more
            // PostgreSQL processes taking turns on the cores), and four were no faster.
            // Ten instances then use 80 of PostgreSQL's default 100 connections.
            let pool = PgPoolOptions::new()
                .max_connections(8)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await?;
            Ok(Db::Postgres(pool))
        }
    }

    /// Applies the backend's migrations (idempotent).
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pool, _) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Db::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so concurrent writers queue instead of failing on upgrade.
    pub async fn begin(&self) -> sqlx::Result<Tx> {
        Ok(match self {
            // sqlx begins with a custom statement in two steps, the second awaited after
            // the BEGIN ran; a request dropped between them (its client gone) would
            // return the connection to the pool inside the transaction, holding SQLite's
            // write lock, and every later write would fail. Begun in a task of its own,
            // the transaction either reaches the caller or is dropped, so rolled back.
            Db::Sqlite(pool, writer) => {
                let turn = writer.turn().await?;
                let pool = pool.clone();
                let begun = tokio::spawn(async move { pool.begin_with("BEGIN IMMEDIATE").await });
                Tx::Sqlite(begun.await.map_err(|_| sqlx::Error::WorkerCrashed)??, turn)
            }
            Db::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }

    /// Waits for SQLite's writer turn (see `Writer`) before a write outside a
    /// transaction; the turn ends when the returned value is dropped. Nothing on
    /// PostgreSQL, whose writers lock rows, not the database.
    pub(crate) async fn writer_turn(&self) -> sqlx::Result<Option<OwnedSemaphorePermit>> {
        match self {
            Db::Sqlite(_, writer) => writer.turn().await.map(Some),
            Db::Postgres(_) => Ok(None),
        }
    }

    /// Answers whether the database can run a query now.
    pub async fn ping(&self) -> bool {
        on_db!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(|r| r.rows_affected()).is_ok())
    }

    pub async fn close(&self) {
        on_db!(self, pool => pool.close().await)
    }

    /// Closes the idle connections that no longer answer, so that the next queries get
    /// live ones or newly opened ones. Pooled connections are not tested before use
    /// (see `connect`): after PostgreSQL ended its backends, each idle one would fail a
    /// query in turn. Called once a query has found its connection dead.
    pub async fn discard_broken_idle(&self) {
        match self {
            Db::Sqlite(pool, _) => discard_broken(pool).await,
            Db::Postgres(pool) => discard_broken(pool).await,
        }
    }
}

async fn discard_broken<DB: sqlx::Database>(pool: &sqlx::Pool<DB>) {
    use sqlx::Connection;
    // The live ones are held until every idle one was tried, so none is tried twice;
    // they go back to the pool when `live` is dropped.
    let mut live = Vec::new();
    for _ in 0..pool.num_idle() {
        let Some(mut conn) = pool.try_acquire() else {
            break;
        };
        if conn.ping().await.is_ok() {
            live.push(conn);
        } else {
            conn.close_on_drop();
        }
    }
}

/// Tells whether an error says that the connection was lost (closed by the server, reset,
/// the pool shut), rather than that the query itself failed: the query may then succeed
/// on another connection.
pub fn is_connection_error(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Io(_) | sqlx::Error::PoolClosed | sqlx::Error::Protocol(_) => true,
        // SQLSTATE class 08 (connection exception) and 57P (the server ended the session:
        // administrator command, shutdown, crash).
        sqlx::Error::Database(e) => e
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

impl Tx {
    /// Serializes the transactions that could break a rule about a set of rows (the last
    /// Owner of an organization, the last instance admin): on PostgreSQL a transaction-scoped
    /// advisory lock on (`scope`, `id`); SQLite's `BEGIN IMMEDIATE` already excludes other
    /// writers.
    pub async fn lock(&mut self, scope: LockScope, id: i64) -> sqlx::Result<()> {
        if let Tx::Postgres(conn) = self {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(((scope as i64) << 48) | id)
                .execute(&mut **conn)
                .await?;
        }
        Ok(())
    }

    pub async fn commit(self) -> sqlx::Result<()> {
        match self {
            Tx::Sqlite(t, _turn) => t.commit().await,
            Tx::Postgres(t) => t.commit().await,
        }
    }
}

/// What `Tx::lock` serializes on.
#[derive(Clone, Copy, Debug)]
pub enum LockScope {
    /// The memberships of one organization, for the rules that count them: its last
    /// active Owner, its seats (id: the organization's).
    OrgMembers = 1,
    /// The instance admins (id: 0).
    InstanceAdmins = 2,
}

/// The table the session store (`auth::store`, tower-sessions-sqlx-store with its
/// default names) keeps sessions in.
pub fn sessions_table(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(..) => "tower_sessions",
        Db::Postgres(_) => "\"tower_sessions\".\"session\"",
    }
}

/// Tells whether a database URL names SQLite (otherwise it must be PostgreSQL).
pub fn is_sqlite_url(url: &str) -> bool {
    url.starts_with("sqlite:")
}

/// Tells whether an error is a unique-constraint violation, on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// `$first, $first+1, …` for an IN list of `n` values (portable across both backends).
pub fn placeholders(first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// How many values one IN list carries, well under either backend's parameter limit.
pub const IN_CHUNK: usize = 500;

/// How many rows a bulk change writes per statement: few enough round trips for ten
/// thousand rows (a few dozen), few enough rows held at once.
pub const ROW_CHUNK: usize = 500;

/// SQLite's limit on the values bound to one statement (PostgreSQL's is 65,535).
const MAX_BINDS: usize = 32_766;

/// How many rows of `columns` bound values one multi-row statement writes: `ROW_CHUNK`,
/// or fewer if that many would pass the bound-value limit.
pub const fn rows_per_statement(columns: usize) -> usize {
    let fit = MAX_BINDS / columns;
    if fit < ROW_CHUNK { fit } else { ROW_CHUNK }
}

/// The ids a multi-row `INSERT … RETURNING id, key` returned, in the order of `keys`
/// (the inserted rows' keys, each unique among them): neither backend promises the
/// order of RETURNING's rows, so each id is matched to its row by key.
pub(crate) fn ids_in_order<'k>(
    keys: impl ExactSizeIterator<Item = &'k str>,
    returned: Vec<(i64, String)>,
) -> sqlx::Result<Vec<i64>> {
    let n = keys.len();
    let mismatch = || {
        sqlx::Error::Protocol(format!(
            "a multi-row insert of {n} rows returned ids that do not match its rows one to one"
        ))
    };
    if returned.len() != n {
        return Err(mismatch());
    }
    let mut by_key: std::collections::HashMap<String, i64> =
        returned.into_iter().map(|(id, key)| (key, id)).collect();
    keys.map(|key| by_key.remove(key).ok_or_else(mismatch))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returned_ids_are_matched_to_their_rows_by_key_whatever_their_order() {
        let returned = vec![
            (12, "b".to_string()),
            (11, "a".to_string()),
            (13, "c".to_string()),
        ];

        let ids = ids_in_order(["a", "b", "c"].into_iter(), returned).unwrap();

        assert_eq!(ids, vec![11, 12, 13]);
    }

    #[test]
    fn returned_ids_that_do_not_match_the_rows_one_to_one_are_an_error() {
        let pair = |id: i64, key: &str| (id, key.to_string());

        assert!(ids_in_order(["a", "b"].into_iter(), vec![pair(1, "a")]).is_err());
        assert!(ids_in_order(["a", "b"].into_iter(), vec![pair(1, "a"), pair(2, "a")]).is_err());
        assert!(ids_in_order(["a", "b"].into_iter(), vec![pair(1, "a"), pair(2, "c")]).is_err());
    }

    #[test]
    fn a_json_flag_is_read_from_a_boolean_or_a_number() {
        #[derive(serde::Deserialize)]
        struct Row {
            #[serde(deserialize_with = "json_bool")]
            flag: bool,
        }
        let flag = |json: &str| serde_json::from_str::<Row>(json).map(|row| row.flag);

        assert!(flag(r#"{"flag": true}"#).unwrap());
        assert!(!flag(r#"{"flag": false}"#).unwrap());
        assert!(flag(r#"{"flag": 1}"#).unwrap());
        assert!(!flag(r#"{"flag": 0}"#).unwrap());
        assert!(flag(r#"{"flag": "yes"}"#).is_err());
    }

    #[test]
    fn a_lost_connection_is_told_from_a_failed_query() {
        let io = || std::io::Error::from(std::io::ErrorKind::UnexpectedEof);

        assert!(is_connection_error(&sqlx::Error::Io(io())));
        assert!(is_connection_error(&sqlx::Error::PoolClosed));
        assert!(!is_connection_error(&sqlx::Error::RowNotFound));
        assert!(!is_connection_error(&sqlx::Error::PoolTimedOut));
    }

    #[test]
    fn a_statement_stays_within_the_bound_value_limit() {
        assert_eq!(rows_per_statement(11), ROW_CHUNK);
        assert_eq!(rows_per_statement(100), 327);
    }
}
