//! Audit events in words: what the audit pages and the CSV export say about each one.

use serde_json::{Map, Value};

use super::Role;

/// The kinds of event a filter offers, by stored action name, with their labels:
/// organization events first, then the instance's own.
pub const ORG_KINDS: &[(&str, &str)] = &[
    ("member.role_changed", "Role changed"),
    ("member.deactivated", "Member deactivated"),
    ("member.activated", "Member activated"),
    ("member.removed", "Member removed"),
    ("member.left", "Member left"),
    ("member.access_until_changed", "Access end date changed"),
    ("member.access_ended", "Access ended"),
    ("member.seat_assigned", "Seat assigned"),
    ("member.seat_revoked", "Seat revoked"),
    ("members.exported", "Member list exported"),
    ("access_request.created", "Invitation requested"),
    ("access_request.approved", "Invitation request approved"),
    ("access_request.declined", "Invitation request declined"),
    ("team.created", "Team created"),
    ("team.renamed", "Team renamed"),
    ("team.deleted", "Team deleted"),
    ("team.member_added", "Added to a team"),
    ("team.member_removed", "Removed from a team"),
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
    ("sso.configured", "Single sign-on set up"),
    ("sso.changed", "Single sign-on changed"),
    ("sso.removed", "Single sign-on removed"),
    ("sso.signed_in", "Signed in with single sign-on"),
    ("sso.linked", "Account linked to the provider"),
    ("member.joined_sso", "Joined by single sign-on"),
    ("member.provisioned", "Added by SCIM provisioning"),
    (
        "member.profile_changed",
        "Profile changed by SCIM provisioning",
    ),
    ("scim.token_created", "SCIM token created"),
    ("scim.token_revoked", "SCIM token revoked"),
    ("scim.default_role_changed", "SCIM default role changed"),
    ("api_token.created", "API token created"),
    ("api_token.revoked", "API token revoked"),
    ("webhook.added", "Webhook endpoint added"),
    ("webhook.changed", "Webhook endpoint changed"),
    ("webhook.enabled", "Webhook endpoint enabled"),
    ("webhook.disabled", "Webhook endpoint disabled"),
    ("webhook.secret_rotated", "Webhook secret rotated"),
    ("webhook.deleted", "Webhook endpoint deleted"),
    ("webhook.test_sent", "Webhook test event sent"),
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
        Some(s) => role_label(s),
        None => "an unknown role".into(),
    }
}

fn role_label(stored: &str) -> String {
    stored
        .parse::<Role>()
        .map_or_else(|_| stored.to_string(), |r| r.label().to_string())
}

/// One stored event, as the log keeps it, to be put into words.
#[derive(Clone, Copy, Debug, Default)]
pub struct Entry<'a> {
    /// The stored action name, e.g. "member.role_changed".
    pub action: &'a str,
    /// Who did it, as people read it: a name or an email.
    pub actor: &'a str,
    /// The actor's email, to tell when someone acted on themselves.
    pub actor_email: Option<&'a str>,
    /// Whom it was done to: an email.
    pub target: Option<&'a str>,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

impl Entry<'_> {
    /// Whether the actor and the target are the same person ("declined their
    /// invitation", not "declined the invitation to" their own address).
    fn on_themselves(&self) -> bool {
        matches!((self.actor_email, self.target), (Some(a), Some(t)) if a.eq_ignore_ascii_case(t))
    }

    /// One sentence: who did what to whom.
    pub fn sentence(&self) -> String {
        let Entry {
            action,
            actor,
            before,
            after,
            ..
        } = *self;
        let own = self.on_themselves();
        let target = self.target.unwrap_or("someone");
        // The target as an object ("removed X") and as an owner ("X's role").
        let (whom, whose) = if own {
            ("themselves".to_string(), "their own".to_string())
        } else {
            (target.to_string(), format!("{target}'s"))
        };
        let invitation = if own {
            "their invitation".to_string()
        } else {
            format!("the invitation to {target}")
        };
        let account = if own {
            "their own account".to_string()
        } else {
            format!("the account of {target}")
        };
        match action {
            "member.role_changed" => format!(
                "{actor} changed {whose} role from {} to {}",
                role(before),
                role(after)
            ),
            "member.deactivated" => format!("{actor} deactivated {whom}"),
            "member.activated" => format!("{actor} activated {whom}"),
            "member.removed" => format!("{actor} removed {whom} ({})", role(before)),
            "member.left" => format!("{actor} left the organization ({})", role(before)),
            "member.access_until_changed" => match after {
                Some(day) => format!("{actor} set {whose} access to end after {}", long_day(day)),
                None => format!("{actor} removed the end date of {whose} access"),
            },
            // Done by the expiry worker, not by a person: the sentence names Roster.
            "member.access_ended" => format!(
                "Roster deactivated {target}: their access ended after {}",
                long_day(before.unwrap_or("?"))
            ),
            "member.seat_assigned" => format!("{actor} assigned a seat to {whom}"),
            "member.seat_revoked" => format!("{actor} revoked {whose} seat"),
            "members.exported" => format!("{actor} exported the member list"),
            "access_request.created" => format!(
                "{actor} asked for an invitation for {} as {}",
                after.unwrap_or("?"),
                role(before)
            ),
            "access_request.approved" => format!(
                "{actor} approved {whose} request to invite {} as {}",
                after.unwrap_or("?"),
                role(before)
            ),
            "access_request.declined" => format!(
                "{actor} declined {whose} request to invite {} as {}",
                after.unwrap_or("?"),
                role(before)
            ),
            "team.created" => format!("{actor} created the team {}", after.unwrap_or("?")),
            "team.renamed" => format!(
                "{actor} renamed the team {} to {}",
                before.unwrap_or("?"),
                after.unwrap_or("?")
            ),
            "team.deleted" => format!("{actor} deleted the team {}", before.unwrap_or("?")),
            "team.member_added" => {
                format!("{actor} added {whom} to the team {}", after.unwrap_or("?"))
            }
            "team.member_removed" => format!(
                "{actor} removed {whom} from the team {}",
                before.unwrap_or("?")
            ),
            "invitation.created" => format!("{actor} invited {whom} as {}", role(after)),
            "invitation.resent" => format!("{actor} resent {invitation}"),
            "invitation.revoked" => format!("{actor} revoked {invitation}"),
            "invitation.accepted" => format!("{actor} accepted {invitation}"),
            "invitation.declined" => format!("{actor} declined {invitation}"),
            "invitation.link_shown" if own => format!("{actor} was shown their invitation link"),
            "invitation.link_shown" => {
                format!("{actor} was shown the invitation link for {target}")
            }
            "organization.settings_changed" => {
                format!("{actor} changed the organization's settings")
            }
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
            "sso.configured" => format!("{actor} set up single sign-on"),
            "sso.changed" => format!("{actor} changed the single sign-on settings"),
            "sso.removed" => format!("{actor} removed single sign-on"),
            "sso.signed_in" => format!(
                "{actor} signed in with {}",
                after.unwrap_or("single sign-on")
            ),
            "sso.linked" => format!(
                "{actor} linked their account to {}",
                after.unwrap_or("the identity provider")
            ),
            "member.joined_sso" => format!(
                "{actor} joined as {} by signing in with single sign-on",
                role(after)
            ),
            "member.provisioned" => format!("{actor} added {whom} as {}", role(after)),
            "member.profile_changed" => {
                format!("{actor} changed {whose} profile ({})", after.unwrap_or("?"))
            }
            "scim.token_created" if before == Some("replaced") => {
                format!("{actor} replaced the SCIM token")
            }
            "scim.token_created" => format!("{actor} created the SCIM token"),
            "scim.token_revoked" => format!("{actor} revoked the SCIM token"),
            "scim.default_role_changed" => format!(
                "{actor} changed the role of members added by SCIM from {} to {}",
                role(before),
                role(after)
            ),
            "api_token.created" => {
                format!("{actor} created the API token {}", after.unwrap_or("?"))
            }
            "api_token.revoked" => format!(
                "{actor} revoked {} API token {}",
                if own { "their".to_string() } else { whose },
                before.unwrap_or("?")
            ),
            "webhook.added" => format!(
                "{actor} added the webhook endpoint {}",
                after.unwrap_or("?")
            ),
            "webhook.changed" => format!("{actor} changed a webhook endpoint"),
            "webhook.enabled" => {
                format!(
                    "{actor} enabled the webhook endpoint {}",
                    before.unwrap_or("?")
                )
            }
            // Roster disables an endpoint that keeps failing; the actor is then nobody.
            "webhook.disabled" if after == Some("failing") => format!(
                "Roster disabled the webhook endpoint {} after days of failed deliveries",
                before.unwrap_or("?")
            ),
            "webhook.disabled" => {
                format!(
                    "{actor} disabled the webhook endpoint {}",
                    before.unwrap_or("?")
                )
            }
            "webhook.secret_rotated" => format!(
                "{actor} rotated the signing secret of the webhook endpoint {}",
                before.unwrap_or("?")
            ),
            "webhook.deleted" => {
                format!(
                    "{actor} deleted the webhook endpoint {}",
                    before.unwrap_or("?")
                )
            }
            "webhook.test_sent" => format!(
                "{actor} sent a test event to the webhook endpoint {}",
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
            "password.reset_requested" if own => {
                format!("{actor} asked for a password reset link")
            }
            "password.reset_requested" => {
                format!("{actor} asked for a password reset link for {target}")
            }
            "password.reset_link_shown" => {
                format!("{actor} was shown the password reset link of {account}")
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
            "user.deactivated" => format!("{actor} deactivated {account}"),
            "user.activated" => format!("{actor} activated {account}"),
            "user.deleted" => format!("{actor} deleted {account}"),
            "user.instance_admin_granted" => format!("{actor} made {whom} an instance admin"),
            "user.instance_admin_revoked" => {
                format!("{actor} removed {whom} as an instance admin")
            }
            "two_factor.enabled" => format!("{actor} turned on two-factor authentication"),
            "two_factor.disabled" => format!("{actor} turned off two-factor authentication"),
            "two_factor.recovery_codes_regenerated" => {
                format!("{actor} replaced their recovery codes")
            }
            "two_factor.recovery_code_used" => format!("{actor} signed in with a recovery code"),
            "two_factor.reset" => {
                format!("{actor} reset {whose} two-factor authentication")
            }
            "instance.set_up" => format!("{actor} set up Roster"),
            "email.test_queued" => format!("{actor} sent a test email to {whom}"),
            other => format!("{actor}: {other} ({target})"),
        }
    }

    /// What changed, one line per field, in words: "Role: Member → Admin", "Seat limit:
    /// 10 → none". The values are stored as plain text or, for several fields at once,
    /// as a JSON object; neither is shown as such.
    pub fn changes(&self) -> Vec<String> {
        let parse = |v: Option<&str>| match v.map(serde_json::from_str::<Value>) {
            Some(Ok(Value::Object(map))) => Some(map),
            _ => None,
        };
        let (old, new) = (parse(self.before), parse(self.after));
        if old.is_some() || new.is_some() {
            let empty = Map::new();
            let (old, new) = (
                old.as_ref().unwrap_or(&empty),
                new.as_ref().unwrap_or(&empty),
            );
            let mut keys: Vec<&String> = old.keys().collect();
            keys.extend(new.keys().filter(|k| !old.contains_key(*k)));
            return keys
                .into_iter()
                .map(|key| {
                    let value =
                        |map: &Map<String, Value>| map.get(key).map(|v| field_value(key, v));
                    line(&field_label(key), value(old), value(new))
                })
                .collect();
        }
        let plain =
            |v: Option<&str>, value: fn(&str) -> String| v.filter(|v| !v.is_empty()).map(value);
        let (label, value): (&str, fn(&str) -> String) = match self.action {
            "member.role_changed"
            | "member.removed"
            | "member.left"
            | "invitation.created"
            | "invitation.revoked"
            | "invitation.accepted" => ("Role", role_label),
            "member.deactivated" | "member.activated" => ("Status", capitalized),
            "member.seat_assigned" | "member.seat_revoked" => ("Seat", |v| match v {
                "seat" => "assigned".into(),
                "no seat" => "none".into(),
                other => other.into(),
            }),
            "api_token.created" | "api_token.revoked" => ("Token", str::to_string),
            "domain.added" | "domain.removed" => ("Domain", str::to_string),
            "member.joined_sso" | "member.provisioned" => ("Role", role_label),
            "member.profile_changed" => ("Changed", str::to_string),
            "scim.token_created" | "scim.token_revoked" => return Vec::new(),
            "scim.default_role_changed" => ("Role", role_label),
            "sso.signed_in" | "sso.linked" => ("Provider", str::to_string),
            "members.exported" => ("View", str::to_string),
            "member.access_until_changed" | "member.access_ended" => {
                ("Access until", str::to_string)
            }
            // The sentence names the addresses and the role.
            "access_request.created" | "access_request.approved" | "access_request.declined" => {
                return Vec::new();
            }
            // The sentence names the endpoint.
            "webhook.enabled"
            | "webhook.disabled"
            | "webhook.secret_rotated"
            | "webhook.deleted"
            | "webhook.test_sent"
            | "webhook.added" => return Vec::new(),
            "team.created"
            | "team.renamed"
            | "team.deleted"
            | "team.member_added"
            | "team.member_removed" => ("Team", str::to_string),
            // The sentence names the domain and how it was verified.
            "domain.verified" => return Vec::new(),
            "user.name_changed" => ("Name", str::to_string),
            "user.email_changed" => ("Email address", str::to_string),
            "session.others_ended" => ("Sessions signed out", str::to_string),
            "session.sign_in_failed" => ("Failed at", str::to_string),
            "password.reset_requested" => ("Link valid until", str::to_string),
            "instance.set_up" => ("Set up", str::to_string),
            _ => ("Value", str::to_string),
        };
        match (plain(self.before, value), plain(self.after, value)) {
            (None, None) => Vec::new(),
            (old, new) => vec![line(label, old, new)],
        }
    }
}

/// "Label: before → after", or only the side there is.
fn line(label: &str, before: Option<String>, after: Option<String>) -> String {
    match (before, after) {
        (Some(b), Some(a)) => format!("{label}: {b} → {a}"),
        (Some(b), None) => format!("{label}: was {b}"),
        (None, Some(a)) => format!("{label}: {a}"),
        (None, None) => format!("{label}: none"),
    }
}

/// A stored `2027-01-12` as "12 January 2027"; anything else as it is.
fn long_day(stored: &str) -> String {
    super::access::AccessUntil::from_iso(stored).map_or_else(|| stored.to_string(), |d| d.long())
}

fn capitalized(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A stored field's name as people read it.
fn field_label(key: &str) -> String {
    match key {
        "name" => "Name".into(),
        "slug" => "Short name".into(),
        "owner" => "Owner".into(),
        "email" => "Email address".into(),
        "status" => "Status".into(),
        "role" => "Role".into(),
        "instance_admin" => "Instance admin".into(),
        "organizations" => "Organizations".into(),
        "invitation_lifetime_secs" => "Invitation lifetime".into(),
        "max_pending_invitations" => "Pending invitations allowed".into(),
        "max_members" => "Members allowed".into(),
        "members_may_invite" => "Members may invite".into(),
        "allowed_email_domains" => "Allowed email domains".into(),
        "seats" => "Seat limit".into(),
        "require_two_factor" => "Two-factor authentication required".into(),
        "provider_name" => "Provider".into(),
        "issuer" => "Issuer".into(),
        "client_id" => "Client ID".into(),
        "client_secret" => "Client secret".into(),
        "jit_enabled" => "Just-in-time membership".into(),
        "default_role" => "Default role".into(),
        "require_sso" => "Single sign-on required".into(),
        "url" => "URL".into(),
        other => capitalized(&other.replace('_', " ")),
    }
}

/// A stored field's value as people read it.
fn field_value(key: &str, value: &Value) -> String {
    match (key, value) {
        (_, Value::Null) => "none".into(),
        (_, Value::Bool(b)) => if *b { "yes" } else { "no" }.into(),
        ("invitation_lifetime_secs", Value::Number(n)) => {
            n.as_i64().map_or_else(|| n.to_string(), duration)
        }
        (_, Value::Number(n)) => n.to_string(),
        ("role" | "default_role", Value::String(s)) => role_label(s),
        ("status", Value::String(s)) => capitalized(s),
        ("allowed_email_domains", Value::String(s)) if s.trim().is_empty() => "any".into(),
        (_, Value::String(s)) if s.is_empty() => "none".into(),
        (_, Value::String(s)) => s.clone(),
        (_, Value::Array(items)) if items.is_empty() => "none".into(),
        (_, Value::Array(items)) => items
            .iter()
            .map(|item| field_value(key, item))
            .collect::<Vec<_>>()
            .join("; "),
        // An object inside a field (an organization of a deleted account): its name,
        // then its other fields in words.
        (_, Value::Object(map)) => {
            let name = map.get("name").and_then(Value::as_str);
            let rest: Vec<String> = map
                .iter()
                .filter(|(k, _)| k.as_str() != "name")
                .map(|(k, v)| field_value(k, v))
                .collect();
            match (name, rest.is_empty()) {
                (Some(name), true) => name.to_string(),
                (Some(name), false) => format!("{name} ({})", rest.join(", ")),
                (None, _) => rest.join(", "),
            }
        }
    }
}

/// A number of seconds in the largest whole unit: "7 days", "36 hours", "90 minutes".
fn duration(secs: i64) -> String {
    let (n, unit) = match secs {
        s if s != 0 && s % 86_400 == 0 => (s / 86_400, "day"),
        s if s != 0 && s % 3_600 == 0 => (s / 3_600, "hour"),
        s if s != 0 && s % 60 == 0 => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(action: &'a str, before: Option<&'a str>, after: Option<&'a str>) -> Entry<'a> {
        Entry {
            action,
            actor: "Bea",
            actor_email: Some("bea@example.com"),
            target: Some("alice@example.com"),
            before,
            after,
        }
    }

    #[test]
    fn a_role_change_reads_as_a_sentence() {
        let e = entry("member.role_changed", Some("member"), Some("admin"));
        assert_eq!(
            e.sentence(),
            "Bea changed alice@example.com's role from Member to Admin"
        );
        assert_eq!(e.changes(), ["Role: Member → Admin"]);
    }

    #[test]
    fn every_offered_kind_has_its_own_sentence() {
        for (action, _) in ORG_KINDS.iter().chain(INSTANCE_KINDS) {
            let text = entry(action, None, None).sentence();
            assert!(!text.contains(action), "{action} reads {text:?}");
        }
    }

    #[test]
    fn someone_acting_on_themselves_is_not_named_twice() {
        for (action, _) in ORG_KINDS.iter().chain(INSTANCE_KINDS) {
            let e = Entry {
                actor: "hedy@example.com",
                actor_email: Some("HEDY@example.com"),
                target: Some("hedy@example.com"),
                ..entry(action, Some("member"), Some("member"))
            };
            let text = e.sentence();
            assert_eq!(
                text.matches("hedy@example.com").count(),
                1,
                "{action} reads {text:?}"
            );
        }
        let declined = Entry {
            actor: "hedy@example.com",
            actor_email: Some("hedy@example.com"),
            target: Some("hedy@example.com"),
            ..entry("invitation.declined", None, None)
        };
        assert_eq!(
            declined.sentence(),
            "hedy@example.com declined their invitation"
        );
    }

    #[test]
    fn settings_changes_read_in_words_without_json() {
        let e = entry(
            "organization.settings_changed",
            Some(
                r#"{"seats":10,"invitation_lifetime_secs":604800,"members_may_invite":false,"allowed_email_domains":""}"#,
            ),
            Some(
                r#"{"seats":null,"invitation_lifetime_secs":3600,"members_may_invite":true,"allowed_email_domains":"example.com"}"#,
            ),
        );
        assert_eq!(
            e.changes(),
            [
                "Allowed email domains: any → example.com",
                "Invitation lifetime: 7 days → 1 hour",
                "Members may invite: no → yes",
                "Seat limit: 10 → none",
            ]
        );
    }

    #[test]
    fn stored_names_become_labels() {
        assert_eq!(
            entry("member.removed", Some("billing"), None).changes(),
            ["Role: was Billing manager"]
        );
        assert_eq!(
            entry("member.seat_assigned", Some("no seat"), Some("seat")).changes(),
            ["Seat: none → assigned"]
        );
        assert_eq!(
            entry(
                "user.deactivated",
                Some(r#"{"status":"active"}"#),
                Some(r#"{"status":"deactivated"}"#)
            )
            .changes(),
            ["Status: Active → Deactivated"]
        );
        let deleted = entry(
            "user.deleted",
            Some(
                r#"{"status":"active","instance_admin":false,"organizations":[{"name":"Acme","role":"billing","status":"active"}]}"#,
            ),
            None,
        );
        assert_eq!(
            deleted.changes(),
            [
                "Instance admin: was no",
                "Organizations: was Acme (Billing manager, Active)",
                "Status: was Active",
            ]
        );
    }

    #[test]
    fn no_change_line_shows_json() {
        let values = [
            None,
            Some(r#"{"seats":null}"#),
            Some(r#"{"name":"Acme","slug":"acme","owner":"a@example.com"}"#),
            Some("member"),
            Some("seat"),
        ];
        for (action, _) in ORG_KINDS.iter().chain(INSTANCE_KINDS) {
            for before in values {
                for after in values {
                    for line in entry(action, before, after).changes() {
                        assert!(
                            !line.contains(['{', '}', '"']) && !line.contains('_'),
                            "{action}: {line:?}"
                        );
                    }
                }
            }
        }
    }
}
