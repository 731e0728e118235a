//! Inviting from a CSV file: a preview first, which writes nothing but the upload, then
//! the confirmation, which invites through the same queue as the form and the API.

use crate::actor::Actor;
use crate::db::{self, Reader};
use crate::domain::Role;
use crate::domain::invitation::{CsvRow, parse_role_name};
use crate::domain::settings::OrgSettings;
use crate::state::AppState;

use super::plan::{Plan, Request, plan};
use super::queue::{Invited, queue};
use super::{Error, may_invite};

/// A previewed upload: its id, to confirm it by, and what would happen to each row.
#[derive(Clone, Debug)]
pub struct CsvPreview {
    pub import_id: i64,
    pub plan: Plan,
}

/// The requests of CSV rows: the role column, or `default_role` where it is empty.
pub(super) fn csv_requests(rows: &[(String, String)], default_role: Role) -> Vec<Request> {
    rows.iter()
        .map(|(email, role)| {
            let parsed = if role.is_empty() {
                Some(default_role)
            } else {
                parse_role_name(role)
            };
            Request {
                bad_role: parsed.is_none().then(|| role.clone()),
                ..Request::new(email, parsed.unwrap_or(default_role))
            }
        })
        .collect()
}

/// Keeps the rows of an upload for its confirmation and plans them as they stand, under
/// `settings` (the organization's, as read with the actor's membership); nothing is
/// invited yet. The plan is read from the pool: a preview takes no write turn.
pub async fn preview_csv(
    state: &AppState,
    actor: &Actor,
    settings: &OrgSettings,
    rows: &[CsvRow],
    default_role: Role,
) -> Result<CsvPreview, Error> {
    if !may_invite(actor, settings) {
        return Err(Error::Forbidden);
    }
    let pairs: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            let role = if r.role.is_empty() {
                default_role.as_str().to_string()
            } else {
                r.role.clone()
            };
            (r.email.clone(), role)
        })
        .collect();
    let now = state.clock.now();
    let import_id = db::csv_imports::insert(
        &state.db,
        actor.org.id,
        actor.user.id,
        &serde_json::to_string(&pairs).map_err(anyhow::Error::from)?,
        now,
    )
    .await?;
    let plan = plan(
        Reader::Pool(&state.db),
        actor.org.id,
        settings,
        actor.role,
        &csv_requests(&pairs, default_role),
        now,
    )
    .await?;
    Ok(CsvPreview { import_id, plan })
}

/// Invites the rows of the actor's previewed upload `import_id` that may still be
/// invited; the others are skipped. The upload is used up.
pub async fn confirm_csv(
    state: &AppState,
    actor: &Actor,
    import_id: i64,
) -> Result<Invited, Error> {
    queue(state, actor, Vec::new(), true, Some(import_id)).await
}
