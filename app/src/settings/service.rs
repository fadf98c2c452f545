//! Instance-wide settings, changed by instance administrators.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, Set, SqlErr};

use crate::db::Db;
use crate::entities::instance_settings;
use crate::error::AppError;

const OPEN_SIGNUP: &str = "open_signup";
const SETUP_DONE: &str = "setup_completed";

/// Whether people may sign up without an invitation (off by default).
pub async fn open_signup(db: &impl Db) -> Result<bool, AppError> {
    let row = instance_settings::Entity::find_by_id(OPEN_SIGNUP).one(db).await?;
    Ok(row.and_then(|r| r.value.as_bool()).unwrap_or(false))
}

pub async fn set_open_signup(db: &impl Db, enabled: bool) -> Result<(), AppError> {
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

/// Marks first-run setup done, in the setup's transaction: the key exists once, so a second,
/// concurrent setup fails here.
pub async fn mark_setup_done(db: &impl ConnectionTrait) -> Result<(), AppError> {
    let marker = instance_settings::ActiveModel {
        key: Set(SETUP_DONE.into()),
        value: Set(serde_json::Value::Bool(true)),
        updated_at: Set(Utc::now()),
    };
    marker.insert(db).await.map_err(|e| match e.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => {
            AppError::conflict("Flowdeck is already set up. Sign in instead.")
        }
        _ => e.into(),
    })?;
    Ok(())
}
