//! Audit events in words: what the audit pages and the CSV export say about each one.

use super::Role;

/// The kinds of event a filter offers, by stored action name, with their labels:
/// organization events first, then the instance's own.
pub const ORG_KINDS: &[(&str, &str)] = &[
    ("member.role_changed", "Role changed"),
    ("member.deactivated", "Member deactivated"),
    ("member.activated", "Member activated"),
    ("member.removed", "Member removed"),
    ("member.left", "Member left"),
    ("member.seat_assigned", "Seat assigned"),
    ("member.seat_revoked", "Seat revoked"),
    ("members.exported", "Member list exported"),
    ("invitation.created", "Invitation sent"),
    ("invitation.resent", "Invitation resent"),
    ("invitation.revoked", "Invitation revoked"),
    ("invitation.accepted", "Invitation accepted"),
    ("invitation.declined", "Invitation declined"),
    ("invitation.link_shown", "Invitation link shown"),
    ("organization.settings_changed", "Settings changed"),
    ("organization.created", "Organization created"),
    ("domain.added", "Domain added"),
    ("domain.verified", "Domain verified"),
    ("domain.removed", "Domain removed"),
    ("api_token.created", "API token created"),
    ("api_token.revoked", "API token revoked"),
];

pub const INSTANCE_KINDS: &[(&str, &str)] = &[
    ("session.signed_in", "Signed in"),
    ("session.signed_out", "Signed out"),
    ("session.sign_in_failed", "Sign-in failed"),
    ("session.sign_ins_paused", "Sign-ins paused"),
    ("session.ended", "Session signed out"),
    ("session.others_ended", "Other sessions signed out"),
    ("user.signed_up", "Account created"),
    ("user.name_changed", "Name changed"),
    ("user.password_changed", "Password changed"),
    ("password.reset_requested", "Password reset link sent"),
    ("password.reset_link_shown", "Password reset link shown"),
    ("password.reset", "Password reset"),
    ("user.email_changed", "Email address changed"),
    ("user.deactivated", "Account deactivated"),
    ("user.activated", "Account activated"),
    ("user.deleted", "Account deleted"),
    ("user.instance_admin_granted", "Instance admin granted"),
    ("user.instance_admin_revoked", "Instance admin revoked"),
    ("two_factor.enabled", "Two-factor turned on"),
    ("two_factor.disabled", "Two-factor turned off"),
    (
        "two_factor.recovery_codes_regenerated",
        "Recovery codes replaced",
    ),
    ("two_factor.recovery_code_used", "Recovery code used"),
    ("two_factor.reset", "Two-factor reset"),
    ("instance.set_up", "Roster set up"),
    ("email.test_queued", "Test email sent"),
];

/// A role's label from its stored name; anything else as it is.
fn role(stored: Option<&str>) -> String {
    match stored {
        Some(s) => s
            .parse::<Role>()
            .map_or_else(|_| s.to_string(), |r| r.label().to_string()),
        None => "an unknown role".into(),
    }
}

/// One sentence: who did what to whom. `actor` is a name or an email; `target` an email.
pub fn describe(
    action: &str,
    actor: &str,
    target: Option<&str>,
    before: Option<&str>,
    after: Option<&str>,
) -> String {
    let target = target.unwrap_or("someone");
    match action {
        "member.role_changed" => format!(
            "{actor} changed {target}'s role from {} to {}",
            role(before),
            role(after)
        ),
        "member.deactivated" => format!("{actor} deactivated {target}"),
        "member.activated" => format!("{actor} activated {target}"),
        "member.removed" => format!("{actor} removed {target} ({})", role(before)),
        "member.left" => format!("{actor} left the organization ({})", role(before)),
        "member.seat_assigned" => format!("{actor} assigned a seat to {target}"),
        "member.seat_revoked" => format!("{actor} revoked the seat of {target}"),
        "members.exported" => match after {
            Some(view) if !view.is_empty() => {
                format!("{actor} exported the member list ({view})")
            }
            _ => format!("{actor} exported the member list"),
        },
        "invitation.created" => format!("{actor} invited {target} as {}", role(after)),
        "invitation.resent" => format!("{actor} resent the invitation to {target}"),
        "invitation.revoked" => format!("{actor} revoked the invitation to {target}"),
        "invitation.accepted" => format!("{actor} accepted the invitation to {target}"),
        "invitation.declined" => format!("{actor} declined the invitation to {target}"),
        "invitation.link_shown" => format!("{actor} was shown the invitation link for {target}"),
        "organization.settings_changed" => format!("{actor} changed the organization's settings"),
        "organization.created" => format!("{actor} created the organization"),
        "domain.added" => format!("{actor} added the domain {}", after.unwrap_or("?")),
        "domain.verified" => format!(
            "{actor} verified the domain {} ({})",
            before.unwrap_or("?"),
            match after {
                Some("admin") => "marked by an instance admin",
                _ => "DNS record found",
            }
        ),
        "domain.removed" => format!("{actor} removed the domain {}", before.unwrap_or("?")),
        "api_token.created" => format!("{actor} created the API token {}", after.unwrap_or("?")),
        "api_token.revoked" => format!(
            "{actor} revoked {target}'s API token {}",
            before.unwrap_or("?")
        ),
        "session.signed_in" => format!("{actor} signed in"),
        "session.signed_out" => format!("{actor} signed out"),
        "session.sign_in_failed" => format!("A sign-in as {target} failed"),
        "session.sign_ins_paused" => {
            format!("Sign-ins as {target} were paused after repeated failures")
        }
        "user.signed_up" => format!("{actor} created an account"),
        "user.name_changed" => format!(
            "{actor} changed their name from {} to {}",
            before.unwrap_or("?"),
            after.unwrap_or("?")
        ),
        "user.password_changed" => format!("{actor} changed their password"),
        "password.reset_requested" => {
            format!("{actor} asked for a password reset link for {target}")
        }
        "password.reset_link_shown" => {
            format!("{actor} was shown the password reset link for {target}")
        }
        "password.reset" => format!("{actor} set a new password with a reset link"),
        "user.email_changed" => format!(
            "{actor} changed their email address from {} to {}",
            before.unwrap_or("?"),
            after.unwrap_or("?")
        ),
        "session.ended" => format!("{actor} signed out one of their other sessions"),
        "session.others_ended" => format!(
            "{actor} signed out all their other sessions ({})",
            after.unwrap_or("?")
        ),
        "user.deactivated" => format!("{actor} deactivated the account of {target}"),
        "user.activated" => format!("{actor} activated the account of {target}"),
        "user.deleted" => format!("{actor} deleted the account of {target}"),
        "user.instance_admin_granted" => format!("{actor} made {target} an instance admin"),
        "user.instance_admin_revoked" => {
            format!("{actor} removed {target} as an instance admin")
        }
        "two_factor.enabled" => format!("{actor} turned on two-factor authentication"),
        "two_factor.disabled" => format!("{actor} turned off two-factor authentication"),
        "two_factor.recovery_codes_regenerated" => {
            format!("{actor} replaced their recovery codes")
        }
        "two_factor.recovery_code_used" => format!("{actor} signed in with a recovery code"),
        "two_factor.reset" => {
            format!("{actor} reset the two-factor authentication of {target}")
        }
        "instance.set_up" => format!("{actor} set up Roster"),
        "email.test_queued" => format!("{actor} sent a test email to {target}"),
        other => format!("{actor}: {other} ({target})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_change_reads_as_a_sentence() {
        assert_eq!(
            describe(
                "member.role_changed",
                "Bea",
                Some("alice@example.com"),
                Some("member"),
                Some("admin")
            ),
            "Bea changed alice@example.com's role from Member to Admin"
        );
    }

    #[test]
    fn every_offered_kind_has_its_own_sentence() {
        for (action, _) in ORG_KINDS.iter().chain(INSTANCE_KINDS) {
            let text = describe(action, "Bea", Some("a@example.com"), None, None);
            assert!(!text.contains(action), "{action} reads {text:?}");
        }
    }
}
