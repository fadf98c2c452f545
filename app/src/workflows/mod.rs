//! Workflows: designed on a canvas, run by the engine.

pub mod api;
#[cfg(feature = "ssr")]
mod check;
pub mod graph;
pub mod kinds;
mod list;
pub mod model;
#[cfg(feature = "ssr")]
pub mod service;

pub use list::WorkflowsPage;
