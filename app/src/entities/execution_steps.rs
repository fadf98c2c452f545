use sea_orm::entity::prelude::*;

/// One attempt of one node in a run.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "execution_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub execution_id: Uuid,
    pub node_id: Uuid,
    pub node_name: String,
    pub kind: String,
    /// RUNNING, WAITING, COMPLETED, FAILED or SKIPPED.
    pub status: crate::statuses::StepStatus,
    /// 1 for the first try.
    pub attempt: i32,
    /// The node's configuration with its templates filled in.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub input: Option<Json>,
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub output: Option<Json>,
    pub error: Option<String>,
    pub started_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
    pub duration_ms: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
