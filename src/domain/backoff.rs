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

#[cfg(test)]
mod tests {
    use super::*;

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
