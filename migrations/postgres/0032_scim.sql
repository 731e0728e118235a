-- SCIM 2.0 provisioning (/scim/v2). An organization has at most one SCIM token; only
-- its SHA-256 hash is kept. default_role is the role the identity provider's new
-- members get (never Owner).
CREATE TABLE org_scim (
    org_id            BIGINT NOT NULL PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    token_hash        TEXT UNIQUE,
    token_created_at  BIGINT,
    token_created_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    token_used_at     BIGINT,
    default_role      TEXT NOT NULL DEFAULT 'member',
    updated_at        BIGINT NOT NULL
);

-- A member as a SCIM User. user_name is the identity provider's login name for them
-- (NULL: the account's address stands in); user_name_key is the name compared
-- case-insensitively (lower-cased by Roster), kept for every member so that a lookup
-- by userName is one index probe. scim_email is the address the provider last sent,
-- when it differs from the account's, and its `primary` flag as sent. updated_at is meta.lastModified (NULL: joined_at).
ALTER TABLE memberships ADD COLUMN user_name TEXT;
ALTER TABLE memberships ADD COLUMN user_name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN external_id TEXT;
ALTER TABLE memberships ADD COLUMN given_name TEXT;
ALTER TABLE memberships ADD COLUMN family_name TEXT;
ALTER TABLE memberships ADD COLUMN display_name TEXT;
ALTER TABLE memberships ADD COLUMN scim_email TEXT;
ALTER TABLE memberships ADD COLUMN scim_email_primary BOOLEAN;
ALTER TABLE memberships ADD COLUMN updated_at BIGINT;
UPDATE memberships SET user_name_key = sort_email;
CREATE INDEX memberships_user_name ON memberships (org_id, user_name_key);
CREATE INDEX memberships_external_id ON memberships (org_id, external_id);

-- A team as a SCIM Group: the identity provider's id for it.
ALTER TABLE teams ADD COLUMN external_id TEXT;
