//! API tokens: `Authorization: Bearer haul_…` on the same `/api/` endpoints the browser calls
//! with its session, for scripts and the `haul` command line. A token is a capability of 256
//! random bits, kept only as its SHA-256 and shown once; it belongs to one user, has a scope
//! (which endpoints it opens), may expire, and is revoked by its owner or an administrator.
//! A disabled account's tokens stop at once (the user row is read with the token).
//!
//! A token never stands for a session nor a session for a token: bearer requests read no
//! session, and a session id is no token.

use std::net::IpAddr;

use serde_json::json;
use sqlx::PgPool;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    audit::{self, Actor, Event},
    auth,
    capability::{new_token, read_ttl, token_hash, well_formed},
    state::AppState,
    users::{User, UserRow},
    Error,
};
use crate::backend::error::Context;

/// What every token starts with, so that it is recognised (by secret scanners too).
pub const PREFIX: &str = "haul_";

/// The longest a token may last; none may be asked for (never expires).
const MAX_TTL: std::time::Duration = std::time::Duration::from_secs(366 * 24 * 3600);

/// Which endpoints a token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Start, sign, complete and abort uploads; list and look up own files.
    Upload,
    /// List own files and download them.
    Read,
    /// Both, and delete and rename files.
    Full,
}

impl Scope {
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "upload" => Some(Self::Upload),
            "read" => Some(Self::Read),
            "full" => Some(Self::Full),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Upload => "upload",
            Self::Read => "read",
            Self::Full => "full",
        }
    }

    /// Whether this scope opens the server function `endpoint` (its path under `/api/`).
    /// Everything not named here (accounts, sessions, shares, requests, tokens, admin) is
    /// for the browser's session only.
    pub fn allows(self, endpoint: &str) -> bool {
        const LIST: &[&str] = &["list_files", "get_file", "find_same_file"];
        const UPLOAD: &[&str] = &[
            "start_upload",
            "sign_parts",
            "uploaded_parts",
            "complete_upload",
            "abort_upload",
            "report_refusal",
        ];
        const READ: &[&str] = &["download_url"];
        const CHANGE: &[&str] = &["delete_file", "rename_file"];
        let upload = UPLOAD.contains(&endpoint);
        let read = READ.contains(&endpoint);
        LIST.contains(&endpoint)
            || match self {
                Self::Upload => upload,
                Self::Read => read,
                Self::Full => upload || read || CHANGE.contains(&endpoint),
            }
    }
}

/// A token as its owner (or an administrator) sees it in a list; never the token itself.
#[derive(Debug, Clone)]
pub struct Token {
    pub id: Uuid,
    pub user_id: Uuid,
    pub owner_email: String,
    pub name: String,
    pub scope: String,
    /// The token's first characters (`haul_abcd`), to tell tokens apart.
    pub prefix: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl Token {
    /// `Active`, `Expired` or `Revoked`.
    pub fn state(&self) -> &'static str {
        if self.revoked_at.is_some() {
            "Revoked"
        } else if self
            .expires_at
            .is_some_and(|at| at <= OffsetDateTime::now_utc())
        {
            "Expired"
        } else {
            "Active"
        }
    }
}

/// What the form asks for a new token.
pub struct NewToken<'a> {
    pub name: &'a str,
    pub scope: &'a str,
    /// `30d`, `12h`…; empty or `never`: it does not expire.
    pub expires_in: &'a str,
}

/// Makes a token for `user`; answers it (shown once). Its row is in `list` from now on.
pub async fn create(
    db: &PgPool,
    user: &User,
    ip: IpAddr,
    new: &NewToken<'_>,
) -> Result<String, Error> {
    let name = new.name.trim();
    let mut problems = Vec::new();
    if name.is_empty() || name.chars().count() > 100 {
        problems.push((
            "name",
            "Name the token (up to 100 characters), such as \"render node 3\".".to_owned(),
        ));
    }
    let scope = Scope::parse(new.scope);
    if scope.is_none() {
        problems.push((
            "scope",
            "Pick what the token may do: upload, read or full.".to_owned(),
        ));
    }
    let expires_in = new.expires_in.trim();
    let ttl = if expires_in.is_empty() || expires_in.eq_ignore_ascii_case("never") {
        None
    } else {
        match read_ttl(expires_in, MAX_TTL, MAX_TTL) {
            Ok(ttl) => Some(ttl),
            Err(message) => {
                problems.push(("expires_in", message.replace("A link", "A token")));
                None
            }
        }
    };
    if !problems.is_empty() {
        return Err(Error::Invalid(
            problems
                .into_iter()
                .map(|(field, message)| crate::error::FieldError {
                    field: field.to_owned(),
                    message,
                })
                .collect(),
        ));
    }
    let scope = scope.unwrap_or(Scope::Read);
    let (secret, _) = new_token();
    let token = format!("{PREFIX}{secret}");
    let id = Uuid::new_v4();
    let ttl_s = ttl.map(|ttl| ttl.as_secs_f64());
    let mut tx = db.begin().await?;
    sqlx::query!(
        "insert into api_token (api_token_id, user_id, name, scope, token_hash, prefix, expires_at)
         values ($1, $2, $3, $4, $5, $6, now() + $7 * interval '1 s')",
        id,
        user.id,
        name,
        scope.as_str(),
        token_hash(&token),
        &token[..PREFIX.len() + 4],
        ttl_s
    )
    .execute(&mut *tx)
    .await
    .context("making an API token")?;
    let event = Event::new("token.create").on_user(user).detail(json!({
        "token": id, "name": name, "scope": scope.as_str(), "expires_in_s": ttl_s,
    }));
    audit::record(&mut *tx, &Actor::user(user, Some(ip)), event).await?;
    tx.commit().await?;
    Ok(token)
}

/// `user`'s tokens, newest first (None: every user's, for administrators; the newest 500).
pub async fn list(db: &PgPool, user: Option<Uuid>) -> Result<Vec<Token>, Error> {
    let rows = sqlx::query_as!(
        Token,
        r#"select t.api_token_id as id, t.user_id, u.email as owner_email, t.name, t.scope,
                  t.prefix, t.created_at, t.expires_at, t.last_used_at, t.revoked_at
           from api_token t join app_user u on u.app_user_id = t.user_id
           where $1::uuid is null or t.user_id = $1
           order by t.created_at desc, t.api_token_id desc
           limit 500"#,
        user
    )
    .fetch_all(db)
    .await
    .context("listing API tokens")?;
    Ok(rows)
}

/// Revokes token `id`: `owner`'s own (another's answers NotFound), or with `owner` None any
/// user's (an administrator, `actor`). Revoking a revoked token changes nothing.
pub async fn revoke(
    db: &PgPool,
    owner: Option<Uuid>,
    id: Uuid,
    actor: &Actor,
) -> Result<(), Error> {
    let mut tx = db.begin().await?;
    let revoked = sqlx::query!(
        r#"update api_token t set revoked_at = coalesce(t.revoked_at, now())
           from app_user u
           where t.api_token_id = $1 and ($2::uuid is null or t.user_id = $2)
             and u.app_user_id = t.user_id
           returning t.user_id, u.email, t.name"#,
        id,
        owner
    )
    .fetch_optional(&mut *tx)
    .await
    .context("revoking an API token")?
    .ok_or(Error::NotFound)?;
    let event = Event::new("token.revoke")
        .on_account(revoked.user_id, &revoked.email)
        .detail(json!({ "token": id, "name": revoked.name }));
    audit::record(&mut *tx, actor, event).await?;
    tx.commit().await?;
    Ok(())
}

/// Why a bearer token was refused, in words for its holder (sent back in
/// `WWW-Authenticate`'s `error_description`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// 401: unknown, revoked, expired, or its account is disabled.
    Invalid(String),
    /// 403: a valid token whose scope does not open this endpoint.
    Scope(String),
    /// 429: too many requests with this token.
    RateLimited(u64),
}

/// A token's row and its owner, as one request reads them.
struct Found {
    id: Uuid,
    name: String,
    scope: String,
    expires_at: Option<OffsetDateTime>,
    revoked: bool,
    expired: bool,
    use_stale: bool,
    user_id: Uuid,
    email: String,
    role: String,
    quota_bytes: i64,
    used_bytes: i64,
    reserved_bytes: i64,
    disabled: bool,
    last_seen_at: Option<OffsetDateTime>,
}

/// The user `token` acts for on `endpoint`, or why not. One read of the token and its owner;
/// its last use is written at most once a minute (with an audit row). Refusals of a known
/// token are audited; guesses (no such token) are counted against the address like sign-ins.
pub async fn authenticate(
    state: &AppState,
    token: &str,
    endpoint: &str,
    ip: IpAddr,
) -> Result<Result<User, Refusal>, Error> {
    let secret = token.strip_prefix(PREFIX).unwrap_or_default();
    let found = if well_formed(secret) {
        sqlx::query_as!(
            Found,
            r#"select t.api_token_id as id, t.name, t.scope, t.expires_at,
                      t.revoked_at is not null as "revoked!",
                      coalesce(t.expires_at <= now(), false) as "expired!",
                      coalesce(t.last_used_at < now() - interval '1 minute', true) as "use_stale!",
                      u.app_user_id as user_id, u.email, u.role, u.quota_bytes, u.used_bytes,
                      u.reserved_bytes, u.disabled_at is not null as "disabled!", u.last_seen_at
               from api_token t join app_user u on u.app_user_id = t.user_id
               where t.token_hash = $1"#,
            token_hash(token)
        )
        .fetch_optional(&state.db)
        .await
        .context("reading an API token")?
    } else {
        None
    };
    let Some(found) = found else {
        auth::limit_ip(state, "token", ip).await?;
        state
            .metrics
            .count("haul_token_refused_total", &[("why", "unknown")], 1);
        return Ok(Err(Refusal::Invalid(
            "This token is not known: check it was copied whole, or make a new one in Account > API tokens.".to_owned(),
        )));
    };
    let refusal = if found.revoked {
        Some((
            "revoked",
            Refusal::Invalid("This token was revoked.".to_owned()),
        ))
    } else if found.expired {
        let on = found
            .expires_at
            .map(|at| at.date().to_string())
            .unwrap_or_default();
        Some((
            "expired",
            Refusal::Invalid(format!("This token expired on {on}.")),
        ))
    } else if found.disabled {
        Some((
            "disabled",
            Refusal::Invalid("This token's account is disabled.".to_owned()),
        ))
    } else {
        let scope = Scope::parse(&found.scope).unwrap_or(Scope::Read);
        (!scope.allows(endpoint)).then(|| {
            (
                "scope",
                Refusal::Scope(format!(
                    "This token's scope ({}) does not allow {endpoint}.",
                    scope.as_str()
                )),
            )
        })
    };
    let actor = Actor {
        id: Some(found.user_id),
        email: Some(found.email.clone()),
        ip: Some(ip),
    };
    if let Some((why, refusal)) = refusal {
        state
            .metrics
            .count("haul_token_refused_total", &[("why", why)], 1);
        let event = Event::new("token.refused")
            .on_account(found.user_id, &found.email)
            .detail(
                json!({ "token": found.id, "name": found.name, "why": why, "endpoint": endpoint }),
            );
        audit::record(&state.db, &actor, event).await?;
        return Ok(Err(refusal));
    }
    let limit = state.config.token_requests;
    let key = format!("token:{}", found.id);
    if let Err(wait) = state.rate_limiter.hit(&state.db, &key, limit).await? {
        state
            .metrics
            .count("haul_rate_limited_total", &[("limit", "token")], 1);
        return Ok(Err(Refusal::RateLimited(wait.as_secs().max(1))));
    }
    if found.use_stale {
        // Once a minute at most: a token in steady use is one write a minute, not one a call.
        let mut tx = state.db.begin().await?;
        let touched = sqlx::query!(
            "update api_token set last_used_at = now()
             where api_token_id = $1
               and (last_used_at is null or last_used_at < now() - interval '1 minute')",
            found.id
        )
        .execute(&mut *tx)
        .await
        .context("noting an API token's use")?;
        if touched.rows_affected() == 1 {
            let event = Event::new("token.use")
                .on_account(found.user_id, &found.email)
                .detail(json!({ "token": found.id, "name": found.name, "endpoint": endpoint }));
            audit::record(&mut *tx, &actor, event).await?;
        }
        tx.commit().await?;
    }
    Ok(Ok(UserRow {
        id: found.user_id,
        email: found.email,
        role: found.role,
        quota_bytes: found.quota_bytes,
        used_bytes: found.used_bytes,
        reserved_bytes: found.reserved_bytes,
        disabled: found.disabled,
        last_seen_at: found.last_seen_at,
    }
    .into()))
}

#[cfg(test)]
mod tests {
    use super::Scope;

    #[test]
    fn scopes_open_only_their_endpoints() {
        for scope in [Scope::Upload, Scope::Read, Scope::Full] {
            assert!(scope.allows("list_files"), "{scope:?}");
            assert!(scope.allows("get_file"), "{scope:?}");
            for never in [
                "sign_out",
                "me",
                "create_share",
                "admin/users",
                "set_webhook",
                "",
            ] {
                assert!(!scope.allows(never), "{scope:?} {never}");
            }
        }
        assert!(Scope::Upload.allows("start_upload") && Scope::Upload.allows("complete_upload"));
        assert!(!Scope::Upload.allows("download_url") && !Scope::Upload.allows("delete_file"));
        assert!(Scope::Read.allows("download_url") && !Scope::Read.allows("start_upload"));
        assert!(!Scope::Read.allows("delete_file"));
        assert!(Scope::Full.allows("delete_file") && Scope::Full.allows("sign_parts"));
        assert!(Scope::Full.allows("download_url") && !Scope::Full.allows("admin/files"));
    }

    #[test]
    fn scope_names_read_back() {
        for scope in [Scope::Upload, Scope::Read, Scope::Full] {
            assert_eq!(Scope::parse(scope.as_str()), Some(scope));
        }
        assert_eq!(Scope::parse("admin"), None);
    }
}
