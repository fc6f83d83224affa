//! /admin/files: every user's files, filtered by owner, status, name and dates (kept in the
//! URL), newest or largest first, a page at a time; download, delete, abort, and delete many.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;

use super::when;
use crate::{
    api::admin::{admin_files, AdminAbortUpload, AdminDeleteFiles, AdminDownloadUrl},
    components::{
        error_view::error_view,
        list::{pager, FilterForm, ListUrl},
        loaded::loaded,
        table::{
            Column::{Hidden, Shown},
            ListTable,
        },
    },
    error::AppError,
    format::bytes,
    model::{
        admin::{AdminFile, AdminFilePage, FileFilter},
        FileId, FileStatus, Integrity,
    },
};

pub fn files_page() -> impl IntoView {
    let url = ListUrl::new(
        "/admin/files",
        &["owner", "status", "name", "from", "to", "sort"],
    );
    let delete = ServerAction::<AdminDeleteFiles>::new();
    let abort = ServerAction::<AdminAbortUpload>::new();
    let download = ServerAction::<AdminDownloadUrl>::new();
    let filter = move || FileFilter {
        owner: url.param("owner"),
        status: url.param("status"),
        name: url.param("name"),
        from: url.param("from"),
        to: url.param("to"),
        sort: url.param("sort"),
    };
    let reload = move || (delete.version().get(), abort.version().get());
    let page = url.resource(filter, reload, admin_files);
    Effect::new(move || {
        if let Some(Ok(url)) = download.value().get() {
            let _ = window().location().set_href(&url);
        }
    });
    let selected = RwSignal::new(BTreeMap::<FileId, u64>::new());
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
        {filters(url, page)}
        {action_errors(actions)}
        {bulk_delete(actions)}
        {loaded(page, move |page| view! {
            <ListTable
                items=page.files
                columns=&[Hidden("Select"), Shown("Owner"), Shown("Name"), Shown("Size"),
                    Shown("Type"), Shown("Status"), Shown("Created"),
                    Shown("Completed"), Shown("Checksum"), Hidden("Actions")]
                row=move |file: AdminFile| view! { <FileRow file actions/> }
                class="admin-table"
                label="Files"
                empty="No files match."
            />
            {pager(url, page.next_cursor, "First page", "Next page")}
        })}
    }
}

#[derive(Clone, Copy)]
struct Actions {
    delete: ServerAction<AdminDeleteFiles>,
    abort: ServerAction<AdminAbortUpload>,
    download: ServerAction<AdminDownloadUrl>,
    /// Selected files and their sizes.
    selected: RwSignal<BTreeMap<FileId, u64>>,
}

/// The filter form's fields. The server's word on a field (a name too short) shows under it.
fn filters(url: ListUrl, page: Resource<Result<AdminFilePage, AppError>>) -> impl IntoView {
    let param = move |name: &'static str| move || url.param(name);
    // Read under a Transition, as the page's table is: the server waits for the answer.
    let name_error = move || {
        page.get()
            .and_then(Result::err)
            .and_then(|error| error.field("name"))
    };
    view! {
        <FilterForm url label="Filter files" clear=true>
            <label>
                "Owner's email "
                <input type="email" name="owner" prop:value=param("owner")/>
            </label>
            <label>
                "Status "
                <select name="status" prop:value=param("status")>
                    <option value="">"Any"</option>
                    {[FileStatus::Uploading, FileStatus::Complete, FileStatus::Failed, FileStatus::Aborted]
                        .into_iter()
                        .map(|status| {
                            view! {
                                <option value=status.as_str() selected=move || url.param("status") == status.as_str()>
                                    {status.label()}
                                </option>
                            }
                        })
                        .collect_view()}
                </select>
            </label>
            // The error beside the label, not in it: it describes the field, not names it.
            <div class="filter-field">
                <label>
                    "Name contains "
                    <input type="search" name="name" aria-describedby="name-filter-error" prop:value=param("name")/>
                </label>
                <span class="field-error" id="name-filter-error">
                    <Transition fallback=|| ()>{name_error}</Transition>
                </span>
            </div>
            <label>
                "From " <input type="date" name="from" prop:value=param("from")/>
            </label>
            <label>
                "To " <input type="date" name="to" prop:value=param("to")/>
            </label>
            <label>
                "Sort "
                // "newest" when the URL names no sort: a value no option has would show none.
                <select name="sort" prop:value=move || if url.param("sort") == "largest" { "largest" } else { "newest" }>
                    <option value="newest" selected=move || url.param("sort") != "largest">"Newest first"</option>
                    <option value="largest" selected=move || url.param("sort") == "largest">"Largest first"</option>
                </select>
            </label>
        </FilterForm>
    }
}

/// Errors of the last delete, abort or download.
fn action_errors(actions: Actions) -> impl IntoView {
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
        {move || error().map(error_view)}
        {move || deleted().map(|text| view! { <p class="notice" role="status">{text}</p> })}
    }
}

/// Deletes the selected files, after a confirmation that says how many and how large.
fn bulk_delete(actions: Actions) -> impl IntoView {
    let count = move || actions.selected.with(|s| s.len());
    let on_click = move |_| {
        let (ids, total): (Vec<FileId>, u64) = actions
            .selected
            .with(|s| (s.keys().copied().collect(), s.values().sum()));
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
                {Signal::derive(move || format!("Delete selected ({})", count()))}
            </button>
        </p>
    }
}

#[component]
fn FileRow(file: AdminFile, actions: Actions) -> impl IntoView {
    let AdminFile {
        file,
        owner_email,
        completed_at,
    } = file;
    let (id, name, size, status) = (file.id, file.name.clone(), file.size_bytes, file.status);
    let checked = move || actions.selected.with(|s| s.contains_key(&id));
    let on_check = move |event: leptos::ev::Event| {
        let on = event_target_checked(&event);
        actions.selected.update(|s| {
            if on {
                s.insert(id, size);
            } else {
                s.remove(&id);
            }
        });
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
            <td class="email" data-label="Owner" title=owner_email.clone()>{owner_email.clone()}</td>
            <td class="file-name" title=name.clone()>{name.clone()}</td>
            <td data-label="Size">{bytes(size)}</td>
            <td class="secondary" data-label="Type">{file.content_type}</td>
            <td data-label="Status">{status.label()}</td>
            <td class="secondary when" data-label="Created">{when(&file.created_at)}</td>
            <td class="secondary when" data-label="Completed">{completed_at.as_deref().map(when)}</td>
            <td
                class="secondary"
                data-label="Checksum"
                title=format!("{checksum} ({})", file.integrity.label())
            >
                {short}
                {(status == FileStatus::Complete && file.integrity != Integrity::Sha256)
                    .then(|| view! { <span class="integrity">{file.integrity.label()}</span> })}
            </td>
            <td class="file-actions">
                {row_actions(id, name.clone(), size, status, actions)}
            </td>
        </tr>
    }
}

/// Download (complete files), abort (uploads), delete.
fn row_actions(
    id: FileId,
    name: String,
    size: u64,
    status: FileStatus,
    actions: Actions,
) -> impl IntoView {
    let on_delete = {
        let name = name.clone();
        move |_| {
            let question = format!("Delete {name} ({})? This cannot be undone.", bytes(size));
            if window().confirm_with_message(&question).unwrap_or(false) {
                actions
                    .delete
                    .dispatch(AdminDeleteFiles { file_ids: vec![id] });
            }
        }
    };
    let on_abort = move |_| {
        actions.abort.dispatch(AdminAbortUpload { file_id: id });
    };
    let on_download = move |_| {
        actions.download.dispatch(AdminDownloadUrl { file_id: id });
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
