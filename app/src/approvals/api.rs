//! Approval server functions: thin — session → guard → service.

use leptos::prelude::*;
use uuid::Uuid;

use crate::approvals::model::ApprovalView;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::{approvals::service, guard::Ctx, workspaces::model::Permission};

/// Approvals waiting for the signed-in member in the workspace, oldest first.
#[server(endpoint = "approvals/mine")]
pub async fn my_approvals(workspace_id: Uuid) -> Result<Vec<ApprovalView>, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::pending(ctx.db(), &me).await
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
    service::decide(ctx.db(), &ctx.state.hub, &me, approval_id, approve, &comment).await
}
