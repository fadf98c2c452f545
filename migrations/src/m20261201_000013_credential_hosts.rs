//! A credential is bound to the hosts it may be sent to (one a line; `*.example.com` for the
//! subdomains of a domain). Credentials stored before are bound to none until someone who
//! manages credentials names their hosts.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut hosts = text("hosts");
        hosts.default("");
        manager.alter_table(Table::alter().table("credentials").add_column(&mut hosts).take()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("credentials").drop_column("hosts").take()).await
    }
}
