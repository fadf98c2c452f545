//! Retry policies: a node's retries and timeout (null while it has the default), and the run a
//! "retry from the failed step" run continues.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("workflow_steps").add_column(json_binary_null("policy")).take())
            .await?;
        manager.alter_table(Table::alter().table("workflow_executions").add_column(uuid_null("retry_of")).take()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("workflow_executions").drop_column("retry_of").take()).await?;
        manager.alter_table(Table::alter().table("workflow_steps").drop_column("policy").take()).await
    }
}
