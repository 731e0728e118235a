-- Webhook endpoints: an organization's URLs that receive signed member and invitation
-- events. The signing secret is sealed (`sealed::Purpose::WebhookSecret`) because Roster
-- must read it back to sign; during a rotation the previous one signs too, until
-- `previous_secret_until`.
CREATE TABLE webhook_endpoints (
    id                     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id                 BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url                    TEXT    NOT NULL,
    description            TEXT    NOT NULL DEFAULT '',
    -- '*' for every event, else the event types, comma-separated.
    events                 TEXT    NOT NULL,
    secret_sealed          TEXT    NOT NULL,
    previous_secret_sealed TEXT,
    previous_secret_until  BIGINT,
    created_at             BIGINT  NOT NULL,
    -- Set while disabled; 'owner' (by a person) or 'failing' (by Roster).
    disabled_at            BIGINT,
    disabled_reason        TEXT,
    -- When the current run of failed attempts began; NULL after a success.
    failing_since          BIGINT
);
CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id);

-- One event, as signed and sent to every endpoint that wants it.
CREATE TABLE webhook_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    event_type  TEXT    NOT NULL,
    payload     TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- One event for one endpoint, written in the transaction of the change, delivered by
-- the worker (claimed like the email outbox).
CREATE TABLE webhook_deliveries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id      BIGINT  NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id         BIGINT  NOT NULL REFERENCES webhook_events (id) ON DELETE CASCADE,
    created_at       BIGINT  NOT NULL,
    next_attempt_at  BIGINT  NOT NULL,
    claimed_until    BIGINT,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    last_attempt_at  BIGINT,
    delivered_at     BIGINT,
    last_status      BIGINT,
    -- The first bytes of the last answer, made safe to show; or why there was none.
    last_response    TEXT,
    last_error       TEXT
);
-- The head of each endpoint's queue (its oldest undelivered event) is what is due.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, id) WHERE delivered_at IS NULL;
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (endpoint_id, id DESC);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
