-- A parsed CSV upload waiting for its confirmation; deleted once confirmed.
CREATE TABLE csv_imports (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id     BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  BIGINT  NOT NULL,
    -- JSON array of [email, role] pairs, in file order.
    rows        TEXT    NOT NULL
);
