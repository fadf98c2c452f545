//! The tenant guard: every server function and HTTP route resolves the signed-in user and their
//! membership here. Non-members get `NotFound`, so a workspace's existence does not leak.

use leptos::prelude::use_context;
use tower_sessions::Session;
use uuid::Uuid;

use crate::auth::service::{User, active_user};
use crate::error::AppError;
use crate::state::AppState;
use crate::workspaces::model::{Flags, Permission, Role, allows};
use crate::workspaces::service::active_membership;

/// The session key holding the signed-in user's id.
pub const USER_KEY: &str = "user_id";

/// Request context of a server function: shared state and the browser's session.
pub struct Ctx {
    pub state: AppState,
    pub session: Session,
}

/// A signed-in user's active membership in one workspace.
#[derive(Debug, Clone)]
pub struct Membership {
    pub workspace_id: Uuid,
    pub user: User,
    pub role: Role,
    pub flags: Flags,
}

impl Ctx {
    /// Collects state and session; fails only if the host was wired wrongly.
    pub async fn load() -> Result<Ctx, AppError> {
        let state = use_context::<AppState>().ok_or_else(|| AppError::internal("AppState missing from context"))?;
        let session = leptos_axum::extract::<Session>().await.map_err(AppError::internal)?;
        Ok(Ctx { state, session })
    }

    pub fn db(&self) -> &sea_orm::DatabaseConnection {
        &self.state.db
    }

    /// The signed-in user, if any (and still active).
    pub async fn user_opt(&self) -> Result<Option<User>, AppError> {
        let Some(id) = self.session.get::<Uuid>(USER_KEY).await.map_err(AppError::internal)? else {
            return Ok(None);
        };
        let user = active_user(self.db(), id).await?;
        if user.is_none() {
            // The account is gone or was deactivated: end the session instead of bouncing between
            // pages that see a user id and pages that see no user.
            self.session.flush().await.map_err(AppError::internal)?;
        }
        Ok(user)
    }

    /// The signed-in user, or `Unauthorized`.
    pub async fn user(&self) -> Result<User, AppError> {
        self.user_opt().await?.ok_or(AppError::Unauthorized)
    }

    /// The signed-in user's membership in `workspace_id`, if it grants `permission`.
    pub async fn require(&self, workspace_id: Uuid, permission: Permission) -> Result<Membership, AppError> {
        let user = self.user().await?;
        let (role, flags) = active_membership(self.db(), workspace_id, user.id).await?.ok_or(AppError::NotFound)?;
        let membership = Membership { workspace_id, user, role, flags };
        if !allows(membership.role, &membership.flags, permission) {
            return Err(AppError::forbidden(denied_message(permission)));
        }
        Ok(membership)
    }
}

fn denied_message(permission: Permission) -> &'static str {
    match permission {
        Permission::View => "You cannot view this workspace.",
        Permission::Edit => "Viewers cannot make changes in this workspace.",
        Permission::Invite => "You are not allowed to invite people to this workspace.",
        Permission::ManageMembers => "Only owners and admins can manage members.",
        Permission::EditSettings => "You are not allowed to change this workspace's settings.",
        Permission::ManageSync => "You are not allowed to manage sync for this workspace.",
    }
}
