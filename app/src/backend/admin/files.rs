//! Every user's files for admins: a filtered, sorted, keyset-paged list, and download, delete
//! and abort of any file. Deletes remove the bytes first: when an admin is told a file is
//! deleted, it is gone from the storage.

use crate::backend::error::Context;
use sqlx::{PgPool, Postgres, QueryBuilder};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use super::Admin;
use crate::{
    backend::{
        audit::Event,
        file_actions,
        files::{self, FileRow},
        page::{self, contains_pattern, next_page, read_cursor, DayRange, Key},
        state::AppState,
        uploads, Error,
    },
    model::{
        admin::{AdminFile, AdminFilePage, Deleted, FileFilter, FileSort},
        FileId, FileStatus,
    },
};

/// Files one bulk delete may name.
pub const MAX_BULK: usize = 500;
/// Name filters shorter than this would match nearly everything, and a trigram index cannot
/// narrow them.
pub const MIN_NAME_FILTER: usize = 3;

#[derive(sqlx::FromRow)]
struct AdminFileRow {
    #[sqlx(flatten)]
    file: FileRow,
    owner_email: String,
    completed_at: Option<OffsetDateTime>,
}

/// The filters, checked: a malformed one is a 400 that says which.
struct Checked {
    owner: Option<String>,
    status: Option<FileStatus>,
    name: Option<String>,
    days: DayRange,
    sort: FileSort,
}

fn check(filter: &FileFilter) -> Result<Checked, Error> {
    let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
    let status = match text(&filter.status) {
        None => None,
        Some(status) => Some(
            FileStatus::parse(&status)
                .ok_or_else(|| Error::Malformed(format!("unknown status {status:?}")))?,
        ),
    };
    let name = text(&filter.name);
    if name
        .as_ref()
        .is_some_and(|n| n.chars().count() < MIN_NAME_FILTER)
    {
        // The filter form's field: the page shows this message next to it.
        return Err(Error::invalid(
            "name",
            format!("Enter {MIN_NAME_FILTER} characters or more to search names."),
        ));
    }
    Ok(Checked {
        owner: text(&filter.owner),
        status,
        name,
        days: DayRange::parse(&filter.from, &filter.to)?,
        sort: FileSort::parse(filter.sort.trim())
            .ok_or_else(|| Error::Malformed(format!("unknown sort {:?}", filter.sort)))?,
    })
}

/// Where the next page starts: the sort key of the last row shown (its time or size) and
/// its id.
fn cursor_of(row: &AdminFileRow, sort: FileSort) -> String {
    match sort {
        FileSort::Newest => Key::at(row.file.created_at, row.file.id),
        FileSort::Largest => Key::new(row.file.size_bytes, row.file.id),
    }
    .to_string()
}

/// One page of every user's files that pass `filter`, after `cursor`.
pub async fn list(
    state: &AppState,
    _admin: &Admin,
    filter: &FileFilter,
    cursor: Option<&str>,
) -> Result<AdminFilePage, Error> {
    let checked = check(filter)?;
    let after = read_cursor(cursor, Key::parse)?;
    let owner = match &checked.owner {
        Some(email) => match owner_id(&state.db, email).await? {
            Some(id) => Some(id),
            // Nobody has that email: nobody's files.
            None => {
                return Ok(AdminFilePage {
                    files: Vec::new(),
                    next_cursor: None,
                })
            }
        },
        None => None,
    };
    let mut query = list_query(&checked, owner, after)?;
    let mut rows: Vec<AdminFileRow> = query
        .build_query_as()
        .fetch_all(&state.db)
        .await
        .context("listing every user's files")?;
    let next_cursor = next_page(&mut rows, |row| cursor_of(row, checked.sort));
    Ok(AdminFilePage {
        files: rows
            .into_iter()
            .map(|row| AdminFile {
                file: row.file.view(),
                owner_email: row.owner_email,
                completed_at: row.completed_at.and_then(|at| at.format(&Rfc3339).ok()),
            })
            .collect(),
        next_cursor,
    })
}

/// The list's statement for these filters, after the cursor's row: each filter a condition,
/// so the planner can pick the index that matches. The owner's email is a subquery, read for
/// the page's rows only: a join made a name filter hash every user for every match.
fn list_query(
    checked: &Checked,
    owner: Option<Uuid>,
    after: Option<Key>,
) -> Result<QueryBuilder<'static, Postgres>, Error> {
    let mut query = QueryBuilder::<Postgres>::new(
        "select f.file_id as id, f.owner_id, f.object_key, f.name, f.content_type, f.size_bytes,
                f.status, f.s3_upload_id, f.part_size, f.part_count, f.failure_reason,
                f.created_at, f.checksum_sha256, f.part_checksums, f.integrity,
                f.request_id, f.visitor_id, f.sender_name, f.sender_message, f.completed_at,
                (select u.email from app_user u where u.app_user_id = f.owner_id) as owner_email
         from file f where true",
    );
    if let Some(owner) = owner {
        query.push(" and f.owner_id = ").push_bind(owner);
    }
    if let Some(status) = checked.status {
        query.push(" and f.status = ").push_bind(status.as_str());
    }
    if let Some(name) = &checked.name {
        query
            .push(" and f.name ilike ")
            .push_bind(contains_pattern(name));
    }
    checked.days.push_conditions(&mut query, "f.created_at");
    if let Some(after) = after {
        match checked.sort {
            FileSort::Newest => query
                .push(" and (f.created_at, f.file_id) < (")
                .push_bind(after.time()?),
            FileSort::Largest => query
                .push(" and (f.size_bytes, f.file_id) < (")
                .push_bind(after.key),
        };
        query.push(", ").push_bind(after.id).push(")");
    }
    let order = match checked.sort {
        FileSort::Newest => "f.created_at desc, f.file_id desc",
        FileSort::Largest => "f.size_bytes desc, f.file_id desc",
    };
    query
        .push(format!(" order by {order} limit "))
        .push_bind(page::limit());
    Ok(query)
}

async fn owner_id(db: &PgPool, email: &str) -> Result<Option<Uuid>, Error> {
    sqlx::query_scalar!(
        "select app_user_id from app_user where lower(email) = lower($1)",
        email
    )
    .fetch_optional(db)
    .await
    .context("finding a file owner")
}

/// Any user's file, or NotFound.
async fn find(db: &PgPool, id: FileId) -> Result<FileRow, Error> {
    files::find(db, id.0).await
}

/// A short-lived URL that downloads any complete file under its name.
pub async fn download_url(
    state: &AppState,
    admin: &Admin,
    file_id: FileId,
) -> Result<String, Error> {
    let file = find(&state.db, file_id).await?;
    let url = file_actions::presign_download(state, &file).await?;
    admin
        .record(
            state,
            Event::new("admin.file.download")
                .on_file(file.id)
                .detail(serde_json::json!({ "owner_id": file.owner_id, "name": file.name })),
        )
        .await?;
    Ok(url)
}

/// Deletes the files named, each bytes first, then the row (the quota freed). Unknown ids are
/// NotFound before anything is deleted. A storage failure stops there: what was deleted
/// stays deleted, the rest is untouched, and the same call can be made again.
pub async fn delete(
    state: &AppState,
    admin: &Admin,
    file_ids: &[FileId],
) -> Result<Deleted, Error> {
    if file_ids.is_empty() || file_ids.len() > MAX_BULK {
        return Err(Error::invalid(
            "file_ids",
            format!("Name 1 to {MAX_BULK} files."),
        ));
    }
    let ids: Vec<Uuid> = file_ids.iter().map(|id| id.0).collect();
    let found = files::find_many(&state.db, &ids).await?;
    let mut deleted = Deleted { files: 0, bytes: 0 };
    for file in found {
        if file_actions::purge(state, &file, &admin.actor()).await? {
            deleted.files += 1;
            deleted.bytes += u64::try_from(file.size_bytes).unwrap_or(0);
        }
    }
    Ok(deleted)
}

/// Cancels any user's upload in progress: S3 drops its parts, the quota is freed.
pub async fn abort(state: &AppState, admin: &Admin, file_id: FileId) -> Result<(), Error> {
    let file = find(&state.db, file_id).await?;
    if file.status != FileStatus::Uploading {
        return Err(Error::invalid(
            "file",
            "Only an upload in progress can be aborted.",
        ));
    }
    if uploads::abort_file(state, file.id, Some(super::CANCELLED_BY_ADMIN)).await? {
        let detail = serde_json::json!({ "owner_id": file.owner_id, "name": file.name });
        admin
            .record(
                state,
                Event::new("admin.upload.abort")
                    .on_file(file.id)
                    .detail(detail),
            )
            .await?;
    }
    Ok(())
}
