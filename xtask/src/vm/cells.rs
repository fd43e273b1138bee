//! Evaluating what a VM sent back: one matrix cell per run (smoke, or one
//! `ipc-trace record` run), from the files on the channel.

use super::channel::Channel;
use super::check;
use super::enforce;
use super::matrix::Cell;
use super::script::Run;
use crate::build;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The last `n` non-empty lines of `text`, joined with ` | `.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// `key=value` lines as a map.
pub fn key_values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The seconds between `seconds_start` and `seconds_end` of a result file.
pub fn seconds(kv: &BTreeMap<String, String>) -> Option<f64> {
    let get = |k: &str| kv.get(k).and_then(|v| v.parse::<f64>().ok());
    Some(get("seconds_end")? - get("seconds_start")?)
}

/// The smoke cell: facts arrived, demo-run (when built) exited 0.
pub fn smoke_cell(kernel: &str, ch: &Channel) -> Cell {
    let mut cell = Cell {
        kernel: kernel.to_string(),
        backend: "smoke".to_string(),
        ..Cell::default()
    };
    let facts = key_values(&ch.text("facts.txt").unwrap_or_default());
    if !facts.contains_key("uname") {
        cell.failures.push("facts.txt did not arrive".to_string());
    }
    if ch.missing.iter().any(|m| m == "smoke/demo-run") {
        cell.facts
            .push("demo-run is not built: only the kernel facts were collected".to_string());
        return cell;
    }
    let result = key_values(&ch.text("smoke/result.txt").unwrap_or_default());
    match result.get("demo_rc").map(String::as_str) {
        Some("0") => {}
        Some(rc) => cell.failures.push(format!(
            "demo-run exited {rc}: {}",
            last_lines(&ch.text("smoke/demo.log").unwrap_or_default(), 5)
        )),
        None => cell
            .failures
            .push("the demo result did not arrive".to_string()),
    }
    cell.seconds = seconds(&result);
    let reports = ch
        .files
        .keys()
        .filter(|k| k.starts_with("smoke/reports/"))
        .count();
    cell.facts
        .push(format!("demo-run wrote {reports} report(s)"));
    cell
}

/// The cell of one run: record exit, recording figures, BPF cleanup, the
/// demos' check, and on kprobe/fentry the enforcement of `enforce`; a
/// negative control (`--exclude-probe P`) passes only when that
/// enforcement fails naming P.
pub fn record_cell(
    kernel: &str,
    run: &Run,
    facts: &BTreeMap<String, String>,
    ch: &Channel,
    dir: &Path,
    bin_dir: &Path,
) -> Cell {
    let mut cell = run_checks(kernel, run, ch, dir, bin_dir);
    let recording = ch.text(&format!("{}/recording.ndjson", run.label));
    let parsed = recording.as_deref().map(enforce::parse_recording);
    let enforcement = match &parsed {
        Some(Ok(rec)) => enforce::enforce(&run.backend, facts, rec),
        Some(Err(e)) => vec![format!("recording: {e:#}")],
        None => Vec::new(),
    };
    match (excluded_probe(run), parsed) {
        (Some(excluded), Some(Ok(rec))) => {
            let (failures, facts) =
                enforce::control_verdict(&excluded, &rec, &enforcement, &cell.failures);
            cell.failures = failures;
            cell.facts.extend(facts);
            cell.expected_failure = Some(excluded);
        }
        (Some(excluded), _) => {
            cell.failures
                .insert(0, "the control run left no readable recording".to_string());
            cell.expected_failure = Some(excluded);
        }
        (None, _) => cell.failures.extend(enforcement),
    }
    cell
}

/// The probe a run keeps from attaching (`--exclude-probe NAME`).
fn excluded_probe(run: &Run) -> Option<String> {
    let i = run.options.iter().position(|o| o == "--exclude-probe")?;
    run.options.get(i + 1).cloned()
}

/// The checks every run gets, whatever its backend.
fn run_checks(kernel: &str, run: &Run, ch: &Channel, dir: &Path, bin_dir: &Path) -> Cell {
    let backend = run.label.as_str(); // the name of its files on the channel
    let mut cell = Cell {
        kernel: kernel.to_string(),
        backend: backend.to_string(),
        ..Cell::default()
    };
    let Some(result) = ch.text(&format!("{backend}/result.txt")) else {
        cell.failures
            .push("the run's result did not arrive".to_string());
        return cell;
    };
    let kv = key_values(&result);
    cell.seconds = seconds(&kv);
    match kv.get("record_rc").map(String::as_str) {
        Some("0") => {}
        Some(rc) => {
            let why = if rc == "143" || rc == "124" {
                " (killed at the run time limit)"
            } else {
                ""
            };
            let log = ch
                .text(&format!("{backend}/record.log"))
                .unwrap_or_default();
            cell.failures.push(format!(
                "ipc-trace record exited {rc}{why}: {}",
                last_lines(&log, 5)
            ));
        }
        None => cell
            .failures
            .push("no exit code for ipc-trace record".to_string()),
    }
    let count = |k: &str| kv.get(k).and_then(|v| v.parse::<i64>().ok());
    match (
        count("bpf_progs_before"),
        count("bpf_progs_peak"),
        count("bpf_progs_after"),
    ) {
        (Some(before), Some(peak), Some(after)) => {
            if after != before {
                cell.failures.push(format!(
                    "BPF programs left loaded after ipc-trace exited: {before} before, {after} after"
                ));
            }
            if peak <= before {
                cell.facts.push(format!(
                    "no JITed BPF program seen during the run (kallsyms count stayed at {before})"
                ));
            }
        }
        _ => cell
            .failures
            .push("BPF program counts missing from the result".to_string()),
    }
    match count("ours_loaded_after") {
        Some(0) => {}
        Some(n) => cell.failures.push(format!(
            "{n} ipc-trace BPF program(s) still loaded after exit (doctor --loaded-programs)"
        )),
        None => cell
            .failures
            .push("`ipc-trace doctor --loaded-programs` gave no count".to_string()),
    }
    if count("bpffs_entries").is_some_and(|n| n != 0) {
        cell.failures
            .push("objects left pinned in /sys/fs/bpf".to_string());
    }
    let recording_name = format!("{backend}/recording.ndjson");
    let recording = dir.join(&recording_name);
    match ch.text(&recording_name) {
        None => cell.failures.push("no recording arrived".to_string()),
        Some(text) => match check::summarize(&text) {
            Ok(s) => {
                cell.probes_attached = Some(s.attached);
                cell.probes_kernel_path = Some(s.kernel_path_probes);
                cell.probes_fired = Some(s.fired);
                cell.events = Some(s.events);
                cell.drops = Some(s.drops);
            }
            Err(e) => cell.failures.push(format!("recording: {e:#}")),
        },
    }
    let prefix = format!("{backend}/reports/");
    let reports: Vec<PathBuf> = ch
        .files
        .keys()
        .filter(|k| k.starts_with(&prefix))
        .map(|k| dir.join(k))
        .collect();
    if recording.is_file() {
        let verdict =
            check::check_recording(&bin_dir.join(build::DEMO_CHECK), &recording, &reports);
        cell.failures.extend(verdict.failures);
        cell.facts.extend(verdict.facts);
    }
    cell
}
