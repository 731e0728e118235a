//! SCIM Groups: the organization's teams. A group's members are Users by id; every
//! change goes through the teams service's writes, with their audit events and webhooks.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value, json};

use super::patch::{Schema, Shape, get_ci};
use super::{
    Error, GROUP_SCHEMA, ListParams, check_version, group_id, list_error, listing, parse_group_id,
    parse_id,
};
use crate::actor::Actor;
use crate::db::{self, Tx, scim::GroupRow, teams::Lock};
use crate::domain::team::TeamName;
use crate::state::AppState;
use crate::teams;

pub(super) const SCHEMA: Schema = Schema {
    urn: GROUP_SCHEMA,
    attributes: &[
        ("displayName", Shape::Simple),
        ("externalId", Shape::Simple),
        ("members", Shape::Multi),
        ("id", Shape::ReadOnly),
        ("meta", Shape::ReadOnly),
    ],
};

/// A Group as the identity provider sends it.
struct GroupInput {
    name: TeamName,
    external_id: Option<String>,
    /// None: the body says nothing of members (they stay as they are).
    members: Option<BTreeSet<i64>>,
}

impl GroupInput {
    fn parse(body: &Value) -> Result<GroupInput, Error> {
        let Value::Object(obj) = body else {
            return Err(Error::invalid("invalidSyntax", "A Group is a JSON object."));
        };
        let typed = match get_ci(obj, "displayName") {
            Some(Value::String(s)) => s.as_str(),
            None | Some(Value::Null) => {
                return Err(Error::invalid_value("A Group needs a displayName."));
            }
            Some(_) => return Err(Error::invalid_value("displayName must be a string.")),
        };
        let name = TeamName::parse(typed)
            .map_err(|why| Error::invalid_value(format!("displayName: {why}")))?;
        let external_id = match get_ci(obj, "externalId") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) if s.len() <= 256 && !s.chars().any(char::is_control) => {
                Some(s.trim().to_string())
            }
            Some(_) => {
                return Err(Error::invalid_value(
                    "externalId must be a string of at most 256 characters, on one line.",
                ));
            }
        };
        let members = match get_ci(obj, "members") {
            None => None,
            Some(Value::Null) => Some(BTreeSet::new()),
            Some(Value::Array(items)) => {
                let mut ids = BTreeSet::new();
                for item in items {
                    let value = match item {
                        Value::Object(m) => get_ci(m, "value").cloned(),
                        other => Some(other.clone()),
                    };
                    let text = match value {
                        Some(Value::String(s)) => s,
                        Some(Value::Number(n)) => n.to_string(),
                        _ => {
                            return Err(Error::invalid_value(
                                "Each of members names a User by its id in value.",
                            ));
                        }
                    };
                    let id = parse_id(&text).ok_or_else(|| {
                        Error::invalid_value(format!(
                            "No User with id {text:?} in this organization."
                        ))
                    })?;
                    ids.insert(id);
                }
                Some(ids)
            }
            Some(_) => return Err(Error::invalid_value("members must be a list.")),
        };
        Ok(GroupInput {
            name,
            external_id,
            members,
        })
    }
}

/// A team as a SCIM Group; `members` None when they were not asked for.
#[derive(Clone, Debug)]
pub struct Group {
    row: GroupRow,
    members: Option<Vec<i64>>,
}

impl Group {
    pub fn to_json(&self, base: &str) -> Value {
        let r = &self.row;
        let mut value = self.body(base);
        value["meta"] = json!({
            "resourceType": "Group",
            "created": crate::clock::iso(r.created_at),
            "lastModified": crate::clock::iso(r.updated_at),
            "location": format!("{base}/Groups/{}", r.id),
            "version": self.version(),
        });
        value
    }

    /// `meta.version`, whatever the base URL.
    fn version(&self) -> String {
        super::version_of(&self.body(""))
    }

    /// The Group without `meta`.
    fn body(&self, base: &str) -> Value {
        let r = &self.row;
        let mut value = json!({
            "schemas": [GROUP_SCHEMA],
            "id": group_id(r.id),
            "displayName": r.name,
        });
        if let Some(external_id) = &r.external_id {
            value["externalId"] = json!(external_id);
        }
        if let Some(members) = &self.members {
            value["members"] = Value::Array(
                members
                    .iter()
                    .map(
                        |id| json!({"value": id.to_string(), "$ref": format!("{base}/Users/{id}")}),
                    )
                    .collect(),
            );
        }
        value
    }

    fn writable(&self) -> Map<String, Value> {
        let mut doc = self.to_json("");
        let obj = doc.as_object_mut().expect("an object");
        for key in ["schemas", "id", "meta"] {
            obj.remove(key);
        }
        std::mem::take(obj)
    }
}

pub struct GroupList {
    pub groups: Vec<Group>,
    pub total: i64,
    pub start_index: i64,
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("No Group with id {id:?} in this organization."))
}

async fn with_members<'a>(
    reader: impl Into<db::Reader<'a>>,
    rows: Vec<GroupRow>,
    members: bool,
) -> Result<Vec<Group>, Error> {
    if !members {
        return Ok(rows
            .into_iter()
            .map(|row| Group { row, members: None })
            .collect());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut by_team: HashMap<i64, Vec<i64>> = HashMap::new();
    for (team, member, _) in db::scim::members_of(reader, &ids).await? {
        by_team.entry(team).or_default().push(member);
    }
    Ok(rows
        .into_iter()
        .map(|row| Group {
            members: Some(by_team.remove(&row.id).unwrap_or_default()),
            row,
        })
        .collect())
}

/// The Group `id`; `members` false leaves its members out (Entra ID asks
/// `excludedAttributes=members`).
pub async fn get_group(
    state: &AppState,
    actor: &Actor,
    id: &str,
    members: bool,
) -> Result<Group, Error> {
    let found = match parse_group_id(id) {
        Some(n) => db::scim::group(&state.db, actor.org.id, n).await?,
        None => None,
    };
    let row = found.ok_or_else(|| not_found(id))?;
    Ok(with_members(&state.db, vec![row], members).await?.remove(0))
}

pub async fn list_groups(
    state: &AppState,
    actor: &Actor,
    params: &ListParams,
    members: bool,
) -> Result<GroupList, Error> {
    let l = listing(params)?;
    let q = db::scim::ListQuery {
        filter: l.filter.as_ref(),
        sort_by: l.sort_by.as_deref(),
        descending: l.descending,
        offset: l.start_index - 1,
        limit: l.count,
        across_types: params.across_types,
    };
    let (rows, total) = db::scim::list_groups(&state.db, actor.org.id, &q)
        .await
        .map_err(list_error)?;
    Ok(GroupList {
        groups: with_members(&state.db, rows, members).await?,
        total,
        start_index: l.start_index,
    })
}

/// A refusal of the teams service as a SCIM error.
fn team_error(err: teams::Error) -> Error {
    match err {
        teams::Error::NameTaken(name) => {
            Error::Uniqueness(format!("There is already a Group called {name}."))
        }
        teams::Error::InvalidName(why) => Error::invalid_value(format!("displayName: {why}")),
        teams::Error::NotFound => Error::NotFound("No such Group in this organization.".into()),
        teams::Error::MemberNotFound => {
            Error::invalid_value("A member is not a User of this organization.")
        }
        teams::Error::Internal(e) => Error::Internal(e),
        other => Error::Refused(other.to_string()),
    }
}

/// Makes the team's members exactly `wanted`, member by member.
async fn set_members(
    tx: &mut Tx,
    actor: &Actor,
    team: &crate::db::teams::TeamRow,
    have: &[i64],
    wanted: &BTreeSet<i64>,
    now: i64,
) -> Result<(), Error> {
    let known = db::scim::members_in_org(
        tx,
        actor.org.id,
        &wanted.iter().copied().collect::<Vec<_>>(),
    )
    .await?;
    if let Some(unknown) = wanted.iter().find(|id| !known.contains(id)) {
        return Err(Error::invalid_value(format!(
            "No User with id \"{unknown}\" in this organization."
        )));
    }
    for id in have.iter().filter(|id| !wanted.contains(id)) {
        teams::remove_member_in(tx, actor, team, *id, now)
            .await
            .map_err(team_error)?;
    }
    for id in wanted.iter().filter(|id| !have.contains(id)) {
        teams::add_member_in(tx, actor, team, *id, now)
            .await
            .map_err(team_error)?;
    }
    Ok(())
}

pub async fn create_group(state: &AppState, actor: &Actor, body: &Value) -> Result<Group, Error> {
    let input = GroupInput::parse(body)?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id = teams::create_in(&mut tx, actor, &input.name, now)
        .await
        .map_err(team_error)?;
    if input.external_id.is_some() {
        db::scim::set_group_external_id(&mut tx, id, input.external_id.as_deref(), now).await?;
    }
    if let Some(members) = input.members.as_ref().filter(|m| !m.is_empty()) {
        let team = db::teams::find(&mut tx, actor.org.id, id, Lock::Share)
            .await?
            .ok_or_else(|| anyhow::anyhow!("a new team is gone"))?;
        set_members(&mut tx, actor, &team, &[], members, now).await?;
    }
    let row = db::scim::group(&mut tx, actor.org.id, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a new team is gone"))?;
    let group = with_members(&mut tx, vec![row], true).await?.remove(0);
    tx.commit().await?;
    Ok(group)
}

/// Replaces (PUT) or patches (PATCH) the Group `id`.
pub async fn update_group(
    state: &AppState,
    actor: &Actor,
    id: &str,
    update: super::Update<'_>,
    if_match: Option<&str>,
) -> Result<Group, Error> {
    change_group(state, actor, id, if_match, |current| {
        GroupInput::parse(&update.body(|| current.writable(), &SCHEMA)?)
    })
    .await
}

async fn change_group(
    state: &AppState,
    actor: &Actor,
    id: &str,
    if_match: Option<&str>,
    make: impl FnOnce(&Group) -> Result<GroupInput, Error>,
) -> Result<Group, Error> {
    if !teams::may_manage(actor) {
        return Err(Error::Forbidden);
    }
    let n = parse_group_id(id).ok_or_else(|| not_found(id))?;
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let team = db::teams::find(&mut tx, actor.org.id, n, Lock::Update)
        .await?
        .ok_or_else(|| not_found(id))?;
    let row = db::scim::group(&mut tx, actor.org.id, n)
        .await?
        .ok_or_else(|| not_found(id))?;
    let group = with_members(&mut tx, vec![row], true).await?.remove(0);
    check_version(if_match, &group.version())?;
    let input = make(&group)?;
    let team = teams::rename_in(&mut tx, actor, team, &input.name, now)
        .await
        .map_err(team_error)?;
    if input.external_id != group.row.external_id {
        db::scim::set_group_external_id(&mut tx, n, input.external_id.as_deref(), now).await?;
    }
    // A PUT without members, or a PATCH that removed them all, leaves none.
    let wanted = input.members.unwrap_or_default();
    let have = group.members.clone().unwrap_or_default();
    set_members(&mut tx, actor, &team, &have, &wanted, now).await?;
    let row = db::scim::group(&mut tx, actor.org.id, n)
        .await?
        .ok_or_else(|| not_found(id))?;
    let group = with_members(&mut tx, vec![row], true).await?.remove(0);
    tx.commit().await?;
    Ok(group)
}

pub async fn delete_group(
    state: &AppState,
    actor: &Actor,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), Error> {
    let n = parse_group_id(id).ok_or_else(|| not_found(id))?;
    if if_match.is_some() {
        let group = get_group(state, actor, id, true).await?;
        check_version(if_match, &group.version())?;
    }
    teams::delete(state, actor, n).await.map_err(team_error)?;
    Ok(())
}
