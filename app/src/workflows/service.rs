//! Workflows of a workspace: the list and its operations. Callers pass the guard's `Membership`;
//! every query is scoped to its workspace.

use chrono::Utc;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder, Set,
};
use uuid::Uuid;

use crate::auth;
use crate::db;
use crate::db::Db;
use crate::entities::{workflow_steps, workflow_transitions, workflow_versions, workflows};
use crate::error::{AppError, OrNotFound};
use crate::guard::Membership;
use crate::validate;
use crate::workflows::check;
use crate::workflows::graph::{Condition, Edge, Graph, Node};
use crate::workflows::kinds::{NodeConfig, NodeKind};
use crate::workflows::model::{
    ImportReport, PresenceView, Saved, Transition, VersionSummary, WorkflowDoc, WorkflowStatus, WorkflowSummary,
};
use crate::workflows::transfer::{self, Export};
use crate::workflows::triggers;

const NAME_MAX: usize = 80;

/// The workspace's workflows, most recently edited first.
pub async fn list(db: &impl Db, workspace_id: Uuid) -> Result<Vec<WorkflowSummary>, AppError> {
    let rows = workflows::Entity::find()
        .filter(workflows::Column::WorkspaceId.eq(workspace_id))
        .order_by_desc(workflows::Column::UpdatedAt)
        .all(db)
        .await?;
    let editors = auth::service::names(db, rows.iter().map(|r| r.updated_by)).await?;
    Ok(rows.into_iter().map(|w| summary(w, &editors)).collect())
}

fn summary(w: workflows::Model, editors: &auth::service::Names) -> WorkflowSummary {
    WorkflowSummary {
        id: w.id,
        status: w.status,
        version: w.version,
        updated_at: w.updated_at,
        updated_by: editors.of(w.updated_by),
        name: w.name,
        description: w.description,
    }
}

/// One workflow of the member's workspace; another workspace's is `NotFound`.
async fn find(db: &impl ConnectionTrait, me: &Membership, id: Uuid) -> Result<workflows::Model, AppError> {
    workflows::Entity::find_by_id(id)
        .filter(workflows::Column::WorkspaceId.eq(me.workspace_id))
        .one(db)
        .await?
        .or_not_found()
}

/// The workflow's name (NotFound outside the member's workspace).
pub async fn name(db: &impl ConnectionTrait, me: &Membership, id: Uuid) -> Result<String, AppError> {
    Ok(find(db, me, id).await?.name)
}

/// A workflow's name by id alone, for the engine's events (no member is asking).
pub async fn title(db: &impl ConnectionTrait, id: Uuid) -> Result<Option<String>, AppError> {
    Ok(workflows::Entity::find_by_id(id).one(db).await?.map(|w| w.name))
}

/// The stored graph JSON of one version, by id alone, for the engine's triggers (no member is
/// asking; versions never change once written).
pub async fn version_json(db: &impl ConnectionTrait, version_id: Uuid) -> Result<serde_json::Value, AppError> {
    Ok(workflow_versions::Entity::find_by_id(version_id).one(db).await?.or_not_found()?.graph)
}

/// The error workflow a failed run of `workflow_id` starts: set, in the same workspace and not
/// archived (the engine's failure handling; no member is asking).
pub async fn error_workflow_of(
    db: &impl ConnectionTrait,
    workspace_id: Uuid,
    workflow_id: Uuid,
) -> Result<Option<Uuid>, AppError> {
    let target = workflows::Entity::find_by_id(workflow_id).one(db).await?.and_then(|w| w.error_workflow_id);
    let Some(target) = target else { return Ok(None) };
    let row = workflows::Entity::find_by_id(target)
        .filter(workflows::Column::WorkspaceId.eq(workspace_id))
        .one(db)
        .await?
        .filter(|w| w.status != WorkflowStatus::Archived);
    Ok(row.map(|w| w.id))
}

/// A new, empty draft.
pub async fn create(db: &impl Db, me: &Membership, name: &str, description: &str) -> Result<Uuid, AppError> {
    create_with_graph(db, me, name, description, &Graph::default()).await
}

/// A new draft holding `graph`, written in one transaction.
pub async fn create_with_graph(
    db: &impl Db,
    me: &Membership,
    name: &str,
    description: &str,
    graph: &Graph,
) -> Result<Uuid, AppError> {
    let name = validate::bounded("name", "Workflow name", name, NAME_MAX)?;
    let description = validate::optional_text("description", "Description", description, 500)?;
    check::graph(graph)?;
    let txn = db::begin_write(db).await?;
    let id = insert(&txn, me, name, description).await?;
    write_graph(&txn, id, graph).await?;
    txn.commit().await?;
    Ok(id)
}

async fn insert(
    db: &impl ConnectionTrait,
    me: &Membership,
    name: String,
    description: String,
) -> Result<Uuid, AppError> {
    let now = Utc::now();
    let row = workflows::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(me.workspace_id),
        name: Set(name),
        description: Set(description),
        status: Set(WorkflowStatus::Draft),
        version: Set(1),
        created_by: Set(me.user.id),
        updated_by: Set(me.user.id),
        created_at: Set(now),
        updated_at: Set(now),
        error_workflow_id: Set(None),
    }
    .insert(db)
    .await?;
    Ok(row.id)
}

/// Renames a workflow.
pub async fn rename(db: &impl Db, me: &Membership, id: Uuid, name: &str) -> Result<(), AppError> {
    let name = validate::bounded("name", "Workflow name", name, NAME_MAX)?;
    let row = find(db, me, id).await?;
    if !status_of(&row).editable() {
        return Err(archived());
    }
    let version = row.version + 1;
    let mut active = row.into_active_model();
    active.name = Set(name);
    active.version = Set(version);
    active.updated_by = Set(me.user.id);
    active.updated_at = Set(Utc::now());
    active.update(db).await?;
    Ok(())
}

/// A draft copy named "… (copy)", graph included.
pub async fn duplicate(db: &impl Db, me: &Membership, id: Uuid) -> Result<Uuid, AppError> {
    let original = find(db, me, id).await?;
    let graph = load_graph(db, original.id).await?;
    create_with_graph(db, me, &copy_name(&original.name), &original.description, &graph).await
}

/// Saves someone's graph as a new draft beside the workflow (the way out of a conflict).
pub async fn save_as_copy(db: &impl Db, me: &Membership, id: Uuid, graph: &Graph) -> Result<Uuid, AppError> {
    let original = find(db, me, id).await?;
    create_with_graph(db, me, &copy_name(&original.name), &original.description, graph).await
}

fn copy_name(name: &str) -> String {
    let suffix = " (copy)";
    let stem: String = name.chars().take(NAME_MAX - suffix.len()).collect();
    format!("{stem}{suffix}")
}

/// A workflow with its graph, for the editor.
pub async fn get(db: &impl Db, me: &Membership, id: Uuid) -> Result<WorkflowDoc, AppError> {
    let row = find(db, me, id).await?;
    let editors = auth::service::names(db, [row.updated_by]).await?;
    let graph = load_graph(db, row.id).await?;
    Ok(WorkflowDoc { summary: summary(row, &editors), graph })
}

/// Stores `graph` as the workflow's new content if it is still at `version`; otherwise `Conflict`,
/// naming who saved the newer one. Nodes and edges are replaced in one transaction.
pub async fn save(db: &impl Db, me: &Membership, id: Uuid, version: i32, graph: &Graph) -> Result<Saved, AppError> {
    check::graph(graph)?;
    let txn = db::begin_write(db).await?;
    let bumped = workflows::Entity::update_many()
        .filter(workflows::Column::Status.ne(WorkflowStatus::Archived))
        .col_expr(workflows::Column::Version, Expr::col(workflows::Column::Version).add(1))
        .col_expr(workflows::Column::UpdatedBy, Expr::value(me.user.id))
        .col_expr(workflows::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(workflows::Column::Id.eq(id))
        .filter(workflows::Column::WorkspaceId.eq(me.workspace_id))
        .filter(workflows::Column::Version.eq(version))
        .exec(&txn)
        .await?;
    if bumped.rows_affected == 0 {
        let current = find(&txn, me, id).await?;
        if !status_of(&current).editable() {
            return Err(archived());
        }
        let by = auth::service::names(&txn, [current.updated_by]).await?.of(current.updated_by);
        return Err(AppError::conflict(format!(
            "{by} saved a newer version of “{}” (version {}) while you were editing version {version}.",
            current.name, current.version
        )));
    }
    write_graph(&txn, id, graph).await?;
    txn.commit().await?;
    Ok(Saved { version: version + 1 })
}

/// Rows a statement inserts at once: well under Postgres' 65,535 bind parameters.
const CHUNK: usize = 1000;

/// Replaces the workflow's nodes and edges.
async fn write_graph(txn: &impl ConnectionTrait, workflow_id: Uuid, graph: &Graph) -> Result<(), AppError> {
    workflow_transitions::Entity::delete_many()
        .filter(workflow_transitions::Column::WorkflowId.eq(workflow_id))
        .exec(txn)
        .await?;
    workflow_steps::Entity::delete_many().filter(workflow_steps::Column::WorkflowId.eq(workflow_id)).exec(txn).await?;
    for (c, chunk) in graph.nodes.chunks(CHUNK).enumerate() {
        let rows = chunk.iter().enumerate().map(|(i, n)| workflow_steps::ActiveModel {
            workflow_id: Set(workflow_id),
            id: Set(n.id),
            position: Set((c * CHUNK + i) as i32),
            name: Set(n.name.trim().to_owned()),
            step_type: Set(n.kind().as_str().to_owned()),
            config: Set(serde_json::Value::Object(n.config.values())),
            x: Set(n.x),
            y: Set(n.y),
            policy: Set((!n.policy.is_default()).then(|| serde_json::to_value(n.policy).ok()).flatten()),
            pinned: Set(n.pinned.clone()),
        });
        workflow_steps::Entity::insert_many(rows).exec_without_returning(txn).await?;
    }
    for (c, chunk) in graph.edges.chunks(CHUNK).enumerate() {
        let rows = chunk.iter().enumerate().map(|(i, e)| workflow_transitions::ActiveModel {
            workflow_id: Set(workflow_id),
            id: Set(e.id),
            position: Set((c * CHUNK + i) as i32),
            from_step_id: Set(e.source),
            to_step_id: Set(e.target),
            condition: Set(e.condition.as_ref().and_then(|c| serde_json::to_value(c).ok())),
            is_default: Set(e.is_default),
        });
        workflow_transitions::Entity::insert_many(rows).exec_without_returning(txn).await?;
    }
    Ok(())
}

/// A workflow's nodes and edges in their stored order.
pub async fn load_graph(db: &impl ConnectionTrait, workflow_id: Uuid) -> Result<Graph, AppError> {
    let steps = workflow_steps::Entity::find()
        .filter(workflow_steps::Column::WorkflowId.eq(workflow_id))
        .order_by_asc(workflow_steps::Column::Position)
        .all(db)
        .await?;
    let transitions = workflow_transitions::Entity::find()
        .filter(workflow_transitions::Column::WorkflowId.eq(workflow_id))
        .order_by_asc(workflow_transitions::Column::Position)
        .all(db)
        .await?;
    let nodes = steps
        .into_iter()
        .map(|s| {
            let config = NodeKind::parse(&s.step_type)
                .ok_or_else(|| format!("unknown kind {}", s.step_type))
                .and_then(|kind| NodeConfig::from_values(kind, s.config));
            match config {
                Ok(config) => {
                    let policy = s.policy.map(serde_json::from_value).transpose().map_err(|e| e.to_string());
                    match policy {
                        Ok(policy) => Ok(Node {
                            id: s.id,
                            name: s.name,
                            x: s.x,
                            y: s.y,
                            config,
                            policy: policy.unwrap_or_default(),
                            pinned: s.pinned,
                        }),
                        Err(e) => Err(AppError::internal(format!("stored step {} of {workflow_id}: {e}", s.id))),
                    }
                }
                Err(e) => Err(AppError::internal(format!("stored step {} of {workflow_id}: {e}", s.id))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let edges = transitions
        .into_iter()
        .map(|t| Edge {
            id: t.id,
            source: t.from_step_id,
            target: t.to_step_id,
            condition: t.condition.and_then(|c| serde_json::from_value::<Condition>(c).ok()),
            is_default: t.is_default,
        })
        .collect();
    Ok(Graph { nodes, edges })
}

/// Deletes a workflow.
pub async fn delete(db: &impl Db, me: &Membership, id: Uuid) -> Result<(), AppError> {
    let row = find(db, me, id).await?;
    let txn = db::begin_write(db).await?;
    // Workflows that started this one when they failed start nothing now.
    workflows::Entity::update_many()
        .col_expr(workflows::Column::ErrorWorkflowId, Expr::value(None::<Uuid>))
        .filter(workflows::Column::ErrorWorkflowId.eq(row.id))
        .exec(&txn)
        .await?;
    workflows::Entity::delete_by_id(row.id).exec(&txn).await?;
    txn.commit().await?;
    Ok(())
}

/// The workflow started when a run of `id` fails, if one is set.
pub async fn error_workflow(db: &impl Db, me: &Membership, id: Uuid) -> Result<Option<Uuid>, AppError> {
    Ok(find(db, me, id).await?.error_workflow_id)
}

/// Sets (or with `None` clears) the workflow started from its Manual trigger when a run of `id`
/// fails. It must be another workflow of the workspace, not archived, with a Manual trigger.
pub async fn set_error_workflow(db: &impl Db, me: &Membership, id: Uuid, target: Option<Uuid>) -> Result<(), AppError> {
    let row = find(db, me, id).await?;
    if status_of(&row) == WorkflowStatus::Archived {
        return Err(archived());
    }
    if let Some(target) = target {
        const FIELD: &str = "error_workflow";
        if target == id {
            return Err(AppError::validation(FIELD, "A workflow can't be its own error workflow."));
        }
        let other = find(db, me, target)
            .await
            .map_err(|_| AppError::validation(FIELD, "That workflow does not exist in this workspace."))?;
        if status_of(&other) == WorkflowStatus::Archived {
            return Err(AppError::validation(FIELD, format!("“{}” is archived.", other.name)));
        }
        if !load_graph(db, target).await?.nodes.iter().any(|n| n.config.kind() == NodeKind::Manual) {
            return Err(AppError::validation(
                FIELD,
                format!("“{}” has no Manual trigger to start from. Add one to it first.", other.name),
            ));
        }
    }
    workflows::Entity::update_many()
        .col_expr(workflows::Column::ErrorWorkflowId, Expr::value(target))
        .filter(workflows::Column::Id.eq(row.id))
        .exec(db)
        .await?;
    Ok(())
}

fn status_of(row: &workflows::Model) -> WorkflowStatus {
    row.status
}

fn archived() -> AppError {
    AppError::conflict("This workflow is archived, so it can't be changed. Restore it from the archive first.")
}

/// Moves a workflow along its lifecycle. Activation checks the stored graph (it must be the one
/// the person sees: `version`), and snapshots it as the next version with `message`.
pub async fn change_status(
    db: &impl Db,
    me: &Membership,
    id: Uuid,
    version: i32,
    transition: Transition,
    message: &str,
) -> Result<WorkflowStatus, AppError> {
    let message = validate::optional_text("message", "Version message", message, 200)?;
    let txn = db::begin_write(db).await?;
    let row = find(&txn, me, id).await?;
    let from = status_of(&row);
    if !from.transitions().contains(&transition) {
        return Err(AppError::conflict(format!(
            "A workflow that is {} can't be changed that way ({}).",
            from.label().to_lowercase(),
            transition.label().to_lowercase()
        )));
    }
    let now = Utc::now();
    if transition == Transition::Activate {
        if row.version != version {
            return Err(AppError::conflict(
                "The workflow changed since you opened it. Reload it, check it, then activate.",
            ));
        }
        let graph = load_graph(&txn, id).await?;
        let problems = graph.diagnostics();
        if let Some(first) = problems.first() {
            return Err(AppError::validation(
                "status",
                format!(
                    "Fix {} problem{} before activating. First: {}",
                    problems.len(),
                    if problems.len() == 1 { "" } else { "s" },
                    first.message
                ),
            ));
        }
        let last = workflow_versions::Entity::find()
            .filter(workflow_versions::Column::WorkflowId.eq(id))
            .order_by_desc(workflow_versions::Column::Number)
            .one(&txn)
            .await?
            .map_or(0, |v| v.number);
        let version_id = Uuid::now_v7();
        workflow_versions::ActiveModel {
            id: Set(version_id),
            workflow_id: Set(id),
            number: Set(last + 1),
            message: Set(if message.is_empty() { format!("Version {}", last + 1) } else { message }),
            author: Set(me.user.id),
            created_at: Set(now),
            graph: Set(serde_json::to_value(&graph).map_err(AppError::internal)?),
        }
        .insert(&txn)
        .await?;
        // Its schedule, webhook and event triggers start this version from now on.
        triggers::sync(&txn, me.workspace_id, id, Some((version_id, &graph))).await?;
    } else {
        triggers::sync(&txn, me.workspace_id, id, None).await?;
    }
    let to = transition.target();
    let mut active = row.into_active_model();
    active.status = Set(to);
    active.updated_by = Set(me.user.id);
    active.updated_at = Set(now);
    active.update(&txn).await?;
    txn.commit().await?;
    Ok(to)
}

/// A workflow's versions, newest first.
pub async fn versions(db: &impl Db, me: &Membership, id: Uuid) -> Result<Vec<VersionSummary>, AppError> {
    let row = find(db, me, id).await?;
    let rows = workflow_versions::Entity::find()
        .filter(workflow_versions::Column::WorkflowId.eq(row.id))
        .order_by_desc(workflow_versions::Column::Number)
        .all(db)
        .await?;
    let authors = auth::service::names(db, rows.iter().map(|v| v.author)).await?;
    Ok(rows
        .into_iter()
        .map(|v| VersionSummary {
            id: v.id,
            number: v.number,
            author: authors.of(v.author),
            message: v.message,
            created_at: v.created_at,
        })
        .collect())
}

/// One version's graph.
pub async fn version_graph(db: &impl Db, me: &Membership, id: Uuid, version_id: Uuid) -> Result<Graph, AppError> {
    let row = find(db, me, id).await?;
    let version = workflow_versions::Entity::find_by_id(version_id)
        .filter(workflow_versions::Column::WorkflowId.eq(row.id))
        .one(db)
        .await?
        .or_not_found()?;
    serde_json::from_value(version.graph).map_err(AppError::internal)
}

/// A workflow as a Flowdeck export file.
pub async fn export(db: &impl Db, me: &Membership, id: Uuid) -> Result<Export, AppError> {
    let row = find(db, me, id).await?;
    let graph = load_graph(db, row.id).await?;
    Ok(Export::new(row.name, row.description, graph))
}

/// A new draft from a Flowdeck export or an n8n workflow; nothing is stored unless all of it is valid.
pub async fn import(db: &impl Db, me: &Membership, text: &str) -> Result<ImportReport, AppError> {
    let parsed = transfer::parse(text).map_err(|message| AppError::validation("file", message))?;
    let name: String = match parsed.name.trim() {
        "" => "Imported workflow".into(),
        name => name.chars().take(NAME_MAX).collect(),
    };
    let description: String = parsed.description.chars().take(500).collect();
    let workflow_id = create_with_graph(db, me, &name, &description, &parsed.graph).await.map_err(|e| match e {
        AppError::Validation { message, .. } => AppError::validation("file", message),
        other => other,
    })?;
    Ok(ImportReport {
        workflow_id,
        name,
        nodes: parsed.graph.nodes.len(),
        edges: parsed.graph.edges.len(),
        skipped: parsed.skipped,
    })
}

/// Records the member's designer as open (`open == false`: closed) and tells who else has it
/// open, on any instance: an arrival or departure is news for live streams, and on
/// PostgreSQL the other instances are told (again every 10 s while it stays open).
pub async fn presence(
    db: &impl Db,
    state: &crate::state::AppState,
    me: &Membership,
    id: Uuid,
    open: bool,
) -> Result<PresenceView, AppError> {
    if !state.presence.may_beat(me.user.id) {
        return Err(AppError::RateLimited {
            message: format!(
                "More than {} designer heartbeats a minute. Close some designer tabs.",
                crate::state::PRESENCE_CALLS_PER_MINUTE
            ),
        });
    }
    let row = find(db, me, id).await?;
    let seen = state.presence.visit(row.id, me.user.id, open);
    let visit = crate::hub::Visit {
        workspace_id: me.workspace_id,
        workflow_id: row.id,
        user_id: me.user.id,
        open,
        news: seen.news,
        here: true,
    };
    if seen.news {
        state.hub.send(crate::hub::Signal::Visit(visit));
    }
    if seen.retell {
        state.hub.visit(visit);
    }
    let others = if open { state.presence.others(row.id, me.user.id) } else { Vec::new() };
    let names = auth::service::names(db, others.iter().copied().chain([row.updated_by])).await?;
    let mut others: Vec<String> = others.into_iter().map(|id| names.of(id)).collect();
    others.sort();
    let updated_by = names.of(row.updated_by);
    Ok(PresenceView { others, version: row.version, updated_by })
}
