use leptos::prelude::*;

use crate::upload::{
    progress::{bytes, duration, percent},
    queue::{Item, Phase, Queue},
};

/// One file of the upload queue: name, progress bar, bytes, speed, time left and state.
#[component]
pub fn UploadRow(item: Item, queue: Queue) -> impl IntoView {
    let Item {
        name,
        size,
        phase,
        error,
        done,
        speed,
        eta,
        ..
    } = item.clone();
    let percent_done = move || percent(done.get(), size);
    let numbers = move || {
        let mut text = format!("{} of {}", bytes(done.get()), bytes(size));
        if phase.get() == Phase::Uploading {
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
        (phase, _) => phase.label().to_owned(),
    };
    let can_cancel = move || matches!(phase.get(), Phase::Waiting | Phase::Uploading);
    view! {
        <li class="upload-row" aria-label=name.clone() data-phase=move || phase.get().label()>
            <div class="upload-name">{name.clone()}</div>
            <progress max="100" value=percent_done aria-label=format!("{name} progress")>
                {move || format!("{}%", percent_done())}
            </progress>
            <div class="upload-numbers">{numbers}</div>
            <div class="upload-state" class:failed=move || phase.get() == Phase::Failed role="status">
                {state}
            </div>
            <Show when=can_cancel>
                <button
                    type="button"
                    class="button secondary"
                    aria-label=format!("Cancel {}", item.name)
                    on:click={
                        let item = item.clone();
                        move |_| queue.cancel(&item)
                    }
                >
                    "Cancel"
                </button>
            </Show>
        </li>
    }
}
