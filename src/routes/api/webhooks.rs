//! The webhook events in the OpenAPI document, as OpenAPI 3.1 `webhooks`: one POST per
//! event type, its body the Standard Webhooks payload with an example.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::Response;
use utoipa::openapi::{PathsBuilder, Ref, Required};
use utoipa::{Modify, PartialSchema, ToSchema};

use crate::domain::webhook::{EVENT_TYPES, example};

/// What every webhook request carries: `{"type", "timestamp", "data"}`, signed with the
/// `webhook-id`, `webhook-timestamp` and `webhook-signature` headers.
#[derive(ToSchema)]
#[allow(dead_code)] // Only its schema is used: payloads are built as JSON values.
pub struct WebhookPayload {
    /// The event type, e.g. `member.added`.
    r#type: String,
    /// When the change happened, RFC 3339 in UTC.
    timestamp: String,
    /// The event's details: `organization` (`id`, `slug`), `actor` (`user_id`,
    /// `email`, or null when Roster acted) and `member` or `invitation`.
    #[schema(value_type = Object)]
    data: serde_json::Value,
}

pub struct Webhooks;

impl Modify for Webhooks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .schemas
            .insert("WebhookPayload".into(), WebhookPayload::schema());
        let mut paths = PathsBuilder::new();
        for (event_type, label) in EVENT_TYPES {
            let body = RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("WebhookPayload")))
                        .example(Some(example(event_type)))
                        .build(),
                )
                .build();
            let operation = OperationBuilder::new()
                .summary(Some(*label))
                .description(Some(
                    "Signed with the Standard Webhooks scheme (headers webhook-id, webhook-timestamp, webhook-signature). Answer with any 2xx status; anything else, or no answer within 10 seconds, is retried with exponential backoff.",
                ))
                .operation_id(Some(*event_type))
                .request_body(Some(body))
                .response("200", Response::new("Received"));
            paths = paths.path(*event_type, PathItem::new(HttpMethod::Post, operation));
        }
        openapi.webhooks = Some(paths.build());
    }
}
