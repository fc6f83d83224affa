//! The frame of a paged list page (the admin lists, My files): its filters and cursor kept in
//! the URL (`ListUrl`), the resource that reads the page the URL asks for
//! (`ListUrl::resource`), the GET form that sets the filters (`FilterForm`), and the links to
//! the next page and back to the first (`pager`).

use std::future::Future;

use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_query_map},
};
use serde::{de::DeserializeOwned, Serialize};

use crate::error::AppError;

/// A list page's URL: its path, its filter parameters and `cursor`, as they stand in the query
/// (each "" when absent). A new filter (a GET of the `FilterForm`) has no cursor, so it starts
/// at the first page.
#[derive(Clone, Copy)]
pub struct ListUrl {
    path: &'static str,
    names: &'static [&'static str],
    values: Memo<Vec<String>>,
    cursor: Memo<String>,
}

impl ListUrl {
    /// The URL of the list at `path`, filtered by the query parameters `names`.
    pub fn new(path: &'static str, names: &'static [&'static str]) -> Self {
        let query = use_query_map();
        let values = Memo::new(move |_| {
            let query = query.read();
            names
                .iter()
                .map(|name| query.get(name).unwrap_or_default())
                .collect()
        });
        let cursor = Memo::new(move |_| query.read().get("cursor").unwrap_or_default());
        let url = Self {
            path,
            names,
            values,
            cursor,
        };
        // A browser without JavaScript sends every field of the filter form, the empty ones
        // too: the server sends it on to the same list without them.
        #[cfg(feature = "ssr")]
        if query.with_untracked(|query| {
            names
                .iter()
                .chain(&["cursor"])
                .any(|name| query.get_str(name) == Some(""))
        }) {
            let cursor = url.cursor.get_untracked();
            leptos_axum::redirect(&url.link(&cursor));
        }
        url
    }

    /// The filter parameter `name`, one of the names given to `new` ("" when absent).
    pub fn param(&self, name: &str) -> String {
        let index = self.names.iter().position(|known| *known == name);
        self.values
            .with(|values| index.and_then(|i| values.get(i).cloned()))
            .unwrap_or_default()
    }

    /// Whether the URL asks for the first page. Not tracked: read it where the page the
    /// resource answered is drawn (the URL changed before the resource read that page).
    pub fn on_first_page(&self) -> bool {
        self.cursor.with_untracked(String::is_empty)
    }

    /// This list's URL with the filters as they stand and `cursor` ("" for the first page).
    pub fn link(&self, cursor: &str) -> String {
        let params: Vec<(&str, String)> = self.values.with_untracked(|values| {
            self.names
                .iter()
                .copied()
                .zip(values.iter().cloned())
                .collect()
        });
        page_link(self.path, &params, cursor)
    }

    /// The page the URL asks for: `fetch(filter(), cursor)`, read again when the filter, the
    /// cursor or `reload()` changes (the versions of the actions that change the list).
    pub fn resource<F, K, T, Fut>(
        self,
        filter: impl Fn() -> F + Send + Sync + 'static,
        reload: impl Fn() -> K + Send + Sync + 'static,
        fetch: impl Fn(F, Option<String>) -> Fut + Send + Sync + 'static,
    ) -> Resource<Result<T, AppError>>
    where
        F: PartialEq + Clone + Send + Sync + 'static,
        K: PartialEq + Clone + Send + Sync + 'static,
        T: Serialize + DeserializeOwned + Send + Sync + 'static,
        Fut: Future<Output = Result<T, AppError>> + Send + 'static,
    {
        let cursor = self.cursor;
        Resource::new(
            move || (filter(), cursor.get(), reload()),
            move |(filter, cursor, _)| fetch(filter, Some(cursor).filter(|c| !c.is_empty())),
        )
    }
}

/// `path` with the non-empty `params` and `cursor` in its query.
fn page_link(path: &str, params: &[(&str, String)], cursor: &str) -> String {
    let mut parts: Vec<String> = params
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .map(|(name, value)| format!("{name}={}", crate::format::url_encode(value)))
        .collect();
    if !cursor.is_empty() {
        parts.push(format!("cursor={}", crate::format::url_encode(cursor)));
    }
    if parts.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", parts.join("&"))
    }
}

/// The filter form: a GET to the list's own path, so the filters land in the URL. `children`
/// are its fields; `clear` adds a link back to the unfiltered list. Once hydrated it goes to
/// the URL itself (`ListUrl::link`): the fields left empty stay out of it, and an unfiltered
/// list has no "?" either. The browser checks nothing itself (no bubbles): the server's
/// message shows on the page.
#[component]
pub fn FilterForm(
    url: ListUrl,
    /// The form's accessible name.
    label: &'static str,
    #[prop(optional)] clear: bool,
    children: Children,
) -> impl IntoView {
    let navigate = use_navigate();
    let on_submit = move |event: leptos::ev::SubmitEvent| {
        event.prevent_default();
        let form = event_target::<web_sys::HtmlFormElement>(&event);
        let Ok(data) = web_sys::FormData::new_with_form(&form) else {
            return;
        };
        let params: Vec<(&str, String)> = url
            .names
            .iter()
            .map(|name| (*name, data.get(name).as_string().unwrap_or_default()))
            .collect();
        navigate(&page_link(url.path, &params, ""), Default::default());
    };
    view! {
        <form
            method="GET"
            action=url.path
            class="filters"
            aria-label=label
            novalidate=true
            on:submit=on_submit
        >
            {children()}
            <button type="submit" class="button">"Filter"</button>
            {clear.then(|| view! { <A href=url.path>"Clear"</A> })}
        </form>
    }
}

/// Links to the next page (`next` is its cursor, None on the last page) and back to the
/// first (unless this is it), keeping the filters.
pub fn pager(
    url: ListUrl,
    next: Option<String>,
    first_label: &'static str,
    next_label: &'static str,
) -> impl IntoView {
    let first = (!url.on_first_page()).then(|| url.link(""));
    let next = next.map(|cursor| url.link(&cursor));
    view! {
        <nav class="pager" aria-label="Pages">
            {first.map(|href| view! { <A href=href>{first_label}</A> })}
            {next.map(|href| view! { <A href=href>{next_label}</A> })}
        </nav>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_links_keep_filters_and_add_the_cursor() {
        let params = [("owner", "a@b.c".to_owned()), ("status", String::new())];
        assert_eq!(
            page_link("/admin/files", &params, ""),
            "/admin/files?owner=a%40b.c"
        );
        assert_eq!(
            page_link("/admin/files", &params, "12_ab"),
            "/admin/files?owner=a%40b.c&cursor=12_ab"
        );
        assert_eq!(page_link("/admin/files", &[], ""), "/admin/files");
    }
}
