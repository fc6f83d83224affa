//! Accounts in PostgreSQL.

use anyhow::Context;
use sqlx::PgPool;
use uuid::Uuid;

use crate::{
    backend::Error,
    model::{Role, UserView},
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
        }
    }
}

/// A user as stored; `role` is still text.
struct UserRow {
    id: Uuid,
    email: String,
    role: String,
    quota_bytes: i64,
    used_bytes: i64,
    reserved_bytes: i64,
    disabled: bool,
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
    email: &str,
    hash: &PasswordHash,
    quota_bytes: i64,
) -> Result<User, Error> {
    let row = sqlx::query_as!(
        UserRow,
        r#"insert into app_user (email, password_hash, quota_bytes)
           values ($1, $2, $3)
           returning app_user_id as id, email, role, quota_bytes, used_bytes, reserved_bytes,
                     disabled_at is not null as "disabled!""#,
        email,
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

pub async fn find(db: &PgPool, id: Uuid) -> anyhow::Result<Option<User>> {
    let row = sqlx::query_as!(
        UserRow,
        r#"select app_user_id as id, email, role, quota_bytes, used_bytes, reserved_bytes,
                  disabled_at is not null as "disabled!"
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
    email: &str,
) -> anyhow::Result<Option<(User, PasswordHash)>> {
    let hash = sqlx::query!(
        "select app_user_id, password_hash from app_user where lower(email) = lower($1)",
        email
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

/// Sets the role of the user with `email`; false when there is no such user.
pub async fn set_role(db: &PgPool, email: &str, role: Role) -> anyhow::Result<bool> {
    let mut tx = db.begin().await?;
    let updated = sqlx::query!(
        "update app_user set role = $2 where lower(email) = lower($1) returning app_user_id",
        email,
        role.as_str()
    )
    .fetch_optional(&mut *tx)
    .await
    .context("changing a role")?;
    let Some(row) = updated else {
        return Ok(false);
    };
    audit(
        &mut *tx,
        None,
        "user.role",
        Some(row.app_user_id),
        serde_json::json!({ "role": role.as_str() }),
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Disables or re-enables an account.
pub async fn set_disabled(db: &PgPool, id: Uuid, disabled: bool) -> anyhow::Result<()> {
    sqlx::query!(
        "update app_user set disabled_at = case when $2 then now() else null end where app_user_id = $1",
        id,
        disabled
    )
    .execute(db)
    .await
    .context("disabling a user")?;
    Ok(())
}

pub async fn list(db: &PgPool, limit: i64) -> anyhow::Result<Vec<User>> {
    let rows = sqlx::query_as!(
        UserRow,
        r#"select app_user_id as id, email, role, quota_bytes, used_bytes, reserved_bytes,
                  disabled_at is not null as "disabled!"
           from app_user order by created_at desc, app_user_id limit $1"#,
        limit
    )
    .fetch_all(db)
    .await
    .context("listing users")?;
    Ok(rows.into_iter().map(User::from).collect())
}

/// Records who did what.
pub async fn audit<'e>(
    db: impl sqlx::PgExecutor<'e>,
    actor: Option<Uuid>,
    action: &str,
    target_user: Option<Uuid>,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    sqlx::query!(
        "insert into audit_event (actor_id, action, target_user_id, detail) values ($1, $2, $3, $4)",
        actor,
        action,
        target_user,
        detail
    )
    .execute(db)
    .await
    .with_context(|| format!("recording audit event {action}"))?;
    Ok(())
}
