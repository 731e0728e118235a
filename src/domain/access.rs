//! Membership expiry: the last day a member (or an invited person, once they join) has
//! access. Access ends at the midnight (UTC) after that day, so "access until 12 Jan"
//! includes all of 12 January.

use time::{Date, Month, OffsetDateTime};

const DAY: i64 = 86_400;
/// How long before the end the member and their inviter are warned.
pub const WARNING_SECS: i64 = 7 * DAY;
/// Dates further out than this are refused as typing mistakes (year 20260).
const MAX_YEARS_AHEAD: i32 = 100;

/// The last day of access, as the Unix time of its 00:00 UTC (how it is stored).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AccessUntil(i64);

impl AccessUntil {
    /// A date typed as `YYYY-MM-DD` (what `<input type="date">` sends); empty means
    /// no end. A day before today (UTC, at `now`) is refused in words.
    pub fn parse(input: &str, now: i64) -> Result<Option<AccessUntil>, String> {
        let input = input.trim();
        if input.is_empty() {
            return Ok(None);
        }
        let until = AccessUntil::from_iso(input)
            .ok_or_else(|| "Enter the date as YYYY-MM-DD, for example 2027-01-12.".to_string())?;
        let date = until.date();
        let today = AccessUntil::day_of(now);
        if until < today {
            return Err(format!(
                "That date is in the past. Choose today ({}) or a later day.",
                today.iso()
            ));
        }
        if date.year() > today.date().year() + MAX_YEARS_AHEAD {
            return Err(format!(
                "Choose a date within the next {MAX_YEARS_AHEAD} years, or leave it empty for no end."
            ));
        }
        Ok(Some(until))
    }

    /// A `YYYY-MM-DD` date as it is, past or not (as `iso` writes it).
    pub fn from_iso(input: &str) -> Option<AccessUntil> {
        let date = parse_date(input)?;
        Some(AccessUntil(date.midnight().assume_utc().unix_timestamp()))
    }

    /// A value read from storage.
    pub fn from_stored(unix: i64) -> AccessUntil {
        AccessUntil(unix)
    }

    /// The day containing `unix`.
    fn day_of(unix: i64) -> AccessUntil {
        AccessUntil(unix.div_euclid(DAY) * DAY)
    }

    pub fn stored(self) -> i64 {
        self.0
    }

    /// When access ends: the midnight after the last day.
    pub fn ends_at(self) -> i64 {
        self.0 + DAY
    }

    /// When the warning email is due.
    pub fn warn_at(self) -> i64 {
        self.ends_at() - WARNING_SECS
    }

    fn date(self) -> Date {
        OffsetDateTime::from_unix_timestamp(self.0)
            .map(OffsetDateTime::date)
            .unwrap_or(Date::MIN)
    }

    /// `2027-01-12`, for `<time datetime>`, `<input type="date">` and the API.
    pub fn iso(self) -> String {
        let d = self.date();
        format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
    }

    /// `12 Jan 2027`, for a table cell.
    pub fn short(self) -> String {
        let d = self.date();
        let month = month_name(d.month());
        format!("{} {} {}", d.day(), &month[..3], d.year())
    }

    /// `12 January 2027`, for sentences and emails.
    pub fn long(self) -> String {
        let d = self.date();
        format!("{} {} {}", d.day(), month_name(d.month()), d.year())
    }
}

fn parse_date(input: &str) -> Option<Date> {
    let mut parts = input.splitn(3, '-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
}

fn month_name(month: Month) -> &'static str {
    use Month::*;
    match month {
        January => "January",
        February => "February",
        March => "March",
        April => "April",
        May => "May",
        June => "June",
        July => "July",
        August => "August",
        September => "September",
        October => "October",
        November => "November",
        December => "December",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2026-12-03 17:00 UTC.
    const NOW: i64 = 1_796_317_200;

    #[test]
    fn a_day_from_today_on_is_kept_and_ends_at_the_next_midnight() {
        let today = AccessUntil::parse("2026-12-03", NOW).unwrap().unwrap();
        assert_eq!(today.iso(), "2026-12-03");
        assert_eq!(today.ends_at(), 1_796_342_400, "2026-12-04 00:00 UTC");
        assert_eq!(today.warn_at(), today.ends_at() - 7 * 86_400);
        let later = AccessUntil::parse(" 2027-01-12 ", NOW).unwrap().unwrap();
        assert_eq!(later.short(), "12 Jan 2027");
        assert_eq!(later.long(), "12 January 2027");
        assert_eq!(AccessUntil::from_stored(later.stored()), later);
        assert_eq!(AccessUntil::parse("", NOW), Ok(None));
    }

    #[test]
    fn past_malformed_and_far_dates_are_refused_in_words() {
        let past = AccessUntil::parse("2026-12-02", NOW).unwrap_err();
        assert_eq!(
            past,
            "That date is in the past. Choose today (2026-12-03) or a later day."
        );
        for bad in [
            "12/01/2027",
            "2027-1-12",
            "2027-02-30",
            "2027-13-01",
            "tomorrow",
            "2027-01-12\u{0}",
        ] {
            assert!(
                AccessUntil::parse(bad, NOW)
                    .unwrap_err()
                    .starts_with("Enter the date"),
                "{bad:?}"
            );
        }
        assert!(
            AccessUntil::parse("2200-01-01", NOW)
                .unwrap_err()
                .starts_with("Choose a date within")
        );
    }
}
