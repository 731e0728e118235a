-- Trigram indexes of every membership's email and name, so that the Members page's
-- search (a substring of either, LIKE '%…%') reads the matching members instead of
-- scanning all of an organization's members. pg_trgm ships with PostgreSQL and is a
-- trusted extension: the database's owner may create it. Without fastupdate a new
-- member goes straight into the index instead of a pending list that every search
-- would read through until the next vacuum (members are added one at a time).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX memberships_search_email ON memberships USING gin (sort_email gin_trgm_ops)
    WITH (fastupdate = off);
CREATE INDEX memberships_search_name ON memberships USING gin (sort_name gin_trgm_ops)
    WITH (fastupdate = off);
