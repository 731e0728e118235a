-- Two-factor authentication (TOTP, RFC 6238). The secret is kept encrypted with a key
-- derived from the installation's secret (`two_factor::Sealer`); NULL when the account
-- has no second factor. The last accepted time step is kept so that no code is accepted
-- twice: a code is taken by one conditional UPDATE that raises it.
ALTER TABLE users ADD COLUMN two_factor_secret TEXT;
ALTER TABLE users ADD COLUMN two_factor_enabled_at INTEGER;
ALTER TABLE users ADD COLUMN two_factor_last_step INTEGER NOT NULL DEFAULT 0;

-- Single-use recovery codes: only a SHA-256 hash of each (high-entropy) code is stored;
-- using one deletes it.
CREATE TABLE recovery_codes (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT    NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

-- An organization may require its members to have a second factor.
ALTER TABLE organizations ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;
