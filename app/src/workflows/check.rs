//! The server's check of a graph before it is stored: its shape ([`Graph::check`]) and each
//! node's configuration values. Empty required fields are allowed in drafts (they are diagnostics);
//! values that are there must be well-formed: a cron expression, a time zone, URLs, addresses.

use crate::error::AppError;
use crate::workflows::graph::{Graph, Node};
use crate::workflows::kinds::{EVENTS, HTTP_METHODS, NodeConfig, WEBHOOK_METHODS};

/// The largest configuration a node may carry, as JSON.
const CONFIG_MAX_BYTES: usize = 64 * 1024;
const MAX_TIMEOUT_SECS: u32 = 300;
const MAX_DELAY_SECS: u32 = 30 * 24 * 3600;

/// Checks a whole graph; the error names the node and the problem, under the field `graph`.
pub fn graph(graph: &Graph) -> Result<(), AppError> {
    graph.check().map_err(|e| AppError::validation("graph", e.to_string()))?;
    for node in &graph.nodes {
        config(node).map_err(|message| AppError::validation("graph", format!("Node “{}”: {message}", node.name)))?;
    }
    Ok(())
}

fn config(node: &Node) -> Result<(), String> {
    if let Some(problem) = node.policy.problem() {
        return Err(format!("in its retries, {problem}"));
    }
    if let Some(pinned) = &node.pinned
        && serde_json::to_vec(pinned).map(|v| v.len()).unwrap_or(usize::MAX) > crate::validate::PAYLOAD_LIMIT
    {
        return Err("its pinned test data is larger than 1 MiB.".to_owned());
    }
    if serde_json::to_vec(&node.config).map(|v| v.len()).unwrap_or(usize::MAX) > CONFIG_MAX_BYTES {
        return Err(format!("the configuration is larger than {} KiB.", CONFIG_MAX_BYTES / 1024));
    }
    match &node.config {
        NodeConfig::Schedule(c) => {
            if !c.cron.trim().is_empty() {
                c.cron.trim().parse::<croner::Cron>().map_err(|e| format!("the cron expression is invalid: {e}."))?;
                // Five fields: the finest a schedule fires is once a minute (no seconds field).
                let fields = c.cron.split_whitespace().count();
                if fields != 5 && !c.cron.trim().starts_with('@') {
                    return Err(format!(
                        "the cron expression has {fields} fields; it takes five (minute hour day month weekday)."
                    ));
                }
            }
            if !c.timezone.trim().is_empty() && c.timezone.trim().parse::<chrono_tz::Tz>().is_err() {
                return Err(format!("“{}” is not a time zone; use an IANA name like Europe/Berlin.", c.timezone));
            }
        }
        NodeConfig::Webhook(c) => one_of("method", &c.method, WEBHOOK_METHODS)?,
        NodeConfig::Event(c) => {
            if !c.event.is_empty() {
                one_of("event", &c.event, EVENTS)?;
            }
        }
        NodeConfig::Http(c) => {
            one_of("method", &c.method, HTTP_METHODS)?;
            url("URL", &c.url)?;
            for header in &c.headers {
                match header.split_once(':') {
                    Some((name, _)) if is_header_name(name.trim()) => {}
                    _ => return Err(format!("the header “{header}” should read Name: value.")),
                }
            }
            if !(1..=MAX_TIMEOUT_SECS).contains(&c.timeout_secs) {
                return Err(format!("the timeout must be 1 to {MAX_TIMEOUT_SECS} seconds."));
            }
        }
        NodeConfig::Email(c) => c.to.iter().try_for_each(|a| address(a))?,
        NodeConfig::Chat(c) => url("webhook URL", &c.webhook_url)?,
        NodeConfig::AiPrompt(c) => url("chat-completions URL", &c.endpoint)?,
        NodeConfig::Delay(c) => {
            if c.seconds > MAX_DELAY_SECS {
                return Err("a delay can be at most 30 days.".into());
            }
        }
        NodeConfig::Approval(c) => {
            c.approvers.iter().try_for_each(|a| address(a))?;
            if !c.approvers.is_empty() && c.required as usize > c.approvers.len() {
                return Err(format!(
                    "{} approvals are needed but only {} approvers are named.",
                    c.required,
                    c.approvers.len()
                ));
            }
        }
        NodeConfig::Manual(_) | NodeConfig::SaveData(_) | NodeConfig::Document(_) | NodeConfig::Condition(_) => {}
    }
    Ok(())
}

fn one_of(what: &str, value: &str, allowed: &[&str]) -> Result<(), String> {
    if allowed.contains(&value) { Ok(()) } else { Err(format!("the {what} must be one of {}.", allowed.join(", "))) }
}

fn is_template(value: &str) -> bool {
    value.contains("{{")
}

/// An http(s) URL, unless it is a template filled in at run time.
fn url(what: &str, value: &str) -> Result<(), String> {
    let value = value.trim();
    if value.is_empty() || is_template(value) {
        return Ok(());
    }
    match url::Url::parse(value) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(format!("the {what} “{value}” is not an http(s) URL.")),
    }
}

fn address(value: &str) -> Result<(), String> {
    let value = value.trim();
    if is_template(value) || email_address::EmailAddress::is_valid(value) {
        Ok(())
    } else {
        Err(format!("“{value}” is not an email address."))
    }
}

fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::graph::Policy;
    use crate::workflows::kinds::{ApprovalConfig, HttpConfig, NodeKind, ScheduleConfig};
    use uuid::Uuid;

    fn one(config: NodeConfig) -> Result<(), AppError> {
        graph(&Graph {
            nodes: vec![Node {
                id: Uuid::nil(),
                name: "Step".into(),
                x: 0.0,
                y: 0.0,
                config,
                policy: Policy::default(),
                pinned: None,
            }],
            edges: vec![],
        })
    }

    fn message(r: Result<(), AppError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn empty_drafts_pass() {
        for &kind in NodeKind::ALL {
            assert_eq!(one(kind.default_config()), Ok(()), "{kind:?}");
        }
    }

    #[test]
    fn cron_and_time_zone_are_checked() {
        let schedule = |cron: &str, timezone: &str| {
            one(NodeConfig::Schedule(ScheduleConfig { cron: cron.into(), timezone: timezone.into() }))
        };
        assert_eq!(schedule("0 9 * * 1-5", "Europe/Berlin"), Ok(()));
        assert!(message(schedule("every monday", "")).contains("Node “Step”: the cron expression is invalid"));
        assert!(message(schedule("", "Mars/Olympus")).contains("Mars/Olympus"));
        assert!(message(schedule("* * * * * *", "")).contains("has 6 fields; it takes five"), "no seconds field");
    }

    #[test]
    fn urls_headers_and_timeouts_are_checked() {
        let http = |url: &str, header: &str, timeout_secs| {
            one(NodeConfig::Http(HttpConfig {
                url: url.into(),
                headers: vec![header.into()],
                timeout_secs,
                ..HttpConfig::default()
            }))
        };
        assert_eq!(http("https://api.example.com/x", "Accept: */*", 30), Ok(()));
        assert_eq!(http("{{ trigger.body.url }}", "X-Id: 1", 30), Ok(()));
        assert!(message(http("ftp://example.com", "Accept: */*", 30)).contains("not an http(s) URL"));
        assert!(message(http("https://example.com", "no colon", 30)).contains("Name: value"));
        assert!(message(http("https://example.com", "A: b", 0)).contains("timeout"));
    }

    #[test]
    fn approvals_need_enough_approvers_with_addresses() {
        let approval = |approvers: &[&str], required| {
            one(NodeConfig::Approval(ApprovalConfig {
                approvers: approvers.iter().map(|a| a.to_string()).collect(),
                required,
                message: String::new(),
            }))
        };
        assert_eq!(approval(&["a@example.com", "b@example.com"], 2), Ok(()));
        assert!(message(approval(&["a@example.com"], 2)).contains("only 1 approvers"));
        assert!(message(approval(&["not-an-address"], 1)).contains("not an email address"));
    }
}
