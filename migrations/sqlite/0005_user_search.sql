-- The instance's Users page searches by the start of an email address (the unique index
-- on email_normalized serves it) or of a name, in any case.
CREATE INDEX users_name_lower ON users (LOWER(name));
