-- The audit log pages list one organization's events (or the instance's, org_id NULL)
-- newest first, by (at, id), optionally for one action, actor or target; each filter has
-- an index that yields that order, so a page never reads more than it shows.
DROP INDEX audit_events_org_at;
CREATE INDEX audit_events_org_at ON audit_events (org_id, at, id);
CREATE INDEX audit_events_org_action_at ON audit_events (org_id, action, at, id);
CREATE INDEX audit_events_org_actor_at ON audit_events (org_id, LOWER(actor_email), at, id);
CREATE INDEX audit_events_org_target_at ON audit_events (org_id, LOWER(target_email), at, id);
-- Retention deletes by age.
CREATE INDEX audit_events_at ON audit_events (at);
