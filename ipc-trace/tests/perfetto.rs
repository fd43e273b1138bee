//! The Perfetto export of a producer/consumer recording is valid
//! trace-event JSON and shows what happened: a track per process, call and
//! blocked slices, fault instants, semaphore and page counters, and the
//! arrow from the producer's V to the consumer's P it woke.

use ipc_trace::export::{Filter, OBJECTS_PID, export_perfetto, filter};
use ipc_trace::recording::{ReadOptions, RecordingReader};
use serde_json::Value;

use std::path::{Path, PathBuf};

mod common;
use common::trace_event::{int, num, trace_event_violations};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn export(
    path: &Path,
    filter: &Filter,
) -> Result<(Value, ipc_trace::export::ExportStats), Box<dyn std::error::Error>> {
    let mut reader = RecordingReader::open(path, ReadOptions::default())?;
    let mut out = Vec::new();
    let stats = export_perfetto(&mut reader, &mut out, filter)?;
    Ok((serde_json::from_slice(&out)?, stats))
}

fn entries<'a>(doc: &'a Value, ph: &str) -> Vec<&'a Value> {
    doc["traceEvents"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["ph"] == ph).collect())
        .unwrap_or_default()
}

#[test]
fn the_producer_consumer_export_is_valid_and_complete() -> TestResult {
    let (doc, stats) = export(&data("producer-consumer.ndjson"), &Filter::default())?;
    let bad = trace_event_violations(&doc);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(
        (stats.events_read, stats.events_exported, stats.flows),
        (28, 28, 1)
    );

    // One named track per process and thread, and the objects pseudo-process.
    let names: Vec<(i64, String)> = entries(&doc, "M")
        .iter()
        .filter(|e| e["name"] == "process_name")
        .map(|e| {
            (
                int(e, "pid").unwrap_or(-1),
                e["args"]["name"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            (i64::from(OBJECTS_PID), "System V IPC objects".to_string()),
            (4100, "shm-producer".to_string()),
            (4101, "shm-consumer".to_string())
        ]
    );
    assert_eq!(
        entries(&doc, "M")
            .iter()
            .filter(|e| e["name"] == "thread_name")
            .count(),
        2
    );

    // Call slices by name and thread; the blocked wait nested in its semop.
    let slices: Vec<(i64, String, f64, f64)> = entries(&doc, "X")
        .iter()
        .map(|e| {
            (
                int(e, "tid").unwrap_or(-1),
                e["name"].as_str().unwrap_or("").to_string(),
                num(e, "ts").unwrap_or(-1.0),
                num(e, "dur").unwrap_or(-1.0),
            )
        })
        .collect();
    let named = |tid: i64, name: &str| slices.iter().filter(|s| s.0 == tid && s.1 == name).count();
    assert_eq!(named(4100, "shmget"), 1);
    assert_eq!(named(4100, "semctl SETALL"), 1);
    assert_eq!(named(4100, "shmctl IPC_RMID"), 1);
    assert_eq!(named(4100, "semop"), 4);
    assert_eq!(named(4101, "semop"), 5);
    assert_eq!(named(4101, "shmat"), 1);
    let blocked: Vec<_> = slices
        .iter()
        .filter(|s| s.1 == "blocked on sem set 0")
        .collect();
    assert_eq!(blocked.len(), 1);
    // ts is µs since the start of the recording.
    assert_eq!(
        (blocked[0].0, blocked[0].2, blocked[0].3),
        (4101, 2055.0, 1070.0)
    );

    // Faults as instants on the faulting threads.
    let faults: Vec<(i64, &str)> = entries(&doc, "i")
        .iter()
        .filter(|e| {
            e["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("page fault"))
        })
        .map(|e| {
            (
                int(e, "tid").unwrap_or(-1),
                e["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(faults, [(4100, "page fault (write)"), (4101, "page fault")]);

    // Semaphore values: created 0/0, SETALL 1/0, then the message handshake.
    let sems: Vec<(i64, i64)> = entries(&doc, "C")
        .iter()
        .filter(|e| e["name"] == "sem set 0 (key 0x5100d3a1)")
        .map(|e| {
            (
                int(&e["args"], "sem0").unwrap_or(-9),
                int(&e["args"], "sem1").unwrap_or(-9),
            )
        })
        .collect();
    assert_eq!(
        sems,
        [
            (0, 0),
            (1, 0),
            (0, 0),
            (0, 1),
            (0, 0),
            (1, 0),
            (0, 0),
            (0, 1),
            (0, 0),
            (1, 0)
        ]
    );
    let pages: Vec<i64> = entries(&doc, "C")
        .iter()
        .filter(|e| e["name"] == "shm 32768 (key 0x5100d3a1) pages resident")
        .map(|e| int(&e["args"], "pages").unwrap_or(-9))
        .collect();
    assert_eq!(pages, [0, 1, 0]);

    // The arrow: from the producer's V(full) to the consumer's blocked P.
    let flow: Vec<(&str, i64, f64)> = entries(&doc, "s")
        .into_iter()
        .chain(entries(&doc, "f"))
        .map(|e| {
            (
                e["ph"].as_str().unwrap_or(""),
                int(e, "tid").unwrap_or(-1),
                num(e, "ts").unwrap_or(-1.0),
            )
        })
        .collect();
    assert_eq!(flow.len(), 2);
    assert_eq!(
        (flow[0].0, flow[0].1, flow[1].0, flow[1].1),
        ("s", 4100, "f", 4101)
    );
    let v_slice = (3097.5, 3100.0);
    assert!(flow[0].2 > v_slice.0 && flow[0].2 < v_slice.1, "{flow:?}");
    assert!(flow[1].2 > 3100.0 && flow[1].2 < 3125.0, "{flow:?}");

    assert_eq!(
        doc["metadata"]["ts_zero_monotonic_ns"],
        1_000_000_000_000u64
    );
    Ok(())
}

#[test]
fn out_of_order_kernel_path_events_export_sorted_with_their_flow() -> TestResult {
    let (doc, stats) = export(&data("kernel-path-pingpong.ndjson"), &Filter::default())?;
    let bad = trace_event_violations(&doc);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(
        stats.flows, 1,
        "the V recorded after the P it woke still gets its arrow"
    );
    assert_eq!(
        entries(&doc, "i")
            .iter()
            .filter(|e| e["name"] == "events lost" && e["s"] == "g")
            .count(),
        1
    );
    Ok(())
}

#[test]
fn a_filtered_export_draws_only_what_passes() -> TestResult {
    let filter = Filter {
        pid: Some(4101),
        ..Filter::default()
    };
    let (doc, stats) = export(&data("producer-consumer.ndjson"), &filter)?;
    let bad = trace_event_violations(&doc);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(stats.events_exported, 11);
    assert_eq!(stats.flows, 0, "the waker is filtered out");
    let pids: std::collections::BTreeSet<i64> = doc["traceEvents"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| int(e, "pid"))
        .collect();
    assert_eq!(
        pids.into_iter().collect::<Vec<_>>(),
        [4101, i64::from(OBJECTS_PID)]
    );
    // Values still account for the producer's operations.
    let sems: Vec<(i64, i64)> = entries(&doc, "C")
        .iter()
        .filter(|e| e["name"] == "sem set 0 (key 0x5100d3a1)")
        .map(|e| {
            (
                int(&e["args"], "sem0").unwrap_or(-9),
                int(&e["args"], "sem1").unwrap_or(-9),
            )
        })
        .collect();
    assert_eq!(sems, [(0, 0), (1, 0), (0, 0), (1, 0)]);

    let kinds = Filter {
        kinds: filter::parse_kinds("shm_fault")?,
        from: Some(filter::parse_time("+3.1ms")?),
        ..Filter::default()
    };
    let (doc, stats) = export(&data("producer-consumer.ndjson"), &kinds)?;
    assert!(trace_event_violations(&doc).is_empty());
    assert_eq!(
        stats.events_exported, 1,
        "only the consumer's fault is after 3.1 ms"
    );
    Ok(())
}

#[test]
fn the_validator_catches_broken_traces() {
    let broken = serde_json::json!({
        "displayTimeUnit": "ns",
        "traceEvents": [
            {"name": "a", "ph": "X", "ts": 5.0, "dur": -1.0, "pid": 1, "tid": 1},
            {"name": "b", "ph": "i", "ts": 4.0, "pid": 1, "tid": 1, "s": "t"},
            {"name": "c", "ph": "Q", "ts": 6.0, "pid": 1, "tid": 1},
            {"name": "w", "cat": "sem", "ph": "s", "id": 1, "ts": 7.0, "pid": 1, "tid": 1},
            {"name": "n", "ph": "C", "ts": 8.0, "pid": 1, "args": {"v": "x"}},
            {"ph": "X", "ts": 9.0, "dur": 1.0, "pid": 1, "tid": 1}
        ]
    });
    let bad = trace_event_violations(&broken);
    for what in [
        "X without dur",
        "ts goes backwards",
        "phase not in",
        "not strictly inside",
        "has no end",
        "counter without numeric args",
        "no name",
    ] {
        assert!(
            bad.iter().any(|b| b.contains(what)),
            "missed `{what}` in {bad:#?}"
        );
    }
}
