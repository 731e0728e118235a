-- A change of an account's address waiting for its confirmation: one per account (a new
-- request replaces it), found by the hash of the link's token, used once.
CREATE TABLE email_changes (
    user_id               INTEGER  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    new_email             TEXT    NOT NULL,
    token_hash            TEXT    NOT NULL UNIQUE,
    created_at            INTEGER  NOT NULL,
    expires_at            INTEGER  NOT NULL
);
