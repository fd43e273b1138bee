//! Live host test (root): nothing is lost silently. With a one-page ring
//! buffer and several processes flooding semops, every operation the
//! workload performed is either in the recording or counted as a drop —
//! exactly, for the probe that lost it — and the stats line, the drops
//! events and the closing message agree.
//!
//! The tracepoint backend is forced: it makes one record per semop on
//! every kernel (a kernel-path probe adds a second record per call, and a
//! call whose two records are not both lost would be counted twice).

mod tracer;

use ipc_trace::event::EventKind;
use tracer::{Scratch, record_with, require_root};

/// Processes flooding at once, and semops each (an even number: V then P).
const PROCS: u64 = 3;
const OPS: u64 = 60_000;

#[test]
fn with_a_tiny_ring_every_semop_is_recorded_or_counted_as_dropped() {
    require_root();
    let scratch = Scratch::new("loss-accounting");
    let bench = env!("CARGO_BIN_EXE_sem-bench");
    let script = format!("for i in $(seq {PROCS}); do {bench} --ops {OPS} >/dev/null & done; wait");
    let rec = record_with(
        &scratch,
        "flood",
        &["--backend", "tracepoint", "--ringbuf-size", "4096"],
        &["sh", "-c", &script],
    );
    let r = &rec.recording;
    let stats = r.stats.as_ref().expect("a stats line");
    let semops = r
        .events
        .iter()
        .filter(|l| l.event.kind == EventKind::SemOp && l.event.comm == "sem-bench")
        .count() as u64;
    let drop_events: u64 = r
        .events
        .iter()
        .filter(|l| l.event.kind == EventKind::Drops)
        .filter(|l| l.event.probe == "sys_semtimedop" || l.event.probe == "sys_semop")
        .filter_map(|l| l.event.count)
        .sum();
    let counted = stats
        .dropped_by_probe
        .get("sys_semtimedop")
        .copied()
        .unwrap_or(0)
        + stats
            .dropped_by_probe
            .get("sys_semop")
            .copied()
            .unwrap_or(0);
    // The control: a 4096-byte ring cannot hold this flood, so this test
    // really exercises the loss path (it fails if nothing was dropped).
    assert!(
        counted > 0,
        "nothing was dropped: the test proves nothing\n{}",
        rec.transcript()
    );
    assert_eq!(
        drop_events,
        counted,
        "the drops events and the stats line disagree\n{}",
        rec.transcript()
    );
    assert_eq!(
        semops + counted,
        PROCS * OPS,
        "{semops} semops recorded + {counted} dropped != {} performed",
        PROCS * OPS
    );
    assert_eq!(
        stats.events,
        r.events.len() as u64,
        "stats.events counts every line"
    );
    let stderr = String::from_utf8_lossy(&rec.output.stderr);
    assert!(
        stderr.contains(&format!("{} LOST", stats.dropped)),
        "the closing message shows the drops: {stderr}"
    );
}
