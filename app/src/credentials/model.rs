//! Credential types the browser sees: never the value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CredentialView {
    pub id: Uuid,
    pub name: String,
    pub created_by: String,
    pub updated_at: DateTime<Utc>,
}
