-- A parsed CSV upload waiting for its confirmation; deleted once confirmed.
CREATE TABLE csv_imports (
    id          INTEGER PRIMARY KEY,
    org_id      INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    -- JSON array of [email, role] pairs, in file order.
    rows        TEXT    NOT NULL
);
