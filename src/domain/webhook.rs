//! Webhooks as pure rules: the event types, which audit events become which webhook
//! events and with what payload, the endpoint form, and the Standard Webhooks signature
//! (<https://www.standardwebhooks.com>), so that receivers can verify with its libraries.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::FieldErrors;
use super::text;

/// The event types an endpoint can subscribe to, with their labels, in the order the
/// form shows them.
pub const EVENT_TYPES: &[(&str, &str)] = &[
    ("member.added", "Member added"),
    ("member.removed", "Member removed"),
    ("member.role_changed", "Member's role changed"),
    ("member.deactivated", "Member deactivated"),
    ("member.activated", "Member activated"),
    ("member.seat_assigned", "Seat assigned"),
    ("member.seat_revoked", "Seat revoked"),
    ("invitation.created", "Invitation created"),
    ("invitation.accepted", "Invitation accepted"),
    ("invitation.declined", "Invitation declined"),
    ("invitation.revoked", "Invitation revoked"),
    ("invitation.expired", "Invitation expired"),
    ("team.created", "Team created"),
    ("team.renamed", "Team renamed"),
    ("team.deleted", "Team deleted"),
    ("team.member_added", "Member added to a team"),
    ("team.member_removed", "Member removed from a team"),
];

/// The type of the event "Send a test event" sends; it goes to one endpoint whatever
/// it subscribed to.
pub const TEST_EVENT: &str = "webhook.test";

/// The longest URL an endpoint may have.
pub const URL_MAX: usize = 2000;
const DESCRIPTION_MAX: usize = 200;

/// The events an endpoint receives: every one (including types added later), or a list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Events {
    All,
    Only(Vec<String>),
}

impl Events {
    /// As stored: `*`, or the types comma-separated.
    pub fn stored(&self) -> String {
        match self {
            Events::All => "*".into(),
            Events::Only(types) => types.join(","),
        }
    }

    /// From the stored form; unknown types (from a later version) are kept.
    pub fn from_stored(stored: &str) -> Events {
        if stored == "*" {
            Events::All
        } else {
            Events::Only(
                stored
                    .split(',')
                    .filter(|t| !t.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        }
    }

    pub fn includes(&self, event_type: &str) -> bool {
        match self {
            Events::All => true,
            Events::Only(types) => types.iter().any(|t| t == event_type),
        }
    }

    /// In words, for the list of endpoints.
    pub fn label(&self) -> String {
        match self {
            Events::All => "All events".into(),
            Events::Only(types) => types.join(", "),
        }
    }
}

/// An endpoint's form as typed; `events` holds every checked box (read with
/// `axum_extra`'s form extractor, which takes a repeated field as a list).
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct EndpointForm {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// The "All events" box: present when checked.
    pub all_events: Option<String>,
    #[serde(default)]
    pub events: Vec<String>,
}

/// An endpoint's settings, parsed. The URL's address is checked by the caller
/// (`outbound::Outbound::check_url`), which knows the operator's setting.
#[derive(Clone, Debug)]
pub struct EndpointSettings {
    pub url: String,
    pub description: String,
    pub events: Events,
}

impl EndpointForm {
    /// The form showing `events`, for an endpoint's page.
    pub fn showing(url: &str, description: &str, events: &Events) -> EndpointForm {
        let (all_events, events) = match events {
            Events::All => (Some("on".into()), Vec::new()),
            Events::Only(types) => (None, types.clone()),
        };
        EndpointForm {
            url: url.into(),
            description: description.into(),
            all_events,
            events,
        }
    }

    /// The form as typed, fit to be shown again in single-line inputs: a control
    /// character (which HTML cannot hold in an attribute) becomes a space, and a huge
    /// value is cut. The field's message says what was wrong.
    pub fn as_shown(&self) -> EndpointForm {
        let fit = |s: &str, max: usize| -> String {
            s.chars()
                .take(max)
                .map(|c| if text::is_control(c) { ' ' } else { c })
                .collect()
        };
        EndpointForm {
            url: fit(&self.url, URL_MAX + 100),
            description: fit(&self.description, DESCRIPTION_MAX + 100),
            ..self.clone()
        }
    }

    /// Whether the box of `event_type` is checked (the template asks).
    pub fn checked(&self, event_type: &&str) -> bool {
        self.events.iter().any(|e| e == event_type)
    }

    /// The settings, or a message per field.
    pub fn parse(&self) -> Result<EndpointSettings, FieldErrors> {
        let mut errors = FieldErrors::default();
        let url = text::single_line(&self.url, "the endpoint's URL", URL_MAX)
            .map_err(|m| errors.add("url", m))
            .unwrap_or_default();
        let description = text::optional_line(&self.description, DESCRIPTION_MAX)
            .map_err(|m| errors.add("description", m))
            .unwrap_or_default()
            .unwrap_or_default();
        let events = if self.all_events.is_some() {
            Events::All
        } else {
            let mut chosen = Vec::new();
            for (event_type, _) in EVENT_TYPES {
                if self.events.iter().any(|e| e == event_type) {
                    chosen.push(event_type.to_string());
                }
            }
            if let Some(unknown) = self
                .events
                .iter()
                .find(|e| !EVENT_TYPES.iter().any(|(t, _)| t == e))
            {
                errors.add(
                    "events",
                    format!(
                        "{} is not an event Roster sends.",
                        text::sanitized(unknown, 60)
                    ),
                );
            } else if chosen.is_empty() {
                errors.add("events", "Choose the events to send, or all of them.");
            }
            Events::Only(chosen)
        };
        if errors.is_empty() {
            Ok(EndpointSettings {
                url,
                description,
                events,
            })
        } else {
            Err(errors)
        }
    }
}

/// A new signing secret: 24 random bytes, and their Standard Webhooks form
/// (`whsec_` and base64), which is what the Owner copies.
pub fn new_secret() -> (Vec<u8>, String) {
    let bytes: [u8; 24] = rand::random();
    let shown = format!("whsec_{}", STANDARD.encode(bytes));
    (bytes.to_vec(), shown)
}

/// The `webhook-signature` header: `v1,` and the base64 HMAC-SHA256 of
/// `{id}.{timestamp}.{body}` under each key, space-separated (two during a rotation).
pub fn signature(keys: &[Vec<u8>], id: &str, timestamp: i64, body: &[u8]) -> String {
    keys.iter()
        .map(|key| {
            let mut mac =
                Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes a key of any length");
            mac.update(id.as_bytes());
            mac.update(b".");
            mac.update(timestamp.to_string().as_bytes());
            mac.update(b".");
            mac.update(body);
            format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The `webhook-id` of event `id`: the same on every attempt, so a receiver can drop a
/// repeat.
pub fn message_id(id: i64) -> String {
    format!("msg_{id}")
}

/// The first bytes of an answer, as a page may show them: at most `max` characters,
/// invalid UTF-8 replaced and control characters (line breaks included) shown as spaces.
pub fn answer_excerpt(body: &[u8], max: usize) -> String {
    let cut = &body[..body.len().min(max * 4)];
    String::from_utf8_lossy(cut)
        .chars()
        .map(|c| if text::is_control(c) { ' ' } else { c })
        .take(max)
        .collect()
}

/// What an audit event says, as far as a webhook needs it.
#[derive(Clone, Copy, Debug)]
pub struct Change<'a> {
    /// The audit action's stored name, e.g. "member.role_changed".
    pub action: &'a str,
    pub actor_id: Option<i64>,
    pub actor_email: Option<&'a str>,
    pub target_kind: Option<&'a str>,
    pub target_id: Option<i64>,
    pub target_email: Option<&'a str>,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
}

/// The webhook events (type and `data`) an audit event becomes: none for most, two
/// for an accepted invitation (the invitation, and the member it added).
pub fn events_for(change: &Change) -> Vec<(&'static str, Value)> {
    let actor = match (change.actor_id, change.actor_email) {
        (None, None) => Value::Null,
        (id, email) => json!({ "user_id": id, "email": email }),
    };
    let member = |role: Option<&str>| {
        let mut member = json!({ "email": change.target_email });
        match change.target_kind {
            Some("member") => member["id"] = json!(change.target_id),
            Some("user") => member["user_id"] = json!(change.target_id),
            _ => {}
        }
        if let Some(role) = role {
            member["role"] = json!(role);
        }
        json!({ "member": member, "actor": actor })
    };
    let invitation = |role: Option<&str>| {
        let mut invitation = json!({ "id": change.target_id, "email": change.target_email });
        if let Some(role) = role {
            invitation["role"] = json!(role);
        }
        json!({ "invitation": invitation, "actor": actor })
    };
    match change.action {
        "member.role_changed" => {
            let mut data = member(change.after);
            data["previous_role"] = json!(change.before);
            vec![("member.role_changed", data)]
        }
        "member.removed" | "member.left" => {
            let mut data = member(change.before);
            data["left"] = json!(change.action == "member.left");
            vec![("member.removed", data)]
        }
        "member.deactivated" => vec![("member.deactivated", member(None))],
        // The last day of access passed: the worker deactivated the membership.
        "member.access_ended" => {
            let mut data = member(None);
            data["reason"] = json!("access_ended");
            data["access_until"] = json!(change.before);
            vec![("member.deactivated", data)]
        }
        "team.created" | "team.renamed" | "team.deleted" => {
            let name = if change.action == "team.deleted" {
                change.before
            } else {
                change.after
            };
            let mut team = json!({ "id": change.target_id, "name": name });
            if change.action == "team.renamed" {
                team["previous_name"] = json!(change.before);
            }
            vec![(
                match change.action {
                    "team.created" => "team.created",
                    "team.renamed" => "team.renamed",
                    _ => "team.deleted",
                },
                json!({ "team": team, "actor": actor }),
            )]
        }
        "team.member_added" | "team.member_removed" => {
            let added = change.action == "team.member_added";
            let mut data = member(None);
            data["team"] = json!({ "name": if added { change.after } else { change.before } });
            vec![(
                if added {
                    "team.member_added"
                } else {
                    "team.member_removed"
                },
                data,
            )]
        }
        "member.activated" => vec![("member.activated", member(None))],
        "member.seat_assigned" => vec![("member.seat_assigned", member(None))],
        "member.seat_revoked" => vec![("member.seat_revoked", member(None))],
        "member.joined_sso" => {
            let mut data = member(change.after);
            data["via"] = json!("single_sign_on");
            vec![("member.added", data)]
        }
        "member.provisioned" => {
            let mut data = member(change.after);
            data["via"] = json!("scim");
            vec![("member.added", data)]
        }
        "invitation.created" => vec![("invitation.created", invitation(change.after))],
        "invitation.revoked" => vec![("invitation.revoked", invitation(change.before))],
        "invitation.declined" => vec![("invitation.declined", invitation(None))],
        "invitation.accepted" => {
            let added = json!({
                "member": { "email": change.target_email, "role": change.after },
                "actor": actor,
                "via": "invitation",
                "invitation_id": change.target_id,
            });
            vec![
                ("invitation.accepted", invitation(change.after)),
                ("member.added", added),
            ]
        }
        _ => Vec::new(),
    }
}

/// The data of `invitation.expired`.
pub fn expired_data(invitation_id: i64, email: &str, role: &str, expired_at: &str) -> Value {
    json!({
        "invitation": { "id": invitation_id, "email": email, "role": role },
        "expired_at": expired_at,
        "actor": Value::Null,
    })
}

/// The whole payload: `{"type", "timestamp", "data"}`, the Standard Webhooks shape,
/// with the organization in `data`.
pub fn payload(event_type: &str, timestamp: &str, org: (i64, &str), mut data: Value) -> String {
    data["organization"] = json!({ "id": org.0, "slug": org.1 });
    json!({ "type": event_type, "timestamp": timestamp, "data": data }).to_string()
}

/// An example of `event_type`'s payload, for the OpenAPI document: the audit event it
/// comes from, put through `events_for` as a real one is.
pub fn example(event_type: &str) -> Value {
    let (action, kind, before, after) = match event_type {
        "member.added" => ("invitation.accepted", "invitation", None, Some("member")),
        "member.role_changed" => (
            "member.role_changed",
            "member",
            Some("member"),
            Some("admin"),
        ),
        "member.removed" => ("member.removed", "member", Some("member"), None),
        "invitation.created" => ("invitation.created", "invitation", None, Some("member")),
        "invitation.revoked" => ("invitation.revoked", "invitation", Some("member"), None),
        "invitation.accepted" => ("invitation.accepted", "invitation", None, Some("member")),
        other if other.starts_with("member.") => (other, "member", None, None),
        "team.created" => ("team.created", "team", None, Some("Platform")),
        "team.renamed" => (
            "team.renamed",
            "team",
            Some("Platform"),
            Some("Infrastructure"),
        ),
        "team.deleted" => ("team.deleted", "team", Some("Platform"), None),
        "team.member_added" => ("team.member_added", "member", None, Some("Platform")),
        "team.member_removed" => ("team.member_removed", "member", Some("Platform"), None),
        other => (other, "invitation", None, None),
    };
    let change = Change {
        action,
        actor_id: Some(1),
        actor_email: Some("ada@example.com"),
        target_kind: Some(kind),
        target_id: Some(42),
        target_email: Some("grace@example.com"),
        before,
        after,
    };
    let data = if event_type == "invitation.expired" {
        expired_data(42, "grace@example.com", "member", "2026-12-01T09:30:00Z")
    } else {
        events_for(&change)
            .into_iter()
            .find(|(t, _)| *t == event_type)
            .map_or(Value::Null, |(_, data)| data)
    };
    serde_json::from_str(&payload(
        event_type,
        "2026-12-01T09:30:00Z",
        (7, "analytical-engines"),
        data,
    ))
    .unwrap_or(Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_member_the_identity_provider_adds_is_a_member_added_by_scim() {
        let change = Change {
            action: "member.provisioned",
            actor_id: None,
            actor_email: Some("SCIM"),
            target_kind: Some("member"),
            target_id: Some(7),
            target_email: Some("isaac@example.com"),
            before: None,
            after: Some("member"),
        };
        let events = events_for(&change);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, "member.added");
        assert_eq!(events[0].1["via"], "scim");
        assert_eq!(events[0].1["member"]["email"], "isaac@example.com");
        assert_eq!(events[0].1["actor"]["email"], "SCIM");
    }

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // The example of the Standard Webhooks specification's reference tests.
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let signed = signature(
            &[key],
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signed, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn two_keys_give_two_signatures() {
        let signed = signature(&[vec![1; 24], vec![2; 24]], "msg_1", 1, b"{}");
        let parts: Vec<&str> = signed.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_ne!(parts[0], parts[1]);
    }

    #[test]
    fn a_secret_is_in_the_standard_form() {
        let (bytes, shown) = new_secret();
        assert_eq!(bytes.len(), 24);
        let encoded = shown.strip_prefix("whsec_").unwrap();
        assert_eq!(STANDARD.decode(encoded).unwrap(), bytes);
    }

    #[test]
    fn the_form_needs_events_and_refuses_control_characters() {
        let form = EndpointForm {
            url: "https://example.com/\u{7}hook".into(),
            description: "x".repeat(500),
            all_events: None,
            events: vec![],
        };
        let errors = form.parse().unwrap_err();
        assert!(errors.get("url").unwrap().contains("control characters"));
        assert!(errors.get("description").unwrap().contains("at most 200"));
        assert!(errors.get("events").unwrap().contains("Choose"));
        let huge = EndpointForm {
            url: format!("https://example.com/{}", "a".repeat(3000)),
            all_events: Some("on".into()),
            ..EndpointForm::default()
        };
        assert!(
            huge.parse()
                .unwrap_err()
                .get("url")
                .unwrap()
                .contains("at most 2000")
        );
    }

    #[test]
    fn events_are_stored_and_read_back() {
        let only = Events::Only(vec!["member.added".into(), "invitation.expired".into()]);
        assert_eq!(Events::from_stored(&only.stored()), only);
        assert_eq!(Events::from_stored("*"), Events::All);
        assert!(only.includes("member.added") && !only.includes("member.removed"));
    }

    #[test]
    fn an_accepted_invitation_adds_a_member() {
        let change = Change {
            action: "invitation.accepted",
            actor_id: Some(7),
            actor_email: Some("b@example.com"),
            target_kind: Some("invitation"),
            target_id: Some(3),
            target_email: Some("b@example.com"),
            before: None,
            after: Some("member"),
        };
        let events = events_for(&change);
        let types: Vec<&str> = events.iter().map(|(t, _)| *t).collect();
        assert_eq!(types, ["invitation.accepted", "member.added"]);
        assert_eq!(events[1].1["member"]["role"], "member");
        let none = Change {
            action: "session.signed_in",
            ..change
        };
        assert!(events_for(&none).is_empty());
    }

    #[test]
    fn team_changes_and_an_ended_access_are_events() {
        let change = Change {
            action: "team.renamed",
            actor_id: Some(7),
            actor_email: Some("b@example.com"),
            target_kind: Some("team"),
            target_id: Some(3),
            target_email: None,
            before: Some("Platform"),
            after: Some("Infrastructure"),
        };
        let events = events_for(&change);
        assert_eq!(events[0].0, "team.renamed");
        assert_eq!(events[0].1["team"]["name"], "Infrastructure");
        assert_eq!(events[0].1["team"]["previous_name"], "Platform");
        let added = Change {
            action: "team.member_added",
            target_kind: Some("member"),
            target_email: Some("grace@example.com"),
            before: None,
            after: Some("Platform"),
            ..change
        };
        let events = events_for(&added);
        assert_eq!(events[0].0, "team.member_added");
        assert_eq!(events[0].1["team"]["name"], "Platform");
        assert_eq!(events[0].1["member"]["email"], "grace@example.com");
        let ended = Change {
            action: "member.access_ended",
            actor_id: None,
            actor_email: None,
            before: Some("2027-01-12"),
            after: None,
            ..added
        };
        let events = events_for(&ended);
        assert_eq!(events[0].0, "member.deactivated");
        assert_eq!(events[0].1["reason"], "access_ended");
    }

    #[test]
    fn every_event_type_has_an_example() {
        for (event_type, _) in EVENT_TYPES {
            let example = example(event_type);
            assert_eq!(example["type"], *event_type);
            assert!(
                example["data"]["organization"]["id"].is_i64(),
                "{event_type}"
            );
            assert!(
                example["data"]
                    .get("member")
                    .or(example["data"].get("invitation"))
                    .or(example["data"].get("team"))
                    .is_some(),
                "{event_type}"
            );
        }
    }

    #[test]
    fn an_answer_is_cut_and_made_safe() {
        let shown = answer_excerpt(b"ok\r\n\x1b[31mred\xff", 100);
        assert_eq!(shown, "ok   [31mred\u{fffd}");
        assert_eq!(answer_excerpt(&[b'a'; 5000], 300).len(), 300);
    }
}
