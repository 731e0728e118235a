//! What the Invitations page, its delivery cells and the API read.

use crate::db::{self, invitations::Row};
use crate::domain::invitation::Status;
use crate::state::AppState;

use super::Error;

/// A page of invitations.
#[derive(Clone, Debug)]
pub struct Listing {
    pub rows: Vec<Row>,
    pub total: i64,
    /// The page shown (the one asked for, within 1..=pages).
    pub page: i64,
    pub pages: i64,
}

/// The organization's invitations in `status`, newest first, page `page` (clamped to
/// those there are) of `per_page`. `pending` is the count of pending ones as read with
/// the membership, which nothing has changed since.
pub async fn list_page(
    state: &AppState,
    org_id: i64,
    status: Status,
    page: i64,
    per_page: i64,
    pending: i64,
) -> Result<Listing, Error> {
    let now = state.clock.now();
    let total = match status {
        Status::Pending => pending,
        _ => db::invitations::count(&state.db, org_id, status, now).await?,
    };
    let pages = ((total + per_page - 1) / per_page).max(1);
    let page = page.clamp(1, pages);
    let offset = (page - 1) * per_page;
    let rows = db::invitations::list(&state.db, org_id, status, now, per_page, offset).await?;
    Ok(Listing {
        rows,
        total,
        page,
        pages,
    })
}

/// The organization's invitations in `status`, newest first, `per_page` from `offset`
/// (none past the last), and how many there are.
pub async fn list_window(
    state: &AppState,
    org_id: i64,
    status: Status,
    per_page: i64,
    offset: i64,
) -> Result<(i64, Vec<Row>), Error> {
    let now = state.clock.now();
    let total = db::invitations::count(&state.db, org_id, status, now).await?;
    let rows = db::invitations::list(&state.db, org_id, status, now, per_page, offset).await?;
    Ok((total, rows))
}

/// One invitation of the organization, as the Invitations page shows it.
pub async fn invitation(state: &AppState, org_id: i64, id: i64) -> Result<Row, Error> {
    db::invitations::row(&state.db, org_id, id)
        .await?
        .ok_or(Error::NotFound)
}
