//! SCIM provisioning: the organization's token and default role (`org_scim`), members as
//! SCIM Users (the SCIM columns of `memberships`), teams as SCIM Groups, and the SCIM
//! filters of both, written as SQL.

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};

use super::{Bind, Db, Reader, Tx, bind_all, on_db, on_reader, on_tx};
use crate::domain::{MemberStatus, Role};

/// The organization's SCIM settings.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct OrgScim {
    pub org_id: i64,
    pub has_token: bool,
    pub token_created_at: Option<i64>,
    pub token_created_by: Option<String>,
    pub token_used_at: Option<i64>,
    #[sqlx(try_from = "String")]
    pub default_role: Role,
}

pub async fn settings(db: &Db, org_id: i64) -> sqlx::Result<Option<OrgScim>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT s.org_id, s.token_hash IS NOT NULL AS has_token, s.token_created_at, \
         u.email AS token_created_by, s.token_used_at, s.default_role \
         FROM org_scim s LEFT JOIN users u ON u.id = s.token_created_by WHERE s.org_id = $1",
    )
    .bind(org_id)
    .fetch_optional(pool)
    .await)
}

/// The default role of new members, inside a transaction (Member when never set).
pub async fn default_role(tx: &mut Tx, org_id: i64) -> sqlx::Result<Role> {
    let role: Option<String> = on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT default_role FROM org_scim WHERE org_id = $1",
    )
    .bind(org_id)
    .fetch_optional(&mut *conn)
    .await)?;
    Ok(role.and_then(|r| r.parse().ok()).unwrap_or(Role::Member))
}

/// Stores a new token hash (replacing any), made by `user_id`.
pub async fn set_token(
    tx: &mut Tx,
    org_id: i64,
    token_hash: &str,
    user_id: Option<i64>,
    now: i64,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO org_scim (org_id, token_hash, token_created_at, token_created_by, updated_at) \
         VALUES ($1, $2, $3, $4, $3) \
         ON CONFLICT (org_id) DO UPDATE SET token_hash = $2, token_created_at = $3, \
         token_created_by = $4, token_used_at = NULL, updated_at = $3",
    )
    .bind(org_id)
    .bind(token_hash)
    .bind(now)
    .bind(user_id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Forgets the token; true when there was one.
pub async fn revoke_token(tx: &mut Tx, org_id: i64, now: i64) -> sqlx::Result<bool> {
    let done = on_tx!(tx, conn => sqlx::query(
        "UPDATE org_scim SET token_hash = NULL, token_created_at = NULL, token_created_by = NULL, \
         token_used_at = NULL, updated_at = $2 WHERE org_id = $1 AND token_hash IS NOT NULL",
    )
    .bind(org_id)
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(done > 0)
}

pub async fn set_default_role(tx: &mut Tx, org_id: i64, role: Role, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO org_scim (org_id, default_role, updated_at) VALUES ($1, $2, $3) \
         ON CONFLICT (org_id) DO UPDATE SET default_role = $2, updated_at = $3",
    )
    .bind(org_id)
    .bind(role.as_str())
    .bind(now)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The organization a token hash belongs to: (id, name, slug, last use).
pub async fn credential(
    db: &Db,
    token_hash: &str,
) -> sqlx::Result<Option<(i64, String, String, Option<i64>)>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT o.id, o.name, o.slug, s.token_used_at FROM org_scim s \
         JOIN organizations o ON o.id = s.org_id WHERE s.token_hash = $1",
    )
    .bind(token_hash)
    .fetch_optional(pool)
    .await)
}

/// Records that the token was used (at most once a minute).
pub async fn touch(db: &Db, org_id: i64, now: i64) -> sqlx::Result<()> {
    let _turn = db.writer_turn().await?;
    on_db!(db, pool => sqlx::query(
        "UPDATE org_scim SET token_used_at = $1 WHERE org_id = $2 \
         AND (token_used_at IS NULL OR token_used_at <= $3)",
    )
    .bind(now)
    .bind(org_id)
    .bind(now - 60)
    .execute(pool)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A member as a SCIM User, as stored.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub user_id: i64,
    /// The account's address and name.
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[sqlx(try_from = "String")]
    pub status: MemberStatus,
    pub joined_at: i64,
    pub updated_at: Option<i64>,
    pub user_name: Option<String>,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    pub scim_email: Option<String>,
    pub scim_email_primary: Option<bool>,
}

const USER: &str = "SELECT m.id, m.user_id, u.email, u.name, m.role, m.status, m.joined_at, \
                    m.updated_at, m.user_name, m.external_id, m.given_name, m.family_name, \
                    m.display_name, m.scim_email, m.scim_email_primary \
                    FROM memberships m JOIN users u ON u.id = m.user_id";

/// One member of the organization as a SCIM User.
pub async fn user<'a>(
    reader: impl Into<Reader<'a>>,
    org_id: i64,
    id: i64,
) -> sqlx::Result<Option<UserRow>> {
    let mut reader = reader.into();
    let sql = format!("{USER} WHERE m.org_id = $1 AND m.id = $2");
    on_reader!(&mut reader, ex => sqlx::query_as(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(ex)
        .await)
}

/// The member (other than `except`) whose userName is `key` (lower-cased), or whose
/// address as a SCIM User is `email_key` (lower-cased): who a new userName or address
/// would collide with. Returns (id, "userName" or "emails").
pub async fn collision(
    tx: &mut Tx,
    org_id: i64,
    key: &str,
    email_key: &str,
    except: Option<i64>,
) -> sqlx::Result<Option<(i64, String)>> {
    on_tx!(tx, conn => sqlx::query_as(
        "SELECT m.id, CASE WHEN m.user_name_key = $2 THEN 'userName' ELSE 'emails' END \
         FROM memberships m WHERE m.org_id = $1 AND m.id <> $4 \
         AND (m.user_name_key = $2 OR m.sort_email = $3 OR LOWER(m.scim_email) = $3) LIMIT 1",
    )
    .bind(org_id)
    .bind(key)
    .bind(email_key)
    .bind(except.unwrap_or(0))
    .fetch_optional(&mut *conn)
    .await)
}

/// The SCIM profile of a member as the identity provider last sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Profile {
    pub user_name: String,
    pub external_id: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// The address sent, when it is not the account's.
    pub scim_email: Option<String>,
    /// Its `primary` flag, when one was sent.
    pub scim_email_primary: Option<bool>,
}

pub async fn set_profile(tx: &mut Tx, id: i64, p: &Profile, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE memberships SET user_name = $1, user_name_key = $2, external_id = $3, \
         given_name = $4, family_name = $5, display_name = $6, scim_email = $7, updated_at = $8, \
         scim_email_primary = $10 WHERE id = $9",
    )
    .bind(&p.user_name)
    .bind(p.user_name.to_lowercase())
    .bind(&p.external_id)
    .bind(&p.given_name)
    .bind(&p.family_name)
    .bind(&p.display_name)
    .bind(&p.scim_email)
    .bind(now)
    .bind(id)
    .bind(p.scim_email_primary)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The teams (id, name) of each of the members `ids`.
pub async fn groups_of(db: &Db, ids: &[i64]) -> sqlx::Result<Vec<(i64, i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = format!(
        "SELECT tm.membership_id, t.id, t.name FROM team_members tm JOIN teams t ON t.id = tm.team_id \
         WHERE tm.membership_id IN ({list}) ORDER BY t.name_key, t.id"
    );
    on_db!(db, pool => sqlx::query_as(&sql).fetch_all(pool).await)
}

/// A team as a SCIM Group.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub external_id: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

const GROUP: &str = "SELECT t.id, t.name, t.external_id, t.created_at, t.updated_at FROM teams t";

pub async fn group<'a>(
    reader: impl Into<Reader<'a>>,
    org_id: i64,
    id: i64,
) -> sqlx::Result<Option<GroupRow>> {
    let mut reader = reader.into();
    let sql = format!("{GROUP} WHERE t.org_id = $1 AND t.id = $2");
    on_reader!(&mut reader, ex => sqlx::query_as(&sql)
        .bind(org_id)
        .bind(id)
        .fetch_optional(ex)
        .await)
}

/// The members (membership id, account address) of each of the teams `ids`.
pub async fn members_of<'a>(
    reader: impl Into<Reader<'a>>,
    ids: &[i64],
) -> sqlx::Result<Vec<(i64, i64, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut reader = reader.into();
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = format!(
        "SELECT tm.team_id, m.id, COALESCE(m.user_name, u.email) FROM team_members tm \
         JOIN memberships m ON m.id = tm.membership_id JOIN users u ON u.id = m.user_id \
         WHERE tm.team_id IN ({list}) ORDER BY tm.team_id, m.id"
    );
    on_reader!(&mut reader, ex => sqlx::query_as(&sql).fetch_all(ex).await)
}

pub async fn set_group_external_id(
    tx: &mut Tx,
    id: i64,
    external_id: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE teams SET external_id = $1, updated_at = $2 WHERE id = $3")
        .bind(external_id)
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Which of `ids` are members of the organization.
pub async fn members_in_org(tx: &mut Tx, org_id: i64, ids: &[i64]) -> sqlx::Result<Vec<i64>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let list = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
    let sql = format!("SELECT id FROM memberships WHERE org_id = $1 AND id IN ({list})");
    on_tx!(tx, conn => sqlx::query_scalar(&sql).bind(org_id).fetch_all(&mut *conn).await)
}

/// What a Group's id starts with (a User's is a bare number).
pub const GROUP_ID_PREFIX: &str = "team-";

/// A SCIM filter Roster cannot answer, in words for `invalidFilter`.
#[derive(Debug)]
pub struct Unsupported(pub String);

/// What a list asks for: the filter, the order, and the page (0-based offset).
pub struct ListQuery<'a> {
    pub filter: Option<&'a Filter>,
    /// An attribute name from `sortBy` (None: by id), and whether descending.
    pub sort_by: Option<&'a str>,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
    /// A search across both resource types: an attribute only the other type has
    /// matches nothing here, instead of being refused.
    pub across_types: bool,
}

/// How a filter becomes SQL: for which backend, and in a search across types.
#[derive(Clone, Copy)]
struct How {
    sqlite: bool,
    across: bool,
}

/// A page of the organization's members as SCIM Users, and how many match in all.
pub async fn list_users(
    db: &Db,
    org_id: i64,
    q: &ListQuery<'_>,
) -> Result<(Vec<UserRow>, i64), ListError> {
    list(db, &USERS, org_id, q).await
}

/// A page of the organization's teams as SCIM Groups, and how many match in all.
pub async fn list_groups(
    db: &Db,
    org_id: i64,
    q: &ListQuery<'_>,
) -> Result<(Vec<GroupRow>, i64), ListError> {
    list(db, &GROUPS, org_id, q).await
}

async fn list<T>(
    db: &Db,
    attrs: &'static Attributes,
    org_id: i64,
    q: &ListQuery<'_>,
) -> Result<(Vec<T>, i64), ListError>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
        + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>
        + Send
        + Unpin,
{
    let how = How {
        sqlite: matches!(db, Db::Sqlite(..)),
        across: q.across_types,
    };
    let mut binds = vec![Bind::Int(org_id)];
    let mut clause = String::new();
    if let Some(filter) = q.filter {
        clause = format!(" AND {}", where_filter(filter, attrs, how, &mut binds)?);
    }
    let order = sort_column(attrs, q.sort_by)?;
    let dir = if q.descending { "DESC" } else { "ASC" };
    let (from, key) = (attrs.from, attrs.key);
    let count_sql = format!("SELECT COUNT(*) FROM {from} WHERE {key}.org_id = $1{clause}");
    let total: i64 = on_db!(db, pool => bind_all!(sqlx::query_scalar(&count_sql), &binds)
        .fetch_one(pool)
        .await)?;
    if q.limit == 0 {
        return Ok((Vec::new(), total));
    }
    let sql = format!(
        "{} WHERE {key}.org_id = $1{clause} ORDER BY {order} {dir}, {key}.id {dir} LIMIT {} OFFSET {}",
        attrs.select, q.limit, q.offset
    );
    let rows = on_db!(db, pool => bind_all!(sqlx::query_as(&sql), &binds).fetch_all(pool).await)?;
    Ok((rows, total))
}

/// Why a list failed: a filter or sort Roster cannot answer, or the database.
#[derive(Debug)]
pub enum ListError {
    Unsupported(Unsupported),
    Db(sqlx::Error),
}

impl From<Unsupported> for ListError {
    fn from(u: Unsupported) -> Self {
        ListError::Unsupported(u)
    }
}

impl From<sqlx::Error> for ListError {
    fn from(e: sqlx::Error) -> Self {
        ListError::Db(e)
    }
}

/// How an attribute compares.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Text compared without regard to case: the SQL is already lower-cased.
    Text,
    /// Text compared exactly.
    ExactText,
    /// A date-time: the SQL is seconds since the epoch.
    Time,
    /// The member's status.
    Active,
    /// An id (a number sent as a string).
    Id,
    /// Always present, never compared (a complex attribute as a whole).
    Present,
}

/// The attributes a filter may name on one resource: (name, sub-attribute, SQL, kind).
struct Attributes {
    list: &'static [(&'static str, Option<&'static str>, &'static str, Kind)],
    /// The related resources' attribute (`members` of Groups, `groups` of Users), with
    /// the SQL of "has any" and of "has the one with id {}".
    relation: (&'static str, &'static str, &'static str),
    /// What the ids of these resources, and of the related ones, start with.
    id_prefix: &'static str,
    related_id_prefix: &'static str,
    /// The rows' SELECT, their FROM, and the alias of the table whose ids they are.
    select: &'static str,
    from: &'static str,
    key: &'static str,
}

static USERS: Attributes = Attributes {
    list: &[
        ("id", None, "m.id", Kind::Id),
        ("userName", None, "m.user_name_key", Kind::Text),
        ("externalId", None, "m.external_id", Kind::ExactText),
        (
            "displayName",
            None,
            // A member the provider did not create goes by their account's name.
            "LOWER(CASE WHEN m.user_name IS NULL THEN u.name ELSE m.display_name END)",
            Kind::Text,
        ),
        ("name", Some("givenName"), "LOWER(m.given_name)", Kind::Text),
        (
            "name",
            Some("familyName"),
            "LOWER(m.family_name)",
            Kind::Text,
        ),
        ("name", None, "", Kind::Present),
        (
            "emails",
            Some("value"),
            "COALESCE(LOWER(m.scim_email), m.sort_email)",
            Kind::Text,
        ),
        (
            "emails",
            None,
            "COALESCE(LOWER(m.scim_email), m.sort_email)",
            Kind::Text,
        ),
        ("active", None, "m.status", Kind::Active),
        ("meta", Some("created"), "m.joined_at", Kind::Time),
        (
            "meta",
            Some("lastModified"),
            "COALESCE(m.updated_at, m.joined_at)",
            Kind::Time,
        ),
    ],
    relation: (
        "groups",
        "EXISTS (SELECT 1 FROM team_members tm WHERE tm.membership_id = m.id)",
        "EXISTS (SELECT 1 FROM team_members tm WHERE tm.membership_id = m.id AND tm.team_id = {})",
    ),
    id_prefix: "",
    related_id_prefix: GROUP_ID_PREFIX,
    select: USER,
    from: "memberships m JOIN users u ON u.id = m.user_id",
    key: "m",
};

static GROUPS: Attributes = Attributes {
    list: &[
        ("id", None, "t.id", Kind::Id),
        ("displayName", None, "t.name_key", Kind::Text),
        ("externalId", None, "t.external_id", Kind::ExactText),
        ("meta", Some("created"), "t.created_at", Kind::Time),
        ("meta", Some("lastModified"), "t.updated_at", Kind::Time),
    ],
    relation: (
        "members",
        "EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = t.id)",
        "EXISTS (SELECT 1 FROM team_members tm WHERE tm.team_id = t.id AND tm.membership_id = {})",
    ),
    id_prefix: GROUP_ID_PREFIX,
    related_id_prefix: "",
    select: GROUP,
    from: "teams t",
    key: "t",
};

const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

/// The SQL and kind of `path` on `attrs`.
fn column(attrs: &Attributes, path: &AttrPath) -> Result<(&'static str, Kind), Unsupported> {
    if let Some(uri) = &path.uri
        && !uri.eq_ignore_ascii_case(CORE_USER)
        && !uri.eq_ignore_ascii_case(CORE_GROUP)
    {
        return Err(Unsupported(format!(
            "Roster cannot filter by attributes of {uri}."
        )));
    }
    let sub = path.sub_attr.as_deref();
    attrs
        .list
        .iter()
        .find(|(name, s, _, _)| {
            name.eq_ignore_ascii_case(&path.name)
                && match (s, sub) {
                    (None, None) => true,
                    (Some(s), Some(sub)) => s.eq_ignore_ascii_case(sub),
                    _ => false,
                }
        })
        .map(|(_, _, sql, kind)| (*sql, *kind))
        .ok_or_else(|| Unsupported(format!("Roster cannot filter by {path}.")))
}

/// The attributes of the other resource type.
fn other(attrs: &Attributes) -> &'static Attributes {
    if std::ptr::eq(attrs, &USERS) {
        &GROUPS
    } else {
        &USERS
    }
}

fn sort_column(attrs: &Attributes, sort_by: Option<&str>) -> Result<&'static str, Unsupported> {
    let Some(sort_by) = sort_by else {
        return Ok(if std::ptr::eq(attrs, &USERS) {
            "m.id"
        } else {
            "t.id"
        });
    };
    let filter: Filter = format!("{sort_by} pr")
        .parse()
        .map_err(|_| Unsupported(format!("sortBy {sort_by:?} is not an attribute.")))?;
    let Filter::Attr(AttrExp::Present(path)) = filter else {
        return Err(Unsupported(format!(
            "sortBy {sort_by:?} is not an attribute."
        )));
    };
    match column(attrs, &path)? {
        (_, Kind::Present) => Err(Unsupported(format!("Roster cannot sort by {sort_by}."))),
        (sql, _) => Ok(sql),
    }
}

/// `filter` as a SQL condition on `attrs`, its values appended to `binds` (numbered
/// after those already there).
fn where_filter(
    filter: &Filter,
    attrs: &Attributes,
    how: How,
    binds: &mut Vec<Bind>,
) -> Result<String, Unsupported> {
    Ok(match filter {
        Filter::Attr(exp) => attr_exp(exp, None, attrs, how, binds)?,
        Filter::Not(inner) => format!("NOT ({})", where_filter(inner, attrs, how, binds)?),
        Filter::And(items) => join(items.iter(), " AND ", |f| {
            where_filter(f, attrs, how, binds)
        })?,
        Filter::Or(items) => join(items.iter(), " OR ", |f| where_filter(f, attrs, how, binds))?,
        Filter::ValuePath(vp) => val_filter(&vp.filter, &vp.attr, attrs, how, binds)?,
    })
}

fn val_filter(
    filter: &ValFilter,
    outer: &AttrPath,
    attrs: &Attributes,
    how: How,
    binds: &mut Vec<Bind>,
) -> Result<String, Unsupported> {
    Ok(match filter {
        ValFilter::Attr(exp) => attr_exp(exp, Some(outer), attrs, how, binds)?,
        ValFilter::Not(inner) => {
            format!("NOT ({})", val_filter(inner, outer, attrs, how, binds)?)
        }
        ValFilter::And(items) => join(items.iter(), " AND ", |f| {
            val_filter(f, outer, attrs, how, binds)
        })?,
        ValFilter::Or(items) => join(items.iter(), " OR ", |f| {
            val_filter(f, outer, attrs, how, binds)
        })?,
    })
}

fn join<'f, T: 'f>(
    items: impl Iterator<Item = &'f T>,
    sep: &str,
    mut each: impl FnMut(&'f T) -> Result<String, Unsupported>,
) -> Result<String, Unsupported> {
    let parts = items
        .map(|f| each(f).map(|s| format!("({s})")))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(parts.join(sep))
}

/// One comparison; inside `emails[...]` or `members[...]` (`outer`), its attribute is a
/// sub-attribute of the outer one.
fn attr_exp(
    exp: &AttrExp,
    outer: Option<&AttrPath>,
    attrs: &Attributes,
    how: How,
    binds: &mut Vec<Bind>,
) -> Result<String, Unsupported> {
    let (path, op, value) = match exp {
        AttrExp::Present(path) => (path, None, None),
        AttrExp::Comparison(path, op, value) => (path, Some(op.clone()), Some(value)),
    };
    let path = match outer {
        Some(outer) => AttrPath {
            uri: outer.uri.clone(),
            name: outer.name.clone(),
            sub_attr: Some(path.name.clone()),
        },
        None => path.clone(),
    };
    let sub = path.sub_attr.as_deref().unwrap_or("value");
    // A member's one address is their work address, and primary.
    if path.name.eq_ignore_ascii_case("emails") && !sub.eq_ignore_ascii_case("value") {
        let truth = match (sub.to_ascii_lowercase().as_str(), op, value) {
            (_, None, _) => true,
            ("type", Some(CompareOp::Eq), Some(CompValue::Str(s))) => {
                s.eq_ignore_ascii_case("work")
            }
            ("type", Some(CompareOp::Ne), Some(CompValue::Str(s))) => {
                !s.eq_ignore_ascii_case("work")
            }
            ("primary", Some(CompareOp::Eq), Some(CompValue::True)) => true,
            ("primary", Some(CompareOp::Eq), Some(CompValue::False)) => false,
            _ => {
                return Err(Unsupported(format!(
                    "Roster cannot filter by {path} that way."
                )));
            }
        };
        return Ok(if truth { "1 = 1" } else { "1 = 0" }.into());
    }
    let (rel_name, rel_any, rel_sql) = attrs.relation;
    if path.name.eq_ignore_ascii_case(rel_name) && sub.eq_ignore_ascii_case("value") {
        return match (op, value) {
            (None, _) => Ok(rel_any.into()),
            (Some(CompareOp::Eq), Some(CompValue::Str(id))) => {
                let id = id_number(id, attrs.related_id_prefix);
                binds.push(Bind::Int(id));
                Ok(rel_sql.replace("{}", &format!("${}", binds.len())))
            }
            _ => Err(Unsupported(format!(
                "Roster filters {rel_name} only with eq on the id."
            ))),
        };
    }
    let (sql, kind) = match column(attrs, &path) {
        Ok(found) => found,
        Err(_) if how.across && column(other(attrs), &path).is_ok() => return Ok("1 = 0".into()),
        Err(refused) => return Err(refused),
    };
    let Some(op) = op else {
        return Ok(match kind {
            Kind::ExactText | Kind::Text => format!("({sql} IS NOT NULL AND {sql} <> '')"),
            _ => "1 = 1".into(),
        });
    };
    let value = value.expect("a comparison has a value");
    match kind {
        Kind::Present => Err(Unsupported(format!(
            "Roster compares {path} only by its sub-attributes."
        ))),
        Kind::Active => {
            let wanted = match value {
                CompValue::True => true,
                CompValue::False => false,
                CompValue::Str(s) if s.eq_ignore_ascii_case("true") => true,
                CompValue::Str(s) if s.eq_ignore_ascii_case("false") => false,
                _ => return Err(Unsupported("active compares with true or false.".into())),
            };
            let status = |active: bool| {
                if active {
                    MemberStatus::Active.as_str()
                } else {
                    MemberStatus::Inactive.as_str()
                }
            };
            match op {
                CompareOp::Eq => Ok(format!("{sql} = '{}'", status(wanted))),
                CompareOp::Ne => Ok(format!("{sql} = '{}'", status(!wanted))),
                _ => Err(Unsupported("active compares only with eq or ne.".into())),
            }
        }
        Kind::Id => {
            let CompValue::Str(id) = value else {
                return Err(Unsupported("An id compares with a string.".into()));
            };
            let id = id_number(id, attrs.id_prefix);
            binds.push(Bind::Int(id));
            let n = binds.len();
            match op {
                CompareOp::Eq => Ok(format!("{sql} = ${n}")),
                CompareOp::Ne => Ok(format!("{sql} <> ${n}")),
                _ => Err(Unsupported("An id compares only with eq or ne.".into())),
            }
        }
        Kind::Time => {
            let CompValue::Str(text) = value else {
                return Err(Unsupported(format!(
                    "{path} compares with a date-time string."
                )));
            };
            let at = crate::clock::parse_rfc3339(text).ok_or_else(|| {
                Unsupported(format!(
                    "{text:?} is not a date-time (such as 2026-12-03T10:00:00Z)."
                ))
            })?;
            binds.push(Bind::Int(at));
            let n = binds.len();
            let sign = match op {
                CompareOp::Eq => "=",
                CompareOp::Ne => "<>",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                _ => {
                    return Err(Unsupported(format!(
                        "{path} compares with eq, ne, gt, ge, lt or le."
                    )));
                }
            };
            Ok(format!("{sql} {sign} ${n}"))
        }
        Kind::Text | Kind::ExactText => {
            let text = match value {
                CompValue::Str(s) => s.clone(),
                CompValue::Null if op == CompareOp::Eq => return Ok(format!("{sql} IS NULL")),
                CompValue::Null if op == CompareOp::Ne => return Ok(format!("{sql} IS NOT NULL")),
                _ => return Err(Unsupported(format!("{path} compares with a string."))),
            };
            let exact = kind == Kind::ExactText;
            let text = if exact { text } else { text.to_lowercase() };
            let like = |pattern: String, binds: &mut Vec<Bind>| {
                binds.push(Bind::Text(pattern));
                let n = binds.len();
                if exact && how.sqlite {
                    // SQLite's LIKE ignores ASCII case; GLOB does not.
                    format!("{sql} GLOB ${n}")
                } else {
                    format!("{sql} LIKE ${n} ESCAPE '\\'")
                }
            };
            let escaped = if exact && how.sqlite {
                glob_escape(&text)
            } else {
                like_escape(&text)
            };
            let any = if exact && how.sqlite { "*" } else { "%" };
            Ok(match op {
                CompareOp::Eq => {
                    binds.push(Bind::Text(text));
                    format!("{sql} = ${}", binds.len())
                }
                CompareOp::Ne => {
                    binds.push(Bind::Text(text));
                    format!("({sql} IS NULL OR {sql} <> ${})", binds.len())
                }
                CompareOp::Co => like(format!("{any}{escaped}{any}"), binds),
                CompareOp::Sw => like(format!("{escaped}{any}"), binds),
                CompareOp::Ew => like(format!("{any}{escaped}"), binds),
                CompareOp::Gt | CompareOp::Ge | CompareOp::Lt | CompareOp::Le => {
                    let sign = match op {
                        CompareOp::Gt => ">",
                        CompareOp::Ge => ">=",
                        CompareOp::Lt => "<",
                        _ => "<=",
                    };
                    binds.push(Bind::Text(text));
                    format!("{sql} {sign} ${}", binds.len())
                }
            })
        }
    }
}

/// The number of an id with its prefix; -1 (no row) for any other text.
fn id_number(id: &str, prefix: &str) -> i64 {
    id.strip_prefix(prefix)
        .and_then(|n| n.parse::<i64>().ok())
        .unwrap_or(-1)
}

fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn glob_escape(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '*' => "[*]".to_string(),
            '?' => "[?]".to_string(),
            '[' => "[[]".to_string(),
            c => c.to_string(),
        })
        .collect()
}
