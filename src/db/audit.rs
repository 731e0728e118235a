//! The audit trail: every state change calls `record` inside its own transaction.

use sqlx::QueryBuilder;

use super::{Bind, Db, Tx, bind_all, on_db, on_tx, rows_per_statement};
use crate::domain::webhook::Change;

/// What happened. The stored name is stable; the list grows with the product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    InstanceSetUp,
    SignedIn,
    SignedOut,
    SignInFailed,
    SignInsPaused,
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
    MemberSeatAssigned,
    MemberSeatRevoked,
    UserNameChanged,
    UserPasswordChanged,
    UserDeactivated,
    UserActivated,
    UserDeleted,
    InstanceAdminGranted,
    InstanceAdminRevoked,
    OrgCreated,
    ApiTokenCreated,
    ApiTokenRevoked,
    PasswordResetRequested,
    PasswordReset,
    PasswordResetLinkShown,
    SessionEnded,
    OtherSessionsEnded,
    UserEmailChanged,
    TwoFactorEnabled,
    TwoFactorDisabled,
    TwoFactorRecoveryCodesRegenerated,
    TwoFactorRecoveryCodeUsed,
    TwoFactorReset,
    DomainAdded,
    DomainVerified,
    DomainRemoved,
    SsoConfigured,
    SsoChanged,
    SsoRemoved,
    SsoSignedIn,
    SsoLinked,
    MemberJoinedSso,
    MemberProvisioned,
    MemberProfileChanged,
    ScimTokenCreated,
    ScimTokenRevoked,
    ScimDefaultRoleChanged,
    MembersExported,
    MemberAccessUntilChanged,
    MemberAccessEnded,
    AccessRequested,
    AccessRequestApproved,
    AccessRequestDeclined,
    WebhookAdded,
    WebhookChanged,
    WebhookEnabled,
    WebhookDisabled,
    WebhookSecretRotated,
    WebhookDeleted,
    WebhookTestSent,
    TeamCreated,
    TeamRenamed,
    TeamDeleted,
    TeamMemberAdded,
    TeamMemberRemoved,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::InstanceSetUp => "instance.set_up",
            Action::SignedIn => "session.signed_in",
            Action::SignedOut => "session.signed_out",
            Action::SignInFailed => "session.sign_in_failed",
            Action::SignInsPaused => "session.sign_ins_paused",
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
            Action::MemberSeatAssigned => "member.seat_assigned",
            Action::MemberSeatRevoked => "member.seat_revoked",
            Action::UserNameChanged => "user.name_changed",
            Action::UserPasswordChanged => "user.password_changed",
            Action::UserDeactivated => "user.deactivated",
            Action::UserActivated => "user.activated",
            Action::UserDeleted => "user.deleted",
            Action::InstanceAdminGranted => "user.instance_admin_granted",
            Action::InstanceAdminRevoked => "user.instance_admin_revoked",
            Action::OrgCreated => "organization.created",
            Action::ApiTokenCreated => "api_token.created",
            Action::ApiTokenRevoked => "api_token.revoked",
            Action::PasswordResetRequested => "password.reset_requested",
            Action::PasswordReset => "password.reset",
            Action::PasswordResetLinkShown => "password.reset_link_shown",
            Action::SessionEnded => "session.ended",
            Action::OtherSessionsEnded => "session.others_ended",
            Action::UserEmailChanged => "user.email_changed",
            Action::TwoFactorEnabled => "two_factor.enabled",
            Action::TwoFactorDisabled => "two_factor.disabled",
            Action::TwoFactorRecoveryCodesRegenerated => "two_factor.recovery_codes_regenerated",
            Action::TwoFactorRecoveryCodeUsed => "two_factor.recovery_code_used",
            Action::TwoFactorReset => "two_factor.reset",
            Action::DomainAdded => "domain.added",
            Action::DomainVerified => "domain.verified",
            Action::DomainRemoved => "domain.removed",
            Action::SsoConfigured => "sso.configured",
            Action::SsoChanged => "sso.changed",
            Action::SsoRemoved => "sso.removed",
            Action::SsoSignedIn => "sso.signed_in",
            Action::SsoLinked => "sso.linked",
            Action::MemberJoinedSso => "member.joined_sso",
            Action::MemberProvisioned => "member.provisioned",
            Action::MemberProfileChanged => "member.profile_changed",
            Action::ScimTokenCreated => "scim.token_created",
            Action::ScimTokenRevoked => "scim.token_revoked",
            Action::ScimDefaultRoleChanged => "scim.default_role_changed",
            Action::MembersExported => "members.exported",
            Action::MemberAccessUntilChanged => "member.access_until_changed",
            Action::MemberAccessEnded => "member.access_ended",
            Action::AccessRequested => "access_request.created",
            Action::AccessRequestApproved => "access_request.approved",
            Action::AccessRequestDeclined => "access_request.declined",
            Action::WebhookAdded => "webhook.added",
            Action::WebhookChanged => "webhook.changed",
            Action::WebhookEnabled => "webhook.enabled",
            Action::WebhookDisabled => "webhook.disabled",
            Action::WebhookSecretRotated => "webhook.secret_rotated",
            Action::WebhookDeleted => "webhook.deleted",
            Action::WebhookTestSent => "webhook.test_sent",
            Action::TeamCreated => "team.created",
            Action::TeamRenamed => "team.renamed",
            Action::TeamDeleted => "team.deleted",
            Action::TeamMemberAdded => "team.member_added",
            Action::TeamMemberRemoved => "team.member_removed",
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

impl Actor {
    /// Roster itself (its workers): no account, and "system" where an address would be.
    pub fn system() -> Actor {
        Actor {
            user_id: None,
            email: Some(SYSTEM.into()),
            ip: None,
        }
    }
}

/// The actor email of what Roster's workers do on their own.
pub const SYSTEM: &str = "system";
/// The actor email of what an organization's identity provider does over SCIM.
pub const SCIM: &str = "SCIM";

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

    /// What a webhook needs of this event.
    fn change(&self) -> Change<'_> {
        Change {
            action: self.action.as_str(),
            actor_id: self.actor.user_id,
            actor_email: self.actor.email.as_deref(),
            target_kind: self.target_kind,
            target_id: self.target_id,
            target_email: self.target_email,
            before: self.before.as_deref(),
            after: self.after.as_deref(),
        }
    }
}

/// Writes an event in the caller's transaction, so it exists exactly when the change does.
pub async fn record(tx: &mut Tx, event: &Event<'_>, now: i64) -> sqlx::Result<()> {
    record_all(tx, std::slice::from_ref(event), now).await
}

/// Writes many events in the caller's transaction, as `record` does one, many per
/// statement.
pub async fn record_all(tx: &mut Tx, events: &[Event<'_>], now: i64) -> sqlx::Result<()> {
    for chunk in events.chunks(rows_per_statement(11)) {
        on_tx!(tx, conn => {
            let mut query = QueryBuilder::new(
                "INSERT INTO audit_events (at, org_id, actor_user_id, actor_email, action, target_kind, \
                 target_id, target_email, ip, before_value, after_value) ",
            );
            query.push_values(chunk, |mut row, event| {
                row.push_bind(now)
                    .push_bind(event.org_id)
                    .push_bind(event.actor.user_id)
                    .push_bind(&event.actor.email)
                    .push_bind(event.action.as_str())
                    .push_bind(event.target_kind)
                    .push_bind(event.target_id)
                    .push_bind(event.target_email)
                    .push_bind(&event.actor.ip)
                    .push_bind(&event.before)
                    .push_bind(&event.after);
            });
            query.build().execute(&mut *conn).await.map(|r| r.rows_affected())
        })?;
    }
    // Every change to an organization writes its audit event here, whichever service
    // made it: the webhook events it implies are written with it, in the same
    // transaction.
    let mut orgs: Vec<i64> = events.iter().filter_map(|e| e.org_id).collect();
    orgs.sort_unstable();
    orgs.dedup();
    for org_id in orgs {
        let changes: Vec<Change> = events
            .iter()
            .filter(|e| e.org_id == Some(org_id))
            .map(Event::change)
            .collect();
        super::webhooks::emit(tx, org_id, &changes, now).await?;
    }
    Ok(())
}

/// The most recent events of every scope, newest first.
pub async fn recent(db: &Db, limit: i64) -> sqlx::Result<Vec<Listed>> {
    let sql = format!("{LISTED} ORDER BY e.id DESC LIMIT $1");
    on_db!(db, pool => sqlx::query_as(&sql).bind(limit).fetch_all(pool).await)
}

/// Whose events a listing covers: one organization's, or the instance's own (sign-ins,
/// accounts, instance admins), which belong to no organization.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Org(i64),
    Instance,
}

/// Which events to list or export; every field narrows the list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// The stored action name, e.g. "member.removed".
    pub action: Option<String>,
    /// Who did it, by email (any case).
    pub actor: Option<String>,
    /// To whom, by email (any case).
    pub target: Option<String>,
    /// From this moment on (Unix seconds, inclusive).
    pub from: Option<i64>,
    /// Before this moment (Unix seconds, exclusive).
    pub until: Option<i64>,
}

/// A stored event, with the actor's current name if they still have an account.
#[derive(Clone, Debug, sqlx::FromRow, serde::Deserialize)]
pub struct Listed {
    pub id: i64,
    pub at: i64,
    pub org_id: Option<i64>,
    pub actor_email: Option<String>,
    pub actor_name: Option<String>,
    pub action: String,
    pub target_kind: Option<String>,
    pub target_email: Option<String>,
    pub ip: Option<String>,
    pub before_value: Option<String>,
    pub after_value: Option<String>,
}

const LISTED: &str = "SELECT e.id, e.at, e.org_id, e.actor_email, u.name AS actor_name, \
                      e.action, e.target_kind, e.target_email, e.ip, e.before_value, e.after_value \
                      FROM audit_events e LEFT JOIN users u ON u.id = e.actor_user_id";

/// The SELECT of `scope`'s events matching `filter`, newest first, after the event
/// `(at, id)` when given; values are bound from `$1` in the order returned.
fn select(scope: Scope, filter: &Filter, after: Option<(i64, i64)>) -> (String, Vec<Bind>) {
    let mut binds = Vec::new();
    let mut conditions = Vec::new();
    let mut push = |sql: &str, value: Bind| {
        binds.push(value);
        conditions.push(sql.replace('?', &format!("${}", binds.len())));
    };
    if let Scope::Org(id) = scope {
        push("e.org_id = ?", Bind::Int(id));
    }
    if let Some(action) = &filter.action {
        push("e.action = ?", Bind::Text(action.clone()));
    }
    if let Some(actor) = &filter.actor {
        push("LOWER(e.actor_email) = ?", Bind::Text(actor.to_lowercase()));
    }
    if let Some(target) = &filter.target {
        push(
            "LOWER(e.target_email) = ?",
            Bind::Text(target.to_lowercase()),
        );
    }
    if let Some(from) = filter.from {
        push("e.at >= ?", Bind::Int(from));
    }
    if let Some(until) = filter.until {
        push("e.at < ?", Bind::Int(until));
    }
    if scope == Scope::Instance {
        conditions.push("e.org_id IS NULL".into());
    }
    if let Some((at, id)) = after {
        binds.push(Bind::Int(at));
        binds.push(Bind::Int(id));
        let n = binds.len();
        conditions.push(format!("(e.at, e.id) < (${}, ${n})", n - 1));
    }
    let sql = format!(
        "{LISTED} WHERE {} ORDER BY e.at DESC, e.id DESC",
        conditions.join(" AND ")
    );
    (sql, binds)
}

/// One page of events, newest first, after the event `(at, id)` (the last one of the
/// previous page) when given. Keyset paging: no page counts or skips the rows before it.
pub async fn page(
    db: &Db,
    scope: Scope,
    filter: &Filter,
    after: Option<(i64, i64)>,
    limit: i64,
) -> sqlx::Result<Vec<Listed>> {
    let (sql, binds) = select(scope, filter, after);
    let sql = format!("{sql} LIMIT {limit}");
    super::fetch_list(db, &sql, &binds, true).await
}

/// Sends every event matching the filter, newest first, to `rows` as the database yields
/// them, so that an export of any size holds only a few rows at a time. Stops early, with
/// no error, if the receiver goes away.
pub async fn stream(
    db: &Db,
    scope: Scope,
    filter: &Filter,
    rows: tokio::sync::mpsc::Sender<Listed>,
) -> sqlx::Result<()> {
    use futures_util::TryStreamExt;
    let (sql, binds) = select(scope, filter, None);
    on_db!(db, pool => {
        let mut events = bind_all!(sqlx::query_as::<_, Listed>(&sql), &binds).fetch(pool);
        while let Some(event) = events.try_next().await? {
            if rows.send(event).await.is_err() {
                break;
            }
        }
        Ok(())
    })
}

/// Deletes the events older than `before` (retention), a batch at a time so that no
/// transaction grows with the table; returns how many went.
pub async fn delete_older_than(db: &Db, before: i64) -> sqlx::Result<u64> {
    let mut deleted = 0;
    loop {
        let n = on_db!(db, pool => sqlx::query(
            "DELETE FROM audit_events WHERE id IN \
             (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT 5000)",
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|r| r.rows_affected()))?;
        deleted += n;
        if n == 0 {
            return Ok(deleted);
        }
    }
}
