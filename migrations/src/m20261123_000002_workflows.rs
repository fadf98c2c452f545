//! Workflows: the list's rows. Nodes, edges and versions come with the canvas.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("workflows")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(string("name"))
                    .col(text("description"))
                    .col(string("status"))
                    .col(integer("version"))
                    .col(uuid("created_by"))
                    .col(uuid("updated_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("workflows", "workspace_id")
                            .to("workspaces", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_workflows_workspace").table("workflows").col("workspace_id").take())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("workflows").take()).await
    }
}
