//! `/w/:ws/workflows/:wf`: the designer. A toolbar (save, undo/redo, layout, snap, zoom), the
//! palette, the canvas and the side panel; keyboard shortcuts; autosave; the conflict dialog.

mod canvas;
mod inspector;
mod palette;
mod state;

use std::time::Duration;

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};
use uuid::Uuid;
use wasm_bindgen::JsCast;

use crate::error::AppError;
use crate::ui::form::loaded;
use crate::workflows::api::{get_workflow, save_workflow, save_workflow_copy};
use crate::workflows::graph::{GRID, Graph, GraphDiff};
use crate::workflows::model::{WorkflowDoc, WorkflowStatus};
use crate::workspaces::layout::{use_workspace, workspace_param};
use crate::workspaces::model::Permission;
use canvas::Canvas;
use inspector::Inspector;
use palette::Palette;
use state::{Editor, Viewport};

/// Autosave waits this long after the last change.
const AUTOSAVE_AFTER: Duration = Duration::from_secs(2);
/// Where copied nodes wait for a paste, in this or another workflow.
const CLIPBOARD_KEY: &str = "flowdeck.clipboard";

/// The designer page.
#[component]
pub fn EditorPage() -> impl IntoView {
    let ws = use_workspace();
    let ws_id = workspace_param();
    let params = use_params_map();
    let wf = Memo::new(move |_| params.read().get("wf").and_then(|s| s.parse::<Uuid>().ok()));
    let doc = Resource::new(
        move || (ws_id.get(), wf.get()),
        |(ws, wf)| async move {
            match (ws, wf) {
                (Some(ws), Some(wf)) => get_workflow(ws, wf).await,
                _ => Err(AppError::NotFound),
            }
        },
    );
    view! {
        {loaded(ws.data, move |w| {
            let can_edit = w.can(Permission::Edit);
            let workspace_id = w.id;
            view! {
                {loaded(doc, move |doc| view! { <Designer doc workspace_id can_edit/> })}
            }
        })}
    }
}

/// How saving stands.
#[derive(Clone, PartialEq)]
enum SaveState {
    Idle,
    Saving,
    Failed(String),
}

#[component]
fn Designer(doc: WorkflowDoc, workspace_id: Uuid, can_edit: bool) -> impl IntoView {
    let workflow_id = doc.summary.id;
    let editor = Editor::new(doc.graph, !can_edit);
    let version = RwSignal::new(doc.summary.version);
    let save_state = RwSignal::new(SaveState::Idle);
    let conflict = RwSignal::new(None::<String>);
    let (notice, set_notice) = signal(None::<String>);
    let canvas = NodeRef::<html::Div>::new();
    let diagnostics = Memo::new(move |_| {
        editor.revision.track();
        editor.graph().diagnostics()
    });

    let save = move || {
        if editor.read_only || save_state.get_untracked() == SaveState::Saving || conflict.get_untracked().is_some() {
            return;
        }
        editor.commit();
        let revision = editor.revision.get_untracked();
        let graph = editor.graph();
        let at = version.get_untracked();
        save_state.set(SaveState::Saving);
        spawn_local(async move {
            match save_workflow(workspace_id, workflow_id, at, graph).await {
                Ok(saved) => {
                    version.set(saved.version);
                    editor.saved.set(revision);
                    save_state.set(SaveState::Idle);
                }
                Err(AppError::Conflict { message }) => {
                    conflict.set(Some(message));
                    save_state.set(SaveState::Idle);
                }
                Err(e) => save_state.set(SaveState::Failed(e.to_string())),
            }
        });
    };

    // Autosave after a pause; a failed save waits for the next change.
    Effect::new(move |_| {
        let revision = editor.revision.get();
        if !editor.dirty() || editor.read_only {
            return;
        }
        set_timeout(
            move || {
                if editor.revision.get_untracked() == revision
                    && editor.revision.get_untracked() != editor.saved.get_untracked()
                    && !matches!(save_state.get_untracked(), SaveState::Failed(_))
                {
                    save();
                }
            },
            AUTOSAVE_AFTER,
        );
    });
    Effect::new(move |_| {
        editor.revision.track();
        if matches!(save_state.get_untracked(), SaveState::Failed(_)) {
            save_state.set(SaveState::Idle);
        }
    });

    let size = move || canvas.get_untracked().map(|el| (f64::from(el.client_width()), f64::from(el.client_height())));
    let fit = move || {
        if let Some((w, h)) = size() {
            editor.view.set(Viewport::fit(&editor.positions(), w, h));
        }
    };
    let zoom = move |factor: f64| {
        if let Some((w, h)) = size() {
            editor.view.update(|v| *v = v.zoom_at((w / 2.0, h / 2.0), factor));
        }
    };
    // Show the whole workflow once the canvas has a size.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        match canvas.get() {
            Some(_) => {
                request_animation_frame(fit);
                true
            }
            None => false,
        }
    });
    let add = Callback::new(move |kind| {
        let center = size()
            .map(|(w, h)| editor.view.get_untracked().to_canvas((w / 2.0 - 100.0, h / 2.0 - 32.0)))
            .unwrap_or((0.0, 0.0));
        editor.add_node(kind, None, center);
    });

    let keys = window_event_listener(leptos::ev::keydown, move |ev: KeyboardEvent| {
        on_key(&ev, editor, save, fit, zoom);
    });
    let leave = window_event_listener(leptos::ev::beforeunload, move |ev| {
        if editor.revision.get_untracked() != editor.saved.get_untracked() {
            ev.prevent_default();
        }
    });
    on_cleanup(move || {
        keys.remove();
        leave.remove();
    });

    let status = doc.summary.status;
    let name = doc.summary.name.clone();
    view! {
        <Title text=format!("{name} · Flowdeck")/>
        <div class="designer" data-testid="designer">
            <DesignerBar editor name=name.clone() status workspace_id can_edit save_state save=Callback::new(move |()| save()) fit=Callback::new(move |()| fit()) zoom=Callback::new(zoom)/>
            {move || notice.get().map(|n| view! {
                <p class="notice" role="status">{n}<button type="button" class="ghost" aria-label="Dismiss" on:click=move |_| set_notice.set(None)>"×"</button></p>
            })}
            <div class="designer-body">
                {can_edit.then(|| view! { <Palette on_add=add/> })}
                <Canvas editor diagnostics notice=set_notice canvas/>
                <Inspector editor diagnostics/>
            </div>
            {move || conflict.get().map(|message| view! {
                <ConflictDialog message editor workspace_id workflow_id version conflict/>
            })}
        </div>
    }
    .into_any()
}

#[component]
fn DesignerBar(
    editor: Editor,
    name: String,
    status: WorkflowStatus,
    workspace_id: Uuid,
    can_edit: bool,
    save_state: RwSignal<SaveState>,
    save: Callback<()>,
    fit: Callback<()>,
    zoom: Callback<f64>,
) -> impl IntoView {
    view! {
        <header class="designer-bar">
            <A href=format!("/w/{workspace_id}/workflows") attr:class="ghost">"← Workflows"</A>
            <h1 class="designer-title">{name.clone()}</h1>
            <span class=format!("badge status-{}", status.as_str().to_lowercase())>{status.label()}</span>
            <SaveStatus editor save_state read_only=editor.read_only/>
            <div class="toolbar-group" role="toolbar" aria-label="Canvas">
                <button type="button" class="ghost" title="Undo (Ctrl+Z)" disabled=move || editor.depth.get().0 == 0 || editor.read_only on:click=move |_| editor.undo()>"Undo"</button>
                <button type="button" class="ghost" title="Redo (Ctrl+Shift+Z)" disabled=move || editor.depth.get().1 == 0 || editor.read_only on:click=move |_| editor.redo()>"Redo"</button>
                <button type="button" class="ghost" title="Lay out left to right" disabled=editor.read_only on:click=move |_| { editor.auto_layout(); fit.run(()); }>"Auto-layout"</button>
                <button type="button" class="ghost" aria-pressed=move || editor.snap.get().to_string() title="Snap to grid" on:click=move |_| editor.snap.update(|s| *s = !*s)>"Snap"</button>
                <button type="button" class="ghost" title="Zoom out" aria-label="Zoom out" on:click=move |_| zoom.run(1.0 / 1.2)>"−"</button>
                <span class="zoom" data-testid="zoom">{move || format!("{:.0} %", editor.view.get().zoom * 100.0)}</span>
                <button type="button" class="ghost" title="Zoom in" aria-label="Zoom in" on:click=move |_| zoom.run(1.2)>"+"</button>
                <button type="button" class="ghost" title="Zoom to fit (F)" on:click=move |_| fit.run(())>"Fit"</button>
            </div>
            {can_edit.then(|| view! {
                <button type="button" class="primary" title="Save (Ctrl+S)" disabled=move || save_state.get() == SaveState::Saving on:click=move |_| save.run(())>"Save"</button>
            })}
        </header>
    }
    .into_any()
}

#[component]
fn SaveStatus(editor: Editor, save_state: RwSignal<SaveState>, read_only: bool) -> impl IntoView {
    view! {
        <span class="save-status" role="status" data-testid="save-status">
            {move || match save_state.get() {
                _ if read_only => "Read only".to_owned(),
                SaveState::Saving => "Saving…".to_owned(),
                SaveState::Failed(message) => format!("Not saved: {message}"),
                SaveState::Idle if editor.dirty() => "Unsaved changes".to_owned(),
                SaveState::Idle => "All changes saved".to_owned(),
            }}
        </span>
    }
}

/// Keyboard shortcuts; typing in a field keeps its keys (except Ctrl+S).
fn on_key(ev: &KeyboardEvent, editor: Editor, save: impl Fn(), fit: impl Fn(), zoom: impl Fn(f64)) {
    let typing = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
        .is_some_and(|el| matches!(el.tag_name().as_str(), "INPUT" | "TEXTAREA" | "SELECT"));
    let ctrl = ev.ctrl_key() || ev.meta_key();
    let key = ev.key();
    if ctrl && key.eq_ignore_ascii_case("s") {
        ev.prevent_default();
        save();
        return;
    }
    if typing {
        return;
    }
    let step = if ev.shift_key() {
        5.0 * GRID
    } else if editor.snap.get_untracked() {
        GRID
    } else {
        1.0
    };
    match (ctrl, key.as_str()) {
        (true, "z" | "Z") if ev.shift_key() => editor.redo(),
        (true, "z" | "Z") => editor.undo(),
        (true, "y" | "Y") => editor.redo(),
        (true, "a" | "A") => editor.select_all(),
        (true, "c" | "C") => copy(editor),
        (true, "v" | "V") => paste(editor),
        (true, "d" | "D") => {
            let part = editor.selection_graph();
            editor.paste(part);
        }
        (false, "Delete" | "Backspace") => editor.delete_selection(),
        (false, "Escape") => editor.clear_selection(),
        (false, "ArrowLeft") => editor.nudge(-step, 0.0),
        (false, "ArrowRight") => editor.nudge(step, 0.0),
        (false, "ArrowUp") => editor.nudge(0.0, -step),
        (false, "ArrowDown") => editor.nudge(0.0, step),
        (false, "f" | "F") => fit(),
        (false, "+" | "=") => zoom(1.2),
        (false, "-") => zoom(1.0 / 1.2),
        _ => return,
    }
    ev.prevent_default();
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Copies the selection to local storage, so it can be pasted here or in another workflow.
fn copy(editor: Editor) {
    let part = editor.selection_graph();
    if let (Some(store), Ok(json)) = (storage(), serde_json::to_string(&part))
        && !part.nodes.is_empty()
    {
        let _ = store.set_item(CLIPBOARD_KEY, &json);
    }
}

fn paste(editor: Editor) {
    if editor.read_only {
        return;
    }
    let part = storage()
        .and_then(|s| s.get_item(CLIPBOARD_KEY).ok().flatten())
        .and_then(|json| serde_json::from_str::<Graph>(&json).ok());
    if let Some(part) = part {
        editor.paste(part);
    }
}

/// Someone saved a newer version: reload theirs, look at the differences, or keep mine as a copy.
#[component]
fn ConflictDialog(
    message: String,
    editor: Editor,
    workspace_id: Uuid,
    workflow_id: Uuid,
    version: RwSignal<i32>,
    conflict: RwSignal<Option<String>>,
) -> impl IntoView {
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let diff = RwSignal::new(None::<(GraphDiff, Graph)>);
    let navigate = use_navigate();
    let reload = move |_| {
        busy.set(true);
        spawn_local(async move {
            match get_workflow(workspace_id, workflow_id).await {
                Ok(doc) => {
                    editor.reset(doc.graph);
                    version.set(doc.summary.version);
                    conflict.set(None);
                }
                Err(e) => error.set(Some(e.to_string())),
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
