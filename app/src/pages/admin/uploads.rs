//! /admin/uploads: every upload in progress, oldest first, with its age and the time before
//! the sweeper aborts it; what S3 holds of one on demand; abort one, or all of a user's.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::admin::{admin_uploads, AdminAbortUpload, AdminAbortUserUploads, AdminLandedParts},
    components::{
        error_view::error_view,
        list::{pager, FilterForm, ListUrl},
        loaded::loaded,
        table::{
            Column::{Hidden, Shown},
            ListTable,
        },
    },
    format::{bytes, duration},
    model::{admin::AdminUpload, FileId, UserId},
};

#[derive(Clone, Copy)]
struct Actions {
    abort: ServerAction<AdminAbortUpload>,
    abort_all: ServerAction<AdminAbortUserUploads>,
}

pub fn uploads_page() -> impl IntoView {
    let url = ListUrl::new("/admin/uploads", &["owner"]);
    let actions = Actions {
        abort: ServerAction::new(),
        abort_all: ServerAction::new(),
    };
    let page = url.resource(
        move || url.param("owner"),
        move || {
            (
                actions.abort.version().get(),
                actions.abort_all.version().get(),
            )
        },
        |owner, cursor| admin_uploads(Some(owner), cursor),
    );
    let error = move || {
        actions
            .abort
            .value()
            .get()
            .and_then(Result::err)
            .or_else(|| actions.abort_all.value().get().and_then(Result::err))
    };
    let aborted = move || {
        actions
            .abort_all
            .value()
            .get()
            .and_then(Result::ok)
            .map(|n| format!("Aborted {n} uploads."))
    };
    view! {
        <Title text="Uploads — Admin — Haul"/>
        <h1>"Uploads in progress"</h1>
        <FilterForm url label="Filter uploads">
            <label>
                "Owner's email " <input type="email" name="owner" prop:value=move || url.param("owner")/>
            </label>
        </FilterForm>
        {move || error().map(error_view)}
        {move || aborted().map(|text| view! { <p class="notice" role="status">{text}</p> })}
        {loaded(page, move |page| view! {
            <ListTable
                items=page.uploads
                columns=&[Shown("Owner"), Shown("Name"), Shown("Size"), Shown("Parts"),
                    Shown("Age"), Shown("Aborted in"), Hidden("Actions")]
                row=move |upload: AdminUpload| view! { <UploadRow upload actions/> }
                class="admin-table"
                label="Uploads in progress"
                empty="No uploads in progress."
            />
            {pager(url, page.next_cursor, "First page", "Next page")}
        })}
    }
}

#[component]
fn UploadRow(upload: AdminUpload, actions: Actions) -> impl IntoView {
    let AdminUpload {
        file,
        owner_id,
        owner_email,
        signed_parts,
        age_seconds,
        seconds_left,
    } = upload;
    let name = file.name.clone();
    let landed = ServerAction::<AdminLandedParts>::new();
    let file_id = file.id;
    let parts = Signal::derive(move || match landed.value().get() {
        Some(Ok(held)) => format!(
            "{} of {} in S3 ({})",
            held.landed_parts,
            held.part_count,
            bytes(held.landed_bytes)
        ),
        Some(Err(error)) => error.to_string(),
        None => format!("{signed_parts} of {} signed", file.part_count),
    });
    view! {
        <tr aria-label=name.clone()>
            <td class="email" data-label="Owner" title=owner_email.clone()>{owner_email.clone()}</td>
            <td class="file-name" title=name.clone()>{name.clone()}</td>
            <td data-label="Size">{bytes(file.size_bytes)}</td>
            <td data-label="Parts">{parts}</td>
            <td data-label="Age">{duration(age_seconds as f64)}</td>
            <td data-label="Aborted in">{duration(seconds_left as f64)}</td>
            <td class="file-actions">
                <button
                    type="button"
                    class="link"
                    aria-label=format!("Check S3 for {name}")
                    on:click=move |_| {
                        landed.dispatch(AdminLandedParts { file_id });
                    }
                >
                    "Check S3"
                </button>
                {abort_buttons(file_id, name.clone(), owner_id, owner_email.clone(), actions)}
            </td>
        </tr>
    }
}

/// Abort this upload, or every upload of its owner (after a confirmation).
fn abort_buttons(
    file_id: FileId,
    name: String,
    owner_id: UserId,
    owner_email: String,
    actions: Actions,
) -> impl IntoView {
    let on_abort_all = {
        let email = owner_email.clone();
        move |_| {
            let question = format!("Abort every upload in progress of {email}?");
            if window().confirm_with_message(&question).unwrap_or(false) {
                actions
                    .abort_all
                    .dispatch(AdminAbortUserUploads { user_id: owner_id });
            }
        }
    };
    view! {
        <button
            type="button"
            class="link danger"
            aria-label=format!("Abort {name}")
            on:click=move |_| {
                actions.abort.dispatch(AdminAbortUpload { file_id });
            }
        >
            "Abort"
        </button>
        <button
            type="button"
            class="link danger"
            aria-label=format!("Abort all of this user: {owner_email}")
            on:click=on_abort_all
        >
            "Abort all of this user"
        </button>
    }
}
