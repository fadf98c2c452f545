//! Workflows as files: Flowdeck's own JSON export (a documented, versioned format that imports back
//! equal) and n8n workflow JSON for the node types both have, with a report of what was left out.
//!
//! The Flowdeck format, schema version 1:
//! ```json
//! { "format": "flowdeck.workflow", "schema_version": 1, "name": "…", "description": "…",
//!   "graph": { "nodes": [{ "id": "<uuid>", "name": "…", "x": 0, "y": 0, "kind": "http", "config": {…} }],
//!              "edges": [{ "id": "<uuid>", "source": "<uuid>", "target": "<uuid>",
//!                          "condition": { "field": "…", "operator": "equals", "value": "…" } | null,
//!                          "is_default": false }] } }
//! ```
//! Node kinds and their config fields are listed in `kinds.rs`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::workflows::graph::{Condition, Edge, Graph, Node, Operator, Policy};
use crate::workflows::kinds::{
    DelayConfig, EmailConfig, HttpConfig, ManualConfig, NodeConfig, NodeKind, ScheduleConfig, WebhookConfig,
};

pub const FORMAT: &str = "flowdeck.workflow";
pub const SCHEMA_VERSION: u32 = 1;
/// The largest file an import accepts.
pub const MAX_IMPORT_BYTES: usize = 1024 * 1024;

/// A workflow as a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Export {
    pub format: String,
    pub schema_version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub graph: Graph,
}

impl Export {
    pub fn new(name: String, description: String, graph: Graph) -> Self {
        Export { format: FORMAT.into(), schema_version: SCHEMA_VERSION, name, description, graph }
    }
}

/// What an import made of a file, before it is checked and stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub name: String,
    pub description: String,
    pub graph: Graph,
    /// What could not be carried over, one line each.
    pub skipped: Vec<String>,
}

/// Reads a Flowdeck export or an n8n workflow. The error names the problem.
pub fn parse(text: &str) -> Result<Parsed, String> {
    if text.len() > MAX_IMPORT_BYTES {
        return Err(format!("The file is larger than {} MiB.", MAX_IMPORT_BYTES / 1024 / 1024));
    }
    let value: Value = serde_json::from_str(text).map_err(|e| format!("The file is not valid JSON ({e})."))?;
    let Value::Object(top) = value else {
        return Err("The file should hold a JSON object.".into());
    };
    if top.get("format").and_then(Value::as_str) == Some(FORMAT) {
        return flowdeck(top);
    }
    if top.get("nodes").is_some_and(Value::is_array) && top.get("connections").is_some_and(Value::is_object) {
        return n8n(&top);
    }
    Err("This is neither a Flowdeck export (\"format\": \"flowdeck.workflow\") nor an n8n workflow (\"nodes\" and \"connections\").".into())
}

fn flowdeck(top: Map<String, Value>) -> Result<Parsed, String> {
    let version = top.get("schema_version").and_then(Value::as_u64);
    if version != Some(u64::from(SCHEMA_VERSION)) {
        return Err(format!(
            "Schema version {} is not supported; this Flowdeck reads version {SCHEMA_VERSION}.",
            version.map_or("(missing)".into(), |v| v.to_string())
        ));
    }
    let graph = top.get("graph").and_then(Value::as_object).ok_or("The export has no \"graph\" object.")?;
    let mut nodes = Vec::new();
    for (i, node) in
        graph.get("nodes").and_then(Value::as_array).ok_or("The graph has no \"nodes\" list.")?.iter().enumerate()
    {
        let label =
            node.get("name").and_then(Value::as_str).map_or(format!("{}", i + 1), |n| format!("{} (“{n}”)", i + 1));
        let parsed: Node = serde_json::from_value(node.clone()).map_err(|e| format!("Node {label}: {e}."))?;
        nodes.push(parsed);
    }
    let edges: Vec<Edge> = serde_json::from_value(graph.get("edges").cloned().unwrap_or(Value::Array(Vec::new())))
        .map_err(|e| format!("Edges: {e}."))?;
    let text = |key: &str| top.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Parsed {
        name: text("name"),
        description: text("description"),
        graph: Graph { nodes, edges },
        skipped: Vec::new(),
    })
}

/// n8n spaces nodes closer than we do.
const N8N_SCALE: f64 = 1.4;

fn n8n(top: &Map<String, Value>) -> Result<Parsed, String> {
    let mut skipped = Vec::new();
    let mut nodes = Vec::new();
    // n8n connects nodes by name.
    let mut ids: std::collections::HashMap<String, Uuid> = std::collections::HashMap::new();
    let mut expressions = 0;
    for raw in top.get("nodes").and_then(Value::as_array).into_iter().flatten() {
        let name = raw.get("name").and_then(Value::as_str).unwrap_or("Unnamed").to_owned();
        let kind = raw.get("type").and_then(Value::as_str).unwrap_or_default();
        let params = raw.get("parameters").cloned().unwrap_or(Value::Null);
        expressions += count_expressions(&params);
        let config = match n8n_config(kind, &params, &mut skipped, &name) {
            Some(config) => config,
            None => {
                if kind != "n8n-nodes-base.stickyNote" {
                    skipped.push(format!("“{name}” ({kind}) has no Flowdeck equivalent and was left out."));
                }
                continue;
            }
        };
        let id = raw.get("id").and_then(Value::as_str).and_then(|s| s.parse::<Uuid>().ok()).unwrap_or_else(fresh_id);
        let (x, y) = match raw.get("position").and_then(Value::as_array).map(Vec::as_slice) {
            Some([x, y]) => (x.as_f64().unwrap_or(0.0), y.as_f64().unwrap_or(0.0)),
            _ => (0.0, 0.0),
        };
        ids.insert(name.clone(), id);
        let name: String = name.chars().take(crate::workflows::graph::NAME_MAX).collect();
        nodes.push(Node {
            id,
            name,
            x: (x * N8N_SCALE / 20.0).round() * 20.0,
            y: (y * N8N_SCALE / 20.0).round() * 20.0,
            config,
            policy: Policy::default(),
            pinned: None,
        });
    }
    let kinds: std::collections::HashMap<Uuid, NodeKind> = nodes.iter().map(|n| (n.id, n.kind())).collect();
    let mut edges = Vec::new();
    let mut dropped = 0;
    for (from, outputs) in top.get("connections").and_then(Value::as_object).into_iter().flatten() {
        let main = outputs.get("main").and_then(Value::as_array);
        for (output, targets) in main.into_iter().flatten().enumerate() {
            for target in targets.as_array().into_iter().flatten() {
                let to = target.get("node").and_then(Value::as_str).unwrap_or_default();
                let (Some(&source), Some(&dest)) = (ids.get(from), ids.get(to)) else {
                    dropped += 1;
                    continue;
                };
                if edges.iter().any(|e: &Edge| e.source == source && e.target == dest) {
                    continue;
                }
                let (condition, is_default) = match kinds.get(&source) {
                    // IF: output 0 is "true", output 1 "false" (the default).
                    Some(NodeKind::Condition) if output == 0 => (if_condition(top, from, &mut skipped), false),
                    Some(NodeKind::Condition) => (None, true),
                    _ => (None, false),
                };
                edges.push(Edge { id: fresh_id(), source, target: dest, condition, is_default });
            }
        }
    }
    if dropped > 0 {
        skipped.push(format!("{dropped} connection(s) to or from nodes that were left out were dropped."));
    }
    if expressions > 0 {
        skipped.push(format!(
            "{expressions} field(s) use n8n expressions ({{{{ $json… }}}}); they were copied as written — check them against Flowdeck templates."
        ));
    }
    let name = top.get("name").and_then(Value::as_str).unwrap_or("Imported from n8n").to_owned();
    Ok(Parsed { name, description: "Imported from n8n".into(), graph: Graph { nodes, edges }, skipped })
}

fn fresh_id() -> Uuid {
    Uuid::now_v7()
}

fn count_expressions(v: &Value) -> usize {
    match v {
        Value::String(s) => usize::from(s.starts_with('=') && s.contains("{{")),
        Value::Array(items) => items.iter().map(count_expressions).sum(),
        Value::Object(map) => map.values().map(count_expressions).sum(),
        _ => 0,
    }
}

/// A string parameter without n8n's leading `=` (which marks an expression).
fn text(params: &Value, pointer: &str) -> String {
    let s = params.pointer(pointer).and_then(Value::as_str).unwrap_or_default();
    s.strip_prefix('=').unwrap_or(s).to_owned()
}

fn n8n_config(kind: &str, p: &Value, skipped: &mut Vec<String>, name: &str) -> Option<NodeConfig> {
    let kind = kind.strip_prefix("n8n-nodes-base.")?;
    Some(match kind {
        "manualTrigger" => NodeConfig::Manual(ManualConfig::default()),
        "scheduleTrigger" => {
            let cron = schedule_cron(p);
            if cron.is_none() {
                skipped.push(format!("“{name}”: the schedule rule was not recognised; set its cron expression."));
            }
            NodeConfig::Schedule(ScheduleConfig { cron: cron.unwrap_or_default(), timezone: String::new() })
        }
        "webhook" => {
            let method = p.get("httpMethod").and_then(Value::as_str).unwrap_or("GET").to_uppercase();
            let method = if method == "POST" { method } else { "GET".into() };
            NodeConfig::Webhook(WebhookConfig { method, ..WebhookConfig::default() })
        }
        "httpRequest" => {
            let mut headers: Vec<String> = p
                .pointer("/headerParameters/parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|h| Some(format!("{}: {}", h.get("name")?.as_str()?, h.get("value")?.as_str()?)))
                .collect();
            headers.retain(|h| !h.starts_with(": "));
            let body = match p.get("jsonBody") {
                Some(Value::String(s)) => s.strip_prefix('=').unwrap_or(s).to_owned(),
                _ => String::new(),
            };
            let timeout_ms = p.pointer("/options/timeout").and_then(Value::as_u64).unwrap_or(30_000);
            NodeConfig::Http(HttpConfig {
                method: p.get("method").and_then(Value::as_str).unwrap_or("GET").to_uppercase(),
                url: text(p, "/url"),
                headers,
                body,
                timeout_secs: u32::try_from(timeout_ms.div_ceil(1000).clamp(1, 300)).unwrap_or(30),
                credential: String::new(),
            })
        }
        "emailSend" => NodeConfig::Email(EmailConfig {
            to: text(p, "/toEmail").split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
            subject: text(p, "/subject"),
            body: if text(p, "/text").is_empty() { text(p, "/html") } else { text(p, "/text") },
        }),
        "wait" => {
            let amount = p.get("amount").and_then(Value::as_f64).unwrap_or(1.0);
            let unit = p.get("unit").and_then(Value::as_str).unwrap_or("hours");
            let factor = match unit {
                "seconds" => 1.0,
                "minutes" => 60.0,
                "hours" => 3600.0,
                "days" => 86_400.0,
                _ => {
                    skipped.push(format!("“{name}”: waiting for “{unit}” is not supported; set the delay."));
                    0.0
                }
            };
            NodeConfig::Delay(DelayConfig { seconds: (amount * factor).round().clamp(0.0, f64::from(u32::MAX)) as u32 })
        }
        "if" => NodeKind::Condition.default_config(),
        _ => return None,
    })
}

/// n8n's schedule rule as a cron expression, when it is one we can express.
fn schedule_cron(p: &Value) -> Option<String> {
    let rule = p.pointer("/rule/interval/0")?;
    let n = |key: &str| rule.get(key).and_then(Value::as_u64).unwrap_or(1);
    let hour = rule.get("triggerAtHour").and_then(Value::as_u64).unwrap_or(0);
    let minute = rule.get("triggerAtMinute").and_then(Value::as_u64).unwrap_or(0);
    Some(match rule.get("field").and_then(Value::as_str).unwrap_or("days") {
        "cronExpression" => rule.get("expression")?.as_str()?.to_owned(),
        "minutes" => format!("*/{} * * * *", n("minutesInterval")),
        "hours" => format!("{minute} */{} * * *", n("hoursInterval")),
        "days" => format!("{minute} {hour} */{} * *", n("daysInterval")),
        _ => return None,
    })
}

/// The first condition of an n8n IF node (version 2 layout) as an edge condition.
fn if_condition(top: &Map<String, Value>, node: &str, skipped: &mut Vec<String>) -> Option<Condition> {
    let params = top
        .get("nodes")?
        .as_array()?
        .iter()
        .find(|n| n.get("name").and_then(Value::as_str) == Some(node))?
        .get("parameters")?;
    let first = params.pointer("/conditions/conditions/0");
    let mapped = first.and_then(|c| {
        let left = c.get("leftValue")?.as_str()?;
        let field = left.trim_start_matches('=').trim().trim_start_matches("{{").trim_end_matches("}}").trim();
        let field = field.strip_prefix("$json.").map_or(field.to_owned(), |f| format!("trigger.{f}"));
        let operator = match c.pointer("/operator/operation")?.as_str()? {
            "equals" => Operator::Equals,
            "notEquals" => Operator::NotEquals,
            "gt" | "after" => Operator::Greater,
            "lt" | "before" => Operator::Less,
            "contains" => Operator::Contains,
            "notContains" => Operator::NotContains,
            "exists" | "notEmpty" | "true" => Operator::Exists,
            "notExists" | "empty" | "false" => Operator::NotExists,
            _ => return None,
        };
        let value = match c.get("rightValue") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(other) => other.to_string(),
        };
        Some(Condition { field, operator, value })
    });
    if mapped.is_none() {
        skipped.push(format!("“{node}”: its condition could not be carried over; set it on the “true” edge."));
    }
    mapped
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const N8N: &str = r#"{
      "name": "Lead alert",
      "nodes": [
        { "id": "0a1b2c3d-0000-4000-8000-000000000001", "name": "Webhook", "type": "n8n-nodes-base.webhook",
          "position": [0, 0], "parameters": { "httpMethod": "POST", "path": "lead" } },
        { "id": "x", "name": "Big lead?", "type": "n8n-nodes-base.if", "position": [200, 0],
          "parameters": { "conditions": { "conditions": [ { "leftValue": "={{ $json.body.value }}", "rightValue": 1000,
            "operator": { "type": "number", "operation": "gt" } } ] } } },
        { "name": "Notify", "type": "n8n-nodes-base.emailSend", "position": [400, -100],
          "parameters": { "toEmail": "sales@example.com, boss@example.com", "subject": "Big lead", "text": "={{ $json.body.name }}" } },
        { "name": "Log", "type": "n8n-nodes-base.httpRequest", "position": [400, 100],
          "parameters": { "method": "POST", "url": "https://log.example.com", "sendHeaders": true,
            "headerParameters": { "parameters": [ { "name": "X-Key", "value": "abc" } ] }, "options": { "timeout": 5000 } } },
        { "name": "Pause", "type": "n8n-nodes-base.wait", "position": [600, 100], "parameters": { "amount": 5, "unit": "minutes" } },
        { "name": "Tidy", "type": "n8n-nodes-base.set", "position": [800, 100], "parameters": {} },
        { "name": "Every morning", "type": "n8n-nodes-base.scheduleTrigger", "position": [0, 300],
          "parameters": { "rule": { "interval": [ { "field": "days", "triggerAtHour": 9 } ] } } }
      ],
      "connections": {
        "Webhook": { "main": [ [ { "node": "Big lead?", "type": "main", "index": 0 } ] ] },
        "Big lead?": { "main": [ [ { "node": "Notify", "type": "main", "index": 0 } ], [ { "node": "Log", "type": "main", "index": 0 } ] ] },
        "Log": { "main": [ [ { "node": "Pause", "type": "main", "index": 0 } ] ] },
        "Pause": { "main": [ [ { "node": "Tidy", "type": "main", "index": 0 } ] ] }
      }
    }"#;

    #[test]
    fn n8n_nodes_we_share_are_mapped_and_the_rest_reported() {
        let p = parse(N8N).expect("parsed");
        assert_eq!(p.name, "Lead alert");
        let kinds: Vec<&str> = p.graph.nodes.iter().map(|n| n.kind().as_str()).collect();
        assert_eq!(kinds, ["webhook", "condition", "email", "http", "delay", "schedule"]);
        assert_eq!(p.graph.nodes[0].id.to_string(), "0a1b2c3d-0000-4000-8000-000000000001", "a UUID id is kept");
        let by_name = |name: &str| p.graph.nodes.iter().find(|n| n.name == name).expect(name);
        assert_eq!(
            by_name("Notify").config,
            NodeConfig::Email(EmailConfig {
                to: vec!["sales@example.com".into(), "boss@example.com".into()],
                subject: "Big lead".into(),
                body: "{{ $json.body.name }}".into(),
            })
        );
        match &by_name("Log").config {
            NodeConfig::Http(h) => {
                assert_eq!((h.method.as_str(), h.url.as_str(), h.timeout_secs), ("POST", "https://log.example.com", 5));
                assert_eq!(h.headers, ["X-Key: abc"]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(by_name("Pause").config, NodeConfig::Delay(DelayConfig { seconds: 300 }));
        assert_eq!(
            by_name("Every morning").config,
            NodeConfig::Schedule(ScheduleConfig { cron: "0 9 */1 * *".into(), timezone: String::new() })
        );
        // IF: the true output carries the condition, the false output is the default edge.
        let from_if: Vec<&Edge> = p.graph.edges.iter().filter(|e| e.source == by_name("Big lead?").id).collect();
        assert_eq!(from_if.len(), 2);
        assert_eq!(
            from_if[0].condition,
            Some(Condition { field: "trigger.body.value".into(), operator: Operator::Greater, value: "1000".into() })
        );
        assert!(from_if[1].is_default && from_if[1].condition.is_none());
        assert_eq!(p.graph.edges.len(), 4, "Pause → Tidy is dropped with Tidy");
        let report = p.skipped.join("\n");
        assert!(report.contains("“Tidy” (n8n-nodes-base.set) has no Flowdeck equivalent"), "{report}");
        assert!(report.contains("1 connection(s)"), "{report}");
        assert!(report.contains("2 field(s) use n8n expressions"), "{report}");
        assert_eq!(p.graph.check(), Ok(()));
    }

    #[test]
    fn flowdeck_exports_round_trip() {
        let graph = Graph {
            nodes: vec![Node {
                id: Uuid::from_u128(1),
                name: "Go".into(),
                x: 20.0,
                y: 40.0,
                config: NodeKind::Manual.default_config(),
                policy: Policy::default(),
                pinned: None,
            }],
            edges: vec![],
        };
        let text = serde_json::to_string(&Export::new("A".into(), "B".into(), graph.clone())).expect("json");
        let back = parse(&text).expect("parsed");
        assert_eq!((back.name.as_str(), back.description.as_str(), back.graph), ("A", "B", graph));
    }

    #[test]
    fn bad_files_are_named() {
        assert!(parse("{ nope").unwrap_err().contains("not valid JSON"));
        assert!(parse("[1, 2]").unwrap_err().contains("JSON object"));
        assert!(parse(r#"{"hello": 1}"#).unwrap_err().contains("neither a Flowdeck export"));
        let future =
            r#"{"format": "flowdeck.workflow", "schema_version": 9, "name": "x", "graph": {"nodes": [], "edges": []}}"#;
        assert!(parse(future).unwrap_err().contains("Schema version 9"));
        let unknown = r#"{"format": "flowdeck.workflow", "schema_version": 1, "name": "x", "graph": {"nodes": [
            {"id": "00000000-0000-0000-0000-000000000001", "name": "Beam", "x": 0, "y": 0, "kind": "teleport", "config": {}}], "edges": []}}"#;
        let err = parse(unknown).unwrap_err();
        assert!(err.contains("Node 1 (“Beam”)") && err.contains("teleport"), "{err}");
        assert!(parse(&" ".repeat(MAX_IMPORT_BYTES + 1)).unwrap_err().contains("larger than 1 MiB"));
    }
}
