//! Workspaces: the tenant boundary. Members, roles, permission flags, invitations.

pub mod api;
mod invite;
pub(crate) mod layout;
mod members;
pub mod model;
mod pages;
#[cfg(feature = "ssr")]
pub mod service;

pub use invite::InvitePage;
pub use layout::{Overview, WorkspaceLayout};
pub use members::MembersPage;
pub use pages::{GeneralSettings, Home, NewWorkspacePage};
