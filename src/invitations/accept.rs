//! An invitation's link: what its page shows, accepting (signing up on the way when the
//! invitee has no account) and declining.

use crate::db::{self, Tx, audit, invitations::Details};
use crate::domain::invitation::Status;
use crate::domain::{Email, FieldErrors, password, text, token};
use crate::email::messages;
use crate::state::AppState;

use super::Error;

/// Why an invitation link cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    Expired,
    Revoked,
    Accepted,
    Declined,
    Unknown,
}

/// Who looks at an invitation's page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewer {
    /// Signed in as the invitee.
    Invitee,
    /// Signed in as someone else.
    Other,
    /// Not signed in; the invitee has an account, and signs in to accept.
    Existing,
    /// Not signed in; the invitee has no account, and signs up to accept.
    New,
}

impl Viewer {
    pub fn as_str(self) -> &'static str {
        match self {
            Viewer::Invitee => "invitee",
            Viewer::Other => "other",
            Viewer::Existing => "existing",
            Viewer::New => "new",
        }
    }
}

/// An open invitation, as its page shows it to `viewer`.
#[derive(Clone, Debug)]
pub struct Link {
    pub invitation: Details,
    pub viewer: Viewer,
}

/// The invitation behind a link, if it is still open; otherwise `Error::Closed`.
async fn open(state: &AppState, link_token: &str) -> Result<Details, Error> {
    let Some(details) =
        db::invitations::find_by_token_hash(&state.db, &token::hash(link_token)).await?
    else {
        return Err(Error::Closed {
            reason: Closed::Unknown,
            invitation: None,
        });
    };
    let reason = match Status::of(&details.state, details.expires_at, state.clock.now()) {
        Status::Pending => return Ok(details),
        Status::Expired => Closed::Expired,
        Status::Revoked => Closed::Revoked,
        Status::Accepted => Closed::Accepted,
        Status::Declined => Closed::Declined,
    };
    Err(Error::Closed {
        reason,
        invitation: Some(Box::new(details)),
    })
}

/// The open invitation behind a link and who looks at it: `signed_in` is the address of
/// the signed-in person, if any.
pub async fn open_link(
    state: &AppState,
    link_token: &str,
    signed_in: Option<&str>,
) -> Result<Link, Error> {
    let invitation = open(state, link_token).await?;
    let viewer = match signed_in {
        Some(email) if email.eq_ignore_ascii_case(&invitation.email) => Viewer::Invitee,
        Some(_) => Viewer::Other,
        None => match Email::parse(&invitation.email) {
            Ok(e) if db::users::find_by_email(&state.db, &e).await?.is_some() => Viewer::Existing,
            _ => Viewer::New,
        },
    };
    Ok(Link { invitation, viewer })
}

/// The sign-up form of a new invitee, as typed.
#[derive(Clone, Debug, Default)]
pub struct SignUp {
    pub name: String,
    pub password: String,
    pub password_confirm: String,
}

/// Who accepts.
#[derive(Clone, Debug)]
pub enum Accepting {
    /// The signed-in person.
    SignedIn { user_id: i64, email: String },
    /// Nobody signed in: the invitee, signing up.
    SigningUp(SignUp),
}

/// An accepted invitation: the member's account, and the organization joined.
#[derive(Clone, Debug)]
pub struct Accepted {
    pub user_id: i64,
    pub org_name: String,
    pub org_slug: String,
}

/// Accepts the invitation behind a link, from `ip`: the signed-in invitee becomes a
/// member; a new invitee gets an account and becomes a member, in one transaction.
pub async fn accept(
    state: &AppState,
    link_token: &str,
    who: Accepting,
    ip: &str,
) -> Result<Accepted, Error> {
    let invitation = open(state, link_token).await?;
    let now = state.clock.now();
    let invited = Email::parse(&invitation.email).map_err(anyhow::Error::msg)?;
    let accepted = |user_id| Accepted {
        user_id,
        org_name: invitation.org_name.clone(),
        org_slug: invitation.org_slug.clone(),
    };
    let sign_up = match who {
        Accepting::SignedIn { user_id, email } if email.eq_ignore_ascii_case(&invitation.email) => {
            let mut tx = state.db.begin().await?;
            let actor = audit::Actor {
                user_id: Some(user_id),
                email: Some(email),
                ip: Some(ip.to_string()),
            };
            if !join(state, &mut tx, &invitation, user_id, &actor, now).await? {
                return Err(Error::AlreadyMember {
                    org_slug: invitation.org_slug.clone(),
                });
            }
            tx.commit().await?;
            state.mailer.wake();
            return Ok(accepted(user_id));
        }
        Accepting::SignedIn { .. } => return Err(Error::WrongAccount),
        Accepting::SigningUp(sign_up) => sign_up,
    };
    if db::users::find_by_email(&state.db, &invited)
        .await?
        .is_some()
    {
        return Err(Error::HasAccount { email: invited });
    }
    let mut errors = FieldErrors::default();
    let name = text::single_line(&sign_up.name, "your name", 100)
        .map_err(|m| errors.add("name", m))
        .ok();
    password::check_typed_twice(
        &sign_up.password,
        &sign_up.password_confirm,
        ("password", "password_confirm"),
        "passwords",
        &mut errors,
    );
    let Some(name) = name.filter(|_| errors.is_empty()) else {
        return Err(Error::SignUpInvalid {
            name: sign_up.name,
            errors,
        });
    };
    // Hashed before the transaction begins: the hash takes a while, and a burst of
    // sign-ups must not hold every pooled connection meanwhile.
    let hash = state
        .extension::<crate::auth::passwords::Passwords>()
        .hash(&sign_up.password)
        .await?;
    let mut tx = state.db.begin().await?;
    let user_id = match db::users::insert(&mut tx, &invited, &name, &hash, false, now).await {
        Ok(user_id) => user_id,
        // Another sign-up on the same link made the account first (a double click, or
        // the link opened twice): that link is now used, and this attempt leaves
        // nothing behind.
        Err(e) if db::is_unique_violation(&e) => return Err(Error::UsedMeanwhile),
        Err(e) => return Err(e.into()),
    };
    // The new account's browser is signed in as soon as this commits.
    db::users::record_sign_in(&mut tx, user_id, now).await?;
    let actor = audit::Actor {
        user_id: Some(user_id),
        email: Some(invited.to_string()),
        ip: Some(ip.to_string()),
    };
    let event = audit::Event::new(audit::Action::UserSignedUp, &actor).target(
        "user",
        Some(user_id),
        Some(invited.normalized()),
    );
    audit::record(&mut tx, &event, now).await?;
    if !join(state, &mut tx, &invitation, user_id, &actor, now).await? {
        return Err(Error::UsedMeanwhile);
    }
    tx.commit().await?;
    state.mailer.wake();
    Ok(accepted(user_id))
}

/// Makes `user_id` a member with the invited role; tells the inviter. False when the
/// invitation was used meanwhile or the user is already a member.
async fn join(
    state: &AppState,
    tx: &mut Tx,
    invitation: &Details,
    user_id: i64,
    actor: &audit::Actor,
    now: i64,
) -> anyhow::Result<bool> {
    if !db::invitations::finish(tx, invitation.id, Status::Accepted, Some(user_id), now).await? {
        return Ok(false);
    }
    let role = invitation.role;
    match db::memberships::insert_until(
        tx,
        invitation.org_id,
        user_id,
        role,
        invitation.invited_by,
        invitation.access_until,
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

/// Declines the invitation behind a link, from `ip`, by `signed_in` (id and address) if
/// someone is signed in; it must then be the invitee. Returns the organization's name.
pub async fn decline(
    state: &AppState,
    link_token: &str,
    signed_in: Option<(i64, &str)>,
    ip: &str,
) -> Result<String, Error> {
    let invitation = open(state, link_token).await?;
    if signed_in.is_some_and(|(_, email)| !email.eq_ignore_ascii_case(&invitation.email)) {
        return Err(Error::WrongAccount);
    }
    let actor = audit::Actor {
        user_id: signed_in.map(|(id, _)| id),
        email: Some(invitation.email.clone()),
        ip: Some(ip.to_string()),
    };
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    if db::invitations::finish(
        &mut tx,
        invitation.id,
        Status::Declined,
        signed_in.map(|(id, _)| id),
        now,
    )
    .await?
    {
        let event = audit::Event::new(audit::Action::InvitationDeclined, &actor)
            .in_org(invitation.org_id)
            .target(
                "invitation",
                Some(invitation.id),
                Some(&invitation.email_normalized),
            );
        audit::record(&mut tx, &event, now).await?;
    }
    tx.commit().await?;
    Ok(invitation.org_name)
}
