use super::{Db, Tx, on_db, on_tx};
use crate::domain::{MemberStatus, Role, settings::OrgSettings};

/// An organization and its settings.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Org {
    pub id: i64,
    pub name: String,
    pub slug: String,
}

/// What the organization switcher needs.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrgLink {
    pub slug: String,
    pub name: String,
}

/// Inserts an organization under a slug made from its name, made unique with a suffix.
pub async fn insert(tx: &mut Tx, name: &str, now: i64) -> sqlx::Result<Org> {
    let base = match slug::slugify(name) {
        s if s.is_empty() => "org".to_string(),
        s => s
            .chars()
            .take(48)
            .collect::<String>()
            .trim_end_matches('-')
            .to_string(),
    };
    let taken: Vec<String> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT slug FROM organizations WHERE slug = $1 OR slug LIKE $2",
    )
    .bind(&base)
    .bind(format!("{base}-%"))
    .fetch_all(&mut *conn)
    .await)?;
    let mut candidates = (1..).map(|n| {
        if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        }
    });
    // A slug taken meanwhile by another organization of the same name, created at the
    // same moment, is passed over like one taken before: ON CONFLICT keeps the
    // transaction usable (a unique violation would abort it on PostgreSQL).
    let (id, slug) = loop {
        let candidate = candidates
            .find(|candidate| !taken.contains(candidate))
            .expect("an unbounded range always has a free suffix");
        let id: Option<i64> = on_tx!(tx, conn => sqlx::query_scalar(
            "INSERT INTO organizations (name, slug, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (slug) DO NOTHING RETURNING id",
        )
        .bind(name)
        .bind(&candidate)
        .bind(now)
        .fetch_optional(&mut *conn)
        .await)?;
        if let Some(id) = id {
            break (id, candidate);
        }
    };
    Ok(Org {
        id,
        name: name.to_string(),
        slug,
    })
}

pub async fn find_by_slug(db: &Db, slug: &str) -> sqlx::Result<Option<Org>> {
    on_db!(db, pool => sqlx::query_as("SELECT id, name, slug FROM organizations WHERE slug = $1")
        .bind(slug)
        .fetch_optional(pool)
        .await)
}

pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<Org>> {
    on_db!(db, pool => sqlx::query_as("SELECT id, name, slug FROM organizations WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await)
}

/// The organizations in which a user is an active member, by name.
pub async fn list_for_user(db: &Db, user_id: i64) -> sqlx::Result<Vec<OrgLink>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT o.slug, o.name FROM memberships m JOIN organizations o ON o.id = m.org_id \
         WHERE m.user_id = $1 AND m.status = 'active' ORDER BY o.name, o.id",
    )
    .bind(user_id)
    .fetch_all(pool)
    .await)
}

const SETTINGS: &str = "name, invitation_lifetime_secs, max_pending_invitations, max_members, \
                        members_may_invite, allowed_email_domains, seats, require_two_factor";

pub async fn settings(db: &Db, org_id: i64) -> sqlx::Result<OrgSettings> {
    let sql = format!("SELECT {SETTINGS} FROM organizations WHERE id = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).fetch_one(pool).await)
}

/// The settings as they are inside a transaction, locked against concurrent changes on
/// PostgreSQL (SQLite's write transaction already excludes other writers).
pub async fn settings_for_update(tx: &mut Tx, org_id: i64) -> sqlx::Result<OrgSettings> {
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {SETTINGS} FROM organizations WHERE id = $1{lock}");
    on_tx!(tx, conn => sqlx::query_as(&sql).bind(org_id).fetch_one(&mut *conn).await)
}

pub async fn update_settings(tx: &mut Tx, org_id: i64, s: &OrgSettings) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE organizations SET name = $1, invitation_lifetime_secs = $2, max_pending_invitations = $3, \
         max_members = $4, members_may_invite = $5, allowed_email_domains = $6, seats = $7, \
         require_two_factor = $9 WHERE id = $8",
    )
    .bind(&s.name)
    .bind(s.invitation_lifetime_secs)
    .bind(s.max_pending_invitations)
    .bind(s.max_members)
    .bind(s.members_may_invite)
    .bind(&s.allowed_email_domains)
    .bind(s.seats)
    .bind(org_id)
    .bind(s.require_two_factor)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// One membership of an account, as the instance's Users page lists it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserOrg {
    pub user_id: i64,
    pub org_name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[sqlx(try_from = "String")]
    pub status: MemberStatus,
}

/// The memberships of every account in `user_ids`, by account, then organization name.
pub async fn of_users(db: &Db, user_ids: &[i64]) -> sqlx::Result<Vec<UserOrg>> {
    let mut found = Vec::new();
    for chunk in user_ids.chunks(super::IN_CHUNK) {
        let sql = format!(
            "SELECT m.user_id, o.name AS org_name, m.role, m.status \
             FROM memberships m JOIN organizations o ON o.id = m.org_id \
             WHERE m.user_id IN ({}) ORDER BY m.user_id, o.name, o.id",
            super::placeholders(1, chunk.len())
        );
        let rows: Vec<UserOrg> = on_db!(db, pool => {
            let mut query = sqlx::query_as(&sql);
            for id in chunk {
                query = query.bind(id);
            }
            query.fetch_all(pool).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// The organizations in which the account is an active Owner, by id.
pub async fn owned_by(tx: &mut Tx, user_id: i64) -> sqlx::Result<Vec<Org>> {
    on_tx!(tx, conn => sqlx::query_as(
        "SELECT o.id, o.name, o.slug FROM memberships m JOIN organizations o ON o.id = m.org_id \
         WHERE m.user_id = $1 AND m.role = 'owner' AND m.status = 'active' ORDER BY o.id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await)
}

/// Active Owners of the organization other than `user_id` whose accounts are active too
/// (a deactivated account cannot sign in to own anything). Take
/// `LockScope::OrgMembers` first when the answer decides a change.
pub async fn count_other_owners(tx: &mut Tx, org_id: i64, user_id: i64) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.user_id <> $2 AND m.role = 'owner' AND m.status = 'active' \
         AND u.status = 'active'",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await)
}

/// Every membership of one account inside a transaction, by organization name.
pub async fn of_user_in(tx: &mut Tx, user_id: i64) -> sqlx::Result<Vec<UserOrg>> {
    on_tx!(tx, conn => sqlx::query_as(
        "SELECT m.user_id, o.name AS org_name, m.role, m.status \
         FROM memberships m JOIN organizations o ON o.id = m.org_id \
         WHERE m.user_id = $1 ORDER BY o.name, o.id",
    )
    .bind(user_id)
    .fetch_all(&mut *conn)
    .await)
}
