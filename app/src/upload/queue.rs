//! The upload queue as the page sees it: reactive state per file, and (in the browser) the
//! scheduler that starts files as slots free up.

use leptos::prelude::*;

use super::{progress::Meter, resume::Saved};
use crate::model::{FileId, FileView};

/// Browsers open at most 6 connections per origin over HTTP/1.1; more would only queue.
pub const MAX_CONNECTIONS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Waiting,
    Uploading,
    Verifying,
    Paused,
    Done,
    Failed,
    Cancelled,
}

impl Phase {
    pub fn label(self) -> &'static str {
        match self {
            Phase::Waiting => "Waiting",
            Phase::Uploading => "Uploading",
            Phase::Verifying => "Verifying",
            Phase::Paused => "Paused",
            Phase::Done => "Done",
            Phase::Failed => "Failed",
            Phase::Cancelled => "Cancelled",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, Phase::Uploading | Phase::Verifying)
    }
}

/// One file in the queue. Only plain data lives in signals; the browser's `File` stays in a
/// registry of the page (browser objects cannot cross threads, signals may).
#[derive(Clone)]
pub struct Item {
    pub key: usize,
    pub name: String,
    pub size: u64,
    /// The file's id on the server once its upload has started.
    pub file_id: RwSignal<Option<FileId>>,
    /// It continues an upload begun earlier (before a reload or a pause).
    pub resuming: RwSignal<bool>,
    pub phase: RwSignal<Phase>,
    pub error: RwSignal<Option<String>>,
    /// The server refused the name (`error` says why): another may be given in the row.
    pub name_refused: RwSignal<bool>,
    /// Bytes sent so far (parts in flight included): the most that was ever counted for
    /// this upload, so the figure never goes back.
    pub sent_bytes: RwSignal<u64>,
    pub speed: RwSignal<Option<f64>>,
    pub eta: RwSignal<Option<f64>>,
}

#[derive(Clone, Copy)]
pub struct Queue {
    pub items: RwSignal<Vec<Item>>,
    /// Uploads begun earlier in this browser and not finished (e.g. before a reload).
    pub unfinished: RwSignal<Vec<Saved>>,
    pub files_at_once: RwSignal<usize>,
    pub parts_per_file: RwSignal<usize>,
    /// The browser has no network: uploads wait for it, without failing.
    pub offline: RwSignal<bool>,
    /// Counts uploads completed in this tab, for lists that show files to refresh.
    pub completed: RwSignal<usize>,
    /// An unfinished upload (from My files) waiting for its file to be picked again.
    pub resume_request: RwSignal<Option<FileView>>,
    /// Why files just picked were not queued (e.g. already in the queue).
    pub notice: RwSignal<Option<String>>,
    /// The user asked to be notified (by the browser) when the queue finishes or a file
    /// fails while the tab is hidden.
    pub notify: RwSignal<bool>,
}

impl Queue {
    pub fn new() -> Self {
        let queue = Self {
            items: RwSignal::new(Vec::new()),
            unfinished: RwSignal::new(Vec::new()),
            files_at_once: RwSignal::new(2),
            parts_per_file: RwSignal::new(4),
            offline: RwSignal::new(false),
            completed: RwSignal::new(0),
            resume_request: RwSignal::new(None),
            notice: RwSignal::new(None),
            notify: RwSignal::new(false),
        };
        engine::schedule(queue);
        queue
    }

    /// Queues the files the user picked or dropped.
    pub fn add(&self, files: &web_sys::FileList) {
        engine::add(*self, files);
    }

    /// Stops a file: in flight requests are aborted and the server drops the upload.
    pub fn cancel(&self, item: &Item) {
        engine::cancel(item);
    }

    /// Stops a file but keeps what reached S3, to resume later.
    pub fn pause(&self, item: &Item) {
        engine::pause(item);
    }

    /// Drops an unfinished upload of an earlier visit: S3 discards its parts.
    pub fn discard(&self, saved: &Saved) {
        engine::discard(*self, saved);
    }

    /// Puts a paused file back in line; it goes on from the parts S3 holds.
    pub fn resume(&self, item: &Item) {
        engine::resume(item);
    }

    /// Uploads a file whose name the server refused under `name` instead.
    pub fn rename(&self, item: &Item, name: String) {
        engine::rename(item, name);
        self.retry(item);
    }

    /// Tries a failed file again: from the parts S3 holds, or from the start when the server
    /// ended its upload.
    pub fn retry(&self, item: &Item) {
        item.error.set(None);
        self.resume(item);
    }

    /// The file `file_id` was deleted in this tab: its upload, if the queue holds it, stops
    /// at once and says why.
    pub fn deleted(&self, file_id: FileId) {
        let item = self.item_for(file_id);
        if let Some(item) = item.filter(|item| item.phase.get_untracked() != Phase::Done) {
            engine::end(&item, "You deleted this file.");
        }
    }

    /// Takes the files that are done or cancelled off the list.
    pub fn clear_finished(&self) {
        self.items.update(|items| {
            items.retain(|item| {
                !matches!(item.phase.get_untracked(), Phase::Done | Phase::Cancelled)
            })
        });
    }

    /// The queue's item uploading the file `file_id`, if this tab runs it.
    pub fn item_for(&self, file_id: FileId) -> Option<Item> {
        self.items.with(|items| {
            items
                .iter()
                .find(|item| item.file_id.with(|id| *id == Some(file_id)))
                .cloned()
        })
    }
}

/// The queue as a whole: what the batch view and the tab's title show.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    /// Files in the batch (cancelled ones left out).
    pub files: usize,
    pub done: usize,
    pub failed: usize,
    /// Files waiting, uploading or verifying.
    pub running: usize,
    pub bytes: u64,
    pub sent: u64,
    /// Bytes per second of the files uploading, when each has one.
    pub speed: Option<f64>,
}

impl Totals {
    /// Sums `items` (tracked: the caller reruns as they change).
    pub fn of(items: &[Item]) -> Self {
        let mut totals = Self::default();
        for item in items {
            let phase = item.phase.get();
            if phase == Phase::Cancelled {
                continue;
            }
            totals.files += 1;
            totals.done += usize::from(phase == Phase::Done);
            totals.failed += usize::from(phase == Phase::Failed);
            totals.running += usize::from(phase.is_active() || phase == Phase::Waiting);
            totals.bytes += item.size;
            totals.sent += item.sent_bytes.get().min(item.size);
            if phase == Phase::Uploading {
                if let Some(speed) = item.speed.get() {
                    *totals.speed.get_or_insert(0.0) += speed;
                }
            }
        }
        totals
    }

    /// Seconds until the batch is sent at its speed.
    pub fn eta(&self) -> Option<f64> {
        let speed = self.speed.filter(|s| *s > 0.0)?;
        Some(self.bytes.saturating_sub(self.sent) as f64 / speed)
    }
}

impl Default for Queue {
    fn default() -> Self {
        Self::new()
    }
}

/// Shows one item's progress: bytes, and speed and time left from the meter. The figure shown
/// never goes down: a part that fails or is paused mid-way is sent again, and the count passes
/// the figure again before it moves on.
pub fn show(item: &Item, meter: &Meter, done: u64) {
    let shown = item.sent_bytes.get_untracked().max(done);
    if shown != item.sent_bytes.get_untracked() {
        item.sent_bytes.set(shown);
    }
    item.speed.set(meter.speed());
    item.eta.set(meter.eta(item.size.saturating_sub(shown)));
}

/// On the server, the queue has no engine: pages render its (empty) state, nothing uploads.
#[cfg(not(feature = "hydrate"))]
mod engine {
    use super::{Item, Queue, Saved};

    pub fn schedule(_: Queue) {}
    pub fn add(_: Queue, _: &web_sys::FileList) {}
    pub fn cancel(_: &Item) {}
    pub fn end(_: &Item, _: &str) {}
    pub fn pause(_: &Item) {}
    pub fn discard(_: Queue, _: &Saved) {}
    pub fn resume(_: &Item) {}
    pub fn rename(_: &Item, _: String) {}
}

/// In the browser: the files, their stop switches and the scheduler that starts uploads.
#[cfg(feature = "hydrate")]
mod engine {
    use std::{cell::RefCell, collections::HashMap, rc::Rc};

    use leptos::{prelude::*, task::spawn_local};
    use web_sys::{File, FileList};

    use super::{notice, show, title, Item, Phase, Queue, Totals};
    use crate::{
        model::{FileId, FileView},
        upload::{
            browser::{self, remembered, Report, Slots, Start, StopSwitch, Stopped},
            progress::{Meter, Throttle},
            resume::{self, Saved},
        },
    };

    /// A queued file's browser side: the file, its stop switch, and its server upload once
    /// there is one.
    struct Entry {
        file: File,
        cancel: StopSwitch,
        saved: Option<Saved>,
        /// The name a new upload of the file is given: the file's, or the one the user gave
        /// after the server refused it.
        name: String,
        /// The upload was picked up without this browser's record of the file (from My
        /// files): the parts S3 holds are checked against this file first.
        check_held: bool,
        /// The upload asked for from My files, which this file was picked for: when the
        /// file proves another one, the request stands for the right file.
        requested: Option<FileView>,
    }

    thread_local! {
        static ENTRIES: RefCell<HashMap<usize, Entry>> = RefCell::new(HashMap::new());
        static SLOTS: Slots = Slots::default();
        static NEXT_KEY: RefCell<usize> = const { RefCell::new(0) };
        /// The reactive owner of the queue (the app's), which owns every item's signals.
        static OWNER: RefCell<Option<Owner>> = const { RefCell::new(None) };
    }

    fn with_entry<T>(key: usize, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        ENTRIES.with(|entries| entries.borrow_mut().get_mut(&key).map(f))
    }

    pub fn add(queue: Queue, files: &FileList) {
        let remembered = remembered::load();
        let mut added = Vec::new();
        let mut already = Vec::new();
        for index in 0..files.length() {
            let Some(file) = files.get(index) else {
                continue;
            };
            let (saved, requested) = upload_to_resume(queue, &remembered, &file);
            // One upload, one runner: a file whose upload the queue already runs (or holds
            // paused or failed) is not queued twice, or both would send the same parts and
            // the first to complete would fail the other.
            if let Some(saved) = &saved {
                if in_queue(queue, saved.file_id) {
                    already.push(file.name());
                    continue;
                }
            }
            let key = next_key();
            added.push(new_item(key, &file, saved.as_ref()));
            ENTRIES.with(|e| {
                e.borrow_mut().insert(
                    key,
                    Entry {
                        name: file.name(),
                        file,
                        cancel: StopSwitch::default(),
                        saved,
                        check_held: requested.is_some(),
                        requested,
                    },
                )
            });
        }
        queue.items.update(|items| items.extend(added));
        queue.notice.set((!already.is_empty()).then(|| {
            format!(
                "Already in the queue: {}. Resume or retry it there.",
                already.join(", ")
            )
        }));
    }

    /// An item of the queue, not done or cancelled, runs the upload `file_id`.
    fn in_queue(queue: Queue, file_id: FileId) -> bool {
        queue.items.with_untracked(|items| {
            items.iter().any(|item| {
                !matches!(item.phase.get_untracked(), Phase::Done | Phase::Cancelled)
                    && item.file_id.with_untracked(|id| *id == Some(file_id))
            })
        })
    }

    fn next_key() -> usize {
        NEXT_KEY.with(|k| {
            let mut k = k.borrow_mut();
            *k += 1;
            *k
        })
    }

    /// The unfinished upload `file` goes on with, if any: the one this browser remembers for
    /// it, or the one the user asked to resume from My files (whose parts are then checked
    /// against this file: the request is the second value).
    fn upload_to_resume(
        queue: Queue,
        remembered: &[Saved],
        file: &File,
    ) -> (Option<Saved>, Option<FileView>) {
        let saved = resume::find(
            remembered,
            &file.name(),
            file.size() as u64,
            file.last_modified(),
        );
        let requested = queue.resume_request.get_untracked();
        let Some(wanted) = requested
            .filter(|wanted| wanted.name == file.name() && wanted.size_bytes == file.size() as u64)
        else {
            return (saved, None);
        };
        queue.resume_request.set(None);
        if saved.as_ref().is_some_and(|s| s.file_id == wanted.id) {
            return (saved, None);
        }
        let requested = Saved {
            file_id: wanted.id,
            name: wanted.name.clone(),
            size: wanted.size_bytes,
            last_modified: file.last_modified(),
            part_size: wanted.part_size,
            part_count: wanted.part_count,
            integrity: wanted.integrity,
        };
        (Some(requested), Some(wanted))
    }

    /// The item's signals belong to the queue, not to the page that added the file: they
    /// must outlive it while the upload goes on.
    fn new_item(key: usize, file: &File, saved: Option<&Saved>) -> Item {
        OWNER
            .with(|owner| owner.borrow().clone())
            .unwrap_or_default()
            .with(|| Item {
                key,
                name: file.name(),
                size: file.size() as u64,
                file_id: RwSignal::new(saved.map(|s| s.file_id)),
                resuming: RwSignal::new(saved.is_some()),
                phase: RwSignal::new(Phase::Waiting),
                error: RwSignal::new(None),
                name_refused: RwSignal::new(false),
                sent_bytes: RwSignal::new(0),
                speed: RwSignal::new(None),
                eta: RwSignal::new(None),
            })
    }

    pub fn cancel(item: &Item) {
        let saved = with_entry(item.key, |entry| {
            entry.cancel.cancel();
            entry.saved.clone()
        })
        .flatten();
        // Running uploads clean up after themselves; a paused one has nobody running.
        if matches!(
            item.phase.get_untracked(),
            Phase::Waiting | Phase::Paused | Phase::Failed
        ) {
            if let Some(saved) = saved {
                remembered::forget(saved.file_id);
                spawn_local(async move {
                    let _ = crate::api::uploads::abort_upload(saved.file_id).await;
                });
            }
            item.phase.set(Phase::Cancelled);
            // Nothing runs it: its file and switch are not needed any more.
            ENTRIES.with(|e| e.borrow_mut().remove(&item.key));
        }
    }

    /// Stops an upload that ended elsewhere, for the reason `why`: a running one at once (its
    /// run settles it), one that waits or is paused here.
    pub fn end(item: &Item, why: &str) {
        with_entry(item.key, |entry| entry.cancel.end(why.to_owned()));
        if !item.phase.get_untracked().is_active() {
            if let Some(file_id) = item.file_id.get_untracked() {
                remembered::forget(file_id);
            }
            item.error.set(Some(why.to_owned()));
            item.phase.set(Phase::Cancelled);
            ENTRIES.with(|e| e.borrow_mut().remove(&item.key));
        }
    }

    /// Pauses a running file (its run settles it), or holds one still waiting for its turn.
    pub fn pause(item: &Item) {
        with_entry(item.key, |entry| entry.cancel.pause());
        if item.phase.get_untracked() == Phase::Waiting {
            item.phase.set(Phase::Paused);
        }
    }

    pub fn rename(item: &Item, name: String) {
        with_entry(item.key, |entry| entry.name = name);
        item.name_refused.set(false);
    }

    pub fn discard(queue: Queue, saved: &Saved) {
        remembered::forget(saved.file_id);
        queue.unfinished.set(remembered::load());
        let file_id = saved.file_id;
        spawn_local(async move {
            let _ = crate::api::uploads::abort_upload(file_id).await;
        });
    }

    pub fn resume(item: &Item) {
        let resuming = with_entry(item.key, |entry| {
            entry.cancel = StopSwitch::default();
            entry.saved.is_some()
        });
        item.resuming.set(resuming.unwrap_or(false));
        item.speed.set(None);
        item.phase.set(Phase::Waiting);
    }

    /// Starts waiting files while fewer than `files_at_once` are active; runs again whenever
    /// a file changes phase.
    pub fn schedule(queue: Queue) {
        OWNER.with(|owner| *owner.borrow_mut() = Owner::current());
        watch_network(queue);
        watch_batch(queue);
        // What this browser remembers changes as files start and finish.
        Effect::new(move || {
            for item in queue.items.get() {
                item.phase.track();
            }
            queue.unfinished.set(remembered::load());
        });
        Effect::new(move || {
            let items = queue.items.get();
            let limit = queue.files_at_once.get();
            let active = items.iter().filter(|i| i.phase.get().is_active()).count();
            let waiting = items
                .iter()
                .filter(|i| i.phase.get_untracked() == Phase::Waiting);
            for item in waiting
                .take(limit.saturating_sub(active))
                .cloned()
                .collect::<Vec<_>>()
            {
                item.phase.set(Phase::Uploading);
                spawn_local(run(queue, item, queue.parts_per_file.get_untracked()));
            }
        });
    }

    /// Keeps `queue.offline` in step with the browser's `online` and `offline` events, and
    /// asks before the page is left or reloaded while files upload.
    fn watch_network(queue: Queue) {
        queue.offline.set(!browser::online());
        for event in ["online", "offline"] {
            listen(event, move |_| queue.offline.set(!browser::online()));
        }
        listen("beforeunload", move |event| {
            let running = queue.items.with_untracked(|items| {
                items.iter().any(|item| {
                    let phase = item.phase.get_untracked();
                    phase.is_active() || phase == Phase::Waiting
                })
            });
            if running {
                event.prevent_default();
            }
        });
    }

    /// Shows the batch's progress in the tab's title, and notifies the user who asked when
    /// the queue finishes or a file fails while the tab is hidden.
    fn watch_batch(queue: Queue) {
        queue.notify.set(notice::wanted());
        Effect::new(move |before: Option<Totals>| {
            let totals = queue.items.with(|items| Totals::of(items));
            title::show(&totals);
            if let Some(before) = before {
                if queue.notify.get_untracked() && notice::hidden() {
                    notice::changes(&before, &totals);
                }
            }
            totals
        });
    }

    /// Calls `on_event` on the window's `event` for as long as the page lives.
    fn listen(event: &str, on_event: impl FnMut(web_sys::Event) + 'static) {
        use wasm_bindgen::{closure::Closure, JsCast};
        let Some(window) = web_sys::window() else {
            return;
        };
        let listener = Closure::<dyn FnMut(web_sys::Event)>::new(on_event);
        let _ = window.add_event_listener_with_callback(event, listener.as_ref().unchecked_ref());
        listener.forget();
    }

    #[derive(Default)]
    struct Shown {
        meter: Meter,
        throttle: Throttle,
        /// The latest count, shown or not.
        done: u64,
    }

    struct Reporter {
        item: Item,
        shown: RefCell<Shown>,
    }

    impl Report for Reporter {
        fn started(&self, saved: &Saved) {
            with_entry(self.item.key, |entry| entry.saved = Some(saved.clone()));
            self.item.file_id.set(Some(saved.file_id));
        }
    }

    impl crate::upload::engine::Report for Reporter {
        fn progress(&self, done: u64) {
            let at = browser::now();
            let mut shown = self.shown.borrow_mut();
            shown.meter.record(at, done);
            shown.done = done;
            if shown.throttle.due(at) {
                show(&self.item, &shown.meter, done);
            }
        }

        fn held_checked(&self) {
            with_entry(self.item.key, |entry| entry.check_held = false);
        }

        fn sending(&self) {
            self.item.phase.set(Phase::Uploading);
        }

        fn verifying(&self) {
            // The last counts may have come between two showings.
            let shown = self.shown.borrow();
            show(&self.item, &shown.meter, shown.done);
            self.item.phase.set(Phase::Verifying);
            self.item.eta.set(None);
        }
    }

    async fn run(queue: Queue, item: Item, parts_in_flight: usize) {
        let Some((file, cancel, start, check_held)) = with_entry(item.key, |e| {
            let start = match &e.saved {
                Some(saved) => Start::Resume(saved.clone()),
                None => Start::New(e.name.clone()),
            };
            (e.file.clone(), e.cancel.clone(), start, e.check_held)
        }) else {
            return;
        };
        let reporter = Rc::new(Reporter {
            item: item.clone(),
            shown: RefCell::default(),
        });
        let slots = SLOTS.with(Slots::clone);
        let result = browser::upload(
            &file,
            start,
            check_held,
            parts_in_flight,
            &slots,
            &cancel,
            reporter,
        )
        .await;
        if !settle(queue, &item, result) {
            ENTRIES.with(|e| e.borrow_mut().remove(&item.key));
        }
    }

    /// Shows how the upload ended; true when the file stays in the queue (to resume or retry).
    fn settle(queue: Queue, item: &Item, result: Result<crate::model::FileView, Stopped>) -> bool {
        item.speed.set(None);
        item.eta.set(None);
        match result {
            Ok(_) => {
                item.sent_bytes.set(item.size);
                item.phase.set(Phase::Done);
                queue.completed.update(|n| *n += 1);
                false
            }
            Err(Stopped::Paused) => {
                item.phase.set(Phase::Paused);
                true
            }
            Err(Stopped::Cancelled) => {
                item.phase.set(Phase::Cancelled);
                false
            }
            Err(Stopped::Ended(why)) => {
                item.error.set(Some(why));
                item.phase.set(Phase::Cancelled);
                false
            }
            Err(Stopped::Failed(error)) => {
                item.error.set(Some(error));
                item.phase.set(Phase::Failed);
                true
            }
            Err(Stopped::NameRefused(error)) => {
                item.error.set(Some(error));
                item.name_refused.set(true);
                item.phase.set(Phase::Failed);
                true
            }
            // This upload cannot go on with this file: a retry starts a new one, and Cancel
            // leaves the upload alone.
            Err(Stopped::Rejected(error)) => {
                let _ = start_anew(item, error);
                true
            }
            // An upload asked for from My files still waits for its own file: picking it next
            // attaches to it.
            Err(Stopped::NotThisFile(error)) => {
                if let Some(requested) = start_anew(item, error) {
                    queue.resume_request.set(Some(requested));
                }
                true
            }
        }
    }

    /// Fails `item` for `error`, to be retried as a new upload; answers the upload asked for
    /// from My files it was picked for, if any.
    fn start_anew(item: &Item, error: String) -> Option<FileView> {
        let requested = with_entry(item.key, |entry| {
            entry.saved = None;
            entry.check_held = false;
            entry.requested.take()
        });
        item.file_id.set(None);
        item.sent_bytes.set(0);
        item.error.set(Some(error));
        item.phase.set(Phase::Failed);
        requested.flatten()
    }
}

/// The tab's title carries the batch's progress ("42% · Upload — Haul") while files upload,
/// whatever page of the app is open.
#[cfg(feature = "hydrate")]
mod title {
    use super::Totals;
    use crate::format::percent;

    const SEPARATOR: &str = " · ";

    pub fn show(totals: &Totals) {
        let Some(document) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let title = document.title();
        // The page's own title, without the progress put before it earlier.
        let page = match title.split_once(SEPARATOR) {
            Some((progress, page)) if progress.ends_with('%') => page.to_owned(),
            _ => title.clone(),
        };
        let wanted = if totals.running > 0 {
            format!("{}%{SEPARATOR}{page}", percent(totals.sent, totals.bytes))
        } else {
            page
        };
        if wanted != title {
            document.set_title(&wanted);
        }
    }
}

/// Browser notifications, for users who asked for them: the queue finished, or a file failed,
/// while they were in another tab.
pub mod notice {
    use super::Totals;

    #[cfg(feature = "hydrate")]
    const KEY: &str = "haul.notify";

    /// Whether the user asked for notifications (in this browser) and the browser allows them.
    #[cfg(feature = "hydrate")]
    pub fn wanted() -> bool {
        let asked = web_sys::window()
            .and_then(|w| w.local_storage().ok().flatten())
            .and_then(|s| s.get_item(KEY).ok().flatten())
            .is_some();
        asked && web_sys::Notification::permission() == web_sys::NotificationPermission::Granted
    }

    /// Asks the browser for permission (on the user's click); answers whether it was given.
    #[cfg(feature = "hydrate")]
    pub async fn ask(on: bool) -> bool {
        let storage = web_sys::window().and_then(|w| w.local_storage().ok().flatten());
        if !on {
            if let Some(storage) = storage {
                let _ = storage.remove_item(KEY);
            }
            return false;
        }
        if let Ok(promise) = web_sys::Notification::request_permission() {
            let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
        }
        let granted =
            web_sys::Notification::permission() == web_sys::NotificationPermission::Granted;
        if let (true, Some(storage)) = (granted, storage) {
            let _ = storage.set_item(KEY, "1");
        }
        granted
    }

    #[cfg(not(feature = "hydrate"))]
    pub async fn ask(_: bool) -> bool {
        false
    }

    #[cfg(feature = "hydrate")]
    pub fn hidden() -> bool {
        web_sys::window()
            .and_then(|w| w.document())
            .is_some_and(|d| d.hidden())
    }

    /// What changed from `before` to `now` that is worth a notification, in words.
    pub fn words(before: &Totals, now: &Totals) -> Option<(&'static str, String)> {
        if now.failed > before.failed && now.running > 0 {
            return Some((
                "An upload failed",
                "Open Haul to retry it; the other files go on.".to_owned(),
            ));
        }
        if before.running == 0 || now.running > 0 {
            return None;
        }
        let body = match now.failed {
            0 => format!("{} of {} files uploaded.", now.done, now.files),
            failed => format!(
                "{} uploaded, {failed} failed: open Haul to retry.",
                now.done
            ),
        };
        Some(("Uploads finished", body))
    }

    #[cfg(feature = "hydrate")]
    pub fn changes(before: &Totals, now: &Totals) {
        if let Some((title, body)) = words(before, now) {
            let options = web_sys::NotificationOptions::new();
            options.set_body(&body);
            let _ = web_sys::Notification::new_with_options(title, &options);
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        fn totals(files: usize, done: usize, failed: usize, running: usize) -> Totals {
            Totals {
                files,
                done,
                failed,
                running,
                ..Totals::default()
            }
        }

        #[test]
        fn the_end_of_the_queue_and_a_failure_are_told_and_nothing_else() {
            let running = totals(3, 1, 0, 2);
            assert_eq!(words(&totals(3, 0, 0, 3), &running), None);
            let (title, body) = words(&running, &totals(3, 3, 0, 0)).unwrap();
            assert_eq!(
                (title, body.as_str()),
                ("Uploads finished", "3 of 3 files uploaded.")
            );
            let (_, body) = words(&running, &totals(3, 2, 1, 0)).unwrap();
            assert_eq!(body, "2 uploaded, 1 failed: open Haul to retry.");
            let (title, _) = words(&running, &totals(3, 1, 1, 1)).unwrap();
            assert_eq!(title, "An upload failed");
            // Idle stays quiet.
            assert_eq!(words(&totals(3, 3, 0, 0), &totals(3, 3, 0, 0)), None);
        }
    }
}
