-- How many invitations of an organization are pending (expired or not), kept in step by
-- triggers, so that every invitation's limit check reads one row and counts only the
-- expired ones (through invitations_pending_expiry) instead of counting every pending
-- invitation of the organization (tens of thousands for a large one) on each request.
ALTER TABLE organizations ADD COLUMN pending_count INTEGER NOT NULL DEFAULT 0;
UPDATE organizations SET pending_count =
    (SELECT COUNT(*) FROM invitations i WHERE i.org_id = organizations.id AND i.state = 'pending');
CREATE INDEX invitations_pending_expiry ON invitations (org_id, state, expires_at) WHERE state = 'pending';
CREATE TRIGGER invitations_pending_insert AFTER INSERT ON invitations
WHEN NEW.state = 'pending' BEGIN
    UPDATE organizations SET pending_count = pending_count + 1 WHERE id = NEW.org_id;
END;
CREATE TRIGGER invitations_pending_delete AFTER DELETE ON invitations
WHEN OLD.state = 'pending' BEGIN
    UPDATE organizations SET pending_count = pending_count - 1 WHERE id = OLD.org_id;
END;
CREATE TRIGGER invitations_pending_update AFTER UPDATE OF state, org_id ON invitations
WHEN (OLD.state = 'pending') <> (NEW.state = 'pending') OR OLD.org_id <> NEW.org_id BEGIN
    UPDATE organizations SET pending_count = pending_count - 1
        WHERE id = OLD.org_id AND OLD.state = 'pending';
    UPDATE organizations SET pending_count = pending_count + 1
        WHERE id = NEW.org_id AND NEW.state = 'pending';
END;
