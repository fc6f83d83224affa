//! The table of a list page: its column headings and a row per item, or a line saying there
//! is nothing to list. The table sits in a box of its own that scrolls sideways when the
//! table is wider than the window, so the page itself never does.

use leptos::prelude::*;

/// A column's heading. A hidden one is read by screen readers only (over a column of
/// checkboxes or buttons).
#[derive(Clone, Copy)]
pub enum Column {
    Shown(&'static str),
    Hidden(&'static str),
}

/// `items` as a table of `columns`, a `row` each (its `<tr>`). With no items it is `empty` in
/// a paragraph when that is given, else the table with its headings only.
#[component]
pub fn ListTable<T, R, V>(
    items: Vec<T>,
    columns: &'static [Column],
    row: R,
    /// The table's class (its style).
    class: &'static str,
    /// The table's accessible name.
    #[prop(optional)]
    label: Option<&'static str>,
    /// Said, in a paragraph, instead of the table when there are no items.
    #[prop(optional)]
    empty: Option<&'static str>,
) -> impl IntoView
where
    T: 'static,
    R: Fn(T) -> V + 'static,
    V: IntoView + 'static,
{
    if let Some(empty) = empty.filter(|_| items.is_empty()) {
        return view! { <p>{empty}</p> }.into_any();
    }
    let headings = columns
        .iter()
        .map(|column| {
            let text = match *column {
                Column::Shown(label) => label.into_any(),
                Column::Hidden(label) => {
                    view! { <span class="visually-hidden">{label}</span> }.into_any()
                }
            };
            view! { <th scope="col">{text}</th> }
        })
        .collect_view();
    // Focusable, so a keyboard can scroll it too; named like its table.
    view! {
        <div
            class="table-scroll"
            role=label.map(|_| "region")
            aria-label=label
            tabindex="0"
        >
            <table class=class aria-label=label>
                <thead>
                    <tr>{headings}</tr>
                </thead>
                <tbody>{items.into_iter().map(row).collect_view()}</tbody>
            </table>
        </div>
    }
    .into_any()
}
