//! Credentials of a workspace: list (names and hosts only), create, replace the value, bind to
//! hosts, delete, and read one for a step (`reveal`, server-side only). A step may send a
//! credential only to the hosts it is bound to, so whoever may edit workflows can't point a step
//! at a server of theirs and read the value back.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter,
    QueryOrder,
};
use uuid::Uuid;

use crate::auth;
use crate::credentials::model::{CredentialView, host_allowed};
use crate::db::Db;
use crate::entities::credentials;
use crate::error::{AppError, OrNotFound};
use crate::guard::Membership;
use crate::secrets::Sealer;
use crate::validate;

const NAME_MAX: usize = 80;
const VALUE_MAX: usize = 8 * 1024;
/// Hosts one credential may be bound to.
const HOSTS_MAX: usize = 20;

/// The workspace's credentials by name.
pub async fn list(db: &impl Db, me: &Membership) -> Result<Vec<CredentialView>, AppError> {
    let rows = credentials::Entity::find()
        .filter(credentials::Column::WorkspaceId.eq(me.workspace_id))
        .order_by_asc(credentials::Column::Name)
        .all(db)
        .await?;
    let names = auth::service::names(db, rows.iter().map(|c| c.created_by)).await?;
    Ok(rows
        .into_iter()
        .map(|c| CredentialView {
            id: c.id,
            created_by: names.of(c.created_by),
            hosts: split_hosts(&c.hosts),
            name: c.name,
            updated_at: c.updated_at,
        })
        .collect())
}

fn split_hosts(stored: &str) -> Vec<String> {
    stored.lines().map(str::to_owned).collect()
}

/// Host names (one a line, or separated by commas or spaces), lower case, each a DNS name or
/// `*.` and one; at least one.
fn hosts(text: &str) -> Result<String, AppError> {
    let invalid = |m: String| AppError::validation("hosts", m);
    let mut list: Vec<String> = Vec::new();
    for item in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|i| !i.is_empty()) {
        let host = item.trim_end_matches('.').to_ascii_lowercase();
        let name = host.strip_prefix("*.").unwrap_or(&host);
        // A wildcard covers the subdomains of one domain (`*.example.com`), never of a TLD.
        let wildcard_ok = !host.starts_with("*.") || name.contains('.');
        let valid = wildcard_ok
            && !name.is_empty()
            && name.len() <= 253
            && name
                .split('.')
                .all(|l| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !valid {
            return Err(invalid(format!("“{item}” is not a host name (like api.openai.com or *.example.com).")));
        }
        if !list.contains(&host) {
            list.push(host);
        }
    }
    if list.is_empty() {
        return Err(invalid("Name at least one host the credential may be sent to.".into()));
    }
    if list.len() > HOSTS_MAX {
        return Err(invalid(format!("At most {HOSTS_MAX} hosts.")));
    }
    Ok(list.join("\n"))
}

fn value(value: &str) -> Result<&str, AppError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(AppError::validation("value", "The secret value is required."));
    }
    if value.len() > VALUE_MAX {
        return Err(AppError::validation("value", "The secret value must be at most 8 KiB."));
    }
    Ok(value)
}

/// Stores a new credential; its name must be free in the workspace.
pub async fn create(
    db: &impl Db,
    sealer: &Sealer,
    me: &Membership,
    name: &str,
    secret: &str,
    bound_to: &str,
) -> Result<Uuid, AppError> {
    let name = validate::bounded("name", "Name", name, NAME_MAX)?;
    let secret = value(secret)?;
    let hosts = hosts(bound_to)?;
    let taken = credentials::Entity::find()
        .filter(credentials::Column::WorkspaceId.eq(me.workspace_id))
        .filter(credentials::Column::Name.eq(&name))
        .one(db)
        .await?;
    if taken.is_some() {
        return Err(AppError::validation("name", format!("A credential named “{name}” exists already.")));
    }
    let now = Utc::now();
    let id = Uuid::now_v7();
    credentials::ActiveModel {
        id: Set(id),
        workspace_id: Set(me.workspace_id),
        name: Set(name),
        value: Set(sealer.seal(secret)),
        hosts: Set(hosts),
        created_by: Set(me.user.id),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(db)
    .await?;
    Ok(id)
}

async fn find(db: &impl Db, me: &Membership, id: Uuid) -> Result<credentials::Model, AppError> {
    credentials::Entity::find_by_id(id)
        .filter(credentials::Column::WorkspaceId.eq(me.workspace_id))
        .one(db)
        .await?
        .or_not_found()
}

/// Replaces a credential's value (rotation); steps use the new one from their next run.
pub async fn replace(db: &impl Db, sealer: &Sealer, me: &Membership, id: Uuid, secret: &str) -> Result<(), AppError> {
    let secret = value(secret)?;
    let mut row = find(db, me, id).await?.into_active_model();
    row.value = Set(sealer.seal(secret));
    row.updated_at = Set(Utc::now());
    row.update(db).await?;
    Ok(())
}

/// Binds a credential to other hosts; steps use them from their next call.
pub async fn set_hosts(db: &impl Db, me: &Membership, id: Uuid, bound_to: &str) -> Result<(), AppError> {
    let hosts = hosts(bound_to)?;
    let mut row = find(db, me, id).await?.into_active_model();
    row.hosts = Set(hosts);
    row.updated_at = Set(Utc::now());
    row.update(db).await?;
    Ok(())
}

pub async fn delete(db: &impl Db, me: &Membership, id: Uuid) -> Result<(), AppError> {
    let row = find(db, me, id).await?;
    credentials::Entity::delete_by_id(row.id).exec(db).await?;
    Ok(())
}

/// A credential opened for a step: its value, and where it may go.
pub struct Secret {
    pub name: String,
    pub value: String,
    hosts: Vec<String>,
}

impl Secret {
    /// Whether the value may be sent to `host`; the error says where it may go instead.
    pub fn check_host(&self, host: &str) -> Result<(), String> {
        if host_allowed(&self.hosts, host) {
            return Ok(());
        }
        if self.hosts.is_empty() {
            return Err(format!(
                "The credential “{}” isn't bound to any host yet: someone who manages credentials names its hosts in Settings → Credentials.",
                self.name
            ));
        }
        Err(format!(
            "The credential “{}” may only be sent to {}, not to {host}. Someone who manages credentials can add the host in Settings → Credentials.",
            self.name,
            self.hosts.join(", ")
        ))
    }

    /// `text` with the value (should an answer echo it) replaced by the credential's name.
    pub fn redact(&self, text: &str) -> String {
        if self.value.len() < 4 || !text.contains(&self.value) {
            return text.to_owned();
        }
        text.replace(&self.value, &self.mark())
    }

    /// [`Secret::redact`] for text that was cut: the start of the value at its very end is
    /// masked too, so a cut through the value shows none of it.
    pub fn redact_cut(&self, text: &str) -> String {
        let mut text = self.redact(text);
        let longest = self.value.len().saturating_sub(1).min(text.len());
        if let Some(k) =
            (4..=longest).rev().find(|&k| self.value.is_char_boundary(k) && text.ends_with(&self.value[..k]))
        {
            text.truncate(text.len() - k);
            text.push_str(&self.mark());
        }
        text
    }

    fn mark(&self) -> String {
        format!("[credential “{}”]", self.name)
    }
}

/// The workspace's credential `name`, for a step; the error is the step's.
pub async fn reveal(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    workspace_id: Uuid,
    name: &str,
) -> Result<Secret, String> {
    let row = credentials::Entity::find()
        .filter(credentials::Column::WorkspaceId.eq(workspace_id))
        .filter(credentials::Column::Name.eq(name.trim()))
        .one(db)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "reading a credential");
            "The credential could not be read.".to_owned()
        })?
        .ok_or_else(|| format!("No credential named “{}” in this workspace (Settings → Credentials).", name.trim()))?;
    Ok(Secret { value: sealer.open(&row.value)?, hosts: split_hosts(&row.hosts), name: row.name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_redacted_also_where_text_was_cut() {
        let secret = Secret { name: "erp".into(), value: "sk-secret-erp".into(), hosts: Vec::new() };
        assert_eq!(secret.redact("Bearer sk-secret-erp!"), "Bearer [credential “erp”]!");
        assert_eq!(secret.redact_cut("…token sk-secr"), "…token [credential “erp”]");
        assert_eq!(secret.redact_cut("plain text"), "plain text");
        assert_eq!(secret.redact_cut("ends with sk-"), "ends with sk-", "three characters say nothing");
    }
}
