//! Versions: a snapshot of the graph each time a workflow is activated (author, time, message).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("workflow_versions")
                    .col(pk_uuid("id"))
                    .col(uuid("workflow_id"))
                    .col(integer("number"))
                    .col(string("message"))
                    .col(uuid("author"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(json_binary("graph"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("workflow_versions", "workflow_id")
                            .to("workflows", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_workflow_versions_number")
                    .table("workflow_versions")
                    .col("workflow_id")
                    .col("number")
                    .unique()
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("workflow_versions").take()).await
    }
}
