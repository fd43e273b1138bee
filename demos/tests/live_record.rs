//! Live host test (needs root and a kernel with BPF tracepoints): run the
//! demos under `ipc-trace record -- demo-run` and check the recording
//! against what the demos report they did.

use demos::check::check_recording;
use demos::report::DemoReport;
use std::path::{Path, PathBuf};
use std::process::Command;

mod built;
use built::ipc_trace_bin;
#[path = "../../ipc-trace/tests/common/mod.rs"]
mod schema;

/// Every line of a real recording validates against the JSON Schema.
fn assert_schema_valid(rec: &Path) {
    let validator = schema::validator().expect("the JSON Schema loads");
    let problems = schema::violations(&validator, rec).expect("the recording is readable");
    assert!(
        problems.is_empty(),
        "schema violations:\n{}",
        problems.join("\n")
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ipc-trace-live-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

fn record_demo(backend: &str, extra: &[&str]) -> (PathBuf, Vec<DemoReport>, PathBuf) {
    assert!(
        unsafe { libc::geteuid() } == 0,
        "this test needs root (eBPF); run the suite as root (cargo xtask ci)"
    );
    let dir = scratch(backend);
    let rec = dir.join("rec.ndjson");
    let summary = dir.join("live-summary.json");
    let reports = dir.join("reports");
    let key_path = dir.join("demo.key");
    let out = Command::new(ipc_trace_bin())
        .args(["record", "--backend", backend, "-o"])
        .arg(&rec)
        .arg("--summary-out")
        .arg(&summary)
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_demo-run"))
        .arg("--report-dir")
        .arg(&reports)
        .arg("--path")
        .arg(&key_path)
        .args(extra)
        .output()
        .expect("run ipc-trace record");
    assert!(
        out.status.success(),
        "ipc-trace record failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let reports = DemoReport::load_dir(&reports).expect("demo reports");
    (rec, reports, summary)
}

#[test]
fn demos_recorded_on_the_tracepoint_backend_match_what_they_did() {
    let (rec, reports, _) = record_demo(
        "tracepoint",
        &["--pingpong", "--size", "12388", "--messages", "12"],
    );
    let report = check_recording(&rec, &reports);
    println!("{report}");
    assert!(report.passed(), "{report}");
    assert_schema_valid(&rec);
}

#[test]
fn auto_backend_recording_passes_the_same_checks_and_replays_to_the_same_summary() {
    let (rec, reports, live_summary) = record_demo("auto", &["--messages", "5"]);
    let report = check_recording(&rec, &reports);
    assert!(report.passed(), "{report}");
    assert_schema_valid(&rec);
    // The model built live equals the model built by replaying the file.
    let replayed = Command::new(ipc_trace_bin())
        .arg("summary")
        .arg(&rec)
        .arg("--json")
        .output()
        .expect("run ipc-trace summary");
    assert!(
        replayed.status.success(),
        "{}",
        String::from_utf8_lossy(&replayed.stderr)
    );
    let live: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&live_summary).expect("live summary")).expect("json");
    let replay: serde_json::Value = serde_json::from_slice(&replayed.stdout).expect("json");
    assert_eq!(live, replay, "live and replayed summaries differ");
    assert!(
        live["objects"].as_array().is_some_and(|o| o.len() >= 2),
        "{live}"
    );
}
