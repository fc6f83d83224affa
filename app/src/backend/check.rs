//! `server check`: compares PostgreSQL with the bucket and lists every broken invariant of
//! DESIGN §7 (object = row = bytes, quota = sum of rows, nothing left behind). With `repair`
//! it fixes what is safe to fix without a person: bytes that no row owns, past the URL
//! lifetime (by the sweeper's own rules), and counters (recomputed from the rows). A missing
//! or altered object, or a row that contradicts itself, needs someone to look: it is only
//! reported.
//!
//! Rows are read in keyset pages and objects and uploads in S3's pages, so the check holds one
//! page at a time however large the bucket and the tables grow.

use std::{
    fmt,
    time::{Duration, SystemTime},
};

use crate::backend::error::Context;
use futures::{stream, StreamExt, TryStreamExt};
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    checksum,
    config::Config,
    storage::{ObjectHead, Storage, StorageError},
    sweeper, Error,
};
use crate::model::{FileStatus, Integrity};

/// Rows read per query.
const PAGE: i64 = 500;
/// HeadObject calls in flight at once.
const HEADS_AT_ONCE: usize = 8;

/// What the data is held to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The lifetime of pre-signed URLs: bytes that no row owns count as stray once older than
    /// this (an upload just begun may not be recorded yet).
    pub grace: Duration,
    /// How far ahead Haul holds a lease on a file (renewed while its holder works); one
    /// reaching further ahead was not taken by it.
    pub max_lease: Duration,
}

impl Limits {
    /// The limits of an app run with `config`.
    pub fn of(config: &Config) -> Self {
        Self {
            grace: config.url_ttl,
            max_lease: config.lease,
        }
    }
}

/// What became of a violation that the check may repair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// Not tried: the check was run without `repair`.
    Possible,
    Done,
    /// Tried and failed, for this reason; the next run tries again.
    Failed(String),
}

/// The counters a user row keeps, or what its file rows add up to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub used_bytes: i64,
    pub reserved_bytes: i64,
    pub complete_files: i64,
}

/// One broken invariant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// A complete file with no object.
    MissingObject { file: Uuid, key: String },
    /// A complete file whose object holds another number of bytes.
    WrongSize {
        file: Uuid,
        key: String,
        recorded: i64,
        stored: i64,
    },
    /// A complete file whose object has another checksum than the one recorded.
    WrongChecksum {
        file: Uuid,
        key: String,
        recorded: String,
        stored: String,
    },
    /// A complete file uploaded with part checksums that recorded none, though its object
    /// has one: completion records what the storage reports, so the object has changed since.
    UnrecordedChecksum {
        file: Uuid,
        key: String,
        stored: String,
    },
    /// An object under the app's prefix, older than the URL lifetime, that no uploading or
    /// complete file owns.
    StrayObject { key: String, repair: Repair },
    /// A multipart upload in progress that no uploading file owns.
    OrphanUpload {
        key: String,
        upload_id: String,
        repair: Repair,
    },
    /// A user whose counters are not what their file rows add up to.
    Counters {
        user: Uuid,
        email: String,
        recorded: Counters,
        rows: Counters,
        repair: Repair,
    },
    /// A file row that contradicts itself: its state against its lease or timestamps.
    Row {
        file: Uuid,
        status: FileStatus,
        problem: &'static str,
    },
}

impl Violation {
    pub fn repaired(&self) -> bool {
        match self {
            Self::StrayObject { repair, .. }
            | Self::OrphanUpload { repair, .. }
            | Self::Counters { repair, .. } => *repair == Repair::Done,
            _ => false,
        }
    }
}

/// ": deleted", " (--repair deletes it)" or ": deleting it failed: …".
fn repair_note(repair: &Repair, done: &str, would: &str, doing: &str) -> String {
    match repair {
        Repair::Possible => format!(" (--repair {would})"),
        Repair::Done => format!(": {done}"),
        Repair::Failed(reason) => format!(": {doing} failed: {reason}"),
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingObject { file, key } => {
                write!(f, "file {file}: complete, but its object {key} is missing")
            }
            Self::WrongSize {
                file,
                key,
                recorded,
                stored,
            } => write!(
                f,
                "file {file}: its object {key} holds {stored} bytes, the file {recorded}"
            ),
            Self::WrongChecksum {
                file,
                key,
                recorded,
                stored,
            } => write!(
                f,
                "file {file}: its object {key} has checksum {stored}, the file recorded {recorded}"
            ),
            Self::UnrecordedChecksum { file, key, stored } => write!(
                f,
                "file {file}: complete without a recorded checksum, but its object {key} has one \
                 ({stored})"
            ),
            Self::StrayObject { key, repair } => write!(
                f,
                "object {key}: no uploading or complete file owns it{}",
                repair_note(repair, "deleted", "deletes it", "deleting it")
            ),
            Self::OrphanUpload {
                key,
                upload_id,
                repair,
            } => write!(
                f,
                "multipart upload {upload_id} of {key}: no uploading file owns it{}",
                repair_note(repair, "aborted", "aborts it", "aborting it")
            ),
            Self::Counters {
                user,
                email,
                recorded,
                rows,
                repair,
            } => write!(
                f,
                "user {user} ({email}): {}{}",
                counter_differences(recorded, rows),
                repair_note(repair, "recomputed", "recomputes them", "recomputing them")
            ),
            Self::Row {
                file,
                status,
                problem,
            } => write!(f, "file {file} ({}): {problem}", status_name(*status)),
        }
    }
}

/// "used_bytes is 1 but its complete files hold 5 bytes; …", for the counters that differ.
fn counter_differences(recorded: &Counters, rows: &Counters) -> String {
    let mut said = Vec::new();
    if recorded.used_bytes != rows.used_bytes {
        said.push(format!(
            "used_bytes is {} but its complete files hold {} bytes",
            recorded.used_bytes, rows.used_bytes
        ));
    }
    if recorded.reserved_bytes != rows.reserved_bytes {
        said.push(format!(
            "reserved_bytes is {} but its uploading files hold {} bytes",
            recorded.reserved_bytes, rows.reserved_bytes
        ));
    }
    if recorded.complete_files != rows.complete_files {
        said.push(format!(
            "complete_files is {} but it has {}",
            recorded.complete_files,
            plural(rows.complete_files.unsigned_abs(), "complete file")
        ));
    }
    said.join("; ")
}

fn status_name(status: FileStatus) -> &'static str {
    match status {
        FileStatus::Uploading => "uploading",
        FileStatus::Complete => "complete",
        FileStatus::Failed => "failed",
        FileStatus::Aborted => "aborted",
    }
}

/// What was checked, and what was found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub files: u64,
    pub objects: u64,
    pub uploads: u64,
    pub users: u64,
    pub violations: u64,
    pub repaired: u64,
}

impl Report {
    /// Violations not repaired.
    pub fn left(&self) -> u64 {
        self.violations - self.repaired
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, {}, {}, {} checked: {}",
            plural(self.files, "file"),
            plural(self.objects, "object"),
            plural(self.uploads, "upload"),
            plural(self.users, "user"),
            plural(self.violations, "violation")
        )?;
        if self.repaired > 0 {
            write!(f, ", {} repaired, {} left", self.repaired, self.left())?;
        }
        Ok(())
    }
}

fn plural(count: u64, noun: &str) -> String {
    match count {
        1 => format!("1 {noun}"),
        _ => format!("{count} {noun}s"),
    }
}

/// Checks every file row, user, object and open upload, calling `report` with each violation
/// as it is found (and repaired, with `repair`). Fails when the database or the storage
/// cannot be read: a check that could not look has found nothing.
pub async fn check(
    db: &PgPool,
    storage: &Storage,
    limits: Limits,
    repair: bool,
    mut report: impl FnMut(Violation),
) -> Result<Report, Error> {
    let mut checker = Checker {
        db,
        storage,
        limits,
        repair,
        report: &mut report,
        totals: Report::default(),
    };
    checker.files().await?;
    checker.counters().await?;
    checker.objects().await?;
    checker.uploads().await?;
    Ok(checker.totals)
}

struct Checker<'a> {
    db: &'a PgPool,
    storage: &'a Storage,
    limits: Limits,
    repair: bool,
    report: &'a mut dyn FnMut(Violation),
    totals: Report,
}

impl Checker<'_> {
    fn found(&mut self, violation: Violation) {
        self.totals.violations += 1;
        if violation.repaired() {
            self.totals.repaired += 1;
        }
        (self.report)(violation);
    }

    /// Bytes under the prefix past the grace that no live row owns went by the sweeper's
    /// rule; so do the repairs.
    fn oldest_allowed(&self) -> SystemTime {
        SystemTime::now()
            .checked_sub(self.limits.grace)
            .unwrap_or(SystemTime::UNIX_EPOCH)
    }

    /// Every file row: its state, and for a complete file its object.
    async fn files(&mut self) -> Result<(), Error> {
        let mut after = Uuid::nil();
        loop {
            let page = files_page(self.db, after, self.limits.max_lease).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            self.totals.files += page.len() as u64;
            for file in &page {
                for problem in row_problems(file) {
                    self.found(Violation::Row {
                        file: file.id,
                        status: file.status,
                        problem,
                    });
                }
            }
            let complete = page
                .into_iter()
                .filter(|file| file.status == FileStatus::Complete);
            self.objects_of(complete).await?;
        }
    }

    /// Each complete file's object, a few HeadObject calls at once.
    async fn objects_of(&mut self, files: impl Iterator<Item = FileState>) -> Result<(), Error> {
        let storage = self.storage;
        let heads: Vec<(FileState, Option<ObjectHead>)> = stream::iter(files)
            .map(|file| async move {
                let sha256 = file.integrity == Integrity::Sha256;
                let head = storage.head(&file.object_key, sha256).await?;
                Ok::<_, StorageError>((file, head))
            })
            .buffered(HEADS_AT_ONCE)
            .try_collect()
            .await
            .context("reading a complete file's object from the storage")?;
        for (file, head) in heads {
            let Some(violation) = object_violation(&file, head.as_ref()) else {
                continue;
            };
            // Deleted since its row was read (the row goes first, then the object): not lost.
            if still_complete(self.db, file.id).await? {
                self.found(violation);
            }
        }
        Ok(())
    }

    /// Every user's counters against the sums of their rows.
    async fn counters(&mut self) -> Result<(), Error> {
        let mut after = Uuid::nil();
        loop {
            let page = users_page(self.db, after).await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.id;
            self.totals.users += page.len() as u64;
            for user in page {
                if user.recorded == user.rows {
                    continue;
                }
                let repair = match self.repair {
                    false => Repair::Possible,
                    true => outcome(recount(self.db, user.id).await),
                };
                self.found(Violation::Counters {
                    user: user.id,
                    email: user.email,
                    recorded: user.recorded,
                    rows: user.rows,
                    repair,
                });
            }
        }
    }

    /// Every object under the app's prefix: those no live row owns past the grace are stray.
    async fn objects(&mut self) -> Result<(), Error> {
        let oldest_allowed = self.oldest_allowed();
        let mut token = None;
        loop {
            let page =
                sweeper::stray_objects_page(self.db, self.storage, token, oldest_allowed).await?;
            self.totals.objects += page.listed as u64;
            for key in page.strays {
                let repair = match self.repair {
                    false => Repair::Possible,
                    true => outcome(self.storage.delete(&key).await),
                };
                self.found(Violation::StrayObject { key, repair });
            }
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// Every multipart upload in progress under the app's prefix.
    async fn uploads(&mut self) -> Result<(), Error> {
        let oldest_allowed = self.oldest_allowed();
        let mut marker = None;
        loop {
            let (page, next) = self
                .storage
                .open_uploads_page(sweeper::PREFIX, marker)
                .await?;
            self.totals.uploads += page.len() as u64;
            for upload in page {
                if !sweeper::is_orphan_upload(self.db, &upload, oldest_allowed).await? {
                    continue;
                }
                let repair = match self.repair {
                    false => Repair::Possible,
                    true => outcome(
                        self.storage
                            .abort_multipart(&upload.key, &upload.upload_id)
                            .await,
                    ),
                };
                self.found(Violation::OrphanUpload {
                    key: upload.key,
                    upload_id: upload.upload_id,
                    repair,
                });
            }
            match next {
                Some(next) => marker = Some(next),
                None => return Ok(()),
            }
        }
    }
}

fn outcome<E: fmt::Display>(result: Result<(), E>) -> Repair {
    match result {
        Ok(()) => Repair::Done,
        Err(error) => Repair::Failed(error.to_string()),
    }
}

/// A file row as the check reads it.
#[derive(Debug, Clone)]
struct FileState {
    id: Uuid,
    object_key: String,
    status: FileStatus,
    size_bytes: i64,
    checksum_sha256: Option<String>,
    part_checksums: bool,
    integrity: Integrity,
    failure_reason: Option<String>,
    created_at: OffsetDateTime,
    completed_at: Option<OffsetDateTime>,
    ended_at: Option<OffsetDateTime>,
    lease_token: Option<Uuid>,
    lease_until: Option<OffsetDateTime>,
    /// The lease runs further ahead than the longest hold (by the database's clock, which set
    /// it).
    lease_beyond_hold: bool,
}

/// The file rows after `after`, by id.
async fn files_page(
    db: &PgPool,
    after: Uuid,
    max_lease: Duration,
) -> Result<Vec<FileState>, Error> {
    sqlx::query_as!(
        FileState,
        r#"select file_id as id, object_key, status as "status: FileStatus", size_bytes,
                  checksum_sha256, part_checksums, integrity as "integrity: Integrity",
                  failure_reason, created_at, completed_at,
                  ended_at, lease_token, lease_until,
                  coalesce(lease_until > now() + make_interval(secs => $3::float8), false)
                      as "lease_beyond_hold!"
           from file where file_id > $1 order by file_id limit $2"#,
        after,
        PAGE,
        max_lease.as_secs_f64()
    )
    .fetch_all(db)
    .await
    .context("reading file rows")
}

/// What a row says that its own status denies.
fn row_problems(file: &FileState) -> Vec<&'static str> {
    let ended = file.status != FileStatus::Uploading;
    let complete = file.status == FileStatus::Complete;
    let leased = file.lease_token.is_some() || file.lease_until.is_some();
    [
        (
            ended && file.ended_at.is_none(),
            "it has ended but has no ended_at",
        ),
        (
            !ended && file.ended_at.is_some(),
            "it is uploading but has an ended_at",
        ),
        (
            complete && file.completed_at.is_none(),
            "it is complete but has no completed_at",
        ),
        (
            !complete && file.completed_at.is_some(),
            "it is not complete but has a completed_at",
        ),
        (
            !complete && file.checksum_sha256.is_some(),
            "it is not complete but has a recorded checksum",
        ),
        (
            file.status == FileStatus::Failed && file.failure_reason.is_none(),
            "it failed without a reason",
        ),
        (
            !ended && file.failure_reason.is_some(),
            "it is uploading but has a failure reason",
        ),
        (ended && leased, "it has ended but still holds a lease"),
        (
            file.lease_token.is_some() != file.lease_until.is_some(),
            "half a lease: a holder without an end, or an end without a holder",
        ),
        (
            file.lease_beyond_hold,
            "its lease runs further ahead than the longest hold Haul takes",
        ),
        (
            file.ended_at.is_some_and(|ended| ended < file.created_at),
            "it ended before it began",
        ),
    ]
    .into_iter()
    .filter_map(|(holds, problem)| holds.then_some(problem))
    .collect()
}

/// What is wrong with a complete file's object, if anything. Checksums are compared where both
/// are known (a store may report none).
fn object_violation(file: &FileState, head: Option<&ObjectHead>) -> Option<Violation> {
    let (id, key) = (file.id, file.object_key.clone());
    let Some(head) = head else {
        return Some(Violation::MissingObject { file: id, key });
    };
    if head.size != file.size_bytes {
        return Some(Violation::WrongSize {
            file: id,
            key,
            recorded: file.size_bytes,
            stored: head.size,
        });
    }
    match (&file.checksum_sha256, &head.sha256) {
        (Some(recorded), Some(stored)) if !checksum::stored_matches(recorded, stored) => {
            Some(Violation::WrongChecksum {
                file: id,
                key,
                recorded: recorded.clone(),
                stored: stored.clone(),
            })
        }
        (None, Some(stored)) if file.part_checksums => Some(Violation::UnrecordedChecksum {
            file: id,
            key,
            stored: stored.clone(),
        }),
        _ => None,
    }
}

async fn still_complete(db: &PgPool, file: Uuid) -> Result<bool, Error> {
    let status = sqlx::query_scalar!(
        r#"select status as "status: FileStatus" from file where file_id = $1"#,
        file
    )
    .fetch_optional(db)
    .await
    .context("reading a file row again")?;
    Ok(status == Some(FileStatus::Complete))
}

struct UserState {
    id: Uuid,
    email: String,
    recorded: Counters,
    rows: Counters,
}

/// The users after `after`, by id, with their counters and the sums of their rows, read in one
/// statement: one snapshot, in which every change of a file's status has also changed its
/// owner's counters (they change in one transaction), so any difference is real.
async fn users_page(db: &PgPool, after: Uuid) -> Result<Vec<UserState>, Error> {
    let rows = sqlx::query!(
        r#"select u.app_user_id, u.email, u.used_bytes, u.reserved_bytes, u.complete_files,
                  s.used as "rows_used!", s.reserved as "rows_reserved!",
                  s.complete as "rows_complete!"
           from (select app_user_id, email, used_bytes, reserved_bytes, complete_files
                 from app_user where app_user_id > $1 order by app_user_id limit $2) u
           cross join lateral (
               select coalesce(sum(size_bytes) filter (where status = 'complete'), 0)::bigint
                          as used,
                      coalesce(sum(size_bytes) filter (where status = 'uploading'), 0)::bigint
                          as reserved,
                      count(*) filter (where status = 'complete') as complete
               from file where owner_id = u.app_user_id) s
           order by u.app_user_id"#,
        after,
        PAGE
    )
    .fetch_all(db)
    .await
    .context("reading users' counters")?;
    Ok(rows
        .into_iter()
        .map(|row| UserState {
            id: row.app_user_id,
            email: row.email,
            recorded: Counters {
                used_bytes: row.used_bytes,
                reserved_bytes: row.reserved_bytes,
                complete_files: row.complete_files,
            },
            rows: Counters {
                used_bytes: row.rows_used,
                reserved_bytes: row.rows_reserved,
                complete_files: row.rows_complete,
            },
        })
        .collect())
}

/// Sets a user's counters to the sums of their rows, safely beside uploads in progress. One
/// statement alone is not enough: its sums would come from the snapshot it began with, while
/// it writes over counters changed after it (an upload completed meanwhile would be lost). So
/// the user row is locked first; every change of a file's status updates its owner's row in
/// the same transaction, so none commits until this one has, and the sums (read after the
/// lock, in a new snapshot) are the rows as they stay. A change in flight adds its own
/// difference to the recomputed counters when it commits.
async fn recount(db: &PgPool, user: Uuid) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    sqlx::query!(
        "select app_user_id from app_user where app_user_id = $1 for update",
        user
    )
    .fetch_optional(&mut *tx)
    .await
    .context("locking a user's counters")?;
    sqlx::query!(
        "update app_user u set (used_bytes, reserved_bytes, complete_files) = (
             select coalesce(sum(size_bytes) filter (where status = 'complete'), 0),
                    coalesce(sum(size_bytes) filter (where status = 'uploading'), 0),
                    count(*) filter (where status = 'complete')
             from file where owner_id = u.app_user_id)
         where app_user_id = $1",
        user
    )
    .execute(&mut *tx)
    .await
    .context("recomputing a user's counters")?;
    tx.commit().await.context("recomputing a user's counters")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(status: FileStatus) -> FileState {
        let now = OffsetDateTime::now_utc();
        let ended = status != FileStatus::Uploading;
        let complete = status == FileStatus::Complete;
        FileState {
            id: Uuid::nil(),
            object_key: "u/a/b".into(),
            status,
            size_bytes: 10,
            checksum_sha256: complete.then(|| checksum::of_bytes(b"0123456789")),
            part_checksums: true,
            integrity: Integrity::Sha256,
            failure_reason: (status == FileStatus::Failed).then(|| "Bad bytes.".into()),
            created_at: now,
            completed_at: complete.then_some(now),
            ended_at: ended.then_some(now),
            lease_token: None,
            lease_until: None,
            lease_beyond_hold: false,
        }
    }

    #[test]
    fn rows_as_haul_writes_them_have_no_problem() {
        for status in [
            FileStatus::Uploading,
            FileStatus::Complete,
            FileStatus::Failed,
            FileStatus::Aborted,
        ] {
            assert_eq!(
                row_problems(&file(status)),
                Vec::<&str>::new(),
                "{status:?}"
            );
        }
        let mut leased = file(FileStatus::Uploading);
        leased.lease_token = Some(Uuid::nil());
        leased.lease_until = Some(OffsetDateTime::now_utc());
        assert_eq!(row_problems(&leased), Vec::<&str>::new());
    }

    #[test]
    fn contradictions_are_named() {
        let mut complete = file(FileStatus::Complete);
        complete.completed_at = None;
        assert_eq!(
            row_problems(&complete),
            ["it is complete but has no completed_at"]
        );
        let mut uploading = file(FileStatus::Uploading);
        uploading.ended_at = Some(uploading.created_at);
        uploading.checksum_sha256 = Some("x".into());
        assert_eq!(
            row_problems(&uploading),
            [
                "it is uploading but has an ended_at",
                "it is not complete but has a recorded checksum"
            ]
        );
        let mut failed = file(FileStatus::Failed);
        failed.failure_reason = None;
        failed.lease_token = Some(Uuid::nil());
        assert_eq!(
            row_problems(&failed),
            [
                "it failed without a reason",
                "it has ended but still holds a lease",
                "half a lease: a holder without an end, or an end without a holder"
            ]
        );
        let mut held = file(FileStatus::Uploading);
        held.lease_token = Some(Uuid::nil());
        held.lease_until = Some(held.created_at + time::Duration::days(1));
        held.lease_beyond_hold = true;
        assert_eq!(
            row_problems(&held),
            ["its lease runs further ahead than the longest hold Haul takes"]
        );
        let mut early = file(FileStatus::Aborted);
        early.ended_at = Some(early.created_at - time::Duration::hours(1));
        assert_eq!(row_problems(&early), ["it ended before it began"]);
    }

    fn head(size: i64, sha256: Option<&str>) -> ObjectHead {
        ObjectHead {
            size,
            sha256: sha256.map(str::to_owned),
            etag: None,
        }
    }

    #[test]
    fn an_object_must_have_the_files_size_and_checksum() {
        let file = file(FileStatus::Complete);
        let recorded = file.checksum_sha256.clone().unwrap();
        assert_eq!(
            object_violation(&file, Some(&head(10, Some(&recorded)))),
            None
        );
        // A store that reports no checksum is held to the size alone.
        assert_eq!(object_violation(&file, Some(&head(10, None))), None);
        assert!(matches!(
            object_violation(&file, None),
            Some(Violation::MissingObject { .. })
        ));
        assert!(matches!(
            object_violation(&file, Some(&head(9, Some(&recorded)))),
            Some(Violation::WrongSize {
                recorded: 10,
                stored: 9,
                ..
            })
        ));
        let other = checksum::of_bytes(b"9876543210");
        assert!(matches!(
            object_violation(&file, Some(&head(10, Some(&other)))),
            Some(Violation::WrongChecksum { .. })
        ));
        let unrecorded = FileState {
            checksum_sha256: None,
            ..file.clone()
        };
        assert!(matches!(
            object_violation(&unrecorded, Some(&head(10, Some(&other)))),
            Some(Violation::UnrecordedChecksum { .. })
        ));
        // Uploads begun before part checksums recorded none, whatever the store says.
        let legacy = FileState {
            part_checksums: false,
            integrity: Integrity::None,
            ..unrecorded
        };
        assert_eq!(
            object_violation(&legacy, Some(&head(10, Some(&other)))),
            None
        );
    }

    #[test]
    fn violations_say_what_is_wrong_and_what_was_done() {
        let stray = |repair| Violation::StrayObject {
            key: "u/x/y".into(),
            repair,
        };
        assert_eq!(
            stray(Repair::Possible).to_string(),
            "object u/x/y: no uploading or complete file owns it (--repair deletes it)"
        );
        assert_eq!(
            stray(Repair::Done).to_string(),
            "object u/x/y: no uploading or complete file owns it: deleted"
        );
        assert!(stray(Repair::Done).repaired());
        assert!(!stray(Repair::Failed("storage unavailable".into())).repaired());
        let counters = |used_bytes, complete_files| Counters {
            used_bytes,
            reserved_bytes: 0,
            complete_files,
        };
        let wrong = Violation::Counters {
            user: Uuid::nil(),
            email: "a@example.com".into(),
            recorded: counters(1, 7),
            rows: counters(10, 1),
            repair: Repair::Possible,
        };
        assert_eq!(
            wrong.to_string(),
            "user 00000000-0000-0000-0000-000000000000 (a@example.com): used_bytes is 1 but \
             its complete files hold 10 bytes; complete_files is 7 but it has 1 complete file \
             (--repair recomputes them)"
        );
    }

    #[test]
    fn the_summary_counts_what_was_checked_and_left() {
        let mut report = Report {
            files: 3,
            objects: 2,
            uploads: 1,
            users: 1,
            violations: 0,
            repaired: 0,
        };
        assert_eq!(
            report.to_string(),
            "3 files, 2 objects, 1 upload, 1 user checked: 0 violations"
        );
        report.violations = 2;
        report.repaired = 1;
        assert_eq!(
            report.to_string(),
            "3 files, 2 objects, 1 upload, 1 user checked: 2 violations, 1 repaired, 1 left"
        );
    }
}
