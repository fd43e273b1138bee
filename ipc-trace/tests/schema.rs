//! Recordings validate against schema/ipc-trace-1.schema.json, and the
//! schema agrees with the reader about what a well-formed line is.
//!
//! Validated: every `*.ndjson` under `tests/data/`, plus every path in the
//! environment variable `IPC_TRACE_VALIDATE` (separated by `:`).

use ipc_trace::event::{Event, EventKind, SemOpSpec};
use ipc_trace::recording::{ReadOptions, RecordingReader};
mod common;

use common::{manifest, validator, violations};
use serde_json::Value;
use std::path::PathBuf;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn recordings() -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(manifest().join("tests/data"))? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "ndjson") {
            paths.push(path);
        }
    }
    paths.sort();
    if let Ok(extra) = std::env::var("IPC_TRACE_VALIDATE") {
        for p in extra.split(':').filter(|p| !p.is_empty()) {
            let path = PathBuf::from(p);
            if !path.is_file() {
                return Err(format!("IPC_TRACE_VALIDATE names {p}, which is not a file").into());
            }
            paths.push(path);
        }
    }
    Ok(paths)
}

#[test]
fn every_recording_validates_against_the_schema_and_reads_back() -> TestResult {
    let validator = validator()?;
    let paths = recordings()?;
    assert!(
        paths.len() >= 2,
        "expected sample recordings in tests/data, found {paths:?}"
    );
    let mut problems = Vec::new();
    for path in &paths {
        problems.extend(violations(&validator, path)?);
        let mut reader = RecordingReader::open(path, ReadOptions::default())?;
        for record in reader.by_ref() {
            if let Err(e) = record {
                problems.push(format!("{}: reader: {e}", path.display()));
            }
        }
        if reader.stats().is_none() {
            problems.push(format!("{}: no stats line", path.display()));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    Ok(())
}

fn full_event(kind: EventKind) -> Event {
    let mut e = Event::new(1_000, kind, 10, 10, "t");
    e.ipc_ns = 1;
    e.probe = "sys_shmget".into();
    e.id = Some(1);
    e.key = Some(2);
    e.size = Some(4096);
    e.nsems = Some(2);
    e.flags = Some(0);
    e.addr = Some(0x1000);
    e.page = Some(0);
    e.write = Some(true);
    e.shmem = Some(true);
    e.ops = Some(vec![SemOpSpec {
        num: 0,
        op: -1,
        flg: 0,
    }]);
    e.nsops = Some(1);
    e.blocked = Some(false);
    e.wait_ns = Some(0);
    e.dur_ns = Some(5);
    e.cmd = Some("IPC_RMID".to_string());
    e.semnum = Some(0);
    e.values = Some(vec![1]);
    e.ret = Some(0);
    e.count = Some(1);
    e
}

/// For every kind and every optional field: the schema accepts the line
/// without that field exactly when the reader does.
#[test]
fn schema_and_reader_agree_on_required_fields() -> TestResult {
    let validator = validator()?;
    let mut disagreements = Vec::new();
    let mut rejected = 0;
    for kind in EventKind::ALL {
        let full = serde_json::to_value(full_event(kind))?;
        let Value::Object(fields) = &full else {
            return Err("an event is not a JSON object".into());
        };
        for field in fields.keys() {
            for failed in [false, true] {
                let mut line = full.clone();
                if let Value::Object(map) = &mut line {
                    map.remove(field);
                    if failed {
                        map.insert("ret".into(), Value::from(-22));
                        map.insert("errno".into(), Value::from(22));
                    }
                }
                let by_schema = validator.is_valid(&line);
                let by_reader = serde_json::from_value::<Event>(line.clone())
                    .ok()
                    .is_some_and(|e| e.missing_field().is_none());
                if !by_schema {
                    rejected += 1;
                }
                if by_schema != by_reader {
                    disagreements.push(format!(
                        "{} without `{field}` (failed call: {failed}): schema {by_schema}, reader {by_reader}",
                        kind.as_str()
                    ));
                }
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // The common fields and the per-kind ones must have been refused.
    assert!(
        rejected > 8 * EventKind::ALL.len(),
        "only {rejected} lines refused"
    );
    Ok(())
}

#[test]
fn the_schema_refuses_what_the_format_forbids() -> TestResult {
    let validator = validator()?;
    let bad = [
        r#"{"schema":"ipc-trace/2","tool_version":"1","kernel":"6","started_unix_ns":1,"started_monotonic_ns":1,"probes":[]}"#,
        r#"{"ts_ns":1,"kind":"shm_foo","pid":1,"tgid":1,"comm":"c","ipc_ns":0,"probe":"p","backend":"tracepoint"}"#,
        r#"{"ts_ns":1,"kind":"shm_get","pid":"1","tgid":1,"comm":"c","ipc_ns":0,"probe":"p","backend":"tracepoint","ret":0}"#,
        r#"{"ts_ns":1,"kind":"shm_get","pid":1,"tgid":1,"comm":"c","ipc_ns":0,"probe":"p","backend":"ebpf","ret":0}"#,
        r#"{"ts_ns":1,"kind":"sem_op","pid":1,"tgid":1,"comm":"c","ipc_ns":0,"probe":"p","backend":"kprobe","id":1,"ops":[{"num":0,"op":40000,"flg":0}]}"#,
        r#"{"kind":"stats","events":1,"duration_ns":1}"#,
        r#"[1,2,3]"#,
    ];
    for line in bad {
        let value: Value = serde_json::from_str(line)?;
        assert!(!validator.is_valid(&value), "schema accepted {line}");
    }
    let minor: Value = serde_json::from_str(
        r#"{"schema":"ipc-trace/1.4","tool_version":"1","kernel":"6","started_unix_ns":1,"started_monotonic_ns":1,"probes":[],"new_field":true}"#,
    )?;
    assert!(
        validator.is_valid(&minor),
        "a minor version with a new field must validate"
    );
    Ok(())
}
