//! Workflows of a workspace: the list and its operations. Callers pass the guard's `Membership`;
//! every query is scoped to its workspace.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::auth;
use crate::entities::workflows;
use crate::error::{AppError, OrNotFound};
use crate::guard::Membership;
use crate::validate;
use crate::workflows::model::{WorkflowStatus, WorkflowSummary};

const NAME_MAX: usize = 80;

/// The workspace's workflows, most recently edited first.
pub async fn list(db: &DatabaseConnection, workspace_id: Uuid) -> Result<Vec<WorkflowSummary>, AppError> {
    let rows = workflows::Entity::find()
        .filter(workflows::Column::WorkspaceId.eq(workspace_id))
        .order_by_desc(workflows::Column::UpdatedAt)
        .all(db)
        .await?;
    let editors = auth::service::names(db, rows.iter().map(|r| r.updated_by)).await?;
    Ok(rows
        .into_iter()
        .map(|w| WorkflowSummary {
            id: w.id,
            status: WorkflowStatus::parse(&w.status).unwrap_or(WorkflowStatus::Draft),
            version: w.version,
            updated_at: w.updated_at,
            updated_by: editors.of(w.updated_by),
            name: w.name,
            description: w.description,
        })
        .collect())
}

/// One workflow of the member's workspace; another workspace's is `NotFound`.
async fn find(db: &DatabaseConnection, me: &Membership, id: Uuid) -> Result<workflows::Model, AppError> {
    workflows::Entity::find_by_id(id)
        .filter(workflows::Column::WorkspaceId.eq(me.workspace_id))
        .one(db)
        .await?
        .or_not_found()
}

/// A new draft.
pub async fn create(db: &DatabaseConnection, me: &Membership, name: &str, description: &str) -> Result<Uuid, AppError> {
    let name = validate::bounded("name", "Workflow name", name, NAME_MAX)?;
    let description = validate::optional_text("description", "Description", description, 500)?;
    let now = Utc::now();
    let row = workflows::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(me.workspace_id),
        name: Set(name),
        description: Set(description),
        status: Set(WorkflowStatus::Draft.as_str().into()),
        version: Set(1),
        created_by: Set(me.user.id),
        updated_by: Set(me.user.id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(row.id)
}

/// Renames a workflow.
pub async fn rename(db: &DatabaseConnection, me: &Membership, id: Uuid, name: &str) -> Result<(), AppError> {
    let name = validate::bounded("name", "Workflow name", name, NAME_MAX)?;
    let row = find(db, me, id).await?;
    let version = row.version + 1;
    let mut active = row.into_active_model();
    active.name = Set(name);
    active.version = Set(version);
    active.updated_by = Set(me.user.id);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}

/// A draft copy named "… (copy)".
pub async fn duplicate(db: &DatabaseConnection, me: &Membership, id: Uuid) -> Result<Uuid, AppError> {
    let original = find(db, me, id).await?;
    let suffix = " (copy)";
    let stem: String = original.name.chars().take(NAME_MAX - suffix.len()).collect();
    create(db, me, &format!("{stem}{suffix}"), &original.description).await
}

/// Deletes a workflow.
pub async fn delete(db: &DatabaseConnection, me: &Membership, id: Uuid) -> Result<(), AppError> {
    let row = find(db, me, id).await?;
    workflows::Entity::delete_by_id(row.id).exec(db).await?;
    Ok(())
}
