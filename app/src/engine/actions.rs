//! What each kind of node does when it runs. Steps get their configuration with templates
//! already filled in; in a simulation, steps with effects outside the run say what they would
//! have done instead of doing it.

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value, json};

use crate::engine::http::Http;
use crate::engine::runner::PAYLOAD_LIMIT;
use crate::entities::{workflow_data, workflow_executions as executions};
use crate::workflows::kinds::{NodeConfig, NodeKind};

/// Longest key a "save data" step may use.
const KEY_MAX: usize = 200;

/// Whether the engine can run nodes of this kind yet.
pub fn runs(kind: NodeKind) -> bool {
    !matches!(kind, NodeKind::Email | NodeKind::Chat | NodeKind::AiPrompt | NodeKind::Approval)
}

/// Whether nodes of this kind only compute (no waiting, no calls out): their step is stored once,
/// when it is done.
pub fn instant(kind: NodeKind) -> bool {
    kind.is_trigger() || matches!(kind, NodeKind::Condition | NodeKind::Document | NodeKind::SaveData)
}

/// Runs one node with its filled-in configuration; the error is shown on the step.
pub async fn perform(
    db: &impl ConnectionTrait,
    http: &Http,
    run: &executions::Model,
    config: NodeConfig,
) -> Result<Value, String> {
    match config {
        NodeConfig::Http(c) if run.simulation => http.describe(&c),
        NodeConfig::Http(c) => http.send(&c, PAYLOAD_LIMIT).await,
        NodeConfig::Manual(_) | NodeConfig::Schedule(_) | NodeConfig::Webhook(_) | NodeConfig::Event(_) => {
            Ok(run.payload.clone())
        }
        NodeConfig::Condition(_) => Ok(json!({})),
        NodeConfig::Document(d) => Ok(json!({ "title": d.title, "markdown": d.template })),
        NodeConfig::SaveData(d) => {
            let key = d.key.trim().to_owned();
            if key.is_empty() || key.chars().count() > KEY_MAX {
                return Err(format!("The key must be 1 to {KEY_MAX} characters (it was “{key}”)."));
            }
            // JSON is kept as JSON (numbers, lists…), anything else as text.
            let value = serde_json::from_str(&d.value).unwrap_or(Value::String(d.value));
            if run.simulation {
                return Ok(json!({ "simulated": true, "would_save": { "key": key, "value": value } }));
            }
            save_data(db, run.workflow_id, &key, value.clone()).await.map_err(|e| {
                tracing::warn!(error = %e, "save data");
                "The value could not be stored.".to_owned()
            })?;
            Ok(json!({ "key": key, "value": value }))
        }
        other => Err(format!("{} steps can't run yet.", other.kind().label())),
    }
}

async fn save_data(
    db: &impl ConnectionTrait,
    workflow: uuid::Uuid,
    key: &str,
    value: Value,
) -> Result<(), sea_orm::DbErr> {
    let row = workflow_data::ActiveModel {
        workflow_id: Set(workflow),
        key: Set(key.to_owned()),
        value: Set(value),
        updated_at: Set(Utc::now()),
    };
    workflow_data::Entity::insert(row)
        .on_conflict(
            OnConflict::columns([workflow_data::Column::WorkflowId, workflow_data::Column::Key])
                .update_columns([workflow_data::Column::Value, workflow_data::Column::UpdatedAt])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// Everything the workflow's runs stored, by key.
pub async fn load_data(db: &impl ConnectionTrait, workflow: uuid::Uuid) -> Result<Map<String, Value>, sea_orm::DbErr> {
    let rows = workflow_data::Entity::find().filter(workflow_data::Column::WorkflowId.eq(workflow)).all(db).await?;
    Ok(rows.into_iter().map(|r| (r.key, r.value)).collect())
}
