//! The side panel: the selected node's name and typed configuration form, the selected edge's
//! condition, or — with nothing selected — what keeps the workflow from being activated.

use leptos::prelude::*;
use serde_json::Value;
use uuid::Uuid;

use crate::workflows::editor::state::{Editor, NodeView};
use crate::workflows::editor::{EngineParts, Session, pretty};
use crate::workflows::graph::{Condition, Diagnostic, NAME_MAX, Operator, Policy};
use crate::workflows::kinds::{Field, Input, NodeConfig, NodeKind};

#[component]
pub fn Inspector(session: Session, diagnostics: Memo<Vec<Diagnostic>>) -> impl IntoView {
    let editor = session.editor;
    let single =
        Memo::new(move |_| editor.selected.with(|s| if s.len() == 1 { s.iter().next().copied() } else { None }));
    let many = move || editor.selected.with(|s| s.len());
    view! {
        <aside class="inspector" aria-label="Details">
            {move || {
                if let Some(node) = single.get().and_then(|id| editor.node(id)) {
                    view! { <NodeForm session node diagnostics/> }.into_any()
                } else if let Some(id) = editor.selected_edge.get() {
                    view! { <EdgeForm editor id/> }.into_any()
                } else if many() > 1 {
                    view! {
                        <h2>{format!("{} nodes selected", many())}</h2>
                        <p class="muted">"Drag to move them together, arrow keys nudge, Delete removes them, Ctrl+C copies."</p>
                    }
                        .into_any()
                } else {
                    view! { <Overview editor diagnostics/> }.into_any()
                }
            }}
        </aside>
    }
    .into_any()
}

#[component]
fn Overview(editor: Editor, diagnostics: Memo<Vec<Diagnostic>>) -> impl IntoView {
    let name_of =
        move |id: Option<Uuid>| id.and_then(|id| editor.node(id)).map(|n| n.data.with_untracked(|d| d.name.clone()));
    view! {
        <h2>"Workflow"</h2>
        {move || {
            let all = diagnostics.get();
            if all.is_empty() {
                view! { <p class="ok" data-testid="diagnostics">"Ready to activate: no problems found."</p> }.into_any()
            } else {
                view! {
                    <p class="muted">{format!("{} to fix before activating:", all.len())}</p>
                    <ul class="diagnostics" data-testid="diagnostics">
                        {all
                            .into_iter()
                            .map(|d| {
                                let node = d.node;
                                let title = name_of(node);
                                view! {
                                    <li>
                                        {title
                                            .map(|t| {
                                                view! {
                                                    <button type="button" class="link" on:click=move |_| {
                                                        if let Some(id) = node {
                                                            editor.select_only(id);
                                                        }
                                                    }>{t}</button>
                                                    ": "
                                                }
                                            })}
                                        {d.message}
                                    </li>
                                }
                            })
                            .collect_view()}
                    </ul>
                }
                    .into_any()
            }
        }}
        <h3>"Keyboard"</h3>
        <dl class="shortcuts">
            <dt>"Ctrl+S"</dt><dd>"Save"</dd>
            <dt>"Ctrl+Z, Ctrl+⇧Z"</dt><dd>"Undo / redo"</dd>
            <dt>"Ctrl+C, V, D"</dt><dd>"Copy / paste / duplicate"</dd>
            <dt>"Delete"</dt><dd>"Delete the selection"</dd>
            <dt>"Arrows"</dt><dd>"Nudge (Shift: further)"</dd>
            <dt>"Shift+drag"</dt><dd>"Select with a box"</dd>
            <dt>"Space+drag"</dt><dd>"Pan"</dd>
        </dl>
    }
}

/// The text a field shows for a JSON value.
fn shown(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

#[component]
fn NodeForm(session: Session, node: NodeView, diagnostics: Memo<Vec<Diagnostic>>) -> impl IntoView {
    let editor = session.editor;
    let kind = node.kind();
    let disabled = editor.read_only;
    let problems = move || {
        diagnostics
            .with(|all| all.iter().filter(|d| d.node == Some(node.id)).map(|d| d.message.clone()).collect::<Vec<_>>())
    };
    let fields = kind.fields().iter().map(|f| view! { <ConfigField editor node field=*f/> }).collect_view();
    view! {
        <div class="inspector-head">
            <svg class=format!("node-icon node-{}", kind.group().class()) viewBox="0 0 24 24" aria-hidden="true">
                <path d=kind.icon()></path>
            </svg>
            <div>
                <h2>{kind.label()}</h2>
                <p class="muted">{kind.description()}</p>
            </div>
        </div>
        <ul class="diagnostics">{move || problems().into_iter().map(|p| view! { <li>{p}</li> }).collect_view()}</ul>
        <form class="stack" on:submit=|ev| ev.prevent_default()>
            <label>
                "Name"
                <input
                    name="node-name"
                    maxlength=NAME_MAX
                    disabled=disabled
                    prop:value=move || node.data.with(|d| d.name.clone())
                    on:input=move |ev| {
                        let name = event_target_value(&ev);
                        node.data.update(|d| d.name = name);
                    }
                    on:change=move |_| editor.commit()
                />
            </label>
            {fields}
            {kind.reaches_out().then(|| view! { <PolicyFields editor node/> })}
            <PinnedData editor node/>
        </form>
        {(kind == NodeKind::Webhook && !disabled)
            .then(|| {
                let signed = Signal::derive(move || {
                    node.data.with(|d| matches!(&d.config, NodeConfig::Webhook(w) if w.require_signature))
                });
                (expect_context::<EngineParts>().webhook)(session, node.id, signed)
            })}
        {(!disabled)
            .then(|| {
                view! {
                    <button type="button" class="ghost danger" on:click=move |_| editor.delete_selection()>
                        "Delete node"
                    </button>
                }
            })}
    }
}

/// Pinned test data: the output runs started by hand take instead of running the node.
#[component]
fn PinnedData(editor: Editor, node: NodeView) -> impl IntoView {
    let disabled = editor.read_only;
    let pinned = Memo::new(move |_| node.data.with(|d| d.pinned.clone()));
    let draft = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let pin = move |_| match serde_json::from_str::<Value>(&draft.get_untracked()) {
        Ok(Value::Null) => error.set(Some("Pin a value: an object, a list, text or a number.".to_owned())),
        Ok(value) => {
            node.data.update(|d| d.pinned = Some(value));
            editor.commit();
            draft.set(String::new());
            error.set(None);
        }
        Err(e) => error.set(Some(format!("This is not valid JSON: {e}"))),
    };
    let unpin = move |_| {
        node.data.update(|d| d.pinned = None);
        editor.commit();
    };
    view! {
        <fieldset class="pinned-data">
            <legend>"Test data"</legend>
            {move || match pinned.get() {
                Some(value) => view! {
                    <p class="hint">"Pinned: runs started here take this as the step's output instead of running it. Runs a trigger starts ignore it."</p>
                    <pre class="json" data-testid="pinned">{pretty(&value)}</pre>
                    <button type="button" class="ghost" disabled=disabled on:click=unpin>"Unpin"</button>
                }
                .into_any(),
                None => view! {
                    <p class="hint">"Pin an output to try the steps after this one without running it (no call to the service, no email)."</p>
                    <textarea
                        name="pinned-data"
                        rows="3"
                        spellcheck="false"
                        disabled=disabled
                        placeholder="{\"status\": 200}"
                        prop:value=move || draft.get()
                        on:input=move |ev| draft.set(event_target_value(&ev))
                    ></textarea>
                    <button type="button" disabled=move || disabled || draft.with(|d| d.trim().is_empty()) on:click=pin>"Pin output"</button>
                    {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
                }
                .into_any(),
            }}
        </fieldset>
    }
}

/// Retries and timeout of a step that reaches another system.
#[component]
fn PolicyFields(editor: Editor, node: NodeView) -> impl IntoView {
    let disabled = editor.read_only;
    let error = Memo::new(move |_| node.data.with(|d| d.policy.problem()));
    let number = move |name: &'static str, label: &'static str, get: fn(&Policy) -> u32, put: fn(&mut Policy, u32)| {
        view! {
            <label>
                {label}
                <input
                    type="number"
                    min="0"
                    name=name
                    disabled=disabled
                    prop:value=move || node.data.with(|d| get(&d.policy).to_string())
                    on:input=move |ev| {
                        if let Ok(n) = event_target_value(&ev).trim().parse::<u32>() {
                            node.data.update(|d| put(&mut d.policy, n));
                        }
                    }
                    on:change=move |_| editor.commit()
                />
            </label>
        }
    };
    view! {
        <fieldset class="policy">
            <legend>"Retries and timeout"</legend>
            <div class="policy-grid">
                {number("policy-attempts", "Tries", |p| p.attempts, |p, n| p.attempts = n)}
                {number("policy-timeout", "Timeout per try (s, 0: none)", |p| p.timeout_secs, |p, n| p.timeout_secs = n)}
                {number("policy-backoff", "First wait (s)", |p| p.backoff_secs, |p, n| p.backoff_secs = n)}
                {number("policy-max-backoff", "Longest wait (s)", |p| p.max_backoff_secs, |p, n| p.max_backoff_secs = n)}
            </div>
            <p class="hint">"After a failed try the wait doubles, up to the longest, with some randomness."</p>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{format!("In retries: {e}")}</p> })}
        </fieldset>
    }
}

#[component]
fn ConfigField(editor: Editor, node: NodeView, field: Field) -> impl IntoView {
    let kind = node.kind();
    let key = field.key;
    let error = RwSignal::new(None::<String>);
    let current = move || node.data.with(|d| d.config.values().get(key).cloned());
    let set = move |value: Value| {
        let mut result = Ok(());
        node.data.update(|d| {
            let mut values = d.config.values();
            values.insert(key.to_owned(), value);
            match NodeConfig::from_values(kind, Value::Object(values)) {
                Ok(config) => d.config = config,
                Err(e) => result = Err(e),
            }
        });
        error.set(result.err());
    };
    let commit = move |_| editor.commit();
    let disabled = editor.read_only;
    let name = format!("config-{key}");
    let input = match field.input {
        Input::Text => view! {
            <input
                name=name
                disabled=disabled
                prop:value=move || shown(current().as_ref())
                on:input=move |ev| set(Value::String(event_target_value(&ev)))
                on:change=commit
            />
        }
        .into_any(),
        Input::Multiline => view! {
            <textarea
                name=name
                rows="4"
                disabled=disabled
                prop:value=move || shown(current().as_ref())
                on:input=move |ev| set(Value::String(event_target_value(&ev)))
                on:change=commit
            ></textarea>
        }
        .into_any(),
        Input::Lines => {
            // The text as typed (blank lines included); the config keeps the non-blank lines.
            let text = RwSignal::new(shown(current().as_ref()));
            Effect::new(move |_| {
                let stored = shown(current().as_ref());
                let typed = text.get_untracked();
                let typed_lines: Vec<&str> = typed.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                if typed_lines.join("\n") != stored {
                    text.set(stored);
                }
            });
            view! {
                <textarea
                    name=name
                    rows="3"
                    disabled=disabled
                    prop:value=move || text.get()
                    on:input=move |ev| {
                        let typed = event_target_value(&ev);
                        let lines = typed
                            .lines()
                            .map(str::trim)
                            .filter(|l| !l.is_empty())
                            .map(|l| Value::String(l.to_owned()))
                            .collect();
                        text.set(typed);
                        set(Value::Array(lines));
                    }
                    on:change=commit
                ></textarea>
            }
            .into_any()
        }
        Input::Number => view! {
            <input
                name=name
                type="number"
                min="0"
                step="1"
                inputmode="numeric"
                disabled=disabled
                prop:value=move || shown(current().as_ref())
                on:input=move |ev| {
                    match event_target_value(&ev).trim().parse::<u32>() {
                        Ok(n) => set(Value::from(n)),
                        Err(_) => error.set(Some("Enter a whole number.".into())),
                    }
                }
                on:change=commit
            />
        }
        .into_any(),
        Input::Select(options) => view! {
            <select
                name=name
                disabled=disabled
                prop:value=move || shown(current().as_ref())
                on:change=move |ev| {
                    set(Value::String(event_target_value(&ev)));
                    editor.commit();
                }
            >
                <option value="" disabled=true>"Choose…"</option>
                {options.iter().map(|o| view! { <option value=*o>{*o}</option> }).collect_view()}
            </select>
        }
        .into_any(),
        Input::Checkbox => view! {
            <input
                name=name
                type="checkbox"
                disabled=disabled
                prop:checked=move || current() == Some(Value::Bool(true))
                on:change=move |ev| {
                    set(Value::Bool(event_target_checked(&ev)));
                    editor.commit();
                }
            />
        }
        .into_any(),
    };
    let label = if field.required { format!("{} *", field.label) } else { field.label.to_owned() };
    view! {
        <label class:check=matches!(field.input, Input::Checkbox)>
            {label}
            {input}
            {(!field.hint.is_empty()).then(|| view! { <small class="muted">{field.hint}</small> })}
            {move || error.get().map(|e| view! { <small class="field-error" role="alert">{e}</small> })}
        </label>
    }
}

/// How an edge is taken.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Always,
    When,
    Default,
}

#[component]
fn EdgeForm(editor: Editor, id: Uuid) -> impl IntoView {
    let edge = move || editor.edges.with(|all| all.iter().find(|e| e.id == id).cloned());
    let update = move |f: &dyn Fn(&mut crate::workflows::graph::Edge)| {
        editor.edges.update(|all| {
            if let Some(e) = all.iter_mut().find(|e| e.id == id) {
                f(e);
            }
        });
    };
    // Memos, so typing in a condition doesn't rebuild (and unfocus) the fields.
    let mode = Memo::new(move |_| match edge() {
        Some(e) if e.is_default => Mode::Default,
        Some(e) if e.condition.is_some() => Mode::When,
        _ => Mode::Always,
    });
    let set_mode = move |value: String| {
        update(&|e| match value.as_str() {
            "when" => {
                e.is_default = false;
                e.condition.get_or_insert_with(|| Condition {
                    field: "trigger.body.status".into(),
                    operator: Operator::Equals,
                    value: String::new(),
                });
            }
            "default" => {
                e.is_default = true;
                e.condition = None;
            }
            _ => {
                e.is_default = false;
                e.condition = None;
            }
        });
        editor.commit();
    };
    let condition = move || edge().and_then(|e| e.condition);
    let takes_value = Memo::new(move |_| condition().is_some_and(|c| c.operator.takes_value()));
    let set_condition = move |f: &dyn Fn(&mut Condition)| {
        update(&|e| {
            if let Some(c) = e.condition.as_mut() {
                f(c);
            }
        })
    };
    let names = move || {
        edge().map(|e| {
            let name = |id| editor.node(id).map(|n| n.data.with_untracked(|d| d.name.clone())).unwrap_or_default();
            format!("{} → {}", name(e.source), name(e.target))
        })
    };
    let disabled = editor.read_only;
    view! {
        <h2>"Connection"</h2>
        <p class="muted">{names}</p>
        <form class="stack" on:submit=|ev| ev.prevent_default()>
            <label>
                "Taken"
                <select
                    name="edge-mode"
                    disabled=disabled
                    prop:value=move || match mode.get() {
                        Mode::Always => "always",
                        Mode::When => "when",
                        Mode::Default => "default",
                    }
                    on:change=move |ev| set_mode(event_target_value(&ev))
                >
                    <option value="always">"Always"</option>
                    <option value="when">"When a condition holds"</option>
                    <option value="default">"By default (when no other edge's condition holds)"</option>
                </select>
            </label>
            {move || {
                (mode.get() == Mode::When)
                    .then(|| {
                        view! {
                            <label>
                                "Field"
                                <ConditionText
                                    editor
                                    id
                                    name="condition-field"
                                    read=|c| c.field.clone()
                                    write=|c, v| c.field = v
                                />
                                <small class="muted">"A path into the run, e.g. steps.fetch.output.status"</small>
                            </label>
                            <label>
                                "Operator"
                                <select
                                    name="condition-operator"
                                    disabled=disabled
                                    prop:value=move || condition().map(|c| c.operator.as_str()).unwrap_or_default()
                                    on:change=move |ev| {
                                        if let Some(op) = Operator::parse(&event_target_value(&ev)) {
                                            set_condition(&|c| c.operator = op);
                                            editor.commit();
                                        }
                                    }
                                >
                                    {Operator::ALL
                                        .into_iter()
                                        .map(|o| view! { <option value=o.as_str()>{o.as_str().replace('_', " ")}</option> })
                                        .collect_view()}
                                </select>
                            </label>
                            {move || {
                                takes_value
                                    .get()
                                    .then(|| {
                                        view! {
                                            <label>
                                                "Value"
                                                <ConditionText
                                                    editor
                                                    id
                                                    name="condition-value"
                                                    read=|c| c.value.clone()
                                                    write=|c, v| c.value = v
                                                />
                                            </label>
                                        }
                                    })
                            }}
                        }
                    })
            }}
        </form>
        {(!disabled)
            .then(|| {
                view! {
                    <button type="button" class="ghost danger" on:click=move |_| editor.delete_selection()>
                        "Delete connection"
                    </button>
                }
            })}
    }
}

/// A text input bound to one part of an edge's condition; a change is one undo step.
#[component]
fn ConditionText(
    editor: Editor,
    id: Uuid,
    name: &'static str,
    read: fn(&Condition) -> String,
    write: fn(&mut Condition, String),
) -> impl IntoView {
    let value =
        move || editor.edges.with(|all| all.iter().find(|e| e.id == id).and_then(|e| e.condition.as_ref().map(read)));
    view! {
        <input
            name=name
            disabled=editor.read_only
            prop:value=move || value().unwrap_or_default()
            on:input=move |ev| {
                let v = event_target_value(&ev);
                editor
                    .edges
                    .update(|all| {
                        if let Some(c) = all.iter_mut().find(|e| e.id == id).and_then(|e| e.condition.as_mut()) {
                            write(c, v);
                        }
                    });
            }
            on:change=move |_| editor.commit()
        />
    }
}
