//! PostgreSQL: the migrations at start, and the ping the readiness check uses.

use crate::backend::{error::Context, Error};
use sqlx::PgPool;

/// The schema, embedded in the binary so a fresh database is set up at start.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

pub async fn migrate(db: &PgPool) -> Result<(), Error> {
    MIGRATOR
        .run(db)
        .await
        .context("applying database migrations")
}

/// True when the database answers a trivial query.
pub async fn ping(db: &PgPool) -> Result<(), Error> {
    sqlx::query("select 1")
        .execute(db)
        .await
        .context("querying the database")?;
    Ok(())
}
