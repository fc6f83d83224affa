//! The browser side of uploads: XMLHttpRequest (the only browser API with upload progress),
//! `File.slice` (so memory stays flat whatever the size: the browser streams each slice from
//! disk), a worker for each part's digests (Web Crypto, off the main thread), timers and the
//! network's state, as the transfer core's `Platform`. The upload itself (hashing ahead,
//! signing, sending with retries, completing, resuming) is the transfer core's (`engine`,
//! shared as source with the `transfer` crate).

use std::{
    cell::{Cell, RefCell},
    collections::HashMap,
    future::Future,
    rc::Rc,
};

use futures::{
    channel::oneshot,
    future::{self, Either},
    FutureExt, TryFutureExt,
};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{Blob, File, ProgressEvent, XmlHttpRequest};

use super::engine::{self, Abort, CallError, Job, Platform, Remote, Sums};
pub use super::engine::{Slots, Stopped};
use super::resume::Saved;

use crate::{
    api::files::{find_same_file, get_file},
    api::uploads::{
        abort_upload, complete_upload, report_refusal, sign_parts, start_upload, uploaded_parts,
    },
    error::AppError,
    format::bytes,
    model::{FileId, FileStatus, FileView, Integrity, PartDigest, SignedPart, UploadedPart},
};

/// An XMLHttpRequest in flight, which a pause or cancel aborts.
#[derive(Clone, PartialEq)]
pub struct Xhr(XmlHttpRequest);

impl Abort for Xhr {
    fn abort(&self) {
        let _ = self.0.abort();
    }
}

/// The switch that stops a file's upload (`engine::StopSwitch`), over XHRs.
pub type StopSwitch = engine::StopSwitch<Xhr>;

/// The unfinished uploads this browser remembers (localStorage), for resuming after a reload.
pub mod remembered {
    use crate::{
        model::FileId,
        upload::resume::{self, Saved},
    };

    /// The owner's uploads under one key; a visitor's of an upload request under that
    /// request's (`…:<token>`): each page lists and resumes its own.
    fn key() -> String {
        let key = "haul.unfinished-uploads".to_owned();
        match crate::api::client::via() {
            Some(token) => key + ":" + &token,
            None => key,
        }
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    pub fn load() -> Vec<Saved> {
        storage()
            .and_then(|s| s.get_item(&key()).ok().flatten())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    fn store(saved: &[Saved]) {
        if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(saved)) {
            // Storage full or disabled: the upload still works, it just cannot resume.
            let _ = storage.set_item(&key(), &text);
        }
    }

    pub fn remember(entry: Saved) {
        store(&resume::remember(load(), entry));
    }

    pub fn forget(file_id: FileId) {
        store(&resume::forget(load(), file_id));
    }
}

/// PUTs `body` to `url` with `headers`, reporting bytes sent as they go. Returns the HTTP
/// status (0 for a network error, an abort or a stall) and the answer's text (S3's error, if
/// any). A PUT that sends nothing for `PUT_PATIENCE_MS` is aborted (see `end_or_stall`).
async fn put(
    url: &str,
    headers: &[(String, String)],
    body: &Blob,
    cancel: &StopSwitch,
    on_progress: impl Fn(u64) + 'static,
) -> (u16, String) {
    let Ok(request) = XmlHttpRequest::new() else {
        return (0, String::new());
    };
    if request.open("PUT", url).is_err() {
        return (0, String::new());
    }
    for (name, value) in headers {
        if request.set_request_header(name, value).is_err() {
            return (0, String::new());
        }
    }
    let (done, finished) = oneshot::channel::<()>();
    let done = Rc::new(RefCell::new(Some(done)));
    let finish = {
        let done = done.clone();
        Closure::<dyn FnMut()>::new(move || {
            if let Some(done) = done.borrow_mut().take() {
                let _ = done.send(());
            }
        })
    };
    let heard = Rc::new(Heard::default());
    let progress = {
        let heard = heard.clone();
        Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
            heard.at.set(js_sys::Date::now());
            heard.all_sent.set(event.loaded() >= event.total());
            on_progress(event.loaded() as u64)
        })
    };
    if let Ok(upload) = request.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    request.set_onloadend(Some(finish.as_ref().unchecked_ref()));
    // Stopped while this part waited (for a connection, a URL): it is not sent.
    let tracked = Xhr(request.clone());
    if !cancel.track(&tracked) {
        return (0, String::new());
    }
    let sent = request.send_with_opt_blob(Some(body));
    if sent.is_ok() {
        end_or_stall(&request, finished, &heard).await;
    }
    cancel.untrack(&tracked);
    // Keep the callbacks alive until the request is over.
    drop((finish, progress));
    if sent.is_err() {
        return (0, String::new());
    }
    let status = request.status().unwrap_or(0);
    let text = if (200..300).contains(&status) {
        String::new()
    } else {
        request.response_text().ok().flatten().unwrap_or_default()
    };
    (status, text)
}

/// A PUT that has sent nothing for this long is taken for stalled: a connection that hangs
/// without failing (a dead proxy, a half-open socket, a store that stopped reading) would
/// otherwise hold its part, and the file, for good. A slow link still sends something every
/// few seconds.
const PUT_PATIENCE_MS: f64 = 60_000.0;

/// Once the whole body has left the browser, the answer may take longer: a proxy that holds
/// the body before passing it on sends it over its own link meanwhile.
const ANSWER_PATIENCE_MS: f64 = 300_000.0;

/// What a PUT's progress events told: when the last came (ms, `Date.now`), and whether the
/// whole body had gone by then.
struct Heard {
    at: Cell<f64>,
    all_sent: Cell<bool>,
}

impl Default for Heard {
    fn default() -> Self {
        Self {
            at: Cell::new(js_sys::Date::now()),
            all_sent: Cell::new(false),
        }
    }
}

/// Waits until `request` ends (`finished`); a request that has been quiet for its patience
/// (`PUT_PATIENCE_MS` while sending, `ANSWER_PATIENCE_MS` once all is sent) is aborted first,
/// so it ends as a network error and is retried.
async fn end_or_stall(
    request: &XmlHttpRequest,
    mut finished: oneshot::Receiver<()>,
    heard: &Heard,
) {
    loop {
        let patience = if heard.all_sent.get() {
            ANSWER_PATIENCE_MS
        } else {
            PUT_PATIENCE_MS
        };
        let quiet_for = js_sys::Date::now() - heard.at.get();
        if quiet_for >= patience {
            // The abort ends the request at once (its loadend fires within `abort`).
            let _ = request.abort();
            let _ = finished.await;
            return;
        }
        let wait = (patience - quiet_for).ceil() as u32;
        if let Either::Left(_) = future::select(&mut finished, alarm(wait)).await {
            return;
        }
    }
}

/// Resolves after `ms` milliseconds.
async fn sleep(ms: u32) {
    let _ = alarm(ms).await;
}

/// Seconds since an arbitrary origin, for speed measurements.
pub fn now() -> f64 {
    js_sys::Date::now() / 1000.0
}

/// Whether the browser believes it has a network.
pub fn online() -> bool {
    web_sys::window().is_none_or(|w| w.navigator().on_line())
}

/// The digests of `blob` that `integrity` asks for, by a worker (`/hash-worker.js`; Web Crypto
/// for the SHA-256, `/md5.js` for the MD5): reading the slice and hashing it both happen off
/// the page's main thread (Chromium hashes on the calling thread), so the page never stalls,
/// whatever the part size. `None` reads nothing.
///
/// A worker that has not answered after `HASH_PATIENCE_MS` is taken for stuck: it is
/// replaced and the part hashed again, up to `HASH_TRIES` times. Without this, one read or
/// digest that never ends would hold the upload for good.
async fn digests(blob: &Blob, integrity: Integrity) -> Result<Sums, String> {
    if !integrity.hashes() {
        return Ok(Sums::default());
    }
    let md5 = integrity == Integrity::Md5;
    for _ in 0..HASH_TRIES {
        let answer = Box::pin(HASHER.with(|hasher| hasher.hash(blob, md5)));
        match future::select(answer, alarm(HASH_PATIENCE_MS)).await {
            Either::Left((answer, _)) => {
                HASHER.with(Hasher::answered);
                return answer;
            }
            Either::Right(_) => HASHER.with(Hasher::replace),
        }
    }
    Err("The browser stopped answering while it checksummed the file.".to_owned())
}

/// Reading and hashing a part takes well under a second here, a few seconds from a slow disk.
const HASH_PATIENCE_MS: u32 = 60_000;
const HASH_TRIES: u32 = 3;

/// Resolves after `ms` milliseconds; it may be dropped before then (its callback frees itself
/// when the timer fires).
fn alarm(ms: u32) -> oneshot::Receiver<()> {
    let (send, receive) = oneshot::channel::<()>();
    let callback = Closure::once_into_js(move || {
        let _ = send.send(());
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.unchecked_ref(),
            ms as i32,
        );
    }
    receive
}

const NO_CRYPTO: &str = "This browser cannot checksum the file: Web Crypto needs the page \
                         to be served over HTTPS.";

thread_local! {
    static HASHER: Hasher = Hasher::default();
}

/// Where a hash request's answer goes: the digests, or why there are none.
type DigestReply = oneshot::Sender<Result<Sums, String>>;

/// A hashing worker that has had nothing to hash for this long is stopped: it holds the last
/// part it read (its buffer) and the garbage of every part before, for as long as it lives.
/// The next hash starts another, in a few milliseconds. During an upload the worker is busy
/// every part; on a slow link it may rest between parts, and is then stopped and restarted.
const HASHER_IDLE_MS: f64 = 20_000.0;

/// Parts one hashing worker hashes before a fresh one takes over. Each part leaves garbage in
/// the worker (Chromium's objects for each chunk of the slice's stream, about 120 KB a part)
/// that its collector takes only every 20 to 30 seconds: 20 to 50 MiB piled up during a large
/// upload. The end of a worker frees all of it at once; a new one starts in milliseconds.
const PARTS_PER_WORKER: u32 = 32;

/// The page's side of the hashing worker: one worker for the tab, started on first use,
/// replaced every `PARTS_PER_WORKER` parts and stopped when idle; answers are matched to
/// requests by id.
#[derive(Default)]
struct Hasher {
    worker: RefCell<Option<web_sys::Worker>>,
    /// The worker's message and error handlers, dropped with it.
    handlers: RefCell<Option<WorkerHandlers>>,
    waiting: Rc<RefCell<HashMap<u32, DigestReply>>>,
    next_id: Cell<u32>,
    /// The worker failed: start another on the next request.
    broken: Rc<Cell<bool>>,
    /// When the last answer came (ms, `Date.now`).
    answered_at: Cell<f64>,
    /// Answers from the current worker.
    answers: Cell<u32>,
    /// A task watches for the worker going idle.
    watching: Cell<bool>,
}

/// A hash request's place among those `waiting` for the worker. A request given up on (its
/// patience ran out, or its upload stopped) leaves with it: otherwise the worker would never
/// again count as idle, nor be replaced after its share of parts.
struct Waiting {
    waiting: Rc<RefCell<HashMap<u32, DigestReply>>>,
    id: u32,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.waiting.borrow_mut().remove(&self.id);
    }
}

type WorkerHandlers = (
    Closure<dyn FnMut(web_sys::MessageEvent)>,
    Closure<dyn FnMut()>,
);

/// Stops the hashing worker once it has been idle for `HASHER_IDLE_MS`; ends then.
async fn stop_when_idle() {
    let mut wait = HASHER_IDLE_MS;
    loop {
        let _ = alarm(wait.ceil() as u32).await;
        match HASHER.with(Hasher::stop_if_idle) {
            Some(left) => wait = left,
            None => break,
        }
    }
    HASHER.with(|hasher| hasher.watching.set(false));
}

impl Hasher {
    fn hash(
        &self,
        blob: &Blob,
        md5: bool,
    ) -> impl std::future::Future<Output = Result<Sums, String>> {
        let (send, receive) = oneshot::channel();
        let sent = self.worker().and_then(|worker| {
            let id = self.next_id.get().wrapping_add(1);
            self.next_id.set(id);
            let message = js_sys::Object::new();
            js_sys::Reflect::set(&message, &"id".into(), &id.into()).ok()?;
            js_sys::Reflect::set(&message, &"blob".into(), blob).ok()?;
            js_sys::Reflect::set(&message, &"md5".into(), &md5.into()).ok()?;
            self.waiting.borrow_mut().insert(id, send);
            let place = Waiting {
                waiting: self.waiting.clone(),
                id,
            };
            worker.post_message(&message).ok()?;
            Some(place)
        });
        async move {
            let _place = sent.ok_or_else(|| NO_CRYPTO.to_owned())?;
            receive
                .await
                .unwrap_or_else(|_| Err("The hashing worker stopped.".to_owned()))
        }
    }

    /// The next request starts a new worker; this one is stopped then. Its unanswered
    /// requests stay unanswered: each is asked again when its patience runs out.
    fn replace(&self) {
        self.broken.set(true);
    }

    /// An answer came: a worker that has hashed its share of parts is stopped (the next
    /// request starts another); otherwise it is idle from now unless asked again, and is
    /// watched.
    fn answered(&self) {
        self.answered_at.set(js_sys::Date::now());
        self.answers.set(self.answers.get() + 1);
        if self.answers.get() >= PARTS_PER_WORKER && self.waiting.borrow().is_empty() {
            self.stop();
            return;
        }
        if !self.watching.replace(true) {
            leptos::task::spawn_local(stop_when_idle());
        }
    }

    /// Stops the worker if nothing has been asked of it for `HASHER_IDLE_MS`; otherwise
    /// answers how long until it may have been.
    fn stop_if_idle(&self) -> Option<f64> {
        if !self.waiting.borrow().is_empty() {
            return Some(HASHER_IDLE_MS);
        }
        let idle_for = js_sys::Date::now() - self.answered_at.get();
        if idle_for < HASHER_IDLE_MS {
            return Some(HASHER_IDLE_MS - idle_for);
        }
        self.stop();
        None
    }

    fn stop(&self) {
        if let Some(worker) = self.worker.borrow_mut().take() {
            worker.set_onmessage(None);
            worker.set_onerror(None);
            worker.terminate();
        }
        self.handlers.borrow_mut().take();
        self.answers.set(0);
    }

    fn worker(&self) -> Option<web_sys::Worker> {
        if self.broken.replace(false) {
            self.stop();
        }
        if let Some(worker) = self.worker.borrow().as_ref() {
            return Some(worker.clone());
        }
        let worker = web_sys::Worker::new("/hash-worker.js").ok()?;
        let waiting = self.waiting.clone();
        let on_message = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(
            move |event: web_sys::MessageEvent| {
                let data = event.data();
                let field = |name: &str| js_sys::Reflect::get(&data, &name.into()).ok();
                let Some(id) = field("id").and_then(|id| id.as_f64()) else {
                    return;
                };
                let answer = match field("sha256").and_then(|s| s.as_string()) {
                    Some(sha256) => Ok(Sums {
                        sha256,
                        md5: field("md5").and_then(|m| m.as_string()),
                    }),
                    None if field("error").and_then(|e| e.as_string()).as_deref()
                        == Some("read") =>
                    {
                        Err(
                            "The browser could not read the file: was it moved or changed?"
                                .to_owned(),
                        )
                    }
                    None => Err(NO_CRYPTO.to_owned()),
                };
                if let Some(send) = waiting.borrow_mut().remove(&(id as u32)) {
                    let _ = send.send(answer);
                }
            },
        );
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        // A worker that cannot load or run fails what waits on it, instead of leaving it
        // waiting; the next request starts a new one.
        let (waiting, slot) = (self.waiting.clone(), self.broken.clone());
        let on_error = Closure::<dyn FnMut()>::new(move || {
            slot.set(true);
            for (_, send) in waiting.borrow_mut().drain() {
                let _ = send.send(Err(
                    "The browser could not start hashing the file.".to_owned()
                ));
            }
        });
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        *self.handlers.borrow_mut() = Some((on_message, on_error));
        *self.worker.borrow_mut() = Some(worker.clone());
        Some(worker)
    }
}

/// How an upload is going, for the queue's row: the core's reports, and when it exists on
/// the server (it can be paused, resumed, cancelled there).
pub trait Report: engine::Report {
    fn started(&self, saved: &Saved);
}

/// Where an upload starts: a new upload under this name, or one the server already has.
pub enum Start {
    New(String),
    Resume(Saved),
}

/// Uploads `file` from start to verified completion, as a new upload under the name given or
/// (`Start::Resume`) continuing an upload the server already has, sending only the parts S3
/// does not hold yet. With `check_held`, the parts S3 holds are first hashed from this file
/// and compared with the digests they were sent with: a different file of the same name and
/// size is refused, never mixed in.
pub async fn upload(
    file: &File,
    start: Start,
    check_held: bool,
    parts_in_flight: usize,
    slots: &Slots,
    cancel: &StopSwitch,
    report: Rc<dyn Report>,
) -> Result<FileView, Stopped> {
    let mut web = Web {
        file,
        integrity: Integrity::default(),
    };
    let saved = match start {
        Start::Resume(saved) => saved,
        Start::New(name) => match engine::begin(&web, cancel, begin(file, &name)).await? {
            Begun::Complete(file) => return Ok(file),
            Begun::Open(saved) => saved,
        },
    };
    report.started(&saved);
    web.integrity = saved.integrity;
    let job = Job {
        id: saved.file_id,
        size: file.size() as u64,
        part_size: saved.part_size,
        part_count: saved.part_count,
        hashes: saved.integrity.hashes(),
    };
    engine::upload(
        &web,
        job,
        check_held,
        parts_in_flight,
        slots,
        cancel,
        report,
    )
    .await
}

/// What starting an upload gave.
enum Begun {
    /// A 0-byte file: complete at once, nothing to send.
    Complete(FileView),
    /// An upload to send the parts of, remembered in this browser.
    Open(Saved),
}

/// Starts a new upload of `file` on the server (once online: `engine::begin`).
async fn begin(file: &File, name: &str) -> Result<Begun, Stopped> {
    if !second_copy_wanted(name, file.size() as u64).await {
        return Err(Stopped::Ended(
            "Not uploaded: the same file is already in your files.".to_owned(),
        ));
    }
    let started = start_upload(name.to_owned(), file.size() as u64, file.type_())
        .await
        .map_err(|error| match &error {
            AppError::Invalid(fields) if fields.iter().any(|f| f.field == "name") => {
                Stopped::NameRefused(error.to_string())
            }
            _ => Stopped::Failed(error.to_string()),
        })?;
    if started.file.status == FileStatus::Complete {
        return Ok(Begun::Complete(started.file));
    }
    let saved = Saved {
        file_id: started.file.id,
        name: file.name(),
        size: file.size() as u64,
        last_modified: file.last_modified(),
        part_size: started.part_size,
        part_count: started.part_count,
        integrity: started.file.integrity,
    };
    remembered::remember(saved.clone());
    Ok(Begun::Open(saved))
}

/// False when the user has a complete file of this name and size and does not want a second
/// copy. Asking is a courtesy: when the server cannot tell, the upload goes on.
async fn second_copy_wanted(name: &str, size: u64) -> bool {
    let Ok(Some(same)) = find_same_file(name.to_owned(), size).await else {
        return true;
    };
    let question = format!(
        "{} ({}) is already in your files. Upload a second copy?",
        same.name,
        bytes(same.size_bytes)
    );
    web_sys::window().is_some_and(|w| w.confirm_with_message(&question).unwrap_or(false))
}

/// A server function's error, as the transfer core sorts them.
fn sorted(error: AppError) -> CallError {
    let words = error.to_string();
    match error {
        AppError::Unavailable(_) | AppError::Unreachable(_) | AppError::Conflict(_) => {
            CallError::Transient(words)
        }
        AppError::Invalid(_) => CallError::Refused(words),
        AppError::NotFound => CallError::NotFound(words),
        AppError::PartsMissing { .. } => CallError::PartsMissing(words),
        _ => CallError::Failed(words),
    }
}

/// The browser as the transfer core's platform, for one file.
struct Web<'a> {
    file: &'a File,
    /// What the store checks each part against: the digests a part needs.
    integrity: Integrity,
}

impl Platform for Web<'_> {
    type Id = FileId;
    type Part = Blob;
    type Request = Xhr;
    type File = FileView;

    fn now(&self) -> f64 {
        js_sys::Date::now()
    }

    fn random(&self) -> f64 {
        js_sys::Math::random()
    }

    // The browser's own futures, passed on as they are (no wrapper of their own each: every
    // `async` layer is code in the bundle).
    fn sleep(&self, ms: u32) -> impl Future<Output = ()> {
        sleep(ms)
    }

    fn online(&self) -> bool {
        online()
    }

    fn part(&self, start: u64, end: u64) -> Result<Blob, Stopped> {
        self.file
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(|_| Stopped::Failed("The browser could not read the file.".to_owned()))
    }

    fn digests(&self, part: &Blob) -> impl Future<Output = Result<Sums, String>> {
        digests(part, self.integrity)
    }

    fn put(
        &self,
        url: &str,
        headers: &[(String, String)],
        part: &Blob,
        stop: &StopSwitch,
        progress: impl Fn(u64) + 'static,
    ) -> impl Future<Output = (u16, String)> {
        put(url, headers, part, stop, progress)
    }

    fn sign_parts(
        &self,
        id: FileId,
        parts: Vec<PartDigest>,
    ) -> impl Future<Output = Result<Vec<SignedPart>, CallError>> {
        sign_parts(id, parts).map_err(sorted)
    }

    fn uploaded_parts(
        &self,
        id: FileId,
    ) -> impl Future<Output = Result<Vec<UploadedPart>, CallError>> {
        uploaded_parts(id).map_err(sorted)
    }

    fn complete(&self, id: FileId) -> impl Future<Output = Result<FileView, CallError>> {
        complete_upload(id).map_err(sorted)
    }

    fn abort(&self, id: FileId) -> impl Future<Output = Result<(), CallError>> {
        abort_upload(id).map_err(sorted)
    }

    fn remote(&self, id: FileId) -> impl Future<Output = Remote> {
        get_file(id).map(|file| match file {
            Err(AppError::NotFound) => Remote::Deleted,
            Ok(file) if file.status == FileStatus::Aborted => Remote::Aborted(file.failure),
            _ => Remote::Other,
        })
    }

    fn report_refusal(&self, id: FileId, number: u32, words: String) {
        leptos::task::spawn_local(async move {
            let _ = report_refusal(id, number, words).await;
        });
    }

    fn forget(&self, id: FileId) {
        remembered::forget(id);
    }
}
