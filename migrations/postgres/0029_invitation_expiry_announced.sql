-- An invitation's expiry is announced (the `invitation.expired` webhook event) once per
-- expiry date: the worker stores here the `expires_at` it announced, so a resend, which
-- moves `expires_at`, makes the next expiry announced again. Invitations that expired
-- before webhooks existed are not announced.
ALTER TABLE invitations ADD COLUMN expiry_announced_for BIGINT;
UPDATE invitations SET expiry_announced_for = expires_at
 WHERE state = 'pending' AND expires_at <= EXTRACT(EPOCH FROM now())::BIGINT;
CREATE INDEX invitations_expiry_due ON invitations (expires_at) WHERE state = 'pending';
