//! Lifecycle buttons: activate (with a version message, saving first), deactivate, archive,
//! restore from the archive.

use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::error::AppError;
use crate::ui::form::confirm;
use crate::workflows::api::set_workflow_status;
use crate::workflows::editor::Session;
use crate::workflows::model::Transition;

/// Asks the server for a transition; archiving and restoring reload the workflow (its editability changes).
async fn apply(session: Session, transition: Transition, message: String) -> Result<(), AppError> {
    if transition == Transition::Activate {
        session.persist().await?;
    }
    let status = set_workflow_status(
        session.workspace_id,
        session.workflow_id,
        session.version.get_untracked(),
        transition,
        message,
    )
    .await?;
    session.status.set(status);
    match transition {
        Transition::Activate => session.versions.update(|v| *v += 1),
        Transition::Archive | Transition::Restore => session.reload.update(|r| *r += 1),
        Transition::Deactivate => {}
    }
    Ok(())
}

#[component]
pub fn Lifecycle(session: Session) -> impl IntoView {
    let activating = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let run = move |transition: Transition| {
        if transition == Transition::Activate {
            error.set(None);
            activating.set(true);
            return;
        }
        if transition == Transition::Archive
            && !confirm("Archive this workflow? It stops being editable until it is restored from the archive.")
        {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            error.set(apply(session, transition, String::new()).await.err().map(|e| e.to_string()));
            busy.set(false);
        });
    };
    view! {
        <div class="toolbar-group" role="group" aria-label="Lifecycle">
            {move || {
                session
                    .status
                    .get()
                    .transitions()
                    .iter()
                    .map(|&t| {
                        let class = if t == Transition::Activate { "" } else { "ghost" };
                        view! {
                            <button type="button" class=class disabled=busy on:click=move |_| run(t)>
                                {t.label()}
                            </button>
                        }
                    })
                    .collect_view()
            }}
        </div>
        {move || error.get().map(|e| view! { <p class="error lifecycle-error" role="alert">{e}</p> })}
        {move || activating.get().then(|| view! { <ActivateDialog session open=activating/> })}
    }
    .into_any()
}

/// Activation takes a message for the version it creates.
#[component]
fn ActivateDialog(session: Session, open: RwSignal<bool>) -> impl IntoView {
    let message = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let input = NodeRef::<html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = input.get() {
            let _ = input.focus();
        }
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        spawn_local(async move {
            match apply(session, Transition::Activate, message.get_untracked()).await {
                Ok(()) => open.set(false),
                Err(AppError::Conflict { .. }) if session.conflict.get_untracked().is_some() => open.set(false),
                Err(e) => error.set(Some(e.to_string())),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="modal-backdrop">
            <form
                class="modal"
                role="dialog"
                aria-modal="true"
                aria-labelledby="activate-title"
                data-testid="activate"
                on:submit=submit
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        open.set(false);
                    }
                }
            >
                <h2 id="activate-title">"Activate this workflow"</h2>
                <p class="muted">
                    "Activating saves the canvas, checks it, and keeps it as a new version in the history. Triggers use the active version."
                </p>
                {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
                <label>
                    "What changed (optional)"
                    <input
                        node_ref=input
                        name="version-message"
                        maxlength="200"
                        placeholder="e.g. Route large invoices to a manager"
                        prop:value=move || message.get()
                        on:input=move |ev| message.set(event_target_value(&ev))
                    />
                </label>
                <div class="row">
                    <button type="button" class="ghost" on:click=move |_| open.set(false)>"Cancel"</button>
                    <button type="submit" class="primary" disabled=busy>"Activate"</button>
                </div>
            </form>
        </div>
    }
}
