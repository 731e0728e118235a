//! What the Invitations page, its delivery cells and the API read.

use crate::db::{self, invitations::Row};
use crate::domain::delivery::{Delivery, OutboxState};
use crate::domain::invitation::Status;
use crate::state::AppState;

use super::{Created, Error};

/// A page of invitations.
#[derive(Clone, Debug)]
pub struct Listing {
    pub rows: Vec<Row>,
    pub total: i64,
    /// The page shown (the one asked for, within 1..=pages).
    pub page: i64,
    pub pages: i64,
    /// How the emails of the bulk send asked about stand, when one was.
    pub progress: Option<Progress>,
}

/// The organization's invitations in `status`, newest first, page `page` (clamped to
/// those there are) of `per_page`. `pending` is the count of pending ones as read with
/// the membership, which nothing has changed since. With `batch`, also how that bulk
/// send's emails stand.
pub async fn list_page(
    state: &AppState,
    org_id: i64,
    status: Status,
    page: i64,
    per_page: i64,
    pending: i64,
    batch: Option<Batch>,
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
    let progress = match batch {
        Some(batch) => Some(batch_progress(state, org_id, batch).await?),
        None => None,
    };
    Ok(Listing {
        rows,
        total,
        page,
        pages,
        progress,
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

/// The delivery state of an invitation's latest email; None when no email was sent
/// (the link was shown instead).
pub fn delivery(row: &Row, now: i64) -> Option<Delivery> {
    row.outbox_id?;
    Some(Delivery::of(
        OutboxState {
            attempts: row.attempts.unwrap_or_default(),
            next_attempt_at: row.next_attempt_at.unwrap_or_default(),
            claimed_until: row.claimed_until,
            sent_at: row.sent_at,
            gave_up_at: row.gave_up_at,
            last_error: row.last_error.as_deref(),
        },
        now,
    ))
}

/// The emails of one bulk send, as the range of their outbox ids; shown as `first-last`
/// in the Invitations page's address, so that its progress is right on reload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Batch {
    pub first: i64,
    pub last: i64,
}

impl Batch {
    /// The batch of `created`, when it sent more than one email (a single one has its
    /// own row's state).
    pub fn of(created: &[Created]) -> Option<Batch> {
        let mut ids = created.iter().filter_map(|c| c.outbox_id);
        let first = ids.next()?;
        let (mut batch, mut n) = (Batch { first, last: first }, 1);
        for id in ids {
            batch.first = batch.first.min(id);
            batch.last = batch.last.max(id);
            n += 1;
        }
        (n > 1).then_some(batch)
    }

    pub fn parse(s: &str) -> Option<Batch> {
        let (first, last) = s.split_once('-')?;
        let (first, last) = (first.parse().ok()?, last.parse().ok()?);
        (0 < first && first <= last).then_some(Batch { first, last })
    }
}

impl std::fmt::Display for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// How the emails of a batch stand.
pub type Progress = db::invitations::BatchCounts;

impl Progress {
    /// Whether the worker is done with every email of the batch.
    pub fn is_done(&self) -> bool {
        self.delivered + self.failed >= self.total
    }
}

/// How the emails of `batch` to the organization's invitations stand.
pub async fn batch_progress(
    state: &AppState,
    org_id: i64,
    batch: Batch,
) -> Result<Progress, Error> {
    let now = state.clock.now();
    Ok(db::invitations::batch_counts(&state.db, org_id, batch.first, batch.last, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn created(outbox_id: Option<i64>) -> Created {
        Created {
            email: "a@example.com".into(),
            link: String::new(),
            outbox_id,
        }
    }

    #[test]
    fn a_batch_spans_its_emails_and_needs_two() {
        let many = [created(Some(7)), created(Some(5)), created(Some(9))];
        assert_eq!(Batch::of(&many), Some(Batch { first: 5, last: 9 }));
        assert_eq!(Batch::of(&[created(Some(3))]), None);
        assert_eq!(Batch::of(&[created(None), created(None)]), None);
        assert_eq!(Batch::parse("5-9"), Some(Batch { first: 5, last: 9 }));
        assert_eq!(
            Batch::parse(&Batch { first: 5, last: 9 }.to_string()),
            Some(Batch { first: 5, last: 9 })
        );
        for bad in ["9-5", "x-1", "5", "-1-3", "0-2"] {
            assert_eq!(Batch::parse(bad), None, "{bad}");
        }
    }
}
