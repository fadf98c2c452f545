//! The dependency rule of ARCHITECTURE.md, checked on the source (rust-analyzer's `tidy.rs` is
//! the model): each module of `app/src` sits in a layer and imports only from layers below
//! it (or its own); each table is read and written only by the area that owns it. A violation
//! names its file and line. There is no exceptions list: every violation fails.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Each top-level module of `app/src` and its layer; a module may import from lower layers.
const LAYERS: &[(&str, u8)] = &[
    // The low layer: no area.
    ("error", 0),
    ("validate", 0),
    ("validate_hint", 0),
    ("secrets", 0),
    ("events", 0),
    ("hub", 0),
    ("entities", 0),
    ("db", 0),
    ("ui", 0),
    ("state", 0),
    ("statuses", 0),
    // Who is asking, and where.
    ("auth", 1),
    ("workspaces", 1),
    ("guard", 1),
    ("stream", 1),
    // Instance-wide policy that account creation consults (open sign-up, the setup marker); it
    // must import no area.
    ("settings", 1),
    // The areas: they call each other's services, and reach the engine only by recording events.
    ("workflows", 2),
    ("approvals", 2),
    ("credentials", 2),
    ("notifications", 2),
    ("boards", 2),
    ("calendar", 2),
    // The engine acts on the areas by calling their services.
    ("engine", 3),
    // The crate root and the property tests see everything.
    ("lib", 4),
    ("no_panic", 4),
];

/// Each table (entity module) and the area that owns it.
const OWNERS: &[(&str, &str)] = &[
    ("users", "auth"),
    ("sessions", "auth"),
    ("invitations", "workspaces"),
    ("workspaces", "workspaces"),
    ("workspace_members", "workspaces"),
    ("instance_settings", "settings"),
    ("workflows", "workflows"),
    ("workflow_versions", "workflows"),
    ("workflow_steps", "workflows"),
    ("workflow_transitions", "workflows"),
    ("approvals", "approvals"),
    ("notifications", "notifications"),
    ("credentials", "credentials"),
    ("workflow_executions", "engine"),
    ("execution_steps", "engine"),
    ("workflow_triggers", "workflows"),
    ("webhooks", "engine"),
    ("workflow_data", "engine"),
    ("projects", "boards"),
    ("project_members", "boards"),
    ("project_favorites", "boards"),
    ("tasks", "boards"),
    ("activities", "events"),
    ("activity_cursors", "events"),
];

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Violation {
    /// `<file> -> <module>` or `<file> uses <table>`.
    key: String,
    line: usize,
    why: String,
}

fn layer(module: &str) -> Option<u8> {
    LAYERS.iter().find(|(m, _)| *m == module).map(|&(_, l)| l)
}

fn owner(table: &str) -> Option<&'static str> {
    OWNERS.iter().find(|(t, _)| *t == table).map(|&(_, o)| o)
}

/// The top-level module a file of `app/src` belongs to.
fn module_of(file: &Path) -> String {
    let first = file.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir).expect("read the source folder").flatten().collect();
    entries.sort_by_key(|e| e.path());
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The names a path continues with after `prefix` at `at`: one identifier, or each item of a
/// `{…}` group on the same line (an `x as y` item counts as `x`).
fn names_after(line: &str, at: usize) -> Vec<String> {
    let rest = &line[at..];
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    if let Some(group) = rest.strip_prefix('{') {
        let end = group.find('}').unwrap_or(group.len());
        let mut depth = 0;
        let mut items = Vec::new();
        let mut start = 0;
        for (i, c) in group[..end].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&group[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        items.push(&group[start..end]);
        items.iter().map(|item| ident(item.trim())).filter(|n| !n.is_empty()).collect()
    } else {
        let name = ident(rest);
        if name.is_empty() { Vec::new() } else { vec![name] }
    }
}

/// Every place `text` (after `marker`) names something: the line and the names.
fn mentions<'a>(text: &'a str, marker: &'a str) -> impl Iterator<Item = (usize, Vec<String>)> + 'a {
    text.lines().enumerate().flat_map(move |(n, line)| {
        let code = line.split("//").next().unwrap_or_default();
        code.match_indices(marker).map(move |(at, _)| (n + 1, names_after(code, at + marker.len()))).collect::<Vec<_>>()
    })
}

fn violations(src: &Path) -> Vec<Violation> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut found = BTreeSet::new();
    for path in files {
        let file = path.strip_prefix(src).expect("under src").to_path_buf();
        let module = module_of(&file);
        let here =
            layer(&module).unwrap_or_else(|| panic!("{}: module `{module}` has no layer in LAYERS", file.display()));
        let text = std::fs::read_to_string(&path).expect("read a source file");
        let name = format!("app/src/{}", file.display());
        for (line, targets) in mentions(&text, "crate::") {
            for target in targets {
                let Some(there) = layer(&target) else { continue };
                if target != module && there > here {
                    found.insert(Violation {
                        key: format!("{name} -> {target}"),
                        line,
                        why: format!("`{module}` (layer {here}) imports `{target}` (layer {there})"),
                    });
                }
            }
        }
        // Entity files name each other's tables (relations); they own none.
        if module == "entities" {
            continue;
        }
        for (line, tables) in mentions(&text, "entities::") {
            for table in tables {
                let Some(owner) = owner(&table) else { continue };
                if owner != module {
                    found.insert(Violation {
                        key: format!("{name} uses {table}"),
                        line,
                        why: format!("`{module}` uses `{table}`, a table of `{owner}`"),
                    });
                }
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn areas_import_downward_and_use_only_their_own_tables() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let found = violations(&src);
    let listed: Vec<String> = found
        .iter()
        .map(|v| format!("{}:{}: {}", v.key.split(' ').next().unwrap_or_default(), v.line, v.why))
        .collect();
    assert!(listed.is_empty(), "against the dependency rule (ARCHITECTURE.md):\n{}", listed.join("\n"));
}

#[test]
fn the_checker_sees_grouped_and_aliased_imports() {
    assert_eq!(names_after("{a::b, c as d, e::{f, g}}", 0), ["a", "c", "e"].map(String::from));
    assert_eq!(names_after("engine::runner::Engine;", 0), vec!["engine".to_owned()]);
    let text = "use crate::{engine, workflows as wf};\nlet x = crate::entities::webhooks::Entity; // crate::auth\n";
    let seen: Vec<_> = mentions(text, "crate::").collect();
    assert_eq!(seen, vec![(1, vec!["engine".to_owned(), "workflows".to_owned()]), (2, vec!["entities".to_owned()])]);
}
