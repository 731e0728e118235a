//! Inviting from a CSV file: a preview first, which writes nothing but the upload, then
//! the confirmation, which invites through the same queue as the form and the API.

use crate::actor::Actor;
use crate::db::{self, Reader};
use crate::domain::Role;
use crate::domain::access::AccessUntil;
use crate::domain::invitation::CsvRow;
use crate::domain::settings::OrgSettings;
use crate::state::AppState;

use super::plan::{Plan, Request, plan};
use super::queue::{Invited, Taken, queue};
use super::{Error, may_invite};

/// A stored upload and what would happen to each of its rows now.
#[derive(Clone, Debug)]
pub struct CsvPreview {
    pub import_id: i64,
    pub file_name: String,
    /// The rows as stored (the role column filled with the default role where empty).
    pub rows: Vec<CsvRow>,
    pub plan: Plan,
}

/// A stored row of an upload: email, role and, when the file had one, the last day of
/// access (uploads stored before that column have two cells).
pub(super) type StoredRow = Vec<String>;

/// The requests of CSV rows: the role column, or `default_role` where it is empty, and
/// the last day of access (a past or malformed one refuses the row, in words).
pub(super) fn csv_requests(rows: &[StoredRow], default_role: Role, now: i64) -> Vec<Request> {
    rows.iter()
        .map(|row| {
            let cell = |i: usize| row.get(i).map_or("", String::as_str);
            let (email, role) = (cell(0), cell(1));
            let parsed = if role.is_empty() {
                Some(default_role)
            } else {
                Role::parse_name(role)
            };
            let until = AccessUntil::parse(cell(2), now);
            Request {
                bad_role: parsed.is_none().then(|| role.to_string()),
                bad_access_until: until.as_ref().err().cloned(),
                ..Request::new(email, parsed.unwrap_or(default_role)).until(until.ok().flatten())
            }
        })
        .collect()
}

/// Keeps the rows of an upload named `file_name` for its preview and confirmation;
/// rows without a role get `default_role`. Nothing is invited yet. Returns its id.
pub async fn upload_csv(
    state: &AppState,
    actor: &Actor,
    settings: &OrgSettings,
    file_name: &str,
    rows: &[CsvRow],
    default_role: Role,
) -> Result<i64, Error> {
    if !may_invite(actor, settings) {
        return Err(Error::Forbidden);
    }
    let stored: Vec<Vec<&str>> = rows
        .iter()
        .map(|r| {
            let role = if r.role.is_empty() {
                default_role.as_str()
            } else {
                r.role.as_str()
            };
            let mut row = vec![r.email.as_str(), role];
            if !r.access_until.is_empty() {
                row.push(r.access_until.as_str());
            }
            row
        })
        .collect();
    let lines: Vec<u64> = rows.iter().map(|r| r.line).collect();
    let rows_json = serde_json::to_string(&stored).map_err(anyhow::Error::from)?;
    let lines_json = serde_json::to_string(&lines).map_err(anyhow::Error::from)?;
    let upload = db::csv_imports::Upload {
        org_id: actor.org.id,
        user_id: actor.user_id().ok_or(Error::Forbidden)?,
        file_name,
        rows_json: &rows_json,
        lines_json: &lines_json,
    };
    Ok(db::csv_imports::insert(&state.db, &upload, state.clock.now()).await?)
}

/// The actor's upload `import_id` (`NotFound` once confirmed, forgotten, or someone
/// else's) planned as things stand, under `settings` (the organization's, as read with
/// the actor's membership). The plan is read from the pool: a preview takes no write turn.
pub async fn csv_preview(
    state: &AppState,
    actor: &Actor,
    settings: &OrgSettings,
    import_id: i64,
) -> Result<CsvPreview, Error> {
    if !may_invite(actor, settings) {
        return Err(Error::Forbidden);
    }
    let (rows_json, file_name, lines_json) = db::csv_imports::find(
        &state.db,
        import_id,
        actor.org.id,
        actor.user_id().ok_or(Error::Forbidden)?,
    )
    .await?
    .ok_or(Error::NotFound)?;
    let stored: Vec<StoredRow> = serde_json::from_str(&rows_json).map_err(anyhow::Error::from)?;
    let lines: Vec<u64> = serde_json::from_str(&lines_json).map_err(anyhow::Error::from)?;
    let now = state.clock.now();
    let plan = plan(
        Reader::Pool(&state.db),
        actor.org.id,
        settings,
        actor.role,
        // Every stored row has a role; the default only stands in for unknown ones.
        &csv_requests(&stored, Role::Member, now),
        now,
    )
    .await?;
    let rows = stored
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            let mut cells = row.into_iter();
            CsvRow {
                // Uploads stored before lines were kept count their rows from the header.
                line: lines.get(i).copied().unwrap_or(i as u64 + 2),
                email: cells.next().unwrap_or_default(),
                role: cells.next().unwrap_or_default(),
                access_until: cells.next().unwrap_or_default(),
            }
        })
        .collect();
    Ok(CsvPreview {
        import_id,
        file_name,
        rows,
        plan,
    })
}

/// Invites the rows of the actor's previewed upload `import_id` that may still be
/// invited; the others are skipped. The upload is used up.
pub async fn confirm_csv(
    state: &AppState,
    actor: &Actor,
    import_id: i64,
) -> Result<Invited, Error> {
    queue(state, actor, Vec::new(), true, Taken::CsvImport(import_id)).await
}
