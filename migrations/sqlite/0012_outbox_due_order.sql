-- The mailer claims due messages in (next_attempt_at, id) order. With only
-- next_attempt_at in the index, PostgreSQL read and sorted the whole backlog on every
-- claim (12 ms for 12,000 waiting messages); with id as well, it reads just the rows it
-- claims. (SQLite's index already ended in the rowid; the two schemas stay the same.)
DROP INDEX outbox_due;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE sent_at IS NULL AND gave_up_at IS NULL;
