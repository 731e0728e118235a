CREATE TABLE invitations (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id            BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email             TEXT    NOT NULL,
    email_normalized  TEXT    NOT NULL,
    role              TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer')),
    invited_by        BIGINT  REFERENCES users (id) ON DELETE SET NULL,
    created_at        BIGINT  NOT NULL,
    expires_at        BIGINT  NOT NULL,
    last_sent_at      BIGINT  NOT NULL,
    send_count        BIGINT  NOT NULL DEFAULT 1,
    -- SHA-256 of the current link's token; a resend replaces it.
    token_hash        TEXT    NOT NULL UNIQUE,
    -- 'pending' past expires_at is shown as expired.
    state             TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'declined', 'revoked')),
    ended_at          BIGINT,
    -- The latest email about this invitation, for its delivery state.
    outbox_id         BIGINT  REFERENCES outbox (id) ON DELETE SET NULL
);
-- At most one open invitation per address and organization.
CREATE UNIQUE INDEX invitations_open ON invitations (org_id, email_normalized) WHERE state = 'pending';
CREATE INDEX invitations_org_state ON invitations (org_id, state, created_at);
