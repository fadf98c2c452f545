//! Toasts: short-lived messages for errors of actions that have no form to show them in.

use std::time::Duration;

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;

#[derive(Clone, Debug, PartialEq)]
struct Toast {
    id: u64,
    message: String,
}

/// The app's toast queue, provided once by `App`.
#[derive(Clone, Copy)]
pub struct Toasts {
    list: RwSignal<Vec<Toast>>,
    next: StoredValue<u64>,
}

impl Toasts {
    pub fn provide() -> Self {
        let toasts = Toasts { list: RwSignal::new(Vec::new()), next: StoredValue::new(0) };
        provide_context(toasts);
        toasts
    }

    pub fn error(&self, message: String) {
        let id = self.next.get_value();
        self.next.set_value(id + 1);
        self.list.update(|l| l.push(Toast { id, message }));
        let list = self.list;
        set_timeout(move || list.update(|l| l.retain(|t| t.id != id)), Duration::from_secs(7));
    }

    fn dismiss(&self, id: u64) {
        self.list.update(|l| l.retain(|t| t.id != id));
    }
}

pub fn use_toasts() -> Toasts {
    expect_context::<Toasts>()
}

/// Shows an error the user did not cause through a form: a toast, or the sign-in page when the
/// session has ended.
pub fn report(error: &AppError) {
    if *error == AppError::Unauthorized {
        if let Some(w) = web_sys::window() {
            let here = w.location().pathname().unwrap_or_default();
            let _ = w.location().set_href(&format!("/login?next={here}"));
        }
        return;
    }
    if let Some(toasts) = use_context::<Toasts>() {
        toasts.error(error.to_string());
    }
}

/// Reports every failure of `action` as a toast.
pub fn toast_errors<S>(action: ServerAction<S>)
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Effect::new(move |_| {
        if let Some(Err(e)) = action.value().get() {
            report(&e);
        }
    });
}

/// Where toasts appear: bottom right, announced to screen readers.
#[component]
pub fn ToastHost() -> impl IntoView {
    let toasts = use_toasts();
    view! {
        <div class="toasts" role="status" aria-live="polite">
            <For each=move || toasts.list.get() key=|t| t.id let:toast>
                <div class="toast error">
                    <span>{toast.message.clone()}</span>
                    <button class="icon" aria-label="Dismiss" on:click=move |_| toasts.dismiss(toast.id)>
                        "×"
                    </button>
                </div>
            </For>
        </div>
    }
}
