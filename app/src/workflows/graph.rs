//! A workflow's graph: nodes (steps) and edges (transitions, seed 001), shared by the canvas and
//! the server. Here are the rules about its shape — what a save must satisfy ([`Graph::check`]),
//! what activation needs ([`Graph::diagnostics`]) — plus auto-layout and the difference of two graphs.

use std::collections::{HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::workflows::kinds::NodeConfig;

/// Limits a save must stay within.
pub const MAX_NODES: usize = 2_000;
pub const MAX_EDGES: usize = 4_000;
pub const NAME_MAX: usize = 80;
/// A node's size on the canvas, in canvas units; handles sit at the middle of its left and right sides.
pub const NODE_WIDTH: f64 = 200.0;
pub const NODE_HEIGHT: f64 = 64.0;
/// The distance between grid lines and between auto-laid-out layers.
pub const GRID: f64 = 20.0;
const LAYER_GAP: f64 = 280.0;
const ROW_GAP: f64 = 100.0;
/// Coordinates stay within ±this.
const COORD_MAX: f64 = 1_000_000.0;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub id: Uuid,
    pub name: String,
    pub x: f64,
    pub y: f64,
    #[serde(flatten)]
    pub config: NodeConfig,
    /// Retries and timeout; left out of the JSON while it is the default.
    #[serde(default, skip_serializing_if = "Policy::is_default")]
    pub policy: Policy,
    /// Pinned test data: runs started by hand take it as the node's output instead of running
    /// the node (runs a trigger starts ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pinned: Option<serde_json::Value>,
}

/// How a step that reaches another system (HTTP, email, chat, AI) is tried again when it fails,
/// and how long one try may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Tries in all: 1 means no retry.
    pub attempts: u32,
    /// The wait after the first failed try; it doubles after each further one, up to
    /// `max_backoff_secs`, and is jittered between half and all of that.
    pub backoff_secs: u32,
    pub max_backoff_secs: u32,
    /// The longest one try may take; 0 leaves it to the kind (an HTTP request's own timeout).
    pub timeout_secs: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { attempts: 1, backoff_secs: 10, max_backoff_secs: 300, timeout_secs: 0 }
    }
}

impl Policy {
    pub const MAX_ATTEMPTS: u32 = 10;
    pub const MAX_WAIT_SECS: u32 = 24 * 3600;
    pub const MAX_TIMEOUT_SECS: u32 = 3600;

    pub fn is_default(&self) -> bool {
        *self == Policy::default()
    }

    /// What is wrong with these numbers, if anything.
    pub fn problem(&self) -> Option<String> {
        if !(1..=Policy::MAX_ATTEMPTS).contains(&self.attempts) {
            return Some(format!("tries must be 1 to {}.", Policy::MAX_ATTEMPTS));
        }
        if self.backoff_secs == 0 || self.backoff_secs > self.max_backoff_secs {
            return Some("the first wait must be at least 1 s and at most the longest wait.".into());
        }
        if self.max_backoff_secs > Policy::MAX_WAIT_SECS {
            return Some(format!("the longest wait must be at most {} s.", Policy::MAX_WAIT_SECS));
        }
        if self.timeout_secs > Policy::MAX_TIMEOUT_SECS {
            return Some(format!("the timeout must be at most {} s.", Policy::MAX_TIMEOUT_SECS));
        }
        None
    }

    /// The wait after failed try number `failed` (1-based): `backoff · 2^(failed-1)`, capped, then
    /// scaled by `0.5 + jitter / 2` (`jitter` in 0..1), so retries of many runs spread out.
    pub fn backoff(&self, failed: u32, jitter: f64) -> std::time::Duration {
        let exp = 2u64.saturating_pow(failed.saturating_sub(1).min(32));
        let base = u64::from(self.backoff_secs).saturating_mul(exp).min(u64::from(self.max_backoff_secs));
        std::time::Duration::from_secs_f64(base as f64 * (0.5 + jitter.clamp(0.0, 1.0) / 2.0))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub id: Uuid,
    pub source: Uuid,
    pub target: Uuid,
    /// Taken only when this holds; `None` means always (or, with `is_default`, when no other does).
    #[serde(default)]
    pub condition: Option<Condition>,
    #[serde(default)]
    pub is_default: bool,
}

/// `{field, operator, value}` on an edge (seed 001's transition condition).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Condition {
    /// A path into the run's data, e.g. `steps.fetch.output.status`.
    pub field: String,
    pub operator: Operator,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operator {
    Equals,
    NotEquals,
    Greater,
    Less,
    Contains,
    NotContains,
    Exists,
    NotExists,
}

impl Operator {
    pub const ALL: [Operator; 8] = [
        Operator::Equals,
        Operator::NotEquals,
        Operator::Greater,
        Operator::Less,
        Operator::Contains,
        Operator::NotContains,
        Operator::Exists,
        Operator::NotExists,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Operator::Equals => "equals",
            Operator::NotEquals => "not_equals",
            Operator::Greater => "greater",
            Operator::Less => "less",
            Operator::Contains => "contains",
            Operator::NotContains => "not_contains",
            Operator::Exists => "exists",
            Operator::NotExists => "not_exists",
        }
    }

    pub fn parse(value: &str) -> Option<Operator> {
        Operator::ALL.into_iter().find(|o| o.as_str() == value)
    }

    /// How it reads on the canvas.
    pub fn symbol(self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::NotEquals => "≠",
            Operator::Greater => ">",
            Operator::Less => "<",
            Operator::Contains => "contains",
            Operator::NotContains => "lacks",
            Operator::Exists => "exists",
            Operator::NotExists => "is missing",
        }
    }

    /// Whether the operator compares with a value.
    pub fn takes_value(self) -> bool {
        !matches!(self, Operator::Exists | Operator::NotExists)
    }
}

impl Edge {
    /// The label drawn on the curve, if any.
    pub fn label(&self) -> Option<String> {
        match (&self.condition, self.is_default) {
            (_, true) => Some("default".into()),
            (Some(c), false) if c.operator.takes_value() => {
                Some(format!("{} {} {}", c.field, c.operator.symbol(), c.value))
            }
            (Some(c), false) => Some(format!("{} {}", c.field, c.operator.symbol())),
            (None, false) => None,
        }
    }
}

impl Node {
    pub fn kind(&self) -> crate::workflows::kinds::NodeKind {
        self.config.kind()
    }
}

/// A problem that keeps a workflow from being activated, shown on its node or edge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    pub node: Option<Uuid>,
    pub edge: Option<Uuid>,
    pub message: String,
}

impl Diagnostic {
    fn graph(message: impl Into<String>) -> Self {
        Diagnostic { node: None, edge: None, message: message.into() }
    }
    fn node(id: Uuid, message: impl Into<String>) -> Self {
        Diagnostic { node: Some(id), edge: None, message: message.into() }
    }
    fn edge(id: Uuid, message: impl Into<String>) -> Self {
        Diagnostic { node: None, edge: Some(id), message: message.into() }
    }
}

/// Why a graph can't be stored at all; `node` names the node when there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    pub node: Option<String>,
    pub message: String,
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.node {
            Some(name) => write!(f, "Node “{name}”: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

fn shape(message: impl Into<String>) -> ShapeError {
    ShapeError { node: None, message: message.into() }
}

impl Graph {
    /// The rules every stored graph keeps, drafts included: sizes, unique ids, names, finite
    /// coordinates, edges between existing distinct nodes, at most one edge per pair and one default
    /// edge per node, nothing entering a trigger.
    pub fn check(&self) -> Result<(), ShapeError> {
        if self.nodes.len() > MAX_NODES {
            return Err(shape(format!("A workflow can have at most {MAX_NODES} nodes.")));
        }
        if self.edges.len() > MAX_EDGES {
            return Err(shape(format!("A workflow can have at most {MAX_EDGES} edges.")));
        }
        let mut kinds = HashMap::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let named = |message: &str| ShapeError { node: Some(node.name.clone()), message: message.into() };
            if node.name.trim().is_empty() {
                return Err(shape("Every node needs a name."));
            }
            if node.name.chars().count() > NAME_MAX {
                return Err(named(&format!("the name is longer than {NAME_MAX} characters.")));
            }
            if !(node.x.is_finite() && node.y.is_finite() && node.x.abs() < COORD_MAX && node.y.abs() < COORD_MAX) {
                return Err(named("its position is outside the canvas."));
            }
            if kinds.insert(node.id, node.kind()).is_some() {
                return Err(named(&format!("the id {} is used twice.", node.id)));
            }
        }
        let mut ids = HashSet::with_capacity(self.edges.len());
        let mut pairs = HashSet::with_capacity(self.edges.len());
        let mut defaults = HashSet::new();
        for edge in &self.edges {
            if !ids.insert(edge.id) {
                return Err(shape(format!("The edge id {} is used twice.", edge.id)));
            }
            let (Some(_), Some(target)) = (kinds.get(&edge.source), kinds.get(&edge.target)) else {
                return Err(shape(format!("Edge {} connects a node that doesn't exist.", edge.id)));
            };
            if edge.source == edge.target {
                return Err(shape(format!("Edge {} connects a node to itself.", edge.id)));
            }
            if target.is_trigger() {
                return Err(shape("A trigger can't have incoming edges."));
            }
            if !pairs.insert((edge.source, edge.target)) {
                return Err(shape("Two edges connect the same nodes."));
            }
            if edge.is_default && !defaults.insert(edge.source) {
                return Err(shape("A node can have only one default edge."));
            }
            if let Some(c) = &edge.condition
                && (c.field.trim().is_empty() || c.field.len() > 200 || c.value.len() > 1000)
            {
                return Err(shape("An edge condition needs a field (up to 200 characters) and a value up to 1000."));
            }
        }
        Ok(())
    }

    /// What must be fixed before activation, in node order.
    pub fn diagnostics(&self) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        let by_id: HashMap<Uuid, &Node> = self.nodes.iter().map(|n| (n.id, n)).collect();
        if !self.nodes.iter().any(|n| n.kind().is_trigger()) {
            out.push(Diagnostic::graph("Add a trigger: every workflow starts at one."));
        }
        for edge in &self.edges {
            if !by_id.contains_key(&edge.source) || !by_id.contains_key(&edge.target) {
                out.push(Diagnostic::edge(edge.id, "This edge is not connected at both ends."));
            }
        }
        let reachable = self.reachable();
        let cyclic = self.cyclic();
        for node in &self.nodes {
            let missing = node.config.missing();
            if !missing.is_empty() {
                out.push(Diagnostic::node(node.id, format!("Missing: {}.", missing.join(", "))));
            }
            if !node.kind().is_trigger() && !reachable.contains(&node.id) {
                out.push(Diagnostic::node(node.id, "Not reachable from a trigger."));
            }
            if cyclic.contains(&node.id) {
                out.push(Diagnostic::node(node.id, "Part of a cycle; workflows run forward only."));
            }
            if node.kind() == crate::workflows::kinds::NodeKind::Condition
                && !self.edges.iter().any(|e| e.source == node.id && e.condition.is_some())
            {
                out.push(Diagnostic::node(node.id, "A condition needs an outgoing edge with a condition."));
            }
        }
        out
    }

    /// Nodes reachable from a trigger (triggers included).
    fn reachable(&self) -> HashSet<Uuid> {
        let next = self.successors();
        let mut seen: HashSet<Uuid> = self.nodes.iter().filter(|n| n.kind().is_trigger()).map(|n| n.id).collect();
        let mut queue: VecDeque<Uuid> = seen.iter().copied().collect();
        while let Some(id) = queue.pop_front() {
            for &t in next.get(&id).into_iter().flatten() {
                if seen.insert(t) {
                    queue.push_back(t);
                }
            }
        }
        seen
    }

    fn successors(&self) -> HashMap<Uuid, Vec<Uuid>> {
        let mut next: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for e in &self.edges {
            next.entry(e.source).or_default().push(e.target);
        }
        next
    }

    /// Nodes on a cycle: what Kahn's topological sort can't peel off from either end (this also
    /// catches a node between two cycles, which is fine for a warning).
    fn cyclic(&self) -> HashSet<Uuid> {
        let ids: HashSet<Uuid> = self.nodes.iter().map(|n| n.id).collect();
        let edges: Vec<(Uuid, Uuid)> = self
            .edges
            .iter()
            .filter(|e| ids.contains(&e.source) && ids.contains(&e.target))
            .map(|e| (e.source, e.target))
            .collect();
        let forward = peel(&ids, &edges);
        let reversed: Vec<(Uuid, Uuid)> = edges.iter().map(|&(s, t)| (t, s)).collect();
        let backward = peel(&ids, &reversed);
        forward.intersection(&backward).copied().collect()
    }

    /// Layered left-to-right layout: each node one layer right of its furthest predecessor, rows
    /// ordered by the mean row of their predecessors; nodes on cycles keep their layer from the
    /// acyclic part. Returns new positions by node id.
    pub fn layout(&self) -> HashMap<Uuid, (f64, f64)> {
        let ids: HashSet<Uuid> = self.nodes.iter().map(|n| n.id).collect();
        let mut preds: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        let mut indegree: HashMap<Uuid, usize> = self.nodes.iter().map(|n| (n.id, 0)).collect();
        let next = self.successors();
        for e in self.edges.iter().filter(|e| ids.contains(&e.source) && ids.contains(&e.target)) {
            preds.entry(e.target).or_default().push(e.source);
            *indegree.entry(e.target).or_default() += 1;
        }
        // Longest path layering in topological order; leftovers (cycles) go after their placed predecessors.
        let mut layer: HashMap<Uuid, usize> = HashMap::new();
        let mut queue: VecDeque<Uuid> =
            self.nodes.iter().filter(|n| indegree.get(&n.id) == Some(&0)).map(|n| n.id).collect();
        let mut order = Vec::with_capacity(self.nodes.len());
        while let Some(id) = queue.pop_front() {
            order.push(id);
            let l = layer.get(&id).copied().unwrap_or(0);
            layer.insert(id, l);
            for &t in next.get(&id).into_iter().flatten() {
                if !ids.contains(&t) {
                    continue;
                }
                let entry = layer.entry(t).or_insert(0);
                *entry = (*entry).max(l + 1);
                if let Some(d) = indegree.get_mut(&t) {
                    *d -= 1;
                    if *d == 0 {
                        queue.push_back(t);
                    }
                }
            }
        }
        let placed: HashSet<Uuid> = order.iter().copied().collect();
        for node in &self.nodes {
            if !placed.contains(&node.id) {
                order.push(node.id);
                layer.entry(node.id).or_insert(0);
            }
        }
        let depth = layer.values().copied().max().unwrap_or(0);
        let mut rows: Vec<Vec<Uuid>> = vec![Vec::new(); depth + 1];
        for id in &order {
            rows[layer[id]].push(*id);
        }
        let mut row_of: HashMap<Uuid, f64> = HashMap::new();
        for row in rows.iter_mut() {
            let key = |id: &Uuid| {
                let placed: Vec<f64> =
                    preds.get(id).into_iter().flatten().filter_map(|p| row_of.get(p).copied()).collect();
                if placed.is_empty() { f64::MAX } else { placed.iter().sum::<f64>() / placed.len() as f64 }
            };
            let mut keyed: Vec<(f64, Uuid)> = row.iter().map(|id| (key(id), *id)).collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
            *row = keyed.into_iter().map(|(_, id)| id).collect();
            for (i, id) in row.iter().enumerate() {
                row_of.insert(*id, i as f64);
            }
        }
        let tallest = rows.iter().map(Vec::len).max().unwrap_or(0) as f64;
        let mut out = HashMap::with_capacity(self.nodes.len());
        for (l, row) in rows.iter().enumerate() {
            let offset = (tallest - row.len() as f64) * ROW_GAP / 2.0;
            for (i, id) in row.iter().enumerate() {
                let y = ((offset + i as f64 * ROW_GAP) / GRID).round() * GRID;
                out.insert(*id, (l as f64 * LAYER_GAP, y));
            }
        }
        out
    }

    /// What changed from `self` (older) to `newer`.
    pub fn diff(&self, newer: &Graph) -> GraphDiff {
        fn compare<T: PartialEq>(
            old: &[T],
            new: &[T],
            id: impl Fn(&T) -> Uuid,
            same: impl Fn(&T, &T) -> bool,
        ) -> (Vec<Uuid>, Vec<Uuid>, Vec<Uuid>) {
            let before: HashMap<Uuid, &T> = old.iter().map(|t| (id(t), t)).collect();
            let after: HashSet<Uuid> = new.iter().map(&id).collect();
            let mut added = Vec::new();
            let mut changed = Vec::new();
            for t in new {
                match before.get(&id(t)) {
                    None => added.push(id(t)),
                    Some(b) if !same(b, t) => changed.push(id(t)),
                    Some(_) => {}
                }
            }
            let removed = old.iter().map(&id).filter(|i| !after.contains(i)).collect();
            (added, removed, changed)
        }
        // Moving a node is a change of layout, not of the workflow.
        let (added_nodes, removed_nodes, changed_nodes) =
            compare(&self.nodes, &newer.nodes, |n| n.id, |a, b| a.name == b.name && a.config == b.config);
        let (added_edges, removed_edges, changed_edges) = compare(&self.edges, &newer.edges, |e| e.id, |a, b| a == b);
        GraphDiff { added_nodes, removed_nodes, changed_nodes, added_edges, removed_edges, changed_edges }
    }
}

/// Removes nodes without incoming edges, repeatedly; what stays has a cycle upstream (or is on one).
fn peel(ids: &HashSet<Uuid>, edges: &[(Uuid, Uuid)]) -> HashSet<Uuid> {
    let mut indegree: HashMap<Uuid, usize> = ids.iter().map(|&id| (id, 0)).collect();
    let mut next: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for &(s, t) in edges {
        *indegree.entry(t).or_default() += 1;
        next.entry(s).or_default().push(t);
    }
    let mut queue: VecDeque<Uuid> = indegree.iter().filter(|(_, d)| **d == 0).map(|(id, _)| *id).collect();
    let mut left: HashSet<Uuid> = ids.clone();
    while let Some(id) = queue.pop_front() {
        left.remove(&id);
        for t in next.get(&id).into_iter().flatten() {
            if let Some(d) = indegree.get_mut(t) {
                *d -= 1;
                if *d == 0 {
                    queue.push_back(*t);
                }
            }
        }
    }
    left
}

/// Ids added, removed and changed between two graphs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GraphDiff {
    pub added_nodes: Vec<Uuid>,
    pub removed_nodes: Vec<Uuid>,
    pub changed_nodes: Vec<Uuid>,
    pub added_edges: Vec<Uuid>,
    pub removed_edges: Vec<Uuid>,
    pub changed_edges: Vec<Uuid>,
}

impl GraphDiff {
    pub fn is_empty(&self) -> bool {
        self.added_nodes.is_empty()
            && self.removed_nodes.is_empty()
            && self.changed_nodes.is_empty()
            && self.added_edges.is_empty()
            && self.removed_edges.is_empty()
            && self.changed_edges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::kinds::{HttpConfig, NodeKind};

    fn node(n: u128, kind: NodeKind) -> Node {
        Node {
            id: Uuid::from_u128(n),
            name: format!("{} {n}", kind.label()),
            x: 0.0,
            y: 0.0,
            config: kind.default_config(),
            policy: Policy::default(),
            pinned: None,
        }
    }

    fn edge(n: u128, s: u128, t: u128) -> Edge {
        Edge {
            id: Uuid::from_u128(1000 + n),
            source: Uuid::from_u128(s),
            target: Uuid::from_u128(t),
            condition: None,
            is_default: false,
        }
    }

    fn http(n: u128) -> Node {
        Node {
            config: NodeConfig::Http(HttpConfig { url: "https://example.com".into(), ..HttpConfig::default() }),
            ..node(n, NodeKind::Http)
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitter_keeps_at_least_half() {
        use std::time::Duration;
        let p = Policy { attempts: 5, backoff_secs: 2, max_backoff_secs: 10, timeout_secs: 0 };
        let full: Vec<Duration> = (1..=5).map(|n| p.backoff(n, 1.0)).collect();
        assert_eq!(full, [2, 4, 8, 10, 10].map(Duration::from_secs));
        assert_eq!(p.backoff(3, 0.0), Duration::from_secs(4), "no jitter luck: half");
        assert_eq!(p.backoff(40, 1.0), Duration::from_secs(10), "no overflow far out");
        assert_eq!(p.problem(), None);
        assert!(Policy { attempts: 0, ..p }.problem().is_some());
        assert!(Policy { attempts: 11, ..p }.problem().is_some());
        assert!(Policy { backoff_secs: 20, ..p }.problem().is_some(), "first wait above the longest");
        assert!(Policy { timeout_secs: 4000, ..p }.problem().is_some());
        // The default stays out of the JSON; a set policy round-trips.
        let plain = node(1, NodeKind::Http);
        assert!(serde_json::to_value(&plain).expect("json").get("policy").is_none());
        let tried = Node { policy: p, ..plain };
        let back: Node = serde_json::from_value(serde_json::to_value(&tried).expect("json")).expect("back");
        assert_eq!(back, tried);
    }

    fn messages(g: &Graph, id: u128) -> Vec<String> {
        g.diagnostics().into_iter().filter(|d| d.node == Some(Uuid::from_u128(id))).map(|d| d.message).collect()
    }

    #[test]
    fn a_connected_configured_graph_is_clean() {
        let g = Graph {
            nodes: vec![node(1, NodeKind::Manual), http(2), http(3)],
            edges: vec![edge(1, 1, 2), edge(2, 2, 3)],
        };
        assert_eq!(g.check(), Ok(()));
        assert_eq!(g.diagnostics(), vec![]);
    }

    #[test]
    fn missing_trigger_unreachable_nodes_and_config_are_reported() {
        let g = Graph { nodes: vec![node(2, NodeKind::Http)], edges: vec![] };
        let all = g.diagnostics();
        assert!(all.iter().any(|d| d.node.is_none() && d.message.contains("Add a trigger")));
        assert_eq!(messages(&g, 2), vec!["Missing: URL.", "Not reachable from a trigger."]);
    }

    #[test]
    fn cycles_are_found_but_not_what_follows_them() {
        // 1 → 2 → 3 → 2, 3 → 4: 2 and 3 are on the cycle, 4 only after it.
        let g = Graph {
            nodes: vec![node(1, NodeKind::Manual), http(2), http(3), http(4)],
            edges: vec![edge(1, 1, 2), edge(2, 2, 3), edge(3, 3, 2), edge(4, 3, 4)],
        };
        assert_eq!(g.check(), Ok(()));
        let on_cycle = |id| messages(&g, id).iter().any(|m| m.contains("cycle"));
        assert!(on_cycle(2) && on_cycle(3));
        assert!(!on_cycle(1) && !on_cycle(4));
    }

    #[test]
    fn dangling_edges_and_edges_into_triggers_are_refused() {
        let dangling = Graph { nodes: vec![node(1, NodeKind::Manual)], edges: vec![edge(1, 1, 9)] };
        assert!(dangling.check().unwrap_err().message.contains("doesn't exist"));
        assert!(dangling.diagnostics().iter().any(|d| d.edge.is_some()));
        let into_trigger = Graph { nodes: vec![http(1), node(2, NodeKind::Webhook)], edges: vec![edge(1, 1, 2)] };
        assert!(into_trigger.check().unwrap_err().message.contains("trigger"));
        let itself = Graph { nodes: vec![http(1)], edges: vec![edge(1, 1, 1)] };
        assert!(itself.check().is_err());
        let twice =
            Graph { nodes: vec![node(1, NodeKind::Manual), http(2)], edges: vec![edge(1, 1, 2), edge(2, 1, 2)] };
        assert!(twice.check().is_err());
    }

    #[test]
    fn duplicate_ids_bad_names_and_positions_are_refused() {
        let g = Graph { nodes: vec![http(1), http(1)], edges: vec![] };
        assert!(g.check().unwrap_err().to_string().contains("used twice"));
        let mut far = http(1);
        far.x = f64::NAN;
        assert!(Graph { nodes: vec![far], edges: vec![] }.check().is_err());
        let mut unnamed = http(1);
        unnamed.name = "  ".into();
        assert!(Graph { nodes: vec![unnamed], edges: vec![] }.check().is_err());
    }

    #[test]
    fn a_condition_node_needs_a_conditional_edge() {
        let mut g = Graph {
            nodes: vec![node(1, NodeKind::Manual), node(2, NodeKind::Condition), http(3)],
            edges: vec![edge(1, 1, 2), edge(2, 2, 3)],
        };
        assert_eq!(messages(&g, 2).len(), 1);
        g.edges[1].condition =
            Some(Condition { field: "trigger.body.ok".into(), operator: Operator::Exists, value: String::new() });
        assert_eq!(messages(&g, 2), Vec::<String>::new());
        assert_eq!(g.edges[1].label().as_deref(), Some("trigger.body.ok exists"));
    }

    #[test]
    fn layout_puts_each_node_right_of_its_predecessors() {
        // 1 → 2 → 4, 1 → 3 → 4, 4 → 5; 6 unconnected.
        let g = Graph {
            nodes: vec![node(1, NodeKind::Manual), http(2), http(3), http(4), http(5), http(6)],
            edges: vec![edge(1, 1, 2), edge(2, 1, 3), edge(3, 2, 4), edge(4, 3, 4), edge(5, 4, 5)],
        };
        let at = g.layout();
        let x = |id: u128| at[&Uuid::from_u128(id)].0;
        assert!(x(1) < x(2) && x(2) == x(3) && x(3) < x(4) && x(4) < x(5));
        assert_eq!(x(6), 0.0);
        assert_ne!(at[&Uuid::from_u128(2)].1, at[&Uuid::from_u128(3)].1, "siblings get their own rows");
        for (_, (x, y)) in at {
            assert_eq!((x % GRID, y % GRID), (0.0, 0.0), "on the grid");
        }
    }

    #[test]
    fn layout_terminates_on_cycles() {
        let g = Graph { nodes: vec![http(1), http(2)], edges: vec![edge(1, 1, 2), edge(2, 2, 1)] };
        assert_eq!(g.layout().len(), 2);
    }

    #[test]
    fn diff_names_added_removed_and_changed_but_not_moved() {
        let old = Graph { nodes: vec![node(1, NodeKind::Manual), http(2), http(3)], edges: vec![edge(1, 1, 2)] };
        let mut new = old.clone();
        new.nodes[0].x = 500.0;
        new.nodes[1].name = "Fetch".into();
        new.nodes.remove(2);
        new.nodes.push(http(4));
        new.edges.push(edge(2, 2, 4));
        let d = old.diff(&new);
        assert_eq!(d.changed_nodes, vec![Uuid::from_u128(2)]);
        assert_eq!(d.removed_nodes, vec![Uuid::from_u128(3)]);
        assert_eq!(d.added_nodes, vec![Uuid::from_u128(4)]);
        assert_eq!(d.added_edges, vec![Uuid::from_u128(1002)]);
        assert!(old.diff(&old).is_empty());
    }

    #[test]
    fn json_shape_is_flat_and_tagged_by_kind() {
        let n = http(7);
        let json = serde_json::to_value(&n).expect("json");
        assert_eq!(json["kind"], "http");
        assert_eq!(json["config"]["url"], "https://example.com");
        let back: Node = serde_json::from_value(json).expect("back");
        assert_eq!(back, n);
        let unknown =
            serde_json::json!({ "id": Uuid::nil(), "name": "x", "x": 0, "y": 0, "kind": "teleport", "config": {} });
        assert!(serde_json::from_value::<Node>(unknown).unwrap_err().to_string().contains("teleport"));
    }
}
