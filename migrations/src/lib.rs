//! Database migrations. Tables are named with plain strings and never import entities, so a
//! released migration never changes when the entities do.

pub use sea_orm_migration::prelude::*;

mod m20261123_000001_accounts;
mod m20261123_000002_workflows;
mod m20261123_000003_workflow_graph;
mod m20261123_000004_workflow_versions;
mod m20261123_000005_engine;
mod m20261130_000006_triggers;
mod m20261130_000007_credentials;
mod m20261130_000008_policies;
mod m20261130_000009_approvals;
mod m20261130_000010_error_workflows;
mod m20261130_000011_pinned_data;
mod m20261201_000012_parked_runs;
mod m20261201_000013_credential_hosts;
mod m20261201_000014_hashed_sessions;
mod m20261201_000015_activities;
mod m20261201_000016_activity_audience;
mod m20261204_000017_boards;

/// Every migration, in the order it is applied.
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261123_000001_accounts::Migration),
            Box::new(m20261123_000002_workflows::Migration),
            Box::new(m20261123_000003_workflow_graph::Migration),
            Box::new(m20261123_000004_workflow_versions::Migration),
            Box::new(m20261123_000005_engine::Migration),
            Box::new(m20261130_000006_triggers::Migration),
            Box::new(m20261130_000007_credentials::Migration),
            Box::new(m20261130_000008_policies::Migration),
            Box::new(m20261130_000009_approvals::Migration),
            Box::new(m20261130_000010_error_workflows::Migration),
            Box::new(m20261130_000011_pinned_data::Migration),
            Box::new(m20261201_000012_parked_runs::Migration),
            Box::new(m20261201_000013_credential_hosts::Migration),
            Box::new(m20261201_000014_hashed_sessions::Migration),
            Box::new(m20261201_000015_activities::Migration),
            Box::new(m20261201_000016_activity_audience::Migration),
            Box::new(m20261204_000017_boards::Migration),
        ]
    }
}
