use sea_orm::entity::prelude::*;

/// A workflow's graph as it was activated.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_versions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workflow_id: Uuid,
    /// 1, 2, 3… per workflow.
    pub number: i32,
    pub message: String,
    pub author: Uuid,
    pub created_at: DateTimeUtc,
    /// The `Graph` as JSON.
    #[sea_orm(column_type = "JsonBinary")]
    pub graph: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
