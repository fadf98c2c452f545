//! Task boards (seed 003): projects and their tasks on a kanban board, live for every viewer.

pub mod api;
mod board;
mod detail;
#[cfg(feature = "ssr")]
pub mod markdown;
pub mod model;
mod projects;
#[cfg(feature = "ssr")]
pub mod service;
mod views;

pub use board::BoardPage;
pub use projects::ProjectsPage;
