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
    /// Bytes sent so far (parts in flight included).
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

    /// Tries a failed file again: from the parts S3 holds, or from the start when the server
    /// ended its upload.
    pub fn retry(&self, item: &Item) {
        item.error.set(None);
        self.resume(item);
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

impl Default for Queue {
    fn default() -> Self {
        Self::new()
    }
}

/// Shows one item's progress: bytes, and speed and time left from the meter.
pub fn show(item: &Item, meter: &Meter, done: u64) {
    item.sent_bytes.set(done);
    item.speed.set(meter.speed());
    item.eta.set(meter.eta(item.size.saturating_sub(done)));
}

/// On the server, the queue has no engine: pages render its (empty) state, nothing uploads.
#[cfg(not(feature = "hydrate"))]
mod engine {
    use super::{Item, Queue, Saved};

    pub fn schedule(_: Queue) {}
    pub fn add(_: Queue, _: &web_sys::FileList) {}
    pub fn cancel(_: &Item) {}
    pub fn pause(_: &Item) {}
    pub fn discard(_: Queue, _: &Saved) {}
    pub fn resume(_: &Item) {}
}

/// In the browser: the files, their stop switches and the scheduler that starts uploads.
#[cfg(feature = "hydrate")]
mod engine {
    use std::{cell::RefCell, collections::HashMap, rc::Rc};

    use leptos::{prelude::*, task::spawn_local};
    use web_sys::{File, FileList};

    use super::{show, Item, Phase, Queue};
    use crate::{
        model::FileId,
        upload::{
            browser::{self, remembered, Report, Slots, StopSwitch, Stopped},
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
        /// The upload was picked up without this browser's record of the file (from My
        /// files): the parts S3 holds are checked against this file first.
        check_held: bool,
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
            let (saved, check_held) = upload_to_resume(queue, &remembered, &file);
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
                        file,
                        cancel: StopSwitch::default(),
                        saved,
                        check_held,
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
    /// against this file: the second value).
    fn upload_to_resume(queue: Queue, remembered: &[Saved], file: &File) -> (Option<Saved>, bool) {
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
            return (saved, false);
        };
        queue.resume_request.set(None);
        if saved.as_ref().is_some_and(|s| s.file_id == wanted.id) {
            return (saved, false);
        }
        let requested = Saved {
            file_id: wanted.id,
            name: wanted.name,
            size: wanted.size_bytes,
            last_modified: file.last_modified(),
            part_size: wanted.part_size,
            part_count: wanted.part_count,
            integrity: wanted.integrity,
        };
        (Some(requested), true)
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

    pub fn pause(item: &Item) {
        with_entry(item.key, |entry| entry.cancel.pause());
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

    /// Keeps `queue.offline` in step with the browser's `online` and `offline` events.
    fn watch_network(queue: Queue) {
        use wasm_bindgen::{closure::Closure, JsCast};
        queue.offline.set(!browser::online());
        let Some(window) = web_sys::window() else {
            return;
        };
        for event in ["online", "offline"] {
            let update = Closure::<dyn FnMut()>::new(move || {
                queue.offline.set(!browser::online());
            });
            let _ = window.add_event_listener_with_callback(event, update.as_ref().unchecked_ref());
            // The listener lives as long as the page.
            update.forget();
        }
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
        let Some((file, cancel, saved, check_held)) = with_entry(item.key, |e| {
            (
                e.file.clone(),
                e.cancel.clone(),
                e.saved.clone(),
                e.check_held,
            )
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
            saved,
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
            Err(Stopped::Failed(error)) => {
                item.error.set(Some(error));
                item.phase.set(Phase::Failed);
                true
            }
            Err(Stopped::Rejected(error) | Stopped::NotThisFile(error)) => {
                // This upload cannot go on with this file: a retry starts a new one, and
                // Cancel leaves the upload alone.
                with_entry(item.key, |entry| {
                    entry.saved = None;
                    entry.check_held = false;
                });
                item.file_id.set(None);
                item.error.set(Some(error));
                item.phase.set(Phase::Failed);
                true
            }
        }
    }
}
