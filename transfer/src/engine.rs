//! One file's upload, from the parts S3 holds to verified completion, generic over the
//! `Platform` it runs on: one task hashes ahead and signs in batches (`ahead`), up to
//! `parts_in_flight` senders PUT what is ready; each part is retried with backoff, signed again
//! before or after its URL expires, re-read when S3 says it arrived changed; completion is
//! retried through outages and lost answers; the parts S3 already holds are never sent again
//! (after checking, on a resume, that they are this file's). Everything here is single-threaded
//! (`Rc`, `RefCell`): the browser has one thread, and the command line runs it on one.

use std::{
    cell::RefCell,
    collections::{HashMap, VecDeque},
    future::Future,
    rc::Rc,
};

use futures::{
    channel::{mpsc, oneshot},
    StreamExt,
};

use super::{
    ahead::{Ahead, Step},
    plan::Plan,
    progress::Sent,
    retry::{
        classify, refusal_words, resend_missing, unsupported_failure, Answer, Next, Policy, Tries,
    },
    stop::Stop,
    wire::{PartDigest, SignedPart, UploadedPart},
};

/// Connections to S3 at once, across every file being sent (browsers allow six per host).
pub const MAX_CONNECTIONS: usize = 6;

/// What the engine needs from where it runs.
pub trait Platform {
    /// An upload's id on the server.
    type Id: Copy;
    /// A part's bytes as the platform reads them (a `Blob` slice; a range of a file).
    type Part;
    /// A request in flight, which a stop aborts.
    type Request: Abort;
    /// What completion answers: the file as the server recorded it.
    type File;

    /// Milliseconds on a clock that only moves forward with the wall clock (URL expiry).
    fn now(&self) -> f64;
    /// A number in [0, 1), for the backoff's jitter.
    fn random(&self) -> f64;
    fn sleep(&self, ms: u32) -> impl Future<Output = ()>;
    /// Whether there seems to be a network at all (time offline burns no retries).
    fn online(&self) -> bool;

    /// Bytes `[start, end)` of the file.
    fn part(&self, start: u64, end: u64) -> Result<Self::Part, Stopped>;
    /// The part's digests, as its upload's integrity asks (none at all: `Sums::default`).
    fn digests(&self, part: &Self::Part) -> impl Future<Output = Result<Sums, String>>;
    /// PUTs `part` to `url` with `headers`, reporting bytes sent (`progress`) as they go; a
    /// request in flight is tracked in `stop`. Answers the status (0: no answer, a network
    /// error, an abort or a stall) and, for a failure, the answer's body.
    fn put(
        &self,
        url: &str,
        headers: &[(String, String)],
        part: &Self::Part,
        stop: &StopSwitch<Self::Request>,
        progress: impl Fn(u64) + 'static,
    ) -> impl Future<Output = (u16, String)>;

    fn sign_parts(
        &self,
        id: Self::Id,
        parts: Vec<PartDigest>,
    ) -> impl Future<Output = Result<Vec<SignedPart>, CallError>>;
    fn uploaded_parts(
        &self,
        id: Self::Id,
    ) -> impl Future<Output = Result<Vec<UploadedPart>, CallError>>;
    fn complete(&self, id: Self::Id) -> impl Future<Output = Result<Self::File, CallError>>;
    fn abort(&self, id: Self::Id) -> impl Future<Output = Result<(), CallError>>;
    /// How the upload stands on the server, when a refusal may mean it ended there.
    fn remote(&self, id: Self::Id) -> impl Future<Output = Remote>;
    /// Tells the server, in the background, that the store refused part `number` for good
    /// in these `words`.
    fn report_refusal(&self, id: Self::Id, number: u32, words: String);
    /// The upload cannot be resumed any more: forget what was kept for it.
    fn forget(&self, id: Self::Id);
}

/// A request in flight that a stop can abort.
pub trait Abort: Clone + PartialEq {
    fn abort(&self);
}

/// How a server call failed, as far as the upload is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Out of reach or busy for now (offline, 503, a completion running elsewhere): the same
    /// call may pass in a moment.
    Transient(String),
    /// Refused for good (invalid, or the upload has ended there).
    Refused(String),
    /// No such upload (deleted, or not the caller's).
    NotFound(String),
    /// Completion found parts missing from the store: send them, complete again.
    PartsMissing(String),
    /// Anything else.
    Failed(String),
}

impl CallError {
    pub fn words(&self) -> &str {
        match self {
            Self::Transient(w)
            | Self::Refused(w)
            | Self::NotFound(w)
            | Self::PartsMissing(w)
            | Self::Failed(w) => w,
        }
    }
}

/// How an upload stands on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remote {
    /// Its file is gone.
    Deleted,
    /// Cancelled: by an administrator or the system (why), or by its owner (None).
    Aborted(Option<String>),
    /// In progress, complete, or unknown (the server could not say).
    Other,
}

/// A part's digests as its upload's integrity wants them (base64): the SHA-256, and the MD5
/// where the store checks MD5s; none when the store checks nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sums {
    pub sha256: String,
    pub md5: Option<String>,
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

/// The upload being sent: its id and how its file is cut.
#[derive(Debug, Clone, Copy)]
pub struct Job<Id> {
    pub id: Id,
    pub size: u64,
    pub part_size: u64,
    pub part_count: u32,
    /// Whether parts are hashed (the store checks digests): only then can held parts be
    /// checked against the digests they were signed with.
    pub hashes: bool,
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
    /// The file is not the one this upload began with: the upload stays as it was, for the
    /// right file, and a retry starts a new upload for this one.
    NotThisFile(String),
}

/// How an upload is going, for whoever shows it.
pub trait Report {
    /// Bytes that reached S3 so far (including parts in flight).
    fn progress(&self, done: u64);
    /// Every byte is in S3; the server is checking the result.
    fn verifying(&self);
    /// Parts are being sent again: the server found them missing.
    fn sending(&self);
    /// The parts S3 held are this file's: a resume or retry need not check them again.
    fn held_checked(&self);
}

/// Counts connections to S3 across every file being sent: at most `MAX_CONNECTIONS`, or
/// the limit given.
#[derive(Clone, Default)]
pub struct Slots {
    inner: Rc<RefCell<(usize, VecDeque<oneshot::Sender<()>>)>>,
    /// 0: `MAX_CONNECTIONS`.
    limit: usize,
}

impl Slots {
    /// Slots for up to `limit` connections (a native client is not held to a browser's six).
    pub fn with_limit(limit: usize) -> Self {
        Self {
            inner: Rc::default(),
            limit: limit.max(1),
        }
    }

    fn limit(&self) -> usize {
        if self.limit == 0 {
            MAX_CONNECTIONS
        } else {
            self.limit
        }
    }

    /// Waits for a free connection; it is given back when the guard drops.
    pub async fn take(&self) -> SlotGuard {
        let waiter = {
            let limit = self.limit();
            let mut inner = self.inner.borrow_mut();
            if inner.0 < limit {
                inner.0 += 1;
                None
            } else {
                let (send, receive) = oneshot::channel();
                inner.1.push_back(send);
                Some(receive)
            }
        };
        if let Some(waiter) = waiter {
            // A dropped sender only happens with the slots themselves; go on then.
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
#[derive(Clone)]
pub struct StopSwitch<R> {
    stop: Stop,
    requests: Rc<RefCell<Vec<R>>>,
    /// Why the upload ended elsewhere (deleted, or cancelled by an administrator): nothing
    /// is left on the server to cancel or resume.
    ended: Rc<RefCell<Option<String>>>,
}

impl<R> Default for StopSwitch<R> {
    fn default() -> Self {
        Self {
            stop: Stop::default(),
            requests: Rc::default(),
            ended: Rc::default(),
        }
    }
}

impl<R: Abort> StopSwitch<R> {
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
        let requests: Vec<R> = self.requests.borrow_mut().drain(..).collect();
        for request in requests {
            request.abort();
        }
    }

    /// Paused or cancelled: nothing new starts.
    pub fn is_stopped(&self) -> bool {
        self.stop.is_stopped()
    }

    pub fn is_paused(&self) -> bool {
        self.stop.is_paused()
    }

    /// A request about to start: false (and not tracked) when the upload was stopped while
    /// the part waited (for a connection, a URL), so it is not sent.
    pub fn track(&self, request: &R) -> bool {
        if self.is_stopped() {
            return false;
        }
        self.requests.borrow_mut().push(request.clone());
        true
    }

    /// A request that has ended.
    pub fn untrack(&self, request: &R) {
        self.requests.borrow_mut().retain(|r| r != request);
    }

    /// How a stopped upload ended: paused, or cancelled.
    fn stopped(&self) -> Stopped {
        if self.is_paused() {
            Stopped::Paused
        } else {
            Stopped::Cancelled
        }
    }
}

/// How a new upload began on the server.
pub enum Begun<F, Id> {
    /// A 0-byte file: complete at once, nothing to send.
    Complete(F),
    /// An upload to send the parts of.
    Open(Job<Id>),
}

/// Begins a new upload with `start` (the server call). Not retried (a lost answer would leave
/// a second upload behind), but not tried in vain either: it waits for the network first.
pub async fn begin<P: Platform, T>(
    platform: &P,
    cancel: &StopSwitch<P::Request>,
    start: impl Future<Output = Result<T, Stopped>>,
) -> Result<T, Stopped> {
    wait_online(platform, cancel).await;
    if cancel.is_stopped() {
        return Err(cancel.stopped());
    }
    start.await
}

/// Sends the upload `job` to verified completion, sending only the parts S3 does not hold yet.
/// With `check_held`, the parts S3 holds are first hashed from this file and compared with the
/// digests they were sent with: a different file is refused, never mixed in.
pub async fn upload<P: Platform>(
    platform: &P,
    job: Job<P::Id>,
    check_held: bool,
    parts_in_flight: usize,
    slots: &Slots,
    cancel: &StopSwitch<P::Request>,
    report: Rc<dyn Report>,
) -> Result<P::File, Stopped> {
    let id = job.id;
    let upload = Upload {
        platform,
        job,
        cancel,
        slots,
        report: report.clone(),
    };
    let mut check_held = check_held;
    let mut resent = 0;
    loop {
        let result = upload.send_missing_parts(check_held, parts_in_flight).await;
        if let Some(words) = cancel.ended() {
            platform.forget(id);
            return Err(Stopped::Ended(words));
        }
        if cancel.is_paused() {
            return Err(Stopped::Paused);
        }
        if cancel.is_stopped() {
            let _ = platform.abort(id).await;
            platform.forget(id);
            return Err(Stopped::Cancelled);
        }
        if let Err(stopped) = result {
            let stopped = upload.ended_or(stopped).await;
            // An upload the server ended, or one the file no longer matches, cannot be resumed.
            if matches!(stopped, Stopped::Rejected(_) | Stopped::Ended(_)) {
                platform.forget(id);
            }
            return Err(stopped);
        }
        // What S3 held was checked once; a later round only sends.
        check_held = false;
        report.verifying();
        match upload.complete().await {
            Ok(file) => {
                platform.forget(id);
                return Ok(file);
            }
            // S3 does not hold parts whose PUTs were answered as stored (something on the way
            // answered for S3, or S3 lost them): they are sent again from S3's own list, and
            // the upload completed again; not forever.
            Err(CallError::PartsMissing(words)) => {
                resend_missing(resent, &words).map_err(Stopped::Failed)?;
                resent += 1;
                report.sending();
            }
            // Failed for good on the server (the bytes were not the file): nothing to resume.
            Err(CallError::Refused(words)) => {
                platform.forget(id);
                return Err(upload.ended_or(Stopped::Rejected(words)).await);
            }
            // Anything else leaves it kept, to try again.
            Err(other) => {
                let failed = Stopped::Failed(other.words().to_owned());
                return Err(upload.ended_or(failed).await);
            }
        }
    }
}

/// Returns once the platform is online again (at once when it is), or the upload is stopped.
async fn wait_online<P: Platform>(platform: &P, cancel: &StopSwitch<P::Request>) {
    while !platform.online() && !cancel.is_stopped() {
        platform.sleep(250).await;
    }
}

/// A server call's error for the upload: a refusal ends it (a retry starts a new one);
/// anything else may pass later.
fn ended_or_failed(error: CallError) -> Stopped {
    match error {
        CallError::Refused(words) | CallError::NotFound(words) => Stopped::Rejected(words),
        other => Stopped::Failed(other.words().to_owned()),
    }
}

/// Calls the server, again after a pause while offline, the server cannot be reached, the
/// storage is briefly unavailable or the file is busy with another request (a completion
/// running elsewhere). Offline time burns no retries.
async fn call<P, T, F, Fut>(
    platform: &P,
    cancel: &StopSwitch<P::Request>,
    mut request: F,
) -> Result<T, CallError>
where
    P: Platform,
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let policy = Policy::default();
    let mut attempt = 0;
    loop {
        wait_online(platform, cancel).await;
        let answer = request().await;
        if !matches!(answer, Err(CallError::Transient(_))) || cancel.is_stopped() {
            return answer;
        }
        if !platform.online() {
            continue;
        }
        attempt += 1;
        match policy.next(Answer::Transient, attempt, 0, false, platform.random()) {
            Next::RetryAfter(ms) => platform.sleep(ms).await,
            _ => return answer,
        }
    }
}

/// A URL ready for one part, and when it stops working (ms, the platform's clock, measured
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
    /// CORS headers, so a browser sees no answer at all.
    fn explain(&self, answer: Answer, now: f64) -> Answer {
        if answer == Answer::Network && self.expires_at <= now {
            Answer::Expired
        } else {
            answer
        }
    }

    /// S3's answer came back before this URL's expiry (on this clock, counted from before it
    /// was asked for, so never later than the real one): if S3 called it expired, its clock
    /// runs ahead of the server's, and no new URL will do better. An answer that came later
    /// proves nothing: the request may have been held on the way.
    fn answered_early(&self, answered_at: f64) -> bool {
        answered_at < self.expires_at
    }
}

/// One file's upload in progress.
struct Upload<'a, P: Platform> {
    platform: &'a P,
    job: Job<P::Id>,
    cancel: &'a StopSwitch<P::Request>,
    slots: &'a Slots,
    report: Rc<dyn Report>,
}

impl<P: Platform> Upload<'_, P> {
    fn part(&self, number: u32) -> Result<(P::Part, u64), Stopped> {
        let (start, end) = Plan {
            part_size: self.job.part_size,
            part_count: self.job.part_count,
        }
        .range(self.job.size, number);
        Ok((self.platform.part(start, end)?, end - start))
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
    /// its owner cancelled elsewhere can start anew.
    async fn ended_or(&self, error: Stopped) -> Stopped {
        if !matches!(error, Stopped::Failed(_) | Stopped::Rejected(_)) {
            return error;
        }
        match self.platform.remote(self.job.id).await {
            Remote::Deleted => Stopped::Ended("This file was deleted.".to_owned()),
            Remote::Aborted(Some(why)) => Stopped::Ended(why),
            Remote::Aborted(None) => {
                Stopped::Rejected("This upload was cancelled in another tab or window.".to_owned())
            }
            Remote::Other => error,
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
        let asked_at = self.platform.now();
        let id = self.job.id;
        let signed = call(self.platform, self.cancel, || {
            self.platform.sign_parts(id, parts.clone())
        })
        .await
        .map_err(ended_or_failed)?;
        Ok(signed
            .into_iter()
            .filter_map(|part| {
                let sums = digests.get(&part.part_number)?.clone();
                Some(Ready::new(part, sums, asked_at))
            })
            .collect())
    }

    async fn complete(&self) -> Result<P::File, CallError> {
        let id = self.job.id;
        call(self.platform, self.cancel, || self.platform.complete(id)).await
    }

    /// Sends what S3 does not hold yet (it is the truth: parts it holds are not sent again),
    /// after checking, with `check_held`, that the parts it holds are this file's. A file
    /// that is not this upload's leaves the upload as it was, for the right file.
    async fn send_missing_parts(
        &self,
        check_held: bool,
        parts_in_flight: usize,
    ) -> Result<(), Stopped> {
        let id = self.job.id;
        let held = match call(self.platform, self.cancel, || {
            self.platform.uploaded_parts(id)
        })
        .await
        {
            Ok(held) => held,
            // Ended on the server: completed by an earlier call whose answer never came back,
            // or failed, or cancelled elsewhere. There is nothing to send, and completion
            // answers an ended file as it is: complete, or why it ended.
            Err(CallError::Refused(_)) => return Ok(()),
            Err(error) => return Err(ended_or_failed(error)),
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
        let todo: Vec<u32> = (1..=self.job.part_count)
            .filter(|&n| !sent.borrow().contains(n))
            .collect();
        self.report.progress(sent.borrow().total());
        let in_flight = parts_in_flight.clamp(1, self.slots.limit());
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
            None if self.cancel.is_stopped() => Err(self.cancel.stopped()),
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
                Step::Hash(number) => match self.part(number) {
                    Ok((part, _)) => self
                        .platform
                        .digests(&part)
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
        if !self.job.hashes {
            return Ok(());
        }
        for part in held {
            if self.cancel.is_stopped() {
                return Err(self.cancel.stopped());
            }
            let (bytes, _) = self.part(part.part_number)?;
            let digest = self
                .platform
                .digests(&bytes)
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
        let (part, size) = self.part(number)?;
        let mut ready = first;
        let mut tries = Tries::default();
        loop {
            if self.cancel.is_stopped() {
                return Err(self.cancel.stopped());
            }
            wait_online(self.platform, self.cancel).await;
            let (answer, words) = self.put_part(&mut ready, &part, sent).await?;
            if answer == Answer::Stored {
                return Ok(size);
            }
            sent.borrow_mut().set(number, 0);
            if self.cancel.is_stopped() {
                return Err(self.cancel.stopped());
            }
            // Lost while offline: not the URL's fault nor the part's; wait, then go on.
            if answer == Answer::Network && !self.platform.online() {
                continue;
            }
            let now = self.platform.now();
            let answer = ready.explain(answer, now);
            tries.count(answer, ready.answered_early(now));
            let next = policy.next(
                answer,
                tries.attempt,
                tries.resigns,
                tries.hopeless(),
                self.platform.random(),
            );
            match next {
                Next::RetryAfter(ms) => self.platform.sleep(ms).await,
                Next::Resign => {
                    if answer == Answer::Forbidden {
                        tries.resigns += 1;
                    }
                    ready = self.resign(&ready).await?;
                }
                Next::Rehash => {
                    let again = self
                        .platform
                        .digests(&part)
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
        part: &P::Part,
        sent: &Rc<RefCell<Sent>>,
    ) -> Result<(Answer, String), Stopped> {
        let _slot = self.slots.take().await;
        // Paused or cancelled while waiting for a connection: the connection goes to others.
        if self.cancel.is_stopped() {
            return Err(self.cancel.stopped());
        }
        if ready.stale(self.platform.now()) {
            *ready = self.resign(ready).await?;
        }
        let number = ready.number;
        let (sent, report) = (sent.clone(), self.report.clone());
        let (status, text) = self
            .platform
            .put(
                &ready.url,
                &ready.headers,
                part,
                self.cancel,
                move |loaded| {
                    sent.borrow_mut().set(number, loaded);
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
                self.platform
                    .report_refusal(self.job.id, number, words.to_owned());
                self.platform.forget(self.job.id);
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
