//! The conflict dialog: someone saved a newer version while this canvas had unsaved changes.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::use_navigate;
use uuid::Uuid;

use crate::workflows::api::{get_workflow, save_workflow_copy};
use crate::workflows::editor::Session;
use crate::workflows::editor::state::Editor;
use crate::workflows::graph::{Graph, GraphDiff};

/// Someone saved a newer version: reload theirs, look at the differences, or keep mine as a copy.
#[component]
pub fn ConflictDialog(message: String, session: Session) -> impl IntoView {
    let Session { editor, workspace_id, workflow_id, conflict, .. } = session;
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let diff = RwSignal::new(None::<(GraphDiff, Graph)>);
    let navigate = use_navigate();
    let reload = move |_| {
        busy.set(true);
        spawn_local(async move {
            if let Err(e) = session.load_saved().await {
                error.set(Some(e.to_string()));
            }
            busy.set(false);
        });
    };
    let compare = move |_| {
        busy.set(true);
        spawn_local(async move {
            match get_workflow(workspace_id, workflow_id).await {
                Ok(doc) => diff.set(Some((doc.graph.diff(&editor.graph()), doc.graph))),
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    let keep_copy = move |_| {
        busy.set(true);
        let navigate = navigate.clone();
        spawn_local(async move {
            match save_workflow_copy(workspace_id, workflow_id, editor.graph()).await {
                Ok(copy) => {
                    editor.saved.set(editor.revision.get_untracked());
                    conflict.set(None);
                    navigate(&format!("/w/{workspace_id}/workflows/{copy}"), Default::default());
                }
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="modal-backdrop">
            <div class="modal" role="alertdialog" aria-modal="true" aria-labelledby="conflict-title" data-testid="conflict">
                <h2 id="conflict-title">"Someone else saved this workflow"</h2>
                <p>{message}</p>
                <p class="muted">"Your changes are not saved yet. Nothing is lost until you choose."</p>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                {move || diff.get().map(|(d, theirs)| view! { <DiffSummary diff=d theirs editor/> })}
                <div class="row">
                    <button type="button" class="ghost" disabled=busy on:click=compare>"Show differences"</button>
                    <button type="button" class="ghost" disabled=busy on:click=keep_copy>"Save mine as a copy"</button>
                    <button type="button" class="primary" disabled=busy on:click=reload>"Discard mine and load theirs"</button>
                </div>
            </div>
        </div>
    }
}

/// The difference between the saved version (theirs) and the canvas (mine), by node name.
#[component]
fn DiffSummary(diff: GraphDiff, theirs: Graph, editor: Editor) -> impl IntoView {
    let mine = editor.graph();
    let name = |g: &Graph, id: &Uuid| g.nodes.iter().find(|n| n.id == *id).map(|n| n.name.clone()).unwrap_or_default();
    let list = |label: &'static str, names: Vec<String>| {
        (!names.is_empty()).then(|| view! { <li><strong>{label}</strong> " " {names.join(", ")}</li> })
    };
    let edges = diff.added_edges.len() + diff.removed_edges.len() + diff.changed_edges.len();
    view! {
        <ul class="diff" data-testid="diff">
            {list("Only in yours:", diff.added_nodes.iter().map(|id| name(&mine, id)).collect())}
            {list("Only in theirs:", diff.removed_nodes.iter().map(|id| name(&theirs, id)).collect())}
            {list("Changed:", diff.changed_nodes.iter().map(|id| name(&mine, id)).collect())}
            {(edges > 0).then(|| view! { <li>{format!("{edges} connections differ.")}</li> })}
            {diff.is_empty().then(|| view! { <li>"Only positions differ."</li> })}
        </ul>
    }
}
