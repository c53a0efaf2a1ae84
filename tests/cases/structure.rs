//! The layout rules of the source tree (see README, "Architecture"): no source file over 500
//! lines, each module opening with a `//!` line, nothing under the database layer reaching
//! for the command line or the commands, and no two modules importing each other, directly or
//! around a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every module of `src/`: its path (`db::pg::find`) and its text, test modules left out.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("read src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut out = BTreeMap::new();
    for file in files {
        let rel = file
            .strip_prefix(&src)
            .expect("under src")
            .with_extension("");
        let mut parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        if parts.last().is_some_and(|p| p == "mod") {
            parts.pop();
        }
        if parts.last().is_some_and(|p| p == "tests") {
            continue;
        }
        out.insert(
            parts.join("::"),
            std::fs::read_to_string(&file).expect("read"),
        );
    }
    out
}

/// The module paths a module's code names (`crate::a::b::c` and `super::x`), resolved to the
/// longest module that exists; its own ancestors and descendants left out.
fn imports(name: &str, text: &str, known: &BTreeMap<String, String>) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or(text);
    let parent: Vec<&str> = name.split("::").collect();
    let parent = &parent[..parent.len() - 1];
    let mut found = BTreeSet::new();
    for (prefix, base) in [("crate::", Vec::new()), ("super::", parent.to_vec())] {
        for (at, _) in code.match_indices(prefix) {
            let before = code[..at].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let rest = &code[at + prefix.len()..];
            let path: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            let mut parts: Vec<&str> = base.clone();
            parts.extend(path.split("::").filter(|p| !p.is_empty()));
            let target = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("::"))
                .find(|m| known.contains_key(m));
            if let Some(target) = target {
                let related = target == name
                    || target.starts_with(&format!("{name}::"))
                    || name.starts_with(&format!("{target}::"));
                if !related {
                    found.insert(target);
                }
            }
        }
    }
    found
}

#[test]
fn no_source_file_is_over_500_lines_and_each_says_what_it_is_for() {
    let src = modules();
    assert!(src.len() > 50, "the walk found the modules: {}", src.len());
    let long: Vec<String> = src
        .iter()
        .map(|(m, text)| (m, text.lines().count()))
        .filter(|(_, n)| *n > 500)
        .map(|(m, n)| format!("{m}: {n} lines"))
        .collect();
    assert!(long.is_empty(), "over 500 lines: {long:?}");
    let silent: Vec<&String> = src
        .iter()
        .filter(|(_, text)| !text.starts_with("//!"))
        .map(|(m, _)| m)
        .collect();
    assert!(silent.is_empty(), "no opening //! line: {silent:?}");
}

#[test]
fn the_database_layer_imports_neither_the_command_line_nor_the_commands() {
    let src = modules();
    let mut wrong = Vec::new();
    for (name, text) in &src {
        if !(name == "db" || name.starts_with("db::")) {
            continue;
        }
        for target in imports(name, text, &src) {
            let top = target.split("::").next().unwrap_or_default();
            if ["cli", "commands", "output", "watch", "config", "fleet"].contains(&top) {
                wrong.push(format!("{name} -> {target}"));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");
}

#[test]
fn no_modules_import_each_other() {
    let src = modules();
    let graph: BTreeMap<String, BTreeSet<String>> = src
        .iter()
        .map(|(name, text)| (name.clone(), imports(name, text, &src)))
        .collect();
    assert!(
        graph["db::pg::prune"].contains("db::pg::eligible"),
        "the graph sees imports: {:?}",
        graph["db::pg::prune"]
    );
    // A module on a circle reaches itself again.
    let mut circles = Vec::new();
    for start in graph.keys() {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&String> = graph[start].iter().collect();
        while let Some(m) = todo.pop() {
            if m == start {
                circles.push(start.clone());
                break;
            }
            if seen.insert(m.clone()) {
                todo.extend(graph.get(m).into_iter().flatten());
            }
        }
    }
    assert!(
        circles.is_empty(),
        "modules on an import circle: {circles:?}"
    );
}
