use sea_orm::entity::prelude::*;

/// A project of a workspace: its board's tasks are `tasks` rows (seed 003).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "projects")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub title: String,
    #[sea_orm(column_type = "Text", nullable)]
    pub description: Option<String>,
    /// What AI task generation starts from.
    #[sea_orm(column_type = "Text", nullable)]
    pub main_prompt: Option<String>,
    pub status: crate::statuses::ProjectStatus,
    pub ai_provider: Option<String>,
    pub template_id: Option<Uuid>,
    pub cover_image: Option<String>,
    /// `#rrggbb`.
    pub color: Option<String>,
    pub emoji: Option<String>,
    pub estimated_hours: Option<f64>,
    /// AI cost in millionths of a US dollar.
    pub total_cost_micros: i64,
    pub git_repository: Option<String>,
    pub owner_id: Uuid,
    /// Set while archived (hidden from the list by default).
    pub archived_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
