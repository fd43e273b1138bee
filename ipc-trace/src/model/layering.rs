//! Keeps the model's import graph acyclic: reads the `super::` and
//! `crate::model::` paths of every model file (comments and inline test
//! modules left out), maps them to model modules (a directory such as
//! `state/` is one module) and fails on a cycle, naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Graph = BTreeMap<String, BTreeSet<String>>;

/// Model modules and the files of each.
fn modules(dir: &Path) -> BTreeMap<String, Vec<(PathBuf, bool)>> {
    let mut out: BTreeMap<String, Vec<(PathBuf, bool)>> = BTreeMap::new();
    let entries = std::fs::read_dir(dir).expect("model dir readable");
    for entry in entries {
        let path = entry.expect("dir entry").path();
        let Some(name) = path
            .file_stem()
            .and_then(|s| s.to_str())
            .map(str::to_string)
        else {
            continue;
        };
        if path.is_dir() {
            let files = std::fs::read_dir(&path).expect("module dir readable");
            for f in files {
                let f = f.expect("dir entry").path();
                if f.extension().is_some_and(|e| e == "rs") {
                    // In `x/mod.rs`, `super::` is the model; in `x/y.rs` it is `x`.
                    let nested = f.file_name().is_some_and(|n| n != "mod.rs");
                    out.entry(name.clone()).or_default().push((f, nested));
                }
            }
        } else if path.extension().is_some_and(|e| e == "rs") && name != "mod" && name != "layering"
        {
            out.entry(name).or_default().push((path, false));
        }
    }
    out
}

/// The code of a file without comments and without its inline test module.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or("");
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment after each model path prefix: `super::a::B` → `a`,
/// `super::{a::B, c}` → `a`, `c`.
fn referenced(code: &str, nested: bool) -> Vec<String> {
    let relative = if nested { "super::super::" } else { "super::" };
    let mut out = Vec::new();
    for prefix in [relative, "crate::model::"] {
        let mut rest = code;
        while let Some(at) = rest.find(prefix) {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + prefix.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            if let Some(group) = rest.strip_prefix('{') {
                let end = group.find('}').unwrap_or(group.len());
                for item in group[..end].split(',') {
                    out.push(first_segment(item.trim()));
                }
            } else {
                out.push(first_segment(rest));
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn first_segment(path: &str) -> String {
    path.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

/// The import graph among model modules; paths naming anything but a
/// model module (an item re-exported by `model/mod.rs`) are returned too.
fn graph(dir: &Path) -> (Graph, Vec<String>) {
    let mods = modules(dir);
    let mut g = Graph::new();
    let mut strays = Vec::new();
    for (name, files) in &mods {
        let edges = g.entry(name.clone()).or_default();
        for (file, nested) in files {
            let text = std::fs::read_to_string(file).expect("model file readable");
            for target in referenced(&code(&text), *nested) {
                if !mods.contains_key(&target) {
                    strays.push(format!("{}: {target}", file.display()));
                } else if target != *name {
                    edges.insert(target);
                }
            }
        }
    }
    (g, strays)
}

/// A cycle, as the modules along it, if there is one.
fn cycle(g: &Graph) -> Option<Vec<String>> {
    fn visit(
        n: &str,
        g: &Graph,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == n) {
            let mut c = path[i..].to_vec();
            c.push(n.to_string());
            return Some(c);
        }
        if done.contains(n) {
            return None;
        }
        path.push(n.to_string());
        for m in g.get(n).into_iter().flatten() {
            if let Some(c) = visit(m, g, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(n.to_string());
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(n, g, &mut Vec::new(), &mut done))
}

#[test]
fn model_imports_have_no_cycle() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/model");
    let (g, strays) = graph(&dir);
    assert!(g.contains_key("state") && g.contains_key("ids"), "{g:?}");
    assert!(
        strays.is_empty(),
        "import model items through their module, not the model's re-exports: {strays:?}"
    );
    if let Some(c) = cycle(&g) {
        panic!("import cycle among model files: {}", c.join(" -> "));
    }
    assert!(
        g["ids"].is_empty(),
        "ids.rs is the leaf of shared names: {:?}",
        g["ids"]
    );
}

#[test]
fn paths_and_cycles_are_found() {
    let uses = "use super::{a::X, b};\nuse crate::model::c::Y; // super::d\n";
    assert_eq!(referenced(&code(uses), false), ["a", "b", "c"]);
    assert_eq!(referenced("use super::super::e::Z;", true), ["e"]);
    let mut g = Graph::new();
    g.entry("a".into()).or_default().insert("b".into());
    g.entry("b".into()).or_default().insert("a".into());
    assert_eq!(
        cycle(&g),
        Some(vec!["a".to_string(), "b".into(), "a".into()])
    );
}
