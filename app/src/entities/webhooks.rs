use sea_orm::entity::prelude::*;

/// A webhook node's address and signing secret; kept while the node exists, active or not.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "webhooks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workflow_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub node_id: Uuid,
    /// The SHA-256 (hex) of the unguessable last part of `/hooks/<workflow>/<token>`.
    #[sea_orm(unique)]
    pub token: String,
    /// The token itself, sealed with the instance's encryption key (the address is shown again).
    pub token_sealed: Option<String>,
    /// The HMAC-SHA256 key, sealed with the instance's encryption key.
    pub secret: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
