use sea_orm::entity::prelude::*;

/// A task of a project (seed 003); a subtask names its `parent_id`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub project_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    #[sea_orm(column_type = "Text", nullable)]
    pub generated_prompt: Option<String>,
    pub status: crate::statuses::TaskStatus,
    pub priority: crate::statuses::TaskPriority,
    /// serial / parallel (how AI runs its subtasks).
    pub execution_type: String,
    pub ai_provider: Option<String>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub mcp_config: Option<Json>,
    /// Its place in its column: a fractional key (`fractional_index`, hex), unique per column.
    #[sea_orm(column_type = "Text")]
    pub rank: String,
    pub assignee_id: Option<Uuid>,
    pub reporter_id: Uuid,
    pub estimate_minutes: Option<i32>,
    pub actual_minutes: Option<i32>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub token_usage: Option<Json>,
    pub estimated_cost_micros: Option<i64>,
    pub actual_cost_micros: i64,
    pub start_at: Option<DateTimeUtc>,
    pub due_at: Option<DateTimeUtc>,
    pub started_at: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub blocked_reason: Option<String>,
    #[sea_orm(column_type = "JsonBinary")]
    pub git_commits: Json,
    /// Bumped by every edit of the description; an edit based on an older one is a conflict.
    pub version: i32,
    /// In the trash since then.
    pub deleted_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
