//! `/w/:ws/projects`: the workspace's projects — favourites first, search, status filter,
//! archived ones on request — with create, star, archive/restore and delete.

use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;
use uuid::Uuid;

use crate::boards::api::{ArchiveProject, CreateProject, DeleteProject, FavoriteProject, list_projects};
use crate::boards::model::{ProjectStatus, ProjectSummary};
use crate::ui::form::{FormError, Submit, action_error, confirm, invalid, loaded};
use crate::ui::toast::toast_errors;
use crate::workspaces::layout::use_workspace;
use crate::workspaces::model::{Permission, WorkspaceView};

#[component]
pub fn ProjectsPage() -> impl IntoView {
    let ws = use_workspace();
    view! {
        <Title text="Projects · Flowdeck"/>
        {loaded(ws.data, |w| view! { <Projects w/> })}
    }
}

/// What every row may do; one set for the page.
#[derive(Clone, Copy)]
struct RowActions {
    favorite: ServerAction<FavoriteProject>,
    archive: ServerAction<ArchiveProject>,
    delete: ServerAction<DeleteProject>,
}

#[component]
fn Projects(w: WorkspaceView) -> impl IntoView {
    let workspace_id = w.id;
    let can_edit = w.can(Permission::Edit);
    let can_delete = w.role.is_manager();
    let create = ServerAction::<CreateProject>::new();
    let actions =
        RowActions { favorite: ServerAction::new(), archive: ServerAction::new(), delete: ServerAction::new() };
    toast_errors(actions.favorite);
    toast_errors(actions.archive);
    toast_errors(actions.delete);
    let archived = RwSignal::new(false);
    let list = Resource::new(
        move || {
            (
                archived.get(),
                create.version().get(),
                actions.favorite.version().get(),
                actions.archive.version().get(),
                actions.delete.version().get(),
            )
        },
        move |(archived, ..)| list_projects(workspace_id, archived),
    );
    let search = RwSignal::new(String::new());
    let status = RwSignal::new(None::<ProjectStatus>);
    view! {
        <header class="page-header">
            <div>
                <p class="eyebrow">{w.name.clone()}</p>
                <h1>"Projects"</h1>
            </div>
        </header>
        {can_edit.then(|| view! { <CreateForm workspace_id create/> })}
        <section class="panel">
            <div class="row toolbar">
                <label class="grow">
                    <span class="sr-only">"Search projects"</span>
                    <input
                        type="search"
                        placeholder="Search by title or description"
                        aria-label="Search projects"
                        prop:value=move || search.get()
                        on:input=move |ev| search.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    <span class="sr-only">"Status"</span>
                    <select
                        aria-label="Filter by status"
                        on:change=move |ev| status.set(ProjectStatus::parse(&event_target_value(&ev)))
                    >
                        <option value="">"All statuses"</option>
                        // Archiving is its own switch ("Show archived"), not a status one picks.
                        {ProjectStatus::ALL
                            .into_iter()
                            .filter(|s| *s != ProjectStatus::Archived)
                            .map(|s| view! { <option value=s.as_str()>{s.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=move || archived.get()
                        on:change=move |ev| archived.set(event_target_checked(&ev))
                    />
                    "Show archived"
                </label>
            </div>
            {loaded(list, move |all| {
                if all.is_empty() {
                    return view! { <EmptyState can_edit/> }.into_any();
                }
                let all = StoredValue::new(all);
                let shown = move || {
                    all.with_value(|all| {
                        all.iter().filter(|p| p.matches(&search.get(), status.get())).cloned().collect::<Vec<_>>()
                    })
                };
                view! {
                    <ul class="project-list" data-testid="project-list">
                        <For each=shown key=|p| (p.id, p.favorite, p.archived, p.updated_at, p.done, p.total) let:project>
                            <ProjectRow project workspace_id can_edit can_delete actions/>
                        </For>
                    </ul>
                    {move || {
                        shown()
                            .is_empty()
                            .then(|| view! { <p class="muted" role="status">"No projects match this search."</p> })
                    }}
                }
                    .into_any()
            })}
        </section>
    }
}

#[component]
fn CreateForm(workspace_id: Uuid, create: ServerAction<CreateProject>) -> impl IntoView {
    let error = action_error(create);
    let form = NodeRef::<html::Form>::new();
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = create.value().get() {
            if let Some(form) = form.get() {
                form.reset();
            }
            navigate(&format!("/w/{workspace_id}/projects/{id}"), Default::default());
        }
    });
    view! {
        <section class="panel">
            <h2>"New project"</h2>
            <ActionForm action=create node_ref=form>
                <FormError error/>
                <input type="hidden" name="workspace_id" value=workspace_id.to_string()/>
                <div class="row">
                    <label class="emoji-field">
                        "Emoji"
                        <input name="emoji" maxlength="8" placeholder="🚀" aria-invalid=invalid(error, "emoji")/>
                    </label>
                    <label class="grow">
                        "Title"
                        <input name="title" required maxlength="100" placeholder="Spring campaign" aria-invalid=invalid(error, "title")/>
                    </label>
                    <label class="color-field">
                        "Colour"
                        <input name="color" type="color" value="#3b82f6" aria-invalid=invalid(error, "color")/>
                    </label>
                </div>
                <label>
                    "Description (optional)"
                    <textarea name="description" rows="2" maxlength="10000" placeholder="What the project is for" aria-invalid=invalid(error, "description")></textarea>
                </label>
                <Submit pending=create.pending() label="Create project" busy="Creating…"/>
            </ActionForm>
        </section>
    }
}

#[component]
fn EmptyState(can_edit: bool) -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="projects-empty">
            <h2>"No projects yet"</h2>
            <p class="muted">
                "A project is a board of tasks: cards move from To do through In progress and In review to Done, and everyone looking at the board sees each move at once."
            </p>
            {if can_edit {
                "Give your first project a title above to start."
            } else {
                "Viewers can see projects here once members create them."
            }}
        </div>
    }
}

#[component]
fn ProjectRow(
    project: ProjectSummary,
    workspace_id: Uuid,
    can_edit: bool,
    can_delete: bool,
    actions: RowActions,
) -> impl IntoView {
    let id = project.id;
    let favorite = project.favorite;
    let archived = project.archived;
    let percent = (project.done * 100).checked_div(project.total).unwrap_or(0);
    let title = project.title.clone();
    let star_label = format!("Star “{}”", project.title);
    let swatch = project.color.clone().map(|c| format!("background:{c}"));
    view! {
        <li class="project" class:archived=archived data-testid="project">
            <button
                class="ghost star"
                aria-pressed=favorite.to_string()
                aria-label=star_label
                on:click=move |_| {
                    actions.favorite.dispatch(FavoriteProject { workspace_id, project_id: id, favorite: !favorite });
                }
            >
                {if favorite { "★" } else { "☆" }}
            </button>
            <span class="project-swatch" style=swatch aria-hidden="true">{project.emoji.clone().unwrap_or_default()}</span>
            <div class="project-main">
                <a class="project-name" href=format!("/w/{workspace_id}/projects/{id}")>{project.title.clone()}</a>
                {(!project.description.is_empty()).then(|| view! { <p class="muted">{project.description.clone()}</p> })}
                <div class="progress" role="img" aria-label=format!("{} of {} tasks done", project.done, project.total)>
                    <span style=format!("width:{percent}%")></span>
                </div>
                <small class="muted">{format!("{} of {} done", project.done, project.total)}</small>
            </div>
            <span class=format!("badge project-{}", project.status.as_str())>
                {if archived { "Archived" } else { project.status.label() }}
            </span>
            {can_edit.then(|| {
                let title = title.clone();
                view! {
                    <div class="row-actions">
                        <button
                            class="ghost"
                            on:click=move |_| {
                                actions.archive.dispatch(ArchiveProject { workspace_id, project_id: id, archived: !archived });
                            }
                        >
                            {if archived { "Restore" } else { "Archive" }}
                        </button>
                        {can_delete.then(|| view! {
                            <button
                                class="ghost danger"
                                on:click=move |_| {
                                    if confirm(&format!("Delete the project “{title}” and all its tasks? This cannot be undone.")) {
                                        actions.delete.dispatch(DeleteProject { workspace_id, project_id: id });
                                    }
                                }
                            >
                                "Delete"
                            </button>
                        })}
                    </div>
                }
            })}
        </li>
    }
}
