CREATE TABLE invitations (
    id                INTEGER PRIMARY KEY,
    org_id            INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    email             TEXT    NOT NULL,
    email_normalized  TEXT    NOT NULL,
    role              TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer')),
    invited_by        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at        INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    last_sent_at      INTEGER NOT NULL,
    send_count        INTEGER NOT NULL DEFAULT 1,
    -- SHA-256 of the current link's token; a resend replaces it.
    token_hash        TEXT    NOT NULL UNIQUE,
    -- 'pending' past expires_at is shown as expired.
    state             TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'declined', 'revoked')),
    ended_at          INTEGER,
    -- The latest email about this invitation, for its delivery state.
    outbox_id         INTEGER REFERENCES outbox (id) ON DELETE SET NULL
);
-- At most one open invitation per address and organization.
CREATE UNIQUE INDEX invitations_open ON invitations (org_id, email_normalized) WHERE state = 'pending';
CREATE INDEX invitations_org_state ON invitations (org_id, state, created_at);
