//! One row of the upload queue.

use leptos::prelude::*;

use crate::{
    format::{bytes, duration, percent},
    upload::queue::{Item, Phase, Queue},
};

/// One file of the upload queue: name, progress bar, bytes, speed, time left and state.
#[component]
pub fn UploadRow(item: Item, queue: Queue) -> impl IntoView {
    let Item {
        name,
        size,
        phase,
        error,
        sent_bytes,
        speed,
        eta,
        resuming,
        ..
    } = item.clone();
    let percent_done = move || percent(sent_bytes.get(), size);
    // Offline, a speed and a time left would be frozen figures: the row says why it waits.
    let waiting_for_network = move || queue.offline.get() && phase.get() == Phase::Uploading;
    let numbers = move || {
        let mut text = format!("{} of {}", bytes(sent_bytes.get()), bytes(size));
        if phase.get() == Phase::Uploading && !waiting_for_network() {
            if let Some(speed) = speed.get() {
                text.push_str(&format!(" · {}/s", bytes(speed as u64)));
            }
            if let Some(eta) = eta.get() {
                text.push_str(&format!(" · {} left", duration(eta)));
            }
        }
        text
    };
    let state = move || match (phase.get(), error.get()) {
        (Phase::Failed, Some(reason)) => format!("Failed: {reason}"),
        // Ended elsewhere: why ("You deleted this file.").
        (Phase::Cancelled, Some(reason)) => reason,
        (Phase::Uploading, _) if waiting_for_network() => "Waiting for the network".to_owned(),
        (Phase::Uploading, _) if resuming.get() => "Resuming".to_owned(),
        (phase, _) => phase.label().to_owned(),
    };
    view! {
        <li class="upload-row" aria-label=name.clone() data-phase=move || phase.get().label()>
            <div class="upload-name" title=name.clone()>{name.clone()}</div>
            <progress max="100" value=percent_done aria-label=format!("{name} progress")>
                {move || format!("{}%", percent_done())}
            </progress>
            <div class="upload-numbers">{numbers}</div>
            <div class="upload-state" class:failed=move || phase.get() == Phase::Failed role="status">
                {state}
            </div>
            <RowButtons item=item.clone() queue/>
            <Show when=move || item.name_refused.get()>
                <NewName item=item.clone() queue/>
            </Show>
        </li>
    }
}

/// What can be done with the file in its phase: pause, resume, retry, cancel.
#[component]
fn RowButtons(item: Item, queue: Queue) -> impl IntoView {
    let phase = item.phase;
    let can_cancel = move || {
        matches!(
            phase.get(),
            Phase::Waiting | Phase::Uploading | Phase::Paused | Phase::Failed
        )
    };
    let (for_pause, for_resume, for_retry, for_cancel) =
        (item.clone(), item.clone(), item.clone(), item);
    view! {
        <div class="upload-buttons">
            <Show when=move || phase.get() == Phase::Uploading>
                <RowButton label="Pause" item=for_pause.clone() queue action=Queue::pause/>
            </Show>
            <Show when=move || phase.get() == Phase::Paused>
                <RowButton label="Resume" item=for_resume.clone() queue action=Queue::resume/>
            </Show>
            <Show when=move || phase.get() == Phase::Failed>
                <RowButton label="Retry" item=for_retry.clone() queue action=Queue::retry/>
            </Show>
            <Show when=can_cancel>
                <RowButton label="Cancel" item=for_cancel.clone() queue action=cancel_asking/>
            </Show>
        </div>
    }
}

/// Another name for a file whose name the server refused; what was typed stays when the
/// server refuses it too.
#[component]
fn NewName(item: Item, queue: Queue) -> impl IntoView {
    let typed = RwSignal::new(item.name.clone());
    let label = format!("New name for {}", item.name);
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        queue.rename(&item, typed.get_untracked());
    };
    view! {
        <form class="upload-rename" on:submit=on_submit>
            <input type="text" aria-label=label bind:value=typed/>
            <button type="submit" class="button secondary">"Upload with this name"</button>
        </form>
    }
}

/// Cancels a file; one partly sent asks first, as what was sent is dropped.
fn cancel_asking(queue: &Queue, item: &Item) {
    let sent = item.sent_bytes.get_untracked();
    let question = format!(
        "Cancel {}? The {} sent so far will be discarded.",
        item.name,
        bytes(sent)
    );
    let confirmed =
        || web_sys::window().is_some_and(|w| w.confirm_with_message(&question).unwrap_or(false));
    if sent == 0 || confirmed() {
        queue.cancel(item);
    }
}

/// A button acting on one queued file; its accessible name says which ("Pause big.iso").
#[component]
fn RowButton(
    label: &'static str,
    item: Item,
    queue: Queue,
    action: fn(&Queue, &Item),
) -> impl IntoView {
    view! {
        <button
            type="button"
            class="button secondary"
            aria-label=format!("{label} {}", item.name)
            on:click=move |_| action(&queue, &item)
        >
            {label}
        </button>
    }
}
