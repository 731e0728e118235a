//! Reading the audit log: a page of events, or every event for an export. (Events are
//! written by the service that makes each change, in its transaction.)

use crate::db::{self, Db};
use crate::state::AppState;

pub use crate::db::audit::{Filter, Listed, Scope};

/// Up to `limit` events of `scope` matching `filter`, newest first, older than `after`
/// (the time and id of the last event of the page before).
pub async fn page(
    state: &AppState,
    scope: Scope,
    filter: &Filter,
    after: Option<(i64, i64)>,
    limit: i64,
) -> sqlx::Result<Vec<Listed>> {
    db::audit::page(&state.db, scope, filter, after, limit).await
}

/// Sends every event of `scope` matching `filter` to `rows`, newest first, as the
/// database yields them; an error if the read stopped midway.
pub async fn export(
    db: &Db,
    scope: Scope,
    filter: &Filter,
    rows: tokio::sync::mpsc::Sender<Listed>,
) -> sqlx::Result<()> {
    db::audit::stream(db, scope, filter, rows).await
}
