//! Changes to an organization's members: role, deactivation, removal and leaving. Each
//! runs in one transaction that first takes the organization's Owner lock, then reads the
//! actor and the target as they are now, so that two Owners acting on each other at the
//! same moment cannot leave the organization without an active Owner.

use crate::auth::Acting;
use crate::db::{self, LockScope, Tx, audit, memberships::By, memberships::Target};
use crate::domain::Role;
use crate::domain::permissions::{self, Action};
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

/// Why a change was not made. Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No such member in this organization (or the actor no longer belongs to it).
    NotFound,
    /// The permission table does not allow it.
    Forbidden,
    /// One's own membership is changed by leaving, not from the Members page.
    Own,
    /// Roles change only for active members.
    NotActive,
    /// It would leave the organization without an active Owner.
    LastOwner,
    /// The typed email is not the member's.
    EmailMismatch,
    /// The member already has that role or status.
    Unchanged,
}

impl Refusal {
    /// What the person is told.
    pub fn message(&self, target: &str) -> String {
        match self {
            Refusal::NotFound => "That member is no longer in this organization.".into(),
            Refusal::Forbidden => "Your role does not allow this change.".into(),
            Refusal::Own => "You cannot change your own membership here. To step down, ask another Owner, or leave the organization from the account menu.".into(),
            Refusal::NotActive => format!("{target} is inactive. Activate them before changing their role."),
            Refusal::LastOwner => format!("{target} is the organization's last active Owner. Make someone else Owner first."),
            Refusal::EmailMismatch => format!("Type {target} exactly to confirm."),
            Refusal::Unchanged => format!("Nothing to change: {target} is already like that."),
        }
    }
}

/// Which changes `actor` may make to a member holding `target` (the action menu asks).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Allowed {
    pub change_role: bool,
    pub manage: bool,
}

impl Allowed {
    pub fn for_row(actor: Role, target: Role, own: bool) -> Allowed {
        if own {
            return Allowed::default();
        }
        Allowed {
            change_role: Role::ALL.into_iter().any(|to| {
                to != target && permissions::allows(actor, Action::ChangeRole { from: target, to })
            }),
            manage: permissions::allows(actor, Action::ManageMember { target }),
        }
    }
}

/// The roles `actor` may give a member now holding `from`, most powerful first.
pub fn assignable_roles(actor: Role, from: Role) -> Vec<Role> {
    Role::ALL
        .into_iter()
        .filter(|&to| permissions::allows(actor, Action::ChangeRole { from, to }))
        .collect()
}

fn parse_role(role: &str) -> anyhow::Result<Role> {
    role.parse().map_err(anyhow::Error::msg)
}

/// Begins a change to the actor's organization: takes its member lock, then reads the
/// actor's membership as it is now (None when they are no longer an active member).
async fn begin_as(state: &AppState, actor: &Acting) -> anyhow::Result<(Tx, Option<Target>)> {
    let org_id = actor.org.id;
    let mut tx = state.db.begin().await?;
    tx.lock(LockScope::OrgMembers, org_id).await?;
    let me = db::memberships::target_in(&mut tx, org_id, By::User(actor.user.id))
        .await?
        .filter(|m| m.status == "active");
    Ok((tx, me))
}

/// Makes `change` to the member `id` of the actor's organization, all or nothing.
pub async fn change(
    state: &AppState,
    actor: &Acting,
    id: i64,
    change: &Change,
) -> anyhow::Result<Result<Target, Refusal>> {
    let org = &actor.org;
    let now = state.clock.now();
    let (mut tx, me) = begin_as(state, actor).await?;
    let Some(me) = me else {
        return Ok(Err(Refusal::NotFound));
    };
    let Some(target) = db::memberships::target_in(&mut tx, org.id, By::Id(id)).await? else {
        return Ok(Err(Refusal::NotFound));
    };
    let (my_role, from) = (parse_role(&me.role)?, parse_role(&target.role)?);
    if target.user_id == me.user_id {
        return Ok(Err(Refusal::Own));
    }
    let permitted = match change {
        Change::Role(to) => permissions::allows(my_role, Action::ChangeRole { from, to: *to }),
        _ => permissions::allows(my_role, Action::ManageMember { target: from }),
    };
    if !permitted {
        return Ok(Err(Refusal::Forbidden));
    }
    let active = target.status == "active";
    let refusal = match change {
        Change::Role(_) if !active => Some(Refusal::NotActive),
        Change::Role(to) if *to == from => Some(Refusal::Unchanged),
        Change::Deactivate if !active => Some(Refusal::Unchanged),
        Change::Activate if active => Some(Refusal::Unchanged),
        Change::Remove { typed_email }
            if !typed_email.trim().eq_ignore_ascii_case(&target.email) =>
        {
            Some(Refusal::EmailMismatch)
        }
        _ => None,
    };
    if let Some(refusal) = refusal {
        return Ok(Err(refusal));
    }
    let loses_owner = from == Role::Owner
        && active
        && matches!(
            change,
            Change::Role(_) | Change::Deactivate | Change::Remove { .. }
        );
    if loses_owner && db::memberships::count_active_owners(&mut tx, org.id).await? <= 1 {
        return Ok(Err(Refusal::LastOwner));
    }
    apply(state, &mut tx, actor, &target, from, change, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok(Ok(target))
}

/// Writes the change, its audit event and the member's email.
async fn apply(
    state: &AppState,
    tx: &mut Tx,
    actor: &Acting,
    target: &Target,
    from: Role,
    change: &Change,
    now: i64,
) -> anyhow::Result<()> {
    let org = &actor.org;
    let who = &actor.actor;
    let by = actor.user.name.clone();
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
            let active = *change == Change::Activate;
            db::memberships::set_status(tx, target.id, active).await?;
            if !active {
                db::api_tokens::delete_of_membership(tx, target.id).await?;
            }
            let (action, before, after) = if active {
                (audit::Action::MemberActivated, "inactive", "active")
            } else {
                (audit::Action::MemberDeactivated, "active", "inactive")
            };
            audit::record(tx, &event(action).before(before).after(after), now).await?;
            let email = messages::MemberStatusChanged {
                to: target.email.clone(),
                org_name: org.name.clone(),
                changed_by: by,
                active,
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
pub async fn leave(state: &AppState, member: &Acting) -> anyhow::Result<Result<(), Refusal>> {
    let org = &member.org;
    let now = state.clock.now();
    let (mut tx, me) = begin_as(state, member).await?;
    let Some(me) = me else {
        return Ok(Err(Refusal::NotFound));
    };
    let role = parse_role(&me.role)?;
    if role == Role::Owner && db::memberships::count_active_owners(&mut tx, org.id).await? <= 1 {
        return Ok(Err(Refusal::LastOwner));
    }
    db::memberships::delete(&mut tx, me.id).await?;
    let event = audit::Event::new(audit::Action::MemberLeft, &member.actor)
        .in_org(org.id)
        .target("member", Some(me.id), Some(&me.email))
        .before(role.as_str());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(Ok(()))
}

/// Why seats were not assigned or revoked. Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeatRefusal {
    /// A member is not in this organization (or the actor no longer is).
    NotFound,
    Forbidden,
    /// The organization does not limit seats.
    SeatsOff,
    /// Seats go to active members only; these are inactive.
    Inactive(Vec<String>),
    /// Only `left` seats are free.
    NoRoom {
        left: i64,
    },
}

impl SeatRefusal {
    pub fn message(&self) -> String {
        match self {
            SeatRefusal::NotFound => {
                "Some of those members are no longer in this organization.".into()
            }
            SeatRefusal::Forbidden => "Your role does not allow managing seats.".into(),
            SeatRefusal::SeatsOff => {
                "Seats are off for this organization. An Owner can turn them on in Settings.".into()
            }
            SeatRefusal::Inactive(emails) => format!(
                "No seats were assigned: seats go to active members, and these are inactive: {}.",
                emails.join(", ")
            ),
            SeatRefusal::NoRoom { left } => format!(
                "No seats were assigned: only {left} {} left. Revoke seats, or ask an Owner for more.",
                if *left == 1 { "seat is" } else { "seats are" }
            ),
        }
    }
}

/// Assigns (or revokes) seats of the members `ids`, all or none. Returns the members
/// whose seat changed; those who already had it (or had none) are left as they are.
pub async fn set_seats(
    state: &AppState,
    actor: &Acting,
    ids: &[i64],
    assign: bool,
) -> anyhow::Result<Result<Vec<Target>, SeatRefusal>> {
    let org = &actor.org;
    let now = state.clock.now();
    let (mut tx, me) = begin_as(state, actor).await?;
    let Some(me) = me else {
        return Ok(Err(SeatRefusal::NotFound));
    };
    if !permissions::allows(parse_role(&me.role)?, Action::ManageSeats) {
        return Ok(Err(SeatRefusal::Forbidden));
    }
    let Some(seats) = db::orgs::settings_for_update(&mut tx, org.id).await?.seats else {
        return Ok(Err(SeatRefusal::SeatsOff));
    };
    let wanted: std::collections::HashSet<i64> = ids.iter().copied().collect();
    let targets = db::memberships::targets_in(&mut tx, org.id, ids).await?;
    if targets.len() != wanted.len() {
        return Ok(Err(SeatRefusal::NotFound));
    }
    let changing: Vec<Target> = targets
        .into_iter()
        .filter(|t| t.has_seat != assign)
        .collect();
    if assign {
        let inactive: Vec<String> = changing
            .iter()
            .filter(|t| t.status != "active")
            .map(|t| t.email.clone())
            .collect();
        if !inactive.is_empty() {
            return Ok(Err(SeatRefusal::Inactive(inactive)));
        }
        let used = db::memberships::count_seats_in(&mut tx, org.id).await?;
        if used + changing.len() as i64 > seats {
            return Ok(Err(SeatRefusal::NoRoom {
                left: (seats - used).max(0),
            }));
        }
    }
    let who = &actor.actor;
    let members_url = format!("{}/orgs/{}/members", state.public_url(), org.slug);
    let action = if assign {
        audit::Action::MemberSeatAssigned
    } else {
        audit::Action::MemberSeatRevoked
    };
    for target in &changing {
        db::memberships::set_seat(&mut tx, target.id, assign).await?;
        if !assign {
            db::api_tokens::delete_of_membership(&mut tx, target.id).await?;
        }
        let event = audit::Event::new(action, who)
            .in_org(org.id)
            .target("member", Some(target.id), Some(&target.email))
            .before(if assign { "no seat" } else { "seat" })
            .after(if assign { "seat" } else { "no seat" });
        audit::record(&mut tx, &event, now).await?;
        let email = messages::SeatChanged {
            to: target.email.clone(),
            org_name: org.name.clone(),
            changed_by: actor.user.name.clone(),
            assigned: assign,
            members_url: members_url.clone(),
        };
        state.mailer.queue(&mut tx, &email, now).await?;
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(Ok(changing))
}
