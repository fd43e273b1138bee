//! ipc-trace's live host tests, run inside each VM: the `live_host`,
//! `verifier_host`, `unusual_kernels` and `namespaces_host` test binaries and the lib unit tests (`probe::btf` and
//! the rest), so that they are seen passing on kernels where kprobes and
//! fentry work.
//!
//! The binaries are built on the host by `cargo test --no-run` and found in
//! cargo's JSON messages (never by modification time). They go into the
//! initramfs at the absolute paths they were built at, next to the release
//! `ipc-trace` at the path `env!("CARGO_BIN_EXE_ipc-trace")` baked into them
//! and the files under the crate directory they read.

use super::cells::{key_values, last_lines, seconds};
use super::channel::Channel;
use super::matrix::Cell;
use crate::cmd;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The test targets run in the VM: (name in the matrix, cargo target name, kind).
pub const TARGETS: &[(&str, &str, &str)] = &[
    ("lib", "ipc_trace", "lib"),
    ("live_host", "live_host", "test"),
    ("verifier_host", "verifier_host", "test"),
    ("unusual_kernels", "unusual_kernels", "test"),
    ("namespaces_host", "namespaces_host", "test"),
];

/// Files (relative to the workspace) that the tests read at run time: the
/// schema (`CARGO_MANIFEST_DIR` in tests/common/mod.rs) and, as directories,
/// the insta snapshots of the lib's TUI and lab tests.
pub const DATA_FILES: &[&str] = &[
    "schema/ipc-trace-1.schema.json",
    "ipc-trace/src/tui/snapshots",
    "ipc-trace/src/lab/snapshots",
];

/// The environment the binaries run with in the VM: insta finds the
/// workspace without `cargo metadata` (no cargo in the VM) and never writes
/// `.snap.new` files.
pub fn env(workspace: &Path) -> Vec<(String, String)> {
    vec![
        (
            "INSTA_WORKSPACE_ROOT".to_string(),
            workspace.display().to_string(),
        ),
        ("INSTA_UPDATE".to_string(), "no".to_string()),
        ("RUST_BACKTRACE".to_string(), "0".to_string()),
    ]
}

/// Every file of `DATA_FILES` under `workspace`, directories expanded (one level).
pub fn data_files(workspace: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for rel in DATA_FILES {
        let path = workspace.join(rel);
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

/// Tools the tests run (`Command::new`), copied with their libraries.
pub const TOOLS: &[&str] = &["/usr/sbin/bpftool"];

/// A test binary: its name in the matrix and its executable.
pub type TestBinary = (String, PathBuf);

/// Build the test binaries (release) and return `(name, executable)` for
/// each of `TARGETS`.
pub fn build() -> Result<Vec<TestBinary>> {
    let mut c = cmd::cargo();
    c.current_dir(cmd::workspace_root()).args([
        "test",
        "-p",
        "ipc-trace",
        "--release",
        "--no-run",
        "--message-format=json",
    ]);
    let out = cmd::output(&mut c).context(
        "building ipc-trace's test binaries failed: run `cargo test -p ipc-trace --release --no-run` to see why",
    )?;
    let found = executables(&out);
    let missing: Vec<&str> = TARGETS
        .iter()
        .filter(|(name, ..)| !found.iter().any(|(n, _)| n == name))
        .map(|(name, ..)| *name)
        .collect();
    if !missing.is_empty() {
        bail!(
            "cargo test --no-run gave no executable for {}: are these test targets still in ipc-trace?",
            missing.join(", ")
        );
    }
    Ok(found)
}

/// The executables of `TARGETS` in cargo's `--message-format=json` output.
pub fn executables(json_lines: &str) -> Vec<TestBinary> {
    let mut out = Vec::new();
    for v in json_lines
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
    {
        if v.get("reason").and_then(Value::as_str) != Some("compiler-artifact") {
            continue;
        }
        let is_test = v.pointer("/profile/test").and_then(Value::as_bool) == Some(true);
        let (Some(target), Some(exe)) = (
            v.pointer("/target/name").and_then(Value::as_str),
            v.get("executable").and_then(Value::as_str),
        ) else {
            continue;
        };
        let kinds: Vec<&str> = v
            .pointer("/target/kind")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        for (name, cargo_name, kind) in TARGETS {
            if is_test && target == *cargo_name && kinds.contains(kind) {
                out.push((name.to_string(), PathBuf::from(exe)));
            }
        }
    }
    out
}

/// `(passed, failed)` of the last libtest summary line in `log`
/// (`test result: ok. 12 passed; 0 failed; 1 ignored; ...`).
pub fn summary(log: &str) -> Option<(u64, u64)> {
    let line = log
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with("test result:"))?;
    let count = |word: &str| -> Option<u64> {
        line.split(';')
            .find_map(|part| part.trim().strip_suffix(word))
            .and_then(|n| n.rsplit(' ').find(|w| !w.is_empty()))
            .and_then(|n| n.parse().ok())
    };
    Some((count(" passed")?, count(" failed")?))
}

/// The `hosttests` cell of a kernel: each binary's summary says
/// `N passed; 0 failed` with N > 0.
pub fn cell(kernel: &str, names: &[String], ch: &Channel) -> Cell {
    let mut cell = Cell {
        kernel: kernel.to_string(),
        backend: "hosttests".to_string(),
        ..Cell::default()
    };
    let mut total = 0.0;
    for name in names {
        let (Some(log), Some(result)) = (
            ch.text(&format!("hosttests/{name}.log")),
            ch.text(&format!("hosttests/{name}.txt")),
        ) else {
            cell.failures
                .push(format!("{name}: its output did not arrive"));
            continue;
        };
        let kv = key_values(&result);
        total += seconds(&kv).unwrap_or(0.0);
        let rc = kv.get("rc").map_or("?", String::as_str);
        match summary(&log) {
            Some((passed, 0)) if passed > 0 && rc == "0" => {
                cell.facts
                    .push(format!("{name}: {passed} passed; 0 failed"));
            }
            Some((passed, failed)) => cell.failures.push(format!(
                "{name}: {passed} passed; {failed} failed (exit {rc}): {}",
                failed_tests(&log)
            )),
            None => cell.failures.push(format!(
                "{name} exited {rc} without a test summary{}: {}",
                if rc == "124" {
                    " (killed at its time limit)"
                } else {
                    ""
                },
                last_lines(&log, 5)
            )),
        }
    }
    cell.seconds = Some(total);
    cell
}

/// The names of the failed tests in a libtest log: the indented list
/// under its last `failures:` line.
fn failed_tests(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    let failed: Vec<&str> = lines
        .iter()
        .rposition(|l| *l == "failures:")
        .map(|start| {
            lines[start + 1..]
                .iter()
                .take_while(|l| l.starts_with("    "))
                .map(|l| l.trim())
                .collect()
        })
        .unwrap_or_default();
    if failed.is_empty() {
        last_lines(log, 5)
    } else {
        failed.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executables_come_from_cargo_json_not_from_the_target_dir() {
        let json = r#"{"reason":"compiler-artifact","target":{"name":"ipc_trace","kind":["lib"]},"profile":{"test":false},"executable":null}
{"reason":"compiler-artifact","target":{"name":"ipc_trace","kind":["lib"]},"profile":{"test":true},"executable":"/t/release/deps/ipc_trace-aa"}
{"reason":"compiler-artifact","target":{"name":"ipc-trace","kind":["bin"]},"profile":{"test":true},"executable":"/t/release/deps/ipc_trace-bb"}
{"reason":"compiler-artifact","target":{"name":"live_host","kind":["test"]},"profile":{"test":true},"executable":"/t/release/deps/live_host-cc"}
{"reason":"compiler-artifact","target":{"name":"schema","kind":["test"]},"profile":{"test":true},"executable":"/t/release/deps/schema-dd"}
{"reason":"build-finished","success":true}
not json"#;
        assert_eq!(
            executables(json),
            vec![
                (
                    "lib".to_string(),
                    PathBuf::from("/t/release/deps/ipc_trace-aa")
                ),
                (
                    "live_host".to_string(),
                    PathBuf::from("/t/release/deps/live_host-cc")
                ),
            ]
        );
    }

    #[test]
    fn the_summary_line_gives_passed_and_failed() {
        let log = "running 3 tests\ntest a ... ok\ntest b ... stored new snapshot x\nFAILED\n\
                   test c ... FAILED\n\nfailures:\n\n---- b stdout ----\npanicked\n\n\
                   failures:\n    b\n    c\n\n\
                   test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.2s\n";
        assert_eq!(summary(log), Some((1, 2)));
        assert_eq!(failed_tests(log), "b, c");
        assert_eq!(
            summary("test result: ok. 41 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out"),
            Some((41, 0))
        );
        assert_eq!(summary("thread 'main' panicked"), None);
    }

    fn channel(files: &[(&str, &str)]) -> Channel {
        let mut ch = Channel::default();
        for (name, text) in files {
            ch.files.insert(name.to_string(), text.as_bytes().to_vec());
        }
        ch
    }

    #[test]
    fn the_cell_needs_tests_passed_and_none_failed_in_every_binary() {
        let ok = "test result: ok. 3 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out";
        let none = "test result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out";
        let rc0 = "rc=0\nseconds_start=1\nseconds_end=3.5\n";
        let names = vec!["lib".to_string(), "live_host".to_string()];
        let good = channel(&[
            ("hosttests/lib.log", ok),
            ("hosttests/lib.txt", rc0),
            ("hosttests/live_host.log", ok),
            ("hosttests/live_host.txt", rc0),
        ]);
        let c = cell("6.1", &names, &good);
        assert!(c.failures.is_empty(), "{:?}", c.failures);
        assert_eq!(c.seconds, Some(5.0));
        let empty = channel(&[("hosttests/lib.log", none), ("hosttests/lib.txt", rc0)]);
        let c = cell("6.1", &names, &empty);
        assert_eq!(c.failures.len(), 2, "{:?}", c.failures);
        assert!(c.failures[0].starts_with("lib: 0 passed"));
        assert!(c.failures[1].contains("did not arrive"));
    }
}
