-- An index of every membership's email and name by trigram, so that the Members page's
-- search (a substring of either) reads the matching members instead of scanning all of
-- an organization's members. It is an external-content FTS5 table over memberships'
-- sort keys, kept in step by triggers; its trigram tokenizer matches any substring of
-- three characters or more, ignoring case (shorter searches still scan).
CREATE VIRTUAL TABLE member_search USING fts5(
    sort_email, sort_name, content = 'memberships', content_rowid = 'id', tokenize = 'trigram'
);
INSERT INTO member_search (member_search) VALUES ('rebuild');
CREATE TRIGGER memberships_search_insert AFTER INSERT ON memberships BEGIN
    INSERT INTO member_search (rowid, sort_email, sort_name) VALUES (NEW.id, NEW.sort_email, NEW.sort_name);
END;
CREATE TRIGGER memberships_search_delete AFTER DELETE ON memberships BEGIN
    INSERT INTO member_search (member_search, rowid, sort_email, sort_name)
        VALUES ('delete', OLD.id, OLD.sort_email, OLD.sort_name);
END;
CREATE TRIGGER memberships_search_update AFTER UPDATE OF sort_email, sort_name ON memberships BEGIN
    INSERT INTO member_search (member_search, rowid, sort_email, sort_name)
        VALUES ('delete', OLD.id, OLD.sort_email, OLD.sort_name);
    INSERT INTO member_search (rowid, sort_email, sort_name) VALUES (NEW.id, NEW.sort_email, NEW.sort_name);
END;
