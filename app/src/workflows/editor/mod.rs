//! `/w/:ws/workflows/:wf`: the designer. A toolbar (save, undo/redo, layout, snap, zoom), the
//! palette, the canvas and the side panel; keyboard shortcuts; autosave; the conflict dialog.

mod canvas;
mod conflict;
mod history;
mod inspector;
mod lifecycle;
mod palette;
mod settings;
pub(crate) mod state;

use std::time::Duration;

use leptos::ev::KeyboardEvent;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;
use wasm_bindgen::JsCast;

use crate::error::AppError;
use crate::stream::{Heard, Throttle, on_heard};
use crate::ui::form::confirm;
use crate::ui::form::loaded;
use crate::workflows::api::{get_workflow, save_workflow, workflow_presence};
use crate::workflows::graph::{GRID, Graph};
use crate::workflows::model::{WorkflowDoc, WorkflowStatus};
use crate::workspaces::layout::{use_workspace, workspace_param};
use crate::workspaces::model::Permission;
use canvas::Canvas;
use conflict::ConflictDialog;
use history::{HistoryPanel, VersionBanner};
use inspector::Inspector;
use lifecycle::Lifecycle;
use palette::Palette;
use settings::SettingsPanel;
use state::{Editor, Viewport};

/// How often an open designer tells the server it is still open.
const PRESENCE_EVERY: Duration = Duration::from_secs(10);
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
    let reload = RwSignal::new(0u32);
    let doc = Resource::new(
        move || (ws_id.get(), wf.get(), reload.get()),
        |(ws, wf, _)| async move {
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
                {loaded(doc, move |doc| view! { <Designer doc workspace_id can_edit reload/> })}
            }
        })}
    }
}

/// The designer's parts the engine draws (it sits a layer above workflows): the Runs panel
/// and a webhook trigger's address. The page that mounts the designer provides them
/// (`engine::DesignerPage`).
#[derive(Clone, Copy)]
pub(crate) struct EngineParts {
    /// The Runs panel: the session, whether the member may run, a run to open first.
    pub runs: fn(Session, bool, Option<Uuid>) -> AnyView,
    /// A webhook node's address: the session, the node, whether it requires signatures.
    pub webhook: fn(Session, Uuid, Signal<bool>) -> AnyView,
}

/// A JSON value as the designer shows it.
pub(crate) fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

/// How saving stands.
#[derive(Clone, PartialEq)]
pub(crate) enum SaveState {
    Idle,
    Saving,
    Failed(String),
}

/// What the designer's parts share about the open workflow. `Copy`: ids and signals.
#[derive(Clone, Copy)]
pub(crate) struct Session {
    pub editor: Editor,
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    /// The version the canvas is based on; a save must carry it.
    pub version: RwSignal<i32>,
    pub status: RwSignal<WorkflowStatus>,
    pub save_state: RwSignal<SaveState>,
    /// Set when a save found a newer version: the conflict dialog shows it.
    pub conflict: RwSignal<Option<String>>,
    /// Bumped to load the workflow again from the server (after archiving or restoring).
    pub reload: RwSignal<u32>,
    /// Bumped after an activation: the history panel refetches.
    pub versions: RwSignal<u32>,
}

impl Session {
    /// Saves the canvas if it has unsaved changes. A conflict opens the dialog and is returned.
    pub async fn persist(self) -> Result<(), AppError> {
        let editor = self.editor;
        editor.commit();
        if !editor.dirty_untracked() {
            return Ok(());
        }
        if let Some(message) = self.conflict.get_untracked() {
            return Err(AppError::Conflict { message });
        }
        let revision = editor.revision.get_untracked();
        self.save_state.set(SaveState::Saving);
        let result =
            save_workflow(self.workspace_id, self.workflow_id, self.version.get_untracked(), editor.graph()).await;
        match &result {
            Ok(saved) => {
                self.version.set(saved.version);
                editor.saved.set(revision);
                self.save_state.set(SaveState::Idle);
            }
            Err(AppError::Conflict { message }) => {
                self.conflict.set(Some(message.clone()));
                self.save_state.set(SaveState::Idle);
            }
            Err(e) => self.save_state.set(SaveState::Failed(e.to_string())),
        }
        result.map(|_| ())
    }

    /// Replaces the canvas with the saved workflow (unsaved changes are dropped).
    pub async fn load_saved(self) -> Result<(), AppError> {
        let doc = get_workflow(self.workspace_id, self.workflow_id).await?;
        self.editor.reset(doc.graph);
        self.version.set(doc.summary.version);
        self.status.set(doc.summary.status);
        self.conflict.set(None);
        Ok(())
    }

    /// Saves in the background (button, Ctrl+S, autosave).
    pub fn save(self) {
        if self.editor.read_only || self.save_state.get_untracked() == SaveState::Saving {
            return;
        }
        spawn_local(async move {
            let _ = self.persist().await;
        });
    }
}

/// A version shown instead of the draft: alone, or compared with the draft.
#[derive(Clone, Copy)]
pub(crate) struct Viewing {
    pub number: i32,
    pub compare: bool,
    pub editor: Editor,
    pub version_id: Uuid,
}

#[component]
fn Designer(doc: WorkflowDoc, workspace_id: Uuid, can_edit: bool, reload: RwSignal<u32>) -> impl IntoView {
    let status = doc.summary.status;
    let editor = Editor::new(doc.graph, !(can_edit && status.editable()));
    let session = Session {
        editor,
        workspace_id,
        workflow_id: doc.summary.id,
        version: RwSignal::new(doc.summary.version),
        status: RwSignal::new(status),
        save_state: RwSignal::new(SaveState::Idle),
        conflict: RwSignal::new(None),
        reload,
        versions: RwSignal::new(0),
    };
    let (notice, set_notice) = signal(None::<String>);
    let others = RwSignal::new(Vec::<String>::new());
    let newer = RwSignal::new(None::<String>);
    watch_presence(session, others, newer);
    let canvas = NodeRef::<html::Div>::new();
    let compare_canvas = NodeRef::<html::Div>::new();
    // `?run=<id>` (a row of the workspace's Runs page) opens that run in the Runs panel.
    let parts = expect_context::<EngineParts>();
    let linked_run = use_query_map().with_untracked(|q| q.get("run").and_then(|r| Uuid::parse_str(&r).ok()));
    let panel = RwSignal::new(if linked_run.is_some() { Panel::Runs } else { Panel::Details });
    // The Runs panel colours the canvas by the open run's steps; closing the panel clears them.
    // Here rather than in the panel's cleanup, which also runs while the whole designer is being
    // disposed, and would tell boxes whose signals are gone to redraw.
    Effect::new(move |_| {
        if panel.get() != Panel::Runs && editor.run.with_untracked(|r| !r.is_empty()) {
            editor.run.set(Default::default());
        }
    });
    let viewing = RwSignal::new(None::<Viewing>);
    let diagnostics = Memo::new(move |_| {
        editor.revision.track();
        editor.graph().diagnostics()
    });
    let no_diagnostics = Memo::new(|_| Vec::new());

    // Autosave after a pause; a failed save waits for the next change.
    Effect::new(move |_| {
        let revision = editor.revision.get();
        if !editor.dirty_untracked() || editor.read_only {
            return;
        }
        set_timeout(
            move || {
                // `try_`: the designer may have been left since (its signals are gone together).
                if editor.revision.try_get_untracked() == Some(revision)
                    && editor.dirty_untracked()
                    && session.conflict.get_untracked().is_none()
                    && !matches!(session.save_state.get_untracked(), SaveState::Failed(_))
                {
                    session.save();
                }
            },
            AUTOSAVE_AFTER,
        );
    });
    Effect::new(move |_| {
        editor.revision.track();
        if matches!(session.save_state.get_untracked(), SaveState::Failed(_)) {
            session.save_state.set(SaveState::Idle);
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
    let add = Callback::new(move |kind| {
        let center = size()
            .map(|(w, h)| editor.view.get_untracked().to_canvas((w / 2.0 - 100.0, h / 2.0 - 32.0)))
            .unwrap_or((0.0, 0.0));
        editor.add_node(kind, None, center);
    });

    let keys = window_event_listener(leptos::ev::keydown, move |ev: KeyboardEvent| {
        if viewing.get_untracked().is_some() {
            if ev.key() == "Escape" {
                viewing.set(None);
            }
            return;
        }
        on_key(&ev, editor, move || session.save(), fit, zoom);
    });
    let leave = window_event_listener(leptos::ev::beforeunload, move |ev| {
        if editor.dirty_untracked() {
            ev.prevent_default();
        }
    });
    on_cleanup(move || {
        keys.remove();
        leave.remove();
    });

    let name = doc.summary.name.clone();
    view! {
        <Title text=format!("{name} · Flowdeck")/>
        <div class="designer" data-testid="designer">
            <DesignerBar session name can_edit panel others fit=Callback::new(move |()| fit()) zoom=Callback::new(zoom)/>
            {move || newer.get().map(|message| view! { <NewerVersion session message newer/> })}
            {move || notice.get().map(|n| view! {
                <p class="notice" role="status">{n}<button type="button" class="ghost" aria-label="Dismiss" on:click=move |_| set_notice.set(None)>"×"</button></p>
            })}
            <div class="designer-body">
                {(!editor.read_only).then(|| view! { <Palette on_add=add/> })}
                {move || match viewing.get() {
                    None => view! { <Canvas editor diagnostics notice=set_notice canvas/> }.into_any(),
                    Some(v) => view! {
                        <div class="compare">
                            <VersionBanner session viewing=v close=Callback::new(move |()| viewing.set(None))/>
                            <Canvas editor=v.editor diagnostics=no_diagnostics notice=set_notice canvas=compare_canvas/>
                        </div>
                    }
                    .into_any(),
                }}
                {move || match panel.get() {
                    Panel::History => view! { <HistoryPanel session viewing/> }.into_any(),
                    Panel::Runs => (parts.runs)(session, can_edit, linked_run),
                    Panel::Settings => view! { <SettingsPanel session can_edit/> }.into_any(),
                    Panel::Details => view! { <Inspector session diagnostics/> }.into_any(),
                }}
            </div>
            {move || session.conflict.get().map(|message| view! { <ConflictDialog message session/> })}
        </div>
    }
    .into_any()
}

/// What the side panel shows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Panel {
    /// The selection's details, or the workflow's problems.
    Details,
    History,
    Runs,
    Settings,
}

/// A toolbar button that opens `which` in the side panel, or closes it back to the details.
#[component]
fn PanelToggle(panel: RwSignal<Panel>, which: Panel, label: &'static str) -> impl IntoView {
    view! {
        <button
            type="button"
            class="ghost"
            aria-pressed=move || (panel.get() == which).to_string()
            on:click=move |_| panel.update(|p| *p = if *p == which { Panel::Details } else { which })
        >
            {label}
        </button>
    }
}

#[component]
fn DesignerBar(
    session: Session,
    name: String,
    can_edit: bool,
    panel: RwSignal<Panel>,
    others: RwSignal<Vec<String>>,
    fit: Callback<()>,
    zoom: Callback<f64>,
) -> impl IntoView {
    let editor = session.editor;
    let workspace_id = session.workspace_id;
    let status = session.status;
    view! {
        <header class="designer-bar">
            <A href=format!("/w/{workspace_id}/workflows") attr:class="ghost">"← Workflows"</A>
            <h1 class="designer-title">{name.clone()}</h1>
            <span class=move || format!("badge status-{}", status.get().as_str().to_lowercase()) data-testid="status">
                {move || status.get().label()}
            </span>
            <SaveStatus editor save_state=session.save_state read_only=editor.read_only/>
            {move || {
                let names = others.get();
                (!names.is_empty()).then(|| view! {
                    <span class="presence" data-testid="presence" title="Also has this workflow open">
                        {format!("Also here: {}", names.join(", "))}
                    </span>
                })
            }}
            <div class="toolbar-group" role="toolbar" aria-label="Canvas">
                <button type="button" class="ghost" title="Undo (Ctrl+Z)" disabled=move || editor.depth.get().0 == 0 || editor.read_only on:click=move |_| editor.undo()>"Undo"</button>
                <button type="button" class="ghost" title="Redo (Ctrl+Shift+Z)" disabled=move || editor.depth.get().1 == 0 || editor.read_only on:click=move |_| editor.redo()>"Redo"</button>
                <button type="button" class="ghost" title="Lay out left to right" disabled=editor.read_only on:click=move |_| { editor.auto_layout(); fit.run(()); }>"Auto-layout"</button>
                <button type="button" class="ghost" aria-pressed=move || editor.snap.get().to_string() title="Snap to grid" on:click=move |_| editor.snap.update(|s| *s = !*s)>"Snap"</button>
                <button type="button" class="ghost" title="Zoom out" aria-label="Zoom out" on:click=move |_| zoom.run(1.0 / 1.2)>"−"</button>
                <span class="zoom" data-testid="zoom">{move || format!("{:.0} %", editor.view.get().zoom * 100.0)}</span>
                <button type="button" class="ghost" title="Zoom in" aria-label="Zoom in" on:click=move |_| zoom.run(1.2)>"+"</button>
                <button type="button" class="ghost" title="Zoom to fit (F)" on:click=move |_| fit.run(())>"Fit"</button>
                <PanelToggle panel which=Panel::History label="History"/>
                <PanelToggle panel which=Panel::Runs label="Runs"/>
                <PanelToggle panel which=Panel::Settings label="Settings"/>
                <a
                    class="button ghost"
                    download
                    title="Download the saved workflow as JSON"
                    href=format!("/api/workflows/export?workspace_id={workspace_id}&workflow_id={}", session.workflow_id)
                >
                    "Export"
                </a>
            </div>
            {can_edit.then(|| view! { <Lifecycle session/> })}
            {(!editor.read_only).then(|| view! {
                <button type="button" class="primary" title="Save (Ctrl+S)" disabled=move || session.save_state.get() == SaveState::Saving on:click=move |_| session.save()>"Save"</button>
            })}
        </header>
    }
    .into_any()
}

/// Heartbeats every 10 s while the designer is open, and at once when the tab's stream says
/// someone opened or closed this workflow: who else is here, and whether someone saved a newer
/// version than the one on this canvas.
fn watch_presence(session: Session, others: RwSignal<Vec<String>>, newer: RwSignal<Option<String>>) {
    let beat = move |open: bool| {
        // The closing beat is sent while the designer is being disposed, and any answer may come
        // after it is gone: nothing is read or written then.
        let at = session.version.try_get_untracked().unwrap_or_default();
        spawn_local(async move {
            let Ok(p) = workflow_presence(session.workspace_id, session.workflow_id, open).await else { return };
            if !open || others.try_set(p.others).is_some() {
                return;
            }
            let unchanged_here = session.version.get_untracked() == at
                && session.save_state.get_untracked() != SaveState::Saving
                && session.conflict.get_untracked().is_none();
            if open && p.version > at && unchanged_here {
                newer.set(Some(format!("{} saved a newer version (version {}).", p.updated_by, p.version)));
            }
        });
    };
    // Someone arrived or left: ask who is here now (at most every 2 s), unless closing.
    let closed = StoredValue::new(false);
    let news = Throttle::new(Duration::from_secs(2));
    on_heard(
        move |h| matches!(h, Heard::Presence(v) if v.workflows.contains(&session.workflow_id)),
        move || news.hit(),
    );
    Effect::new(move |first: Option<()>| {
        news.changed.track();
        if first.is_some() && closed.try_get_value() == Some(false) {
            beat(true);
        }
    });
    // Effects run only in the browser.
    Effect::new(move |started: Option<()>| {
        if started.is_some() {
            return;
        }
        beat(true);
        if let Ok(handle) = set_interval_with_handle(move || beat(true), PRESENCE_EVERY) {
            on_cleanup(move || {
                closed.try_set_value(true);
                handle.clear();
                beat(false);
            });
        }
    });
}

/// Someone saved a newer version while this canvas is open.
#[component]
fn NewerVersion(session: Session, message: String, newer: RwSignal<Option<String>>) -> impl IntoView {
    let reload = move |_| {
        if session.editor.dirty_untracked()
            && !confirm("Load the newer version? Your unsaved changes here will be lost.")
        {
            return;
        }
        spawn_local(async move {
            if session.load_saved().await.is_ok() {
                newer.set(None);
            }
        });
    };
    view! {
        <p class="notice warning" role="alert" data-testid="newer-version">
            {message}
            <span>
                <button type="button" class="ghost" on:click=reload>"Load it"</button>
                <button type="button" class="ghost" aria-label="Dismiss" on:click=move |_| newer.set(None)>"×"</button>
            </span>
        </p>
    }
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
