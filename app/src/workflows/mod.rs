//! Workflows: designed on a canvas, run by the engine. This slice is the list.

pub mod api;
mod list;
pub mod model;
#[cfg(feature = "ssr")]
pub mod service;

pub use list::WorkflowsPage;
