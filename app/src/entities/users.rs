use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(unique)]
    pub email: String,
    pub name: String,
    pub password_hash: String,
    /// active / inactive / suspended. Text, not an enum like the other statuses: operators set it
    /// by hand, and a value the code doesn't know must read as "not active", not fail every read
    /// of the account (its name in other members' lists included).
    pub status: String,
    /// user / admin (instance administrator)
    pub role: String,
    pub timezone: String,
    pub preferences: Json,
    pub last_workspace_id: Option<Uuid>,
    pub last_login_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
