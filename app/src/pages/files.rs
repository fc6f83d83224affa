//! "My files": the caller's files from PostgreSQL, searched by name and sorted (the search,
//! the sort and the cursor in the URL), a page at a time, with how many match and their size;
//! download, rename (in place) and delete, each saying what happened in its own row; and
//! their storage use against the quota. Unfinished uploads show how much landed, with Resume
//! and Discard; uploads this tab is running show live progress.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::{
        files::{list_files, DeleteFile, DownloadUrl, RenameFile},
        uploads::{uploaded_parts, AbortUpload},
    },
    components::{
        error_view::error_view,
        list::{pager, FilterForm, ListUrl},
        loaded::loaded,
        require_user::RequireUser,
        table::{Column::Shown, ListTable},
    },
    error::AppError,
    format::{bytes, esc, percent},
    model::{FileId, FilePage, FileStatus, FileView, UserView},
    pages::admin::when,
    upload::queue::{Phase, Queue},
};

/// The sorts the list offers: the URL's `sort` and its words (the server knows the same).
const SORTS: &[(&str, &str)] = &[
    ("newest", "Newest first"),
    ("oldest", "Oldest first"),
    ("name", "Name, A to Z"),
    ("name_desc", "Name, Z to A"),
    ("largest", "Largest first"),
    ("smallest", "Smallest first"),
];

pub fn files_page() -> impl IntoView {
    view! {
        <Title text="My files — Haul"/>
        <RequireUser children=|_user| file_list()/>
    }
}

fn file_list() -> impl IntoView {
    let url = ListUrl::new("/files", &["name", "sort"]);
    let queue = expect_context::<Queue>();
    // Bumped by a row whose rename, delete or discard went through.
    let changed = RwSignal::new(0_usize);
    // Read again when a file changes here, or an upload this tab runs completes.
    let reload = move || (changed.get(), queue.completed.get());
    let filter = move || (url.param("name"), url.param("sort"));
    let page = url.resource(filter, reload, |(name, sort), cursor| {
        list_files(cursor, Some(name), Some(sort))
    });
    let shared = Shared { changed, queue };
    view! {
        <div class="page-title">
            <h1>"My files"</h1>
            <A href="/upload" attr:class="button">"Upload files"</A>
        </div>
        {search(url)}
        {loaded(page, move |page| listing(page, url, shared))}
    }
}

/// Search by name and sort: a GET, so both land in the URL (Back and reload keep them).
fn search(url: ListUrl) -> impl IntoView {
    view! {
        <FilterForm url label="Find files" clear=true>
            <label>
                "Name contains "
                <input type="search" name="name" prop:value=move || url.param("name")/>
            </label>
            <label>
                "Sort "
                <select name="sort" prop:value=move || sort_of(&url)>
                    {SORTS
                        .iter()
                        .map(|&(value, label)| {
                            view! { <option value=value selected=move || sort_of(&url) == value>{label}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
        </FilterForm>
    }
}

/// The sort the URL asks for, the default named.
fn sort_of(url: &ListUrl) -> String {
    Some(url.param("sort"))
        .filter(|sort| !sort.is_empty())
        .unwrap_or_else(|| "newest".to_owned())
}

/// What every row shares: the signal that reloads the list, and this tab's uploads.
#[derive(Clone, Copy)]
struct Shared {
    changed: RwSignal<usize>,
    queue: Queue,
}

/// A row's own actions, so that what became of each is said in its row.
#[derive(Clone, Copy)]
struct Actions {
    delete: ServerAction<DeleteFile>,
    rename: ServerAction<RenameFile>,
    download: ServerAction<DownloadUrl>,
    discard: ServerAction<AbortUpload>,
    /// The rename field is open.
    editing: RwSignal<bool>,
    queue: Queue,
}

impl Actions {
    fn new(shared: Shared) -> Self {
        let actions = Self {
            delete: ServerAction::new(),
            rename: ServerAction::new(),
            download: ServerAction::new(),
            discard: ServerAction::new(),
            editing: RwSignal::new(false),
            queue: shared.queue,
        };
        Effect::new(move || {
            let done = |r: Option<Result<_, AppError>>| matches!(r, Some(Ok(_)));
            if done(actions.delete.value().get().map(|r| r.map(|_| ())))
                || done(actions.rename.value().get().map(|r| r.map(|_| ())))
                || done(actions.discard.value().get())
            {
                actions.editing.set(false);
                shared.changed.update(|n| *n += 1);
            }
        });
        // The URL comes back from the server; going there downloads (Content-Disposition).
        Effect::new(move || {
            if let Some(Ok(url)) = actions.download.value().get() {
                let _ = window().location().set_href(&url);
            }
        });
        actions
    }

    /// Forgets what the row's other actions said: a row says what its last action did.
    fn starting(&self) {
        self.delete.clear();
        self.download.clear();
        self.discard.clear();
    }

    /// The error of the row's last delete, download or discard.
    fn error(&self) -> Option<AppError> {
        let failed = |r: Option<Result<(), AppError>>| r.and_then(Result::err);
        failed(self.delete.value().get())
            .or_else(|| failed(self.discard.value().get()))
            .or_else(|| failed(self.download.value().get().map(|r| r.map(|_| ()))))
    }
}

/// A page of files: the storage use, how many files match and their size, the files (or how
/// to upload the first one), and links to the next page and back to the first.
fn listing(page: FilePage, url: ListUrl, shared: Shared) -> impl IntoView {
    let FilePage {
        files,
        next_cursor,
        matching_files,
        matching_bytes,
        usage,
    } = page;
    // Read untracked, as the page is: the URL changes before the resource answers for it.
    let (name, sort) = untrack(|| (url.param("name"), url.param("sort")));
    let searching = !name.is_empty();
    let files = if files.is_empty() && url.on_first_page() {
        if searching {
            view! { <p class="empty">"No files match."</p> }.into_any()
        } else {
            view! {
                <p class="empty">"No files yet. " <A href="/upload">"Upload your first file"</A> "."</p>
            }
            .into_any()
        }
    } else {
        view! {
            <ListTable
                items=files
                columns=&[Shown("Name"), Shown("Size"), Shown("Type"), Shown("Uploaded (UTC)"),
                    Shown("Status"), Shown("Checksum (SHA-256)"), Shown("Actions")]
                row=move |file: FileView| view! { <FileRow file shared/> }
                class="files"
                label="Files"
            />
        }
        .into_any()
    };
    // Pages of the default sort run back in time; of the others, just on.
    let (first_label, next_label) = match sort.as_str() {
        "" | "newest" => ("Newest files", "Older files"),
        _ => ("First page", "Next page"),
    };
    let count = match matching_files {
        1 => "1 file".to_owned(),
        n => format!("{n} files"),
    };
    view! {
        {usage_view(usage)}
        <p class="file-count" role="status">{format!("{count} · {}", bytes(matching_bytes))}</p>
        {files}
        {pager(url, next_cursor, first_label, next_label)}
    }
}

fn usage_view(usage: UserView) -> impl IntoView {
    let held = usage.used_bytes + usage.reserved_bytes;
    let text = if usage.reserved_bytes > 0 {
        format!(
            "{} of {} used ({} held for uploads in progress)",
            bytes(usage.used_bytes),
            bytes(usage.quota_bytes),
            bytes(usage.reserved_bytes)
        )
    } else {
        format!(
            "{} of {} used",
            bytes(usage.used_bytes),
            bytes(usage.quota_bytes)
        )
    };
    // Markup: it only shows (views of its elements would cost the bundle their own code).
    let html = format!(
        r#"<meter aria-label="Storage used" min="0" max="100" high="90" value="{}"></meter><span>{text}</span>"#,
        percent(held, usage.quota_bytes)
    );
    view! { <div class="usage" inner_html=html></div> }
}

#[component]
fn FileRow(file: FileView, shared: Shared) -> impl IntoView {
    let FileView {
        id,
        name,
        content_type,
        size_bytes,
        status,
        created_at,
        failure,
        checksum,
        integrity,
        received_from,
        received_message,
        ..
    } = file;
    let actions = Actions::new(shared);
    // Sent in through an upload request: by whom, and what they said.
    let received = received_from.map(|from| {
        let from = if from.is_empty() {
            "someone".to_owned()
        } else {
            from
        };
        match received_message {
            Some(message) => format!("Received from {from}: “{message}”"),
            None => format!("Received from {from}"),
        }
    });
    view! {
        <tr aria-label=name.clone()>
            <td class="file-name" data-label="Name">
                {name_cell(id, name.clone(), actions)}
                {received.map(|words| view! { <span class="received">{words}</span> })}
            </td>
            <td data-label="Size">{bytes(size_bytes)}</td>
            <td class="secondary" data-label="Type">{content_type}</td>
            <td
                class="secondary"
                data-label="Uploaded"
                inner_html=format!(r#"<time datetime="{}">{}</time>"#, esc(&created_at), when(&created_at))
            ></td>
            <td class="file-status" data-label="Status">
                {status_cell(id, size_bytes, status, failure, actions)}
            </td>
            <td class="secondary" data-label="Checksum">
                {checksum.map(|checksum| checksum_view(checksum, name.clone()))}
                {(status == FileStatus::Complete).then(|| view! {
                    <span class="integrity" data-integrity=integrity.as_str()>{integrity.label()}</span>
                })}
            </td>
            <td class="file-actions">
                {file_actions(id, name.clone(), status, actions)}
                {move || actions.error().map(error_view)}
            </td>
        </tr>
    }
}

/// The file's name (shortened with an ellipsis, whole on hover), or the field that renames
/// it in place: Enter or Save renames, Escape or Cancel leaves it. A refused name stays in the
/// field with the reason beside it; a name another file has asks first.
fn name_cell(id: FileId, name: String, actions: Actions) -> impl IntoView {
    let draft = RwSignal::new(name.clone());
    let input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move || {
        if let Some(input) = input.get() {
            let _ = input.focus();
            input.select();
        }
    });
    let rename = actions.rename;
    let save = move |anyway: bool| {
        rename.dispatch(RenameFile {
            file_id: id,
            name: draft.get_untracked(),
            anyway: Some(anyway),
        });
    };
    let cancel = move || {
        actions.editing.set(false);
        rename.clear();
    };
    let label = format!("New name for {name}");
    let field = move || {
        view! {
            <form class="rename" on:submit=move |ev| { ev.prevent_default(); save(false); }>
                <input
                    type="text"
                    node_ref=input
                    aria-label=label.clone()
                    prop:value=draft
                    on:input=move |ev| draft.set(event_target_value(&ev))
                    on:keydown=move |ev| if ev.key() == "Escape" { cancel() }
                />
                <button type="submit" class="link">"Save"</button>
                <button type="button" class="link" on:click=move |_| cancel()>"Cancel"</button>
            </form>
            {move || match rename.value().get() {
                Some(Err(taken @ AppError::NameTaken(_))) => view! {
                    <p class="form-error" role="alert">
                        {format!("{taken} Rename anyway?")} " "
                        <button type="button" class="link" on:click=move |_| save(true)>"Rename anyway"</button>
                    </p>
                }
                .into_any(),
                Some(Err(error)) => error_view(error).into_any(),
                _ => ().into_any(),
            }}
        }
    };
    move || {
        if actions.editing.get() {
            // Opened again: from the name as it stands, not what a refused try left.
            draft.set(name.clone());
            field().into_any()
        } else {
            view! { <span class="name" title=name.clone()>{name.clone()}</span> }.into_any()
        }
    }
}

/// The file's state: live progress while this tab uploads it, what S3 holds of an upload
/// left unfinished, the reason a file failed.
fn status_cell(
    id: FileId,
    size: u64,
    status: FileStatus,
    failure: Option<String>,
    actions: Actions,
) -> impl IntoView {
    let running = move || actions.queue.item_for(id);
    move || match (status, running()) {
        (FileStatus::Uploading, Some(item)) => live(item).into_any(),
        (FileStatus::Uploading, None) => landed(id, size).into_any(),
        (FileStatus::Failed, _) => {
            let reason = failure.clone().unwrap_or_else(|| "unknown reason".into());
            view! { <span class="failed">{format!("Failed: {reason}")}</span> }.into_any()
        }
        (status, _) => status.label().into_any(),
    }
}

/// Download, resume or discard, rename, delete.
fn file_actions(id: FileId, name: String, status: FileStatus, actions: Actions) -> impl IntoView {
    let on_download = move |_| {
        actions.starting();
        actions.download.dispatch(DownloadUrl { file_id: id });
    };
    let on_rename = move |_| {
        actions.starting();
        actions.rename.clear();
        actions.editing.set(true);
    };
    let on_delete = {
        let name = name.clone();
        move |_| {
            let question = format!("Delete {name}? This cannot be undone.");
            if window().confirm_with_message(&question).unwrap_or(false) {
                actions.starting();
                actions.delete.dispatch(DeleteFile { file_id: id });
            }
        }
    };
    // A file deleted while this tab uploads it: the upload stops at once and says why.
    Effect::new(move || {
        if let Some(Ok(_)) = actions.delete.value().get() {
            actions.queue.deleted(id);
        }
    });
    let unfinished = (status == FileStatus::Uploading).then(|| {
        // The upload of this file, when this tab is running it.
        let running = move || actions.queue.item_for(id);
        let name = name.clone();
        unfinished_actions(id, name, actions, running)
    });
    let download_label = format!("Download {name}");
    let share_label = format!("Share {name}");
    let share_href = format!("/files/{id}/share");
    view! {
        <Show when=move || status == FileStatus::Complete>
            <button type="button" class="link" aria-label=download_label.clone() on:click=on_download>
                "Download"
            </button>
            // A page of the server's own (no bundle): the router must not take it.
            <a class="link" href=share_href.clone() rel="external" aria-label=share_label.clone()>
                "Share"
            </a>
        </Show>
        {unfinished}
        <button type="button" class="link" aria-label=format!("Rename {name}") on:click=on_rename>
            "Rename"
        </button>
        <button type="button" class="link danger" aria-label=format!("Delete {name}") on:click=on_delete>
            "Delete"
        </button>
    }
}

/// Progress of an upload this tab is running, live.
fn live(item: crate::upload::queue::Item) -> impl IntoView {
    let size = item.size;
    let done = move || percent(item.sent_bytes.get(), size);
    view! {
        {Signal::derive(move || match item.phase.get() {
            Phase::Done => "Complete".to_owned(),
            Phase::Failed => format!("Failed: {}", item.error.get().unwrap_or_default()),
            Phase::Uploading => format!("Uploading {}%", done()),
            phase => phase.label().to_owned(),
        })}
        <progress max="100" value=done aria-label=format!("{} progress", item.name)></progress>
    }
}

/// How much of an unfinished upload reached the storage (S3's list of parts), asked by the
/// browser once the page is up: the page itself never waits for S3.
fn landed(id: FileId, size: u64) -> impl IntoView {
    let landed = RwSignal::new(None::<u64>);
    Effect::new(move || {
        leptos::task::spawn_local(async move {
            if let Ok(parts) = uploaded_parts(id).await {
                // The row may be gone by now.
                let _ = landed.try_set(Some(parts.iter().map(|p| p.size).sum()));
            }
        });
    });
    Signal::derive(move || match landed.get() {
        // Parts on their way count once they land: "0 B uploaded" would read as nothing sent.
        Some(0) => "Unfinished: no part has landed in the storage yet".to_owned(),
        Some(landed) => format!(
            "Unfinished: {} of {} uploaded ({}%)",
            bytes(landed),
            bytes(size),
            percent(landed, size)
        ),
        None => "Unfinished".to_owned(),
    })
}

/// Resume (pick the file again on the upload page) and Discard, for an unfinished upload
/// that this tab is not running.
fn unfinished_actions(
    id: FileId,
    name: String,
    actions: Actions,
    running: impl Fn() -> Option<crate::upload::queue::Item> + Send + Sync + 'static,
) -> impl IntoView {
    let href = format!("/upload?resume={id}");
    let on_discard = {
        let name = name.clone();
        move |_| {
            let question = format!("Discard the unfinished upload of {name}?");
            if window().confirm_with_message(&question).unwrap_or(false) {
                #[cfg(feature = "hydrate")]
                crate::upload::browser::remembered::forget(id);
                actions.starting();
                actions.discard.dispatch(AbortUpload { file_id: id });
            }
        }
    };
    view! {
        <Show when=move || running().is_none()>
            <A href=href.clone() attr:class="link" attr:aria-label=format!("Resume {name}")>
                "Resume"
            </A>
            <button type="button" class="link danger" aria-label=format!("Discard {name}") on:click=on_discard.clone()>
                "Discard"
            </button>
        </Show>
    }
}

/// A checksum, shortened, with its full value on hover and a button that copies it.
fn checksum_view(checksum: String, name: String) -> impl IntoView {
    let short = match checksum.split_once('-') {
        Some((digest, parts)) => format!("{}…-{parts}", digest.get(..10).unwrap_or(digest)),
        None => format!("{}…", checksum.get(..10).unwrap_or(&checksum)),
    };
    let copied = RwSignal::new(false);
    let on_copy = {
        let checksum = checksum.clone();
        move |_| {
            #[cfg(feature = "hydrate")]
            {
                let _ = window().navigator().clipboard().write_text(&checksum);
                copied.set(true);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = &checksum;
        }
    };
    view! {
        <code class="checksum" title=checksum.clone() data-checksum=checksum.clone()>{short}</code>
        " "
        <button type="button" class="link" aria-label=format!("Copy the checksum of {name}") on:click=on_copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}
