//! Paths of the signed-in app.

use uuid::Uuid;

/// The workspace id in a `/w/<id>/…` path.
pub fn workspace_in_path(path: &str) -> Option<Uuid> {
    path.strip_prefix("/w/")?.split('/').next()?.parse().ok()
}
