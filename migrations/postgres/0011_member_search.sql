-- Trigram indexes of every membership's email and name, so that the Members page's
-- search (a substring of either, LIKE '%…%') reads the matching members instead of
-- scanning all of an organization's members. pg_trgm ships with PostgreSQL and is a
-- trusted extension: the database's owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX memberships_search_email ON memberships USING gin (sort_email gin_trgm_ops);
CREATE INDEX memberships_search_name ON memberships USING gin (sort_name gin_trgm_ops);
