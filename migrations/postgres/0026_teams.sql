-- Teams: named groups of an organization's members (the Teams page, and SCIM Groups
-- later). A name is unique in its organization compared case-insensitively: `name_key`
-- holds it lower-cased by Roster (SQLite's LOWER folds ASCII only), and the unique
-- index decides between two requests creating the same name at once.
CREATE TABLE teams (
    id          BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id      BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    UNIQUE (org_id, name_key)
);

-- A member in a team, keyed by the membership: removing a member from the organization
-- (or deleting the account) deletes the membership, and with it every team place.
CREATE TABLE team_members (
    team_id        BIGINT  NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    membership_id  BIGINT  NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    added_at       BIGINT  NOT NULL,
    PRIMARY KEY (team_id, membership_id)
);
-- A member's teams (the Members page's Teams column and filter, the cascade).
CREATE INDEX team_members_membership ON team_members (membership_id, team_id);
