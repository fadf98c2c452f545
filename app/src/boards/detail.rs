//! A task's detail panel, over its board (`?task=<id>`; full screen at phone width): title,
//! status, priority, assignee, start and due days, estimate, the markdown description (rendered
//! and sanitised on the server; an edit based on an older version shows both texts instead of
//! overwriting), who reported it, and the trash.

use leptos::ev;
use leptos::prelude::*;
use leptos::task::spawn_local;
use uuid::Uuid;

use crate::boards::api::{delete_task, describe_task, list_trash, load_task, move_task, purge_task, update_task};
use crate::boards::model::{Card, Person, TaskDetail, TaskEdit, TaskPriority, TaskStatus};
use crate::error::AppError;
use crate::ui::form::{confirm, short_date};
use crate::ui::toast::report;

/// What the panel tells its board: a card changed (or left it).
#[derive(Clone, Copy)]
pub struct PanelLinks {
    pub workspace_id: Uuid,
    pub can_edit: bool,
    /// Puts a changed card on the board.
    pub changed: Callback<Card>,
    /// The card went to the trash.
    pub removed: Callback<Uuid>,
    pub close: Callback<()>,
}

#[component]
pub fn TaskPanel(task_id: Uuid, people: StoredValue<Vec<Person>>, links: PanelLinks) -> impl IntoView {
    let workspace_id = links.workspace_id;
    let refresh = RwSignal::new(0u32);
    let detail = LocalResource::new(move || {
        refresh.track();
        load_task(workspace_id, task_id)
    });
    let on_key = move |ev: ev::KeyboardEvent| {
        if ev.key() == "Escape" {
            ev.stop_propagation();
            links.close.try_run(());
        }
    };
    view! {
        <div class="task-panel" role="dialog" aria-label="Task" data-testid="task-panel" on:keydown=on_key>
            {move || match detail.get() {
                None => view! { <p class="loading" aria-live="polite">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! {
                    <div class="panel-head">
                        <h2 id="task-panel-title">"Task"</h2>
                        <button type="button" class="ghost" on:click=move |_| {
                links.close.try_run(());
            }>"Close"</button>
                    </div>
                    <p class="form-error" role="alert">{if e == AppError::NotFound { "This task does not exist (any more).".to_owned() } else { e.to_string() }}</p>
                }.into_any(),
                Some(Ok(task)) => view! { <Detail task people links refresh/> }.into_any(),
            }}
        </div>
    }
}

/// Saves one field; the board gets the changed card, or the error is shown.
fn save(links: PanelLinks, task_id: Uuid, edit: TaskEdit, refresh: RwSignal<u32>) {
    spawn_local(async move {
        match update_task(links.workspace_id, task_id, edit).await {
            Ok(card) => {
                links.changed.try_run(card);
            }
            Err(e) => {
                report(&e);
                refresh.try_update(|n| *n += 1);
            }
        }
    });
}

/// A day of the task (start, due): a date input; clearing it clears the day.
#[component]
fn DayField(
    label: &'static str,
    value: Option<chrono::DateTime<chrono::Utc>>,
    editable: bool,
    on_day: impl Fn(Option<chrono::NaiveDate>) + 'static,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input
                type="date"
                disabled=!editable
                value=value.map(|t| t.date_naive().to_string()).unwrap_or_default()
                on:change=move |ev| on_day(event_target_value(&ev).parse().ok())
            />
        </label>
    }
}

#[component]
fn Detail(
    task: TaskDetail,
    people: StoredValue<Vec<Person>>,
    links: PanelLinks,
    refresh: RwSignal<u32>,
) -> impl IntoView {
    let id = task.card.id;
    let editable = links.can_edit && task.deleted_at.is_none();
    let card = task.card.clone();
    let title = RwSignal::new(card.title.clone());
    let title_input = NodeRef::<leptos::html::Input>::new();
    // Focus moves into the panel when it opens (Escape closes it, and focus goes back to the card).
    Effect::new(move |_| {
        if let Some(input) = title_input.get() {
            let _ = input.focus();
        }
    });
    let saved_title = StoredValue::new(card.title.clone());
    // Also run by the blur Chromium sends when the panel closes with the title focused, after the
    // panel's signals are gone: hence `try_`.
    let commit_title = move || {
        let (Some(text), Some(saved)) = (title.try_get_untracked(), saved_title.try_get_value()) else { return };
        if text.trim().is_empty() {
            title.try_set(saved);
        } else if text != saved {
            saved_title.set_value(text.clone());
            save(links, id, TaskEdit::Title(text), refresh);
        }
    };
    let status_change = move |ev: ev::Event| {
        let Some(status) = TaskStatus::parse(&event_target_value(&ev)) else { return };
        spawn_local(async move {
            match move_task(links.workspace_id, id, status, None, None).await {
                Ok(card) => {
                    links.changed.try_run(card);
                }
                Err(e) => report(&e),
            }
        });
    };
    let trash = move |_| {
        if confirm("Move this task to the trash? You can restore it from the board's Trash.") {
            spawn_local(async move {
                match delete_task(links.workspace_id, id, true).await {
                    Ok(_) => {
                        links.removed.try_run(id);
                        links.close.try_run(());
                    }
                    Err(e) => report(&e),
                }
            });
        }
    };
    let restore = move |_| {
        spawn_local(async move {
            match delete_task(links.workspace_id, id, false).await {
                Ok(card) => {
                    links.changed.try_run(card);
                    refresh.try_update(|n| *n += 1);
                }
                Err(e) => report(&e),
            }
        });
    };
    let assignee = card.assignee_id.map(|a| a.to_string()).unwrap_or_default();
    view! {
        <div class="panel-head">
            <h2 id="task-panel-title" class="sr-only">{card.title.clone()}</h2>
            <input
                node_ref=title_input
                class="task-title-input"
                aria-label="Title"
                maxlength="200"
                disabled=!editable
                prop:value=move || title.get()
                on:input=move |ev| title.set(event_target_value(&ev))
                on:blur=move |_| commit_title()
                on:keydown=move |ev: ev::KeyboardEvent| {
                    if ev.key() == "Enter" {
                        commit_title();
                    }
                }
            />
            <button type="button" class="ghost" on:click=move |_| {
                links.close.try_run(());
            }>"Close"</button>
        </div>
        {task.deleted_at.map(|at| view! {
            <p class="notice" role="status">
                "In the trash since " {short_date(&at)} ". "
                {links.can_edit.then(|| view! { <button type="button" on:click=restore>"Restore"</button> })}
            </p>
        })}
        <div class="task-fields">
            <label>
                "Status"
                <select disabled=!editable on:change=status_change>
                    {TaskStatus::ALL.into_iter().map(|s| view! { <option value=s.as_str() selected=s == card.status>{s.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>
                "Priority"
                <select
                    disabled=!editable
                    on:change=move |ev| {
                        if let Some(p) = TaskPriority::parse(&event_target_value(&ev)) {
                            save(links, id, TaskEdit::Priority(p), refresh);
                        }
                    }
                >
                    {TaskPriority::ALL.into_iter().map(|p| view! { <option value=p.as_str() selected=p == card.priority>{p.label()}</option> }).collect_view()}
                </select>
            </label>
            <label>
                "Assignee"
                <select
                    disabled=!editable
                    on:change=move |ev| {
                        let person = event_target_value(&ev).parse::<Uuid>().ok();
                        save(links, id, TaskEdit::Assignee(person), refresh);
                    }
                >
                    <option value="" selected=assignee.is_empty()>"Unassigned"</option>
                    {people.get_value().into_iter().map(|p| {
                        let value = p.id.to_string();
                        let selected = value == assignee;
                        view! { <option value=value selected=selected>{p.name}</option> }
                    }).collect_view()}
                </select>
            </label>
            <DayField label="Start" value=task.start_at editable on_day=move |day| save(links, id, TaskEdit::Start(day), refresh)/>
            <DayField label="Due" value=card.due_at editable on_day=move |day| save(links, id, TaskEdit::Due(day), refresh)/>
            <label>
                "Estimate (minutes)"
                <input
                    type="number"
                    min="0"
                    max="525600"
                    disabled=!editable
                    value=task.estimate_minutes.map(|m| m.to_string()).unwrap_or_default()
                    on:change=move |ev| {
                        let text = event_target_value(&ev);
                        match text.trim().parse::<u32>() {
                            Ok(minutes) => save(links, id, TaskEdit::Estimate(Some(minutes)), refresh),
                            Err(_) if text.trim().is_empty() => save(links, id, TaskEdit::Estimate(None), refresh),
                            Err(_) => report(&AppError::validation("estimate", "The estimate is a whole number of minutes.")),
                        }
                    }
                />
            </label>
        </div>
        <Description task=task.clone() editable workspace_id=links.workspace_id/>
        <p class="muted task-meta">
            "Reported by " {task.reporter.clone()} " on " {short_date(&task.created_at)}
            {task.completed_at.map(|at| format!(" · done {}", short_date(&at)))}
        </p>
        {(editable).then(|| view! {
            <div class="panel-foot">
                <button type="button" class="ghost danger" on:click=trash>"Move to trash"</button>
            </div>
        })}
    }
}

/// Where the description editor is.
#[derive(Clone, PartialEq)]
enum Editing {
    No,
    Yes,
    /// Someone saved a newer version meanwhile: theirs (rendered, and its version) beside mine.
    Conflict {
        theirs: String,
        rendered: String,
        version: i32,
    },
}

#[component]
fn Description(task: TaskDetail, editable: bool, workspace_id: Uuid) -> impl IntoView {
    let id = task.card.id;
    let html = RwSignal::new(task.description_html.clone());
    let text = RwSignal::new(task.description.clone());
    let version = RwSignal::new(task.version);
    let draft = RwSignal::new(String::new());
    let editing = RwSignal::new(Editing::No);
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let submit = move |based_on: i32| {
        let mine = draft.get_untracked();
        busy.set(true);
        spawn_local(async move {
            match describe_task(workspace_id, id, mine.clone(), based_on).await {
                Ok(saved) => {
                    version.try_set(saved.version);
                    html.try_set(saved.html);
                    text.try_set(mine);
                    editing.try_set(Editing::No);
                    error.try_set(None);
                }
                Err(AppError::Conflict { message }) => match load_task(workspace_id, id).await {
                    // Someone saved meanwhile: both texts, nothing lost.
                    Ok(now) if now.version != based_on => {
                        let (theirs, rendered, version) = (now.description, now.description_html, now.version);
                        editing.try_set(Editing::Conflict { theirs, rendered, version });
                    }
                    // Refused for another reason (the trash, an archived project).
                    Ok(_) => {
                        error.try_set(Some(message));
                    }
                    Err(e) => {
                        error.try_set(Some(e.to_string()));
                    }
                },
                Err(e) => {
                    error.try_set(Some(e.to_string()));
                }
            }
            busy.try_set(false);
        });
    };
    view! {
        <section class="task-description" aria-labelledby="description-heading">
            <div class="row spread">
                <h3 id="description-heading">"Description"</h3>
                {move || (editable && editing.get() == Editing::No).then(|| view! {
                    <button type="button" class="ghost" on:click=move |_| {
                        draft.set(text.get_untracked());
                        editing.set(Editing::Yes);
                    }>"Edit"</button>
                })}
            </div>
            {move || match editing.get() {
                Editing::No => {
                    if text.with(String::is_empty) {
                        view! { <p class="muted">"No description."</p> }.into_any()
                    } else {
                        view! { <div class="markdown" data-testid="description" inner_html=move || html.get()></div> }.into_any()
                    }
                }
                Editing::Yes => view! {
                    <form on:submit=move |ev: ev::SubmitEvent| {
                        ev.prevent_default();
                        submit(version.get_untracked());
                    }>
                        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                        <label class="sr-only" for="description-input">"Description (markdown)"</label>
                        <textarea
                            id="description-input"
                            rows="8"
                            maxlength="50000"
                            placeholder="Markdown: **bold**, _italic_, lists, [links](https://…), `code`"
                            prop:value=move || draft.get()
                            on:input=move |ev| draft.set(event_target_value(&ev))
                        ></textarea>
                        <div class="row">
                            <button type="submit" class="primary" disabled=move || busy.get()>"Save"</button>
                            <button type="button" class="ghost" on:click=move |_| editing.set(Editing::No)>"Cancel"</button>
                        </div>
                    </form>
                }.into_any(),
                Editing::Conflict { theirs, rendered, version: theirs_version } => {
                    let keep = theirs.clone();
                    view! {
                        <div class="conflict" role="alert" data-testid="description-conflict">
                            <p>"Someone saved a newer description while you were writing. Nothing was overwritten: choose which to keep."</p>
                            <div class="conflict-texts">
                                <div><h4>"Theirs (saved)"</h4><pre>{theirs.clone()}</pre></div>
                                <div><h4>"Yours"</h4><pre>{move || draft.get()}</pre></div>
                            </div>
                            <div class="row">
                                <button type="button" on:click=move |_| {
                                    // Theirs stays, as saved.
                                    text.set(keep.clone());
                                    html.set(rendered.clone());
                                    version.set(theirs_version);
                                    editing.set(Editing::No);
                                }>"Keep theirs"</button>
                                <button type="button" class="primary" disabled=move || busy.get() on:click=move |_| submit(theirs_version)>
                                    "Save mine over theirs"
                                </button>
                            </div>
                        </div>
                    }.into_any()
                }
            }}
        </section>
    }
}

/// The project's trash: restore a task, or (owners and admins) delete it for good.
#[component]
pub fn Trash(project_id: Uuid, can_purge: bool, links: PanelLinks) -> impl IntoView {
    let workspace_id = links.workspace_id;
    let refresh = RwSignal::new(0u32);
    let list = LocalResource::new(move || {
        refresh.track();
        list_trash(workspace_id, project_id)
    });
    let restore = move |id: Uuid| {
        spawn_local(async move {
            match delete_task(workspace_id, id, false).await {
                Ok(card) => {
                    links.changed.try_run(card);
                    refresh.try_update(|n| *n += 1);
                }
                Err(e) => report(&e),
            }
        });
    };
    let purge = move |id: Uuid, title: String| {
        if !confirm(&format!("Delete “{title}” for good? This cannot be undone.")) {
            return;
        }
        spawn_local(async move {
            match purge_task(workspace_id, id).await {
                Ok(()) => {
                    refresh.try_update(|n| *n += 1);
                }
                Err(e) => report(&e),
            }
        });
    };
    view! {
        <section class="panel trash" aria-label="Trash" data-testid="trash">
            <h2>"Trash"</h2>
            {move || match list.get() {
                None => view! { <p class="loading" aria-live="polite">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Some(Ok(cards)) if cards.is_empty() => view! { <p class="muted">"The trash is empty."</p> }.into_any(),
                Some(Ok(cards)) => view! {
                    <ul class="trash-list">
                        {cards.into_iter().map(|c| {
                            let (id, title) = (c.id, c.title.clone());
                            view! {
                                <li>
                                    <span>{c.title.clone()}</span>
                                    <span class="muted">{c.status.label()}</span>
                                    {links.can_edit.then(|| view! {
                                        <button type="button" on:click=move |_| restore(id)>"Restore"</button>
                                    })}
                                    {(links.can_edit && can_purge).then(|| {
                                        let title = title.clone();
                                        view! {
                                            <button type="button" class="ghost danger" on:click=move |_| purge(id, title.clone())>
                                                "Delete for good"
                                            </button>
                                        }
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            }}
        </section>
    }
}
