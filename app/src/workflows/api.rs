//! Workflow server functions: thin — session → guard → service.

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::workflows::graph::Graph;
use crate::workflows::model::{
    ImportReport, PresenceView, Saved, Transition, VersionSummary, WorkflowDoc, WorkflowStatus, WorkflowSummary,
};
#[cfg(feature = "ssr")]
use crate::{guard::Ctx, workflows::service, workspaces::model::Permission};
use leptos::server_fn::codec::GetUrl;
use leptos::server_fn::codec::Json;

/// The workspace's workflows.
#[server(endpoint = "workflows/list")]
pub async fn list_workflows(workspace_id: Uuid) -> Result<Vec<WorkflowSummary>, AppError> {
    let ctx = Ctx::load().await?;
    ctx.require(workspace_id, Permission::View).await?;
    service::list(ctx.db(), workspace_id).await
}

/// Creates a draft workflow; returns its id.
#[server(endpoint = "workflows/create")]
pub async fn create_workflow(workspace_id: Uuid, name: String, description: String) -> Result<Uuid, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::create(ctx.db(), &me, &name, &description).await
}

/// Renames a workflow.
#[server(endpoint = "workflows/rename")]
pub async fn rename_workflow(workspace_id: Uuid, workflow_id: Uuid, name: String) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::rename(ctx.db(), &me, workflow_id, &name).await
}

/// Copies a workflow as a new draft; returns the copy's id.
#[server(endpoint = "workflows/duplicate")]
pub async fn duplicate_workflow(workspace_id: Uuid, workflow_id: Uuid) -> Result<Uuid, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::duplicate(ctx.db(), &me, workflow_id).await
}

/// Deletes a workflow.
#[server(endpoint = "workflows/delete")]
pub async fn delete_workflow(workspace_id: Uuid, workflow_id: Uuid) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::delete(ctx.db(), &me, workflow_id).await
}

/// A workflow with its graph, for the editor.
#[server(endpoint = "workflows/get")]
pub async fn get_workflow(workspace_id: Uuid, workflow_id: Uuid) -> Result<WorkflowDoc, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::get(ctx.db(), &me, workflow_id).await
}

/// Saves the graph if the workflow is still at `version` (409 otherwise); returns the new version.
#[server(endpoint = "workflows/save", input = Json)]
pub async fn save_workflow(
    workspace_id: Uuid,
    workflow_id: Uuid,
    version: i32,
    graph: Graph,
) -> Result<Saved, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::save(ctx.db(), &me, workflow_id, version, &graph).await
}

/// Saves the graph as a new draft copy of the workflow; returns the copy's id.
#[server(endpoint = "workflows/save_copy", input = Json)]
pub async fn save_workflow_copy(workspace_id: Uuid, workflow_id: Uuid, graph: Graph) -> Result<Uuid, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::save_as_copy(ctx.db(), &me, workflow_id, &graph).await
}

/// Activates, deactivates, archives or restores a workflow; returns its new status.
#[server(endpoint = "workflows/set_status", input = Json)]
pub async fn set_workflow_status(
    workspace_id: Uuid,
    workflow_id: Uuid,
    version: i32,
    transition: Transition,
    message: String,
) -> Result<WorkflowStatus, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::change_status(ctx.db(), &me, workflow_id, version, transition, &message).await
}

/// The workflow's activated versions, newest first.
#[server(endpoint = "workflows/versions")]
pub async fn list_versions(workspace_id: Uuid, workflow_id: Uuid) -> Result<Vec<VersionSummary>, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::versions(ctx.db(), &me, workflow_id).await
}

/// One version's graph, to view, compare or restore.
#[server(endpoint = "workflows/version")]
pub async fn get_version(workspace_id: Uuid, workflow_id: Uuid, version_id: Uuid) -> Result<Graph, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::version_graph(ctx.db(), &me, workflow_id, version_id).await
}

/// The workflow as a Flowdeck export file (JSON, downloaded as an attachment).
#[server(endpoint = "workflows/export", input = GetUrl)]
pub async fn export_workflow(workspace_id: Uuid, workflow_id: Uuid) -> Result<serde_json::Value, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    let export = service::export(ctx.db(), &me, workflow_id).await?;
    let file: String = export.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let response = expect_context::<leptos_axum::ResponseOptions>();
    if let Ok(value) = http::HeaderValue::from_str(&format!("attachment; filename=\"{file}.flowdeck.json\"")) {
        response.insert_header(http::header::CONTENT_DISPOSITION, value);
    }
    serde_json::to_value(export).map_err(AppError::internal)
}

/// Creates a draft from a Flowdeck export or an n8n workflow (the file's text).
#[server(endpoint = "workflows/import", input = Json)]
pub async fn import_workflow(workspace_id: Uuid, text: String) -> Result<ImportReport, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::import(ctx.db(), &me, &text).await
}

/// The designer's heartbeat (every 10 s while open; `open: false` when it closes).
#[server(endpoint = "workflows/presence")]
pub async fn workflow_presence(workspace_id: Uuid, workflow_id: Uuid, open: bool) -> Result<PresenceView, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::presence(ctx.db(), &ctx.state, &me, workflow_id, open).await
}

/// The workflow started when a run of this one fails, if any.
#[server(endpoint = "workflows/error_workflow")]
pub async fn get_error_workflow(workspace_id: Uuid, workflow_id: Uuid) -> Result<Option<Uuid>, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::error_workflow(ctx.db(), &me, workflow_id).await
}

/// Sets (or clears, with none) the workflow started from its Manual trigger when a run of this
/// one fails.
#[server(endpoint = "workflows/set_error_workflow")]
pub async fn set_error_workflow(
    workspace_id: Uuid,
    workflow_id: Uuid,
    error_workflow_id: Option<Uuid>,
) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::set_error_workflow(ctx.db(), &me, workflow_id, error_workflow_id).await
}
