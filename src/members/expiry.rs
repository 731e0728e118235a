//! Membership expiry: seven days before a member's last day of access the member and
//! whoever invited them (or, when that is unknown, the Owners) are warned, once; when
//! the day has passed the membership is deactivated as an Owner's deactivation does it
//! (its API tokens end), audited as Roster's doing, and both are told.
//!
//! Several Roster processes may share one database: a warning is claimed with its row
//! (`db::memberships::claim_warnings`) in the transaction that queues its emails, and a
//! deactivation happens under the organization's member lock after reading the
//! membership again, so neither is done twice.

use std::time::Duration;

use tokio::sync::watch;

use super::changes::deactivate;
use crate::db::memberships::{By, Ending};
use crate::db::{self, LockScope, Tx, audit};
use crate::domain::access::{AccessUntil, WARNING_SECS};
use crate::email::messages;
use crate::state::AppState;

/// How many memberships one transaction warns about.
const BATCH: i64 = 100;
/// How often the worker looks; the dates are whole days, so a minute late is on time.
const EVERY: Duration = Duration::from_secs(60);

/// What one pass of the worker did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Expired {
    pub warned: usize,
    pub deactivated: usize,
}

/// The expiry worker of one Roster process.
pub struct ExpiryWorker {
    pub state: AppState,
}

impl ExpiryWorker {
    /// Runs a pass a minute until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        while !*shutdown.borrow() {
            match expire_due(&self.state).await {
                Ok(Expired {
                    warned: 0,
                    deactivated: 0,
                }) => {}
                Ok(done) => tracing::info!(
                    warned = done.warned,
                    deactivated = done.deactivated,
                    "membership expiry"
                ),
                Err(err) => {
                    tracing::error!(error = %format!("{err:#}"), "membership expiry failed")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

/// Sends the warnings that are due and deactivates the memberships whose access has
/// ended, as of the state's clock.
pub async fn expire_due(state: &AppState) -> anyhow::Result<Expired> {
    let now = state.clock.now();
    let mut done = Expired::default();
    loop {
        let mut tx = state.db.begin().await?;
        let claimed = db::memberships::claim_warnings(&mut tx, now, WARNING_SECS, BATCH).await?;
        for ending in &claimed {
            tell(state, &mut tx, ending, false, now).await?;
        }
        tx.commit().await?;
        done.warned += claimed.len();
        if (claimed.len() as i64) < BATCH {
            break;
        }
    }
    loop {
        let ended = db::memberships::ended(&state.db, now, BATCH).await?;
        for ending in &ended {
            if end_access(state, ending, now).await? {
                done.deactivated += 1;
            }
        }
        // Each one read is now inactive (or no longer due), so the next read moves on.
        if (ended.len() as i64) < BATCH {
            break;
        }
    }
    if done != Expired::default() {
        state.mailer.wake();
    }
    Ok(done)
}

/// Deactivates one membership whose access has ended, unless it changed meanwhile (read
/// again under the lock); true when it did.
async fn end_access(state: &AppState, ending: &Ending, now: i64) -> anyhow::Result<bool> {
    let mut tx = state.db.begin().await?;
    tx.lock(LockScope::OrgMembers, ending.org_id).await?;
    let Some(target) =
        db::memberships::target_in(&mut tx, ending.org_id, By::Id(ending.id)).await?
    else {
        return Ok(false);
    };
    let Some(until) = target.access_until.map(AccessUntil::from_stored) else {
        return Ok(false);
    };
    if !target.status.is_active() || until.ends_at() > now {
        return Ok(false);
    }
    deactivate(&mut tx, target.id, now).await?;
    let system = audit::Actor::system();
    let event = audit::Event::new(audit::Action::MemberAccessEnded, &system)
        .in_org(ending.org_id)
        .target("member", Some(target.id), Some(&target.email))
        .before(until.iso());
    audit::record(&mut tx, &event, now).await?;
    tell(state, &mut tx, ending, true, now).await?;
    tx.commit().await?;
    Ok(true)
}

/// Queues the emails about `ending`'s access: to the member, and to whoever invited
/// them or, when that is unknown (or it was the member), to the organization's Owners.
async fn tell(
    state: &AppState,
    tx: &mut Tx,
    ending: &Ending,
    ended: bool,
    now: i64,
) -> anyhow::Result<()> {
    let Some(org) = db::orgs::find(&state.db, ending.org_id).await? else {
        return Ok(());
    };
    let Some(member) = db::memberships::target_in(tx, ending.org_id, By::Id(ending.id)).await?
    else {
        return Ok(());
    };
    let inviter = match ending.invited_by {
        Some(id) => db::users::email_of(tx, id).await?,
        None => None,
    };
    let others = match inviter {
        Some(email) if !email.eq_ignore_ascii_case(&member.email) => vec![email],
        _ => db::memberships::owner_emails(tx, ending.org_id).await?,
    };
    // As the membership holds it now (the worker's first read may be older).
    let last_day =
        AccessUntil::from_stored(member.access_until.unwrap_or(ending.access_until)).long();
    let members_url = format!("{}/orgs/{}/members", state.public_url(), org.slug);
    let member_copy = std::iter::once((member.email.clone(), true));
    let other_copies = others
        .into_iter()
        .filter(|o| !o.eq_ignore_ascii_case(&member.email))
        .map(|o| (o, false));
    let emails: Vec<messages::AccessEnd> = member_copy
        .chain(other_copies)
        .map(|(to, to_member)| messages::AccessEnd {
            to,
            org_name: org.name.clone(),
            member: member.email.clone(),
            to_member,
            last_day: last_day.clone(),
            ended,
            members_url: members_url.clone(),
        })
        .collect();
    state.mailer.queue_all(tx, &emails, now).await?;
    Ok(())
}
