//! Writer → reader round trip, and every kind of bad input giving its exact
//! error (line and field) without a panic.

use ipc_trace::event::{Backend, Event, EventKind, SemOpSpec, Stats};
use ipc_trace::probe::ProbeTable;
use ipc_trace::recording::{
    Header, ReadError, ReadOptions, Record, RecordingReader, RecordingWriter, SCHEMA,
};
use std::io::Cursor;
use std::path::PathBuf;

type TestResult = Result<(), Box<dyn std::error::Error>>;

fn scratch(name: &str) -> std::io::Result<PathBuf> {
    let dir =
        std::env::temp_dir().join(format!("ipc-trace-recording-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn header() -> Header {
    let mut h = Header::new("6.18.0", 1_764_000_000_000_000_000, 1_000);
    h.command = vec!["demo".into(), "--messages".into(), "3".into()];
    h.filters.insert("pid".into(), 42.into());
    h.system = serde_json::json!({"btf": true, "lockdown": "none"});
    h.probes = ProbeTable::unattached().probes;
    h
}

fn events() -> Vec<Event> {
    let mut create = Event::new(2_000, EventKind::ShmCreate, 7, 7, "producer");
    create.probe = "newseg".into();
    create.backend = Backend::Kprobe;
    create.id = Some(32768);
    create.key = Some(0x5100_00aa);
    create.size = Some(516);
    let mut op = Event::new(3_000, EventKind::SemOp, 8, 7, "consumer");
    op.probe = "sys_semop".into();
    op.inferred = true;
    op.id = Some(0);
    op.ops = Some(vec![
        SemOpSpec {
            num: 1,
            op: -1,
            flg: 0x1000,
        },
        SemOpSpec {
            num: 0,
            op: 1,
            flg: 0,
        },
    ]);
    op.blocked = Some(true);
    op.wait_ns = Some(u64::MAX);
    op.ret = Some(0);
    let mut failed = Event::new(4_000, EventKind::ShmAttach, 8, 7, "consumer \"quoted\" ü");
    failed.id = Some(-1);
    failed.ret = Some(-22);
    failed.errno = Some(22);
    vec![create, op, failed]
}

fn stats(n: u64) -> Stats {
    let mut s = Stats {
        kind: "stats".into(),
        events: n,
        dropped: 2,
        duration_ns: 9_000,
        ..Stats::default()
    };
    s.dropped_by_probe.insert("newseg".into(), 2);
    s.events_by_probe.insert("newseg".into(), 1);
    s
}

#[test]
fn what_the_writer_writes_the_reader_reads_back_equal() -> TestResult {
    let dir = scratch("roundtrip")?;
    let path = dir.join("rec.ndjson");
    let mut w = RecordingWriter::create(&path)?;
    w.write_header(&header())?;
    for e in events() {
        w.write_event(&e)?;
    }
    assert_eq!(w.events_written(), 3);
    w.finish(&stats(3))?;

    let mut r = RecordingReader::open(&path, ReadOptions::default())?;
    assert_eq!(r.header(), &header());
    let records: Vec<Record> = r.by_ref().collect::<Result<_, _>>()?;
    let mut expected: Vec<Record> = events()
        .into_iter()
        .map(|e| Record::Event(Box::new(e)))
        .collect();
    expected.push(Record::Stats(stats(3)));
    assert_eq!(records, expected);
    assert_eq!((r.events_read(), r.skipped(), r.line()), (3, 0, 5));
    assert_eq!(r.stats(), Some(&stats(3)));
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn the_writer_refuses_records_out_of_order() -> TestResult {
    let dir = scratch("order")?;
    let path = dir.join("rec.ndjson");
    let mut w = RecordingWriter::create(&path)?;
    let e = &events()[0];
    assert!(
        w.write_event(e).is_err(),
        "an event before the header was accepted"
    );
    w.write_header(&header())?;
    assert!(
        w.write_header(&header()).is_err(),
        "a second header was accepted"
    );
    drop(w);
    assert!(!path.exists(), "a dropped writer left a file behind");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A valid recording as text, with `body` lines between header and stats.
fn recording(body: &[&str]) -> Result<String, serde_json::Error> {
    let mut text = serde_json::to_string(&header())?;
    text.push('\n');
    for line in body {
        text.push_str(line);
        text.push('\n');
    }
    text.push_str(&serde_json::to_string(&stats(body.len() as u64))?);
    text.push('\n');
    Ok(text)
}

fn good_line() -> Result<String, serde_json::Error> {
    serde_json::to_string(&events()[0])
}

/// The first error reading `bytes` (strict mode), as text.
fn first_error(bytes: &[u8]) -> String {
    let mut reader = match RecordingReader::new(Cursor::new(bytes), ReadOptions::default()) {
        Ok(r) => r,
        Err(e) => return e.to_string(),
    };
    for record in reader.by_ref() {
        if let Err(e) = record {
            return e.to_string();
        }
    }
    "no error".to_string()
}

#[test]
fn bad_inputs_give_exact_errors() -> TestResult {
    let good = good_line()?;
    let with_body = |body: &[&str]| recording(body).map(String::into_bytes);
    let cases: Vec<(Vec<u8>, String)> = vec![
        (Vec::new(), "empty recording: no header line".into()),
        (b"\n  \n".to_vec(), "empty recording: no header line".into()),
        (with_body(&[&good, &good, &good, &good, &good, "x"])?, "line 7: not JSON: expected value at column 1".into()),
        (
            with_body(&[&good, &good, &good, &good, &good, &good.replace("\"pid\":7", "\"pid\":\"seven\"")])?,
            "line 7: field `pid`: invalid type: string \"seven\", expected u32".into(),
        ),
        (
            with_body(&[&good.replace("shm_create", "shm_foo")])?,
            "line 2: unknown kind `shm_foo`".into(),
        ),
        (
            with_body(&[&good.replace(",\"size\":516", "")])?,
            "line 2: shm_create lacks field `size`".into(),
        ),
        (
            with_body(&[&good, &serde_json::to_string(&header())?])?,
            "line 3: a second header (recordings cannot be concatenated)".into(),
        ),
        (
            format!("{}{good}\n", recording(&[&good])?).into_bytes(),
            "line 4: record after the stats line (the stats line must be last)".into(),
        ),
        (
            format!("{}\n{good}\n", serde_json::to_string(&header())?).into_bytes(),
            "line 3: the recording ends without its stats line (truncated?)".into(),
        ),
        (
            format!("{}\n{good}\n{}", serde_json::to_string(&header())?, &good[..40]).into_bytes(),
            "line 3: truncated (the input ends inside this line)".into(),
        ),
        (
            recording(&[&good])?.replace(SCHEMA, "ipc-trace/2").into_bytes(),
            "line 1: schema ipc-trace/2 is not supported by this ipc-trace (reads ipc-trace/1)".into(),
        ),
        (
            format!("{good}\n").into_bytes(),
            "line 1: not an ipc-trace recording: the first line is a `shm_create` record, not the header".into(),
        ),
        (
            b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00>\x00\x01\x00\x00\x00\xe0\x10".to_vec(),
            "line 1: not UTF-8 text: invalid byte at offset 24 (binary data?)".into(),
        ),
        (
            {
                let mut b = recording(&[&good])?.into_bytes();
                let at = b.len() - 20;
                b.splice(at..at, [0xff, 0xfe]);
                b
            },
            format!(
                "line 3: not UTF-8 text: invalid byte at offset {} (binary data?)",
                serde_json::to_string(&stats(1))?.len() + 1 - 20
            ),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            first_error(&input),
            expected,
            "input: {}",
            String::from_utf8_lossy(&input)
        );
    }
    Ok(())
}

#[test]
fn a_last_line_without_newline_is_fine_when_complete() -> TestResult {
    let text = recording(&[&good_line()?])?;
    let trimmed = text.trim_end().replace('\n', "\r\n");
    let mut r = RecordingReader::new(Cursor::new(trimmed), ReadOptions::default())?;
    let n = r.by_ref().collect::<Result<Vec<_>, _>>()?.len();
    assert_eq!((n, r.stats().map(|s| s.events)), (2, Some(1)));
    Ok(())
}

#[test]
fn a_newer_minor_version_is_read_and_its_unknown_kinds_are_skipped() -> TestResult {
    let good = good_line()?;
    let newer = good
        .replace("shm_create", "shm_lock")
        .replace("\"ts_ns\"", "\"future\":[1],\"ts_ns\"");
    // A minor version past this build's.
    let text = recording(&[&good, &newer, &good])?.replace(SCHEMA, "ipc-trace/1.99");
    let mut r = RecordingReader::new(Cursor::new(text), ReadOptions::default())?;
    let records = r.by_ref().collect::<Result<Vec<_>, _>>()?;
    assert_eq!(records.len(), 3);
    assert_eq!((r.unknown_kinds_skipped(), r.skipped()), (1, 0));
    Ok(())
}

#[test]
fn skip_bad_counts_bad_lines_and_keeps_the_first_errors() -> TestResult {
    let good = good_line()?;
    let mut body: Vec<String> = Vec::new();
    for i in 0..30 {
        body.push(if i % 3 == 0 {
            format!("garbage {i}")
        } else {
            good.clone()
        });
    }
    let refs: Vec<&str> = body.iter().map(String::as_str).collect();
    let mut text = recording(&refs)?;
    text.push_str("trailing junk after stats\n");
    text.push_str(&"y".repeat(5 << 20));
    text.push('\n');
    text.push_str(&good[..30]);
    let options = ReadOptions {
        skip_bad: true,
        keep_errors: 4,
    };
    let mut r = RecordingReader::new(Cursor::new(text), options)?;
    let records = r.by_ref().collect::<Result<Vec<_>, _>>()?;
    assert_eq!(records.len(), 21, "20 events and the stats line");
    assert_eq!(r.events_read(), 20);
    assert_eq!(
        r.skipped(),
        10 + 3,
        "10 garbage lines, junk after stats, a huge line, a truncated line"
    );
    let errors: Vec<String> = r.errors().iter().map(ToString::to_string).collect();
    assert_eq!(
        errors,
        [
            "line 2: not JSON: expected value at column 1",
            "line 5: not JSON: expected value at column 1",
            "line 8: not JSON: expected value at column 1",
            "line 11: not JSON: expected value at column 1",
        ]
    );
    Ok(())
}

#[test]
fn overlong_lines_are_refused_without_being_held() {
    let mut text = serde_json::to_string(&header()).unwrap_or_default();
    text.push('\n');
    text.push_str(&"[".repeat(5 << 20));
    text.push('\n');
    assert_eq!(
        first_error(text.as_bytes()),
        "line 2: longer than 4194304 bytes (not a recording line)"
    );
}

#[test]
fn errors_carry_their_line() {
    let e = ReadError::Truncated { line: 9 };
    assert_eq!(e.line(), Some(9));
    assert_eq!(ReadError::Empty.line(), None);
}

#[test]
fn deep_nesting_and_odd_numbers_do_not_panic() -> TestResult {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let huge_number = format!("{{\"ts_ns\":1{},\"kind\":\"drops\"}}", "0".repeat(400));
    let float = good_line()?.replace("\"pid\":7", "\"pid\":7.5");
    for line in [
        deep.as_str(),
        huge_number.as_str(),
        float.as_str(),
        "\u{feff}{}",
        "null",
        "\"\"",
        "{\"kind\":null}",
    ] {
        let text = recording(&[line])?;
        let err = first_error(text.as_bytes());
        assert!(err.starts_with("line 2: "), "{line:.60}: {err}");
    }
    Ok(())
}

#[test]
fn a_missing_file_and_a_directory_are_clear_errors() {
    let missing = RecordingReader::open(
        std::path::Path::new("/nonexistent/rec.ndjson"),
        ReadOptions::default(),
    );
    assert_eq!(
        missing.err().map(|e| e.to_string()).as_deref(),
        Some("cannot read /nonexistent/rec.ndjson: No such file or directory")
    );
    let dir = RecordingReader::open(std::path::Path::new("/tmp"), ReadOptions::default());
    assert_eq!(
        dir.err().map(|e| e.to_string()).as_deref(),
        Some("cannot read /tmp: Is a directory")
    );
}

#[test]
fn a_read_only_file_system_is_a_clear_write_error() -> TestResult {
    // Needs root (mount); the tests run as root on the CI machine.
    let dir = scratch("rofs")?;
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs"])
        .arg(&dir)
        .status()?;
    assert!(
        status.success(),
        "mount -t tmpfs -o ro failed: this test needs root"
    );
    let target = dir.join("rec.ndjson");
    let result = RecordingWriter::create(&target);
    let _ = std::process::Command::new("umount").arg(&dir).status();
    let err = result
        .err()
        .ok_or("created a file on a read-only file system")?;
    assert_eq!(
        err.to_string(),
        format!("cannot write {}: Read-only file system", target.display())
    );
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
