//! Haul's user interface and server functions, shared by the server (feature `ssr`) and the
//! browser bundle (feature `hydrate`).

pub mod api;
pub mod auth;
pub mod components;
pub mod error;
pub mod format;
pub mod model;
pub mod pages;
pub mod plan;
pub mod upload;
pub mod validate;

/// Server-only domain code: configuration, state, database and object storage.
#[cfg(feature = "ssr")]
pub mod backend;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path, SsrMode, StaticSegment,
};

use auth::Auth;
use components::header::SiteHeader;

/// The HTML document around every page; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                // In the shell (server-rendered only): its name follows the bundle's fingerprint.
                <link
                    rel="stylesheet"
                    href=format!("/{}/{}.css", options.site_pkg_dir, options.output_name)
                />
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    mark_hydrated();
    Auth::provide();
    // One upload queue for the whole tab: uploads go on while the user moves around the app,
    // and every page can show them.
    provide_context(upload::queue::Queue::new());

    view! {
        <Title text="Haul"/>
        <Router>
            // The first thing a keyboard reaches. `target` leaves it to the browser, which moves
            // the focus to <main> (the router would only scroll).
            <a class="skip-link" href="#main" target="_self">"Skip to content"</a>
            <SiteHeader/>
            <main id="main" tabindex="-1">
                <Routes fallback=pages::not_found::NotFound>
                    // Async rendering: the server resolves the signed-in user before it answers,
                    // so pages read right without JavaScript and can redirect with a 302.
                    <Route path=StaticSegment("") view=pages::home::home_page ssr=SsrMode::Async/>
                    <Route
                        path=StaticSegment("signin")
                        view=pages::sign_in::sign_in_page
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=StaticSegment("signup")
                        view=pages::sign_up::sign_up_page
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=StaticSegment("files")
                        view=pages::files::files_page
                        ssr=SsrMode::Async
                    />
                    <Route
                        path=StaticSegment("upload")
                        view=pages::upload::upload_page
                        ssr=SsrMode::Async
                    />
                    // A visitor of an upload request sends files here, at /r/{token}/send (server:
                    // request_pages and routes.rs). A wildcard shares `/admin/*any`'s matching code.
                    <Route path=path!("/r/*rest") view=pages::upload::request_page ssr=SsrMode::Async/>
                    <Route
                        path=StaticSegment("account")
                        view=pages::account::account_page
                        ssr=SsrMode::Async
                    />
                    // Admins only: everyone else sees "Not allowed" (strangers sign in first).
                    <Route path=path!("/admin") view=pages::admin::Overview ssr=SsrMode::Async/>
                    <Route path=path!("/admin/files") view=pages::admin::Files ssr=SsrMode::Async/>
                    <Route path=path!("/admin/users") view=pages::admin::Users ssr=SsrMode::Async/>
                    <Route path=path!("/admin/uploads") view=pages::admin::Uploads ssr=SsrMode::Async/>
                    <Route path=path!("/admin/audit") view=pages::admin::Audit ssr=SsrMode::Async/>
                    <Route path=path!("/admin/*any") view=pages::admin::Unknown ssr=SsrMode::Async/>
                </Routes>
            </main>
        </Router>
    }
}

/// Sets `data-hydrated` on `<body>` once the page is interactive. Effects never run on the
/// server, so the marker appears only after hydration: end-to-end tests wait for it before
/// they click.
fn mark_hydrated() {
    Effect::new(|| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = document().body() {
            // Only a test aid: a failure here must not break the page.
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// The origin browsers send file bytes to (the S3 endpoint), which pages must allow to be
/// connected to. The server provides it to every page it renders.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageOrigin(pub String);

/// Pages allow scripts only from this origin and the inline hydration script that carries
/// this response's nonce; browsers may connect to the app and to the S3 endpoint only.
#[cfg(feature = "ssr")]
fn set_content_security_policy() {
    use axum::http::{header::CONTENT_SECURITY_POLICY, HeaderValue};

    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    let storage = use_context::<StorageOrigin>()
        .map(|StorageOrigin(origin)| origin)
        .unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self' {storage}; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}
