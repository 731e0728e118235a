-- Password reset links ("Forgot your password?", or sent by an instance admin). An
-- account has at most one live link: a new one replaces the last. Only a SHA-256 hash
-- of the link's secret is kept. Using the link deletes its row (single use), and every
-- change of the account's password deletes it too (`db::users`).
CREATE TABLE password_resets (
    user_id     BIGINT  PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    token_hash  TEXT    NOT NULL UNIQUE,
    created_at  BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL
);
