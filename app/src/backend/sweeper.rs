//! Housekeeping for what nobody finishes or what a failure left behind: a tab closed for good,
//! a machine gone, an S3 call that failed after the row was settled. Without it reserved bytes
//! would stay held, and parts and objects would cost storage forever.
//!
//! Each pass runs on one app server at a time (a job lease in PostgreSQL), and each upload it
//! settles is first claimed with the same lease `complete_upload` takes, so a sweep never
//! discards a file whose completion is in progress. One file that cannot be cleaned up is
//! logged and skipped; it never stops the rest of the sweep.

use std::time::{Duration, SystemTime};

use crate::backend::error::Context;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    file_actions, files, lease,
    state::AppState,
    storage::{OpenUpload, Storage, StorageError},
    uploads, Error,
};
use crate::model::FileStatus;

/// Uploads looked at per sweep; the next sweep takes the rest.
const BATCH: i64 = 500;
/// The prefix of every key the app makes (`u/{owner}/{file}`).
pub(crate) const PREFIX: &str = "u/";
const JOB: &str = "sweeper";

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Uploads older than the TTL, aborted and their quota released.
    pub abandoned: usize,
    /// Uploads older than the TTL that S3 had already assembled (their completer died before
    /// recording it): completed.
    pub completed: usize,
    /// Multipart uploads S3 held open that no uploading file knows of.
    pub orphans: usize,
    /// Objects under the app's prefix that no live row owns.
    pub stray_objects: usize,
    /// Attempt counters whose window has passed.
    pub rate_limits: u64,
    /// Clean-ups that failed this time (logged); the next sweep tries again.
    pub failures: usize,
}

impl Swept {
    /// True when a clean-up worked; a failure is logged and counted, and the next sweep
    /// tries again.
    fn succeeded(&mut self, result: Result<(), StorageError>, doing: &str, key: &str) -> bool {
        match result {
            Ok(()) => true,
            Err(error) => {
                self.failures += 1;
                tracing::warn!(key, error = %error, "{doing} failed; the next sweep tries again");
                false
            }
        }
    }
}

/// What a sweep may remove, and how long it may run before another server may start one.
#[derive(Debug, Clone, Copy)]
pub struct Sweep {
    /// An upload not completed this long after its start is abandoned.
    pub upload_ttl: Duration,
    /// Bytes that no row owns are removed once older than this (the lifetime of the URLs that
    /// may still write them): a multipart upload just created and not yet recorded is not
    /// touched.
    pub grace: Duration,
}

/// One pass, unless another app server is running one. None when it did not run.
pub async fn sweep(state: &AppState, sweep: Sweep) -> Result<Option<Swept>, Error> {
    let holder = Uuid::new_v4();
    let hold = sweep.grace.max(Duration::from_secs(600));
    if !take_job(state, holder, hold).await? {
        return Ok(None);
    }
    let mut swept = Swept::default();
    let result = sweep_once(state, sweep, &mut swept).await;
    end_job(state, holder).await?;
    record(state, &swept, result.is_ok());
    result.map(|()| Some(swept))
}

/// Counts the run and what it removed.
fn record(state: &AppState, swept: &Swept, succeeded: bool) {
    let metrics = &state.metrics;
    let outcome = if succeeded { "ok" } else { "error" };
    metrics.count("haul_sweeper_runs_total", &[("outcome", outcome)], 1);
    let removed = "haul_sweeper_removed_total";
    metrics.count(
        removed,
        &[("what", "abandoned_uploads")],
        swept.abandoned as u64,
    );
    metrics.count(removed, &[("what", "orphan_uploads")], swept.orphans as u64);
    metrics.count("haul_sweeper_completed_total", &[], swept.completed as u64);
    metrics.count(
        removed,
        &[("what", "stray_objects")],
        swept.stray_objects as u64,
    );
    metrics.count(
        removed,
        &[("what", "rate_limit_windows")],
        swept.rate_limits,
    );
    metrics.count("haul_sweeper_failures_total", &[], swept.failures as u64);
}

async fn sweep_once(state: &AppState, sweep: Sweep, swept: &mut Swept) -> Result<(), Error> {
    abandon_stale_uploads(state, sweep.upload_ttl, swept).await?;
    abort_orphan_uploads(state, sweep.grace, swept).await?;
    delete_stray_objects(state, sweep.grace, swept).await?;
    swept.rate_limits = state.rate_limiter.sweep(&state.db).await?;
    Ok(())
}

/// Uploads left `uploading` past the TTL: aborted, their quota released, their parts dropped.
async fn abandon_stale_uploads(
    state: &AppState,
    ttl: Duration,
    swept: &mut Swept,
) -> Result<(), Error> {
    let cutoff = OffsetDateTime::now_utc() - ttl;
    let stale = files::uploading_since_before(&state.db, cutoff, BATCH).await?;
    let hold = lease::hold(state);
    for id in stale {
        // Someone holds it (a completion in progress): not ours to decide this time.
        let Some((file, lease)) = files::claim(&state.db, id, hold).await? else {
            continue;
        };
        // Its completer may have died after S3 assembled it: then it is complete, not lost.
        match uploads::assembled_meanwhile(state, &file).await {
            Ok(Some(checksum)) => {
                let ending = files::Ending::Complete(checksum.as_deref());
                if files::finish(&state.db, &file, lease, ending).await? {
                    swept.completed += 1;
                    state.metrics.upload_ended("completed", file.size_bytes);
                }
                continue;
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(file = %file.id, error = %error, "checking an abandoned upload failed; the next sweep tries again");
                swept.failures += 1;
                lease::release(&state.db, lease).await?;
                continue;
            }
        }
        let reason = "Abandoned: not completed in time.";
        if files::finish(
            &state.db,
            &file,
            lease,
            files::Ending::Aborted(Some(reason)),
        )
        .await?
        {
            swept.abandoned += 1;
            state.metrics.upload_ended("aborted", file.size_bytes);
            let discarded = file_actions::discard_bytes(state, &file).await;
            swept.succeeded(
                discarded,
                "discarding an abandoned upload",
                &file.object_key,
            );
        }
    }
    Ok(())
}

/// Multipart uploads S3 holds open that belong to no uploading file: those of rows that have
/// ended, and unknown ones older than `grace`.
async fn abort_orphan_uploads(
    state: &AppState,
    grace: Duration,
    swept: &mut Swept,
) -> Result<(), Error> {
    let oldest_allowed = SystemTime::now() - grace;
    let mut marker = None;
    loop {
        let (uploads, next) = state.storage.open_uploads_page(PREFIX, marker).await?;
        for upload in uploads {
            if !is_orphan_upload(&state.db, &upload, oldest_allowed).await? {
                continue;
            }
            let aborted = state
                .storage
                .abort_multipart(&upload.key, &upload.upload_id)
                .await;
            if swept.succeeded(aborted, "aborting an orphan upload", &upload.key) {
                swept.orphans += 1;
            }
        }
        match next {
            Some(next) => marker = Some(next),
            None => return Ok(()),
        }
    }
}

/// Whether a multipart upload S3 holds open belongs to no uploading file: its file has ended
/// (nothing will complete it), or no file knows it and it began before `oldest_allowed` (one
/// just created and not yet recorded is left alone).
pub(crate) async fn is_orphan_upload(
    db: &PgPool,
    upload: &OpenUpload,
    oldest_allowed: SystemTime,
) -> Result<bool, Error> {
    let status = files::status_of_upload(db, &upload.upload_id).await?;
    Ok(match status {
        Some(FileStatus::Uploading) => false,
        Some(_) => true,
        None => upload.initiated <= oldest_allowed,
    })
}

/// Objects under the app's prefix that no uploading or complete row owns, older than `grace`:
/// left by a delete whose S3 call failed, or by anything else that wrote there.
async fn delete_stray_objects(
    state: &AppState,
    grace: Duration,
    swept: &mut Swept,
) -> Result<(), Error> {
    let oldest_allowed = SystemTime::now() - grace;
    let mut token = None;
    loop {
        let page = stray_objects_page(&state.db, &state.storage, token, oldest_allowed).await?;
        for key in page.strays {
            let deleted = state.storage.delete(&key).await;
            if swept.succeeded(deleted, "deleting a stray object", &key) {
                swept.stray_objects += 1;
            }
        }
        match page.next {
            Some(next) => token = Some(next),
            None => return Ok(()),
        }
    }
}

/// One page of the objects under the app's prefix.
pub(crate) struct StrayPage {
    /// Objects listed.
    pub listed: usize,
    /// Those last written before the grace began that no uploading or complete file owns.
    pub strays: Vec<String>,
    /// Where the next page starts, if there is one.
    pub next: Option<String>,
}

/// The page of objects after `token`, with its strays: objects modified before
/// `oldest_allowed` (the URLs that may still write them have expired) that no live row owns.
pub(crate) async fn stray_objects_page(
    db: &PgPool,
    storage: &Storage,
    token: Option<String>,
    oldest_allowed: SystemTime,
) -> Result<StrayPage, Error> {
    let (objects, next) = storage.objects_page(PREFIX, token).await?;
    let listed = objects.len();
    let old: Vec<String> = objects
        .into_iter()
        .filter(|object| object.last_modified <= oldest_allowed)
        .map(|object| object.key)
        .collect();
    let strays = files::unowned_keys(db, &old).await?;
    Ok(StrayPage {
        listed,
        strays,
        next,
    })
}

/// Takes the sweeper's turn unless another server holds it.
async fn take_job(state: &AppState, holder: Uuid, hold: Duration) -> Result<bool, Error> {
    let taken = sqlx::query!(
        "insert into job_lease (name, holder, until)
         values ($1, $2, now() + make_interval(secs => $3::float8))
         on conflict (name) do update set holder = excluded.holder, until = excluded.until
         where job_lease.until < now()",
        JOB,
        holder,
        hold.as_secs_f64()
    )
    .execute(&state.db)
    .await
    .context("taking the sweeper's turn")?;
    Ok(taken.rows_affected() == 1)
}

async fn end_job(state: &AppState, holder: Uuid) -> Result<(), Error> {
    sqlx::query!(
        "delete from job_lease where name = $1 and holder = $2",
        JOB,
        holder
    )
    .execute(&state.db)
    .await
    .context("ending the sweeper's turn")?;
    Ok(())
}

/// Sweeps every `every`, for as long as the server runs.
pub fn spawn(
    state: AppState,
    sweep_settings: Sweep,
    every: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first sweep waits one interval: a starting server has better things to do.
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            match sweep(&state, sweep_settings).await {
                Ok(Some(swept)) if swept != Swept::default() => {
                    tracing::info!(
                        abandoned = swept.abandoned,
                        completed = swept.completed,
                        orphans = swept.orphans,
                        stray_objects = swept.stray_objects,
                        rate_limits = swept.rate_limits,
                        failures = swept.failures,
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
