//! The upload queue as the page sees it: reactive state per file, and (in the browser) the
//! scheduler that starts files as slots free up.

use leptos::prelude::*;

pub use super::plan::MIB;
use super::progress::Meter;

pub const MAX_CONNECTIONS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Waiting,
    Uploading,
    Verifying,
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
    pub phase: RwSignal<Phase>,
    pub error: RwSignal<Option<String>>,
    pub done: RwSignal<u64>,
    pub speed: RwSignal<Option<f64>>,
    pub eta: RwSignal<Option<f64>>,
}

#[derive(Clone, Copy)]
pub struct Queue {
    pub items: RwSignal<Vec<Item>>,
    pub files_at_once: RwSignal<usize>,
    pub parts_per_file: RwSignal<usize>,
}

impl Queue {
    pub fn new() -> Self {
        let queue = Self {
            items: RwSignal::new(Vec::new()),
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
    use crate::{
        model::FileView,
        upload::{
            browser::{self, Cancel, Report, Slots},
            progress::Meter,
        },
    };

    thread_local! {
        static FILES: RefCell<HashMap<usize, (File, Cancel)>> = RefCell::new(HashMap::new());
        static SLOTS: Slots = Slots::default();
        static NEXT_KEY: RefCell<usize> = const { RefCell::new(0) };
    }

    pub fn add(queue: Queue, files: &FileList) {
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
            added.push(Item {
                key,
                name: file.name(),
                size: file.size() as u64,
                phase: RwSignal::new(Phase::Waiting),
                error: RwSignal::new(None),
                done: RwSignal::new(0),
                speed: RwSignal::new(None),
                eta: RwSignal::new(None),
            });
            FILES.with(|f| f.borrow_mut().insert(key, (file, Cancel::default())));
        }
        queue.items.update(|items| items.extend(added));
    }

    pub fn cancel(item: &Item) {
        FILES.with(|f| {
            if let Some((_, cancel)) = f.borrow().get(&item.key) {
                cancel.cancel();
            }
        });
        if item.phase.get_untracked() == Phase::Waiting {
            item.phase.set(Phase::Cancelled);
        }
    }

    /// Starts waiting files while fewer than `files_at_once` are active; runs again whenever
    /// a file changes phase.
    pub fn schedule(queue: Queue) {
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
        fn started(&self, _file: &FileView) {}

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
        let Some((file, cancel)) = FILES.with(|f| f.borrow().get(&item.key).cloned()) else {
            return;
        };
        let reporter = Rc::new(Reporter {
            item: item.clone(),
            meter: RefCell::new(Meter::default()),
        });
        let slots = SLOTS.with(Slots::clone);
        let result = browser::upload(&file, parts_in_flight, &slots, &cancel, reporter).await;
        FILES.with(|f| f.borrow_mut().remove(&item.key));
        match result {
            Ok(_) => {
                item.done.set(item.size);
                item.speed.set(None);
                item.phase.set(Phase::Done);
            }
            Err(_) if cancel.is_cancelled() => item.phase.set(Phase::Cancelled),
            Err(error) => {
                item.error.set(Some(error));
                item.phase.set(Phase::Failed);
            }
        }
    }
}
