//! Credentials: named secrets of a workspace (API keys, tokens) that steps use by name. Values
//! are sealed at rest and never sent back to the browser: the list shows names and dates only.

pub mod api;
pub mod model;
mod page;
#[cfg(feature = "ssr")]
pub mod service;

pub use page::CredentialsSection;
