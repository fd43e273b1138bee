//! `ipc-trace summary` on a generated 1,000,000-event recording: time and
//! memory (target ≤ 1 s, memory flat in the number of events).
//! `cargo bench -p ipc-trace --bench summary` (release build). The file is
//! written in chunks and read by the same streaming path as the command
//! (reader → model → summary).

mod synthetic;

use ipc_trace::event::Stats;
use ipc_trace::model::{Limits, State};
use ipc_trace::recording::{Header, ReadOptions, Record, RecordingReader, RecordingWriter};
use ipc_trace::summary::summarize;
use std::time::Instant;

const EVENTS: u64 = 1_000_000;
const CHUNK: u64 = 100_000;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))?
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!(
        "ipc-trace-summary-bench-{}.ndjson",
        std::process::id()
    ));
    let mut writer = RecordingWriter::create(&path)?;
    writer.write_header(&Header::new("bench", 0, 1_000_000_000))?;
    let mut at = 0;
    while at < EVENTS {
        for e in synthetic::events(at, (at + CHUNK).min(EVENTS), 200, false) {
            writer.write_event(&e)?;
        }
        at += CHUNK;
    }
    writer.finish(&Stats {
        kind: "stats".into(),
        events: EVENTS,
        ..Stats::default()
    })?;
    let bytes = std::fs::metadata(&path)?.len();

    for run in 1..=3 {
        let rss_before = status_kib("VmRSS:");
        let t = Instant::now();
        let mut reader = RecordingReader::open(&path, ReadOptions::default())?;
        // As the command builds it (commands/summary.rs).
        let mut state = State::with_limits(Limits::without_log());
        for record in reader.by_ref() {
            if let Record::Event(e) = record? {
                state.apply(&e);
            }
        }
        let summary = summarize(&state);
        let text = serde_json::to_string(&summary)?;
        let secs = t.elapsed().as_secs_f64();
        println!(
            "summary run {run}: {EVENTS} events ({:.0} MB) in {secs:.2} s ({:.2} M events/s); {} lifecycles, {} bytes of JSON; RSS {} MiB -> {} MiB, peak {} MiB",
            bytes as f64 / 1e6,
            EVENTS as f64 / secs / 1e6,
            summary.objects.len(),
            text.len(),
            rss_before / 1024,
            status_kib("VmRSS:") / 1024,
            status_kib("VmHWM:") / 1024,
        );
    }
    std::fs::remove_file(&path)?;
    Ok(())
}
