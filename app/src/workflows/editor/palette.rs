//! The palette: node kinds by group, searchable. Drag one onto the canvas, or click (or press
//! Enter on) it to add it next to the selected node.

use leptos::ev::DragEvent;
use leptos::prelude::*;

use crate::workflows::editor::canvas::DRAG_TYPE;
use crate::workflows::kinds::{Group, NodeKind};

#[component]
pub fn Palette(
    /// Adds a node of the kind next to the selection.
    on_add: Callback<NodeKind>,
) -> impl IntoView {
    let search = RwSignal::new(String::new());
    let matches = move |kind: NodeKind| {
        let q = search.get().trim().to_lowercase();
        q.is_empty() || kind.label().to_lowercase().contains(&q) || kind.description().to_lowercase().contains(&q)
    };
    let groups = Group::ALL.map(|group| {
        let kinds: Vec<NodeKind> = NodeKind::ALL.iter().copied().filter(|k| k.group() == group).collect();
        let any = move || kinds.iter().any(|k| matches(*k));
        let items = NodeKind::ALL
            .iter()
            .copied()
            .filter(|k| k.group() == group)
            .map(|kind| {
                view! {
                    <li class:hidden=move || !matches(kind)>
                        <button
                            type="button"
                            class=format!("palette-item node-{}", group.class())
                            draggable="true"
                            data-kind=kind.as_str()
                            title=kind.description()
                            on:dragstart=move |ev: DragEvent| {
                                if let Some(dt) = ev.data_transfer() {
                                    let _ = dt.set_data(DRAG_TYPE, kind.as_str());
                                    dt.set_effect_allowed("copy");
                                }
                            }
                            on:click=move |_| on_add.run(kind)
                        >
                            <svg class="node-icon" viewBox="0 0 24 24" aria-hidden="true">
                                <path d=kind.icon()></path>
                            </svg>
                            <span>{kind.label()}</span>
                        </button>
                    </li>
                }
            })
            .collect_view();
        view! {
            <section class="palette-group" class:hidden=move || !any()>
                <h3>{group.label()}</h3>
                <ul>{items}</ul>
            </section>
        }
    });
    view! {
        <aside class="palette" aria-label="Node palette">
            <input
                type="search"
                placeholder="Search nodes"
                aria-label="Search nodes"
                prop:value=move || search.get()
                on:input=move |ev| search.set(event_target_value(&ev))
            />
            {groups.into_iter().collect_view()}
            {move || {
                NodeKind::ALL
                    .iter()
                    .all(|k| !matches(*k))
                    .then(|| view! { <p class="muted">"No node matches."</p> })
            }}
        </aside>
    }
    .into_any()
}
