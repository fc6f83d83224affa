//! File rows in PostgreSQL, and the quota bytes they hold: every statement on the `file` and
//! `file_part` tables but the lease's own (`lease`). What a user does to a file as a whole
//! (download, rename, delete) is `file_actions`; the upload protocol is `uploads`.

use std::{collections::BTreeMap, time::Duration};

use crate::backend::error::Context;
use sqlx::{PgPool, Postgres, QueryBuilder, Transaction};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use super::{
    audit::{self, Actor, Event},
    checksum::{Digest, Md5},
    lease::{self, Lease},
    page::{self, Key},
    Error,
};
use crate::model::{FileId, FileStatus, FileView, Integrity};

/// `query_as!(FileRow, …)` with the row's column list written once: `$before` comes before
/// it (`select`, `… returning`), `$after` after it. sqlx checks the joined text at build time.
macro_rules! file_rows {
    ($before:literal, $after:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            $crate::backend::files::FileRow,
            $before
                + r#" file_id as id, owner_id, object_key, name, content_type, size_bytes,
                      status as "status: crate::model::FileStatus", s3_upload_id, part_size,
                      part_count, failure_reason, created_at, checksum_sha256, part_checksums,
                      integrity as "integrity: crate::model::Integrity", request_id, visitor_id,
                      sender_name, sender_message "#
                + $after
            $(, $arg)*
        )
    };
}
pub(crate) use file_rows;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FileRow {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub object_key: String,
    pub name: String,
    pub content_type: String,
    pub size_bytes: i64,
    /// Decoded once, when the row is read: an unknown status is an error, never a guess.
    pub status: FileStatus,
    pub s3_upload_id: Option<String>,
    pub part_size: i64,
    pub part_count: i32,
    pub failure_reason: Option<String>,
    pub created_at: OffsetDateTime,
    pub checksum_sha256: Option<String>,
    /// Its parts carry SHA-256 checksums (every upload begun since they exist, but for
    /// `Integrity::None`).
    pub part_checksums: bool,
    pub integrity: Integrity,
    /// Sent in through this upload request, from this visitor's browser, with the name and
    /// message they left (None: uploaded by the owner).
    pub request_id: Option<Uuid>,
    pub visitor_id: Option<Uuid>,
    pub sender_name: Option<String>,
    pub sender_message: Option<String>,
}

impl FileRow {
    pub fn view(&self) -> FileView {
        FileView {
            id: FileId(self.id),
            name: self.name.clone(),
            content_type: self.content_type.clone(),
            size_bytes: u64::try_from(self.size_bytes).unwrap_or(0),
            status: self.status,
            created_at: self.created_at.format(&Rfc3339).unwrap_or_default(),
            failure: self.failure_reason.clone(),
            checksum: self.checksum_sha256.clone(),
            part_size: u64::try_from(self.part_size).unwrap_or(0),
            part_count: u32::try_from(self.part_count).unwrap_or(0),
            integrity: self.integrity,
            received_from: self
                .request_id
                .map(|_| self.sender_name.clone().unwrap_or_default()),
            received_message: self.sender_message.clone().filter(|m| !m.is_empty()),
        }
    }
}

/// Any user's file, or NotFound (for admins and the server itself).
pub async fn find(db: &PgPool, id: Uuid) -> Result<FileRow, Error> {
    file_rows!("select", "from file where file_id = $1", id)
        .fetch_optional(db)
        .await
        .context("loading a file")?
        .ok_or(Error::NotFound)
}

/// Every file of `ids`, in one read; NotFound when any is missing.
pub async fn find_many(db: &PgPool, ids: &[Uuid]) -> Result<Vec<FileRow>, Error> {
    let rows = file_rows!("select", "from file where file_id = any($1)", ids)
        .fetch_all(db)
        .await
        .context("loading files")?;
    let distinct: std::collections::BTreeSet<&Uuid> = ids.iter().collect();
    if rows.len() != distinct.len() {
        return Err(Error::NotFound);
    }
    Ok(rows)
}

/// The caller's file, or NotFound: someone else's file answers like a missing one.
pub async fn find_owned(db: &PgPool, owner: Uuid, id: FileId) -> Result<FileRow, Error> {
    match find(db, id.0).await {
        Ok(file) if file.owner_id == owner => Ok(file),
        Ok(_) | Err(Error::NotFound) => Err(Error::NotFound),
        Err(error) => Err(error),
    }
}

pub struct NewFile<'a> {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub object_key: &'a str,
    pub name: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub s3_upload_id: Option<&'a str>,
    pub part_size: i64,
    pub part_count: i32,
    /// Recorded complete at once, with this checksum: a 0-byte file, whose empty object the
    /// server wrote itself.
    pub complete: Option<&'a str>,
    pub integrity: Integrity,
    /// Sent through an upload request (None: the owner's own upload).
    pub from: Option<&'a super::requests::Visitor>,
}

/// Reserves `bytes` of the owner's quota, in one statement so that two uploads started at once
/// cannot both squeeze past it. False when they do not fit.
pub async fn reserve(
    tx: &mut Transaction<'_, Postgres>,
    owner: Uuid,
    bytes: i64,
) -> Result<bool, Error> {
    let reserved = sqlx::query!(
        "update app_user set reserved_bytes = reserved_bytes + $2
         where app_user_id = $1 and used_bytes + reserved_bytes + $2 <= quota_bytes",
        owner,
        bytes
    )
    .execute(&mut **tx)
    .await
    .context("reserving quota")?;
    Ok(reserved.rows_affected() == 1)
}

pub async fn insert(
    tx: &mut Transaction<'_, Postgres>,
    file: &NewFile<'_>,
) -> Result<FileRow, Error> {
    let row = file_rows!(
        "insert into file (file_id, owner_id, object_key, name, content_type, size_bytes,
                           s3_upload_id, part_size, part_count, status, completed_at,
                           ended_at, checksum_sha256, part_checksums, integrity,
                           request_id, visitor_id, sender_name, sender_message)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9,
                 case when $10::text is null then 'uploading' else 'complete' end,
                 case when $10::text is null then null else now() end,
                 case when $10::text is null then null else now() end, $10,
                 $11 <> 'none', $11, $12, $13, $14, $15)
         returning",
        "",
        file.id,
        file.owner_id,
        file.object_key,
        file.name,
        file.content_type,
        file.size_bytes,
        file.s3_upload_id,
        file.part_size,
        file.part_count,
        file.complete,
        file.integrity.as_str(),
        file.from.map(|v| v.request_id),
        file.from.map(|v| v.visitor_id),
        file.from.map(|v| v.name.as_str()),
        file.from.map(|v| v.message.as_str()),
    )
    .fetch_one(&mut **tx)
    .await
    .context("recording a new file")?;
    if row.status == FileStatus::Complete {
        sqlx::query!(
            "update app_user set used_bytes = used_bytes + $2, complete_files = complete_files + 1
             where app_user_id = $1",
            row.owner_id,
            row.size_bytes
        )
        .execute(&mut **tx)
        .await
        .context("counting a complete file")?;
        count_upload(tx, row.id, row.size_bytes).await?;
    }
    Ok(row)
}

/// An owner's own upload (not through a request, not complete at once) starting: reserves
/// its bytes and records it in one statement, no transaction, the reservation deciding as in
/// `reserve`. None when it does not fit.
pub async fn reserve_and_insert(db: &PgPool, file: &NewFile<'_>) -> Result<Option<FileRow>, Error> {
    debug_assert!(file.from.is_none() && file.complete.is_none());
    let row = file_rows!(
        "with reserved as (
           update app_user set reserved_bytes = reserved_bytes + $6
           where app_user_id = $2 and used_bytes + reserved_bytes + $6 <= quota_bytes
           returning app_user_id
         )
         insert into file (file_id, owner_id, object_key, name, content_type, size_bytes,
                           s3_upload_id, part_size, part_count, status, part_checksums,
                           integrity)
         select $1, app_user_id, $3, $4, $5, $6, $7, $8, $9, 'uploading', $10 <> 'none', $10
         from reserved
         returning",
        "",
        file.id,
        file.owner_id,
        file.object_key,
        file.name,
        file.content_type,
        file.size_bytes,
        file.s3_upload_id,
        file.part_size,
        file.part_count,
        file.integrity.as_str(),
    )
    .fetch_optional(db)
    .await
    .context("recording a new file")?;
    Ok(row)
}

/// Takes the lease on an uploading file for `hold` (`lease::take`), with the row as it is
/// under it. None when someone else holds it, or the file is no longer uploading.
pub async fn claim(
    db: &PgPool,
    file_id: Uuid,
    hold: Duration,
) -> Result<Option<(FileRow, Lease)>, Error> {
    let Some(lease) = lease::take(db, file_id, hold).await? else {
        return Ok(None);
    };
    match find(db, file_id).await {
        Ok(file) => Ok(Some((file, lease))),
        // Deleted in between (by `remove_many`, which needs no lease): nothing to hold.
        Err(Error::NotFound) => Ok(None),
        Err(error) => Err(error),
    }
}

/// How an uploading file ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending<'a> {
    /// Verified, with its checksum (None where the storage reports none).
    Complete(Option<&'a str>),
    Failed(&'a str),
    /// Cancelled, by its owner or (with a reason) by the sweeper.
    Aborted(Option<&'a str>),
}

/// Moves an uploading file to its `ending`, and its reserved bytes to used (complete) or back
/// to free (failed, aborted), and ends the lease; its part digests are no longer needed, its
/// event (none for an abort) is recorded and a complete file is counted in the daily rollup.
/// One statement: the file's, its owner's and the rollup's rows are each locked only while it
/// runs, not across round trips. Only the lease holder's first call counts: a repeated call,
/// or one whose lease ran out and was taken, changes nothing and returns false.
pub async fn finish(
    db: &PgPool,
    file: &FileRow,
    lease: Lease,
    ending: Ending<'_>,
) -> Result<bool, Error> {
    let (status, reason, checksum) = match ending {
        Ending::Complete(checksum) => ("complete", None, checksum),
        Ending::Failed(reason) => ("failed", Some(reason), None),
        Ending::Aborted(reason) => ("aborted", reason, None),
    };
    let event = match ending {
        Ending::Aborted(_) => None,
        _ => Some(super::notifications::ended(db, file, checksum, reason).await?),
    };
    let kind = event.as_ref().map(|(kind, _)| kind.as_str());
    let listed = event
        .as_ref()
        .is_some_and(|(kind, _)| super::notifications::listed(*kind));
    let data = event.map(|(_, data)| data);
    let slot = day_slot(file.id);
    let ended = sqlx::query!(
        r#"with moved as (
             update file set status = $2, failure_reason = $3, lease_token = null,
                    lease_until = null,
                    completed_at = case when $2 = 'complete' then now() else null end,
                    ended_at = now(), checksum_sha256 = $5
              where file_id = $1 and status = 'uploading' and lease_token = $4
             returning owner_id, size_bytes
           ), digests as (
             delete from file_part where file_id = $1 and exists (select from moved)
           ), owner as (
             update app_user u
                set reserved_bytes = u.reserved_bytes - m.size_bytes,
                    used_bytes = u.used_bytes
                      + case when $2 = 'complete' then m.size_bytes else 0 end,
                    complete_files = u.complete_files + case when $2 = 'complete' then 1 else 0 end
               from moved m
              where u.app_user_id = m.owner_id
             returning 1
           ), told as (
             insert into event (event_id, user_id, kind, file_id, data, read_at)
             select $6, m.owner_id, $7, $1, $8, case when $9 then null else now() end
               from moved m
              where $7::text is not null
           ), counted as (
             insert into upload_day (day, slot, files, bytes)
             select (now() at time zone 'utc')::date, $10, 1, m.size_bytes
               from moved m
              where $2 = 'complete'
             on conflict (day, slot) do update set files = upload_day.files + 1,
                                                   bytes = upload_day.bytes + excluded.bytes
           )
           select exists (select from moved) as "moved!", exists (select from owner) as "owner!""#,
        file.id,
        status,
        reason,
        lease.token(),
        checksum,
        Uuid::new_v4(),
        kind,
        data,
        listed,
        slot
    )
    .fetch_one(db)
    .await
    .context("finishing a file")?;
    if ended.moved && !ended.owner {
        // Its owner was deleted meanwhile (their files go with them): nothing to settle.
        return Err(anyhow::anyhow!("the file's owner is gone").into());
    }
    Ok(ended.moved)
}

/// Rows of the upload rollup per day: completions at once add to different rows, rather than
/// queue for one row's lock.
const UPLOAD_DAY_SLOTS: u16 = 16;

/// The row of a day's rollup that a completed file adds to: the one its id picks.
fn day_slot(file_id: Uuid) -> i16 {
    (file_id.as_u128() % u128::from(UPLOAD_DAY_SLOTS)) as i16
}

/// Adds a completed file to its row of today's upload rollup (the overview's chart).
async fn count_upload(
    tx: &mut Transaction<'_, Postgres>,
    file_id: Uuid,
    bytes: i64,
) -> Result<(), Error> {
    sqlx::query!(
        "insert into upload_day (day, slot, files, bytes)
         values ((now() at time zone 'utc')::date, $2, 1, $1)
         on conflict (day, slot) do update set files = upload_day.files + 1,
                                               bytes = upload_day.bytes + excluded.bytes",
        bytes,
        day_slot(file_id)
    )
    .execute(&mut **tx)
    .await
    .context("counting an upload")?;
    Ok(())
}

/// The digests a `sign_parts` call gives, as read before its file is known: a part each (the
/// first time it is listed), with its SHA-256 and MD5 where they parse.
pub struct GivenDigests {
    pub numbers: Vec<i32>,
    pub sha256s: Vec<Option<Vec<u8>>>,
    pub md5s: Vec<Option<Vec<u8>>>,
    /// Whether anything may be written: the call lists 1 to 100 parts, none twice with
    /// another SHA-256.
    pub writable: bool,
    /// A part is listed twice with another MD5 (which only an `Integrity::Md5` file refuses).
    pub md5s_differ: bool,
}

/// What signing parts needs of their file.
pub struct SigningFile {
    pub status: FileStatus,
    pub object_key: String,
    pub size_bytes: i64,
    pub s3_upload_id: Option<String>,
    pub part_size: i64,
    pub part_count: i32,
    pub part_checksums: bool,
    pub integrity: Integrity,
    /// Parts that had other digests recorded than those given.
    pub clashes: Vec<u32>,
}

/// The owner's file, read, and the digests its parts are about to be signed with, recorded, in
/// one statement; NotFound when the owner has no such file. They are recorded only when the
/// call is one `sign_parts` accepts for this file (uploading, with part checksums and an upload
/// id; every part in the file, with the digests its `integrity` asks for, and listed once or
/// with the same ones): a refused call writes nothing.
///
/// A part keeps the first digests it was given: a part seen before is not written again, unless
/// its recorded digests differ; then it is "updated" to itself, which returns it (and locks it)
/// as a clash. An insert racing another call's for the same part waits for that one to commit
/// and then compares with what it wrote, so two calls never both sign one part with different
/// digests.
pub async fn sign_target(
    db: &PgPool,
    owner: Uuid,
    file_id: Uuid,
    given: &GivenDigests,
) -> Result<SigningFile, Error> {
    let row = sqlx::query!(
        r#"with f as (
             select file_id, status, object_key, size_bytes, s3_upload_id, part_size, part_count,
                    part_checksums, integrity
               from file where file_id = $1 and owner_id = $2
           ), given as (
             select * from unnest($3::int4[], $4::bytea[], $5::bytea[]) as t(n, d, m)
           ), fit as (
             select f.file_id, f.integrity from f
              where $6 and f.status = 'uploading' and f.part_checksums
                and f.integrity <> 'none' and f.s3_upload_id is not null
                and not ($7 and f.integrity = 'md5')
                and not exists (
                  select from given g
                   where g.n < 1 or g.n > f.part_count or g.d is null
                      or (f.integrity = 'md5' and g.m is null))
           ), written as (
             insert into file_part (file_id, part_number, sha256, md5)
             select fit.file_id, g.n, g.d, case when fit.integrity = 'md5' then g.m end
               from fit, given g
             on conflict (file_id, part_number) do update set sha256 = file_part.sha256
               where file_part.sha256 <> excluded.sha256
                  or file_part.md5 is distinct from excluded.md5
             returning part_number, sha256, md5
           )
           select f.status as "status: FileStatus", f.object_key, f.size_bytes, f.s3_upload_id,
                  f.part_size, f.part_count, f.part_checksums,
                  f.integrity as "integrity: Integrity",
                  array(select w.part_number from written w join given g on g.n = w.part_number
                         where w.sha256 <> g.d
                            or w.md5 is distinct from
                               (case when f.integrity = 'md5' then g.m end)
                         order by 1) as "clashes!"
             from f"#,
        file_id,
        owner,
        &given.numbers,
        &given.sha256s as &[Option<Vec<u8>>],
        &given.md5s as &[Option<Vec<u8>>],
        given.writable,
        given.md5s_differ
    )
    .fetch_optional(db)
    .await;
    let row = match row {
        // Deleted by its owner, an admin or the sweeper as the digests went in.
        Err(sqlx::Error::Database(error)) if error.is_foreign_key_violation() => {
            return Err(Error::NotFound)
        }
        row => row.context("reading a file and recording part digests")?,
    };
    let row = row.ok_or(Error::NotFound)?;
    Ok(SigningFile {
        status: row.status,
        object_key: row.object_key,
        size_bytes: row.size_bytes,
        s3_upload_id: row.s3_upload_id,
        part_size: row.part_size,
        part_count: row.part_count,
        part_checksums: row.part_checksums,
        integrity: row.integrity,
        clashes: row.clashes.into_iter().map(|n| n as u32).collect(),
    })
}

/// What a part is signed with: its SHA-256 and, for an `Integrity::Md5` file, its MD5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartSums {
    pub sha256: Digest,
    pub md5: Option<Md5>,
}

/// The digests the file's parts were signed with, by part number.
pub async fn part_digests(db: &PgPool, file_id: Uuid) -> Result<BTreeMap<u32, Digest>, Error> {
    Ok(part_sums(db, file_id)
        .await?
        .into_iter()
        .map(|(number, sums)| (number, sums.sha256))
        .collect())
}

/// Every digest the file's parts were signed with, by part number.
pub async fn part_sums(db: &PgPool, file_id: Uuid) -> Result<BTreeMap<u32, PartSums>, Error> {
    let rows = sqlx::query!(
        "select part_number, sha256, md5 from file_part where file_id = $1",
        file_id
    )
    .fetch_all(db)
    .await
    .context("loading part digests")?;
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some((
                u32::try_from(row.part_number).ok()?,
                PartSums {
                    sha256: row.sha256.try_into().ok()?,
                    md5: row.md5.and_then(|md5| md5.try_into().ok()),
                },
            ))
        })
        .collect())
}

/// Deletes the row and gives back what it held. An uploading file is deleted only under its
/// `lease`. False when it was already gone (or is uploading and the lease is not held).
pub async fn remove(
    db: &PgPool,
    file: &FileRow,
    lease: Option<Lease>,
    actor: &Actor,
) -> Result<bool, Error> {
    let mut tx = db.begin().await?;
    let removed = sqlx::query_scalar!(
        r#"delete from file where file_id = $1 and (status <> 'uploading' or lease_token = $2)
           returning status as "status: FileStatus""#,
        file.id,
        lease.map(|l| l.token())
    )
    .fetch_optional(&mut *tx)
    .await
    .context("deleting a file row")?;
    let Some(status) = removed else {
        return Ok(false);
    };
    let (reserved, used, files) = match status {
        FileStatus::Uploading => (file.size_bytes, 0, 0),
        FileStatus::Complete => (0, file.size_bytes, 1),
        FileStatus::Failed | FileStatus::Aborted => (0, 0, 0),
    };
    sqlx::query!(
        "update app_user set reserved_bytes = reserved_bytes - $2, used_bytes = used_bytes - $3,
                             complete_files = complete_files - $4
         where app_user_id = $1",
        file.owner_id,
        reserved,
        used,
        files
    )
    .execute(&mut *tx)
    .await
    .context("freeing quota")?;
    let owner = sqlx::query_scalar!(
        "select email from app_user where app_user_id = $1",
        file.owner_id
    )
    .fetch_one(&mut *tx)
    .await
    .context("loading a file's owner")?;
    let mut event = Event::new("file.delete")
        .on_file(file.id)
        .detail(serde_json::json!({ "name": file.name, "size": file.size_bytes }));
    event.target_user = Some((file.owner_id, &owner));
    audit::record(&mut *tx, actor, event).await?;
    tx.commit().await?;
    Ok(true)
}

/// Up to `limit` uploading files started before `cutoff`, oldest first.
pub async fn uploading_since_before(
    db: &PgPool,
    cutoff: OffsetDateTime,
    limit: i64,
) -> Result<Vec<Uuid>, Error> {
    sqlx::query_scalar!(
        "select file_id from file where status = 'uploading' and created_at < $1
         order by created_at limit $2",
        cutoff,
        limit
    )
    .fetch_all(db)
    .await
    .context("finding abandoned uploads")
}

/// The status of the file whose multipart upload is `upload_id`, if one is.
pub async fn status_of_upload(db: &PgPool, upload_id: &str) -> Result<Option<FileStatus>, Error> {
    sqlx::query_scalar!(
        r#"select status as "status: FileStatus" from file where s3_upload_id = $1"#,
        upload_id
    )
    .fetch_optional(db)
    .await
    .context("matching an open upload")
}

/// Of `keys`, those that no uploading or complete file owns: bytes nobody may ever read.
pub async fn unowned_keys(db: &PgPool, keys: &[String]) -> Result<Vec<String>, Error> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        r#"select key as "key!" from unnest($1::text[]) as key
           where not exists (select 1 from file
                             where object_key = key and status in ('uploading', 'complete'))"#,
        keys
    )
    .fetch_all(db)
    .await
    .context("matching objects with files")
}

/// Deletes the rows of files whose bytes are gone, giving back what they held; how many went.
pub async fn remove_many(db: &PgPool, ids: &[Uuid]) -> Result<u64, Error> {
    if ids.is_empty() {
        return Ok(0);
    }
    let removed = sqlx::query!(
        r#"with gone as (
               delete from file where file_id = any($1)
               returning owner_id, status, size_bytes
           ), held as (
               select owner_id, count(*) as files,
                      coalesce(sum(size_bytes) filter (where status = 'uploading'), 0) as reserved,
                      coalesce(sum(size_bytes) filter (where status = 'complete'), 0) as used,
                      count(*) filter (where status = 'complete') as complete
               from gone group by owner_id
           ), freed as (
               update app_user u set reserved_bytes = u.reserved_bytes - held.reserved,
                                     used_bytes = u.used_bytes - held.used,
                                     complete_files = u.complete_files - held.complete
               from held where u.app_user_id = held.owner_id
               returning held.files
           )
           select coalesce(sum(files), 0)::bigint as "removed!" from freed"#,
        ids
    )
    .fetch_one(db)
    .await
    .context("deleting file rows")?;
    Ok(u64::try_from(removed.removed).unwrap_or(0))
}

/// Gives the file a new name; false when the row is gone.
pub async fn set_name(db: &PgPool, file: &FileRow, name: &str) -> anyhow::Result<bool> {
    let renamed = sqlx::query!(
        "update file set name = $2 where file_id = $1",
        file.id,
        name
    )
    .execute(db)
    .await
    .context("renaming a file")?;
    Ok(renamed.rows_affected() == 1)
}

/// How "My files" is sorted; each sort pages by its own key (`page::Key` for a time or a
/// size, `page::TextKey` for a name) with the id breaking ties, on an index of the owner's
/// files in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSort {
    Newest,
    Oldest,
    /// A to Z, ignoring case ("apple" beside "Apple").
    Name,
    NameDesc,
    Largest,
    Smallest,
}

impl ListSort {
    /// The sort a URL names ("" for the default, newest first); None for one that does not
    /// exist.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim() {
            "" | "newest" => Self::Newest,
            "oldest" => Self::Oldest,
            "name" => Self::Name,
            "name_desc" => Self::NameDesc,
            "largest" => Self::Largest,
            "smallest" => Self::Smallest,
            _ => return None,
        })
    }

    /// The key column and whether it runs downwards.
    fn order(self) -> (&'static str, bool) {
        match self {
            Self::Newest => ("created_at", true),
            Self::Oldest => ("created_at", false),
            Self::Name => ("lower(name)", false),
            Self::NameDesc => ("lower(name)", true),
            Self::Largest => ("size_bytes", true),
            Self::Smallest => ("size_bytes", false),
        }
    }
}

/// What the owner asks of their list: the files whose name contains `name` (ignoring case;
/// "" for all), in `sort` order.
pub struct ListQuery {
    pub name: String,
    pub sort: ListSort,
}

impl ListQuery {
    /// The search and sort as a URL gives them: a sort that does not exist, or a NUL (which
    /// no name holds, and PostgreSQL refuses in text), is malformed.
    pub fn parse(name: &str, sort: &str) -> Result<Self, Error> {
        let name = name.trim();
        if name.contains('\0') {
            return Err(Error::Malformed(
                "a file name never holds a NUL character".into(),
            ));
        }
        let sort = ListSort::parse(sort).ok_or_else(|| {
            Error::Malformed(format!(
                "unknown sort {sort:?}: newest, oldest, name, name_desc, largest or smallest"
            ))
        })?;
        Ok(Self {
            name: name.to_owned(),
            sort,
        })
    }
}

/// Where a page starts: the last row's sort key, typed for its column, and its id.
enum After {
    Time(OffsetDateTime),
    Size(i64),
    Name(String),
}

fn read_after(sort: ListSort, cursor: Option<&str>) -> Result<Option<(After, Uuid)>, Error> {
    Ok(match sort {
        ListSort::Name | ListSort::NameDesc => page::read_cursor(cursor, page::TextKey::parse)?
            .map(|key| (After::Name(key.key), key.id)),
        ListSort::Largest | ListSort::Smallest => {
            page::read_cursor(cursor, Key::parse)?.map(|key| (After::Size(key.key), key.id))
        }
        ListSort::Newest | ListSort::Oldest => match page::read_cursor(cursor, Key::parse)? {
            Some(key) => Some((After::Time(key.time()?), key.id)),
            None => None,
        },
    })
}

#[derive(sqlx::FromRow)]
struct ListedRow {
    #[sqlx(flatten)]
    file: FileRow,
    /// `lower(name)` as PostgreSQL lower-cases it: the key of a name sort's cursor.
    name_key: String,
}

/// The statuses "My files" lists: aborted files are gone for their owner.
const LISTED: &str = "status in ('uploading', 'complete', 'failed')";

/// One page of the owner's files that `query` asks for, after `cursor` (a cursor of another
/// sort, or one the server never handed out, is malformed).
pub async fn list(
    db: &PgPool,
    owner: Uuid,
    query: &ListQuery,
    cursor: Option<&str>,
) -> Result<(Vec<FileRow>, Option<String>), Error> {
    let after = read_after(query.sort, cursor)?;
    let (column, down) = query.sort.order();
    let mut sql = QueryBuilder::<Postgres>::new(
        "select file_id as id, owner_id, object_key, name, content_type, size_bytes, status,
                s3_upload_id, part_size, part_count, failure_reason, created_at, checksum_sha256,
                part_checksums, integrity, request_id, visitor_id, sender_name, sender_message,
                lower(name) as name_key
         from file where owner_id = ",
    );
    sql.push_bind(owner).push(format!(" and {LISTED}"));
    if !query.name.is_empty() {
        sql.push(" and name ilike ")
            .push_bind(page::contains_pattern(&query.name));
    }
    if let Some((after, id)) = after {
        let before_or_after = if down { "<" } else { ">" };
        sql.push(format!(" and ({column}, file_id) {before_or_after} ("));
        match after {
            After::Time(time) => sql.push_bind(time),
            After::Size(size) => sql.push_bind(size),
            After::Name(name) => sql.push_bind(name),
        };
        sql.push(", ").push_bind(id).push(")");
    }
    let direction = if down { "desc" } else { "asc" };
    sql.push(format!(
        " order by {column} {direction}, file_id {direction} limit "
    ))
    .push_bind(page::limit());
    let mut rows: Vec<ListedRow> = sql
        .build_query_as()
        .fetch_all(db)
        .await
        .context("listing files")?;
    let sort = query.sort;
    let next = page::next_page(&mut rows, |last| {
        let id = last.file.id;
        match sort {
            ListSort::Newest | ListSort::Oldest => Key::at(last.file.created_at, id).to_string(),
            ListSort::Largest | ListSort::Smallest => {
                Key::new(last.file.size_bytes, id).to_string()
            }
            ListSort::Name | ListSort::NameDesc => {
                page::TextKey::new(&*last.name_key, id).to_string()
            }
        }
    });
    Ok((rows.into_iter().map(|row| row.file).collect(), next))
}

/// How many of the owner's complete files (the files they store) have a name containing
/// `name` ("" for all), and their sizes summed. Without a search this is the account's own
/// counters, kept by the statements that complete and delete files: one row, however many
/// files, on every page of the list.
pub async fn count_matching(db: &PgPool, owner: Uuid, name: &str) -> Result<(u64, u64), Error> {
    let (files, bytes) = if name.is_empty() {
        let totals = sqlx::query!(
            "select complete_files, used_bytes from app_user where app_user_id = $1",
            owner
        )
        .fetch_one(db)
        .await
        .context("reading the owner's file counters")?;
        (totals.complete_files, totals.used_bytes)
    } else {
        let totals = sqlx::query!(
            r#"select count(*) as "files!", coalesce(sum(size_bytes), 0)::bigint as "bytes!"
               from file where owner_id = $1 and status = 'complete' and name ilike $2"#,
            owner,
            page::contains_pattern(name)
        )
        .fetch_one(db)
        .await
        .context("counting matching files")?;
        (totals.files, totals.bytes)
    };
    Ok((
        u64::try_from(files).unwrap_or(0),
        u64::try_from(bytes).unwrap_or(0),
    ))
}

/// Another of the owner's files (uploading or complete) with this name, ignoring case (on
/// macOS and Windows the two would be one file once downloaded): its name as it stands. Only
/// a question for the owner, never a rule: two renames at once may both pass.
pub async fn same_name(
    db: &PgPool,
    owner: Uuid,
    file_id: Uuid,
    name: &str,
) -> Result<Option<String>, Error> {
    sqlx::query_scalar!(
        "select name from file
         where owner_id = $1 and lower(name) = lower($3) and file_id <> $2
           and status in ('uploading', 'complete')
         order by created_at desc limit 1",
        owner,
        file_id,
        name
    )
    .fetch_optional(db)
    .await
    .context("looking for a file of the same name")
}

/// The owner's newest complete file with exactly this name and size: the same file uploaded
/// before, most likely.
pub async fn find_same(
    db: &PgPool,
    owner: Uuid,
    name: &str,
    size: u64,
) -> Result<Option<FileRow>, Error> {
    // A name no file can have (a NUL would be refused by PostgreSQL) matches none.
    let (Ok(name), Ok(size)) = (crate::validate::file_name(name), i64::try_from(size)) else {
        return Ok(None);
    };
    file_rows!(
        "select",
        "from file
         where owner_id = $1 and lower(name) = lower($2) and name = $2 and size_bytes = $3
           and status = 'complete'
         order by created_at desc limit 1",
        owner,
        &name,
        size
    )
    .fetch_optional(db)
    .await
    .context("looking for the same file")
}
