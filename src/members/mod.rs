//! The members of an organization: the one service under the Members page, its htmx
//! partials and the JSON API. Reads (`reads`) take the pool; each change (`changes`,
//! `seats`) runs in one transaction that first takes the organization's member lock,
//! then reads the actor and the target as they are now, so that two Owners acting on
//! each other at the same moment cannot leave the organization without an active Owner.

mod changes;
mod expiry;
mod reads;
mod seats;

pub(crate) use changes::change_in;
pub use changes::{Change, change, leave};
pub use expiry::{ExpiryWorker, expire_due};
pub use reads::{
    Asking, Export, PAGE_SIZE, Page, PageQuery, confirmation_target, export, find, find_with_teams,
    list, list_by_offset,
};
pub use seats::{SeatTargets, seat_targets, seats_in_use, set_seats};

pub use crate::db::memberships::{
    Cursor, ExportRow, Filter, Listing, MemberRow, RowStatus, Sort, Start, StatusFilter, Target,
};

use crate::actor::Actor;
use crate::db::{self, LockScope, Tx, memberships::By};
use crate::domain::Role;
use crate::domain::permissions::{self, Action};
use crate::state::AppState;

/// Why the members service did not do what was asked. Every variant but `Internal` is a
/// refusal a person can meet, and nothing was written; its `Display` is what they are
/// told.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such member in this organization (or the actor no longer belongs to it).
    #[error("That member is no longer in this organization.")]
    NotFound,
    /// Some of several members are not in this organization (or the actor no longer is).
    #[error("Some of those members are no longer in this organization.")]
    SomeNotFound,
    /// The permission table does not allow the change.
    #[error("Your role does not allow this change.")]
    Forbidden,
    /// The permission table does not allow managing seats.
    #[error("Your role does not allow managing seats.")]
    SeatsForbidden,
    /// One's own membership is changed by leaving, not from the Members page.
    #[error(
        "You cannot change your own membership here. To step down, ask another Owner, or leave the organization from the account menu."
    )]
    Own,
    /// Roles change only for active members.
    #[error("{email} is inactive. Activate them before changing their role.")]
    NotActive { email: String },
    /// An end date, on a member who is inactive.
    #[error("{email} is inactive. Activate them before setting when their access ends.")]
    NotActiveAccess { email: String },
    /// An end date on the last active Owner without one: in time, no Owner would be left.
    #[error(
        "{email} is the organization's last Owner whose access does not end. Make someone else Owner, with no end date, first."
    )]
    LastLastingOwner { email: String },
    /// It would leave the organization without an active Owner.
    #[error("{email} is the organization's last active Owner. Make someone else Owner first.")]
    LastOwner { email: String },
    /// The last active Owner cannot leave.
    #[error(
        "You are the last active Owner of {org_name}, so you cannot leave it. Make someone else Owner first."
    )]
    LastOwnerLeaving { org_name: String },
    /// The typed email is not the member's.
    #[error("Type {email} exactly to confirm.")]
    EmailMismatch { email: String },
    /// The member already has that role or status.
    #[error("Nothing to change: {email} is already like that.")]
    Unchanged { email: String },
    /// A seat change named no member.
    #[error("Select at least one member first.")]
    NoneSelected,
    /// The organization does not limit seats.
    #[error("Seats are off for this organization. An Owner can turn them on in Settings.")]
    SeatsOff,
    /// Seats go to active members only; these are inactive.
    #[error(
        "No seats were assigned: seats go to active members, and these are inactive: {}.",
        .0.join(", ")
    )]
    Inactive(Vec<String>),
    /// Only `left` seats are free.
    #[error(
        "No seats were assigned: only {left} {} left. Revoke seats, or raise the seat limit in the settings (Owners only).",
        if *left == 1 { "seat is" } else { "seats are" }
    )]
    NoRoom { left: i64 },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Error {
        Error::Internal(err.into())
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

/// The actor as a change sees them under the member lock.
pub(crate) struct Me {
    /// Their role now.
    role: Role,
    /// Their membership now; None for the identity provider, which has none.
    membership: Option<Target>,
}

/// Begins a change to the actor's organization: takes its member lock, then reads the
/// actor's membership as it is now (None when they are no longer an active member).
pub(crate) async fn begin_as(state: &AppState, actor: &Actor) -> Result<(Tx, Option<Me>), Error> {
    let org_id = actor.org.id;
    let mut tx = state.db.begin().await?;
    tx.lock(LockScope::OrgMembers, org_id).await?;
    let Some(user_id) = actor.user_id() else {
        let me = Me {
            role: actor.role,
            membership: None,
        };
        return Ok((tx, Some(me)));
    };
    let me = db::memberships::target_in(&mut tx, org_id, By::User(user_id))
        .await?
        .filter(|m| m.status.is_active())
        .map(|m| Me {
            role: m.role,
            membership: Some(m),
        });
    Ok((tx, me))
}
