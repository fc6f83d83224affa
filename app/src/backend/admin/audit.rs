//! The audit log as admins read it: filtered by actor, action and days, newest first, paged
//! by entry id. Writing to it is `backend::audit`.

use crate::backend::error::Context;
use serde_json::Value;
use sqlx::{PgPool, Postgres, QueryBuilder};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use super::Admin;
use crate::{
    backend::{
        page::{self, next_page, read_cursor, DayRange},
        Error,
    },
    format::bytes,
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
    /// The file's name and owner, while its row exists.
    file_name: Option<String>,
    file_owner: Option<String>,
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
    // The file's row (while it exists) gives its name and owner to entries that name a file;
    // once it is gone, the owner's id the entry recorded (admin downloads and aborts) does.
    let mut query = QueryBuilder::<Postgres>::new(
        "select a.audit_event_id, a.created_at, a.actor_email, a.action, a.target_email,
                a.target_file_id, a.ip, a.detail, f.name as file_name, o.email as file_owner
         from audit_event a
         left join file f on f.file_id = a.target_file_id
         left join app_user o on o.app_user_id = coalesce(
             f.owner_id,
             case when a.detail->>'owner_id' ~ '^[0-9a-f-]{36}$'
                  then (a.detail->>'owner_id')::uuid end)
         where true",
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
    range.push_conditions(&mut query, "a.created_at");
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
        entries: rows.into_iter().map(entry).collect(),
        next_cursor,
    })
}

fn entry(row: EntryRow) -> AuditEntry {
    let recorded_name = row.detail["name"].as_str().map(str::to_owned);
    let file_name = row.file_name.or(recorded_name);
    AuditEntry {
        id: row.audit_event_id,
        at: row.created_at.format(&Rfc3339).unwrap_or_default(),
        actor: row.actor_email,
        summary: summary(&row.action, &row.detail, file_name.as_deref()),
        action: row.action,
        target: row.target_email.or(row.file_owner),
        target_file: row.target_file_id.map(|id| id.to_string()),
        file_name,
        ip: row.ip,
        detail: row.detail.to_string(),
    }
}

/// What an entry says happened, in words, from its action and detail.
fn summary(action: &str, detail: &Value, file: Option<&str>) -> String {
    let text = |key: &str| detail[key].as_str().unwrap_or("?").to_owned();
    let size = |key: &str| {
        detail[key]
            .as_u64()
            .map(bytes)
            .unwrap_or_else(|| "?".into())
    };
    let count = |key: &str| detail[key].as_u64().unwrap_or(0);
    let file = file.unwrap_or("a file");
    match action {
        "user.sign_up" => "Signed up.".into(),
        "user.sign_in" => "Signed in.".into(),
        "user.sign_in_failed" => {
            format!("Sign-in as {} refused: {}.", text("email"), text("reason"))
        }
        "user.role" => format!("Role changed from {} to {}.", text("from"), text("to")),
        "user.quota" => format!("Quota changed from {} to {}.", size("from"), size("to")),
        "user.disable" => "Account disabled.".into(),
        "user.enable" => "Account enabled.".into(),
        "user.delete_started" => "Began deleting the account and its files.".into(),
        "user.delete" => "Deleted the account and all its files.".into(),
        "file.delete" => match detail["size"].as_u64() {
            Some(n) => format!("Deleted {file} ({}).", bytes(n)),
            None => format!("Deleted {file}."),
        },
        "admin.file.download" => format!("Downloaded {file}."),
        "admin.upload.abort" => format!("Aborted the upload of {file}."),
        "admin.upload.abort_all" => {
            let mut words = format!(
                "Aborted {} uploads in progress of {}.",
                count("aborted"),
                text("email")
            );
            if count("busy") > 0 {
                words.push_str(&format!(
                    " {} being completed could not be aborted.",
                    count("busy")
                ));
            }
            words
        }
        _ => detail
            .as_object()
            .map(|fields| {
                fields
                    .iter()
                    .map(|(key, value)| match value.as_str() {
                        Some(text) => format!("{key}: {text}"),
                        None => format!("{key}: {value}"),
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entries_read_as_words() {
        let quota = json!({ "from": 107_374_182_400_u64, "to": 2_147_483_648_u64 });
        assert_eq!(
            summary("user.quota", &quota, None),
            "Quota changed from 100.0 GiB to 2.0 GiB."
        );
        let role = json!({ "from": "user", "to": "admin" });
        assert_eq!(
            summary("user.role", &role, None),
            "Role changed from user to admin."
        );
        let deleted = json!({ "name": "a.bin", "size": 2048 });
        assert_eq!(
            summary("file.delete", &deleted, Some("a.bin")),
            "Deleted a.bin (2.0 KiB)."
        );
        let all = json!({ "email": "b@c.d", "aborted": 1, "busy": 1 });
        assert_eq!(
            summary("admin.upload.abort_all", &all, None),
            "Aborted 1 uploads in progress of b@c.d. 1 being completed could not be aborted."
        );
        let failed = json!({ "email": "b@c.d", "reason": "wrong password" });
        assert_eq!(
            summary("user.sign_in_failed", &failed, None),
            "Sign-in as b@c.d refused: wrong password."
        );
        assert_eq!(
            summary("user.disable", &json!({}), None),
            "Account disabled."
        );
        assert_eq!(
            summary("something.new", &json!({ "a": "x", "n": 2 }), None),
            "a: x, n: 2"
        );
    }
}
