-- The Members and Invitations pages walk pending invitations in (created_at, id) order.
-- With only created_at in the index, PostgreSQL read every invitation of a shared
-- created_at (a bulk import gives thousands the same second) and sorted them by id
-- before it could take the first; with id as well, it reads just the rows a page needs.
-- (SQLite's index already ended in the rowid; the two schemas stay the same.)
DROP INDEX invitations_org_state;
CREATE INDEX invitations_org_state ON invitations (org_id, state, created_at, id);
