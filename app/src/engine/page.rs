//! The workspace's runs across its workflows: filter by status and period; the list is live
//! (read again as the tab's stream says runs changed). A row opens the run in its workflow's designer.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::engine::live::{Follow, follow_list};
use crate::engine::model::{ExecutionStatus, Period};
use crate::ui::form::{loaded, short_time};
use crate::workspaces::layout::use_workspace;
use crate::workspaces::model::WorkspaceView;

pub fn status_badge(status: ExecutionStatus, simulation: bool) -> impl IntoView {
    view! {
        <span class=format!("badge run-status-{}", status.as_str().to_lowercase())>{status.label()}</span>
        {simulation.then(|| view! { <span class="badge">"Simulation"</span> })}
    }
}

pub fn duration(ms: Option<i64>) -> String {
    match ms {
        None => String::new(),
        Some(ms) if ms < 1000 => format!("{ms} ms"),
        Some(ms) => format!("{:.1} s", ms as f64 / 1000.0),
    }
}

#[component]
pub fn RunsPage() -> impl IntoView {
    let ws = use_workspace();
    view! {
        <Title text="Runs · Flowdeck"/>
        {loaded(ws.data, |w| view! { <Runs w/> })}
    }
}

#[component]
fn Runs(w: WorkspaceView) -> impl IntoView {
    let workspace_id = w.id;
    let status = RwSignal::new(None::<ExecutionStatus>);
    let period = RwSignal::new(Period::Week);
    // Read again whenever the tab's live stream says a run changed.
    let runs = follow_list(move || Follow {
        workspace: workspace_id,
        workflow: None,
        status: status.get(),
        period: period.get(),
    });
    view! {
        <header class="page-header">
            <div>
                <p class="eyebrow">{w.name.clone()}</p>
                <h1>"Runs"</h1>
            </div>
        </header>
        <section class="panel">
            <div class="row toolbar">
                <label>
                    <span class="sr-only">"Status"</span>
                    <select aria-label="Filter by status" on:change=move |ev| status.set(ExecutionStatus::parse(&event_target_value(&ev)))>
                        <option value="">"All statuses"</option>
                        {ExecutionStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str()>{s.label()}</option> }).collect_view()}
                    </select>
                </label>
                <label>
                    <span class="sr-only">"Period"</span>
                    <select
                        aria-label="Filter by period"
                        prop:value=move || period.get().as_str()
                        on:change=move |ev| period.set(Period::parse(&event_target_value(&ev)).unwrap_or(Period::All))
                    >
                        {Period::ALL.into_iter().map(|p| view! { <option value=p.as_str()>{p.label()}</option> }).collect_view()}
                    </select>
                </label>
            </div>
            {move || match runs.get() {
                None => view! { <p class="loading" aria-live="polite">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! {
                    <p class="muted" data-testid="no-runs">
                        "No runs match. Runs appear here when a workflow runs — from the designer's Runs panel, or from its schedule, webhook or event trigger once it is active."
                    </p>
                }
                .into_any(),
                Some(Ok(list)) => view! {
                    <ul class="workflow-list run-table" data-testid="workspace-runs">
                        {list
                            .into_iter()
                            .map(|r| {
                                let href = format!("/w/{workspace_id}/workflows/{}?run={}", r.workflow_id, r.id);
                                view! {
                                    <li>
                                        <span class="row">{status_badge(r.status, r.simulation)}</span>
                                        <A href=href attr:class="run-workflow" attr:title="Open this run in its workflow">{r.workflow_name.clone()}</A>
                                        <span class="muted">{format!("{} · {}", short_time(&r.created_at), r.started_by)}</span>
                                        <span class="muted">{duration(r.duration_ms)}</span>
                                        {r.error.map(|e| view! { <span class="run-error">{e}</span> })}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                .into_any(),
            }}
        </section>
    }
}
