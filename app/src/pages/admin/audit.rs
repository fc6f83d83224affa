//! /admin/audit: the audit log, newest first, filtered by actor, action and dates (kept in
//! the URL), a page at a time.

use leptos::prelude::*;
use leptos_meta::Title;

use super::when;
use crate::{
    api::admin::admin_audit,
    components::{
        list::{pager, FilterForm, ListUrl},
        loaded::loaded,
        table::{Column::Shown, ListTable},
    },
    format::esc,
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

pub fn audit_page() -> impl IntoView {
    let url = ListUrl::new("/admin/audit", &["actor", "action", "from", "to"]);
    let filter = move || AuditFilter {
        actor: url.param("actor"),
        action: url.param("action"),
        from: url.param("from"),
        to: url.param("to"),
    };
    let page = url.resource(filter, || (), admin_audit);
    view! {
        <Title text="Audit log — Admin — Haul"/>
        <h1>"Audit log"</h1>
        {audit_filters(url)}
        {loaded(page, move |page| view! {
            <ListTable
                items=page.entries
                columns=&[Shown("When"), Shown("Who"), Shown("Action"), Shown("Account"),
                    Shown("File"), Shown("From"), Shown("What happened")]
                row=|entry: AuditEntry| audit_row(entry)
                class="admin-table"
                label="Audit log"
                empty="Nothing recorded matches."
            />
            {pager(url, page.next_cursor, "First page", "Next page")}
        })}
    }
}

/// A row as markup: it only shows, and views of its cells would cost the bundle their own
/// rendering code.
fn audit_row(entry: AuditEntry) -> impl IntoView {
    let actor = esc(&entry.actor.unwrap_or_else(|| "system".into()));
    let target = esc(&entry.target.unwrap_or_default());
    let file = esc(&entry.file_name.unwrap_or_default());
    let title = |text: &str| match text {
        "" => String::new(),
        text => format!(r#" title="{text}""#),
    };
    let cells = format!(
        r#"<td class="secondary when" data-label="When">{}</td><td class="email" data-label="Who" title="{actor}">{actor}</td><td data-label="Action">{}</td><td class="email secondary" data-label="Account"{}>{target}</td><td class="file-name secondary" data-label="File"{}>{file}</td><td class="secondary" data-label="From">{}</td><td class="detail" data-label="What happened">{}</td>"#,
        esc(&when(&entry.at)),
        esc(&entry.action),
        title(&target),
        title(&file),
        esc(&entry.ip.unwrap_or_default()),
        esc(&entry.summary),
    );
    view! { <tr inner_html=cells></tr> }
}

/// The filter form's fields.
fn audit_filters(url: ListUrl) -> impl IntoView {
    let param = move |name: &'static str| move || url.param(name);
    view! {
        <FilterForm url label="Filter the log">
            <label>
                "Actor's email " <input type="email" name="actor" prop:value=param("actor")/>
            </label>
            <label>
                "Action "
                <select name="action">
                    <option value="">"Any"</option>
                    {ACTIONS
                        .iter()
                        .map(|name| {
                            view! { <option value=*name selected=move || url.param("action") == *name>{*name}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <label>"From " <input type="date" name="from" prop:value=param("from")/></label>
            <label>"To " <input type="date" name="to" prop:value=param("to")/></label>
        </FilterForm>
    }
}
