//! The webhook outbox in PostgreSQL: events become deliveries (one per event and target, made
//! by whichever app server gets there first), deliveries are claimed by one server at a time,
//! and each attempt's outcome is recorded, retried with backoff until a day has passed. The
//! server's `webhooks` task sends them; admins read the log here.

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::PgPool;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use super::{error::Context, Error};

/// Makes the deliveries of events not routed yet: to the site's URL (`site`, if set) and to
/// the owner's own. The unique (event, target) key and `skip locked` make it once per target
/// when servers route at the same time. How many events were routed.
pub async fn route(db: &PgPool, site: Option<&str>) -> Result<u64, Error> {
    let routed = sqlx::query!(
        "with due as (
             select event_id, user_id from event where routed_at is null
             order by created_at limit 200 for update skip locked
         ),
         to_site as (
             insert into webhook_delivery (delivery_id, event_id, target, url)
             select gen_random_uuid(), event_id, 'site', $1 from due where $1::text is not null
             on conflict on constraint webhook_delivery_once do nothing
         ),
         to_user as (
             insert into webhook_delivery (delivery_id, event_id, target, url)
             select gen_random_uuid(), d.event_id, 'user', u.webhook_url
             from due d join app_user u on u.app_user_id = d.user_id
             where u.webhook_url is not null
             on conflict on constraint webhook_delivery_once do nothing
         )
         update event set routed_at = now() where event_id in (select event_id from due)",
        site
    )
    .execute(db)
    .await
    .context("routing events to webhooks")?;
    Ok(routed.rows_affected())
}

/// A delivery this server has claimed, with what it sends.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub id: Uuid,
    pub event_id: Uuid,
    /// `site` or `user`.
    pub target: String,
    pub url: String,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// The JSON body, the same on every attempt.
    pub body: String,
    /// The event's type.
    pub kind: String,
    /// The secret of a user's webhook (the site's is in the settings); None: removed since.
    pub user_secret: Option<String>,
}

/// Claims up to `limit` due deliveries for `hold` (longer than one attempt can take): no
/// other server sends them meanwhile.
pub async fn claim(db: &PgPool, hold: Duration, limit: i64) -> Result<Vec<Claimed>, Error> {
    let rows = sqlx::query!(
        r#"with claimed as (
               update webhook_delivery set claimed_until = now() + make_interval(secs => $1),
                                           attempts = attempts + 1
               where delivery_id in (
                   select delivery_id from webhook_delivery
                   where delivered_at is null and gave_up_at is null and next_at <= now()
                     and (claimed_until is null or claimed_until <= now())
                   order by next_at limit $2 for update skip locked)
               returning delivery_id, event_id, target, url, attempts
           )
           select c.delivery_id, c.event_id, c.target, c.url, c.attempts,
                  e.kind, e.data, e.created_at, u.webhook_secret
           from claimed c
           join event e on e.event_id = c.event_id
           join app_user u on u.app_user_id = e.user_id"#,
        hold.as_secs_f64(),
        limit
    )
    .fetch_all(db)
    .await
    .context("claiming webhook deliveries")?;
    Ok(rows
        .into_iter()
        .map(|row| Claimed {
            id: row.delivery_id,
            event_id: row.event_id,
            body: body(row.event_id, &row.kind, row.created_at, row.data),
            kind: row.kind,
            target: row.target,
            url: row.url,
            attempt: row.attempts,
            user_secret: row.webhook_secret,
        })
        .collect())
}

/// What a receiver gets: `{"id", "type", "created_at", "data"}`.
pub fn body(id: Uuid, kind: &str, created_at: OffsetDateTime, data: Value) -> String {
    json!({
        "id": id,
        "type": kind,
        "created_at": created_at.format(&Rfc3339).unwrap_or_default(),
        "data": data,
    })
    .to_string()
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered(u16),
    /// Another answer (its status) or none (status None), in words.
    Failed(Option<u16>, String),
}

/// The wait after failed attempt `attempt` (from 1): `base` doubled each time, at most an
/// hour.
pub fn backoff(base: Duration, attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    base.saturating_mul(1 << doublings)
        .min(Duration::from_secs(3600))
}

/// Records an attempt of a delivery this server claimed. A failure is tried again after the
/// backoff, unless that is more than `retry_for` after the event: then it is given up.
pub async fn record(
    db: &PgPool,
    claimed: &Claimed,
    outcome: &Outcome,
    base: Duration,
    retry_for: Duration,
) -> Result<(), Error> {
    match outcome {
        Outcome::Delivered(status) => {
            sqlx::query!(
                "update webhook_delivery set delivered_at = now(), claimed_until = null,
                        last_status = $2, last_error = null
                 where delivery_id = $1",
                claimed.id,
                i32::from(*status)
            )
            .execute(db)
            .await
            .context("recording a delivery")?;
        }
        // Given up meanwhile (its webhook removed): it stays given up, for its reason.
        Outcome::Failed(status, error) => {
            let wait = backoff(base, claimed.attempt);
            sqlx::query!(
                "update webhook_delivery d set claimed_until = null, last_status = $2,
                        last_error = case when d.gave_up_at is null then $3 else d.last_error end,
                        next_at = now() + make_interval(secs => $4),
                        gave_up_at = coalesce(d.gave_up_at,
                                              case when e.created_at + make_interval(secs => $5)
                                                        < now() + make_interval(secs => $4)
                                                   then now() end)
                 from event e
                 where d.delivery_id = $1 and e.event_id = d.event_id",
                claimed.id,
                status.map(i32::from),
                error,
                wait.as_secs_f64(),
                retry_for.as_secs_f64()
            )
            .execute(db)
            .await
            .context("recording a failed delivery")?;
        }
    }
    Ok(())
}

/// One delivery, as the admin log shows it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub id: Uuid,
    pub kind: String,
    pub owner_email: String,
    pub target: String,
    pub url: String,
    pub attempts: i32,
    pub created_at: OffsetDateTime,
    pub delivered_at: Option<OffsetDateTime>,
    pub gave_up_at: Option<OffsetDateTime>,
    pub next_at: OffsetDateTime,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
}

impl Logged {
    /// Delivered, Given up, or Retrying.
    pub fn state(&self) -> &'static str {
        if self.delivered_at.is_some() {
            "Delivered"
        } else if self.gave_up_at.is_some() {
            "Given up"
        } else if self.attempts == 0 {
            "Waiting"
        } else {
            "Retrying"
        }
    }
}

/// The newest deliveries (200), optionally only those not delivered.
pub async fn log(db: &PgPool, undelivered_only: bool) -> Result<Vec<Logged>, Error> {
    let rows = sqlx::query_as!(
        Logged,
        r#"select d.delivery_id as id, e.kind, u.email as owner_email, d.target, d.url, d.attempts,
                  d.created_at, d.delivered_at, d.gave_up_at, d.next_at, d.last_status, d.last_error
           from webhook_delivery d
           join event e on e.event_id = d.event_id
           join app_user u on u.app_user_id = e.user_id
           where not $1 or d.delivered_at is null
           order by d.created_at desc, d.delivery_id desc
           limit 200"#,
        undelivered_only
    )
    .fetch_all(db)
    .await
    .context("reading the delivery log")?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(10);
        assert_eq!(backoff(base, 1), Duration::from_secs(10));
        assert_eq!(backoff(base, 2), Duration::from_secs(20));
        assert_eq!(backoff(base, 4), Duration::from_secs(80));
        assert_eq!(backoff(base, 30), Duration::from_secs(3600));
        assert_eq!(backoff(base, 0), Duration::from_secs(10));
    }
}
