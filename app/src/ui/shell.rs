//! The signed-in app's frame: top bar with workspace switcher and user menu, then the page.

use leptos::ev;
use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect};
use leptos_router::hooks::use_location;
use uuid::Uuid;
use wasm_bindgen::JsCast;

use crate::auth::api::{Logout, current_viewer};
use crate::auth::model::Viewer;
use crate::error::AppError;
use crate::notifications::NotificationsMenu;
use crate::ui::form::{ErrorPanel, initials};

/// The signed-in person, shared by every page inside the shell.
#[derive(Clone, Copy)]
pub struct ShellData {
    pub viewer: Resource<Result<Option<Viewer>, AppError>>,
    /// Bump after a change the top bar shows (a new or renamed workspace, a new name).
    pub refresh: RwSignal<u32>,
}

pub fn use_shell() -> ShellData {
    expect_context::<ShellData>()
}

/// The workspace id in a `/w/<id>/…` path.
pub fn workspace_in_path(path: &str) -> Option<Uuid> {
    path.strip_prefix("/w/")?.split('/').next()?.parse().ok()
}

/// Layout of every signed-in page.
#[component]
pub fn Shell() -> impl IntoView {
    let refresh = RwSignal::new(0u32);
    let viewer_res = Resource::new(move || refresh.get(), |_| current_viewer());
    provide_context(ShellData { viewer: viewer_res, refresh });
    close_menus_on_outside_click();
    view! {
        <div class="app">
            <Transition fallback=|| view! { <header class="topbar"></header> }>
                {move || Suspend::new(async move {
                    match viewer_res.await {
                        Ok(Some(v)) => view! { <TopBar viewer=v/> }.into_any(),
                        Ok(None) => {
                            let next = use_location().pathname.get_untracked();
                            view! { <Redirect path=format!("/login?next={next}")/> }.into_any()
                        }
                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    }
                })}
            </Transition>
            <Outlet/>
        </div>
    }
}

/// `<details>` menus close on a click elsewhere and on Escape, as menus do.
fn close_menus_on_outside_click() {
    let close = |keep: Option<web_sys::Node>| {
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else {
            return;
        };
        let Ok(open) = doc.query_selector_all("details.menu[open]") else {
            return;
        };
        for i in 0..open.length() {
            if let Some(node) = open.item(i) {
                if keep.as_ref().is_some_and(|k| node.contains(Some(k))) {
                    continue;
                }
                if let Ok(el) = node.dyn_into::<web_sys::Element>() {
                    let _ = el.remove_attribute("open");
                }
            }
        }
    };
    let click = window_event_listener(ev::click, move |e| {
        let target = e.target().and_then(|t| t.dyn_into::<web_sys::Node>().ok());
        // A click on a link inside the menu navigates: close that menu too.
        let on_link = target
            .as_ref()
            .and_then(|t| t.dyn_ref::<web_sys::Element>().and_then(|el| el.closest("a").ok().flatten()))
            .is_some();
        close(if on_link { None } else { target });
    });
    let key = window_event_listener(ev::keydown, move |e| {
        if e.key() == "Escape" {
            close(None);
        }
    });
    on_cleanup(move || {
        click.remove();
        key.remove();
    });
}

#[component]
fn TopBar(viewer: Viewer) -> impl IntoView {
    let location = use_location();
    let logout = ServerAction::<Logout>::new();
    let workspaces = viewer.workspaces.clone();
    let current = {
        let workspaces = workspaces.clone();
        let fallback = viewer.home_workspace();
        Memo::new(move |_| {
            let id = workspace_in_path(&location.pathname.get()).or(fallback);
            workspaces.iter().find(|w| Some(w.id) == id).map(|w| (w.id, w.name.clone()))
        })
    };
    let is_admin = viewer.is_admin;
    let current_name = move || current.get().map(|(_, n)| n).unwrap_or_else(|| "Choose a workspace".into());
    view! {
        <header class="topbar">
            <a class="brand" href="/">
                <span class="logo" aria-hidden="true"></span>
                "Flowdeck"
            </a>
            <details class="menu switcher">
                // The accessible name holds the visible text (WCAG 2.5.3, label in name).
                <summary
                    aria-label=move || format!("Switch workspace: {}", current_name())
                    data-testid="workspace-switcher"
                >
                    {current_name}
                    <span class="caret" aria-hidden="true"></span>
                </summary>
                <div class="menu-list" role="menu">
                    <p class="menu-heading">"Workspaces"</p>
                    {workspaces
                        .into_iter()
                        .map(|w| {
                            let id = w.id;
                            view! {
                                <a
                                    role="menuitem"
                                    href=format!("/w/{id}")
                                    class:current=move || current.get().is_some_and(|(c, _)| c == id)
                                >
                                    <span>{w.name}</span>
                                    <small class="muted">{w.role.label()}</small>
                                </a>
                            }
                        })
                        .collect_view()}
                    <hr/>
                    <a role="menuitem" href="/workspaces/new">"New workspace…"</a>
                </div>
            </details>
            <div class="spacer"></div>
            <NotificationsMenu/>
            <details class="menu user-menu">
                // Named by what it shows (the avatar's initials are hidden from assistive tech).
                <summary title="Account menu" data-testid="user-menu">
                    <span class="avatar" aria-hidden="true">{initials(&viewer.name)}</span>
                    <span class="user-name">{viewer.name.clone()}</span>
                </summary>
                <div class="menu-list right" role="menu">
                    <div class="menu-heading">
                        <strong>{viewer.name.clone()}</strong>
                        <small class="muted">{viewer.email.clone()}</small>
                    </div>
                    <a role="menuitem" href="/profile">"Profile and password"</a>
                    {is_admin.then(|| view! { <a role="menuitem" href="/admin">"Instance settings"</a> })}
                    <hr/>
                    <ActionForm action=logout>
                        <button type="submit" role="menuitem" class="menu-button">"Log out"</button>
                    </ActionForm>
                </div>
            </details>
        </header>
    }
}
