//! The profile page: name, time zone, theme, password.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::auth::api::{ChangePassword, UpdateProfile, current_viewer, timezones};
use crate::auth::model::{Theme, Viewer};
use crate::auth::viewer::use_shell;
use crate::ui::form::{ErrorPanel, FormError, Loading, Submit, action_error, invalid};
use crate::validate_hint::MIN_PASSWORD_HINT;

/// Applies a theme to the page at once (the server renders it from the cookie next time).
fn apply_theme(theme: Theme) {
    if let Some(root) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = root.set_attribute("data-theme", theme.as_str());
    }
}

/// Account settings of the signed-in person.
#[component]
pub fn ProfilePage() -> impl IntoView {
    // Its own load: refreshing the top bar after a save must not rebuild (and reset) these forms.
    let me = Resource::new(|| (), |_| current_viewer());
    view! {
        <Title text="Profile · Flowdeck"/>
        <main class="page narrow-page">
            <h1>"Profile"</h1>
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match me.await {
                        Ok(Some(v)) => view! { <ProfileForms viewer=v/> }.into_any(),
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

#[component]
fn ProfileForms(viewer: Viewer) -> impl IntoView {
    let shell = use_shell();
    let update = ServerAction::<UpdateProfile>::new();
    let update_error = action_error(update);
    let password = ServerAction::<ChangePassword>::new();
    let password_error = action_error(password);
    let zones = Resource::new(|| (), |_| timezones());
    let saved = move || matches!(update.value().get(), Some(Ok(())));
    let password_saved = move || matches!(password.value().get(), Some(Ok(())));
    Effect::new(move |_| {
        if matches!(update.value().get(), Some(Ok(()))) {
            shell.refresh.update(|n| *n += 1);
        }
    });
    let current_theme = viewer.theme;
    view! {
        <section class="panel">
            <h2>"Your details"</h2>
            <ActionForm action=update>
                <FormError error=update_error/>
                <label>
                    "Name"
                    <input name="name" value=viewer.name.clone() required maxlength="100" aria-invalid=invalid(update_error, "name")/>
                </label>
                <label>
                    "Email"
                    <input type="email" value=viewer.email.clone() disabled/>
                </label>
                <label>
                    "Time zone"
                    <input
                        name="timezone"
                        list="timezones"
                        value=viewer.timezone.clone()
                        required
                        autocomplete="off"
                        placeholder="Start typing, e.g. Berlin"
                        aria-invalid=invalid(update_error, "timezone")
                    />
                    <small class="hint">"Type to search the IANA time zones."</small>
                </label>
                <datalist id="timezones">
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            zones
                                .await
                                .unwrap_or_default()
                                .into_iter()
                                .map(|z| view! { <option value=z></option> })
                                .collect_view()
                        })}
                    </Transition>
                </datalist>
                <fieldset class="choices">
                    <legend>"Theme"</legend>
                    {Theme::ALL
                        .into_iter()
                        .map(|t| {
                            view! {
                                <label class="choice">
                                    <input
                                        type="radio"
                                        name="theme"
                                        value=t.as_str()
                                        checked=t == current_theme
                                        on:change=move |_| apply_theme(t)
                                    />
                                    {t.label()}
                                </label>
                            }
                        })
                        .collect_view()}
                </fieldset>
                <div class="form-actions">
                    <Submit pending=update.pending() label="Save profile" busy="Saving…"/>
                    {move || saved().then(|| view! { <span class="success" role="status">"Saved."</span> })}
                </div>
            </ActionForm>
        </section>
        <section class="panel">
            <h2>"Change password"</h2>
            <p class="muted">"Other browsers signed in to your account will be signed out."</p>
            <ActionForm action=password>
                <FormError error=password_error/>
                <label>
                    "Current password"
                    <input type="password" name="current_password" autocomplete="current-password" required aria-invalid=invalid(password_error, "current_password")/>
                </label>
                <label>
                    "New password"
                    <input type="password" name="new_password" autocomplete="new-password" required minlength="8" aria-invalid=invalid(password_error, "new_password")/>
                    <small class="hint">{MIN_PASSWORD_HINT}</small>
                </label>
                <label>
                    "Repeat new password"
                    <input type="password" name="confirm_password" autocomplete="new-password" required minlength="8" aria-invalid=invalid(password_error, "confirm_password")/>
                </label>
                <div class="form-actions">
                    <Submit pending=password.pending() label="Change password" busy="Changing…"/>
                    {move || password_saved().then(|| view! { <span class="success" role="status">"Password changed."</span> })}
                </div>
            </ActionForm>
        </section>
    }
}
