//! "My files": the caller's files from PostgreSQL, newest first, with download, rename and
//! delete, and their storage use against the quota.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::{
    api::files::{list_files, DeleteFile, DownloadUrl, RenameFile},
    components::require_user::RequireUser,
    model::{FilePage, FileStatus, FileView, UserView},
    upload::progress::{bytes, percent},
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
    let cursor = RwSignal::new(None::<String>);
    let delete = ServerAction::<DeleteFile>::new();
    let rename = ServerAction::<RenameFile>::new();
    let download = ServerAction::<DownloadUrl>::new();
    let page = Resource::new(
        move || (cursor.get(), delete.version().get(), rename.version().get()),
        |(cursor, _, _)| list_files(cursor),
    );
    // The URL comes back from the server; going there downloads (Content-Disposition).
    Effect::new(move || {
        if let Some(Ok(url)) = download.value().get() {
            let _ = window().location().set_href(&url);
        }
    });
    let action_error = move || {
        let failed = |e: Option<Result<_, crate::error::AppError>>| e.and_then(Result::err);
        failed(delete.value().get().map(|r| r.map(|_| ())))
            .or_else(|| failed(rename.value().get().map(|r| r.map(|_| ()))))
            .or_else(|| failed(download.value().get().map(|r| r.map(|_| ()))))
            .map(|e| e.to_string())
    };
    let actions = Actions {
        delete,
        rename,
        download,
    };
    view! {
        <div class="page-title">
            <h1>"My files"</h1>
            <A href="/upload" attr:class="button">"Upload files"</A>
        </div>
        <Show when=move || action_error().is_some()>
            <p class="form-error" role="alert">{action_error}</p>
        </Show>
        <Transition fallback=|| view! { <p>"Loading…"</p> }>
            {move || {
                page.get()
                    .map(|result| match result {
                        Ok(page) => view! { <Listing page cursor actions/> }.into_any(),
                        Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                    })
            }}
        </Transition>
    }
}

#[derive(Clone, Copy)]
struct Actions {
    delete: ServerAction<DeleteFile>,
    rename: ServerAction<RenameFile>,
    download: ServerAction<DownloadUrl>,
}

#[component]
fn Listing(page: FilePage, cursor: RwSignal<Option<String>>, actions: Actions) -> impl IntoView {
    let FilePage {
        files,
        next_cursor,
        usage,
    } = page;
    let first_page = cursor.get_untracked().is_none();
    view! {
        <Usage usage/>
        {if files.is_empty() && first_page {
            view! {
                <p class="empty">"No files yet. " <A href="/upload">"Upload your first file"</A> "."</p>
            }
                .into_any()
        } else {
            view! {
                <table class="files">
                    <thead>
                        <tr>
                            <th scope="col">"Name"</th>
                            <th scope="col">"Size"</th>
                            <th scope="col">"Type"</th>
                            <th scope="col">"Uploaded"</th>
                            <th scope="col">"Status"</th>
                            <th scope="col">"Actions"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {files.into_iter().map(|file| view! { <FileRow file actions/> }).collect_view()}
                    </tbody>
                </table>
            }
                .into_any()
        }}
        <nav class="pager" aria-label="Pages">
            <Show when=move || !first_page>
                <button type="button" class="button secondary" on:click=move |_| cursor.set(None)>
                    "Newest files"
                </button>
            </Show>
            {next_cursor
                .map(|next| {
                    view! {
                        <button type="button" class="button secondary" on:click=move |_| cursor.set(Some(next.clone()))>
                            "Older files"
                        </button>
                    }
                })}
        </nav>
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
        ..
    } = file;
    let date = created_at.get(..10).unwrap_or(&created_at).to_owned();
    let status_text = match (&status, failure) {
        (FileStatus::Failed, Some(reason)) => format!("Failed: {reason}"),
        (status, _) => status.label().to_owned(),
    };
    let on_download = {
        let id = id.clone();
        move |_| {
            actions.download.dispatch(DownloadUrl {
                file_id: id.clone(),
            });
        }
    };
    let on_rename = {
        let (id, name) = (id.clone(), name.clone());
        move |_| {
            if let Ok(Some(new_name)) = window().prompt_with_message_and_default("New name", &name)
            {
                if new_name != name {
                    actions.rename.dispatch(RenameFile {
                        file_id: id.clone(),
                        name: new_name,
                    });
                }
            }
        }
    };
    let on_delete = {
        let (id, name) = (id.clone(), name.clone());
        move |_| {
            let question = format!("Delete {name}? This cannot be undone.");
            if window().confirm_with_message(&question).unwrap_or(false) {
                actions.delete.dispatch(DeleteFile {
                    file_id: id.clone(),
                });
            }
        }
    };
    let download_label = format!("Download {name}");
    view! {
        <tr aria-label=name.clone()>
            <td class="file-name">{name.clone()}</td>
            <td>{bytes(size_bytes)}</td>
            <td>{content_type}</td>
            <td>{date}</td>
            <td>{status_text}</td>
            <td class="file-actions">
                <Show when=move || status == FileStatus::Complete>
                    <button type="button" class="link" aria-label=download_label.clone() on:click=on_download.clone()>
                        "Download"
                    </button>
                </Show>
                <button type="button" class="link" aria-label=format!("Rename {name}") on:click=on_rename>
                    "Rename"
                </button>
                <button type="button" class="link danger" aria-label=format!("Delete {name}") on:click=on_delete>
                    "Delete"
                </button>
            </td>
        </tr>
    }
}
