//! The audit trail: every state change calls `record` inside its own transaction.

use super::{Db, Tx, on_db, on_tx};

/// What happened. The stored name is stable; the list grows with the product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    InstanceSetUp,
    SignedIn,
    SignedOut,
    SignInFailed,
    TestEmailQueued,
    OrgSettingsChanged,
    InvitationCreated,
    InvitationLinkShown,
    InvitationAccepted,
    InvitationDeclined,
    InvitationResent,
    InvitationRevoked,
    UserSignedUp,
    MemberRoleChanged,
    MemberDeactivated,
    MemberActivated,
    MemberRemoved,
    MemberLeft,
    UserNameChanged,
    UserPasswordChanged,
    UserDeactivated,
    UserActivated,
    UserDeleted,
    InstanceAdminGranted,
    InstanceAdminRevoked,
    OrgCreated,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::InstanceSetUp => "instance.set_up",
            Action::SignedIn => "session.signed_in",
            Action::SignedOut => "session.signed_out",
            Action::SignInFailed => "session.sign_in_failed",
            Action::TestEmailQueued => "email.test_queued",
            Action::OrgSettingsChanged => "organization.settings_changed",
            Action::InvitationCreated => "invitation.created",
            Action::InvitationLinkShown => "invitation.link_shown",
            Action::InvitationAccepted => "invitation.accepted",
            Action::InvitationDeclined => "invitation.declined",
            Action::InvitationResent => "invitation.resent",
            Action::InvitationRevoked => "invitation.revoked",
            Action::UserSignedUp => "user.signed_up",
            Action::MemberRoleChanged => "member.role_changed",
            Action::MemberDeactivated => "member.deactivated",
            Action::MemberActivated => "member.activated",
            Action::MemberRemoved => "member.removed",
            Action::MemberLeft => "member.left",
            Action::UserNameChanged => "user.name_changed",
            Action::UserPasswordChanged => "user.password_changed",
            Action::UserDeactivated => "user.deactivated",
            Action::UserActivated => "user.activated",
            Action::UserDeleted => "user.deleted",
            Action::InstanceAdminGranted => "user.instance_admin_granted",
            Action::InstanceAdminRevoked => "user.instance_admin_revoked",
            Action::OrgCreated => "organization.created",
        }
    }
}

/// Who did it: an account (id and email at the time), or nobody known.
#[derive(Clone, Debug, Default)]
pub struct Actor {
    pub user_id: Option<i64>,
    pub email: Option<String>,
    pub ip: Option<String>,
}

/// One event: `actor` did `action` to a target, in an organization or instance-wide.
#[derive(Clone, Debug)]
pub struct Event<'a> {
    pub action: Action,
    pub actor: &'a Actor,
    pub org_id: Option<i64>,
    pub target_kind: Option<&'static str>,
    pub target_id: Option<i64>,
    pub target_email: Option<&'a str>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl<'a> Event<'a> {
    pub fn new(action: Action, actor: &'a Actor) -> Self {
        Event {
            action,
            actor,
            org_id: None,
            target_kind: None,
            target_id: None,
            target_email: None,
            before: None,
            after: None,
        }
    }

    pub fn in_org(mut self, org_id: i64) -> Self {
        self.org_id = Some(org_id);
        self
    }

    pub fn target(mut self, kind: &'static str, id: Option<i64>, email: Option<&'a str>) -> Self {
        self.target_kind = Some(kind);
        self.target_id = id;
        self.target_email = email;
        self
    }

    pub fn before(mut self, value: impl Into<String>) -> Self {
        self.before = Some(value.into());
        self
    }

    pub fn after(mut self, value: impl Into<String>) -> Self {
        self.after = Some(value.into());
        self
    }
}

/// Writes an event in the caller's transaction, so it exists exactly when the change does.
pub async fn record(tx: &mut Tx, event: &Event<'_>, now: i64) -> sqlx::Result<()> {
    on_tx!(tx, conn => sqlx::query(
        "INSERT INTO audit_events (at, org_id, actor_user_id, actor_email, action, target_kind, \
         target_id, target_email, ip, before_value, after_value) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(now)
    .bind(event.org_id)
    .bind(event.actor.user_id)
    .bind(&event.actor.email)
    .bind(event.action.as_str())
    .bind(event.target_kind)
    .bind(event.target_id)
    .bind(event.target_email)
    .bind(&event.actor.ip)
    .bind(&event.before)
    .bind(&event.after)
    .execute(&mut *conn)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Counts failed sign-ins since `since` for one account (normalized email) and one address.
pub async fn count_failed_sign_ins(
    db: &Db,
    email: &str,
    ip: &str,
    since: i64,
) -> sqlx::Result<(i64, i64)> {
    let action = Action::SignInFailed.as_str();
    on_db!(db, pool => {
        let by_account: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = $1 AND target_email = $2 AND at >= $3",
        )
        .bind(action)
        .bind(email)
        .bind(since)
        .fetch_one(pool)
        .await?;
        let by_address: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM audit_events WHERE action = $1 AND ip = $2 AND at >= $3",
        )
        .bind(action)
        .bind(ip)
        .bind(since)
        .fetch_one(pool)
        .await?;
        Ok((by_account, by_address))
    })
}

/// One stored event, for tests and (later) the audit pages.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct StoredEvent {
    pub id: i64,
    pub before_value: Option<String>,
    pub after_value: Option<String>,
    pub at: i64,
    pub org_id: Option<i64>,
    pub actor_user_id: Option<i64>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target_email: Option<String>,
    pub ip: Option<String>,
}

/// The most recent events, newest first.
pub async fn recent(db: &Db, limit: i64) -> sqlx::Result<Vec<StoredEvent>> {
    on_db!(db, pool => sqlx::query_as(
        "SELECT id, before_value, after_value, at, org_id, actor_user_id, actor_email, action, target_email, ip \
         FROM audit_events ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await)
}
