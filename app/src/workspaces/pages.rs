//! `/` (open the current workspace), new workspace, the General section of workspace settings.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Redirect;

use crate::auth::viewer::use_shell;
use crate::ui::form::{ErrorPanel, FormError, Loading, Submit, action_error, invalid};
use crate::workspaces::api::{CreateWorkspace, RenameWorkspace};
use crate::workspaces::layout::use_workspace;
use crate::workspaces::model::{Permission, WorkspaceView};

/// `/`: opens the last workspace, or offers to create the first one.
#[component]
pub fn Home() -> impl IntoView {
    let shell = use_shell();
    view! {
        <main class="page">
            <Transition fallback=Loading>
                {move || Suspend::new(async move {
                    match shell.viewer.await {
                        Ok(Some(v)) => match v.home_workspace() {
                            Some(id) => view! { <Redirect path=format!("/w/{id}")/> }.into_any(),
                            None => view! { <NewWorkspaceForm first=true/> }.into_any(),
                        },
                        Ok(None) => ().into_any(),
                        Err(e) => view! { <ErrorPanel error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </main>
    }
}

/// `/workspaces/new`.
#[component]
pub fn NewWorkspacePage() -> impl IntoView {
    view! {
        <main class="page">
            <NewWorkspaceForm first=false/>
        </main>
    }
}

#[component]
fn NewWorkspaceForm(first: bool) -> impl IntoView {
    let shell = use_shell();
    let create = ServerAction::<CreateWorkspace>::new();
    let error = action_error(create);
    Effect::new(move |_| {
        if matches!(create.value().get(), Some(Ok(()))) {
            shell.refresh.update(|n| *n += 1);
        }
    });
    view! {
        <Title text="New workspace · Flowdeck"/>
        <section class="panel narrow">
            <h1>{if first { "Create your first workspace" } else { "New workspace" }}</h1>
            <p class="muted">
                "A workspace holds a team's workflows, boards and calendars. You will be its owner and can invite others."
            </p>
            <ActionForm action=create>
                <FormError error/>
                <label>
                    "Name"
                    <input name="name" required maxlength="80" autofocus placeholder="Acme Operations" aria-invalid=invalid(error, "name")/>
                </label>
                <Submit pending=create.pending() label="Create workspace" busy="Creating…"/>
            </ActionForm>
        </section>
    }
}

/// The General section of workspace settings (`/w/:ws/settings`, composed at the crate root):
/// rename the workspace.
#[component]
pub fn GeneralSettings(w: WorkspaceView) -> impl IntoView {
    if w.can(Permission::EditSettings) {
        view! { <RenameForm w/> }.into_any()
    } else {
        view! { <p class="panel muted">"Only owners, admins and members allowed to edit settings can change this workspace."</p> }
            .into_any()
    }
}

#[component]
fn RenameForm(w: WorkspaceView) -> impl IntoView {
    let ws = use_workspace();
    let shell = use_shell();
    let rename = ServerAction::<RenameWorkspace>::new();
    let error = action_error(rename);
    let saved = move || matches!(rename.value().get(), Some(Ok(())));
    Effect::new(move |_| {
        if matches!(rename.value().get(), Some(Ok(()))) {
            ws.refresh.update(|n| *n += 1);
            shell.refresh.update(|n| *n += 1);
        }
    });
    view! {
        <section class="panel">
            <h2>"General"</h2>
            <ActionForm action=rename>
                <FormError error/>
                <input type="hidden" name="workspace_id" value=w.id.to_string()/>
                <label>
                    "Workspace name"
                    <input name="name" value=w.name.clone() required maxlength="80" aria-invalid=invalid(error, "name")/>
                </label>
                <div class="form-actions">
                    <Submit pending=rename.pending() label="Save" busy="Saving…"/>
                    {move || saved().then(|| view! { <span class="success" role="status">"Saved."</span> })}
                </div>
            </ActionForm>
        </section>
    }
}
