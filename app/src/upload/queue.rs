//! The upload queue as the page sees it: reactive state per file, and (in the browser) the
//! scheduler that starts files as slots free up.

use leptos::prelude::*;

use super::{progress::Meter, resume::Saved};

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
    /// It continues an upload begun earlier (before a reload or a pause).
    pub resuming: RwSignal<bool>,
    pub phase: RwSignal<Phase>,
    pub error: RwSignal<Option<String>>,
    pub done: RwSignal<u64>,
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
}

impl Queue {
    pub fn new() -> Self {
        let queue = Self {
            items: RwSignal::new(Vec::new()),
            unfinished: RwSignal::new(Vec::new()),
            files_at_once: RwSignal::new(2),
            parts_per_file: RwSignal::new(4),
        };
        #[cfg(feature = "hydrate")]
        engine::schedule(queue);
        queue
    }

    /// Queues the files the user picked or dropped.
    pub fn add(&self, files: &web_sys::FileList) {
        #[cfg(feature = "hydrate")]
        engine::add(*self, files);
        #[cfg(not(feature = "hydrate"))]
        let _ = files;
    }

    /// Stops a file: in flight requests are aborted and the server drops the upload.
    pub fn cancel(&self, item: &Item) {
        #[cfg(feature = "hydrate")]
        engine::cancel(item);
        #[cfg(not(feature = "hydrate"))]
        let _ = item;
    }

    /// Stops a file but keeps what reached S3, to resume later.
    pub fn pause(&self, item: &Item) {
        #[cfg(feature = "hydrate")]
        engine::pause(item);
        #[cfg(not(feature = "hydrate"))]
        let _ = item;
    }

    /// Drops an unfinished upload of an earlier visit: S3 discards its parts.
    pub fn discard(&self, saved: &Saved) {
        #[cfg(feature = "hydrate")]
        engine::discard(*self, saved);
        #[cfg(not(feature = "hydrate"))]
        let _ = saved;
    }

    /// Puts a paused file back in line; it goes on from the parts S3 holds.
    pub fn resume(&self, item: &Item) {
        #[cfg(feature = "hydrate")]
        engine::resume(item);
        #[cfg(not(feature = "hydrate"))]
        let _ = item;
    }
}

impl Default for Queue {
    fn default() -> Self {
        Self::new()
    }
}

/// Progress of one item: bytes, speed and time left from the meter.
pub fn record(item: &Item, meter: &mut Meter, at: f64, done: u64) {
    meter.record(at, done);
    item.done.set(done);
    item.speed.set(meter.speed());
    item.eta.set(meter.eta(item.size.saturating_sub(done)));
}

#[cfg(feature = "hydrate")]
mod engine {
    use std::{cell::RefCell, collections::HashMap, rc::Rc};

    use leptos::{prelude::*, task::spawn_local};
    use web_sys::{File, FileList};

    use super::{record, Item, Phase, Queue};
    use crate::upload::{
        browser::{self, remembered, Cancel, Report, Slots, CANCELLED, PAUSED},
        progress::Meter,
        resume::{self, Saved},
    };

    /// A queued file's browser side: the file, its stop switch, and its server upload once
    /// there is one.
    struct Entry {
        file: File,
        cancel: Cancel,
        saved: Option<Saved>,
    }

    thread_local! {
        static ENTRIES: RefCell<HashMap<usize, Entry>> = RefCell::new(HashMap::new());
        static SLOTS: Slots = Slots::default();
        static NEXT_KEY: RefCell<usize> = const { RefCell::new(0) };
    }

    fn with_entry<T>(key: usize, f: impl FnOnce(&mut Entry) -> T) -> Option<T> {
        ENTRIES.with(|entries| entries.borrow_mut().get_mut(&key).map(f))
    }

    pub fn add(queue: Queue, files: &FileList) {
        let remembered = remembered::load();
        let mut added = Vec::new();
        for index in 0..files.length() {
            let Some(file) = files.get(index) else {
                continue;
            };
            let key = NEXT_KEY.with(|k| {
                let mut k = k.borrow_mut();
                *k += 1;
                *k
            });
            let saved = resume::find(
                &remembered,
                &file.name(),
                file.size() as u64,
                file.last_modified(),
            );
            added.push(Item {
                key,
                name: file.name(),
                size: file.size() as u64,
                resuming: RwSignal::new(saved.is_some()),
                phase: RwSignal::new(Phase::Waiting),
                error: RwSignal::new(None),
                done: RwSignal::new(0),
                speed: RwSignal::new(None),
                eta: RwSignal::new(None),
            });
            let cancel = Cancel::default();
            ENTRIES.with(|e| {
                e.borrow_mut().insert(
                    key,
                    Entry {
                        file,
                        cancel,
                        saved,
                    },
                )
            });
        }
        queue.items.update(|items| items.extend(added));
    }

    pub fn cancel(item: &Item) {
        let saved = with_entry(item.key, |entry| {
            entry.cancel.cancel();
            entry.saved.clone()
        })
        .flatten();
        // Running uploads clean up after themselves; a paused one has nobody running.
        if matches!(item.phase.get_untracked(), Phase::Waiting | Phase::Paused) {
            if let Some(saved) = saved {
                remembered::forget(&saved.file_id);
                spawn_local(async move {
                    let _ = crate::api::upload::abort_upload(saved.file_id).await;
                });
            }
            item.phase.set(Phase::Cancelled);
        }
    }

    pub fn pause(item: &Item) {
        with_entry(item.key, |entry| entry.cancel.pause());
    }

    pub fn discard(queue: Queue, saved: &Saved) {
        remembered::forget(&saved.file_id);
        queue.unfinished.set(remembered::load());
        let file_id = saved.file_id.clone();
        spawn_local(async move {
            let _ = crate::api::upload::abort_upload(file_id).await;
        });
    }

    pub fn resume(item: &Item) {
        with_entry(item.key, |entry| entry.cancel = Cancel::default());
        item.resuming.set(true);
        item.speed.set(None);
        item.phase.set(Phase::Waiting);
    }

    /// Starts waiting files while fewer than `files_at_once` are active; runs again whenever
    /// a file changes phase.
    pub fn schedule(queue: Queue) {
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
                spawn_local(run(item, queue.parts_per_file.get_untracked()));
            }
        });
    }

    struct Reporter {
        item: Item,
        meter: RefCell<Meter>,
    }

    impl Report for Reporter {
        fn started(&self, saved: &Saved) {
            with_entry(self.item.key, |entry| entry.saved = Some(saved.clone()));
        }

        fn progress(&self, done: u64) {
            record(
                &self.item,
                &mut self.meter.borrow_mut(),
                browser::now(),
                done,
            );
        }

        fn verifying(&self) {
            self.item.phase.set(Phase::Verifying);
            self.item.eta.set(None);
        }
    }

    async fn run(item: Item, parts_in_flight: usize) {
        let Some((file, cancel, saved)) = with_entry(item.key, |e| {
            (e.file.clone(), e.cancel.clone(), e.saved.clone())
        }) else {
            return;
        };
        let reporter = Rc::new(Reporter {
            item: item.clone(),
            meter: RefCell::new(Meter::default()),
        });
        let slots = SLOTS.with(Slots::clone);
        let result =
            browser::upload(&file, saved, parts_in_flight, &slots, &cancel, reporter).await;
        item.speed.set(None);
        item.eta.set(None);
        match result {
            Err(reason) if reason == PAUSED => item.phase.set(Phase::Paused),
            Err(reason) if reason == CANCELLED => item.phase.set(Phase::Cancelled),
            Ok(_) => {
                item.done.set(item.size);
                item.phase.set(Phase::Done);
            }
            Err(error) => {
                item.error.set(Some(error));
                item.phase.set(Phase::Failed);
            }
        }
        if item.phase.get_untracked() != Phase::Paused {
            ENTRIES.with(|e| e.borrow_mut().remove(&item.key));
        }
    }
}
