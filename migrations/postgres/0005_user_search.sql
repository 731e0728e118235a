-- The instance's Users page searches by the start of an email address or of a name, in
-- any case, as a byte-wise range (COLLATE "C") that these indexes serve under any
-- database collation.
CREATE INDEX users_email_c ON users (email_normalized COLLATE "C");
CREATE INDEX users_name_lower_c ON users ((LOWER(name) COLLATE "C"));
