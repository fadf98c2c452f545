//! What a run does next. A run starts at its trigger and follows edges: a finished node takes
//! its unconditional edges, the conditional edges whose condition holds, and its default edges
//! when no conditional one holds. A node runs once every input is settled and at least one
//! was taken; when none was, it is skipped, and so on down its branch. Pure: the runner feeds it
//! step results and stores what it decides.

use std::collections::{HashMap, HashSet, VecDeque};

use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::workflows::graph::{Condition, Edge, Graph, Operator};

/// What `advance` found.
#[derive(Debug, Default, PartialEq)]
pub struct Advance {
    /// Nodes to run now, in a topological order.
    pub ready: Vec<Uuid>,
    /// Nodes that will never run in this run (their inputs were all left untaken).
    pub skipped: Vec<Uuid>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Settled {
    Completed,
    Skipped,
}

pub struct Plan<'g> {
    graph: &'g Graph,
    trigger: Uuid,
    /// Nodes reachable from the trigger, in a topological order (cycles never get ready).
    order: Vec<Uuid>,
    reach: HashSet<Uuid>,
    settled: HashMap<Uuid, Settled>,
    started: HashSet<Uuid>,
    /// Edges a completed node took.
    taken: HashSet<Uuid>,
    /// What templates and conditions see: `trigger`, `steps.<key>.output` and `data.<key>`.
    scope: Value,
}

/// The key a node's output has under `steps`: its name in lower case with `_` for anything
/// that is not a letter or a digit ("Fetch orders" → `fetch_orders`).
pub fn step_key(name: &str) -> String {
    let mut key = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_alphanumeric() {
            key.extend(c.to_lowercase());
        } else if !key.ends_with('_') {
            key.push('_');
        }
    }
    key.trim_matches('_').to_owned()
}

impl<'g> Plan<'g> {
    pub fn new(graph: &'g Graph, trigger: Uuid, payload: Value) -> Plan<'g> {
        let mut out: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for e in &graph.edges {
            out.entry(e.source).or_default().push(e.target);
        }
        // Reachable nodes, then Kahn's order among them.
        let mut reach = HashSet::from([trigger]);
        let mut queue = VecDeque::from([trigger]);
        while let Some(n) = queue.pop_front() {
            for &t in out.get(&n).into_iter().flatten() {
                if reach.insert(t) {
                    queue.push_back(t);
                }
            }
        }
        let mut indegree: HashMap<Uuid, usize> = reach.iter().map(|&n| (n, 0)).collect();
        for e in graph.edges.iter().filter(|e| reach.contains(&e.source)) {
            *indegree.entry(e.target).or_default() += 1;
        }
        let mut order = Vec::with_capacity(reach.len());
        let mut queue: VecDeque<Uuid> =
            graph.nodes.iter().map(|n| n.id).filter(|id| indegree.get(id) == Some(&0)).collect();
        while let Some(n) = queue.pop_front() {
            order.push(n);
            for &t in out.get(&n).into_iter().flatten() {
                if let Some(d) = indegree.get_mut(&t) {
                    *d -= 1;
                    if *d == 0 {
                        queue.push_back(t);
                    }
                }
            }
        }
        Plan {
            graph,
            trigger,
            order,
            reach,
            settled: HashMap::new(),
            started: HashSet::new(),
            taken: HashSet::new(),
            scope: json!({ "trigger": payload, "steps": {} }),
        }
    }

    /// What the workflow's "save data" steps stored in earlier runs, seen as `data.<key>`.
    pub fn set_data(&mut self, data: Map<String, Value>) {
        if let Some(scope) = self.scope.as_object_mut() {
            scope.insert("data".into(), Value::Object(data));
        }
    }

    /// What templates and conditions see.
    pub fn scope(&self) -> &Value {
        &self.scope
    }

    /// Records a finished node and decides which of its edges are taken.
    pub fn complete(&mut self, node: Uuid, output: Value) {
        self.started.insert(node);
        self.settled.insert(node, Settled::Completed);
        if let Some(n) = self.graph.nodes.iter().find(|n| n.id == node)
            && let Some(steps) = self.scope.get_mut("steps").and_then(Value::as_object_mut)
        {
            let mut entry = Map::new();
            entry.insert("output".into(), output);
            steps.insert(step_key(&n.name), Value::Object(entry));
        }
        let outgoing: Vec<&Edge> = self.graph.edges.iter().filter(|e| e.source == node).collect();
        let hits: Vec<Uuid> = outgoing
            .iter()
            .filter(|e| e.condition.as_ref().is_some_and(|c| holds(c, &self.scope)))
            .map(|e| e.id)
            .collect();
        let plain = outgoing.iter().filter(|e| e.condition.is_none() && !e.is_default).map(|e| e.id);
        let defaults = outgoing.iter().filter(|e| e.is_default && hits.is_empty()).map(|e| e.id);
        self.taken.extend(plain.chain(defaults).chain(hits.iter().copied()));
    }

    /// Records a node a previous attempt of this run skipped.
    pub fn skip(&mut self, node: Uuid) {
        self.started.insert(node);
        self.settled.insert(node, Settled::Skipped);
    }

    /// Nodes that can run now, and nodes that never will; each is returned once.
    pub fn advance(&mut self) -> Advance {
        let mut advance = Advance::default();
        for i in 0..self.order.len() {
            let node = self.order[i];
            if self.started.contains(&node) {
                continue;
            }
            if node == self.trigger {
                self.started.insert(node);
                advance.ready.push(node);
                continue;
            }
            let (mut pending, mut live) = (false, false);
            for e in self.graph.edges.iter().filter(|e| e.target == node && self.reach.contains(&e.source)) {
                match self.settled.get(&e.source) {
                    None => pending = true,
                    Some(Settled::Completed) if self.taken.contains(&e.id) => live = true,
                    Some(_) => {}
                }
            }
            if pending {
                continue;
            }
            self.started.insert(node);
            if live {
                advance.ready.push(node);
            } else {
                self.settled.insert(node, Settled::Skipped);
                advance.skipped.push(node);
            }
        }
        advance
    }
}

/// The value at a dotted path (`steps.fetch.output.items.0.id`); numbers index arrays.
pub fn lookup<'v>(scope: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').filter(|p| !p.is_empty()).try_fold(scope, |v, part| match v {
        Value::Object(map) => map.get(part),
        Value::Array(items) => part.parse::<usize>().ok().and_then(|i| items.get(i)),
        _ => None,
    })
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Whether a value equals what a person typed: numbers by value, text as text, anything else
/// by its JSON.
fn same(v: &Value, typed: &str) -> bool {
    match v {
        Value::String(s) => s == typed,
        Value::Number(_) => number(v).zip(typed.trim().parse::<f64>().ok()).is_some_and(|(a, b)| a == b),
        Value::Bool(b) => typed.trim().eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        Value::Null => typed.trim().is_empty() || typed.trim() == "null",
        _ => serde_json::to_string(v).is_ok_and(|json| json == typed.trim()),
    }
}

/// Whether an edge's condition holds for the run so far.
pub fn holds(c: &Condition, scope: &Value) -> bool {
    let found = lookup(scope, &c.field).filter(|v| !v.is_null());
    let contains = |v: &Value| match v {
        Value::String(s) => s.contains(&c.value),
        Value::Array(items) => items.iter().any(|i| same(i, &c.value)),
        Value::Object(map) => map.contains_key(&c.value),
        _ => false,
    };
    let compare = |v: &Value| number(v).zip(c.value.trim().parse::<f64>().ok());
    match c.operator {
        Operator::Exists => found.is_some(),
        Operator::NotExists => found.is_none(),
        Operator::Equals => lookup(scope, &c.field).is_some_and(|v| same(v, &c.value)),
        Operator::NotEquals => !lookup(scope, &c.field).is_some_and(|v| same(v, &c.value)),
        Operator::Greater => found.and_then(compare).is_some_and(|(a, b)| a > b),
        Operator::Less => found.and_then(compare).is_some_and(|(a, b)| a < b),
        Operator::Contains => found.is_some_and(contains),
        Operator::NotContains => !found.is_some_and(contains),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::graph::{Node, Policy};
    use crate::workflows::kinds::{ConditionConfig, DelayConfig, ManualConfig, NodeConfig};

    fn id(n: u128) -> Uuid {
        Uuid::from_u128(n)
    }

    fn node(n: u128, name: &str, config: NodeConfig) -> Node {
        Node { id: id(n), name: name.into(), x: 0.0, y: 0.0, config, policy: Policy::default(), pinned: None }
    }

    fn edge(n: u128, from: u128, to: u128) -> Edge {
        Edge { id: id(1000 + n), source: id(from), target: id(to), condition: None, is_default: false }
    }

    fn when(mut e: Edge, field: &str, operator: Operator, value: &str) -> Edge {
        e.condition = Some(Condition { field: field.into(), operator, value: value.into() });
        e
    }

    fn default(mut e: Edge) -> Edge {
        e.is_default = true;
        e
    }

    fn delay(n: u128, name: &str) -> Node {
        node(n, name, NodeConfig::Delay(DelayConfig { seconds: 1 }))
    }

    /// Runs the plan to the end, every node outputting `output(node)`; returns (ran, skipped).
    fn run(graph: &Graph, output: impl Fn(Uuid) -> Value) -> (Vec<Uuid>, Vec<Uuid>) {
        let mut plan = Plan::new(graph, id(1), json!({ "amount": 1500 }));
        let (mut ran, mut skipped) = (Vec::new(), Vec::new());
        loop {
            let step = plan.advance();
            skipped.extend(step.skipped);
            if step.ready.is_empty() {
                return (ran, skipped);
            }
            for n in step.ready {
                plan.complete(n, output(n));
                ran.push(n);
            }
        }
    }

    /// trigger(1) → check(2) → big(3) when amount > 1000 / small(4) by default → join(5).
    fn branching(op: Operator, value: &str) -> Graph {
        Graph {
            nodes: vec![
                node(1, "Start", NodeConfig::Manual(ManualConfig::default())),
                node(2, "Check", NodeConfig::Condition(ConditionConfig::default())),
                delay(3, "Big"),
                delay(4, "Small"),
                delay(5, "Join"),
            ],
            edges: vec![
                edge(1, 1, 2),
                when(edge(2, 2, 3), "trigger.amount", op, value),
                default(edge(3, 2, 4)),
                edge(4, 3, 5),
                edge(5, 4, 5),
            ],
        }
    }

    #[test]
    fn a_condition_takes_its_branch_and_skips_the_default() {
        let (ran, skipped) = run(&branching(Operator::Greater, "1000"), |_| json!({}));
        assert_eq!(ran, [id(1), id(2), id(3), id(5)], "the join runs once its live input is done");
        assert_eq!(skipped, [id(4)]);
    }

    #[test]
    fn the_default_edge_is_taken_when_no_condition_holds() {
        let (ran, skipped) = run(&branching(Operator::Less, "1000"), |_| json!({}));
        assert_eq!(ran, [id(1), id(2), id(4), id(5)]);
        assert_eq!(skipped, [id(3)]);
    }

    #[test]
    fn a_node_whose_inputs_were_all_untaken_is_skipped_down_its_branch() {
        let mut g = branching(Operator::Greater, "1000");
        g.nodes.push(delay(6, "After small"));
        g.edges.push(edge(6, 4, 6));
        let (_, skipped) = run(&g, |_| json!({}));
        assert_eq!(skipped, [id(4), id(6)]);
    }

    #[test]
    fn a_join_waits_for_every_live_input() {
        // 1 → 2 → 4, 1 → 3 → 4: 4 is ready only after both 2 and 3.
        let g = Graph {
            nodes: vec![
                node(1, "Start", NodeConfig::Manual(ManualConfig::default())),
                delay(2, "A"),
                delay(3, "B"),
                delay(4, "Join"),
            ],
            edges: vec![edge(1, 1, 2), edge(2, 1, 3), edge(3, 2, 4), edge(4, 3, 4)],
        };
        let mut plan = Plan::new(&g, id(1), json!({}));
        assert_eq!(plan.advance().ready, [id(1)]);
        plan.complete(id(1), json!({}));
        assert_eq!(plan.advance().ready, [id(2), id(3)]);
        plan.complete(id(2), json!({}));
        assert_eq!(plan.advance(), Advance::default(), "B is still running");
        plan.complete(id(3), json!({}));
        assert_eq!(plan.advance().ready, [id(4)]);
        plan.complete(id(4), json!({}));
        assert_eq!(plan.advance(), Advance::default());
    }

    #[test]
    fn conditions_see_earlier_steps_by_name() {
        let mut g = branching(Operator::Equals, "shipped");
        g.edges[1] = when(edge(2, 2, 3), "steps.check.output.status", Operator::Equals, "shipped");
        let (ran, _) = run(&g, |n| if n == id(2) { json!({ "status": "shipped" }) } else { json!({}) });
        assert!(ran.contains(&id(3)) && !ran.contains(&id(4)));
    }

    #[test]
    fn nodes_not_reachable_from_the_trigger_do_not_run() {
        let mut g = branching(Operator::Greater, "1000");
        g.nodes.push(node(9, "Other trigger", NodeConfig::Manual(ManualConfig::default())));
        g.nodes.push(delay(10, "Other branch"));
        g.edges.push(edge(9, 9, 10));
        g.edges.push(edge(10, 9, 5));
        let (ran, skipped) = run(&g, |_| json!({}));
        assert_eq!(ran, [id(1), id(2), id(3), id(5)], "the join does not wait for the other trigger");
        assert_eq!(skipped, [id(4)]);
    }

    #[test]
    fn a_resumed_plan_continues_after_the_last_completed_step() {
        let g = branching(Operator::Greater, "1000");
        let mut plan = Plan::new(&g, id(1), json!({ "amount": 1500 }));
        plan.complete(id(1), json!({}));
        plan.complete(id(2), json!({}));
        plan.skip(id(4));
        assert_eq!(plan.advance(), Advance { ready: vec![id(3)], skipped: vec![] });
    }

    #[test]
    fn operators() {
        let scope = json!({ "n": 5, "s": "Invoice 42", "list": ["a", 7], "flag": true, "none": null });
        let check = |field: &str, operator, value: &str| {
            holds(&Condition { field: field.into(), operator, value: value.into() }, &scope)
        };
        assert!(check("n", Operator::Equals, "5.0") && check("n", Operator::NotEquals, "6"));
        assert!(check("n", Operator::Greater, "4") && !check("n", Operator::Greater, "5"));
        assert!(check("n", Operator::Less, "10") && !check("s", Operator::Less, "10"), "text is not a number");
        assert!(check("s", Operator::Contains, "42") && check("s", Operator::NotContains, "43"));
        assert!(check("list", Operator::Contains, "7") && check("list.0", Operator::Equals, "a"));
        assert!(check("flag", Operator::Equals, "TRUE"));
        assert!(check("s", Operator::Exists, "") && check("none", Operator::NotExists, ""));
        assert!(check("missing.deeper", Operator::NotExists, "") && !check("missing", Operator::Equals, ""));
        assert!(check("missing", Operator::NotEquals, "x"));
    }

    #[test]
    fn step_keys_are_names_in_snake_case() {
        assert_eq!(step_key("Fetch orders"), "fetch_orders");
        assert_eq!(step_key("  HTTP → Slack!  "), "http_slack");
        assert_eq!(step_key("Étape 2"), "étape_2");
    }
}
