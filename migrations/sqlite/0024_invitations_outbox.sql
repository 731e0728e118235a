-- The progress of a bulk send counts the emails of one batch (a range of outbox ids)
-- that belong to the organization's invitations: from each outbox row to its invitation.
CREATE INDEX invitations_outbox ON invitations (outbox_id) WHERE outbox_id IS NOT NULL;
