//! The engine: runs of workflows, step by step, with their logs.

#[cfg(feature = "ssr")]
pub mod actions;
pub mod api;
mod approvals_page;
#[cfg(feature = "ssr")]
pub mod decisions;
mod designer;
#[cfg(feature = "ssr")]
pub mod failure;
#[cfg(feature = "ssr")]
pub mod hooks;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod limits;
pub mod live;
#[cfg(feature = "ssr")]
pub mod mail;
pub mod model;
#[cfg(feature = "ssr")]
pub mod outbox;
pub mod page;
#[cfg(feature = "ssr")]
pub mod plan;
pub mod report_page;
#[cfg(feature = "ssr")]
pub mod reports;
#[cfg(feature = "ssr")]
pub mod runner;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub(crate) mod template;
#[cfg(feature = "ssr")]
pub mod triggers;

pub use approvals_page::ApprovalsPage;
pub use designer::DesignerPage;
pub use page::RunsPage;
pub use report_page::ReportsPage;
