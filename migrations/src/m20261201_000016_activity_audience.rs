//! An activity can be for one person only (`audience_id`, such as a notification): live streams
//! send it to that person alone. On PostgreSQL every recorded activity notifies the channel
//! `flowdeck_activities` with its id, so each instance's live streams and outbox consumer hear
//! of it at once, whichever instance recorded it.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::uuid_null;
use sea_orm_migration::sea_orm::DatabaseBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

const NOTIFY: &str = "CREATE OR REPLACE FUNCTION flowdeck_activity_recorded() RETURNS trigger AS $$ \
     BEGIN PERFORM pg_notify('flowdeck_activities', NEW.id::text); RETURN NULL; END $$ LANGUAGE plpgsql";
const TRIGGER: &str = "CREATE TRIGGER activities_recorded AFTER INSERT ON activities \
     FOR EACH ROW EXECUTE FUNCTION flowdeck_activity_recorded()";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let alter = Table::alter().table("activities").add_column(uuid_null("audience_id")).take();
        manager.alter_table(alter).await?;
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared(NOTIFY).await?;
            db.execute_unprepared(TRIGGER).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            let db = manager.get_connection();
            db.execute_unprepared("DROP TRIGGER IF EXISTS activities_recorded ON activities").await?;
            db.execute_unprepared("DROP FUNCTION IF EXISTS flowdeck_activity_recorded()").await?;
        }
        manager.alter_table(Table::alter().table("activities").drop_column("audience_id").take()).await
    }
}
