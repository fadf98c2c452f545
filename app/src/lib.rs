//! Flowdeck, the product: Leptos components and server functions, plus (with the `ssr` feature)
//! the domain services and entities behind them. See ARCHITECTURE.md for the map.
// The designer's views are deeply nested types.
#![recursion_limit = "256"]

pub mod approvals;
pub mod auth;
pub mod boards;
pub mod credentials;
#[cfg(feature = "ssr")]
pub mod db;
pub mod engine;
pub mod error;
#[cfg(feature = "ssr")]
pub mod events;
#[cfg(feature = "ssr")]
pub mod hub;
#[cfg(all(test, feature = "ssr"))]
mod no_panic;
pub mod notifications;
pub mod settings;
pub mod statuses;
pub mod stream;
pub mod ui;
#[cfg(feature = "ssr")]
pub mod validate;
mod validate_hint;
pub mod workflows;
pub mod workspaces;

#[cfg(feature = "ssr")]
pub mod entities;
#[cfg(feature = "ssr")]
pub mod guard;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod state;

use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{Lazy, SsrMode, path};

use crate::credentials::CredentialsSection;
use crate::ui::form::loaded;
use crate::ui::not_found::NotFound;
use crate::ui::toast::{ToastHost, Toasts};
use crate::workspaces::GeneralSettings;
use crate::workspaces::model::Permission;

/// The HTML document the server renders around the app.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    let theme = theme_from_cookie();
    let stylesheet = format!("/{}/{}.css", options.site_pkg_dir, options.output_name);
    #[cfg(feature = "ssr")]
    content_security_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en" data-theme=theme>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="stylesheet" href=stylesheet/>
                <link rel="icon" href="data:,"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from this site and the inline scripts that
/// carry this response's nonce (hydration, streamed resources), WebAssembly, no plugins, no
/// framing. Other responses get a deny-all policy from the host.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>())
    else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
         frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

/// The theme cookie of the request being rendered (server only; the browser keeps what it has).
fn theme_from_cookie() -> &'static str {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<http::request::Parts>() {
        let cookies = parts.headers.get_all(http::header::COOKIE);
        for header in cookies.iter().filter_map(|h| h.to_str().ok()) {
            for pair in header.split(';') {
                if let Some(value) =
                    pair.trim().strip_prefix(auth::model::THEME_COOKIE).and_then(|v| v.strip_prefix('='))
                    && let Some(theme) = auth::model::Theme::parse(value)
                {
                    return theme.as_str();
                }
            }
        }
    }
    auth::model::Theme::System.as_str()
}

/// Pages whose code is a chunk of its own in the browser bundle, fetched when the page is first
/// shown (the server renders them as usual). The main module keeps what every signed-in visit
/// shows first — sign-in, the top bar, the workspace frame and its overview — and every other page
/// is a chunk, so adding a page adds nothing to the first load. A route that is its own chunk is
/// `view={Lazy::<Route>::new()}`.
macro_rules! lazy_page {
    ($($route:ident => $page:path),* $(,)?) => {$(
        #[derive(Debug)]
        struct $route;

        #[leptos_router::lazy_route]
        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                untrack($page).into_any()
            }
        }
    )*};
}

lazy_page! {
    DesignerRoute => engine::DesignerPage,
    RunsRoute => engine::RunsPage,
    ReportsRoute => engine::ReportsPage,
    ApprovalsRoute => engine::ApprovalsPage,
    SettingsRoute => WorkspaceSettingsPage,
    AdminRoute => settings::AdminPage,
    ProfileRoute => auth::ProfilePage,
    SetupRoute => auth::SetupPage,
    SignupRoute => auth::SignupPage,
    InviteRoute => workspaces::InvitePage,
    NewWorkspaceRoute => workspaces::NewWorkspacePage,
    MembersRoute => workspaces::MembersPage,
    WorkflowsRoute => workflows::WorkflowsPage,
    ProjectsRoute => boards::ProjectsPage,
    BoardRoute => boards::BoardPage,
    HomeRoute => workspaces::Home,
    OverviewRoute => workspaces::Overview,
    LoginRoute => auth::LoginPage,
}

/// `/w/:ws/settings`: the workspace's general settings, then its credentials. Composed here, at
/// the root, because credentials (an area) sit a layer above workspaces.
#[component]
pub fn WorkspaceSettingsPage() -> impl IntoView {
    // Its own load: refreshing the navigation after a rename must not rebuild (and reset) the form.
    let id = workspaces::layout::workspace_param();
    let data = Resource::new(move || id.get(), workspaces::layout::load_workspace);
    view! {
        <Title text="Settings · Flowdeck"/>
        <h1>"Settings"</h1>
        {loaded(
            data,
            |w| {
                let general = view! { <GeneralSettings w=w.clone()/> };
                let credentials = w.can(Permission::Edit).then(|| view! { <CredentialsSection w/> });
                view! { {general} {credentials} }.into_any()
            },
        )}
    }
}

/// The signed-in app's frame: top bar with workspace switcher and user menu, then the page. At the
/// root because the top bar shows auth's signed-in person and the notifications area's menu.
mod frame {
    use leptos::ev;
    use leptos::prelude::*;
    use leptos_router::components::{Outlet, Redirect};
    use leptos_router::hooks::use_location;
    use wasm_bindgen::JsCast;

    use crate::auth::api::{Logout, current_viewer};
    use crate::auth::model::Viewer;
    use crate::auth::viewer::ShellData;
    use crate::notifications::NotificationsMenu;
    use crate::ui::form::{ErrorPanel, initials};
    use crate::ui::path::workspace_in_path;

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
        let logout_url = <Logout as leptos::server_fn::ServerFn>::url();
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
                        // A plain form rather than `ActionForm`, whose form-data decoding would then be
                        // in every page's bundle: without script it posts to the same endpoint.
                        <form
                            method="post"
                            action=logout_url
                            on:submit=move |ev| {
                                ev.prevent_default();
                                logout.dispatch(Logout {});
                            }
                        >
                            <button type="submit" role="menuitem" class="menu-button">"Log out"</button>
                        </form>
                    </div>
                </details>
            </header>
        }
    }
}

/// The app: routes, the tab's live stream and the toast layer.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    Toasts::provide();
    stream::Live::provide();
    view! {
        <Title text="Flowdeck"/>
        <Router>
            <stream::LiveStream/>
            <Routes fallback=NotFound>
                <Route path=path!("/login") view={Lazy::<LoginRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/setup") view={Lazy::<SetupRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/signup") view={Lazy::<SignupRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/invite/:token") view={Lazy::<InviteRoute>::new()} ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=frame::Shell ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<HomeRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/profile") view={Lazy::<ProfileRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/admin") view={Lazy::<AdminRoute>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("/workspaces/new") view={Lazy::<NewWorkspaceRoute>::new()} ssr=SsrMode::Async/>
                    <ParentRoute path=path!("/w/:ws") view=workspaces::WorkspaceLayout ssr=SsrMode::Async>
                        <Route path=path!("") view={Lazy::<OverviewRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/members") view={Lazy::<MembersRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/workflows") view={Lazy::<WorkflowsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/workflows/:wf") view={Lazy::<DesignerRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/projects") view={Lazy::<ProjectsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/projects/:project") view={Lazy::<BoardRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/runs") view={Lazy::<RunsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/approvals") view={Lazy::<ApprovalsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/reports") view={Lazy::<ReportsRoute>::new()} ssr=SsrMode::Async/>
                        <Route path=path!("/settings") view={Lazy::<SettingsRoute>::new()} ssr=SsrMode::Async/>
                    </ParentRoute>
                </ParentRoute>
            </Routes>
        </Router>
        <ToastHost/>
    }
}
