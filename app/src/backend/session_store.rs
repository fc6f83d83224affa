//! Where sessions are kept: tower-sessions' table in PostgreSQL (`tower_sessions.session`,
//! the records encoded as tower-sessions-sqlx-store encodes them), with the signed-in user's
//! id in a column of its own (migration 0014). Loading a session reads its user in the same
//! statement, so a signed-in request costs one read rather than two; `session::user` takes
//! the user from there.
//!
//! The user rides in the loaded record under `STASHED_USER`, only in memory: it is taken out
//! again whenever the record is written.

use sqlx::PgPool;
use tower_sessions::{
    session::{Id, Record},
    session_store, ExpiredDeletion, SessionStore,
};
use uuid::Uuid;

use super::{session::USER_ID, users::UserRow};

/// The record's key for the user read with it (a `UserRow`).
pub(crate) const STASHED_USER: &str = "haul.user";

#[derive(Clone, Debug)]
pub struct Sessions {
    db: PgPool,
}

impl Sessions {
    pub fn new(db: PgPool) -> Self {
        Self { db }
    }
}

fn backend(error: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

/// The record as stored (without the stashed user) and the user id it names.
fn encoded(record: &Record) -> session_store::Result<(Vec<u8>, Option<Uuid>)> {
    let user_id = record
        .data
        .get(USER_ID)
        .and_then(|value| serde_json::from_value::<Uuid>(value.clone()).ok());
    let bytes = if record.data.contains_key(STASHED_USER) {
        let mut stored = record.clone();
        stored.data.remove(STASHED_USER);
        rmp_serde::to_vec(&stored)
    } else {
        rmp_serde::to_vec(record)
    }
    .map_err(|e| session_store::Error::Encode(e.to_string()))?;
    Ok((bytes, user_id))
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    /// One statement: a fresh id is written unless taken (then another is drawn).
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        loop {
            let (data, user_id) = encoded(record)?;
            let written = sqlx::query!(
                "insert into tower_sessions.session (id, data, expiry_date, user_id)
                 values ($1, $2, $3, $4) on conflict (id) do nothing",
                record.id.to_string(),
                data,
                record.expiry_date,
                user_id
            )
            .execute(&self.db)
            .await
            .map_err(backend)?;
            if written.rows_affected() == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let (data, user_id) = encoded(record)?;
        sqlx::query!(
            "insert into tower_sessions.session (id, data, expiry_date, user_id)
             values ($1, $2, $3, $4)
             on conflict (id) do update set data = excluded.data,
                                            expiry_date = excluded.expiry_date,
                                            user_id = excluded.user_id",
            record.id.to_string(),
            data,
            record.expiry_date,
            user_id
        )
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(())
    }

    /// The session and, in the same statement, the user it names (stashed in the record).
    async fn load(&self, session_id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = sqlx::query!(
            r#"select s.data, u.app_user_id as "id?", u.email as "email?", u.role as "role?",
                      u.quota_bytes as "quota_bytes?", u.used_bytes as "used_bytes?",
                      u.reserved_bytes as "reserved_bytes?",
                      u.disabled_at is not null as "disabled?", u.last_seen_at
               from tower_sessions.session s
               left join app_user u on u.app_user_id = s.user_id
               where s.id = $1 and s.expiry_date > now()"#,
            session_id.to_string()
        )
        .fetch_optional(&self.db)
        .await
        .map_err(backend)?
        else {
            return Ok(None);
        };
        let mut record: Record = rmp_serde::from_slice(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        // The user's columns are all there when the join found the user, all null otherwise.
        let user = (|| {
            Some(UserRow {
                id: row.id?,
                email: row.email?,
                role: row.role?,
                quota_bytes: row.quota_bytes?,
                used_bytes: row.used_bytes?,
                reserved_bytes: row.reserved_bytes?,
                disabled: row.disabled?,
                last_seen_at: row.last_seen_at,
            })
        })();
        if let Some(user) = user {
            let value = serde_json::to_value(user)
                .map_err(|e| session_store::Error::Encode(e.to_string()))?;
            record.data.insert(STASHED_USER.to_owned(), value);
        }
        Ok(Some(record))
    }

    async fn delete(&self, session_id: &Id) -> session_store::Result<()> {
        sqlx::query!(
            "delete from tower_sessions.session where id = $1",
            session_id.to_string()
        )
        .execute(&self.db)
        .await
        .map_err(backend)?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        sqlx::query!("delete from tower_sessions.session where expiry_date < now()")
            .execute(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }
}
