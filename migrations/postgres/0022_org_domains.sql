-- Domains an organization claims. A domain is claimed by publishing a TXT record at
-- `_roster-challenge.DOMAIN` holding the row's challenge, or marked verified by an
-- instance admin. Any number of organizations may have added a domain; it is verified
-- for one of them at a time (the partial unique index), so that single sign-on and
-- just-in-time membership have one organization to send its addresses to.
CREATE TABLE org_domains (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id           BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    domain           TEXT    NOT NULL,
    challenge        TEXT    NOT NULL,
    created_at       BIGINT  NOT NULL,
    verified_at      BIGINT,
    -- 'dns' or 'admin'; NULL until verified.
    verified_how     TEXT,
    last_checked_at  BIGINT,
    -- What the last failed check found, in words; NULL after a success.
    last_problem     TEXT,
    UNIQUE (org_id, domain)
);
CREATE UNIQUE INDEX org_domains_verified ON org_domains (domain) WHERE verified_at IS NOT NULL;
