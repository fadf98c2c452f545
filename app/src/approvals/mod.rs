//! Approvals: approval steps wait for named members of the workspace; each approver gets an
//! in-app notification (and an email when SMTP is set up) and decides on the Approvals page, with
//! a comment.

pub mod api;
pub mod model;
mod page;
#[cfg(feature = "ssr")]
pub mod service;

pub use page::ApprovalsPage;
