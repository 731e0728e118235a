-- Counting an organization's assigned seats reads only the members that hold one.
CREATE INDEX memberships_org_seat ON memberships (org_id) WHERE has_seat;
