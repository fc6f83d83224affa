//! Fixed-window attempt counters in PostgreSQL, shared by every app server: one upsert per
//! attempt. A counter per process would let an attacker multiply the limit by the number of
//! servers behind the load balancer.

use std::time::Duration;

use crate::backend::{error::Context, Error};
use sqlx::PgPool;
use time::OffsetDateTime;

pub struct RateLimiter {
    window: Duration,
}

/// An attempt that was counted, to give back if it turns out fine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counted {
    key: String,
    window_start: OffsetDateTime,
}

impl RateLimiter {
    pub fn new(window: Duration) -> Self {
        Self { window }
    }

    fn window_ms(&self) -> i64 {
        i64::try_from(self.window.as_millis()).unwrap_or(i64::MAX)
    }

    /// Counts one attempt for `key`; refuses it, with the wait, once `limit` were made in the
    /// current window. Two servers counting at once are serialised by the row.
    pub async fn hit(
        &self,
        db: &PgPool,
        key: &str,
        limit: u32,
    ) -> Result<Result<Counted, Duration>, Error> {
        let row = sqlx::query!(
            r#"insert into rate_limit as r (key, window_start, attempts) values ($1, now(), 1)
               on conflict (key) do update set
                   window_start = case when r.window_start <= now() - $2 * interval '1 ms'
                                       then now() else r.window_start end,
                   attempts = case when r.window_start <= now() - $2 * interval '1 ms'
                                   then 1 else least(r.attempts + 1, $3 + 1) end
               returning attempts, window_start,
                         (extract(epoch from window_start + $2 * interval '1 ms' - now())
                             * 1000)::bigint as "wait_ms!""#,
            key,
            self.window_ms() as f64,
            i32::try_from(limit).unwrap_or(i32::MAX - 1)
        )
        .fetch_one(db)
        .await
        .context("counting an attempt")?;
        if row.attempts > i32::try_from(limit).unwrap_or(i32::MAX) {
            let wait = u64::try_from(row.wait_ms).unwrap_or(0);
            return Ok(Err(Duration::from_millis(wait)));
        }
        Ok(Ok(Counted {
            key: key.to_owned(),
            window_start: row.window_start,
        }))
    }

    /// Takes back a counted attempt (one that turned out fine), if its window is still the
    /// current one.
    pub async fn refund(&self, db: &PgPool, counted: &Counted) -> Result<(), Error> {
        sqlx::query!(
            "update rate_limit set attempts = greatest(attempts - 1, 0)
             where key = $1 and window_start = $2",
            counted.key,
            counted.window_start
        )
        .execute(db)
        .await
        .context("giving an attempt back")?;
        Ok(())
    }

    /// Drops the counters whose window has passed; how many.
    pub async fn sweep(&self, db: &PgPool) -> Result<u64, Error> {
        let done = sqlx::query!(
            "delete from rate_limit where window_start <= now() - $1 * interval '1 ms'",
            self.window_ms() as f64
        )
        .execute(db)
        .await
        .context("dropping old attempt counters")?;
        Ok(done.rows_affected())
    }
}
