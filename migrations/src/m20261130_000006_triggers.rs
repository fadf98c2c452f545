//! Triggers other than the Run button (seed 001's workflow triggers): the schedule, webhook and
//! event triggers of each active workflow, with the version they run and a schedule's next time;
//! and each webhook node's secret address and signing secret (sealed), which outlive activations.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("workflow_triggers")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(uuid("workflow_id"))
                    .col(uuid("version_id"))
                    .col(uuid("node_id"))
                    .col(string("kind"))
                    .col(string_null("event"))
                    .col(timestamp_with_time_zone_null("next_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("workflow_triggers", "workflow_id")
                            .to("workflows", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        for (name, cols) in [
            ("idx_workflow_triggers_workflow", &["workflow_id", "node_id"][..]),
            ("idx_workflow_triggers_event", &["kind", "event", "workspace_id"][..]),
            ("idx_workflow_triggers_due", &["kind", "next_at"][..]),
        ] {
            let mut index = Index::create().name(name).table("workflow_triggers").take();
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table("webhooks")
                    .col(uuid("workflow_id"))
                    .col(uuid("node_id"))
                    .col(string_uniq("token"))
                    .col(text("secret"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("workflow_id").col("node_id"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("webhooks", "workflow_id")
                            .to("workflows", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["webhooks", "workflow_triggers"] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
