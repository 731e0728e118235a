//! Organizations' identity providers and accounts' identities at them (migration 0025).

use super::{Db, Tx, on_db, on_tx};
use crate::domain::Role;

/// An organization's provider, its client secret still sealed.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ProviderRow {
    pub org_id: i64,
    pub provider_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub jit_enabled: bool,
    #[sqlx(try_from = "String")]
    pub default_role: Role,
    pub require_sso: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

const COLUMNS: &str = "org_id, provider_name, issuer, client_id, client_secret, jit_enabled, \
                       default_role, require_sso, created_at, updated_at";

pub async fn of_org(db: &Db, org_id: i64) -> sqlx::Result<Option<ProviderRow>> {
    let sql = format!("SELECT {COLUMNS} FROM org_sso WHERE org_id = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).fetch_optional(pool).await)
}

/// The provider, locked for the transaction's change on PostgreSQL.
pub async fn of_org_for_update(tx: &mut Tx, org_id: i64) -> sqlx::Result<Option<ProviderRow>> {
    let lock = match tx {
        Tx::Sqlite(..) => "",
        Tx::Postgres(_) => " FOR UPDATE",
    };
    let sql = format!("SELECT {COLUMNS} FROM org_sso WHERE org_id = $1{lock}");
    on_tx!(tx, conn => sqlx::query_as(&sql).bind(org_id).fetch_optional(&mut *conn).await)
}

/// The provider of the organization `domain` is verified for, if it has one.
pub async fn for_domain(db: &Db, domain: &str) -> sqlx::Result<Option<ProviderRow>> {
    let sql = format!(
        "SELECT {} FROM org_sso s JOIN org_domains d ON d.org_id = s.org_id \
         WHERE d.domain = $1 AND d.verified_at IS NOT NULL",
        COLUMNS
            .split(", ")
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    on_db!(db, pool => sqlx::query_as(&sql).bind(domain).fetch_optional(pool).await)
}

/// Writes the provider, new or changed.
pub async fn upsert(tx: &mut Tx, row: &ProviderRow) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO org_sso (org_id, provider_name, issuer, client_id, client_secret, jit_enabled, \
         default_role, require_sso, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (org_id) DO UPDATE SET provider_name = $2, issuer = $3, client_id = $4, \
         client_secret = $5, jit_enabled = $6, default_role = $7, require_sso = $8, updated_at = $9",
    )
    .bind(row.org_id)
    .bind(&row.provider_name)
    .bind(&row.issuer)
    .bind(&row.client_id)
    .bind(&row.client_secret)
    .bind(row.jit_enabled)
    .bind(row.default_role.as_str())
    .bind(row.require_sso)
    .bind(row.updated_at)
    .execute(&mut *conn)
    .await
    .map(|_| ()))
}

pub async fn delete(tx: &mut Tx, org_id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM org_sso WHERE org_id = $1")
        .bind(org_id)
        .execute(&mut *conn)
        .await
        .map(|_| ()))
}

/// Whether a provider that requires single sign-on covers `domain`: its accounts do not
/// use a password.
pub async fn requires_sso(db: &Db, domain: &str) -> sqlx::Result<Option<String>> {
    on_db!(db, pool => sqlx::query_scalar(
        "SELECT s.provider_name FROM org_sso s JOIN org_domains d ON d.org_id = s.org_id \
         WHERE d.domain = $1 AND d.verified_at IS NOT NULL AND s.require_sso",
    )
    .bind(domain)
    .fetch_optional(pool)
    .await)
}

/// The account an identity belongs to, noting its use.
pub async fn identity_user(
    tx: &mut Tx,
    issuer: &str,
    subject: &str,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "UPDATE user_identities SET last_used_at = $3 WHERE issuer = $1 AND subject = $2 \
         RETURNING user_id",
    )
    .bind(issuer)
    .bind(subject)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await)
}

/// Links an identity to an account; a unique violation when it is linked already.
pub async fn link(
    tx: &mut Tx,
    issuer: &str,
    subject: &str,
    user_id: i64,
    now: i64,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO user_identities (issuer, subject, user_id, created_at, last_used_at) \
         VALUES ($1, $2, $3, $4, $4)",
    )
    .bind(issuer)
    .bind(subject)
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|_| ()))
}

/// The provider names of the verified domains among `domains`, by domain.
pub async fn names_for_domains(db: &Db, domains: &[&str]) -> sqlx::Result<Vec<(String, String)>> {
    if domains.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = (1..=domains.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT d.domain, s.provider_name FROM org_domains d JOIN org_sso s ON s.org_id = d.org_id \
         WHERE d.verified_at IS NOT NULL AND d.domain IN ({placeholders})"
    );
    on_db!(db, pool => {
        let mut query = sqlx::query_as(&sql);
        for domain in domains {
            query = query.bind(*domain);
        }
        query.fetch_all(pool).await
    })
}
