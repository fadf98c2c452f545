//! Approvals and notifications: one row per approver of an approval step (their decision and
//! comment once made), and in-app notifications (an approval to give, for now).

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("approvals")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(uuid("execution_id"))
                    .col(uuid("step_id"))
                    .col(uuid("approver_id"))
                    .col(string_null("decision"))
                    .col(text_null("comment"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("decided_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("approvals", "execution_id")
                            .to("workflow_executions", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_approvals_step")
                    .table("approvals")
                    .col("step_id")
                    .col("approver_id")
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_approvals_approver").table("approvals").col("approver_id").take())
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("notifications")
                    .col(pk_uuid("id"))
                    .col(uuid("user_id"))
                    .col(uuid("workspace_id"))
                    .col(string("title"))
                    .col(text("body"))
                    .col(string("link"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone_null("read_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .from("notifications", "user_id")
                            .to("users", "id")
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_notifications_user")
                    .table("notifications")
                    .col("user_id")
                    .col("created_at")
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["notifications", "approvals"] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
