//! The session store of the backend in use: sessions live in the same database.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::db::Db;

#[derive(Clone, Debug)]
pub enum Store {
    /// With the database's writer (see `db::Writer`): a session is written in its turn.
    Sqlite(SqliteStore, Db),
    /// With the database, whose dead connections a failed load drops (`load`).
    Postgres(PostgresStore, Db),
}

impl Store {
    /// The store for `db`, with its table created if missing.
    pub async fn for_db(db: &Db) -> sqlx::Result<Store> {
        Ok(match db {
            Db::Sqlite(pool, _) => {
                let store = SqliteStore::new(pool.clone());
                store.migrate().await?;
                Store::Sqlite(store, db.clone())
            }
            Db::Postgres(pool) => {
                let store = PostgresStore::new(pool.clone());
                store.migrate().await?;
                Store::Postgres(store, db.clone())
            }
        })
    }

    /// Deletes expired sessions every `period`, and the rows of the account's sessions
    /// list (`db::account_sessions`) whose records are gone, until the task is dropped.
    pub async fn delete_expired_every(self, period: Duration) {
        let mut interval = tokio::time::interval(period);
        interval.tick().await; // The first tick completes at once.
        loop {
            interval.tick().await;
            let result = match &self {
                Store::Sqlite(s, _) => s.delete_expired().await,
                Store::Postgres(s, _) => s.delete_expired().await,
            };
            if let Err(err) = result {
                tracing::error!(error = %err, "expired-session clean-up stopped");
                return;
            }
            if let Err(err) = crate::db::account_sessions::prune(self.db()).await {
                tracing::warn!(error = %err, "forgetting ended sessions failed");
            }
        }
    }
}

tokio::task_local! {
    /// A session's record read with the request's authorization (`Store::preloaded`),
    /// which `load` gives instead of reading it again.
    static PRELOADED: RefCell<Option<Record>>;
}

impl Store {
    /// Runs `read`, a session's first read of its record, with `record` as what loading
    /// that session finds: the record came with the query that authorizes the request
    /// (`db::users::find_in_org`), so it is not read a second time.
    pub async fn preloaded<F: Future>(record: Record, read: F) -> F::Output {
        PRELOADED.scope(RefCell::new(Some(record)), read).await
    }
}

/// A stored session record, as tower-sessions-sqlx-store encodes it.
pub fn decode(data: &[u8]) -> Option<Record> {
    rmp_serde::from_slice(data).ok()
}

/// The account of each session this process has seen signed in, so that the next request
/// of the session reads its record with its account (`Store::preloaded`). A session's
/// account never changes (signing in starts a new session), and the record read decides
/// anyway: this only says which account to read with it. Sessions ended elsewhere are
/// seen as such, their rows being gone.
#[derive(Debug, Default)]
pub struct SessionUsers(Mutex<HashMap<Id, i64>>);

/// Sessions remembered at most; past it, the process starts over (a session forgotten
/// costs one more query on its next request).
const SESSIONS_REMEMBERED: usize = 10_000;

impl SessionUsers {
    pub fn user_of(&self, session: Id) -> Option<i64> {
        self.0.lock().ok()?.get(&session).copied()
    }

    pub fn remember(&self, session: Id, user_id: i64) {
        let Ok(mut users) = self.0.lock() else {
            return;
        };
        if users.len() >= SESSIONS_REMEMBERED && !users.contains_key(&session) {
            users.clear();
        }
        users.insert(session, user_id);
    }
}

#[async_trait]
impl SessionStore for Store {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s, db) => {
                let _turn = db.writer_turn().await.map_err(busy)?;
                s.create(record).await
            }
            Store::Postgres(s, _) => s.create(record).await,
        }
    }

    /// tower-sessions saves only a record it loaded (a new one is `create`d), so a
    /// record that is gone by now was ended meanwhile: it stays gone.
    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let data =
            rmp_serde::to_vec(record).map_err(|e| session_store::Error::Encode(e.to_string()))?;
        let db = self.db();
        let _turn = db.writer_turn().await.map_err(busy)?;
        let id = record.id.to_string();
        crate::db::account_sessions::update_record(db, &id, &data, record.expiry_date)
            .await
            .map_err(busy)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let preloaded = PRELOADED.try_with(|p| p.borrow_mut().take_if(|r| r.id == *id));
        if let Ok(Some(record)) = preloaded {
            return Ok(Some(record));
        }
        // The store's crate keeps only the message of a database error, so a connection
        // found dead cannot be told from other failures; a load only reads, so it is
        // tried once more, on a live connection, whatever the failure was.
        match self.load_stored(id).await {
            Err(session_store::Error::Backend(error)) => {
                tracing::warn!(%error, "loading a session failed; trying once more");
                self.db().discard_broken_idle().await;
                self.load_stored(id).await
            }
            loaded => loaded,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s, db) => {
                let _turn = db.writer_turn().await.map_err(busy)?;
                s.delete(id).await
            }
            Store::Postgres(s, _) => s.delete(id).await,
        }
    }
}

impl Store {
    fn db(&self) -> &Db {
        match self {
            Store::Sqlite(_, db) | Store::Postgres(_, db) => db,
        }
    }

    async fn load_stored(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Store::Sqlite(s, _) => s.load(id).await,
            Store::Postgres(s, _) => s.load(id).await,
        }
    }
}

/// A database error (or a writer's turn not given in time), as the store reports one.
fn busy(err: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}
