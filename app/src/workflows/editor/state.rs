//! The editor's state: one signal per node position and content (so dragging one node redraws
//! only it and its edges), the edges, the selection, the viewport, and the undo history of
//! committed graphs.

use std::collections::{HashMap, HashSet};

use leptos::prelude::*;
use uuid::Uuid;

use crate::workflows::graph::{Edge, GRID, Graph, NODE_HEIGHT, NODE_WIDTH, Node, Policy};
use crate::workflows::kinds::{NodeConfig, NodeKind};

/// Undo keeps this many steps.
const HISTORY: usize = 200;
pub const MIN_ZOOM: f64 = 0.25;
pub const MAX_ZOOM: f64 = 2.0;
/// Where a node added by a click lands relative to the selected one.
const NEXT_TO: f64 = 280.0;

/// A node's name and configuration (what the side panel edits).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeData {
    pub name: String,
    pub config: NodeConfig,
    pub policy: Policy,
    pub pinned: Option<serde_json::Value>,
}

/// A node on the canvas.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NodeView {
    pub id: Uuid,
    pub pos: RwSignal<(f64, f64)>,
    pub data: RwSignal<NodeData>,
}

impl NodeView {
    fn new(node: &Node) -> Self {
        NodeView {
            id: node.id,
            pos: RwSignal::new((node.x, node.y)),
            data: RwSignal::new(NodeData {
                name: node.name.clone(),
                config: node.config.clone(),
                policy: node.policy,
                pinned: node.pinned.clone(),
            }),
        }
    }

    fn node(&self) -> Node {
        let (x, y) = self.pos.get_untracked();
        let data = self.data.get_untracked();
        Node { id: self.id, name: data.name, x, y, config: data.config, policy: data.policy, pinned: data.pinned }
    }

    pub fn kind(&self) -> NodeKind {
        self.data.with_untracked(|d| d.config.kind())
    }
}

/// Pan and zoom: a canvas point p is drawn at `p * zoom + (x, y)` on screen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Viewport {
    pub x: f64,
    pub y: f64,
    pub zoom: f64,
}

impl Viewport {
    pub fn to_canvas(self, screen: (f64, f64)) -> (f64, f64) {
        ((screen.0 - self.x) / self.zoom, (screen.1 - self.y) / self.zoom)
    }

    /// The canvas area a `size` screen shows, grown by `margin` screen pixels on every side.
    pub fn area(self, size: (f64, f64), margin: f64) -> Rect {
        let (x0, y0) = self.to_canvas((-margin, -margin));
        let (x1, y1) = self.to_canvas((size.0 + margin, size.1 + margin));
        (x0, y0, x1, y1)
    }

    /// Zooms by `factor`, keeping the canvas point under `screen` in place.
    pub fn zoom_at(self, screen: (f64, f64), factor: f64) -> Viewport {
        let zoom = (self.zoom * factor).clamp(MIN_ZOOM, MAX_ZOOM);
        let k = zoom / self.zoom;
        Viewport { x: screen.0 - (screen.0 - self.x) * k, y: screen.1 - (screen.1 - self.y) * k, zoom }
    }

    /// Shows every node in a `width`×`height` screen area, at most at 100 %.
    pub fn fit(nodes: &[(f64, f64)], width: f64, height: f64) -> Viewport {
        let Some((x0, y0, x1, y1)) = extent(nodes.iter().copied()) else {
            return Viewport { x: 40.0, y: 40.0, zoom: 1.0 };
        };
        let pad = 48.0;
        let zoom = ((width - 2.0 * pad) / (x1 - x0)).min((height - 2.0 * pad) / (y1 - y0)).clamp(MIN_ZOOM, 1.0);
        Viewport {
            x: (width - (x1 - x0) * zoom) / 2.0 - x0 * zoom,
            y: (height - (y1 - y0) * zoom) / 2.0 - y0 * zoom,
            zoom,
        }
    }
}

/// A rectangle on the canvas: left, top, right, bottom.
pub type Rect = (f64, f64, f64, f64);

/// The rectangle around nodes at `positions`, if there are any.
pub fn extent(positions: impl IntoIterator<Item = (f64, f64)>) -> Option<Rect> {
    positions.into_iter().fold(None, |r, (x, y)| {
        let (x0, y0, x1, y1) = r.unwrap_or((x, y, x, y));
        Some((x0.min(x), y0.min(y), x1.max(x + NODE_WIDTH), y1.max(y + NODE_HEIGHT)))
    })
}

pub fn overlaps(a: Rect, b: Rect) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

pub fn snap(v: f64) -> f64 {
    (v / GRID).round() * GRID
}

/// Committed graphs before and after the current one.
#[derive(Default)]
struct History {
    current: Graph,
    undo: Vec<Graph>,
    redo: Vec<Graph>,
}

/// Everything the canvas, palette, side panel and toolbar share. `Copy`: all signals.
#[derive(Clone, Copy)]
pub struct Editor {
    pub nodes: RwSignal<Vec<NodeView>>,
    pub edges: RwSignal<Vec<Edge>>,
    /// Nodes by id, for edges and lookups.
    pub index: Memo<HashMap<Uuid, NodeView>>,
    pub selected: RwSignal<HashSet<Uuid>>,
    pub selected_edge: RwSignal<Option<Uuid>>,
    pub view: RwSignal<Viewport>,
    /// The canvas element's size on screen; the same default on the server and in the browser
    /// until the element is measured, so both draw the same nodes.
    pub size: RwSignal<(f64, f64)>,
    pub snap: RwSignal<bool>,
    /// Bumped by every committed change: what autosave, diagnostics and the undo buttons follow.
    pub revision: RwSignal<u64>,
    /// The revision last saved (or loaded).
    pub saved: RwSignal<u64>,
    /// Undo and redo depths.
    pub depth: RwSignal<(usize, usize)>,
    pub read_only: bool,
    /// Step status name (`COMPLETED`, …) by node while the runs panel shows a run: the canvas
    /// colours nodes by it. A name, not the engine's type: the engine sits above the designer.
    pub run: RwSignal<HashMap<Uuid, &'static str>>,
    /// Diff classes by node or edge id when this editor shows a comparison ("added", "removed", "changed").
    pub marks: StoredValue<HashMap<Uuid, &'static str>>,
    history: StoredValue<History>,
}

impl Editor {
    pub fn new(graph: Graph, read_only: bool) -> Self {
        let nodes = RwSignal::new(graph.nodes.iter().map(NodeView::new).collect::<Vec<_>>());
        let index = Memo::new(move |_| nodes.with(|all| all.iter().map(|n| (n.id, *n)).collect()));
        Editor {
            nodes,
            edges: RwSignal::new(graph.edges.clone()),
            index,
            selected: RwSignal::new(HashSet::new()),
            selected_edge: RwSignal::new(None),
            view: RwSignal::new(Viewport { x: 40.0, y: 40.0, zoom: 1.0 }),
            size: RwSignal::new((1280.0, 800.0)),
            snap: RwSignal::new(true),
            revision: RwSignal::new(0),
            saved: RwSignal::new(0),
            depth: RwSignal::new((0, 0)),
            read_only,
            run: RwSignal::new(HashMap::new()),
            marks: StoredValue::new(HashMap::new()),
            history: StoredValue::new(History { current: graph, ..History::default() }),
        }
    }

    /// The graph as it is on the canvas now.
    pub fn graph(&self) -> Graph {
        Graph {
            nodes: self.nodes.with_untracked(|all| all.iter().map(NodeView::node).collect()),
            edges: self.edges.get_untracked(),
        }
    }

    /// Changes not saved yet (tracked, for views).
    pub fn dirty(&self) -> bool {
        self.revision.get() != self.saved.get()
    }

    pub fn dirty_untracked(&self) -> bool {
        self.revision.get_untracked() != self.saved.get_untracked()
    }

    /// Records the canvas as one undo step, if it changed since the last one.
    pub fn commit(&self) {
        let now = self.graph();
        let changed = self.history.try_update_value(|h| {
            if h.current == now {
                return false;
            }
            h.undo.push(std::mem::replace(&mut h.current, now));
            if h.undo.len() > HISTORY {
                h.undo.remove(0);
            }
            h.redo.clear();
            true
        });
        if changed == Some(true) {
            self.after_change();
        }
    }

    fn after_change(&self) {
        self.depth.set(self.history.with_value(|h| (h.undo.len(), h.redo.len())));
        self.revision.update(|r| *r += 1);
    }

    pub fn undo(&self) {
        self.step(true);
    }

    pub fn redo(&self) {
        self.step(false);
    }

    fn step(&self, back: bool) {
        self.commit();
        let target = self.history.try_update_value(|h| {
            let (from, to) = if back { (&mut h.undo, &mut h.redo) } else { (&mut h.redo, &mut h.undo) };
            let target = from.pop()?;
            to.push(std::mem::replace(&mut h.current, target.clone()));
            Some(target)
        });
        if let Some(Some(graph)) = target {
            self.show(&graph);
            self.after_change();
        }
    }

    /// Replaces the canvas with `graph` (after undo, redo or a reload), keeping node signals of
    /// nodes that stay.
    fn show(&self, graph: &Graph) {
        let old = self.index.get_untracked();
        let views = graph
            .nodes
            .iter()
            .map(|n| match old.get(&n.id) {
                Some(view) => {
                    if view.pos.get_untracked() != (n.x, n.y) {
                        view.pos.set((n.x, n.y));
                    }
                    let data = NodeData {
                        name: n.name.clone(),
                        config: n.config.clone(),
                        policy: n.policy,
                        pinned: n.pinned.clone(),
                    };
                    if view.data.with_untracked(|d| *d != data) {
                        view.data.set(data);
                    }
                    *view
                }
                None => NodeView::new(n),
            })
            .collect();
        self.nodes.set(views);
        self.edges.set(graph.edges.clone());
        let ids: HashSet<Uuid> = graph.nodes.iter().map(|n| n.id).collect();
        self.selected.update(|s| s.retain(|id| ids.contains(id)));
        self.selected_edge.set(None);
    }

    /// Replaces the canvas with `graph` as one undoable change (restoring a version).
    pub fn replace(&self, graph: &Graph) {
        self.show(graph);
        self.commit();
    }

    /// A read-only editor showing `older` against `newer`: newer's graph plus what only older has,
    /// each node and edge marked added, removed or changed.
    pub fn comparison(older: &Graph, newer: &Graph) -> Editor {
        let diff = older.diff(newer);
        let mut merged = newer.clone();
        merged.nodes.extend(older.nodes.iter().filter(|n| diff.removed_nodes.contains(&n.id)).cloned());
        merged.edges.extend(older.edges.iter().filter(|e| diff.removed_edges.contains(&e.id)).cloned());
        let mut marks = HashMap::new();
        for (ids, mark) in [
            (&diff.added_nodes, "added"),
            (&diff.added_edges, "added"),
            (&diff.removed_nodes, "removed"),
            (&diff.removed_edges, "removed"),
            (&diff.changed_nodes, "changed"),
            (&diff.changed_edges, "changed"),
        ] {
            marks.extend(ids.iter().map(|id| (*id, mark)));
        }
        let editor = Editor::new(merged, true);
        editor.marks.set_value(marks);
        editor
    }

    pub fn mark(&self, id: Uuid) -> Option<&'static str> {
        self.marks.with_value(|m| m.get(&id).copied())
    }

    /// Starts over from a graph loaded from the server: history cleared, marked saved.
    pub fn reset(&self, graph: Graph) {
        self.show(&graph);
        self.history.set_value(History { current: graph, ..History::default() });
        self.after_change();
        self.saved.set(self.revision.get_untracked());
    }

    pub fn node(&self, id: Uuid) -> Option<NodeView> {
        self.index.with_untracked(|m| m.get(&id).copied())
    }

    pub fn select_only(&self, id: Uuid) {
        self.selected.set(HashSet::from([id]));
        self.selected_edge.set(None);
    }

    pub fn clear_selection(&self) {
        self.selected.set(HashSet::new());
        self.selected_edge.set(None);
    }

    pub fn select_all(&self) {
        self.selected.set(self.nodes.with_untracked(|all| all.iter().map(|n| n.id).collect()));
        self.selected_edge.set(None);
    }

    /// A name not yet used on the canvas: "HTTP request", "HTTP request 2", …
    fn fresh_name(&self, base: &str) -> String {
        let taken: HashSet<String> =
            self.nodes.with_untracked(|all| all.iter().map(|n| n.data.with_untracked(|d| d.name.clone())).collect());
        (1..)
            .map(|i| if i == 1 { base.to_owned() } else { format!("{base} {i}") })
            .find(|n| !taken.contains(n))
            .unwrap_or_default()
    }

    /// Adds a node of `kind` at `at` (canvas units), or next to the selected node — connected to
    /// it — when `at` is `None`, or at `fallback`.
    pub fn add_node(&self, kind: NodeKind, at: Option<(f64, f64)>, fallback: (f64, f64)) -> Uuid {
        let after = match self.selected.with_untracked(|s| (s.len() == 1).then(|| s.iter().next().copied())) {
            Some(Some(id)) if at.is_none() => self.node(id),
            _ => None,
        };
        let (x, y) = match (at, after) {
            (Some(p), _) => p,
            (None, Some(prev)) => {
                let (px, py) = prev.pos.get_untracked();
                (px + NEXT_TO, py)
            }
            (None, None) => fallback,
        };
        let node = Node {
            id: new_id(),
            name: self.fresh_name(kind.label()),
            x: snap(x),
            y: snap(y),
            config: kind.default_config(),
            policy: Policy::default(),
            pinned: None,
        };
        let id = node.id;
        self.nodes.update(|all| all.push(NodeView::new(&node)));
        if let Some(prev) = after
            && !kind.is_trigger()
        {
            self.edges.update(|all| all.push(plain_edge(prev.id, id)));
        }
        self.select_only(id);
        self.commit();
        id
    }

    /// Connects two nodes if that makes a valid edge; says why not otherwise.
    pub fn connect(&self, source: Uuid, target: Uuid) -> Result<(), &'static str> {
        if source == target {
            return Err("A node can't connect to itself.");
        }
        if self.node(target).is_none_or(|t| t.kind().is_trigger()) {
            return Err("Triggers start a workflow; nothing can lead into them.");
        }
        if self.edges.with_untracked(|all| all.iter().any(|e| e.source == source && e.target == target)) {
            return Err("These nodes are already connected.");
        }
        let edge = plain_edge(source, target);
        self.selected_edge.set(Some(edge.id));
        self.selected.set(HashSet::new());
        self.edges.update(|all| all.push(edge));
        self.commit();
        Ok(())
    }

    /// Deletes the selected nodes (with their edges) and the selected edge.
    pub fn delete_selection(&self) {
        let gone = self.selected.get_untracked();
        let edge = self.selected_edge.get_untracked();
        if gone.is_empty() && edge.is_none() {
            return;
        }
        self.nodes.update(|all| all.retain(|n| !gone.contains(&n.id)));
        self.edges
            .update(|all| all.retain(|e| Some(e.id) != edge && !gone.contains(&e.source) && !gone.contains(&e.target)));
        self.clear_selection();
        self.commit();
    }

    /// Moves the selection by (dx, dy) canvas units.
    pub fn nudge(&self, dx: f64, dy: f64) {
        let selected = self.selected.get_untracked();
        for id in &selected {
            if let Some(n) = self.node(*id) {
                n.pos.update(|(x, y)| (*x, *y) = (*x + dx, *y + dy));
            }
        }
        self.commit();
    }

    /// The selected nodes and the edges between them.
    pub fn selection_graph(&self) -> Graph {
        let selected = self.selected.get_untracked();
        let graph = self.graph();
        Graph {
            nodes: graph.nodes.into_iter().filter(|n| selected.contains(&n.id)).collect(),
            edges: graph
                .edges
                .into_iter()
                .filter(|e| selected.contains(&e.source) && selected.contains(&e.target))
                .collect(),
        }
    }

    /// Adds a copy of `part` with fresh ids, offset by one grid step per paste, and selects it.
    pub fn paste(&self, part: Graph) {
        if part.nodes.is_empty() {
            return;
        }
        let fresh: HashMap<Uuid, Uuid> = part.nodes.iter().map(|n| (n.id, new_id())).collect();
        let offset = 2.0 * GRID;
        let views: Vec<NodeView> = part
            .nodes
            .iter()
            .map(|n| {
                NodeView::new(&Node {
                    id: fresh[&n.id],
                    name: self.fresh_name(&n.name),
                    x: n.x + offset,
                    y: n.y + offset,
                    config: n.config.clone(),
                    policy: n.policy,
                    pinned: n.pinned.clone(),
                })
            })
            .collect();
        let edges: Vec<Edge> = part
            .edges
            .iter()
            .filter_map(|e| {
                Some(Edge {
                    id: new_id(),
                    source: *fresh.get(&e.source)?,
                    target: *fresh.get(&e.target)?,
                    condition: e.condition.clone(),
                    is_default: e.is_default,
                })
            })
            .collect();
        self.selected.set(views.iter().map(|v| v.id).collect());
        self.selected_edge.set(None);
        self.nodes.update(|all| all.extend(views));
        self.edges.update(|all| all.extend(edges));
        self.commit();
    }

    /// Lays the graph out left to right.
    pub fn auto_layout(&self) {
        let at = self.graph().layout();
        for n in self.nodes.get_untracked() {
            if let Some(&p) = at.get(&n.id) {
                n.pos.set(p);
            }
        }
        self.commit();
    }

    /// Positions of all nodes (for zoom-to-fit and the minimap).
    pub fn positions(&self) -> Vec<(f64, f64)> {
        self.nodes.with_untracked(|all| all.iter().map(|n| n.pos.get_untracked()).collect())
    }
}

fn plain_edge(source: Uuid, target: Uuid) -> Edge {
    Edge { id: new_id(), source, target, condition: None, is_default: false }
}

/// A random id for a new node or edge.
pub fn new_id() -> Uuid {
    #[cfg(feature = "ssr")]
    {
        Uuid::now_v7()
    }
    #[cfg(not(feature = "ssr"))]
    {
        let mut bytes = [0u8; 16];
        if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
            let _ = crypto.get_random_values_with_u8_array(&mut bytes);
        }
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn area_is_what_the_screen_shows_plus_the_margin() {
        let v = Viewport { x: 100.0, y: -50.0, zoom: 0.5 };
        assert_eq!(v.area((800.0, 600.0), 0.0), (-200.0, 100.0, 1400.0, 1300.0));
        assert_eq!(v.area((800.0, 600.0), 10.0), (-220.0, 80.0, 1420.0, 1320.0));
    }

    #[test]
    fn extent_covers_whole_nodes() {
        assert_eq!(extent([]), None);
        assert_eq!(extent([(0.0, 0.0)]), Some((0.0, 0.0, NODE_WIDTH, NODE_HEIGHT)));
        assert_eq!(
            extent([(300.0, -40.0), (-20.0, 60.0)]),
            Some((-20.0, -40.0, 300.0 + NODE_WIDTH, 60.0 + NODE_HEIGHT))
        );
    }

    #[test]
    fn overlap_needs_a_shared_area() {
        let a = (0.0, 0.0, 10.0, 10.0);
        assert!(overlaps(a, (5.0, 5.0, 20.0, 20.0)));
        assert!(overlaps(a, (-5.0, -5.0, 50.0, 50.0)));
        assert!(!overlaps(a, (10.0, 0.0, 20.0, 10.0)), "touching edges do not overlap");
        assert!(!overlaps(a, (0.0, 11.0, 10.0, 20.0)));
    }

    #[test]
    fn fit_shows_every_node_and_clamps_the_zoom() {
        let nodes = [(0.0, 0.0), (10_000.0, 0.0)];
        let v = Viewport::fit(&nodes, 1000.0, 800.0);
        assert_eq!(v.zoom, MIN_ZOOM);
        let v = Viewport::fit(&[(0.0, 0.0), (400.0, 200.0)], 1000.0, 800.0);
        let (x0, y0, x1, y1) = v.area((1000.0, 800.0), 0.0);
        assert!(x0 <= 0.0 && y0 <= 0.0 && x1 >= 400.0 + NODE_WIDTH && y1 >= 200.0 + NODE_HEIGHT);
        assert_eq!(v.zoom, 1.0, "small graphs are not magnified");
    }
}
