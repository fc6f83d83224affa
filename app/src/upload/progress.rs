//! Speed and time left, from byte counts sampled over time.

use std::collections::VecDeque;

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

#[cfg(test)]
mod tests {
    use super::*;

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
