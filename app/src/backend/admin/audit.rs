//! The audit log as admins read it: filtered by actor, action and days, newest first, paged
//! by entry id. Writing to it is `backend::audit`.

use crate::backend::error::Context;
use sqlx::{PgPool, Postgres, QueryBuilder};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use super::Admin;
use crate::{
    backend::{
        page::{self, next_page, read_cursor, DayRange},
        Error,
    },
    model::admin::{AuditEntry, AuditFilter, AuditPage},
};

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
    _admin: &Admin,
    filter: &AuditFilter,
    cursor: Option<&str>,
) -> Result<AuditPage, Error> {
    let range = DayRange::parse(&filter.from, &filter.to)?;
    let after = read_cursor(cursor, |c| c.parse::<i64>().ok())?;
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
        .push_bind(page::limit());
    let mut rows: Vec<EntryRow> = query
        .build_query_as()
        .fetch_all(db)
        .await
        .context("listing audit events")?;
    let next_cursor = next_page(&mut rows, |row| row.audit_event_id.to_string());
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
