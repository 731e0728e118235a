-- How an account signs in; 'password' until identity providers provision accounts.
ALTER TABLE users ADD COLUMN auth_method TEXT NOT NULL DEFAULT 'password';

-- The Members page sorts and searches one organization's members by email and name.
-- Copies of the account's normalized email and lower-cased name live on the membership
-- (kept in step by db::users::update_name), so that those orders come from an index on
-- (org_id, key) instead of sorting every member of a large organization.
ALTER TABLE memberships ADD COLUMN sort_email TEXT NOT NULL DEFAULT '';
ALTER TABLE memberships ADD COLUMN sort_name TEXT NOT NULL DEFAULT '';
UPDATE memberships SET
    sort_email = (SELECT email_normalized FROM users WHERE users.id = memberships.user_id),
    sort_name = (SELECT LOWER(name) FROM users WHERE users.id = memberships.user_id);
CREATE INDEX memberships_org_email ON memberships (org_id, sort_email, id);
CREATE INDEX memberships_org_name ON memberships (org_id, sort_name, id);
CREATE INDEX memberships_org_active ON memberships (org_id, last_active_at, id);
CREATE INDEX memberships_org_role ON memberships (org_id, role, status);

CREATE INDEX invitations_org_pending_email ON invitations (org_id, email_normalized, id) WHERE state = 'pending';
