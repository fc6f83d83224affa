//! /admin/files: every user's files, filtered by owner, status, name and dates (kept in the
//! URL), newest or largest first, a page at a time; download, delete, abort, and delete many.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{Form, A};

use super::{page_link, query_param, when};
use crate::{
    api::admin::{admin_files, AdminAbortUpload, AdminDeleteFiles, AdminDownloadUrl},
    components::{error_view::ErrorView, loaded::loaded},
    format::bytes,
    model::{
        admin::{AdminFile, FileFilter},
        FileStatus, Integrity,
    },
};

/// The filters as they stand in the URL.
fn filter_from_url() -> (Memo<FileFilter>, Memo<String>) {
    let (owner, status, name, from, to, sort) = (
        query_param("owner"),
        query_param("status"),
        query_param("name"),
        query_param("from"),
        query_param("to"),
        query_param("sort"),
    );
    let filter = Memo::new(move |_| FileFilter {
        owner: owner.get(),
        status: status.get(),
        name: name.get(),
        from: from.get(),
        to: to.get(),
        sort: sort.get(),
    });
    (filter, query_param("cursor"))
}

#[component]
pub fn FilesPage() -> impl IntoView {
    let (filter, cursor) = filter_from_url();
    let delete = ServerAction::<AdminDeleteFiles>::new();
    let abort = ServerAction::<AdminAbortUpload>::new();
    let download = ServerAction::<AdminDownloadUrl>::new();
    let page = Resource::new(
        move || {
            (
                filter.get(),
                cursor.get(),
                delete.version().get(),
                abort.version().get(),
            )
        },
        |(filter, cursor, _, _)| async move {
            admin_files(filter, Some(cursor).filter(|c| !c.is_empty())).await
        },
    );
    Effect::new(move || {
        if let Some(Ok(url)) = download.value().get() {
            let _ = window().location().set_href(&url);
        }
    });
    let selected = RwSignal::new(BTreeMap::<String, u64>::new());
    Effect::new(move || {
        // A new page or a finished action starts with nothing selected.
        page.track();
        selected.set(BTreeMap::new());
    });
    let actions = Actions {
        delete,
        abort,
        download,
        selected,
    };
    view! {
        <Title text="Files — Admin — Haul"/>
        <h1>"Files"</h1>
        <Filters filter/>
        <ActionErrors actions/>
        <BulkDelete actions/>
        {loaded(
            page,
            move |page| {
                let next = page.next_cursor.map(|c| next_link(&filter.get(), &c));
                let first = (!cursor.get().is_empty()).then(|| next_link(&filter.get(), ""));
                view! {
                    <FileTable files=page.files actions/>
                    <Pager next first/>
                }
            },
        )}
    }
}

fn next_link(filter: &FileFilter, cursor: &str) -> String {
    page_link(
        "/admin/files",
        &[
            ("owner", filter.owner.clone()),
            ("status", filter.status.clone()),
            ("name", filter.name.clone()),
            ("from", filter.from.clone()),
            ("to", filter.to.clone()),
            ("sort", filter.sort.clone()),
        ],
        cursor,
    )
}

#[derive(Clone, Copy)]
struct Actions {
    delete: ServerAction<AdminDeleteFiles>,
    abort: ServerAction<AdminAbortUpload>,
    download: ServerAction<AdminDownloadUrl>,
    /// Selected files and their sizes.
    selected: RwSignal<BTreeMap<String, u64>>,
}

/// The filter form: a GET to this page, so the filters land in the URL.
#[component]
fn Filters(filter: Memo<FileFilter>) -> impl IntoView {
    let current = move || filter.get();
    view! {
        <Form method="GET" action="/admin/files" attr:class="filters" attr:aria-label="Filter files">
            <label>
                "Owner's email "
                <input type="email" name="owner" prop:value=move || current().owner/>
            </label>
            <label>
                "Status "
                <select name="status" prop:value=move || current().status>
                    <option value="">"Any"</option>
                    {[FileStatus::Uploading, FileStatus::Complete, FileStatus::Failed, FileStatus::Aborted]
                        .into_iter()
                        .map(|status| {
                            view! {
                                <option value=status.as_str() selected=move || current().status == status.as_str()>
                                    {status.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>
                "Name contains "
                <input type="search" name="name" minlength="3" prop:value=move || current().name/>
            </label>
            <label>
                "From " <input type="date" name="from" prop:value=move || current().from/>
            </label>
            <label>
                "To " <input type="date" name="to" prop:value=move || current().to/>
            </label>
            <label>
                "Sort "
                <select name="sort" prop:value=move || current().sort>
                    <option value="newest" selected=move || current().sort != "largest">"Newest first"</option>
                    <option value="largest" selected=move || current().sort == "largest">"Largest first"</option>
                </select>
            </label>
            <button type="submit" class="button">"Filter"</button>
            <A href="/admin/files">"Clear"</A>
        </Form>
    }
}

/// Errors of the last delete, abort or download.
#[component]
fn ActionErrors(actions: Actions) -> impl IntoView {
    let error = move || {
        let failed = |r: Option<Result<_, crate::error::AppError>>| r.and_then(Result::err);
        failed(actions.delete.value().get().map(|r| r.map(|_| ())))
            .or_else(|| failed(actions.abort.value().get()))
            .or_else(|| failed(actions.download.value().get().map(|r| r.map(|_| ()))))
    };
    let deleted = move || {
        actions
            .delete
            .value()
            .get()
            .and_then(Result::ok)
            .map(|d| format!("Deleted {} files ({}).", d.files, bytes(d.bytes)))
    };
    view! {
        {move || error().map(|error| view! { <ErrorView error/> })}
        {move || deleted().map(|text| view! { <p class="notice" role="status">{text}</p> })}
    }
}

/// Deletes the selected files, after a confirmation that says how many and how large.
#[component]
fn BulkDelete(actions: Actions) -> impl IntoView {
    let count = move || actions.selected.with(|s| s.len());
    let on_click = move |_| {
        let (ids, total): (Vec<String>, u64) = actions
            .selected
            .with(|s| (s.keys().cloned().collect(), s.values().sum()));
        let question = format!(
            "Delete {} files ({})? Their bytes are removed from the storage. This cannot be undone.",
            ids.len(),
            bytes(total)
        );
        if window().confirm_with_message(&question).unwrap_or(false) {
            actions.delete.dispatch(AdminDeleteFiles { file_ids: ids });
        }
    };
    view! {
        <p class="bulk">
            <button type="button" class="button danger" disabled=move || count() == 0 on:click=on_click>
                {move || format!("Delete selected ({})", count())}
            </button>
        </p>
    }
}

#[component]
fn FileTable(files: Vec<AdminFile>, actions: Actions) -> impl IntoView {
    if files.is_empty() {
        return view! { <p>"No files match."</p> }.into_any();
    }
    view! {
        <table class="admin-table" aria-label="Files">
            <thead>
                <tr>
                    <th scope="col"><span class="visually-hidden">"Select"</span></th>
                    <th scope="col">"Owner"</th>
                    <th scope="col">"Name"</th>
                    <th scope="col">"Size"</th>
                    <th scope="col">"Type"</th>
                    <th scope="col">"Status"</th>
                    <th scope="col">"Created"</th>
                    <th scope="col">"Completed"</th>
                    <th scope="col">"Checksum"</th>
                    <th scope="col"><span class="visually-hidden">"Actions"</span></th>
                </tr>
            </thead>
            <tbody>
                {files.into_iter().map(|file| view! { <FileRow file actions/> }).collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

#[component]
fn FileRow(file: AdminFile, actions: Actions) -> impl IntoView {
    let AdminFile {
        file,
        owner_email,
        completed_at,
    } = file;
    let (id, name, size, status) = (
        file.id.clone(),
        file.name.clone(),
        file.size_bytes,
        file.status,
    );
    let checked = {
        let id = id.clone();
        move || actions.selected.with(|s| s.contains_key(&id))
    };
    let on_check = {
        let id = id.clone();
        move |event: leptos::ev::Event| {
            let on = event_target_checked(&event);
            actions.selected.update(|s| {
                if on {
                    s.insert(id.clone(), size);
                } else {
                    s.remove(&id);
                }
            });
        }
    };
    let checksum = file.checksum.clone().unwrap_or_default();
    let short = checksum
        .get(..12)
        .map(|s| format!("{s}…"))
        .unwrap_or_else(|| checksum.clone());
    view! {
        <tr aria-label=name.clone()>
            <td>
                <input type="checkbox" aria-label=format!("Select {name}") prop:checked=checked on:change=on_check/>
            </td>
            <td>{owner_email}</td>
            <td class="file-name">{name.clone()}</td>
            <td>{bytes(size)}</td>
            <td class="secondary">{file.content_type}</td>
            <td>{status.label()}</td>
            <td class="secondary">{when(&file.created_at)}</td>
            <td class="secondary">{completed_at.as_deref().map(when)}</td>
            <td class="secondary" title=format!("{checksum} ({})", file.integrity.label())>
                {short}
                {(status == FileStatus::Complete && file.integrity != Integrity::Sha256)
                    .then(|| view! { <span class="integrity">{file.integrity.label()}</span> })}
            </td>
            <td class="file-actions">
                <RowActions id name=name.clone() size status actions/>
            </td>
        </tr>
    }
}

/// Download (complete files), abort (uploads), delete.
#[component]
fn RowActions(
    id: String,
    name: String,
    size: u64,
    status: FileStatus,
    actions: Actions,
) -> impl IntoView {
    let on_delete = {
        let (id, name) = (id.clone(), name.clone());
        move |_| {
            let question = format!("Delete {name} ({})? This cannot be undone.", bytes(size));
            if window().confirm_with_message(&question).unwrap_or(false) {
                actions.delete.dispatch(AdminDeleteFiles {
                    file_ids: vec![id.clone()],
                });
            }
        }
    };
    let (abort_id, download_id) = (id.clone(), id);
    let on_abort = move |_| {
        actions.abort.dispatch(AdminAbortUpload {
            file_id: abort_id.clone(),
        });
    };
    let on_download = move |_| {
        actions.download.dispatch(AdminDownloadUrl {
            file_id: download_id.clone(),
        });
    };
    view! {
        {(status == FileStatus::Complete).then(|| view! {
            <button type="button" class="link" aria-label=format!("Download {name}") on:click=on_download>"Download"</button>
        })}
        {(status == FileStatus::Uploading).then(|| view! {
            <button type="button" class="link" aria-label=format!("Abort {name}") on:click=on_abort>"Abort"</button>
        })}
        <button type="button" class="link danger" aria-label=format!("Delete {name}") on:click=on_delete>"Delete"</button>
    }
}

/// Links to the next page and back to the first.
#[component]
pub fn Pager(next: Option<String>, first: Option<String>) -> impl IntoView {
    view! {
        <nav class="pager" aria-label="Pages">
            {first.map(|href| view! { <A href=href>"First page"</A> })}
            {next.map(|href| view! { <A href=href>"Next page"</A> })}
        </nav>
    }
}
