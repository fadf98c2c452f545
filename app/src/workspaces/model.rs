//! Workspace types the browser sees, and the permission rule shared by the guard and the UI.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A member's role in a workspace, strongest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    Member,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Member, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
            Role::Viewer => "viewer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Owner => "Owner",
            Role::Admin => "Admin",
            Role::Member => "Member",
            Role::Viewer => "Viewer",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == value)
    }

    /// Owners and admins manage the workspace; their flags are implied.
    pub fn is_manager(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// The flags a member gets when given this role.
    pub fn default_flags(self) -> Flags {
        let manager = self.is_manager();
        Flags {
            can_query: true,
            can_view_sources: true,
            can_invite: manager,
            can_manage_sync: manager,
            can_edit_settings: manager,
        }
    }
}

/// The permission flags of seed 002, stored per member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Flags {
    pub can_query: bool,
    pub can_view_sources: bool,
    pub can_invite: bool,
    pub can_manage_sync: bool,
    pub can_edit_settings: bool,
}

/// A flag an admin can grant a member, by its stored name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Flag {
    CanQuery,
    CanViewSources,
    CanInvite,
    CanManageSync,
    CanEditSettings,
}

impl Flag {
    pub const ALL: [Flag; 5] =
        [Flag::CanQuery, Flag::CanViewSources, Flag::CanInvite, Flag::CanManageSync, Flag::CanEditSettings];

    pub fn label(self) -> &'static str {
        match self {
            Flag::CanQuery => "Query",
            Flag::CanViewSources => "View sources",
            Flag::CanInvite => "Invite",
            Flag::CanManageSync => "Manage sync",
            Flag::CanEditSettings => "Edit settings",
        }
    }

    /// Flags that let a person change things; viewers never hold them.
    pub fn is_write(self) -> bool {
        matches!(self, Flag::CanInvite | Flag::CanManageSync | Flag::CanEditSettings)
    }

    pub fn get(self, flags: &Flags) -> bool {
        match self {
            Flag::CanQuery => flags.can_query,
            Flag::CanViewSources => flags.can_view_sources,
            Flag::CanInvite => flags.can_invite,
            Flag::CanManageSync => flags.can_manage_sync,
            Flag::CanEditSettings => flags.can_edit_settings,
        }
    }

    pub fn set(self, flags: &mut Flags, value: bool) {
        let slot = match self {
            Flag::CanQuery => &mut flags.can_query,
            Flag::CanViewSources => &mut flags.can_view_sources,
            Flag::CanInvite => &mut flags.can_invite,
            Flag::CanManageSync => &mut flags.can_manage_sync,
            Flag::CanEditSettings => &mut flags.can_edit_settings,
        };
        *slot = value;
    }
}

/// What a server function asks the guard for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read the workspace.
    View,
    /// Change content (boards, workflows, events): every role but viewer.
    Edit,
    Invite,
    ManageMembers,
    EditSettings,
    ManageSync,
}

/// The one rule: may a member with `role` and `flags` do `permission`?
pub fn allows(role: Role, flags: &Flags, permission: Permission) -> bool {
    let granted = |flag: bool| role.is_manager() || (role == Role::Member && flag);
    match permission {
        Permission::View => true,
        Permission::Edit => role != Role::Viewer,
        Permission::ManageMembers => role.is_manager(),
        Permission::Invite => granted(flags.can_invite),
        Permission::EditSettings => granted(flags.can_edit_settings),
        Permission::ManageSync => granted(flags.can_manage_sync),
    }
}

/// A workspace in the switcher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceSummary {
    pub id: Uuid,
    pub name: String,
    pub role: Role,
}

/// A workspace as its member sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceView {
    pub id: Uuid,
    /// The signed-in member's own user id.
    pub me: Uuid,
    pub name: String,
    pub role: Role,
    pub flags: Flags,
    pub member_count: u64,
    pub pending_invitations: u64,
    pub created_at: DateTime<Utc>,
}

impl WorkspaceView {
    pub fn can(&self, permission: Permission) -> bool {
        allows(self.role, &self.flags, permission)
    }
}

/// A row of the members page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
    pub flags: Flags,
    pub joined_at: DateTime<Utc>,
}

/// A pending invitation, as listed to those who may invite.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: Uuid,
    pub role: Role,
    pub email: Option<String>,
    pub invited_by: String,
    pub expires_at: DateTime<Utc>,
}

/// A freshly created invitation: the only time its link is shown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedInvitation {
    pub id: Uuid,
    pub path: String,
    pub expires_at: DateTime<Utc>,
}

/// What an invitation link's visitor is told before joining.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InvitationInfo {
    pub workspace_name: String,
    pub role: Role,
    pub invited_by: String,
    pub email: Option<String>,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn viewers_only_view() {
        let flags = Flags { can_invite: true, can_edit_settings: true, ..Role::Viewer.default_flags() };
        assert!(allows(Role::Viewer, &flags, Permission::View));
        for p in [Permission::Edit, Permission::Invite, Permission::EditSettings, Permission::ManageMembers] {
            assert!(!allows(Role::Viewer, &flags, p), "{p:?}");
        }
    }

    #[test]
    fn members_need_flags() {
        let plain = Role::Member.default_flags();
        assert!(allows(Role::Member, &plain, Permission::Edit));
        assert!(!allows(Role::Member, &plain, Permission::Invite));
        let inviter = Flags { can_invite: true, ..plain };
        assert!(allows(Role::Member, &inviter, Permission::Invite));
        assert!(!allows(Role::Member, &inviter, Permission::ManageMembers));
    }

    #[test]
    fn managers_have_everything() {
        for role in [Role::Owner, Role::Admin] {
            let none = Flags::default();
            for p in [Permission::Invite, Permission::EditSettings, Permission::ManageSync, Permission::ManageMembers] {
                assert!(allows(role, &none, p), "{role:?} {p:?}");
            }
        }
    }

    #[test]
    fn roles_round_trip_and_order() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert!(Role::Owner < Role::Viewer);
        assert_eq!(Role::parse("god"), None);
    }
}
