//! Every email Roster sends, each a text and an HTML template under `templates/emails/`.

use askama::Template;

use super::Email;

/// Declares the text and HTML templates of an email whose fields live in `$data`.
macro_rules! email_templates {
    ($data:ident, $text:literal, $html:literal) => {
        const _: () = {
            #[derive(Template)]
            #[template(path = $text)]
            struct Text<'a> {
                m: &'a $data,
            }

            #[derive(Template)]
            #[template(path = $html)]
            struct Html<'a> {
                m: &'a $data,
            }

            impl $data {
                pub(super) fn render_parts(&self) -> askama::Result<(String, String)> {
                    Ok((Text { m: self }.render()?, Html { m: self }.render()?))
                }
            }
        };
    };
}

/// Sent to the first account once Roster is set up.
pub struct Welcome {
    pub to: String,
    pub name: String,
    pub org_name: String,
    pub sign_in_url: String,
}
email_templates!(Welcome, "emails/welcome.txt", "emails/welcome.html");

impl Email for Welcome {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        format!("Welcome to Roster, {}", self.name)
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Sent to a person who joined an organization by signing in with its identity
/// provider (just-in-time membership).
pub struct JoinedBySso {
    pub to: String,
    pub name: String,
    pub org_name: String,
    pub role: &'static str,
    pub provider_name: String,
    pub org_url: String,
}
email_templates!(
    JoinedBySso,
    "emails/joined_by_sso.txt",
    "emails/joined_by_sso.html"
);

impl Email for JoinedBySso {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        format!("Welcome to {} on Roster", self.org_name)
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells someone their organization's identity provider added them (SCIM).
pub struct Provisioned {
    pub to: String,
    pub name: String,
    pub org_name: String,
    pub role: &'static str,
    /// Whether the account has a password; without one, the email says how to sign in.
    pub has_password: bool,
    pub sign_in_url: String,
    pub org_url: String,
}
email_templates!(
    Provisioned,
    "emails/provisioned.txt",
    "emails/provisioned.html"
);

impl Email for Provisioned {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        format!("You were added to {} on Roster", self.org_name)
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Sent by `roster send-test-email` to check the SMTP settings.
pub struct Test {
    pub to: String,
    pub base_url: String,
}
email_templates!(Test, "emails/test.txt", "emails/test.html");

impl Email for Test {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        "Roster test email".into()
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Invites someone to an organization.
pub struct Invitation {
    pub to: String,
    pub org_name: String,
    pub inviter_name: String,
    /// So that the person can check with the inviter before following the link.
    pub inviter_email: String,
    pub role: &'static str,
    pub link: String,
    pub expires: String,
}
email_templates!(
    Invitation,
    "emails/invitation.txt",
    "emails/invitation.html"
);

impl Email for Invitation {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        format!(
            "{} invited you to {} on Roster",
            self.inviter_name, self.org_name
        )
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells the inviter that their invitation was accepted.
pub struct InvitationAccepted {
    pub to: String,
    pub inviter_name: String,
    pub invitee: String,
    pub org_name: String,
    pub role: &'static str,
    pub members_url: String,
}
email_templates!(
    InvitationAccepted,
    "emails/invitation_accepted.txt",
    "emails/invitation_accepted.html"
);

impl Email for InvitationAccepted {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        format!("{} joined {}", self.invitee, self.org_name)
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells an invitee that their invitation was withdrawn.
pub struct InvitationRevoked {
    pub to: String,
    pub org_name: String,
}
email_templates!(
    InvitationRevoked,
    "emails/invitation_revoked.txt",
    "emails/invitation_revoked.html"
);

impl Email for InvitationRevoked {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        format!("Your invitation to {} was withdrawn", self.org_name)
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells a member that their role in an organization changed.
pub struct RoleChanged {
    pub to: String,
    pub org_name: String,
    pub changed_by: String,
    pub from: &'static str,
    pub role: &'static str,
    pub members_url: String,
}
email_templates!(
    RoleChanged,
    "emails/role_changed.txt",
    "emails/role_changed.html"
);

impl Email for RoleChanged {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        format!("Your role in {} is now {}", self.org_name, self.role)
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells a member that they were deactivated in, or reactivated in, an organization.
pub struct MemberStatusChanged {
    pub to: String,
    pub org_name: String,
    pub changed_by: String,
    pub active: bool,
    pub members_url: String,
}
email_templates!(
    MemberStatusChanged,
    "emails/member_status_changed.txt",
    "emails/member_status_changed.html"
);

impl Email for MemberStatusChanged {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        if self.active {
            format!("Your access to {} is back", self.org_name)
        } else {
            format!("You were deactivated in {}", self.org_name)
        }
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells a member that they were removed from an organization.
pub struct MemberRemoved {
    pub to: String,
    pub org_name: String,
    pub removed_by: String,
}
email_templates!(
    MemberRemoved,
    "emails/member_removed.txt",
    "emails/member_removed.html"
);

impl Email for MemberRemoved {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        format!("You were removed from {}", self.org_name)
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells a person that an instance admin deactivated or reactivated their account.
pub struct AccountStatusChanged {
    pub to: String,
    pub active: bool,
    pub sign_in_url: String,
}
email_templates!(
    AccountStatusChanged,
    "emails/account_status_changed.txt",
    "emails/account_status_changed.html"
);

impl Email for AccountStatusChanged {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        if self.active {
            "Your Roster account is active again".into()
        } else {
            "Your Roster account was deactivated".into()
        }
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells a person that the password of their account was changed.
pub struct PasswordChanged {
    pub to: String,
    pub name: String,
    /// When, as `clock::exact` shows it.
    pub changed_at: String,
}
email_templates!(
    PasswordChanged,
    "emails/password_changed.txt",
    "emails/password_changed.html"
);

impl Email for PasswordChanged {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        "Your Roster password was changed".into()
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// A link that sets a new password ("Forgot your password?", or sent by an admin).
pub struct PasswordReset {
    pub to: String,
    pub name: String,
    pub link: String,
    /// Until when the link works, as `clock::exact` shows it.
    pub expires: String,
}
email_templates!(
    PasswordReset,
    "emails/password_reset.txt",
    "emails/password_reset.html"
);

impl Email for PasswordReset {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        "Reset your Roster password".into()
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells a person that the two-factor authentication of their account changed: turned
/// on or off, new recovery codes, a recovery code used, or a reset by an administrator.
pub struct TwoFactorChanged {
    pub to: String,
    pub name: String,
    pub subject: String,
    /// What happened, as a sentence.
    pub what: String,
    /// When, as `clock::exact` shows it.
    pub at: String,
}
email_templates!(
    TwoFactorChanged,
    "emails/two_factor_changed.txt",
    "emails/two_factor_changed.html"
);

impl Email for TwoFactorChanged {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        self.subject.clone()
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells a person that sign-ins to their account were paused after repeated wrong
/// passwords.
pub struct SignInsPaused {
    pub to: String,
    pub name: String,
    /// The address the last refused attempt came from.
    pub address: String,
    /// Until when, as `clock::exact` shows it.
    pub until: String,
}
email_templates!(
    SignInsPaused,
    "emails/sign_ins_paused.txt",
    "emails/sign_ins_paused.html"
);

impl Email for SignInsPaused {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        "Someone is trying to sign in to your Roster account".into()
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells a member that they were given a seat in an organization, or that it was taken back.
pub struct SeatChanged {
    pub to: String,
    pub org_name: String,
    pub changed_by: String,
    pub assigned: bool,
    pub members_url: String,
}
email_templates!(
    SeatChanged,
    "emails/seat_changed.txt",
    "emails/seat_changed.html"
);

impl Email for SeatChanged {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        if self.assigned {
            format!("You have a seat in {}", self.org_name)
        } else {
            format!("Your seat in {} was revoked", self.org_name)
        }
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Sent to the address an account asked to change to, with the link that confirms it.
pub struct ConfirmNewEmail {
    pub to: String,
    pub name: String,
    /// The account's current address.
    pub old_email: String,
    pub confirm_url: String,
    /// Until when the link works, as `clock::exact` shows it.
    pub expires_at: String,
}
email_templates!(
    ConfirmNewEmail,
    "emails/confirm_new_email.txt",
    "emails/confirm_new_email.html"
);

impl Email for ConfirmNewEmail {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        "Confirm your new email address for Roster".into()
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells an account's current address that a change of address was asked for (no link).
pub struct EmailChangeRequested {
    pub to: String,
    pub name: String,
    /// The new address, masked: "n***@example.com".
    pub masked_new: String,
}
email_templates!(
    EmailChangeRequested,
    "emails/email_change_requested.txt",
    "emails/email_change_requested.html"
);

impl Email for EmailChangeRequested {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        "A change of your Roster address was requested".into()
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells an account's former address that the change was made.
pub struct EmailChanged {
    pub to: String,
    pub name: String,
    pub new_email: String,
}
email_templates!(
    EmailChanged,
    "emails/email_changed.txt",
    "emails/email_changed.html"
);

impl Email for EmailChanged {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        "Your Roster address was changed".into()
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells a member, or the person who invited them (or the Owners), that the member's
/// access to an organization ends soon (`ended` false, seven days before) or has ended.
pub struct AccessEnd {
    pub to: String,
    pub org_name: String,
    /// The member whose access ends, by email.
    pub member: String,
    /// Whether this copy goes to the member themselves.
    pub to_member: bool,
    /// The last day of access, in words: "12 January 2027".
    pub last_day: String,
    pub ended: bool,
    pub members_url: String,
}
email_templates!(AccessEnd, "emails/access_end.txt", "emails/access_end.html");

impl Email for AccessEnd {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        let whose = if self.to_member {
            "Your".to_string()
        } else {
            format!("{}'s", self.member)
        };
        if self.ended {
            format!("{whose} access to {} has ended", self.org_name)
        } else {
            format!(
                "{whose} access to {} ends after {}",
                self.org_name, self.last_day
            )
        }
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells a member that an Owner or Admin approved or declined their request for an
/// invitation.
pub struct AccessRequestDecided {
    pub to: String,
    pub org_name: String,
    pub decided_by: String,
    /// The addresses asked for, joined.
    pub addresses: String,
    pub role: &'static str,
    pub approved: bool,
    /// The decider's note (declines only; may be empty).
    pub note: String,
    pub invitations_url: String,
}
email_templates!(
    AccessRequestDecided,
    "emails/access_request_decided.txt",
    "emails/access_request_decided.html"
);

impl Email for AccessRequestDecided {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        let decided = if self.approved {
            "approved"
        } else {
            "declined"
        };
        format!("Your invitation request in {} was {decided}", self.org_name)
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}

/// Tells an Owner that Roster disabled a webhook endpoint that kept failing.
pub struct WebhookDisabled {
    pub to: String,
    pub org_name: String,
    pub url: String,
    /// Since when it failed, as `clock::exact` shows it.
    pub failing_since: String,
    pub endpoint_url: String,
}
email_templates!(
    WebhookDisabled,
    "emails/webhook_disabled.txt",
    "emails/webhook_disabled.html"
);

impl Email for WebhookDisabled {
    fn recipient(&self) -> &str {
        &self.to
    }
    fn subject(&self) -> String {
        format!("A webhook endpoint of {} was disabled", self.org_name)
    }
    fn render(&self) -> askama::Result<(String, String)> {
        self.render_parts()
    }
}
