//! Node configs are templates: `{{ trigger.body.id }}` and `{{ steps.fetch.output.status }}`
//! (minijinja) are filled in from the run before a step runs. A missing value is an error, not
//! an empty string, so a typo fails the step with the place named.
//!
//! The language is minijinja's, made smaller so that no template can make the server allocate
//! without bound (fuel bounds the work a template does, not the bytes it builds):
//! - **Nothing is stored.** `set`, `with`, macros, `call`, `filter` blocks, `include`, `import`,
//!   `extends` and `block` are refused, so a value can't be fed back into itself to double;
//!   `if`, `for` (not recursive) and `{{ … }}` remain.
//! - **Expressions are small.** At most [`EXPR_PARTS`] parts each; `*` (it repeats text) and `~`
//!   are refused (`{{ a }}{{ b }}` writes both); `range()` is the only function, and filters come
//!   from [`FILTERS`], where `join` and `replace` check the size of what they would build first.
//!   So one expression builds at most [`EXPR_PARTS`] of the run's own values.
//! - **Output is counted as it is written:** a node's whole filled-in config is at most
//!   [`OUTPUT_MAX`] bytes.
//!
//! A refused template is a step error that names the field, never a retry.

use std::cell::Cell;
use std::fmt::Write as _;
use std::io;

use minijinja::machinery::ast::{self, CallArg, CallType, Expr, Stmt};
use minijinja::machinery::{WhitespaceConfig, parse};
use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, Error, ErrorKind, UndefinedBehavior, Value as Jinja};
use serde_json::Value;

use crate::workflows::kinds::NodeConfig;

/// Instructions a template may take: plenty for text, not for a runaway loop.
const FUEL: u64 = 100_000;
/// Parts (names, constants, operators, filters, arguments) one expression may have.
pub const EXPR_PARTS: usize = 64;
/// Bytes of text a node's filled-in config may have, and that one filter may build.
pub const OUTPUT_MAX: usize = 1024 * 1024;
/// The filters templates may use: none of them builds more than a bounded multiple of its input.
pub const FILTERS: &[&str] = &[
    "abs",
    "attr",
    "batch",
    "bool",
    "capitalize",
    "count",
    "d",
    "default",
    "dictsort",
    "e",
    "escape",
    "first",
    "float",
    "int",
    "items",
    "join",
    "last",
    "length",
    "lines",
    "lower",
    "map",
    "max",
    "min",
    "reject",
    "rejectattr",
    "replace",
    "reverse",
    "round",
    "safe",
    "select",
    "selectattr",
    "slice",
    "sort",
    "split",
    "sum",
    "title",
    "trim",
    "unique",
    "upper",
];

/// Whether any text field of the config is a template (filling it does work).
pub fn is_template(config: &NodeConfig) -> bool {
    fn any(value: &Value) -> bool {
        match value {
            Value::String(s) => has_tags(s),
            Value::Array(items) => items.iter().any(any),
            Value::Object(fields) => fields.values().any(any),
            _ => false,
        }
    }
    serde_json::to_value(config).is_ok_and(|v| any(&v))
}

fn has_tags(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// The node's configuration with every text field rendered; errors name the field.
pub fn fill(config: &NodeConfig, scope: &Value) -> Result<NodeConfig, String> {
    let mut value = serde_json::to_value(config).map_err(|e| e.to_string())?;
    let filler = Filler::new(scope);
    if let Some(fields) = value.get_mut("config").and_then(Value::as_object_mut) {
        for (name, field) in fields.iter_mut() {
            filler.fill_value(field).map_err(|e| format!("In “{name}”: {e}"))?;
        }
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Renders the text fields of one config, all counted against one output budget.
struct Filler {
    env: Environment<'static>,
    scope: Jinja,
    left: Cell<usize>,
}

impl Filler {
    fn new(scope: &Value) -> Filler {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(FUEL));
        env.add_filter("join", join);
        env.add_filter("replace", replace);
        Filler { env, scope: Jinja::from_serialize(scope), left: Cell::new(OUTPUT_MAX) }
    }

    fn fill_value(&self, value: &mut Value) -> Result<(), String> {
        match value {
            Value::String(s) => *s = self.render(s)?,
            Value::Array(items) => items.iter_mut().try_for_each(|v| self.fill_value(v))?,
            _ => {}
        }
        Ok(())
    }

    /// `text` with its `{{ … }}` and `{% … %}` filled in.
    fn render(&self, text: &str) -> Result<String, String> {
        if !has_tags(text) {
            self.spend(text.len())?;
            return Ok(text.to_owned());
        }
        check(text)?;
        let template = self.env.template_from_str(text).map_err(|e| describe(&e))?;
        let mut out = Counted { out: Vec::new(), left: &self.left, over: false };
        let rendered = template.render_captured_to(&self.scope, &mut out);
        if out.over {
            return Err(too_long());
        }
        rendered.map_err(|e| describe(&e))?;
        String::from_utf8(out.out).map_err(|e| e.to_string())
    }

    fn spend(&self, bytes: usize) -> Result<(), String> {
        let left = self.left.get().checked_sub(bytes).ok_or_else(too_long)?;
        self.left.set(left);
        Ok(())
    }
}

/// Collects output and stops the render once the budget is spent.
struct Counted<'a> {
    out: Vec<u8>,
    left: &'a Cell<usize>,
    over: bool,
}

impl io::Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(left) = self.left.get().checked_sub(buf.len()) else {
            self.over = true;
            return Err(io::Error::other("output limit"));
        };
        self.left.set(left);
        self.out.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn too_long() -> String {
    format!("The filled-in text is longer than {} MiB.", OUTPUT_MAX / (1024 * 1024))
}

fn describe(e: &Error) -> String {
    let mut message = e.kind().to_string();
    if let Some(detail) = e.detail() {
        message = format!("{message}: {detail}");
    }
    message
}

fn limit_error() -> Error {
    Error::new(ErrorKind::InvalidOperation, too_long())
}

/// `join`, refusing to build more than [`OUTPUT_MAX`] bytes.
fn join(value: &Jinja, joiner: Option<&str>) -> Result<String, Error> {
    let joiner = joiner.unwrap_or_default();
    let mut out = String::new();
    for (i, item) in value.try_iter()?.enumerate() {
        let piece = item.as_str().map_or_else(|| item.to_string(), str::to_owned);
        let sep = if i > 0 { joiner } else { "" };
        if out.len() + sep.len() + piece.len() > OUTPUT_MAX {
            return Err(limit_error());
        }
        let _ = write!(out, "{sep}{piece}");
    }
    Ok(out)
}

/// `replace`, refusing a result longer than [`OUTPUT_MAX`] bytes before building it.
fn replace(value: &str, from: &str, to: &str) -> Result<String, Error> {
    let count = if from.is_empty() { value.chars().count() + 1 } else { value.matches(from).count() };
    let len = (value.len() - count * from.len()).saturating_add(count.saturating_mul(to.len()));
    if len > OUTPUT_MAX {
        return Err(limit_error());
    }
    Ok(value.replace(from, to))
}

/// Refuses what the smaller language leaves out, naming it.
fn check(text: &str) -> Result<(), String> {
    let tree = parse(text, "<config>", SyntaxConfig, WhitespaceConfig::default()).map_err(|e| describe(&e))?;
    statement(&tree)
}

fn statements(list: &[Stmt<'_>]) -> Result<(), String> {
    list.iter().try_for_each(statement)
}

fn statement(stmt: &Stmt<'_>) -> Result<(), String> {
    let refused = match stmt {
        Stmt::Template(t) => return statements(&t.children),
        Stmt::EmitRaw(_) => return Ok(()),
        Stmt::EmitExpr(e) => return expression(&e.expr),
        Stmt::IfCond(c) => {
            expression(&c.expr)?;
            statements(&c.true_body)?;
            return statements(&c.false_body);
        }
        Stmt::ForLoop(f) if !f.recursive => {
            expression(&f.target)?;
            expression(&f.iter)?;
            if let Some(filter) = &f.filter_expr {
                expression(filter)?;
            }
            statements(&f.body)?;
            return statements(&f.else_body);
        }
        Stmt::ForLoop(_) => "recursive for",
        Stmt::WithBlock(_) => "with",
        Stmt::Set(_) | Stmt::SetBlock(_) => "set",
        Stmt::AutoEscape(_) => "autoescape",
        Stmt::FilterBlock(_) => "filter",
        Stmt::Block(_) => "block",
        Stmt::Import(_) | Stmt::FromImport(_) => "import",
        Stmt::Extends(_) => "extends",
        Stmt::Include(_) => "include",
        Stmt::Macro(_) => "macro",
        Stmt::CallBlock(_) => "call",
        Stmt::Do(_) => "do",
    };
    Err(format!("{{% {refused} %}} isn't available in templates: they fill in values, with if and for."))
}

/// Checks one expression: its parts, operators, functions and filters.
fn expression(expr: &Expr<'_>) -> Result<(), String> {
    let mut parts = 0;
    walk(expr, &mut parts)?;
    if parts > EXPR_PARTS {
        return Err(format!("An expression may have at most {EXPR_PARTS} parts; this one has {parts}."));
    }
    Ok(())
}

fn walk(expr: &Expr<'_>, parts: &mut usize) -> Result<(), String> {
    *parts += 1;
    if *parts > EXPR_PARTS {
        return Ok(());
    }
    match expr {
        Expr::Var(_) | Expr::Const(_) => Ok(()),
        Expr::Slice(s) => {
            walk(&s.expr, parts)?;
            [&s.start, &s.stop, &s.step].into_iter().flatten().try_for_each(|e| walk(e, parts))
        }
        Expr::UnaryOp(u) => walk(&u.expr, parts),
        Expr::BinOp(b) => {
            match b.op {
                ast::BinOpKind::Mul => return Err("“*” isn't available in templates (it repeats text).".into()),
                ast::BinOpKind::Concat => {
                    return Err("“~” isn't available in templates: write {{ a }}{{ b }} instead.".into());
                }
                _ => {}
            }
            walk(&b.left, parts)?;
            walk(&b.right, parts)
        }
        Expr::Compare(c) => {
            walk(&c.expr, parts)?;
            c.ops.iter().try_for_each(|op| walk(&op.expr, parts))
        }
        Expr::IfExpr(i) => {
            walk(&i.test_expr, parts)?;
            walk(&i.true_expr, parts)?;
            i.false_expr.iter().try_for_each(|e| walk(e, parts))
        }
        Expr::Filter(f) => {
            if !FILTERS.contains(&f.name) {
                return Err(format!("The filter “{}” isn't available in templates.", f.name));
            }
            f.expr.iter().try_for_each(|e| walk(e, parts))?;
            arguments(&f.args, parts)
        }
        Expr::Test(t) => {
            walk(&t.expr, parts)?;
            arguments(&t.args, parts)
        }
        Expr::GetAttr(g) => walk(&g.expr, parts),
        Expr::GetItem(g) => {
            walk(&g.expr, parts)?;
            walk(&g.subscript_expr, parts)
        }
        Expr::Call(c) => {
            let allowed = match c.identify_call() {
                CallType::Function(name) => name == "range",
                CallType::Method(Expr::Var(v), name) => v.id == "loop" && matches!(name, "cycle" | "changed"),
                _ => false,
            };
            if !allowed {
                return Err("Templates can call range() only.".into());
            }
            arguments(&c.args, parts)
        }
        Expr::List(l) => l.items.iter().try_for_each(|e| walk(e, parts)),
        Expr::Map(m) => m.keys.iter().chain(&m.values).try_for_each(|e| walk(e, parts)),
    }
}

fn arguments(args: &[CallArg<'_>], parts: &mut usize) -> Result<(), String> {
    args.iter().try_for_each(|arg| match arg {
        CallArg::Pos(e) | CallArg::Kwarg(_, e) | CallArg::PosSplat(e) | CallArg::KwargSplat(e) => walk(e, parts),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workflows::kinds::{HttpConfig, NodeConfig};
    use serde_json::json;

    fn render(text: &str, scope: &Value) -> Result<String, String> {
        Filler::new(scope).render(text)
    }

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
        let list = json!({ "trigger": { "tags": ["a", "b"], "n": 4 } });
        assert_eq!(
            render("{% for t in trigger.tags %}{{ loop.index }}={{ t | upper }};{% endfor %}", &list).unwrap(),
            "1=A;2=B;"
        );
        assert_eq!(render("{{ trigger.tags | join(', ') }} {{ trigger.n + 1 }}", &list).unwrap(), "a, b 5");
        assert_eq!(render("{{ 'a-b' | replace('-', '+') }}", &list).unwrap(), "a+b");
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
    fn statements_that_store_values_are_refused() {
        let scope = json!({ "trigger": {} });
        // The attack this language is made against: doubling a stored value until memory runs out.
        let err = render(r#"{% set a = "x" %}{% set a = a ~ a %}{{ a }}"#, &scope).unwrap_err();
        assert!(err.contains("{% set %} isn't available"), "{err}");
        for (text, refused) in [
            ("{% with a = 1 %}{{ a }}{% endwith %}", "with"),
            ("{% macro m() %}x{% endmacro %}", "macro"),
            ("{% filter upper %}x{% endfilter %}", "filter"),
            ("{% include 'x' %}", "include"),
            ("{% for a in [1] recursive %}{{ loop(a) }}{% endfor %}", "recursive for"),
        ] {
            let err = render(text, &scope).unwrap_err();
            assert!(err.contains(&format!("{{% {refused} %}}")), "{text}: {err}");
        }
    }

    #[test]
    fn operators_and_filters_that_multiply_text_are_refused() {
        let scope = json!({ "trigger": { "s": "x" } });
        let err = render(r#"{{ "x" * 50000000 }}"#, &scope).unwrap_err();
        assert!(err.contains("“*” isn't available"), "{err}");
        let err = render("{{ trigger.s ~ trigger.s }}", &scope).unwrap_err();
        assert!(err.contains("“~” isn't available"), "{err}");
        let err = render("{{ trigger.s | indent(1000000) }}", &scope).unwrap_err();
        assert!(err.contains("“indent” isn't available"), "{err}");
        let err = render("{{ debug() }}", &scope).unwrap_err();
        assert!(err.contains("range() only"), "{err}");
        let long = vec!["trigger.s"; EXPR_PARTS].join(" + ");
        let err = render(&format!("{{{{ {long} }}}}"), &scope).unwrap_err();
        assert!(err.contains(&format!("at most {EXPR_PARTS} parts")), "{err}");
    }

    #[test]
    fn what_a_template_builds_is_bounded() {
        let big = "y".repeat(OUTPUT_MAX / 4);
        let scope = json!({ "trigger": { "big": big, "many": vec!["a"; 10_000] } });
        // Output is counted as it is written.
        let err = render("{% for i in range(5) %}{{ trigger.big }}{% endfor %}", &scope).unwrap_err();
        assert!(err.contains("longer than 1 MiB"), "{err}");
        // A separator repeated 10,000 times, and a replacement that grows the text, stop first.
        let err = render("{{ trigger.many | join(trigger.big) }}", &scope).unwrap_err();
        assert!(err.contains("longer than 1 MiB"), "{err}");
        let err = render("{{ trigger.big | replace('y', 'yyyyy') }}", &scope).unwrap_err();
        assert!(err.contains("longer than 1 MiB"), "{err}");
        // The budget is the whole config's: four quarters pass, a fifth field doesn't.
        let config = NodeConfig::Http(HttpConfig {
            url: "{{ trigger.big }}".into(),
            headers: vec!["{{ trigger.big }}".into(); 4],
            ..HttpConfig::default()
        });
        let err = fill(&config, &scope).unwrap_err();
        assert!(err.contains("longer than 1 MiB"), "{err}");
    }

    #[test]
    fn fill_renders_every_text_field_and_names_the_failing_one() {
        let config = NodeConfig::Http(HttpConfig {
            url: "https://api.example.com/orders/{{ trigger.id }}".into(),
            headers: vec!["X-Order: {{ trigger.id }}".into()],
            ..HttpConfig::default()
        });
        assert!(is_template(&config));
        assert!(!is_template(&NodeConfig::Http(HttpConfig::default())));
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
