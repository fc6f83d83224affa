//! Accounts for admins: a searchable, keyset-paged list; quota, role and disabled changes;
//! and deleting an account with all its files, step by step.

use crate::backend::error::Context;
use futures::{stream, StreamExt};
use sqlx::{PgPool, Postgres, QueryBuilder};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use super::Admin;
use crate::{
    backend::{
        audit::Event,
        file_actions,
        files::{self, FileRow},
        page::{self, contains_pattern, next_page, read_cursor, Key},
        state::AppState,
        users::{self, Change, User},
        Error,
    },
    model::{
        admin::{AdminUser, AdminUserPage, UserDeletion},
        Role, UserId,
    },
    validate,
};

/// Files one deletion step removes.
pub const DELETE_BATCH: i64 = 200;
/// S3 calls a deletion step makes at once.
const DELETE_CONCURRENCY: usize = 8;

#[derive(sqlx::FromRow)]
struct AdminUserRow {
    id: Uuid,
    email: String,
    role: String,
    complete_files: i64,
    used_bytes: i64,
    reserved_bytes: i64,
    quota_bytes: i64,
    created_at: OffsetDateTime,
    last_sign_in_at: Option<OffsetDateTime>,
    disabled: bool,
    deleting: bool,
}

impl AdminUserRow {
    fn view(self) -> AdminUser {
        let bytes = |n: i64| u64::try_from(n).unwrap_or(0);
        AdminUser {
            id: UserId(self.id),
            email: self.email,
            role: Role::from_db(&self.role),
            complete_files: bytes(self.complete_files),
            used_bytes: bytes(self.used_bytes),
            reserved_bytes: bytes(self.reserved_bytes),
            quota_bytes: bytes(self.quota_bytes),
            created_at: self.created_at.format(&Rfc3339).unwrap_or_default(),
            last_sign_in_at: self.last_sign_in_at.and_then(|at| at.format(&Rfc3339).ok()),
            disabled: self.disabled,
            deleting: self.deleting,
        }
    }
}

const SELECT: &str = "select app_user_id as id, email, role, complete_files, used_bytes,
        reserved_bytes, quota_bytes, created_at, last_sign_in_at,
        disabled_at is not null as disabled, deleting_at is not null as deleting
    from app_user where true";

/// One page of accounts whose email contains `email` (any case), newest first.
pub async fn list(
    state: &AppState,
    _admin: &Admin,
    email: &str,
    cursor: Option<&str>,
) -> Result<AdminUserPage, Error> {
    let after = read_cursor(cursor, Key::parse)?;
    let mut query = QueryBuilder::<Postgres>::new(SELECT);
    if !email.trim().is_empty() {
        query
            .push(" and email ilike ")
            .push_bind(contains_pattern(email.trim()));
    }
    if let Some(after) = after {
        query
            .push(" and (created_at, app_user_id) < (")
            .push_bind(after.time()?)
            .push(", ")
            .push_bind(after.id)
            .push(")");
    }
    query
        .push(" order by created_at desc, app_user_id desc limit ")
        .push_bind(page::limit());
    let mut rows: Vec<AdminUserRow> = query
        .build_query_as()
        .fetch_all(&state.db)
        .await
        .context("listing users")?;
    let next_cursor = next_page(&mut rows, |row| Key::at(row.created_at, row.id).to_string());
    Ok(AdminUserPage {
        users: rows.into_iter().map(AdminUserRow::view).collect(),
        next_cursor,
    })
}

/// One account as the list shows it.
pub async fn get(state: &AppState, _admin: &Admin, id: Uuid) -> Result<AdminUser, Error> {
    let mut query = QueryBuilder::<Postgres>::new(SELECT);
    query.push(" and app_user_id = ").push_bind(id);
    let row: Option<AdminUserRow> = query
        .build_query_as()
        .fetch_optional(&state.db)
        .await
        .context("loading a user")?;
    row.map(AdminUserRow::view).ok_or(Error::NotFound)
}

/// Sets the quota from a size such as `500GB` or `2TiB`.
pub async fn set_quota(
    state: &AppState,
    admin: &Admin,
    id: UserId,
    quota: &str,
) -> Result<AdminUser, Error> {
    let bytes = validate::size(quota)
        .ok()
        .and_then(|bytes| i64::try_from(bytes).ok())
        .ok_or_else(|| Error::invalid("quota", "Enter a size such as 500GB or 2TiB."))?;
    apply(state, admin, id, Change::Quota(bytes)).await
}

pub async fn set_role(
    state: &AppState,
    admin: &Admin,
    id: UserId,
    role: Role,
) -> Result<AdminUser, Error> {
    apply(state, admin, id, Change::Role(role)).await
}

/// Disables (their sessions stop at once, they cannot sign in) or enables an account.
pub async fn set_disabled(
    state: &AppState,
    admin: &Admin,
    id: UserId,
    disabled: bool,
) -> Result<AdminUser, Error> {
    apply(state, admin, id, Change::Disabled(disabled)).await
}

async fn apply(
    state: &AppState,
    admin: &Admin,
    id: UserId,
    change: Change,
) -> Result<AdminUser, Error> {
    let id = id.0;
    users::change(&state.db, id, change, &admin.actor()).await?;
    get(state, admin, id).await
}

/// One step of deleting an account and everything it holds. The first step disables it and
/// marks it as being deleted; each step removes up to `DELETE_BATCH` files, their bytes first
/// and then their rows; the step that finds no file left removes the account. Calling it
/// again after an interruption carries on; an admin cannot delete themselves, and the last
/// admin cannot be deleted.
pub async fn delete_step(
    state: &AppState,
    admin: &Admin,
    id: UserId,
) -> Result<UserDeletion, Error> {
    let id = id.0;
    if id == admin.user().id {
        return Err(Error::invalid(
            "user",
            "You cannot delete your own account.",
        ));
    }
    let target = begin_deletion(state, admin, id).await?;
    let batch = files_of(&state.db, id).await?;
    let removed_files = remove_files(state, &batch).await?;
    let files_left = sqlx::query_scalar!(
        r#"select count(*) as "n!" from file where owner_id = $1"#,
        id
    )
    .fetch_one(&state.db)
    .await
    .context("counting a deleted user's files")?;
    let done = files_left == 0 && remove_account(state, admin, &target).await?;
    Ok(UserDeletion {
        removed_files,
        files_left: u64::try_from(files_left).unwrap_or(0),
        done,
    })
}

/// Disables the account and marks it as being deleted (once: the first step is recorded).
async fn begin_deletion(state: &AppState, admin: &Admin, id: Uuid) -> Result<User, Error> {
    let mut tx = state.db.begin().await?;
    users::lock_admins(&mut tx).await?;
    let target = users::find(&state.db, id).await?.ok_or(Error::NotFound)?;
    if target.role == Role::Admin && users::other_admins(&mut tx, id).await? == 0 {
        return Err(Error::invalid(
            "user",
            "This is the last admin: make someone else an admin first.",
        ));
    }
    // Disabled at every step (an admin may have enabled it between two), marked once.
    let started = sqlx::query_scalar!(
        r#"update app_user u set deleting_at = coalesce(u.deleting_at, now()),
                                 disabled_at = coalesce(u.disabled_at, now())
           from (select deleting_at from app_user where app_user_id = $1 for update) before
           where u.app_user_id = $1
           returning before.deleting_at is null as "started!""#,
        id
    )
    .fetch_optional(&mut *tx)
    .await
    .context("marking a user for deletion")?;
    if started == Some(true) {
        let event = Event::new("user.delete_started").on_user(&target);
        crate::backend::audit::record(&mut *tx, &admin.actor(), event).await?;
    }
    tx.commit().await?;
    Ok(target)
}

async fn files_of(db: &PgPool, owner: Uuid) -> Result<Vec<FileRow>, Error> {
    files::file_rows!(
        "select",
        "from file where owner_id = $1 order by file_id limit $2",
        owner,
        DELETE_BATCH
    )
    .fetch_all(db)
    .await
    .context("listing a deleted user's files")
}

/// Removes the bytes of `batch` from S3 (a few calls at once), then the rows of those whose
/// bytes are gone. A storage failure stops the step after the rows of what did go.
async fn remove_files(state: &AppState, batch: &[FileRow]) -> Result<u64, Error> {
    let outcomes: Vec<_> = stream::iter(batch.to_vec())
        .map(|file| {
            let state = state.clone();
            async move { (file.id, file_actions::discard_bytes(&state, &file).await) }
        })
        .buffer_unordered(DELETE_CONCURRENCY)
        .collect()
        .await;
    let mut gone = Vec::new();
    let mut failure = None;
    for (id, outcome) in outcomes {
        match outcome {
            Ok(()) => gone.push(id),
            Err(error) => failure = Some(error),
        }
    }
    let removed = files::remove_many(&state.db, &gone).await?;
    match failure {
        Some(error) => Err(error.into()),
        None => Ok(removed),
    }
}

/// Deletes the account row once it holds no file; false when a file appeared meanwhile.
async fn remove_account(state: &AppState, admin: &Admin, target: &User) -> Result<bool, Error> {
    let mut tx = state.db.begin().await?;
    // Recorded first: the row names the account, whose id is then cleared from it.
    let event = Event::new("user.delete").on_user(target);
    crate::backend::audit::record(&mut *tx, &admin.actor(), event).await?;
    let removed = sqlx::query_scalar!(
        "delete from app_user where app_user_id = $1
           and not exists (select 1 from file where owner_id = $1)
         returning app_user_id",
        target.id
    )
    .fetch_optional(&mut *tx)
    .await
    .context("deleting a user")?;
    if removed.is_none() {
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}
