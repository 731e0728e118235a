//! The invitations service: inviting people (the form, a CSV file, the API), reading
//! invitations for the pages and the API, resending and revoking them, and accepting or
//! declining them from their link. Every change owns its transaction, with its audit
//! events and emails; every refusal a person can meet is a variant of `Error`.

mod accept;
mod create;
mod csv;
mod manage;
mod plan;
mod queue;
mod read;

pub use accept::{Accepted, Accepting, Closed, Link, SignUp, Viewer, accept, decline, open_link};
pub use create::Created;
pub use csv::{CsvPreview, confirm_csv, csv_preview, upload_csv};
pub use manage::{Manage, Managed, invitations_to_manage, manage};
pub use plan::{Plan, Planned, Request};
pub use queue::{Invited, Queue, invite, invite_requested};
pub use read::{
    Batch, Listing, Progress, batch_progress, delivery, invitation, list_page, list_window,
};

pub use crate::db::invitations::{Details, Row};

use crate::actor::Actor;
use crate::domain::permissions;
use crate::domain::settings::OrgSettings;
use crate::domain::{Email, FieldErrors};

/// Addresses accepted at once from the form or the API (larger lists go through a CSV
/// file).
pub const MAX_TYPED: usize = 1_000;

/// Why an invitation change or a link was refused. Nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The actor's role may not do this (invite at all, or manage this invitation).
    #[error("forbidden")]
    Forbidden,
    /// No such invitation, or CSV upload, in the actor's organization.
    #[error("not found")]
    NotFound,
    /// Not between 1 and `MAX_TYPED` addresses.
    #[error("send 1 to {MAX_TYPED} addresses at once")]
    AddressCount,
    /// All or nothing was asked, and some addresses cannot be invited (above the
    /// inviter's role, a domain not allowed, over the limits, …): the plan says which.
    #[error("some addresses cannot be invited")]
    Refused(Plan),
    /// Accepted, declined or revoked invitations cannot be resent or revoked: their
    /// addresses.
    #[error("these invitations are no longer open")]
    Finished(Vec<String>),
    /// Resending expired invitations would pass the pending-invitation limit.
    #[error("only {room} more pending invitations fit")]
    OverLimit { room: i64 },
    /// The link cannot be used (expired, revoked, used, unknown); the invitation when the
    /// link is known, whose page names whom to ask.
    #[error("the invitation link is closed")]
    Closed {
        reason: Closed,
        invitation: Option<Box<Details>>,
    },
    /// Signed in as someone other than the invitee.
    #[error("signed in with another account")]
    WrongAccount,
    /// The signed-in invitee is already a member (or the invitation was used meanwhile).
    #[error("already a member")]
    AlreadyMember { org_slug: String },
    /// The invitee has an account, and must sign in to accept.
    #[error("the invitee has an account")]
    HasAccount { email: Email },
    /// The sign-up form has mistakes: the name as typed, and the fields' messages.
    #[error("the sign-up form has mistakes")]
    SignUpInvalid { name: String, errors: FieldErrors },
    /// Another acceptance of the same link won the race; nothing was written.
    #[error("the link was used meanwhile")]
    UsedMeanwhile,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::Internal(err.into())
    }
}

/// Whether a member with `actor`'s role may invite anyone under `settings`.
pub fn may_invite(actor: &Actor, settings: &OrgSettings) -> bool {
    // An invitation is always someone's: the identity provider adds members directly.
    actor.user().is_some()
        && !permissions::invitable_roles(actor.role, settings.members_may_invite).is_empty()
}
