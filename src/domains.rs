//! The domains an organization claims: Owners add one, publish a TXT record and verify
//! it; instance admins may mark one verified directly (they run the installation and
//! own its domains). A domain is verified for one organization at a time. Single
//! sign-on and just-in-time membership are what a verified domain is for.

use crate::actor::Actor;
pub use crate::db::domains::DomainRow;
use crate::db::{self, audit};
use crate::dns::LookupError;
use crate::domain::DomainName;
use crate::domain::domain_name::challenge_value;
use crate::domain::permissions::{self, Action};
use crate::state::AppState;

/// Why a domain was not added, verified or removed. Nothing was written, except a
/// failed check's finding (`last_problem`), which the page shows.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Only Owners manage domains; only instance admins mark one verified.
    #[error("forbidden")]
    Forbidden,
    #[error("no such domain")]
    NotFound,
    /// What was typed is no domain that can be claimed; the message says why.
    #[error("{0}")]
    Invalid(String),
    #[error("{0} was already added")]
    AlreadyAdded(String),
    /// The domain is verified for another organization.
    #[error("{domain} is verified for {org}")]
    VerifiedElsewhere { domain: String, org: String },
    /// The TXT record is not there (yet), or holds other values.
    #[error("{0}")]
    NotProven(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

impl Error {
    /// What the page says, for the refusals a person can act on.
    pub fn message(&self) -> Option<String> {
        match self {
            Error::Invalid(message) | Error::NotProven(message) => Some(message.clone()),
            Error::AlreadyAdded(domain) => Some(format!("{domain} is already in the list.")),
            Error::VerifiedElsewhere { domain, .. } => Some(format!(
                "{domain} is verified for another organization. A domain belongs to one organization at a time: remove it there first, or ask an instance admin."
            )),
            _ => None,
        }
    }
}

/// Whether `actor` may see and manage the organization's domains.
pub fn may_manage(actor: &Actor) -> bool {
    permissions::allows(actor.role, Action::EditSettings)
}

/// The organization's domains, by name.
pub async fn list(state: &AppState, actor: &Actor) -> Result<Vec<DomainRow>, Error> {
    if !may_manage(actor) {
        return Err(Error::Forbidden);
    }
    Ok(db::domains::of_org(&state.db, actor.org.id).await?)
}

/// Adds the domain typed, not yet verified, with a new challenge to publish.
pub async fn add(state: &AppState, actor: &Actor, typed: &str) -> Result<DomainRow, Error> {
    if !may_manage(actor) {
        return Err(Error::Forbidden);
    }
    let domain = DomainName::parse(typed).map_err(Error::Invalid)?;
    let challenge: String = rand::random::<[u8; 16]>()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let id =
        match db::domains::insert(&mut tx, actor.org.id, domain.as_str(), &challenge, now).await {
            Ok(id) => id,
            Err(e) if db::is_unique_violation(&e) => {
                return Err(Error::AlreadyAdded(domain.to_string()));
            }
            Err(e) => return Err(e.into()),
        };
    let event = audit::Event::new(audit::Action::DomainAdded, &actor.audit)
        .in_org(actor.org.id)
        .target("domain", Some(id), None)
        .after(domain.as_str());
    audit::record(&mut tx, &event, now).await?;
    let row = db::domains::find_for_update(&mut tx, actor.org.id, id)
        .await?
        .ok_or(Error::NotFound)?;
    tx.commit().await?;
    Ok(row)
}

/// Looks up the domain's TXT record and, when it holds the challenge, marks the domain
/// verified. A failed check keeps what it found, for the page.
pub async fn verify(state: &AppState, actor: &Actor, id: i64) -> Result<DomainRow, Error> {
    if !may_manage(actor) {
        return Err(Error::Forbidden);
    }
    let row = db::domains::find(&state.db, actor.org.id, id)
        .await?
        .ok_or(Error::NotFound)?;
    if row.verified_at.is_some() {
        return Ok(row);
    }
    let name = format!("_roster-challenge.{}", row.domain);
    let expected = challenge_value(&row.challenge);
    // The lookup is made outside any transaction: it may take seconds.
    let problem = match state.dns.txt(&name).await {
        Ok(found) if found.iter().any(|v| v.trim() == expected) => None,
        Ok(found) => Some(format!(
            "The TXT record at {name} holds {}, not {expected}.",
            found
                .iter()
                .map(|v| format!("\"{}\"", v.chars().take(100).collect::<String>()))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Err(LookupError::NoRecords) => Some(format!(
            "No TXT record at {name} yet. Publish it with your DNS provider; a new record can take a few minutes to be seen."
        )),
        Err(LookupError::Failed(why)) => {
            tracing::warn!(domain = %row.domain, error = %why, "a domain's TXT lookup failed");
            Some(format!(
                "The DNS lookup of {name} failed ({why}). Try again in a few minutes."
            ))
        }
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(row) = db::domains::find_for_update(&mut tx, actor.org.id, id).await? else {
        return Err(Error::NotFound);
    };
    if let Some(problem) = problem {
        db::domains::record_problem(&mut tx, id, &problem, now).await?;
        tx.commit().await?;
        return Err(Error::NotProven(problem));
    }
    mark(tx, actor, row, "dns", now).await
}

/// Marks the domain verified without DNS: instance admins only (they run the
/// installation, and may own domains that publish no records).
pub async fn mark_verified(state: &AppState, actor: &Actor, id: i64) -> Result<DomainRow, Error> {
    if !(may_manage(actor) && actor.user().is_some_and(|u| u.is_instance_admin)) {
        return Err(Error::Forbidden);
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(row) = db::domains::find_for_update(&mut tx, actor.org.id, id).await? else {
        return Err(Error::NotFound);
    };
    if row.verified_at.is_some() {
        return Ok(row);
    }
    mark(tx, actor, row, "admin", now).await
}

/// Marks `row` verified in `tx` and commits, unless another organization holds the
/// domain (checked, and then kept by the unique index if two race).
async fn mark(
    mut tx: db::Tx,
    actor: &Actor,
    mut row: DomainRow,
    how: &str,
    now: i64,
) -> Result<DomainRow, Error> {
    let elsewhere = |org| Error::VerifiedElsewhere {
        domain: row.domain.clone(),
        org,
    };
    if let Some(org) = db::domains::verified_elsewhere(&mut tx, &row.domain, actor.org.id).await? {
        return Err(elsewhere(org));
    }
    match db::domains::mark_verified(&mut tx, row.id, how, now).await {
        Ok(()) => {}
        Err(e) if db::is_unique_violation(&e) => return Err(elsewhere(String::new())),
        Err(e) => return Err(e.into()),
    }
    let event = audit::Event::new(audit::Action::DomainVerified, &actor.audit)
        .in_org(actor.org.id)
        .target("domain", Some(row.id), None)
        .before(row.domain.as_str())
        .after(how);
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    row.verified_at = Some(now);
    row.verified_how = Some(how.to_string());
    row.last_checked_at = Some(now);
    row.last_problem = None;
    Ok(row)
}

/// The domain, for a confirmation page.
pub async fn find(state: &AppState, actor: &Actor, id: i64) -> Result<DomainRow, Error> {
    if !may_manage(actor) {
        return Err(Error::Forbidden);
    }
    db::domains::find(&state.db, actor.org.id, id)
        .await?
        .ok_or(Error::NotFound)
}

/// Removes the domain from the organization; returns its name.
pub async fn remove(state: &AppState, actor: &Actor, id: i64) -> Result<String, Error> {
    if !may_manage(actor) {
        return Err(Error::Forbidden);
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let Some(row) = db::domains::find_for_update(&mut tx, actor.org.id, id).await? else {
        return Err(Error::NotFound);
    };
    db::domains::delete(&mut tx, id).await?;
    let event = audit::Event::new(audit::Action::DomainRemoved, &actor.audit)
        .in_org(actor.org.id)
        .target("domain", Some(id), None)
        .before(row.domain.as_str());
    audit::record(&mut tx, &event, now).await?;
    tx.commit().await?;
    Ok(row.domain)
}
