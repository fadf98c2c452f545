//! Integration tests: the real router on an ephemeral port, driven over HTTP like a browser.
//! Every test runs on SQLite, and also on PostgreSQL when `TEST_DATABASE_URL` is set.

mod helpers;

mod actions;
mod approvals;
mod auth;
mod boards;
mod designer;
mod engine;
mod security;
mod stream;
mod triggers;
mod workflows;
mod workspaces;
