//! What the Members page, its partials, its confirmations and the API read. Reads take
//! the pool: none of them takes the organization's lock or the writer's turn.

use std::collections::HashMap;

use super::{Allowed, Error, ExportRow, Filter, Listing, MemberRow, Sort, Start, Target};
use crate::actor::Actor;
use crate::db::{self, Db, audit};
use crate::domain::permissions::{self, Action};
use crate::state::AppState;

/// How many rows a page of the Members page shows.
pub const PAGE_SIZE: i64 = 50;

/// A page of the Members page as asked for: the listing (its start aside), the page
/// number, and where a "Next" or "Previous" link says the page starts.
#[derive(Clone, Debug)]
pub struct PageQuery {
    pub listing: Listing,
    pub page: i64,
    pub cursor: Option<Start>,
    /// Also read the organization's teams, for the page's Team filter.
    pub team_options: bool,
}

/// A page of the Members page, as found for its query.
#[derive(Debug)]
pub struct Page {
    pub rows: Vec<MemberRow>,
    /// How many rows match the query in all.
    pub matching: i64,
    /// The page's number, within the pages there are.
    pub page: i64,
    /// How many pages there are.
    pub pages: i64,
    pub listing: Listing,
    /// How many seats are assigned, and how many there are, when seats are on.
    pub seats: Option<(i64, i64)>,
    /// The teams of the page's members, by membership id, each by name.
    pub teams: HashMap<i64, Vec<String>>,
    /// The organization's teams as (id, name), when the query asked for them.
    pub team_options: Vec<(i64, String)>,
}

fn pages_of(matching: i64) -> i64 {
    ((matching + PAGE_SIZE - 1) / PAGE_SIZE).max(1)
}

/// Finds the page `q` asks for. A search counts its matches in the query of its page
/// (finding them is its cost) and goes by page number; otherwise the counts come first
/// (`kept`, the organization's, when nothing is filtered), then the page: after or
/// before a "Next" or "Previous" link's cursor, or by its number. `seats` is the
/// organization's number of seats, when it limits them.
pub async fn list(
    db: &Db,
    actor: &Actor,
    kept: (i64, i64),
    seats: Option<i64>,
    now: i64,
    q: PageQuery,
) -> Result<Page, Error> {
    let org_id = actor.org.id;
    let team_options = q.team_options;
    let (mut rows, matching, page, listing) = find_page(db, org_id, kept, now, q).await?;
    name_providers(db, &mut rows).await?;
    let seats = match seats {
        Some(total) => Some((db::memberships::count_seats(db, org_id).await?, total)),
        None => None,
    };
    // The full page lists the organization's teams for its filter; when there are
    // none, no row has a team either, and the rows' query is spared.
    let (teams, team_options) = if team_options {
        let options = db::teams::names_of_org(db, org_id).await?;
        let teams = if options.is_empty() {
            HashMap::new()
        } else {
            teams_of(db, org_id, &rows).await?
        };
        (teams, options)
    } else {
        (teams_of(db, org_id, &rows).await?, Vec::new())
    };
    Ok(Page {
        rows,
        matching,
        page,
        pages: pages_of(matching),
        listing,
        seats,
        teams,
        team_options,
    })
}

/// The teams of the members among `rows`, in one query keyed by the rows shown (the
/// list's own query stays as benchmarked, without a join to the teams).
async fn teams_of(
    db: &Db,
    org_id: i64,
    rows: &[MemberRow],
) -> Result<HashMap<i64, Vec<String>>, Error> {
    let ids: Vec<i64> = rows
        .iter()
        .filter(|row| !row.is_invitation())
        .map(|row| row.id)
        .collect();
    crate::teams::names_by_member(db, org_id, &ids)
        .await
        .map_err(|e| match e {
            crate::teams::Error::Internal(e) => Error::Internal(e),
            other => Error::Internal(anyhow::anyhow!("unexpected refusal: {other}")),
        })
}

async fn find_page(
    db: &Db,
    org_id: i64,
    kept: (i64, i64),
    now: i64,
    q: PageQuery,
) -> Result<(Vec<MemberRow>, i64, i64, Listing), Error> {
    let PageQuery {
        mut listing,
        page,
        cursor,
        ..
    } = q;
    let by_page = |page: i64, total: Option<i64>| Start::Offset {
        offset: (page - 1) * PAGE_SIZE,
        total,
    };
    if listing.filter.search.is_some() {
        listing.counted = true;
        listing.start = by_page(page, None);
        let rows = db::memberships::list(db, org_id, now, &listing).await?;
        if let Some(matching) = rows.first().and_then(|row| row.matching) {
            return Ok((rows, matching, page, listing));
        }
        // No rows on the first page: none match. On a later one: none match, or the
        // page is past the last one.
        let matching = if page == 1 {
            0
        } else {
            let (members, invitations) =
                db::memberships::count_filtered(db, org_id, now, &listing.filter).await?;
            members + invitations
        };
        let last = pages_of(matching);
        let rows = if page > last && matching > 0 {
            listing.start = by_page(last, None);
            db::memberships::list(db, org_id, now, &listing).await?
        } else {
            rows
        };
        return Ok((rows, matching, page.min(last), listing));
    }
    let (members, invitations) = if listing.filter == Filter::default() {
        kept
    } else {
        db::memberships::count_filtered(db, org_id, now, &listing.filter).await?
    };
    let matching = members + invitations;
    let mut page = page.min(pages_of(matching));
    let mut rows = Vec::new();
    if let Some(start) = cursor {
        let before = matches!(start, Start::Before(_));
        listing.start = start;
        rows = db::memberships::list(db, org_id, now, &listing).await?;
        // Fewer rows than a page before the cursor: this is the first page. None
        // after it: the rows changed under the link, so go by the page number.
        if before && (rows.len() as i64) < PAGE_SIZE {
            page = 1;
            rows.clear();
        }
    }
    if rows.is_empty() {
        listing.start = by_page(page, Some(matching));
        rows = db::memberships::list(db, org_id, now, &listing).await?;
    }
    Ok((rows, matching, page, listing))
}

/// The rows `listing` asks for from `offset` (its own start is replaced), how many
/// members match in all, and the rows' teams: the API's listing, whose filter keeps
/// invitations out.
pub async fn list_by_offset(
    db: &Db,
    actor: &Actor,
    now: i64,
    mut listing: Listing,
    offset: i64,
) -> Result<(Vec<MemberRow>, i64, HashMap<i64, Vec<String>>), Error> {
    let org_id = actor.org.id;
    let (total, _) = db::memberships::count_filtered(db, org_id, now, &listing.filter).await?;
    listing.start = Start::Offset {
        offset,
        total: Some(total),
    };
    let mut rows = db::memberships::list(db, org_id, now, &listing).await?;
    name_providers(db, &mut rows).await?;
    let teams = teams_of(db, org_id, &rows).await?;
    Ok((rows, total, teams))
}

/// Names the provider of each row that signs in with single sign-on: the provider of
/// the organization that verified the address's domain. One query for the page, only
/// when some row signs in that way.
async fn name_providers(db: &Db, rows: &mut [MemberRow]) -> Result<(), Error> {
    let domain = |row: &MemberRow| row.email.rsplit('@').next().unwrap_or("").to_lowercase();
    let mut domains: Vec<String> = rows
        .iter()
        .filter(|row| row.auth_method == "sso")
        .map(domain)
        .collect();
    if domains.is_empty() {
        return Ok(());
    }
    domains.sort();
    domains.dedup();
    let asked: Vec<&str> = domains.iter().map(String::as_str).collect();
    let names: std::collections::HashMap<String, String> = db::sso::names_for_domains(db, &asked)
        .await?
        .into_iter()
        .collect();
    for row in rows.iter_mut().filter(|row| row.auth_method == "sso") {
        row.sso_provider = names.get(&domain(row)).cloned();
    }
    Ok(())
}

/// The member `id` of the actor's organization.
pub async fn find(db: &Db, actor: &Actor, id: i64) -> Result<MemberRow, Error> {
    let mut row = db::memberships::row(db, actor.org.id, id)
        .await?
        .ok_or(Error::NotFound)?;
    name_providers(db, std::slice::from_mut(&mut row)).await?;
    Ok(row)
}

/// The member `id` of the actor's organization with their teams, by name.
pub async fn find_with_teams(
    db: &Db,
    actor: &Actor,
    id: i64,
) -> Result<(MemberRow, Vec<String>), Error> {
    let row = find(db, actor, id).await?;
    let mut teams = teams_of(db, actor.org.id, std::slice::from_ref(&row)).await?;
    let names = teams.remove(&row.id).unwrap_or_default();
    Ok((row, names))
}

/// What a confirmation is about to ask: a new role, or a deactivation, activation or
/// removal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Asking {
    Role,
    Manage,
}

/// The member `id` whom the actor is about to change as `asking` says, or why they may
/// not: the action menu's rule (`Allowed`), read without a lock; the change checks it
/// again.
pub async fn confirmation_target(
    db: &Db,
    actor: &Actor,
    id: i64,
    asking: Asking,
) -> Result<Target, Error> {
    let target = db::memberships::target(db, actor.org.id, id)
        .await?
        .ok_or(Error::NotFound)?;
    if Some(target.user_id) == actor.user_id() {
        return Err(Error::Own);
    }
    let allowed = Allowed::for_row(actor.role, target.role, false);
    let permitted = match asking {
        Asking::Role => allowed.change_role,
        Asking::Manage => allowed.manage,
    };
    if !permitted {
        return Err(Error::Forbidden);
    }
    Ok(target)
}

/// What an export sends: its rows as the database yields them, and at the end whether
/// the read went to its end (a download cut short must not look complete).
pub struct Export {
    pub rows: tokio::sync::mpsc::Receiver<ExportRow>,
    pub finished: tokio::sync::oneshot::Receiver<bool>,
}

/// Exports the rows `filter` keeps in `sort`'s order, audited with `view` (the view's
/// query, in words). Owners, Admins and Billing managers. The rows are read by a task
/// of their own, a few at a time, so the export's memory does not grow with the
/// organization.
pub async fn export(
    state: &AppState,
    actor: &Actor,
    filter: Filter,
    sort: Sort,
    descending: bool,
    view: &str,
) -> Result<Export, Error> {
    if !permissions::allows(actor.role, Action::ExportMembers) {
        return Err(Error::Forbidden);
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let event = audit::Event::new(audit::Action::MembersExported, &actor.audit)
        .in_org(actor.org.id)
        .after(view);
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    let (rows_tx, rows) = tokio::sync::mpsc::channel(256);
    let (done, finished) = tokio::sync::oneshot::channel();
    let db = state.db.clone();
    let org_id = actor.org.id;
    tokio::spawn(async move {
        let result =
            db::memberships::stream(&db, org_id, now, &filter, sort, descending, rows_tx).await;
        if let Err(e) = &result {
            tracing::error!(error = %e, "member export stopped");
        }
        let _ = done.send(result.is_ok());
    });
    Ok(Export { rows, finished })
}
