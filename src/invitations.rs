//! Inviting people and accepting invitations: the rules that need storage, each change
//! in one transaction with its audit events and emails.

use std::collections::{HashMap, HashSet};

use crate::db::{self, Tx, audit, invitations::NewInvitation};
use crate::domain::invitation::{Outcome, Status};
use crate::domain::permissions::{self, Action};
use crate::domain::settings::OrgSettings;
use crate::domain::{Email, Role, token};
use crate::email::messages;
use crate::state::AppState;

/// One address someone asked to invite, with a role.
#[derive(Clone, Debug)]
pub struct Request {
    pub raw: String,
    pub role: Role,
    /// A role name that matched no role (CSV files); the row is then refused.
    pub bad_role: Option<String>,
}

/// What will happen to one requested address.
#[derive(Clone, Debug)]
pub struct Planned {
    pub raw: String,
    pub email: Option<Email>,
    pub role: Role,
    pub outcome: Outcome,
    /// An expired invitation to the same address that a new one replaces.
    replaces: Option<i64>,
}

/// A plan for a list of requests, and how many more invitations fit.
#[derive(Clone, Debug)]
pub struct Plan {
    pub rows: Vec<Planned>,
    pub room_before: i64,
}

impl Plan {
    pub fn invites(&self) -> usize {
        self.rows.iter().filter(|r| r.outcome.is_invite()).count()
    }

    pub fn all_invite(&self) -> bool {
        self.rows.iter().all(|r| r.outcome.is_invite())
    }
}

/// Who is inviting.
pub struct Inviter<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub role: Role,
    pub actor: &'a audit::Actor,
}

impl<'a> Inviter<'a> {
    /// The member acting, as an inviter.
    pub fn of(acting: &'a crate::auth::Acting) -> Inviter<'a> {
        Inviter {
            user_id: acting.user.id,
            name: &acting.user.name,
            role: acting.role,
            actor: &acting.actor,
        }
    }
}

/// Decides, inside `tx`, what inviting each request would do: the permission table, the
/// organization's domains and limits, existing members and invitations, duplicates.
pub async fn plan(
    tx: &mut Tx,
    org_id: i64,
    settings: &OrgSettings,
    inviter_role: Role,
    requests: &[Request],
    now: i64,
) -> sqlx::Result<Plan> {
    let parsed: Vec<Option<Email>> = requests.iter().map(|r| Email::parse(&r.raw).ok()).collect();
    let normalized: Vec<String> = parsed
        .iter()
        .flatten()
        .map(|e| e.normalized().to_string())
        .collect();
    let members: HashSet<String> = db::memberships::member_emails(tx, org_id, &normalized)
        .await?
        .into_iter()
        .collect();
    let open: HashMap<String, db::invitations::Open> =
        db::invitations::open_for_emails(tx, org_id, &normalized)
            .await?
            .into_iter()
            .map(|o| (o.email_normalized.clone(), o))
            .collect();
    let (member_count, pending) = db::memberships::counts_for_limits(tx, org_id, now).await?;
    let room_before = (settings.max_pending_invitations - pending)
        .min(settings.max_members - member_count - pending)
        .max(0);
    let mut room = room_before;
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(requests.len());
    for (request, email) in requests.iter().zip(parsed) {
        let mut replaces = None;
        let outcome = match &email {
            _ if request.bad_role.is_some() => {
                Outcome::UnknownRole(request.bad_role.clone().unwrap_or_default())
            }
            None => Outcome::Invalid(Email::parse(&request.raw).err().unwrap_or("not an address")),
            Some(e) if !seen.insert(e.normalized().to_string()) => Outcome::Duplicate,
            Some(_)
                if !permissions::allows(
                    inviter_role,
                    Action::Invite {
                        role: request.role,
                        members_may_invite: settings.members_may_invite,
                    },
                ) =>
            {
                Outcome::RoleNotAllowed(request.role)
            }
            Some(e) if !settings.allows_domain(e.domain()) => Outcome::DomainNotAllowed,
            Some(e) if members.contains(e.normalized()) => Outcome::AlreadyMember,
            Some(e) => match open.get(e.normalized()) {
                Some(o) if o.expires_at > now => Outcome::AlreadyInvited,
                existing => {
                    replaces = existing.map(|o| o.id);
                    if room > 0 {
                        room -= 1;
                        Outcome::Invite
                    } else {
                        Outcome::OverLimit
                    }
                }
            },
        };
        rows.push(Planned {
            raw: request.raw.clone(),
            email,
            role: request.role,
            outcome,
            replaces,
        });
    }
    Ok(Plan { rows, room_before })
}

/// An invitation that was created, with its link (shown once when email is off).
#[derive(Clone, Debug)]
pub struct Created {
    pub email: String,
    pub link: String,
}

/// An invitation being created: its row of the plan and its new link.
struct Creating<'p> {
    row: &'p Planned,
    email: &'p Email,
    token_hash: String,
    link: String,
}

/// Creates an invitation for every `Invite` row of `plan` in `tx`: token, expiry, audit
/// event and email (or, without SMTP, an audit event saying the link was shown).
///
/// The rows go in chunks, each step one statement for the whole chunk (the emails, the
/// renewals, the new invitations, the audit events): a CSV file of ten thousand rows
/// makes a few dozen round trips instead of three or four per row, and only one chunk's
/// emails are held at once.
pub async fn create(
    state: &AppState,
    tx: &mut Tx,
    org: &db::orgs::Org,
    settings: &OrgSettings,
    inviter: &Inviter<'_>,
    plan: &Plan,
    now: i64,
) -> anyhow::Result<Vec<Created>> {
    let invites: Vec<&Planned> = plan.rows.iter().filter(|r| r.outcome.is_invite()).collect();
    let expires_at = now + settings.invitation_lifetime_secs;
    let expires = crate::clock::exact(expires_at);
    let mut created = Vec::with_capacity(invites.len());
    for chunk in invites.chunks(db::ROW_CHUNK) {
        let creating: Vec<Creating> = chunk
            .iter()
            .map(|row| {
                let (link_token, token_hash) = token::generate();
                Creating {
                    row,
                    email: row.email.as_ref().expect("an invite row has an address"),
                    token_hash,
                    link: format!("{}/invitations/{link_token}", state.public_url()),
                }
            })
            .collect();
        let messages: Vec<messages::Invitation> = creating
            .iter()
            .map(|c| messages::Invitation {
                to: c.email.to_string(),
                org_name: org.name.clone(),
                inviter_name: inviter.name.to_string(),
                role: c.row.role.label(),
                link: c.link.clone(),
                expires: expires.clone(),
            })
            .collect();
        // The emails first, so that each invitation is written once, with its outbox id.
        let outbox_ids = state.mailer.queue_all(tx, &messages, now).await?;
        let new: Vec<NewInvitation> = creating
            .iter()
            .zip(&outbox_ids)
            .map(|(c, &outbox_id)| NewInvitation {
                org_id: org.id,
                email: c.email,
                role: c.row.role,
                invited_by: inviter.user_id,
                token_hash: &c.token_hash,
                now,
                expires_at,
                outbox_id,
            })
            .collect();
        // An expired invitation to the same address is renewed in place.
        let renewals: Vec<(i64, NewInvitation)> = chunk
            .iter()
            .zip(&new)
            .filter_map(|(row, &n)| row.replaces.map(|id| (id, n)))
            .collect();
        let fresh: Vec<NewInvitation> = chunk
            .iter()
            .zip(&new)
            .filter(|(row, _)| row.replaces.is_none())
            .map(|(_, &n)| n)
            .collect();
        db::invitations::renew_all(tx, &renewals).await?;
        let mut fresh_ids = db::invitations::insert_all(tx, &fresh).await?.into_iter();
        let ids: Vec<i64> = chunk
            .iter()
            .map(|row| {
                row.replaces
                    .unwrap_or_else(|| fresh_ids.next().expect("an id per new invitation"))
            })
            .collect();
        let mut events = Vec::with_capacity(2 * chunk.len());
        for ((c, &id), outbox_id) in creating.iter().zip(&ids).zip(&outbox_ids) {
            events.push(
                audit::Event::new(audit::Action::InvitationCreated, inviter.actor)
                    .in_org(org.id)
                    .target("invitation", Some(id), Some(c.email.normalized()))
                    .after(c.row.role.as_str()),
            );
            if outbox_id.is_none() {
                events.push(
                    audit::Event::new(audit::Action::InvitationLinkShown, inviter.actor)
                        .in_org(org.id)
                        .target("invitation", Some(id), Some(c.email.normalized())),
                );
            }
        }
        audit::record_all(tx, &events, now).await?;
        created.extend(creating.into_iter().map(|c| Created {
            email: c.email.to_string(),
            link: c.link,
        }));
    }
    Ok(created)
}

/// Plans `requests` and creates their invitations in one transaction: all of them when
/// every address can be invited (otherwise none), or with `partial` those that can.
/// Returns the plan, which says what happened to each address, and what was created.
pub async fn invite(
    state: &AppState,
    org: &db::orgs::Org,
    inviter: &Inviter<'_>,
    requests: &[Request],
    partial: bool,
) -> anyhow::Result<(Plan, Vec<Created>)> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let settings = db::orgs::settings_for_update(&mut tx, org.id).await?;
    let plan = plan(&mut tx, org.id, &settings, inviter.role, requests, now).await?;
    if !partial && !plan.all_invite() {
        return Ok((plan, Vec::new()));
    }
    let created = create(state, &mut tx, org, &settings, inviter, &plan, now).await?;
    tx.commit().await?;
    state.mailer.wake();
    Ok((plan, created))
}

/// Why an invitation cannot be accepted or declined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    Expired,
    Revoked,
    Used,
    Unknown,
}

/// The invitation behind a link, if it is still open; otherwise why not, with the
/// invitation when the link is known (its page names whom to ask).
pub async fn open_by_token(
    state: &AppState,
    link_token: &str,
) -> sqlx::Result<Result<db::invitations::Details, (Closed, Option<db::invitations::Details>)>> {
    let Some(details) =
        db::invitations::find_by_token_hash(&state.db, &token::hash(link_token)).await?
    else {
        return Ok(Err((Closed::Unknown, None)));
    };
    let closed = match Status::of(&details.state, details.expires_at, state.clock.now()) {
        Status::Pending => return Ok(Ok(details)),
        Status::Expired => Closed::Expired,
        Status::Revoked => Closed::Revoked,
        Status::Accepted | Status::Declined => Closed::Used,
    };
    Ok(Err((closed, Some(details))))
}

/// Makes `user_id` a member with the invited role; tells the inviter. False when the
/// invitation was used meanwhile or the user is already a member.
pub async fn accept(
    state: &AppState,
    tx: &mut Tx,
    invitation: &db::invitations::Details,
    user_id: i64,
    actor: &audit::Actor,
    now: i64,
) -> anyhow::Result<bool> {
    if !db::invitations::finish(tx, invitation.id, Status::Accepted, now).await? {
        return Ok(false);
    }
    let role: Role = invitation.role.parse().map_err(anyhow::Error::msg)?;
    match db::memberships::insert(
        tx,
        invitation.org_id,
        user_id,
        role,
        invitation.invited_by,
        now,
    )
    .await
    {
        Ok(_) => {}
        Err(e) if db::is_unique_violation(&e) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    let event = audit::Event::new(audit::Action::InvitationAccepted, actor)
        .in_org(invitation.org_id)
        .target(
            "invitation",
            Some(invitation.id),
            Some(&invitation.email_normalized),
        )
        .after(role.as_str());
    audit::record(tx, &event, now).await?;
    if let (Some(to), Some(name)) = (&invitation.inviter_email, &invitation.inviter_name) {
        let notice = messages::InvitationAccepted {
            to: to.clone(),
            inviter_name: name.clone(),
            invitee: invitation.email.clone(),
            org_name: invitation.org_name.clone(),
            role: role.label(),
            members_url: format!(
                "{}/orgs/{}/members",
                state.public_url(),
                invitation.org_slug
            ),
        };
        state.mailer.queue(tx, &notice, now).await?;
    }
    Ok(true)
}

/// Declines an open invitation.
pub async fn decline(
    tx: &mut Tx,
    invitation: &db::invitations::Details,
    actor: &audit::Actor,
    now: i64,
) -> anyhow::Result<bool> {
    if !db::invitations::finish(tx, invitation.id, Status::Declined, now).await? {
        return Ok(false);
    }
    let event = audit::Event::new(audit::Action::InvitationDeclined, actor)
        .in_org(invitation.org_id)
        .target(
            "invitation",
            Some(invitation.id),
            Some(&invitation.email_normalized),
        );
    audit::record(tx, &event, now).await?;
    Ok(true)
}

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

/// Why a resend or revoke was refused as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManageRefusal {
    /// Not the actor's to manage (the permission table).
    Forbidden,
    /// Accepted, declined or revoked invitations cannot be resent or revoked.
    Finished(Vec<String>),
    /// Resending expired invitations would pass the pending-invitation limit.
    OverLimit { room: i64 },
}

/// Resends (new token, new expiry, new email; the old link dies) or revokes (final; the
/// invitee is told) every invitation in `targets`, all or nothing.
pub async fn manage(
    state: &AppState,
    org: &db::orgs::Org,
    inviter: &Inviter<'_>,
    targets: &[db::invitations::Managed],
    action: Manage,
) -> anyhow::Result<Result<Vec<Created>, ManageRefusal>> {
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let settings = db::orgs::settings_for_update(&mut tx, org.id).await?;
    for target in targets {
        let role: Role = target.role.parse().map_err(anyhow::Error::msg)?;
        let own = target.invited_by == Some(inviter.user_id);
        if !permissions::allows(inviter.role, Action::ManageInvitation { role, own }) {
            return Ok(Err(ManageRefusal::Forbidden));
        }
    }
    let finished: Vec<String> = targets
        .iter()
        .filter(|t| t.state != "pending")
        .map(|t| t.email.clone())
        .collect();
    if !finished.is_empty() {
        return Ok(Err(ManageRefusal::Finished(finished)));
    }
    if action == Manage::Resend {
        let reviving = targets.iter().filter(|t| t.expires_at <= now).count() as i64;
        let pending = db::invitations::count_pending(&mut tx, org.id, now).await?;
        let room = settings.max_pending_invitations - pending;
        if reviving > room {
            return Ok(Err(ManageRefusal::OverLimit { room: room.max(0) }));
        }
    }
    let mut links = Vec::new();
    for target in targets {
        let email = Email::parse(&target.email).map_err(anyhow::Error::msg)?;
        match action {
            Manage::Resend => {
                let role: Role = target.role.parse().map_err(anyhow::Error::msg)?;
                let (link_token, token_hash) = token::generate();
                let expires_at = now + settings.invitation_lifetime_secs;
                let inviter_id = target.invited_by.unwrap_or(inviter.user_id);
                let link = format!("{}/invitations/{link_token}", state.public_url());
                let message = messages::Invitation {
                    to: email.to_string(),
                    org_name: org.name.clone(),
                    inviter_name: inviter.name.to_string(),
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
                };
                db::invitations::renew(&mut tx, target.id, &renewed).await?;
                let event = audit::Event::new(audit::Action::InvitationResent, inviter.actor)
                    .in_org(org.id)
                    .target("invitation", Some(target.id), Some(email.normalized()));
                audit::record(&mut tx, &event, now).await?;
                if outbox_id.is_none() {
                    let shown =
                        audit::Event::new(audit::Action::InvitationLinkShown, inviter.actor)
                            .in_org(org.id)
                            .target("invitation", Some(target.id), Some(email.normalized()));
                    audit::record(&mut tx, &shown, now).await?;
                }
                links.push(Created {
                    email: email.to_string(),
                    link,
                });
            }
            Manage::Revoke => {
                db::invitations::finish(&mut tx, target.id, Status::Revoked, now).await?;
                let message = messages::InvitationRevoked {
                    to: email.to_string(),
                    org_name: org.name.clone(),
                };
                let outbox_id = state.mailer.queue(&mut tx, &message, now).await?;
                db::invitations::set_outbox(&mut tx, target.id, outbox_id).await?;
                let event = audit::Event::new(audit::Action::InvitationRevoked, inviter.actor)
                    .in_org(org.id)
                    .target("invitation", Some(target.id), Some(email.normalized()))
                    .before(target.role.clone());
                audit::record(&mut tx, &event, now).await?;
            }
        }
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(Ok(links))
}
