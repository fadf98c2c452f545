//! The tenant guard: every server function and HTTP route resolves the signed-in user and their
//! membership here. Non-members get `NotFound`, so a workspace's existence does not leak.

use leptos::prelude::use_context;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use tower_sessions::Session;
use uuid::Uuid;

use crate::entities::{users, workspace_members};
use crate::error::AppError;
use crate::state::AppState;
use crate::workspaces::model::{Flags, Permission, Role, allows};

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
    pub user: users::Model,
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
    pub async fn user_opt(&self) -> Result<Option<users::Model>, AppError> {
        let Some(id) = self.session.get::<Uuid>(USER_KEY).await.map_err(AppError::internal)? else {
            return Ok(None);
        };
        let user = users::Entity::find_by_id(id).one(self.db()).await?.filter(|u| u.status == "active");
        if user.is_none() {
            // The account is gone or was deactivated: end the session instead of bouncing between
            // pages that see a user id and pages that see no user.
            self.session.flush().await.map_err(AppError::internal)?;
        }
        Ok(user)
    }

    /// The signed-in user, or `Unauthorized`.
    pub async fn user(&self) -> Result<users::Model, AppError> {
        self.user_opt().await?.ok_or(AppError::Unauthorized)
    }

    /// The signed-in user's membership in `workspace_id`, if it grants `permission`.
    pub async fn require(&self, workspace_id: Uuid, permission: Permission) -> Result<Membership, AppError> {
        let user = self.user().await?;
        let member = workspace_members::Entity::find()
            .filter(workspace_members::Column::WorkspaceId.eq(workspace_id))
            .filter(workspace_members::Column::UserId.eq(user.id))
            .filter(workspace_members::Column::Status.eq("active"))
            .one(self.db())
            .await?
            .ok_or(AppError::NotFound)?;
        let membership = Membership::from_row(user, &member)?;
        if !allows(membership.role, &membership.flags, permission) {
            return Err(AppError::forbidden(denied_message(permission)));
        }
        Ok(membership)
    }
}

impl Membership {
    fn from_row(user: users::Model, m: &workspace_members::Model) -> Result<Self, AppError> {
        let role = Role::parse(&m.role).ok_or_else(|| AppError::internal(format!("unknown role {:?}", m.role)))?;
        Ok(Membership { workspace_id: m.workspace_id, user, role, flags: flags_of(m) })
    }
}

/// The flags stored on a member row.
pub fn flags_of(m: &workspace_members::Model) -> Flags {
    Flags {
        can_query: m.can_query,
        can_view_sources: m.can_view_sources,
        can_invite: m.can_invite,
        can_manage_sync: m.can_manage_sync,
        can_edit_settings: m.can_edit_settings,
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
