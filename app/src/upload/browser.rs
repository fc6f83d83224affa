//! The browser side of uploads: XMLHttpRequest (the only browser API with upload progress),
//! `File.slice` (so memory stays flat whatever the size: the browser streams each slice from
//! disk), timers. The decisions come from `plan`, `retry` and `progress`.

use std::{
    cell::{Cell, RefCell},
    collections::{HashMap, VecDeque},
    rc::Rc,
};

use futures::{channel::oneshot, StreamExt};
use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{Blob, File, ProgressEvent, XmlHttpRequest};

use super::{
    plan::Plan,
    resume::Saved,
    retry::{Next, Policy},
};
use crate::{
    api::upload::{abort_upload, complete_upload, sign_parts, start_upload, uploaded_parts},
    error::AppError,
    model::{FileStatus, FileView},
};

/// Browsers open at most 6 connections per origin over HTTP/1.1; more would only queue.
pub const MAX_CONNECTIONS: usize = 6;

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

/// Stops a file's upload: requests in flight are aborted and no new ones start. A pause
/// stops the same way but keeps the upload on the server, to be resumed.
#[derive(Clone, Default)]
pub struct Cancel {
    cancelled: Rc<Cell<bool>>,
    paused: Rc<Cell<bool>>,
    requests: Rc<RefCell<Vec<XmlHttpRequest>>>,
}

impl Cancel {
    pub fn cancel(&self) {
        self.cancelled.set(true);
        for request in self.requests.borrow_mut().drain(..) {
            let _ = request.abort();
        }
    }

    pub fn pause(&self) {
        self.paused.set(true);
        self.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.get()
    }

    pub fn is_paused(&self) -> bool {
        self.paused.get()
    }
}

/// What `upload` ends with when it did not finish.
pub const PAUSED: &str = "Paused";
pub const CANCELLED: &str = "Cancelled";

/// The unfinished uploads this browser remembers (localStorage), for resuming after a reload.
pub mod remembered {
    use crate::upload::resume::{self, Saved};

    const KEY: &str = "haul.unfinished-uploads";

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    pub fn load() -> Vec<Saved> {
        storage()
            .and_then(|s| s.get_item(KEY).ok().flatten())
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default()
    }

    fn store(saved: &[Saved]) {
        if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(saved)) {
            // Storage full or disabled: the upload still works, it just cannot resume.
            let _ = storage.set_item(KEY, &text);
        }
    }

    pub fn remember(entry: Saved) {
        store(&resume::remember(load(), entry));
    }

    pub fn forget(file_id: &str) {
        store(&resume::forget(load(), file_id));
    }
}

/// PUTs `body` to `url`, reporting bytes sent as they go. Returns the HTTP status, 0 for a
/// network error or an abort.
async fn put(url: &str, body: &Blob, cancel: &Cancel, on_progress: impl Fn(f64) + 'static) -> u16 {
    let Ok(request) = XmlHttpRequest::new() else {
        return 0;
    };
    if request.open("PUT", url).is_err() {
        return 0;
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
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        on_progress(event.loaded())
    });
    if let Ok(upload) = request.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    request.set_onloadend(Some(finish.as_ref().unchecked_ref()));
    cancel.requests.borrow_mut().push(request.clone());
    let sent = request.send_with_opt_blob(Some(body));
    if sent.is_ok() {
        let _ = finished.await;
    }
    cancel.requests.borrow_mut().retain(|r| r != &request);
    // Keep the callbacks alive until the request is over.
    drop((finish, progress));
    if sent.is_ok() {
        request.status().unwrap_or(0)
    } else {
        0
    }
}

/// Resolves after `ms` milliseconds.
async fn sleep(ms: u32) {
    let (send, receive) = oneshot::channel::<()>();
    let callback = Closure::once(move || {
        let _ = send.send(());
    });
    if let Some(window) = web_sys::window() {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(
            callback.as_ref().unchecked_ref(),
            ms as i32,
        );
    }
    let _ = receive.await;
    drop(callback);
}

/// Seconds since an arbitrary origin, for speed measurements.
pub fn now() -> f64 {
    js_sys::Date::now() / 1000.0
}

/// How an upload is going, for the queue's row.
pub trait Report {
    /// The upload exists on the server (it can be paused, resumed, cancelled there).
    fn started(&self, saved: &Saved);
    /// Bytes that reached S3 so far (including parts in flight).
    fn progress(&self, done: u64);
    /// Every byte is in S3; the server is checking the result.
    fn verifying(&self);
}

/// Uploads `file` from start to verified completion; with `resume`, continues an upload the
/// server already has, sending only the parts S3 does not hold yet.
pub async fn upload(
    file: &File,
    resume: Option<Saved>,
    parts_in_flight: usize,
    slots: &Slots,
    cancel: &Cancel,
    report: Rc<dyn Report>,
) -> Result<FileView, String> {
    let saved = match resume {
        Some(saved) => saved,
        None => {
            let started = start_upload(file.name(), file.size() as u64, file.type_())
                .await
                .map_err(|e| message(&e))?;
            // A 0-byte file is complete at once: there is nothing to send.
            if started.file.status == FileStatus::Complete {
                return Ok(started.file);
            }
            let saved = Saved {
                file_id: started.file.id.clone(),
                name: file.name(),
                size: file.size() as u64,
                last_modified: file.last_modified(),
                part_size: started.part_size,
                part_count: started.part_count,
            };
            remembered::remember(saved.clone());
            saved
        }
    };
    report.started(&saved);
    let file_id = saved.file_id.clone();
    let result = send_parts(file, &saved, parts_in_flight, slots, cancel, report.clone()).await;
    if cancel.is_paused() {
        return Err(PAUSED.into());
    }
    if cancel.is_cancelled() {
        let _ = abort_upload(file_id.clone()).await;
        remembered::forget(&file_id);
        return Err(CANCELLED.into());
    }
    result?;
    report.verifying();
    let verified = complete(&file_id, cancel).await;
    // Complete, or failed for good on the server (the bytes were not the file): nothing to
    // resume either way. Anything else leaves it remembered, to try again.
    if matches!(verified, Ok(_) | Err(AppError::Invalid(_))) {
        remembered::forget(&file_id);
    }
    verified.map_err(|e| message(&e))
}

/// Asks the server to assemble and verify the file, again after a pause when the storage or
/// the server is briefly unavailable: the parts are safe in S3 and completing is idempotent.
async fn complete(file_id: &str, cancel: &Cancel) -> Result<FileView, AppError> {
    let policy = Policy::default();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let answer = complete_upload(file_id.to_owned()).await;
        let transient = matches!(
            answer,
            Err(AppError::Unavailable(_) | AppError::Unreachable(_))
        );
        if !transient || cancel.is_cancelled() {
            return answer;
        }
        match policy.next(503, attempt, 0, js_sys::Math::random()) {
            Next::RetryAfter(ms) => sleep(ms).await,
            Next::Resign | Next::Fail => return answer,
        }
    }
}

fn message(error: &AppError) -> String {
    match error {
        AppError::Invalid(fields) => fields
            .iter()
            .map(|f| f.message.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// Parts in parallel; each part's bytes count towards progress as they leave.
async fn send_parts(
    file: &File,
    saved: &Saved,
    parts_in_flight: usize,
    slots: &Slots,
    cancel: &Cancel,
    report: Rc<dyn Report>,
) -> Result<(), String> {
    let (file_id, part_size, part_count) =
        (saved.file_id.as_str(), saved.part_size, saved.part_count);
    let size = file.size() as u64;
    // S3 is the truth: parts it already holds are not sent again.
    let held = uploaded_parts(file_id.to_owned())
        .await
        .map_err(|e| message(&e))?;
    let sent: Rc<RefCell<HashMap<u32, u64>>> = Rc::new(RefCell::new(
        held.iter().map(|p| (p.part_number, p.size)).collect(),
    ));
    let todo: Vec<u32> = (1..=part_count)
        .filter(|n| !sent.borrow().contains_key(n))
        .collect();
    report.progress(sent.borrow().values().sum());
    let urls: Rc<RefCell<HashMap<u32, String>>> = Rc::default();
    let failure: Rc<RefCell<Option<String>>> = Rc::default();

    futures::stream::iter(todo)
        .for_each_concurrent(parts_in_flight.clamp(1, MAX_CONNECTIONS), |number| {
            let (sent, urls, failure, report) =
                (sent.clone(), urls.clone(), failure.clone(), report.clone());
            async move {
                if failure.borrow().is_some() || cancel.is_cancelled() {
                    return;
                }
                let (start, end) = Plan {
                    part_size,
                    part_count,
                }
                .range(size, number);
                let Ok(slice) = file.slice_with_f64_and_f64(start as f64, end as f64) else {
                    *failure.borrow_mut() = Some("The browser could not read the file.".into());
                    return;
                };
                let url = next_url(file_id, number, part_count, &urls).await;
                let result = send_with_retries(file_id, number, url, slots, cancel, |url| {
                    let (sent, report, slice) = (sent.clone(), report.clone(), slice.clone());
                    async move {
                        put(&url, &slice, cancel, move |loaded| {
                            sent.borrow_mut().insert(number, loaded as u64);
                            report.progress(sent.borrow().values().sum());
                        })
                        .await
                    }
                })
                .await;
                match result {
                    Ok(()) => {
                        sent.borrow_mut().insert(number, end - start);
                        report.progress(sent.borrow().values().sum());
                    }
                    Err(error) => {
                        sent.borrow_mut().remove(&number);
                        failure.borrow_mut().get_or_insert(error);
                    }
                }
            }
        })
        .await;
    match failure.take() {
        Some(error) => Err(error),
        None => Ok(()),
    }
}

/// The URL for part `number`, signing the next hundred parts when it is not known yet.
async fn next_url(
    file_id: &str,
    number: u32,
    part_count: u32,
    urls: &RefCell<HashMap<u32, String>>,
) -> Option<String> {
    if let Some(url) = urls.borrow_mut().remove(&number) {
        return Some(url);
    }
    let batch: Vec<u32> = (number..=part_count.min(number + 99)).collect();
    let signed = sign_parts(file_id.to_owned(), batch).await.ok()?;
    let mut urls = urls.borrow_mut();
    for part in signed {
        urls.insert(part.part_number, part.url);
    }
    urls.remove(&number)
}

/// Sends one part until it lands, backing off on transient errors and
/// asking for a fresh URL when S3 says the old one no longer holds.
async fn send_with_retries<F, Fut>(
    file_id: &str,
    number: u32,
    first_url: Option<String>,
    slots: &Slots,
    cancel: &Cancel,
    send: F,
) -> Result<(), String>
where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = u16>,
{
    let policy = Policy::default();
    let mut url = first_url;
    let (mut attempt, mut resigns) = (0u32, 0u32);
    loop {
        if cancel.is_cancelled() {
            return Err(CANCELLED.into());
        }
        let current = match url.take() {
            Some(url) => url,
            None => resign(file_id, number).await?,
        };
        attempt += 1;
        let status = {
            let _slot = slots.take().await;
            send(current.clone()).await
        };
        if (200..300).contains(&status) {
            return Ok(());
        }
        if cancel.is_cancelled() {
            return Err(CANCELLED.into());
        }
        match policy.next(status, attempt, resigns, js_sys::Math::random()) {
            Next::RetryAfter(ms) => {
                sleep(ms).await;
                url = Some(current);
            }
            Next::Resign => resigns += 1,
            Next::Fail => {
                return Err(match status {
                    0 => "The connection to the storage failed repeatedly.".to_owned(),
                    403 => "The storage refused the upload (URL expired or signature invalid)."
                        .to_owned(),
                    other => format!("The storage answered {other}."),
                })
            }
        }
    }
}

async fn resign(file_id: &str, number: u32) -> Result<String, String> {
    let signed = sign_parts(file_id.to_owned(), vec![number])
        .await
        .map_err(|e| message(&e))?;
    signed
        .into_iter()
        .next()
        .map(|part| part.url)
        .ok_or_else(|| "The server signed no URL.".to_owned())
}
