use sea_orm::entity::prelude::*;

/// One approver of an approval step, and their decision once made.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "approvals")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub execution_id: Uuid,
    /// The step row (attempt) that waits.
    pub step_id: Uuid,
    pub approver_id: Uuid,
    /// `APPROVED` or `REJECTED`; null while undecided.
    pub decision: Option<String>,
    pub comment: Option<String>,
    pub created_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
