//! Form pieces: a labelled field with its own error, the form-wide error, and reading a
//! submission's error from the action or from the no-JavaScript redirect.

use leptos::{
    prelude::*,
    server_fn::{error::ServerFnUrlError, ServerFn},
};
use leptos_router::hooks::use_query_map;

use super::error_view::error_view;
use crate::{error::AppError, model::UserView};

/// What a sign-in or sign-up page needs of its action: the form's error, and the page to go
/// to afterwards (`?next=`, passed on by the form).
pub fn account_form<S>(action: ServerAction<S>) -> (Signal<Option<AppError>>, Signal<String>)
where
    S: ServerFn<Output = UserView, Error = AppError> + Clone + Send + Sync + 'static,
{
    let error = form_error(move || action.value().get().map(|r| r.map(|_| ())), S::PATH);
    let query = use_query_map();
    let next = Signal::derive(move || query.read().get("next").unwrap_or_default());
    (error, next)
}

/// The error of a form's last submission: from `last` (the action's result, when JavaScript
/// ran it), or from the URL when the browser posted the form itself and the server redirected
/// back with `?__path=…&__err=…` (server_fn's no-JS error path).
pub fn form_error(
    last: impl Fn() -> Option<Result<(), AppError>> + Send + Sync + 'static,
    path: &'static str,
) -> Signal<Option<AppError>> {
    let query = use_query_map();
    let error = Signal::derive(move || {
        if let Some(result) = last() {
            return result.err();
        }
        let query = query.read();
        (query.get("__path").as_deref() == Some(path))
            .then(|| query.get("__err"))
            .flatten()
            .map(|err| ServerFnUrlError::<AppError>::decode_err(&err))
    });
    focus_on_failure(error);
    error
}

/// Moves the focus to what went wrong when a submission fails, so a keyboard or screen reader
/// lands on it: the first field marked invalid, else the form's error. Done on the next frame,
/// once the page shows them.
fn focus_on_failure(error: Signal<Option<AppError>>) {
    Effect::new(move || {
        if error.with(Option::is_some) {
            #[cfg(feature = "hydrate")]
            request_animation_frame(focus_first_error);
        }
    });
}

#[cfg(feature = "hydrate")]
fn focus_first_error() {
    use wasm_bindgen::JsCast;

    let found = document()
        .query_selector("main [aria-invalid='true'], main .form-error")
        .ok()
        .flatten()
        .and_then(|element| element.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = found {
        // The form's error is a paragraph: focusable from a script only.
        if element.tab_index() < 0 {
            let _ = element.set_attribute("tabindex", "-1");
        }
        let _ = element.focus();
    }
}

/// A labelled input with its hint and its error, wired for screen readers.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(optional)] autocomplete: Option<&'static str>,
    #[prop(optional)] hint: Option<&'static str>,
    #[prop(into)] error: Signal<Option<AppError>>,
) -> impl IntoView {
    let id = format!("field-{name}");
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let message = move || error.get().and_then(|e| e.field(name));
    let described_by = {
        let hint_id = hint_id.clone();
        let error_id = error_id.clone();
        move || {
            let mut ids = Vec::new();
            if hint.is_some() {
                ids.push(hint_id.clone());
            }
            if message().is_some() {
                ids.push(error_id.clone());
            }
            (!ids.is_empty()).then(|| ids.join(" "))
        }
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            <input
                id=id
                name=name
                type=kind
                autocomplete=autocomplete
                aria-invalid=move || message().is_some().then_some("true")
                aria-describedby=described_by
            />
            {hint.map(|text| view! { <p class="hint" id=hint_id>{text}</p> })}
            <p class="field-error" id=error_id role="alert">{message}</p>
        </div>
    }
}

/// A form-wide error (wrong credentials, too many attempts, server trouble); field errors
/// show next to their fields instead.
pub fn form_alert(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Invalid(_)))
            .map(error_view)
    }
}
