-- Membership expiry. `access_until` is the last day of access, as the Unix time of its
-- 00:00 UTC: access ends at the following midnight. NULL: no end.
-- An invitation carries it to the membership it becomes.
ALTER TABLE memberships ADD COLUMN access_until INTEGER;
-- When the worker sent the warning seven days before the end (once per date set).
ALTER TABLE memberships ADD COLUMN access_warned_at INTEGER;
ALTER TABLE invitations ADD COLUMN access_until INTEGER;
-- The worker looks only at memberships that end.
CREATE INDEX memberships_access_until ON memberships (access_until) WHERE access_until IS NOT NULL;
