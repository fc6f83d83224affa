//! The command line as the transfer core's `Platform`: parts read from the file with
//! positioned reads (never more in memory than the parts being hashed and sent), SHA-256 (and
//! MD5 where the store checks MD5s) on tokio's blocking threads, PUTs streamed by reqwest with
//! their progress, tokio's timers.

use std::{
    cell::RefCell,
    fs::File,
    future::Future,
    os::unix::fs::FileExt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use base64::{engine::general_purpose::STANDARD, Engine};
use bytes::Bytes;
use sha2::{Digest, Sha256};
use transfer::{
    engine::{Abort, CallError, Platform, Remote, StopSwitch, Stopped, Sums},
    wire::{PartDigest, SignedPart, UploadedPart},
};
use uuid::Uuid;

use crate::api::{plain, Api, RemoteFile};

/// Bytes handed to the connection at a time, so progress moves as the part goes.
const CHUNK: usize = 256 * 1024;
/// A PUT that has sent nothing for this long is taken for stalled, and retried.
const PUT_PATIENCE: Duration = Duration::from_secs(60);
/// Once all is sent, the answer may take longer (a proxy passing the body on).
const ANSWER_PATIENCE: Duration = Duration::from_secs(300);

/// The command line never aborts a single request: Ctrl-C ends the process, and the next
/// run resumes.
#[derive(Clone, PartialEq)]
pub struct Request;

impl Abort for Request {
    fn abort(&self) {}
}

/// Bytes `[start, start + len)` of the file.
pub struct Range {
    start: u64,
    len: u64,
}

/// One local file being uploaded.
pub struct Native<'a> {
    pub api: &'a Api,
    pub file: Arc<File>,
    /// `sha256`, `md5` or `none`: what the store checks each part against.
    pub integrity: String,
    pub started: Instant,
    /// A store's refusal to tell the server about, once the upload has stopped.
    pub refusal: RefCell<Option<(Uuid, u32, String)>>,
    /// Parts this run sent (stored), for the summary.
    pub sent_parts: std::cell::Cell<u32>,
}

/// Reads `[start, start + len)` of `file` on a blocking thread.
pub async fn read(file: &Arc<File>, start: u64, len: u64) -> Result<Vec<u8>, String> {
    let file = file.clone();
    tokio::task::spawn_blocking(move || {
        let mut buffer = vec![0u8; usize::try_from(len).map_err(|e| e.to_string())?];
        file.read_exact_at(&mut buffer, start)
            .map_err(|e| format!("could not read the file: {e}"))?;
        Ok(buffer)
    })
    .await
    .map_err(|e| e.to_string())?
}

/// The part's digests, as `integrity` asks, on a blocking thread.
async fn sums(file: &Arc<File>, range: &Range, integrity: &str) -> Result<Sums, String> {
    if integrity == "none" {
        return Ok(Sums::default());
    }
    let bytes = read(file, range.start, range.len).await?;
    let md5 = integrity == "md5";
    tokio::task::spawn_blocking(move || Sums {
        sha256: STANDARD.encode(Sha256::digest(&bytes)),
        md5: md5.then(|| STANDARD.encode(md5::Md5::digest(&bytes))),
    })
    .await
    .map_err(|e| e.to_string())
}

impl Platform for Native<'_> {
    type Id = Uuid;
    type Part = Range;
    type Request = Request;
    type File = RemoteFile;

    fn now(&self) -> f64 {
        self.started.elapsed().as_secs_f64() * 1000.0
    }

    fn random(&self) -> f64 {
        rand::random::<f64>()
    }

    fn sleep(&self, ms: u32) -> impl Future<Output = ()> {
        tokio::time::sleep(Duration::from_millis(u64::from(ms)))
    }

    fn online(&self) -> bool {
        // No signal here: a lost network shows as failed requests, retried with backoff.
        true
    }

    fn part(&self, start: u64, end: u64) -> Result<Range, Stopped> {
        Ok(Range {
            start,
            len: end - start,
        })
    }

    fn digests(&self, part: &Range) -> impl Future<Output = Result<Sums, String>> {
        sums(&self.file, part, &self.integrity)
    }

    async fn put(
        &self,
        url: &str,
        headers: &[(String, String)],
        part: &Range,
        stop: &StopSwitch<Request>,
        progress: impl Fn(u64) + 'static,
    ) -> (u16, String) {
        if !stop.track(&Request) {
            return (0, String::new());
        }
        let answer = self.put_once(url, headers, part, progress).await;
        stop.untrack(&Request);
        if (200..300).contains(&answer.0) {
            self.sent_parts.set(self.sent_parts.get() + 1);
        }
        answer
    }

    fn sign_parts(
        &self,
        id: Uuid,
        parts: Vec<PartDigest>,
    ) -> impl Future<Output = Result<Vec<SignedPart>, CallError>> {
        self.api.sign_parts(id, parts)
    }

    fn uploaded_parts(
        &self,
        id: Uuid,
    ) -> impl Future<Output = Result<Vec<UploadedPart>, CallError>> {
        self.api.uploaded_parts(id)
    }

    fn complete(&self, id: Uuid) -> impl Future<Output = Result<RemoteFile, CallError>> {
        self.api.complete(id)
    }

    fn abort(&self, id: Uuid) -> impl Future<Output = Result<(), CallError>> {
        self.api.abort(id)
    }

    async fn remote(&self, id: Uuid) -> Remote {
        match self.api.get_file(id).await {
            Err(CallError::NotFound(_)) => Remote::Deleted,
            Ok(file) if file.status == "aborted" => Remote::Aborted(file.failure),
            _ => Remote::Other,
        }
    }

    fn report_refusal(&self, id: Uuid, number: u32, words: String) {
        *self.refusal.borrow_mut() = Some((id, number, words));
    }

    fn forget(&self, id: Uuid) {
        let _ = crate::state::forget(id);
    }
}

impl Native<'_> {
    /// One PUT of the part, streamed from memory in chunks whose count is the progress; a PUT
    /// quiet for its patience is given up (status 0), as the browser does.
    async fn put_once(
        &self,
        url: &str,
        headers: &[(String, String)],
        part: &Range,
        progress: impl Fn(u64),
    ) -> (u16, String) {
        let bytes = match read(&self.file, part.start, part.len).await {
            Ok(bytes) => Bytes::from(bytes),
            Err(_) => return (0, String::new()),
        };
        let len = bytes.len();
        let sent = Arc::new(AtomicU64::new(0));
        let chunks: Vec<Bytes> = (0..len)
            .step_by(CHUNK)
            .map(|at| bytes.slice(at..(at + CHUNK).min(len)))
            .collect();
        let counter = sent.clone();
        let stream = futures::stream::iter(chunks.into_iter().map(move |chunk| {
            counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            Ok::<_, std::io::Error>(chunk)
        }));
        let mut request = self
            .api
            .http()
            .put(url)
            .header(reqwest::header::CONTENT_LENGTH, len)
            .timeout(Duration::from_secs(3600))
            .body(reqwest::Body::wrap_stream(stream));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let response = request.send();
        tokio::pin!(response);
        let mut last = (0u64, Instant::now());
        let mut tick = tokio::time::interval(Duration::from_millis(200));
        loop {
            tokio::select! {
                answer = &mut response => {
                    progress(sent.load(Ordering::Relaxed));
                    return match answer {
                        Ok(answer) => {
                            let status = answer.status().as_u16();
                            let text = if answer.status().is_success() {
                                String::new()
                            } else {
                                answer.text().await.unwrap_or_default()
                            };
                            (status, text)
                        }
                        Err(error) => {
                            tracing_line(&plain(&error));
                            (0, String::new())
                        }
                    };
                }
                _ = tick.tick() => {
                    let now = sent.load(Ordering::Relaxed);
                    if now != last.0 {
                        last = (now, Instant::now());
                        progress(now);
                    }
                    let patience = if now as usize >= len { ANSWER_PATIENCE } else { PUT_PATIENCE };
                    if last.1.elapsed() >= patience {
                        return (0, String::new());
                    }
                }
            }
        }
    }
}

/// A failed PUT's cause, for `HAUL_DEBUG=1`.
fn tracing_line(words: &str) {
    if std::env::var_os("HAUL_DEBUG").is_some() {
        eprintln!("haul: PUT failed: {words}");
    }
}
