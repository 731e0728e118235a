-- How many memberships an organization has, kept in step by a trigger, so that the
-- Members page and every invitation's limit check read one row instead of counting an
-- organization's members (100,000 index entries for a large one) on each request.
ALTER TABLE organizations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE organizations SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.org_id = organizations.id);
CREATE FUNCTION memberships_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE organizations SET member_count = member_count + 1 WHERE id = NEW.org_id;
    ELSE
        UPDATE organizations SET member_count = member_count - 1 WHERE id = OLD.org_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER memberships_count AFTER INSERT OR DELETE ON memberships
    FOR EACH ROW EXECUTE FUNCTION memberships_count();
