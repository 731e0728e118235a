-- Times are Unix seconds (UTC) in both backends, so that the same SQL compares them.

CREATE TABLE users (
    id                   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email                TEXT    NOT NULL,
    email_normalized     TEXT    NOT NULL UNIQUE,
    name                 TEXT    NOT NULL,
    password_hash        TEXT    NOT NULL,
    is_instance_admin    BOOLEAN NOT NULL DEFAULT FALSE,
    status               TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deactivated')),
    created_at           BIGINT  NOT NULL,
    last_sign_in_at      BIGINT,
    -- Sessions started before this moment are no longer honoured.
    sessions_valid_after BIGINT  NOT NULL DEFAULT 0
);

CREATE TABLE organizations (
    id                        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                      TEXT    NOT NULL,
    slug                      TEXT    NOT NULL UNIQUE,
    invitation_lifetime_secs  BIGINT  NOT NULL DEFAULT 604800,
    max_pending_invitations   BIGINT  NOT NULL DEFAULT 50,
    max_members               BIGINT  NOT NULL DEFAULT 1000,
    seats                     BIGINT,
    members_may_invite        BOOLEAN NOT NULL DEFAULT FALSE,
    allowed_email_domains     TEXT    NOT NULL DEFAULT '',
    created_at                BIGINT  NOT NULL
);

CREATE TABLE memberships (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id          BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer')),
    status          TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    has_seat        BOOLEAN NOT NULL DEFAULT FALSE,
    joined_at       BIGINT  NOT NULL,
    invited_by      BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    last_active_at  BIGINT,
    UNIQUE (org_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);
CREATE INDEX memberships_org_joined ON memberships (org_id, joined_at, id);

-- One row per issued first-run set-up link; only a hash of the token is kept.
CREATE TABLE setup_tokens (
    token_hash  TEXT    PRIMARY KEY,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE audit_events (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at             BIGINT  NOT NULL,
    org_id         BIGINT  REFERENCES organizations (id) ON DELETE SET NULL,
    actor_user_id  BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    actor_email    TEXT,
    action         TEXT    NOT NULL,
    target_kind    TEXT,
    target_id      BIGINT,
    target_email   TEXT,
    ip             TEXT,
    before_value   TEXT,
    after_value    TEXT
);
CREATE INDEX audit_events_org_at ON audit_events (org_id, at);
CREATE INDEX audit_events_action_target_at ON audit_events (action, target_email, at);
CREATE INDEX audit_events_action_ip_at ON audit_events (action, ip, at);

CREATE TABLE outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at       BIGINT  NOT NULL,
    recipient        TEXT    NOT NULL,
    subject          TEXT    NOT NULL,
    text_body        TEXT    NOT NULL,
    html_body        TEXT    NOT NULL,
    attempts         BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT  NOT NULL,
    -- A worker that claimed the message owns it until then.
    claimed_until    BIGINT,
    sent_at          BIGINT,
    -- Set when delivery failed for good (a permanent SMTP error, or too many attempts).
    gave_up_at       BIGINT,
    last_error       TEXT
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE sent_at IS NULL AND gave_up_at IS NULL;
