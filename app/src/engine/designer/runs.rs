//! The runs panel: start a run from the Manual trigger (optionally as a simulation), see the
//! workflow's runs, and follow one step by step — the canvas colours each node by its step's
//! status while a run is open. The list and the open run are read again as the tab's live
//! stream says they changed.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::engine::api::{cancel_execution, retry_execution, run_workflow};
use crate::engine::live::{Follow, follow_list, follow_run};
use crate::engine::model::{ExecutionDetail, ExecutionStatus, ExecutionSummary, Period, StepStatus, StepView};
use crate::engine::page::{duration, status_badge};
use crate::error::AppError;
use crate::ui::form::short_time;
use crate::workflows::editor::state::Editor;
use crate::workflows::editor::{Session, pretty};

#[component]
pub fn RunsPanel(
    session: Session,
    can_run: bool,
    /// A run to open first (the designer's `?run=` link).
    linked: Option<Uuid>,
) -> impl IntoView {
    let (ws, wf) = (session.workspace_id, session.workflow_id);
    let editor = session.editor;
    let open = RwSignal::new(linked);
    // Read again whenever the tab's live stream says one of this workflow's runs changed.
    let runs = follow_list(move || Follow { workspace: ws, workflow: Some(wf), status: None, period: Period::All });
    let detail = follow_run(ws, move || open.get());
    // The open run as read (not one opened before it, still shown while it is read).
    let shown = move || detail.get().filter(|(id, _)| Some(*id) == open.get()).map(|(_, d)| d);
    // The canvas colours each node by its step's status in the open run.
    Effect::new(move |_| {
        let colours = match (open.get(), shown()) {
            (Some(_), Some(Ok(d))) => d.steps.iter().map(|s| (s.node_id, s.status.as_str())).collect(),
            (Some(_), _) => return,
            (None, _) => HashMap::new(),
        };
        editor.run.try_set(colours);
    });
    let started = Callback::new(move |id: Uuid| open.set(Some(id)));

    view! {
        <aside class="inspector runs" aria-label="Runs">
            <h2>"Runs"</h2>
            {can_run.then(|| view! { <RunForm session started/> })}
            {move || match open.get() {
                Some(_) => view! {
                    <button type="button" class="ghost back" on:click=move |_| open.set(None)>"← All runs"</button>
                    {move || match shown() {
                        None => view! { <p class="loading" aria-live="polite">"Loading…"</p> }.into_any(),
                        Some(Err(e)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                        Some(Ok(d)) => view! { <RunDetail session d can_run started/> }.into_any(),
                    }}
                }
                .into_any(),
                None => view! { <RunList runs open/> }.into_any(),
            }}
        </aside>
    }
    .into_any()
}

#[component]
fn RunForm(session: Session, started: Callback<Uuid>) -> impl IntoView {
    let input = RwSignal::new("{}".to_owned());
    let simulate = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let value = match serde_json::from_str::<serde_json::Value>(&input.get_untracked()) {
            Ok(v) => v,
            Err(e) => {
                error.set(Some(format!("The input is not valid JSON: {e}")));
                return;
            }
        };
        busy.set(true);
        error.set(None);
        spawn_local(async move {
            // Runs use the saved workflow: save what is on the canvas first.
            let result = match session.persist().await {
                Ok(()) => {
                    run_workflow(session.workspace_id, session.workflow_id, value, simulate.get_untracked()).await
                }
                Err(e) => Err(e),
            };
            if busy.try_set(false).is_some() {
                return; // the panel was closed meanwhile
            }
            match result {
                Ok(id) => started.run(id),
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
        });
    };
    view! {
        <form class="stack run-form" on:submit=submit>
            <label>
                "Input (JSON)"
                <textarea
                    name="run-input"
                    rows="3"
                    spellcheck="false"
                    prop:value=move || input.get()
                    on:input=move |ev| input.set(event_target_value(&ev))
                ></textarea>
                <small class="muted">"What the Manual trigger passes on, e.g. {\"amount\": 1500}; templates read it as trigger.amount."</small>
            </label>
            <label class="check">
                "Simulate: steps with effects only say what they would do"
                <input type="checkbox" name="simulate" prop:checked=move || simulate.get() on:change=move |ev| simulate.set(event_target_checked(&ev))/>
            </label>
            {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <button type="submit" class="primary" disabled=move || busy.get() aria-busy=move || busy.get().to_string()>
                {move || if busy.get() { "Starting…" } else { "Run" }}
            </button>
        </form>
    }
}

#[component]
fn RunList(runs: Memo<Option<Result<Vec<ExecutionSummary>, AppError>>>, open: RwSignal<Option<Uuid>>) -> impl IntoView {
    move || {
        match runs.get() {
        None => view! { <p class="loading" aria-live="polite">"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
        Some(Ok(list)) if list.is_empty() => view! {
            <p class="muted" data-testid="no-runs">"No runs yet. Run it here from its Manual trigger, or let its schedule, webhook or event start it once it is active; each step's input, output and errors show here."</p>
        }
        .into_any(),
        Some(Ok(list)) => view! {
            <ul class="run-list" data-testid="runs">
                {list
                    .into_iter()
                    .map(|r| {
                        let id = r.id;
                        view! {
                            <li>
                                <button type="button" class="run-row" on:click=move |_| open.set(Some(id))>
                                    <span class="row">{status_badge(r.status, r.simulation)}<span class="muted">{duration(r.duration_ms)}</span></span>
                                    <span class="muted">{format!("{} · {}", short_time(&r.created_at), r.started_by)}</span>
                                </button>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        }
        .into_any(),
    }
    }
}

#[component]
fn RunDetail(session: Session, d: ExecutionDetail, can_run: bool, started: Callback<Uuid>) -> impl IntoView {
    let id = d.summary.id;
    let error = RwSignal::new(None::<String>);
    let retrying = RwSignal::new(false);
    let retry = move |_| {
        retrying.set(true);
        spawn_local(async move {
            match retry_execution(session.workspace_id, id).await {
                Ok(new_run) => started.run(new_run),
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
            retrying.try_set(false);
        });
    };
    let retryable = matches!(d.summary.status, ExecutionStatus::Failed | ExecutionStatus::Cancelled);
    let cancel = move |_| {
        spawn_local(async move {
            // The cancelled run arrives through the live stream.
            if let Err(e) = cancel_execution(session.workspace_id, id).await {
                error.try_set(Some(e.to_string()));
            }
        });
    };
    let s = d.summary;
    view! {
        <div class="run-detail" data-testid="run">
            <p class="row">{status_badge(s.status, s.simulation)}<span class="muted">{duration(s.duration_ms)}</span></p>
            <p class="muted">{format!("Started {} by {}", short_time(&s.created_at), s.started_by)}</p>
            {s.error.map(|e| view! { <p class="form-error" data-testid="run-error">{e}</p> })}
            {s.retry_of.map(|_| view! { <p class="muted" data-testid="retry-of">"Continues an earlier run from its failed step."</p> })}
            {(can_run && !s.status.finished()).then(|| view! {
                <button type="button" class="ghost danger" on:click=cancel>"Cancel run"</button>
            })}
            {(can_run && retryable).then(|| view! {
                <button type="button" disabled=move || retrying.get() on:click=retry title="Keeps the steps that completed and runs the rest again">
                    "Retry from failed step"
                </button>
            })}
            {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
            <details>
                <summary>"Trigger input"</summary>
                <pre class="json">{pretty(&d.payload)}</pre>
            </details>
            <ol class="steps" data-testid="steps">
                {d.steps.into_iter().map(|step| view! { <StepRow step editor=session.editor can_pin=can_run/> }).collect_view()}
            </ol>
        </div>
    }
}

#[component]
fn StepRow(step: StepView, editor: Editor, can_pin: bool) -> impl IntoView {
    let status = step.status.as_str().to_lowercase();
    let label = match step.status {
        StepStatus::Running => "Running",
        StepStatus::Waiting => "Waiting",
        StepStatus::Completed => "Completed",
        StepStatus::Failed => "Failed",
        StepStatus::Skipped => "Skipped",
    };
    view! {
        <li class=format!("step step-{status}") data-node=step.node_id.to_string()>
            <span class="row">
                <strong>{step.node_name}</strong>
                <span class=format!("badge run-status-{status}")>{label}</span>
                {(step.attempt > 1).then(|| view! { <span class="muted">{format!("attempt {}", step.attempt)}</span> })}
                <span class="muted">{duration(step.duration_ms)}</span>
            </span>
            {step.error.map(|e| view! { <p class="form-error">{e}</p> })}
            {step.input.map(|v| view! { <details><summary>"Input"</summary><pre class="json">{pretty(&v)}</pre></details> })}
            {step.output.map(|v| {
                // A completed step's output can be pinned as its node's test data.
                let pin = (can_pin && step.status == StepStatus::Completed && !editor.read_only)
                    .then(|| editor.node(step.node_id))
                    .flatten()
                    .map(|node| {
                        let value = v.clone();
                        let done = RwSignal::new(false);
                        let pin = move |_| {
                            node.data.update(|d| d.pinned = Some(value.clone()));
                            editor.commit();
                            done.set(true);
                        };
                        view! {
                            <button type="button" class="ghost" disabled=move || done.get() on:click=pin
                                title="Runs started here then take this output instead of running the step">
                                {move || if done.get() { "Pinned as test data" } else { "Pin this output" }}
                            </button>
                        }
                    });
                view! { <details><summary>"Output"</summary><pre class="json">{pretty(&v)}</pre>{pin}</details> }
            })}
        </li>
    }
}
