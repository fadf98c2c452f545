//! Node configs are templates: `{{ trigger.body.id }}` and `{{ steps.fetch.output.status }}`
//! (minijinja) are filled in from the run before a step runs. A missing value is an error, not
//! an empty string, so a typo fails the step with the place named.
//!
//! The language is minijinja's, made smaller so that no template can make the server allocate
//! without bound (fuel bounds the work a template does, not the bytes it builds):
//! - **Nothing is stored.** `set`, `with`, macros, `call`, `filter` blocks, `include`, `import`,
//!   `extends` and `block` are refused, so a value can't be fed back into itself to double;
//!   `if`, `for` (not recursive) and `{{ … }}` remain.
//! - **Expressions are small and don't multiply text.** At most [`EXPR_PARTS`] parts each; `*`
//!   (it repeats text), `**` and `~` are refused (`{{ a }}{{ b }}` writes both), and `+` needs a
//!   number written in the template on one side (`x + 1`: arithmetic, never joined text).
//!   `range()` is the only function. The environment starts empty: only the filters of
//!   [`FILTERS`] and cheap tests exist, so `select('…')` reaches nothing else, and `join` and
//!   `replace` check the size of what they would build before building it.
//! - **Work and output are budgeted per node:** [`FUEL`] instructions for all of its fields
//!   together, and at most [`OUTPUT_MAX`] bytes of filled-in text, counted as it is written.
//!   Filling runs on the blocking pool, never on the threads that serve requests.
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

/// Instructions all the templates of one node may take: plenty for text, not for a runaway loop.
pub const FUEL: u64 = 50_000;
/// Parts (names, constants, operators, filters, arguments) one expression may have.
pub const EXPR_PARTS: usize = 64;
/// Bytes of text a node's filled-in config may have, and that one filter may build.
pub const OUTPUT_MAX: usize = 1024 * 1024;
/// The filters templates may use: none builds more than its input, or allocates by an argument.
#[rustfmt::skip]
pub const FILTERS: &[&str] = &[
    "abs", "attr", "bool", "capitalize", "count", "d", "default", "dictsort", "e", "escape", "first", "float",
    "int", "items", "join", "last", "length", "lines", "lower", "max", "min", "reject", "rejectattr", "replace",
    "reverse", "round", "safe", "select", "selectattr", "sort", "split", "sum", "title", "trim", "unique", "upper",
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

/// The node's configuration with every text field rendered; errors name the field. The work
/// happens on the blocking pool (the scope is shared, not copied).
pub async fn fill(config: &NodeConfig, scope: &Value) -> Result<NodeConfig, String> {
    if !is_template(config) {
        return Ok(config.clone());
    }
    let (config, scope) = (config.clone(), Jinja::from_serialize(scope));
    tokio::task::spawn_blocking(move || fill_now(&config, scope))
        .await
        .unwrap_or_else(|e| Err(format!("The templates could not be filled: {e}")))
}

pub(crate) fn fill_now(config: &NodeConfig, scope: Jinja) -> Result<NodeConfig, String> {
    let mut value = serde_json::to_value(config).map_err(|e| e.to_string())?;
    let mut filler = Filler::new(scope);
    if let Some(fields) = value.get_mut("config").and_then(Value::as_object_mut) {
        for (name, field) in fields.iter_mut() {
            filler.fill_value(field).map_err(|e| format!("In “{name}”: {e}"))?;
        }
    }
    serde_json::from_value(value).map_err(|e| e.to_string())
}

/// Renders the text fields of one config, all counted against one budget of work and output.
struct Filler {
    env: Environment<'static>,
    scope: Jinja,
    left: Cell<usize>,
    fuel: u64,
}

type OneTest = fn(&Jinja) -> bool;
type TwoTest = fn(&Jinja, &Jinja) -> bool;

/// An environment with nothing but the smaller language's filters, tests and `range`.
fn environment() -> Environment<'static> {
    use minijinja::{filters as f, tests as t};
    let mut env = Environment::empty();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.add_function("range", minijinja::functions::range);
    env.add_filter("join", join);
    env.add_filter("replace", replace);
    env.add_filter("abs", f::abs);
    env.add_filter("attr", f::attr);
    env.add_filter("bool", f::bool);
    env.add_filter("capitalize", f::capitalize);
    env.add_filter("count", f::length);
    env.add_filter("length", f::length);
    env.add_filter("d", f::default);
    env.add_filter("default", f::default);
    env.add_filter("dictsort", f::dictsort);
    env.add_filter("e", f::escape);
    env.add_filter("escape", f::escape);
    env.add_filter("first", f::first);
    env.add_filter("float", f::float);
    env.add_filter("int", f::int);
    env.add_filter("items", f::items);
    env.add_filter("last", f::last);
    env.add_filter("lines", f::lines);
    env.add_filter("lower", f::lower);
    env.add_filter("max", f::max);
    env.add_filter("min", f::min);
    env.add_filter("reject", f::reject);
    env.add_filter("rejectattr", f::rejectattr);
    env.add_filter("reverse", f::reverse);
    env.add_filter("round", f::round);
    env.add_filter("safe", f::safe);
    env.add_filter("select", f::select);
    env.add_filter("selectattr", f::selectattr);
    env.add_filter("sort", f::sort);
    env.add_filter("split", f::split);
    env.add_filter("sum", f::sum);
    env.add_filter("title", f::title);
    env.add_filter("trim", f::trim);
    env.add_filter("unique", f::unique);
    env.add_filter("upper", f::upper);
    let one: [(&str, OneTest); 13] = [
        ("defined", t::is_defined),
        ("undefined", t::is_undefined),
        ("none", t::is_none),
        ("boolean", t::is_boolean),
        ("number", t::is_number),
        ("integer", t::is_integer),
        ("float", t::is_float),
        ("string", t::is_string),
        ("sequence", t::is_sequence),
        ("iterable", t::is_iterable),
        ("mapping", t::is_mapping),
        ("true", t::is_true),
        ("false", t::is_false),
    ];
    for (name, test) in one {
        env.add_test(name, test);
    }
    let two: [(&str, TwoTest); 7] = [
        ("eq", t::is_eq),
        ("ne", t::is_ne),
        ("lt", t::is_lt),
        ("le", t::is_le),
        ("gt", t::is_gt),
        ("ge", t::is_ge),
        ("divisibleby", t::is_divisibleby),
    ];
    for (name, test) in two {
        env.add_test(name, test);
    }
    env.add_test("odd", t::is_odd);
    env.add_test("even", t::is_even);
    env.add_test("startingwith", t::is_startingwith);
    env.add_test("endingwith", t::is_endingwith);
    env.add_test("in", t::is_in);
    env
}

impl Filler {
    fn new(scope: Jinja) -> Filler {
        Filler { env: environment(), scope, left: Cell::new(OUTPUT_MAX), fuel: FUEL }
    }

    fn fill_value(&mut self, value: &mut Value) -> Result<(), String> {
        match value {
            Value::String(s) => *s = self.render(s)?,
            Value::Array(items) => items.iter_mut().try_for_each(|v| self.fill_value(v))?,
            _ => {}
        }
        Ok(())
    }

    /// `text` with its `{{ … }}` and `{% … %}` filled in, spending from the node's budgets.
    fn render(&mut self, text: &str) -> Result<String, String> {
        if !has_tags(text) {
            self.spend(text.len())?;
            return Ok(text.to_owned());
        }
        check(text)?;
        self.env.set_fuel(Some(self.fuel.max(1)));
        let template = self.env.template_from_str(text).map_err(|e| describe(&e))?;
        let mut out = Counted { out: Vec::new(), left: &self.left, over: false };
        let rendered = template.render_captured_to(&self.scope, &mut out);
        if out.over {
            return Err(too_long());
        }
        let captured = rendered.map_err(|e| describe(&e))?;
        if let Some((_, left)) = captured.state().fuel_levels() {
            self.fuel = left;
        }
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
            let number = |e: &Expr<'_>| matches!(e, Expr::Const(c) if c.value.is_number());
            match b.op {
                ast::BinOpKind::Mul => return Err("“*” isn't available in templates (it repeats text).".into()),
                ast::BinOpKind::Pow => return Err("“**” isn't available in templates.".into()),
                ast::BinOpKind::Add if !number(&b.left) && !number(&b.right) => {
                    return Err(
                        "“+” adds a number written in the template (x + 1); to join text, write {{ a }}{{ b }}.".into(),
                    );
                }
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
        Filler::new(Jinja::from_serialize(scope)).render(text)
    }

    fn fill(config: &NodeConfig, scope: &Value) -> Result<NodeConfig, String> {
        fill_now(config, Jinja::from_serialize(scope))
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
        assert_eq!(
            render("{{ trigger.tags | join(', ') }} {{ trigger.n + 1 }} {{ 2 + trigger.n }}", &list).unwrap(),
            "a, b 5 6"
        );
        assert_eq!(render("{{ trigger.tags | select('string') | join('') }}", &list).unwrap(), "ab");
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
        // The fuel is the node's, not each field's: fields that each fit run out together.
        let spin = "{% for a in range(8000) %}{% endfor %}".to_owned();
        assert!(render(&spin, &scope).is_ok());
        let config =
            NodeConfig::Http(HttpConfig { url: spin.clone(), headers: vec![spin; 3], ..HttpConfig::default() });
        let err = fill(&config, &scope).unwrap_err();
        assert!(err.contains("fuel"), "{err}");
    }

    #[test]
    fn every_filter_of_the_language_exists() {
        let scope = json!({ "trigger": { "x": [1] } });
        for name in FILTERS {
            let err = render(&format!("{{{{ trigger.x | {name} }}}}"), &scope).err().unwrap_or_default();
            assert!(!err.contains("unknown filter"), "{name}: {err}");
        }
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
        let long = vec!["trigger.s"; EXPR_PARTS].join(" - ");
        let err = render(&format!("{{{{ {long} }}}}"), &scope).unwrap_err();
        assert!(err.contains(&format!("at most {EXPR_PARTS} parts")), "{err}");
        let err = render("{{ trigger.s + trigger.s }}", &scope).unwrap_err();
        assert!(err.contains("“+” adds a number"), "{err}");
        let err = render("{{ 10 ** 12 }}", &scope).unwrap_err();
        assert!(err.contains("“**” isn't available"), "{err}");
        // Filters that allocate by an argument are not there, not even by name through select.
        for text in
            ["{{ [1] | slice(1000000000000) }}", "{{ [1] | batch(1000000000000) }}", "{{ ['x'] | map('indent', 9) }}"]
        {
            assert!(render(text, &scope).unwrap_err().contains("isn't available"), "{text}");
        }
        let err = render("{{ ['x'] | select('filter', 'indent') | join('') }}", &scope).unwrap_err();
        assert!(err.contains("unknown test"), "{err}");
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
