//! Live host test (root): the in-flight maps full — more tasks inside a
//! traced semop at once than `--max-inflight` lets the tracer hold — loses
//! records, and every one of them is counted, for its probe, in the stats
//! line, the drops events and the closing message. With the default size
//! the same crowd loses nothing (the control: the loss comes from the map
//! size, not from the workload).
//!
//! The tracepoint backend is forced (one record per semop, stashed in
//! `SYSCALLS` from enter to exit, on every kernel), as in loss_accounting.rs.

mod tracer;

use ipc_trace::event::{DropReason, EventKind};
use tracer::{Recorded, Scratch, record_with, require_root};

/// Threads asleep in a P at once, and the in-flight map size that cannot
/// hold them.
const WAITERS: u64 = 200;
const SMALL_MAP: u64 = 64;

/// The semop probes (glibc may make semop a semtimedop call).
const SEMOP_PROBES: [&str; 2] = ["sys_semop", "sys_semtimedop"];

/// Runs the crowd under `record` with `flags`; returns the recording, the
/// semop calls the workload says it made and those recorded.
fn crowd(scratch: &Scratch, name: &str, flags: &[&str]) -> (Recorded, u64, u64) {
    let bin = env!("CARGO_BIN_EXE_sem-crowd");
    let waiters = WAITERS.to_string();
    let mut all = vec!["--backend", "tracepoint"];
    all.extend_from_slice(flags);
    let rec = record_with(scratch, name, &all, &[bin, "--waiters", &waiters]);
    let report: serde_json::Value = rec
        .stdout()
        .lines()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON report from sem-crowd\n{}", rec.transcript()));
    let performed = report["semops"].as_u64().expect("semops in the report");
    assert_eq!(
        report["asleep_at_once"].as_u64(),
        Some(WAITERS),
        "the waiters were not all asleep at once\n{}",
        rec.transcript()
    );
    let recorded = rec
        .events()
        .filter(|e| e.kind == EventKind::SemOp && e.comm == "sem-crowd")
        .count() as u64;
    (rec, performed, recorded)
}

/// Records of the semop probes lost, by the stats line, and by the drops events.
fn semop_losses(rec: &Recorded) -> (u64, u64) {
    let stats = rec.recording.stats.as_ref().expect("a stats line");
    let by_stats: u64 = SEMOP_PROBES
        .iter()
        .map(|p| {
            stats.dropped_by_probe.get(*p).copied().unwrap_or(0)
                + stats.exits_not_seen_by_probe.get(*p).copied().unwrap_or(0)
        })
        .sum();
    let by_events: u64 = rec
        .events()
        .filter(|e| e.kind == EventKind::Drops && SEMOP_PROBES.contains(&e.probe.as_ref()))
        .filter_map(|e| e.count)
        .sum();
    (by_stats, by_events)
}

/// `incomplete` of every semaphore-set lifecycle in `summary --json` of
/// the recording `name`.
fn sets_incomplete(scratch: &Scratch, name: &str) -> Vec<bool> {
    let out = std::process::Command::new(tracer::ipc_trace_bin())
        .arg("summary")
        .arg(scratch.path(&format!("{name}.ndjson")))
        .arg("--json")
        .output()
        .expect("run ipc-trace summary");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("summary --json is JSON");
    summary["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["kind"] == "sem")
        .map(|o| o["incomplete"].as_bool().expect("incomplete"))
        .collect()
}

#[test]
fn more_waiters_than_the_inflight_maps_hold_are_counted_not_lost_silently() {
    require_root();
    let scratch = Scratch::new("inflight-full");
    let small = SMALL_MAP.to_string();
    let (rec, performed, recorded) = crowd(&scratch, "small", &["--max-inflight", &small]);
    let (counted, drop_events) = semop_losses(&rec);
    // At most SMALL_MAP of the waiters' records fit while all are asleep.
    assert!(
        counted >= WAITERS - SMALL_MAP,
        "{counted} semop records counted lost, expected at least {}\n{}",
        WAITERS - SMALL_MAP,
        rec.transcript()
    );
    assert_eq!(
        drop_events,
        counted,
        "the drops events and the stats line disagree\n{}",
        rec.transcript()
    );
    assert_eq!(
        recorded + counted,
        performed,
        "{recorded} semops recorded + {counted} counted lost != {performed} performed\n{}",
        rec.transcript()
    );
    // They are lost for the map's sake, and say so.
    let stats = rec.recording.stats.as_ref().expect("a stats line");
    let full_events: u64 = rec
        .events()
        .filter(|e| e.kind == EventKind::Drops && e.reason == Some(DropReason::InflightFull))
        .filter_map(|e| e.count)
        .sum();
    assert!(
        stats.inflight_full >= WAITERS - SMALL_MAP && full_events == stats.inflight_full,
        "inflight_full {} in the stats line, {full_events} in drops events\n{}",
        stats.inflight_full,
        rec.transcript()
    );
    let stderr = String::from_utf8_lossy(&rec.output.stderr);
    assert!(
        stderr.contains(&format!("{} LOST", stats.dropped)) && stderr.contains("--max-inflight"),
        "the closing message shows the drops and their cause: {stderr}"
    );
    assert_eq!(
        sets_incomplete(&scratch, "small"),
        [true],
        "the crowd's set lost records: its lifecycle is incomplete"
    );
}

#[test]
fn the_same_crowd_fits_in_the_default_inflight_maps() {
    require_root();
    let scratch = Scratch::new("inflight-default");
    let (rec, performed, recorded) = crowd(&scratch, "default", &[]);
    let (counted, _) = semop_losses(&rec);
    assert_eq!(counted, 0, "records lost\n{}", rec.transcript());
    assert_eq!(
        recorded,
        performed,
        "every semop is recorded\n{}",
        rec.transcript()
    );
    assert_eq!(
        sets_incomplete(&scratch, "default"),
        [false],
        "nothing was lost: the lifecycle is complete"
    );
}

#[test]
fn a_max_inflight_of_zero_is_refused() {
    let out = std::process::Command::new(tracer::ipc_trace_bin())
        .args(["record", "-o", "-", "--max-inflight", "0", "--", "true"])
        .output()
        .expect("run ipc-trace");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--max-inflight"), "{stderr}");
}
