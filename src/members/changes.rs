//! Changes to one membership: role, deactivation and activation, removal, leaving.

use super::{Error, Me, Target, begin_as};
use crate::actor::Actor;
use crate::db::{self, Tx, audit};
use crate::domain::access::AccessUntil;
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
    /// Sets the member's last day of access, or (None) lets it last.
    AccessUntil(Option<AccessUntil>),
}

/// Makes `change` to the member `id` of the actor's organization, all or nothing, and
/// returns the member as they were before it.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    id: i64,
    change: &Change,
) -> Result<Target, Error> {
    let now = state.clock.now();
    let (mut tx, me) = begin_as(state, actor).await?;
    let Some(me) = me else {
        return Err(Error::NotFound);
    };
    let Some(target) =
        db::memberships::target_in(&mut tx, actor.org.id, db::memberships::By::Id(id)).await?
    else {
        return Err(Error::NotFound);
    };
    change_in(state, &mut tx, actor, &me, &target, change, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(target)
}

/// Makes `change` to `target` inside a transaction that holds the organization's member
/// lock (`begin_as`), as `me`: the rules, the write, its audit event and email.
pub(crate) async fn change_in(
    state: &AppState,
    tx: &mut Tx,
    actor: &Actor,
    me: &Me,
    target: &Target,
    change: &Change,
    now: i64,
) -> Result<(), Error> {
    let org = &actor.org;
    let from = target.role;
    if me
        .membership
        .as_ref()
        .is_some_and(|m| m.user_id == target.user_id)
    {
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
    let until = target.access_until.map(AccessUntil::from_stored);
    match change {
        Change::Role(_) if !active => return Err(Error::NotActive { email: email() }),
        Change::AccessUntil(_) if !active => {
            return Err(Error::NotActiveAccess { email: email() });
        }
        Change::AccessUntil(to) if *to == until => {
            return Err(Error::Unchanged { email: email() });
        }
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
    if loses_owner && last_owner(tx, org.id, target).await? {
        return Err(Error::LastOwner { email: email() });
    }
    // An end date on the last Owner without one would, in time, leave the organization
    // with no Owner at all (two Owners given dates at once are serialized by the lock).
    let ends_owner = from == Role::Owner
        && active
        && until.is_none()
        && matches!(change, Change::AccessUntil(Some(_)));
    if ends_owner && db::memberships::count_lasting_owners(tx, org.id).await? <= 1 {
        return Err(Error::LastLastingOwner { email: email() });
    }
    apply(state, tx, actor, target, change, now).await?;
    Ok(())
}

/// Whether the organization would be left without an active Owner, now or once every
/// end date passes, if the active Owner `owner` stopped being one: an Owner without an
/// end date counts against the others without one, an Owner with one against all.
async fn last_owner(tx: &mut Tx, org_id: i64, owner: &Target) -> sqlx::Result<bool> {
    let others = if owner.access_until.is_none() {
        db::memberships::count_lasting_owners(tx, org_id).await?
    } else {
        db::memberships::count_active_owners(tx, org_id).await?
    };
    Ok(others <= 1)
}

/// Deactivates a membership as every deactivation does, whoever asks: its status, and
/// its API tokens end with it.
pub(super) async fn deactivate(tx: &mut Tx, id: i64, now: i64) -> sqlx::Result<()> {
    db::memberships::set_status(tx, id, MemberStatus::Inactive, now).await?;
    db::api_tokens::delete_of_membership(tx, id).await?;
    Ok(())
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
    let by = actor.display_name();
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
            if after.is_active() {
                db::memberships::set_status(tx, target.id, after, now).await?;
                // An end date that has passed would deactivate them again at once.
                let ended = target
                    .access_until
                    .is_some_and(|d| AccessUntil::from_stored(d).ends_at() <= now);
                if ended {
                    db::memberships::set_access_until(tx, target.id, None).await?;
                }
            } else {
                deactivate(tx, target.id, now).await?;
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
        Change::AccessUntil(to) => {
            db::memberships::set_access_until(tx, target.id, to.map(AccessUntil::stored)).await?;
            let mut event = event(audit::Action::MemberAccessUntilChanged);
            if let Some(before) = target.access_until {
                event = event.before(AccessUntil::from_stored(before).iso());
            }
            if let Some(to) = to {
                event = event.after(to.iso());
            }
            audit::record(tx, &event, now).await?;
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
    let Some(me) = me.and_then(|me| me.membership) else {
        return Err(Error::NotFound);
    };
    if me.role == Role::Owner && last_owner(&mut tx, org.id, &me).await? {
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
