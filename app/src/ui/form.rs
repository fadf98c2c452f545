//! Form helpers: the error of an action shown in its form, and invalid-field marking.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;

/// The error of `action`'s last run, if it failed.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// `aria-invalid` for `field` while the error names it.
pub fn invalid(
    error: Signal<Option<AppError>>,
    field: &'static str,
) -> impl Fn() -> Option<&'static str> + Send + Sync + Copy {
    move || error.with(|e| e.as_ref().and_then(|e| e.field()) == Some(field)).then_some("true")
}

/// The message of a failed submission, at the top of its form.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<AppError>>) -> impl IntoView {
    move || error.get().map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })
}

/// A submit button that shows progress and cannot be pressed twice.
#[component]
pub fn Submit(#[prop(into)] pending: Signal<bool>, label: &'static str, busy: &'static str) -> impl IntoView {
    view! {
        <button type="submit" class="primary" disabled=move || pending.get() aria-busy=move || pending.get().to_string()>
            {move || if pending.get() { busy } else { label }}
        </button>
    }
}

/// Shown while a page's data loads.
#[component]
pub fn Loading() -> impl IntoView {
    view! { <p class="loading" aria-live="polite">"Loading…"</p> }
}

/// A failed load, in place of the content.
#[component]
pub fn ErrorPanel(error: AppError) -> impl IntoView {
    let not_found = error == AppError::NotFound;
    view! {
        <section class="panel error-panel" role="alert">
            <h2>{if not_found { "Not found" } else { "Could not load this page" }}</h2>
            <p>
                {if not_found {
                    "It does not exist, or you do not have access to it.".to_owned()
                } else {
                    error.to_string()
                }}
            </p>
            <a href="/">"Go to your workspace"</a>
        </section>
    }
}

/// Two initials for an avatar.
pub fn initials(name: &str) -> String {
    name.split_whitespace().filter_map(|w| w.chars().next()).take(2).flat_map(char::to_uppercase).collect()
}

/// Now, on the server's clock or the browser's (chrono has no clock on wasm).
pub fn now() -> chrono::DateTime<chrono::Utc> {
    #[cfg(target_arch = "wasm32")]
    {
        chrono::DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        chrono::Utc::now()
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// "23 Nov": written out by hand rather than with `DateTime::format`, whose format-string
/// parser would be in every page's bundle.
fn day_month(t: &chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike;
    format!("{} {}", t.day(), MONTHS[t.month0() as usize % 12])
}

/// A date in the reader's words, e.g. "23 Nov 2026".
pub fn short_date(t: &chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Datelike;
    format!("{} {}", day_month(t), t.year())
}

/// A moment to the second, e.g. "23 Nov 15:04:05 UTC" (for runs, which happen many a day).
pub fn short_time(t: &chrono::DateTime<chrono::Utc>) -> String {
    use chrono::Timelike;
    format!("{} {:02}:{:02}:{:02} UTC", day_month(t), t.hour(), t.minute(), t.second())
}

/// A read-only value with a Copy button (links, webhook addresses, keys); `masked` values show
/// as dots until the Show toggle is pressed. The text is selected on focus.
#[component]
pub fn CopyField(
    label: &'static str,
    value: String,
    testid: &'static str,
    #[prop(optional)] masked: bool,
) -> impl IntoView {
    let shown = RwSignal::new(!masked);
    let copied = RwSignal::new(false);
    let copy_value = value.clone();
    view! {
        <div class="copy-field">
            <label>
                {label}
                <input
                    readonly
                    value=value
                    type=move || if shown.get() { "text" } else { "password" }
                    data-testid=testid
                    on:focus=|ev| {
                        use wasm_bindgen::JsCast;
                        if let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) {
                            input.select();
                        }
                    }
                />
            </label>
            {masked
                .then(|| {
                    view! {
                        <button type="button" class="ghost" aria-pressed=move || shown.get().to_string() on:click=move |_| shown.update(|s| *s = !*s)>
                            {move || if shown.get() { "Hide" } else { "Show" }}
                        </button>
                    }
                })}
            <button type="button" on:click=move |_| {
                if let Some(w) = web_sys::window() {
                    let _ = w.navigator().clipboard().write_text(&copy_value);
                    copied.set(true);
                }
            }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
        </div>
    }
}

/// Asks before something irreversible; `true` when confirmed.
pub fn confirm(message: &str) -> bool {
    web_sys::window().and_then(|w| w.confirm_with_message(message).ok()).unwrap_or(false)
}

/// `render(value)` once `resource` has loaded; "Loading…" before, the error panel if it failed.
pub fn loaded<T, V, F>(resource: Resource<Result<T, AppError>>, render: F) -> impl IntoView
where
    T: Clone + Send + Sync + serde::Serialize + serde::de::DeserializeOwned + 'static,
    V: IntoView + Send + 'static,
    F: Fn(T) -> V + Clone + Send + Sync + 'static,
{
    view! {
        <Transition fallback=Loading>
            {move || {
                let render = render.clone();
                Suspend::new(async move {
                    match resource.await {
                        Ok(value) => render(value).into_any(),
                        Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    }
                })
            }}
        </Transition>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_before() {
        let t: chrono::DateTime<chrono::Utc> = "2026-01-05T07:08:09Z".parse().expect("instant");
        assert_eq!(short_date(&t), t.format("%-d %b %Y").to_string());
        assert_eq!(short_time(&t), t.format("%-d %b %H:%M:%S UTC").to_string());
        let t: chrono::DateTime<chrono::Utc> = "2026-12-23T15:04:05Z".parse().expect("instant");
        assert_eq!(short_date(&t), "23 Dec 2026");
        assert_eq!(short_time(&t), "23 Dec 15:04:05 UTC");
    }
}
