//! The notifications menu of the top bar.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::notifications::api::{list_notifications, read_notifications};
use crate::stream::on_activity;
use crate::ui::form::short_time;

/// The bell in the top bar: unread count, and the latest notifications when opened (which
/// marks them read). A notification for this person arrives live on the tab's stream.
#[component]
pub fn NotificationsMenu() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let list = LocalResource::new(move || {
        refresh.track();
        list_notifications()
    });
    on_activity(
        |change| change.name == crate::notifications::CREATED,
        move || {
            refresh.try_update(|n| *n += 1);
        },
    );
    // `try_get`: the server renders this menu into pages whose owner a sign-out in another tab
    // can dispose mid-render; reading a disposed resource must not panic the render.
    let unread =
        move || list.try_get().flatten().and_then(|r| r.ok()).map_or(0, |l| l.iter().filter(|n| !n.read).count());
    let opened = move |_| {
        if unread() > 0 {
            spawn_local(async move {
                if read_notifications().await.is_ok() {
                    refresh.try_update(|n| *n += 1);
                }
            });
        }
    };
    view! {
        <details class="menu notifications" on:toggle=opened>
            <summary aria-label="Notifications" data-testid="notifications">
                <svg viewBox="0 0 24 24" aria-hidden="true" class="bell"><path d="M6 16V11a6 6 0 0 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0"/></svg>
                {move || (unread() > 0).then(|| view! { <span class="count" data-testid="unread">{unread()}</span> })}
            </summary>
            <div class="menu-list right" role="menu">
                <p class="menu-heading">"Notifications"</p>
                {move || match list.try_get().flatten() {
                    None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                    Some(Err(e)) => view! { <p class="form-error">{e.to_string()}</p> }.into_any(),
                    Some(Ok(items)) if items.is_empty() => view! { <p class="muted">"Nothing new."</p> }.into_any(),
                    Some(Ok(items)) => items
                        .into_iter()
                        .map(|n| view! {
                            <a role="menuitem" href=n.link.clone() class:unread=!n.read>
                                <span>{n.title.clone()}</span>
                                <small class="muted">{short_time(&n.created_at)}</small>
                            </a>
                        })
                        .collect_view()
                        .into_any(),
                }}
            </div>
        </details>
    }
}
