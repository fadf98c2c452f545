//! The designer's graph (seed 001): steps are the canvas nodes, transitions the edges. Keys are
//! `(workflow_id, id)`, so a copied or imported workflow keeps its node ids.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn belongs_to_workflow(table: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(table, "workflow_id").to("workflows", "id").on_delete(ForeignKeyAction::Cascade).take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("workflow_steps")
                    .col(uuid("workflow_id"))
                    .col(uuid("id"))
                    .col(integer("position"))
                    .col(string("name"))
                    .col(string("step_type"))
                    .col(json_binary("config"))
                    .col(double("x"))
                    .col(double("y"))
                    .primary_key(Index::create().col("workflow_id").col("id"))
                    .foreign_key(&mut belongs_to_workflow("workflow_steps"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("workflow_transitions")
                    .col(uuid("workflow_id"))
                    .col(uuid("id"))
                    .col(integer("position"))
                    .col(uuid("from_step_id"))
                    .col(uuid("to_step_id"))
                    .col(json_binary_null("condition"))
                    .col(boolean("is_default"))
                    .primary_key(Index::create().col("workflow_id").col("id"))
                    .foreign_key(&mut belongs_to_workflow("workflow_transitions"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("workflow_transitions").take()).await?;
        manager.drop_table(Table::drop().table("workflow_steps").take()).await
    }
}
