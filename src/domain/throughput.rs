//! Measurements to rates and ETA. Time comes in as seconds since any origin (never `Instant`),
//! so every rule here is testable with plain numbers.

use std::collections::VecDeque;

use super::bytes::MIB;

/// Below one byte a second there is no honest ETA.
const MIN_RATE: f64 = 1.0;

/// Consecutive chart points further apart than this are drawn apart.
pub const GAP_SECS: f64 = 2.0;

/// Cumulative byte counts over a sliding time window.
#[derive(Debug, Clone)]
pub struct RateWindow {
    window: f64,
    samples: VecDeque<(f64, u64)>,
}

impl RateWindow {
    pub fn new(window_secs: f64) -> Self {
        RateWindow {
            window: window_secs,
            samples: VecDeque::new(),
        }
    }

    pub fn push(&mut self, t: f64, total_bytes: u64) {
        if !t.is_finite() {
            return;
        }
        if let Some(&(last_t, last_total)) = self.samples.back() {
            // A counter or clock that goes backwards belongs to a new run (a restarted sync):
            // mixing it with the old samples would give a negative or made-up rate.
            if total_bytes < last_total || t < last_t {
                self.samples.clear();
            } else if t == last_t {
                self.samples.pop_back();
            }
        }
        self.samples.push_back((t, total_bytes));
        // Keep the newest sample at or before the window start, so the rate spans the whole
        // window (or the real time since the previous sample, after a pause in sampling).
        while self.samples.len() > 2 && self.samples[1].0 <= t - self.window {
            self.samples.pop_front();
        }
    }

    /// Bytes per second over the window; None until two samples at different times.
    pub fn rate(&self) -> Option<f64> {
        let (&(t0, b0), &(t1, b1)) = (self.samples.front()?, self.samples.back()?);
        (t1 > t0).then(|| (b1 - b0) as f64 / (t1 - t0))
    }
}

/// Seconds until `remaining` bytes are through at `rate`, rounded up; None without a usable rate.
pub fn eta_seconds(remaining: u64, rate: Option<f64>) -> Option<u64> {
    let rate = rate.filter(|r| r.is_finite() && *r >= MIN_RATE)?;
    Some((remaining as f64 / rate).ceil() as u64)
}

/// "42s", "3m 05s", "2h 10m", "1d 4h": two units at most, as an ETA needs no more.
pub fn format_duration(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m {:02}s", secs / 60, secs % 60),
        3600..86400 => format!("{}h {:02}m", secs / 3600, secs % 3600 / 60),
        _ => format!("{}d {}h", secs / 86400, secs % 86400 / 3600),
    }
}

/// A duration on a screen that redraws each second, in steps the eye can follow there: to the
/// second under a minute, to ten seconds under ten minutes, then to the minute. On a serial
/// line every changed cell costs bytes.
pub fn format_duration_coarse(secs: u64) -> String {
    match secs {
        0..60 => format_duration(secs),
        60..600 => format_duration(secs / 10 * 10),
        600..3600 => format!("{}m", secs / 60),
        _ => format_duration(secs),
    }
}

/// How long ago, coarsely: "just now" under ten seconds.
pub fn format_age(secs: u64) -> String {
    match secs {
        0..10 => "just now".to_owned(),
        10..60 => format!("{}s ago", secs / 10 * 10),
        _ => format!("{} ago", format_duration_coarse(secs)),
    }
}

/// A rate rounded to two significant digits: "39 MiB/s", "1.5 MiB/s". Measured rates jitter in
/// the third digit, which would rewrite the figure at every sample.
pub fn format_rate_coarse(bytes_per_sec: f64) -> String {
    if !(bytes_per_sec.is_finite() && bytes_per_sec >= 1.0) {
        return format_rate(0.0);
    }
    let unit = 1024f64.powi((bytes_per_sec.log2() / 10.0).floor() as i32);
    let scaled = bytes_per_sec / unit;
    let rounded = if scaled >= 10.0 {
        scaled.round()
    } else {
        (scaled * 10.0).round() / 10.0
    };
    format_rate(rounded * unit)
}

/// "12.5 MiB/s"; anything not a positive number reads "0 B/s".
pub fn format_rate(bytes_per_sec: f64) -> String {
    let bytes = if bytes_per_sec.is_finite() && bytes_per_sec > 0.0 {
        bytes_per_sec.round() as u64
    } else {
        0
    };
    // One decimal: a rate is an estimate, and fewer digits change on a slow serial line.
    let opts = humansize::BINARY.decimal_places(1).decimal_zeroes(0);
    format!("{}/s", humansize::format_size(bytes, opts))
}

/// The chart's throughput points: (t, MiB/s), oldest first, at most `capacity` of them (one a
/// second when pushed once a second). Pauses in sampling stay pauses: `segments` splits the
/// points wherever more than `GAP_SECS` passed between two, and nothing is interpolated.
#[derive(Debug, Clone)]
pub struct History {
    capacity: usize,
    points: VecDeque<(f64, f64)>,
}

impl History {
    pub fn new(capacity: usize) -> Self {
        History {
            capacity: capacity.max(1),
            points: VecDeque::new(),
        }
    }

    /// Records `bytes_per_sec` (as `RateWindow::rate` gives it) at `t`. A clock that goes
    /// backwards starts a new history; non-finite values are dropped so points stay NaN-free.
    pub fn push(&mut self, t: f64, bytes_per_sec: f64) {
        if !t.is_finite() || !bytes_per_sec.is_finite() {
            return;
        }
        if self.points.back().is_some_and(|&(last, _)| t < last) {
            self.points.clear();
        }
        if self.points.len() == self.capacity {
            self.points.pop_front();
        }
        self.points
            .push_back((t, bytes_per_sec.max(0.0) / MIB as f64));
    }

    /// Every point, oldest first.
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.points.iter().copied().collect()
    }

    /// The points in runs without gaps: draw each run as its own line.
    pub fn segments(&self) -> Vec<Vec<(f64, f64)>> {
        let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
        for &point in &self.points {
            match runs.last_mut() {
                Some(run) if run.last().is_some_and(|&(t, _)| point.0 - t <= GAP_SECS) => {
                    run.push(point)
                }
                _ => runs.push(vec![point]),
            }
        }
        runs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::bytes::GIB;

    const M: u64 = MIB;

    fn approx(actual: Option<f64>, expected: f64) {
        let actual = actual.expect("a rate");
        assert!((actual - expected).abs() < 1e-6, "{actual} != {expected}");
    }

    #[test]
    fn steady_transfer_gives_its_rate() {
        let mut w = RateWindow::new(10.0);
        for s in 0..=20u64 {
            w.push(s as f64, s * 4 * M);
        }
        approx(w.rate(), 4.0 * M as f64);
    }

    #[test]
    fn rate_follows_only_the_window() {
        let mut w = RateWindow::new(5.0);
        let mut total = 0;
        for s in 0..=30u64 {
            total += if s <= 20 { M } else { 3 * M };
            w.push(s as f64, total);
        }
        approx(w.rate(), 3.0 * M as f64);
    }

    #[test]
    fn no_rate_from_fewer_than_two_samples() {
        let mut w = RateWindow::new(10.0);
        assert_eq!(w.rate(), None);
        w.push(5.0, 100);
        assert_eq!(w.rate(), None);
    }

    #[test]
    fn sample_at_the_same_time_replaces_the_previous() {
        let mut w = RateWindow::new(10.0);
        w.push(1.0, 100);
        w.push(1.0, 200);
        assert_eq!(w.rate(), None);
        w.push(2.0, 300);
        approx(w.rate(), 100.0);
    }

    #[test]
    fn counter_going_backwards_starts_over() {
        let mut w = RateWindow::new(10.0);
        w.push(0.0, 1_000);
        w.push(1.0, 2_000);
        w.push(2.0, 500);
        assert_eq!(w.rate(), None, "only the sample after the reset is left");
        w.push(3.0, 1_500);
        approx(w.rate(), 1_000.0);
    }

    #[test]
    fn clock_going_backwards_starts_over() {
        let mut w = RateWindow::new(10.0);
        w.push(10.0, 0);
        w.push(11.0, 1_000);
        w.push(1.0, 2_000);
        assert_eq!(w.rate(), None);
    }

    #[test]
    fn pause_in_sampling_is_averaged_over_the_real_time() {
        let mut w = RateWindow::new(10.0);
        w.push(0.0, 0);
        w.push(30.0, 30 * M);
        approx(w.rate(), M as f64);
    }

    #[test]
    fn stalled_counter_reads_zero() {
        let mut w = RateWindow::new(5.0);
        for s in 0..=10 {
            w.push(f64::from(s), 42);
        }
        approx(w.rate(), 0.0);
    }

    #[test]
    fn eta_rounds_up() {
        assert_eq!(eta_seconds(100 * M, Some(10.0 * M as f64)), Some(10));
        assert_eq!(eta_seconds(10, Some(3.0)), Some(4));
        assert_eq!(eta_seconds(0, Some(3.0)), Some(0));
    }

    #[test]
    fn eta_needs_a_real_rate() {
        for rate in [
            None,
            Some(0.0),
            Some(0.5),
            Some(-5.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
        ] {
            assert_eq!(eta_seconds(1_000, rate), None, "{rate:?}");
        }
    }

    #[test]
    fn durations_read_in_two_units() {
        for (secs, text) in [
            (0, "0s"),
            (42, "42s"),
            (59, "59s"),
            (60, "1m 00s"),
            (185, "3m 05s"),
            (3599, "59m 59s"),
            (3600, "1h 00m"),
            (7800, "2h 10m"),
            (86_399, "23h 59m"),
            (86_400, "1d 0h"),
            (100_800, "1d 4h"),
        ] {
            assert_eq!(format_duration(secs), text, "{secs}");
        }
    }

    #[test]
    fn coarse_figures_change_at_most_every_ten_seconds_after_the_first_minute() {
        for (secs, text) in [
            (42, "42s"),
            (65, "1m 00s"),
            (185, "3m 00s"),
            (599, "9m 50s"),
            (754, "12m"),
            (7800, "2h 10m"),
        ] {
            assert_eq!(format_duration_coarse(secs), text, "{secs}");
        }
        for (secs, text) in [
            (0, "just now"),
            (9, "just now"),
            (27, "20s ago"),
            (185, "3m 00s ago"),
        ] {
            assert_eq!(format_age(secs), text, "{secs}");
        }
    }

    #[test]
    fn coarse_rates_keep_two_significant_digits() {
        assert_eq!(format_rate_coarse(38.7 * M as f64), "39 MiB/s");
        assert_eq!(format_rate_coarse(1.53 * M as f64), "1.5 MiB/s");
        assert_eq!(format_rate_coarse(9.96 * M as f64), "10 MiB/s");
        assert_eq!(format_rate_coarse(512.4), "512 B/s");
        assert_eq!(format_rate_coarse(f64::NAN), "0 B/s");
    }

    #[test]
    fn rates_read_in_binary_units_per_second() {
        assert_eq!(format_rate(12.5 * M as f64), "12.5 MiB/s");
        assert_eq!(format_rate(512.0), "512 B/s");
        assert_eq!(format_rate(1.5 * GIB as f64), "1.5 GiB/s");
        for nothing in [0.0, -3.0, f64::NAN] {
            assert_eq!(format_rate(nothing), "0 B/s");
        }
    }

    #[test]
    fn history_keeps_mib_per_second_and_drops_the_oldest() {
        let mut h = History::new(3);
        for s in 0..5 {
            h.push(f64::from(s), f64::from(s) * M as f64);
        }
        assert_eq!(h.points(), vec![(2.0, 2.0), (3.0, 3.0), (4.0, 4.0)]);
    }

    #[test]
    fn history_splits_at_gaps_without_inventing_points() {
        let mut h = History::new(10);
        for t in [0.0, 1.0, 3.0, 6.5, 7.5] {
            h.push(t, M as f64);
        }
        assert_eq!(h.points().len(), 5);
        assert_eq!(
            h.segments(),
            vec![
                vec![(0.0, 1.0), (1.0, 1.0), (3.0, 1.0)],
                vec![(6.5, 1.0), (7.5, 1.0)]
            ]
        );
    }

    #[test]
    fn history_ignores_non_finite_values_and_restarts_when_time_goes_back() {
        let mut h = History::new(10);
        h.push(0.0, M as f64);
        h.push(1.0, f64::NAN);
        h.push(f64::INFINITY, M as f64);
        assert_eq!(h.points(), vec![(0.0, 1.0)]);
        h.push(5.0, -1.0);
        assert_eq!(h.points(), vec![(0.0, 1.0), (5.0, 0.0)]);
        h.push(2.0, 2.0 * M as f64);
        assert_eq!(h.points(), vec![(2.0, 2.0)]);
        assert!(History::new(0).segments().is_empty());
    }
}
