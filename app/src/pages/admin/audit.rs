//! /admin/audit: the audit log, newest first, filtered by actor, action and dates (kept in
//! the URL), a page at a time.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;

use super::{files::Pager, page_link, query_param, when};
use crate::{
    api::admin::admin_audit,
    components::loaded::loaded,
    model::admin::{AuditEntry, AuditFilter},
};

/// Actions the log records, for the filter's choices.
const ACTIONS: &[&str] = &[
    "user.sign_up",
    "user.sign_in",
    "user.sign_in_failed",
    "user.role",
    "user.quota",
    "user.disable",
    "user.enable",
    "user.delete_started",
    "user.delete",
    "file.delete",
    "admin.file.download",
    "admin.upload.abort",
    "admin.upload.abort_all",
];

#[component]
pub fn AuditPage() -> impl IntoView {
    let (actor, action, from, to, cursor) = (
        query_param("actor"),
        query_param("action"),
        query_param("from"),
        query_param("to"),
        query_param("cursor"),
    );
    let filter = Memo::new(move |_| AuditFilter {
        actor: actor.get(),
        action: action.get(),
        from: from.get(),
        to: to.get(),
    });
    let page = Resource::new(
        move || (filter.get(), cursor.get()),
        |(filter, cursor)| async move {
            admin_audit(filter, Some(cursor).filter(|c| !c.is_empty())).await
        },
    );
    let link = move |c: &str| {
        let f = filter.get();
        page_link(
            "/admin/audit",
            &[
                ("actor", f.actor),
                ("action", f.action),
                ("from", f.from),
                ("to", f.to),
            ],
            c,
        )
    };
    view! {
        <Title text="Audit log — Admin — Haul"/>
        <h1>"Audit log"</h1>
        <AuditFilters actor action from to/>
        {loaded(
            page,
            move |page| {
                let next = page.next_cursor.as_deref().map(link);
                let first = (!cursor.get().is_empty()).then(|| link(""));
                view! {
                    <AuditTable entries=page.entries/>
                    <Pager next first/>
                }
            },
        )}
    }
}

#[component]
fn AuditTable(entries: Vec<AuditEntry>) -> impl IntoView {
    if entries.is_empty() {
        return view! { <p>"Nothing recorded matches."</p> }.into_any();
    }
    view! {
        <table class="admin-table" aria-label="Audit log">
            <thead>
                <tr>
                    <th scope="col">"When"</th>
                    <th scope="col">"Who"</th>
                    <th scope="col">"Action"</th>
                    <th scope="col">"Account"</th>
                    <th scope="col">"File"</th>
                    <th scope="col">"From"</th>
                    <th scope="col">"Detail"</th>
                </tr>
            </thead>
            <tbody>
                {entries
                    .into_iter()
                    .map(|entry| {
                        view! {
                            <tr>
                                <td class="secondary">{when(&entry.at)}</td>
                                <td>{entry.actor.unwrap_or_else(|| "system".into())}</td>
                                <td>{entry.action}</td>
                                <td>{entry.target}</td>
                                <td class="secondary">{entry.target_file}</td>
                                <td class="secondary">{entry.ip}</td>
                                <td class="secondary detail">{entry.detail}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
    .into_any()
}

/// The filter form: a GET to this page, so the filters land in the URL.
#[component]
fn AuditFilters(
    actor: Memo<String>,
    action: Memo<String>,
    from: Memo<String>,
    to: Memo<String>,
) -> impl IntoView {
    view! {
    <Form method="GET" action="/admin/audit" attr:class="filters" attr:aria-label="Filter the log">
        <label>
            "Actor's email " <input type="email" name="actor" prop:value=move || actor.get()/>
        </label>
        <label>
            "Action "
            <select name="action">
                <option value="">"Any"</option>
                {ACTIONS
                    .iter()
                    .map(|name| {
                        view! { <option value=*name selected=move || action.get() == *name>{*name}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
        <label>"From " <input type="date" name="from" prop:value=move || from.get()/></label>
        <label>"To " <input type="date" name="to" prop:value=move || to.get()/></label>
        <button type="submit" class="button">"Filter"</button>
    </Form>
    }
}
