//! What runs in the fresh state: a new user's clone, then the set-up and
//! build (or the given command) in it, each timed.

use crate::cmd;
use anyhow::{Context, Result};
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// What a new user runs after cloning, in order.
const STEPS: &[&[&str]] = &[
    &["cargo", "xtask", "setup"],
    &["cargo", "build", "--release"],
    &["cargo", "test", "--no-run"],
];

/// Clone the committed tree next to `scratch` and run `command` (empty:
/// [`STEPS`]) in it with a fresh target directory; the clone is removed
/// afterwards unless `keep` or something failed.
pub fn run(scratch: &Path, command: &[String], keep: bool) -> Result<bool> {
    let root = cmd::workspace_root();
    let dirty = cmd::output(
        Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(["status", "--porcelain"]),
    )
    .unwrap_or_default();
    if !dirty.trim().is_empty() {
        println!(
            "fresh: note: uncommitted changes in {} are not part of this check",
            root.display()
        );
    }
    // On disk, not in the tmpfs: a release and a debug target take gigabytes.
    let tree = scratch.with_file_name(format!(
        "{}-tree",
        scratch
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("fresh")
    ));
    let default: Vec<Vec<String>> = STEPS
        .iter()
        .map(|argv| argv.iter().map(|a| a.to_string()).collect())
        .collect();
    let steps = if command.is_empty() {
        default
    } else {
        vec![command.to_vec()]
    };
    let result = clone_and_run(&root, &tree, &steps);
    if keep || !matches!(result, Ok(true)) {
        println!("fresh: the clone is kept in {}", tree.display());
    } else if let Err(e) = std::fs::remove_dir_all(&tree) {
        println!("fresh: could not remove {}: {e}", tree.display());
    }
    result
}

fn clone_and_run(root: &Path, tree: &Path, steps: &[Vec<String>]) -> Result<bool> {
    let start = Instant::now();
    cmd::run(
        Command::new("git")
            .args(["clone", "-q", "--no-hardlinks"])
            .arg(root)
            .arg(tree),
    )
    .context("cannot clone the workspace")?;
    println!(
        "fresh: cloned into {} ({:.1} s)",
        tree.display(),
        start.elapsed().as_secs_f64()
    );
    for argv in steps {
        let line = argv.join(" ");
        println!("fresh: running `{line}`");
        let start = Instant::now();
        let mut c = Command::new(&argv[0]);
        c.args(&argv[1..])
            .current_dir(tree)
            .env("CARGO_TARGET_DIR", tree.join("target"))
            .env_remove("CARGO");
        let ok = cmd::run(&mut c);
        let took = start.elapsed().as_secs_f64();
        match ok {
            Ok(()) => println!("fresh: `{line}` passed ({took:.1} s)"),
            Err(e) => {
                println!("fresh: `{line}` FAILED after {took:.1} s: {e:#}");
                return Ok(false);
            }
        }
    }
    println!(
        "fresh: every step passed in a new user's clone ({:.1} s in all)",
        start.elapsed().as_secs_f64()
    );
    Ok(true)
}
