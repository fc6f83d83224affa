//! Leases on uploading files: only the holder may complete, fail, abort or delete a file, so
//! two requests (or a request and the sweeper) never decide its fate at once, across app
//! servers. A lease is a token and a time in the file's row, taken in one statement.
//!
//! It is held for a short time and renewed every third of it while its holder lives (the
//! heartbeat ends when the lease is finished, released or dropped), so a holder that died (a
//! killed app server, a lost machine) blocks the file for one hold at most, not for the
//! longest S3 call. Ending an upload under its lease is `files::finish`; deleting one,
//! `files::remove`.

use std::time::Duration;

use crate::backend::error::Context;
use sqlx::PgPool;
use uuid::Uuid;

use super::{state::AppState, Error};

/// The claim on one uploading file.
#[derive(Debug)]
pub struct Lease {
    pub file_id: Uuid,
    token: Uuid,
    _heartbeat: Heartbeat,
}

impl Lease {
    /// What the file's row holds while this lease is: the statements that end or delete an
    /// uploading file change it only under this token.
    pub fn token(&self) -> Uuid {
        self.token
    }
}

/// Renews a lease until dropped.
#[derive(Debug)]
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Heartbeat {
    fn start(db: &PgPool, file_id: Uuid, token: Uuid, hold: Duration) -> Self {
        let db = db.clone();
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(hold / 3).await;
                match renew_token(&db, file_id, token, hold).await {
                    Ok(true) => {}
                    // Finished, released, or run out and taken: nothing left to hold.
                    Ok(false) => return,
                    // The database is away for now; the lease runs out if it stays away.
                    Err(error) => {
                        tracing::warn!(file = %file_id, error = %error, "renewing a lease failed")
                    }
                }
            }
        }))
    }
}

/// How long a lease is held between heartbeats: a holder that died blocks its file this long
/// at most.
pub fn hold(state: &AppState) -> Duration {
    state.config.lease
}

/// What a caller hears when someone else holds the file's lease: nothing was changed, and the
/// same call passes once the holder is done (409, never an outage).
pub fn busy() -> Error {
    Error::Conflict("This upload is being completed right now. Try again in a moment.".into())
}

/// Takes the lease on an uploading file for `hold`, unless someone else holds it. One
/// statement: of concurrent callers, across app servers, one wins. None when it is held, or
/// the file is not uploading (or gone).
pub async fn take(db: &PgPool, file_id: Uuid, hold: Duration) -> Result<Option<Lease>, Error> {
    let token = Uuid::new_v4();
    let taken = sqlx::query!(
        "update file set lease_token = $2, lease_until = now() + make_interval(secs => $3::float8)
         where file_id = $1 and status = 'uploading'
           and (lease_until is null or lease_until < now())",
        file_id,
        token,
        hold.as_secs_f64()
    )
    .execute(db)
    .await
    .context("claiming a file")?;
    Ok((taken.rows_affected() == 1).then(|| Lease {
        file_id,
        token,
        _heartbeat: Heartbeat::start(db, file_id, token, hold),
    }))
}

/// Holds the lease `hold` from now, if it is still this holder's: false when it ran out and
/// someone else took it (or the file ended meanwhile).
pub async fn renew(db: &PgPool, lease: &Lease, hold: Duration) -> Result<bool, Error> {
    renew_token(db, lease.file_id, lease.token, hold).await
}

async fn renew_token(
    db: &PgPool,
    file_id: Uuid,
    token: Uuid,
    hold: Duration,
) -> Result<bool, Error> {
    let renewed = sqlx::query!(
        "update file set lease_until = now() + make_interval(secs => $3::float8)
         where file_id = $1 and lease_token = $2 and status = 'uploading'",
        file_id,
        token,
        hold.as_secs_f64()
    )
    .execute(db)
    .await
    .context("renewing a file's lease")?;
    Ok(renewed.rows_affected() == 1)
}

/// Gives the lease back without changing the file (S3 could not be reached: try later).
pub async fn release(db: &PgPool, lease: Lease) -> Result<(), Error> {
    sqlx::query!(
        "update file set lease_token = null, lease_until = null
         where file_id = $1 and lease_token = $2",
        lease.file_id,
        lease.token
    )
    .execute(db)
    .await
    .context("releasing a file's lease")?;
    Ok(())
}
