//! `/w/:ws/projects/:project`: a project's board — a column per status with its count, cards by
//! rank. Cards move with the pointer (a drop placeholder, auto-scroll near the edges, Escape
//! cancels) or the keyboard (Space or Enter on a card's handle picks it up, the arrow keys move
//! it, Space or Enter drops it, Escape cancels; each step is announced). A move shows at once
//! and is undone, with the server's message, if the server refuses it. Every viewer sees other
//! people's changes as they happen: the tab's stream carries each `task.*` activity with the
//! card, which the board applies.

use leptos::ev;
use leptos::html;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use uuid::Uuid;

use crate::boards::api::{create_task, load_board, move_task};
use crate::boards::detail::{PanelLinks, TaskPanel, Trash};
use crate::boards::model::{Board, Card, Person, TASK_DELETED, TASK_RENUMBERED, TaskStatus, rank_between};
use crate::boards::views::{Filters, ListView, OpenTask, TableView, Toolbar, open_params, set_params};
use crate::error::AppError;
use crate::stream::{feed_position, on_activities};
use crate::ui::form::{initials, loaded, short_date};
use crate::ui::toast::report;
use crate::workspaces::layout::use_workspace;
use crate::workspaces::model::{Permission, WorkspaceView};

#[component]
pub fn BoardPage() -> impl IntoView {
    let ws = use_workspace();
    let params = use_params_map();
    let project = Memo::new(move |_| params.read().get("project").and_then(|s| s.parse::<Uuid>().ok()));
    view! {
        <Title text="Board · Flowdeck"/>
        {loaded(ws.data, move |w| view! { <BoardLoader w project/> })}
    }
}

#[component]
fn BoardLoader(w: WorkspaceView, project: Memo<Option<Uuid>>) -> impl IntoView {
    let workspace_id = w.id;
    let can_edit = w.can(Permission::Edit);
    let can_purge = w.role.is_manager();
    let reload = RwSignal::new(0u32);
    // Where the tab's stream was when the board was read: what it heard since is applied on top.
    let since = StoredValue::new(None::<u64>);
    let board = Resource::new(
        move || (project.get(), reload.get()),
        move |(project, _)| async move {
            since.set_value(feed_position());
            match project {
                Some(project) => load_board(workspace_id, project).await,
                None => Err(AppError::NotFound),
            }
        },
    );
    loaded(
        board,
        move |board| view! { <BoardView workspace_id can_edit can_purge board reload since=since.get_value()/> },
    )
}

/// Where a moved card would go: into `status`, before the card `before` (`None`: the end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Target {
    status: TaskStatus,
    before: Option<Uuid>,
}

/// A card being moved.
#[derive(Debug, Clone, PartialEq)]
struct Drag {
    id: Uuid,
    title: String,
    target: Target,
    /// Picked up with the keyboard (no pointer ghost; arrows move it).
    keyboard: bool,
}

/// A pointer pressed on a card that has not moved far enough to be a drag yet.
#[derive(Debug, Clone, Copy)]
struct Press {
    id: Uuid,
    x: i32,
    y: i32,
}

/// Puts `card` in (or back in) the list, which stays in rank order.
fn upsert(all: &mut Vec<Card>, card: Card) {
    all.retain(|c| c.id != card.id);
    let at = all.partition_point(|c| c.rank < card.rank);
    all.insert(at, card);
}

/// The cards of a column but `except`, in order.
fn column_without(all: &[Card], status: TaskStatus, except: Uuid) -> Vec<&Card> {
    all.iter().filter(|c| c.status == status && c.id != except).collect()
}

/// Where card `id` is now, as a target.
fn target_of(all: &[Card], id: Uuid) -> Option<Target> {
    let card = all.iter().find(|c| c.id == id)?;
    let mut column = all.iter().filter(|c| c.status == card.status);
    column.by_ref().find(|c| c.id == id);
    Some(Target { status: card.status, before: column.next().map(|c| c.id) })
}

/// "In progress, position 2 of 5" for a card of `id` at `target`.
fn describe(all: &[Card], id: Uuid, target: Target) -> String {
    let column = column_without(all, target.status, id);
    let at = target.before.and_then(|b| column.iter().position(|c| c.id == b)).unwrap_or(column.len());
    format!("{}, position {} of {}", target.status.label(), at + 1, column.len() + 1)
}

/// The target one step from `target` in the arrow key's direction.
fn step(all: &[Card], id: Uuid, target: Target, key: &str) -> Target {
    let column = column_without(all, target.status, id);
    let at = target.before.and_then(|b| column.iter().position(|c| c.id == b)).unwrap_or(column.len());
    let within = |status: TaskStatus, at: usize| {
        let column = column_without(all, status, id);
        Target { status, before: column.get(at).map(|c| c.id) }
    };
    let index = target.status.column();
    match key {
        "ArrowUp" => within(target.status, at.saturating_sub(1)),
        "ArrowDown" => within(target.status, (at + 1).min(column.len())),
        "ArrowLeft" if index > 0 => within(TaskStatus::ALL[index - 1], at),
        "ArrowRight" if index + 1 < TaskStatus::ALL.len() => within(TaskStatus::ALL[index + 1], at),
        _ => target,
    }
}

fn document() -> Option<web_sys::Document> {
    web_sys::window().and_then(|w| w.document())
}

/// The target under the pointer: the column there, before the first card whose middle is below it.
fn target_at(x: i32, y: i32, dragged: Uuid) -> Option<Target> {
    use wasm_bindgen::JsCast;
    let column = document()?.element_from_point(x as f32, y as f32)?.closest("[data-status]").ok()??;
    let status = TaskStatus::parse(&column.get_attribute("data-status")?)?;
    let items = column.query_selector_all(".task-card[data-id]").ok()?;
    for i in 0..items.length() {
        let Some(item) = items.item(i).and_then(|n| n.dyn_into::<web_sys::Element>().ok()) else { continue };
        let Some(id) = item.get_attribute("data-id").and_then(|s| s.parse::<Uuid>().ok()) else { continue };
        let rect = item.get_bounding_client_rect();
        if id != dragged && f64::from(y) < rect.top() + rect.height() / 2.0 {
            return Some(Target { status, before: Some(id) });
        }
    }
    Some(Target { status, before: None })
}

/// Near an edge of the board (or of a column's list) while dragging: scroll that way.
fn autoscroll(board: &web_sys::Element, x: i32, y: i32) {
    const EDGE: f64 = 48.0;
    const STEP: f64 = 24.0;
    let (x, y) = (f64::from(x), f64::from(y));
    let nudge = |el: &web_sys::Element, horizontal: bool| {
        let r = el.get_bounding_client_rect();
        let (at, start, end) = if horizontal { (x, r.left(), r.right()) } else { (y, r.top(), r.bottom()) };
        let by = if at < start + EDGE {
            -STEP
        } else if at > end - EDGE {
            STEP
        } else {
            return;
        };
        if horizontal { el.scroll_by_with_x_and_y(by, 0.0) } else { el.scroll_by_with_x_and_y(0.0, by) }
    };
    nudge(board, true);
    if let Some(list) = document()
        .and_then(|d| d.element_from_point(x as f32, y as f32))
        .and_then(|e| e.closest(".cards").ok().flatten())
    {
        nudge(&list, false);
    }
}

/// Focuses the `part` (a selector) of card `id` once the page has drawn it.
fn focus_card(id: Uuid, part: &'static str) {
    request_animation_frame(move || {
        use wasm_bindgen::JsCast;
        let element = document()
            .and_then(|d| d.query_selector(&format!(".task-card[data-id=\"{id}\"] {part}")).ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(element) = element {
            let _ = element.focus();
        }
    });
}

fn focus_handle(id: Uuid) {
    focus_card(id, ".card-handle");
}

/// Opens a task's panel keeping the view and filters in the address (a plain click; a click
/// with a modifier key opens the link as the browser does).
pub(crate) fn open_task_link(ev: &ev::MouseEvent, id: Uuid, open: Option<OpenTask>) {
    if ev.button() != 0 || ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() {
        return;
    }
    if let Some(OpenTask(open)) = open {
        ev.prevent_default();
        open.try_run(id);
    }
}

/// What the cards of the board share: the cards, the move under way, and how to commit one.
#[derive(Clone, Copy)]
struct Moves {
    cards: RwSignal<Vec<Card>>,
    drag: RwSignal<Option<Drag>>,
    announce: RwSignal<String>,
    press: StoredValue<Option<Press>>,
    workspace_id: Uuid,
    reload: RwSignal<u32>,
    can_edit: bool,
    /// Moves of each card the server has not answered yet: live news of those cards waits.
    pending: StoredValue<std::collections::HashMap<Uuid, u32>>,
    /// A drag just ended: the click it ends with does not open the card.
    dragged: StoredValue<bool>,
    people: StoredValue<Vec<Person>>,
}

impl Moves {
    /// Moves card `id` to `target` at once, then on the server; undone if the server refuses.
    fn commit(self, id: Uuid, target: Target) {
        let Some((card, after, before)) = self.cards.with_untracked(|all| {
            let card = all.iter().find(|c| c.id == id)?.clone();
            if target_of(all, id) == Some(target) {
                return None;
            }
            let column = column_without(all, target.status, id);
            let at = target.before.and_then(|b| column.iter().position(|c| c.id == b)).unwrap_or(column.len());
            let after = at.checked_sub(1).map(|i| column[i].clone());
            Some((card, after, column.get(at).map(|c| (*c).clone())))
        }) else {
            return;
        };
        let Some(rank) =
            rank_between(after.as_ref().map(|c| c.rank.as_str()), before.as_ref().map(|c| c.rank.as_str()))
        else {
            self.reload.update(|n| *n += 1);
            return;
        };
        let moved = Card { status: target.status, rank, ..card.clone() };
        self.cards.update(|all| upsert(all, moved.clone()));
        let (after, before) = (after.map(|c| c.id), before.map(|c| c.id));
        let Moves { cards, reload, workspace_id, pending, .. } = self;
        pending.update_value(|p| *p.entry(id).or_default() += 1);
        spawn_local(async move {
            let result = move_task(workspace_id, id, target.status, after, before).await;
            let last = pending
                .try_update_value(|p| {
                    let left = p.get(&id).map_or(0, |n| n.saturating_sub(1));
                    if left == 0 {
                        p.remove(&id);
                    } else {
                        p.insert(id, left);
                    }
                    left == 0
                })
                .unwrap_or(false);
            match result {
                // A later move of the card, still on its way, has the last word.
                Ok(saved) if last => {
                    cards.try_update(|all| upsert(all, saved));
                }
                Ok(_) => {}
                Err(error) => {
                    // Undo, unless something newer (a live update) replaced the card meanwhile.
                    cards.try_update(|all| {
                        if all.contains(&moved) {
                            upsert(all, card);
                        }
                    });
                    report(&error);
                    if matches!(error, AppError::Conflict { .. } | AppError::NotFound) {
                        reload.try_update(|n| *n += 1);
                    }
                }
            }
        });
    }

    fn cancel(self) {
        self.press.set_value(None);
        if let Some(d) = self.drag.get_untracked() {
            self.drag.set(None);
            self.announce.set(format!("Move of “{}” cancelled.", d.title));
            if d.keyboard {
                focus_handle(d.id);
            }
        }
    }

    /// Ends a keyboard pick-up without moving the card (focus left it, or a pointer took over).
    fn drop_keyboard_pick(self) {
        if let Some(d) = self.drag.get_untracked().filter(|d| d.keyboard) {
            self.drag.set(None);
            self.announce.set(format!("Move of “{}” cancelled.", d.title));
        }
    }

    /// A keyboard press (Space or Enter) on a card's handle: pick it up, or drop it.
    fn toggle(self, id: Uuid, title: &str) {
        match self.drag.get_untracked() {
            Some(d) if d.keyboard && d.id == id => {
                self.drag.set(None);
                let place = self.cards.with_untracked(|all| describe(all, id, d.target));
                self.announce.set(format!("Dropped “{title}”: {place}."));
                self.commit(id, d.target);
                focus_handle(id);
            }
            _ => {
                let Some(target) = self.cards.with_untracked(|all| target_of(all, id)) else { return };
                let place = self.cards.with_untracked(|all| describe(all, id, target));
                self.drag.set(Some(Drag { id, title: title.to_owned(), target, keyboard: true }));
                self.announce.set(format!(
                    "Picked up “{title}”: {place}. Arrow keys move it, Space or Enter drops it, Escape cancels."
                ));
            }
        }
    }

    /// An arrow key while card `id` is picked up.
    fn arrow(self, id: Uuid, key: &str) -> bool {
        let Some(d) = self.drag.get_untracked().filter(|d| d.keyboard && d.id == id) else { return false };
        let (target, place) = self.cards.with_untracked(|all| {
            let target = step(all, id, d.target, key);
            (target, describe(all, id, target))
        });
        self.drag.set(Some(Drag { target, ..d }));
        self.announce.set(place);
        true
    }
}

#[component]
fn BoardView(
    workspace_id: Uuid,
    can_edit: bool,
    can_purge: bool,
    board: Board,
    reload: RwSignal<u32>,
    since: Option<u64>,
) -> impl IntoView {
    let project = board.project.clone();
    let project_id = project.id;
    let can_edit = can_edit && !project.archived;
    let moves = Moves {
        cards: RwSignal::new(board.cards),
        drag: RwSignal::new(None),
        announce: RwSignal::new(String::new()),
        press: StoredValue::new(None),
        workspace_id,
        reload,
        can_edit,
        pending: StoredValue::new(Default::default()),
        dragged: StoredValue::new(false),
        people: StoredValue::new(board.people),
    };
    let cards = moves.cards;
    let drag = moves.drag;
    let ghost = RwSignal::new((0, 0));
    let board_ref = NodeRef::<html::Div>::new();
    let this_project = project_id.to_string();
    let pending = moves.pending;
    on_activities(
        since,
        move |c| {
            c.name.starts_with("task.") && c.payload.get("project_id").and_then(|v| v.as_str()) == Some(&this_project)
        },
        move |news| match news {
            Some(changes) if !changes.iter().any(|c| c.name == TASK_RENUMBERED) => cards.update(|all| {
                for change in changes {
                    let card = change.payload.get("card").and_then(|v| serde_json::from_value::<Card>(v.clone()).ok());
                    let Some(card) = card else { continue };
                    // A move of mine still on its way has the last word; older news is dropped.
                    if change.name == TASK_DELETED {
                        all.retain(|c| c.id != card.id);
                        continue;
                    }
                    let waiting = pending.with_value(|p| p.contains_key(&card.id));
                    let older = all.iter().any(|c| c.id == card.id && c.updated_at > card.updated_at);
                    if !waiting && !older {
                        upsert(all, card);
                    }
                }
            }),
            _ => reload.update(|n| *n += 1),
        },
    );
    if can_edit {
        let pointer_move = window_event_listener(ev::pointermove, move |ev| {
            let Some(press) = moves.press.get_value() else { return };
            if ev.buttons() & 1 == 0 {
                // The button went up where this window did not hear it.
                moves.cancel();
                return;
            }
            let (x, y) = (ev.client_x(), ev.client_y());
            if drag.with_untracked(|d| d.as_ref().is_some_and(|d| d.keyboard || d.id != press.id)) {
                return;
            }
            if drag.with_untracked(Option::is_none) {
                if (x - press.x).abs() + (y - press.y).abs() < 6 {
                    return;
                }
                let Some((title, target)) = cards.with_untracked(|all| {
                    Some((all.iter().find(|c| c.id == press.id)?.title.clone(), target_of(all, press.id)?))
                }) else {
                    return;
                };
                drag.set(Some(Drag { id: press.id, title, target, keyboard: false }));
            }
            ev.prevent_default();
            ghost.set((x, y));
            if let Some(target) = target_at(x, y, press.id)
                && drag.with_untracked(|d| d.as_ref().map(|d| d.target)) != Some(target)
            {
                drag.update(|d| {
                    if let Some(d) = d {
                        d.target = target;
                    }
                });
            }
            if let Some(board) = board_ref.get_untracked() {
                autoscroll(&board, x, y);
            }
        });
        let pointer_up = window_event_listener(ev::pointerup, move |_| {
            if moves.press.get_value().is_none() {
                return;
            }
            moves.press.set_value(None);
            if let Some(d) = drag.get_untracked().filter(|d| !d.keyboard) {
                drag.set(None);
                moves.dragged.set_value(true);
                moves.commit(d.id, d.target);
            }
        });
        let pointer_cancel = window_event_listener(ev::pointercancel, move |_| {
            if drag.get_untracked().is_some_and(|d| !d.keyboard) {
                moves.cancel();
            }
            moves.press.set_value(None);
        });
        let blur = window_event_listener(ev::blur, move |_| {
            if drag.get_untracked().is_some_and(|d| !d.keyboard) {
                moves.cancel();
            }
            moves.press.set_value(None);
        });
        let escape = window_event_listener(ev::keydown, move |ev| {
            if ev.key() == "Escape" && drag.get_untracked().is_some() {
                ev.prevent_default();
                moves.cancel();
            }
        });
        on_cleanup(move || {
            pointer_move.remove();
            pointer_up.remove();
            pointer_cancel.remove();
            escape.remove();
            blur.remove();
        });
    }
    let query = use_query_map();
    let open_task = Memo::new(move |_| query.read().get("task").and_then(|t| t.parse::<Uuid>().ok()));
    let path = format!("/w/{workspace_id}/projects/{project_id}");
    let open = open_params(&path);
    let set = set_params(&path);
    provide_context(OpenTask(Callback::new(move |id: Uuid| open(&[("task", id.to_string())]))));
    let links = PanelLinks {
        workspace_id,
        can_edit,
        changed: Callback::new(move |card: Card| cards.update(|all| upsert(all, card))),
        removed: Callback::new(move |id: Uuid| cards.update(|all| all.retain(|c| c.id != id))),
        close: Callback::new(move |()| {
            let shown = open_task.get_untracked();
            set(&[("task", String::new())]);
            if let Some(id) = shown {
                focus_card(id, ".card-title");
            }
        }),
    };
    let people = moves.people;
    let filters = Memo::new(move |_| query.with(Filters::from_query));
    let view_name = Memo::new(move |_| query.with(|q| q.get("view").unwrap_or_default()));
    let filtered = Memo::new(move |_| {
        let now = crate::ui::form::now();
        filters.with(|f| cards.with(|all| all.iter().filter(|c| f.matches(c, now)).cloned().collect::<Vec<_>>()))
    });
    let show_trash = RwSignal::new(false);
    let done = move || cards.with(|all| all.iter().filter(|c| c.status == TaskStatus::Done).count());
    let total = move || cards.with(Vec::len);
    let heading = match &project.emoji {
        Some(emoji) => format!("{emoji} {}", project.title),
        None => project.title.clone(),
    };
    view! {
        <Title text=format!("{} · Flowdeck", project.title)/>
        <header class="page-header board-header">
            <div>
                <p class="eyebrow"><a href=format!("/w/{workspace_id}/projects")>"Projects"</a></p>
                <h1>{heading}</h1>
                {(!project.description.is_empty()).then(|| view! { <p class="muted">{project.description.clone()}</p> })}
            </div>
            <div class="row">
                <p class="board-progress" data-testid="board-progress">{move || format!("{} of {} done", done(), total())}</p>
                <button type="button" class="ghost" aria-expanded=move || show_trash.get().to_string() on:click=move |_| show_trash.update(|t| *t = !*t)>
                    "Trash"
                </button>
            </div>
        </header>
        {move || show_trash.get().then(|| view! { <Trash project_id can_purge links/> })}
        {project.archived.then(|| view! {
            <p class="notice" role="status">"This project is archived: its board is read-only until it is restored."</p>
        })}
        <p id="board-help" class="sr-only">
            "To move a card, press Space or Enter on its handle, use the arrow keys to choose its place, and press Space or Enter to drop it; Escape cancels."
        </p>
        <div class="sr-only" aria-live="assertive" data-testid="board-announce">{move || moves.announce.get()}</div>
        <Toolbar path people/>
        {move || filters.with(|f| !f.is_empty()).then(|| view! {
            <p class="muted filtered" role="status">{move || format!("{} of {} tasks match the filters.", filtered.with(Vec::len), cards.with(Vec::len))}</p>
        })}
        {move || match view_name.get().as_str() {
            "list" => view! { <ListView shown=filtered people/> }.into_any(),
            "table" => view! { <TableView shown=filtered people workspace_id can_edit changed=links.changed/> }.into_any(),
            _ => view! {
                <div class="board" node_ref=board_ref class:dragging=move || drag.with(|d| d.as_ref().is_some_and(|d| !d.keyboard))>
                    {TaskStatus::ALL
                        .into_iter()
                        .map(|status| view! { <Column status moves project_id filtered/> })
                        .collect_view()}
                </div>
            }.into_any(),
        }}
        {move || open_task.get().map(|task_id| view! { <TaskPanel task_id people links/> })}
        {move || {
            drag.get().filter(|d| !d.keyboard).map(|d| {
                view! {
                    <div class="drag-ghost" aria-hidden="true" style=move || format!("left:{}px;top:{}px", ghost.get().0, ghost.get().1)>
                        {d.title}
                    </div>
                }
            })
        }}
    }
}

/// Columns longer than this draw a window of their cards.
const VIRTUAL_FROM: usize = 120;
/// A card's height with the gap below it, as a window of cards reckons (cards with a long title
/// are taller; the spacers only need to be about right).
const CARD_HEIGHT: f64 = 78.0;
/// Cards drawn above and below the visible ones.
const OVERSCAN: usize = 8;
/// Visible cards assumed until the list is measured (a tall screen).
const VISIBLE_GUESS: usize = 14;

#[component]
fn Column(status: TaskStatus, moves: Moves, project_id: Uuid, filtered: Memo<Vec<Card>>) -> impl IntoView {
    let shown =
        Memo::new(move |_| filtered.with(|all| all.iter().filter(|c| c.status == status).cloned().collect::<Vec<_>>()));
    let heading = format!("column-{}", status.as_str());
    let labelled_by = heading.clone();
    let drop_at_end =
        move || moves.drag.with(|d| d.as_ref().is_some_and(|d| d.target == Target { status, before: None }));
    // A long column draws only the cards in (and near) its visible part, between two spacers.
    let list = NodeRef::<html::Ol>::new();
    let first = RwSignal::new(0usize);
    let visible = RwSignal::new(VISIBLE_GUESS);
    let window = move || {
        let n = shown.with(Vec::len);
        if n <= VIRTUAL_FROM {
            return (0, n);
        }
        let start = first.get().min(n);
        (start, (start + visible.get() + 2 * OVERSCAN).min(n))
    };
    let on_scroll = move |_| {
        let Some(list) = list.get_untracked() else { return };
        let start = ((f64::from(list.scroll_top()) / CARD_HEIGHT) as usize).saturating_sub(OVERSCAN);
        let rows = (f64::from(list.client_height()) / CARD_HEIGHT).ceil() as usize;
        if first.get_untracked() != start {
            first.set(start);
        }
        if visible.get_untracked() != rows.max(1) {
            visible.set(rows.max(1));
        }
    };
    let spacer = |cards: usize| {
        (cards > 0).then(|| {
            view! { <li class="spacer" aria-hidden="true" style=format!("height:{}px", cards as f64 * CARD_HEIGHT)></li> }
        })
    };
    view! {
        <section class="column" data-status=status.as_str() aria-labelledby=labelled_by data-testid="column">
            <header class="column-header">
                <h2 id=heading>{status.label()}</h2>
                <span class="count">
                    {move || shown.with(Vec::len)}
                    <span class="sr-only">{move || if shown.with(Vec::len) == 1 { " task" } else { " tasks" }}</span>
                </span>
            </header>
            <ol class="cards" node_ref=list on:scroll=on_scroll>
                {move || spacer(window().0)}
                <For
                    each=move || {
                        let (start, end) = window();
                        shown.with(|all| all[start..end].to_vec())
                    }
                    key=|c| (c.id, c.title.clone(), c.priority, c.due_at, c.assignee_id)
                    let:card
                >
                    <CardItem card moves/>
                </For>
                {move || {
                    let (_, end) = window();
                    spacer(shown.with(Vec::len) - end)
                }}
                {move || drop_at_end().then(|| view! { <li class="placeholder" aria-hidden="true"></li> })}
                {move || shown.with(Vec::is_empty).then(|| view! { <li class="column-empty muted">"No tasks"</li> })}
            </ol>
            {moves.can_edit.then(|| view! { <AddTask status moves project_id/> })}
        </section>
    }
}

#[component]
fn CardItem(card: Card, moves: Moves) -> impl IntoView {
    let id = card.id;
    let title = card.title.clone();
    let drop_before =
        move || moves.drag.with(|d| d.as_ref().is_some_and(|d| d.target.before == Some(id) && d.id != id));
    let moving = move || moves.drag.with(|d| d.as_ref().is_some_and(|d| d.id == id));
    let picked = move || moves.drag.with(|d| d.as_ref().is_some_and(|d| d.id == id && d.keyboard));
    let priority = card.priority;
    let open = use_context::<OpenTask>();
    let assignee = card
        .assignee_id
        .and_then(|a| moves.people.with_value(|people| people.iter().find(|p| p.id == a).map(|p| p.name.clone())));
    view! {
        {move || drop_before().then(|| view! { <li class="placeholder" aria-hidden="true"></li> })}
        <li
            class="task-card"
            data-id=id.to_string()
            data-testid="card"
            class:moving=moving
            class:picked=picked
            on:pointerdown=move |ev: ev::PointerEvent| {
                moves.dragged.set_value(false);
                if moves.can_edit && ev.button() == 0 && ev.is_primary() {
                    if moves.drag.get_untracked().is_some_and(|d| d.keyboard) {
                        moves.drop_keyboard_pick();
                    }
                    moves.press.set_value(Some(Press { id, x: ev.client_x(), y: ev.client_y() }));
                }
            }
        >
            {moves.can_edit.then(|| {
                let title = title.clone();
                view! {
                    <button
                        type="button"
                        class="card-handle"
                        aria-label=format!("Move “{title}”")
                        aria-describedby="board-help"
                        on:keydown={
                            let title = title.clone();
                            move |ev: ev::KeyboardEvent| {
                                // Space and Enter pick the card up or drop it (pointers drag instead).
                                let key = ev.key();
                                if key == " " || key == "Enter" {
                                    ev.prevent_default();
                                    if !ev.repeat() {
                                        moves.toggle(id, &title);
                                    }
                                } else if moves.arrow(id, &key) {
                                    ev.prevent_default();
                                }
                            }
                        }
                        on:blur=move |_| {
                            // Focus went elsewhere (a click, Tab): the pick-up ends where it was.
                            // `try_`: Chromium sends it too when the board goes away with the handle focused.
                            if moves.drag.try_get_untracked().flatten().is_some_and(|d| d.keyboard && d.id == id) {
                                moves.drop_keyboard_pick();
                            }
                        }
                    >
                        <svg viewBox="0 0 10 16" aria-hidden="true"><circle cx="2" cy="3" r="1.5"/><circle cx="8" cy="3" r="1.5"/><circle cx="2" cy="8" r="1.5"/><circle cx="8" cy="8" r="1.5"/><circle cx="2" cy="13" r="1.5"/><circle cx="8" cy="13" r="1.5"/></svg>
                    </button>
                }
            })}
            <div class="card-body">
                <a
                    class="card-title"
                    href=format!("?task={id}")
                    draggable="false"
                    on:click=move |ev: ev::MouseEvent| {
                        if moves.dragged.get_value() {
                            moves.dragged.set_value(false);
                            ev.prevent_default();
                        } else {
                            open_task_link(&ev, id, open);
                        }
                    }
                >
                    {card.title.clone()}
                </a>
                <span class="card-meta">
                    <span class=format!("priority priority-{}", priority.as_str())>{priority.label()}</span>
                    {card.due_at.map(|d| view! { <span class="due">"Due " {short_date(&d)}</span> })}
                    {assignee.map(|name| view! {
                        <span class="avatar small" title=name.clone()>
                            <span aria-hidden="true">{initials(&name)}</span>
                            <span class="sr-only">{format!("Assigned to {name}")}</span>
                        </span>
                    })}
                </span>
            </div>
        </li>
    }
}

#[component]
fn AddTask(status: TaskStatus, moves: Moves, project_id: Uuid) -> impl IntoView {
    let title = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let input_id = format!("add-{}", status.as_str());
    let workspace_id = moves.workspace_id;
    let cards = moves.cards;
    let submit = move |ev: ev::SubmitEvent| {
        ev.prevent_default();
        let text = title.get_untracked();
        if text.trim().is_empty() || busy.get_untracked() {
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match create_task(workspace_id, project_id, text, status).await {
                Ok(card) => {
                    cards.try_update(|all| upsert(all, card));
                    title.try_set(String::new());
                    error.try_set(None);
                }
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
            busy.try_set(false);
        });
    };
    view! {
        <form class="add-task" on:submit=submit>
            <label class="sr-only" for=input_id.clone()>{format!("New task in {}", status.label())}</label>
            <input
                id=input_id
                placeholder="Add a task"
                maxlength="200"
                autocomplete="off"
                prop:value=move || title.get()
                on:input=move |ev| title.set(event_target_value(&ev))
            />
            <button type="submit" disabled=move || busy.get()>"Add"</button>
            {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(title: &str, status: TaskStatus, rank: &str) -> Card {
        Card {
            id: Uuid::now_v7(),
            project_id: Uuid::nil(),
            title: title.into(),
            status,
            priority: crate::boards::model::TaskPriority::Medium,
            rank: rank.into(),
            assignee_id: None,
            due_at: None,
            updated_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn arrows_walk_a_card_through_columns_and_places() {
        let a = card("a", TaskStatus::Todo, "80");
        let b = card("b", TaskStatus::Todo, "81");
        let c = card("c", TaskStatus::InProgress, "80");
        let mut all = vec![a.clone(), c.clone()];
        upsert(&mut all, b.clone());
        assert_eq!(all.iter().map(|c| c.title.as_str()).collect::<Vec<_>>(), ["a", "c", "b"]);
        let at = target_of(&all, a.id).expect("a is on the board");
        assert_eq!(at, Target { status: TaskStatus::Todo, before: Some(b.id) });
        assert_eq!(describe(&all, a.id, at), "To do, position 1 of 2");
        let down = step(&all, a.id, at, "ArrowDown");
        assert_eq!(down, Target { status: TaskStatus::Todo, before: None });
        assert_eq!(step(&all, a.id, down, "ArrowDown"), down);
        let right = step(&all, a.id, at, "ArrowRight");
        assert_eq!(right, Target { status: TaskStatus::InProgress, before: Some(c.id) });
        assert_eq!(describe(&all, a.id, right), "In progress, position 1 of 2");
        assert_eq!(step(&all, a.id, at, "ArrowLeft"), at, "no column left of To do");
    }
}
