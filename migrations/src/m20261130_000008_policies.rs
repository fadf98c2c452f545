//! Retry policies: a node's retries and timeout (null while it has the default); the run a
//! "retry from the failed step" run continues, and the kind of trigger that started a run.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("workflow_steps").add_column(json_binary_null("policy")).take())
            .await?;
        manager
            .alter_table(Table::alter().table("workflow_executions").add_column(uuid_null("retry_of")).take())
            .await?;
        manager
            .alter_table(Table::alter().table("workflow_executions").add_column(string_null("trigger_kind")).take())
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("workflow_executions").drop_column("trigger_kind").take()).await?;
        manager.alter_table(Table::alter().table("workflow_executions").drop_column("retry_of").take()).await?;
        manager.alter_table(Table::alter().table("workflow_steps").drop_column("policy").take()).await
    }
}
