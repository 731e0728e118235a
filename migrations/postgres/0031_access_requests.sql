-- Access requests: where members may not invite, a Member or Billing manager asks the
-- Owners and Admins to invite someone. Approving invites the addresses as the approver,
-- crediting the requester; declining tells the requester why.
CREATE TABLE access_requests (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    org_id        BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    requested_by  BIGINT REFERENCES users (id) ON DELETE SET NULL,
    -- The requester's email when they asked, for the list once the account is gone.
    requester_email TEXT NOT NULL,
    -- The addresses, normalized, one per line.
    emails        TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'billing', 'member', 'viewer')),
    reason        TEXT NOT NULL,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'declined')),
    created_at    BIGINT NOT NULL,
    decided_by    BIGINT REFERENCES users (id) ON DELETE SET NULL,
    decided_at    BIGINT,
    note          TEXT NOT NULL DEFAULT ''
);
-- The navigation counts an organization's pending requests on every page.
CREATE INDEX access_requests_org_pending ON access_requests (org_id, created_at) WHERE state = 'pending';
-- Who asked for an invitation that an Owner or Admin sent on their request.
ALTER TABLE invitations ADD COLUMN requested_by BIGINT REFERENCES users (id) ON DELETE SET NULL;
