//! The `activities` outbox: every change others may care about is a row with a monotonic id,
//! recorded in the transaction of the change; consumers (the engine first) keep how far they
//! have read in `activity_cursors`. Runs keep their duration, so reports aggregate in SQL.
//! Webhook tokens are kept as a SHA-256 (for the lookup) and a sealed copy (to show the address
//! again); the server converts rows of earlier versions at start, as only it has the key.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("activities")
                    .col(ColumnDef::new("id").big_integer().not_null().auto_increment().primary_key())
                    .col(uuid("workspace_id"))
                    .col(uuid_null("actor_id"))
                    .col(string("name"))
                    .col(string("subject"))
                    .col(json_binary("payload"))
                    .col(timestamp_with_time_zone("created_at"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_activities_workspace")
                    .table("activities")
                    .col("workspace_id")
                    .col("id")
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("activity_cursors")
                    .col(string("name").primary_key())
                    .col(big_integer("position"))
                    .take(),
            )
            .await?;
        let mut engine = Query::insert();
        engine
            .into_table("activity_cursors")
            .columns(["name", "position"])
            .values_panic(["engine".into(), 0i64.into()]);
        manager.exec_stmt(engine).await?;

        let alter = Table::alter().table("workflow_executions").add_column(big_integer_null("duration_ms")).take();
        manager.alter_table(alter).await?;
        let backfill = match manager.get_database_backend() {
            sea_orm_migration::sea_orm::DatabaseBackend::Postgres => {
                "UPDATE workflow_executions SET duration_ms = \
                 CAST(FLOOR(EXTRACT(EPOCH FROM (finished_at - started_at)) * 1000) AS BIGINT) \
                 WHERE finished_at IS NOT NULL AND started_at IS NOT NULL"
            }
            _ => {
                "UPDATE workflow_executions SET duration_ms = \
                 CAST(ROUND((julianday(finished_at) - julianday(started_at)) * 86400000) AS INTEGER) \
                 WHERE finished_at IS NOT NULL AND started_at IS NOT NULL"
            }
        };
        manager.get_connection().execute_unprepared(backfill).await?;

        let alter = Table::alter().table("webhooks").add_column(text_null("token_sealed")).take();
        manager.alter_table(alter).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("webhooks").drop_column("token_sealed").take()).await?;
        manager.alter_table(Table::alter().table("workflow_executions").drop_column("duration_ms").take()).await?;
        manager.drop_table(Table::drop().table("activity_cursors").take()).await?;
        manager.drop_table(Table::drop().table("activities").take()).await?;
        Ok(())
    }
}
