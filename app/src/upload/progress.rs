//! Progress, speed and time left, from byte counts sampled over time.

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

/// Whole percent done, 0 to 100; an empty file is 100 % once done.
pub fn percent(done: u64, total: u64) -> u8 {
    if total == 0 {
        return 100;
    }
    ((done.min(total) as f64 / total as f64) * 100.0).floor() as u8
}

/// "1.5 MiB", "12 B".
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// "2 h 05 min", "3 min 20 s", "45 s".
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
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

    #[test]
    fn percent_is_floored_and_bounded() {
        assert_eq!(percent(0, 0), 100);
        assert_eq!(percent(999, 1000), 99);
        assert_eq!(percent(1000, 1000), 100);
        assert_eq!(percent(2000, 1000), 100);
    }

    #[test]
    fn human_units() {
        assert_eq!(bytes(12), "12 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(40 << 20), "40.0 MiB");
        assert_eq!(duration(45.2), "45 s");
        assert_eq!(duration(200.0), "3 min 20 s");
        assert_eq!(duration(7500.0), "2 h 05 min");
    }
}
