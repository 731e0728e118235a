//! Resending and revoking invitations.

use std::collections::HashSet;

use crate::actor::Actor;
use crate::db::{self, Reader, audit, invitations::NewInvitation};
use crate::domain::invitation::Status;
use crate::domain::permissions::{self, Action};
use crate::domain::{Email, token};
use crate::email::messages;
use crate::state::AppState;

use super::Error;
use super::create::Created;

pub use crate::db::invitations::Managed;

/// Resending or revoking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Manage {
    Resend,
    Revoke,
}

impl Manage {
    pub fn parse(s: &str) -> Option<Manage> {
        match s {
            "resend" => Some(Manage::Resend),
            "revoke" => Some(Manage::Revoke),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Manage::Resend => "resend",
            Manage::Revoke => "revoke",
        }
    }
}

/// The invitations of the actor's organization among `ids`; `NotFound` unless every one
/// is there.
async fn find_all(reader: Reader<'_>, actor: &Actor, ids: &[i64]) -> Result<Vec<Managed>, Error> {
    let targets = db::invitations::find_many(reader, actor.org.id, ids).await?;
    if targets.len() != ids.iter().collect::<HashSet<_>>().len() {
        return Err(Error::NotFound);
    }
    Ok(targets)
}

/// The invitations `ids` as the confirmation before resending or revoking them lists
/// them.
pub async fn invitations_to_manage(
    state: &AppState,
    actor: &Actor,
    ids: &[i64],
) -> Result<Vec<Managed>, Error> {
    find_all(Reader::Pool(&state.db), actor, ids).await
}

/// Resends (new token, new expiry, new email; the old link dies) or revokes (final; the
/// invitee is told) every invitation in `ids`, all or nothing. Returns the new links
/// (shown once when email is off) of resent invitations.
pub async fn manage(
    state: &AppState,
    actor: &Actor,
    ids: &[i64],
    action: Manage,
) -> Result<Vec<Created>, Error> {
    let now = state.clock.now();
    let org = &actor.org;
    // Invitations are managed by people: the identity provider adds members directly.
    let me = actor.user().ok_or(Error::Forbidden)?;
    let mut tx = state.db.begin().await?;
    let settings = db::orgs::settings_for_update(&mut tx, org.id).await?;
    let targets = find_all(Reader::Tx(&mut tx), actor, ids).await?;
    for target in &targets {
        let own = target.invited_by == Some(me.id);
        let role = target.role;
        if !permissions::allows(actor.role, Action::ManageInvitation { role, own }) {
            return Err(Error::Forbidden);
        }
    }
    let finished: Vec<String> = targets
        .iter()
        .filter(|t| t.state != "pending")
        .map(|t| t.email.clone())
        .collect();
    if !finished.is_empty() {
        return Err(Error::Finished(finished));
    }
    if action == Manage::Resend {
        let reviving = targets.iter().filter(|t| t.expires_at <= now).count() as i64;
        let pending = db::invitations::count_pending(&mut tx, org.id, now).await?;
        let room = settings.max_pending_invitations - pending;
        if reviving > room {
            return Err(Error::OverLimit { room: room.max(0) });
        }
    }
    let mut links = Vec::new();
    for target in &targets {
        let email = Email::parse(&target.email).map_err(anyhow::Error::msg)?;
        match action {
            Manage::Resend => {
                let role = target.role;
                let (link_token, token_hash) = token::generate();
                let expires_at = now + settings.invitation_lifetime_secs;
                let inviter_id = target.invited_by.unwrap_or(me.id);
                let link = format!("{}/invitations/{link_token}", state.public_url());
                let message = messages::Invitation {
                    to: email.to_string(),
                    org_name: org.name.clone(),
                    inviter_name: me.name.clone(),
                    inviter_email: me.email.clone(),
                    role: role.label(),
                    link: link.clone(),
                    expires: crate::clock::exact(expires_at),
                };
                let outbox_id = state.mailer.queue(&mut tx, &message, now).await?;
                let renewed = NewInvitation {
                    org_id: org.id,
                    email: &email,
                    role,
                    invited_by: inviter_id,
                    token_hash: &token_hash,
                    now,
                    expires_at,
                    outbox_id,
                    // A resend keeps the invitation's last day of access (`renew` leaves it).
                    access_until: None,
                    requested_by: None,
                };
                db::invitations::renew(&mut tx, target.id, &renewed).await?;
                let event = audit::Event::new(audit::Action::InvitationResent, &actor.audit)
                    .in_org(org.id)
                    .target("invitation", Some(target.id), Some(email.normalized()));
                audit::record(&mut tx, &event, now).await?;
                if outbox_id.is_none() {
                    let shown = audit::Event::new(audit::Action::InvitationLinkShown, &actor.audit)
                        .in_org(org.id)
                        .target("invitation", Some(target.id), Some(email.normalized()));
                    audit::record(&mut tx, &shown, now).await?;
                }
                links.push(Created {
                    email: email.to_string(),
                    link,
                    outbox_id,
                });
            }
            Manage::Revoke => {
                db::invitations::finish(&mut tx, target.id, Status::Revoked, Some(me.id), now)
                    .await?;
                let message = messages::InvitationRevoked {
                    to: email.to_string(),
                    org_name: org.name.clone(),
                };
                let outbox_id = state.mailer.queue(&mut tx, &message, now).await?;
                db::invitations::set_outbox(&mut tx, target.id, outbox_id).await?;
                let event = audit::Event::new(audit::Action::InvitationRevoked, &actor.audit)
                    .in_org(org.id)
                    .target("invitation", Some(target.id), Some(email.normalized()))
                    .before(target.role.as_str());
                audit::record(&mut tx, &event, now).await?;
            }
        }
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(links)
}
