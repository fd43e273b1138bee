//! docs/DESIGN.md's module maps match the source tree: every source file
//! of `ipc-trace` and `ipc-trace-ebpf` is named in its crate's table (by
//! its path, or by a directory entry `dir/` above it or of its own module),
//! and every path the tables name exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The design document, from this crate's directory.
fn design() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/DESIGN.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The table under the heading `### `<crate>/src``: every backticked token
/// of its first column that looks like a path (`x.rs` or `dir/`).
fn mapped_paths(doc: &str, krate: &str) -> BTreeSet<String> {
    let heading = format!("### `{krate}/src`");
    let start = doc
        .find(&heading)
        .unwrap_or_else(|| panic!("DESIGN.md has no heading {heading}"));
    let mut out = BTreeSet::new();
    for line in doc[start + heading.len()..].lines().skip(1) {
        if line.starts_with('#') {
            break;
        }
        let Some(first_cell) = line.strip_prefix('|').and_then(|l| l.split('|').next()) else {
            continue;
        };
        for (i, token) in first_cell.split('`').enumerate() {
            if i % 2 == 1 && (token.ends_with(".rs") || token.ends_with('/')) {
                out.insert(token.to_string());
            }
        }
    }
    out
}

/// Every `.rs` file under `dir`, relative to it.
fn source_files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if path.extension().is_some_and(|e| e == "rs")
                && let Ok(rel) = path.strip_prefix(root)
            {
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// Files not covered by `map`, and entries of `map` that do not exist.
fn mismatches(map: &BTreeSet<String>, src: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for file in source_files(src) {
        // `x.rs` is the root of the module `x/`, so `x/` covers it too.
        let as_dir = format!("{}/", file.trim_end_matches(".rs"));
        let covered = map.contains(&file)
            || map.contains(&as_dir)
            || Path::new(&file)
                .ancestors()
                .skip(1)
                .filter(|a| !a.as_os_str().is_empty())
                .any(|a| map.contains(&format!("{}/", a.display())));
        if !covered {
            problems.push(format!("`{file}` is in the tree but not in the map"));
        }
    }
    for entry in map {
        if !src.join(entry).exists() {
            problems.push(format!("`{entry}` is in the map but not in the tree"));
        }
    }
    problems
}

fn crate_src(krate: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(krate)
        .join("src")
}

#[test]
fn the_module_maps_match_the_source_trees() {
    let doc = design();
    let mut problems = Vec::new();
    for krate in ["ipc-trace", "ipc-trace-ebpf"] {
        let map = mapped_paths(&doc, krate);
        assert!(!map.is_empty(), "the {krate} table names no path");
        problems.extend(
            mismatches(&map, &crate_src(krate))
                .into_iter()
                .map(|p| format!("{krate}: {p}")),
        );
    }
    assert!(
        problems.is_empty(),
        "docs/DESIGN.md's module maps disagree with the tree:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_sees_a_missing_file_and_a_stale_entry() {
    let dir = std::env::temp_dir().join(format!("ipc-trace-design-map-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).expect("scratch dir");
    for f in ["lib.rs", "a.rs", "sub/b.rs"] {
        std::fs::write(dir.join(f), "").expect("write");
    }
    let map: BTreeSet<String> = ["lib.rs", "sub/", "gone.rs"]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
    let problems = mismatches(&map, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        problems,
        vec![
            "`a.rs` is in the tree but not in the map".to_string(),
            "`gone.rs` is in the map but not in the tree".to_string(),
        ]
    );
}
