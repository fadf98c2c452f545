//! The engine (seeds 000 executionlogs, 001 workflow_executions and execution_logs): one row per
//! run with its trigger payload, status and lease, one row per step attempt, and the key-value
//! data a workflow's "save data" steps keep between runs.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("workflow_executions")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(uuid("workflow_id"))
                    .col(string("status"))
                    .col(boolean("simulation"))
                    .col(uuid("trigger_node"))
                    .col(json_binary("payload"))
                    .col(json_binary("graph"))
                    .col(uuid_null("started_by"))
                    .col(text_null("error"))
                    .col(string_null("lease_owner"))
                    .col(timestamp_with_time_zone_null("lease_until"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("workflow_executions", "workflow_id")
                            .to("workflows", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        for (name, cols) in [
            ("idx_workflow_executions_workflow", &["workflow_id", "created_at"][..]),
            ("idx_workflow_executions_workspace", &["workspace_id", "created_at"][..]),
            ("idx_workflow_executions_claim", &["status", "lease_until"][..]),
        ] {
            let mut index = Index::create().name(name).table("workflow_executions").take();
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("execution_steps")
                    .col(pk_uuid("id"))
                    .col(uuid("execution_id"))
                    .col(uuid("node_id"))
                    .col(string("node_name"))
                    .col(string("kind"))
                    .col(string("status"))
                    .col(integer("attempt"))
                    .col(json_binary_null("input"))
                    .col(json_binary_null("output"))
                    .col(text_null("error"))
                    .col(timestamp_with_time_zone("started_at"))
                    .col(timestamp_with_time_zone_null("finished_at"))
                    .col(big_integer_null("duration_ms"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("execution_steps", "execution_id")
                            .to("workflow_executions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_execution_steps_attempt")
                    .table("execution_steps")
                    .col("execution_id")
                    .col("node_id")
                    .col("attempt")
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("workflow_data")
                    .col(uuid("workflow_id"))
                    .col(string("key"))
                    .col(json_binary("value"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .primary_key(Index::create().col("workflow_id").col("key"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("workflow_data", "workflow_id")
                            .to("workflows", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["workflow_data", "execution_steps", "workflow_executions"] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
