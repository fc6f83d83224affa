//! The audit log: who did what to which account or file, from where, and when. The
//! application only ever adds rows (a trigger refuses UPDATE, DELETE and TRUNCATE); admins
//! read it filtered and paged.

use std::net::IpAddr;

use anyhow::Context;
use sqlx::{PgPool, Postgres, QueryBuilder};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use super::{users::User, Error};
use crate::model::admin::{AuditEntry, AuditFilter, AuditPage};

/// Who acts, and from where. None of them for the system (the sweeper) or the command line.
#[derive(Debug, Clone, Default)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub email: Option<String>,
    pub ip: Option<IpAddr>,
}

impl Actor {
    pub fn user(user: &User, ip: Option<IpAddr>) -> Self {
        Self {
            id: Some(user.id),
            email: Some(user.email.clone()),
            ip,
        }
    }

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

    pub fn on_user(mut self, user: &'a User) -> Self {
        self.target_user = Some((user.id, &user.email));
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
) -> anyhow::Result<()> {
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

/// Entries shown on one page of the audit log.
const PAGE_SIZE: i64 = 50;

#[derive(sqlx::FromRow)]
struct EntryRow {
    audit_event_id: i64,
    created_at: OffsetDateTime,
    actor_email: Option<String>,
    action: String,
    target_email: Option<String>,
    target_file_id: Option<Uuid>,
    ip: Option<String>,
    detail: serde_json::Value,
}

/// One page of the log, newest first, after `cursor` (an entry id).
pub async fn list(
    db: &PgPool,
    _admin: &super::admin::Admin,
    filter: &AuditFilter,
    cursor: Option<&str>,
) -> Result<AuditPage, Error> {
    let range = super::admin::DayRange::parse(&filter.from, &filter.to)?;
    let after = super::admin::read_cursor(cursor, |c| c.parse::<i64>().ok())?;
    let mut query = QueryBuilder::<Postgres>::new(
        "select audit_event_id, created_at, actor_email, action, target_email, target_file_id,
                ip, detail
         from audit_event where true",
    );
    if !filter.actor.trim().is_empty() {
        query
            .push(" and lower(actor_email) = lower(")
            .push_bind(filter.actor.trim().to_owned())
            .push(")");
    }
    if !filter.action.trim().is_empty() {
        query
            .push(" and action = ")
            .push_bind(filter.action.trim().to_owned());
    }
    range.push_conditions(&mut query, "created_at");
    if let Some(after) = after {
        query.push(" and audit_event_id < ").push_bind(after);
    }
    query
        .push(" order by audit_event_id desc limit ")
        .push_bind(PAGE_SIZE + 1);
    let mut rows: Vec<EntryRow> = query
        .build_query_as()
        .fetch_all(db)
        .await
        .context("listing audit events")?;
    let next_cursor =
        super::admin::next_page(&mut rows, PAGE_SIZE, |row| row.audit_event_id.to_string());
    Ok(AuditPage {
        entries: rows
            .into_iter()
            .map(|row| AuditEntry {
                id: row.audit_event_id,
                at: row.created_at.format(&Rfc3339).unwrap_or_default(),
                actor: row.actor_email,
                action: row.action,
                target: row.target_email,
                target_file: row.target_file_id.map(|id| id.to_string()),
                ip: row.ip,
                detail: row.detail.to_string(),
            })
            .collect(),
        next_cursor,
    })
}
