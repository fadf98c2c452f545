//! The signed-in person as the pages inside the app's frame share them (the frame, at the crate
//! root, loads them once).

use leptos::prelude::*;

use crate::auth::model::Viewer;
use crate::error::AppError;

/// The signed-in person, shared by every page inside the shell.
#[derive(Clone, Copy)]
pub struct ShellData {
    pub viewer: Resource<Result<Option<Viewer>, AppError>>,
    /// Bump after a change the top bar shows (a new or renamed workspace, a new name).
    pub refresh: RwSignal<u32>,
}

pub fn use_shell() -> ShellData {
    expect_context::<ShellData>()
}
