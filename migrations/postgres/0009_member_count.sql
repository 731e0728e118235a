-- How many memberships an organization has, kept in step by triggers, so that the
-- Members page and every invitation's limit check read one row instead of counting an
-- organization's members (100,000 index entries for a large one) on each request.
-- Statement-level triggers: a statement inserting or deleting many memberships updates
-- each organization once, not once per row.
ALTER TABLE organizations ADD COLUMN member_count BIGINT NOT NULL DEFAULT 0;
UPDATE organizations SET member_count = (SELECT COUNT(*) FROM memberships m WHERE m.org_id = organizations.id);
CREATE FUNCTION memberships_count_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE organizations o SET member_count = o.member_count + c.n
    FROM (SELECT org_id, COUNT(*) AS n FROM inserted GROUP BY org_id) c WHERE o.id = c.org_id;
    RETURN NULL;
END
$$;
CREATE FUNCTION memberships_count_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE organizations o SET member_count = o.member_count - c.n
    FROM (SELECT org_id, COUNT(*) AS n FROM deleted GROUP BY org_id) c WHERE o.id = c.org_id;
    RETURN NULL;
END
$$;
CREATE TRIGGER memberships_count_insert AFTER INSERT ON memberships
    REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION memberships_count_insert();
CREATE TRIGGER memberships_count_delete AFTER DELETE ON memberships
    REFERENCING OLD TABLE AS deleted FOR EACH STATEMENT EXECUTE FUNCTION memberships_count_delete();
