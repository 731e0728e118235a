//! Invitation rules that need no storage: states, address lists, and what will happen
//! to each requested address.

use super::Role;

/// What a person sees of an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pending,
    Expired,
    Accepted,
    Declined,
    Revoked,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Pending,
        Status::Expired,
        Status::Accepted,
        Status::Declined,
        Status::Revoked,
    ];

    /// The status of a stored invitation at `now`: a pending one past its expiry is expired.
    pub fn of(state: &str, expires_at: i64, now: i64) -> Status {
        match state {
            "accepted" => Status::Accepted,
            "declined" => Status::Declined,
            "revoked" => Status::Revoked,
            _ if expires_at <= now => Status::Expired,
            _ => Status::Pending,
        }
    }

    /// The name in URLs (`?status=expired`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Expired => "expired",
            Status::Accepted => "accepted",
            Status::Declined => "declined",
            Status::Revoked => "revoked",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Status::Pending => "Pending",
            Status::Expired => "Expired",
            Status::Accepted => "Accepted",
            Status::Declined => "Declined",
            Status::Revoked => "Revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// Splits a typed list of addresses on commas, semicolons, spaces and new lines.
pub fn split_addresses(input: &str) -> Vec<&str> {
    input
        .split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .collect()
}

/// What inviting one requested address will do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// A new invitation (or a fresh one in place of an expired one).
    Invite,
    AlreadyMember,
    AlreadyInvited,
    Invalid(&'static str),
    Duplicate,
    DomainNotAllowed,
    /// The role is above what the inviter may grant.
    RoleNotAllowed(Role),
    /// Over the pending-invitation or member limit.
    OverLimit,
    /// A CSV row's role column names no role.
    UnknownRole(String),
    /// A CSV row's `access_until` column is not a day from today on (why, in words).
    BadAccessUntil(String),
}

impl Outcome {
    pub fn is_invite(&self) -> bool {
        matches!(self, Outcome::Invite)
    }

    /// A stable name for the API.
    pub fn code(&self) -> &'static str {
        match self {
            Outcome::Invite => "invited",
            Outcome::AlreadyMember => "already_member",
            Outcome::AlreadyInvited => "already_invited",
            Outcome::Invalid(_) => "invalid_email",
            Outcome::Duplicate => "duplicate",
            Outcome::DomainNotAllowed => "domain_not_allowed",
            Outcome::RoleNotAllowed(_) => "role_not_allowed",
            Outcome::OverLimit => "over_limit",
            Outcome::UnknownRole(_) => "unknown_role",
            Outcome::BadAccessUntil(_) => "invalid_access_until",
        }
    }

    /// A short explanation, as the CSV preview and field messages show it.
    pub fn describe(&self) -> String {
        match self {
            Outcome::Invite => "will be invited".into(),
            Outcome::AlreadyMember => "already a member".into(),
            Outcome::AlreadyInvited => {
                "already invited (resend the pending invitation instead)".into()
            }
            Outcome::Invalid(why) => format!("invalid address: {why}"),
            Outcome::Duplicate => "duplicate in this list".into(),
            Outcome::DomainNotAllowed => "domain not allowed in this organization".into(),
            Outcome::RoleNotAllowed(role) => format!("you cannot invite as {}", role.label()),
            Outcome::OverLimit => "over the organization's limit".into(),
            Outcome::UnknownRole(role) => {
                format!(
                    "unknown role “{role}”; use one of {}",
                    Role::accepted_names()
                )
            }
            Outcome::BadAccessUntil(why) => format!("access until: {why}"),
        }
    }
}

/// Rows accepted in one CSV file.
pub const MAX_CSV_ROWS: usize = 10_000;

/// One data row of an uploaded CSV file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvRow {
    /// The line in the file, for the preview.
    pub line: u64,
    pub email: String,
    /// The role column as written; empty when absent.
    pub role: String,
    /// The third column, the last day of access (`YYYY-MM-DD`); empty when absent.
    pub access_until: String,
}

/// Reads a CSV file of invitations: a column of emails, an optional role column and an
/// optional `access_until` column, with or without a header row. Blank rows are skipped.
pub fn parse_csv(data: &[u8]) -> Result<Vec<CsvRow>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(data);
    let mut rows = Vec::new();
    for (index, record) in reader.records().enumerate() {
        let record = record.map_err(|e| format!("The file is not valid CSV: {e}."))?;
        let email = record
            .get(0)
            .unwrap_or_default()
            .trim_start_matches('\u{feff}')
            .to_string();
        let role = record.get(1).unwrap_or_default().to_string();
        let access_until = record.get(2).unwrap_or_default().to_string();
        if index == 0
            && matches!(
                email.to_lowercase().as_str(),
                "email" | "e-mail" | "email address" | "address"
            )
        {
            continue;
        }
        if email.is_empty() && role.is_empty() && access_until.is_empty() {
            continue;
        }
        if rows.len() == MAX_CSV_ROWS {
            return Err(format!(
                "The file has more than {MAX_CSV_ROWS} rows; split it into smaller files."
            ));
        }
        let line = record.position().map_or(index as u64 + 1, |p| p.line());
        rows.push(CsvRow {
            line,
            email,
            role,
            access_until,
        });
    }
    if rows.is_empty() {
        return Err("The file has no email addresses.".into());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_follows_state_and_expiry() {
        assert_eq!(Status::of("pending", 100, 99), Status::Pending);
        assert_eq!(Status::of("pending", 100, 100), Status::Expired);
        assert_eq!(Status::of("accepted", 100, 200), Status::Accepted);
        assert_eq!(Status::of("revoked", 100, 0), Status::Revoked);
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn csv_with_or_without_header_and_role_column() {
        let with_header = parse_csv(b"Email,Role\na@example.com,admin\n\nb@example.com\n").unwrap();
        assert_eq!(with_header.len(), 2);
        assert_eq!(
            with_header[0],
            CsvRow {
                line: 2,
                email: "a@example.com".into(),
                role: "admin".into(),
                access_until: String::new(),
            }
        );
        let temporary = parse_csv(
            b"email,role,access_until
t@example.com,,2027-01-12
",
        )
        .unwrap();
        assert_eq!(
            (
                temporary[0].role.as_str(),
                temporary[0].access_until.as_str()
            ),
            ("", "2027-01-12")
        );
        assert_eq!(with_header[1].role, "");
        let bare = parse_csv(b"\xef\xbb\xbfc@example.com\n").unwrap();
        assert_eq!(
            bare[0].email, "c@example.com",
            "a byte-order mark is ignored"
        );
        assert!(parse_csv(b"email\n").is_err());
    }

    #[test]
    fn csv_has_a_row_limit() {
        let big: String = (0..=MAX_CSV_ROWS)
            .map(|n| format!("p{n}@example.com\n"))
            .collect();
        assert!(
            parse_csv(big.as_bytes())
                .unwrap_err()
                .contains("more than 10000 rows")
        );
    }

    #[test]
    fn addresses_split_on_any_separator() {
        let typed = "a@example.com, b@example.com\nc@example.com;d@example.com  e@example.com";
        assert_eq!(split_addresses(typed).len(), 5);
        assert!(split_addresses(" , \n").is_empty());
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        fn is_separator(c: char) -> bool {
            c == ',' || c == ';' || c.is_whitespace()
        }

        /// A CSV cell as a person would write one: no surrounding spaces, no BOM.
        fn cell() -> impl Strategy<Value = String> {
            "[^\\p{Cc}\u{feff}]{0,30}".prop_map(|s| s.trim().to_string())
        }

        proptest! {
            #[test]
            fn splitting_never_panics_and_leaves_no_separator(input in any::<String>()) {
                for piece in split_addresses(&input) {
                    prop_assert!(!piece.is_empty());
                    prop_assert!(!piece.chars().any(is_separator));
                }
            }

            #[test]
            fn split_addresses_joined_again_split_the_same(input in any::<String>()) {
                let pieces = split_addresses(&input);
                let joined = pieces.join("\n");
                prop_assert_eq!(split_addresses(&joined), pieces.clone());
                let joined = pieces.join(", ");
                prop_assert_eq!(split_addresses(&joined), pieces);
            }

            #[test]
            fn every_address_typed_is_found(
                addresses in proptest::collection::vec("[a-z0-9._+-]{1,10}@[a-z0-9-]{1,10}\\.[a-z]{2,5}", 0..20),
                separators in proptest::collection::vec("[,; \t\r\n]{1,3}", 20),
            ) {
                let typed: String = addresses
                    .iter()
                    .zip(&separators)
                    .map(|(a, sep)| format!("{a}{sep}"))
                    .collect();
                prop_assert_eq!(split_addresses(&typed), addresses.iter().map(String::as_str).collect::<Vec<_>>());
            }

            #[test]
            fn reading_any_file_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
                let _ = parse_csv(&data);
            }

            #[test]
            fn rows_written_as_csv_read_back_as_written(
                rows in proptest::collection::vec((cell(), cell()), 1..30)
            ) {
                // What the reader skips: a header line and empty rows.
                let header = |email: &str| matches!(
                    email.to_lowercase().as_str(),
                    "email" | "e-mail" | "email address" | "address"
                );
                prop_assume!(!header(&rows[0].0));
                let expected: Vec<(String, String)> = rows
                    .iter()
                    .filter(|(email, role)| !(email.is_empty() && role.is_empty()))
                    .cloned()
                    .collect();
                prop_assume!(!expected.is_empty());
                let mut writer = csv::Writer::from_writer(Vec::new());
                for (email, role) in &rows {
                    writer.write_record([email, role]).unwrap();
                }
                let data = writer.into_inner().unwrap();

                let read = parse_csv(&data).unwrap();

                let read: Vec<(String, String)> =
                    read.into_iter().map(|r| (r.email, r.role)).collect();
                prop_assert_eq!(read, expected);
            }

            #[test]
            fn the_line_of_a_row_is_where_it_is_in_the_file(
                emails in proptest::collection::vec("[a-z]{1,8}@example\\.com", 1..20)
            ) {
                let data = emails.join("\n");

                let rows = parse_csv(data.as_bytes()).unwrap();

                for (index, row) in rows.iter().enumerate() {
                    prop_assert_eq!(row.line, index as u64 + 1);
                    prop_assert_eq!(&row.email, &emails[index]);
                }
            }
        }
    }
}
