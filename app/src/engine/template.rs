//! Node configs are templates: `{{ trigger.body.id }}` and `{{ steps.fetch.output.status }}`
//! (minijinja) are filled in from the run before a step runs. A missing value is an error, not
//! an empty string, so a typo fails the step with the place named.

use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

use crate::workflows::kinds::NodeConfig;

/// Instructions a template may take: plenty for text, not for a runaway loop.
const FUEL: u64 = 100_000;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_fuel(Some(FUEL));
    env
}

/// `text` with its `{{ … }}` and `{% … %}` filled in from `scope`.
pub fn render(text: &str, scope: &Value) -> Result<String, String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_owned());
    }
    environment().render_str(text, scope).map_err(|e| {
        let mut message = e.kind().to_string();
        if let Some(detail) = e.detail() {
            message = format!("{message}: {detail}");
        }
        message
    })
}

/// The node's configuration with every text field rendered; errors name the field.
pub fn fill(config: &NodeConfig, scope: &Value) -> Result<NodeConfig, String> {
    let mut value = serde_json::to_value(config).map_err(|e| e.to_string())?;
    if let Some(fields) = value.get_mut("config").and_then(Value::as_object_mut) {
        for (name, field) in fields.iter_mut() {
            fill_value(field, scope).map_err(|e| format!("In “{name}”: {e}"))?;
        }
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

fn fill_value(value: &mut Value, scope: &Value) -> Result<(), String> {
    match value {
        Value::String(s) => *s = render(s, scope)?,
        Value::Array(items) => items.iter_mut().try_for_each(|v| fill_value(v, scope))?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::kinds::{HttpConfig, NodeConfig};
    use serde_json::json;

    #[test]
    fn fills_values_from_the_trigger_and_earlier_steps() {
        let scope =
            json!({ "trigger": { "body": { "id": 7 } }, "steps": { "fetch": { "output": { "status": 200 } } } });
        assert_eq!(
            render("Order {{ trigger.body.id }}: {{ steps.fetch.output.status }}", &scope).unwrap(),
            "Order 7: 200"
        );
        assert_eq!(render("{% if trigger.body.id > 5 %}big{% else %}small{% endif %}", &scope).unwrap(), "big");
        assert_eq!(render("no template", &scope).unwrap(), "no template");
    }

    #[test]
    fn a_missing_value_or_bad_syntax_is_an_error() {
        let scope = json!({ "trigger": {} });
        let err = render("{{ trigger.body.id }}", &scope).unwrap_err();
        assert!(err.contains("undefined"), "{err}");
        let err = render("{{ trigger. }}", &scope).unwrap_err();
        assert!(err.contains("syntax"), "{err}");
        let err = render("{% for a in range(1000) %}{% for b in range(1000) %}x{% endfor %}{% endfor %}", &scope)
            .unwrap_err();
        assert!(err.contains("fuel"), "{err}");
    }

    #[test]
    fn fill_renders_every_text_field_and_names_the_failing_one() {
        let config = NodeConfig::Http(HttpConfig {
            url: "https://api.example.com/orders/{{ trigger.id }}".into(),
            headers: vec!["X-Order: {{ trigger.id }}".into()],
            ..HttpConfig::default()
        });
        let NodeConfig::Http(filled) = fill(&config, &json!({ "trigger": { "id": 42 } })).unwrap() else {
            panic!("kind changed")
        };
        assert_eq!(filled.url, "https://api.example.com/orders/42");
        assert_eq!(filled.headers, ["X-Order: 42"]);
        let broken = NodeConfig::Http(HttpConfig {
            url: "https://x.example/{{ trigger.nope }}".into(),
            ..HttpConfig::default()
        });
        let err = fill(&broken, &json!({ "trigger": {} })).unwrap_err();
        assert!(err.starts_with("In “url”") && err.contains("undefined"), "{err}");
    }
}
