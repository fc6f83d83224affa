//! The overview's totals and charts. Each figure comes from something small: the accounts
//! (whose byte and file counters move with their files), the partial indexes of uploads in
//! progress and of recent failures, and the daily upload rollup. Nothing counts a million rows.

use crate::backend::error::Context;
use time::{Duration, OffsetDateTime};

use super::Admin;
use crate::{
    backend::{state::AppState, Error},
    model::admin::{DayTotal, Overview, UserTotal},
};

/// Days in the uploads chart.
const CHART_DAYS: i64 = 30;

pub async fn overview(state: &AppState, _admin: &Admin) -> Result<Overview, Error> {
    // Independent reads, each on its own connection: the page waits for the slowest only.
    let (accounts, uploading_files, (failed_recently, aborted_recently), per_day, top) = tokio::try_join!(
        accounts(state),
        uploading(state),
        ended_badly(state),
        uploaded_per_day(state),
        top_users(state),
    )?;
    Ok(Overview {
        users: accounts.users,
        active_users: accounts.active_users,
        complete_files: accounts.complete_files,
        stored_bytes: accounts.stored_bytes,
        uploading_files,
        reserved_bytes: accounts.reserved_bytes,
        failed_recently,
        aborted_recently,
        uploaded_per_day: per_day,
        top_users: top,
    })
}

struct Accounts {
    users: u64,
    active_users: u64,
    complete_files: u64,
    stored_bytes: u64,
    reserved_bytes: u64,
}

/// Totals of the accounts' counters: 10 000 rows, not a million.
async fn accounts(state: &AppState) -> Result<Accounts, Error> {
    let row = sqlx::query!(
        r#"select count(*) as "users!",
                  count(*) filter (where last_seen_at > now() - interval '30 days') as "active!",
                  coalesce(sum(complete_files), 0)::bigint as "files!",
                  coalesce(sum(used_bytes), 0)::bigint as "used!",
                  coalesce(sum(reserved_bytes), 0)::bigint as "reserved!"
           from app_user"#
    )
    .fetch_one(&state.db)
    .await
    .context("totalling accounts")?;
    Ok(Accounts {
        users: count(row.users),
        active_users: count(row.active),
        complete_files: count(row.files),
        stored_bytes: count(row.used),
        reserved_bytes: count(row.reserved),
    })
}

/// Uploads in progress (a partial index holds only those).
async fn uploading(state: &AppState) -> Result<u64, Error> {
    let n = sqlx::query_scalar!(r#"select count(*) as "n!" from file where status = 'uploading'"#)
        .fetch_one(&state.db)
        .await
        .context("counting uploads in progress")?;
    Ok(count(n))
}

/// Failed and aborted in the last 7 days (a partial index on when they ended).
async fn ended_badly(state: &AppState) -> Result<(u64, u64), Error> {
    let row = sqlx::query!(
        r#"select count(*) filter (where status = 'failed') as "failed!",
                  count(*) filter (where status = 'aborted') as "aborted!"
           from file
           where status in ('failed', 'aborted') and ended_at > now() - interval '7 days'"#
    )
    .fetch_one(&state.db)
    .await
    .context("counting failed uploads")?;
    Ok((count(row.failed), count(row.aborted)))
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The last 30 days, oldest first, with the days nothing was uploaded as zeros.
async fn uploaded_per_day(state: &AppState) -> Result<Vec<DayTotal>, Error> {
    let today = OffsetDateTime::now_utc().date();
    let first = today - Duration::days(CHART_DAYS - 1);
    let rows = sqlx::query!(
        r#"select day, sum(files)::int8 as "files!", sum(bytes)::int8 as "bytes!"
           from upload_day where day >= $1 group by day order by day"#,
        first
    )
    .fetch_all(&state.db)
    .await
    .context("loading uploads per day")?;
    Ok((0..CHART_DAYS)
        .map(|offset| {
            let day = first + Duration::days(offset);
            let row = rows.iter().find(|row| row.day == day);
            DayTotal {
                day: day.to_string(),
                files: row.map_or(0, |r| count(r.files)),
                bytes: row.map_or(0, |r| count(r.bytes)),
            }
        })
        .collect())
}

async fn top_users(state: &AppState) -> Result<Vec<UserTotal>, Error> {
    let rows = sqlx::query!(
        "select email, used_bytes from app_user where used_bytes > 0
         order by used_bytes desc, app_user_id limit 10"
    )
    .fetch_all(&state.db)
    .await
    .context("finding the largest users")?;
    Ok(rows
        .into_iter()
        .map(|row| UserTotal {
            email: row.email,
            bytes: count(row.used_bytes),
        })
        .collect())
}
