//! Haul's user interface and server functions, shared by the server (feature `ssr`) and the
//! browser bundle (feature `hydrate`).

pub mod pages;

/// Server-only domain code: configuration, state, database and object storage.
#[cfg(feature = "ssr")]
pub mod backend;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    StaticSegment,
};

/// The HTML document around every page; rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
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

    view! {
        <Stylesheet id="leptos" href="/pkg/haul.css"/>
        <Title text="Haul"/>
        <Router>
            <header class="site-header">
                <A href="/" attr:class="brand">"Haul"</A>
            </header>
            <main>
                <Routes fallback=pages::not_found::NotFound>
                    <Route path=StaticSegment("") view=pages::home::HomePage/>
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
