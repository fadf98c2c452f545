//! SeaORM entities, one file a table. Only the owning area's `service.rs` touches them.

pub mod activities;
pub mod activity_cursors;
pub mod approvals;
pub mod credentials;
pub mod execution_steps;
pub mod instance_settings;
pub mod invitations;
pub mod notifications;
pub mod project_favorites;
pub mod project_members;
pub mod projects;
pub mod sessions;
pub mod tasks;
pub mod users;
pub mod webhooks;
pub mod workflow_data;
pub mod workflow_executions;
pub mod workflow_steps;
pub mod workflow_transitions;
pub mod workflow_triggers;
pub mod workflow_versions;
pub mod workflows;
pub mod workspace_members;
pub mod workspaces;
