//! Boards' business logic: projects (list, create, archive, delete, favourites) and their tasks
//! (the board, create, move). A task's place is a fractional key (`rank`), unique in its column:
//! a move reads its neighbours' keys and writes one row — the key between them — with its
//! `task.moved` activity in that transaction. Moves and creations of one project take its row
//! lock first, so two never pick the same key (the unique index on column and key backs that).

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{CaseStatement, Expr, ExprTrait as _, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, DatabaseTransaction, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde_json::json;
use uuid::Uuid;

use crate::boards::markdown;
use crate::boards::model::{
    Board, Card, Described, Person, ProjectStatus, ProjectSummary, TASK_CREATED, TASK_DELETED, TASK_MOVED,
    TASK_RENUMBERED, TASK_RESTORED, TASK_UPDATED, TaskDetail, TaskEdit, TaskPriority, TaskStatus, rank_between,
};
use crate::db::{Db, begin_write};
use crate::entities::{project_favorites, projects, tasks};
use crate::error::{AppError, OrNotFound};
use crate::events::{self, Activity};
use crate::guard::Membership;
use crate::validate;
use crate::{auth, workspaces};

/// Projects of one workspace, archived ones included.
pub const PROJECTS_MAX: u64 = 1_000;
/// Tasks of one project, the trash included.
pub const TASKS_MAX: u64 = 10_000;
const PROJECT_TITLE_MAX: usize = 100;
const TASK_TITLE_MAX: usize = 200;
const DESCRIPTION_MAX: usize = 10_000;
/// A task's description (markdown), in characters.
const TASK_DESCRIPTION_MAX: usize = 50_000;
/// A task's estimate: a year of minutes.
const ESTIMATE_MAX: u32 = 525_600;
/// Tasks the trash lists (the newest first).
const TRASH_LISTED: u64 = 200;
/// Characters of a description the projects list carries.
const LISTED_DESCRIPTION: usize = 200;
/// A key longer than this (hex digits; ~1,800 moves into one spot) has its column renumbered.
const RANK_MAX: usize = 512;

fn stale() -> AppError {
    AppError::conflict("The board changed while you moved this card: it shows the current order now. Try again.")
}

fn read_only(project: &projects::Model) -> Result<(), AppError> {
    match project.archived_at {
        Some(_) => Err(AppError::conflict("This project is archived: restore it to change its tasks.")),
        None => Ok(()),
    }
}

/// A project of the member's workspace.
async fn project_of(db: &impl Db, me: &Membership, id: Uuid) -> Result<projects::Model, AppError> {
    projects::Entity::find_by_id(id)
        .filter(projects::Column::WorkspaceId.eq(me.workspace_id))
        .one(db)
        .await?
        .or_not_found()
}

/// Done and total tasks (not in the trash) of each of `ids`.
async fn progress(db: &impl Db, workspace_id: Uuid, ids: &[Uuid]) -> Result<HashMap<Uuid, (u32, u32)>, AppError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let done = Expr::cust("SUM(CASE WHEN status = 'done' THEN 1 ELSE 0 END)");
    let rows: Vec<(Uuid, i64, Option<i64>)> = tasks::Entity::find()
        .select_only()
        .column(tasks::Column::ProjectId)
        .column_as(tasks::Column::Id.count(), "total")
        .column_as(done, "done")
        .filter(tasks::Column::WorkspaceId.eq(workspace_id))
        .filter(tasks::Column::DeletedAt.is_null())
        .filter(tasks::Column::ProjectId.is_in(ids.iter().copied()))
        .group_by(tasks::Column::ProjectId)
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().map(|(id, total, done)| (id, (done.unwrap_or(0) as u32, total as u32))).collect())
}

fn summary(p: projects::Model, favorite: bool, (done, total): (u32, u32)) -> ProjectSummary {
    ProjectSummary {
        id: p.id,
        title: p.title,
        description: p.description.unwrap_or_default(),
        emoji: p.emoji,
        color: p.color,
        status: p.status,
        archived: p.archived_at.is_some(),
        favorite,
        done,
        total,
        updated_at: p.updated_at,
    }
}

async fn favorites(db: &impl Db, me: &Membership, ids: &[Uuid]) -> Result<HashSet<Uuid>, AppError> {
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let rows: Vec<Uuid> = project_favorites::Entity::find()
        .select_only()
        .column(project_favorites::Column::ProjectId)
        .filter(project_favorites::Column::UserId.eq(me.user.id))
        .filter(project_favorites::Column::ProjectId.is_in(ids.iter().copied()))
        .into_tuple()
        .all(db)
        .await?;
    Ok(rows.into_iter().collect())
}

/// The workspace's projects, the reader's favourites first, then by title; archived ones only
/// when asked.
pub async fn projects(db: &impl Db, me: &Membership, archived: bool) -> Result<Vec<ProjectSummary>, AppError> {
    let mut query = projects::Entity::find().filter(projects::Column::WorkspaceId.eq(me.workspace_id));
    if !archived {
        query = query.filter(projects::Column::ArchivedAt.is_null());
    }
    let rows = query.order_by_asc(projects::Column::Title).limit(PROJECTS_MAX).all(db).await?;
    let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
    let counts = progress(db, me.workspace_id, &ids).await?;
    let starred = favorites(db, me, &ids).await?;
    let mut list: Vec<ProjectSummary> = rows
        .into_iter()
        .map(|p| {
            let (id, favorite) = (p.id, starred.contains(&p.id));
            let mut project = summary(p, favorite, counts.get(&id).copied().unwrap_or_default());
            // The list shows one line of it.
            if let Some((cut, _)) = project.description.char_indices().nth(LISTED_DESCRIPTION) {
                project.description.truncate(cut);
                project.description.push('…');
            }
            project
        })
        .collect();
    list.sort_by_key(|p| !p.favorite);
    Ok(list)
}

/// `#rrggbb`, or nothing.
fn color(text: &str) -> Result<Option<String>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let hex = text.strip_prefix('#').unwrap_or(text);
    if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(AppError::validation("color", "A colour is written #rrggbb, like #3b82f6."));
    }
    Ok(Some(format!("#{}", hex.to_ascii_lowercase())))
}

/// One emoji (a few code points at most: flags and skin tones are several), or nothing.
fn emoji(text: &str) -> Result<Option<String>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    // Direction overrides, isolates and other invisible format characters would turn the title
    // around; joiners and variation selectors are part of emoji.
    let invisible = |c: char| matches!(c, '\u{200B}'..='\u{200C}' | '\u{200E}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}');
    if text.chars().count() > 8
        || text.chars().any(|c| c.is_alphanumeric() || c.is_control() || c.is_whitespace() || invisible(c))
    {
        return Err(AppError::validation("emoji", "Pick one emoji (or leave it empty)."));
    }
    Ok(Some(text.to_owned()))
}

/// A new, blank project; the creator owns it.
pub async fn create_project(
    db: &impl Db,
    me: &Membership,
    title: &str,
    description: &str,
    emoji_text: &str,
    color_text: &str,
) -> Result<Uuid, AppError> {
    let title = validate::bounded("title", "Title", title, PROJECT_TITLE_MAX)?;
    let description = validate::optional_text("description", "Description", description, DESCRIPTION_MAX)?;
    let (emoji, color) = (emoji(emoji_text)?, color(color_text)?);
    let txn = begin_write(db).await?;
    let count = projects::Entity::find().filter(projects::Column::WorkspaceId.eq(me.workspace_id)).count(&txn).await?;
    if count >= PROJECTS_MAX {
        return Err(AppError::validation(
            "title",
            format!("A workspace holds at most {PROJECTS_MAX} projects: delete some you no longer need."),
        ));
    }
    let (id, now) = (Uuid::now_v7(), Utc::now());
    projects::Entity::insert(projects::ActiveModel {
        id: Set(id),
        workspace_id: Set(me.workspace_id),
        title: Set(title.clone()),
        description: Set(Some(description).filter(|d| !d.is_empty())),
        main_prompt: Set(None),
        status: Set(ProjectStatus::Active),
        ai_provider: Set(None),
        template_id: Set(None),
        cover_image: Set(None),
        color: Set(color),
        emoji: Set(emoji),
        estimated_hours: Set(None),
        total_cost_micros: Set(0),
        git_repository: Set(None),
        owner_id: Set(me.user.id),
        archived_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_without_returning(&txn)
    .await?;
    let activity = Activity::new(
        me.workspace_id,
        Some(me.user.id),
        "project.created",
        events::subject("project", id),
        json!({ "title": title }),
    );
    events::record(&txn, activity).await?;
    txn.commit().await?;
    Ok(id)
}

/// Archives (hides from the list, freezes its tasks) or restores a project.
pub async fn set_archived(db: &impl Db, me: &Membership, project_id: Uuid, archived: bool) -> Result<(), AppError> {
    let project = project_of(db, me, project_id).await?;
    let now = Utc::now();
    let txn = begin_write(db).await?;
    projects::Entity::update_many()
        .col_expr(projects::Column::ArchivedAt, Expr::value(archived.then_some(now)))
        .col_expr(projects::Column::UpdatedAt, Expr::value(now))
        .filter(projects::Column::Id.eq(project.id))
        .exec(&txn)
        .await?;
    let name = if archived { "project.archived" } else { "project.restored" };
    let activity =
        Activity::new(me.workspace_id, Some(me.user.id), name, events::subject("project", project.id), json!({}));
    events::record(&txn, activity).await?;
    txn.commit().await?;
    Ok(())
}

/// Deletes a project with all its tasks; owners and admins only.
pub async fn delete_project(db: &impl Db, me: &Membership, project_id: Uuid) -> Result<(), AppError> {
    if !me.role.is_manager() {
        return Err(AppError::forbidden("Only owners and admins can delete projects."));
    }
    let project = project_of(db, me, project_id).await?;
    let txn = begin_write(db).await?;
    projects::Entity::delete_by_id(project.id).exec(&txn).await?;
    let activity = Activity::new(
        me.workspace_id,
        Some(me.user.id),
        "project.deleted",
        events::subject("project", project.id),
        json!({ "title": project.title }),
    );
    events::record(&txn, activity).await?;
    txn.commit().await?;
    Ok(())
}

/// Stars or unstars a project for the reader.
pub async fn set_favorite(db: &impl Db, me: &Membership, project_id: Uuid, favorite: bool) -> Result<(), AppError> {
    let project = project_of(db, me, project_id).await?;
    let key = (project_favorites::Column::ProjectId.eq(project.id), project_favorites::Column::UserId.eq(me.user.id));
    if favorite {
        let row = project_favorites::ActiveModel {
            project_id: Set(project.id),
            user_id: Set(me.user.id),
            created_at: Set(Utc::now()),
        };
        let insert = project_favorites::Entity::insert(row).on_conflict_do_nothing().exec_without_returning(db).await;
        insert?;
    } else {
        project_favorites::Entity::delete_many().filter(key.0).filter(key.1).exec(db).await?;
    }
    Ok(())
}

type CardRow =
    (Uuid, Uuid, String, TaskStatus, TaskPriority, String, Option<Uuid>, Option<DateTime<Utc>>, DateTime<Utc>);

fn card_of(t: &tasks::Model) -> Card {
    Card {
        id: t.id,
        project_id: t.project_id,
        title: t.title.clone(),
        status: t.status,
        priority: t.priority,
        rank: t.rank.clone(),
        assignee_id: t.assignee_id,
        due_at: t.due_at,
        updated_at: t.updated_at,
    }
}

/// A project's board: its tasks not in the trash, by rank (the columns keep that order).
pub async fn board(db: &impl Db, me: &Membership, project_id: Uuid) -> Result<Board, AppError> {
    let project = project_of(db, me, project_id).await?;
    use tasks::Column as C;
    let rows: Vec<CardRow> = tasks::Entity::find()
        .select_only()
        .columns([
            C::Id,
            C::ProjectId,
            C::Title,
            C::Status,
            C::Priority,
            C::Rank,
            C::AssigneeId,
            C::DueAt,
            C::UpdatedAt,
        ])
        .filter(C::WorkspaceId.eq(me.workspace_id))
        .filter(C::ProjectId.eq(project.id))
        .filter(C::DeletedAt.is_null())
        .order_by_asc(C::Rank)
        .limit(TASKS_MAX)
        .into_tuple()
        .all(db)
        .await?;
    let cards: Vec<Card> = rows
        .into_iter()
        .map(|(id, project_id, title, status, priority, rank, assignee_id, due_at, updated_at)| Card {
            id,
            project_id,
            title,
            status,
            priority,
            rank,
            assignee_id,
            due_at,
            updated_at,
        })
        .collect();
    let done = cards.iter().filter(|c| c.status == TaskStatus::Done).count() as u32;
    let total = cards.len() as u32;
    let favorite = favorites(db, me, &[project.id]).await?.contains(&project.id);
    let people = workspaces::service::members(db, me.workspace_id).await?;
    let people = people.into_iter().map(|m| Person { id: m.user_id, name: m.name }).collect();
    Ok(Board { project: summary(project, favorite, (done, total)), cards, people })
}

fn column(project_id: Uuid, status: TaskStatus) -> sea_orm::Select<tasks::Entity> {
    tasks::Entity::find().filter(tasks::Column::ProjectId.eq(project_id)).filter(tasks::Column::Status.eq(status))
}

/// The last key of a column (the trash included) but `except`'s.
async fn last_rank(
    db: &impl Db,
    project_id: Uuid,
    status: TaskStatus,
    except: Option<Uuid>,
) -> Result<Option<String>, DbErr> {
    let mut query = column(project_id, status).select_only().column_as(tasks::Column::Rank.max(), "rank");
    if let Some(id) = except {
        query = query.filter(tasks::Column::Id.ne(id));
    }
    Ok(query.into_tuple::<Option<String>>().one(db).await?.flatten())
}

/// The nearest key to `rank` in a column (the trash included) but `except`'s, above or below it.
async fn nearest(
    db: &impl Db,
    project_id: Uuid,
    status: TaskStatus,
    rank: &str,
    above: bool,
    except: Uuid,
) -> Result<Option<String>, DbErr> {
    let query = column(project_id, status).select_only().filter(tasks::Column::Id.ne(except));
    let query = if above {
        query.column_as(tasks::Column::Rank.min(), "rank").filter(tasks::Column::Rank.gt(rank))
    } else {
        query.column_as(tasks::Column::Rank.max(), "rank").filter(tasks::Column::Rank.lt(rank))
    };
    Ok(query.into_tuple::<Option<String>>().one(db).await?.flatten())
}

/// The gap a card moved after `lo` (or else before `hi`, or else to the end) goes into: `lo`
/// and the key right above it, or the key right below `hi` and `hi`, so that no key of the
/// column — the trash's included — lies between.
async fn gap(
    txn: &DatabaseTransaction,
    task: &tasks::Model,
    status: TaskStatus,
    lo: Option<String>,
    hi: Option<String>,
) -> Result<(Option<String>, Option<String>), AppError> {
    if let (Some(l), Some(h)) = (&lo, &hi)
        && l >= h
    {
        return Err(stale());
    }
    Ok(match (lo, hi) {
        (Some(lo), _) => {
            let above = nearest(txn, task.project_id, status, &lo, true, task.id).await?;
            (Some(lo), above)
        }
        (None, Some(hi)) => (nearest(txn, task.project_id, status, &hi, false, task.id).await?, Some(hi)),
        (None, None) => (last_rank(txn, task.project_id, status, Some(task.id)).await?, None),
    })
}

/// Locks the project for a change of its tasks' order (on PostgreSQL; SQLite's write
/// transaction holds the whole database), so ranks are read and written by one at a time.
async fn lock(
    txn: &DatabaseTransaction,
    me: &Membership,
    project: Select<projects::Entity>,
) -> Result<projects::Model, AppError> {
    let project = project.filter(projects::Column::WorkspaceId.eq(me.workspace_id)).lock_exclusive().one(txn).await?;
    let project = project.or_not_found()?;
    read_only(&project)?;
    Ok(project)
}

/// A new task's row: medium priority, nothing else set (the benchmarks fill boards with it).
pub fn task_row(
    workspace_id: Uuid,
    project_id: Uuid,
    reporter_id: Uuid,
    title: String,
    status: TaskStatus,
    rank: String,
    now: DateTime<Utc>,
) -> tasks::ActiveModel {
    tasks::ActiveModel {
        id: Set(Uuid::now_v7()),
        workspace_id: Set(workspace_id),
        project_id: Set(project_id),
        parent_id: Set(None),
        title: Set(title),
        description: Set(None),
        generated_prompt: Set(None),
        status: Set(status),
        priority: Set(TaskPriority::Medium),
        execution_type: Set("serial".into()),
        ai_provider: Set(None),
        mcp_config: Set(None),
        rank: Set(rank),
        assignee_id: Set(None),
        reporter_id: Set(reporter_id),
        estimate_minutes: Set(None),
        actual_minutes: Set(None),
        token_usage: Set(None),
        estimated_cost_micros: Set(None),
        actual_cost_micros: Set(0),
        start_at: Set(None),
        due_at: Set(None),
        started_at: Set((status == TaskStatus::InProgress).then_some(now)),
        completed_at: Set((status == TaskStatus::Done).then_some(now)),
        blocked_reason: Set(None),
        git_commits: Set(json!([])),
        version: Set(1),
        deleted_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    }
}

/// A new task at the end of a column.
pub async fn create_task(
    db: &impl Db,
    me: &Membership,
    project_id: Uuid,
    title: &str,
    status: TaskStatus,
) -> Result<Card, AppError> {
    let title = validate::bounded("title", "Title", title, TASK_TITLE_MAX)?;
    let txn = begin_write(db).await?;
    let project = lock(&txn, me, projects::Entity::find_by_id(project_id)).await?;
    let count = tasks::Entity::find().filter(tasks::Column::ProjectId.eq(project.id)).count(&txn).await?;
    if count >= TASKS_MAX {
        return Err(AppError::validation(
            "title",
            format!(
                "A project holds at most {TASKS_MAX} tasks (the trash included): empty the trash or split the project."
            ),
        ));
    }
    let mut last = last_rank(&txn, project.id, status, None).await?;
    if last.as_ref().is_some_and(|r| r.len() > RANK_MAX) {
        last = renumber(&txn, me, project.id, status).await?;
    }
    let rank = rank_between(last.as_deref(), None).ok_or_else(|| AppError::internal("a column's last key"))?;
    let row = task_row(me.workspace_id, project.id, me.user.id, title, status, rank, Utc::now());
    let task = tasks::Entity::insert(row).exec_with_returning(&txn).await?;
    let card = card_of(&task);
    record_card(&txn, me, TASK_CREATED, &card, None).await?;
    txn.commit().await?;
    Ok(card)
}

async fn record_card(
    txn: &DatabaseTransaction,
    me: &Membership,
    name: &str,
    card: &Card,
    from: Option<TaskStatus>,
) -> Result<(), DbErr> {
    let payload = json!({ "project_id": card.project_id, "card": card, "from": from });
    let activity = Activity::new(me.workspace_id, Some(me.user.id), name, events::subject("task", card.id), payload);
    events::record(txn, activity).await.map(|_| ())
}

/// Moves a task to `status`, right after the card `after` of that column (or right before
/// `before`; neither: to the end); `before`, when given with `after`, must lie above it. One row is written, in
/// one transaction with its activity, under the project's lock: the project (found through the
/// task), then the task and its neighbours, then the update. Neighbours that are gone, in
/// another column or project, or no longer in that order, are a conflict (the board reads
/// itself again).
pub async fn move_task(
    db: &impl Db,
    me: &Membership,
    task_id: Uuid,
    status: TaskStatus,
    after: Option<Uuid>,
    before: Option<Uuid>,
) -> Result<Card, AppError> {
    let txn = begin_write(db).await?;
    let of_task = Query::select()
        .column(tasks::Column::ProjectId)
        .from(tasks::Entity)
        .and_where(tasks::Column::Id.eq(task_id))
        .and_where(tasks::Column::WorkspaceId.eq(me.workspace_id))
        .to_owned();
    let project = lock(&txn, me, projects::Entity::find().filter(projects::Column::Id.in_subquery(of_task))).await?;
    let ids: Vec<Uuid> = [Some(task_id), after, before].into_iter().flatten().collect();
    let rows = tasks::Entity::find()
        .filter(tasks::Column::ProjectId.eq(project.id))
        .filter(tasks::Column::Id.is_in(ids))
        .all(&txn)
        .await?;
    let find = |id: Uuid| rows.iter().find(|t| t.id == id);
    let task = find(task_id).filter(|t| t.deleted_at.is_none()).or_not_found()?;
    let neighbour = |id: Option<Uuid>| -> Result<Option<String>, AppError> {
        let Some(id) = id else { return Ok(None) };
        match find(id) {
            Some(t) if t.id != task.id && t.deleted_at.is_none() && t.status == status => Ok(Some(t.rank.clone())),
            _ => Err(stale()),
        }
    };
    let (lo, hi) = gap(&txn, task, status, neighbour(after)?, neighbour(before)?).await?;
    let mut rank = rank_between(lo.as_deref(), hi.as_deref()).ok_or_else(stale)?;
    if rank.len() > RANK_MAX {
        renumber(&txn, me, project.id, status).await?;
        let fresh = tasks::Entity::find().filter(tasks::Column::Id.is_in([after, before].into_iter().flatten()));
        let fresh = fresh.all(&txn).await?;
        let key = |id: Option<Uuid>| id.and_then(|id| fresh.iter().find(|t| t.id == id).map(|t| t.rank.clone()));
        let (lo, hi) = gap(&txn, task, status, key(after), key(before)).await?;
        rank = rank_between(lo.as_deref(), hi.as_deref()).ok_or_else(stale)?;
    }
    let now = Utc::now();
    let completed_at = (status == TaskStatus::Done).then(|| task.completed_at.unwrap_or(now));
    let started_at = match status {
        TaskStatus::InProgress => task.started_at.or(Some(now)),
        _ => task.started_at,
    };
    let updated = tasks::Entity::update_many()
        .col_expr(tasks::Column::Status, Expr::value(status))
        .col_expr(tasks::Column::Rank, Expr::value(rank))
        .col_expr(tasks::Column::CompletedAt, Expr::value(completed_at))
        .col_expr(tasks::Column::StartedAt, Expr::value(started_at))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
        .filter(tasks::Column::Id.eq(task.id))
        .exec_with_returning(&txn)
        .await?;
    let card = card_of(updated.first().or_not_found()?);
    record_card(&txn, me, TASK_MOVED, &card, Some(task.status)).await?;
    txn.commit().await?;
    Ok(card)
}

/// Sets tasks' keys, 500 a statement.
async fn set_ranks(txn: &DatabaseTransaction, keys: &[(Uuid, String)]) -> Result<(), DbErr> {
    for chunk in keys.chunks(500) {
        let mut case = CaseStatement::new();
        for (id, rank) in chunk {
            case = case.case(tasks::Column::Id.eq(*id), Expr::val(rank.clone()));
        }
        tasks::Entity::update_many()
            .col_expr(tasks::Column::Rank, case.into())
            .filter(tasks::Column::Id.is_in(chunk.iter().map(|(id, _)| *id)))
            .exec(txn)
            .await?;
    }
    Ok(())
}

/// Gives a column's tasks fresh, short keys in their order and returns the last (rare: when a
/// key grew past [`RANK_MAX`], some 1,800 moves into one spot). In the caller's transaction,
/// set-based: every key to one no other can hold (`~` and the id: not hex), then the new keys
/// in statements of 500; a `task.renumbered` activity tells open boards to read the column again.
async fn renumber(
    txn: &DatabaseTransaction,
    me: &Membership,
    project_id: Uuid,
    status: TaskStatus,
) -> Result<Option<String>, AppError> {
    let ids: Vec<Uuid> = column(project_id, status)
        .select_only()
        .column(tasks::Column::Id)
        .order_by_asc(tasks::Column::Rank)
        .into_tuple()
        .all(txn)
        .await?;
    // Aside first: `~` is not a hex digit, so no key is one of these.
    let aside: Vec<(Uuid, String)> = ids.iter().map(|id| (*id, format!("~{id}"))).collect();
    set_ranks(txn, &aside).await?;
    let mut keys = Vec::with_capacity(ids.len());
    let mut rank: Option<String> = None;
    for id in &ids {
        let next = rank_between(rank.as_deref(), None).ok_or_else(|| AppError::internal("renumbering ranks"))?;
        keys.push((*id, next.clone()));
        rank = Some(next);
    }
    set_ranks(txn, &keys).await?;
    let payload = json!({ "project_id": project_id, "status": status });
    let activity = Activity::new(
        me.workspace_id,
        Some(me.user.id),
        TASK_RENUMBERED,
        events::subject("project", project_id),
        payload,
    );
    events::record(txn, activity).await?;
    Ok(rank)
}

/// A task of the member's workspace (in the trash too), with its project.
async fn task_of(db: &impl Db, me: &Membership, id: Uuid) -> Result<tasks::Model, AppError> {
    tasks::Entity::find_by_id(id).filter(tasks::Column::WorkspaceId.eq(me.workspace_id)).one(db).await?.or_not_found()
}

/// A task as its detail panel shows it.
pub async fn task(db: &impl Db, me: &Membership, task_id: Uuid) -> Result<TaskDetail, AppError> {
    let task = task_of(db, me, task_id).await?;
    let reporter = auth::service::names(db, [task.reporter_id]).await?.of(task.reporter_id);
    let description = task.description.clone().unwrap_or_default();
    Ok(TaskDetail {
        card: card_of(&task),
        description_html: markdown::render(&description),
        description,
        version: task.version,
        start_at: task.start_at,
        estimate_minutes: task.estimate_minutes,
        actual_minutes: task.actual_minutes,
        reporter,
        created_at: task.created_at,
        completed_at: task.completed_at,
        deleted_at: task.deleted_at,
    })
}

/// A day as the instant it begins (UTC); years 1900 to 2999.
fn day(field: &str, date: Option<chrono::NaiveDate>) -> Result<Option<DateTime<Utc>>, AppError> {
    use chrono::Datelike;
    match date {
        Some(d) if !(1900..=2999).contains(&d.year()) => {
            Err(AppError::validation(field, "Pick a day between the years 1900 and 2999."))
        }
        _ => Ok(date.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc())),
    }
}

/// Changes one field of a task (not in the trash, in a project that is not archived).
pub async fn update_task(db: &impl Db, me: &Membership, task_id: Uuid, edit: TaskEdit) -> Result<Card, AppError> {
    use tasks::Column as C;
    let (column, value): (C, sea_orm::Value) = match edit {
        TaskEdit::Title(title) => (C::Title, validate::bounded("title", "Title", &title, TASK_TITLE_MAX)?.into()),
        TaskEdit::Priority(priority) => (C::Priority, priority.into()),
        TaskEdit::Assignee(person) => {
            if let Some(person) = person
                && workspaces::service::active_membership(db, me.workspace_id, person).await?.is_none()
            {
                return Err(AppError::validation(
                    "assignee",
                    "Tasks can be assigned to members of this workspace only.",
                ));
            }
            (C::AssigneeId, person.into())
        }
        TaskEdit::Due(date) => (C::DueAt, day("due", date)?.into()),
        TaskEdit::Start(date) => (C::StartAt, day("start", date)?.into()),
        TaskEdit::Estimate(minutes) => {
            if minutes.is_some_and(|m| m > ESTIMATE_MAX) {
                return Err(AppError::validation("estimate", "An estimate is at most a year (525,600 minutes)."));
            }
            (C::EstimateMinutes, minutes.map(|m| m as i32).into())
        }
    };
    let txn = begin_write(db).await?;
    let task = task_of(&txn, me, task_id).await?;
    if task.deleted_at.is_some() {
        return Err(AppError::conflict("This task is in the trash: restore it to change it."));
    }
    read_only(&project_of(&txn, me, task.project_id).await?)?;
    let updated = tasks::Entity::update_many()
        .col_expr(column, Expr::value(value))
        .col_expr(C::UpdatedAt, Expr::value(Utc::now()))
        .filter(C::Id.eq(task.id))
        .exec_with_returning(&txn)
        .await?;
    let card = card_of(updated.first().or_not_found()?);
    record_card(&txn, me, TASK_UPDATED, &card, None).await?;
    txn.commit().await?;
    Ok(card)
}

/// Saves a description written on `version`; a newer one saved meanwhile is a conflict (the
/// panel then shows both texts), never overwritten.
pub async fn describe(
    db: &impl Db,
    me: &Membership,
    task_id: Uuid,
    text: &str,
    version: i32,
) -> Result<Described, AppError> {
    let text = validate::optional_text("description", "The description", text, TASK_DESCRIPTION_MAX)?;
    let html = markdown::render(&text);
    let txn = begin_write(db).await?;
    let task = task_of(&txn, me, task_id).await?;
    if task.deleted_at.is_some() {
        return Err(AppError::conflict("This task is in the trash: restore it to change it."));
    }
    read_only(&project_of(&txn, me, task.project_id).await?)?;
    let saved = tasks::Entity::update_many()
        .col_expr(tasks::Column::Description, Expr::value(Some(text).filter(|t| !t.is_empty())))
        .col_expr(tasks::Column::Version, Expr::col(tasks::Column::Version).add(1))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(Utc::now()))
        .filter(tasks::Column::Id.eq(task.id))
        .filter(tasks::Column::Version.eq(version))
        .exec_with_returning(&txn)
        .await?;
    let Some(saved) = saved.first() else {
        return Err(AppError::conflict(
            "Someone saved a newer description while you were writing: compare the two and choose.",
        ));
    };
    let card = card_of(saved);
    let payload = json!({ "project_id": card.project_id, "card": card, "version": saved.version });
    let activity =
        Activity::new(me.workspace_id, Some(me.user.id), "task.described", events::subject("task", card.id), payload);
    events::record(&txn, activity).await?;
    txn.commit().await?;
    Ok(Described { version: saved.version, html })
}

/// Puts a task in the trash (`true`) or takes it out; it keeps its place in its column.
pub async fn set_deleted(db: &impl Db, me: &Membership, task_id: Uuid, deleted: bool) -> Result<Card, AppError> {
    let txn = begin_write(db).await?;
    let task = task_of(&txn, me, task_id).await?;
    read_only(&project_of(&txn, me, task.project_id).await?)?;
    if task.deleted_at.is_some() == deleted {
        let card = card_of(&task);
        txn.commit().await?;
        return Ok(card);
    }
    let now = Utc::now();
    let updated = tasks::Entity::update_many()
        .col_expr(tasks::Column::DeletedAt, Expr::value(deleted.then_some(now)))
        .col_expr(tasks::Column::UpdatedAt, Expr::value(now))
        .filter(tasks::Column::Id.eq(task.id))
        .exec_with_returning(&txn)
        .await?;
    let card = card_of(updated.first().or_not_found()?);
    record_card(&txn, me, if deleted { TASK_DELETED } else { TASK_RESTORED }, &card, None).await?;
    txn.commit().await?;
    Ok(card)
}

/// A project's trash, the newest first.
pub async fn trash(db: &impl Db, me: &Membership, project_id: Uuid) -> Result<Vec<Card>, AppError> {
    let project = project_of(db, me, project_id).await?;
    let rows = tasks::Entity::find()
        .filter(tasks::Column::ProjectId.eq(project.id))
        .filter(tasks::Column::DeletedAt.is_not_null())
        .order_by_desc(tasks::Column::DeletedAt)
        .limit(TRASH_LISTED)
        .all(db)
        .await?;
    Ok(rows.iter().map(card_of).collect())
}

/// Deletes a task in the trash for good (owners and admins), with its subtasks.
pub async fn purge(db: &impl Db, me: &Membership, task_id: Uuid) -> Result<(), AppError> {
    if !me.role.is_manager() {
        return Err(AppError::forbidden("Only owners and admins can delete tasks for good."));
    }
    let txn = begin_write(db).await?;
    let task = task_of(&txn, me, task_id).await?;
    if task.deleted_at.is_none() {
        return Err(AppError::conflict("Only tasks in the trash can be deleted for good: move it to the trash first."));
    }
    tasks::Entity::delete_by_id(task.id).exec(&txn).await?;
    let payload = json!({ "project_id": task.project_id, "title": task.title });
    let activity =
        Activity::new(me.workspace_id, Some(me.user.id), "task.purged", events::subject("task", task.id), payload);
    events::record(&txn, activity).await?;
    txn.commit().await?;
    Ok(())
}
