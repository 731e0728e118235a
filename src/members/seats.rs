//! Seats: which members hold one of the organization's limited seats.

use std::collections::HashSet;

use super::{Error, Target, begin_as};
use crate::actor::Actor;
use crate::db::{self, Db, audit};
use crate::domain::Role;
use crate::domain::permissions::{self, Action};
use crate::email::messages;
use crate::state::AppState;

/// How many members of the actor's organization hold a seat.
pub async fn seats_in_use(db: &Db, actor: &Actor) -> Result<i64, Error> {
    Ok(db::memberships::count_seats(db, actor.org.id).await?)
}

/// A seat change about to be confirmed: whom it concerns, and the room there is.
#[derive(Debug)]
pub struct SeatTargets {
    pub targets: Vec<Target>,
    /// Seats still free, when the organization limits them.
    pub left: Option<i64>,
    /// Whom to ask for more seats, when there are too few and the actor is no Owner:
    /// the names of a few Owners.
    pub owners: Vec<String>,
}

impl SeatTargets {
    /// How many of the targets an assignment would give a seat: those without one.
    pub fn taking(&self) -> i64 {
        self.targets.iter().filter(|t| !t.has_seat).count() as i64
    }

    /// Whether assigning would need more seats than are free (and be refused).
    pub fn over_limit(&self) -> bool {
        self.left.is_some_and(|left| self.taking() > left)
    }
}

/// The members `ids` whose seats the actor is about to assign or revoke, and the seats
/// still free, for the confirmation. A read: it takes no lock, and `set_seats` checks
/// everything again.
pub async fn seat_targets(db: &Db, actor: &Actor, ids: &[i64]) -> Result<SeatTargets, Error> {
    if !permissions::allows(actor.role, Action::ManageSeats) {
        return Err(Error::SeatsForbidden);
    }
    if ids.is_empty() {
        return Err(Error::NoneSelected);
    }
    let targets = db::memberships::targets(db, actor.org.id, ids).await?;
    let unique: HashSet<_> = ids.iter().collect();
    if targets.len() != unique.len() {
        return Err(Error::SomeNotFound);
    }
    let left = match db::orgs::settings(db, actor.org.id).await?.seats {
        Some(seats) => Some((seats - db::memberships::count_seats(db, actor.org.id).await?).max(0)),
        None => None,
    };
    let mut found = SeatTargets {
        targets,
        left,
        owners: Vec::new(),
    };
    if found.over_limit() && actor.role != Role::Owner {
        found.owners = db::memberships::owner_names(db, actor.org.id, 3).await?;
    }
    Ok(found)
}

/// Assigns (or revokes) seats of the members `ids`, all or none. Returns the members
/// whose seat changed; those who already had it (or had none) are left as they are.
pub async fn set_seats(
    state: &AppState,
    actor: &Actor,
    ids: &[i64],
    assign: bool,
) -> Result<Vec<Target>, Error> {
    // Refused before the transaction, as the confirmation refuses them: nothing to lock.
    if !permissions::allows(actor.role, Action::ManageSeats) {
        return Err(Error::SeatsForbidden);
    }
    if ids.is_empty() {
        return Err(Error::NoneSelected);
    }
    let org = &actor.org;
    let now = state.clock.now();
    let (mut tx, me) = begin_as(state, actor).await?;
    let Some(me) = me else {
        return Err(Error::SomeNotFound);
    };
    if !permissions::allows(me.role, Action::ManageSeats) {
        return Err(Error::SeatsForbidden);
    }
    let Some(seats) = db::orgs::settings_for_update(&mut tx, org.id).await?.seats else {
        return Err(Error::SeatsOff);
    };
    let wanted: HashSet<i64> = ids.iter().copied().collect();
    let targets = db::memberships::targets(&mut tx, org.id, ids).await?;
    if targets.len() != wanted.len() {
        return Err(Error::SomeNotFound);
    }
    let changing: Vec<Target> = targets
        .into_iter()
        .filter(|t| t.has_seat != assign)
        .collect();
    if assign {
        let inactive: Vec<String> = changing
            .iter()
            .filter(|t| !t.status.is_active())
            .map(|t| t.email.clone())
            .collect();
        if !inactive.is_empty() {
            return Err(Error::Inactive(inactive));
        }
        let used = db::memberships::count_seats_in(&mut tx, org.id).await?;
        if used + changing.len() as i64 > seats {
            return Err(Error::NoRoom {
                left: (seats - used).max(0),
            });
        }
    }
    let who = &actor.audit;
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
            changed_by: actor.display_name(),
            assigned: assign,
            members_url: members_url.clone(),
        };
        state.mailer.queue(&mut tx, &email, now).await?;
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(changing)
}
