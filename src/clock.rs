//! Time as Unix seconds, from a clock that tests can move.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;

/// The source of "now". The system clock in production; an adjustable offset in tests.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_secs: Arc<AtomicI64>,
}

impl Clock {
    /// Current time in Unix seconds.
    pub fn now(&self) -> i64 {
        OffsetDateTime::now_utc().unix_timestamp() + self.offset_secs.load(Ordering::Relaxed)
    }

    /// Moves this clock (and every clone of it) forward.
    pub fn advance(&self, secs: i64) {
        self.offset_secs.fetch_add(secs, Ordering::Relaxed);
    }
}

/// The exact time, for a tooltip or `<time datetime>`: `2026-11-23 14:05 UTC` (empty
/// for a year outside 0–9999).
pub fn exact(unix: i64) -> String {
    written(unix, |out, t| {
        to_the_minute(out, t, ' ');
        out.push_str(" UTC");
    })
}

/// The machine-readable form for `<time datetime>`, RFC 3339 in UTC:
/// `2026-11-23T14:05:09Z` (empty for a year outside 0–9999, which RFC 3339 cannot write).
pub fn iso(unix: i64) -> String {
    written(unix, |out, t| {
        to_the_minute(out, t, 'T');
        out.push(':');
        two_digits(out, t.second());
        out.push('Z');
    })
}

/// An RFC 3339 date-time (`2026-11-23T14:05:09Z`, any offset, any fraction) as seconds
/// since the epoch; None when it is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(OffsetDateTime::unix_timestamp)
}

/// `unix` as `write` writes it, digit by digit: `format!` with widths (or `time`'s
/// formatter) took ten times as long, and a page of 50 members shows 200 of these.
fn written(unix: i64, write: impl Fn(&mut String, &OffsetDateTime)) -> String {
    let mut out = String::new();
    if let Ok(t) = OffsetDateTime::from_unix_timestamp(unix)
        && (0..=9999).contains(&t.year())
    {
        out.reserve(24);
        write(&mut out, &t);
    }
    out
}

/// `2026-11-23 14:05`, with `separator` between the date and the time.
fn to_the_minute(out: &mut String, t: &OffsetDateTime, separator: char) {
    let (year, month, day) = t.to_calendar_date();
    let year = year as u16;
    two_digits(out, (year / 100) as u8);
    two_digits(out, (year % 100) as u8);
    out.push('-');
    two_digits(out, month.into());
    out.push('-');
    two_digits(out, day);
    out.push(separator);
    two_digits(out, t.hour());
    out.push(':');
    two_digits(out, t.minute());
}

/// `n` (below 100) as two digits.
fn two_digits(out: &mut String, n: u8) {
    out.push(char::from(b'0' + n / 10));
    out.push(char::from(b'0' + n % 10));
}

/// A time relative to `now`: "just now", "5 minutes ago", "in 2 days".
pub fn relative(now: i64, unix: i64) -> String {
    let delta = unix - now;
    let secs = delta.unsigned_abs();
    if secs < 45 {
        return "just now".into();
    }
    let (n, unit) = match secs {
        s if s < 3_600 => (s.div_ceil(60).max(1), "minute"),
        s if s < 86_400 => ((s + 1_800) / 3_600, "hour"),
        s if s < 30 * 86_400 => ((s + 43_200) / 86_400, "day"),
        s if s < 365 * 86_400 => ((s + 15 * 86_400) / (30 * 86_400), "month"),
        s => ((s + 182 * 86_400) / (365 * 86_400), "year"),
    };
    // Pushed piece by piece: `format!` took twice as long, 100 times a page.
    let mut out = String::with_capacity(20);
    if delta > 0 {
        out.push_str("in ");
    }
    out.push_str(itoa::Buffer::new().format(n));
    out.push(' ');
    out.push_str(unit);
    if n != 1 {
        out.push('s');
    }
    if delta <= 0 {
        out.push_str(" ago");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_reads_naturally() {
        assert_eq!(relative(1000, 1000), "just now");
        assert_eq!(relative(1000, 1000 - 300), "5 minutes ago");
        assert_eq!(relative(0, 2 * 86_400), "in 2 days");
        assert_eq!(relative(0, 3_600), "in 1 hour");
        assert_eq!(relative(400 * 86_400, 0), "1 year ago");
        assert_eq!(relative(0, 90), "in 2 minutes");
        assert_eq!(relative(3 * 365 * 86_400, 0), "3 years ago");
    }

    #[test]
    fn exact_is_utc_to_the_minute() {
        assert_eq!(exact(0), "1970-01-01 00:00 UTC");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn exact_and_iso_write_what_time_formats() {
        use time::format_description::well_known::Rfc3339;
        use time::macros::format_description;
        let minute = format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
        // Every few days and odd seconds from 1970 to 2100, and the edges of the range.
        let instants = (0..4_102_444_800_i64)
            .step_by(299_993)
            .chain([-1, 253_402_300_799]);
        for unix in instants {
            let t = OffsetDateTime::from_unix_timestamp(unix).unwrap();
            assert_eq!(exact(unix), t.format(minute).unwrap(), "{unix}");
            assert_eq!(iso(unix), t.format(&Rfc3339).unwrap(), "{unix}");
        }
        assert_eq!(iso(253_402_300_800), "", "year 10000");
        assert_eq!(exact(253_402_300_800), "", "year 10000");
        assert_eq!(exact(-62_167_219_201), "", "year -1");
    }

    #[test]
    fn advancing_moves_every_clone() {
        let clock = Clock::default();
        let other = clock.clone();
        let before = other.now();
        clock.advance(3_600);
        assert!(other.now() >= before + 3_600);
    }
}
