//! `server check [--repair]`: the invariant check (`app::backend::check`) against the database
//! and bucket the server uses (the embedded ones included). One line per violation, then a
//! summary; the exit code says whether any is left.

use std::process::ExitCode;

use app::backend::{
    check::{self, Limits, Report},
    db,
};

use crate::{
    local_stack::LocalStack,
    settings::Settings,
    startup::{connect_database, connect_storage},
};

/// 0 when no violation is left, 1 when some is; an error when the check could not run.
pub async fn run(settings: &Settings, repair: bool) -> anyhow::Result<ExitCode> {
    let mut stack = LocalStack::default();
    let checked = check_all(settings, &mut stack, repair).await;
    tokio::task::spawn_blocking(move || stack.stop()).await?;
    let report = checked?;
    println!("{report}");
    Ok(match report.left() {
        0 => ExitCode::SUCCESS,
        _ => ExitCode::from(1),
    })
}

async fn check_all(
    settings: &Settings,
    stack: &mut LocalStack,
    repair: bool,
) -> anyhow::Result<Report> {
    let db = connect_database(settings, stack).await?;
    db::migrate(&db).await?;
    let origin = settings.public_origin(settings.addr)?;
    let storage = connect_storage(settings, &origin, stack).await?;
    let limits = Limits {
        grace: settings.url_ttl,
        max_lease: settings.lease,
    };
    let report = check::check(&db, &storage, limits, repair, |violation| {
        println!("{violation}")
    })
    .await;
    db.close().await;
    Ok(report?)
}
