//! `/w/:ws/approvals`: what waits for the signed-in member's decision, with Approve and Reject
//! and a comment.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use uuid::Uuid;

use crate::approvals::model::ApprovalView;
use crate::engine::api::{DecideApproval, my_approvals};
use crate::ui::form::{ErrorPanel, Loading, confirm, short_time};
use crate::workspaces::layout::workspace_param;

#[component]
pub fn ApprovalsPage() -> impl IntoView {
    let ws = workspace_param();
    let decide = ServerAction::<DecideApproval>::new();
    let list = Resource::new(
        move || (ws.get(), decide.version().get()),
        |(ws, _)| async move {
            match ws {
                Some(ws) => my_approvals(ws).await,
                None => Ok(Vec::new()),
            }
        },
    );
    view! {
        <Title text="Approvals · Flowdeck"/>
        <header class="page-header">
            <h1>"Approvals"</h1>
            <p class="muted">"Runs waiting for your decision. A run goes on once enough approvers approve, and fails when one rejects and too few are left."</p>
        </header>
        {move || decide.value().get().and_then(|r| r.err()).map(|e| view! { <p class="form-error" role="alert">{e.to_string()}</p> })}
        <Transition fallback=Loading>
            {move || Suspend::new(async move {
                match list.await {
                    Err(error) => view! { <ErrorPanel error/> }.into_any(),
                    Ok(items) if items.is_empty() => view! {
                        <p class="panel muted" data-testid="no-approvals">"Nothing waits for your approval."</p>
                    }
                    .into_any(),
                    Ok(items) => view! {
                        <ul class="approvals" data-testid="approvals">
                            {items.into_iter().map(|a| view! { <ApprovalCard a decide ws=ws.get_untracked().unwrap_or_default()/> }).collect_view()}
                        </ul>
                    }
                    .into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn ApprovalCard(a: ApprovalView, decide: ServerAction<DecideApproval>, ws: Uuid) -> impl IntoView {
    let comment = RwSignal::new(String::new());
    let id = a.id;
    let send = move |approve: bool| {
        if !approve && !confirm("Reject? The run fails if too few approvers are left.") {
            return;
        }
        decide.dispatch(DecideApproval {
            workspace_id: ws,
            approval_id: id,
            approve,
            comment: comment.get_untracked(),
        });
    };
    view! {
        <li class="panel approval">
            <p class="row">
                <strong>{a.step_name.clone()}</strong>
                <span class="muted">" in "</span>
                <A href=format!("/w/{ws}/workflows/{}", a.workflow_id)>{a.workflow_name.clone()}</A>
            </p>
            {(!a.message.is_empty()).then(|| view! { <p class="approval-message">{a.message.clone()}</p> })}
            <p class="muted">
                {format!(
                    "Asked {} · {} of {} approvals so far · approvers: {}",
                    short_time(&a.requested_at),
                    a.approved,
                    a.required,
                    a.approvers.join(", "),
                )}
            </p>
            <label>
                "Comment (optional)"
                <textarea
                    name="comment"
                    rows="2"
                    maxlength="1000"
                    prop:value=move || comment.get()
                    on:input=move |ev| comment.set(event_target_value(&ev))
                ></textarea>
            </label>
            <div class="row">
                <button type="button" class="primary" disabled=move || decide.pending().get() on:click=move |_| send(true)>"Approve"</button>
                <button type="button" class="ghost danger" disabled=move || decide.pending().get() on:click=move |_| send(false)>"Reject"</button>
            </div>
        </li>
    }
}
