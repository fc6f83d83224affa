//! The commands that move or list files: `upload` (through the transfer core), `ls`,
//! `download` (checked against the recorded checksum) and `rm`.

use std::{
    cell::Cell,
    fs::File,
    io::Write,
    path::{Path, PathBuf},
    rc::Rc,
    sync::Arc,
    time::{Instant, UNIX_EPOCH},
};

use base64::{engine::general_purpose::STANDARD, Engine};
use futures::StreamExt;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};
use transfer::engine::{self, CallError, Job, Report, Slots, StopSwitch, Stopped};
use uuid::Uuid;

use crate::{
    api::{plain, Api, RemoteFile},
    native::{Native, Request},
    state::{self, Unfinished},
    Outcome,
};

pub struct Options {
    pub parallel: usize,
    pub part_size: Option<u64>,
    pub quiet: bool,
    pub restart: bool,
    pub server: String,
}

/// Files uploaded at once (each with its parts in flight, within `--parallel` in all).
const FILES_AT_ONCE: usize = 4;

/// Every regular file under `paths` (directories walked, in name order).
fn files_under(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(path: &Path, found: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let meta =
            std::fs::metadata(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .collect();
            entries.sort();
            for entry in entries {
                // A link to a directory could loop: only the directory itself is walked.
                if std::fs::symlink_metadata(&entry).is_ok_and(|m| m.file_type().is_symlink())
                    && entry.is_dir()
                {
                    continue;
                }
                walk(&entry, found)?;
            }
        } else if meta.is_file() {
            found.push(std::path::absolute(path)?);
        }
        Ok(())
    }
    let mut found = Vec::new();
    for path in paths {
        walk(path, &mut found)?;
    }
    Ok(found)
}

/// A content type from the name's extension, for the common kinds.
fn content_type(path: &Path) -> &'static str {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    match extension.as_str() {
        "txt" | "log" | "md" => "text/plain",
        "csv" => "text/csv",
        "json" => "application/json",
        "pdf" => "application/pdf",
        "zip" => "application/zip",
        "gz" | "tgz" => "application/gzip",
        "tar" => "application/x-tar",
        "zst" => "application/zstd",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "mkv" => "video/x-matroska",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        _ => "application/octet-stream",
    }
}

/// The progress bar of one file.
struct Bar(ProgressBar);

impl Report for Bar {
    fn progress(&self, done: u64) {
        self.0.set_position(done);
    }
    fn verifying(&self) {
        self.0.set_message("verifying");
    }
    fn sending(&self) {
        self.0.set_message("sending missing parts again");
    }
    fn held_checked(&self) {
        self.0.set_message("");
    }
}

pub async fn upload(api: &Api, paths: &[PathBuf], options: &Options) -> anyhow::Result<Outcome> {
    let files = files_under(paths)?;
    let bars = MultiProgress::with_draw_target(if options.quiet {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    });
    let slots = Slots::with_limit(options.parallel.max(1));
    let worst = Rc::new(Cell::new(Outcome::Done));
    futures::stream::iter(files)
        .for_each_concurrent(FILES_AT_ONCE, |path| {
            let (bars, slots, worst) = (&bars, &slots, worst.clone());
            async move {
                let outcome = match upload_one(api, &path, options, bars, slots).await {
                    Ok((file, (sent, parts))) => {
                        if !options.quiet {
                            bars.suspend(|| {
                                println!(
                                    "uploaded {}  {}  {}  {}  ({sent} of {parts} parts sent now)",
                                    path.display(),
                                    size(file.size_bytes),
                                    file.id,
                                    file.checksum.as_deref().unwrap_or("(no checksum)")
                                )
                            });
                        }
                        Outcome::Done
                    }
                    Err((outcome, words)) => {
                        bars.suspend(|| eprintln!("haul: {}: {words}", path.display()));
                        outcome
                    }
                };
                worst.set(worst.get().max(outcome));
            }
        })
        .await;
    Ok(worst.get())
}

/// Uploads one file: resumes its unfinished upload when there is one (after checking the
/// parts the storage holds are this file's), else starts one.
async fn upload_one(
    api: &Api,
    path: &Path,
    options: &Options,
    bars: &MultiProgress,
    slots: &Slots,
) -> Result<(RemoteFile, (u32, u32)), (Outcome, String)> {
    let local = |e: std::io::Error| (Outcome::Usage, e.to_string());
    let meta = std::fs::metadata(path).map_err(local)?;
    let modified_ns = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let file = Arc::new(File::open(path).map_err(local)?);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let size = meta.len();
    let stop = StopSwitch::<Request>::default();
    let mut native = Native {
        api,
        file,
        integrity: String::new(),
        started: Instant::now(),
        refusal: Default::default(),
        sent_parts: Default::default(),
    };
    let kept = state::unfinished()
        .into_iter()
        .find(|u| u.server == options.server && u.path == path);
    let (entry, check_held) = match kept {
        Some(kept) if kept.size == size && kept.modified_ns == modified_ns => (kept, true),
        Some(kept) if options.restart => {
            let _ = api.abort(kept.file_id).await;
            let _ = state::forget(kept.file_id);
            (
                begin(&native, &stop, path, &name, size, modified_ns, options).await?,
                false,
            )
        }
        Some(_) => {
            return Err((
                Outcome::Refused,
                "the file changed since its upload began (its size or modification time \
                 differ): it is not resumed. Run `haul upload --restart` on it to upload it \
                 anew."
                    .to_owned(),
            ))
        }
        None => match begin(&native, &stop, path, &name, size, modified_ns, options).await {
            Ok(entry) => (entry, false),
            Err((Outcome::Done, _)) => {
                return complete_empty(api, &name, size)
                    .await
                    .map(|file| (file, (0, 1)));
            }
            Err(other) => return Err(other),
        },
    };
    native.integrity = entry.integrity.clone();
    let bar = bars.add(ProgressBar::new(size));
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta} left {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(name.clone());
    if check_held {
        bar.set_message("checking the parts already sent");
    }
    let job = Job {
        id: entry.file_id,
        size,
        part_size: entry.part_size,
        part_count: entry.part_count,
        hashes: entry.integrity != "none",
    };
    let report = Rc::new(Bar(bar.clone()));
    let result = engine::upload(
        &native,
        job,
        check_held,
        options.parallel,
        slots,
        &stop,
        report,
    )
    .await;
    bar.finish_and_clear();
    if let Some((id, number, words)) = native.refusal.take() {
        let _ = api.report_refusal(id, number, &words).await;
    }
    let sent = (native.sent_parts.get(), entry.part_count);
    result
        .map(|file| (file, sent))
        .map_err(|stopped| sorted(api, stopped))
}

/// Starts the upload on the server and keeps it as unfinished. A 0-byte file is complete
/// at once: answered as `Outcome::Done`.
async fn begin(
    native: &Native<'_>,
    stop: &StopSwitch<Request>,
    path: &Path,
    name: &str,
    size: u64,
    modified_ns: u128,
    options: &Options,
) -> Result<Unfinished, (Outcome, String)> {
    let api = native.api;
    let started = engine::begin(native, stop, async {
        api.start_with(name, size, content_type(path), options.part_size)
            .await
            .map_err(|error| Stopped::Rejected(error.words().to_owned()))
    })
    .await
    .map_err(|stopped| sorted(api, stopped))?;
    if started.file.status == "complete" {
        return Err((Outcome::Done, String::new()));
    }
    let entry = Unfinished {
        server: options.server.clone(),
        path: path.to_owned(),
        size,
        modified_ns,
        file_id: started.file.id,
        part_size: started.part_size,
        part_count: started.part_count,
        integrity: started.file.integrity.clone(),
    };
    state::remember(entry.clone()).map_err(|e| (Outcome::Usage, format!("{e:#}")))?;
    Ok(entry)
}

/// A 0-byte file completed at its start: its record, found again by name and size.
async fn complete_empty(api: &Api, name: &str, size: u64) -> Result<RemoteFile, (Outcome, String)> {
    let page = api
        .list(None)
        .await
        .map_err(|e| (Outcome::Failed, e.words().to_owned()))?;
    page.files
        .into_iter()
        .find(|f| f.name == name && f.size_bytes == size && f.status == "complete")
        .ok_or((Outcome::Failed, "the empty file was not listed".to_owned()))
}

/// How an upload stopped, as an exit code and words.
fn sorted(api: &Api, stopped: Stopped) -> (Outcome, String) {
    if let Some(words) = api.token_refused.borrow().clone() {
        return (Outcome::TokenRefused, words);
    }
    match stopped {
        Stopped::Failed(words) => (
            Outcome::Failed,
            format!("{words} Run the same command again to resume."),
        ),
        Stopped::NotThisFile(words) => (
            Outcome::Refused,
            format!(
                "{} Run `haul upload --restart` on it to upload it anew.",
                words.replace(
                    "Pick the same file, or discard the unfinished upload.",
                    "The file changed since its upload began."
                )
            ),
        ),
        Stopped::Rejected(words) | Stopped::NameRefused(words) | Stopped::Ended(words) => {
            (Outcome::Refused, words)
        }
        Stopped::Paused | Stopped::Cancelled => (Outcome::Failed, "stopped".to_owned()),
    }
}

pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// A call's failure as an exit code, printed.
fn failed(api: &Api, error: &CallError) -> Outcome {
    eprintln!("haul: {}", error.words());
    if api.token_refused.borrow().is_some() {
        Outcome::TokenRefused
    } else if matches!(error, CallError::Transient(_)) {
        Outcome::Failed
    } else {
        Outcome::Refused
    }
}

pub async fn list(api: &Api) -> Outcome {
    let mut cursor: Option<String> = None;
    let mut out = std::io::stdout().lock();
    loop {
        let page = match api.list(cursor.as_deref()).await {
            Ok(page) => page,
            Err(error) => return failed(api, &error),
        };
        for file in &page.files {
            let _ = writeln!(
                out,
                "{}  {:>10}  {:<9}  {}  {}",
                file.id,
                size(file.size_bytes),
                file.status,
                &file.created_at[..file.created_at.len().min(19)],
                file.name
            );
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return Outcome::Done,
        }
    }
}

fn file_id(id: &str) -> Option<Uuid> {
    Uuid::parse_str(id.trim()).ok()
}

pub async fn remove(api: &Api, id: &str) -> Outcome {
    let Some(id) = file_id(id) else {
        eprintln!("haul: not a file id: {id} (see `haul ls`)");
        return Outcome::Usage;
    };
    match api.delete(id).await {
        Ok(()) => {
            eprintln!("deleted {id}");
            Outcome::Done
        }
        Err(error) => failed(api, &error),
    }
}

/// Downloads file `id` to `output` (a temporary name until it is whole and checked), checking
/// the bytes against the checksum recorded when it was uploaded: the SHA-256 of a one-part
/// file, or the composite (the SHA-256 of the parts' SHA-256s, `-N`) of a multipart one.
pub async fn download(
    api: &Api,
    id: &str,
    output: Option<PathBuf>,
    quiet: bool,
) -> anyhow::Result<Outcome> {
    let Some(id) = file_id(id) else {
        eprintln!("haul: not a file id: {id} (see `haul ls`)");
        return Ok(Outcome::Usage);
    };
    let file = match api.get_file(id).await {
        Ok(file) => file,
        Err(error) => return Ok(failed(api, &error)),
    };
    if file.status != "complete" {
        eprintln!("haul: {} is not complete ({}).", file.name, file.status);
        return Ok(Outcome::Refused);
    }
    let url = match api.download_url(id).await {
        Ok(url) => url,
        Err(error) => return Ok(failed(api, &error)),
    };
    let output = output.unwrap_or_else(|| PathBuf::from(&file.name));
    let partial = output.with_file_name(format!(
        ".{}.haul-partial",
        output
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
    ));
    let response = match api
        .http()
        .get(&url)
        .timeout(std::time::Duration::from_secs(24 * 3600))
        .send()
        .await
    {
        Ok(response) if response.status().is_success() => response,
        Ok(response) => {
            eprintln!("haul: the storage answered HTTP {}", response.status());
            return Ok(Outcome::Failed);
        }
        Err(error) => {
            eprintln!("haul: could not download: {}", plain(&error));
            return Ok(Outcome::Failed);
        }
    };
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(file.size_bytes)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "[{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let mut out = std::io::BufWriter::new(File::create(&partial)?);
    let mut check = Check::new(file.part_size.max(1));
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                eprintln!("haul: the download was cut off: {}", plain(&error));
                return Ok(Outcome::Failed);
            }
        };
        check.update(&chunk);
        out.write_all(&chunk)?;
        bar.inc(chunk.len() as u64);
    }
    out.flush()?;
    out.get_ref().sync_all()?;
    bar.finish_and_clear();
    let (bytes, full, composite) = check.finish();
    let verdict = match file.checksum.as_deref() {
        _ if bytes != file.size_bytes => {
            Err(format!("{bytes} bytes arrived of {}", file.size_bytes))
        }
        Some(recorded) if recorded == full || recorded == composite => Ok(recorded.to_owned()),
        Some(recorded) => Err(format!(
            "checksum {full} / {composite} is not the recorded {recorded}"
        )),
        None => Ok("size only: no checksum was recorded for this file".to_owned()),
    };
    match verdict {
        Ok(how) => {
            std::fs::rename(&partial, &output)?;
            if !quiet {
                println!(
                    "downloaded {} ({}), checked: {how}",
                    output.display(),
                    size(bytes)
                );
            }
            Ok(Outcome::Done)
        }
        Err(why) => {
            let _ = std::fs::remove_file(&partial);
            eprintln!(
                "haul: {} did not arrive intact ({why}); nothing was written.",
                file.name
            );
            Ok(Outcome::Refused)
        }
    }
}

/// The SHA-256 of the whole stream and of each `part_size` part, for both forms of a
/// recorded checksum.
struct Check {
    part_size: u64,
    whole: Sha256,
    part: Sha256,
    in_part: u64,
    parts: Vec<[u8; 32]>,
    bytes: u64,
}

impl Check {
    fn new(part_size: u64) -> Self {
        Self {
            part_size,
            whole: Sha256::new(),
            part: Sha256::new(),
            in_part: 0,
            parts: Vec::new(),
            bytes: 0,
        }
    }

    fn update(&mut self, mut chunk: &[u8]) {
        self.whole.update(chunk);
        self.bytes += chunk.len() as u64;
        while !chunk.is_empty() {
            let room = usize::try_from(self.part_size - self.in_part).unwrap_or(usize::MAX);
            let (now, rest) = chunk.split_at(room.min(chunk.len()));
            self.part.update(now);
            self.in_part += now.len() as u64;
            if self.in_part == self.part_size {
                self.parts
                    .push(std::mem::take(&mut self.part).finalize().into());
                self.in_part = 0;
            }
            chunk = rest;
        }
    }

    /// Bytes seen; the whole SHA-256 (base64); the composite (`<base64>-<parts>`).
    fn finish(mut self) -> (u64, String, String) {
        if self.in_part > 0 || self.parts.is_empty() {
            self.parts.push(self.part.finalize().into());
        }
        let mut of_parts = Sha256::new();
        for digest in &self.parts {
            of_parts.update(digest);
        }
        (
            self.bytes,
            STANDARD.encode(self.whole.finalize()),
            format!(
                "{}-{}",
                STANDARD.encode(of_parts.finalize()),
                self.parts.len()
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_composite_is_the_digest_of_the_parts_digests() {
        let data: Vec<u8> = (0..25u32).map(|n| n as u8).collect();
        let mut check = Check::new(10);
        for piece in data.chunks(7) {
            check.update(piece);
        }
        let (bytes, full, composite) = check.finish();
        assert_eq!(bytes, 25);
        assert_eq!(full, STANDARD.encode(Sha256::digest(&data)));
        let mut of_parts = Sha256::new();
        for part in data.chunks(10) {
            of_parts.update(Sha256::digest(part));
        }
        assert_eq!(
            composite,
            format!("{}-3", STANDARD.encode(of_parts.finalize()))
        );
    }

    #[test]
    fn sizes_read_back_in_binary_units() {
        assert_eq!(size(5), "5 B");
        assert_eq!(size(3 * 1024 * 1024), "3.0 MiB");
    }
}
