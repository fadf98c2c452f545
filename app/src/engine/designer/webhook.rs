//! A webhook trigger's address in the side panel: the URL to call (made on first view, once
//! the node is saved), whether calls start runs yet, the signing key when the node requires
//! signatures, and a way to replace both.

use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::engine::api::get_webhook_address;
use crate::engine::model::WebhookAddress;
use crate::error::AppError;
use crate::ui::form::{CopyField, confirm};
use crate::workflows::editor::Session;
use crate::workflows::model::WorkflowStatus;

#[component]
pub fn WebhookPanel(session: Session, node: Uuid, signed: Signal<bool>) -> impl IntoView {
    let (ws, wf) = (session.workspace_id, session.workflow_id);
    let address = RwSignal::new(None::<Result<WebhookAddress, AppError>>);
    let busy = RwSignal::new(false);
    let load = move |renew: bool| {
        busy.set(true);
        spawn_local(async move {
            let result = get_webhook_address(ws, wf, node, renew).await;
            // The panel may have closed meanwhile.
            address.try_set(Some(result));
            busy.try_set(false);
        });
    };
    // Again after each save and status change: the node may only now be saved, or active.
    Effect::new(move |_| {
        session.version.track();
        session.status.track();
        load(false);
    });
    let origin = || web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    view! {
        <section class="webhook" aria-label="Webhook address" aria-busy=move || busy.get().to_string()>
            <h3>"Address"</h3>
            {move || match address.get() {
                None => view! { <p class="muted">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="muted" role="status">{e.to_string()}</p> }.into_any(),
                Some(Ok(a)) => {
                    let url = format!("{}{}", origin(), a.path);
                    let state = if a.active {
                        view! { <p class="ok" data-testid="webhook-state">"Taking calls: each one starts a run of the active version."</p> }.into_any()
                    } else {
                        let hint = if session.status.get() == WorkflowStatus::Active {
                            "Not taking calls yet: activate this version to include this trigger."
                        } else {
                            "Not taking calls: activate the workflow first."
                        };
                        view! { <p class="muted" data-testid="webhook-state">{hint}</p> }.into_any()
                    };
                    view! {
                        {state}
                        <CopyField label="URL" value=url testid="webhook-url"/>
                        <p class="muted small">
                            "Answers 202 with the run's id; add "<code>"?wait=true"</code>" to get the last step's output when the run ends."
                        </p>
                        {move || signed.get().then(|| view! {
                            <CopyField label="Signing key" value=a.secret.clone() testid="webhook-secret" masked=true/>
                            <p class="muted small">
                                "Send "<code>"X-Flowdeck-Signature: sha256=<hex>"</code>", the HMAC-SHA256 of the body with this key."
                            </p>
                        })}
                        <button
                            type="button"
                            class="ghost danger"
                            disabled=move || busy.get()
                            on:click=move |_| {
                                if confirm("Make a new address and key? Callers using the current ones will get 404.") {
                                    load(true);
                                }
                            }
                        >
                            "New address"
                        </button>
                    }
                        .into_any()
                }
            }}
        </section>
    }
}
