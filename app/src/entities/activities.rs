use sea_orm::entity::prelude::*;

/// One change others may care about (the outbox): recorded in the change's own transaction,
/// read in id order by the engine and, later, live streams and activity tabs.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "activities")]
pub struct Model {
    /// Monotonic: a row with a higher id is never committed after one with a lower id is seen.
    #[sea_orm(primary_key)]
    pub id: i64,
    pub workspace_id: Uuid,
    /// The person whose action it was; `None` for the engine and other automatic changes.
    pub actor_id: Option<Uuid>,
    /// What happened, such as `workflow.completed`.
    pub name: String,
    /// What it happened to, as `<kind>:<id>`, such as `execution:0193…`.
    pub subject: String,
    #[sea_orm(column_type = "JsonBinary")]
    pub payload: Json,
    pub created_at: DateTimeUtc,
    /// The one person who may see it (a notification, say); `None`: every member.
    pub audience_id: Option<Uuid>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
