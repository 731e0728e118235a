//! Time as Unix seconds, from a clock that tests can move.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use time::OffsetDateTime;
use time::macros::format_description;

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

/// The exact time, for a tooltip or `<time datetime>`: `2026-11-23 14:05 UTC`.
pub fn exact(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default()
}

/// The machine-readable form for `<time datetime>`.
pub fn iso(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
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
    let plural = if n == 1 { "" } else { "s" };
    if delta > 0 {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
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
    }

    #[test]
    fn exact_is_utc_to_the_minute() {
        assert_eq!(exact(0), "1970-01-01 00:00 UTC");
        assert_eq!(iso(0), "1970-01-01T00:00:00Z");
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
