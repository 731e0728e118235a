-- How many memberships an organization has, kept in step by triggers, so that the
-- Members page and every invitation's limit check read one row instead of counting an
-- organization's members (100,000 index entries for a large one) on each request.
ALTER TABLE organizations ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0;
UPDATE organizations SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.org_id = organizations.id);
CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships BEGIN
    UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.org_id;
END;
CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships BEGIN
    UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.org_id;
END;
