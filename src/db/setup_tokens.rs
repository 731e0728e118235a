use super::{Db, Tx, on_db, on_tx};

/// Records a newly issued first-run set-up token (its hash).
pub async fn insert(db: &Db, token_hash: &str, now: i64) -> sqlx::Result<()> {
    on_db!(db, pool => sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
        .bind(token_hash)
        .bind(now)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn exists(db: &Db, token_hash: &str) -> sqlx::Result<bool> {
    let n: i64 = on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM setup_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_one(pool)
        .await)?;
    Ok(n > 0)
}

/// Uses up a token: true if it was valid. Every other issued token dies with it.
pub async fn consume(tx: &mut Tx, token_hash: &str) -> sqlx::Result<bool> {
    let used = on_tx!(tx, conn => sqlx::query("DELETE FROM setup_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    delete_all(tx).await?;
    Ok(used == 1)
}

/// Forgets every issued token (set-up is done, by the page or the command line).
pub async fn delete_all(tx: &mut Tx) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM setup_tokens").execute(&mut *conn).await.map(|r| r.rows_affected()))?;
    Ok(())
}
