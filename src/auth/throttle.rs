//! Sign-in throttling that keeps guessing out without handing anyone a switch to lock a
//! person out.
//!
//! Every attempt is counted before its password is checked, in one statement per key
//! (`db::throttle::hit`), so parallel guesses each see their own count and no more than
//! a limit's worth are ever checked, from one instance or many.
//!
//! A browser that has signed in to the account before (it carries a signed device
//! cookie, `auth::device`) is counted on its own, and only there: guesses from elsewhere
//! never lock it out. Any other browser is counted per account and address (a few
//! guesses), per account from everywhere (more, over a longer window: an attack spread
//! over many addresses) and per address over every account (an address spraying
//! accounts; high, since an office shares one address).

use crate::db::{self, Db};

/// At most `hits` attempts in a window of `window_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    pub hits: i64,
    pub window_secs: i64,
}

/// One account from one address, from a browser the account has not signed in with.
pub const PER_ACCOUNT_AND_ADDRESS: Limit = Limit {
    hits: 5,
    window_secs: 15 * 60,
};
/// One account from every address, from browsers the account has not signed in with.
pub const PER_ACCOUNT: Limit = Limit {
    hits: 20,
    window_secs: 60 * 60,
};
/// One address over every account, from browsers new to the account tried.
pub const PER_ADDRESS: Limit = Limit {
    hits: 50,
    window_secs: 15 * 60,
};
/// One browser that has signed in to the account before.
pub const PER_DEVICE: Limit = Limit {
    hits: 10,
    window_secs: 15 * 60,
};
/// A signed-in person confirming their current password (e.g. to change it).
pub const PASSWORD_CONFIRMATION: Limit = Limit {
    hits: 5,
    window_secs: 15 * 60,
};
/// Password reset links asked for one account (by its address, known or not).
pub const RESET_PER_ACCOUNT: Limit = Limit {
    hits: 5,
    window_secs: 60 * 60,
};
/// Password reset links asked from one address, over every account.
pub const RESET_PER_ADDRESS: Limit = Limit {
    hits: 20,
    window_secs: 60 * 60,
};
/// Second-factor codes for one account from one address (the password was right).
pub const SECOND_FACTOR_PER_ACCOUNT_AND_ADDRESS: Limit = Limit {
    hits: 5,
    window_secs: 15 * 60,
};
/// Second-factor codes for one account from every address: a million codes cannot be
/// walked through from many places either.
pub const SECOND_FACTOR_PER_ACCOUNT: Limit = Limit {
    hits: 20,
    window_secs: 60 * 60,
};
/// An account's owner is told of an attack at most once in this many seconds.
const ALERT_WINDOW_SECS: i64 = 24 * 3600;

/// What one attempt is counted against.
struct Counter {
    key: String,
    limit: Limit,
    /// Whether the count is the account's own (its owner is told when it runs out).
    of_account: bool,
    /// Whether a success starts it again (it counts one browser's or one place's
    /// guesses) rather than only taking the attempt back.
    cleared_on_success: bool,
}

/// An attempt that may go ahead; say how it ended with `succeeded`.
#[derive(Debug)]
#[must_use]
pub struct Attempt {
    counted: Vec<(String, i64, bool)>,
}

/// An attempt refused before its password was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Throttled {
    /// When the attempt may be made again.
    pub retry_at: i64,
    /// True the first time in a day that this account's attempts ran out: its owner
    /// is to be told.
    pub alert: bool,
}

impl Throttled {
    /// Whole minutes until `retry_at`, at least one.
    pub fn minutes_left(&self, now: i64) -> i64 {
        ((self.retry_at - now).max(1) + 59) / 60
    }

    /// Seconds until `retry_at`, at least one (for `Retry-After`).
    pub fn seconds_left(&self, now: i64) -> i64 {
        (self.retry_at - now).max(1)
    }

    /// The words for a person: what happened and when to try again.
    pub fn message(&self, now: i64) -> String {
        match self.minutes_left(now) {
            1 => "Too many failed sign-ins. Try again in a minute.".to_string(),
            n => format!("Too many failed sign-ins. Try again in {n} minutes."),
        }
    }
}

/// Counts a sign-in attempt as `account` (a normalized email, known or not) from
/// `address`; `device` is this browser's id when it has signed in to that account
/// before.
pub async fn sign_in(
    db: &Db,
    account: &str,
    address: &str,
    device: Option<&str>,
    now: i64,
) -> sqlx::Result<Result<Attempt, Throttled>> {
    let counters = match device {
        Some(device) => vec![Counter {
            key: format!("device:{device}"),
            limit: PER_DEVICE,
            of_account: true,
            cleared_on_success: true,
        }],
        None => vec![
            Counter {
                key: format!("account-address:{account} {address}"),
                limit: PER_ACCOUNT_AND_ADDRESS,
                of_account: true,
                cleared_on_success: true,
            },
            Counter {
                key: format!("account:{account}"),
                limit: PER_ACCOUNT,
                of_account: true,
                cleared_on_success: false,
            },
            Counter {
                key: format!("address:{address}"),
                limit: PER_ADDRESS,
                of_account: false,
                cleared_on_success: false,
            },
        ],
    };
    count(db, &counters, account, now).await
}

/// Counts a signed-in person's attempt to confirm their password (`user_id`'s).
pub async fn password_confirmation(
    db: &Db,
    user_id: i64,
    now: i64,
) -> sqlx::Result<Result<Attempt, Throttled>> {
    let counter = Counter {
        key: format!("confirm:{user_id}"),
        limit: PASSWORD_CONFIRMATION,
        of_account: false,
        cleared_on_success: true,
    };
    count(db, &[counter], "", now).await
}

/// Counts a request for a password reset link for `account` (a normalized email, known
/// or not) from `address`. A request that is let through is spent: there is nothing to
/// succeed at, so drop the `Attempt`.
pub async fn password_reset(
    db: &Db,
    account: &str,
    address: &str,
    now: i64,
) -> sqlx::Result<Result<Attempt, Throttled>> {
    let counters = [
        Counter {
            key: format!("reset-account:{account}"),
            limit: RESET_PER_ACCOUNT,
            of_account: false,
            cleared_on_success: false,
        },
        Counter {
            key: format!("reset-address:{address}"),
            limit: RESET_PER_ADDRESS,
            of_account: false,
            cleared_on_success: false,
        },
    ];
    count(db, &counters, account, now).await
}

/// Counts an attempt at the second factor of `user_id` (whose password was right) from
/// `address`.
pub async fn second_factor(
    db: &Db,
    user_id: i64,
    address: &str,
    now: i64,
) -> sqlx::Result<Result<Attempt, Throttled>> {
    let counters = [
        Counter {
            key: format!("second-factor-address:{user_id} {address}"),
            limit: SECOND_FACTOR_PER_ACCOUNT_AND_ADDRESS,
            of_account: false,
            cleared_on_success: true,
        },
        Counter {
            key: format!("second-factor:{user_id}"),
            limit: SECOND_FACTOR_PER_ACCOUNT,
            of_account: false,
            cleared_on_success: false,
        },
    ];
    count(db, &counters, "", now).await
}

/// Counts one attempt on each counter in turn; the first that has run out refuses it
/// (and the counts taken before it are given back: nothing was checked).
async fn count(
    db: &Db,
    counters: &[Counter],
    account: &str,
    now: i64,
) -> sqlx::Result<Result<Attempt, Throttled>> {
    let mut counted = Vec::with_capacity(counters.len());
    for counter in counters {
        let limit = counter.limit;
        let count = db::throttle::hit(db, &counter.key, now, limit.window_secs).await?;
        if count.hits <= limit.hits {
            counted.push((
                counter.key.clone(),
                count.window_start,
                counter.cleared_on_success,
            ));
            continue;
        }
        for (key, window_start, _) in &counted {
            db::throttle::refund(db, key, *window_start).await?;
        }
        // Only the attempt that runs the count out may raise the alarm, and only once a day.
        let alert = counter.of_account
            && count.hits == limit.hits + 1
            && db::throttle::hit(db, &format!("alert:{account}"), now, ALERT_WINDOW_SECS)
                .await?
                .hits
                == 1;
        return Ok(Err(Throttled {
            retry_at: count.window_start + limit.window_secs,
            alert,
        }));
    }
    Ok(Ok(Attempt { counted }))
}

impl Attempt {
    /// The password was right: this browser's and this place's guesses start again,
    /// and the attempt is taken back from the wider counts.
    pub async fn succeeded(self, db: &Db) -> sqlx::Result<()> {
        for (key, window_start, cleared) in self.counted {
            if cleared {
                db::throttle::clear(db, &key).await?;
            } else {
                db::throttle::refund(db, &key, window_start).await?;
            }
        }
        Ok(())
    }
}

/// Forgets counts whose window has long ended, once an hour.
pub async fn forget_old_counts(db: Db, clock: crate::clock::Clock) {
    let mut every_hour = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        every_hour.tick().await;
        if let Err(e) = db::throttle::delete_older_than(&db, clock.now() - ALERT_WINDOW_SECS).await
        {
            tracing::error!(error = %e, "forgetting old throttle counts failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_is_said_in_whole_minutes() {
        let throttled = Throttled {
            retry_at: 1_000,
            alert: false,
        };
        assert_eq!(throttled.minutes_left(1_000 - 14 * 60 - 1), 15);
        assert_eq!(throttled.minutes_left(1_000 - 60), 1);
        assert_eq!(throttled.minutes_left(999), 1);
        assert_eq!(throttled.minutes_left(2_000), 1);
        assert_eq!(throttled.seconds_left(990), 10);
        assert!(throttled.message(1_000 - 600).contains("10 minutes"));
        assert!(throttled.message(999).contains("a minute"));
    }
}
