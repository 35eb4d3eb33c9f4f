//! The module import graph is a clean stack (issue 13): every top-level module imports only
//! modules below it, `domain` stands on `error` alone, only `shell` touches the Workers runtime,
//! and the shell's own modules import each other without a cycle. Read from the source text
//! (`crate::…`, `super::…` paths outside comments), so a new import that breaks the stack fails
//! here, with the offending file named.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The stack, bottom first: a module may import only modules of a lower layer. Modules on one
/// layer do not import each other.
const LAYERS: &[&[&str]] = &[
    &["error"],
    &["domain"],
    &["storage", "media", "archive"],
    &["auth", "store"],
    &["api"],
    &["config", "ports"],
    &["service"],
    &["shell"],
];

/// Items of the crate root that every module may name (`crate::VERSION` and the `args!`, `view!`, `choice!` macros).
const ROOT_ITEMS: &[&str] = &["VERSION", "args", "view", "choice"];

fn layer(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is missing from LAYERS"))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a source file: `src/shell/call.rs` → `["shell", "call"]`.
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix("src").unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code without comments and string literals (doc links and SQL are not imports).
fn code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            while i + 1 < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' && (i == 0 || b[i - 1] != b'\'') {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push(' ');
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn ident(s: &str) -> String {
    s.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The first path segment after each `prefix::`, expanding `prefix::{a, b::c}` groups.
fn targets(code: &str, prefix: &str) -> Vec<String> {
    let needle = format!("{prefix}::");
    let mut out = Vec::new();
    for (at, _) in code.match_indices(&needle) {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let rest = &code[at + needle.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    _ => {}
                }
                if depth == 0 || (depth == 1 && c == ',') {
                    out.push(ident(item.trim()));
                    item.clear();
                    if depth == 0 {
                        break;
                    }
                } else if depth == 1 {
                    item.push(c);
                }
            }
        } else {
            out.push(ident(rest));
        }
    }
    out.retain(|s| !s.is_empty() && s != "self");
    out
}

struct Graph {
    /// (importing module, imported module) → the files that make the edge.
    top: BTreeMap<(String, String), BTreeSet<String>>,
    shell: BTreeMap<String, BTreeSet<String>>,
    runtime_users: BTreeSet<String>,
}

fn graph() -> Graph {
    let mut files = Vec::new();
    sources(Path::new("src"), &mut files);
    let mut g = Graph {
        top: BTreeMap::new(),
        shell: BTreeMap::new(),
        runtime_users: BTreeSet::new(),
    };
    for path in files {
        let module = module_of(&path);
        let Some(top) = module.first() else { continue };
        let text = code(&fs::read_to_string(&path).unwrap());
        let file = path.display().to_string();
        if text.contains("worker::") || text.contains("use worker") {
            g.runtime_users.insert(top.clone());
        }
        for target in targets(&text, "crate") {
            if &target != top && !ROOT_ITEMS.contains(&target.as_str()) {
                g.top
                    .entry((top.clone(), target))
                    .or_default()
                    .insert(file.clone());
            }
        }
        if top == "shell" && module.len() == 2 {
            let me = &module[1];
            let mut deps: BTreeSet<String> = targets(&text, "super").into_iter().collect();
            deps.extend(
                targets(&text, "crate::shell")
                    .into_iter()
                    .filter(|d| d != "shell"),
            );
            deps.remove(me);
            g.shell.entry(me.clone()).or_default().extend(deps);
        }
    }
    g
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let g = graph();
    let wrong: Vec<String> = g
        .top
        .iter()
        .filter(|((from, to), _)| layer(to) >= layer(from))
        .map(|((from, to), files)| format!("{from} → {to} in {files:?}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "imports against the stack:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn domain_stands_on_error_alone() {
    let g = graph();
    let deps: Vec<&String> = g
        .top
        .keys()
        .filter(|(from, _)| from == "domain")
        .map(|(_, to)| to)
        .collect();
    assert!(deps.iter().all(|d| *d == "error"), "{deps:?}");
}

#[test]
fn only_the_shell_touches_the_workers_runtime() {
    let g = graph();
    let users: Vec<&String> = g.runtime_users.iter().filter(|m| *m != "shell").collect();
    assert!(users.is_empty(), "{users:?} import `worker`");
}

#[test]
fn the_shell_modules_import_each_other_without_a_cycle() {
    let g = graph();
    assert!(g.shell.len() > 5, "the shell's modules were not found");
    // Depth-first search for a back edge, reporting the cycle it closes.
    fn visit(
        node: &str,
        g: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == node) {
            let mut cycle = path[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in g.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for node in g.shell.keys() {
        if let Some(cycle) = visit(node, &g.shell, &mut Vec::new(), &mut done) {
            panic!("shell import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn the_reader_finds_imports_in_every_form() {
    let text = code(
        "use crate::{config::Config, domain::{self, task}};\n// crate::shell in a comment\n\
         let s = \"crate::api in SQL\"; crate::store::x(); use super::call::Call;",
    );
    assert_eq!(targets(&text, "crate"), ["config", "domain", "store"]);
    assert_eq!(targets(&text, "super"), ["call"]);
}

/// The shell is thin: statements are built by `store` and run by the core's use cases, so no
/// shell file but the D1 adapter (which executes a `Stmt`) names `store`, apart from the row
/// types a handler passes along; and no shell file asks a role question (that is
/// `domain::setlist::decide`, asked by the use cases).
#[test]
fn the_shell_builds_no_statement_and_decides_no_role() {
    let mut files = Vec::new();
    sources(Path::new("src/shell"), &mut files);
    let mut wrong = Vec::new();
    for path in files {
        let text = code(&fs::read_to_string(&path).unwrap());
        let file = path.display().to_string();
        let names_store = text
            .match_indices("store::")
            .any(|(at, _)| !text[at..].starts_with("store::rows"));
        if names_store && !file.ends_with("d1.rs") {
            wrong.push(format!("{file} names store"));
        }
        if text.contains("Role::") || text.contains("setlist::decide") {
            wrong.push(format!("{file} decides a role"));
        }
    }
    assert!(
        wrong.is_empty(),
        "policy in the shell:\n{}",
        wrong.join("\n")
    );
}
