//! The embedded local stack: a private PostgreSQL and a private S3 store, started with the
//! server when nothing else is configured, so that one command gives a working app.

pub mod postgres;
pub mod process;
pub mod seaweed;

use std::{
    net::TcpListener,
    path::{Path, PathBuf},
};

pub use postgres::LocalPostgres;
pub use seaweed::LocalS3;

/// What the server started; stopped in reverse order when dropped or stopped.
#[derive(Default)]
pub struct LocalStack {
    pub postgres: Option<LocalPostgres>,
    pub s3: Option<LocalS3>,
}

impl LocalStack {
    pub fn stop(&mut self) {
        if let Some(mut s3) = self.s3.take() {
            s3.stop();
        }
        if let Some(mut postgres) = self.postgres.take() {
            postgres.stop();
        }
    }
}

/// `dir` created if needed and made absolute: the stack's processes run in other directories.
/// Private to this account when made here; run as root, the PostgreSQL account is then let
/// through it (0711: enter, not list) to reach its own 0700 cluster dir.
pub fn absolute_data_dir(dir: &Path) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    create_private_dir(dir)?;
    std::path::absolute(dir)
        .with_context(|| format!("HAUL_DATA_DIR {} cannot be resolved", dir.display()))
}

/// Creates `dir` and its missing parents, 0700.
pub fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .with_context(|| unwritable("create", dir))
}

/// What to say when something in the data dir cannot be created, opened or written.
pub(crate) fn unwritable(action: &str, path: &Path) -> String {
    format!(
        "HAUL_DATA_DIR is not writable: cannot {action} {}",
        path.display()
    )
}

/// Opens a log for appending, private to its owner.
pub(crate) fn append_private(path: &Path) -> anyhow::Result<std::fs::File> {
    use anyhow::Context;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::File::options()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .with_context(|| unwritable("open", path))
}

/// `name` on PATH.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `count` distinct free loopback ports. All are held open together while choosing, so no
/// two are the same; another process could still take one before it is used.
pub fn free_ports(count: usize) -> std::io::Result<Vec<u16>> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind(("127.0.0.1", 0)))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect()
}
