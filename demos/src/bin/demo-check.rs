//! demo-check: compares an ipc-trace recording with the JSON reports the
//! demos wrote about what they did (`demos::check`), and optionally
//! validates every line against the recording's JSON Schema.
//!
//! It is a program rather than a library call so that `cargo xtask`, which
//! must build before the eBPF toolchain is installed, never links ipc-trace:
//! the VM matrix runs this binary on the host after the build.
//!
//! Prints one JSON object `{"failures": [...], "facts": [...]}` on stdout.
//! Exit status: 0 passed, 1 failed, 2 bad usage or unreadable input.

use clap::Parser;
use demos::check::{CheckReport, check_recording, schema};
use demos::report::DemoReport;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(about = "Check an ipc-trace recording against the demos' reports")]
struct Args {
    /// Also validate every line against this JSON Schema
    /// (schema/ipc-trace-1.schema.json).
    #[arg(long)]
    schema: Option<PathBuf>,
    /// The recording (NDJSON) to check.
    recording: PathBuf,
    /// The demos' reports (`--report-dir` of demo-run); at least one.
    #[arg(required = true)]
    reports: Vec<PathBuf>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut reports = Vec::new();
    for path in &args.reports {
        match DemoReport::load(path) {
            Ok(r) => reports.push(r),
            Err(e) => {
                eprintln!("demo-check: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mut verdict: CheckReport = check_recording(&args.recording, &reports);
    if let Some(path) = &args.schema {
        let found =
            schema::validator_at(path).and_then(|v| schema::violations(&v, &args.recording));
        match found {
            Ok(violations) => verdict
                .failures
                .extend(violations.into_iter().map(|v| format!("schema: {v}"))),
            Err(e) => {
                eprintln!("demo-check: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let out = serde_json::json!({ "failures": verdict.failures, "facts": verdict.facts });
    println!("{out}");
    if verdict.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
