//! The canvas: nodes as HTML boxes and edges as SVG curves in one transformed layer; pointer
//! gestures for selecting, moving, connecting, box-selecting and panning; the wheel zooms.

use std::collections::{HashMap, HashSet};

use leptos::ev::{DragEvent, PointerEvent, WheelEvent};
use leptos::html;
use leptos::prelude::*;
use uuid::Uuid;
use wasm_bindgen::JsCast;

use crate::workflows::editor::state::{Editor, NodeView, Rect, Viewport, extent, overlaps, snap};
use crate::workflows::graph::{Diagnostic, Edge, NODE_HEIGHT, NODE_WIDTH};
use crate::workflows::kinds::NodeKind;

/// How close (screen pixels) a dropped wire must come to an input handle to connect.
const CONNECT_RADIUS: f64 = 24.0;
/// Nodes and edges this far (screen pixels) outside the visible area are drawn too, so a short
/// pan shows them at once; everything further away is left out of the page.
const CULL_MARGIN: f64 = 160.0;
/// The edge layer covers the nodes' extent plus at least this much, in steps of this size, so it
/// is resized (and repainted whole) only when a node crosses a step.
const SHEET_STEP: f64 = 1000.0;
/// The drag data type the palette uses.
pub const DRAG_TYPE: &str = "application/x-flowdeck-kind";

/// What the pointer is doing.
#[derive(Clone, Default)]
enum Gesture {
    #[default]
    Idle,
    Pan {
        start: (f64, f64),
        from: Viewport,
        moved: bool,
    },
    Move {
        start: (f64, f64),
        origins: Vec<(NodeView, (f64, f64))>,
        moved: bool,
    },
    Connect {
        source: Uuid,
    },
    Select {
        start: (f64, f64),
        before: HashSet<Uuid>,
    },
}

/// Screen position of a pointer event inside `el`.
fn local(el: &web_sys::Element, x: i32, y: i32) -> (f64, f64) {
    let r = el.get_bounding_client_rect();
    (f64::from(x) - r.left(), f64::from(y) - r.top())
}

/// The closest element of `target` (or itself) matching `selector`, and its `attr`.
fn closest(target: Option<web_sys::EventTarget>, selector: &str, attr: &str) -> Option<String> {
    target?.dyn_into::<web_sys::Element>().ok()?.closest(selector).ok()??.get_attribute(attr)
}

/// Where an edge's curve starts and ends: output handle (right middle) to input handle (left middle).
fn ends(from: (f64, f64), to: (f64, f64)) -> ((f64, f64), (f64, f64)) {
    ((from.0 + NODE_WIDTH, from.1 + NODE_HEIGHT / 2.0), (to.0, to.1 + NODE_HEIGHT / 2.0))
}

/// The canvas area an edge's curve can reach (its control points' hull).
fn edge_box(from: (f64, f64), to: (f64, f64)) -> Rect {
    let (a, b) = ends(from, to);
    let dx = ((b.0 - a.0).abs() / 2.0).max(40.0);
    (a.0.min(b.0 - dx), a.1.min(b.1) - 20.0, b.0.max(a.0 + dx), a.1.max(b.1) + 20.0)
}

/// A cubic curve from a to b, leaving and entering horizontally.
pub fn curve(a: (f64, f64), b: (f64, f64)) -> String {
    let dx = ((b.0 - a.0).abs() / 2.0).max(40.0);
    format!("M{} {} C{} {} {} {} {} {}", a.0, a.1, a.0 + dx, a.1, b.0 - dx, b.1, b.0, b.1)
}

#[component]
pub fn Canvas(
    editor: Editor,
    /// Problems by node, shown as a badge and a tooltip.
    diagnostics: Memo<Vec<Diagnostic>>,
    /// Says why a gesture did nothing (e.g. an invalid connection).
    notice: WriteSignal<Option<String>>,
    /// The canvas element, for the toolbar's zoom buttons and zoom-to-fit.
    canvas: NodeRef<html::Div>,
) -> impl IntoView {
    // Show the whole workflow once the canvas has a size.
    Effect::new(move |done: Option<bool>| {
        if done == Some(true) {
            return true;
        }
        let Some(el) = canvas.get() else { return false };
        watch_size(&el, editor.size);
        request_animation_frame(move || {
            let (w, h) = (f64::from(el.client_width()), f64::from(el.client_height()));
            editor.size.set((w, h));
            editor.view.set(Viewport::fit(&editor.positions(), w, h));
        });
        true
    });
    // Only what the viewport shows (plus a margin) is in the page: big graphs stay responsive.
    let area = Memo::new(move |_| editor.view.get().area(editor.size.get(), CULL_MARGIN));
    let shown_nodes = Memo::new(move |_| {
        let area = area.get();
        editor.nodes.with(|all| {
            all.iter()
                .filter(|n| {
                    let (x, y) = n.pos.get();
                    overlaps(area, (x, y, x + NODE_WIDTH, y + NODE_HEIGHT))
                })
                .copied()
                .collect::<Vec<_>>()
        })
    });
    let shown_edges = Memo::new(move |_| {
        let area = area.get();
        editor.index.with(|index| {
            editor.edges.with(|all| {
                all.iter()
                    .filter(|e| match (index.get(&e.source), index.get(&e.target)) {
                        (Some(a), Some(b)) => overlaps(area, edge_box(a.pos.get(), b.pos.get())),
                        _ => false,
                    })
                    .cloned()
                    .collect::<Vec<_>>()
            })
        })
    });
    // The nodes' extent, for the minimap and the edge layer's size.
    let bounds = Memo::new(move |_| editor.nodes.with(|all| extent(all.iter().map(|n| n.pos.get()))));
    // The edge layer has a fixed size rather than `overflow: visible`: Chromium repaints an
    // overflowing SVG whole whenever one curve moves.
    let sheet = Memo::new(move |_| {
        let (x0, y0, x1, y1) = bounds.get().unwrap_or_default();
        let down = |v: f64| (v / SHEET_STEP).floor() * SHEET_STEP - SHEET_STEP;
        let up = |v: f64| (v / SHEET_STEP).ceil() * SHEET_STEP + SHEET_STEP;
        (down(x0), down(y0), up(x1), up(y1))
    });
    // Problems by node, computed once per change rather than once per node.
    let problems = Memo::new(move |_| {
        diagnostics.with(|all| {
            let mut by_node: HashMap<Uuid, Vec<String>> = HashMap::new();
            for d in all {
                if let Some(id) = d.node {
                    by_node.entry(id).or_default().push(d.message.clone());
                }
            }
            by_node
        })
    });
    let gesture = StoredValue::new(Gesture::Idle);
    let wire = RwSignal::new(None::<((f64, f64), (f64, f64))>);
    let marquee = RwSignal::new(None::<((f64, f64), (f64, f64))>);
    let space = RwSignal::new(false);
    let view = editor.view;

    let point = move |ev: &PointerEvent| -> Option<((f64, f64), (f64, f64))> {
        let el = canvas.get_untracked()?;
        let screen = local(&el, ev.client_x(), ev.client_y());
        Some((screen, view.get_untracked().to_canvas(screen)))
    };

    let on_down = move |ev: PointerEvent| {
        if ev.button() != 0 {
            return;
        }
        let Some((screen, at)) = point(&ev) else { return };
        if let Some(el) = canvas.get_untracked() {
            let _ = el.focus();
            let _ = el.set_pointer_capture(ev.pointer_id());
        }
        let target = ev.target();
        let node = closest(target.clone(), "[data-node]", "data-node").and_then(|s| s.parse::<Uuid>().ok());
        let handle = closest(target.clone(), "[data-handle='out']", "data-handle").is_some();
        let edge = closest(target, "[data-edge]", "data-edge").and_then(|s| s.parse::<Uuid>().ok());
        let next = match (node, edge) {
            _ if space.get_untracked() => Gesture::Pan { start: screen, from: view.get_untracked(), moved: false },
            (Some(id), _) if handle && !editor.read_only => {
                if let Some(n) = editor.node(id) {
                    let from = ends(n.pos.get_untracked(), (0.0, 0.0)).0;
                    wire.set(Some((from, at)));
                }
                Gesture::Connect { source: id }
            }
            (Some(id), _) => {
                if ev.shift_key() {
                    editor.selected.update(|s| {
                        if !s.remove(&id) {
                            s.insert(id);
                        }
                    });
                    editor.selected_edge.set(None);
                } else if !editor.selected.with_untracked(|s| s.contains(&id)) {
                    editor.select_only(id);
                }
                let origins = if editor.read_only {
                    Vec::new()
                } else {
                    editor
                        .selected
                        .get_untracked()
                        .into_iter()
                        .filter_map(|id| editor.node(id))
                        .map(|n| (n, n.pos.get_untracked()))
                        .collect()
                };
                Gesture::Move { start: at, origins, moved: false }
            }
            (None, Some(id)) => {
                editor.selected.set(HashSet::new());
                editor.selected_edge.set(Some(id));
                Gesture::Idle
            }
            (None, None) if ev.shift_key() => {
                marquee.set(Some((at, at)));
                Gesture::Select { start: at, before: editor.selected.get_untracked() }
            }
            (None, None) => Gesture::Pan { start: screen, from: view.get_untracked(), moved: false },
        };
        gesture.set_value(next);
    };

    let on_move = move |ev: PointerEvent| {
        let Some((screen, at)) = point(&ev) else { return };
        gesture.update_value(|g| match g {
            Gesture::Idle => {}
            Gesture::Pan { start, from, moved } => {
                let (dx, dy) = (screen.0 - start.0, screen.1 - start.1);
                *moved |= dx.abs() + dy.abs() > 3.0;
                view.set(Viewport { x: from.x + dx, y: from.y + dy, zoom: from.zoom });
            }
            Gesture::Move { start, origins, moved } => {
                let (dx, dy) = (at.0 - start.0, at.1 - start.1);
                *moved |= dx.abs() + dy.abs() > 2.0;
                let grid = editor.snap.get_untracked();
                for (n, (x, y)) in origins.iter() {
                    let p = if grid { (snap(x + dx), snap(y + dy)) } else { (x + dx, y + dy) };
                    if n.pos.get_untracked() != p {
                        n.pos.set(p);
                    }
                }
            }
            Gesture::Connect { .. } => wire.update(|w| {
                if let Some((_, end)) = w {
                    *end = at;
                }
            }),
            Gesture::Select { start, before } => {
                marquee.set(Some((*start, at)));
                let (x0, x1) = (start.0.min(at.0), start.0.max(at.0));
                let (y0, y1) = (start.1.min(at.1), start.1.max(at.1));
                let mut inside = before.clone();
                editor.nodes.with_untracked(|all| {
                    for n in all {
                        let (x, y) = n.pos.get_untracked();
                        if x < x1 && x + NODE_WIDTH > x0 && y < y1 && y + NODE_HEIGHT > y0 {
                            inside.insert(n.id);
                        }
                    }
                });
                if editor.selected.with_untracked(|s| *s != inside) {
                    editor.selected.set(inside);
                }
            }
        });
    };

    let on_up = move |ev: PointerEvent| {
        let at = point(&ev).map(|(_, at)| at);
        match std::mem::take(&mut *gesture.write_value()) {
            Gesture::Idle => {}
            Gesture::Pan { moved: false, .. } => editor.clear_selection(),
            Gesture::Pan { .. } => {}
            Gesture::Move { moved, .. } => {
                if moved {
                    editor.commit();
                }
            }
            Gesture::Connect { source } => {
                wire.set(None);
                let zoom = view.get_untracked().zoom;
                let target = at.and_then(|at| drop_target(editor, at, CONNECT_RADIUS / zoom));
                match target {
                    Some(target) => notice.set(editor.connect(source, target).err().map(str::to_owned)),
                    None => notice.set(Some("Drop the connection on a node's input handle (left side).".into())),
                }
            }
            Gesture::Select { .. } => marquee.set(None),
        }
    };

    let on_wheel = move |ev: WheelEvent| {
        ev.prevent_default();
        let Some(el) = canvas.get_untracked() else { return };
        let screen = local(&el, ev.client_x(), ev.client_y());
        // Trackpad pinch arrives as a wheel event with Ctrl held; both zoom.
        let factor = (-ev.delta_y() * if ev.ctrl_key() { 0.01 } else { 0.0015 }).exp();
        view.update(|v| *v = v.zoom_at(screen, factor));
    };

    let on_drop = move |ev: DragEvent| {
        ev.prevent_default();
        let kind = ev.data_transfer().and_then(|d| d.get_data(DRAG_TYPE).ok()).and_then(|k| NodeKind::parse(&k));
        let (Some(kind), Some(el)) = (kind, canvas.get_untracked()) else { return };
        if editor.read_only {
            return;
        }
        let at = view.get_untracked().to_canvas(local(&el, ev.client_x(), ev.client_y()));
        editor.add_node(kind, Some((at.0 - NODE_WIDTH / 2.0, at.1 - NODE_HEIGHT / 2.0)), at);
        let _ = el.focus();
    };

    let world = move || {
        let v = view.get();
        format!("translate({}px, {}px) scale({})", v.x, v.y, v.zoom)
    };
    let grid = move || {
        let v = view.get();
        let step = 20.0 * v.zoom;
        format!("background-size: {step}px {step}px; background-position: {}px {}px", v.x, v.y)
    };

    view! {
        <div
            class="canvas"
            class:snapping=move || editor.snap.get()
            class:panning=move || space.get()
            node_ref=canvas
            tabindex="0"
            role="application"
            aria-label="Workflow canvas"
            data-testid="canvas"
            style=grid
            on:pointerdown=on_down
            on:pointermove=on_move
            on:pointerup=on_up
            on:pointercancel=move |_| {
                gesture.set_value(Gesture::Idle);
                wire.set(None);
                marquee.set(None);
            }
            on:wheel=on_wheel
            on:dragover=move |ev: DragEvent| ev.prevent_default()
            on:drop=on_drop
            on:keydown=move |ev| {
                if ev.key() == " " {
                    ev.prevent_default();
                    space.set(true);
                }
            }
            on:keyup=move |ev| {
                if ev.key() == " " {
                    space.set(false);
                }
            }
        >
            <div class="canvas-world" style:transform=world>
                <svg
                    class="edges"
                    aria-hidden="true"
                    style:left=move || format!("{}px", sheet.get().0)
                    style:top=move || format!("{}px", sheet.get().1)
                    width=move || sheet.get().2 - sheet.get().0
                    height=move || sheet.get().3 - sheet.get().1
                    viewBox=move || {
                        let (x0, y0, x1, y1) = sheet.get();
                        format!("{x0} {y0} {} {}", x1 - x0, y1 - y0)
                    }
                >
                    <defs>
                        <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                            <path d="M0 0 L10 5 L0 10 z" class="arrow-head"></path>
                        </marker>
                    </defs>
                    <For each=move || shown_edges.get() key=|e| (e.id, e.condition.clone(), e.is_default) let:edge>
                        <EdgeView editor edge/>
                    </For>
                    {move || {
                        wire.get().map(|(a, b)| view! { <path class="wire" d=curve(a, b)></path> })
                    }}
                </svg>
                <For each=move || shown_nodes.get() key=|n| n.id let:node>
                    <NodeBox editor node by_node=problems/>
                </For>
                {move || {
                    marquee
                        .get()
                        .map(|((x0, y0), (x1, y1))| {
                            view! {
                                <div
                                    class="marquee"
                                    style:left=format!("{}px", x0.min(x1))
                                    style:top=format!("{}px", y0.min(y1))
                                    style:width=format!("{}px", (x1 - x0).abs())
                                    style:height=format!("{}px", (y1 - y0).abs())
                                ></div>
                            }
                        })
                }}
            </div>
            {move || (!editor.nodes.with(Vec::is_empty)).then(|| view! { <Minimap editor bounds/> })}
            {move || {
                editor
                    .nodes
                    .with(Vec::is_empty)
                    .then(|| {
                        view! {
                            <div class="canvas-empty">
                                <p>"Drag a trigger from the palette to start."</p>
                                <p class="muted">
                                    "A workflow starts at a trigger and runs its actions along the edges."
                                </p>
                            </div>
                        }
                    })
            }}
        </div>
    }
    .into_any()
}

/// The node whose input handle (or body) is at `at`, within `radius` canvas units of the handle.
fn drop_target(editor: Editor, at: (f64, f64), radius: f64) -> Option<Uuid> {
    editor.nodes.with_untracked(|all| {
        all.iter()
            .filter_map(|n| {
                let (x, y) = n.pos.get_untracked();
                let (hx, hy) = (x, y + NODE_HEIGHT / 2.0);
                let d = ((at.0 - hx).powi(2) + (at.1 - hy).powi(2)).sqrt();
                let inside = at.0 >= x && at.0 <= x + NODE_WIDTH && at.1 >= y && at.1 <= y + NODE_HEIGHT;
                (d <= radius || inside).then_some((d, n.id))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, id)| id)
    })
}

#[component]
fn EdgeView(editor: Editor, edge: Edge) -> impl IntoView {
    let (source, target, id) = (edge.source, edge.target, edge.id);
    let points = move || {
        editor.index.with(|m| {
            let a = m.get(&source)?.pos.get();
            let b = m.get(&target)?.pos.get();
            Some(ends(a, b))
        })
    };
    let d = move || points().map(|(a, b)| curve(a, b)).unwrap_or_default();
    let label = edge.label();
    let selected = move || editor.selected_edge.get() == Some(id);
    let class = match editor.mark(id) {
        Some(mark) => format!("edge diff-{mark}"),
        None => "edge".to_owned(),
    };
    view! {
        <g class=class class:selected=selected class:default=edge.is_default data-edge=id.to_string()>
            <path class="edge-hit" d=d></path>
            <path class="edge-line" d=d marker-end="url(#arrow)"></path>
            {label
                .map(|label| {
                    let mid = move || {
                        points()
                            .map(|((ax, ay), (bx, by))| ((ax + bx) / 2.0, (ay + by) / 2.0))
                            .unwrap_or_default()
                    };
                    view! {
                        <text class="edge-label" x=move || mid().0 y=move || mid().1 - 6.0 text-anchor="middle">
                            {label}
                        </text>
                    }
                })}
        </g>
    }
}

#[component]
fn NodeBox(editor: Editor, node: NodeView, by_node: Memo<HashMap<Uuid, Vec<String>>>) -> impl IntoView {
    let id = node.id;
    let kind = move || node.data.with(|d| d.config.kind());
    let problems = Memo::new(move |_| by_node.with(|all| all.get(&id).cloned().unwrap_or_default()));
    // left/top rather than a transform: a thousand transformed boxes are a thousand compositor
    // property nodes, and layerizing them costs tens of milliseconds a frame in Chromium.
    let left = move || format!("{}px", node.pos.get().0);
    let top = move || format!("{}px", node.pos.get().1);
    let mark = editor.mark(id).map(|m| format!(" diff-{m}")).unwrap_or_default();
    view! {
        <div
            class=move || {
                let run = editor.run.with(|r| r.get(&id).map(|s| format!(" run-{}", s.to_lowercase())));
                format!("node node-{}{mark}{}", kind().group().class(), run.unwrap_or_default())
            }
            class:selected=move || editor.selected.with(|s| s.contains(&id))
            class:invalid=move || !problems.with(Vec::is_empty)
            class:pinned=move || node.data.with(|d| d.pinned.is_some())
            style:left=left
            style:top=top
            data-node=id.to_string()
            data-kind=move || kind().as_str()
            title=move || problems.get().join("\n")
        >
            {move || (!kind().is_trigger()).then(|| view! { <span class="handle handle-in" data-handle="in"></span> })}
            <svg class="node-icon" viewBox="0 0 24 24" aria-hidden="true">
                <path d=move || kind().icon()></path>
            </svg>
            <div class="node-text">
                <span class="node-name">{move || node.data.with(|d| d.name.clone())}</span>
                <span class="node-kind">{move || kind().label()}</span>
            </div>
            {move || {
                let n = problems.with(Vec::len);
                (n > 0).then(|| view! { <span class="node-badge" aria-label=format!("{n} problems")>"!"</span> })
            }}
            <span class="handle handle-out" data-handle="out" title="Drag to connect"></span>
        </div>
    }
}

/// The minimap's size on screen.
const MINIMAP_W: f64 = 200.0;
const MINIMAP_H: f64 = 130.0;

/// All nodes at a glance with the visible area outlined; click or drag on it to move there.
#[component]
fn Minimap(editor: Editor, bounds: Memo<Option<Rect>>) -> impl IntoView {
    // The canvas area shown, padded to the minimap's aspect ratio: (x, y, width, height).
    let shown = Memo::new(move |_| {
        let (x0, y0, x1, y1) = bounds.get().unwrap_or_default();
        let pad = 200.0;
        let (mut w, mut h) = (x1 - x0 + 2.0 * pad, y1 - y0 + 2.0 * pad);
        if w / h > MINIMAP_W / MINIMAP_H {
            h = w * MINIMAP_H / MINIMAP_W;
        } else {
            w = h * MINIMAP_W / MINIMAP_H;
        }
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        (cx - w / 2.0, cy - h / 2.0, w, h)
    });
    let visible = move || {
        let (x0, y0, x1, y1) = editor.view.get().area(editor.size.get(), 0.0);
        (x0, y0, x1 - x0, y1 - y0)
    };
    let go = move |ev: &PointerEvent| {
        let Some(el) = ev.current_target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
        let (mx, my) = local(&el, ev.client_x(), ev.client_y());
        let (bx, by, bw, bh) = shown.get_untracked();
        let target = (bx + mx / MINIMAP_W * bw, by + my / MINIMAP_H * bh);
        let (_, _, vw, vh) = visible();
        editor.view.update(|v| {
            v.x = -(target.0 - vw / 2.0) * v.zoom;
            v.y = -(target.1 - vh / 2.0) * v.zoom;
        });
    };
    view! {
        <svg
            class="minimap"
            width=MINIMAP_W
            height=MINIMAP_H
            viewBox=move || {
                let (x, y, w, h) = shown.get();
                format!("{x} {y} {w} {h}")
            }
            role="img"
            aria-label="Minimap"
            data-testid="minimap"
            on:pointerdown=move |ev: PointerEvent| {
                ev.stop_propagation();
                go(&ev);
            }
            on:pointermove=move |ev: PointerEvent| {
                if ev.buttons() & 1 == 1 {
                    ev.stop_propagation();
                    go(&ev);
                }
            }
        >
            <For each=move || editor.nodes.get() key=|n| n.id let:n>
                <rect
                    class=move || format!("minimap-node node-{}", n.kind().group().class())
                    x=move || n.pos.get().0
                    y=move || n.pos.get().1
                    width=NODE_WIDTH
                    height=NODE_HEIGHT
                    rx="12"
                ></rect>
            </For>
            {move || {
                let (x, y, w, h) = visible();
                view! { <rect class="minimap-view" x=x y=y width=w height=h></rect> }
            }}
        </svg>
    }
}

/// Keeps `size` equal to the element's size on screen (the window or a side panel can change it).
fn watch_size(el: &web_sys::HtmlDivElement, size: RwSignal<(f64, f64)>) {
    use wasm_bindgen::closure::Closure;
    let target = el.clone();
    let callback = Closure::<dyn Fn()>::new(move || {
        let now = (f64::from(target.client_width()), f64::from(target.client_height()));
        if size.get_untracked() != now {
            size.set(now);
        }
    });
    let Ok(observer) = web_sys::ResizeObserver::new(callback.as_ref().unchecked_ref()) else { return };
    observer.observe(el);
    let observer = send_wrapper::SendWrapper::new((observer, callback));
    on_cleanup(move || observer.0.disconnect());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_edge_box_holds_its_curve() {
        // Backwards edges loop out to the right of the source and the left of the target.
        let (from, to) = ((500.0, 0.0), (0.0, 300.0));
        let (x0, y0, x1, y1) = edge_box(from, to);
        let ((ax, ay), (bx, by)) = ends(from, to);
        assert!(x0 <= bx - 40.0 && x1 >= ax + 40.0);
        assert!(y0 <= ay && y1 >= by);
        // So an edge whose ends are both off screen is still drawn when it crosses the view.
        let view = (100.0, 100.0, 300.0, 200.0);
        assert!(overlaps(view, edge_box((-1000.0, 150.0), (1000.0, 150.0))));
        assert!(!overlaps(view, edge_box((-1000.0, 1000.0), (1000.0, 1000.0))));
    }
}
