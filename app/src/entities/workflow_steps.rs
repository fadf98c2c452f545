use sea_orm::entity::prelude::*;

/// A node of a workflow's canvas.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workflow_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// Order on the canvas (drawing order).
    pub position: i32,
    pub name: String,
    /// The node kind, e.g. `http`.
    pub step_type: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub config: Json,
    pub x: f64,
    pub y: f64,
    /// Retries and timeout; null while they are the default.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub policy: Option<Json>,
    /// Pinned test data: the output runs started by hand use instead of running the node.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub pinned: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
