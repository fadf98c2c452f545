//! tower-sessions store over the `sessions` table: sessions survive restarts and are shared by
//! every instance on one database. Rows are keyed by a SHA-256 of the session id, like
//! invitation tokens: a copy of the table signs nobody in.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter, Set};
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};
use uuid::Uuid;

use crate::entities::sessions;
use crate::guard::USER_KEY;

/// Sessions kept in the application database.
#[derive(Debug, Clone)]
pub struct DbSessionStore {
    db: DatabaseConnection,
}

impl DbSessionStore {
    pub fn new(db: DatabaseConnection) -> Self {
        DbSessionStore { db }
    }

    /// Removes sessions past their expiry; the host calls this periodically.
    pub async fn delete_expired(&self) -> std::result::Result<u64, sea_orm::DbErr> {
        let res =
            sessions::Entity::delete_many().filter(sessions::Column::ExpiresAt.lt(Utc::now())).exec(&self.db).await?;
        Ok(res.rows_affected)
    }

    fn row(record: &Record) -> Result<sessions::ActiveModel> {
        let data = serde_json::to_string(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
        let user_id = record.data.get(USER_KEY).and_then(|v| serde_json::from_value::<Uuid>(v.clone()).ok());
        Ok(sessions::ActiveModel {
            id: Set(key(&record.id)),
            user_id: Set(user_id),
            data: Set(data),
            expires_at: Set(to_chrono(record.expiry_date)),
        })
    }
}

/// The stored key of session `id`: the hex SHA-256 of the id the cookie carries.
fn key(id: &Id) -> String {
    crate::secrets::digest(&id.to_string())
}

fn to_chrono(t: time::OffsetDateTime) -> DateTime<Utc> {
    DateTime::from_timestamp(t.unix_timestamp(), t.nanosecond()).unwrap_or_default()
}

fn from_chrono(t: DateTime<Utc>) -> Result<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(t.timestamp()).map_err(|e| Error::Decode(e.to_string()))
}

fn backend(e: sea_orm::DbErr) -> Error {
    Error::Backend(e.to_string())
}

#[async_trait]
impl SessionStore for DbSessionStore {
    async fn create(&self, record: &mut Record) -> Result<()> {
        // A 128-bit random id colliding is astronomically unlikely, but a collision must never
        // hand one person another's session: draw again instead of overwriting.
        loop {
            let inserted = sessions::Entity::insert(Self::row(record)?)
                .on_conflict(OnConflict::column(sessions::Column::Id).do_nothing().to_owned())
                .exec_without_returning(&self.db)
                .await
                .map_err(backend)?;
            if inserted == 1 {
                return Ok(());
            }
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        // Update only: new sessions go through `create`. An upsert here would bring back a session
        // that a sign-out or password change deleted while this request was still running.
        sessions::Entity::update_many()
            .set(Self::row(record)?)
            .filter(sessions::Column::Id.eq(key(&record.id)))
            .exec(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let row = sessions::Entity::find_by_id(key(id))
            .filter(sessions::Column::ExpiresAt.gt(Utc::now()))
            .one(&self.db)
            .await
            .map_err(backend)?;
        let Some(row) = row else { return Ok(None) };
        let data = serde_json::from_str(&row.data).map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record { id: *id, data, expiry_date: from_chrono(row.expires_at)? }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        sessions::Entity::delete_by_id(key(id)).exec(&self.db).await.map_err(backend)?;
        Ok(())
    }
}

/// Whether the session `id` still exists (not signed out, not ended by a password change).
pub async fn alive(db: &DatabaseConnection, id: &Id) -> std::result::Result<bool, sea_orm::DbErr> {
    let row = sessions::Entity::find_by_id(key(id)).filter(sessions::Column::ExpiresAt.gt(Utc::now())).one(db).await?;
    Ok(row.is_some())
}

/// Ends every session of `user_id` except `keep` (after a password change).
pub async fn end_other_sessions(
    db: &DatabaseConnection,
    user_id: Uuid,
    keep: Option<Id>,
) -> std::result::Result<u64, sea_orm::DbErr> {
    let mut q = sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        q = q.filter(sessions::Column::Id.ne(key(&keep)));
    }
    Ok(q.exec(db).await?.rows_affected)
}
