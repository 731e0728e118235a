-- Who ended an invitation (revoked it, or the invitee who accepted or declined it while
-- signed in), shown beside when on the Invitations page. NULL for invitations ended
-- before this column existed, by someone without an account, or by an account since
-- deleted.
ALTER TABLE invitations ADD COLUMN ended_by INTEGER REFERENCES users (id) ON DELETE SET NULL;

-- A CSV preview is shown from its own GET address (after the upload's redirect), so the
-- upload keeps what the preview shows besides its rows: the file's name and each row's
-- line in the file (a JSON array in the order of `rows`).
ALTER TABLE csv_imports ADD COLUMN file_name TEXT NOT NULL DEFAULT '';
ALTER TABLE csv_imports ADD COLUMN lines TEXT NOT NULL DEFAULT '[]';
