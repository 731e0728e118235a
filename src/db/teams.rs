//! Teams and their members (migration 0026). A team place is keyed by the membership,
//! so that leaving or being removed from the organization leaves every team by cascade.

use std::collections::HashMap;

use super::{Db, Reader, Tx, on_db, on_reader, on_tx};
use crate::domain::{MemberStatus, Role};

/// A team of an organization, with how many members it has.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TeamRow {
    pub id: i64,
    pub org_id: i64,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub member_count: i64,
}

/// A member of a team, as the team's page and the API show them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TeamMemberRow {
    /// The membership's id (the member's id on the Members page and in the API).
    pub id: i64,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[sqlx(try_from = "String")]
    pub status: MemberStatus,
    pub added_at: i64,
}

const TEAM: &str = "SELECT t.id, t.org_id, t.name, t.created_at, t.updated_at, \
                    (SELECT COUNT(*) FROM team_members tm WHERE tm.team_id = t.id) AS member_count \
                    FROM teams t";

/// The organization's teams, by name.
pub async fn of_org(db: &Db, org_id: i64) -> sqlx::Result<Vec<TeamRow>> {
    let sql = format!("{TEAM} WHERE t.org_id = $1 ORDER BY t.name_key, t.id");
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).fetch_all(pool).await)
}

/// The organization's teams as (id, name), by name: the Members page's filter.
pub async fn names_of_org(db: &Db, org_id: i64) -> sqlx::Result<Vec<(i64, String)>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, name FROM teams WHERE org_id = $1 ORDER BY name_key, id",
    )
    .bind(org_id)
    .fetch_all(pool)
    .await)
}

/// One team of the organization; another organization's id finds nothing. Inside a
/// transaction it is locked against deletion on PostgreSQL (`lock`: a row lock, or
/// only against deletion while members are added).
pub async fn find<'a>(
    reader: impl Into<Reader<'a>>,
    org_id: i64,
    id: i64,
    lock: Lock,
) -> sqlx::Result<Option<TeamRow>> {
    let mut reader = reader.into();
    let lock = match (&reader, lock) {
        (Reader::Tx(Tx::Postgres(_)), Lock::Update) => " FOR UPDATE OF t",
        (Reader::Tx(Tx::Postgres(_)), Lock::Share) => " FOR KEY SHARE OF t",
        _ => "",
    };
    let sql = format!("{TEAM} WHERE t.org_id = $1 AND t.id = $2{lock}");
    on_reader!(&mut reader, ex => sqlx::query_as(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(ex)
        .await)
}

/// How `find` locks a team inside a transaction on PostgreSQL (SQLite's write
/// transaction excludes other writers already).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lock {
    None,
    /// Renaming or deleting it.
    Update,
    /// Adding or removing members: the team must not be deleted meanwhile.
    Share,
}

/// Adds a team; a unique violation when the organization has one of that name in any
/// case (`name_key`).
pub async fn insert(
    tx: &mut Tx,
    org_id: i64,
    name: &str,
    name_key: &str,
    now: i64,
) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO teams (org_id, name, name_key, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(org_id)
    .bind(name)
    .bind(name_key)
    .bind(now)
    .fetch_one(&mut *conn)
    .await)
}

/// Renames a team; a unique violation when another team of the organization has the
/// name.
pub async fn rename(
    tx: &mut Tx,
    id: i64,
    name: &str,
    name_key: &str,
    now: i64,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE teams SET name = $1, name_key = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(name)
    .bind(name_key)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|_| ()))
}

/// Deletes a team (its member places go with it).
pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM teams WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ()))
}

/// Marks the team changed (its members), for SCIM's `meta.lastModified`.
pub async fn touch(tx: &mut Tx, id: i64, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE teams SET updated_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ()))
}

const MEMBER: &str = "SELECT m.id, m.user_id, u.email, u.name, m.role, m.status, tm.added_at \
                      FROM team_members tm JOIN memberships m ON m.id = tm.membership_id \
                      JOIN users u ON u.id = m.user_id";

/// The team's members, by email.
pub async fn members(db: &Db, team_id: i64) -> sqlx::Result<Vec<TeamMemberRow>> {
    let sql = format!("{MEMBER} WHERE tm.team_id = $1 ORDER BY m.sort_email, m.id");
    on_db!(db, pool => sqlx::query_as(&sql).bind(team_id).fetch_all(pool).await)
}

/// One member of the team, inside the transaction that changes it.
pub async fn member_in(
    tx: &mut Tx,
    team_id: i64,
    membership_id: i64,
) -> sqlx::Result<Option<TeamMemberRow>> {
    let sql = format!("{MEMBER} WHERE tm.team_id = $1 AND tm.membership_id = $2");
    on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(team_id)
        .bind(membership_id)
        .fetch_optional(&mut *conn)
        .await)
}

/// Puts the member in the team; false when they already were. The membership must be
/// locked against removal by the caller (`lock_membership`).
pub async fn add_member(
    tx: &mut Tx,
    team_id: i64,
    membership_id: i64,
    now: i64,
) -> sqlx::Result<bool> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO team_members (team_id, membership_id, added_at) VALUES ($1, $2, $3) \
         ON CONFLICT (team_id, membership_id) DO NOTHING",
    )
    .bind(team_id)
    .bind(membership_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// Takes the member out of the team; false when they were not in it.
pub async fn remove_member(tx: &mut Tx, team_id: i64, membership_id: i64) -> sqlx::Result<bool> {
    on_tx!(tx, conn => sqlx::query(
        "DELETE FROM team_members WHERE team_id = $1 AND membership_id = $2",
    )
    .bind(team_id)
    .bind(membership_id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected() == 1))
}

/// The member `membership_id` of the organization as (id, email), locked on PostgreSQL
/// against removal until the transaction ends (so that a team place is never added for
/// a membership being deleted).
pub async fn lock_membership(
    tx: &mut Tx,
    org_id: i64,
    membership_id: i64,
) -> sqlx::Result<Option<(i64, String)>> {
    let lock = match tx {
        Tx::Sqlite(..) => "",
        Tx::Postgres(_) => " FOR KEY SHARE OF m",
    };
    let sql = format!(
        "SELECT m.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.id = $2{lock}"
    );
    on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(org_id)
        .bind(membership_id)
        .fetch_optional(&mut *conn)
        .await)
}

/// Up to `limit` members of the organization who are not in the team, whose email or
/// name holds `search` (lower-cased), by email: whom the team's page offers to add.
pub async fn candidates(
    db: &Db,
    org_id: i64,
    team_id: i64,
    search: &str,
    limit: i64,
) -> sqlx::Result<Vec<TeamMemberRow>> {
    let escaped = search
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    let pattern = format!("%{escaped}%");
    on_db!(db, pool => sqlx::query_as(
        "SELECT m.id, m.user_id, u.email, u.name, m.role, m.status, CAST(0 AS BIGINT) AS added_at \
         FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 \
           AND (m.sort_email LIKE $2 ESCAPE '\\' OR m.sort_name LIKE $2 ESCAPE '\\') \
           AND NOT EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = $3 AND tm.membership_id = m.id) \
         ORDER BY m.sort_email, m.id LIMIT $4",
    )
    .bind(org_id)
    .bind(pattern)
    .bind(team_id)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// The names of the teams of each of the members `ids` of the organization, by name:
/// one query for the rows a page shows.
pub async fn names_by_member(
    db: &Db,
    org_id: i64,
    ids: &[i64],
) -> sqlx::Result<HashMap<i64, Vec<String>>> {
    let mut found: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(super::IN_CHUNK) {
        let sql = format!(
            "SELECT tm.membership_id, t.name FROM team_members tm JOIN teams t ON t.id = tm.team_id \
             WHERE t.org_id = $1 AND tm.membership_id IN ({}) ORDER BY t.name_key, t.id",
            super::placeholders(2, chunk.len())
        );
        let rows: Vec<(i64, String)> = on_db!(db, pool => {
            let mut query = sqlx::query_as(&sql).bind(org_id);
            for id in chunk {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?;
        for (id, name) in rows {
            found.entry(id).or_default().push(name);
        }
    }
    Ok(found)
}

/// The SQL of a member's team names joined with "; " by name, for the member export
/// (`m` is the membership's alias).
pub fn names_joined(db: &Db) -> &'static str {
    match db {
        Db::Sqlite(..) => {
            "(SELECT group_concat(t.name, '; ' ORDER BY t.name_key) FROM team_members tm \
             JOIN teams t ON t.id = tm.team_id WHERE tm.membership_id = m.id)"
        }
        Db::Postgres(_) => {
            "(SELECT string_agg(t.name, '; ' ORDER BY t.name_key) FROM team_members tm \
             JOIN teams t ON t.id = tm.team_id WHERE tm.membership_id = m.id)"
        }
    }
}
