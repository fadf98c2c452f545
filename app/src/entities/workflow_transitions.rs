use sea_orm::entity::prelude::*;

/// An edge of a workflow's canvas.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workflow_transitions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workflow_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub position: i32,
    pub from_step_id: Uuid,
    pub to_step_id: Uuid,
    /// `{field, operator, value}` or null.
    #[sea_orm(column_type = "JsonBinary", nullable)]
    pub condition: Option<Json>,
    pub is_default: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
