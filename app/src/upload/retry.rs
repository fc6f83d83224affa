//! What to do when a part's PUT fails.

/// The verdict on one failed attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Try again after this many milliseconds.
    RetryAfter(u32),
    /// The URL expired (or its signature no longer holds): ask for a new one, then retry.
    Resign,
    /// Give up on the file.
    Fail,
}

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub max_attempts: u32,
    pub base_ms: u32,
    pub cap_ms: u32,
    pub max_resigns: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            base_ms: 500,
            cap_ms: 30_000,
            max_resigns: 3,
        }
    }
}

impl Policy {
    /// `status` is the HTTP status (0 for a network error or timeout); `attempt` counts from
    /// 1; `resigns` is how many fresh URLs this part already had; `jitter` is in [0, 1).
    pub fn next(&self, status: u16, attempt: u32, resigns: u32, jitter: f64) -> Next {
        let transient = matches!(status, 0 | 408 | 429 | 500..=599);
        if status == 403 {
            return if resigns < self.max_resigns {
                Next::Resign
            } else {
                Next::Fail
            };
        }
        if !transient || attempt >= self.max_attempts {
            return Next::Fail;
        }
        Next::RetryAfter(self.backoff(attempt, jitter))
    }

    /// Full jitter: a random wait up to min(cap, base * 2^(attempt-1)), so that many clients
    /// that failed together do not come back together.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> u32 {
        let exp = self
            .base_ms
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
            .min(self.cap_ms);
        let jitter = jitter.clamp(0.0, 1.0);
        // At least a tenth of the window, so a retry never fires at once.
        ((f64::from(exp) * (0.1 + 0.9 * jitter)) as u32).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_errors_and_server_errors_are_retried() {
        let policy = Policy::default();
        for status in [0, 408, 429, 500, 502, 503, 504] {
            assert!(
                matches!(policy.next(status, 1, 0, 0.5), Next::RetryAfter(_)),
                "{status}"
            );
        }
    }

    #[test]
    fn client_errors_fail_at_once() {
        let policy = Policy::default();
        for status in [400, 404, 409, 411, 413] {
            assert_eq!(policy.next(status, 1, 0, 0.5), Next::Fail, "{status}");
        }
    }

    #[test]
    fn forbidden_means_a_fresh_url_a_few_times() {
        let policy = Policy::default();
        assert_eq!(policy.next(403, 1, 0, 0.5), Next::Resign);
        assert_eq!(policy.next(403, 1, 3, 0.5), Next::Fail);
    }

    #[test]
    fn attempts_run_out() {
        let policy = Policy::default();
        assert!(matches!(policy.next(503, 7, 0, 0.5), Next::RetryAfter(_)));
        assert_eq!(policy.next(503, 8, 0, 0.5), Next::Fail);
    }

    #[test]
    fn backoff_grows_exponentially_up_to_the_cap_with_jitter() {
        let policy = Policy::default();
        assert_eq!(policy.backoff(1, 1.0), 500);
        assert_eq!(policy.backoff(2, 1.0), 1000);
        assert_eq!(policy.backoff(3, 1.0), 2000);
        assert_eq!(policy.backoff(10, 1.0), 30_000);
        assert_eq!(policy.backoff(40, 1.0), 30_000);
        assert_eq!(policy.backoff(1, 0.0), 50);
        let spread: Vec<u32> = [0.0, 0.25, 0.5, 0.75]
            .iter()
            .map(|j| policy.backoff(4, *j))
            .collect();
        assert!(spread.windows(2).all(|w| w[0] < w[1]), "{spread:?}");
    }
}
