use super::orgs::{Org, OrgLink};
use super::{Bind, Db, Tx, on_db, on_tx};
use crate::domain::{AccountStatus, Email, settings::OrgSettings};

/// An account, as needed to sign in and to authorize a request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_instance_admin: bool,
    #[sqlx(try_from = "String")]
    pub status: AccountStatus,
    pub sessions_valid_after: i64,
    /// When two-factor authentication was turned on; None when it is off.
    pub two_factor_enabled_at: Option<i64>,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status.is_active()
    }

    /// Whether signing in asks for a second factor.
    pub fn has_two_factor(&self) -> bool {
        self.two_factor_enabled_at.is_some()
    }
}

const COLUMNS: &str = "id, email, name, password_hash, is_instance_admin, status, \
     sessions_valid_after, two_factor_enabled_at";
/// A `User`'s columns in a query that names the users table `u`.
pub(super) const U_COLUMNS: &str = "u.id, u.email, u.name, u.password_hash, \
     u.is_instance_admin, u.status, u.sessions_valid_after, u.two_factor_enabled_at";

pub async fn count(db: &Db) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(pool).await)
}

/// Counts accounts inside a transaction, to decide first-run set-up atomically.
pub async fn count_in(tx: &mut Tx) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar("SELECT COUNT(*) FROM users").fetch_one(&mut *conn).await)
}

/// An account with, for one organization's slug, that organization and the account's
/// membership there (each None when there is none): what an organization's page needs
/// to authorize a request, read in one query.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct InOrg {
    #[sqlx(flatten)]
    pub user: User,
    pub org_id: Option<i64>,
    pub org_name: Option<String>,
    pub org_slug: Option<String>,
    pub membership_id: Option<i64>,
    pub role: Option<String>,
    pub member_status: Option<String>,
    pub last_active_at: Option<i64>,
    /// The organization's settings (`OrgSettings`), when there is one.
    pub invitation_lifetime_secs: Option<i64>,
    pub max_pending_invitations: Option<i64>,
    pub max_members: Option<i64>,
    pub members_may_invite: Option<bool>,
    pub allowed_email_domains: Option<String>,
    pub seats: Option<i64>,
    pub require_two_factor: Option<bool>,
    /// Its kept counts: members, and invitations pending and not expired.
    pub member_count: Option<i64>,
    pub pending: Option<i64>,
    /// The organization's active Owners other than the account (see
    /// `orgs::count_other_owners`), so that its pages can tell a sole Owner; counted
    /// only when the account is an Owner there (None otherwise).
    pub other_owners: Option<i64>,
    /// The organization's pending access requests, for the navigation; counted only
    /// when the account is an Owner or Admin there, who decide them (None otherwise).
    pub access_requests: Option<i64>,
    /// The account's organizations, for the switcher: a JSON array of [slug, name].
    pub org_links: String,
    /// The stored record of the session asked for with it, while that session lasts:
    /// as the session store keeps it (`auth::store::decode`).
    pub session_data: Option<Vec<u8>>,
}

impl InOrg {
    /// The account's organizations, for the switcher.
    pub fn org_links(&self) -> Result<Vec<OrgLink>, serde_json::Error> {
        let pairs: Vec<(String, String)> = serde_json::from_str(&self.org_links)?;
        Ok(pairs
            .into_iter()
            .map(|(slug, name)| OrgLink { slug, name })
            .collect())
    }

    /// The organization's kept counts: (members, pending invitations).
    pub fn counts(&self) -> Option<(i64, i64)> {
        Some((self.member_count?, self.pending?))
    }

    /// The organization and its settings, when the slug named one.
    pub fn org(&self) -> Option<(Org, OrgSettings)> {
        let org = Org {
            id: self.org_id?,
            name: self.org_name.clone()?,
            slug: self.org_slug.clone()?,
        };
        let settings = OrgSettings {
            name: org.name.clone(),
            invitation_lifetime_secs: self.invitation_lifetime_secs?,
            max_pending_invitations: self.max_pending_invitations?,
            max_members: self.max_members?,
            members_may_invite: self.members_may_invite?,
            allowed_email_domains: self.allowed_email_domains.clone()?,
            seats: self.seats,
            require_two_factor: self.require_two_factor?,
        };
        Some((org, settings))
    }
}

/// The account `id` in the organization `slug` (see `InOrg`), and with `session` the
/// record of that session if it has not expired: an organization's page is then
/// authorized in one query, its session read with it.
pub async fn find_in_org(
    db: &Db,
    id: i64,
    slug: &str,
    now: i64,
    session: Option<&str>,
) -> sqlx::Result<Option<InOrg>> {
    // The switcher's organizations, in its order, as a JSON array of [slug, name] pairs.
    let (array, pair) = match db {
        Db::Sqlite(..) => ("json_group_array", "json_array"),
        Db::Postgres(_) => ("json_agg", "json_build_array"),
    };
    let sql = format!(
        "SELECT u.id, u.email, u.name, u.password_hash, u.is_instance_admin, u.status, \
         u.sessions_valid_after, u.two_factor_enabled_at, o.id AS org_id, o.name AS org_name, o.slug AS org_slug, \
         m.id AS membership_id, m.role, m.status AS member_status, m.last_active_at, \
         o.invitation_lifetime_secs, o.max_pending_invitations, o.max_members, \
         o.members_may_invite, o.allowed_email_domains, o.seats, o.require_two_factor, \
         CAST(o.member_count AS BIGINT) AS member_count, CAST({pending} AS BIGINT) AS pending, \
         CASE WHEN m.role = 'owner' THEN \
          (SELECT COUNT(*) FROM memberships om JOIN users ou ON ou.id = om.user_id \
           WHERE om.org_id = o.id AND om.user_id <> u.id AND om.role = 'owner' \
           AND om.status = 'active' AND ou.status = 'active') END AS other_owners, \
         CASE WHEN m.role IN ('owner', 'admin') THEN \
          (SELECT COUNT(*) FROM access_requests ar WHERE ar.org_id = o.id AND ar.state = 'pending') \
         END AS access_requests, \
         (SELECT COALESCE(CAST({array}({pair}(so.slug, so.name) ORDER BY so.name, so.id) AS TEXT), '[]') \
          FROM memberships sm JOIN organizations so ON so.id = sm.org_id \
          WHERE sm.user_id = u.id AND sm.status = 'active') AS org_links, \
         (SELECT s.data FROM {sessions} s WHERE s.id = $4 AND s.expiry_date > $5) AS session_data \
         FROM users u LEFT JOIN organizations o ON o.slug = $2 \
         LEFT JOIN memberships m ON m.org_id = o.id AND m.user_id = u.id WHERE u.id = $1",
        pending = super::invitations::pending_not_expired("o.id", "$3"),
        sessions = super::sessions_table(db),
    );
    // The session store's own test of expiry, with the same type of value.
    let session_now = time::OffsetDateTime::now_utc();
    on_db!(db, pool => sqlx::query_as(&sql)
        .bind(id)
        .bind(slug)
        .bind(now)
        .bind(session)
        .bind(session_now)
        .fetch_optional(pool)
        .await)
}

pub async fn find(db: &Db, id: i64) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(id).fetch_optional(pool).await)
}

/// The email of the account `id`, if it still exists, inside a transaction.
pub async fn email_of(tx: &mut Tx, id: i64) -> sqlx::Result<Option<String>> {
    on_tx!(tx, conn => sqlx::query_scalar("SELECT email FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await)
}

pub async fn find_by_email(db: &Db, email: &Email) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email_normalized = $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(email.normalized()).fetch_optional(pool).await)
}

/// Inserts an account; a taken email is a unique violation (see `db::is_unique_violation`).
/// Only sessions signed in from its creation on are its own: SQLite may give a new
/// account the id of a deleted one, whose old sessions must not carry over.
pub async fn insert(
    tx: &mut Tx,
    email: &Email,
    name: &str,
    password_hash: &str,
    is_instance_admin: bool,
    now: i64,
) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO users (email, email_normalized, name, password_hash, is_instance_admin, created_at, \
         sessions_valid_after) VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(email.as_str())
    .bind(email.normalized())
    .bind(name)
    .bind(password_hash)
    .bind(is_instance_admin)
    .bind(now)
    .fetch_one(&mut *conn)
    .await)
}

pub async fn record_sign_in(tx: &mut Tx, id: i64, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET last_sign_in_at = $1 WHERE id = $2")
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// How the account signs in, as member lists show it: "password" or "sso".
pub async fn set_auth_method(tx: &mut Tx, id: i64, method: &str) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET auth_method = $1 WHERE id = $2")
        .bind(method)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|_| ()))
}

/// One row of the instance's Users page.
#[derive(Clone, Debug, sqlx::FromRow, serde::Deserialize)]
pub struct Listed {
    pub id: i64,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub status: AccountStatus,
    #[serde(deserialize_with = "super::json_bool")]
    pub is_instance_admin: bool,
    pub created_at: i64,
    pub last_sign_in_at: Option<i64>,
    /// When two-factor authentication was turned on; None when it is off.
    pub two_factor_enabled_at: Option<i64>,
}

/// A search of the Users page: the start of an email address or of a name, in any case.
///
/// Matching is a range over an index (`prefix <= value < next`), so it stays fast on a
/// large instance and `%` or `_` in the text are plain characters, not wildcards.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    email_from: String,
    email_to: Option<String>,
    name_from: String,
    name_to: Option<String>,
}

impl Search {
    /// The search for `text` on `db`'s backend, or None for blank text (everyone).
    pub fn new(db: &Db, text: &str) -> Option<Search> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        // Emails are stored lower-cased by Rust's rules. Names are lowered by the
        // database: SQLite's LOWER() folds ASCII letters only, PostgreSQL's all of them.
        let email = text.to_lowercase();
        let name = match db {
            Db::Sqlite(..) => text.to_ascii_lowercase(),
            Db::Postgres(_) => text.to_lowercase(),
        };
        Some(Search {
            email_to: next_prefix(&email),
            email_from: email,
            name_to: next_prefix(&name),
            name_from: name,
        })
    }

    /// The WHERE clause (placeholders from `$first` on) and the values to bind, in order.
    /// On PostgreSQL the comparisons are byte-wise (`COLLATE "C"`), as on SQLite, so that
    /// a range is exactly a prefix under any database collation; migration 0005 indexes
    /// both expressions that way.
    fn clause(&self, db: &Db, first: usize) -> (String, Vec<&str>) {
        let c = match db {
            Db::Sqlite(..) => "",
            Db::Postgres(_) => " COLLATE \"C\"",
        };
        let mut binds: Vec<&str> = Vec::with_capacity(4);
        let mut ranges = Vec::with_capacity(2);
        for (column, from, to) in [
            ("email_normalized", &self.email_from, &self.email_to),
            ("LOWER(name)", &self.name_from, &self.name_to),
        ] {
            binds.push(from);
            let mut range = format!("{column}{c} >= ${}", first + binds.len() - 1);
            if let Some(to) = to {
                binds.push(to);
                range.push_str(&format!(" AND {column}{c} < ${}", first + binds.len() - 1));
            }
            ranges.push(format!("({range})"));
        }
        (format!("({})", ranges.join(" OR ")), binds)
    }
}

/// The smallest string greater than every string that starts with `prefix`, if any.
pub fn next_prefix(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let next = match last {
            '\u{D7FF}' => Some('\u{E000}'),
            c => char::from_u32(c as u32 + 1),
        };
        if let Some(next) = next {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// How many accounts match `search` (all of them without one).
pub async fn count_matching(db: &Db, search: Option<&Search>) -> sqlx::Result<i64> {
    let (clause, binds) = match search {
        Some(s) => s.clause(db, 1),
        None => ("TRUE".to_string(), Vec::new()),
    };
    let sql = format!("SELECT COUNT(*) FROM users WHERE {clause}");
    on_db!(db, pool => {
        let mut query = sqlx::query_scalar(&sql);
        for value in &binds {
            query = query.bind(*value);
        }
        query.fetch_one(pool).await
    })
}

/// A page of the accounts matching `search`, by email address.
pub async fn list_matching(
    db: &Db,
    search: Option<&Search>,
    limit: i64,
    offset: i64,
) -> sqlx::Result<Vec<Listed>> {
    let (clause, binds) = match search {
        Some(s) => s.clause(db, 1),
        None => ("TRUE".to_string(), Vec::new()),
    };
    // Limits are written in, as in `memberships::list`: the first page stays prepared.
    let sql = format!(
        "SELECT id, email, name, status, is_instance_admin, created_at, last_sign_in_at, \
         two_factor_enabled_at FROM users WHERE {clause} ORDER BY email_normalized LIMIT {limit} OFFSET {offset}"
    );
    let values: Vec<Bind> = binds.iter().map(|v| Bind::Text(v.to_string())).collect();
    super::fetch_list(db, &sql, &values, offset == 0).await
}

/// An account read inside a transaction, locked against concurrent changes on
/// PostgreSQL (SQLite's write transaction already excludes other writers).
pub async fn find_for_update(tx: &mut Tx, id: i64) -> sqlx::Result<Option<User>> {
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1{lock}");
    on_tx!(tx, conn => sqlx::query_as(&sql).bind(id).fetch_optional(&mut *conn).await)
}

/// An account by email inside a transaction.
pub async fn find_by_email_in(tx: &mut Tx, email: &Email) -> sqlx::Result<Option<User>> {
    let sql = format!("SELECT {COLUMNS} FROM users WHERE email_normalized = $1");
    on_tx!(tx, conn => sqlx::query_as(&sql).bind(email.normalized()).fetch_optional(&mut *conn).await)
}

/// Deactivates an account and ends every session it has started until `now`, the
/// current second included (see `session_epoch`).
pub async fn deactivate(tx: &mut Tx, id: i64, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET status = 'deactivated', sessions_valid_after = $1 WHERE id = $2",
    )
    .bind(now + 1)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Lets a deactivated account sign in again.
pub async fn activate(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET status = 'active' WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_instance_admin(tx: &mut Tx, id: i64, is_admin: bool) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET is_instance_admin = $1 WHERE id = $2")
        .bind(is_admin)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Active accounts that are instance admins. Take `LockScope::InstanceAdmins` first when
/// the answer decides a change.
pub async fn count_active_admins(tx: &mut Tx) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE is_instance_admin AND status = 'active'",
    )
    .fetch_one(&mut *conn)
    .await)
}

/// Deletes an account. Its memberships and pending CSV imports go with it; invitations
/// it sent, memberships it invited and audit events it made keep a null reference.
pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<bool> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected() == 1))
}

/// The time to record for a session of `user` signed in at `now`. Ending sessions moves
/// `sessions_valid_after` past the current second, so that a session started in that
/// same second ends too; a sign-in later in that second counts from then on.
pub fn session_epoch(user: &User, now: i64) -> i64 {
    now.max(user.sessions_valid_after)
}

/// The account's name, read in the transaction that changes it (row-locked on PostgreSQL;
/// SQLite's `BEGIN IMMEDIATE` already excludes other writers).
pub async fn name_for_update(tx: &mut Tx, id: i64) -> sqlx::Result<Option<String>> {
    let lock = if matches!(tx, Tx::Postgres(_)) {
        " FOR UPDATE"
    } else {
        ""
    };
    let sql = format!("SELECT name FROM users WHERE id = $1{lock}");
    on_tx!(tx, conn => sqlx::query_scalar(&sql).bind(id).fetch_optional(&mut *conn).await)
}

/// Renames the account, and its memberships' copy of the name (their sort key).
pub async fn update_name(tx: &mut Tx, id: i64, name: &str) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE users SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    super::memberships::rename_user(tx, id, name).await
}

/// Replaces the password hash and ends every session signed in up to and including the
/// second `now` (a session that goes on must be signed in again at `now + 1`), but only
/// while the stored hash is still `current_hash` (the one the caller verified): false when
/// another change came first. The account's password reset link stops working.
pub async fn replace_password(
    tx: &mut Tx,
    id: i64,
    current_hash: &str,
    new_hash: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let changed = on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET password_hash = $1, sessions_valid_after = $2 \
         WHERE id = $3 AND password_hash = $4",
    )
    .bind(new_hash)
    .bind(now + 1)
    .bind(id)
    .bind(current_hash)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    if changed == 1 {
        super::password_resets::delete_of_user(tx, id).await?;
    }
    Ok(changed == 1)
}

/// Sets a new password hash on an active account (from a reset link) and ends every
/// session signed in up to and including the second `now`, as `replace_password` does;
/// false when the account is gone or deactivated. Its reset link stops working.
pub async fn reset_password(tx: &mut Tx, id: i64, new_hash: &str, now: i64) -> sqlx::Result<bool> {
    let changed = on_tx!(tx, conn => sqlx::query(
        "UPDATE users SET password_hash = $1, sessions_valid_after = $2 \
         WHERE id = $3 AND status = 'active'",
    )
    .bind(new_hash)
    .bind(now + 1)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    super::password_resets::delete_of_user(tx, id).await?;
    Ok(changed == 1)
}

#[cfg(test)]
mod tests {
    use super::next_prefix;

    #[test]
    fn the_next_prefix_bounds_every_string_that_starts_with_it() {
        assert_eq!(next_prefix("ab").as_deref(), Some("ac"));
        assert_eq!(next_prefix("a_").as_deref(), Some("a`"));
        assert_eq!(next_prefix("z\u{D7FF}").as_deref(), Some("z\u{E000}"));
        assert_eq!(next_prefix("b\u{10FFFF}").as_deref(), Some("c"));
        assert_eq!(next_prefix("\u{10FFFF}"), None);
        assert_eq!(next_prefix(""), None);
        let (from, to) = ("ada", next_prefix("ada").unwrap());
        for inside in ["ada", "ada@example.com", "adaz\u{10FFFF}"] {
            assert!(from <= inside && inside < to.as_str(), "{inside}");
        }
        assert!("adb" >= to.as_str());
    }
}
