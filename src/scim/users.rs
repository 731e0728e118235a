//! SCIM Users: the organization's members. A POST adds an account (when the address has
//! none) and a membership with the organization's default role; `active` deactivates
//! and restores the membership; DELETE removes it. The members service's rules apply:
//! its limit, its last Owner.

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::patch::{Schema, Shape, get_ci};
use super::{Error, ListParams, USER_SCHEMA, check_version, list_error, listing, parse_id};
use crate::actor::Actor;
use crate::db::{self, Tx, audit, scim::Profile, scim::UserRow};
use crate::domain::text;
use crate::domain::{Email, MemberStatus};
use crate::email::messages;
use crate::members::{self, Change};
use crate::state::AppState;

/// The attributes a PATCH may name on a User.
pub(super) const SCHEMA: Schema = Schema {
    urn: USER_SCHEMA,
    attributes: &[
        ("userName", Shape::Simple),
        ("name", Shape::Complex),
        ("displayName", Shape::Simple),
        ("emails", Shape::Multi),
        ("active", Shape::Simple),
        ("externalId", Shape::Simple),
        ("groups", Shape::ReadOnly),
        ("id", Shape::ReadOnly),
        ("meta", Shape::ReadOnly),
        (
            "roles",
            Shape::Refused(
                "Roster does not take roles from the identity provider: new members get the default role set in Roster, and Owners change roles in Roster.",
            ),
        ),
    ],
};

/// The longest userName, name part, displayName or externalId.
const MAX_TEXT: usize = 256;

/// A User as the identity provider sends it (POST, PUT, or after a PATCH).
#[derive(Clone, Debug)]
struct UserInput {
    user_name: String,
    email: Email,
    /// The address as sent (its case kept), for the User's `emails`.
    email_as_sent: String,
    /// Its `primary` flag as sent.
    email_primary: Option<bool>,
    external_id: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    display_name: Option<String>,
    active: Option<bool>,
}

fn optional_text(obj: &Map<String, Value>, key: &str, what: &str) -> Result<Option<String>, Error> {
    match get_ci(obj, key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(None);
            }
            if s.chars().count() > MAX_TEXT {
                return Err(Error::invalid_value(format!(
                    "{what} is longer than {MAX_TEXT} characters."
                )));
            }
            if s.chars().any(text::is_control) {
                return Err(Error::invalid_value(format!(
                    "{what} holds control characters (line breaks, tabs…)."
                )));
            }
            Ok(Some(s.to_string()))
        }
        Some(_) => Err(Error::invalid_value(format!("{what} must be a string."))),
    }
}

/// A boolean as JSON has it, or as Entra ID sends it ("True", "False").
pub(super) fn boolean(value: &Value, what: &str) -> Result<bool, Error> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Error::invalid_value(format!(
            "{what} must be true or false."
        ))),
    }
}

impl UserInput {
    fn parse(body: &Value) -> Result<UserInput, Error> {
        let Value::Object(obj) = body else {
            return Err(Error::invalid("invalidSyntax", "A User is a JSON object."));
        };
        let user_name = optional_text(obj, "userName", "userName")?
            .ok_or_else(|| Error::invalid_value("A User needs a userName."))?;
        if let Some(roles) = get_ci(obj, "roles")
            && !matches!(roles, Value::Null)
            && roles.as_array().is_none_or(|r| !r.is_empty())
        {
            let Shape::Refused(why) = SCHEMA.attributes[9].1 else {
                unreachable!("roles are refused")
            };
            return Err(Error::invalid("mutability", why));
        }
        let (email, email_as_sent, email_primary) = match get_ci(obj, "emails") {
            None | Some(Value::Null) => None,
            Some(Value::Array(items)) => chosen_email(items)?,
            Some(_) => return Err(Error::invalid_value("emails must be a list.")),
        }
        .map_or_else(
            || match Email::parse(&user_name) {
                Ok(email) => Ok((email, user_name.clone(), None)),
                Err(_) => Err(Error::invalid_value(
                    "A User needs an email address: send one in emails, or a userName that is an address.",
                )),
            },
            Ok,
        )?;
        let (given_name, family_name) = match get_ci(obj, "name") {
            None | Some(Value::Null) => (None, None),
            Some(Value::Object(name)) => (
                optional_text(name, "givenName", "name.givenName")?,
                optional_text(name, "familyName", "name.familyName")?,
            ),
            Some(_) => return Err(Error::invalid_value("name must be an object.")),
        };
        let active = match get_ci(obj, "active") {
            None | Some(Value::Null) => None,
            Some(v) => Some(boolean(v, "active")?),
        };
        Ok(UserInput {
            user_name,
            email,
            email_as_sent,
            email_primary,
            external_id: optional_text(obj, "externalId", "externalId")?,
            given_name,
            family_name,
            display_name: optional_text(obj, "displayName", "displayName")?,
            active,
        })
    }

    /// The account's name for a new account: the displayName, else the name's parts,
    /// else the address.
    fn account_name(&self) -> String {
        let parts = [self.given_name.as_deref(), self.family_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        self.display_name
            .clone()
            .or((!parts.is_empty()).then_some(parts))
            .unwrap_or_else(|| self.email.as_str().to_string())
    }

    fn profile(&self, account_email: &str) -> Profile {
        Profile {
            user_name: self.user_name.clone(),
            external_id: self.external_id.clone(),
            given_name: self.given_name.clone(),
            family_name: self.family_name.clone(),
            display_name: self.display_name.clone(),
            scim_email: (self.email_as_sent != account_email).then(|| self.email_as_sent.clone()),
            scim_email_primary: self.email_primary,
        }
    }
}

/// The address of a User: the primary one, else the work one, else the first.
fn chosen_email(items: &[Value]) -> Result<Option<(Email, String, Option<bool>)>, Error> {
    let mut candidates = Vec::new();
    for item in items {
        let Value::Object(obj) = item else {
            return Err(Error::invalid_value(
                "Each of emails is an object with a value.",
            ));
        };
        let Some(Value::String(value)) = get_ci(obj, "value") else {
            continue;
        };
        let primary = match get_ci(obj, "primary") {
            None | Some(Value::Null) => None,
            Some(v) => Some(boolean(v, "emails.primary")?),
        };
        let work = get_ci(obj, "type")
            .and_then(Value::as_str)
            .is_some_and(|t| t.eq_ignore_ascii_case("work"));
        candidates.push((value.trim().to_string(), primary, work));
    }
    let chosen = candidates
        .iter()
        .rev()
        .find(|c| c.1 == Some(true))
        .or_else(|| candidates.iter().find(|c| c.2))
        .or_else(|| candidates.first());
    let Some((value, primary, _)) = chosen else {
        return Ok(None);
    };
    let email = Email::parse(value).map_err(|why| {
        Error::invalid_value(format!(
            "emails: {value:?} is not an email address ({why})."
        ))
    })?;
    Ok(Some((email, value.clone(), *primary)))
}

/// A member as a SCIM User, with their teams.
#[derive(Clone, Debug)]
pub struct User {
    row: UserRow,
    groups: Vec<(i64, String)>,
}

impl User {
    /// The User in JSON, `base` being the SCIM base URL.
    pub fn to_json(&self, base: &str) -> Value {
        let r = &self.row;
        let mut value = self.body(base);
        value["meta"] = json!({
            "resourceType": "User",
            "created": crate::clock::iso(r.joined_at),
            "lastModified": crate::clock::iso(r.updated_at.unwrap_or(r.joined_at)),
            "location": format!("{base}/Users/{}", r.id),
            "version": self.version(),
        });
        value
    }

    /// `meta.version`, whatever the base URL.
    fn version(&self) -> String {
        super::version_of(&self.body(""))
    }

    /// The User without `meta`.
    fn body(&self, base: &str) -> Value {
        let r = &self.row;
        let provisioned = r.user_name.is_some();
        let mut out = json!({
            "schemas": [USER_SCHEMA],
            "id": r.id.to_string(),
            "userName": r.user_name.clone().unwrap_or_else(|| r.email.clone()),
            "active": r.status.is_active(),
            "emails": [{
                "value": r.scim_email.clone().unwrap_or_else(|| r.email.clone()),
                "type": "work",
            }],
            "groups": self.groups.iter().map(|(id, name)| json!({
                "value": super::group_id(*id),
                "display": name,
                "$ref": format!("{base}/Groups/{}", super::group_id(*id)),
                "type": "direct",
            })).collect::<Vec<_>>(),
        });
        let obj = out.as_object_mut().expect("an object");
        // The one address is primary, unless the provider sent it otherwise.
        let primary = if provisioned {
            r.scim_email_primary
        } else {
            Some(true)
        };
        if let Some(primary) = primary {
            obj["emails"][0]["primary"] = json!(primary);
        }
        if let Some(external_id) = &r.external_id {
            obj.insert("externalId".into(), json!(external_id));
        }
        // A member the provider did not create goes by their account's name.
        let display = if provisioned {
            r.display_name.clone()
        } else {
            Some(r.name.clone())
        };
        if let Some(display) = display {
            obj.insert("displayName".into(), json!(display));
        }
        let mut name = Map::new();
        if let Some(given) = &r.given_name {
            name.insert("givenName".into(), json!(given));
        }
        if let Some(family) = &r.family_name {
            name.insert("familyName".into(), json!(family));
        }
        if !name.is_empty() {
            obj.insert("name".into(), Value::Object(name));
        }
        out
    }

    /// The writable attributes, for a PATCH to change.
    fn writable(&self) -> Map<String, Value> {
        let mut doc = self.to_json("");
        let obj = doc.as_object_mut().expect("an object");
        for key in ["schemas", "id", "meta", "groups"] {
            obj.remove(key);
        }
        std::mem::take(obj)
    }
}

/// A page of Users.
pub struct UserList {
    pub users: Vec<User>,
    pub total: i64,
    pub start_index: i64,
}

async fn with_groups(db: &db::Db, rows: Vec<UserRow>) -> Result<Vec<User>, Error> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let mut groups: HashMap<i64, Vec<(i64, String)>> = HashMap::new();
    for (member, team, name) in db::scim::groups_of(db, &ids).await? {
        groups.entry(member).or_default().push((team, name));
    }
    Ok(rows
        .into_iter()
        .map(|row| User {
            groups: groups.remove(&row.id).unwrap_or_default(),
            row,
        })
        .collect())
}

fn not_found(id: &str) -> Error {
    Error::NotFound(format!("No User with id {id:?} in this organization."))
}

pub async fn get_user(state: &AppState, actor: &Actor, id: &str) -> Result<User, Error> {
    let found = match parse_id(id) {
        Some(n) => db::scim::user(&state.db, actor.org.id, n).await?,
        None => None,
    };
    let row = found.ok_or_else(|| not_found(id))?;
    Ok(with_groups(&state.db, vec![row]).await?.remove(0))
}

pub async fn list_users(
    state: &AppState,
    actor: &Actor,
    params: &ListParams,
) -> Result<UserList, Error> {
    let l = listing(params)?;
    let q = db::scim::ListQuery {
        filter: l.filter.as_ref(),
        sort_by: l.sort_by.as_deref(),
        descending: l.descending,
        offset: l.start_index - 1,
        limit: l.count,
        across_types: params.across_types,
    };
    let (rows, total) = db::scim::list_users(&state.db, actor.org.id, &q)
        .await
        .map_err(list_error)?;
    Ok(UserList {
        users: with_groups(&state.db, rows).await?,
        total,
        start_index: l.start_index,
    })
}

/// Refuses a userName or address another member already has.
async fn check_unique(
    tx: &mut Tx,
    org_id: i64,
    input: &UserInput,
    except: Option<i64>,
) -> Result<(), Error> {
    let key = input.user_name.to_lowercase();
    let email_key = input.email.normalized().to_string();
    if let Some((id, what)) = db::scim::collision(tx, org_id, &key, &email_key, except).await? {
        return Err(Error::Uniqueness(if what == "userName" {
            format!(
                "The member with id {id} already has the userName {:?}.",
                input.user_name
            )
        } else {
            format!(
                "The member with id {id} already has the address {}.",
                input.email.as_str()
            )
        }));
    }
    Ok(())
}

/// Adds the User `body` to the organization.
pub async fn create_user(state: &AppState, actor: &Actor, body: &Value) -> Result<User, Error> {
    let input = UserInput::parse(body)?;
    let org = &actor.org;
    let now = state.clock.now();
    let (mut tx, _) = members::begin_as(state, actor)
        .await
        .map_err(member_error)?;
    check_unique(&mut tx, org.id, &input, None).await?;
    let settings = db::orgs::settings_for_update(&mut tx, org.id).await?;
    let pending = db::invitations::count_pending(&mut tx, org.id, now).await?;
    let count = db::memberships::count_in_org(&mut tx, org.id).await?;
    if count + pending >= settings.max_members {
        return Err(Error::Refused(format!(
            "{} is full: it has {count} members and {pending} pending invitations of {} places. An Owner can raise the limit in Roster's settings.",
            org.name, settings.max_members
        )));
    }
    let account = match db::users::find_by_email_in(&mut tx, &input.email).await? {
        Some(user) => user,
        None => {
            // No password: the person signs in with single sign-on, or sets one with
            // "Forgot password?".
            let user_id =
                db::users::insert(&mut tx, &input.email, &input.account_name(), "", false, now)
                    .await?;
            let event = audit::Event::new(audit::Action::UserSignedUp, &actor.audit).target(
                "user",
                Some(user_id),
                Some(input.email.normalized()),
            );
            audit::record(&mut tx, &event, now).await?;
            db::users::find_for_update(&mut tx, user_id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("a new account is gone"))?
        }
    };
    let role = db::scim::default_role(&mut tx, org.id).await?;
    let id = db::memberships::insert(&mut tx, org.id, account.id, role, None, now).await?;
    db::scim::set_profile(&mut tx, id, &input.profile(&account.email), now).await?;
    let event = audit::Event::new(audit::Action::MemberProvisioned, &actor.audit)
        .in_org(org.id)
        .target("member", Some(id), Some(&account.email))
        .after(role.as_str());
    audit::record(&mut tx, &event, now).await?;
    let welcome = messages::Provisioned {
        to: account.email.clone(),
        name: account.name.clone(),
        org_name: org.name.clone(),
        role: role.label(),
        has_password: !account.password_hash.is_empty(),
        sign_in_url: format!("{}/sign-in", state.public_url()),
        org_url: format!("{}/orgs/{}/members", state.public_url(), org.slug),
    };
    state.mailer.queue(&mut tx, &welcome, now).await?;
    if input.active == Some(false) {
        db::memberships::set_status(&mut tx, id, MemberStatus::Inactive, now).await?;
        let event = audit::Event::new(audit::Action::MemberDeactivated, &actor.audit)
            .in_org(org.id)
            .target("member", Some(id), Some(&account.email))
            .before(MemberStatus::Active.as_str())
            .after(MemberStatus::Inactive.as_str());
        audit::record(&mut tx, &event, now).await?;
    }
    let row = db::scim::user(&mut tx, org.id, id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("a new member is gone"))?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(User {
        row,
        groups: Vec::new(),
    })
}

/// Replaces (PUT) or patches (PATCH) the User `id`.
pub async fn update_user(
    state: &AppState,
    actor: &Actor,
    id: &str,
    update: super::Update<'_>,
    if_match: Option<&str>,
) -> Result<User, Error> {
    change_user(state, actor, id, if_match, |current| {
        UserInput::parse(&update.body(|| current.writable(), &SCHEMA)?)
    })
    .await
}

/// Reads the User `id` under the member lock, makes the input from it, and writes what
/// changed: its profile, then its `active`, as the members service does.
async fn change_user(
    state: &AppState,
    actor: &Actor,
    id: &str,
    if_match: Option<&str>,
    make: impl FnOnce(&User) -> Result<UserInput, Error>,
) -> Result<User, Error> {
    let n = parse_id(id).ok_or_else(|| not_found(id))?;
    let org = &actor.org;
    let now = state.clock.now();
    let (mut tx, me) = members::begin_as(state, actor)
        .await
        .map_err(member_error)?;
    let me = me.ok_or(Error::Unauthorized)?;
    let row = db::scim::user(&mut tx, org.id, n)
        .await?
        .ok_or_else(|| not_found(id))?;
    let user = with_groups(&state.db, vec![row]).await?.remove(0);
    check_version(if_match, &user.version())?;
    let input = make(&user)?;
    check_unique(&mut tx, org.id, &input, Some(n)).await?;
    let profile = input.profile(&user.row.email);
    let before = user_profile(&user.row);
    if profile != before {
        db::scim::set_profile(&mut tx, n, &profile, now).await?;
        let changed = changed_attributes(&before, &profile).join(", ");
        let event = audit::Event::new(audit::Action::MemberProfileChanged, &actor.audit)
            .in_org(org.id)
            .target("member", Some(n), Some(&user.row.email))
            .after(changed);
        audit::record(&mut tx, &event, now).await?;
    }
    let change = match (input.active, user.row.status.is_active()) {
        (Some(false), true) => Some(Change::Deactivate),
        (Some(true), false) => Some(Change::Activate),
        _ => None,
    };
    if let Some(change) = change {
        let target = db::memberships::target_in(&mut tx, org.id, db::memberships::By::Id(n))
            .await?
            .ok_or_else(|| not_found(id))?;
        members::change_in(state, &mut tx, actor, &me, &target, &change, now)
            .await
            .map_err(member_error)?;
    }
    let row = db::scim::user(&mut tx, org.id, n)
        .await?
        .ok_or_else(|| not_found(id))?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(User {
        row,
        groups: user.groups,
    })
}

fn user_profile(r: &UserRow) -> Profile {
    Profile {
        user_name: r.user_name.clone().unwrap_or_else(|| r.email.clone()),
        external_id: r.external_id.clone(),
        given_name: r.given_name.clone(),
        family_name: r.family_name.clone(),
        display_name: if r.user_name.is_some() {
            r.display_name.clone()
        } else {
            Some(r.name.clone())
        },
        scim_email: r.scim_email.clone(),
        scim_email_primary: if r.user_name.is_some() {
            r.scim_email_primary
        } else {
            Some(true)
        },
    }
}

/// The SCIM names of the attributes that differ, for the audit log.
fn changed_attributes(a: &Profile, b: &Profile) -> Vec<&'static str> {
    let mut out = Vec::new();
    if a.user_name != b.user_name {
        out.push("userName");
    }
    if a.external_id != b.external_id {
        out.push("externalId");
    }
    if a.given_name != b.given_name || a.family_name != b.family_name {
        out.push("name");
    }
    if a.display_name != b.display_name {
        out.push("displayName");
    }
    if a.scim_email != b.scim_email || a.scim_email_primary != b.scim_email_primary {
        out.push("emails");
    }
    out
}

/// Removes the User `id` from the organization (DELETE).
pub async fn delete_user(
    state: &AppState,
    actor: &Actor,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), Error> {
    let n = parse_id(id).ok_or_else(|| not_found(id))?;
    if if_match.is_some() {
        let user = get_user(state, actor, id).await?;
        check_version(if_match, &user.version())?;
    }
    let target = db::memberships::target(&state.db, actor.org.id, n)
        .await?
        .ok_or_else(|| not_found(id))?;
    let change = Change::Remove {
        typed_email: target.email,
    };
    members::change(state, actor, n, &change)
        .await
        .map_err(member_error)?;
    Ok(())
}

/// A refusal of the members service as a SCIM error.
fn member_error(err: members::Error) -> Error {
    use members::Error as M;
    match err {
        M::NotFound | M::SomeNotFound => {
            Error::NotFound("No such User in this organization.".into())
        }
        M::LastOwner { .. } | M::LastLastingOwner { .. } => Error::Conflict(err.to_string()),
        M::Unchanged { .. } => Error::Conflict(err.to_string()),
        M::Internal(e) => Error::Internal(e),
        other => Error::Refused(other.to_string()),
    }
}
