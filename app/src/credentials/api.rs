//! Credential server functions: thin — session → guard → service. None returns a value.

use leptos::prelude::*;
use uuid::Uuid;

use crate::credentials::model::CredentialView;
use crate::error::AppError;
#[cfg(feature = "ssr")]
use crate::{credentials::service, guard::Ctx, workspaces::model::Permission};

/// The workspace's credentials (names and dates; never values).
#[server(endpoint = "credentials/list")]
pub async fn list_credentials(workspace_id: Uuid) -> Result<Vec<CredentialView>, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::Edit).await?;
    service::list(ctx.db(), &me).await
}

#[server(endpoint = "credentials/create")]
pub async fn create_credential(
    workspace_id: Uuid,
    name: String,
    value: String,
    hosts: String,
) -> Result<Uuid, AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::EditSettings).await?;
    service::create(ctx.db(), &ctx.state.sealer, &me, &name, &value, &hosts).await
}

/// Binds a credential to the hosts steps may send it to.
#[server(endpoint = "credentials/set_hosts")]
pub async fn set_credential_hosts(workspace_id: Uuid, credential_id: Uuid, hosts: String) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::EditSettings).await?;
    service::set_hosts(ctx.db(), &me, credential_id, &hosts).await
}

#[server(endpoint = "credentials/replace")]
pub async fn replace_credential(workspace_id: Uuid, credential_id: Uuid, value: String) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::EditSettings).await?;
    service::replace(ctx.db(), &ctx.state.sealer, &me, credential_id, &value).await
}

#[server(endpoint = "credentials/delete")]
pub async fn delete_credential(workspace_id: Uuid, credential_id: Uuid) -> Result<(), AppError> {
    let ctx = Ctx::load().await?;
    let me = ctx.require(workspace_id, Permission::EditSettings).await?;
    service::delete(ctx.db(), &me, credential_id).await
}
