//! The browser side of uploads: XMLHttpRequest (the only browser API with upload progress),
//! `File.slice` (so memory stays flat whatever the size: the browser streams each slice from
//! disk), Web Crypto (each part's SHA-256, computed off the main thread), timers and the
//! network's state. The decisions come from `plan`, `ahead`, `retry` and `progress`.

use std::{
    cell::{Cell, RefCell},
    collections::{HashMap, VecDeque},
    rc::Rc,
};

use futures::{
    channel::{mpsc, oneshot},
    future::{self, Either},
    StreamExt,
};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{Blob, File, ProgressEvent, XmlHttpRequest};

use super::{
    ahead::{Ahead, Step},
    progress::Sent,
    queue::MAX_CONNECTIONS,
    resume::Saved,
    retry::{
        classify, refusal_words, resend_missing, unsupported_failure, Answer, Next, Policy, Tries,
    },
    stop::Stop,
};
use crate::{
    api::files::{find_same_file, get_file},
    api::uploads::{
        abort_upload, complete_upload, report_refusal, sign_parts, start_upload, uploaded_parts,
    },
    error::AppError,
    format::bytes,
    model::{FileStatus, FileView, Integrity, PartDigest, SignedPart, UploadedPart},
    plan::Plan,
};

/// Counts connections to S3 across every file in the queue.
#[derive(Clone, Default)]
pub struct Slots {
    inner: Rc<RefCell<(usize, VecDeque<oneshot::Sender<()>>)>>,
}

impl Slots {
    /// Waits for a free connection; it is given back when the guard drops.
    pub async fn take(&self) -> SlotGuard {
        let waiter = {
            let mut inner = self.inner.borrow_mut();
            if inner.0 < MAX_CONNECTIONS {
                inner.0 += 1;
                None
            } else {
                let (send, receive) = oneshot::channel();
                inner.1.push_back(send);
                Some(receive)
            }
        };
        if let Some(waiter) = waiter {
            // A dropped sender only happens with the queue itself; go on then.
            let _ = waiter.await;
        }
        SlotGuard {
            slots: self.clone(),
        }
    }
}

pub struct SlotGuard {
    slots: Slots,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut inner = self.slots.inner.borrow_mut();
        // Hand the slot straight to the next waiter that is still there.
        while let Some(next) = inner.1.pop_front() {
            if next.send(()).is_ok() {
                return;
            }
        }
        inner.0 -= 1;
    }
}

/// The switch that stops a file's upload, for a cancel or a pause: requests in flight are
/// aborted and no new ones start. A pause keeps the upload on the server, to be resumed.
#[derive(Clone, Default)]
pub struct StopSwitch {
    stop: Stop,
    requests: Rc<RefCell<Vec<XmlHttpRequest>>>,
    /// Why the upload ended elsewhere (deleted, or cancelled by an administrator): nothing
    /// is left on the server to cancel or resume.
    ended: Rc<RefCell<Option<String>>>,
}

impl StopSwitch {
    pub fn cancel(&self) {
        self.stop.cancel();
        self.abort_requests();
    }

    /// Stops at once an upload that ended elsewhere, for the reason `words`.
    pub fn end(&self, words: String) {
        self.ended.borrow_mut().get_or_insert(words);
        self.cancel();
    }

    fn ended(&self) -> Option<String> {
        self.ended.borrow().clone()
    }

    pub fn pause(&self) {
        if self.stop.pause() {
            self.abort_requests();
        }
    }

    fn abort_requests(&self) {
        for request in self.requests.borrow_mut().drain(..) {
            let _ = request.abort();
        }
    }

    /// Paused or cancelled: nothing new starts.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_stopped()
    }

    pub fn is_paused(&self) -> bool {
        self.stop.is_paused()
    }
}

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
    on_progress: impl Fn(f64) + 'static,
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
            on_progress(event.loaded())
        })
    };
    if let Ok(upload) = request.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    request.set_onloadend(Some(finish.as_ref().unchecked_ref()));
    // Stopped while this part waited (for a connection, a URL): it is not sent.
    if cancel.is_stopped() {
        return (0, String::new());
    }
    cancel.requests.borrow_mut().push(request.clone());
    let sent = request.send_with_opt_blob(Some(body));
    if sent.is_ok() {
        end_or_stall(&request, finished, &heard).await;
    }
    cancel.requests.borrow_mut().retain(|r| r != &request);
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

/// Returns once the browser is online again (at once when it is), or the upload is stopped.
/// Time spent here burns no retries.
async fn wait_online(cancel: &StopSwitch) {
    while !online() && !cancel.is_stopped() {
        sleep(250).await;
    }
}

/// A part's digests as its upload's `Integrity` wants them (base64): the SHA-256, and the MD5
/// for `Md5`; none for `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Sums {
    sha256: String,
    md5: Option<String>,
}

impl Sums {
    fn signed(&self, part_number: u32) -> PartDigest {
        PartDigest {
            part_number,
            sha256: self.sha256.clone(),
            md5: self.md5.clone(),
        }
    }
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

/// How an upload is going, for the queue's row.
pub trait Report {
    /// The upload exists on the server (it can be paused, resumed, cancelled there).
    fn started(&self, saved: &Saved);
    /// Bytes that reached S3 so far (including parts in flight).
    fn progress(&self, done: u64);
    /// Every byte is in S3; the server is checking the result.
    fn verifying(&self);
    /// Parts are being sent again: the server found them missing.
    fn sending(&self);
    /// The parts S3 held are this file's: a resume or retry need not check them again.
    fn held_checked(&self);
}

/// Where an upload starts: a new upload under this name, or one the server already has.
pub enum Start {
    New(String),
    Resume(Saved),
}

/// How an upload that did not finish ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    Paused,
    Cancelled,
    /// It can be retried from the parts S3 holds.
    Failed(String),
    /// This upload cannot go on (the server ended it, or the file changed): a retry starts
    /// a new upload.
    Rejected(String),
    /// The server refused the file's name (why): the file may go up under another.
    NameRefused(String),
    /// The upload ended elsewhere (its file was deleted, or an administrator cancelled it),
    /// for the reason given: nothing is left to retry.
    Ended(String),
    /// The picked file is not the one this upload began with: the upload stays as it was,
    /// for the right file, and a retry starts a new upload for this one.
    NotThisFile(String),
}

/// Uploads `file` from start to verified completion, as a new upload under the name given or
/// (`Start::Resume`) continuing an upload the server already has, sending only the parts S3 does not hold yet. With `check_held`, the
/// parts S3 holds are first hashed from this file and compared with the digests they were
/// sent with: a different file of the same name and size is refused, never mixed in.
pub async fn upload(
    file: &File,
    start: Start,
    check_held: bool,
    parts_in_flight: usize,
    slots: &Slots,
    cancel: &StopSwitch,
    report: Rc<dyn Report>,
) -> Result<FileView, Stopped> {
    let saved = match start {
        Start::Resume(saved) => saved,
        Start::New(name) => match begin(file, &name, cancel).await? {
            Begun::Complete(file) => return Ok(file),
            Begun::Open(saved) => saved,
        },
    };
    report.started(&saved);
    let file_id = saved.file_id;
    let upload = Upload {
        file,
        saved: &saved,
        cancel,
        slots,
        report: report.clone(),
    };
    let mut check_held = check_held;
    let mut resent = 0;
    loop {
        let result = upload.send_missing_parts(check_held, parts_in_flight).await;
        if let Some(words) = cancel.ended() {
            remembered::forget(file_id);
            return Err(Stopped::Ended(words));
        }
        if cancel.is_paused() {
            return Err(Stopped::Paused);
        }
        if cancel.is_stopped() {
            let _ = abort_upload(file_id).await;
            remembered::forget(file_id);
            return Err(Stopped::Cancelled);
        }
        if let Err(stopped) = result {
            let stopped = upload.ended_or(stopped).await;
            // An upload the server ended, or one the file no longer matches, cannot be resumed.
            if matches!(stopped, Stopped::Rejected(_) | Stopped::Ended(_)) {
                remembered::forget(file_id);
            }
            return Err(stopped);
        }
        // What S3 held was checked once; a later round only sends.
        check_held = false;
        report.verifying();
        match upload.complete().await {
            Ok(file) => {
                remembered::forget(file_id);
                return Ok(file);
            }
            // S3 does not hold parts whose PUTs were answered as stored (something on the way
            // answered for S3, or S3 lost them): they are sent again from S3's own list, and
            // the upload completed again; not forever.
            Err(missing @ AppError::PartsMissing { .. }) => {
                resend_missing(resent, &missing.to_string()).map_err(Stopped::Failed)?;
                resent += 1;
                report.sending();
            }
            // Failed for good on the server (the bytes were not the file): nothing to resume.
            Err(invalid @ AppError::Invalid(_)) => {
                remembered::forget(file_id);
                return Err(upload
                    .ended_or(Stopped::Rejected(invalid.to_string()))
                    .await);
            }
            // Anything else leaves it remembered, to try again.
            Err(other) => {
                return Err(upload.ended_or(Stopped::Failed(other.to_string())).await);
            }
        }
    }
}

/// What starting an upload gave.
enum Begun {
    /// A 0-byte file: complete at once, nothing to send.
    Complete(FileView),
    /// An upload to send the parts of, remembered in this browser.
    Open(Saved),
}

/// Starts a new upload of `file` on the server. Not retried (a lost answer would leave a
/// second upload behind), but not tried in vain either: it waits for the network.
async fn begin(file: &File, name: &str, cancel: &StopSwitch) -> Result<Begun, Stopped> {
    wait_online(cancel).await;
    if cancel.is_stopped() {
        return Err(stopped(cancel));
    }
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

/// A server call's error for the upload: a refusal ends it (a retry starts a new one);
/// anything else may pass later.
fn ended_or_failed(error: &AppError) -> Stopped {
    match error {
        AppError::Invalid(_) | AppError::NotFound => Stopped::Rejected(error.to_string()),
        other => Stopped::Failed(other.to_string()),
    }
}

/// How a stopped upload ended: paused, or cancelled.
fn stopped(cancel: &StopSwitch) -> Stopped {
    if cancel.is_paused() {
        Stopped::Paused
    } else {
        Stopped::Cancelled
    }
}

/// Calls the server, again after a pause while the browser is offline, the server cannot be
/// reached, the storage is briefly unavailable or the file is busy with another request (a
/// completion running elsewhere: 409). Offline time burns no retries.
async fn call<T, F, Fut>(cancel: &StopSwitch, mut request: F) -> Result<T, AppError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, AppError>>,
{
    let policy = Policy::default();
    let mut attempt = 0;
    loop {
        wait_online(cancel).await;
        let answer = request().await;
        let transient = matches!(
            answer,
            Err(AppError::Unavailable(_) | AppError::Unreachable(_) | AppError::Conflict(_))
        );
        if !transient || cancel.is_stopped() {
            return answer;
        }
        if !online() {
            continue;
        }
        attempt += 1;
        match policy.next(Answer::Transient, attempt, 0, false, js_sys::Math::random()) {
            Next::RetryAfter(ms) => sleep(ms).await,
            _ => return answer,
        }
    }
}

/// A URL ready for one part, and when it stops working (ms, this browser's clock, measured
/// from before the request: never later than the real expiry).
struct Ready {
    number: u32,
    sums: Sums,
    url: String,
    headers: Vec<(String, String)>,
    expires_at: f64,
    lifetime: f64,
}

impl Ready {
    fn new(part: SignedPart, sums: Sums, asked_at: f64) -> Self {
        Self {
            number: part.part_number,
            sums,
            url: part.url,
            headers: part.headers,
            expires_at: asked_at + part.expires_in_ms as f64,
            lifetime: part.lifetime_ms as f64,
        }
    }

    /// Too close to its expiry to be sent: half its lifetime must be left, so that a slow
    /// start (a proxy, a congested link) still reaches S3 in time.
    fn stale(&self, now: f64) -> bool {
        self.expires_at - now < self.lifetime / 2.0
    }

    /// What a failed PUT with this URL means: some stores answer an expired URL without
    /// CORS headers, so the page sees no answer at all.
    fn explain(&self, answer: Answer, now: f64) -> Answer {
        if answer == Answer::Network && self.expires_at <= now {
            Answer::Expired
        } else {
            answer
        }
    }

    /// S3's answer came back before this URL's expiry (on this browser's clock, counted from
    /// before it was asked for, so never later than the real one): if S3 called it expired,
    /// its clock runs ahead of the server's, and no new URL will do better. An answer that
    /// came later proves nothing: the request may have been held on the way.
    fn answered_early(&self, answered_at: f64) -> bool {
        answered_at < self.expires_at
    }
}

/// One file's upload in progress.
struct Upload<'a> {
    file: &'a File,
    saved: &'a Saved,
    cancel: &'a StopSwitch,
    slots: &'a Slots,
    report: Rc<dyn Report>,
}

impl Upload<'_> {
    fn slice(&self, number: u32) -> Result<(Blob, u64), Stopped> {
        let (start, end) = Plan {
            part_size: self.saved.part_size,
            part_count: self.saved.part_count,
        }
        .range(self.file.size() as u64, number);
        let slice = self
            .file
            .slice_with_f64_and_f64(start as f64, end as f64)
            .map_err(|_| Stopped::Failed("The browser could not read the file.".to_owned()))?;
        Ok((slice, end - start))
    }

    /// Records the first failure of the parts; one that ended the upload elsewhere stops the
    /// parts still in flight at once.
    async fn fail(&self, failure: &RefCell<Option<Stopped>>, error: Stopped) {
        if failure.borrow().is_some() {
            return;
        }
        let error = self.ended_or(error).await;
        if let Stopped::Ended(words) = &error {
            self.cancel.end(words.clone());
        }
        failure.borrow_mut().get_or_insert(error);
    }

    /// `error`, or why the upload ended on the server when it did: a refused part or URL
    /// may be the first sign that the file was deleted or the upload cancelled elsewhere. A
    /// file deleted, or an upload an administrator cancelled, ends here for good; an upload
    /// its owner cancelled in another tab can start anew (Retry).
    async fn ended_or(&self, error: Stopped) -> Stopped {
        if !matches!(error, Stopped::Failed(_) | Stopped::Rejected(_)) {
            return error;
        }
        match get_file(self.saved.file_id).await {
            Err(AppError::NotFound) => Stopped::Ended("This file was deleted.".to_owned()),
            Ok(file) if file.status == FileStatus::Aborted => match file.failure {
                Some(why) => Stopped::Ended(why),
                None => Stopped::Rejected(
                    "This upload was cancelled in another tab or window.".to_owned(),
                ),
            },
            _ => error,
        }
    }

    async fn sign(&self, parts: Vec<PartDigest>) -> Result<Vec<Ready>, Stopped> {
        let digests: HashMap<u32, Sums> = parts
            .iter()
            .map(|p| {
                let sums = Sums {
                    sha256: p.sha256.clone(),
                    md5: p.md5.clone(),
                };
                (p.part_number, sums)
            })
            .collect();
        let asked_at = js_sys::Date::now();
        let file_id = self.saved.file_id;
        let signed = call(self.cancel, || sign_parts(file_id, parts.clone()))
            .await
            .map_err(|e| ended_or_failed(&e))?;
        Ok(signed
            .into_iter()
            .filter_map(|part| {
                let sums = digests.get(&part.part_number)?.clone();
                Some(Ready::new(part, sums, asked_at))
            })
            .collect())
    }

    async fn complete(&self) -> Result<FileView, AppError> {
        let file_id = self.saved.file_id;
        call(self.cancel, || complete_upload(file_id)).await
    }

    /// Sends what S3 does not hold yet (it is the truth: parts it holds are not sent again),
    /// after checking, with `check_held`, that the parts it holds are this file's. A file
    /// that is not this upload's leaves the upload as it was, for the right file.
    async fn send_missing_parts(
        &self,
        check_held: bool,
        parts_in_flight: usize,
    ) -> Result<(), Stopped> {
        let file_id = self.saved.file_id;
        let held = match call(self.cancel, || uploaded_parts(file_id)).await {
            Ok(held) => held,
            // Ended on the server: completed by an earlier call whose answer never came back,
            // or failed, or cancelled elsewhere. There is nothing to send, and completion
            // answers an ended file as it is: complete, or why it ended.
            Err(AppError::Invalid(_)) => return Ok(()),
            Err(error) => return Err(ended_or_failed(&error)),
        };
        if check_held {
            self.check_held(&held).await?;
            self.report.held_checked();
        }
        self.send_parts(&held, parts_in_flight).await
    }

    /// Sends the parts S3 does not hold yet: one task hashes ahead and signs in batches
    /// (`ahead`), `parts_in_flight` senders send what is ready.
    async fn send_parts(
        &self,
        held: &[UploadedPart],
        parts_in_flight: usize,
    ) -> Result<(), Stopped> {
        let sent = Rc::new(RefCell::new(Sent::held(
            held.iter().map(|p| (p.part_number, p.size)),
        )));
        let todo: Vec<u32> = (1..=self.saved.part_count)
            .filter(|&n| !sent.borrow().contains(n))
            .collect();
        self.report.progress(sent.borrow().total());
        let in_flight = parts_in_flight.clamp(1, MAX_CONNECTIONS);
        let scheduler = Rc::new(RefCell::new(Ahead::new(todo, in_flight)));
        let failure: Rc<RefCell<Option<Stopped>>> = Rc::default();
        let (ready_tx, ready_rx) = mpsc::unbounded::<Ready>();
        let (wake_tx, wake_rx) = mpsc::unbounded::<()>();

        let hasher = self.hash_ahead(scheduler.clone(), ready_tx, wake_rx, failure.clone());
        let senders = ready_rx.for_each_concurrent(in_flight, |ready| {
            let (sent, failure, scheduler, wake) = (
                sent.clone(),
                failure.clone(),
                scheduler.clone(),
                wake_tx.clone(),
            );
            async move {
                scheduler.borrow_mut().taken();
                let _ = wake.unbounded_send(());
                if failure.borrow().is_some() || self.cancel.is_stopped() {
                    return;
                }
                let number = ready.number;
                match self.send_part(ready, &sent).await {
                    Ok(size) => {
                        sent.borrow_mut().set(number, size);
                        self.report.progress(sent.borrow().total());
                    }
                    Err(error) => {
                        sent.borrow_mut().remove(number);
                        self.fail(&failure, error).await;
                    }
                }
            }
        });
        futures::join!(hasher, senders);
        match failure.take() {
            Some(error) => Err(error),
            None if self.cancel.is_stopped() => Err(stopped(self.cancel)),
            None => Ok(()),
        }
    }

    /// Hashes parts in order and signs them in batches, never more than the scheduler's
    /// limit ahead of the senders. Closing `ready` ends the senders.
    async fn hash_ahead(
        &self,
        scheduler: Rc<RefCell<Ahead>>,
        ready: mpsc::UnboundedSender<Ready>,
        mut wake: mpsc::UnboundedReceiver<()>,
        failure: Rc<RefCell<Option<Stopped>>>,
    ) {
        let mut hashed: HashMap<u32, Sums> = HashMap::new();
        let integrity = self.saved.integrity;
        loop {
            if failure.borrow().is_some() || self.cancel.is_stopped() {
                break;
            }
            let step = scheduler.borrow_mut().step();
            let outcome = match step {
                Step::Done => break,
                Step::Wait => {
                    wake.next().await;
                    Ok(())
                }
                Step::Hash(number) => match self.slice(number) {
                    Ok((slice, _)) => digests(&slice, integrity)
                        .await
                        .map(|sums| {
                            hashed.insert(number, sums);
                            scheduler.borrow_mut().hashed(number);
                        })
                        .map_err(Stopped::Failed),
                    Err(error) => Err(error),
                },
                Step::Sign(numbers) => {
                    let parts = numbers
                        .iter()
                        .filter_map(|n| Some(hashed.remove(n)?.signed(*n)))
                        .collect();
                    self.sign(parts).await.map(|signed| {
                        scheduler.borrow_mut().signed(signed.len());
                        for part in signed {
                            let _ = ready.unbounded_send(part);
                        }
                    })
                }
            };
            if let Err(error) = outcome {
                self.fail(&failure, error).await;
                break;
            }
        }
        ready.close_channel();
    }

    /// The parts S3 holds must be this file's: each is hashed again and compared with the
    /// digest it was signed with.
    async fn check_held(&self, held: &[UploadedPart]) -> Result<(), Stopped> {
        // Without digests there is nothing to compare.
        if !self.saved.integrity.hashes() {
            return Ok(());
        }
        for part in held {
            if self.cancel.is_stopped() {
                return Err(stopped(self.cancel));
            }
            let (slice, _) = self.slice(part.part_number)?;
            let digest = digests(&slice, self.saved.integrity)
                .await
                .map_err(Stopped::Failed)?
                .sha256;
            if part.sha256.as_deref().is_some_and(|held| held != digest) {
                return Err(Stopped::NotThisFile(format!(
                    "This is not the file this upload began with: part {} differs. Pick the \
                     same file, or discard the unfinished upload.",
                    part.part_number
                )));
            }
        }
        Ok(())
    }

    /// Sends one part until it lands: backs off on transient errors, waits out a lost
    /// network without counting it, signs again a URL that is about to expire or has, and
    /// re-reads a part that S3 says arrived changed. Returns the part's size.
    async fn send_part(&self, first: Ready, sent: &Rc<RefCell<Sent>>) -> Result<u64, Stopped> {
        let policy = Policy::default();
        let number = first.number;
        let (slice, size) = self.slice(number)?;
        let mut ready = first;
        let mut tries = Tries::default();
        loop {
            if self.cancel.is_stopped() {
                return Err(stopped(self.cancel));
            }
            wait_online(self.cancel).await;
            let (answer, words) = self.put_part(&mut ready, &slice, sent).await?;
            if answer == Answer::Stored {
                return Ok(size);
            }
            sent.borrow_mut().set(number, 0);
            if self.cancel.is_stopped() {
                return Err(stopped(self.cancel));
            }
            // Lost while offline: not the URL's fault nor the part's; wait, then go on.
            if answer == Answer::Network && !online() {
                continue;
            }
            let now = js_sys::Date::now();
            let answer = ready.explain(answer, now);
            tries.count(answer, ready.answered_early(now));
            let next = policy.next(
                answer,
                tries.attempt,
                tries.resigns,
                tries.hopeless(),
                js_sys::Math::random(),
            );
            match next {
                Next::RetryAfter(ms) => sleep(ms).await,
                Next::Resign => {
                    if answer == Answer::Forbidden {
                        tries.resigns += 1;
                    }
                    ready = self.resign(&ready).await?;
                }
                Next::Rehash => {
                    let again = digests(&slice, self.saved.integrity)
                        .await
                        .map_err(Stopped::Failed)?;
                    if again != ready.sums {
                        // The parts already sent hold the old contents: start over.
                        return Err(Stopped::Rejected(format!(
                            "The file changed on disk while it was uploading (part {number})."
                        )));
                    }
                }
                Next::Fail => return Err(self.failed(answer, number, &tries, &words)),
            }
        }
    }

    /// One PUT of the part, on a connection slot, with a URL that is not about to expire;
    /// its progress goes into `sent`. Answers what came back.
    async fn put_part(
        &self,
        ready: &mut Ready,
        slice: &Blob,
        sent: &Rc<RefCell<Sent>>,
    ) -> Result<(Answer, String), Stopped> {
        let _slot = self.slots.take().await;
        // Paused or cancelled while waiting for a connection: the connection goes to others.
        if self.cancel.is_stopped() {
            return Err(stopped(self.cancel));
        }
        if ready.stale(js_sys::Date::now()) {
            *ready = self.resign(ready).await?;
        }
        let number = ready.number;
        let (sent, report) = (sent.clone(), self.report.clone());
        let (status, text) = put(
            &ready.url,
            &ready.headers,
            slice,
            self.cancel,
            move |loaded| {
                sent.borrow_mut().set(number, loaded as u64);
                report.progress(sent.borrow().total());
            },
        )
        .await;
        let words = refusal_words(status, &text);
        Ok((classify(status, &text), words))
    }

    /// Part `number` failed for good after `answer` (the store's `words`). A store that does
    /// not take the PUT as the server signs it ends the upload: its words are the upload's
    /// failure at once (before anything the server answers once it is told can overtake
    /// them), and the server is told in the background, which fails the file with the same
    /// words and logs them. Nothing is retried.
    fn failed(&self, answer: Answer, number: u32, tries: &Tries, words: &str) -> Stopped {
        match answer {
            Answer::Unsupported(_) => {
                let (file_id, refusal) = (self.saved.file_id, words.to_owned());
                leptos::task::spawn_local(async move {
                    let _ = report_refusal(file_id, number, refusal).await;
                });
                remembered::forget(self.saved.file_id);
                Stopped::Rejected(unsupported_failure(number, words))
            }
            Answer::Refused(_) => {
                Stopped::Failed(format!("The storage refused part {number}: {words}."))
            }
            _ => Stopped::Failed(tries.failure(answer, number)),
        }
    }

    async fn resign(&self, ready: &Ready) -> Result<Ready, Stopped> {
        let part = ready.sums.signed(ready.number);
        self.sign(vec![part])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| Stopped::Failed("The server signed no URL.".to_owned()))
    }
}
