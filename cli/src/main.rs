//! `haul`: uploads to and downloads from a Haul server from a terminal, with an API token
//! (Account → API tokens). Uploads go straight to the storage through pre-signed URLs, in
//! parallel parts checksummed with SHA-256, by the same transfer core as the browser; an
//! upload stopped any way (Ctrl-C, a kill, a lost network, a reboot) resumes when the same
//! command runs again, from the parts the storage holds once they are checked against this
//! file.
//!
//! Exit codes: 0 done; 1 failed for now (run the same command again to resume); 2 a usage or
//! local error (bad arguments, unreadable file, not logged in); 3 the token was refused
//! (unknown, revoked, expired, or its scope does not allow it); 4 refused for good (the file
//! changed since its upload began, the server or storage refused it, a download's checksum
//! did not match); 130 interrupted.

mod api;
mod native;
mod state;
mod transfer_cmd;

use std::{io::BufRead, path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};

use api::Api;

#[derive(Parser)]
#[command(
    name = "haul",
    version,
    about = "Upload to and download from a Haul server."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Keep the server's URL and an API token (read from standard input) for the other commands.
    Login {
        /// The server, such as https://haul.example.com
        url: String,
    },
    /// Upload files, and every file in directories. Run it again after any interruption: it
    /// resumes.
    Upload {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Parts in flight at once (per command, across files).
        #[arg(long, short = 'j', default_value_t = 4)]
        parallel: usize,
        /// Ask for parts of at least this size (such as 64MiB; the server's minimum applies).
        #[arg(long, value_parser = parse_size)]
        part_size: Option<u64>,
        /// No progress bars nor per-file lines: only errors, and the exit code.
        #[arg(long, short)]
        quiet: bool,
        /// Start anew a file whose unfinished upload no longer matches it (it changed).
        #[arg(long)]
        restart: bool,
    },
    /// List your files.
    Ls,
    /// Download a file and check it against the checksum recorded at upload.
    Download {
        id: String,
        /// Where to write it (default: its name, here).
        #[arg(short, long)]
        output: Option<PathBuf>,
        #[arg(long, short)]
        quiet: bool,
    },
    /// Delete a file.
    Rm { id: String },
}

/// How a command ended, as an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outcome {
    Done = 0,
    Failed = 1,
    Usage = 2,
    TokenRefused = 3,
    Refused = 4,
}

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| format!("not a size: {text}"))?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        _ => return Err(format!("not a size: {text} (write 64MiB, 1GiB…)")),
    };
    number
        .checked_mul(factor)
        .ok_or_else(|| format!("too large: {text}"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("haul: {error}");
            return ExitCode::from(Outcome::Usage as u8);
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = run(cli.command) => outcome,
            _ = tokio::signal::ctrl_c() => {
                eprintln!("\nhaul: interrupted. Run the same command again to resume.");
                return ExitCode::from(130);
            }
        }
        .map_or_else(
            |error| {
                eprintln!("haul: {error:#}");
                ExitCode::from(Outcome::Usage as u8)
            },
            |outcome| ExitCode::from(outcome as u8),
        )
    });
    // Blocking reads still running (an interrupted hash) are not waited for.
    runtime.shutdown_background();
    outcome
}

async fn run(command: Command) -> anyhow::Result<Outcome> {
    if let Command::Login { url } = command {
        return login(&url).await;
    }
    let Some(config) = state::load_config()? else {
        eprintln!(
            "haul: not logged in. Make a token in Account > API tokens, then run `haul login URL`."
        );
        return Ok(Outcome::Usage);
    };
    let api = Api::new(&config.url, &config.token)?;
    let outcome = match command {
        Command::Login { .. } => Outcome::Done,
        Command::Upload {
            paths,
            parallel,
            part_size,
            quiet,
            restart,
        } => {
            let options = transfer_cmd::Options {
                parallel,
                part_size,
                quiet,
                restart,
                server: config.url.clone(),
            };
            transfer_cmd::upload(&api, &paths, &options).await?
        }
        Command::Ls => transfer_cmd::list(&api).await,
        Command::Download { id, output, quiet } => {
            transfer_cmd::download(&api, &id, output, quiet).await?
        }
        Command::Rm { id } => transfer_cmd::remove(&api, &id).await,
    };
    Ok(outcome)
}

/// Reads a token from standard input, checks it against the server, and keeps both.
async fn login(url: &str) -> anyhow::Result<Outcome> {
    let url = url.trim().trim_end_matches('/').to_owned();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        eprintln!(
            "haul: give the server's address with its scheme, such as https://haul.example.com"
        );
        return Ok(Outcome::Usage);
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        eprintln!("Paste an API token (Account > API tokens on {url}), then Enter:");
    }
    let mut token = String::new();
    std::io::stdin().lock().read_line(&mut token)?;
    let token = token.trim().to_owned();
    if token.is_empty() {
        eprintln!("haul: no token given.");
        return Ok(Outcome::Usage);
    }
    let api = Api::new(&url, &token)?;
    if let Err(error) = api.list(None).await {
        eprintln!("haul: {}", error.words());
        let refused = api.token_refused.borrow().is_some();
        return Ok(if refused {
            Outcome::TokenRefused
        } else {
            Outcome::Failed
        });
    }
    let path = state::save_config(&state::Config { url, token })?;
    eprintln!(
        "Logged in; the token is kept in {} (readable by you only).",
        path.display()
    );
    Ok(Outcome::Done)
}
