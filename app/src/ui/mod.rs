//! Shared widgets: toasts, form helpers, the 404 page, paths.

pub mod form;
pub mod not_found;
pub mod path;
pub mod toast;
