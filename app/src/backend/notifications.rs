//! Notifications: events about a user's files that they did not cause themselves, listed in
//! the app with an unread count, and every event handed to webhooks. An event is written in
//! the transaction of the change it reports (a completion, a failure, a counted download), so
//! it exists exactly when the change does; `webhooks` delivers it from there.

use serde_json::{json, Value};
use sqlx::{PgConnection, PgPool};
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use super::{error::Context, files::FileRow, Error};
use crate::{
    format,
    model::notification::{NotificationPage, NotificationView, WebhookView},
};

/// What happened; the webhook's `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An upload of the user's own completed (webhooks only: the user was there).
    UploadCompleted,
    UploadFailed,
    /// A file came in through one of the user's upload requests.
    RequestReceived,
    ShareDownloaded,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UploadCompleted => "upload.completed",
            Self::UploadFailed => "upload.failed",
            Self::RequestReceived => "request.received",
            Self::ShareDownloaded => "share.downloaded",
        }
    }
}

/// The kinds the app lists (and counts as unread): what happened without the user.
const LISTED: &[&str] = &["upload.failed", "request.received", "share.downloaded"];

/// A file as events describe it.
pub fn file_data(file: &FileRow) -> Value {
    json!({
        "id": file.id,
        "name": file.name,
        "size_bytes": file.size_bytes,
        "content_type": file.content_type,
        "checksum_sha256": file.checksum_sha256,
    })
}

/// Records an event for `user`, inside the caller's transaction. A kind the app does not list
/// is born read: the unread index (and the count every page asks for) holds only what the
/// user has still to see, however many uploads they complete.
pub async fn emit(
    conn: &mut PgConnection,
    user: Uuid,
    kind: Kind,
    file: Option<Uuid>,
    data: Value,
) -> Result<(), Error> {
    sqlx::query!(
        "insert into event (event_id, user_id, kind, file_id, data, read_at)
         values ($1, $2, $3, $4, $5, case when $6 then null else now() end)",
        Uuid::new_v4(),
        user,
        kind.as_str(),
        file,
        data,
        listed(kind)
    )
    .execute(conn)
    .await
    .context("recording an event")?;
    Ok(())
}

/// The event of a file's upload ending (complete or failed), recorded inside the caller's
/// transaction.
pub async fn upload_ended(
    conn: &mut PgConnection,
    file: &FileRow,
    checksum: Option<&str>,
    failure: Option<&str>,
) -> Result<(), Error> {
    let (kind, data) = ended(&mut *conn, file, checksum, failure).await?;
    emit(conn, file.owner_id, kind, Some(file.id), data).await
}

/// The kind and data of the event of a file's upload ending (complete or failed), for the
/// caller to record. A file sent through a request is, for its owner, a file received: its
/// request's title is read on `db`.
pub async fn ended(
    db: impl sqlx::PgExecutor<'_>,
    file: &FileRow,
    checksum: Option<&str>,
    failure: Option<&str>,
) -> Result<(Kind, Value), Error> {
    let mut data = json!({ "file": file_data(file) });
    data["file"]["checksum_sha256"] = json!(checksum);
    let kind = match (failure, file.request_id) {
        (Some(reason), _) => {
            data["reason"] = json!(reason);
            Kind::UploadFailed
        }
        (None, Some(request_id)) => {
            let title = sqlx::query_scalar!(
                "select title from upload_request where request_id = $1",
                request_id
            )
            .fetch_optional(db)
            .await
            .context("reading a request's title")?;
            data["request"] = json!({ "id": request_id, "title": title });
            data["sender"] = json!({ "name": file.sender_name, "message": file.sender_message });
            Kind::RequestReceived
        }
        (None, None) => Kind::UploadCompleted,
    };
    Ok((kind, data))
}

/// Whether the app lists events of `kind` (a kind it does not list is born read).
pub fn listed(kind: Kind) -> bool {
    LISTED.contains(&kind.as_str())
}

/// How many listed events the user has not seen.
pub async fn unread(db: &PgPool, user: Uuid) -> Result<u32, Error> {
    let count = sqlx::query_scalar!(
        r#"select count(*) as "n!" from event
           where user_id = $1 and read_at is null and kind = any($2)"#,
        user,
        LISTED as &[&str]
    )
    .fetch_one(db)
    .await
    .context("counting unread notifications")?;
    Ok(u32::try_from(count).unwrap_or(u32::MAX))
}

/// How many events a page lists.
const PAGE: i64 = 50;

/// The user's events, newest first, `before` an event of theirs (the next page), with the
/// unread count. Reading them does not mark them read: `mark_read` does.
pub async fn list(
    db: &PgPool,
    user: Uuid,
    before: Option<Uuid>,
) -> Result<NotificationPage, Error> {
    let rows = sqlx::query!(
        r#"select e.event_id, e.kind, e.data, e.created_at, e.read_at is null as "unread!"
           from event e
           where e.user_id = $1 and e.kind = any($2)
             and ($3::uuid is null or (e.created_at, e.event_id) < (
                   select created_at, event_id from event where event_id = $3 and user_id = $1))
           order by e.created_at desc, e.event_id desc
           limit $4"#,
        user,
        LISTED as &[&str],
        before,
        PAGE + 1
    )
    .fetch_all(db)
    .await
    .context("listing notifications")?;
    let more = rows.len() > PAGE as usize;
    let events: Vec<NotificationView> = rows
        .into_iter()
        .take(PAGE as usize)
        .map(|row| NotificationView {
            id: row.event_id.to_string(),
            kind: row.kind.clone(),
            text: describe(&row.kind, &row.data),
            message: row.data["sender"]["message"]
                .as_str()
                .filter(|m| !m.is_empty())
                .map(str::to_owned),
            file_id: row.data["file"]["id"].as_str().map(str::to_owned),
            created_at: row.created_at.format(&Rfc3339).unwrap_or_default(),
            unread: row.unread,
        })
        .collect();
    let next = more.then(|| events.last().map(|e| e.id.clone())).flatten();
    Ok(NotificationPage {
        unread: unread(db, user).await?,
        events,
        next,
    })
}

/// Marks the user's listed events read: `only` these (what a page showed), or all; how many
/// were unread.
pub async fn mark_read(db: &PgPool, user: Uuid, only: Option<&[Uuid]>) -> Result<u64, Error> {
    let done = sqlx::query!(
        "update event set read_at = now()
         where user_id = $1 and read_at is null and kind = any($2)
           and ($3::uuid[] is null or event_id = any($3))",
        user,
        LISTED as &[&str],
        only as Option<&[Uuid]>
    )
    .execute(db)
    .await
    .context("marking notifications read")?;
    Ok(done.rows_affected())
}

/// An event in words, from what it recorded.
pub fn describe(kind: &str, data: &Value) -> String {
    let name = data["file"]["name"].as_str().unwrap_or("A file");
    let size = data["file"]["size_bytes"]
        .as_u64()
        .map(format::bytes)
        .unwrap_or_default();
    match kind {
        "request.received" => {
            let sender = data["sender"]["name"]
                .as_str()
                .filter(|s| !s.is_empty())
                .unwrap_or("Someone");
            let title = data["request"]["title"].as_str().unwrap_or("a request");
            format!("{sender} sent “{name}” ({size}) through your request “{title}”.")
        }
        "share.downloaded" => {
            let times = data["share"]["downloads"].as_u64().unwrap_or(1);
            let plural = if times == 1 { "" } else { "s" };
            format!(
                "“{name}” was downloaded through a share link ({times} download{plural} so far)."
            )
        }
        "upload.failed" => {
            let reason = data["reason"].as_str().unwrap_or("no reason recorded");
            format!("The upload of “{name}” failed: {reason}")
        }
        _ => format!("“{name}” ({size}) was uploaded."),
    }
}

/// The user's own webhook, as its owner sees it.
pub async fn webhook(db: &PgPool, user: Uuid) -> Result<WebhookView, Error> {
    let row = sqlx::query!(
        "select webhook_url, webhook_secret from app_user where app_user_id = $1",
        user
    )
    .fetch_one(db)
    .await
    .context("reading a webhook")?;
    Ok(WebhookView {
        url: row.webhook_url,
        secret: row.webhook_secret,
    })
}

/// Sets (a URL) or removes (empty) the user's webhook. A new URL gets a new secret; the same
/// URL keeps its secret. With `allow_private` false, an address of this machine or its
/// network is refused (`webhooks` checks the resolved address again when it sends).
/// Deliveries still due follow the change: to the new URL (signed with its secret), or, once
/// removed, given up.
pub async fn set_webhook(
    db: &PgPool,
    user: Uuid,
    url: &str,
    allow_private: bool,
) -> Result<WebhookView, Error> {
    let url = url.trim();
    let parsed = if url.is_empty() {
        None
    } else {
        Some(check_url(url, allow_private).map_err(|message| Error::invalid("url", message))?)
    };
    let url = parsed.as_ref().map(url::Url::as_str);
    let secret = super::capability::new_token().0;
    let mut tx = db.begin().await?;
    sqlx::query!(
        "update app_user set webhook_secret = case when $2::text is null then null
                                                   when webhook_url = $2 and webhook_secret is not null
                                                   then webhook_secret else $3 end,
                             webhook_url = $2
         where app_user_id = $1",
        user,
        url,
        secret
    )
    .execute(&mut *tx)
    .await
    .context("setting a webhook")?;
    sqlx::query!(
        "update webhook_delivery d
         set url = coalesce($2, d.url),
             gave_up_at = case when $2::text is null then now() end,
             last_error = case when $2::text is null
                               then 'The webhook was removed before this was delivered.'
                               else d.last_error end
         from event e
         where e.event_id = d.event_id and e.user_id = $1 and d.target = 'user'
           and d.delivered_at is null and d.gave_up_at is null",
        user,
        url
    )
    .execute(&mut *tx)
    .await
    .context("moving a webhook's due deliveries")?;
    tx.commit().await?;
    webhook(db, user).await
}

/// A webhook URL: http or https, a host, at most 2000 characters, and (unless allowed) not
/// an address of this machine or a private network when written as one.
pub fn check_url(url: &str, allow_private: bool) -> Result<url::Url, String> {
    if url.len() > 2000 {
        return Err("The URL is too long (2000 characters at most).".into());
    }
    let parsed = url::Url::parse(url)
        .map_err(|_| "Enter a full URL, such as https://example.com/hooks/haul.".to_owned())?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err("The URL must start with https:// or http://.".into());
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "Put no user name or password in the URL: the signature proves who sends.".into(),
        );
    }
    let Some(host) = parsed.host() else {
        return Err("The URL needs a host.".into());
    };
    if !allow_private {
        let private = match host {
            url::Host::Ipv4(ip) => !public(ip.into()),
            url::Host::Ipv6(ip) => !public(ip.into()),
            url::Host::Domain(name) => {
                let name = name.to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal")
            }
        };
        if private {
            return Err(
                "This server does not send to addresses of its own machine or network.".into(),
            );
        }
    }
    Ok(parsed)
}

/// An address on the public internet: not loopback, private, link-local (cloud metadata),
/// shared, unspecified, multicast or documentation.
pub fn public(ip: std::net::IpAddr) -> bool {
    use std::net::IpAddr;
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0xdb8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_of_this_machine_and_its_networks_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(!public(private.parse().unwrap()), "{private}");
        }
        for open in ["93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
            assert!(public(open.parse().unwrap()), "{open}");
        }
    }

    #[test]
    fn webhook_urls_are_http_with_a_public_host_unless_allowed() {
        assert!(check_url("https://hooks.example.com/haul", false).is_ok());
        assert!(check_url("ftp://example.com/", false).is_err());
        assert!(check_url("example.com/hook", false).is_err());
        assert!(check_url("https://user:pw@example.com/", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/hook", false).is_err());
        assert!(check_url("http://[::1]/hook", false).is_err());
        assert!(check_url("http://localhost/hook", false).is_err());
        assert!(check_url("http://169.254.169.254/latest", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/hook", true).is_ok());
    }

    #[test]
    fn events_read_as_sentences() {
        let data = json!({
            "file": { "name": "a.mov", "size_bytes": 2048 },
            "request": { "title": "Rushes" },
            "sender": { "name": "Ana", "message": "" },
        });
        assert_eq!(
            describe("request.received", &data),
            "Ana sent “a.mov” (2.0 KiB) through your request “Rushes”."
        );
        let data = json!({ "file": { "name": "a.mov" }, "share": { "downloads": 2 } });
        assert_eq!(
            describe("share.downloaded", &data),
            "“a.mov” was downloaded through a share link (2 downloads so far)."
        );
    }
}
