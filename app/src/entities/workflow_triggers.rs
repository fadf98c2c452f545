use sea_orm::entity::prelude::*;

/// A schedule, webhook or event trigger of an active workflow, and the version it starts.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_triggers")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub workflow_id: Uuid,
    pub version_id: Uuid,
    pub node_id: Uuid,
    /// The node kind: `schedule`, `webhook` or `event`.
    pub kind: String,
    /// The event an event trigger waits for.
    pub event: Option<String>,
    /// When a schedule trigger fires next.
    pub next_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
