//! Upload requests: a link (`/r/{token}`) through which people without an account send files
//! in to its owner, on the same upload path as the owner's own files (resumable, parallel,
//! checksummed by the store, the owner's quota reserved atomically). A visitor passes the
//! link's gate once (its password, if any; a name and a message, if they like); their session
//! then holds a `Visitor`, a random id that marks their uploads: they see and touch only those.
//! Limits (bytes in all, files, largest file) are checked under the request's row lock in the
//! transaction that reserves the quota, so concurrent starts cannot pass them.

use std::{net::IpAddr, time::Duration};

use serde::{Deserialize, Serialize};
use serde_json::json;
use sqlx::{PgPool, Postgres, Transaction};
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use super::{
    audit::{self, Actor, Event},
    auth,
    capability::{new_token, read_ttl, token_hash, well_formed},
    files::{self, FileRow},
    state::AppState,
    users::{self, User},
    Error,
};
use crate::{
    backend::error::Context,
    error::check_field,
    model::{
        request::{NewRequest, RequestState, RequestView},
        FileId, FileStatus, RequestId,
    },
};

/// How long a request link works when its maker does not say.
pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
const MAX_TITLE_CHARS: usize = 200;
const MAX_TEXT_CHARS: usize = 1000;
const MAX_NAME_CHARS: usize = 100;

/// Whoever passed a request's gate in this browser: their uploads carry `visitor_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Visitor {
    pub request_id: Uuid,
    pub visitor_id: Uuid,
    pub name: String,
    pub message: String,
}

/// The session key of a visitor of `request`.
pub fn session_key(request: Uuid) -> String {
    format!("visitor:{request}")
}

/// What the owner asks for, as typed.
#[derive(Debug, Clone, Default)]
pub struct Asked {
    pub title: String,
    pub expires_in: String,
    pub password: String,
    /// Sizes such as `10GiB`, `500MB` or bytes; empty: no limit.
    pub max_bytes: String,
    pub max_files: String,
    pub max_file_bytes: String,
    pub note: String,
    pub owner_name: String,
}

struct Checked {
    title: String,
    ttl: Duration,
    password: Option<String>,
    max_bytes: Option<i64>,
    max_files: Option<i32>,
    max_file_bytes: Option<i64>,
    note: String,
    owner_name: String,
}

fn too_long(text: &str, most: usize, what: &str) -> Result<String, String> {
    let text = text.trim();
    if text.chars().count() > most {
        Err(format!("Keep the {what} under {most} characters."))
    } else {
        Ok(text.to_owned())
    }
}

fn read_size(text: &str) -> Result<Option<i64>, String> {
    match text.trim() {
        "" => Ok(None),
        text => crate::validate::size(text)
            .ok()
            .filter(|n| *n > 0)
            .and_then(|n| i64::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| "Write a size such as 500MB or 10GiB, or leave it empty.".to_owned()),
    }
}

fn read_count(text: &str) -> Result<Option<i32>, String> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .map(Some)
            .ok_or_else(|| {
                "Write a number of files from 1 to 1000000, or leave it empty.".to_owned()
            }),
    }
}

impl Asked {
    fn check(&self, max_ttl: Duration, owner: &User) -> Result<Checked, Error> {
        let mut problems = Vec::new();
        let title = check_field(
            &mut problems,
            "title",
            match self.title.trim() {
                "" => Err(
                    "Give the request a title, such as \"Footage for the March edit\".".to_owned(),
                ),
                _ => too_long(&self.title, MAX_TITLE_CHARS, "title"),
            },
        );
        let ttl = check_field(
            &mut problems,
            "expires_in",
            read_ttl(&self.expires_in, max_ttl, DEFAULT_TTL),
        );
        let password = check_field(
            &mut problems,
            "password",
            match self.password.as_str() {
                "" => Ok(None),
                given => crate::validate::new_password(given).map(|()| Some(given.to_owned())),
            },
        );
        let max_bytes = check_field(&mut problems, "max_bytes", read_size(&self.max_bytes));
        let max_files = check_field(&mut problems, "max_files", read_count(&self.max_files));
        let max_file_bytes = check_field(
            &mut problems,
            "max_file_bytes",
            read_size(&self.max_file_bytes),
        );
        let note = check_field(
            &mut problems,
            "note",
            too_long(&self.note, MAX_TEXT_CHARS, "note"),
        );
        let owner_name = check_field(
            &mut problems,
            "owner_name",
            match self.owner_name.trim() {
                "" => Ok(owner.email.split('@').next().unwrap_or_default().to_owned()),
                name => too_long(name, MAX_NAME_CHARS, "name"),
            },
        );
        match (
            title,
            ttl,
            password,
            max_bytes,
            max_files,
            max_file_bytes,
            note,
            owner_name,
        ) {
            (
                Some(title),
                Some(ttl),
                Some(password),
                Some(max_bytes),
                Some(max_files),
                Some(max_file_bytes),
                Some(note),
                Some(owner_name),
            ) if problems.is_empty() => Ok(Checked {
                title,
                ttl,
                password,
                max_bytes,
                max_files,
                max_file_bytes,
                note,
                owner_name,
            }),
            _ => Err(Error::Invalid(problems)),
        }
    }
}

/// A request as stored, with what it received so far.
struct RequestRow {
    id: Uuid,
    title: String,
    owner_name: String,
    note: String,
    has_password: bool,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    max_bytes: Option<i64>,
    max_files: Option<i32>,
    max_file_bytes: Option<i64>,
    closed: bool,
    files: i64,
    bytes: i64,
}

impl RequestRow {
    fn view(&self, now: OffsetDateTime) -> RequestView {
        let size = |n: i64| u64::try_from(n).unwrap_or(0);
        RequestView {
            id: RequestId(self.id),
            title: self.title.clone(),
            owner_name: self.owner_name.clone(),
            note: self.note.clone(),
            has_password: self.has_password,
            created_at: self.created_at.format(&Rfc3339).unwrap_or_default(),
            expires_at: self.expires_at.format(&Rfc3339).unwrap_or_default(),
            max_bytes: self.max_bytes.map(size),
            max_files: self.max_files.and_then(|n| u32::try_from(n).ok()),
            max_file_bytes: self.max_file_bytes.map(size),
            received_files: size(self.files),
            received_bytes: size(self.bytes),
            state: if self.closed {
                RequestState::Closed
            } else if self.expires_at <= now {
                RequestState::Expired
            } else {
                RequestState::Open
            },
        }
    }
}

/// `query_as!(RequestRow, …)` with the column list written once; what was received counts the
/// complete files.
macro_rules! request_rows {
    ($where:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            RequestRow,
            r#"select r.request_id as id, r.title, r.owner_name, r.note,
                      r.password_hash is not null as "has_password!", r.created_at, r.expires_at,
                      r.max_bytes, r.max_files, r.max_file_bytes, r.closed_at is not null as "closed!",
                      (select count(*) from file f where f.request_id = r.request_id
                          and f.status = 'complete') as "files!",
                      (select coalesce(sum(f.size_bytes), 0)::bigint from file f
                          where f.request_id = r.request_id and f.status = 'complete') as "bytes!"
               from upload_request r "#
                + $where
            $(, $arg)*
        )
    };
}

/// Makes a request link; its URL is in the answer, and nowhere else.
pub async fn create(
    state: &AppState,
    user: &User,
    ip: IpAddr,
    asked: &Asked,
) -> Result<NewRequest, Error> {
    let checked = asked.check(state.config.share_max_ttl, user)?;
    let password_hash = match checked.password {
        Some(password) => {
            let _turn = auth::hashing_turn(state).await?;
            Some(auth::hash_password(password).await?.0)
        }
        None => None,
    };
    let (token, hash) = new_token();
    let id = Uuid::new_v4();
    let ttl = time::Duration::try_from(checked.ttl).unwrap_or(time::Duration::WEEK);
    let mut tx = state.db.begin().await?;
    sqlx::query!(
        "insert into upload_request (request_id, owner_id, token_hash, title, owner_name, note,
                                     password_hash, expires_at, max_bytes, max_files,
                                     max_file_bytes)
         values ($1, $2, $3, $4, $5, $6, $7, now() + $8 * interval '1 s', $9, $10, $11)",
        id,
        user.id,
        hash,
        checked.title,
        checked.owner_name,
        checked.note,
        password_hash,
        ttl.as_seconds_f64(),
        checked.max_bytes,
        checked.max_files,
        checked.max_file_bytes
    )
    .execute(&mut *tx)
    .await
    .context("making an upload request")?;
    let event = Event::new("request.create").on_user(user).detail(json!({
        "request": id,
        "title": checked.title,
        "expires_in_s": checked.ttl.as_secs(),
        "password": password_hash.is_some(),
    }));
    audit::record(&mut *tx, &Actor::user(user, Some(ip)), event).await?;
    tx.commit().await?;
    Ok(NewRequest {
        request: one(&state.db, id).await?,
        url: format!("{}/r/{token}", state.config.public_origin),
    })
}

async fn one(db: &PgPool, id: Uuid) -> Result<RequestView, Error> {
    let row = request_rows!("where r.request_id = $1", id)
        .fetch_optional(db)
        .await
        .context("loading an upload request")?
        .ok_or(Error::NotFound)?;
    Ok(row.view(OffsetDateTime::now_utc()))
}

/// The caller's requests, newest first (at most 200).
pub async fn of_owner(db: &PgPool, owner: Uuid) -> Result<Vec<RequestView>, Error> {
    let rows = request_rows!(
        "where r.owner_id = $1 order by r.created_at desc, r.request_id desc limit 200",
        owner
    )
    .fetch_all(db)
    .await
    .context("listing upload requests")?;
    let now = OffsetDateTime::now_utc();
    Ok(rows.iter().map(|row| row.view(now)).collect())
}

/// Closes one of the caller's requests: nothing more goes through it, at once (uploads on
/// their way are refused their next part and wait in the owner's My files to be discarded,
/// or for the sweeper). Closing a closed one answers the same.
pub async fn close(
    db: &PgPool,
    owner: &User,
    id: RequestId,
    actor: &Actor,
) -> Result<RequestView, Error> {
    let mut tx = db.begin().await?;
    let found = sqlx::query_scalar!(
        "select closed_at is not null as \"closed!\" from upload_request
         where request_id = $1 and owner_id = $2 for update",
        id.0,
        owner.id
    )
    .fetch_optional(&mut *tx)
    .await
    .context("finding an upload request")?
    .ok_or(Error::NotFound)?;
    if !found {
        sqlx::query!(
            "update upload_request set closed_at = now() where request_id = $1",
            id.0
        )
        .execute(&mut *tx)
        .await
        .context("closing an upload request")?;
        let event = Event::new("request.close")
            .on_user(owner)
            .detail(json!({ "request": id.0 }));
        audit::record(&mut *tx, actor, event).await?;
    }
    tx.commit().await?;
    one(db, id.0).await
}

/// What a visitor with the token sees at the gate.
#[derive(Debug, Clone)]
pub struct Opened {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub title: String,
    pub owner_name: String,
    pub note: String,
    pub has_password: bool,
    pub expires_at: OffsetDateTime,
    pub max_bytes: Option<u64>,
    pub max_files: Option<u32>,
    pub max_file_bytes: Option<u64>,
    /// The owner has no room left: nothing can start, and the page says so.
    pub owner_full: bool,
}

/// Why a token opens nothing: unknown (404), or closed, expired, or its owner disabled or
/// deleted (410). Both answer the same page.
pub use super::shares::Closed;

/// The request a token opens, if it still does.
pub async fn open(db: &PgPool, token: &str) -> Result<Result<Opened, Closed>, Error> {
    if !well_formed(token) {
        return Ok(Err(Closed::Unknown));
    }
    let row = sqlx::query!(
        r#"select r.request_id, r.owner_id, r.title, r.owner_name, r.note,
                  r.password_hash is not null as "has_password!", r.expires_at,
                  r.max_bytes, r.max_files, r.max_file_bytes,
                  (r.closed_at is not null or r.expires_at <= now()
                      or u.disabled_at is not null or u.deleting_at is not null) as "ended!",
                  u.used_bytes + u.reserved_bytes >= u.quota_bytes as "full!"
           from upload_request r join app_user u on u.app_user_id = r.owner_id
           where r.token_hash = $1"#,
        token_hash(token)
    )
    .fetch_optional(db)
    .await
    .context("opening an upload request")?;
    let Some(row) = row else {
        return Ok(Err(Closed::Unknown));
    };
    if row.ended {
        return Ok(Err(Closed::Ended));
    }
    let size = |n: i64| u64::try_from(n).unwrap_or(0);
    Ok(Ok(Opened {
        id: row.request_id,
        owner_id: row.owner_id,
        title: row.title,
        owner_name: row.owner_name,
        note: row.note,
        has_password: row.has_password,
        expires_at: row.expires_at,
        max_bytes: row.max_bytes.map(size),
        max_files: row.max_files.and_then(|n| u32::try_from(n).ok()),
        max_file_bytes: row.max_file_bytes.map(size),
        owner_full: row.full,
    }))
}

/// The gate: checks the request's password (limited like a sign-in), then makes the visitor
/// of this browser, with the name and message they left. `Ok(None)`: a wrong password.
pub async fn enter(
    state: &AppState,
    ip: IpAddr,
    request: &Opened,
    password: &str,
    name: &str,
    message: &str,
) -> Result<Option<Visitor>, Error> {
    let mut problems = Vec::new();
    let name = check_field(
        &mut problems,
        "name",
        too_long(name, MAX_NAME_CHARS, "name"),
    );
    let message = check_field(
        &mut problems,
        "message",
        too_long(message, MAX_TEXT_CHARS, "message"),
    );
    let (Some(name), Some(message)) = (name, message) else {
        return Err(Error::Invalid(problems));
    };
    let hash = sqlx::query_scalar!(
        "select password_hash from upload_request where request_id = $1",
        request.id
    )
    .fetch_optional(&state.db)
    .await
    .context("loading a request's password")?
    .flatten();
    let link = format!("request:{}", request.id);
    if !auth::link_password(state, ip, &link, hash, password).await? {
        return Ok(None);
    }
    Ok(Some(Visitor {
        request_id: request.id,
        visitor_id: Uuid::new_v4(),
        name,
        message,
    }))
}

/// The visitor `token`'s request holds in this session, and the request's owner (enabled):
/// who the upload endpoints act for when a page of that request calls them.
pub async fn visitor(
    state: &AppState,
    session: &tower_sessions::Session,
    token: &str,
) -> Result<(User, Visitor), Error> {
    let request = match open(&state.db, token).await? {
        Ok(request) => request,
        Err(_) => return Err(ended()),
    };
    let visitor = session
        .get::<Visitor>(&session_key(request.id))
        .await
        .context("reading the session")?
        .filter(|v| v.request_id == request.id)
        .ok_or_else(|| {
            Error::invalid(
                "request",
                "Open the request's link first (and give its password, if it has one).",
            )
        })?;
    let owner = users::find(&state.db, request.owner_id)
        .await?
        .filter(|owner| !owner.disabled)
        .ok_or_else(ended)?;
    Ok((owner, visitor))
}

/// A request that takes nothing any more, in the words its visitor reads.
fn ended() -> Error {
    Error::invalid(
        "request",
        "This request is closed: its link expired, or its owner closed it. Nothing more can be sent.",
    )
}

/// One of this visitor's files, or NotFound: the owner's other files, other visitors' and
/// other requests' answer like missing ones.
pub async fn visitors_file(
    db: &PgPool,
    visitor: &Visitor,
    file_id: FileId,
) -> Result<FileRow, Error> {
    match files::find(db, file_id.0).await {
        Ok(file)
            if file.request_id == Some(visitor.request_id)
                && file.visitor_id == Some(visitor.visitor_id) =>
        {
            Ok(file)
        }
        Ok(_) | Err(Error::NotFound) => Err(Error::NotFound),
        Err(error) => Err(error),
    }
}

/// What this visitor sent through the request (complete, on their way, or failed), newest
/// first (at most 200).
pub async fn sent_by(db: &PgPool, visitor: &Visitor) -> Result<Vec<FileRow>, Error> {
    files::file_rows!(
        "select",
        "from file where request_id = $1 and visitor_id = $2 order by created_at desc limit 200",
        visitor.request_id,
        visitor.visitor_id
    )
    .fetch_all(db)
    .await
    .context("listing a visitor's files")
}

/// Lets one more file of `size` bytes in through the visitor's request, or says which limit
/// it would pass. Under the request's row lock, in the transaction that then reserves the
/// quota and records the file: concurrent starts are decided one after another.
pub async fn admit(
    tx: &mut Transaction<'_, Postgres>,
    visitor: &Visitor,
    size: i64,
) -> Result<(), Error> {
    let request = sqlx::query!(
        "select r.max_bytes, r.max_files, r.max_file_bytes
         from upload_request r join app_user u on u.app_user_id = r.owner_id
         where r.request_id = $1 and r.closed_at is null and r.expires_at > now()
           and u.disabled_at is null and u.deleting_at is null
         for update of r",
        visitor.request_id
    )
    .fetch_optional(&mut **tx)
    .await
    .context("locking an upload request")?
    .ok_or_else(ended)?;
    if request.max_file_bytes.is_some_and(|max| size > max) {
        let max = request.max_file_bytes.unwrap_or_default();
        return Err(Error::invalid(
            "file",
            format!(
                "This request takes files of {} at most.",
                crate::format::bytes(max as u64)
            ),
        ));
    }
    let taken = sqlx::query!(
        r#"select count(*) as "files!", coalesce(sum(size_bytes), 0)::bigint as "bytes!"
           from file where request_id = $1 and status in ('uploading', 'complete')"#,
        visitor.request_id
    )
    .fetch_one(&mut **tx)
    .await
    .context("counting a request's files")?;
    if request
        .max_files
        .is_some_and(|max| taken.files >= i64::from(max))
    {
        return Err(Error::invalid(
            "file",
            "This request has all the files it asked for.",
        ));
    }
    if let Some(max) = request.max_bytes {
        if taken.bytes.saturating_add(size) > max {
            let left = (max - taken.bytes).max(0) as u64;
            return Err(Error::invalid(
                "file",
                format!(
                    "This request has room for {} more.",
                    crate::format::bytes(left)
                ),
            ));
        }
    }
    Ok(())
}

/// A start refused for the owner's quota, in a visitor's words (the owner's numbers are not
/// theirs to see).
pub fn owner_full() -> Error {
    Error::invalid(
        "file",
        "This request cannot take this file: its owner has no room left for it.",
    )
}

/// Counts a visitor's start or sign against their address and the request, like sign-ins:
/// `per_ip` attempts per address and ten times that per request in each window.
pub async fn limit(
    state: &AppState,
    ip: IpAddr,
    visitor: &Visitor,
    what: &str,
    per_ip: u32,
) -> Result<(), Error> {
    let by_ip = format!("request-{what}:{}", auth::ip_key(ip));
    let by_link = format!("request-{what}:{}", visitor.request_id);
    for (key, most) in [(by_ip, per_ip), (by_link, per_ip.saturating_mul(10))] {
        if let Err(wait) = state.rate_limiter.hit(&state.db, &key, most).await? {
            return Err(Error::RateLimited {
                retry_after: wait.as_secs().max(1),
            });
        }
    }
    Ok(())
}

/// A received file's status as its visitor reads it.
pub fn visitor_status(file: &FileRow) -> &'static str {
    match file.status {
        FileStatus::Complete => "Received",
        FileStatus::Uploading => "Not finished",
        FileStatus::Failed => "Failed",
        FileStatus::Aborted => "Cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_counts_are_limits_or_nothing() {
        assert_eq!(read_size(""), Ok(None));
        assert_eq!(read_size("1KiB"), Ok(Some(1024)));
        assert!(read_size("0").is_err());
        assert!(read_size("lots").is_err());
        assert_eq!(read_count("12"), Ok(Some(12)));
        assert!(read_count("0").is_err());
    }
}
