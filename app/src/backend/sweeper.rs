//! Housekeeping for uploads nobody finishes: a tab closed for good, a machine gone. Without it
//! their reserved bytes would stay held and their parts would cost storage forever.

use std::time::{Duration, SystemTime};

use anyhow::Context;
use time::OffsetDateTime;

use super::{
    files::{self, FileRow},
    state::AppState,
    uploads,
};
use crate::model::FileStatus;

/// Uploads looked at per sweep; the next sweep takes the rest.
const BATCH: i64 = 500;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Uploads older than the TTL, aborted and their quota released.
    pub abandoned: usize,
    /// Multipart uploads S3 held open that no uploading file knows of.
    pub orphans: usize,
}

/// One pass: aborts uploads left `uploading` longer than `ttl`, then aborts S3 multipart
/// uploads older than `ttl` that belong to no file still uploading.
pub async fn sweep(state: &AppState, ttl: Duration) -> anyhow::Result<Swept> {
    let mut swept = Swept::default();
    let cutoff = OffsetDateTime::now_utc() - ttl;
    let stale = sqlx::query_as!(
        FileRow,
        r#"select file_id as id, owner_id, object_key, name, content_type, size_bytes, status,
                  s3_upload_id, part_size, part_count, failure_reason, created_at
           from file where status = 'uploading' and created_at < $1
           order by created_at limit $2"#,
        cutoff,
        BATCH
    )
    .fetch_all(&state.db)
    .await
    .context("finding abandoned uploads")?;
    for file in stale {
        uploads::discard_bytes(state, &file).await?;
        let reason = "Abandoned: not completed in time.";
        if files::finish(&state.db, &file, FileStatus::Aborted, Some(reason)).await? {
            swept.abandoned += 1;
        }
    }

    let oldest_allowed = SystemTime::now() - ttl;
    for upload in state.storage.open_uploads("u/").await? {
        if upload.initiated > oldest_allowed {
            continue;
        }
        let known = sqlx::query_scalar!(
            r#"select exists (select 1 from file where s3_upload_id = $1 and status = 'uploading') as "known!""#,
            upload.upload_id
        )
        .fetch_one(&state.db)
        .await
        .context("matching an open upload")?;
        if !known {
            state
                .storage
                .abort_multipart(&upload.key, &upload.upload_id)
                .await?;
            swept.orphans += 1;
        }
    }
    Ok(swept)
}

/// Sweeps every `every`, for as long as the server runs.
pub fn spawn(state: AppState, ttl: Duration, every: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first sweep waits one interval: a starting server has better things to do.
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(&state, ttl).await {
                Ok(swept) if swept != Swept::default() => {
                    tracing::info!(
                        abandoned = swept.abandoned,
                        orphans = swept.orphans,
                        "swept uploads"
                    )
                }
                Ok(_) => {}
                Err(error) => {
                    tracing::warn!(error = format!("{error:#}"), "sweeping uploads failed")
                }
            }
        }
    })
}
