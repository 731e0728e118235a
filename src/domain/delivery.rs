//! Where an email stands in the outbox, as a person reads it: queued, being sent,
//! waiting to be tried again, delivered, or given up on — with the reason of the last
//! failure said plainly (the raw error stays for the log and for a hover).

/// The outbox columns that tell an email's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OutboxState<'a> {
    pub attempts: i64,
    pub next_attempt_at: i64,
    pub claimed_until: Option<i64>,
    pub sent_at: Option<i64>,
    pub gave_up_at: Option<i64>,
    pub last_error: Option<&'a str>,
}

/// The state of one email.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// Not yet tried.
    Queued,
    /// A worker holds it and is talking to the mail server (`attempt` counts this one).
    Sending {
        attempt: i64,
    },
    /// Attempt `attempt` failed for `reason`; the next one is due at `next_at`.
    Retrying {
        attempt: i64,
        next_at: i64,
        reason: Reason,
    },
    Delivered {
        at: i64,
    },
    /// Given up on: a permanent refusal, or too many attempts.
    Failed {
        reason: Reason,
    },
}

impl Delivery {
    /// The state of an email from its outbox columns at `now`.
    pub fn of(o: OutboxState<'_>, now: i64) -> Delivery {
        let reason = || Reason::of(o.last_error.unwrap_or_default());
        if let Some(at) = o.sent_at {
            Delivery::Delivered { at }
        } else if o.gave_up_at.is_some() {
            Delivery::Failed { reason: reason() }
        } else if o.claimed_until.is_some_and(|until| until > now) {
            Delivery::Sending {
                attempt: o.attempts,
            }
        } else if o.attempts > 0 && o.last_error.is_some() {
            Delivery::Retrying {
                attempt: o.attempts,
                next_at: o.next_attempt_at,
                reason: reason(),
            }
        } else {
            Delivery::Queued
        }
    }

    /// A stable name: the CSS class suffix and the API's value.
    pub fn key(self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sending { .. } => "sending",
            Delivery::Retrying { .. } => "retrying",
            Delivery::Delivered { .. } => "sent",
            Delivery::Failed { .. } => "failed",
        }
    }

    /// A short label for a table cell.
    pub fn label(self) -> &'static str {
        match self {
            Delivery::Queued => "queued",
            Delivery::Sending { .. } => "sending",
            Delivery::Retrying { .. } => "retrying",
            Delivery::Delivered { .. } => "delivered",
            Delivery::Failed { .. } => "failed for good",
        }
    }

    /// Whether the state can still change by itself (the worker is not done with it).
    pub fn in_flight(self) -> bool {
        matches!(
            self,
            Delivery::Queued | Delivery::Sending { .. } | Delivery::Retrying { .. }
        )
    }

    /// How long a page showing this state should wait before asking again: soon while
    /// the worker is at it, and no sooner than useful while it waits to retry (up to half
    /// a minute, so that a retry after an hour is not asked about every two seconds).
    /// None once nothing will change.
    pub fn poll_secs(self, now: i64) -> Option<i64> {
        match self {
            Delivery::Queued | Delivery::Sending { .. } => Some(2),
            Delivery::Retrying { next_at, .. } => Some((next_at - now + 1).clamp(2, 30)),
            Delivery::Delivered { .. } | Delivery::Failed { .. } => None,
        }
    }
}

/// Why an attempt failed, in words a person can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// No connection, a timeout, a dropped connection: the server is down or unreachable.
    NoAnswer,
    /// The secure connection could not be set up.
    Tls,
    /// The server would not take mail for this address (a permanent 5xx answer, or an
    /// address that cannot be written in an email).
    AddressRefused,
    /// The server asked to try later (a 4xx answer).
    TryLater,
    /// The server did not accept Roster's credentials.
    Credentials,
    Other,
}

impl Reason {
    /// Reads the error the transport recorded (lettre's wording, or the mailer's own).
    pub fn of(error: &str) -> Reason {
        let e = error.to_ascii_lowercase();
        let code = |prefix: &str| {
            e.find(prefix)
                .and_then(|i| e.get(i + prefix.len()..i + prefix.len() + 3))
                .and_then(|c| c.parse::<u16>().ok())
        };
        if let Some(code) = code("permanent error (") {
            return match code {
                530 | 534 | 535 | 538 => Reason::Credentials,
                _ => Reason::AddressRefused,
            };
        }
        if code("transient error (").is_some() {
            return Reason::TryLater;
        }
        if e.contains("invalid recipient address") {
            Reason::AddressRefused
        } else if e.contains("tls") || e.contains("certificate") {
            Reason::Tls
        } else if e.contains("connection")
            || e.contains("network")
            || e.contains("timed out")
            || e.contains("timeout")
            || e.contains("os error")
            || e.contains("broken pipe")
        {
            Reason::NoAnswer
        } else {
            Reason::Other
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Reason::NoAnswer => "The mail server did not answer.",
            Reason::Tls => "A secure connection to the mail server could not be made.",
            Reason::AddressRefused => "The mail server refused the address.",
            Reason::TryLater => "The mail server asked to try again later.",
            Reason::Credentials => "The mail server did not accept Roster's sign-in.",
            Reason::Other => "The mail server could not take the message.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_000_000;

    fn state(f: impl FnOnce(&mut OutboxState<'static>)) -> Delivery {
        let mut o = OutboxState {
            next_attempt_at: NOW,
            ..OutboxState::default()
        };
        f(&mut o);
        Delivery::of(o, NOW)
    }

    #[test]
    fn a_new_message_is_queued() {
        assert_eq!(state(|_| {}), Delivery::Queued);
    }

    #[test]
    fn a_claimed_message_is_being_sent() {
        let d = state(|o| {
            o.attempts = 1;
            o.claimed_until = Some(NOW + 120);
        });
        assert_eq!(d, Delivery::Sending { attempt: 1 });
        assert_eq!(d.poll_secs(NOW), Some(2));
    }

    #[test]
    fn a_lapsed_claim_after_a_failure_is_retrying() {
        let d = state(|o| {
            o.attempts = 2;
            o.claimed_until = Some(NOW - 1);
            o.next_attempt_at = NOW + 300;
            o.last_error = Some("Connection error: Connection refused (os error 111)");
        });
        assert_eq!(
            d,
            Delivery::Retrying {
                attempt: 2,
                next_at: NOW + 300,
                reason: Reason::NoAnswer
            }
        );
        assert_eq!(
            d.poll_secs(NOW),
            Some(30),
            "a distant retry is asked about slowly"
        );
        assert!(d.in_flight());
    }

    #[test]
    fn sent_and_given_up_are_final() {
        let sent = state(|o| o.sent_at = Some(NOW));
        let failed = state(|o| {
            o.gave_up_at = Some(NOW);
            o.last_error = Some("permanent error (550): Mailbox unavailable");
        });
        assert_eq!(sent, Delivery::Delivered { at: NOW });
        assert_eq!(
            failed,
            Delivery::Failed {
                reason: Reason::AddressRefused
            }
        );
        assert_eq!((sent.poll_secs(NOW), failed.poll_secs(NOW)), (None, None));
        assert_eq!(failed.label(), "failed for good");
    }

    #[test]
    fn reasons_read_from_transport_errors() {
        for (error, reason) in [
            (
                "network error: Connection reset by peer (os error 104)",
                Reason::NoAnswer,
            ),
            (
                "Connection error: Connection refused (os error 111)",
                Reason::NoAnswer,
            ),
            ("timed out", Reason::NoAnswer),
            (
                "permanent error (553): Mailbox name not allowed",
                Reason::AddressRefused,
            ),
            (
                "permanent error (535): Invalid credentials",
                Reason::Credentials,
            ),
            ("transient error (451): Aborted", Reason::TryLater),
            (
                "invalid recipient address: missing domain",
                Reason::AddressRefused,
            ),
            ("tls error: invalid peer certificate", Reason::Tls),
            ("internal client error", Reason::Other),
        ] {
            assert_eq!(Reason::of(error), reason, "{error}");
        }
    }
}
