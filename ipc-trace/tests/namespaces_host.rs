//! Namespaces and identity, live: the release `ipc-trace record` traces
//! this test binary re-invoked as a child (`child_main`, chosen by
//! `IPC_TRACE_NS_CHILD`), which does the namespace work in-process with
//! libc (unshare + fork), so the test needs no external tool and also runs
//! in the VM matrix (busybox only). The child writes what it saw
//! (namespace inodes, ids, pids) to files in `IPC_TRACE_NS_OUT`; the test
//! compares them with `summary --json` and `export --format ndjson`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_ipc-trace");
const CHILD_ENV: &str = "IPC_TRACE_NS_CHILD";
const OUT_ENV: &str = "IPC_TRACE_NS_OUT";

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("ipc-trace-ns-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `ipc-trace record -o DIR/run.ndjson [extra] -- <this binary> child_main`
/// with the child in `mode`; returns the recording and the child's notes.
fn record(dir: &Path, mode: &str, extra: &[&str]) -> (PathBuf, HashMap<String, i64>) {
    let file = dir.join(format!("{mode}.ndjson"));
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new(BIN)
        .arg("record")
        .arg("-o")
        .arg(&file)
        .args(extra)
        .arg("--")
        .arg(exe)
        .args([
            "--exact",
            "child_main",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, mode)
        .env(OUT_ENV, dir)
        .output()
        .expect("ipc-trace runs");
    assert!(
        out.status.success(),
        "record {mode} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (file, notes(dir))
}

/// Every `NAME VALUE` line of the files the child wrote.
fn notes(dir: &Path) -> HashMap<String, i64> {
    let mut map = HashMap::new();
    for entry in std::fs::read_dir(dir).expect("scratch dir").flatten() {
        if entry.path().extension().is_some_and(|e| e == "note") {
            let text = std::fs::read_to_string(entry.path()).expect("note");
            for line in text.lines() {
                if let Some((k, v)) = line.split_once(' ')
                    && let Ok(v) = v.trim().parse()
                {
                    map.insert(k.to_string(), v);
                }
            }
        }
    }
    map
}

fn summary_objects(file: &Path, args: &[&str]) -> Vec<Value> {
    let out = Command::new(BIN)
        .args(["summary", "--json"])
        .arg(file)
        .args(args)
        .output()
        .expect("summary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("summary JSON");
    doc["objects"].as_array().cloned().unwrap_or_default()
}

fn exported(file: &Path, dir: &Path, args: &[&str]) -> Vec<Value> {
    let out_file = dir.join("export.ndjson");
    let out = Command::new(BIN)
        .arg("export")
        .arg(file)
        .args(["--format", "ndjson", "-o"])
        .arg(&out_file)
        .args(args)
        .output()
        .expect("export runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&out_file).expect("export output");
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v.get("kind").is_some_and(|k| k != "stats"))
        .collect()
}

fn objects_at<'a>(objects: &'a [Value], kind: &str, ns: i64, id: i64) -> Vec<&'a Value> {
    objects
        .iter()
        .filter(|o| o["kind"] == kind && o["ipc_ns"] == ns && o["id"] == id)
        .collect()
}

fn note(notes: &HashMap<String, i64>, name: &str) -> i64 {
    *notes
        .get(name)
        .unwrap_or_else(|| panic!("child did not note {name}: {notes:?}"))
}

#[test]
fn one_key_in_two_ipc_namespaces_is_two_objects() {
    let scratch = Scratch::new("ipcns");
    let (file, n) = record(&scratch.0, "ipcns", &[]);
    let (host_ns, host_id) = (note(&n, "host_ns"), note(&n, "host_id"));
    let (inner_ns, inner_id) = (note(&n, "inner_ns"), note(&n, "inner_id"));
    let key = note(&n, "key");
    assert_ne!(host_ns, inner_ns, "unshare gave no new IPC namespace");

    let objects = summary_objects(&file, &[]);
    let host = objects_at(&objects, "shm", host_ns, host_id);
    let inner = objects_at(&objects, "shm", inner_ns, inner_id);
    assert_eq!((host.len(), inner.len()), (1, 1), "objects: {objects:?}");
    assert_eq!(host[0]["key"], inner[0]["key"], "the same key in both");

    let keyed = exported(&file, &scratch.0, &["--key", &key.to_string()]);
    let mut namespaces: Vec<i64> = keyed.iter().filter_map(|e| e["ipc_ns"].as_i64()).collect();
    namespaces.sort();
    namespaces.dedup();
    let mut want = vec![host_ns, inner_ns];
    want.sort();
    assert_eq!(namespaces, want, "--key export keeps both namespaces");

    let only_inner = exported(&file, &scratch.0, &["--ipc-ns", &inner_ns.to_string()]);
    assert!(!only_inner.is_empty(), "--ipc-ns {inner_ns} kept nothing");
    assert!(
        only_inner
            .iter()
            .all(|e| e["ipc_ns"] == inner_ns || e["kind"] == "drops"),
        "--ipc-ns {inner_ns} kept others: {only_inner:?}"
    );
    assert!(
        only_inner
            .iter()
            .any(|e| e["kind"] == "shm_get" && e["id"] == inner_id)
    );

    let ns_arg = inner_ns.to_string();
    let summary_inner = summary_objects(&file, &["--ipc-ns", &ns_arg]);
    assert_eq!(
        objects_at(&summary_inner, "shm", inner_ns, inner_id).len(),
        1
    );
    assert!(
        summary_inner.iter().all(|o| o["ipc_ns"] == inner_ns),
        "summary --ipc-ns {inner_ns} kept others: {summary_inner:?}"
    );

    // Live: `record --ipc-ns` with the host namespace keeps only its object.
    let live = Scratch::new("ipcns-live");
    let (file, n) = record(&live.0, "ipcns", &["--ipc-ns", &host_ns.to_string()]);
    let objects = summary_objects(&file, &[]);
    assert_eq!(
        objects_at(&objects, "shm", host_ns, note(&n, "host_id")).len(),
        1
    );
    let inner_ns = note(&n, "inner_ns");
    assert!(
        objects.iter().all(|o| o["ipc_ns"] != inner_ns),
        "record --ipc-ns {host_ns} kept namespace {inner_ns}: {objects:?}"
    );
}

#[test]
fn a_process_in_a_child_pid_namespace_has_the_tracers_pid() {
    let scratch = Scratch::new("pidns");
    let (file, n) = record(&scratch.0, "pidns", &[]);
    let (outer, inner, semid) = (
        note(&n, "outer_pid"),
        note(&n, "inner_pid"),
        note(&n, "semid"),
    );
    assert_eq!(inner, 1, "the forked child is the new namespace's init");
    assert_ne!(outer, inner);
    let ops = exported(
        &file,
        &scratch.0,
        &["--kind", "sem_op", "--id", &semid.to_string()],
    );
    assert!(!ops.is_empty(), "no sem_op on semid {semid}");
    for op in &ops {
        assert_eq!(
            (op["tgid"].as_i64(), op["pid"].as_i64()),
            (Some(outer), Some(outer)),
            "{op}"
        );
    }
    let by_pid = exported(
        &file,
        &scratch.0,
        &["--pid", &outer.to_string(), "--kind", "sem_op"],
    );
    assert_eq!(by_pid.len(), ops.len(), "--pid {outer} finds the semops");
}

#[test]
fn a_recycled_shm_id_is_a_new_lifecycle() {
    let scratch = Scratch::new("recycle");
    let (file, n) = record(&scratch.0, "recycle", &[]);
    let (ns, id) = (note(&n, "ns"), note(&n, "id"));
    let objects = summary_objects(&file, &[]);
    let lives = objects_at(&objects, "shm", ns, id);
    assert_eq!(lives.len(), 2, "shm {id} in {ns}: {objects:?}");
    let mut generations: Vec<i64> = lives
        .iter()
        .filter_map(|o| o["generation"].as_i64())
        .collect();
    generations.sort();
    generations.dedup();
    assert_eq!(generations.len(), 2, "{lives:?}");
    let sizes: Vec<i64> = lives.iter().filter_map(|o| o["size"].as_i64()).collect();
    assert_eq!(sizes.len(), 2, "{lives:?}");
    assert_ne!(
        sizes[0], sizes[1],
        "each lifecycle keeps its own size: {lives:?}"
    );
    assert!(lives.iter().all(|o| o["status"] == "removed"), "{lives:?}");
}

#[path = "namespaces_host/child.rs"]
mod child;

/// Runs only as the traced child (`IPC_TRACE_NS_CHILD` = ipcns, pidns or
/// recycle).
#[test]
#[ignore = "run by the tests above as the traced child"]
fn child_main() {
    let mode = std::env::var(CHILD_ENV).expect("child mode");
    let out = PathBuf::from(std::env::var(OUT_ENV).expect("out dir"));
    match mode.as_str() {
        "ipcns" => child::ipcns(&out),
        "pidns" => child::pidns(&out),
        "recycle" => child::recycle(&out),
        other => panic!("unknown child mode {other}"),
    }
}
