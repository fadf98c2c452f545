//! Hardening of runs: a waiting run is parked (status WAITING, no lease) until `wake_at`, or
//! until a decision wakes it; every run knows the root of its chain of workflow events, and a
//! root counts the runs its chain started (`descendants`) against the chain's budget.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column a statement.
        let alter = || Table::alter().table("workflow_executions").take();
        manager.alter_table(alter().add_column(timestamp_with_time_zone_null("wake_at")).take()).await?;
        manager.alter_table(alter().add_column(uuid_null("root_id")).take()).await?;
        manager.alter_table(alter().add_column(integer("descendants").default(0)).take()).await?;
        for (name, cols) in [
            // Due parked runs are found through this index: parked runs cost nothing until due.
            ("idx_workflow_executions_wake", &["status", "wake_at"][..]),
            // A workspace's runs in flight are counted before it starts another.
            ("idx_workflow_executions_workspace_status", &["workspace_id", "status"][..]),
        ] {
            let mut index = Index::create().name(name).table("workflow_executions").take();
            for col in cols {
                index.col(*col);
            }
            manager.create_index(index).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for name in ["idx_workflow_executions_wake", "idx_workflow_executions_workspace_status"] {
            manager.drop_index(Index::drop().name(name).table("workflow_executions").to_owned()).await?;
        }
        for column in ["wake_at", "root_id", "descendants"] {
            manager.alter_table(Table::alter().table("workflow_executions").drop_column(column).take()).await?;
        }
        Ok(())
    }
}
