//! The overview's totals and charts. Each figure comes from something small: the accounts
//! (whose byte and file counters move with their files), the partial indexes of uploads in
//! progress and of recent failures, and the daily upload rollup. Nothing counts a million rows.

use anyhow::Context;
use time::{Duration, OffsetDateTime};

use super::Admin;
use crate::{
    backend::{state::AppState, Error},
    model::admin::{DayTotal, Overview, UserTotal},
};

/// Days in the uploads chart.
const CHART_DAYS: i64 = 30;

pub async fn overview(state: &AppState, _admin: &Admin) -> Result<Overview, Error> {
    let db = &state.db;
    let accounts = sqlx::query!(
        r#"select count(*) as "users!",
                  count(*) filter (where last_seen_at > now() - interval '30 days') as "active!",
                  coalesce(sum(complete_files), 0)::bigint as "files!",
                  coalesce(sum(used_bytes), 0)::bigint as "used!",
                  coalesce(sum(reserved_bytes), 0)::bigint as "reserved!"
           from app_user"#
    )
    .fetch_one(db)
    .await
    .context("totalling accounts")?;
    let uploading =
        sqlx::query_scalar!(r#"select count(*) as "n!" from file where status = 'uploading'"#)
            .fetch_one(db)
            .await
            .context("counting uploads in progress")?;
    let ended = sqlx::query!(
        r#"select count(*) filter (where status = 'failed') as "failed!",
                  count(*) filter (where status = 'aborted') as "aborted!"
           from file
           where status in ('failed', 'aborted') and ended_at > now() - interval '7 days'"#
    )
    .fetch_one(db)
    .await
    .context("counting failed uploads")?;
    Ok(Overview {
        users: count(accounts.users),
        active_users: count(accounts.active),
        complete_files: count(accounts.files),
        stored_bytes: count(accounts.used),
        uploading_files: count(uploading),
        reserved_bytes: count(accounts.reserved),
        failed_recently: count(ended.failed),
        aborted_recently: count(ended.aborted),
        uploaded_per_day: uploaded_per_day(state).await?,
        top_users: top_users(state).await?,
    })
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// The last 30 days, oldest first, with the days nothing was uploaded as zeros.
async fn uploaded_per_day(state: &AppState) -> Result<Vec<DayTotal>, Error> {
    let today = OffsetDateTime::now_utc().date();
    let first = today - Duration::days(CHART_DAYS - 1);
    let rows = sqlx::query!(
        "select day, files, bytes from upload_day where day >= $1 order by day",
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
