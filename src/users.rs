//! The accounts of this instance, managed by its instance admins: deactivate and
//! activate, grant and revoke instance admin, delete, and create organizations. Each
//! change is one transaction with its audit event and, where the person is told, email.
//!
//! Every change first takes the instance-admin lock and reads the actor again, so that
//! two admins acting on each other at once are serialized and the second one sees the
//! first one's result (and may have lost the right to act at all).

use serde::Deserialize;
use serde_json::json;

use crate::actor::Person;
/// One organization of an account, as the Users page lists it.
pub use crate::db::orgs::UserOrg;
use crate::db::{self, LockScope, Tx, audit, orgs::Org, users::User};
use crate::domain::{AccountStatus, Email, FieldErrors, Role, text};
use crate::email::messages::AccountStatusChanged;
use crate::state::AppState;

/// A change an instance admin makes to an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Deactivate,
    Activate,
    GrantAdmin,
    RevokeAdmin,
    Delete,
    ResetTwoFactor,
    SendPasswordReset,
}

/// Why the users service did not do what was asked. Nothing was written; `Display` is
/// what the admin is told.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such account (any more).
    #[error("That account no longer exists.")]
    NotFound,
    /// The one asking is no longer an active instance admin.
    #[error("Only instance admins can manage accounts.")]
    NotAdmin,
    /// A rule refused `change` to the account `email`.
    #[error("{}", .refusal.message(*.change, .email))]
    Refused {
        refusal: Refusal,
        change: Change,
        email: String,
    },
    /// A new organization's fields: its first Owner is unknown or deactivated.
    #[error("Check the organization's fields.")]
    Fields(FieldErrors),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

/// Why a rule refused a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Deactivating or deleting one's own account.
    Yourself,
    /// The change would leave no active instance admin.
    LastAdmin,
    /// Deactivating or deleting the last active Owner of these organizations.
    LastOwner(Vec<String>),
    /// The email typed to confirm a deletion is not the account's.
    Mismatch,
    /// A password reset link for a deactivated account, which could not use it.
    Deactivated,
}

impl Refusal {
    /// The refusal in words, for the account `email`.
    pub fn message(&self, change: Change, email: &str) -> String {
        match self {
            Refusal::Yourself => match change {
                Change::Delete => "You cannot delete your own account.".into(),
                _ => "You cannot deactivate your own account.".into(),
            },
            Refusal::LastAdmin => format!(
                "{email} is the last active instance admin, and Roster needs one. \
                 Make someone else an instance admin first."
            ),
            Refusal::LastOwner(orgs) => format!(
                "{email} is the last active Owner of {}. Make someone else an Owner there first.",
                list_in_words(orgs)
            ),
            Refusal::Mismatch => format!(
                "That is not {email}. Type the account’s email address exactly to delete it."
            ),
            Refusal::Deactivated => format!(
                "{email} is deactivated and cannot sign in. Activate the account before sending a password reset link."
            ),
        }
    }
}

/// The refusal of `change` to `target`, named by its email.
fn refused(refusal: Refusal, change: Change, target: &User) -> Error {
    Error::Refused {
        refusal,
        change,
        email: target.email.clone(),
    }
}

/// "A", "A and B", "A, B and C".
fn list_in_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The rules for `change` by the admin `actor_id` to `target`, given the number of
/// active instance admins and the organizations of which `target` is the last active
/// Owner (both read under their locks).
pub fn check(
    change: Change,
    actor_id: i64,
    target: &User,
    active_admins: i64,
    last_owner_of: &[String],
) -> Result<(), Refusal> {
    let yourself = target.id == actor_id;
    let last_admin = target.is_instance_admin && target.is_active() && active_admins <= 1;
    match change {
        Change::Deactivate | Change::Delete if yourself => Err(Refusal::Yourself),
        Change::Deactivate | Change::RevokeAdmin | Change::Delete if last_admin => {
            Err(Refusal::LastAdmin)
        }
        Change::Deactivate | Change::Delete if !last_owner_of.is_empty() => {
            Err(Refusal::LastOwner(last_owner_of.to_vec()))
        }
        Change::SendPasswordReset if !target.is_active() => Err(Refusal::Deactivated),
        _ => Ok(()),
    }
}

/// Whether `typed` names the account's email (trimmed, in any case).
pub fn confirms(typed: &str, email: &str) -> bool {
    typed.trim().to_lowercase() == email.trim().to_lowercase()
}

/// What a change did to the account `email`; `changed` is false when it already was so.
#[derive(Clone, Debug)]
pub struct Done {
    pub email: String,
    pub changed: bool,
}

/// Begins an instance admin's change: the instance-admin lock, then the actor, locked.
/// None when the actor is no longer an active instance admin (nothing was written).
pub(crate) async fn begin_as_admin(state: &AppState, actor_id: i64) -> sqlx::Result<Option<Tx>> {
    let mut tx = state.db.begin().await?;
    tx.lock(LockScope::InstanceAdmins, 0).await?;
    let actor = db::users::find_for_update(&mut tx, actor_id).await?;
    Ok(actor
        .is_some_and(|a| a.is_instance_admin && a.is_active())
        .then_some(tx))
}

/// Begins the transaction of a change to `target_id` (`begin_as_admin`), with the target
/// locked too.
async fn begin(state: &AppState, actor_id: i64, target_id: i64) -> Result<(Tx, User), Error> {
    let Some(mut tx) = begin_as_admin(state, actor_id).await? else {
        return Err(Error::NotAdmin);
    };
    match db::users::find_for_update(&mut tx, target_id).await? {
        Some(target) => Ok((tx, target)),
        None => Err(Error::NotFound),
    }
}

/// Locks the Owners of every organization the account owns (repeating if a concurrent
/// change made it the Owner of another meanwhile) and names those it is the last
/// active Owner of.
async fn last_owner_of(tx: &mut Tx, user_id: i64) -> sqlx::Result<Vec<String>> {
    let mut locked: Vec<i64> = Vec::new();
    let owned: Vec<Org> = loop {
        let owned = db::orgs::owned_by(tx, user_id).await?;
        let new: Vec<i64> = owned
            .iter()
            .map(|o| o.id)
            .filter(|id| !locked.contains(id))
            .collect();
        if new.is_empty() {
            break owned;
        }
        for id in new {
            tx.lock(LockScope::OrgMembers, id).await?;
            locked.push(id);
        }
    };
    let mut last = Vec::new();
    for org in owned {
        if db::orgs::count_other_owners(tx, org.id, user_id).await? == 0 {
            last.push(org.name);
        }
    }
    Ok(last)
}

/// The audit trail's name for an account: its normalized email.
fn audit_email(user: &User) -> String {
    user.email.trim().to_lowercase()
}

/// Deactivates (`active` false: every session ends, sign-in is refused) or activates an
/// account; the person is told by email.
pub async fn set_status(
    state: &AppState,
    actor: &Person,
    target_id: i64,
    active: bool,
) -> Result<Done, Error> {
    let change = if active {
        Change::Activate
    } else {
        Change::Deactivate
    };
    let now = state.clock.now();
    let (mut tx, target) = begin(state, actor.user.id, target_id).await?;
    let admins = db::users::count_active_admins(&mut tx).await?;
    // An organization keeps an Owner who can sign in.
    let last_owner = if active {
        Vec::new()
    } else {
        last_owner_of(&mut tx, target.id).await?
    };
    if let Err(refusal) = check(change, actor.user.id, &target, admins, &last_owner) {
        return Err(refused(refusal, change, &target));
    }
    let done = Done {
        email: target.email.clone(),
        changed: target.is_active() != active,
    };
    if !done.changed {
        return Ok(done);
    }
    let (action, before, after) = if active {
        db::users::activate(&mut tx, target.id).await?;
        (
            audit::Action::UserActivated,
            AccountStatus::Deactivated,
            AccountStatus::Active,
        )
    } else {
        db::users::deactivate(&mut tx, target.id, now).await?;
        db::api_tokens::delete_of_user(&mut tx, target.id).await?;
        (
            audit::Action::UserDeactivated,
            AccountStatus::Active,
            AccountStatus::Deactivated,
        )
    };
    let email = audit_email(&target);
    let who = actor.audit.clone();
    let event = audit::Event::new(action, &who)
        .target("user", Some(target.id), Some(&email))
        .before(json!({ "status": before.as_str() }).to_string())
        .after(json!({ "status": after.as_str() }).to_string());
    audit::record(&mut tx, &event, now).await?;
    let notice = AccountStatusChanged {
        to: target.email.clone(),
        active,
        sign_in_url: format!("{}/sign-in", state.public_url()),
    };
    state.mailer.queue(&mut tx, &notice, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(done)
}

/// Grants (`grant` true) or revokes instance admin; the last active one stays.
pub async fn set_instance_admin(
    state: &AppState,
    actor: &Person,
    target_id: i64,
    grant: bool,
) -> Result<Done, Error> {
    let change = if grant {
        Change::GrantAdmin
    } else {
        Change::RevokeAdmin
    };
    let now = state.clock.now();
    let (mut tx, target) = begin(state, actor.user.id, target_id).await?;
    let admins = db::users::count_active_admins(&mut tx).await?;
    if let Err(refusal) = check(change, actor.user.id, &target, admins, &[]) {
        return Err(refused(refusal, change, &target));
    }
    let done = Done {
        email: target.email.clone(),
        changed: target.is_instance_admin != grant,
    };
    if !done.changed {
        return Ok(done);
    }
    db::users::set_instance_admin(&mut tx, target.id, grant).await?;
    let action = if grant {
        audit::Action::InstanceAdminGranted
    } else {
        audit::Action::InstanceAdminRevoked
    };
    let email = audit_email(&target);
    let who = actor.audit.clone();
    let event = audit::Event::new(action, &who)
        .target("user", Some(target.id), Some(&email))
        .before(json!({ "instance_admin": !grant }).to_string())
        .after(json!({ "instance_admin": grant }).to_string());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(done)
}

/// Takes away an account's second factor and recovery codes (its owner lost their phone
/// and their codes): the next sign-in asks for the password only. The person is told.
pub async fn reset_two_factor(
    state: &AppState,
    actor: &Person,
    target_id: i64,
) -> Result<Done, Error> {
    let now = state.clock.now();
    let (mut tx, target) = begin(state, actor.user.id, target_id).await?;
    let changed = crate::two_factor::remove(&mut tx, target.id).await?;
    let done = Done {
        email: target.email.clone(),
        changed,
    };
    if !changed {
        return Ok(done);
    }
    let email = audit_email(&target);
    let who = actor.audit.clone();
    let event = audit::Event::new(audit::Action::TwoFactorReset, &who).target(
        "user",
        Some(target.id),
        Some(&email),
    );
    audit::record(&mut tx, &event, now).await?;
    let notice = crate::email::messages::TwoFactorChanged {
        to: target.email.clone(),
        name: target.name.clone(),
        subject: "Two-factor authentication was reset for your Roster account".into(),
        what: "An administrator of your Roster installation reset your two-factor authentication: signing in now asks only for your password. Set it up again on your account page.".into(),
        at: crate::clock::exact(now),
    };
    state.mailer.queue(&mut tx, &notice, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(done)
}

/// An account as a change's confirmation shows it.
#[derive(Clone, Debug)]
pub struct Target {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub active: bool,
    pub is_instance_admin: bool,
    pub two_factor: bool,
    pub orgs: Vec<db::orgs::UserOrg>,
    /// Whether Roster sends email (a reset link is otherwise shown to the admin).
    pub sends_email: bool,
    /// Why `change` cannot be made now, if it cannot.
    pub refusal: Option<Refusal>,
}

/// What `change` to the account would meet, checked as the change itself checks it
/// (nothing is changed), so that its confirmation says so before anyone confirms. Err
/// only for an unknown account or an actor who is no longer an admin.
pub async fn assess(
    state: &AppState,
    actor: &Person,
    target_id: i64,
    change: Change,
) -> Result<Target, Error> {
    let (mut tx, target) = begin(state, actor.user.id, target_id).await?;
    let admins = db::users::count_active_admins(&mut tx).await?;
    let last_owner = match change {
        Change::Deactivate | Change::Delete => last_owner_of(&mut tx, target.id).await?,
        _ => Vec::new(),
    };
    let refusal = check(change, actor.user.id, &target, admins, &last_owner).err();
    let orgs = db::orgs::of_user_in(&mut tx, target.id).await?;
    // Dropping the transaction rolls it back: nothing was written.
    drop(tx);
    Ok(Target {
        id: target.id,
        active: target.is_active(),
        is_instance_admin: target.is_instance_admin,
        two_factor: target.two_factor_enabled_at.is_some(),
        sends_email: state.mailer.is_enabled(),
        email: target.email,
        name: target.name,
        orgs,
        refusal,
    })
}

/// Deletes the account once `typed` confirms its email: its memberships go with it, the
/// audit trail keeps its email. Refused for oneself, the last active instance admin and
/// the last active Owner of any organization (checked under the Owners' locks).
pub async fn delete(
    state: &AppState,
    actor: &Person,
    target_id: i64,
    typed: &str,
) -> Result<Done, Error> {
    let now = state.clock.now();
    let (mut tx, target) = begin(state, actor.user.id, target_id).await?;
    if !confirms(typed, &target.email) {
        return Err(refused(Refusal::Mismatch, Change::Delete, &target));
    }
    let admins = db::users::count_active_admins(&mut tx).await?;
    let last_owner = last_owner_of(&mut tx, target.id).await?;
    if let Err(refusal) = check(Change::Delete, actor.user.id, &target, admins, &last_owner) {
        return Err(refused(refusal, Change::Delete, &target));
    }
    let orgs = db::orgs::of_user_in(&mut tx, target.id).await?;
    let before = json!({
        "name": target.name,
        "status": target.status.as_str(),
        "instance_admin": target.is_instance_admin,
        "organizations": orgs
            .iter()
            .map(|o| json!({ "name": o.org_name, "role": o.role.as_str(), "status": o.status.as_str() }))
            .collect::<Vec<_>>(),
    });
    db::users::delete(&mut tx, target.id).await?;
    let email = audit_email(&target);
    let who = actor.audit.clone();
    let event = audit::Event::new(audit::Action::UserDeleted, &who)
        .target("user", Some(target.id), Some(&email))
        .before(before.to_string());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Done {
        email: target.email,
        changed: true,
    })
}

/// The create-organization form as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewOrgForm {
    #[serde(default)]
    pub org_name: String,
    #[serde(default)]
    pub owner_email: String,
}

/// A valid request for a new organization.
#[derive(Clone, Debug)]
pub struct NewOrg {
    pub name: String,
    pub owner: Email,
}

impl NewOrgForm {
    pub fn parse(&self) -> Result<NewOrg, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = text::single_line(&self.org_name, "a name for the organization", 100)
            .map_err(|m| errors.add("org_name", m))
            .ok();
        let owner = Email::parse(&self.owner_email)
            .map_err(|m| errors.add("owner_email", m))
            .ok();
        match (name, owner) {
            (Some(name), Some(owner)) => Ok(NewOrg { name, owner }),
            _ => Err(errors),
        }
    }
}

/// An organization that was created, and its first Owner.
#[derive(Clone, Debug)]
pub struct CreatedOrg {
    pub org: Org,
    pub owner_id: i64,
    pub owner_email: String,
}

/// Creates an organization whose first Owner is an existing, active account.
pub async fn create_org(
    state: &AppState,
    actor: &Person,
    new: &NewOrg,
) -> Result<CreatedOrg, Error> {
    let now = state.clock.now();
    let Some(mut tx) = begin_as_admin(state, actor.user.id).await? else {
        return Err(Error::NotAdmin);
    };
    let owner = db::users::find_by_email_in(&mut tx, &new.owner).await?;
    let owner = match owner {
        Some(owner) if owner.is_active() => owner,
        found => {
            let mut errors = FieldErrors::default();
            let message = match found {
                Some(_) => format!(
                    "The account of {} is deactivated. Activate it first, or choose another Owner.",
                    new.owner
                ),
                None => format!(
                    "No account uses {}. The first Owner needs an account on this Roster; \
                     make yourself the Owner and invite them instead.",
                    new.owner
                ),
            };
            errors.add("owner_email", message);
            return Err(Error::Fields(errors));
        }
    };
    let org = db::orgs::insert(&mut tx, &new.name, now).await?;
    let invited_by = (owner.id != actor.user.id).then_some(actor.user.id);
    db::memberships::insert(&mut tx, org.id, owner.id, Role::Owner, invited_by, now).await?;
    let who = actor.audit.clone();
    let event = audit::Event::new(audit::Action::OrgCreated, &who)
        .in_org(org.id)
        .target("organization", Some(org.id), None)
        .after(
            json!({ "name": org.name, "slug": org.slug, "owner": audit_email(&owner) }).to_string(),
        );
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(CreatedOrg {
        org,
        owner_id: owner.id,
        owner_email: owner.email,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, admin: bool, status: AccountStatus) -> User {
        User {
            id,
            email: format!("user{id}@example.com"),
            name: format!("User {id}"),
            password_hash: String::new(),
            is_instance_admin: admin,
            status,
            sessions_valid_after: 0,
            two_factor_enabled_at: None,
        }
    }

    #[test]
    fn nobody_deactivates_or_deletes_themselves() {
        let me = user(1, true, AccountStatus::Active);
        assert_eq!(
            check(Change::Deactivate, 1, &me, 2, &[]),
            Err(Refusal::Yourself)
        );
        assert_eq!(
            check(Change::Delete, 1, &me, 2, &[]),
            Err(Refusal::Yourself)
        );
        assert_eq!(check(Change::RevokeAdmin, 1, &me, 2, &[]), Ok(()));
    }

    #[test]
    fn the_last_active_admin_stays_an_active_admin() {
        let last = user(2, true, AccountStatus::Active);
        for change in [Change::Deactivate, Change::RevokeAdmin, Change::Delete] {
            assert_eq!(check(change, 1, &last, 1, &[]), Err(Refusal::LastAdmin));
            assert_eq!(check(change, 1, &last, 2, &[]), Ok(()));
        }
        assert_eq!(
            check(Change::RevokeAdmin, 2, &last, 1, &[]),
            Err(Refusal::LastAdmin)
        );
        let deactivated = user(3, true, AccountStatus::Deactivated);
        assert_eq!(check(Change::RevokeAdmin, 1, &deactivated, 1, &[]), Ok(()));
        assert_eq!(check(Change::Activate, 1, &deactivated, 1, &[]), Ok(()));
    }

    #[test]
    fn a_reset_link_is_not_offered_for_a_deactivated_account() {
        let off = user(2, false, AccountStatus::Deactivated);
        let on = user(3, false, AccountStatus::Active);
        assert_eq!(
            check(Change::SendPasswordReset, 1, &off, 1, &[]),
            Err(Refusal::Deactivated)
        );
        assert_eq!(check(Change::SendPasswordReset, 1, &on, 1, &[]), Ok(()));
    }

    #[test]
    fn the_last_owner_of_an_organization_is_neither_deleted_nor_deactivated() {
        let owner = user(2, false, AccountStatus::Active);
        let orgs = vec!["A".to_string(), "B".to_string()];
        assert_eq!(
            check(Change::Delete, 1, &owner, 1, &orgs),
            Err(Refusal::LastOwner(orgs.clone()))
        );
        assert_eq!(
            check(Change::Deactivate, 1, &owner, 1, &orgs),
            Err(Refusal::LastOwner(orgs.clone()))
        );
        assert_eq!(check(Change::RevokeAdmin, 1, &owner, 1, &orgs), Ok(()));
        assert_eq!(
            Refusal::LastOwner(orgs).message(Change::Delete, "o@example.com"),
            "o@example.com is the last active Owner of A and B. Make someone else an Owner there first."
        );
    }

    #[test]
    fn confirmation_ignores_case_and_surrounding_spaces() {
        assert!(confirms("  Bob@Example.COM ", "bob@example.com"));
        assert!(!confirms("bob@example.co", "bob@example.com"));
        assert!(!confirms("", "bob@example.com"));
    }

    #[test]
    fn lists_read_as_words() {
        let names = |n: &[&str]| n.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(list_in_words(&names(&["A"])), "A");
        assert_eq!(list_in_words(&names(&["A", "B", "C"])), "A, B and C");
    }

    #[test]
    fn the_new_organization_form_names_each_bad_field() {
        let form = NewOrgForm {
            org_name: " ".into(),
            owner_email: "nope".into(),
        };
        let errors = form.parse().unwrap_err();
        assert!(errors.get("org_name").is_some());
        assert!(errors.get("owner_email").is_some());
        let good = NewOrgForm {
            org_name: " Difference Engines ".into(),
            owner_email: "Ada@Example.com".into(),
        };
        let new = good.parse().unwrap();
        assert_eq!(new.name, "Difference Engines");
        assert_eq!(new.owner.normalized(), "ada@example.com");
    }
}

/// One page of the instance's accounts, with their memberships.
#[derive(Debug)]
pub struct Listing {
    /// Accounts matching the search, on every page.
    pub total: i64,
    /// The page shown (clamped to those there are), from 1.
    pub page: i64,
    pub pages: i64,
    pub rows: Vec<db::users::Listed>,
    /// The memberships of the accounts on this page.
    pub orgs: Vec<db::orgs::UserOrg>,
}

/// The accounts whose email or name starts with `search` (every account when empty),
/// `per_page` a page: one query for the accounts, one for their memberships.
pub async fn list(
    state: &AppState,
    search: &str,
    page: Option<i64>,
    per_page: i64,
) -> anyhow::Result<Listing> {
    let search = db::users::Search::new(&state.db, search);
    let total = db::users::count_matching(&state.db, search.as_ref()).await?;
    let pages = ((total + per_page - 1) / per_page).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    let rows =
        db::users::list_matching(&state.db, search.as_ref(), per_page, (page - 1) * per_page)
            .await?;
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let orgs = db::orgs::of_users(&state.db, &ids).await?;
    Ok(Listing {
        total,
        page,
        pages,
        rows,
        orgs,
    })
}
