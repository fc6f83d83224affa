//! The upload page: pick or drop files; a queue shows each one's progress, speed, time left
//! and state. The work is done by `upload::browser` in the browser.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::files::get_file,
    components::{require_user::RequireUser, upload_row::UploadRow},
    format::{bytes, duration, percent},
    model::FileId,
    upload::queue::{notice, Item, Queue, Totals},
};

pub fn upload_page() -> impl IntoView {
    view! {
        <Title text="Upload — Haul"/>
        <RequireUser children=|_user| uploader(None)/>
    }
}

/// /r/{token}/send: a visitor of an upload request sends files in, with the same engine. The
/// server shows it only to a visitor who passed the request's gate (/r/{token}); their calls
/// carry the request (`api::client::via`).
pub fn request_page() -> impl IntoView {
    // The token of the address (`/r/{token}/send`): the browser reads it as `api::client`
    // does, the server from the request. The route is `/r/*rest` (see `App`): any other path
    // under it is not found.
    #[cfg(feature = "hydrate")]
    let token = crate::api::client::via();
    #[cfg(not(feature = "hydrate"))]
    let token = crate::api::client::send_page_token(
        &leptos_router::hooks::use_location()
            .pathname
            .get_untracked(),
    );
    let Some(token) = token else {
        return view! { <crate::pages::not_found::NotFound/> }.into_any();
    };
    // Leaving loads the next page whole: its uploads are the user's, not this request's.
    on_cleanup(|| {
        #[cfg(feature = "hydrate")]
        let _ = window().location().reload();
    });
    view! {
        <Title text="Send files — Haul"/>
        {uploader(Some(token))}
    }
    .into_any()
}

fn uploader(request: Option<String>) -> impl IntoView {
    let queue = expect_context::<Queue>();
    let owner = request.is_none();
    let heading = if owner { "Upload files" } else { "Send files" };
    view! {
        <h1>{heading}</h1>
        {request.map(|token| view! {
            <p><a href=format!("/r/{token}") rel="external">"See the request and what you sent"</a></p>
        })}
        <Show when=move || queue.offline.get()>
            <p class="notice" role="status">
                "Waiting for the network… Uploads go on by themselves when it is back."
            </p>
        </Show>
        {owner.then(|| resume_request(queue))}
        {drop_zone(queue)}
        {transfer_settings(queue)}
        {unfinished(queue)}
        <Show when=move || !queue.items.read().is_empty()>
            <h2>"Queue"</h2>
            {batch_summary(queue)}
            <ul class="upload-queue" aria-label="Upload queue">
                <For each=move || queue.items.get() key=|item: &Item| item.key let:item>
                    <UploadRow item queue/>
                </For>
            </ul>
            <Show when=move || owner>
                <p>
                    <A href="/files">"See all your files"</A>
                </p>
            </Show>
        </Show>
    }
}

/// The whole queue at a glance: files done, bytes, speed and time left; Clear finished, and
/// the opt-in notification.
fn batch_summary(queue: Queue) -> impl IntoView {
    let totals = Memo::new(move |_| queue.items.with(|items| Totals::of(items)));
    let files = Signal::derive(move || {
        let t = totals.get();
        let mut text = format!("{} of {} files done", t.done, t.files);
        if t.failed > 0 {
            text.push_str(&format!(" · {} failed", t.failed));
        }
        text
    });
    let numbers = Signal::derive(move || {
        let t = totals.get();
        let mut text = format!("{} of {}", bytes(t.sent), bytes(t.bytes));
        if t.running > 0 && !queue.offline.get() {
            if let Some(speed) = t.speed {
                text.push_str(&format!(" · {}/s", bytes(speed as u64)));
            }
            if let Some(eta) = t.eta() {
                text.push_str(&format!(" · {} left", duration(eta)));
            }
        }
        text
    });
    let finished = move || totals.get().files < queue.items.with(Vec::len) || totals.get().done > 0;
    let on_notify = move |event: leptos::ev::Event| {
        let on = event_target_checked(&event);
        leptos::task::spawn_local(async move { queue.notify.set(notice::ask(on).await) });
    };
    view! {
        <section class="batch" aria-label="All uploads">
            <div class="batch-line">
                <strong>{files}</strong>
                <span class="upload-numbers">{numbers}</span>
            </div>
            <progress
                max="100"
                value=move || percent(totals.get().sent, totals.get().bytes)
                aria-label="All uploads progress"
            ></progress>
            <div class="batch-line">
                <label class="hint">
                    <input type="checkbox" prop:checked=queue.notify on:change=on_notify/>
                    " Notify me when the uploads finish or one fails"
                </label>
                <Show when=finished>
                    <button type="button" class="button secondary" on:click=move |_| queue.clear_finished()>
                        "Clear finished"
                    </button>
                </Show>
            </div>
        </section>
    }
}

/// /upload?resume=<file id>, from My files: asks the user to pick that file again.
fn resume_request(queue: Queue) -> impl IntoView {
    let query = leptos_router::hooks::use_query_map();
    let requested = Resource::new(
        move || query.with(|q| q.get("resume")),
        |id| async move {
            match id {
                Some(id) => get_file(FileId::read(&id)).await.ok(),
                None => None,
            }
        },
    );
    Effect::new(move || {
        if let Some(file) = requested.get().flatten() {
            if file.status == crate::model::FileStatus::Uploading {
                queue.resume_request.set(Some(file));
            }
        }
    });
    move || {
        queue.resume_request.get().map(|file| {
            view! {
                <p class="notice" role="status">
                    {format!(
                        "To resume {}, choose the same file ({}) again.",
                        file.name,
                        bytes(file.size_bytes),
                    )}
                </p>
            }
        })
    }
}

/// Where files are dropped or picked; each goes into the queue.
fn drop_zone(queue: Queue) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let on_drop = move |event: leptos::ev::DragEvent| {
        event.prevent_default();
        dragging.set(false);
        if let Some(files) = event.data_transfer().and_then(|d| d.files()) {
            queue.add(&files);
        }
    };
    let on_pick = move |event: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&event);
        if let Some(files) = input.files() {
            queue.add(&files);
        }
        // The same file can be picked again (e.g. to resume it).
        input.set_value("");
    };
    view! {
        <section
            class="dropzone"
            aria-label="Drop files to upload"
            class:dragging=move || dragging.get()
            on:dragover=move |event: leptos::ev::DragEvent| {
                event.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop
        >
            <p>"Drop files here, or"</p>
            <label class="button" for="pick-files">"Choose files"</label>
            <input id="pick-files" class="visually-hidden" type="file" multiple on:change=on_pick/>
            {move || queue.notice.get().map(|notice| view! { <p class="notice" role="status">{notice}</p> })}
        </section>
    }
}

/// How many files go at once, and how many parts of each.
fn transfer_settings(queue: Queue) -> impl IntoView {
    let number = |signal: RwSignal<usize>| {
        move |event: leptos::ev::Event| {
            if let Ok(n) = event_target_value(&event).parse::<usize>() {
                signal.set(n.clamp(1, crate::upload::queue::MAX_CONNECTIONS));
            }
        }
    };
    view! {
        <details class="settings">
            <summary>"Transfer settings"</summary>
            <label>
                "Files at once "
                <input type="number" min="1" max="6" prop:value=Signal::derive(move || queue.files_at_once.get().to_string()) on:change=number(queue.files_at_once)/>
            </label>
            <label>
                "Parts in flight per file "
                <input type="number" min="1" max="6" prop:value=Signal::derive(move || queue.parts_per_file.get().to_string()) on:change=number(queue.parts_per_file)/>
            </label>
            <p class="hint">"At most 6 connections go to the storage at once, whatever the settings."</p>
        </details>
    }
}

/// Uploads that a reload or a closed tab interrupted: picking the same file resumes it.
fn unfinished(queue: Queue) -> impl IntoView {
    // Those not in the queue already.
    let waiting = move || {
        let queued = queue.items.get();
        queue
            .unfinished
            .get()
            .into_iter()
            .filter(|saved| {
                !queued
                    .iter()
                    .any(|item| item.name == saved.name && item.size == saved.size)
            })
            .collect::<Vec<_>>()
    };
    view! {
        <Show when=move || !waiting().is_empty()>
            <section class="unfinished" aria-label="Unfinished uploads">
                <h2>"Unfinished uploads"</h2>
                <p class="hint">"Choose the same file again to go on from where it stopped."</p>
                <ul>
                    <For each=waiting key=|saved| saved.file_id let:saved>
                        <li>
                            <span>{format!("{} ({})", saved.name, bytes(saved.size))}</span>
                            " "
                            <button
                                type="button"
                                class="link danger"
                                aria-label=format!("Discard {}", saved.name)
                                on:click=move |_| queue.discard(&saved)
                            >
                                "Discard"
                            </button>
                        </li>
                    </For>
                </ul>
            </section>
        </Show>
    }
}
