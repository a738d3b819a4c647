//! How long the worker waits before asking DRS again: its base interval while figures move,
//! longer while nothing changes, and much longer while DRS throttles.

use std::time::Duration;

/// How the last poll went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollOutcome {
    Changed,
    Unchanged,
    Throttled,
    Failed,
}

/// Unchanged answers stretch the interval up to this many times the base.
const QUIET_FACTOR: u32 = 4;
/// Throttling stretches it up to this.
const THROTTLED_MAX: Duration = Duration::from_secs(60);

pub fn next_poll_delay(base: Duration, current: Duration, outcome: PollOutcome) -> Duration {
    match outcome {
        PollOutcome::Changed => base,
        PollOutcome::Unchanged => (current * 2).clamp(base, base * QUIET_FACTOR),
        PollOutcome::Throttled => (current * 2).clamp(base * 2, THROTTLED_MAX.max(base * 2)),
        PollOutcome::Failed => current,
    }
}

/// The first wait before the default credential chain is tried again, and the longest.
const CREDENTIALS_FIRST: Duration = Duration::from_secs(5);
const CREDENTIALS_MAX: Duration = Duration::from_secs(60);

/// How long an unattended run waits before trying the default credential chain (instance
/// metadata) again, after `failures` tries found none: doubling from 5 s, at most a minute (an
/// instance profile attached later is found within a minute).
pub fn credentials_retry_delay(failures: u32) -> Duration {
    let doubled = CREDENTIALS_FIRST.saturating_mul(1 << failures.saturating_sub(1).min(16));
    doubled.min(CREDENTIALS_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_chain_is_tried_again_after_5_10_20_40_then_every_60_seconds() {
        let delays: Vec<u64> = (1..=7)
            .map(|n| credentials_retry_delay(n).as_secs())
            .collect();
        assert_eq!(delays, [5, 10, 20, 40, 60, 60, 60]);
        assert_eq!(credentials_retry_delay(0).as_secs(), 5);
        assert_eq!(credentials_retry_delay(u32::MAX), CREDENTIALS_MAX);
    }

    #[test]
    fn quiet_answers_stretch_the_interval_a_change_resets_it_and_throttling_backs_off_more() {
        let base = Duration::from_secs(1);
        let mut d = base;
        for _ in 0..5 {
            d = next_poll_delay(base, d, PollOutcome::Unchanged);
        }
        assert_eq!(d, base * QUIET_FACTOR);
        assert_eq!(next_poll_delay(base, d, PollOutcome::Changed), base);
        let mut t = base;
        for _ in 0..10 {
            t = next_poll_delay(base, t, PollOutcome::Throttled);
        }
        assert_eq!(t, THROTTLED_MAX);
        assert_eq!(next_poll_delay(base, t, PollOutcome::Failed), t);
    }
}
