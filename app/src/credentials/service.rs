//! Credentials of a workspace: list (names only), create, replace the value, delete, and read
//! one's value for a step (`reveal`, server-side only).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};
use uuid::Uuid;

use crate::auth;
use crate::credentials::model::CredentialView;
use crate::entities::credentials;
use crate::error::{AppError, OrNotFound};
use crate::guard::Membership;
use crate::secrets::Sealer;
use crate::validate;

const NAME_MAX: usize = 80;
const VALUE_MAX: usize = 8 * 1024;

/// The workspace's credentials by name.
pub async fn list(db: &DatabaseConnection, me: &Membership) -> Result<Vec<CredentialView>, AppError> {
    let rows = credentials::Entity::find()
        .filter(credentials::Column::WorkspaceId.eq(me.workspace_id))
        .order_by_asc(credentials::Column::Name)
        .all(db)
        .await?;
    let names = auth::service::names(db, rows.iter().map(|c| c.created_by)).await?;
    Ok(rows
        .into_iter()
        .map(|c| CredentialView {
            id: c.id,
            created_by: names.of(c.created_by),
            name: c.name,
            updated_at: c.updated_at,
        })
        .collect())
}

fn value(value: &str) -> Result<&str, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::validation("value", "The secret value is required."));
    }
    if value.len() > VALUE_MAX {
        return Err(AppError::validation("value", "The secret value must be at most 8 KiB."));
    }
    Ok(value)
}

/// Stores a new credential; its name must be free in the workspace.
pub async fn create(
    db: &DatabaseConnection,
    sealer: &Sealer,
    me: &Membership,
    name: &str,
    secret: &str,
) -> Result<Uuid, AppError> {
    let name = validate::bounded("name", "Name", name, NAME_MAX)?;
    let secret = value(secret)?;
    let taken = credentials::Entity::find()
        .filter(credentials::Column::WorkspaceId.eq(me.workspace_id))
        .filter(credentials::Column::Name.eq(&name))
        .one(db)
        .await?;
    if taken.is_some() {
        return Err(AppError::validation("name", format!("A credential named “{name}” exists already.")));
    }
    let now = Utc::now();
    let id = Uuid::now_v7();
    credentials::ActiveModel {
        id: Set(id),
        workspace_id: Set(me.workspace_id),
        name: Set(name),
        value: Set(sealer.seal(secret)),
        created_by: Set(me.user.id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}

async fn find(db: &DatabaseConnection, me: &Membership, id: Uuid) -> Result<credentials::Model, AppError> {
    credentials::Entity::find_by_id(id)
        .filter(credentials::Column::WorkspaceId.eq(me.workspace_id))
        .one(db)
        .await?
        .or_not_found()
}

/// Replaces a credential's value (rotation); steps use the new one from their next run.
pub async fn replace(
    db: &DatabaseConnection,
    sealer: &Sealer,
    me: &Membership,
    id: Uuid,
    secret: &str,
) -> Result<(), AppError> {
    let secret = value(secret)?;
    let mut row = find(db, me, id).await?.into_active_model();
    row.value = Set(sealer.seal(secret));
    row.updated_at = Set(Utc::now());
    row.update(db).await?;
    Ok(())
}

pub async fn delete(db: &DatabaseConnection, me: &Membership, id: Uuid) -> Result<(), AppError> {
    let row = find(db, me, id).await?;
    credentials::Entity::delete_by_id(row.id).exec(db).await?;
    Ok(())
}

/// The value of the workspace's credential `name`, for a step; the error is the step's.
pub async fn reveal(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    workspace_id: Uuid,
    name: &str,
) -> Result<String, String> {
    let row = credentials::Entity::find()
        .filter(credentials::Column::WorkspaceId.eq(workspace_id))
        .filter(credentials::Column::Name.eq(name.trim()))
        .one(db)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "reading a credential");
            "The credential could not be read.".to_owned()
        })?
        .ok_or_else(|| format!("No credential named “{}” in this workspace (Settings → Credentials).", name.trim()))?;
    sealer.open(&row.value)
}
