//! The audit log: who did what to which account or file, from where, and when. The
//! application only ever adds rows (a trigger refuses UPDATE, DELETE and TRUNCATE); admins
//! read it, filtered and paged, in `admin::audit`.

use std::net::IpAddr;

use crate::backend::error::Context;
use uuid::Uuid;

use super::Error;

/// Who acts, and from where. None of them for the system (the sweeper) or the command line.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub email: Option<String>,
    pub ip: Option<IpAddr>,
}

impl Actor {
    /// The server itself, or an operator at its command line.
    pub fn system() -> Self {
        Self::default()
    }
}

/// One thing that happened.
pub struct Event<'a> {
    pub action: &'a str,
    /// The account it was done to, with its email (kept in the row: it outlives the account).
    pub target_user: Option<(Uuid, &'a str)>,
    pub target_file: Option<Uuid>,
    pub detail: serde_json::Value,
}

impl<'a> Event<'a> {
    pub fn new(action: &'a str) -> Self {
        Self {
            action,
            target_user: None,
            target_file: None,
            detail: serde_json::json!({}),
        }
    }

    /// Done to the account `id`, whose email is `email`.
    pub fn on_account(mut self, id: Uuid, email: &'a str) -> Self {
        self.target_user = Some((id, email));
        self
    }

    pub fn on_file(mut self, file: Uuid) -> Self {
        self.target_file = Some(file);
        self
    }

    pub fn detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = detail;
        self
    }
}

/// Adds `event`, done by `actor`, to the log.
pub async fn record<'e>(
    db: impl sqlx::PgExecutor<'e>,
    actor: &Actor,
    event: Event<'_>,
) -> Result<(), Error> {
    let ip = actor.ip.map(|ip| ip.to_string());
    sqlx::query!(
        "insert into audit_event (actor_id, actor_email, ip, action, target_user_id, target_email,
                                  target_file_id, detail)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
        actor.id,
        actor.email,
        ip,
        event.action,
        event.target_user.map(|(id, _)| id),
        event.target_user.map(|(_, email)| email),
        event.target_file,
        event.detail
    )
    .execute(db)
    .await
    .with_context(|| format!("recording audit event {}", event.action))?;
    Ok(())
}
