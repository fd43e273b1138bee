//! `summary FILE` applies the tracing filters (`--pid`, `--comm`, `--key`,
//! `--ipc-ns`) to the recording's events, as a live session would have.
//! The committed recording has two processes (producer 4100, consumer 4101)
//! sharing one key, so the filters must partition its events.

use serde_json::Value;
use std::process::Command;

const RECORDING: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/producer-consumer.ndjson"
);

/// `summary --json FILTERS RECORDING`, parsed.
fn summary(filters: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_ipc-trace"))
        .arg("summary")
        .arg("--json")
        .args(filters)
        .arg(RECORDING)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{filters:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON document")
}

fn events(s: &Value) -> u64 {
    s["events"].as_u64().expect("events")
}

fn objects(s: &Value) -> usize {
    s["objects"].as_array().expect("objects").len()
}

fn semops(s: &Value) -> u64 {
    s["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| o["semops"].as_u64().unwrap_or(0))
        .sum()
}

#[test]
fn the_pid_filter_partitions_the_events_between_the_two_processes() {
    let all = summary(&[]);
    let producer = summary(&["--pid", "4100"]);
    let consumer = summary(&["--pid", "4101"]);
    assert!(events(&producer) > 0 && events(&consumer) > 0);
    assert_eq!(events(&producer) + events(&consumer), events(&all));
    assert_eq!(semops(&producer) + semops(&consumer), semops(&all));
    // Both pids at once is no filter at all here.
    let both = summary(&["--pid", "4100", "--pid", "4101"]);
    assert_eq!(events(&both), events(&all));
}

#[test]
fn the_comm_filter_keeps_the_named_task_only() {
    let consumer = summary(&["--comm", "shm-consumer"]);
    assert_eq!(events(&consumer), events(&summary(&["--pid", "4101"])));
    assert_eq!(events(&summary(&["--comm", "nobody"])), 0);
}

#[test]
fn the_key_filter_keeps_that_keys_objects_and_follows_their_ids() {
    let all = summary(&[]);
    let by_key = summary(&["--key", "1359008673"]);
    assert_eq!(objects(&by_key), objects(&all));
    // Events that carry only the id (semop, fault) pass too.
    assert_eq!(semops(&by_key), semops(&all));
    // Negative control: another key leaves no object.
    let other = summary(&["--key", "0x7"]);
    assert_eq!(objects(&other), 0);
    assert!(objects(&all) >= 2);
}

#[test]
fn the_ipc_ns_filter_drops_other_namespaces() {
    let all = summary(&[]);
    let ns = all["objects"][0]["ipc_ns"].as_u64().expect("ipc_ns");
    let same = summary(&["--ipc-ns", &ns.to_string()]);
    assert_eq!(objects(&same), objects(&all));
    let other = summary(&["--ipc-ns", &(ns + 1).to_string()]);
    assert_eq!(objects(&other), 0);
}
