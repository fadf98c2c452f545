//! What each kind of node does when it runs. Steps get their configuration with templates
//! already filled in; in a simulation, steps with effects outside the run say what they would
//! have done instead of doing it.

use std::sync::Arc;

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::{Map, Value, json};

use crate::credentials;
use crate::credentials::service::Secret;
use crate::engine::failure::StepError;
use crate::engine::http::Http;
use crate::engine::mail::{self, Mailer};
use crate::engine::runner::PAYLOAD_LIMIT;
use crate::entities::{workflow_data, workflow_executions as executions};
use crate::secrets::Sealer;
use crate::workflows::kinds::{AiPromptConfig, HttpConfig, NodeConfig, NodeKind};

/// Longest key a "save data" step may use.
const KEY_MAX: usize = 200;

/// What steps reach outside the run with.
pub struct Tools {
    pub http: Http,
    /// Opens credentials.
    pub sealer: Arc<Sealer>,
    /// `None` when the instance has no SMTP server configured.
    pub mailer: Option<Mailer>,
    /// This site's origin, for links in emails (`https://flowdeck.example.com`).
    pub origin: String,
}

const NO_SMTP: &str =
    "Email isn't set up on this server: its administrator sets FLOWDECK_SMTP_URL and FLOWDECK_SMTP_FROM.";
/// How long a chat service gets to take a post.
const CHAT_TIMEOUT_SECS: u32 = 15;
/// How long a model gets to answer.
const AI_TIMEOUT_SECS: u32 = 120;

/// Whether nodes of this kind only compute (no waiting, no calls out): their step is stored once,
/// when it is done.
pub fn instant(kind: NodeKind) -> bool {
    pure(kind) || kind == NodeKind::SaveData
}

/// Whether nodes of this kind change nothing anywhere (their output is all they make): done again
/// after a crash, they do the same, so their step rows may wait for the run's next write.
pub fn pure(kind: NodeKind) -> bool {
    kind.is_trigger() || matches!(kind, NodeKind::Condition | NodeKind::Document)
}

/// Runs one node with its filled-in configuration; the error is shown on the step.
pub async fn perform(
    db: &impl ConnectionTrait,
    tools: &Tools,
    run: &executions::Model,
    config: NodeConfig,
) -> Result<Value, StepError> {
    match config {
        NodeConfig::Http(c) => {
            let secret = credential(db, tools, run, &c.credential).await?;
            call(tools, run, &c, secret.as_ref()).await
        }
        NodeConfig::Email(c) if run.simulation => Ok(mail::describe(&c)?),
        NodeConfig::Email(c) => tools.mailer.as_ref().ok_or_else(|| NO_SMTP.to_owned())?.send(&c).await,
        NodeConfig::Chat(c) => {
            let post = HttpConfig {
                method: "POST".into(),
                url: c.webhook_url,
                body: json!({ "text": c.text }).to_string(),
                timeout_secs: CHAT_TIMEOUT_SECS,
                ..HttpConfig::default()
            };
            call(tools, run, &post, None).await
        }
        NodeConfig::AiPrompt(c) => ask(db, tools, run, c).await,
        // The runner waits for real approvals; a simulation only says whom it would ask.
        NodeConfig::Approval(c) => {
            Ok(json!({ "simulated": true, "would_ask": c.approvers, "required": c.required, "message": c.message }))
        }
        NodeConfig::Manual(_) | NodeConfig::Schedule(_) | NodeConfig::Webhook(_) | NodeConfig::Event(_) => {
            Ok(run.payload.clone())
        }
        NodeConfig::Condition(_) => Ok(json!({})),
        NodeConfig::Document(d) => Ok(json!({ "title": d.title, "markdown": d.template })),
        NodeConfig::SaveData(d) => {
            let key = d.key.trim().to_owned();
            if key.is_empty() || key.chars().count() > KEY_MAX {
                return Err(format!("The key must be 1 to {KEY_MAX} characters (it was “{key}”).").into());
            }
            // JSON is kept as JSON (numbers, lists…), anything else as text.
            let value = serde_json::from_str(&d.value).unwrap_or(Value::String(d.value));
            if run.simulation {
                return Ok(json!({ "simulated": true, "would_save": { "key": key, "value": value } }));
            }
            save_data(db, run.workflow_id, &key, value.clone()).await.map_err(|e| {
                tracing::warn!(error = %e, "save data");
                StepError::transient("The value could not be stored.")
            })?;
            Ok(json!({ "key": key, "value": value }))
        }
        // The runner waits for delays itself; this is never reached with one.
        NodeConfig::Delay(d) => Ok(json!({ "seconds": d.seconds })),
    }
}

/// Sends the request, or describes it in a simulation. A credential goes only to the hosts it is
/// bound to, and its value, should the answer carry it back, is kept out of the step's output
/// and error.
async fn call(
    tools: &Tools,
    run: &executions::Model,
    c: &HttpConfig,
    secret: Option<&Secret>,
) -> Result<Value, StepError> {
    if let Some(secret) = secret {
        let host = url::Url::parse(c.url.trim()).ok().and_then(|u| u.host_str().map(str::to_owned));
        secret.check_host(host.as_deref().unwrap_or_default())?;
    }
    if run.simulation {
        return Ok(tools.http.describe(c, secret.map(|s| s.value.as_str()))?);
    }
    let answer = tools.http.send(c, secret, PAYLOAD_LIMIT).await;
    let Some(secret) = secret else { return answer };
    match answer {
        Ok(output) => Ok(redact(output, secret)),
        Err(e) => Err(StepError { message: secret.redact(&e.message), ..e }),
    }
}

/// `value` with every occurrence of the credential's value in its text replaced by its name.
fn redact(value: Value, secret: &Secret) -> Value {
    match value {
        Value::String(s) => Value::String(secret.redact(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(|v| redact(v, secret)).collect()),
        Value::Object(fields) => {
            Value::Object(fields.into_iter().map(|(k, v)| (secret.redact(&k), redact(v, secret))).collect())
        }
        other => other,
    }
}

/// The value of the credential a step names (none when it names none).
async fn credential(
    db: &impl ConnectionTrait,
    tools: &Tools,
    run: &executions::Model,
    name: &str,
) -> Result<Option<Secret>, String> {
    if name.trim().is_empty() {
        return Ok(None);
    }
    credentials::service::reveal(db, &tools.sealer, run.workspace_id, name).await.map(Some)
}

/// An OpenAI-compatible chat completion: the system and user prompts in, the answer's text out.
async fn ask(
    db: &impl ConnectionTrait,
    tools: &Tools,
    run: &executions::Model,
    c: AiPromptConfig,
) -> Result<Value, StepError> {
    let key = credential(db, tools, run, &c.credential).await?;
    let mut messages = Vec::new();
    if !c.system.trim().is_empty() {
        messages.push(json!({ "role": "system", "content": c.system }));
    }
    messages.push(json!({ "role": "user", "content": c.prompt }));
    let request = HttpConfig {
        method: "POST".into(),
        url: c.endpoint,
        body: json!({ "model": c.model.trim(), "messages": messages }).to_string(),
        timeout_secs: AI_TIMEOUT_SECS,
        credential: c.credential,
        ..HttpConfig::default()
    };
    let answer = call(tools, run, &request, key.as_ref()).await?;
    if run.simulation {
        return Ok(answer);
    }
    Ok(answer_text(&answer["body"])?)
}

/// The text of a chat-completions answer, with the model and token usage.
fn answer_text(body: &Value) -> Result<Value, String> {
    let Some(text) = body.pointer("/choices/0/message/content").and_then(Value::as_str) else {
        let preview: String = body.to_string().chars().take(300).collect();
        return Err(format!("The answer has no choices[0].message.content: {preview}"));
    };
    Ok(json!({
        "text": text,
        "model": body.get("model"),
        "finish_reason": body.pointer("/choices/0/finish_reason"),
        "usage": body.get("usage"),
    }))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_answer_gives_its_text_or_says_what_is_missing() {
        let answer = json!({
            "model": "tiny",
            "choices": [{ "message": { "role": "assistant", "content": "Hello!" }, "finish_reason": "stop" }],
            "usage": { "total_tokens": 9 },
        });
        let out = answer_text(&answer).expect("text");
        assert_eq!((out["text"].as_str(), out["usage"]["total_tokens"].as_u64()), (Some("Hello!"), Some(9)));
        let err = answer_text(&json!({ "error": { "message": "bad key" } })).expect_err("no choices");
        assert!(err.contains("no choices[0].message.content") && err.contains("bad key"), "{err}");
    }
}
