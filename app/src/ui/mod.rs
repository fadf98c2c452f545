//! Shared widgets: the app shell, toasts, form helpers, the 404 page.

pub mod form;
pub mod not_found;
pub mod shell;
pub mod toast;
