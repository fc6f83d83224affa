//! Bytes sent, speed and time left, and how often the page is told.

use std::collections::{HashMap, VecDeque};

/// Speed is averaged over this many seconds, so it follows changes without jittering.
const WINDOW_SECS: f64 = 5.0;

#[derive(Debug, Clone, Default)]
pub struct Meter {
    samples: VecDeque<(f64, u64)>,
}

impl Meter {
    /// Records that `bytes` were done at time `at` (seconds, any origin).
    pub fn record(&mut self, at: f64, bytes: u64) {
        self.samples.push_back((at, bytes));
        while let Some(&(first, _)) = self.samples.front() {
            if at - first > WINDOW_SECS && self.samples.len() > 2 {
                self.samples.pop_front();
            } else {
                break;
            }
        }
    }

    /// Bytes per second over the window; None until there is enough to tell.
    pub fn speed(&self) -> Option<f64> {
        let (&(t0, b0), &(t1, b1)) = (self.samples.front()?, self.samples.back()?);
        let elapsed = t1 - t0;
        (elapsed >= 0.5).then(|| b1.saturating_sub(b0) as f64 / elapsed)
    }

    /// Seconds left for `remaining` bytes at the current speed.
    pub fn eta(&self, remaining: u64) -> Option<f64> {
        match self.speed()? {
            speed if speed > 0.0 => Some(remaining as f64 / speed),
            _ => None,
        }
    }
}

/// Bytes sent so far, by part. A part's count is replaced as its PUT goes on and dropped when
/// the PUT fails. The total is kept as counts change, so a progress event costs the same for a
/// file of 3 200 parts as for one of 4.
#[derive(Debug, Default)]
pub struct Sent {
    parts: HashMap<u32, u64>,
    total: u64,
}

impl Sent {
    /// The parts S3 already holds, with their sizes.
    pub fn held(parts: impl IntoIterator<Item = (u32, u64)>) -> Self {
        let mut sent = Self::default();
        for (part, bytes) in parts {
            sent.set(part, bytes);
        }
        sent
    }

    pub fn set(&mut self, part: u32, bytes: u64) {
        let before = self.parts.insert(part, bytes).unwrap_or(0);
        self.total = self.total - before + bytes;
    }

    pub fn remove(&mut self, part: u32) {
        if let Some(before) = self.parts.remove(&part) {
            self.total -= before;
        }
    }

    pub fn contains(&self, part: u32) -> bool {
        self.parts.contains_key(&part)
    }

    pub fn total(&self) -> u64 {
        self.total
    }
}

/// Progress reaches the page at most this often (seconds). The browser reports progress about
/// 20 times a second for each PUT in flight; a bar, a speed and a time left that change 4 times
/// a second read the same and cost the page far less.
pub const SHOW_EVERY_SECS: f64 = 0.25;

/// When progress is shown: the first change, then at most one per `SHOW_EVERY_SECS`.
#[derive(Debug, Default)]
pub struct Throttle {
    shown_at: Option<f64>,
}

impl Throttle {
    /// Whether a change at `at` (seconds, any origin) is to be shown.
    pub fn due(&mut self, at: f64) -> bool {
        match self.shown_at {
            Some(shown_at) if at - shown_at < SHOW_EVERY_SECS => false,
            _ => {
                self.shown_at = Some(at);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sent_keeps_its_total_as_parts_change_and_fail() {
        let mut sent = Sent::held([(1, 100), (2, 100)]);
        assert_eq!(sent.total(), 200);
        sent.set(3, 10);
        sent.set(3, 60);
        assert_eq!(sent.total(), 260);
        assert!(sent.contains(3));
        sent.remove(3);
        sent.remove(4);
        assert_eq!(sent.total(), 200);
        assert!(!sent.contains(3));
    }

    #[test]
    fn the_page_hears_of_progress_at_most_four_times_a_second() {
        let mut throttle = Throttle::default();
        let shown: Vec<bool> = [10.0, 10.1, 10.24, 10.25, 10.3, 11.0]
            .into_iter()
            .map(|at| throttle.due(at))
            .collect();
        assert_eq!(shown, [true, false, false, true, false, true]);
    }

    #[test]
    fn speed_is_bytes_over_the_window() {
        let mut meter = Meter::default();
        assert_eq!(meter.speed(), None);
        meter.record(0.0, 0);
        meter.record(1.0, 10 << 20);
        meter.record(2.0, 20 << 20);
        assert_eq!(meter.speed(), Some((10u64 << 20) as f64));
        assert_eq!(meter.eta(30 << 20), Some(3.0));
    }

    #[test]
    fn old_samples_leave_the_window() {
        let mut meter = Meter::default();
        meter.record(0.0, 0);
        meter.record(1.0, 1000);
        for t in 2u32..=20 {
            meter.record(f64::from(t), 1000 + u64::from(t - 1) * 100);
        }
        // Only the last ~5 s count: 100 B/s, not the early burst.
        let speed = meter.speed().unwrap();
        assert!((speed - 100.0).abs() < 1e-9, "{speed}");
    }

    #[test]
    fn no_eta_without_progress() {
        let mut meter = Meter::default();
        meter.record(0.0, 5);
        meter.record(3.0, 5);
        assert_eq!(meter.eta(100), None);
    }
}
