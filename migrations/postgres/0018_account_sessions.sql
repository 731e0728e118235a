-- The signed-in sessions of each account, as the Account page lists them. The session
-- store's records are opaque, so this row keeps what the list shows; it is keyed by the
-- store's session id (known once the session is saved after signing in), so that ending a
-- session deletes the store's record and this row together. A row whose record expired,
-- or that a later change of password ended, is not listed.
CREATE TABLE account_sessions (
    session_id    TEXT    PRIMARY KEY,
    user_id       BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_agent    TEXT    NOT NULL,
    ip            TEXT    NOT NULL,
    signed_in_at  BIGINT  NOT NULL,
    last_seen_at  BIGINT  NOT NULL
);
CREATE INDEX account_sessions_user ON account_sessions (user_id, signed_in_at);
