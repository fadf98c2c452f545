//! Notifications: what the areas tell a person (an approval asked of them), shown in the top
//! bar's menu, newest first, and marked read when the menu opens.

pub mod api;
mod menu;
pub mod model;
#[cfg(feature = "ssr")]
pub mod service;

pub use menu::NotificationsMenu;

/// The activity each notification is recorded with (for its person's eyes only).
pub const CREATED: &str = "notification.created";
