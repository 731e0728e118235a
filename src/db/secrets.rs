use super::{Db, on_db};

/// The secret called `name`: the one stored, or else `fresh`, stored now. Instances
/// starting together agree: only the first value stored is kept, and each reads it back.
pub async fn get_or_create(db: &Db, name: &str, fresh: &str, now: i64) -> sqlx::Result<String> {
    {
        let _turn = db.writer_turn().await?;
        on_db!(db, pool => sqlx::query(
            "INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(fresh)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    }
    on_db!(db, pool => sqlx::query_scalar("SELECT value FROM secrets WHERE name = $1")
        .bind(name)
        .fetch_one(pool)
        .await)
}
