//! "My files": the caller's files from PostgreSQL, newest first, a page at a time (the cursor
//! in the URL), with download, rename and delete, and their storage use against the quota.
//! Unfinished uploads show how much landed, with Resume and Discard; uploads this tab is
//! running show live progress.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::{
        files::{list_files, DeleteFile, DownloadUrl, RenameFile},
        uploads::{uploaded_parts, AbortUpload},
    },
    components::{
        error_view::ErrorView,
        list::{ListUrl, Pager},
        loaded::loaded,
        require_user::RequireUser,
        table::{Column::Shown, ListTable},
    },
    format::{bytes, percent},
    model::{FileId, FilePage, FileStatus, FileView, UserView},
    upload::queue::{Phase, Queue},
};

#[component]
pub fn FilesPage() -> impl IntoView {
    view! {
        <Title text="My files — Haul"/>
        <RequireUser children=|_user| view! { <FileList/> }/>
    }
}

#[component]
fn FileList() -> impl IntoView {
    let url = ListUrl::new("/files", &[]);
    let delete = ServerAction::<DeleteFile>::new();
    let rename = ServerAction::<RenameFile>::new();
    let download = ServerAction::<DownloadUrl>::new();
    let discard = ServerAction::<AbortUpload>::new();
    let queue = expect_context::<Queue>();
    // Read again when a file changes here, or an upload this tab runs completes.
    let reload = move || {
        (
            delete.version().get(),
            rename.version().get(),
            discard.version().get(),
            queue.completed.get(),
        )
    };
    let page = url.resource(|| (), reload, |(), cursor| list_files(cursor));
    // The URL comes back from the server; going there downloads (Content-Disposition).
    Effect::new(move || {
        if let Some(Ok(url)) = download.value().get() {
            let _ = window().location().set_href(&url);
        }
    });
    let action_error = move || {
        let failed = |e: Option<Result<_, crate::error::AppError>>| e.and_then(Result::err);
        failed(delete.value().get().map(|r| r.map(|_| ())))
            .or_else(|| failed(discard.value().get()))
            .or_else(|| failed(rename.value().get().map(|r| r.map(|_| ()))))
            .or_else(|| failed(download.value().get().map(|r| r.map(|_| ()))))
    };
    let actions = Actions {
        delete,
        rename,
        download,
        discard,
        queue,
    };
    view! {
        <div class="page-title">
            <h1>"My files"</h1>
            <A href="/upload" attr:class="button">"Upload files"</A>
        </div>
        {move || action_error().map(|error| view! { <ErrorView error/> })}
        {loaded(page, move |page| view! { <Listing page url actions/> })}
    }
}

#[derive(Clone, Copy)]
struct Actions {
    delete: ServerAction<DeleteFile>,
    rename: ServerAction<RenameFile>,
    download: ServerAction<DownloadUrl>,
    discard: ServerAction<AbortUpload>,
    queue: Queue,
}

/// A page of files: the storage use, the files (or how to upload the first one), and links
/// to older files and back to the newest.
#[component]
fn Listing(page: FilePage, url: ListUrl, actions: Actions) -> impl IntoView {
    let FilePage {
        files,
        next_cursor,
        usage,
    } = page;
    let files = if files.is_empty() && url.on_first_page() {
        view! {
            <p class="empty">"No files yet. " <A href="/upload">"Upload your first file"</A> "."</p>
        }
        .into_any()
    } else {
        view! {
            <ListTable
                items=files
                columns=&[Shown("Name"), Shown("Size"), Shown("Type"), Shown("Uploaded"),
                    Shown("Status"), Shown("Checksum (SHA-256)"), Shown("Actions")]
                row=move |file: FileView| view! { <FileRow file actions/> }
                class="files"
            />
        }
        .into_any()
    };
    view! {
        <Usage usage/>
        {files}
        <Pager url next=next_cursor first_label="Newest files" next_label="Older files"/>
    }
}

#[component]
fn Usage(usage: UserView) -> impl IntoView {
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
    view! {
        <div class="usage">
            <meter
                aria-label="Storage used"
                min="0"
                max="100"
                high="90"
                value=percent(held, usage.quota_bytes)
            ></meter>
            <span>{text}</span>
        </div>
    }
}

#[component]
fn FileRow(file: FileView, actions: Actions) -> impl IntoView {
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
        ..
    } = file;
    let date = created_at.get(..10).unwrap_or(&created_at).to_owned();
    view! {
        <tr aria-label=name.clone()>
            <td class="file-name" data-label="Name">{name.clone()}</td>
            <td data-label="Size">{bytes(size_bytes)}</td>
            <td class="secondary" data-label="Type">{content_type}</td>
            <td class="secondary" data-label="Uploaded">{date}</td>
            <td class="file-status" data-label="Status">
                <StatusCell id size=size_bytes status failure actions/>
            </td>
            <td class="secondary" data-label="Checksum">
                {checksum.map(|checksum| view! { <Checksum checksum name=name.clone()/> })}
                {(status == FileStatus::Complete).then(|| view! {
                    <span class="integrity" data-integrity=integrity.as_str()>{integrity.label()}</span>
                })}
            </td>
            <td class="file-actions">
                <FileActions id name=name.clone() status actions/>
            </td>
        </tr>
    }
}

/// The file's state: live progress while this tab uploads it, what S3 holds of an upload
/// left unfinished, the reason a file failed.
#[component]
fn StatusCell(
    id: FileId,
    size: u64,
    status: FileStatus,
    failure: Option<String>,
    actions: Actions,
) -> impl IntoView {
    let running = move || actions.queue.item_for(id);
    move || match (status, running()) {
        (FileStatus::Uploading, Some(item)) => view! { <Live item/> }.into_any(),
        (FileStatus::Uploading, None) => view! { <Landed id size/> }.into_any(),
        (FileStatus::Failed, _) => {
            let reason = failure.clone().unwrap_or_else(|| "unknown reason".into());
            view! { <span class="failed">{format!("Failed: {reason}")}</span> }.into_any()
        }
        (status, _) => status.label().into_any(),
    }
}

/// Download, resume or discard, rename, delete.
#[component]
fn FileActions(id: FileId, name: String, status: FileStatus, actions: Actions) -> impl IntoView {
    let on_download = move |_| {
        actions.download.dispatch(DownloadUrl { file_id: id });
    };
    let on_rename = {
        let name = name.clone();
        move |_| {
            if let Ok(Some(new_name)) = window().prompt_with_message_and_default("New name", &name)
            {
                if new_name != name {
                    actions.rename.dispatch(RenameFile {
                        file_id: id,
                        name: new_name,
                    });
                }
            }
        }
    };
    let on_delete = {
        let name = name.clone();
        move |_| {
            let question = format!("Delete {name}? This cannot be undone.");
            if window().confirm_with_message(&question).unwrap_or(false) {
                actions.delete.dispatch(DeleteFile { file_id: id });
            }
        }
    };
    let unfinished = (status == FileStatus::Uploading).then(|| {
        // The upload of this file, when this tab is running it.
        let running = move || actions.queue.item_for(id);
        let name = name.clone();
        view! { <UnfinishedActions id name actions running/> }
    });
    let download_label = format!("Download {name}");
    view! {
        <Show when=move || status == FileStatus::Complete>
            <button type="button" class="link" aria-label=download_label.clone() on:click=on_download>
                "Download"
            </button>
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
#[component]
fn Live(item: crate::upload::queue::Item) -> impl IntoView {
    let size = item.size;
    let done = move || percent(item.sent_bytes.get(), size);
    view! {
        {move || match item.phase.get() {
            Phase::Done => "Complete".to_owned(),
            Phase::Failed => format!("Failed: {}", item.error.get().unwrap_or_default()),
            Phase::Uploading => format!("Uploading {}%", done()),
            phase => phase.label().to_owned(),
        }}
        <progress max="100" value=done aria-label=format!("{} progress", item.name)></progress>
    }
}

/// How much of an unfinished upload reached the storage (S3's list of parts), asked by the
/// browser once the page is up: the page itself never waits for S3.
#[component]
fn Landed(id: FileId, size: u64) -> impl IntoView {
    let landed = RwSignal::new(None::<u64>);
    Effect::new(move || {
        leptos::task::spawn_local(async move {
            if let Ok(parts) = uploaded_parts(id).await {
                // The row may be gone by now.
                let _ = landed.try_set(Some(parts.iter().map(|p| p.size).sum()));
            }
        });
    });
    move || match landed.get() {
        Some(landed) => format!(
            "Unfinished: {} of {} uploaded ({}%)",
            bytes(landed),
            bytes(size),
            percent(landed, size)
        ),
        None => "Unfinished".to_owned(),
    }
}

/// Resume (pick the file again on the upload page) and Discard, for an unfinished upload
/// that this tab is not running.
#[component]
fn UnfinishedActions(
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
#[component]
fn Checksum(checksum: String, name: String) -> impl IntoView {
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
