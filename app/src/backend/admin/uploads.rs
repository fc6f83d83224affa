//! Uploads in progress for admins: every `uploading` file with its age and the time before
//! the sweeper aborts it, what S3 holds of one (asked on demand), and abort of all a user's.

use crate::backend::error::Context;
use sqlx::{Postgres, QueryBuilder};
use time::OffsetDateTime;

use super::Admin;
use crate::{
    backend::{
        audit::Event,
        files::FileRow,
        page::{self, next_page, read_cursor, Key},
        state::AppState,
        uploads, Error,
    },
    model::{
        admin::{AdminUpload, AdminUploadPage, LandedParts},
        FileId, UserId,
    },
};

#[derive(sqlx::FromRow)]
struct UploadRow {
    #[sqlx(flatten)]
    file: FileRow,
    owner_email: String,
    signed_parts: i64,
}

/// Uploads in progress, oldest first (the next the sweeper would abort), optionally of one
/// owner (email, exactly).
pub async fn list(
    state: &AppState,
    _admin: &Admin,
    owner: &str,
    cursor: Option<&str>,
) -> Result<AdminUploadPage, Error> {
    let after = read_cursor(cursor, Key::parse)?;
    let mut query = QueryBuilder::<Postgres>::new(
        "select f.file_id as id, f.owner_id, f.object_key, f.name, f.content_type, f.size_bytes,
                f.status, f.s3_upload_id, f.part_size, f.part_count, f.failure_reason,
                f.created_at, f.checksum_sha256, f.part_checksums, f.integrity,
                f.request_id, f.visitor_id, f.sender_name, f.sender_message, u.email as owner_email,
                (select count(*) from file_part p where p.file_id = f.file_id) as signed_parts
         from file f join app_user u on u.app_user_id = f.owner_id
         where f.status = 'uploading'",
    );
    if !owner.trim().is_empty() {
        query
            .push(" and lower(u.email) = lower(")
            .push_bind(owner.trim().to_owned())
            .push(")");
    }
    if let Some(after) = after {
        query
            .push(" and (f.created_at, f.file_id) > (")
            .push_bind(after.time()?)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    query
        .push(" order by f.created_at, f.file_id limit ")
        .push_bind(page::limit());
    let mut rows: Vec<UploadRow> = query
        .build_query_as()
        .fetch_all(&state.db)
        .await
        .context("listing uploads in progress")?;
    let next_cursor = next_page(&mut rows, |row| {
        Key::at(row.file.created_at, row.file.id).to_string()
    });
    let now = OffsetDateTime::now_utc();
    let ttl = state.config.upload_ttl;
    Ok(AdminUploadPage {
        uploads: rows
            .into_iter()
            .map(|row| upload_view(row, now, ttl))
            .collect(),
        next_cursor,
    })
}

/// A row as the page shows it: its age, and the time left before the sweeper aborts it.
fn upload_view(row: UploadRow, now: OffsetDateTime, ttl: std::time::Duration) -> AdminUpload {
    let age = (now - row.file.created_at).max(time::Duration::ZERO);
    let left = (time::Duration::try_from(ttl).unwrap_or(time::Duration::MAX) - age)
        .max(time::Duration::ZERO);
    AdminUpload {
        owner_id: UserId(row.file.owner_id),
        file: row.file.view(),
        owner_email: row.owner_email,
        signed_parts: u32::try_from(row.signed_parts).unwrap_or(0),
        age_seconds: u64::try_from(age.whole_seconds()).unwrap_or(0),
        seconds_left: u64::try_from(left.whole_seconds()).unwrap_or(0),
    }
}

/// What S3 holds of one upload in progress (ListParts), each part once.
pub async fn landed(
    state: &AppState,
    _admin: &Admin,
    file_id: FileId,
) -> Result<LandedParts, Error> {
    let file = crate::backend::files::find(&state.db, file_id.0).await?;
    let parts = match (&file.s3_upload_id, file.status) {
        (Some(upload_id), crate::model::FileStatus::Uploading) => {
            uploads::landed(state, &file, upload_id)
                .await?
                .0
                .unwrap_or_default()
        }
        _ => {
            return Err(Error::invalid(
                "file",
                "Only an upload in progress has parts to list.",
            ))
        }
    };
    Ok(LandedParts {
        landed_parts: u32::try_from(parts.len()).unwrap_or(u32::MAX),
        landed_bytes: parts
            .iter()
            .map(|p| u64::try_from(p.size).unwrap_or(0))
            .sum(),
        part_count: u32::try_from(file.part_count).unwrap_or(0),
    })
}

/// Aborts every upload in progress of the user `user_id`; how many this call aborted.
pub async fn abort_all(state: &AppState, admin: &Admin, user_id: UserId) -> Result<u64, Error> {
    let owner_id = user_id.0;
    let owner = super::users::get(state, admin, owner_id).await?;
    let ids = sqlx::query_scalar!(
        "select file_id from file where owner_id = $1 and status = 'uploading'",
        owner_id
    )
    .fetch_all(&state.db)
    .await
    .context("listing a user's uploads")?;
    // One upload that cannot be aborted now (its completion holds the lease) does not stop
    // the others, and those aborted are recorded either way.
    let (mut aborted, mut busy) = (0, 0);
    for id in ids {
        match uploads::abort_file(state, id, Some(super::CANCELLED_BY_ADMIN)).await {
            Ok(true) => aborted += 1,
            Ok(false) => {}
            Err(Error::Conflict(_)) => busy += 1,
            Err(error) => return Err(error),
        }
    }
    let detail = serde_json::json!({ "email": owner.email, "aborted": aborted, "busy": busy });
    let mut event = Event::new("admin.upload.abort_all").detail(detail);
    event.target_user = Some((owner_id, &owner.email));
    admin.record(state, event).await?;
    if busy > 0 {
        return Err(Error::Conflict(format!(
            "Aborted {aborted}; {busy} being completed right now could not be aborted. Try \
             again in a moment."
        )));
    }
    Ok(aborted)
}
