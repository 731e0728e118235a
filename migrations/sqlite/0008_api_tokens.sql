-- API tokens: a member's bearer credentials for /api/v1 in one organization. Only a
-- SHA-256 hash of the secret is kept; `prefix` is the secret's first characters, shown
-- in lists so a token can be recognized. A token belongs to a membership, so removing
-- the member removes its tokens.
CREATE TABLE api_tokens (
    id              INTEGER PRIMARY KEY,
    membership_id   INTEGER NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    org_id          INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name            TEXT    NOT NULL,
    prefix          TEXT    NOT NULL,
    token_hash      TEXT    NOT NULL UNIQUE,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    last_used_at    INTEGER
);
CREATE INDEX api_tokens_membership ON api_tokens (membership_id);
CREATE INDEX api_tokens_org ON api_tokens (org_id, created_at, id);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
