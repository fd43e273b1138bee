//! The filtered NDJSON export: a valid recording holding exactly the
//! events that pass the filter, with the filter recorded in the header and
//! a recomputed stats line.

mod common;

use ipc_trace::event::{Event, EventKind};
use ipc_trace::export::{Filter, export_ndjson, filter};
use ipc_trace::recording::{OutputFile, ReadOptions, RecordingReader};
use std::path::{Path, PathBuf};

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn sample() -> PathBuf {
    common::manifest().join("tests/data/producer-consumer.ndjson")
}

/// Exports `input` through `filter` into a file; returns its path.
fn export_to(
    input: &Path,
    filter: &Filter,
    name: &str,
) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let out_path = std::env::temp_dir().join(format!(
        "ipc-trace-ndjson-{name}-{}.ndjson",
        std::process::id()
    ));
    let mut reader = RecordingReader::open(input, ReadOptions::default())?;
    let mut out = OutputFile::create(&out_path)?;
    let stats = export_ndjson(&mut reader, &mut out, filter)?;
    out.commit()?;
    assert_eq!(stats.events_read, 28);
    assert_eq!(stats.written, stats.events_exported + 2);
    Ok(out_path)
}

fn read_all(
    path: &Path,
) -> Result<
    (
        RecordingReader<Box<dyn std::io::BufRead + Send>>,
        Vec<Event>,
    ),
    Box<dyn std::error::Error>,
> {
    let mut reader = RecordingReader::open(path, ReadOptions::default())?;
    let events = reader.events().collect::<Result<Vec<_>, _>>()?;
    Ok((reader, events))
}

fn check_valid(path: &Path) -> TestResult {
    let bad = common::violations(&common::validator()?, path)?;
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    Ok(())
}

#[test]
fn an_empty_filter_reproduces_the_recording() -> TestResult {
    let out = export_to(&sample(), &Filter::default(), "all")?;
    check_valid(&out)?;
    let (original, events) = read_all(&sample())?;
    let (copy, copied) = read_all(&out)?;
    assert_eq!(copied, events);
    assert_eq!(copy.stats(), original.stats());
    let exports = copy
        .header()
        .filters
        .get("exports")
        .and_then(|e| e.as_array())
        .map(Vec::len);
    assert_eq!(exports, Some(1));
    std::fs::remove_file(out)?;
    Ok(())
}

#[test]
fn the_key_filter_keeps_every_event_of_its_objects() -> TestResult {
    let filter = Filter {
        key: Some(filter::parse_key("0x5100d3a1")?),
        ..Filter::default()
    };
    let out = export_to(&sample(), &filter, "key")?;
    check_valid(&out)?;
    let (reader, events) = read_all(&out)?;
    assert_eq!(events.len(), 26, "all but the two proc_exit events");
    assert!(events.iter().all(|e| e.kind != EventKind::ProcExit));
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == EventKind::ShmFault)
            .count(),
        2
    );
    let stats = reader.stats().ok_or("no stats")?;
    assert_eq!(stats.events, 26);
    assert_eq!(stats.events_by_probe.get("sys_semop"), Some(&9));
    assert_eq!(stats.duration_ns, 4_000_000);
    let recorded = &reader.header().filters["exports"][0]["filter"];
    assert_eq!(recorded, &serde_json::json!({"key": 0x5100_d3a1}));
    std::fs::remove_file(out)?;
    Ok(())
}

#[test]
fn pid_kind_and_time_filters_combine_and_reexports_stack() -> TestResult {
    let filter = Filter {
        pid: Some(filter::parse_pid("4100")?),
        kinds: filter::parse_kinds("sem")?,
        from: Some(filter::parse_time("+3ms")?),
        to: Some(filter::parse_time("+3.5ms")?),
        ..Filter::default()
    };
    let out = export_to(&sample(), &filter, "pid")?;
    check_valid(&out)?;
    let (reader, events) = read_all(&out)?;
    let seen: Vec<(u64, &str)> = events
        .iter()
        .map(|e| (e.ts_ns / 1_000 - 1_000_000_000, e.kind.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (3000, "sem_op"),
            (3100, "sem_op"),
            (3300, "sem_op"),
            (3350, "sem_op")
        ]
    );
    assert_eq!(reader.stats().map(|s| s.duration_ns), Some(500_000));

    // Exporting the export again keeps both filters in the header.
    let again = std::env::temp_dir().join(format!(
        "ipc-trace-ndjson-again-{}.ndjson",
        std::process::id()
    ));
    let mut reader = RecordingReader::open(&out, ReadOptions::default())?;
    let mut file = OutputFile::create(&again)?;
    let only_v = Filter {
        kinds: vec![EventKind::SemOp],
        from: Some(filter::parse_time("+3.05ms")?),
        ..Filter::default()
    };
    let stats = export_ndjson(&mut reader, &mut file, &only_v)?;
    file.commit()?;
    assert_eq!((stats.events_read, stats.events_exported), (4, 3));
    check_valid(&again)?;
    let (copy, _) = read_all(&again)?;
    assert_eq!(
        copy.header().filters["exports"].as_array().map(Vec::len),
        Some(2)
    );
    std::fs::remove_file(out)?;
    std::fs::remove_file(again)?;
    Ok(())
}
