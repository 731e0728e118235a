//! Inviting people and accepting invitations: the rules that need storage, each change
//! in one transaction with its audit events and emails.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Mutex, PoisonError};

use tokio::sync::oneshot;

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

/// What a plan is checked against in one organization: its counts for the limits and
/// which of the requested addresses are taken, as read inside the transaction
/// (`db::invitations::standing`) and as the plans before it in that transaction leave
/// them.
struct Known {
    member_count: i64,
    pending: i64,
    members: HashSet<String>,
    open: HashMap<String, db::invitations::Open>,
}

impl Known {
    async fn read(tx: &mut Tx, org_id: i64, emails: &[String], now: i64) -> sqlx::Result<Known> {
        let standing = db::invitations::standing(tx, org_id, emails, now).await?;
        Ok(Known {
            member_count: standing.member_count,
            pending: standing.pending,
            members: standing.members.into_iter().collect(),
            open: standing
                .open
                .into_iter()
                .map(|o| (o.email_normalized.clone(), o))
                .collect(),
        })
    }

    /// Counts the invitations `plan` creates, to expire at `expires_at`: they are
    /// pending, and their addresses invited.
    fn record(&mut self, plan: &Plan, expires_at: i64) {
        let invited = plan.rows.iter().filter(|r| r.outcome.is_invite());
        for (row, email) in invited.filter_map(|r| Some((r, r.email.as_ref()?))) {
            self.pending += 1;
            let normalized = email.normalized().to_string();
            self.open.insert(
                normalized.clone(),
                db::invitations::Open {
                    id: row.replaces.unwrap_or_default(),
                    email_normalized: normalized,
                    expires_at,
                },
            );
        }
    }
}

/// The requested addresses that parse, normalized.
fn normalized(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .filter_map(|r| Email::parse(&r.raw).ok())
        .map(|e| e.normalized().to_string())
        .collect()
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
    let known = Known::read(tx, org_id, &normalized(requests), now).await?;
    Ok(plan_against(&known, settings, inviter_role, requests, now))
}

fn plan_against(
    known: &Known,
    settings: &OrgSettings,
    inviter_role: Role,
    requests: &[Request],
    now: i64,
) -> Plan {
    let room_before = (settings.max_pending_invitations - known.pending)
        .min(settings.max_members - known.member_count - known.pending)
        .max(0);
    let mut room = room_before;
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(requests.len());
    for request in requests {
        let email = Email::parse(&request.raw);
        let mut replaces = None;
        let outcome = match &email {
            _ if request.bad_role.is_some() => {
                Outcome::UnknownRole(request.bad_role.clone().unwrap_or_default())
            }
            Err(reason) => Outcome::Invalid(reason),
            Ok(e) if !seen.insert(e.normalized().to_string()) => Outcome::Duplicate,
            Ok(_)
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
            Ok(e) if !settings.allows_domain(e.domain()) => Outcome::DomainNotAllowed,
            Ok(e) if known.members.contains(e.normalized()) => Outcome::AlreadyMember,
            Ok(e) => match known.open.get(e.normalized()) {
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
            email: email.ok(),
            role: request.role,
            outcome,
            replaces,
        });
    }
    Plan { rows, room_before }
}

/// An invitation that was created, with its link (shown once when email is off).
#[derive(Clone, Debug)]
pub struct Created {
    pub email: String,
    pub link: String,
}

/// A plan to carry out: whose, in which organization, under which settings.
pub struct Carry<'a> {
    pub org: &'a db::orgs::Org,
    pub settings: &'a OrgSettings,
    pub inviter: &'a Inviter<'a>,
    pub plan: &'a Plan,
}

/// An invitation being created: which plan (an index into the carries), its row of the
/// plan and its new link.
struct Creating<'p> {
    plan: usize,
    row: &'p Planned,
    email: &'p Email,
    token_hash: String,
    link: String,
}

/// Creates an invitation for every `Invite` row of `plan` in `tx`: token, expiry, audit
/// event and email (or, without SMTP, an audit event saying the link was shown).
pub async fn create(
    state: &AppState,
    tx: &mut Tx,
    org: &db::orgs::Org,
    settings: &OrgSettings,
    inviter: &Inviter<'_>,
    plan: &Plan,
    now: i64,
) -> anyhow::Result<Vec<Created>> {
    let carry = Carry {
        org,
        settings,
        inviter,
        plan,
    };
    let mut created = create_all(state, tx, &[carry], now).await?;
    Ok(created.pop().unwrap_or_default())
}

/// Creates the invitations of several plans in `tx` (see `create`); what each created.
///
/// The rows go in chunks, each step one statement for the whole chunk (the emails, the
/// renewals, the new invitations, the audit events), whichever plan they come from: a
/// CSV file of ten thousand rows, or a hundred people inviting at once, makes a few
/// round trips instead of three or four per invitation, and only one chunk's emails are
/// held at once.
pub async fn create_all(
    state: &AppState,
    tx: &mut Tx,
    carries: &[Carry<'_>],
    now: i64,
) -> anyhow::Result<Vec<Vec<Created>>> {
    let expiry: Vec<(i64, String)> = carries
        .iter()
        .map(|c| {
            let at = now + c.settings.invitation_lifetime_secs;
            (at, crate::clock::exact(at))
        })
        .collect();
    let invites: Vec<(usize, &Planned)> = carries
        .iter()
        .enumerate()
        .flat_map(|(i, c)| c.plan.rows.iter().map(move |row| (i, row)))
        .filter(|(_, row)| row.outcome.is_invite())
        .collect();
    let mut created: Vec<Vec<Created>> = carries.iter().map(|_| Vec::new()).collect();
    for chunk in invites.chunks(db::ROW_CHUNK) {
        let creating: Vec<Creating> = chunk
            .iter()
            .map(|&(plan, row)| {
                let (link_token, token_hash) = token::generate();
                Creating {
                    plan,
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
                org_name: carries[c.plan].org.name.clone(),
                inviter_name: carries[c.plan].inviter.name.to_string(),
                role: c.row.role.label(),
                link: c.link.clone(),
                expires: expiry[c.plan].1.clone(),
            })
            .collect();
        // The emails first, so that each invitation is written once, with its outbox id.
        let outbox_ids = state.mailer.queue_all(tx, &messages, now).await?;
        let new: Vec<NewInvitation> = creating
            .iter()
            .zip(&outbox_ids)
            .map(|(c, &outbox_id)| NewInvitation {
                org_id: carries[c.plan].org.id,
                email: c.email,
                role: c.row.role,
                invited_by: carries[c.plan].inviter.user_id,
                token_hash: &c.token_hash,
                now,
                expires_at: expiry[c.plan].0,
                outbox_id,
            })
            .collect();
        // An expired invitation to the same address is renewed in place.
        let renewals: Vec<(i64, NewInvitation)> = creating
            .iter()
            .zip(&new)
            .filter_map(|(c, &n)| c.row.replaces.map(|id| (id, n)))
            .collect();
        let fresh: Vec<NewInvitation> = creating
            .iter()
            .zip(&new)
            .filter(|(c, _)| c.row.replaces.is_none())
            .map(|(_, &n)| n)
            .collect();
        db::invitations::renew_all(tx, &renewals).await?;
        let mut fresh_ids = db::invitations::insert_all(tx, &fresh).await?.into_iter();
        let ids: Vec<i64> = creating
            .iter()
            .map(|c| {
                c.row
                    .replaces
                    .unwrap_or_else(|| fresh_ids.next().expect("an id per new invitation"))
            })
            .collect();
        let mut events = Vec::with_capacity(2 * chunk.len());
        for ((c, &id), outbox_id) in creating.iter().zip(&ids).zip(&outbox_ids) {
            let org_id = carries[c.plan].org.id;
            let actor = carries[c.plan].inviter.actor;
            events.push(
                audit::Event::new(audit::Action::InvitationCreated, actor)
                    .in_org(org_id)
                    .target("invitation", Some(id), Some(c.email.normalized()))
                    .after(c.row.role.as_str()),
            );
            if outbox_id.is_none() {
                events.push(
                    audit::Event::new(audit::Action::InvitationLinkShown, actor)
                        .in_org(org_id)
                        .target("invitation", Some(id), Some(c.email.normalized())),
                );
            }
        }
        audit::record_all(tx, &events, now).await?;
        for c in creating {
            created[c.plan].push(Created {
                email: c.email.to_string(),
                link: c.link,
            });
        }
    }
    Ok(created)
}

/// Plans `requests` and creates their invitations in one transaction: all of them when
/// every address can be invited (otherwise none), or with `partial` those that can.
/// Returns the plan, which says what happened to each address, and what was created.
///
/// Invitations asked for while another batch is being written wait for it, then go
/// together in one transaction (`Queue`): each plan as if they had been made one after
/// another, in the order they were asked for.
pub async fn invite(
    state: &AppState,
    org: &db::orgs::Org,
    inviter: &Inviter<'_>,
    requests: &[Request],
    partial: bool,
) -> anyhow::Result<(Plan, Vec<Created>)> {
    let (reply, answer) = oneshot::channel();
    let job = Job {
        org: org.clone(),
        user_id: inviter.user_id,
        name: inviter.name.to_string(),
        role: inviter.role,
        actor: inviter.actor.clone(),
        requests: requests.to_vec(),
        partial,
        reply,
    };
    if state.extension::<Queue>().push(job) {
        tokio::spawn(write_waiting(state.clone()));
    }
    answer
        .await
        .map_err(|_| anyhow::anyhow!("the invitations could not be written"))?
}

/// Invitations waiting to be written, and whether a task is writing them.
#[derive(Default)]
pub struct Queue(Mutex<Waiting>);

#[derive(Default)]
struct Waiting {
    jobs: VecDeque<Job>,
    writing: bool,
}

/// How many addresses one batch plans at most (besides its first request's).
const BATCH_ADDRESSES: usize = 1_000;

/// Invitations asked for by one request.
struct Job {
    org: db::orgs::Org,
    user_id: i64,
    name: String,
    role: Role,
    actor: audit::Actor,
    requests: Vec<Request>,
    partial: bool,
    reply: oneshot::Sender<Answer>,
}

/// What a request's invitations came to: its plan and what was created.
type Answer = anyhow::Result<(Plan, Vec<Created>)>;

impl Queue {
    fn waiting(&self) -> std::sync::MutexGuard<'_, Waiting> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds a job; true when no task is writing, and the caller must start one.
    fn push(&self, job: Job) -> bool {
        let mut waiting = self.waiting();
        waiting.jobs.push_back(job);
        !std::mem::replace(&mut waiting.writing, true)
    }

    /// The next batch, in the order asked for; None (and no task writing) when none wait.
    fn next_batch(&self) -> Option<Vec<Job>> {
        let mut waiting = self.waiting();
        let mut batch: Vec<Job> = Vec::new();
        let mut addresses = 0;
        while let Some(job) = waiting.jobs.front() {
            if !batch.is_empty() && addresses + job.requests.len() > BATCH_ADDRESSES {
                break;
            }
            addresses += job.requests.len();
            batch.extend(waiting.jobs.pop_front());
        }
        if batch.is_empty() {
            waiting.writing = false;
            return None;
        }
        Some(batch)
    }
}

/// Lets another task write if this one panicked.
struct Unstick<'a>(&'a Queue);

impl Drop for Unstick<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.waiting().writing = false;
        }
    }
}

/// Writes batches of waiting invitations until none wait.
async fn write_waiting(state: AppState) {
    let queue = state.extension::<Queue>();
    let _unstick = Unstick(&queue);
    while let Some(batch) = queue.next_batch() {
        match write_batch(&state, &batch).await {
            Ok(results) => {
                for (job, result) in batch.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(err) => {
                tracing::error!(error = %format!("{err:#}"), "invitations could not be written");
                for job in batch {
                    let _ = job.reply.send(Err(anyhow::anyhow!("{err:#}")));
                }
            }
        }
    }
}

/// Plans every job of `batch` and creates their invitations in one transaction. The
/// organizations are locked in the order of their ids, so that batches in several
/// processes cannot deadlock.
async fn write_batch(state: &AppState, batch: &[Job]) -> anyhow::Result<Vec<(Plan, Vec<Created>)>> {
    let now = state.clock.now();
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| batch[i].org.id);
    let mut tx = state.db.begin().await?;
    let mut plans: Vec<Option<Plan>> = batch.iter().map(|_| None).collect();
    let mut settings: HashMap<i64, OrgSettings> = HashMap::new();
    for group in order.chunk_by(|&a, &b| batch[a].org.id == batch[b].org.id) {
        let org_id = batch[group[0]].org.id;
        let org_settings = db::orgs::settings_for_update(&mut tx, org_id).await?;
        let emails: Vec<String> = group
            .iter()
            .flat_map(|&i| normalized(&batch[i].requests))
            .collect();
        let mut known = Known::read(&mut tx, org_id, &emails, now).await?;
        for &i in group {
            let job = &batch[i];
            let plan = plan_against(&known, &org_settings, job.role, &job.requests, now);
            if job.partial || plan.all_invite() {
                known.record(&plan, now + org_settings.invitation_lifetime_secs);
            }
            plans[i] = Some(plan);
        }
        settings.insert(org_id, org_settings);
    }
    let plans: Vec<Plan> = plans.into_iter().flatten().collect();
    let inviters: Vec<Inviter> = batch
        .iter()
        .map(|job| Inviter {
            user_id: job.user_id,
            name: &job.name,
            role: job.role,
            actor: &job.actor,
        })
        .collect();
    let writing: Vec<usize> = (0..batch.len())
        .filter(|&i| batch[i].partial || plans[i].all_invite())
        .collect();
    let carries: Vec<Carry> = writing
        .iter()
        .map(|&i| Carry {
            org: &batch[i].org,
            settings: &settings[&batch[i].org.id],
            inviter: &inviters[i],
            plan: &plans[i],
        })
        .collect();
    let mut created = create_all(state, &mut tx, &carries, now).await?.into_iter();
    tx.commit().await?;
    state.mailer.wake();
    let mut results: Vec<(Plan, Vec<Created>)> =
        plans.into_iter().map(|plan| (plan, Vec::new())).collect();
    for i in writing {
        results[i].1 = created.next().unwrap_or_default();
    }
    Ok(results)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job(addresses: usize) -> (Job, oneshot::Receiver<Answer>) {
        let (reply, answer) = oneshot::channel();
        let request = Request {
            raw: "someone@example.com".into(),
            role: Role::Member,
            bad_role: None,
        };
        let job = Job {
            org: db::orgs::Org {
                id: 1,
                name: "Org".into(),
                slug: "org".into(),
            },
            user_id: 1,
            name: "Ada".into(),
            role: Role::Owner,
            actor: audit::Actor::default(),
            requests: vec![request; addresses],
            partial: false,
            reply,
        };
        (job, answer)
    }

    #[test]
    fn the_first_job_starts_a_writer_and_batches_stop_at_the_address_cap() {
        let queue = Queue::default();
        let sizes = [1, 600, 400, 1, BATCH_ADDRESSES + 5, 2];
        let mut answers = Vec::new();
        let mut starts = Vec::new();
        for size in sizes {
            let (job, answer) = job(size);
            answers.push(answer);
            starts.push(queue.push(job));
        }
        assert_eq!(starts, [true, false, false, false, false, false]);

        let batch = |queue: &Queue| -> Option<Vec<usize>> {
            queue
                .next_batch()
                .map(|jobs| jobs.iter().map(|j| j.requests.len()).collect())
        };
        // In the order asked for; a batch takes more only while they fit.
        assert_eq!(batch(&queue), Some(vec![1, 600]));
        assert_eq!(batch(&queue), Some(vec![400, 1]));
        // A request larger than the cap goes alone.
        assert_eq!(batch(&queue), Some(vec![BATCH_ADDRESSES + 5]));
        assert_eq!(batch(&queue), Some(vec![2]));
        assert_eq!(batch(&queue), None);
        // Nothing waits and no task writes: the next request starts one again.
        let (job, _answer) = job(1);
        assert!(queue.push(job));
    }
}
