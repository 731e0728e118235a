//! Changes to one membership: role, deactivation and activation, removal, leaving.

use super::{Error, Target, begin_as};
use crate::actor::Actor;
use crate::db::{self, Tx, audit};
use crate::domain::permissions::{self, Action};
use crate::domain::{MemberStatus, Role};
use crate::email::messages;
use crate::state::AppState;

/// A change an Owner or Admin asks for on one member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Change {
    Role(Role),
    Deactivate,
    Activate,
    /// Removal, confirmed by typing the member's email.
    Remove {
        typed_email: String,
    },
}

/// Makes `change` to the member `id` of the actor's organization, all or nothing, and
/// returns the member as they were before it.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    id: i64,
    change: &Change,
) -> Result<Target, Error> {
    let org = &actor.org;
    let now = state.clock.now();
    let (mut tx, me) = begin_as(state, actor).await?;
    let Some(me) = me else {
        return Err(Error::NotFound);
    };
    let Some(target) =
        db::memberships::target_in(&mut tx, org.id, db::memberships::By::Id(id)).await?
    else {
        return Err(Error::NotFound);
    };
    let from = target.role;
    if target.user_id == me.user_id {
        return Err(Error::Own);
    }
    let permitted = match change {
        Change::Role(to) => permissions::allows(me.role, Action::ChangeRole { from, to: *to }),
        _ => permissions::allows(me.role, Action::ManageMember { target: from }),
    };
    if !permitted {
        return Err(Error::Forbidden);
    }
    let active = target.status.is_active();
    let email = || target.email.clone();
    match change {
        Change::Role(_) if !active => return Err(Error::NotActive { email: email() }),
        Change::Role(to) if *to == from => return Err(Error::Unchanged { email: email() }),
        Change::Deactivate if !active => return Err(Error::Unchanged { email: email() }),
        Change::Activate if active => return Err(Error::Unchanged { email: email() }),
        Change::Remove { typed_email }
            if !typed_email.trim().eq_ignore_ascii_case(&target.email) =>
        {
            return Err(Error::EmailMismatch { email: email() });
        }
        _ => {}
    }
    let loses_owner = from == Role::Owner
        && active
        && matches!(
            change,
            Change::Role(_) | Change::Deactivate | Change::Remove { .. }
        );
    if loses_owner && db::memberships::count_active_owners(&mut tx, org.id).await? <= 1 {
        return Err(Error::LastOwner { email: email() });
    }
    apply(state, &mut tx, actor, &target, change, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(target)
}

/// Writes the change, its audit event and the member's email.
async fn apply(
    state: &AppState,
    tx: &mut Tx,
    actor: &Actor,
    target: &Target,
    change: &Change,
    now: i64,
) -> anyhow::Result<()> {
    let org = &actor.org;
    let who = &actor.audit;
    let by = actor.user.name.clone();
    let from = target.role;
    let members_url = format!("{}/orgs/{}/members", state.public_url(), org.slug);
    let event = |action| {
        audit::Event::new(action, who).in_org(org.id).target(
            "member",
            Some(target.id),
            Some(&target.email),
        )
    };
    match change {
        Change::Role(to) => {
            db::memberships::set_role(tx, target.id, *to).await?;
            let event = event(audit::Action::MemberRoleChanged)
                .before(from.as_str())
                .after(to.as_str());
            audit::record(tx, &event, now).await?;
            let email = messages::RoleChanged {
                to: target.email.clone(),
                org_name: org.name.clone(),
                changed_by: by,
                from: from.label(),
                role: to.label(),
                members_url,
            };
            state.mailer.queue(tx, &email, now).await?;
        }
        Change::Deactivate | Change::Activate => {
            let (action, before, after) = if *change == Change::Activate {
                let action = audit::Action::MemberActivated;
                (action, MemberStatus::Inactive, MemberStatus::Active)
            } else {
                let action = audit::Action::MemberDeactivated;
                (action, MemberStatus::Active, MemberStatus::Inactive)
            };
            db::memberships::set_status(tx, target.id, after).await?;
            if !after.is_active() {
                db::api_tokens::delete_of_membership(tx, target.id).await?;
            }
            let event = event(action).before(before.as_str()).after(after.as_str());
            audit::record(tx, &event, now).await?;
            let email = messages::MemberStatusChanged {
                to: target.email.clone(),
                org_name: org.name.clone(),
                changed_by: by,
                active: after.is_active(),
                members_url,
            };
            state.mailer.queue(tx, &email, now).await?;
        }
        Change::Remove { .. } => {
            // Its API tokens go with it (a foreign key cascade).
            db::memberships::delete(tx, target.id).await?;
            let event = event(audit::Action::MemberRemoved).before(from.as_str());
            audit::record(tx, &event, now).await?;
            let email = messages::MemberRemoved {
                to: target.email.clone(),
                org_name: org.name.clone(),
                removed_by: by,
            };
            state.mailer.queue(tx, &email, now).await?;
        }
    }
    Ok(())
}

/// The signed-in member leaves the organization, unless they are its last active Owner.
pub async fn leave(state: &AppState, member: &Actor) -> Result<(), Error> {
    let org = &member.org;
    let now = state.clock.now();
    let (mut tx, me) = begin_as(state, member).await?;
    let Some(me) = me else {
        return Err(Error::NotFound);
    };
    if me.role == Role::Owner && db::memberships::count_active_owners(&mut tx, org.id).await? <= 1 {
        return Err(Error::LastOwnerLeaving {
            org_name: org.name.clone(),
        });
    }
    db::memberships::delete(&mut tx, me.id).await?;
    let event = audit::Event::new(audit::Action::MemberLeft, &member.audit)
        .in_org(org.id)
        .target("member", Some(me.id), Some(&me.email))
        .before(me.role.as_str());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(())
}
