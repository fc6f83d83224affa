//! Accounts in PostgreSQL.

use crate::backend::error::Context;
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    backend::{
        audit::{self, Actor, Event},
        Error,
    },
    model::{Email, Role, UserView},
};

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub role: Role,
    pub quota_bytes: i64,
    pub used_bytes: i64,
    pub reserved_bytes: i64,
    pub disabled: bool,
    pub last_seen_at: Option<OffsetDateTime>,
}

impl User {
    pub fn view(&self) -> UserView {
        let bytes = |n: i64| u64::try_from(n).unwrap_or(0);
        UserView {
            email: self.email.clone(),
            role: self.role,
            quota_bytes: bytes(self.quota_bytes),
            used_bytes: bytes(self.used_bytes),
            reserved_bytes: bytes(self.reserved_bytes),
            unread: 0,
        }
    }
}

/// A user as the audit log names them: acting, from where they are.
impl Actor {
    pub fn user(user: &User, ip: Option<std::net::IpAddr>) -> Self {
        Self {
            id: Some(user.id),
            email: Some(user.email.clone()),
            ip,
        }
    }
}

/// A user as the audit log names them: the account something was done to.
impl<'a> Event<'a> {
    pub fn on_user(self, user: &'a User) -> Self {
        self.on_account(user.id, &user.email)
    }
}

/// A user as stored; `role` is still text. A session carries it for the length of a request
/// (`session_store`).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct UserRow {
    pub(crate) id: Uuid,
    pub(crate) email: String,
    pub(crate) role: String,
    pub(crate) quota_bytes: i64,
    pub(crate) used_bytes: i64,
    pub(crate) reserved_bytes: i64,
    pub(crate) disabled: bool,
    pub(crate) last_seen_at: Option<OffsetDateTime>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: row.id,
            email: row.email,
            role: Role::from_db(&row.role),
            quota_bytes: row.quota_bytes,
            used_bytes: row.used_bytes,
            reserved_bytes: row.reserved_bytes,
            disabled: row.disabled,
            last_seen_at: row.last_seen_at,
        }
    }
}

/// An argon2id hash in PHC form. It cannot be serialised, and `Debug` does not show it.
#[derive(Clone)]
pub struct PasswordHash(pub(crate) String);

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<hidden>)")
    }
}

/// The unique index that keeps emails apart.
const EMAIL_KEY: &str = "app_user_email_key";

/// Creates an account; an email already taken is a field error, not a failure.
pub async fn create(
    db: &PgPool,
    email: &Email,
    hash: &PasswordHash,
    quota_bytes: i64,
) -> Result<User, Error> {
    let row = sqlx::query_as!(
        UserRow,
        r#"insert into app_user (email, password_hash, quota_bytes)
           values ($1, $2, $3)
           returning app_user_id as id, email, role, quota_bytes, used_bytes, reserved_bytes,
                     disabled_at is not null as "disabled!", last_seen_at"#,
        email.as_str(),
        hash.0,
        quota_bytes,
    )
    .fetch_one(db)
    .await;
    match row {
        Ok(row) => Ok(row.into()),
        Err(sqlx::Error::Database(e)) if e.constraint() == Some(EMAIL_KEY) => Err(Error::invalid(
            "email",
            "An account with this email already exists. Sign in instead.",
        )),
        Err(e) => Err(anyhow::Error::from(e).context("creating a user").into()),
    }
}

pub async fn find(db: &PgPool, id: Uuid) -> Result<Option<User>, Error> {
    let row = sqlx::query_as!(
        UserRow,
        r#"select app_user_id as id, email, role, quota_bytes, used_bytes, reserved_bytes,
                  disabled_at is not null as "disabled!", last_seen_at
           from app_user where app_user_id = $1"#,
        id
    )
    .fetch_optional(db)
    .await
    .context("loading a user")?;
    Ok(row.map(User::from))
}

/// The user with `email` (already normalised) and their password hash.
pub async fn find_with_hash(
    db: &PgPool,
    email: &Email,
) -> Result<Option<(User, PasswordHash)>, Error> {
    let hash = sqlx::query!(
        "select app_user_id, password_hash from app_user where lower(email) = lower($1)",
        email.as_str()
    )
    .fetch_optional(db)
    .await
    .context("loading a password hash")?;
    let Some(hash) = hash else {
        return Ok(None);
    };
    Ok(find(db, hash.app_user_id)
        .await?
        .map(|user| (user, PasswordHash(hash.password_hash))))
}

/// The user with `email` (any case), if any.
pub async fn find_by_email(db: &PgPool, email: &Email) -> Result<Option<User>, Error> {
    let id = sqlx::query_scalar!(
        "select app_user_id from app_user where lower(email) = lower($1)",
        email.as_str()
    )
    .fetch_optional(db)
    .await
    .context("finding a user by email")?;
    match id {
        Some(id) => find(db, id).await,
        None => Ok(None),
    }
}

/// A change an admin (or the command line) makes to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Role(Role),
    Disabled(bool),
    /// Bytes; below what is used already is allowed (new uploads are then refused).
    Quota(i64),
}

/// Changes that could leave no admin are made one at a time (a transaction-scoped lock), so
/// two admins demoting each other at once cannot both succeed.
const ADMINS_LOCK: i64 = 0x4841_554c_4144;

/// Makes `change` to the account `id` and records it as done by `actor`. The last enabled
/// admin can be neither demoted nor disabled.
pub async fn change(db: &PgPool, id: Uuid, change: Change, actor: &Actor) -> Result<User, Error> {
    let mut tx = db.begin().await?;
    lock_admins(&mut tx).await?;
    let before = find_in(&mut tx, id).await?.ok_or(Error::NotFound)?;
    if change == Change::Disabled(false) && being_deleted(&mut tx, id).await? {
        return Err(Error::invalid(
            "disabled",
            "This account is being deleted: finish deleting it instead.",
        ));
    }
    let removes_an_admin = before.role == Role::Admin
        && !before.disabled
        && matches!(change, Change::Role(Role::User) | Change::Disabled(true));
    if removes_an_admin && other_admins(&mut tx, id).await? == 0 {
        let field = match change {
            Change::Disabled(_) => "disabled",
            _ => "role",
        };
        return Err(Error::invalid(
            field,
            "This is the last admin: make someone else an admin first.",
        ));
    }
    let (action, detail) = write_change(&mut tx, &before, change).await?;
    audit::record(
        &mut *tx,
        actor,
        Event::new(action).on_user(&before).detail(detail),
    )
    .await?;
    let after = find_in(&mut tx, id).await?.ok_or(Error::NotFound)?;
    tx.commit().await?;
    Ok(after)
}

/// Writes `change` to the account as it was (`before`); answers the audit action and detail.
async fn write_change(
    tx: &mut Transaction<'_, Postgres>,
    before: &User,
    change: Change,
) -> Result<(&'static str, serde_json::Value), Error> {
    let id = before.id;
    let (action, detail) = match change {
        Change::Role(role) => {
            sqlx::query!(
                "update app_user set role = $2 where app_user_id = $1",
                id,
                role.as_str()
            )
            .execute(&mut **tx)
            .await
            .context("changing a role")?;
            let detail = json!({ "from": before.role.as_str(), "to": role.as_str() });
            ("user.role", detail)
        }
        Change::Disabled(disabled) => {
            sqlx::query!(
                "update app_user set disabled_at = case when $2 then coalesce(disabled_at, now())
                                                        else null end
                 where app_user_id = $1",
                id,
                disabled
            )
            .execute(&mut **tx)
            .await
            .context("disabling a user")?;
            let action = if disabled {
                "user.disable"
            } else {
                "user.enable"
            };
            (action, json!({}))
        }
        Change::Quota(bytes) => {
            sqlx::query!(
                "update app_user set quota_bytes = $2 where app_user_id = $1",
                id,
                bytes
            )
            .execute(&mut **tx)
            .await
            .context("changing a quota")?;
            (
                "user.quota",
                json!({ "from": before.quota_bytes, "to": bytes }),
            )
        }
    };
    Ok((action, detail))
}

/// Enabled admins other than `id`, not being deleted.
pub(crate) async fn other_admins(
    tx: &mut Transaction<'_, Postgres>,
    id: Uuid,
) -> Result<i64, Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from app_user
           where role = 'admin' and disabled_at is null and deleting_at is null
             and app_user_id <> $1"#,
        id
    )
    .fetch_one(&mut **tx)
    .await
    .context("counting admins")
}

async fn being_deleted(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<bool, Error> {
    let deleting = sqlx::query_scalar!(
        r#"select deleting_at is not null as "deleting!" from app_user where app_user_id = $1"#,
        id
    )
    .fetch_one(&mut **tx)
    .await
    .context("checking whether a user is being deleted")?;
    Ok(deleting)
}

/// Takes the admins lock for the rest of `tx` (see [`change`]).
pub(crate) async fn lock_admins(tx: &mut Transaction<'_, Postgres>) -> Result<(), Error> {
    sqlx::query!("select pg_advisory_xact_lock($1)", ADMINS_LOCK)
        .execute(&mut **tx)
        .await
        .context("waiting for the admins lock")?;
    Ok(())
}

async fn find_in(tx: &mut Transaction<'_, Postgres>, id: Uuid) -> Result<Option<User>, Error> {
    let row = sqlx::query_as!(
        UserRow,
        r#"select app_user_id as id, email, role, quota_bytes, used_bytes, reserved_bytes,
                  disabled_at is not null as "disabled!", last_seen_at
           from app_user where app_user_id = $1 for update"#,
        id
    )
    .fetch_optional(&mut **tx)
    .await
    .context("loading a user")?;
    Ok(row.map(User::from))
}

/// Notes that the user signed in (`signed_in`) or is using a session: at most hourly, so an
/// active user costs one write an hour.
pub async fn seen(db: &PgPool, user: &User, signed_in: bool) -> Result<(), Error> {
    let now = OffsetDateTime::now_utc();
    let fresh = user
        .last_seen_at
        .is_some_and(|at| now - at < time::Duration::hours(1));
    if fresh && !signed_in {
        return Ok(());
    }
    sqlx::query!(
        "update app_user set last_seen_at = now(),
                             last_sign_in_at = case when $2 then now() else last_sign_in_at end
         where app_user_id = $1",
        user.id,
        signed_in
    )
    .execute(db)
    .await
    .context("noting a user was seen")?;
    Ok(())
}
