//! The `haul` binary: reads settings and logging, then serves the app until a signal stops it
//! (`startup` builds it, with the embedded stack when nothing is configured), or runs an
//! account command (`haul user …`) or the invariant check (`haul check`).

use std::{io::IsTerminal, process::ExitCode};

use clap::Parser;
use server::{
    settings::{Cli, Command, StorageAction},
    startup::Application,
};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    give_large_blocks_back();
    let cli = Cli::parse();
    let filter = EnvFilter::try_new(&cli.settings.log).unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter);
    if cli.settings.log_format == "json" {
        logs.json().init();
    } else {
        logs.with_ansi(std::io::stdout().is_terminal()).init();
    }
    // A check that could not run exits 2: 1 means it ran and found violations.
    let (result, failed) = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => (done(serve(&cli.settings).await), ExitCode::FAILURE),
        Command::User { action } => (
            done(server::admin_cli::run(&cli.settings, action).await),
            ExitCode::FAILURE,
        ),
        Command::Check { repair } => (
            server::check_cli::run(&cli.settings, repair).await,
            ExitCode::from(2),
        ),
        Command::Storage {
            action: StorageAction::Check,
        } => (
            server::storage_check::run(&cli.settings).await,
            ExitCode::from(2),
        ),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            // One line with the whole cause chain, no backtrace: it names the setting to change.
            eprintln!("error: {}", one_line(&error));
            failed
        }
    }
}

fn done(result: anyhow::Result<()>) -> anyhow::Result<ExitCode> {
    result.map(|()| ExitCode::SUCCESS)
}

async fn serve(settings: &server::settings::Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    tracing::info!("Haul is listening on http://{}", app.local_addr()?);
    app.run_until_stopped(shutdown_signal()).await
}

/// Each argon2 hash allocates 19 MiB on one of tokio's blocking threads. After such a block is
/// freed, glibc raises its mmap threshold above it, so later ones come from per-thread arenas
/// and stay resident: 40 concurrent sign-ins left 384 MiB behind. A fixed threshold keeps
/// large blocks mmapped and returned when freed (measured: 42 MiB after the same burst).
fn give_large_blocks_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning; glibc serialises it internally.
    unsafe {
        nix::libc::mallopt(nix::libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(term) => term,
        Err(error) => {
            tracing::error!(%error, "cannot listen for SIGTERM");
            return std::future::pending().await;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down");
}

/// The cause chain on one line. Some errors repeat their source in their own message; a
/// cause already said is skipped.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}
