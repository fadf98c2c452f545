//! The workflow designer with the engine's parts in it: the Runs panel (start, follow, retry
//! and cancel runs) and a webhook trigger's address. The designer (`workflows::editor`) sits a
//! layer below the engine, so it asks for these through `EngineParts`, which this page provides.

mod runs;
mod webhook;

use leptos::prelude::*;
use uuid::Uuid;

use crate::workflows::EditorPage;
use crate::workflows::editor::{EngineParts, Session};
use runs::RunsPanel;
use webhook::WebhookPanel;

fn runs(session: Session, can_run: bool, linked: Option<Uuid>) -> AnyView {
    view! { <RunsPanel session can_run linked/> }.into_any()
}

fn webhook(session: Session, node: Uuid, signed: Signal<bool>) -> AnyView {
    view! { <WebhookPanel session node signed/> }.into_any()
}

/// `/w/:ws/workflows/:wf`: the designer.
#[component]
pub fn DesignerPage() -> impl IntoView {
    provide_context(EngineParts { runs, webhook });
    view! { <EditorPage/> }
}
