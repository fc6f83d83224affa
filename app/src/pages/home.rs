//! The home page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::auth::Auth;

/// What Haul is, as markup (see FEATURES).
const HERO: &str = "<h1>Heavy uploads, straight to S3</h1>\
<p class=\"lede\">Haul moves files of 2 GB to 50 GB and more from your browser directly into object \
storage. The server signs, verifies and records; your bytes never pass through it.</p>";

/// What Haul does with a file, as markup: it never changes, and as views it would cost the
/// bundle rendering code.
const FEATURES: &str = "<ul>\
<li><h2>Resumable</h2><p>Large files go up in parts. A lost connection or a closed tab resumes where it stopped.</p></li>\
<li><h2>Parallel</h2><p>Several parts travel at once, so a fast link is used in full.</p></li>\
<li><h2>Verified</h2><p>Every part is checksummed, and each file is checked against what you sent.</p></li>\
</ul>";

/// The landing page: what Haul is and what it does with a file.
pub fn home_page() -> impl IntoView {
    view! {
        <Title text="Haul — heavy uploads straight to S3"/>
        <section class="hero">
            <div inner_html=HERO></div>
            <Transition fallback=|| ()>
                {move || {
                    expect_context::<Auth>()
                        .user
                        .get()
                        .map(|user| match user {
                            Ok(Some(_)) => view! { <A href="/upload" attr:class="button">"Upload files"</A> }.into_any(),
                            _ => view! { <A href="/signup" attr:class="button">"Create an account"</A> }.into_any(),
                        })
                }}
            </Transition>
        </section>
        <section class="features" aria-label="How it works" inner_html=FEATURES></section>
    }
}
