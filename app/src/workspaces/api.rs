//! Workspace server functions: thin — session → guard → service.

use leptos::prelude::*;
use uuid::Uuid;

use crate::error::AppError;
use crate::workspaces::model::{
    CreatedInvitation, Flag, InvitationInfo, InvitationView, MemberView, Role, WorkspaceView,
};
#[cfg(feature = "ssr")]
use {
    crate::auth::{api::start_session, password, service::NewUser, service::insert_user},
    crate::guard::Ctx,
    crate::workspaces::model::Permission,
    crate::workspaces::service,
};

/// Creates a workspace owned by the signed-in user and opens it.
#[server(endpoint = "workspaces/create")]
pub async fn create_workspace(name: String) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let user = ctx.user().await?;
    let workspace = service::create_for_user(ctx.db(), &user, &name).await?;
    leptos_axum::redirect(&format!("/w/{}", workspace.id));
    Ok(())
}

/// The workspace as the signed-in member sees it; opening it makes it the current one.
#[server(endpoint = "workspaces/get")]
pub async fn get_workspace(workspace_id: Uuid) -> Result<WorkspaceView, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    crate::auth::service::remember_workspace(ctx.db(), &me.user, workspace_id).await?;
    service::view(ctx.db(), &me).await
}

/// Renames the workspace.
#[server(endpoint = "workspaces/rename")]
pub async fn rename_workspace(workspace_id: Uuid, name: String) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::EditSettings).await?;
    service::rename(ctx.db(), &me, &name).await
}

/// The workspace's active members.
#[server(endpoint = "workspaces/members")]
pub async fn list_members(workspace_id: Uuid) -> Result<Vec<MemberView>, AppError> {
    let ctx = Ctx::load().await?;
    ctx.require(workspace_id, Permission::View).await?;
    service::members(ctx.db(), workspace_id).await
}

/// Changes a member's role.
#[server(endpoint = "workspaces/set_role")]
pub async fn set_member_role(workspace_id: Uuid, user_id: Uuid, role: Role) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::ManageMembers).await?;
    service::set_role(ctx.db(), &me, user_id, role).await
}

/// Grants or withdraws one permission flag of a member.
#[server(endpoint = "workspaces/set_flag")]
pub async fn set_member_flag(workspace_id: Uuid, user_id: Uuid, flag: Flag, value: bool) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::ManageMembers).await?;
    service::set_flag(ctx.db(), &me, user_id, flag, value).await
}

/// Removes a member, or lets the signed-in member leave.
#[server(endpoint = "workspaces/remove_member")]
pub async fn remove_member(workspace_id: Uuid, user_id: Uuid) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::View).await?;
    service::remove_member(ctx.db(), &me, user_id).await?;
    if user_id == me.user.id {
        leptos_axum::redirect("/");
    }
    Ok(())
}

/// Creates an invitation link.
#[server(endpoint = "workspaces/invite")]
pub async fn invite(
    workspace_id: Uuid,
    role: Role,
    days: i64,
    email: Option<String>,
) -> Result<CreatedInvitation, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Invite).await?;
    service::invite(ctx.db(), &me, role, days, email.as_deref()).await
}

/// Pending invitations.
#[server(endpoint = "workspaces/invitations")]
pub async fn list_invitations(workspace_id: Uuid) -> Result<Vec<InvitationView>, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Invite).await?;
    service::invitations(ctx.db(), &me).await
}

/// Withdraws a pending invitation.
#[server(endpoint = "workspaces/revoke_invitation")]
pub async fn revoke_invitation(workspace_id: Uuid, invitation_id: Uuid) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Invite).await?;
    service::revoke_invitation(ctx.db(), &me, invitation_id).await
}

/// What an invitation link offers; no sign-in needed.
#[server(endpoint = "invitations/info")]
pub async fn get_invitation_info(token: String) -> Result<InvitationInfo, AppError> {
    let ctx = Ctx::load().await?;
    service::invitation_info(ctx.db(), &token).await
}

/// The signed-in user joins through an invitation link.
#[server(endpoint = "invitations/accept")]
pub async fn accept_invitation(token: String) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let user = ctx.user().await?;
    let txn = crate::db::begin_write(ctx.db()).await?;
    let workspace_id = service::accept_invitation(&txn, &token, &user).await?;
    txn.commit().await?;
    leptos_axum::redirect(&format!("/w/{workspace_id}"));
    Ok(())
}

/// A new person creates their account through an invitation link and joins, in one transaction.
#[server(endpoint = "invitations/signup")]
pub async fn signup_with_invitation(
    token: String,
    name: String,
    email: String,
    password: String,
) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let new = NewUser::parse(&name, &email, &password, false)?;
    service::invitation_info(ctx.db(), &token).await?;
    let hash = password::hash(new.password.clone()).await?;
    let txn = crate::db::begin_write(ctx.db()).await?;
    let user = insert_user(&txn, new, hash).await?;
    let workspace_id = service::accept_invitation(&txn, &token, &user).await?;
    txn.commit().await?;
    start_session(&ctx, &user).await?;
    leptos_axum::redirect(&format!("/w/{workspace_id}"));
    Ok(())
}
