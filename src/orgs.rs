//! An organization's own settings. Owners change them here; the pages (and later the
//! API) call these functions, which own their transaction and audit.

use crate::actor::Actor;
/// An organization as the pages and the API name it.
pub use crate::db::orgs::Org;
use crate::db::{self, audit};
use crate::domain::permissions::{self, Action};
use crate::domain::settings::OrgSettings;
use crate::state::AppState;

/// Why settings were not saved. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Only Owners change settings.
    #[error("forbidden")]
    Forbidden,
    /// Seats cannot be fewer than those assigned now.
    #[error("{assigned} seats are assigned")]
    SeatsBelowAssigned { assigned: i64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

impl Error {
    /// The message next to the field it concerns, for the refusals a person can fix.
    pub fn field_message(&self) -> Option<(&'static str, String)> {
        match self {
            Error::SeatsBelowAssigned { assigned } => Some((
                "seats",
                format!(
                    "{assigned} seats are assigned now. Revoke some first, or choose at least {assigned}."
                ),
            )),
            _ => None,
        }
    }
}

/// Whether `actor` may see and change the organization's settings.
pub fn may_edit_settings(actor: &Actor) -> bool {
    permissions::allows(actor.role, Action::EditSettings)
}

/// Saves `settings` (parsed) for the actor's organization; false when they were
/// already so (nothing is written then).
pub async fn update_settings(
    state: &AppState,
    actor: &Actor,
    settings: &OrgSettings,
) -> Result<bool, Error> {
    if !may_edit_settings(actor) {
        return Err(Error::Forbidden);
    }
    let org_id = actor.org.id;
    let mut tx = state.db.begin().await?;
    // Seats are counted under the members' lock, so that no seat is assigned meanwhile.
    tx.lock(db::LockScope::OrgMembers, org_id).await?;
    let before = db::orgs::settings_for_update(&mut tx, org_id).await?;
    if let Some(seats) = settings.seats {
        let assigned = db::memberships::count_seats_in(&mut tx, org_id).await?;
        if assigned > seats {
            return Err(Error::SeatsBelowAssigned { assigned });
        }
    }
    if before == *settings {
        return Ok(false);
    }
    db::orgs::update_settings(&mut tx, org_id, settings).await?;
    let (old, new) = changed_fields(&before, settings);
    let event = audit::Event::new(audit::Action::OrgSettingsChanged, &actor.audit)
        .in_org(org_id)
        .target("organization", Some(org_id), None)
        .before(old)
        .after(new);
    audit::record(&mut tx, &event, state.clock.now()).await?;
    tx.commit().await?;
    Ok(true)
}

/// The fields that differ, before and after, as JSON objects for the audit trail.
fn changed_fields(before: &OrgSettings, after: &OrgSettings) -> (String, String) {
    let (serde_json::Value::Object(old), serde_json::Value::Object(new)) = (
        serde_json::to_value(before).unwrap_or_default(),
        serde_json::to_value(after).unwrap_or_default(),
    ) else {
        return (String::new(), String::new());
    };
    let keys: Vec<&String> = old.keys().filter(|k| old.get(*k) != new.get(*k)).collect();
    let pick = |map: &serde_json::Map<String, serde_json::Value>| {
        serde_json::Value::Object(
            keys.iter()
                .map(|k| ((*k).clone(), map[*k].clone()))
                .collect(),
        )
        .to_string()
    };
    (pick(&old), pick(&new))
}

/// The organization's settings as they are now.
pub async fn settings(state: &AppState, org_id: i64) -> sqlx::Result<OrgSettings> {
    db::orgs::settings(&state.db, org_id).await
}

/// How many active members of the organization have no second factor (what "require
/// two-factor authentication" would send to set it up).
pub async fn members_without_two_factor(state: &AppState, org_id: i64) -> sqlx::Result<i64> {
    db::two_factor::members_without(&state.db, org_id).await
}
