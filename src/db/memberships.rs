use super::{Bind, Db, Reader, Tx, bind_all, on_db, on_reader, on_tx};
use crate::domain::{MemberStatus, Role};

/// The signed-in user's own membership, as needed to authorize a request.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Membership {
    pub id: i64,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[sqlx(try_from = "String")]
    pub status: MemberStatus,
    pub last_active_at: Option<i64>,
}

/// A member as a change to their membership needs them.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Target {
    pub id: i64,
    pub user_id: i64,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    #[sqlx(try_from = "String")]
    pub status: MemberStatus,
    pub has_seat: bool,
    /// The last day of access (`domain::access::AccessUntil`), if it ends.
    pub access_until: Option<i64>,
}

/// One row of the Members page: a member or a pending invitation.
#[derive(Clone, Debug, sqlx::FromRow, serde::Deserialize)]
pub struct MemberRow {
    /// The membership's id, or the invitation's.
    pub id: i64,
    pub email: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub role: Role,
    /// A member's status, or that the row is an invitation (the query's `kind` column
    /// says the same; its status column holds "invited").
    #[sqlx(try_from = "String")]
    pub status: RowStatus,
    /// When the member joined, or when the invitation was sent.
    pub joined_at: i64,
    pub last_active_at: Option<i64>,
    pub auth_method: String,
    pub invited_by: Option<i64>,
    #[serde(deserialize_with = "super::json_bool")]
    pub has_seat: bool,
    /// Whether the member's account has a second factor (false for an invitation).
    #[serde(deserialize_with = "super::json_bool")]
    pub two_factor: bool,
    /// Whether the member's account may sign in: an instance admin can deactivate an
    /// account whatever its memberships say (true for an invitation).
    #[serde(deserialize_with = "super::json_bool")]
    pub account_active: bool,
    /// A member's last day of access, if it ends (None for an invitation).
    pub access_until: Option<i64>,
    /// The row's key in the order it was listed in, as text (None: no key).
    #[sqlx(default)]
    #[serde(default)]
    pub sort_key: Option<String>,
    /// How many rows match in all, when the listing asked for it (`Listing::counted`).
    #[sqlx(default)]
    #[serde(default)]
    pub matching: Option<i64>,
    /// The identity provider a member signs in with ("sso"), by name: filled in by
    /// `members::reads`, not by the list's query.
    #[sqlx(skip)]
    #[serde(skip)]
    pub sso_provider: Option<String>,
}

impl MemberRow {
    pub fn is_invitation(&self) -> bool {
        self.status == RowStatus::Invited
    }
}

/// What a row of the Members page is: a member with their status, or a pending
/// invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub enum RowStatus {
    Member(MemberStatus),
    Invited,
}

impl RowStatus {
    /// The member's status; None for an invitation.
    pub fn member(self) -> Option<MemberStatus> {
        match self {
            RowStatus::Member(status) => Some(status),
            RowStatus::Invited => None,
        }
    }
}

impl TryFrom<String> for RowStatus {
    type Error = crate::domain::member::UnknownStatus;

    fn try_from(s: String) -> Result<RowStatus, Self::Error> {
        match s.as_str() {
            "invited" => Ok(RowStatus::Invited),
            _ => MemberStatus::try_from(s).map(RowStatus::Member),
        }
    }
}

/// Which rows of the Members page to show.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Text to find in emails and names, lower-cased.
    pub search: Option<String>,
    pub role: Option<Role>,
    /// Which rows by status; None keeps members and invitations alike.
    pub status: Option<StatusFilter>,
    /// Members whose account has (true) or lacks (false) a second factor; no invitations.
    pub two_factor: Option<bool>,
    /// Members of this team (of the organization); no invitations.
    pub team: Option<i64>,
}

/// Which rows of the Members page a status filter keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Members with this status; no invitations.
    Member(MemberStatus),
    /// Every member, active or not; no invitations (they have their own list).
    Members,
    /// Pending invitations only.
    Invited,
}

/// The orders the Members page offers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sort {
    #[default]
    Joined,
    Email,
    Name,
    LastActive,
}

impl Sort {
    pub const ALL: [Sort; 4] = [Sort::Joined, Sort::Email, Sort::Name, Sort::LastActive];

    pub fn as_str(self) -> &'static str {
        match self {
            Sort::Joined => "joined",
            Sort::Email => "email",
            Sort::Name => "name",
            Sort::LastActive => "active",
        }
    }

    pub fn parse(s: &str) -> Option<Sort> {
        Sort::ALL.into_iter().find(|sort| sort.as_str() == s)
    }

    /// Whether the key is a number (a time) rather than text.
    fn numeric(self) -> bool {
        matches!(self, Sort::Joined | Sort::LastActive)
    }

    /// The key of a member row and of an invitation row.
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            Sort::Joined => ("m.joined_at", "i.created_at"),
            Sort::Email => ("m.sort_email", "i.email_normalized"),
            // A typed constant: SQLite merges the two ordered halves only then.
            Sort::Name => ("m.sort_name", "CAST('' AS TEXT)"),
            Sort::LastActive => ("m.last_active_at", "CAST(NULL AS BIGINT)"),
        }
    }
}

/// Where a page of the Members page starts.
#[derive(Clone, Debug)]
pub enum Start {
    /// Skip `offset` rows of the `total` that match. A page nearer the end than the start
    /// is read backwards from the end, so that no page costs more than the middle one
    /// (when the total is known).
    Offset { offset: i64, total: Option<i64> },
    /// The rows just after this one, in the page's order (a "Next" link).
    After(Cursor),
    /// The rows just before this one (a "Previous" link).
    Before(Cursor),
}

/// A row of the Members page as a place in its order: its sort key, id and kind. Links
/// to the next and previous pages carry one, so that they cost what the first page
/// costs however deep they are (keyset pagination).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    invitation: bool,
    id: i64,
    key: Key,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Key {
    Null,
    Int(i64),
    Text(String),
}

impl Cursor {
    /// The place of `row` in a listing sorted by `sort`.
    pub fn of(row: &MemberRow, sort: Sort) -> Cursor {
        let key = match (&row.sort_key, sort.numeric()) {
            (None, _) => Key::Null,
            (Some(k), true) => k.parse().map_or(Key::Null, Key::Int),
            (Some(k), false) => Key::Text(k.clone()),
        };
        Cursor {
            invitation: row.is_invitation(),
            id: row.id,
            key,
        }
    }

    /// Reads a cursor written by `param` for a listing sorted by `sort`: "m12" or "i7"
    /// for a row without a key, "m12:key" otherwise.
    pub fn parse(s: &str, sort: Sort) -> Option<Cursor> {
        // A key with a control character was never written by `param` (and a NUL
        // would reach PostgreSQL): no cursor, so the listing goes by page number.
        if s.chars().any(crate::domain::text::is_control) {
            return None;
        }
        let (head, key) = match s.split_once(':') {
            Some((head, key)) => (head, Some(key)),
            None => (s, None),
        };
        let invitation = match head.get(..1)? {
            "m" => false,
            "i" => true,
            _ => return None,
        };
        let id = head[1..].parse().ok()?;
        let key = match key {
            None => Key::Null,
            Some(k) if sort.numeric() => Key::Int(k.parse().ok()?),
            Some(k) => Key::Text(k.to_string()),
        };
        Some(Cursor {
            invitation,
            id,
            key,
        })
    }

    /// The cursor as a query-string value (not yet URL-encoded).
    pub fn param(&self) -> String {
        let kind = if self.invitation { 'i' } else { 'm' };
        match &self.key {
            Key::Null => format!("{kind}{}", self.id),
            Key::Int(k) => format!("{kind}{}:{k}", self.id),
            Key::Text(k) => format!("{kind}{}:{k}", self.id),
        }
    }

    /// The condition that a row of one half (`invitation` or member rows, whose key is
    /// `key`) comes after this cursor in the order (key, id, kind), ascending or not,
    /// with the binds it adds to `values`. Rows without a key (never active) come first
    /// ascending and last descending.
    fn after(
        &self,
        key: &str,
        id: &str,
        invitation: bool,
        descending: bool,
        values: &mut Vec<Bind>,
    ) -> String {
        let op = if descending { "<" } else { ">" };
        // Among equal keys and ids, member rows come before invitations (ascending).
        let later_kind = if descending {
            !invitation && self.invitation
        } else {
            invitation && !self.invitation
        };
        let tie = if later_kind { "=" } else { "" };
        values.push(Bind::Int(self.id));
        let id_n = values.len();
        match (&self.key, descending) {
            (Key::Null, false) => {
                format!("(({key} IS NULL AND {id} {op}{tie} ${id_n}) OR {key} IS NOT NULL)")
            }
            (Key::Null, true) => format!("({key} IS NULL AND {id} {op}{tie} ${id_n})"),
            (k, _) => {
                values.push(match k {
                    Key::Int(v) => Bind::Int(*v),
                    Key::Text(v) => Bind::Text(v.clone()),
                    Key::Null => unreachable!(),
                });
                let row = format!("({key}, {id}) {op}{tie} (${}, ${id_n})", values.len());
                if descending {
                    format!("({row} OR {key} IS NULL)")
                } else {
                    row
                }
            }
        }
    }
}

/// An FTS5 query for the trigram index (migration 0011) that finds every text containing
/// `search`, and a few more: its trigrams side by side, and the last one (None: fewer
/// than three characters, which the index cannot find).
fn trigram_terms(search: &str) -> Option<String> {
    let chars: Vec<char> = search.chars().collect();
    let last = chars.len().checked_sub(3)?;
    let mut starts: Vec<usize> = (0..=last).step_by(3).collect();
    if last % 3 != 0 {
        starts.push(last);
    }
    let terms: Vec<String> = starts
        .into_iter()
        .map(|i| {
            let trigram: String = chars[i..i + 3].iter().collect();
            format!("\"{}\"", trigram.replace('"', "\"\""))
        })
        .collect();
    Some(terms.join(" AND "))
}

/// How much of the trigram index one merge step rewrites: about this many of its leaf
/// pages (a few milliseconds of the writer's turn).
const MERGE_STEP_PAGES: i64 = 64;

/// Merges SQLite's trigram index (migration 0011) one bounded step toward a single
/// segment; answers whether work remains. Each write adds a segment to the index and
/// FTS5 merges them only a few at a time, so an organization that grew one member at a
/// time (or by bulk import) leaves dozens, and every search reads each of them: at
/// 100,000 members a search's MATCH took 0.94 ms over 3,434 index rows against 0.60 ms
/// over 1,126 once merged. A step is a write transaction of its own, so writers wait for
/// one step at most, never for the whole merge. Nothing to do on PostgreSQL, whose
/// trigram index autovacuum keeps.
pub async fn merge_search_step(db: &Db) -> sqlx::Result<bool> {
    if !matches!(db, Db::Sqlite(..)) {
        return Ok(false);
    }
    let mut tx = db.begin().await?;
    // FTS5 tells that a merge is done by changing fewer than two rows.
    let changed = on_tx!(&mut tx, conn => {
        let before: i64 = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(&mut *conn)
            .await?;
        sqlx::query("INSERT INTO member_search (member_search, rank) VALUES ('merge', $1)")
            .bind(-MERGE_STEP_PAGES)
            .execute(&mut *conn)
            .await?;
        let after: i64 = sqlx::query_scalar("SELECT total_changes()")
            .fetch_one(&mut *conn)
            .await?;
        after - before
    });
    tx.commit().await?;
    Ok(changed >= 2)
}

/// The WHERE clauses of the member and invitation halves (None: that half shows no
/// rows), and the values they bind: `$1` the organization, `$2` now, then the filter's.
/// On SQLite a search of three characters or more reads the trigram index of the
/// members' emails and names (migration 0011); PostgreSQL's trigram indexes serve LIKE
/// itself. A shorter search scans the organization's members. With `hidden` (see
/// `hides_pattern`) PostgreSQL reads the search's pattern from a subquery.
fn conditions(
    db: &Db,
    filter: &Filter,
    org_id: i64,
    now: i64,
    hidden: bool,
) -> (Option<String>, Option<String>, Vec<Bind>) {
    let mut values = vec![Bind::Int(org_id), Bind::Int(now)];
    let mut org = "m.org_id = $1";
    let mut members = String::new();
    // On SQLite, `+` keeps the expiry a filter: the invitations are then walked in the
    // order of the sort's index, and only as far as the page needs, rather than every
    // pending one found by its expiry and sorted.
    let expiry = match db {
        Db::Sqlite(..) => "+i.expires_at > $2",
        Db::Postgres(_) => "i.expires_at > $2",
    };
    let mut invitations = format!("i.org_id = $1 AND i.state = 'pending' AND {expiry}");
    if let Some(role) = filter.role {
        values.push(Bind::Text(role.as_str().to_string()));
        let n = values.len();
        members.push_str(&format!(" AND m.role = ${n}"));
        invitations.push_str(&format!(" AND i.role = ${n}"));
    }
    if let Some(StatusFilter::Member(status)) = filter.status {
        values.push(Bind::Text(status.as_str().to_string()));
        members.push_str(&format!(" AND m.status = ${}", values.len()));
    }
    if let Some(on) = filter.two_factor {
        let null = if on { "IS NOT NULL" } else { "IS NULL" };
        members.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM users u2 WHERE u2.id = m.user_id AND u2.two_factor_enabled_at {null})"
        ));
    }
    if let Some(team) = filter.team {
        // Only when asked: the unfiltered list stays the indexed walk it is.
        values.push(Bind::Int(team));
        members.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM team_members tm WHERE tm.membership_id = m.id AND tm.team_id = ${})",
            values.len()
        ));
    }
    if let Some(search) = &filter.search {
        let escaped = search
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        values.push(Bind::Text(format!("%{escaped}%")));
        let n = values.len();
        let pattern = if hidden {
            format!("(SELECT CAST(${n} AS TEXT))")
        } else {
            format!("${n}")
        };
        if let (Db::Sqlite(..), Some(terms)) = (db, trigram_terms(search)) {
            // The index finds the members with every trigram of the search; LIKE then
            // keeps those where they make the substring. `+` keeps SQLite from walking
            // the organization's index instead: matches first, then their organization.
            values.push(Bind::Text(terms));
            org = "+m.org_id = $1";
            members.push_str(&format!(
                " AND m.id IN (SELECT rowid FROM member_search WHERE member_search MATCH ${})",
                values.len()
            ));
        }
        members.push_str(&match db {
            Db::Sqlite(..) => format!(
                " AND (m.sort_email LIKE {pattern} ESCAPE '\\' OR m.sort_name LIKE {pattern} ESCAPE '\\')"
            ),
            // The expression of the trigram index (migration 0014).
            Db::Postgres(_) => format!(
                " AND (m.sort_email || chr(1) || m.sort_name) LIKE {pattern} ESCAPE '\\'"
            ),
        });
        invitations.push_str(&format!(
            " AND i.email_normalized LIKE {pattern} ESCAPE '\\'"
        ));
    }
    let members = (filter.status != Some(StatusFilter::Invited)).then(|| format!("{org}{members}"));
    let invitations = (matches!(filter.status, None | Some(StatusFilter::Invited))
        && filter.two_factor.is_none()
        && filter.team.is_none())
    .then_some(invitations);
    (members, invitations, values)
}

/// The invitations half's table. A search reads every pending invitation of the
/// organization; on SQLite it reads their addresses from their index, and a row only
/// for an address that matches, rather than every pending row found by its expiry (half
/// the time, with 1,000 pending).
fn invitations_table(db: &Db, filter: &Filter) -> &'static str {
    match (db, &filter.search) {
        (Db::Sqlite(..), Some(_)) => "invitations i INDEXED BY invitations_org_pending_email",
        _ => "invitations i",
    }
}

/// Whether the statement of a listing or count can be kept prepared. On PostgreSQL a
/// search's plan depends on what it looks for (a generic plan would walk every member in
/// order), so it is planned each time; `list` keeps a counted search's statement when
/// its pattern is hidden (`hides_pattern`). SQLite plans once whatever the values.
fn keeps_plan(db: &Db, filter: &Filter) -> bool {
    matches!(db, Db::Sqlite(..)) || filter.search.is_none()
}

/// Whether PostgreSQL reads a counted search's pattern from a subquery, so that one plan
/// serves every search. A counted search reads all its matches whatever it looks for,
/// and the trigram index finds them for any search with a trigram, which three letters
/// or digits in a row always give; the planner, shown the pattern, made the same plan
/// each time (0.4 ms, with 0.14 ms of parsing, against 1 ms of reading at 100,000
/// members), and would not keep it: a plan for the pattern it cannot see looks five
/// times dearer to it than one for "ada lovelace", unless neither sees it. Without a
/// trigram the index would be read whole, slower than scanning the members, so such a
/// search shows its pattern. A search that matches nearly every member reads them
/// through the index, about a fifth slower than a scan.
fn hides_pattern(db: &Db, filter: &Filter) -> bool {
    let Some(search) = &filter.search else {
        return false;
    };
    matches!(db, Db::Postgres(_)) && has_trigram(search)
}

/// Whether `search` holds three ASCII letters or digits in a row, from which `pg_trgm`
/// always takes a trigram (whatever the database's locale says of other letters).
fn has_trigram(search: &str) -> bool {
    search
        .as_bytes()
        .windows(3)
        .any(|w| w.iter().all(u8::is_ascii_alphanumeric))
}

/// How many rows match the filter: (members, pending invitations).
pub async fn count_filtered(
    db: &Db,
    org_id: i64,
    now: i64,
    filter: &Filter,
) -> sqlx::Result<(i64, i64)> {
    let (members, invitations, values) = conditions(db, filter, org_id, now, false);
    let members = match members {
        None => "0".into(),
        // Every member: the organization's count, kept by triggers (migration 0009).
        Some(_)
            if filter.search.is_none()
                && filter.role.is_none()
                && filter.two_factor.is_none()
                && filter.team.is_none()
                && matches!(filter.status, None | Some(StatusFilter::Members)) =>
        {
            "(SELECT member_count FROM organizations WHERE id = $1)".into()
        }
        Some(w) => format!("(SELECT COUNT(*) FROM memberships m WHERE {w})"),
    };
    let invitations = match invitations {
        None => "0".into(),
        // Every open invitation: the organization's kept count less the expired ones.
        Some(_) if filter.role.is_none() && filter.search.is_none() => {
            super::invitations::pending_not_expired("$1", "$2")
        }
        Some(w) => format!(
            "(SELECT COUNT(*) FROM {} WHERE {w})",
            invitations_table(db, filter)
        ),
    };
    // $2 is selected so that it is used even when the invitations are filtered out.
    let sql = format!(
        "SELECT CAST({members} AS BIGINT), CAST({invitations} AS BIGINT), CAST($2 AS BIGINT)"
    );
    let persistent = keeps_plan(db, filter);
    let (m, i, _): (i64, i64, i64) = on_db!(db, pool => bind_all!(sqlx::query_as(&sql), &values)
        .persistent(persistent)
        .fetch_one(pool)
        .await)?;
    Ok((m, i))
}

/// What the Members page asks `list` for.
#[derive(Clone, Debug)]
pub struct Listing {
    pub filter: Filter,
    pub sort: Sort,
    pub descending: bool,
    pub limit: i64,
    pub start: Start,
    /// Count the matching rows in the page's query (`MemberRow::matching`) rather than
    /// apart: for a search, whose cost is finding its matches.
    pub counted: bool,
}

/// One page of the Members page. The page is chosen on the sort keys alone, ordered by
/// (key, id, members first) so that each half walks an index; only the page's rows are then
/// joined to their accounts. SQLite merges the two ordered halves by itself; PostgreSQL
/// does not merge a UNION ALL from its indexes, so there each half is first cut to the
/// rows the page could need, which keeps the first pages from sorting every member.
/// A page before or after a cursor starts at the cursor's key in each half's index; a
/// page read from the end walks the indexes backwards.
pub async fn list(
    db: &Db,
    org_id: i64,
    now: i64,
    listing: &Listing,
) -> sqlx::Result<Vec<MemberRow>> {
    let hidden = listing.counted && hides_pattern(db, &listing.filter);
    let (mut members, mut invitations, mut values) =
        conditions(db, &listing.filter, org_id, now, hidden);
    // Read backwards (then turn the rows round) to reach rows near the end.
    let (backwards, limit, offset, cursor) = match &listing.start {
        Start::Offset {
            offset,
            total: Some(total),
        } if total - (offset + listing.limit).min(*total) < *offset => {
            let end = (offset + listing.limit).min(*total);
            (true, (end - offset).max(0), total - end, None)
        }
        Start::Offset { offset, .. } => (false, listing.limit, *offset, None),
        Start::After(cursor) => (false, listing.limit, 0, Some(cursor)),
        Start::Before(cursor) => (true, listing.limit, 0, Some(cursor)),
    };
    let descending = listing.descending != backwards;
    let (member_key, invitation_key) = listing.sort.keys();
    if let Some(cursor) = cursor {
        if let Some(w) = members.as_mut() {
            let after = cursor.after(member_key, "m.id", false, descending, &mut values);
            w.push_str(&format!(" AND {after}"));
        }
        if let Some(w) = invitations.as_mut() {
            let after = cursor.after(invitation_key, "i.id", true, descending, &mut values);
            w.push_str(&format!(" AND {after}"));
        }
    }
    let dir = if descending { "DESC" } else { "ASC" };
    // Members before invitations among equal keys and ids: 'm' > 'i', so the other way.
    let kind_dir = if descending { "ASC" } else { "DESC" };
    // Never-active members count as the least recently active, on both backends.
    let nulls = match (listing.sort, descending) {
        (Sort::LastActive, false) => " NULLS FIRST",
        (Sort::LastActive, true) => " NULLS LAST",
        _ => "",
    };
    // A counted listing reads every match; otherwise PostgreSQL cuts each half first.
    let cut = matches!(db, Db::Postgres(_)) && !listing.counted;
    let count = if listing.counted {
        ", COUNT(*) OVER () AS matching"
    } else {
        ", CAST(NULL AS BIGINT) AS matching"
    };
    let half = |select: String| {
        if cut {
            format!(
                "SELECT * FROM ({select} ORDER BY k {dir}{nulls}, id {dir} LIMIT {}) AS h",
                offset + limit
            )
        } else {
            select
        }
    };
    // A page that reads no more than a page from each half (a first page, a page from a
    // cursor) carries the members' own columns in their half, which reads their rows
    // anyway; other pages skip rows by the index alone and join the page's members back
    // (reading every skipped member's row would cost more than the join).
    let wide = offset == 0 && !listing.counted;
    let (member_columns, no_member_columns, page_columns, m, join) = if wide {
        (
            ", m.user_id AS user_id, m.role AS role, m.status AS status, m.joined_at AS joined_at, \
             m.last_active_at AS last_active_at, m.has_seat AS has_seat, \
             m.access_until AS access_until",
            ", CAST(NULL AS BIGINT) AS user_id, CAST(NULL AS TEXT) AS role, \
             CAST(NULL AS TEXT) AS status, CAST(NULL AS BIGINT) AS joined_at, \
             CAST(NULL AS BIGINT) AS last_active_at, CAST(NULL AS BOOLEAN) AS has_seat, \
             CAST(NULL AS BIGINT) AS access_until",
            ", user_id, role, status, joined_at, last_active_at, has_seat, access_until",
            "p",
            "",
        )
    } else {
        (
            "",
            "",
            "",
            "m",
            "LEFT JOIN memberships m ON p.kind = 'm' AND m.id = p.id",
        )
    };
    let halves: Vec<String> = [
        // An invitation's own columns come with it: its half reads its row anyway (for the
        // expiry), while a join back to the invitations made PostgreSQL scan them all.
        members.map(|w| {
            half(format!(
                "SELECT 'm' AS kind, m.id AS id, {member_key} AS k, CAST(NULL AS TEXT) AS i_email, \
                 CAST(NULL AS TEXT) AS i_role, CAST(NULL AS BIGINT) AS i_created_at, \
                 CAST(NULL AS BIGINT) AS i_invited_by{member_columns} FROM memberships m WHERE {w}"
            ))
        }),
        invitations.map(|w| {
            let table = invitations_table(db, &listing.filter);
            half(format!(
                "SELECT 'i' AS kind, i.id AS id, {invitation_key} AS k, i.email AS i_email, \
                 i.role AS i_role, i.created_at AS i_created_at, i.invited_by AS i_invited_by\
                 {no_member_columns} FROM {table} WHERE {w}"
            ))
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    // `now` is selected so that $2 is used even when the invitations are filtered out.
    let sql = format!(
        "WITH page AS (SELECT kind, id, k, i_email, i_role, i_created_at, i_invited_by\
           {page_columns}{count} \
           FROM ({halves}) AS r \
           ORDER BY k {dir}{nulls}, id {dir}, kind {kind_dir} LIMIT {limit} OFFSET {offset}) \
         SELECT p.id, COALESCE(u.email, p.i_email) AS email, COALESCE(u.name, '') AS name, \
           COALESCE({m}.role, p.i_role) AS role, COALESCE({m}.status, 'invited') AS status, \
           COALESCE({m}.joined_at, p.i_created_at) AS joined_at, {m}.last_active_at, \
           COALESCE(u.auth_method, '') AS auth_method, p.i_invited_by AS invited_by, \
           COALESCE({m}.has_seat, FALSE) AS has_seat, \
           (u.two_factor_enabled_at IS NOT NULL) AS two_factor, \
           COALESCE(u.status = 'active', TRUE) AS account_active, \
           {m}.access_until AS access_until, CAST(p.k AS TEXT) AS sort_key, p.matching, \
           CAST($2 AS BIGINT) AS now \
         FROM page p {join} \
         LEFT JOIN users u ON u.id = {m}.user_id \
         ORDER BY p.k {dir}{nulls}, p.id {dir}, p.kind {kind_dir}",
        halves = halves.join(" UNION ALL "),
    );
    // The limits are written into the statement (they are numbers): with them as
    // parameters PostgreSQL guesses a tenth of the rows for a generic plan, finds it
    // dearer than planning with the values, and so planned every page anew. A first page
    // and every page from a cursor (offset 0) is one statement, kept prepared; a page by
    // number is planned each time.
    let persistent = offset == 0 && (hidden || keeps_plan(db, &listing.filter));
    let mut rows: Vec<MemberRow> = super::fetch_list(db, &sql, &values, persistent).await?;
    if backwards {
        rows.reverse();
    }
    Ok(rows)
}

/// One row of an export of the Members page: a member, or a pending invitation.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct ExportRow {
    pub email: String,
    pub name: String,
    pub role: String,
    /// The membership's status, or "invited".
    pub status: String,
    pub has_seat: bool,
    pub two_factor: bool,
    pub auth_method: String,
    /// When the member joined, or when the invitation was sent.
    pub joined_at: i64,
    pub last_active_at: Option<i64>,
    pub account_active: bool,
    /// The member's teams, by name, joined with "; " (None: no team, or an invitation).
    pub teams: Option<String>,
}

/// Sends every row the filter keeps to `rows`, members first in the listing's order,
/// then pending invitations (newest first), as the database yields them; stops early
/// when the receiver goes. An error if the read stopped midway.
pub async fn stream(
    db: &Db,
    org_id: i64,
    now: i64,
    filter: &Filter,
    sort: Sort,
    descending: bool,
    rows: tokio::sync::mpsc::Sender<ExportRow>,
) -> sqlx::Result<()> {
    use futures_util::TryStreamExt;
    let (members, invitations, values) = conditions(db, filter, org_id, now, false);
    let dir = if descending { "DESC" } else { "ASC" };
    let nulls = match (sort, descending) {
        (Sort::LastActive, false) => " NULLS FIRST",
        (Sort::LastActive, true) => " NULLS LAST",
        _ => "",
    };
    let (member_key, _) = sort.keys();
    let halves: Vec<String> = [
        members.map(|w| {
            format!(
                "SELECT 0 AS part, CAST({member_key} AS TEXT) AS k, {numeric} AS n, m.id AS id, \
                 u.email AS email, u.name AS name, m.role AS role, m.status AS status, \
                 m.has_seat AS has_seat, (u.two_factor_enabled_at IS NOT NULL) AS two_factor, \
                 u.auth_method AS auth_method, m.joined_at AS joined_at, \
                 m.last_active_at AS last_active_at, (u.status = 'active') AS account_active, \
                 {teams} AS teams \
                 FROM memberships m JOIN users u ON u.id = m.user_id WHERE {w}",
                teams = super::teams::names_joined(db),
                numeric = if sort.numeric() {
                    format!("CAST({member_key} AS BIGINT)")
                } else {
                    "CAST(NULL AS BIGINT)".into()
                },
            )
        }),
        invitations.map(|w| {
            format!(
                "SELECT 1 AS part, CAST(NULL AS TEXT) AS k, -i.created_at AS n, i.id AS id, \
                 i.email AS email, '' AS name, i.role AS role, 'invited' AS status, \
                 FALSE AS has_seat, FALSE AS two_factor, '' AS auth_method, \
                 i.created_at AS joined_at, CAST(NULL AS BIGINT) AS last_active_at, \
                 TRUE AS account_active, CAST(NULL AS TEXT) AS teams FROM {} WHERE {w}",
                invitations_table(db, filter)
            )
        }),
    ]
    .into_iter()
    .flatten()
    .collect();
    if halves.is_empty() {
        return Ok(());
    }
    // Members by the listing's key (a number or a text), invitations after them; `now`
    // is selected so that $2 is used even when the invitations are filtered out.
    let key_order = if sort.numeric() {
        format!("n {dir}{nulls}")
    } else {
        format!("k {dir}")
    };
    let sql = format!(
        "SELECT email, name, role, status, has_seat, two_factor, auth_method, joined_at, \
         last_active_at, account_active, teams, CAST($2 AS BIGINT) AS now FROM ({}) AS r \
         ORDER BY part, {key_order}, id {dir}",
        halves.join(" UNION ALL ")
    );
    on_db!(db, pool => {
        let mut found = bind_all!(sqlx::query_as::<_, ExportRow>(&sql), &values).fetch(pool);
        while let Some(row) = found.try_next().await? {
            if rows.send(row).await.is_err() {
                break;
            }
        }
        Ok(())
    })
}

pub async fn insert(
    tx: &mut Tx,
    org_id: i64,
    user_id: i64,
    role: Role,
    invited_by: Option<i64>,
    now: i64,
) -> sqlx::Result<i64> {
    insert_until(tx, org_id, user_id, role, invited_by, None, now).await
}

/// `insert`, with the last day of access an invitation carried (None: no end).
pub async fn insert_until(
    tx: &mut Tx,
    org_id: i64,
    user_id: i64,
    role: Role,
    invited_by: Option<i64>,
    access_until: Option<i64>,
    now: i64,
) -> sqlx::Result<i64> {
    let (email, name): (String, String) = on_tx!(tx, conn => sqlx::query_as(
        "SELECT email_normalized, name FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_one(&mut *conn)
    .await)?;
    on_tx!(tx, conn => sqlx::query_scalar(
        "INSERT INTO memberships (org_id, user_id, role, joined_at, invited_by, sort_email, sort_name, \
         access_until, user_name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6) RETURNING id",
    )
    .bind(org_id)
    .bind(user_id)
    .bind(role.as_str())
    .bind(now)
    .bind(invited_by)
    .bind(&email)
    .bind(name.to_lowercase())
    .bind(access_until)
    .fetch_one(&mut *conn)
    .await)
}

pub async fn find(db: &Db, org_id: i64, user_id: i64) -> sqlx::Result<Option<Membership>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, role, status, last_active_at FROM memberships WHERE org_id = $1 AND user_id = $2",
    )
    .bind(org_id)
    .bind(user_id)
    .fetch_optional(pool)
    .await)
}

/// Records that a member used the organization, at most once a minute.
pub async fn touch(db: &Db, id: i64, now: i64) -> sqlx::Result<()> {
    super::touch(db, "memberships", "last_active_at", id, now).await
}

const TARGET: &str = "SELECT m.id, m.user_id, u.email, u.name, m.role, m.status, m.has_seat, \
                      m.access_until \
                      FROM memberships m JOIN users u ON u.id = m.user_id";

/// A membership of the organization by its id; another organization's id finds nothing.
pub async fn target(db: &Db, org_id: i64, id: i64) -> sqlx::Result<Option<Target>> {
    let sql = format!("{TARGET} WHERE m.org_id = $1 AND m.id = $2");
    on_db!(db, pool => sqlx::query_as(&sql).bind(org_id).bind(id).fetch_optional(pool).await)
}

/// A membership as it is inside a transaction (after `Tx::lock`), by id or by user.
pub async fn target_in(tx: &mut Tx, org_id: i64, by: By) -> sqlx::Result<Option<Target>> {
    let (column, value) = match by {
        By::Id(id) => ("m.id", id),
        By::User(user_id) => ("m.user_id", user_id),
    };
    let sql = format!("{TARGET} WHERE m.org_id = $1 AND {column} = $2");
    on_tx!(tx, conn => sqlx::query_as(&sql).bind(org_id).bind(value).fetch_optional(&mut *conn).await)
}

/// How `target_in` finds a membership.
#[derive(Clone, Copy, Debug)]
pub enum By {
    Id(i64),
    User(i64),
}

/// Active Owners of the organization whose accounts are active too (one who cannot sign
/// in owns nothing in practice), inside a transaction.
/// Members of the organization, any status.
pub async fn count_in_org(tx: &mut Tx, org_id: i64) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar("SELECT COUNT(*) FROM memberships WHERE org_id = $1")
        .bind(org_id)
        .fetch_one(&mut *conn)
        .await)
}

pub async fn count_active_owners(tx: &mut Tx, org_id: i64) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.role = 'owner' AND m.status = 'active' AND u.status = 'active'",
    )
    .bind(org_id)
    .fetch_one(&mut *conn)
    .await)
}

/// Active Owners with active accounts and no end to their access: the ones the
/// organization can count on keeping. An expiry is refused where it would leave none.
pub async fn count_lasting_owners(tx: &mut Tx, org_id: i64) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.role = 'owner' AND m.status = 'active' AND u.status = 'active' \
         AND m.access_until IS NULL",
    )
    .bind(org_id)
    .fetch_one(&mut *conn)
    .await)
}

/// Sets (or, with None, clears) the last day of access; a new date is warned about anew.
pub async fn set_access_until(tx: &mut Tx, id: i64, access_until: Option<i64>) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "UPDATE memberships SET access_until = $1, access_warned_at = NULL WHERE id = $2",
    )
    .bind(access_until)
    .bind(id)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// A membership whose access is about to end, or has ended, as the expiry worker needs it.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Ending {
    pub id: i64,
    pub org_id: i64,
    pub access_until: i64,
    pub invited_by: Option<i64>,
}

/// Claims, in the caller's transaction, up to `limit` active memberships whose warning
/// is due at `now` (access ends within `warning_secs`, and has not ended) and that were
/// not warned yet: marks them warned and returns them. The caller queues the emails in
/// the same transaction, so a warning is sent once even with several Roster processes:
/// PostgreSQL skips rows another worker has locked (and sees them warned once it
/// commits); SQLite serializes writers.
pub async fn claim_warnings(
    tx: &mut Tx,
    now: i64,
    warning_secs: i64,
    limit: i64,
) -> sqlx::Result<Vec<Ending>> {
    // Stored is the last day's midnight: access ends a day later.
    let due = "SELECT id FROM memberships WHERE access_until IS NOT NULL AND status = 'active' \
               AND access_warned_at IS NULL AND access_until + 86400 - $2 <= $1 \
               AND access_until + 86400 > $1 ORDER BY access_until, id LIMIT $3";
    let lock = match tx {
        Tx::Sqlite(..) => "",
        Tx::Postgres(_) => " FOR UPDATE SKIP LOCKED",
    };
    let sql = format!(
        "UPDATE memberships SET access_warned_at = $1 WHERE id IN ({due}{lock}) \
         RETURNING id, org_id, access_until, invited_by"
    );
    on_tx!(tx, conn => sqlx::query_as(&sql)
        .bind(now)
        .bind(warning_secs)
        .bind(limit)
        .fetch_all(&mut *conn)
        .await)
}

/// Up to `limit` active memberships whose access has ended at `now`, earliest first.
/// The worker deactivates each under its organization's member lock, reading it again
/// there, so one deactivated by another process meanwhile is left alone.
pub async fn ended(db: &Db, now: i64, limit: i64) -> sqlx::Result<Vec<Ending>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, org_id, access_until, invited_by FROM memberships \
         WHERE access_until IS NOT NULL AND status = 'active' AND access_until + 86400 <= $1 \
         ORDER BY access_until, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// The emails of the organization's active Owners with active accounts: whom to tell
/// when a member's inviter is unknown.
pub async fn owner_emails(tx: &mut Tx, org_id: i64) -> sqlx::Result<Vec<String>> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.role = 'owner' AND m.status = 'active' AND u.status = 'active' \
         ORDER BY u.email_normalized",
    )
    .bind(org_id)
    .fetch_all(&mut *conn)
    .await)
}

pub async fn set_role(tx: &mut Tx, id: i64, role: Role) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE memberships SET role = $1 WHERE id = $2")
        .bind(role.as_str())
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn set_status(tx: &mut Tx, id: i64, status: MemberStatus, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE memberships SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status.as_str())
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn delete(tx: &mut Tx, id: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("DELETE FROM memberships WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The members `ids` of the organization, read from the pool (a confirmation takes no
/// lock) or inside a transaction (a change, under its lock); ids of other organizations
/// find nothing.
pub async fn targets<'a>(
    reader: impl Into<Reader<'a>>,
    org_id: i64,
    ids: &[i64],
) -> sqlx::Result<Vec<Target>> {
    let mut reader = reader.into();
    let mut found = Vec::new();
    for chunk in ids.chunks(super::IN_CHUNK) {
        let sql = format!(
            "{TARGET} WHERE m.org_id = $1 AND m.id IN ({}) ORDER BY u.email_normalized",
            super::placeholders(2, chunk.len())
        );
        let rows: Vec<Target> = on_reader!(&mut reader, ex => {
            let mut query = sqlx::query_as(&sql).bind(org_id);
            for id in chunk {
                query = query.bind(id);
            }
            query.fetch_all(ex).await
        })?;
        found.extend(rows);
    }
    Ok(found)
}

/// How many members of the organization hold a seat.
pub async fn count_seats(db: &Db, org_id: i64) -> sqlx::Result<i64> {
    on_db!(db, pool => sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND has_seat",
    )
    .bind(org_id)
    .fetch_one(pool)
    .await)
}

/// The names of up to `limit` active Owners of the organization whose accounts are
/// active, by name: whom to ask for what only an Owner may do.
pub async fn owner_names(db: &Db, org_id: i64, limit: i64) -> sqlx::Result<Vec<String>> {
    on_db!(db, pool => sqlx::query_scalar(
        "SELECT u.name FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.org_id = $1 AND m.role = 'owner' AND m.status = 'active' AND u.status = 'active' \
         ORDER BY u.name, u.id LIMIT $2",
    )
    .bind(org_id)
    .bind(limit)
    .fetch_all(pool)
    .await)
}

/// `count_seats` inside a transaction (after `Tx::lock`).
pub async fn count_seats_in(tx: &mut Tx, org_id: i64) -> sqlx::Result<i64> {
    on_tx!(tx, conn => sqlx::query_scalar(
        "SELECT COUNT(*) FROM memberships WHERE org_id = $1 AND has_seat",
    )
    .bind(org_id)
    .fetch_one(&mut *conn)
    .await)
}

pub async fn set_seat(tx: &mut Tx, id: i64, has_seat: bool) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE memberships SET has_seat = $1 WHERE id = $2")
        .bind(has_seat)
        .bind(id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Keeps the memberships' copy of an account's name (their sort key) in step.
pub async fn rename_user(tx: &mut Tx, user_id: i64, name: &str) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query("UPDATE memberships SET sort_name = $1 WHERE user_id = $2")
        .bind(name.to_lowercase())
        .bind(user_id)
        .execute(&mut *conn)
        .await
        .map(|r| r.rows_affected()))?;
    Ok(())
}

/// One member of the organization as the Members page shows them.
pub async fn row(db: &Db, org_id: i64, id: i64) -> sqlx::Result<Option<MemberRow>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT m.id, u.email, u.name, m.role, m.status, m.joined_at, \
         m.last_active_at, u.auth_method, m.invited_by, m.has_seat, \
         (u.two_factor_enabled_at IS NOT NULL) AS two_factor, (u.status = 'active') AS account_active, \
         m.access_until \
         FROM memberships m JOIN users u ON u.id = m.user_id WHERE m.org_id = $1 AND m.id = $2",
    )
    .bind(org_id)
    .bind(id)
    .fetch_optional(pool)
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_becomes_trigrams_side_by_side_and_the_last() {
        assert_eq!(trigram_terms("ab"), None);
        assert_eq!(trigram_terms("abc").as_deref(), Some(r#""abc""#));
        assert_eq!(
            trigram_terms("abcdefg").as_deref(),
            Some(r#""abc" AND "def" AND "efg""#)
        );
        assert_eq!(
            trigram_terms("ab\"cdé").as_deref(),
            Some(r#""ab""" AND "cdé""#),
            "quotes doubled, characters not bytes"
        );
    }

    #[test]
    fn a_trigram_is_three_ascii_letters_or_digits_in_a_row() {
        for search in [
            "ada",
            "ada lovelace",
            "x.b2c",
            "@example",
            "Zoë123",
            "100%_",
        ] {
            assert!(has_trigram(search), "{search}");
        }
        for search in ["ad", "a.d.a", "zoë", "ünï", "a b c"] {
            assert!(!has_trigram(search), "{search}");
        }
    }

    #[test]
    fn a_cursor_reads_back_what_it_wrote() {
        for (text, sort) in [
            ("m12", Sort::LastActive),
            ("i7:1700000000", Sort::Joined),
            ("m3:ada lovelace: the first", Sort::Name),
        ] {
            let cursor = Cursor::parse(text, sort).expect(text);
            assert_eq!(cursor.param(), text);
        }
        for bad in ["", "x1", "m", "m1:soon", "mx:1"] {
            assert_eq!(Cursor::parse(bad, Sort::Joined), None, "{bad}");
        }
    }

    fn cursors() -> impl proptest::strategy::Strategy<Value = (Cursor, Sort)> {
        use proptest::prelude::*;
        let numeric = (
            any::<bool>(),
            any::<i64>(),
            proptest::option::of(any::<i64>()),
        )
            .prop_map(|(invitation, id, key)| {
                let key = key.map_or(Key::Null, Key::Int);
                (
                    Cursor {
                        invitation,
                        id,
                        key,
                    },
                    Sort::Joined,
                )
            });
        // Keys as names and emails are stored: one line, no control character.
        let text = (
            any::<bool>(),
            any::<i64>(),
            proptest::option::of("[^\\p{Cc}]{0,40}"),
        )
            .prop_map(|(invitation, id, key)| {
                let key = key.map_or(Key::Null, Key::Text);
                (
                    Cursor {
                        invitation,
                        id,
                        key,
                    },
                    Sort::Name,
                )
            });
        prop_oneof![numeric, text]
    }

    proptest::proptest! {
        #[test]
        fn reading_a_cursor_never_panics(input in proptest::prelude::any::<String>()) {
            for sort in Sort::ALL {
                let _ = Cursor::parse(&input, sort);
            }
        }

        #[test]
        fn a_cursor_reads_back_as_itself((cursor, sort) in cursors()) {
            proptest::prop_assert_eq!(Cursor::parse(&cursor.param(), sort), Some(cursor));
        }

        #[test]
        fn what_a_cursor_reads_writes_back_to_the_same_cursor(
            input in "[mi][+-]?[0-9]{1,19}(:[^\\p{Cc}]{0,20})?"
        ) {
            for sort in Sort::ALL {
                if let Some(cursor) = Cursor::parse(&input, sort) {
                    proptest::prop_assert_eq!(Cursor::parse(&cursor.param(), sort), Some(cursor));
                }
            }
        }

        #[test]
        fn a_cursor_with_a_control_character_is_no_cursor(
            head in "[mi][0-9]{1,5}:[a-z]{0,5}",
            control in "\\p{Cc}",
            tail in "[a-z]{0,5}",
        ) {
            let input = format!("{head}{control}{tail}");
            proptest::prop_assert_eq!(Cursor::parse(&input, Sort::Name), None);
        }
    }
}
