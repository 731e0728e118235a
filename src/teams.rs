//! Teams: named groups of an organization's members. Owners and Admins create, rename
//! and delete them and add and remove their members; every member of the organization
//! sees them. The pages and the API call these functions, and so will SCIM (a Group is
//! a team): each takes an `Actor`, owns its transaction and writes its audit event.

use std::collections::HashMap;

use crate::actor::Actor;
pub use crate::db::teams::{TeamMemberRow, TeamRow};
use crate::db::{self, Db, audit, teams::Lock};
use crate::domain::permissions::{self, Action};
use crate::domain::team::TeamName;
use crate::state::AppState;

/// Why a team was not read or changed. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Only Owners and Admins manage teams.
    #[error("Your role does not allow managing teams.")]
    Forbidden,
    /// No such team in this organization.
    #[error("That team is no longer in this organization.")]
    NotFound,
    /// No such member in this organization.
    #[error("That member is no longer in this organization.")]
    MemberNotFound,
    /// The name is empty, too long or holds control characters; the message says which.
    #[error("{0}")]
    InvalidName(String),
    /// Another team of the organization has this name (in any case).
    #[error("There is already a team called {0}. Choose another name.")]
    NameTaken(String),
    #[error("{email} is already in {team}.")]
    AlreadyInTeam { email: String, team: String },
    #[error("{email} is not in {team}.")]
    NotInTeam { email: String, team: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

impl Error {
    /// Whether this is a message for the name field (the form is shown again).
    pub fn is_about_name(&self) -> bool {
        matches!(self, Error::InvalidName(_) | Error::NameTaken(_))
    }
}

/// A team with its members.
#[derive(Clone, Debug)]
pub struct TeamDetail {
    pub team: TeamRow,
    pub members: Vec<TeamMemberRow>,
}

/// Whether `actor` may create, rename and delete teams and change their members.
pub fn may_manage(actor: &Actor) -> bool {
    permissions::allows(actor.role, Action::ManageTeams)
}

fn check_manage(actor: &Actor) -> Result<(), Error> {
    if may_manage(actor) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// The organization's teams with their member counts, by name. Every member sees them.
pub async fn list(state: &AppState, actor: &Actor) -> Result<Vec<TeamRow>, Error> {
    Ok(db::teams::of_org(&state.db, actor.org.id).await?)
}

/// One team of the organization with its members (by email); another organization's
/// team is `NotFound`.
pub async fn get(state: &AppState, actor: &Actor, id: i64) -> Result<TeamDetail, Error> {
    let team = db::teams::find(&state.db, actor.org.id, id, Lock::None)
        .await?
        .ok_or(Error::NotFound)?;
    let members = db::teams::members(&state.db, team.id).await?;
    Ok(TeamDetail { team, members })
}

/// How many members a search for people to add offers at most.
pub const CANDIDATES_MAX: i64 = 20;

/// The team's page: the team with its members and, for a manager who searched, the
/// members of the organization not in it whose email or name holds `search` (at most
/// `CANDIDATES_MAX`): whom to add.
pub async fn page(
    state: &AppState,
    actor: &Actor,
    id: i64,
    search: Option<&str>,
) -> Result<(TeamDetail, Option<Vec<TeamMemberRow>>), Error> {
    let detail = get(state, actor, id).await?;
    let candidates = match search {
        Some(search) if may_manage(actor) => Some(
            db::teams::candidates(
                &state.db,
                actor.org.id,
                id,
                &search.to_lowercase(),
                CANDIDATES_MAX,
            )
            .await?,
        ),
        _ => None,
    };
    Ok((detail, candidates))
}

/// The team, for a confirmation of a change to it: managers only.
pub async fn get_to_manage(state: &AppState, actor: &Actor, id: i64) -> Result<TeamRow, Error> {
    check_manage(actor)?;
    db::teams::find(&state.db, actor.org.id, id, Lock::None)
        .await?
        .ok_or(Error::NotFound)
}

/// Begins a change to the team `id` of the actor's organization, which managers only
/// make: the transaction, the team as it is now (locked as `lock` says) and the time.
async fn begin_on(
    state: &AppState,
    actor: &Actor,
    id: i64,
    lock: Lock,
) -> Result<(db::Tx, TeamRow, i64), Error> {
    check_manage(actor)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let team = db::teams::find(&mut tx, actor.org.id, id, lock)
        .await?
        .ok_or(Error::NotFound)?;
    Ok((tx, team, now))
}

/// A unique violation on the team's name as the refusal it is.
fn name_taken(err: sqlx::Error, name: &TeamName) -> Error {
    if db::is_unique_violation(&err) {
        Error::NameTaken(name.to_string())
    } else {
        err.into()
    }
}

/// Creates a team named `typed`. Two requests creating the same name at once: the
/// unique index lets one win; the other is `NameTaken`.
pub async fn create(state: &AppState, actor: &Actor, typed: &str) -> Result<TeamRow, Error> {
    check_manage(actor)?;
    let name = TeamName::parse(typed).map_err(Error::InvalidName)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = create_in(&mut tx, actor, &name, now).await?;
    let team = db::teams::find(&mut tx, actor.org.id, id, Lock::None)
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    Ok(team)
}

/// Writes a new team named `name` and its audit event inside `tx`; returns its id. The
/// caller has checked that `actor` manages teams.
pub(crate) async fn create_in(
    tx: &mut db::Tx,
    actor: &Actor,
    name: &TeamName,
    now: i64,
) -> Result<i64, Error> {
    let id = db::teams::insert(tx, actor.org.id, name.as_str(), name.key(), now)
        .await
        .map_err(|e| name_taken(e, name))?;
    let event = audit::Event::new(audit::Action::TeamCreated, &actor.audit)
        .in_org(actor.org.id)
        .target("team", Some(id), None)
        .after(name.as_str());
    audit::record(tx, &event, now).await?;
    Ok(id)
}

/// Renames the team. The same name in another case is a rename too; the very same name
/// changes nothing.
pub async fn rename(
    state: &AppState,
    actor: &Actor,
    id: i64,
    typed: &str,
) -> Result<TeamRow, Error> {
    check_manage(actor)?;
    let name = TeamName::parse(typed).map_err(Error::InvalidName)?;
    let (mut tx, team, now) = begin_on(state, actor, id, Lock::Update).await?;
    let renamed = rename_in(&mut tx, actor, team, &name, now).await?;
    tx.commit().await?;
    Ok(renamed)
}

/// Renames `team` (read under `Lock::Update`) inside `tx`, with its audit event; the
/// very same name changes nothing.
pub(crate) async fn rename_in(
    tx: &mut db::Tx,
    actor: &Actor,
    team: TeamRow,
    name: &TeamName,
    now: i64,
) -> Result<TeamRow, Error> {
    if team.name == name.as_str() {
        return Ok(team);
    }
    db::teams::rename(tx, team.id, name.as_str(), name.key(), now)
        .await
        .map_err(|e| name_taken(e, name))?;
    let event = audit::Event::new(audit::Action::TeamRenamed, &actor.audit)
        .in_org(actor.org.id)
        .target("team", Some(team.id), None)
        .before(team.name.as_str())
        .after(name.as_str());
    audit::record(tx, &event, now).await?;
    Ok(TeamRow {
        name: name.to_string(),
        updated_at: now,
        ..team
    })
}

/// Deletes the team; its members stay in the organization. Returns the team as it was.
pub async fn delete(state: &AppState, actor: &Actor, id: i64) -> Result<TeamRow, Error> {
    let (mut tx, team, now) = begin_on(state, actor, id, Lock::Update).await?;
    delete_in(&mut tx, actor, &team, now).await?;
    tx.commit().await?;
    Ok(team)
}

/// Deletes `team` inside `tx`, with its audit event.
pub(crate) async fn delete_in(
    tx: &mut db::Tx,
    actor: &Actor,
    team: &TeamRow,
    now: i64,
) -> Result<(), Error> {
    db::teams::delete(tx, team.id).await?;
    let event = audit::Event::new(audit::Action::TeamDeleted, &actor.audit)
        .in_org(actor.org.id)
        .target("team", Some(team.id), None)
        .before(team.name.as_str());
    audit::record(tx, &event, now).await?;
    Ok(())
}

/// Puts the member `membership_id` of the organization in the team; returns the team
/// and the member as added.
pub async fn add_member(
    state: &AppState,
    actor: &Actor,
    id: i64,
    membership_id: i64,
) -> Result<(TeamRow, TeamMemberRow), Error> {
    let (mut tx, team, now) = begin_on(state, actor, id, Lock::Share).await?;
    add_member_in(&mut tx, actor, &team, membership_id, now).await?;
    let member = db::teams::member_in(&mut tx, id, membership_id)
        .await?
        .ok_or(Error::MemberNotFound)?;
    tx.commit().await?;
    Ok((team, member))
}

/// Puts the member `membership_id` of the organization in `team` inside `tx`, with its
/// audit event.
pub(crate) async fn add_member_in(
    tx: &mut db::Tx,
    actor: &Actor,
    team: &TeamRow,
    membership_id: i64,
    now: i64,
) -> Result<(), Error> {
    let (_, email) = db::teams::lock_membership(tx, actor.org.id, membership_id)
        .await?
        .ok_or(Error::MemberNotFound)?;
    if !db::teams::add_member(tx, team.id, membership_id, now).await? {
        return Err(Error::AlreadyInTeam {
            email,
            team: team.name.clone(),
        });
    }
    db::teams::touch(tx, team.id, now).await?;
    let event = audit::Event::new(audit::Action::TeamMemberAdded, &actor.audit)
        .in_org(actor.org.id)
        .target("member", Some(membership_id), Some(&email))
        .after(team.name.as_str());
    audit::record(tx, &event, now).await?;
    Ok(())
}

/// Takes the member `membership_id` out of the team; returns the team and the member as
/// they were in it.
pub async fn remove_member(
    state: &AppState,
    actor: &Actor,
    id: i64,
    membership_id: i64,
) -> Result<(TeamRow, TeamMemberRow), Error> {
    let (mut tx, team, now) = begin_on(state, actor, id, Lock::Share).await?;
    let member = remove_member_in(&mut tx, actor, &team, membership_id, now).await?;
    tx.commit().await?;
    Ok((team, member))
}

/// Takes the member `membership_id` out of `team` inside `tx`, with its audit event;
/// returns the member as they were in it.
pub(crate) async fn remove_member_in(
    tx: &mut db::Tx,
    actor: &Actor,
    team: &TeamRow,
    membership_id: i64,
    now: i64,
) -> Result<TeamMemberRow, Error> {
    let Some(member) = db::teams::member_in(tx, team.id, membership_id).await? else {
        let (_, email) = db::teams::lock_membership(tx, actor.org.id, membership_id)
            .await?
            .ok_or(Error::MemberNotFound)?;
        return Err(Error::NotInTeam {
            email,
            team: team.name.clone(),
        });
    };
    // Two removals at once: the second finds nothing to delete, and says so.
    if !db::teams::remove_member(tx, team.id, membership_id).await? {
        return Err(Error::NotInTeam {
            email: member.email,
            team: team.name.clone(),
        });
    }
    db::teams::touch(tx, team.id, now).await?;
    let event = audit::Event::new(audit::Action::TeamMemberRemoved, &actor.audit)
        .in_org(actor.org.id)
        .target("member", Some(membership_id), Some(&member.email))
        .before(team.name.as_str());
    audit::record(tx, &event, now).await?;
    Ok(member)
}

/// The organization's teams as (id, name), by name: the Members page's filter.
pub async fn names(db: &Db, actor: &Actor) -> Result<Vec<(i64, String)>, Error> {
    Ok(db::teams::names_of_org(db, actor.org.id).await?)
}

/// The team names of each of the members `ids` (membership ids) of the actor's
/// organization: one query for the rows a page or an API answer shows.
pub async fn names_by_member(
    db: &Db,
    org_id: i64,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>, Error> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(db::teams::names_by_member(db, org_id, ids).await?)
}
