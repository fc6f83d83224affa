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
    let numbers = Signal::derive(move || {
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
    });
    let state = Signal::derive(move || match (phase.get(), error.get()) {
        (Phase::Failed, Some(reason)) => format!("Failed: {reason}"),
        // Ended elsewhere: why ("You deleted this file.").
        (Phase::Cancelled, Some(reason)) => reason,
        (Phase::Uploading, _) if waiting_for_network() => "Waiting for the network".to_owned(),
        (Phase::Uploading, _) if resuming.get() => "Resuming".to_owned(),
        (phase, _) => phase.label().to_owned(),
    });
    view! {
        <li class="upload-row" aria-label=name.clone() data-phase=move || phase.get().label()>
            <div class="upload-name" title=name.clone()>{name.clone()}</div>
            <progress max="100" value=percent_done aria-label=format!("{name} progress")>
                {Signal::derive(move || format!("{}%", percent_done()))}
            </progress>
            <div class="upload-numbers">{numbers}</div>
            <div class="upload-state" class:failed=move || phase.get() == Phase::Failed role="status">
                {state}
            </div>
            {row_buttons(item.clone(), queue)}
            <Show when=move || item.name_refused.get()>
                {new_name(item.clone(), queue)}
            </Show>
        </li>
    }
}

/// What can be done with the file in its phase: pause, resume or retry (one button, whose
/// words follow the phase: focus stays on it through Pause and Resume), and cancel.
fn row_buttons(item: Item, queue: Queue) -> impl IntoView {
    let phase = item.phase;
    let can_cancel = move || {
        matches!(
            phase.get(),
            Phase::Waiting | Phase::Uploading | Phase::Paused | Phase::Failed
        )
    };
    type Act = fn(&Queue, &Item);
    let next = move || -> Option<(&'static str, Act)> {
        match phase.get() {
            Phase::Waiting | Phase::Uploading => Some(("Pause", Queue::pause)),
            Phase::Paused => Some(("Resume", Queue::resume)),
            Phase::Failed => Some(("Retry", Queue::retry)),
            _ => None,
        }
    };
    let label = move || next().map_or("", |(label, _)| label);
    let (name, for_next) = (item.name.clone(), item.clone());
    let on_next = move |_| {
        if let Some((_, act)) = untrack(next) {
            act(&queue, &for_next);
        }
    };
    view! {
        <div class="upload-buttons">
            <Show when=move || next().is_some()>
                <button
                    type="button"
                    class="button secondary"
                    aria-label={
                        let name = name.clone();
                        Signal::derive(move || format!("{} {name}", label()))
                    }
                    on:click=on_next.clone()
                >
                    {label}
                </button>
            </Show>
            <Show when=can_cancel>
                {row_button("Cancel", item.clone(), queue, cancel_asking)}
            </Show>
        </div>
    }
}

/// Another name for a file whose name the server refused; what was typed stays when the
/// server refuses it too.
fn new_name(item: Item, queue: Queue) -> impl IntoView {
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
fn row_button(
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
