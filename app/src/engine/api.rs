//! Engine server functions: thin — session → guard → service.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

use crate::approvals::model::ApprovalView;
use crate::engine::model::{
    ExecutionDetail, ExecutionStatus, ExecutionSummary, Granularity, Period, Report, WebhookAddress,
};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::{engine::runner::Engine, engine::service, guard::Ctx, workspaces::model::Permission};

/// The instance's engine, which the host provides to the engine's server functions.
#[cfg(feature = "ssr")]
fn engine() -> Result<std::sync::Arc<Engine>, AppError> {
    use_context().ok_or_else(|| AppError::internal("the engine is not running"))
}

/// Runs the workflow's saved graph from its Manual trigger with `input` (a JSON object); returns
/// the run's id. A simulation records what side-effecting steps would do instead of doing it.
#[server(endpoint = "engine/run", input = Json)]
pub async fn run_workflow(
    workspace_id: Uuid,
    workflow_id: Uuid,
    input: serde_json::Value,
    simulation: bool,
) -> Result<Uuid, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    let engine = engine()?;
    service::start(ctx.db(), &engine, &me, workflow_id, input, simulation).await
}

/// The workflow's latest runs, newest first.
#[server(endpoint = "engine/list")]
pub async fn list_executions(workspace_id: Uuid, workflow_id: Uuid) -> Result<Vec<ExecutionSummary>, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::list(ctx.db(), &me, workflow_id).await
}

/// The workspace's latest runs across its workflows, optionally of one status, from a period.
#[server(endpoint = "engine/all")]
pub async fn list_workspace_executions(
    workspace_id: Uuid,
    status: Option<ExecutionStatus>,
    period: Period,
) -> Result<Vec<ExecutionSummary>, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::list_all(ctx.db(), &me, status, period).await
}

/// A run with its steps.
#[server(endpoint = "engine/get")]
pub async fn get_execution(workspace_id: Uuid, execution_id: Uuid) -> Result<ExecutionDetail, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::get(ctx.db(), &me, execution_id).await
}

/// Cancels a run that has not finished.
#[server(endpoint = "engine/cancel")]
pub async fn cancel_execution(workspace_id: Uuid, execution_id: Uuid) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::cancel(ctx.db(), &ctx.state.hub, &me, execution_id).await
}

/// Starts a run that continues a failed or cancelled one from its failed step; returns its id.
#[server(endpoint = "engine/retry")]
pub async fn retry_execution(workspace_id: Uuid, execution_id: Uuid) -> Result<Uuid, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    let engine = engine()?;
    service::retry(ctx.db(), &engine, &me, execution_id).await
}

/// Where the workflow's webhook node listens, and its signing key; `renew` replaces both (the old
/// address stops working).
#[server(endpoint = "engine/webhook")]
pub async fn get_webhook_address(
    workspace_id: Uuid,
    workflow_id: Uuid,
    node_id: Uuid,
    renew: bool,
) -> Result<WebhookAddress, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    crate::engine::hooks::address(ctx.db(), &ctx.state.sealer, &me, workflow_id, node_id, renew).await
}

/// Finished runs by day, week or month, of one workflow or (with none) the whole workspace.
#[server(endpoint = "engine/report")]
pub async fn run_report(
    workspace_id: Uuid,
    workflow_id: Option<Uuid>,
    granularity: Granularity,
) -> Result<Report, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    crate::engine::reports::report(ctx.db(), &me, workflow_id, granularity).await
}

/// Approvals waiting for the signed-in member in the workspace, oldest first.
#[server(endpoint = "approvals/mine")]
pub async fn my_approvals(workspace_id: Uuid) -> Result<Vec<ApprovalView>, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    crate::engine::decisions::pending(ctx.db(), &me).await
}

/// Approves or rejects, with an optional comment.
#[server(endpoint = "approvals/decide")]
pub async fn decide_approval(
    workspace_id: Uuid,
    approval_id: Uuid,
    approve: bool,
    comment: String,
) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    crate::engine::decisions::decide(ctx.db(), &ctx.state.hub, &me, approval_id, approve, &comment).await
}
