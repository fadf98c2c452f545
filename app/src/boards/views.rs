//! What a board shows besides its columns: the filters (text, assignee, priority, due) and the
//! view (board, list grouped by status / assignee / priority, sortable table with inline edits),
//! all kept in the page's address, so a filtered view can be shared and survives a reload.

use chrono::{DateTime, Duration, Utc};
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;
use uuid::Uuid;

use crate::boards::api::{move_task, update_task};
use crate::boards::model::{Card, Person, TaskEdit, TaskPriority, TaskStatus};
use crate::ui::form::short_date;
use crate::ui::toast::report;

/// Opens a task's panel (the board provides it to its views).
#[derive(Clone, Copy)]
pub struct OpenTask(pub Callback<Uuid>);

/// Which cards are shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filters {
    pub text: String,
    /// A member's id, or `none` (unassigned).
    pub assignee: Option<String>,
    pub priority: Option<TaskPriority>,
    /// `overdue`, `week` (due within 7 days) or `none` (no due day).
    pub due: Option<String>,
}

impl Filters {
    pub fn from_query(query: &ParamsMap) -> Filters {
        let given = |key: &str| query.get(key).filter(|v| !v.is_empty());
        Filters {
            text: query.get("q").unwrap_or_default(),
            assignee: given("assignee"),
            priority: given("priority").and_then(|p| TaskPriority::parse(&p)),
            due: given("due"),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Filters::default()
    }

    pub fn matches(&self, card: &Card, now: DateTime<Utc>) -> bool {
        let text = self.text.trim().to_lowercase();
        let assignee = match self.assignee.as_deref() {
            None => true,
            Some("none") => card.assignee_id.is_none(),
            Some(id) => card.assignee_id.is_some_and(|a| a.to_string() == id),
        };
        let due = match self.due.as_deref() {
            // Due on a day: overdue from the next one.
            Some("overdue") => {
                card.due_at.is_some_and(|d| d.date_naive() < now.date_naive()) && card.status != TaskStatus::Done
            }
            Some("week") => card.due_at.is_some_and(|d| d >= now - Duration::days(1) && d <= now + Duration::days(7)),
            Some("none") => card.due_at.is_none(),
            _ => true,
        };
        assignee
            && due
            && self.priority.is_none_or(|p| p == card.priority)
            && (text.is_empty() || card.title.to_lowercase().contains(&text))
    }
}

/// The page's address with each `key` set to its value (taken out when empty).
fn with_params(query: &ParamsMap, path: &str, pairs: &[(&'static str, String)]) -> String {
    let mut next = query.clone();
    for (key, value) in pairs {
        next.remove(key);
        if !value.is_empty() {
            // `insert` unescapes what it is given.
            next.insert(*key, leptos_router::location::Url::escape(value));
        }
    }
    format!("{path}{}", next.to_query_string())
}

/// Sets parameters of the address at once (replacing the history entry: filters are not pages).
pub fn set_params(path: &str) -> impl Fn(&[(&'static str, String)]) + Clone + 'static {
    let query = use_query_map();
    let navigate = use_navigate();
    let path = path.to_owned();
    move |pairs| {
        let to = query.with_untracked(|q| with_params(q, &path, pairs));
        navigate(&to, leptos_router::NavigateOptions { replace: true, scroll: false, ..Default::default() });
    }
}

/// Sets parameters of the address, adding a history entry (opening a task is a page).
pub fn open_params(path: &str) -> impl Fn(&[(&'static str, String)]) + Clone + 'static {
    let query = use_query_map();
    let navigate = use_navigate();
    let path = path.to_owned();
    move |pairs| {
        let to = query.with_untracked(|q| with_params(q, &path, pairs));
        navigate(&to, leptos_router::NavigateOptions { scroll: false, ..Default::default() });
    }
}

/// Sets one parameter of the address.
pub fn set_param(path: &str) -> impl Fn(&'static str, String) + Clone + 'static {
    let set = set_params(path);
    move |key, value| set(&[(key, value)])
}

/// The filter bar and the view switch.
#[component]
pub fn Toolbar(path: String, people: StoredValue<Vec<Person>>) -> impl IntoView {
    let query = use_query_map();
    let set = set_param(&path);
    let current = move |key: &'static str| query.with(|q| q.get(key).unwrap_or_default());
    let view_of = move || current("view");
    let option = move |key: &'static str, value: &'static str, label: &'static str| {
        view! { <option value=value selected=move || current(key) == value>{label}</option> }
    };
    let (s1, s2, s3, s4, s5) = (set.clone(), set.clone(), set.clone(), set.clone(), set.clone());
    view! {
        <div class="row toolbar board-toolbar" role="search" aria-label="Filter tasks">
            <input
                type="search"
                aria-label="Filter by title"
                placeholder="Filter by title"
                prop:value=move || current("q")
                on:change=move |ev| s1("q", event_target_value(&ev))
            />
            <select aria-label="Assignee" on:change=move |ev| s2("assignee", event_target_value(&ev))>
                {option("assignee", "", "Anyone")}
                {option("assignee", "none", "Unassigned")}
                {people.get_value().into_iter().map(|p| {
                    let id = p.id.to_string();
                    let value = id.clone();
                    view! { <option value=value selected=move || current("assignee") == id>{p.name}</option> }
                }).collect_view()}
            </select>
            <select aria-label="Priority" on:change=move |ev| s3("priority", event_target_value(&ev))>
                {option("priority", "", "Any priority")}
                {TaskPriority::ALL.into_iter().map(|p| option("priority", p.as_str(), p.label())).collect_view()}
            </select>
            <select aria-label="Due" on:change=move |ev| s4("due", event_target_value(&ev))>
                {option("due", "", "Any due day")}
                {option("due", "overdue", "Overdue")}
                {option("due", "week", "Due this week")}
                {option("due", "none", "No due day")}
            </select>
            <div class="segmented" role="group" aria-label="View">
                {[("", "Board"), ("list", "List"), ("table", "Table")].into_iter().map(|(value, label)| {
                    let s5 = s5.clone();
                    view! {
                        <button type="button" aria-pressed=move || (view_of() == value).to_string() on:click=move |_| s5("view", value.to_owned())>
                            {label}
                        </button>
                    }
                }).collect_view()}
            </div>
        </div>
    }
}

fn name_of(people: &[Person], id: Option<Uuid>) -> String {
    id.and_then(|id| people.iter().find(|p| p.id == id)).map_or_else(|| "Unassigned".to_owned(), |p| p.name.clone())
}

/// Rows a list or table draws at first; "Show more" adds as many.
const ROWS: usize = 300;

/// The cards as a list, grouped by status, assignee or priority (`?group=`).
#[component]
pub fn ListView(shown: Memo<Vec<Card>>, people: StoredValue<Vec<Person>>) -> impl IntoView {
    let query = use_query_map();
    let open = use_context::<OpenTask>();
    let group = move || query.with(|q| q.get("group").unwrap_or_default());
    let groups = move || {
        let by = group();
        let all = shown.get();
        let mut out: Vec<(String, Vec<Card>)> = Vec::new();
        let mut put = |key: String, card: Card| match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, cards)) => cards.push(card),
            None => out.push((key, vec![card])),
        };
        match by.as_str() {
            "assignee" => {
                let names = people.get_value();
                let mut all: Vec<(String, Card)> =
                    all.into_iter().map(|c| (name_of(&names, c.assignee_id), c)).collect();
                all.sort_by(|a, b| a.0.cmp(&b.0));
                all.into_iter().for_each(|(name, c)| put(name, c));
            }
            "priority" => {
                let mut all = all;
                all.sort_by_key(|c| std::cmp::Reverse(c.priority));
                all.into_iter().for_each(|c| put(c.priority.label().to_owned(), c));
            }
            _ => {
                let mut all = all;
                all.sort_by_key(|c| c.status.column());
                all.into_iter().for_each(|c| put(c.status.label().to_owned(), c));
            }
        }
        out
    };
    let set = set_param(&leptos_router::hooks::use_location().pathname.get_untracked());
    let limit = RwSignal::new(ROWS);
    view! {
        <div class="list-view" data-testid="list-view">
            <label class="inline">
                "Group by "
                <select on:change=move |ev| set("group", event_target_value(&ev))>
                    {[("", "Status"), ("assignee", "Assignee"), ("priority", "Priority")].into_iter().map(|(value, label)| {
                        view! { <option value=value selected=move || group() == value>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            {move || {
                let mut left = limit.get();
                groups().into_iter().map(|(heading, cards)| {
                    let count = cards.len();
                    let take = cards.into_iter().take(left).collect::<Vec<_>>();
                    left -= take.len();
                    view! {
                        <section class="list-group">
                            <h2>{heading} <span class="count">{count}</span></h2>
                            <ul>
                                {take.into_iter().map(|c| view! {
                                    <li>
                                        <a href=format!("?task={}", c.id) on:click=move |ev| crate::boards::board::open_task_link(&ev, c.id, open)>{c.title.clone()}</a>
                                        <span class=format!("priority priority-{}", c.priority.as_str())>{c.priority.label()}</span>
                                        <span class="muted">{c.status.label()}</span>
                                        <span class="muted">{people.with_value(|p| name_of(p, c.assignee_id))}</span>
                                        {c.due_at.map(|d| view! { <span class="due">"Due " {short_date(&d)}</span> })}
                                    </li>
                                }).collect_view()}
                            </ul>
                        </section>
                    }
                }).collect_view()
            }}
            <More shown limit/>
        </div>
    }
}

#[component]
fn More(shown: Memo<Vec<Card>>, limit: RwSignal<usize>) -> impl IntoView {
    move || {
        let total = shown.with(Vec::len);
        (total > limit.get()).then(|| {
            view! {
                <p class="muted">
                    {format!("Showing {} of {total} tasks. ", limit.get())}
                    <button type="button" class="ghost" on:click=move |_| limit.update(|l| *l += ROWS)>"Show more"</button>
                </p>
            }
        })
    }
}

/// The cards as a table sorted by a column (`?sort=`, `?dir=desc`); status and priority are
/// edited in place.
#[component]
pub fn TableView(
    shown: Memo<Vec<Card>>,
    people: StoredValue<Vec<Person>>,
    workspace_id: Uuid,
    can_edit: bool,
    changed: Callback<Card>,
) -> impl IntoView {
    let query = use_query_map();
    let open = use_context::<OpenTask>();
    let sort = move || query.with(|q| q.get("sort").unwrap_or_else(|| "status".into()));
    let descending = move || query.with(|q| q.get("dir").as_deref() == Some("desc"));
    let set = set_params(&leptos_router::hooks::use_location().pathname.get_untracked());
    let limit = RwSignal::new(ROWS);
    let rows = move || {
        let mut all = shown.get();
        match sort().as_str() {
            "title" => all.sort_by_key(|c| c.title.to_lowercase()),
            "priority" => all.sort_by_key(|c| c.priority),
            "assignee" => all.sort_by_key(|c| people.with_value(|p| name_of(p, c.assignee_id))),
            "due" => all.sort_by_key(|c| (c.due_at.is_none(), c.due_at)),
            _ => all.sort_by_key(|c| c.status.column()),
        }
        if descending() {
            all.reverse();
        }
        all.truncate(limit.get());
        all
    };
    let header = move |key: &'static str, label: &'static str| {
        let set = set.clone();
        let sorted = move || sort() == key;
        view! {
            <th scope="col" aria-sort=move || if !sorted() { "none" } else if descending() { "descending" } else { "ascending" }>
                <button type="button" class="ghost" on:click=move |_| {
                    let flip = sort() == key && !descending();
                    set(&[("sort", key.to_owned()), ("dir", if flip { "desc".to_owned() } else { String::new() })]);
                }>
                    {label}
                    {move || sorted().then(|| if descending() { " ↓" } else { " ↑" })}
                </button>
            </th>
        }
    };
    let edit_priority = move |id: Uuid, priority: TaskPriority| {
        spawn_local(async move {
            match update_task(workspace_id, id, TaskEdit::Priority(priority)).await {
                Ok(card) => {
                    changed.try_run(card);
                }
                Err(e) => report(&e),
            }
        });
    };
    let edit_status = move |id: Uuid, status: TaskStatus| {
        spawn_local(async move {
            match move_task(workspace_id, id, status, None, None).await {
                Ok(card) => {
                    changed.try_run(card);
                }
                Err(e) => report(&e),
            }
        });
    };
    view! {
        <div class="table-view" data-testid="table-view">
            <table>
                <thead>
                    <tr>
                        {header("title", "Title")}
                        {header("status", "Status")}
                        {header("priority", "Priority")}
                        {header("assignee", "Assignee")}
                        {header("due", "Due")}
                    </tr>
                </thead>
                <tbody>
                    <For each=rows key=|c| (c.id, c.status, c.priority, c.title.clone(), c.assignee_id, c.due_at) let:c>
                        {
                            let id = c.id;
                            let title = c.title.clone();
                            view! {
                                <tr>
                                    <td><a href=format!("?task={id}") on:click=move |ev| crate::boards::board::open_task_link(&ev, id, open)>{c.title.clone()}</a></td>
                                    <td>
                                        <select aria-label=format!("Status of “{title}”") disabled=!can_edit on:change=move |ev| {
                                            if let Some(s) = TaskStatus::parse(&event_target_value(&ev)) {
                                                edit_status(id, s);
                                            }
                                        }>
                                            {TaskStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str() selected=s == c.status>{s.label()}</option> }).collect_view()}
                                        </select>
                                    </td>
                                    <td>
                                        <select aria-label=format!("Priority of “{title}”") disabled=!can_edit on:change=move |ev| {
                                            if let Some(p) = TaskPriority::parse(&event_target_value(&ev)) {
                                                edit_priority(id, p);
                                            }
                                        }>
                                            {TaskPriority::ALL.into_iter().map(|p| view! { <option value=p.as_str() selected=p == c.priority>{p.label()}</option> }).collect_view()}
                                        </select>
                                    </td>
                                    <td>{people.with_value(|p| name_of(p, c.assignee_id))}</td>
                                    <td>{c.due_at.map(|d| short_date(&d)).unwrap_or_default()}</td>
                                </tr>
                            }
                        }
                    </For>
                </tbody>
            </table>
            <More shown limit/>
        </div>
    }
}
