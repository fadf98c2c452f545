//! The node kinds of the designer: their typed configuration, and the catalog the palette and
//! the side panel's forms are built from.
//!
//! A node's configuration travels as `{"kind": "...", "config": {...}}`. Each kind has a struct
//! (what the engine reads) and a list of [`Field`]s (what the form shows and which are required);
//! a unit test keeps the two in step.

use serde::{Deserialize, Serialize};

/// Where a kind appears in the palette; also the node's colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Group {
    Triggers,
    Actions,
    Logic,
}

impl Group {
    pub const ALL: [Group; 3] = [Group::Triggers, Group::Actions, Group::Logic];

    pub fn label(self) -> &'static str {
        match self {
            Group::Triggers => "Triggers",
            Group::Actions => "Actions",
            Group::Logic => "Logic",
        }
    }

    /// CSS class suffix: `node-trigger`, `node-action`, `node-logic`.
    pub fn class(self) -> &'static str {
        match self {
            Group::Triggers => "trigger",
            Group::Actions => "action",
            Group::Logic => "logic",
        }
    }
}

/// How a field is edited in the side panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Text,
    /// Several lines of text (templates, bodies).
    Multiline,
    /// One entry a line, stored as a list.
    Lines,
    Number,
    Select(&'static [&'static str]),
    Checkbox,
}

/// One field of a kind's configuration form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The key in the configuration JSON.
    pub key: &'static str,
    pub label: &'static str,
    pub input: Input,
    /// Must be filled in before the workflow can be activated.
    pub required: bool,
    pub hint: &'static str,
}

const fn field(key: &'static str, label: &'static str, input: Input, required: bool, hint: &'static str) -> Field {
    Field { key, label, input, required, hint }
}

pub const HTTP_METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE"];
pub const WEBHOOK_METHODS: &[&str] = &["POST", "GET"];
/// Events boards, calendar and the engine publish.
pub const EVENTS: &[&str] = &[
    "task.created",
    "task.moved",
    "task.completed",
    "event.created",
    "event.updated",
    "workflow.completed",
    "workflow.failed",
];

macro_rules! kinds {
    ($($variant:ident($config:ident) = $key:literal, $label:literal, $group:ident, $description:literal;)*) => {
        /// Every kind of node.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum NodeKind { $($variant),* }

        impl NodeKind {
            pub const ALL: &[NodeKind] = &[$(NodeKind::$variant),*];

            /// The kind's name in JSON and in the database.
            pub fn as_str(self) -> &'static str {
                match self { $(NodeKind::$variant => $key),* }
            }

            pub fn label(self) -> &'static str {
                match self { $(NodeKind::$variant => $label),* }
            }

            pub fn group(self) -> Group {
                match self { $(NodeKind::$variant => Group::$group),* }
            }

            /// One line for the palette.
            pub fn description(self) -> &'static str {
                match self { $(NodeKind::$variant => $description),* }
            }

            pub fn parse(value: &str) -> Option<NodeKind> {
                match value { $($key => Some(NodeKind::$variant),)* _ => None }
            }

            /// A new node's configuration: every field empty or at its default.
            pub fn default_config(self) -> NodeConfig {
                match self { $(NodeKind::$variant => NodeConfig::$variant($config::default())),* }
            }
        }

        /// A node's typed configuration.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind", content = "config")]
        pub enum NodeConfig { $(#[serde(rename = $key)] $variant($config)),* }

        impl NodeConfig {
            pub fn kind(&self) -> NodeKind {
                match self { $(NodeConfig::$variant(_) => NodeKind::$variant),* }
            }
        }
    };
}

kinds! {
    Manual(ManualConfig) = "manual", "Manual", Triggers, "Run it with a button, with optional JSON input.";
    Schedule(ScheduleConfig) = "schedule", "Schedule", Triggers, "Run on a cron schedule in a time zone.";
    Webhook(WebhookConfig) = "webhook", "Webhook", Triggers, "Run when a URL is called.";
    Event(EventConfig) = "event", "Event", Triggers, "Run when something happens on a board or calendar.";
    Http(HttpConfig) = "http", "HTTP request", Actions, "Call an API.";
    Email(EmailConfig) = "email", "Send email", Actions, "Send an email over SMTP.";
    Chat(ChatConfig) = "chat", "Chat post", Actions, "Post to a Slack or Teams incoming webhook.";
    AiPrompt(AiPromptConfig) = "ai_prompt", "AI prompt", Actions, "Ask an OpenAI-compatible model.";
    SaveData(SaveDataConfig) = "save_data", "Save data", Actions, "Keep a value for later runs.";
    Document(DocumentConfig) = "document", "Generate document", Actions, "Render a Markdown document from a template.";
    Delay(DelayConfig) = "delay", "Delay", Actions, "Wait, even across restarts.";
    Condition(ConditionConfig) = "condition", "Condition", Logic, "Branch on the conditions of outgoing edges.";
    Approval(ApprovalConfig) = "approval", "Approval", Logic, "Wait until people approve or reject.";
}

impl NodeKind {
    pub fn is_trigger(self) -> bool {
        self.group() == Group::Triggers
    }

    /// Whether steps of this kind call other systems (and so have retries and a timeout).
    pub fn reaches_out(self) -> bool {
        matches!(self, NodeKind::Http | NodeKind::Email | NodeKind::Chat | NodeKind::AiPrompt)
    }

    /// The side panel's form.
    pub fn fields(self) -> &'static [Field] {
        use Input::*;
        match self {
            NodeKind::Manual => {
                const { &[field("input_hint", "Input description", Multiline, false, "What JSON the run expects.")] }
            }
            NodeKind::Schedule => {
                const {
                    &[
                        field(
                            "cron",
                            "Cron expression",
                            Text,
                            true,
                            "Five fields, e.g. 0 9 * * 1-5 (09:00 on weekdays).",
                        ),
                        field("timezone", "Time zone", Text, true, "IANA name, e.g. Europe/Berlin."),
                    ]
                }
            }
            NodeKind::Webhook => {
                const {
                    &[
                        field("method", "Method", Select(WEBHOOK_METHODS), true, ""),
                        field("require_signature", "Require an HMAC-SHA256 signature", Checkbox, false, ""),
                        field(
                            "timestamped",
                            "Signatures carry a timestamp",
                            Checkbox,
                            false,
                            "t=<unix time>,v1=<HMAC of “t.body”>; older than 5 minutes is refused, so calls can't be replayed.",
                        ),
                        field(
                            "keep_headers",
                            "Headers to keep",
                            Lines,
                            false,
                            "Besides Content-Type and User-Agent, one name a line. Others are not stored.",
                        ),
                    ]
                }
            }
            NodeKind::Event => const { &[field("event", "Event", Select(EVENTS), true, "")] },
            NodeKind::Http => {
                const {
                    &[
                        field("method", "Method", Select(HTTP_METHODS), true, ""),
                        field("url", "URL", Text, true, "https://… ; templates like {{ trigger.body.id }} work."),
                        field("headers", "Headers", Lines, false, "One a line: Name: value"),
                        field("body", "Body", Multiline, false, ""),
                        field("timeout_secs", "Timeout (seconds)", Number, true, ""),
                        field(
                            "credential",
                            "Bearer token credential",
                            Text,
                            false,
                            "The name of a credential in settings; sent as Authorization: Bearer …",
                        ),
                    ]
                }
            }
            NodeKind::Email => {
                const {
                    &[
                        field("to", "To", Lines, true, "One address a line."),
                        field("subject", "Subject", Text, true, ""),
                        field("body", "Body", Multiline, true, ""),
                    ]
                }
            }
            NodeKind::Chat => {
                const {
                    &[
                        field("webhook_url", "Incoming webhook URL", Text, true, ""),
                        field("text", "Message", Multiline, true, ""),
                    ]
                }
            }
            NodeKind::AiPrompt => {
                const {
                    &[
                        field(
                            "endpoint",
                            "Chat-completions URL",
                            Text,
                            true,
                            "e.g. https://api.openai.com/v1/chat/completions",
                        ),
                        field("model", "Model", Text, true, ""),
                        field("credential", "API key credential", Text, false, "The name of a credential in settings."),
                        field("system", "System prompt", Multiline, false, ""),
                        field("prompt", "Prompt", Multiline, true, ""),
                    ]
                }
            }
            NodeKind::SaveData => {
                const {
                    &[
                        field("key", "Key", Text, true, ""),
                        field("value", "Value", Multiline, true, "Text or a template."),
                    ]
                }
            }
            NodeKind::Document => {
                const {
                    &[
                        field("title", "Title", Text, true, ""),
                        field("template", "Template (Markdown)", Multiline, true, ""),
                    ]
                }
            }
            NodeKind::Delay => const { &[field("seconds", "Wait (seconds)", Number, true, "")] },
            NodeKind::Condition => const { &[field("description", "What it decides", Text, false, "")] },
            NodeKind::Approval => {
                const {
                    &[
                        field("approvers", "Approvers", Lines, true, "One email a line."),
                        field("required", "Approvals needed", Number, true, ""),
                        field("message", "Message to approvers", Multiline, false, ""),
                    ]
                }
            }
        }
    }

    /// An SVG path (24×24, stroked) drawn as the kind's icon.
    pub fn icon(self) -> &'static str {
        match self {
            NodeKind::Manual => "M7 4l12 8-12 8z",
            NodeKind::Schedule => "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18M12 7v5l3 3",
            NodeKind::Webhook => "M9 15l6-6M10 6l1-1a4 4 0 0 1 6 6l-1 1M14 18l-1 1a4 4 0 0 1-6-6l1-1",
            NodeKind::Event => "M13 2L4 14h7l-1 8 9-12h-7z",
            NodeKind::Http => "M12 3a9 9 0 1 0 0 18a9 9 0 1 0 0-18M3 12h18M12 3c3 3 3 15 0 18M12 3c-3 3-3 15 0 18",
            NodeKind::Email => "M3 6h18v12H3zM3 6l9 7 9-7",
            NodeKind::Chat => "M4 5h16v11H9l-5 4z",
            NodeKind::AiPrompt => "M12 3l2 5 5 2-5 2-2 5-2-5-5-2 5-2zM19 16l1 2 2 1-2 1-1 2-1-2-2-1 2-1z",
            NodeKind::SaveData => "M5 4h11l3 3v13H5zM8 4v5h7V4M8 20v-6h8v6",
            NodeKind::Document => "M6 3h8l4 4v14H6zM14 3v4h4M9 12h6M9 16h6",
            NodeKind::Delay => "M7 3h10M7 21h10M8 3c0 5 8 7 8 9s-8 4-8 9M16 3c0 5-8 7-8 9",
            NodeKind::Condition => "M12 3l9 9-9 9-9-9z",
            NodeKind::Approval => "M4 12l5 5L20 6",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ManualConfig {
    pub input_hint: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScheduleConfig {
    pub cron: String,
    pub timezone: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhookConfig {
    pub method: String,
    pub require_signature: bool,
    /// Signatures carry their time (`t=…,v1=…`), and old ones are refused: no replays.
    pub timestamped: bool,
    /// Request headers kept in the run besides Content-Type and User-Agent (lower case).
    pub keep_headers: Vec<String>,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig { method: "POST".into(), require_signature: false, timestamped: false, keep_headers: Vec::new() }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EventConfig {
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub method: String,
    pub url: String,
    pub headers: Vec<String>,
    pub body: String,
    pub timeout_secs: u32,
    /// A credential's name; its value is sent as `Authorization: Bearer …`.
    pub credential: String,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            method: "GET".into(),
            url: String::new(),
            headers: Vec::new(),
            body: String::new(),
            timeout_secs: 30,
            credential: String::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EmailConfig {
    pub to: Vec<String>,
    pub subject: String,
    pub body: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChatConfig {
    pub webhook_url: String,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AiPromptConfig {
    pub endpoint: String,
    pub model: String,
    pub credential: String,
    pub system: String,
    pub prompt: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SaveDataConfig {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentConfig {
    pub title: String,
    pub template: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DelayConfig {
    pub seconds: u32,
}

impl Default for DelayConfig {
    fn default() -> Self {
        DelayConfig { seconds: 60 }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConditionConfig {
    pub description: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ApprovalConfig {
    pub approvers: Vec<String>,
    pub required: u32,
    pub message: String,
}

impl Default for ApprovalConfig {
    fn default() -> Self {
        ApprovalConfig { approvers: Vec::new(), required: 1, message: String::new() }
    }
}

impl NodeConfig {
    /// The configuration as a JSON object, keyed by field.
    pub fn values(&self) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(mut tagged)) => match tagged.remove("config") {
                Some(serde_json::Value::Object(values)) => values,
                _ => serde_json::Map::new(),
            },
            _ => serde_json::Map::new(),
        }
    }

    /// A kind's configuration from its JSON object; names the problem when it doesn't fit.
    pub fn from_values(kind: NodeKind, values: serde_json::Value) -> Result<NodeConfig, String> {
        let tagged = serde_json::json!({ "kind": kind.as_str(), "config": values });
        serde_json::from_value(tagged).map_err(|e| e.to_string())
    }

    /// Labels of required fields left empty.
    pub fn missing(&self) -> Vec<&'static str> {
        let values = self.values();
        self.kind()
            .fields()
            .iter()
            .filter(|f| f.required)
            .filter(|f| match values.get(f.key) {
                None | Some(serde_json::Value::Null) => true,
                Some(serde_json::Value::String(s)) => s.trim().is_empty(),
                Some(serde_json::Value::Array(items)) => items.is_empty(),
                Some(serde_json::Value::Number(n)) => n.as_u64() == Some(0),
                Some(_) => false,
            })
            .map(|f| f.label)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_form_for_exactly_its_fields() {
        for &kind in NodeKind::ALL {
            let values = kind.default_config().values();
            let mut keys: Vec<&str> = values.keys().map(String::as_str).collect();
            let mut fields: Vec<&str> = kind.fields().iter().map(|f| f.key).collect();
            keys.sort_unstable();
            fields.sort_unstable();
            assert_eq!(keys, fields, "{kind:?}");
            assert_eq!(NodeKind::parse(kind.as_str()), Some(kind));
            assert_eq!(kind.default_config().kind(), kind);
        }
    }

    #[test]
    fn config_round_trips_through_its_values() {
        let config = NodeConfig::Http(HttpConfig {
            url: "https://example.com".into(),
            headers: vec!["Accept: application/json".into()],
            ..HttpConfig::default()
        });
        let back = NodeConfig::from_values(NodeKind::Http, serde_json::Value::Object(config.values()));
        assert_eq!(back, Ok(config));
    }

    #[test]
    fn wrong_types_and_unknown_fields_are_named() {
        let err = NodeConfig::from_values(NodeKind::Delay, serde_json::json!({ "seconds": "soon" })).unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
        let err = NodeConfig::from_values(NodeKind::Delay, serde_json::json!({ "minutes": 3 })).unwrap_err();
        assert!(err.contains("minutes"), "{err}");
    }

    #[test]
    fn missing_lists_required_fields_left_empty() {
        assert_eq!(NodeKind::Http.default_config().missing(), vec!["URL"]);
        assert_eq!(NodeKind::Schedule.default_config().missing(), vec!["Cron expression", "Time zone"]);
        assert!(NodeKind::Manual.default_config().missing().is_empty());
        let mut approval = ApprovalConfig { approvers: vec!["a@example.com".into()], ..ApprovalConfig::default() };
        assert!(NodeConfig::Approval(approval.clone()).missing().is_empty());
        approval.required = 0;
        assert_eq!(NodeConfig::Approval(approval).missing(), vec!["Approvals needed"]);
    }
}
