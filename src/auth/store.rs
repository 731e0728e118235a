//! The session store of the backend in use: sessions live in the same database.

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
    Postgres(PostgresStore),
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
                Store::Postgres(store)
            }
        })
    }

    /// Deletes expired sessions every `period`, until the task is dropped.
    pub async fn delete_expired_every(self, period: Duration) {
        let result = match self {
            Store::Sqlite(s, _) => s.continuously_delete_expired(period).await,
            Store::Postgres(s) => s.continuously_delete_expired(period).await,
        };
        if let Err(err) = result {
            tracing::error!(error = %err, "expired-session clean-up stopped");
        }
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
            Store::Postgres(s) => s.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s, db) => {
                let _turn = db.writer_turn().await.map_err(busy)?;
                s.save(record).await
            }
            Store::Postgres(s) => s.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Store::Sqlite(s, _) => s.load(id).await,
            Store::Postgres(s) => s.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Store::Sqlite(s, db) => {
                let _turn = db.writer_turn().await.map_err(busy)?;
                s.delete(id).await
            }
            Store::Postgres(s) => s.delete(id).await,
        }
    }
}

/// A writer's turn not given in time, as the store reports a database error.
fn busy(err: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}
