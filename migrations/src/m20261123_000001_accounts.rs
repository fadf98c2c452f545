//! People and tenancy: users, sessions, workspaces, members, invitations, instance settings.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

fn fk(from: &'static str, col: &'static str, to: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create().from(from, col).to(to, "id").on_delete(ForeignKeyAction::Cascade).take()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("users")
                    .col(pk_uuid("id"))
                    .col(string_uniq("email"))
                    .col(string("name"))
                    .col(string("password_hash"))
                    .col(string("status"))
                    .col(string("role"))
                    .col(string("timezone"))
                    .col(json("preferences"))
                    .col(uuid_null("last_workspace_id"))
                    .col(timestamp_with_time_zone_null("last_login_at"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("sessions")
                    .col(string("id").primary_key())
                    .col(uuid_null("user_id"))
                    .col(text("data"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .take(),
            )
            .await?;
        manager.create_index(Index::create().name("idx_sessions_user").table("sessions").col("user_id").take()).await?;
        manager
            .create_index(Index::create().name("idx_sessions_expiry").table("sessions").col("expires_at").take())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("workspaces")
                    .col(pk_uuid("id"))
                    .col(string("name"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("workspace_members")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(uuid("user_id"))
                    .col(string("role"))
                    .col(boolean("can_query"))
                    .col(boolean("can_view_sources"))
                    .col(boolean("can_invite"))
                    .col(boolean("can_manage_sync"))
                    .col(boolean("can_edit_settings"))
                    .col(string("status"))
                    .col(timestamp_with_time_zone("joined_at"))
                    .foreign_key(&mut fk("workspace_members", "workspace_id", "workspaces"))
                    .foreign_key(&mut fk("workspace_members", "user_id", "users"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_members_workspace_user")
                    .table("workspace_members")
                    .col("workspace_id")
                    .col("user_id")
                    .unique()
                    .take(),
            )
            .await?;
        manager
            .create_index(Index::create().name("idx_members_user").table("workspace_members").col("user_id").take())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("invitations")
                    .col(pk_uuid("id"))
                    .col(uuid("workspace_id"))
                    .col(string_uniq("token_hash"))
                    .col(string("role"))
                    .col(string_null("email"))
                    .col(uuid("created_by"))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("expires_at"))
                    .col(timestamp_with_time_zone_null("accepted_at"))
                    .col(uuid_null("accepted_by"))
                    .col(timestamp_with_time_zone_null("revoked_at"))
                    .foreign_key(&mut fk("invitations", "workspace_id", "workspaces"))
                    .take(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_invitations_workspace").table("invitations").col("workspace_id").take(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("instance_settings")
                    .col(string("key").primary_key())
                    .col(json("value"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["instance_settings", "invitations", "workspace_members", "workspaces", "sessions", "users"] {
            manager.drop_table(Table::drop().table(table).take()).await?;
        }
        Ok(())
    }
}
