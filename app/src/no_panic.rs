//! Property tests: what members and other systems send — workflow JSON, n8n files, webhook
//! bodies, templates, server-function arguments, board keys, markdown and task edits — is fed random and mutated to the parsers and
//! checks behind the handlers. None may panic, and every refusal says what is wrong (a 4xx
//! `AppError`, or a message for the step or import). `PROPTEST_CASES` overrides the 100,000.

use axum::http::{HeaderMap, HeaderValue, header};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::boards::markdown;
use crate::boards::model::{TaskEdit, rank_between};
use crate::engine::{hooks, template};
use crate::error::AppError;
use crate::validate;
use crate::workflows::graph::Graph;
use crate::workflows::kinds::{HttpConfig, NodeConfig};
use crate::workflows::{check, transfer};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(100_000);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

/// Byte edits of a valid document: (where, what, byte) — replace, insert or delete.
fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), 0u8..3, any::<u8>()), 1..8)
}

fn mutate(seed: &str, edits: &[(usize, u8, u8)]) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for &(at, op, byte) in edits {
        let at = at % (bytes.len() + 1);
        match op {
            0 if at < bytes.len() => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Any JSON value, a few levels deep.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::from),
        prop::sample::select(vec!["manual", "http", "delay", "approval", "webhook", "GET", "{{ trigger.x }}"])
            .prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn is_4xx(e: &AppError) -> bool {
    (400..500).contains(&e.status()) && !e.to_string().is_empty()
}

const GRAPH: &str = r#"{"nodes": [
  {"id": "00000000-0000-0000-0000-000000000001", "name": "Start", "x": 0, "y": 0, "kind": "manual", "config": {}},
  {"id": "00000000-0000-0000-0000-000000000002", "name": "Call", "x": 280, "y": 0, "kind": "http",
   "config": {"method": "GET", "url": "https://x.example/{{ trigger.id }}", "timeout_secs": 10},
   "policy": {"attempts": 3, "backoff_secs": 1, "max_backoff_secs": 10, "timeout_secs": 5}}],
 "edges": [{"id": "00000000-0000-0000-0000-000000000101", "source": "00000000-0000-0000-0000-000000000001",
   "target": "00000000-0000-0000-0000-000000000002", "condition": {"field": "trigger.a", "operator": "greater", "value": "1"},
   "is_default": false}]}"#;

/// A saved graph goes through serde and then both checks, as `workflows/save` does.
fn save(text: &str) {
    if let Ok(graph) = serde_json::from_str::<Graph>(text)
        && let Err(e) = check::graph(&graph)
    {
        assert!(is_4xx(&e), "{e:?}");
    }
}

fn import(text: &str) {
    if let Err(message) = transfer::parse(text) {
        assert!(!message.is_empty());
    }
}

fn body(kind: &str, bytes: &[u8]) {
    let mut headers = HeaderMap::new();
    if let Ok(v) = HeaderValue::from_str(kind) {
        headers.insert(header::CONTENT_TYPE, v);
    }
    if let Err(message) = hooks::parse_body(&headers, bytes) {
        assert!(!message.is_empty());
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn workflow_json_never_panics(text in ".{0,200}", edits in edits(), value in json_value()) {
        save(&text);
        save(&mutate(GRAPH, &edits));
        save(&json!({ "nodes": [value.clone(), { "id": "00000000-0000-0000-0000-000000000001", "name": "n", "x": 0, "y": 0, "kind": "manual", "config": value }], "edges": [] }).to_string());
        import(&text);
        import(&mutate(&format!(r#"{{"format": "flowdeck.workflow", "schema_version": 1, "name": "x", "graph": {GRAPH}}}"#), &edits));
    }

    #[test]
    fn n8n_files_never_panic(edits in edits(), value in json_value()) {
        import(&mutate(transfer::tests::N8N, &edits));
        import(&json!({ "nodes": [value.clone()], "connections": { "a": value } }).to_string());
    }

    #[test]
    fn webhook_bodies_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200), edits in edits()) {
        body("application/json", &bytes);
        body("application/x-www-form-urlencoded", &bytes);
        body("text/plain", &bytes);
        body("application/json", mutate(r#"{"id": 42, "items": [1, {"a": "b"}], "s": "x\u00e9"}"#, &edits).as_bytes());
    }

    #[test]
    fn templates_never_panic(text in ".{0,80}", edits in edits(), scope in json_value()) {
        let seed = "{% for t in trigger.tags %}{{ loop.index }} {{ t | upper | default('x') }}{% endfor %}{{ trigger.n + 1 }}";
        for text in [text, mutate(seed, &edits)] {
            let config = NodeConfig::Http(HttpConfig { url: text, ..HttpConfig::default() });
            let _ = template::fill_now(&config, minijinja::Value::from_serialize(json!({ "trigger": scope.clone() })));
        }
    }

    #[test]
    fn server_function_arguments_never_panic(text in ".{0,300}") {
        let refusals = [
            validate::bounded("name", "Name", &text, 80).err(),
            validate::optional_text("note", "Note", &text, 80).err(),
            validate::person_name(&text).err(),
            validate::workspace_name("name", &text).err(),
            validate::email(&text).err(),
            validate::new_password("password", &text).err(),
            validate::timezone(&text).err(),
        ];
        for e in refusals.iter().flatten() {
            prop_assert!(is_4xx(e), "{e:?}");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    /// Cards put anywhere, over and over (the top of a column included, where keys run down
    /// through 0x00 bytes): every key lies strictly between its neighbours.
    #[test]
    fn ranks_stay_in_order_under_any_moves(places in prop::collection::vec(any::<u16>(), 1..300)) {
        let mut keys: Vec<String> = Vec::new();
        for place in places {
            let at = place as usize % (keys.len() + 1);
            let lo = at.checked_sub(1).map(|i| keys[i].clone());
            let hi = keys.get(at).cloned();
            let key = rank_between(lo.as_deref(), hi.as_deref());
            prop_assert!(key.is_some(), "no key between {lo:?} and {hi:?}");
            keys.insert(at, key.unwrap_or_default());
        }
        prop_assert!(keys.windows(2).all(|w| w[0] < w[1]));
    }
}

proptest! {
    #![proptest_config(config())]

    /// Keys that are not ours, markdown of any text, and mutated task edits never panic.
    #[test]
    fn board_inputs_never_panic(a in "[0-9a-f]{0,24}", b in "[0-9a-f]{0,24}", text in ".{0,300}", edits in edits()) {
        if let Some(key) = rank_between(Some(&a), Some(&b)) {
            prop_assert!(a < key && key < b, "{a} < {key} < {b}");
        }
        let _ = rank_between(Some(&a), None);
        let _ = rank_between(None, Some(&b));
        let html = markdown::render(&text);
        prop_assert!(!html.contains("<script"));
        let edit = mutate(r#"{"field":"due","value":"2027-01-01"}"#, &edits);
        let _ = serde_json::from_str::<TaskEdit>(&edit);
    }
}
