//! Task boards (seed 003): projects, who is on them and who starred them, and tasks. A task's
//! place in its column is a fractional key (`rank`), so a move writes one row; the key compares
//! byte-wise (`COLLATE "C"` on PostgreSQL), and is unique in its column, so two moves into one
//! gap cannot both take a key.

use sea_orm_migration::sea_orm::DatabaseBackend;
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn cascade(from: &'static str, column: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from, column).to(to, "id").on_delete(ForeignKeyAction::Cascade).take()
}

fn index(name: &'static str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(*column);
    }
    index.take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("projects")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(string("title"))
                    .col(text_null("description"))
                    .col(text_null("main_prompt"))
                    .col(string("status").default("active"))
                    .col(string_null("ai_provider"))
                    .col(uuid_null("template_id"))
                    .col(string_null("cover_image"))
                    .col(string_null("color"))
                    .col(string_null("emoji"))
                    .col(double_null("estimated_hours"))
                    // AI cost in millionths of a US dollar (money in integer minor units).
                    .col(big_integer("total_cost_micros").default(0))
                    .col(string_null("git_repository"))
                    .col(uuid("owner_id"))
                    .col(timestamp_with_time_zone_null("archived_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut cascade("projects", "workspace_id", "workspaces"))
                    .take(),
            )
            .await?;
        manager.create_index(index("idx_projects_workspace", "projects", &["workspace_id", "archived_at"])).await?;
        manager
            .create_table(
                Table::create()
                    .table("project_members")
                    .col(uuid("project_id"))
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("project_id").col("user_id"))
                    .foreign_key(&mut cascade("project_members", "project_id", "projects"))
                    .foreign_key(&mut cascade("project_members", "user_id", "users"))
                    .take(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table("project_favorites")
                    .col(uuid("project_id"))
                    .col(uuid("user_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("project_id").col("user_id"))
                    .foreign_key(&mut cascade("project_favorites", "project_id", "projects"))
                    .foreign_key(&mut cascade("project_favorites", "user_id", "users"))
                    .take(),
            )
            .await?;
        let mut rank = ColumnDef::new("rank");
        rank.text().not_null();
        if manager.get_database_backend() == DatabaseBackend::Postgres {
            rank.extra("COLLATE \"C\"");
        }
        manager
            .create_table(
                Table::create()
                    .table("tasks")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(uuid("project_id"))
                    .col(uuid_null("parent_id"))
                    .col(string("title"))
                    .col(text_null("description"))
                    .col(text_null("generated_prompt"))
                    .col(string("status").default("todo"))
                    .col(string("priority").default("medium"))
                    .col(string("execution_type").default("serial"))
                    .col(string_null("ai_provider"))
                    .col(json_binary_null("mcp_config"))
                    .col(rank)
                    .col(uuid_null("assignee_id"))
                    .col(uuid("reporter_id"))
                    .col(integer_null("estimate_minutes"))
                    .col(integer_null("actual_minutes"))
                    .col(json_binary_null("token_usage"))
                    .col(big_integer_null("estimated_cost_micros"))
                    .col(big_integer("actual_cost_micros").default(0))
                    .col(timestamp_with_time_zone_null("start_at"))
                    .col(timestamp_with_time_zone_null("due_at"))
                    .col(timestamp_with_time_zone_null("started_at"))
                    .col(timestamp_with_time_zone_null("completed_at"))
                    .col(text_null("blocked_reason"))
                    .col(json_binary("git_commits").default("[]"))
                    // Bumped by every edit of the description, for its version check.
                    .col(integer("version").default(1))
                    .col(timestamp_with_time_zone_null("deleted_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(&mut cascade("tasks", "workspace_id", "workspaces"))
                    .foreign_key(&mut cascade("tasks", "project_id", "projects"))
                    .foreign_key(&mut cascade("tasks", "parent_id", "tasks"))
                    .take(),
            )
            .await?;
        let mut ranks = index("idx_tasks_rank", "tasks", &["project_id", "status", "rank"]);
        manager.create_index(ranks.unique().take()).await?;
        manager.create_index(index("idx_tasks_workspace", "tasks", &["workspace_id", "deleted_at"])).await?;
        manager.create_index(index("idx_tasks_assignee", "tasks", &["assignee_id"])).await?;
        manager.create_index(index("idx_tasks_due", "tasks", &["due_at"])).await?;
        manager.create_index(index("idx_tasks_parent", "tasks", &["parent_id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["tasks", "project_favorites", "project_members", "projects"] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
