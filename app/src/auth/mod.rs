//! Accounts: sign-in, first-run setup, sign-up, profile and password.

pub mod api;
pub mod model;
mod pages;
#[cfg(feature = "ssr")]
pub mod password;
mod profile;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session_store;
pub mod viewer;

pub use pages::{AccountFields, AuthFrame, LoginPage, SetupPage, SignupPage};
pub use profile::ProfilePage;
