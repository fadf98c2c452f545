//! The settings panel: the workflow's error workflow — another workflow of the workspace,
//! started from its Manual trigger whenever a run of this one fails (n8n's "error workflow").

use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::ui::form::loaded;
use crate::workflows::api::{get_error_workflow, list_workflows, set_error_workflow};
use crate::workflows::editor::Session;
use crate::workflows::model::{WorkflowStatus, WorkflowSummary};

#[component]
pub fn SettingsPanel(session: Session, can_edit: bool) -> impl IntoView {
    let (ws, wf) = (session.workspace_id, session.workflow_id);
    let data = Resource::new(
        || (),
        move |()| async move {
            let current = get_error_workflow(ws, wf).await?;
            let others = list_workflows(ws).await?;
            Ok((current, others))
        },
    );
    view! {
        <aside class="inspector settings" aria-label="Workflow settings">
            <h2>"Settings"</h2>
            {loaded(data, move |(current, others)| view! { <ErrorWorkflow session current others can_edit/> })}
        </aside>
    }
    .into_any()
}

#[component]
fn ErrorWorkflow(
    session: Session,
    current: Option<Uuid>,
    others: Vec<WorkflowSummary>,
    can_edit: bool,
) -> impl IntoView {
    let chosen = RwSignal::new(current);
    let state = RwSignal::new(None::<Result<&'static str, String>>);
    let busy = RwSignal::new(false);
    let choices: Vec<(Uuid, String)> = others
        .into_iter()
        .filter(|w| w.id != session.workflow_id && w.status != WorkflowStatus::Archived)
        .map(|w| (w.id, w.name))
        .collect();
    let change = move |ev: leptos::ev::Event| {
        let before = chosen.get_untracked();
        let next = Uuid::parse_str(&event_target_value(&ev)).ok();
        chosen.set(next);
        busy.set(true);
        state.set(None);
        spawn_local(async move {
            let result = set_error_workflow(session.workspace_id, session.workflow_id, next).await;
            busy.try_set(false);
            match result {
                Ok(()) => state.try_set(Some(Ok(if next.is_some() {
                    "Saved: it starts when a run fails."
                } else {
                    "Saved: no error workflow."
                }))),
                Err(e) => {
                    chosen.try_set(before);
                    state.try_set(Some(Err(e.to_string())))
                }
            };
        });
    };
    view! {
        <section class="stack" aria-labelledby="error-workflow-title">
            <h3 id="error-workflow-title">"When a run fails"</h3>
            <label>
                "Error workflow"
                <select
                    name="error-workflow"
                    disabled=move || !can_edit || busy.get()
                    prop:value=move || chosen.get().map(|id| id.to_string()).unwrap_or_default()
                    on:change=change
                >
                    <option value="">"None"</option>
                    {choices
                        .into_iter()
                        .map(|(id, name)| view! { <option value=id.to_string()>{name}</option> })
                        .collect_view()}
                </select>
            </label>
            <small class="muted">
                "It starts from its Manual trigger, by itself, whenever a run of this workflow fails (simulations excepted). "
                "Its templates read trigger.data.workflow_name, trigger.data.error and trigger.data.execution_id."
            </small>
            {move || state.get().map(|s| match s {
                Ok(message) => view! { <p class="muted" role="status" data-testid="settings-saved">{message}</p> }.into_any(),
                Err(e) => view! { <p class="form-error" role="alert">{e}</p> }.into_any(),
            })}
        </section>
    }
}
