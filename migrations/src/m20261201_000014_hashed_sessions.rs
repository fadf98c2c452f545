//! Sessions are keyed by a SHA-256 of their id from now on. Rows keyed by the id itself can't
//! be converted in SQL on SQLite, so they are removed: everyone signs in once more.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DELETE FROM sessions").await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.get_connection().execute_unprepared("DELETE FROM sessions").await?;
        Ok(())
    }
}
