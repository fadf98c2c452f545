//! A workspace's frame (side navigation) and its overview page.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::{A, Outlet};
use leptos_router::hooks::use_params_map;
use uuid::Uuid;

use crate::error::AppError;
use crate::ui::form::{loaded, short_date};
use crate::workspaces::api::get_workspace;
use crate::workspaces::model::{Permission, WorkspaceView};

/// The open workspace, shared by the pages inside it.
#[derive(Clone, Copy)]
pub struct CurrentWorkspace {
    pub data: Resource<Result<WorkspaceView, AppError>>,
    pub refresh: RwSignal<u32>,
}

pub fn use_workspace() -> CurrentWorkspace {
    expect_context::<CurrentWorkspace>()
}

/// The `:ws` route parameter.
pub(crate) fn workspace_param() -> Memo<Option<Uuid>> {
    let params = use_params_map();
    Memo::new(move |_| params.read().get("ws").and_then(|s| s.parse::<Uuid>().ok()))
}

pub(crate) async fn load_workspace(id: Option<Uuid>) -> Result<WorkspaceView, AppError> {
    match id {
        Some(id) => get_workspace(id).await,
        None => Err(AppError::NotFound),
    }
}

/// Side navigation and the workspace's pages.
#[component]
pub fn WorkspaceLayout() -> impl IntoView {
    let id = workspace_param();
    let refresh = RwSignal::new(0u32);
    let data = Resource::new(move || (id.get(), refresh.get()), |(id, _)| load_workspace(id));
    provide_context(CurrentWorkspace { data, refresh });
    let href = move |tail: &str| id.get().map(|id| format!("/w/{id}{tail}")).unwrap_or_default();
    view! {
        <div class="workspace">
            <nav class="sidenav" aria-label="Workspace">
                <Transition fallback=|| ()>
                    {move || Suspend::new(async move {
                        data.await
                            .ok()
                            .map(|w| {
                                let settings = w.can(Permission::EditSettings);
                                view! {
                                    <p class="sidenav-title">{w.name.clone()}</p>
                                    <A href=href("") exact=true>"Overview"</A>
                                    <A href=href("/projects")>"Projects"</A>
                                    <A href=href("/workflows")>"Workflows"</A>
                                    <A href=href("/runs")>"Runs"</A>
                                    <A href=href("/reports")>"Reports"</A>
                                    <A href=href("/approvals")>"Approvals"</A>
                                    <A href=href("/members")>"Members"</A>
                                    {settings.then(|| view! { <A href=href("/settings")>"Settings"</A> })}
                                }
                            })
                    })}
                </Transition>
            </nav>
            <main class="page">
                <Outlet/>
            </main>
        </div>
    }
}

/// The workspace's front page: who you are here and what to do next.
#[component]
pub fn Overview() -> impl IntoView {
    // Its own load, so the counts are fresh each time the overview opens.
    let id = workspace_param();
    let data = Resource::new(move || id.get(), load_workspace);
    loaded(data, |w| view! { <OverviewBody w/> })
}

#[component]
fn OverviewBody(w: WorkspaceView) -> impl IntoView {
    let members_href = format!("/w/{}/members", w.id);
    let can_invite = w.can(Permission::Invite);
    view! {
        <Title text=format!("{} · Flowdeck", w.name)/>
        <header class="page-header">
            <div>
                <p class="eyebrow">"Workspace"</p>
                <h1 data-testid="workspace-name">{w.name.clone()}</h1>
            </div>
        </header>
        <div class="stats">
            <div class="stat">
                <span class="stat-label">"Your role"</span>
                <span class="stat-value">{w.role.label()}</span>
            </div>
            <a class="stat" href=members_href.clone()>
                <span class="stat-label">"Members"</span>
                <span class="stat-value">{w.member_count}</span>
            </a>
            {can_invite
                .then(|| {
                    view! {
                        <a class="stat" href=members_href.clone()>
                            <span class="stat-label">"Pending invitations"</span>
                            <span class="stat-value">{w.pending_invitations}</span>
                        </a>
                    }
                })}
            <div class="stat">
                <span class="stat-label">"Created"</span>
                <span class="stat-value small">{short_date(&w.created_at)}</span>
            </div>
        </div>
        {(can_invite && w.member_count == 1)
            .then(|| {
                view! {
                    <section class="panel empty-state">
                        <h2>"Bring your team"</h2>
                        <p class="muted">
                            "You are the only member so far. Create an invitation link and send it to a colleague; they choose their own password."
                        </p>
                        <a class="button primary" href=members_href.clone()>"Invite people"</a>
                    </section>
                }
            })}
    }
}
