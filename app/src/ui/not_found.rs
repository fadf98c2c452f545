//! The 404 page.

use leptos::prelude::*;
use leptos_meta::Title;

/// Shown for any address that is not a page; answers with status 404.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_axum::ResponseOptions>() {
        res.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Not found · Flowdeck"/>
        <main class="center-page">
            <section class="card narrow">
                <p class="eyebrow">"404"</p>
                <h1>"This page does not exist"</h1>
                <p class="muted">"The address may be mistyped, or the page was moved."</p>
                <a class="button primary" href="/">"Back to Flowdeck"</a>
            </section>
        </main>
    }
}
