//! Approvals: approval steps wait for named members of the workspace; each approver gets an
//! in-app notification (and an email when SMTP is set up) and decides on the Approvals page, with
//! a comment.
//!
//! The page, its server functions and the decision (which wakes the parked run) are the
//! engine's: `engine::ApprovalsPage`, `engine::api`, `engine::decisions`.

pub mod model;
#[cfg(feature = "ssr")]
pub mod service;
