-- Secrets this installation makes for itself, shared by every instance on the database:
-- created by the first instance that needs one, then read by all. 'flash_key' signs
-- the cookie that carries flash messages to the next page.
CREATE TABLE secrets (
    name        TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
