//! `/w/:ws/workflows`: every workflow of the workspace, with search, status filter and actions.

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use leptos_meta::Title;
use uuid::Uuid;

use crate::ui::form::{FormError, Submit, action_error, confirm, invalid, loaded, short_date};
use crate::ui::toast::toast_errors;
use crate::workflows::api::{
    CreateWorkflow, DeleteWorkflow, DuplicateWorkflow, ImportWorkflow, RenameWorkflow, list_workflows,
};
use crate::workflows::model::{WorkflowStatus, WorkflowSummary};
use crate::workspaces::layout::use_workspace;
use crate::workspaces::model::{Permission, WorkspaceView};

/// The workflows list of the open workspace.
#[component]
pub fn WorkflowsPage() -> impl IntoView {
    let ws = use_workspace();
    view! {
        <Title text="Workflows · Flowdeck"/>
        {loaded(ws.data, |w| view! { <Workflows w/> })}
    }
}

/// Actions every row uses; one set for the page.
#[derive(Clone, Copy)]
struct RowActions {
    rename: ServerAction<RenameWorkflow>,
    duplicate: ServerAction<DuplicateWorkflow>,
    delete: ServerAction<DeleteWorkflow>,
    /// The row whose name is being edited.
    editing: RwSignal<Option<Uuid>>,
}

#[component]
fn Workflows(w: WorkspaceView) -> impl IntoView {
    let workspace_id = w.id;
    let can_edit = w.can(Permission::Edit);
    let create = ServerAction::<CreateWorkflow>::new();
    let import = ServerAction::<ImportWorkflow>::new();
    let actions = RowActions {
        rename: ServerAction::new(),
        duplicate: ServerAction::new(),
        delete: ServerAction::new(),
        editing: RwSignal::new(None),
    };
    toast_errors(actions.rename);
    toast_errors(actions.duplicate);
    toast_errors(actions.delete);
    let list = Resource::new(
        move || {
            (
                create.version().get(),
                import.version().get(),
                actions.rename.version().get(),
                actions.duplicate.version().get(),
                actions.delete.version().get(),
            )
        },
        move |_| list_workflows(workspace_id),
    );
    Effect::new(move |_| {
        if matches!(actions.rename.value().get(), Some(Ok(()))) {
            actions.editing.set(None);
        }
    });
    let search = RwSignal::new(String::new());
    let status = RwSignal::new(None::<WorkflowStatus>);
    view! {
        <header class="page-header">
            <div>
                <p class="eyebrow">{w.name.clone()}</p>
                <h1>"Workflows"</h1>
            </div>
        </header>
        {can_edit.then(|| view! {
            <CreateForm workspace_id create/>
            <ImportForm workspace_id import/>
        })}
        <section class="panel">
            <div class="row toolbar">
                <label class="grow">
                    <span class="sr-only">"Search workflows"</span>
                    <input
                        type="search"
                        placeholder="Search by name or description"
                        aria-label="Search workflows"
                        prop:value=move || search.get()
                        on:input=move |ev| search.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    <span class="sr-only">"Status"</span>
                    <select
                        aria-label="Filter by status"
                        on:change=move |ev| status.set(WorkflowStatus::parse(&event_target_value(&ev)))
                    >
                        <option value="">"All statuses"</option>
                        {WorkflowStatus::ALL
                            .into_iter()
                            .map(|s| view! { <option value=s.as_str()>{s.label()}</option> })
                            .collect_view()}
                    </select>
                </label>
            </div>
            {loaded(
                list,
                move |all| {
                    if all.is_empty() {
                        return view! { <EmptyState can_edit/> }.into_any();
                    }
                    let all = StoredValue::new(all);
                    let shown = move || {
                        all.with_value(|all| {
                            all.iter().filter(|w| w.matches(&search.get(), status.get())).cloned().collect::<Vec<_>>()
                        })
                    };
                    view! {
                        <ul class="workflow-list" data-testid="workflow-list">
                            <For each=shown key=|w| (w.id, w.version, w.name.clone()) let:wf>
                                <WorkflowRow wf workspace_id can_edit actions/>
                            </For>
                        </ul>
                        {move || {
                            shown()
                                .is_empty()
                                .then(|| view! { <p class="muted" role="status">"No workflows match this search."</p> })
                        }}
                    }
                        .into_any()
                },
            )}
        </section>
    }
}

#[component]
fn CreateForm(workspace_id: Uuid, create: ServerAction<CreateWorkflow>) -> impl IntoView {
    let error = action_error(create);
    let form = NodeRef::<html::Form>::new();
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(_)))
            && let Some(form) = form.get()
        {
            form.reset();
        }
    });
    view! {
        <section class="panel">
            <h2>"New workflow"</h2>
            <ActionForm action=create node_ref=form>
                <FormError error/>
                <input type="hidden" name="workspace_id" value=workspace_id.to_string()/>
                <div class="row">
                    <label class="grow">
                        "Name"
                        <input name="name" required maxlength="80" placeholder="Invoice approval" aria-invalid=invalid(error, "name")/>
                    </label>
                    <label class="grow">
                        "Description (optional)"
                        <input name="description" maxlength="500" placeholder="What it does, for your team" aria-invalid=invalid(error, "description")/>
                    </label>
                </div>
                <Submit pending=create.pending() label="Create workflow" busy="Creating…"/>
            </ActionForm>
        </section>
    }
}

#[component]
fn EmptyState(can_edit: bool) -> impl IntoView {
    view! {
        <div class="empty-state" data-testid="workflows-empty">
            <h2>"No workflows yet"</h2>
            <p class="muted">
                "A workflow automates a piece of your team's work: a trigger — a schedule, a webhook, a task moved on a board — starts a chain of steps such as HTTP requests, emails, conditions and approvals. Each run is logged step by step."
            </p>
            {if can_edit {
                "Give your first workflow a name above to start."
            } else {
                "Viewers can see workflows here once members create them."
            }}
        </div>
    }
}

#[component]
fn WorkflowRow(wf: WorkflowSummary, workspace_id: Uuid, can_edit: bool, actions: RowActions) -> impl IntoView {
    let id = wf.id;
    let name = wf.name.clone();
    let editing = move || actions.editing.get() == Some(id);
    let status_class = format!("badge status-{}", wf.status.as_str().to_lowercase());
    view! {
        <li class="workflow" data-testid="workflow">
            <div class="workflow-main">
                {move || {
                    if editing() {
                        view! { <RenameForm id workspace_id name=name.clone() actions/> }.into_any()
                    } else {
                        view! {
                            <a class="workflow-name" href=format!("/w/{workspace_id}/workflows/{id}")>{name.clone()}</a>
                        }
                            .into_any()
                    }
                }}
                {(!wf.description.is_empty()).then(|| view! { <p class="muted">{wf.description.clone()}</p> })}
                <small class="muted">"Edited " {short_date(&wf.updated_at)} " by " {wf.updated_by.clone()}</small>
            </div>
            <span class=status_class>{wf.status.label()}</span>
            {can_edit
                .then(|| {
                    let label = wf.name.clone();
                    view! {
                        <div class="row-actions">
                            <button class="ghost" on:click=move |_| actions.editing.set(Some(id))>"Rename"</button>
                            <button
                                class="ghost"
                                on:click=move |_| {
                                    actions.duplicate.dispatch(DuplicateWorkflow { workspace_id, workflow_id: id });
                                }
                            >
                                "Duplicate"
                            </button>
                            <button
                                class="ghost danger"
                                on:click=move |_| {
                                    if confirm(&format!("Delete the workflow “{label}”? This cannot be undone.")) {
                                        actions.delete.dispatch(DeleteWorkflow { workspace_id, workflow_id: id });
                                    }
                                }
                            >
                                "Delete"
                            </button>
                        </div>
                    }
                })}
        </li>
    }
}

#[component]
fn RenameForm(id: Uuid, workspace_id: Uuid, name: String, actions: RowActions) -> impl IntoView {
    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
            input.select();
        }
    });
    view! {
        <ActionForm action=actions.rename>
            <input type="hidden" name="workspace_id" value=workspace_id.to_string()/>
            <input type="hidden" name="workflow_id" value=id.to_string()/>
            <div class="row">
                <input
                    node_ref=input
                    name="name"
                    value=name
                    required
                    maxlength="80"
                    aria-label="New name"
                    on:keydown=move |ev: KeyboardEvent| {
                        if ev.key() == "Escape" {
                            actions.editing.set(None);
                        }
                    }
                />
                <Submit pending=actions.rename.pending() label="Save" busy="Saving…"/>
                <button type="button" class="ghost" on:click=move |_| actions.editing.set(None)>"Cancel"</button>
            </div>
        </ActionForm>
    }
}

/// The largest file the browser sends (the server checks again).
const IMPORT_MAX_BYTES: f64 = 1024.0 * 1024.0;

/// Import a Flowdeck export or an n8n workflow file as a new draft; shows what was left out.
#[component]
fn ImportForm(workspace_id: Uuid, import: ServerAction<ImportWorkflow>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let file = NodeRef::<html::Input>::new();
    let report = move || import.value().get();
    let read = move |_| {
        let Some(chosen) = file.get_untracked().and_then(|f| f.files()).and_then(|list| list.get(0)) else {
            error.set(Some("Choose a .json file first.".into()));
            return;
        };
        if chosen.size() > IMPORT_MAX_BYTES {
            error.set(Some("The file is larger than 1 MiB.".into()));
            return;
        }
        error.set(None);
        leptos::task::spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(chosen.text()).await.ok().and_then(|t| t.as_string()) {
                Some(text) => {
                    import.dispatch(ImportWorkflow { workspace_id, text });
                }
                None => error.set(Some("The file could not be read.".into())),
            }
        });
    };
    view! {
        <section class="panel">
            <h2>"Import"</h2>
            <p class="muted">"A Flowdeck export (.flowdeck.json) or an n8n workflow (.json). It becomes a new draft."</p>
            <div class="row import-row">
                <input type="file" accept=".json,application/json" node_ref=file aria-label="Workflow file"/>
                <button type="button" disabled=move || import.pending().get() on:click=read>
                    {move || if import.pending().get() { "Importing…" } else { "Import file" }}
                </button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || match report() {
                Some(Err(e)) => Some(view! { <p class="error" role="alert" data-testid="import-error">{e.to_string()}</p> }.into_any()),
                Some(Ok(r)) => Some(view! {
                    <div class="import-report" role="status" data-testid="import-report">
                        <p>
                            {format!("Imported “{}”: {} nodes, {} connections. ", r.name, r.nodes, r.edges)}
                            <a href=format!("/w/{workspace_id}/workflows/{}", r.workflow_id)>"Open it"</a>
                        </p>
                        {(!r.skipped.is_empty()).then(|| view! {
                            <p class="muted">"Not carried over:"</p>
                            <ul>{r.skipped.into_iter().map(|s| view! { <li>{s}</li> }).collect_view()}</ul>
                        })}
                    </div>
                }.into_any()),
                None => None,
            }}
        </section>
    }
}
