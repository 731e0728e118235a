//! Writing the invitations that plans decided on, many at once.

use crate::actor::Actor;
use crate::db::{self, Tx, audit, invitations::NewInvitation, users::User};
use crate::domain::access::AccessUntil;
use crate::domain::settings::OrgSettings;
use crate::domain::{Email, token};
use crate::email::messages;
use crate::state::AppState;

use super::plan::{Plan, Planned};

/// An invitation that was created, with its link (shown once when email is off).
#[derive(Clone, Debug)]
pub struct Created {
    pub email: String,
    pub link: String,
    /// Its email in the outbox; None when email is off and the link is shown instead.
    pub outbox_id: Option<i64>,
}

/// A plan to write: whose, under which settings of their organization.
pub(super) struct PlanToWrite<'a> {
    pub actor: &'a Actor,
    /// The account the invitations are from (an actor with one: see `may_invite`).
    pub inviter: &'a User,
    pub settings: &'a OrgSettings,
    pub plan: &'a Plan,
    /// Who asked for these invitations, when an Owner or Admin approved their request.
    pub requested_by: Option<i64>,
}

/// An invitation about to be written: its plan (an index into the plans to write), its
/// row of that plan and its new link.
struct InvitationToWrite<'p> {
    plan: usize,
    row: &'p Planned,
    email: &'p Email,
    token_hash: String,
    link: String,
}

/// Creates the invitations of every `Invite` row of several plans in `tx`: token, expiry,
/// audit event and email (or, without SMTP, an audit event saying the link was shown).
/// Returns what each plan created.
///
/// The rows go in chunks, each step one statement for the whole chunk (the emails, the
/// renewals, the new invitations, the audit events), whichever plan they come from: a
/// CSV file of ten thousand rows, or a hundred people inviting at once, makes a few
/// round trips instead of three or four per invitation, and only one chunk's emails are
/// held at once.
pub(super) async fn create_all(
    state: &AppState,
    tx: &mut Tx,
    plans: &[PlanToWrite<'_>],
    now: i64,
) -> anyhow::Result<Vec<Vec<Created>>> {
    let expiry: Vec<(i64, String)> = plans
        .iter()
        .map(|p| {
            let at = now + p.settings.invitation_lifetime_secs;
            (at, crate::clock::exact(at))
        })
        .collect();
    let invites: Vec<(usize, &Planned)> = plans
        .iter()
        .enumerate()
        .flat_map(|(i, p)| p.plan.rows.iter().map(move |row| (i, row)))
        .filter(|(_, row)| row.outcome.is_invite())
        .collect();
    let mut created: Vec<Vec<Created>> = plans.iter().map(|_| Vec::new()).collect();
    for chunk in invites.chunks(db::ROW_CHUNK) {
        let writing: Vec<InvitationToWrite> = chunk
            .iter()
            .map(|&(plan, row)| {
                let (link_token, token_hash) = token::generate();
                InvitationToWrite {
                    plan,
                    row,
                    email: row.email.as_ref().expect("an invite row has an address"),
                    token_hash,
                    link: format!("{}/invitations/{link_token}", state.public_url()),
                }
            })
            .collect();
        let messages: Vec<messages::Invitation> = writing
            .iter()
            .map(|w| messages::Invitation {
                to: w.email.to_string(),
                org_name: plans[w.plan].actor.org.name.clone(),
                inviter_name: plans[w.plan].inviter.name.clone(),
                inviter_email: plans[w.plan].inviter.email.clone(),
                role: w.row.role.label(),
                link: w.link.clone(),
                expires: expiry[w.plan].1.clone(),
            })
            .collect();
        // The emails first, so that each invitation is written once, with its outbox id.
        let outbox_ids = state.mailer.queue_all(tx, &messages, now).await?;
        let new: Vec<NewInvitation> = writing
            .iter()
            .zip(&outbox_ids)
            .map(|(w, &outbox_id)| NewInvitation {
                org_id: plans[w.plan].actor.org.id,
                email: w.email,
                role: w.row.role,
                invited_by: plans[w.plan].inviter.id,
                token_hash: &w.token_hash,
                now,
                expires_at: expiry[w.plan].0,
                outbox_id,
                access_until: w.row.access_until.map(AccessUntil::stored),
                requested_by: plans[w.plan].requested_by,
            })
            .collect();
        // An expired invitation to the same address is renewed in place.
        let renewals: Vec<(i64, NewInvitation)> = writing
            .iter()
            .zip(&new)
            .filter_map(|(w, &n)| w.row.replaces.map(|id| (id, n)))
            .collect();
        let fresh: Vec<NewInvitation> = writing
            .iter()
            .zip(&new)
            .filter(|(w, _)| w.row.replaces.is_none())
            .map(|(_, &n)| n)
            .collect();
        db::invitations::renew_all(tx, &renewals).await?;
        let mut fresh_ids = db::invitations::insert_all(tx, &fresh).await?.into_iter();
        let ids: Vec<i64> = writing
            .iter()
            .map(|w| {
                w.row
                    .replaces
                    .unwrap_or_else(|| fresh_ids.next().expect("an id per new invitation"))
            })
            .collect();
        let mut events = Vec::with_capacity(2 * chunk.len());
        for ((w, &id), outbox_id) in writing.iter().zip(&ids).zip(&outbox_ids) {
            let org_id = plans[w.plan].actor.org.id;
            let actor = &plans[w.plan].actor.audit;
            events.push(
                audit::Event::new(audit::Action::InvitationCreated, actor)
                    .in_org(org_id)
                    .target("invitation", Some(id), Some(w.email.normalized()))
                    .after(w.row.role.as_str()),
            );
            if outbox_id.is_none() {
                events.push(
                    audit::Event::new(audit::Action::InvitationLinkShown, actor)
                        .in_org(org_id)
                        .target("invitation", Some(id), Some(w.email.normalized())),
                );
            }
        }
        audit::record_all(tx, &events, now).await?;
        for (w, outbox_id) in writing.into_iter().zip(outbox_ids) {
            created[w.plan].push(Created {
                email: w.email.to_string(),
                link: w.link,
                outbox_id,
            });
        }
    }
    Ok(created)
}
