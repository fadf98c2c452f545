//! Instance-wide settings, changed by instance administrators.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{DatabaseConnection, EntityTrait, Set};

use crate::entities::instance_settings;
use crate::error::AppError;

const OPEN_SIGNUP: &str = "open_signup";

/// Whether people may sign up without an invitation (off by default).
pub async fn open_signup(db: &DatabaseConnection) -> Result<bool, AppError> {
    let row = instance_settings::Entity::find_by_id(OPEN_SIGNUP).one(db).await?;
    Ok(row.and_then(|r| r.value.as_bool()).unwrap_or(false))
}

pub async fn set_open_signup(db: &DatabaseConnection, enabled: bool) -> Result<(), AppError> {
    let row = instance_settings::ActiveModel {
        key: Set(OPEN_SIGNUP.into()),
        value: Set(serde_json::Value::Bool(enabled)),
        updated_at: Set(Utc::now()),
    };
    instance_settings::Entity::insert(row)
        .on_conflict(
            OnConflict::column(instance_settings::Column::Key)
                .update_columns([instance_settings::Column::Value, instance_settings::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}
