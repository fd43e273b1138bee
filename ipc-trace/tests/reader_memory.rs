//! The reader streams: reading a large recording does not raise the peak
//! resident memory by more than a few MiB. Its own test binary, so that no
//! other test shares the process. `IPC_TRACE_MEMTEST_LINES` sets the number
//! of events (default 300 000, about 75 MB).

use ipc_trace::event::{EventKind, SemOpSpec, Stats};
use ipc_trace::recording::{Header, ReadOptions, Record, RecordingReader};
use std::io::{BufWriter, Write};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A `/proc/self/status` value in KiB.
fn status_kib(field: &str) -> Result<u64, Box<dyn std::error::Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let line = status
        .lines()
        .find(|l| l.starts_with(field))
        .ok_or_else(|| format!("no {field} in /proc/self/status"))?;
    let kib = line
        .split_whitespace()
        .nth(1)
        .ok_or_else(|| format!("odd line {line}"))?
        .parse()?;
    Ok(kib)
}

#[test]
fn reading_a_large_recording_keeps_memory_flat() -> TestResult {
    let lines: u64 = match std::env::var("IPC_TRACE_MEMTEST_LINES") {
        Ok(v) => v.parse()?,
        Err(_) => 300_000,
    };
    let path =
        std::env::temp_dir().join(format!("ipc-trace-memtest-{}.ndjson", std::process::id()));
    {
        let mut out = BufWriter::new(std::fs::File::create(&path)?);
        serde_json::to_writer(&mut out, &Header::new("6.18.0", 1, 1))?;
        out.write_all(b"\n")?;
        let mut op = ipc_trace::event::Event::new(0, EventKind::SemOp, 100, 100, "consumer");
        op.probe = "sys_semop".into();
        op.id = Some(3);
        op.ops = Some(vec![SemOpSpec {
            num: 1,
            op: -1,
            flg: 4096,
        }]);
        op.blocked = Some(false);
        op.ret = Some(0);
        op.dur_ns = Some(1_500);
        for i in 0..lines {
            op.ts_ns = 1_000 + i * 1_000;
            op.pid = 100 + (i % 7) as u32;
            serde_json::to_writer(&mut out, &op)?;
            out.write_all(b"\n")?;
        }
        let stats = Stats {
            kind: "stats".into(),
            events: lines,
            ..Stats::default()
        };
        serde_json::to_writer(&mut out, &stats)?;
        out.write_all(b"\n")?;
        out.flush()?;
    }
    let file_bytes = std::fs::metadata(&path)?.len();

    // Reset the peak (VmHWM) to the current resident size, then read.
    std::fs::write("/proc/self/clear_refs", "5")?;
    let before = status_kib("VmHWM:")?;
    let started = std::time::Instant::now();
    let mut reader = RecordingReader::open(&path, ReadOptions::default())?;
    let mut events = 0u64;
    let mut ts_sum = 0u64;
    for record in reader.by_ref() {
        if let Record::Event(e) = record? {
            events += 1;
            ts_sum = ts_sum.wrapping_add(e.ts_ns);
        }
    }
    let elapsed = started.elapsed();
    let peak = status_kib("VmHWM:")?;
    std::fs::remove_file(&path)?;

    assert_eq!(events, lines);
    assert!(ts_sum > 0);
    assert_eq!(reader.stats().map(|s| s.events), Some(lines));
    let grew_kib = peak.saturating_sub(before);
    println!(
        "read {events} events, {} MB, in {:.2} s ({:.0} events/s); peak RSS grew {grew_kib} KiB (from {before} KiB)",
        file_bytes / 1_000_000,
        elapsed.as_secs_f64(),
        events as f64 / elapsed.as_secs_f64()
    );
    assert!(
        grew_kib < 8 * 1024,
        "peak RSS grew {grew_kib} KiB reading a {file_bytes}-byte file: the reader is not streaming"
    );
    Ok(())
}
