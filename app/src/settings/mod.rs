//! Instance settings for instance administrators: open sign-up.

pub mod api;
#[cfg(feature = "ssr")]
pub mod service;

use leptos::prelude::*;
use leptos_meta::Title;

use crate::settings::api::{SetOpenSignup, get_open_signup};
use crate::ui::form::loaded;
use crate::ui::toast::toast_errors;

/// `/admin`: instance-wide settings.
#[component]
pub fn AdminPage() -> impl IntoView {
    let set = ServerAction::<SetOpenSignup>::new();
    toast_errors(set);
    let current = Resource::new(move || set.version().get(), |_| get_open_signup());
    view! {
        <Title text="Instance settings · Flowdeck"/>
        <main class="page narrow-page">
            <h1>"Instance settings"</h1>
            <section class="panel">
                <h2>"Sign-up"</h2>
                {loaded(
                    current,
                    move |open| {
                                view! {
                                    <label class="switch">
                                        <input
                                            type="checkbox"
                                            checked=open
                                            data-testid="open-signup"
                                            on:change=move |ev| {
                                                set.dispatch(SetOpenSignup { enabled: event_target_checked(&ev) });
                                            }
                                        />
                                        "Anyone can create an account without an invitation"
                                    </label>
                                    <p class="muted">
                                        {if open {
                                            "Open: the sign-in page offers “Create an account”. New accounts start without a workspace."
                                        } else {
                                            "Closed: people join only through invitation links."
                                        }}
                                    </p>
                                }
                    },
                )}
            </section>
        </main>
    }
}
