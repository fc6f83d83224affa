//! What `haul` keeps between runs, in its config directory (`$HAUL_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/haul`, else `~/.config/haul`), both files readable by their owner only:
//! - `config.json`: the server's URL and the API token (`haul login`);
//! - `uploads.json`: each unfinished upload (which file, which upload on the server, how it is
//!   cut), so the same command resumes it after Ctrl-C, a kill, a lost network or a reboot.

use std::{
    fs,
    io::Write,
    os::unix::fs::{OpenOptionsExt, PermissionsExt},
    path::{Path, PathBuf},
};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub fn dir() -> anyhow::Result<PathBuf> {
    if let Some(dir) = std::env::var_os("HAUL_CONFIG_DIR") {
        return Ok(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(dir).join("haul"));
    }
    let home = std::env::var_os("HOME").context("no HOME: set HAUL_CONFIG_DIR")?;
    Ok(PathBuf::from(home).join(".config").join("haul"))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    pub url: String,
    pub token: String,
}

/// Writes `text` to `path` readable by its owner only, through a temporary file (a crash
/// mid-write leaves the old file whole).
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        let _ = fs::set_permissions(parent, fs::Permissions::from_mode(0o700));
    }
    let temporary = path.with_extension("tmp");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)
        .with_context(|| format!("writing {}", temporary.display()))?;
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    fs::rename(&temporary, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

pub fn save_config(config: &Config) -> anyhow::Result<PathBuf> {
    let path = dir()?.join("config.json");
    write_private(&path, &serde_json::to_string_pretty(config)?)?;
    Ok(path)
}

pub fn load_config() -> anyhow::Result<Option<Config>> {
    let path = dir()?.join("config.json");
    match fs::read_to_string(&path) {
        Ok(text) => Ok(Some(
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?,
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// An unfinished upload of a local file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unfinished {
    pub server: String,
    /// The file's absolute path.
    pub path: PathBuf,
    pub size: u64,
    /// Modification time (ns since the epoch): a changed file is not resumed into.
    pub modified_ns: u128,
    pub file_id: Uuid,
    pub part_size: u64,
    pub part_count: u32,
    pub integrity: String,
}

fn uploads_path() -> anyhow::Result<PathBuf> {
    Ok(dir()?.join("uploads.json"))
}

pub fn unfinished() -> Vec<Unfinished> {
    uploads_path()
        .ok()
        .and_then(|path| fs::read_to_string(path).ok())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn store(entries: &[Unfinished]) -> anyhow::Result<()> {
    write_private(&uploads_path()?, &serde_json::to_string_pretty(entries)?)
}

/// Keeps `entry` (replacing one for the same file on the same server).
pub fn remember(entry: Unfinished) -> anyhow::Result<()> {
    let mut entries = unfinished();
    entries.retain(|e| !(e.server == entry.server && e.path == entry.path));
    entries.push(entry);
    store(&entries)
}

pub fn forget(file_id: Uuid) -> anyhow::Result<()> {
    let mut entries = unfinished();
    let before = entries.len();
    entries.retain(|e| e.file_id != file_id);
    if entries.len() != before {
        store(&entries)?;
    }
    Ok(())
}
