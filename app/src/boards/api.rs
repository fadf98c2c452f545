//! Boards' server functions: thin — session → guard → service.

use leptos::prelude::*;
use leptos::server_fn::codec::Json;
use uuid::Uuid;

use crate::boards::model::{Board, Card, Described, ProjectSummary, TaskDetail, TaskEdit, TaskStatus};
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::{boards::service, guard::Ctx, workspaces::model::Permission};

/// The workspace's projects (favourites first); archived ones too when `archived`.
#[server(endpoint = "boards/projects")]
pub async fn list_projects(workspace_id: Uuid, archived: bool) -> Result<Vec<ProjectSummary>, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::projects(ctx.db(), &me, archived).await
}

#[server(endpoint = "boards/create_project")]
pub async fn create_project(
    workspace_id: Uuid,
    title: String,
    description: String,
    emoji: String,
    color: String,
) -> Result<Uuid, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::create_project(ctx.db(), &me, &title, &description, &emoji, &color).await
}

/// Archives (`archived`) or restores a project.
#[server(endpoint = "boards/archive_project")]
pub async fn archive_project(workspace_id: Uuid, project_id: Uuid, archived: bool) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::set_archived(ctx.db(), &me, project_id, archived).await
}

/// Deletes a project and its tasks (owners and admins).
#[server(endpoint = "boards/delete_project")]
pub async fn delete_project(workspace_id: Uuid, project_id: Uuid) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::delete_project(ctx.db(), &me, project_id).await
}

/// Stars a project for the reader (viewers too: it is their own list).
#[server(endpoint = "boards/favorite")]
pub async fn favorite_project(workspace_id: Uuid, project_id: Uuid, favorite: bool) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::set_favorite(ctx.db(), &me, project_id, favorite).await
}

#[server(endpoint = "boards/board")]
pub async fn load_board(workspace_id: Uuid, project_id: Uuid) -> Result<Board, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::board(ctx.db(), &me, project_id).await
}

/// A new task at the end of the `status` column.
#[server(endpoint = "boards/create_task")]
pub async fn create_task(
    workspace_id: Uuid,
    project_id: Uuid,
    title: String,
    status: TaskStatus,
) -> Result<Card, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::create_task(ctx.db(), &me, project_id, &title, status).await
}

/// Moves a task into `status`, between the cards `after` and `before` (missing: the column's end).
#[server(endpoint = "boards/move_task")]
pub async fn move_task(
    workspace_id: Uuid,
    task_id: Uuid,
    status: TaskStatus,
    after: Option<Uuid>,
    before: Option<Uuid>,
) -> Result<Card, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::move_task(ctx.db(), &me, task_id, status, after, before).await
}

#[server(endpoint = "boards/task")]
pub async fn load_task(workspace_id: Uuid, task_id: Uuid) -> Result<TaskDetail, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::task(ctx.db(), &me, task_id).await
}

/// Changes one field of a task.
#[server(endpoint = "boards/update_task", input = Json)]
pub async fn update_task(workspace_id: Uuid, task_id: Uuid, edit: TaskEdit) -> Result<Card, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::update_task(ctx.db(), &me, task_id, edit).await
}

/// Saves a description written on `version` (409 if someone saved a newer one).
#[server(endpoint = "boards/describe")]
pub async fn describe_task(
    workspace_id: Uuid,
    task_id: Uuid,
    text: String,
    version: i32,
) -> Result<Described, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::describe(ctx.db(), &me, task_id, &text, version).await
}

/// Puts a task in the trash, or (`deleted = false`) restores it.
#[server(endpoint = "boards/delete_task")]
pub async fn delete_task(workspace_id: Uuid, task_id: Uuid, deleted: bool) -> Result<Card, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::set_deleted(ctx.db(), &me, task_id, deleted).await
}

#[server(endpoint = "boards/trash")]
pub async fn list_trash(workspace_id: Uuid, project_id: Uuid) -> Result<Vec<Card>, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::trash(ctx.db(), &me, project_id).await
}

/// Deletes a task in the trash for good (owners and admins).
#[server(endpoint = "boards/purge_task")]
pub async fn purge_task(workspace_id: Uuid, task_id: Uuid) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::purge(ctx.db(), &me, task_id).await
}
