//! The history panel: activated versions, newest first. Open one read-only, compare it with the
//! draft on the canvas (added, removed and changed nodes and edges highlighted), or restore it.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::ui::form::{loaded, short_date};
use crate::workflows::api::{get_version, list_versions};
use crate::workflows::editor::state::Editor;
use crate::workflows::editor::{Session, Viewing};
use crate::workflows::model::VersionSummary;

#[component]
pub fn HistoryPanel(session: Session, viewing: RwSignal<Option<Viewing>>) -> impl IntoView {
    let list = Resource::new(
        move || session.versions.get(),
        move |_| list_versions(session.workspace_id, session.workflow_id),
    );
    view! {
        <aside class="inspector history" aria-label="History">
            <h2>"History"</h2>
            <p class="muted">"Each activation keeps a version."</p>
            {loaded(list, move |versions| {
                if versions.is_empty() {
                    return view! {
                        <p class="muted" data-testid="no-versions">"No versions yet. Activate the workflow to keep its first one."</p>
                    }
                    .into_any();
                }
                view! {
                    <ul class="versions" data-testid="versions">
                        {versions.into_iter().map(|v| view! { <VersionRow session viewing v/> }).collect_view()}
                    </ul>
                }
                .into_any()
            })}
        </aside>
    }
    .into_any()
}

#[component]
fn VersionRow(session: Session, viewing: RwSignal<Option<Viewing>>, v: VersionSummary) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let (number, version_id) = (v.number, v.id);
    let open = move |compare: bool| {
        spawn_local(async move {
            match get_version(session.workspace_id, session.workflow_id, version_id).await {
                Ok(graph) => {
                    let editor = if compare {
                        Editor::comparison(&graph, &session.editor.graph())
                    } else {
                        Editor::new(graph, true)
                    };
                    viewing.set(Some(Viewing { number, compare, editor, version_id }));
                }
                Err(e) => error.set(Some(e.to_string())),
            }
        });
    };
    let current = move || viewing.get().is_some_and(|w| w.version_id == version_id);
    view! {
        <li class:current=current data-testid="version">
            <strong>{format!("Version {}", v.number)}</strong>
            <span>{v.message.clone()}</span>
            <small class="muted">{format!("{} · {}", v.author, short_date(&v.created_at))}</small>
            <div class="row">
                <button type="button" class="ghost" on:click=move |_| open(false)>"Open"</button>
                <button type="button" class="ghost" on:click=move |_| open(true)>"Compare with draft"</button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </li>
    }
}

/// Above a version shown on the canvas: what it is, the legend, back, restore.
#[component]
pub fn VersionBanner(session: Session, viewing: Viewing, close: Callback<()>) -> impl IntoView {
    let restore = move |_| {
        let graph = viewing.editor.graph();
        // A comparison also shows what the draft added; restoring takes the version alone.
        let version = if viewing.compare {
            let marks = viewing.editor.marks;
            let keep = |id| marks.with_value(|m| m.get(&id) != Some(&"added"));
            crate::workflows::graph::Graph {
                nodes: graph.nodes.into_iter().filter(|n| keep(n.id)).collect(),
                edges: graph.edges.into_iter().filter(|e| keep(e.id)).collect(),
            }
        } else {
            graph
        };
        session.editor.replace(&version);
        session.save();
        close.run(());
    };
    let title = if viewing.compare {
        format!("Version {} compared with the draft", viewing.number)
    } else {
        format!("Version {} (read only)", viewing.number)
    };
    view! {
        <div class="version-banner" role="status" data-testid="version-banner">
            <strong>{title}</strong>
            {viewing.compare.then(|| view! {
                <span class="legend"><i class="diff-added"></i>"added in draft" <i class="diff-removed"></i>"only in version" <i class="diff-changed"></i>"changed"</span>
            })}
            <span class="grow"></span>
            {(!session.editor.read_only).then(|| view! {
                <button type="button" class="ghost" on:click=restore>"Restore this version"</button>
            })}
            <button type="button" class="primary" on:click=move |_| close.run(())>"Back to draft"</button>
        </div>
    }
}
