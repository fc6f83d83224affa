//! Fixed-window attempt counters, in memory: enough to slow guessing down on one server.
//! (Behind several app servers each counts on its own; the limit then multiplies.)

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

/// Past this many keys, expired windows are swept out.
const SWEEP_AT: usize = 10_000;

pub struct RateLimiter {
    window: Duration,
    windows: Mutex<HashMap<String, (Instant, u32)>>,
}

impl RateLimiter {
    pub fn new(window: Duration) -> Self {
        Self {
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one attempt for `key`; refuses it, with the wait, once `limit` were made in the
    /// current window.
    pub fn hit(&self, key: &str, limit: u32, now: Instant) -> Result<(), Duration> {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if windows.len() >= SWEEP_AT {
            let window = self.window;
            windows.retain(|_, (start, _)| now.duration_since(*start) < window);
        }
        let entry = windows.entry(key.to_owned()).or_insert((now, 0));
        if now.duration_since(entry.0) >= self.window {
            *entry = (now, 0);
        }
        if entry.1 >= limit {
            return Err(self.window.saturating_sub(now.duration_since(entry.0)));
        }
        entry.1 += 1;
        Ok(())
    }

    /// Takes back one attempt counted for `key` at `counted_at` (one that turned out fine), if
    /// its window is still the current one.
    pub fn refund(&self, key: &str, counted_at: Instant) {
        let mut windows = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((start, count)) = windows.get_mut(key) {
            if counted_at >= *start && counted_at.duration_since(*start) < self.window {
                *count = count.saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    #[test]
    fn refuses_after_the_limit_and_says_how_long_to_wait() {
        let limiter = RateLimiter::new(MINUTE);
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.hit("ip:1", 3, start).is_ok());
        }
        let wait = limiter
            .hit("ip:1", 3, start + Duration::from_secs(20))
            .unwrap_err();
        assert_eq!(wait, Duration::from_secs(40));
    }

    #[test]
    fn a_new_window_starts_afresh() {
        let limiter = RateLimiter::new(MINUTE);
        let start = Instant::now();
        for _ in 0..3 {
            limiter.hit("ip:1", 3, start).unwrap();
        }
        assert!(limiter.hit("ip:1", 3, start + MINUTE).is_ok());
    }

    #[test]
    fn keys_are_counted_apart() {
        let limiter = RateLimiter::new(MINUTE);
        let now = Instant::now();
        limiter.hit("ip:1", 1, now).unwrap();
        assert!(limiter.hit("ip:1", 1, now).is_err());
        assert!(limiter.hit("ip:2", 1, now).is_ok());
    }

    #[test]
    fn a_refund_gives_one_attempt_back_in_its_window_only() {
        let limiter = RateLimiter::new(MINUTE);
        let now = Instant::now();
        limiter.hit("acct", 1, now).unwrap();
        assert!(limiter.hit("acct", 1, now).is_err());
        limiter.refund("acct", now);
        assert!(limiter.hit("acct", 1, now).is_ok());
        // An attempt of an earlier window is not refunded into the new one.
        let later = now + MINUTE;
        limiter.hit("acct", 1, later).unwrap();
        limiter.refund("acct", now);
        assert!(limiter.hit("acct", 1, later).is_err());
        // Refunding a key never counted is harmless.
        limiter.refund("unknown", now);
    }
}
