//! Deciding what inviting each requested address would do.

use std::collections::{HashMap, HashSet};

use crate::db::{self, Reader};
use crate::domain::access::AccessUntil;
use crate::domain::invitation::Outcome;
use crate::domain::permissions::{self, Action};
use crate::domain::settings::OrgSettings;
use crate::domain::{Email, Role};

/// One address someone asked to invite, with a role; parsed once, where it came in.
#[derive(Clone, Debug)]
pub struct Request {
    /// The address as sent, to report back.
    pub raw: String,
    /// The address, or why it is not one.
    pub email: Result<Email, &'static str>,
    pub role: Role,
    /// A role name that matched no role (CSV files); the row is then refused.
    pub bad_role: Option<String>,
    /// The last day of access the membership will have, if it ends.
    pub access_until: Option<AccessUntil>,
    /// Why the typed last day of access was refused (CSV files); the row is then refused.
    pub bad_access_until: Option<String>,
}

impl Request {
    pub fn new(raw: &str, role: Role) -> Request {
        Request {
            raw: raw.to_string(),
            email: Email::parse(raw),
            role,
            bad_role: None,
            access_until: None,
            bad_access_until: None,
        }
    }

    /// The same request, with a last day of access.
    pub fn until(self, access_until: Option<AccessUntil>) -> Request {
        Request {
            access_until,
            ..self
        }
    }
}

/// What will happen to one requested address.
#[derive(Clone, Debug)]
pub struct Planned {
    pub raw: String,
    pub email: Option<Email>,
    pub role: Role,
    pub access_until: Option<AccessUntil>,
    pub outcome: Outcome,
    /// An expired invitation to the same address that a new one replaces.
    pub(super) replaces: Option<i64>,
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

/// What a plan is checked against in one organization: its counts for the limits and
/// which of the requested addresses are taken, as read (`db::invitations::standing`) and
/// as the plans before it in the same transaction leave them.
pub(super) struct OrgStanding {
    member_count: i64,
    pending: i64,
    members: HashSet<String>,
    open: HashMap<String, db::invitations::Open>,
}

impl OrgStanding {
    pub(super) async fn read(
        reader: Reader<'_>,
        org_id: i64,
        emails: &[String],
        now: i64,
    ) -> sqlx::Result<OrgStanding> {
        let standing = db::invitations::standing(reader, org_id, emails, now).await?;
        Ok(OrgStanding {
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
    pub(super) fn record(&mut self, plan: &Plan, expires_at: i64) {
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
pub(super) fn normalized(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .filter_map(|r| r.email.as_ref().ok())
        .map(|e| e.normalized().to_string())
        .collect()
}

/// Decides what inviting each request would do, read through `reader`: the permission
/// table, the organization's domains and limits, existing members and invitations,
/// duplicates.
pub(super) async fn plan(
    reader: Reader<'_>,
    org_id: i64,
    settings: &OrgSettings,
    inviter_role: Role,
    requests: &[Request],
    now: i64,
) -> sqlx::Result<Plan> {
    let standing = OrgStanding::read(reader, org_id, &normalized(requests), now).await?;
    Ok(plan_against(
        &standing,
        settings,
        inviter_role,
        requests,
        now,
    ))
}

pub(super) fn plan_against(
    standing: &OrgStanding,
    settings: &OrgSettings,
    inviter_role: Role,
    requests: &[Request],
    now: i64,
) -> Plan {
    let room_before = (settings.max_pending_invitations - standing.pending)
        .min(settings.max_members - standing.member_count - standing.pending)
        .max(0);
    let mut room = room_before;
    let mut seen = HashSet::new();
    let mut rows = Vec::with_capacity(requests.len());
    for request in requests {
        let mut replaces = None;
        let outcome = match &request.email {
            _ if request.bad_role.is_some() => {
                Outcome::UnknownRole(request.bad_role.clone().unwrap_or_default())
            }
            _ if request.bad_access_until.is_some() => {
                Outcome::BadAccessUntil(request.bad_access_until.clone().unwrap_or_default())
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
            Ok(e) if standing.members.contains(e.normalized()) => Outcome::AlreadyMember,
            Ok(e) => match standing.open.get(e.normalized()) {
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
            email: request.email.clone().ok(),
            role: request.role,
            access_until: request.access_until,
            outcome,
            replaces,
        });
    }
    Plan { rows, room_before }
}
