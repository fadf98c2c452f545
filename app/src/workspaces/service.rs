//! Workspaces, members and invitations. Callers pass a `Membership` from the guard; the rules
//! about who may change whom live here.

use base64::Engine;
use chrono::{Duration, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, IntoActiveModel, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Set, SqlErr,
};
use uuid::Uuid;

use crate::auth::service::User;
use crate::db::Db;
use crate::entities::{invitations, workspace_members, workspaces};
use crate::error::{AppError, OrNotFound};
use crate::guard::Membership;
use crate::workspaces::model::{
    CreatedInvitation, Flag, Flags, InvitationInfo, InvitationView, MemberView, Permission, Role, WorkspaceSummary,
    WorkspaceView, allows,
};
use crate::{auth, validate};

fn member_row(workspace_id: Uuid, user_id: Uuid, role: Role) -> workspace_members::ActiveModel {
    let mut row = workspace_members::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(workspace_id),
        user_id: Set(user_id),
        role: Set(role.as_str().into()),
        status: Set(workspace_members::MemberStatus::Active),
        joined_at: Set(Utc::now()),
        ..Default::default()
    };
    set_flags(&mut row, role.default_flags());
    row
}

/// Creates a workspace owned by `owner`; run it inside the caller's transaction.
pub async fn create_workspace(
    db: &impl ConnectionTrait,
    owner: Uuid,
    name: &str,
) -> Result<workspaces::Model, AppError> {
    let name = validate::workspace_name("name", name)?;
    let now = Utc::now();
    let workspace = workspaces::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name),
        created_by: Set(owner),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    member_row(workspace.id, owner, Role::Owner).insert(db).await?;
    Ok(workspace)
}

/// Creates a workspace and makes it the user's current one.
pub async fn create_for_user(db: &impl Db, user: &User, name: &str) -> Result<workspaces::Model, AppError> {
    let txn = crate::db::begin_write(db).await?;
    let workspace = create_workspace(&txn, user.id, name).await?;
    auth::service::remember_workspace(&txn, user, workspace.id).await?;
    txn.commit().await?;
    Ok(workspace)
}

/// The workspaces a user is an active member of, by name.
pub async fn list_for_user(db: &impl Db, user_id: Uuid) -> Result<Vec<WorkspaceSummary>, AppError> {
    let rows = workspace_members::Entity::find()
        .filter(workspace_members::Column::UserId.eq(user_id))
        .filter(workspace_members::Column::Status.eq(workspace_members::MemberStatus::Active))
        .find_also_related(workspaces::Entity)
        .all(db)
        .await?;
    let mut list: Vec<WorkspaceSummary> = rows
        .into_iter()
        .filter_map(|(m, w)| {
            let w = w?;
            Some(WorkspaceSummary { id: w.id, name: w.name, role: Role::parse(&m.role)? })
        })
        .collect();
    list.sort_by_key(|w| w.name.to_lowercase());
    Ok(list)
}

fn active_members(workspace_id: Uuid) -> sea_orm::Select<workspace_members::Entity> {
    workspace_members::Entity::find()
        .filter(workspace_members::Column::WorkspaceId.eq(workspace_id))
        .filter(workspace_members::Column::Status.eq(workspace_members::MemberStatus::Active))
}

/// The flags stored on a member row.
fn flags_of(m: &workspace_members::Model) -> Flags {
    Flags {
        can_query: m.can_query,
        can_view_sources: m.can_view_sources,
        can_invite: m.can_invite,
        can_manage_sync: m.can_manage_sync,
        can_edit_settings: m.can_edit_settings,
    }
}

/// `user_id`'s role and flags in `workspace_id`, if they are an active member (the guard's check).
pub async fn active_membership(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    user_id: Uuid,
) -> Result<Option<(Role, Flags)>, AppError> {
    let member = active_members(workspace_id).filter(workspace_members::Column::UserId.eq(user_id)).one(db).await?;
    let Some(m) = member else {
        return Ok(None);
    };
    let role = Role::parse(&m.role).ok_or_else(|| AppError::internal(format!("unknown role {:?}", m.role)))?;
    Ok(Some((role, flags_of(&m))))
}

fn pending_invitations(workspace_id: Uuid) -> sea_orm::Select<invitations::Entity> {
    invitations::Entity::find()
        .filter(invitations::Column::WorkspaceId.eq(workspace_id))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .filter(invitations::Column::ExpiresAt.gt(Utc::now()))
}

/// The workspace as `me` sees it.
pub async fn view(db: &impl Db, me: &Membership) -> Result<WorkspaceView, AppError> {
    let w = workspaces::Entity::find_by_id(me.workspace_id).one(db).await?.or_not_found()?;
    Ok(WorkspaceView {
        id: w.id,
        me: me.user.id,
        name: w.name,
        role: me.role,
        flags: me.flags,
        member_count: active_members(w.id).count(db).await?,
        pending_invitations: pending_invitations(w.id).count(db).await?,
        created_at: w.created_at,
    })
}

/// Renames the workspace.
pub async fn rename(db: &impl Db, me: &Membership, name: &str) -> Result<(), AppError> {
    let name = validate::workspace_name("name", name)?;
    let w = workspaces::Entity::find_by_id(me.workspace_id).one(db).await?.or_not_found()?;
    let mut active = w.into_active_model();
    active.name = Set(name);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}

/// Active members with their accounts, owners first; a member whose account is gone is left out.
pub async fn members(db: &impl Db, workspace_id: Uuid) -> Result<Vec<MemberView>, AppError> {
    let rows = active_members(workspace_id).all(db).await?;
    let people = auth::service::contacts(db, rows.iter().map(|m| m.user_id)).await?;
    let mut list: Vec<MemberView> = rows
        .into_iter()
        .filter_map(|m| {
            let u = people.get(&m.user_id)?;
            Some(MemberView {
                user_id: m.user_id,
                name: u.name.clone(),
                email: u.email.clone(),
                role: Role::parse(&m.role)?,
                flags: flags_of(&m),
                joined_at: m.joined_at,
            })
        })
        .collect();
    list.sort_by(|a, b| a.role.cmp(&b.role).then_with(|| a.name.to_lowercase().cmp(&b.name.to_lowercase())));
    Ok(list)
}

async fn target_member(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    user_id: Uuid,
) -> Result<workspace_members::Model, AppError> {
    active_members(workspace_id).filter(workspace_members::Column::UserId.eq(user_id)).one(db).await?.or_not_found()
}

async fn owner_count(db: &impl ConnectionTrait, workspace_id: Uuid) -> Result<u64, AppError> {
    Ok(active_members(workspace_id).filter(workspace_members::Column::Role.eq(Role::Owner.as_str())).count(db).await?)
}

/// Only owners touch owners; admins manage everyone else.
fn may_manage(my_role: Role, target: Role) -> Result<(), AppError> {
    if target == Role::Owner && my_role != Role::Owner {
        return Err(AppError::forbidden("Only an owner can change or remove another owner."));
    }
    Ok(())
}

fn set_flags(active: &mut workspace_members::ActiveModel, flags: Flags) {
    active.can_query = Set(flags.can_query);
    active.can_view_sources = Set(flags.can_view_sources);
    active.can_invite = Set(flags.can_invite);
    active.can_manage_sync = Set(flags.can_manage_sync);
    active.can_edit_settings = Set(flags.can_edit_settings);
}

/// Opens a write transaction on a workspace's membership: concurrent changes to its members run
/// one after another (row lock on PostgreSQL, IMMEDIATE transaction on SQLite), and the caller's
/// role is read again inside it, so two owners demoting each other cannot leave none.
async fn lock_members(db: &impl Db, me: &Membership) -> Result<(DatabaseTransaction, Role), AppError> {
    let txn = crate::db::begin_write(db).await?;
    workspaces::Entity::find_by_id(me.workspace_id).lock_exclusive().one(&txn).await?.or_not_found()?;
    let mine = target_member(&txn, me.workspace_id, me.user.id).await?;
    let role = Role::parse(&mine.role).or_not_found()?;
    Ok((txn, role))
}

/// Gives a member a new role; their flags reset to the role's defaults.
pub async fn set_role(db: &impl Db, me: &Membership, user_id: Uuid, role: Role) -> Result<(), AppError> {
    let (txn, my_role) = lock_members(db, me).await?;
    if !my_role.is_manager() {
        return Err(AppError::forbidden("Only owners and admins can manage members."));
    }
    if role == Role::Owner && my_role != Role::Owner {
        return Err(AppError::forbidden("Only an owner can make someone an owner."));
    }
    let target = target_member(&txn, me.workspace_id, user_id).await?;
    let current = Role::parse(&target.role).or_not_found()?;
    may_manage(my_role, current)?;
    if current == Role::Owner && role != Role::Owner && owner_count(&txn, me.workspace_id).await? <= 1 {
        return Err(AppError::conflict("A workspace needs at least one owner. Make someone else an owner first."));
    }
    let mut active = target.into_active_model();
    active.role = Set(role.as_str().into());
    set_flags(&mut active, role.default_flags());
    active.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Grants or withdraws one flag. Owners and admins hold every flag; viewers hold no write flag.
pub async fn set_flag(db: &impl Db, me: &Membership, user_id: Uuid, flag: Flag, value: bool) -> Result<(), AppError> {
    let (txn, my_role) = lock_members(db, me).await?;
    if !my_role.is_manager() {
        return Err(AppError::forbidden("Only owners and admins can manage members."));
    }
    let target = target_member(&txn, me.workspace_id, user_id).await?;
    let role = Role::parse(&target.role).or_not_found()?;
    if role.is_manager() {
        return Err(AppError::validation("flag", "Owners and admins always have every permission."));
    }
    if role == Role::Viewer && flag.is_write() && value {
        return Err(AppError::validation("flag", "Viewers are read-only. Make them a member first."));
    }
    let mut flags = flags_of(&target);
    flag.set(&mut flags, value);
    let mut active = target.into_active_model();
    set_flags(&mut active, flags);
    active.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// Removes a member (or lets a member leave). The last owner can neither be removed nor leave.
pub async fn remove_member(db: &impl Db, me: &Membership, user_id: Uuid) -> Result<(), AppError> {
    let leaving = user_id == me.user.id;
    let (txn, my_role) = lock_members(db, me).await?;
    if !leaving && !my_role.is_manager() {
        return Err(AppError::forbidden("Only owners and admins can remove members."));
    }
    let target = target_member(&txn, me.workspace_id, user_id).await?;
    let role = Role::parse(&target.role).or_not_found()?;
    if !leaving {
        may_manage(my_role, role)?;
    }
    if role == Role::Owner && owner_count(&txn, me.workspace_id).await? <= 1 {
        return Err(AppError::conflict("The last owner cannot be removed. Make someone else an owner first."));
    }
    let mut active = target.into_active_model();
    active.status = Set(workspace_members::MemberStatus::Removed);
    active.update(&txn).await?;
    txn.commit().await?;
    Ok(())
}

const MAX_INVITE_DAYS: i64 = 30;

/// Creates a single-use invitation link with a role and an expiry.
pub async fn invite(
    db: &impl Db,
    me: &Membership,
    role: Role,
    days: i64,
    email: Option<&str>,
) -> Result<CreatedInvitation, AppError> {
    if role < me.role {
        return Err(AppError::forbidden(format!(
            "You cannot invite someone as {}: that is above your own role.",
            role.label()
        )));
    }
    if role == Role::Owner {
        return Err(AppError::validation(
            "role",
            "Invite as admin, member or viewer; promote to owner after they join.",
        ));
    }
    if !(1..=MAX_INVITE_DAYS).contains(&days) {
        return Err(AppError::validation("days", format!("An invitation lasts between 1 and {MAX_INVITE_DAYS} days.")));
    }
    let email = match email.map(str::trim).filter(|e| !e.is_empty()) {
        Some(e) => Some(validate::email(e)?),
        None => None,
    };
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>());
    let now = Utc::now();
    let row = invitations::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(me.workspace_id),
        token_hash: Set(crate::secrets::digest(&token)),
        role: Set(role.as_str().into()),
        email: Set(email),
        created_by: Set(me.user.id),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(days)),
        accepted_at: Set(None),
        accepted_by: Set(None),
        revoked_at: Set(None),
    }
    .insert(db)
    .await?;
    Ok(CreatedInvitation { id: row.id, path: format!("/invite/{token}"), expires_at: row.expires_at })
}

/// Pending invitations, newest first: all of them for owners and admins, one's own for others.
pub async fn invitations(db: &impl Db, me: &Membership) -> Result<Vec<InvitationView>, AppError> {
    let mut query = pending_invitations(me.workspace_id);
    if !me.role.is_manager() {
        query = query.filter(invitations::Column::CreatedBy.eq(me.user.id));
    }
    let rows = query.order_by_desc(invitations::Column::CreatedAt).all(db).await?;
    let senders = auth::service::names(db, rows.iter().map(|r| r.created_by)).await?;
    Ok(rows
        .into_iter()
        .map(|row| InvitationView {
            id: row.id,
            role: Role::parse(&row.role).unwrap_or(Role::Viewer),
            invited_by: senders.of(row.created_by),
            email: row.email,
            expires_at: row.expires_at,
        })
        .collect())
}

/// Withdraws a pending invitation.
pub async fn revoke_invitation(db: &impl Db, me: &Membership, id: Uuid) -> Result<(), AppError> {
    let row = invitations::Entity::find_by_id(id)
        .filter(invitations::Column::WorkspaceId.eq(me.workspace_id))
        .one(db)
        .await?
        .or_not_found()?;
    if row.created_by != me.user.id && !me.role.is_manager() {
        return Err(AppError::forbidden("Only its sender, an owner or an admin can withdraw this invitation."));
    }
    let mut active = row.into_active_model();
    active.revoked_at = Set(Some(Utc::now()));
    active.update(db).await?;
    Ok(())
}

/// The usable invitation behind a link's token, or why it cannot be used.
async fn usable_invitation(db: &impl ConnectionTrait, token: &str) -> Result<invitations::Model, AppError> {
    let row = invitations::Entity::find()
        .filter(invitations::Column::TokenHash.eq(crate::secrets::digest(token.trim())))
        .one(db)
        .await?
        .ok_or_else(|| AppError::validation("token", "This invitation link is not valid. Ask for a new one."))?;
    if row.accepted_at.is_some() {
        return Err(AppError::conflict("This invitation has already been used. Ask for a new one."));
    }
    if row.revoked_at.is_some() {
        return Err(AppError::conflict("This invitation was withdrawn. Ask for a new one."));
    }
    if row.expires_at <= Utc::now() {
        return Err(AppError::conflict("This invitation has expired. Ask for a new one."));
    }
    // A link carries its sender's authority: it stops working when they could no longer create it.
    let sender = workspace_members::Entity::find()
        .filter(workspace_members::Column::WorkspaceId.eq(row.workspace_id))
        .filter(workspace_members::Column::UserId.eq(row.created_by))
        .filter(workspace_members::Column::Status.eq(workspace_members::MemberStatus::Active))
        .one(db)
        .await?;
    let still_allowed = sender.is_some_and(|m| {
        let (sender_role, invited) = (Role::parse(&m.role), Role::parse(&row.role));
        matches!((sender_role, invited), (Some(s), Some(r)) if r >= s && allows(s, &flags_of(&m), Permission::Invite))
    });
    if !still_allowed {
        return Err(AppError::conflict(
            "This invitation is no longer valid: the person who sent it can no longer invite. Ask for a new one.",
        ));
    }
    Ok(row)
}

/// What the invitation offers, for its landing page.
pub async fn invitation_info(db: &impl Db, token: &str) -> Result<InvitationInfo, AppError> {
    let row = usable_invitation(db, token).await?;
    let workspace = workspaces::Entity::find_by_id(row.workspace_id).one(db).await?.or_not_found()?;
    Ok(InvitationInfo {
        workspace_name: workspace.name,
        role: Role::parse(&row.role).unwrap_or(Role::Viewer),
        invited_by: auth::service::names(db, [row.created_by]).await?.of(row.created_by),
        email: row.email,
        expires_at: row.expires_at,
    })
}

/// Uses the invitation for `user` inside the caller's transaction: marks it used (exactly once,
/// even under concurrent accepts) and adds or reactivates the membership.
pub async fn accept_invitation(db: &impl ConnectionTrait, token: &str, user: &User) -> Result<Uuid, AppError> {
    let row = usable_invitation(db, token).await?;
    if let Some(email) = &row.email
        && *email != user.email
    {
        return Err(AppError::forbidden(format!("This invitation is for {email}. Sign in with that account.")));
    }
    let claimed = invitations::Entity::update_many()
        .col_expr(invitations::Column::AcceptedAt, sea_orm::sea_query::Expr::value(Utc::now()))
        .col_expr(invitations::Column::AcceptedBy, sea_orm::sea_query::Expr::value(user.id))
        .filter(invitations::Column::Id.eq(row.id))
        .filter(invitations::Column::AcceptedAt.is_null())
        .filter(invitations::Column::RevokedAt.is_null())
        .filter(invitations::Column::ExpiresAt.gt(Utc::now()))
        .exec(db)
        .await?;
    if claimed.rows_affected != 1 {
        return Err(AppError::conflict("This invitation has already been used. Ask for a new one."));
    }
    let role = Role::parse(&row.role).unwrap_or(Role::Viewer);
    let existing = workspace_members::Entity::find()
        .filter(workspace_members::Column::WorkspaceId.eq(row.workspace_id))
        .filter(workspace_members::Column::UserId.eq(user.id))
        .one(db)
        .await?;
    match existing {
        Some(m) if m.status == workspace_members::MemberStatus::Active => {
            return Err(AppError::conflict("You are already a member of this workspace."));
        }
        Some(m) => {
            let fresh = member_row(row.workspace_id, user.id, role);
            let mut active = fresh;
            active.id = Set(m.id);
            active.update(db).await?;
        }
        None => {
            member_row(row.workspace_id, user.id, role).insert(db).await.map_err(|e| match e.sql_err() {
                Some(SqlErr::UniqueConstraintViolation(_)) => {
                    AppError::conflict("You are already a member of this workspace.")
                }
                _ => e.into(),
            })?;
        }
    }
    auth::service::remember_workspace(db, user, row.workspace_id).await?;
    Ok(row.workspace_id)
}
