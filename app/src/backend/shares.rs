//! Share links: a complete file handed to whoever holds the link. A link is a capability: a
//! token of 256 random bits, kept only as its SHA-256; it ends when it expires, is revoked,
//! reaches its download limit, or when its file is deleted or its owner disabled. Downloads
//! are counted by one conditional update, so two visitors at once never pass the limit.

use std::{net::IpAddr, time::Duration};

use serde_json::json;
use sqlx::PgPool;
use time::{format_description::well_known::Rfc3339, OffsetDateTime};
use uuid::Uuid;

use super::{
    audit::{self, Actor, Event},
    auth,
    capability::{new_token, read_ttl, token_hash, well_formed},
    file_actions, files,
    notifications::{self, Kind},
    page::{self, Key},
    state::AppState,
    users::User,
    Error,
};
use crate::{
    backend::error::Context,
    error::{check_field, FieldError},
    model::{
        share::{NewShare, SharePage, ShareState, ShareView},
        FileId, FileStatus, Integrity, ShareId,
    },
};

/// How long a link works when its maker does not say (at most `share_max_ttl`).
pub const DEFAULT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// The most downloads a limit may name.
const MAX_DOWNLOAD_LIMIT: u32 = 1_000_000;
const MAX_NOTE_CHARS: usize = 1000;
const MAX_SENDER_CHARS: usize = 100;

/// What the owner asks for, as typed (a form or the API): checked by `Request::check`.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `30m`, `12h`, `7d` (a bare number is days); empty: the default.
    pub expires_in: String,
    pub password: String,
    /// Empty: no limit.
    pub max_downloads: String,
    pub note: String,
    /// Empty: the part of the owner's email before the `@`.
    pub sender_name: String,
}

/// A request that passed its checks.
struct Checked {
    ttl: Duration,
    password: Option<String>,
    max_downloads: Option<i32>,
    note: String,
    sender_name: String,
}

impl Request {
    fn check(&self, max_ttl: Duration, owner: &User) -> Result<Checked, Error> {
        let mut problems = Vec::new();
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
        let max_downloads = check_field(
            &mut problems,
            "max_downloads",
            read_limit(&self.max_downloads),
        );
        let note = self.note.trim();
        if note.chars().count() > MAX_NOTE_CHARS {
            problems.push(field(
                "note",
                format!("Keep the note under {MAX_NOTE_CHARS} characters."),
            ));
        }
        let sender_name = match self.sender_name.trim() {
            "" => owner.email.split('@').next().unwrap_or_default().to_owned(),
            name => name.to_owned(),
        };
        if sender_name.chars().count() > MAX_SENDER_CHARS {
            problems.push(field(
                "sender_name",
                format!("Keep the name under {MAX_SENDER_CHARS} characters."),
            ));
        }
        match (ttl, password, max_downloads) {
            (Some(ttl), Some(password), Some(max_downloads)) if problems.is_empty() => {
                Ok(Checked {
                    ttl,
                    password,
                    max_downloads,
                    note: note.to_owned(),
                    sender_name,
                })
            }
            _ => Err(Error::Invalid(problems)),
        }
    }
}

fn field(name: &str, message: String) -> FieldError {
    FieldError {
        field: name.to_owned(),
        message,
    }
}

fn read_limit(text: &str) -> Result<Option<i32>, String> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_DOWNLOAD_LIMIT).contains(n))
            .and_then(|n| i32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| {
                format!("Write a number of downloads from 1 to {MAX_DOWNLOAD_LIMIT}, or leave it empty.")
            }),
    }
}

/// A link as stored, with its file's name and its owner's email.
struct ShareRow {
    id: Uuid,
    file_id: Uuid,
    file_name: String,
    owner_email: String,
    sender_name: String,
    note: String,
    has_password: bool,
    created_at: OffsetDateTime,
    expires_at: OffsetDateTime,
    max_downloads: Option<i32>,
    downloads: i32,
    revoked: bool,
}

impl ShareRow {
    fn state(&self, now: OffsetDateTime) -> ShareState {
        if self.revoked {
            ShareState::Revoked
        } else if self.expires_at <= now {
            ShareState::Expired
        } else if self.max_downloads.is_some_and(|max| self.downloads >= max) {
            ShareState::UsedUp
        } else {
            ShareState::Active
        }
    }

    fn view(&self, now: OffsetDateTime) -> ShareView {
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        ShareView {
            id: ShareId(self.id),
            file_id: FileId(self.file_id),
            file_name: self.file_name.clone(),
            owner_email: self.owner_email.clone(),
            sender_name: self.sender_name.clone(),
            note: self.note.clone(),
            has_password: self.has_password,
            created_at: self.created_at.format(&Rfc3339).unwrap_or_default(),
            expires_at: self.expires_at.format(&Rfc3339).unwrap_or_default(),
            max_downloads: self.max_downloads.map(count),
            downloads: count(self.downloads),
            state: self.state(now),
        }
    }
}

/// `query_as!(ShareRow, …)` with the joined column list written once.
macro_rules! share_rows {
    ($where:literal $(, $arg:expr)* $(,)?) => {
        sqlx::query_as!(
            ShareRow,
            r#"select s.share_id as id, s.file_id, f.name as file_name, u.email as owner_email,
                      s.sender_name, s.note, s.password_hash is not null as "has_password!",
                      s.created_at, s.expires_at, s.max_downloads, s.downloads,
                      s.revoked_at is not null as "revoked!"
               from share_link s
               join file f on f.file_id = s.file_id
               join app_user u on u.app_user_id = s.owner_id "#
                + $where
            $(, $arg)*
        )
    };
}

/// Makes a link to the caller's complete file; its URL is in the answer, and nowhere else.
pub async fn create(
    state: &AppState,
    user: &User,
    ip: IpAddr,
    file_id: FileId,
    request: &Request,
) -> Result<NewShare, Error> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    if file.status != FileStatus::Complete {
        return Err(Error::invalid(
            "file",
            "Only a complete file can be shared.",
        ));
    }
    let checked = request.check(state.config.share_max_ttl, user)?;
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
    // The file must still be the caller's and complete as the link is written.
    let made = sqlx::query_scalar!(
        "insert into share_link (share_id, file_id, owner_id, token_hash, password_hash,
                                 sender_name, note, expires_at, max_downloads)
         select $1, f.file_id, f.owner_id, $4, $5, $6, $7, now() + $8 * interval '1 s', $9
         from file f where f.file_id = $2 and f.owner_id = $3 and f.status = 'complete'
         returning share_id",
        id,
        file.id,
        user.id,
        hash,
        password_hash,
        checked.sender_name,
        checked.note,
        ttl.as_seconds_f64(),
        checked.max_downloads
    )
    .fetch_optional(&mut *tx)
    .await
    .context("making a share link")?;
    if made.is_none() {
        return Err(Error::NotFound);
    }
    let event = Event::new("share.create")
        .on_file(file.id)
        .on_user(user)
        .detail(json!({
            "share": id,
            "name": file.name,
            "expires_in_s": checked.ttl.as_secs(),
            "max_downloads": checked.max_downloads,
            "password": password_hash.is_some(),
        }));
    audit::record(&mut *tx, &Actor::user(user, Some(ip)), event).await?;
    tx.commit().await?;
    let share = one(&state.db, id).await?;
    Ok(NewShare {
        url: format!("{}/s/{token}", state.config.public_origin),
        share,
    })
}

async fn one(db: &PgPool, id: Uuid) -> Result<ShareView, Error> {
    let row = share_rows!("where s.share_id = $1", id)
        .fetch_optional(db)
        .await
        .context("loading a share link")?
        .ok_or(Error::NotFound)?;
    Ok(row.view(OffsetDateTime::now_utc()))
}

/// The links of the caller's file, newest first (a file has few: at most 200 are listed).
pub async fn of_file(
    state: &AppState,
    user: &User,
    file_id: FileId,
) -> Result<Vec<ShareView>, Error> {
    let file = files::find_owned(&state.db, user.id, file_id).await?;
    let rows = share_rows!(
        "where s.file_id = $1 and s.owner_id = $2 order by s.created_at desc limit 200",
        file.id,
        user.id
    )
    .fetch_all(&state.db)
    .await
    .context("listing a file's share links")?;
    let now = OffsetDateTime::now_utc();
    Ok(rows.iter().map(|row| row.view(now)).collect())
}

/// Ends a link at once. `owner`: only if it is theirs (someone else's answers as missing);
/// None: any (an admin). Revoking a revoked link changes nothing and answers the same.
pub async fn revoke(
    db: &PgPool,
    owner: Option<Uuid>,
    share_id: ShareId,
    actor: &Actor,
) -> Result<ShareView, Error> {
    if let Some(owner) = owner {
        if owner_of(db, share_id).await? != Some(owner) {
            return Err(Error::NotFound);
        }
    }
    let mut tx = db.begin().await?;
    let revoked = sqlx::query!(
        "update share_link set revoked_at = now()
         where share_id = $1 and revoked_at is null and ($2::uuid is null or owner_id = $2)
         returning file_id, owner_id",
        share_id.0,
        owner
    )
    .fetch_optional(&mut *tx)
    .await
    .context("revoking a share link")?;
    if let Some(row) = revoked {
        let email = sqlx::query_scalar!(
            "select email from app_user where app_user_id = $1",
            row.owner_id
        )
        .fetch_one(&mut *tx)
        .await
        .context("loading a link's owner")?;
        let event = Event::new("share.revoke")
            .on_file(row.file_id)
            .on_account(row.owner_id, &email)
            .detail(json!({ "share": share_id.0 }));
        audit::record(&mut *tx, actor, event).await?;
    }
    tx.commit().await?;
    one(db, share_id.0).await
}

async fn owner_of(db: &PgPool, share_id: ShareId) -> Result<Option<Uuid>, Error> {
    sqlx::query_scalar!(
        "select owner_id from share_link where share_id = $1",
        share_id.0
    )
    .fetch_optional(db)
    .await
    .context("loading a link's owner")
}

/// Every link (admin), newest first, 50 a page; `owner`: only those whose owner's email
/// contains it (3 characters or more).
pub async fn list_all(db: &PgPool, owner: &str, cursor: Option<&str>) -> Result<SharePage, Error> {
    let owner = owner.trim();
    if !owner.is_empty() && owner.chars().count() < 3 {
        return Err(Error::invalid(
            "owner",
            "Type at least 3 characters of the owner's email.",
        ));
    }
    let pattern = (!owner.is_empty()).then(|| page::contains_pattern(owner));
    let after = page::read_cursor(cursor, Key::parse)?;
    let (after_time, after_id) = match after {
        Some(key) => (Some(key.time()?), Some(key.id)),
        None => (None, None),
    };
    let mut rows = share_rows!(
        "where ($1::text is null or u.email ilike $1)
           and ($2::timestamptz is null or (s.created_at, s.share_id) < ($2, $3))
         order by s.created_at desc, s.share_id desc limit $4",
        pattern,
        after_time,
        after_id,
        page::limit()
    )
    .fetch_all(db)
    .await
    .context("listing share links")?;
    let next_cursor = page::next_page(&mut rows, |row| Key::at(row.created_at, row.id).to_string());
    let now = OffsetDateTime::now_utc();
    Ok(SharePage {
        shares: rows.iter().map(|row| row.view(now)).collect(),
        next_cursor,
    })
}

/// What a visitor with a token sees.
#[derive(Debug, Clone)]
pub struct Shared {
    pub id: Uuid,
    pub file_name: String,
    pub size_bytes: u64,
    pub content_type: String,
    pub checksum: Option<String>,
    pub integrity: Integrity,
    pub part_size: u64,
    pub part_count: u32,
    pub sender_name: String,
    pub note: String,
    pub has_password: bool,
    pub expires_at: OffsetDateTime,
    /// Downloads left under the limit; None: no limit.
    pub downloads_left: Option<u32>,
}

/// Why a token opens nothing. Both answer the same page; only the status differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// No link has this token (404).
    Unknown,
    /// It had one: expired, revoked, used up, its file gone or its owner disabled (410).
    Ended,
}

/// The link a token opens, if it still does.
pub async fn open(db: &PgPool, token: &str) -> Result<Result<Shared, Closed>, Error> {
    if !well_formed(token) {
        return Ok(Err(Closed::Unknown));
    }
    let row = sqlx::query!(
        r#"select s.share_id, s.sender_name, s.note, s.password_hash is not null as "has_password!",
                  s.expires_at, s.max_downloads, s.downloads, s.revoked_at,
                  s.expires_at <= now() as "expired!",
                  f.name, f.size_bytes, f.content_type, f.checksum_sha256, f.part_size,
                  f.part_count, f.status as "status: FileStatus",
                  f.integrity as "integrity: Integrity",
                  (u.disabled_at is not null or u.deleting_at is not null) as "owner_gone!"
           from share_link s
           join file f on f.file_id = s.file_id
           join app_user u on u.app_user_id = s.owner_id
           where s.token_hash = $1"#,
        token_hash(token)
    )
    .fetch_optional(db)
    .await
    .context("opening a share link")?;
    let Some(row) = row else {
        return Ok(Err(Closed::Unknown));
    };
    let used_up = row.max_downloads.is_some_and(|max| row.downloads >= max);
    if row.revoked_at.is_some()
        || row.expired
        || used_up
        || row.owner_gone
        || row.status != FileStatus::Complete
    {
        return Ok(Err(Closed::Ended));
    }
    Ok(Ok(Shared {
        id: row.share_id,
        file_name: row.name,
        size_bytes: u64::try_from(row.size_bytes).unwrap_or(0),
        content_type: row.content_type,
        checksum: row.checksum_sha256,
        integrity: row.integrity,
        part_size: u64::try_from(row.part_size).unwrap_or(0),
        part_count: u32::try_from(row.part_count).unwrap_or(0),
        sender_name: row.sender_name,
        note: row.note,
        has_password: row.has_password,
        expires_at: row.expires_at,
        downloads_left: row
            .max_downloads
            .map(|max| u32::try_from(max - row.downloads).unwrap_or(0)),
    }))
}

/// Checks a link's password, counted against the link and the visitor's address like a
/// sign-in (a right one gives its count back). True when it is the password.
pub async fn check_password(
    state: &AppState,
    ip: IpAddr,
    share: &Shared,
    password: &str,
) -> Result<bool, Error> {
    let hash = sqlx::query_scalar!(
        "select password_hash from share_link where share_id = $1",
        share.id
    )
    .fetch_optional(&state.db)
    .await
    .context("loading a link's password")?
    .flatten();
    auth::link_password(state, ip, &format!("share:{}", share.id), hash, password).await
}

/// Counts one download of the link, if it still has one to give (and the visitor passed its
/// password, `unlocked`), and answers a short-lived URL of the file's bytes.
pub async fn download(
    state: &AppState,
    ip: IpAddr,
    token: &str,
    unlocked: bool,
) -> Result<Result<String, Closed>, Error> {
    if !well_formed(token) {
        return Ok(Err(Closed::Unknown));
    }
    let mut tx = state.db.begin().await?;
    // One statement decides: the limit, the expiry, the file and the owner are read and
    // the count raised under the row's lock, so concurrent visitors queue here.
    let counted = sqlx::query!(
        "update share_link s set downloads = s.downloads + 1
         from file f, app_user u
         where s.token_hash = $1 and f.file_id = s.file_id and u.app_user_id = s.owner_id
           and s.revoked_at is null and s.expires_at > now()
           and (s.max_downloads is null or s.downloads < s.max_downloads)
           and f.status = 'complete' and u.disabled_at is null and u.deleting_at is null
           and (s.password_hash is null or $2)
         returning s.share_id, s.downloads, s.owner_id, u.email, f.file_id",
        token_hash(token),
        unlocked
    )
    .fetch_optional(&mut *tx)
    .await
    .context("counting a download")?;
    let Some(counted) = counted else {
        drop(tx);
        return Ok(Err(match open(&state.db, token).await? {
            Err(closed) => closed,
            // Open, so the password was missing: the page asks for it.
            Ok(_) => Closed::Ended,
        }));
    };
    let file = files::find(&state.db, counted.file_id).await?;
    let url = file_actions::presign_download(state, &file).await?;
    let event = Event::new("share.download")
        .on_file(file.id)
        .on_account(counted.owner_id, &counted.email)
        .detail(
            json!({ "share": counted.share_id, "name": file.name, "downloads": counted.downloads }),
        );
    let visitor = Actor {
        ip: Some(ip),
        ..Actor::system()
    };
    audit::record(&mut *tx, &visitor, event).await?;
    let data = json!({
        "file": notifications::file_data(&file),
        "share": { "id": counted.share_id, "downloads": counted.downloads },
    });
    notifications::emit(
        &mut tx,
        counted.owner_id,
        Kind::ShareDownloaded,
        Some(file.id),
        data,
    )
    .await?;
    tx.commit().await?;
    state.metrics.count("haul_share_downloads_total", &[], 1);
    Ok(Ok(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_counts_or_nothing() {
        assert_eq!(read_limit(""), Ok(None));
        assert_eq!(read_limit("3"), Ok(Some(3)));
        assert!(read_limit("0").is_err());
        assert!(read_limit("-1").is_err());
        assert!(read_limit("lots").is_err());
    }
}
