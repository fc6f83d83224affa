//! A private PostgreSQL cluster in the data dir, reachable over a unix socket only.

use std::{
    fs,
    os::unix::{
        fs::{MetadataExt, PermissionsExt},
        process::CommandExt,
    },
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use nix::{sys::signal::Signal, unistd};
use sqlx::{postgres::PgConnectOptions, Connection, PgConnection};

use super::{absolute_data_dir, find_binary, process};

/// The role that owns the cluster and that Haul connects as.
const SUPERUSER: &str = "haul";
/// Unix sockets have a path limit of 108 bytes on Linux.
const MAX_SOCKET_PATH: usize = 100;

pub struct LocalPostgres {
    /// None when another Haul process already runs this cluster and we only connect to it.
    child: Option<Child>,
    socket_dir: PathBuf,
    log: PathBuf,
}

/// Who runs the PostgreSQL processes: PostgreSQL refuses to run as root.
struct RunAs {
    uid: u32,
    gid: u32,
    name: String,
}

impl LocalPostgres {
    /// Starts the cluster in `data_dir/postgres`, creating it on first use.
    /// `durable: false` trades crash safety for speed (tests).
    pub async fn start(
        data_dir: &Path,
        bin_dir: Option<&Path>,
        durable: bool,
    ) -> anyhow::Result<Self> {
        let initdb = find_postgres_binary("initdb", bin_dir)?;
        let postgres = find_postgres_binary("postgres", bin_dir)?;
        let run_as = run_as()?;
        let data_dir = &absolute_data_dir(data_dir)?;
        let pgdata = data_dir.join("postgres");
        let socket_dir = data_dir.join("postgres-socket");
        let log = data_dir.join("postgres.log");
        check_socket_path(data_dir, &socket_dir)?;
        prepare_dir(&pgdata, run_as.as_ref())?;
        prepare_dir(&socket_dir, run_as.as_ref())?;

        if !pgdata.join("PG_VERSION").exists() {
            init_cluster(&initdb, &pgdata, &log, run_as.as_ref(), durable)?;
        }
        // A running server already started this cluster (e.g. `server user promote` next to
        // `server serve`): share it rather than fail on PostgreSQL's lock.
        let attached = Self {
            child: None,
            socket_dir: socket_dir.clone(),
            log: log.clone(),
        };
        if PgConnection::connect_with(&attached.connect_options("postgres"))
            .await
            .is_ok()
        {
            return Ok(attached);
        }

        let command = postgres_command(&postgres, &pgdata, &socket_dir, &log, run_as, durable)?;
        // SIGINT is PostgreSQL's "fast shutdown": roll back open transactions, exit cleanly.
        let child = process::spawn_tied(command, Signal::SIGINT)
            .with_context(|| format!("starting {}", postgres.display()))?;
        let mut cluster = Self {
            child: Some(child),
            socket_dir,
            log,
        };
        cluster.wait_ready().await?;
        Ok(cluster)
    }

    /// The postmaster's process id, when this process started the cluster.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Connection options for one database of the cluster.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.socket_dir)
            .username(SUPERUSER)
            .database(database)
    }

    /// Creates `name` unless it exists.
    pub async fn create_database(&self, name: &str) -> anyhow::Result<()> {
        let mut conn = self.admin_connection().await?;
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
                .bind(name)
                .fetch_one(&mut conn)
                .await?;
        if !exists {
            sqlx::query(&format!("create database {}", quoted(name)))
                .execute(&mut conn)
                .await
                .with_context(|| format!("creating database {name}"))?;
        }
        Ok(())
    }

    /// A connection to the cluster's `postgres` database, for creating and dropping others.
    async fn admin_connection(&self) -> anyhow::Result<PgConnection> {
        PgConnection::connect_with(&self.connect_options("postgres"))
            .await
            .context("connecting to the local PostgreSQL")
    }

    /// Drops `name` if it exists, ending the sessions still connected to it.
    pub async fn drop_database(&self, name: &str) -> anyhow::Result<()> {
        let mut conn = self.admin_connection().await?;
        sqlx::query(&format!(
            "drop database if exists {} with (force)",
            quoted(name)
        ))
        .execute(&mut conn)
        .await
        .with_context(|| format!("dropping database {name}"))?;
        Ok(())
    }

    async fn wait_ready(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let exited = match self.child.as_mut() {
                Some(child) => child.try_wait()?,
                None => None,
            };
            if let Some(status) = exited {
                bail!(
                    "the local PostgreSQL exited ({status}) while starting: {} (log: {})",
                    process::log_tail(&self.log, 5),
                    self.log.display()
                );
            }
            match PgConnection::connect_with(&self.connect_options("postgres")).await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    return Ok(());
                }
                Err(e) if Instant::now() > deadline => {
                    return Err(e)
                        .context("the local PostgreSQL did not accept connections within 60 s")
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Fast shutdown; waits for it so the data is consistent on disk.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if !process::stop(&mut child, Signal::SIGINT, Duration::from_secs(30)) {
            tracing::warn!("the local PostgreSQL did not stop in time and was killed");
        }
    }
}

impl Drop for LocalPostgres {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The postgres command for the cluster in `pgdata`: unix socket only, logging to `log`,
/// run as `run_as` (PostgreSQL refuses root).
fn postgres_command(
    postgres: &Path,
    pgdata: &Path,
    socket_dir: &Path,
    log: &Path,
    run_as: Option<RunAs>,
    durable: bool,
) -> anyhow::Result<Command> {
    let mut command = Command::new(postgres);
    command
        .arg("-D")
        .arg(pgdata)
        .arg("-k")
        .arg(socket_dir)
        // No TCP listener: nothing to collide with, nothing exposed.
        .args(["-c", "listen_addresses="])
        .args(["-c", "max_connections=200"]);
    if !durable {
        command.args([
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
        ]);
    }
    let log_file = super::append_private(log)?;
    command
        .current_dir(pgdata)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    if let Some(user) = run_as {
        command.uid(user.uid).gid(user.gid);
    }
    Ok(command)
}

/// Unix socket paths are limited to 108 bytes on Linux.
fn check_socket_path(data_dir: &Path, socket_dir: &Path) -> anyhow::Result<()> {
    if socket_dir.join(".s.PGSQL.5432").as_os_str().len() > MAX_SOCKET_PATH {
        bail!(
            "HAUL_DATA_DIR {} is too deep for a PostgreSQL socket path: choose a shorter path",
            data_dir.display()
        );
    }
    Ok(())
}

fn find_postgres_binary(name: &str, bin_dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(dir) = bin_dir {
        let path = dir.join(name);
        if path.is_file() {
            return Ok(path);
        }
        bail!("HAUL_POSTGRES_BIN_DIR {} has no {name}", dir.display());
    }
    if let Some(path) = find_binary(name) {
        return Ok(path);
    }
    // Debian and Ubuntu keep the server binaries off PATH, one directory per major version.
    let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin").join(name))
        .filter(|path| path.is_file())
        .collect();
    versions.sort_by_key(|path| {
        path.components()
            .nth(3)
            .and_then(|v| v.as_os_str().to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    versions.pop().with_context(|| {
        format!(
            "PostgreSQL's {name} was not found on PATH or in /usr/lib/postgresql/*/bin: \
             install the PostgreSQL server (e.g. apt-get install postgresql), set \
             HAUL_POSTGRES_BIN_DIR, or set DATABASE_URL to use an existing database"
        )
    })
}

/// PostgreSQL will not run as root; then it runs as the `postgres` account (or `nobody`).
fn run_as() -> anyhow::Result<Option<RunAs>> {
    if !unistd::geteuid().is_root() {
        return Ok(None);
    }
    for name in ["postgres", "nobody"] {
        if let Some(user) = unistd::User::from_name(name).context("looking up system users")? {
            return Ok(Some(RunAs {
                uid: user.uid.as_raw(),
                gid: user.gid.as_raw(),
                name: name.to_owned(),
            }));
        }
    }
    bail!("running as root, and there is no `postgres` or `nobody` account to run PostgreSQL as: run Haul as a normal user or set DATABASE_URL")
}

/// Creates `dir` private to the PostgreSQL user, and makes sure that user can reach it.
fn prepare_dir(dir: &Path, run_as: Option<&RunAs>) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| super::unwritable("create", dir))?;
    let Some(user) = run_as else {
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
        return Ok(());
    };
    unistd::chown(dir, Some(user.uid.into()), Some(user.gid.into()))
        .with_context(|| format!("giving {} to the {} account", dir.display(), user.name))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    // The parent (the data dir) must let that account through, e.g. a 0700 temp dir.
    if let Some(parent) = dir.parent() {
        let mode = fs::metadata(parent)?.mode();
        if mode & 0o001 == 0 {
            fs::set_permissions(parent, fs::Permissions::from_mode((mode & 0o7777) | 0o711))
                .with_context(|| {
                    format!(
                        "letting the {} account into {}",
                        user.name,
                        parent.display()
                    )
                })?;
        }
    }
    let reachable = Command::new("test")
        .arg("-w")
        .arg(dir)
        .uid(user.uid)
        .gid(user.gid)
        .status()
        .map(|status| status.success())
        .unwrap_or(false);
    if !reachable {
        bail!(
            "the {} account that runs PostgreSQL cannot reach {}: set HAUL_DATA_DIR to a \
             directory outside private home directories (e.g. /var/lib/haul), or set DATABASE_URL",
            user.name,
            dir.display()
        );
    }
    Ok(())
}

fn init_cluster(
    initdb: &Path,
    pgdata: &Path,
    log: &Path,
    run_as: Option<&RunAs>,
    durable: bool,
) -> anyhow::Result<()> {
    let log_file = super::append_private(log)?;
    let mut command = Command::new(initdb);
    command
        .arg("-D")
        .arg(pgdata)
        .args(["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--no-locale"])
        .current_dir(pgdata)
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file);
    if !durable {
        command.arg("--no-sync");
    }
    if let Some(user) = run_as {
        command.uid(user.uid).gid(user.gid);
    }
    let status = command
        .status()
        .with_context(|| format!("running {}", initdb.display()))?;
    if !status.success() {
        bail!(
            "initdb failed ({status}): {} (log: {})",
            process::log_tail(log, 5),
            log.display()
        );
    }
    Ok(())
}

/// `name` as a quoted SQL identifier: identifiers cannot be bound as parameters.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
