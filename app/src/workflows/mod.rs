//! Workflows: designed on a canvas, run by the engine.

pub mod api;
#[cfg(feature = "ssr")]
pub(crate) mod check;
pub(crate) mod editor;
pub mod graph;
pub mod kinds;
mod list;
pub mod model;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod transfer;
#[cfg(feature = "ssr")]
pub mod triggers;

pub use editor::EditorPage;
pub use list::WorkflowsPage;
