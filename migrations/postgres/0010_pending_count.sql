-- How many invitations of an organization are pending (expired or not), kept in step by
-- triggers, so that every invitation's limit check reads one row and counts only the
-- expired ones (through invitations_pending_expiry) instead of counting every pending
-- invitation of the organization (tens of thousands for a large one) on each request.
-- Inserts and deletes are counted once per statement from the transition table, so a
-- bulk insert of many invitations updates each organization once; a change of state
-- (accept, decline, revoke) is counted per row, and only when the state changes.
ALTER TABLE organizations ADD COLUMN pending_count BIGINT NOT NULL DEFAULT 0;
UPDATE organizations SET pending_count =
    (SELECT COUNT(*) FROM invitations i WHERE i.org_id = organizations.id AND i.state = 'pending');
-- (PostgreSQL drops the predicate's column from the index condition, so state must
-- not sit between org_id and expires_at here; SQLite wants it, to cover the count.)
CREATE INDEX invitations_pending_expiry ON invitations (org_id, expires_at) WHERE state = 'pending';

CREATE FUNCTION invitations_pending_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE organizations o SET pending_count = o.pending_count + n.count
    FROM (SELECT org_id, COUNT(*) AS count FROM inserted WHERE state = 'pending' GROUP BY org_id) n
    WHERE o.id = n.org_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER invitations_pending_insert AFTER INSERT ON invitations
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION invitations_pending_inserted();

CREATE FUNCTION invitations_pending_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE organizations o SET pending_count = o.pending_count - n.count
    FROM (SELECT org_id, COUNT(*) AS count FROM deleted WHERE state = 'pending' GROUP BY org_id) n
    WHERE o.id = n.org_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER invitations_pending_delete AFTER DELETE ON invitations
    REFERENCING OLD TABLE AS deleted
    FOR EACH STATEMENT EXECUTE FUNCTION invitations_pending_deleted();

CREATE FUNCTION invitations_pending_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.state = 'pending' THEN
        UPDATE organizations SET pending_count = pending_count - 1 WHERE id = OLD.org_id;
    END IF;
    IF NEW.state = 'pending' THEN
        UPDATE organizations SET pending_count = pending_count + 1 WHERE id = NEW.org_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER invitations_pending_update AFTER UPDATE OF state, org_id ON invitations
    FOR EACH ROW
    WHEN ((OLD.state = 'pending') IS DISTINCT FROM (NEW.state = 'pending') OR OLD.org_id IS DISTINCT FROM NEW.org_id)
    EXECUTE FUNCTION invitations_pending_updated();
