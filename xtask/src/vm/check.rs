//! Checking a recording made in a VM.
//!
//! `summarize` reads the figures of the matrix from a recording (header
//! probe table, final `stats` line). `check_recording` decides whether the
//! recording matches what the demos report they did.

use anyhow::{Context, Result};

use crate::cmd;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Verdict on one recording.
#[derive(Debug, Default)]
pub struct CheckOutcome {
    /// What is wrong (empty: passed).
    pub failures: Vec<String>,
    /// Observations worth showing that are not failures.
    pub facts: Vec<String>,
}

/// Check `recording` against the demo reports in `reports` with the same
/// checker the host live test uses (`demos::check`), run as the
/// `demo-check` binary so that xtask never links ipc-trace, and validate
/// it against the recording schema.
pub fn check_recording(demo_check: &Path, recording: &Path, reports: &[PathBuf]) -> CheckOutcome {
    let arrived = arrival_check(recording, reports);
    if !arrived.failures.is_empty() {
        return arrived;
    }
    let schema = cmd::workspace_root().join("schema/ipc-trace-1.schema.json");
    let mut c = Command::new(demo_check);
    c.arg("--schema").arg(&schema).arg(recording).args(reports);
    let line = cmd::describe(&c);
    let out = match c.stdin(std::process::Stdio::null()).output() {
        Ok(out) => out,
        Err(e) => return CheckOutcome::failed(format!("cannot run `{line}`: {e}")),
    };
    let verdict: Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => {
            return CheckOutcome::failed(format!(
                "`{line}` ({}) gave no verdict: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    };
    let lines = |key: &str| -> Vec<String> {
        verdict
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut outcome = CheckOutcome {
        failures: lines("failures"),
        facts: lines("facts"),
    };
    if outcome.failures.is_empty() && !out.status.success() {
        outcome.failures.push(format!(
            "`{line}` failed ({}) without saying why",
            out.status
        ));
    }
    outcome
}

impl CheckOutcome {
    fn failed(why: String) -> CheckOutcome {
        CheckOutcome {
            failures: vec![why],
            facts: Vec::new(),
        }
    }
}

/// The recording and the reports arrived and parse.
fn arrival_check(recording: &Path, reports: &[PathBuf]) -> CheckOutcome {
    let mut out = CheckOutcome::default();
    match std::fs::read_to_string(recording) {
        Ok(text) => {
            if let Err(e) = summarize(&text) {
                out.failures.push(format!("recording: {e:#}"));
            }
        }
        Err(e) => out
            .failures
            .push(format!("recording {}: {e}", recording.display())),
    }
    if reports.is_empty() {
        out.failures.push("demo-run wrote no report".to_string());
    }
    for report in reports {
        let parsed = std::fs::read(report)
            .map_err(anyhow::Error::from)
            .and_then(|b| serde_json::from_slice::<Value>(&b).map_err(anyhow::Error::from));
        if let Err(e) = parsed {
            out.failures
                .push(format!("report {}: {e}", report.display()));
        }
    }
    out
}

/// The matrix figures of one recording.
#[derive(Debug, Default, PartialEq)]
pub struct RecordingSummary {
    /// Kernel-path probes in the header's table.
    pub kernel_path_probes: usize,
    /// Kernel-path probes attached.
    pub attached: usize,
    /// Kernel-path probes that fired in the self-test.
    pub fired: usize,
    /// Events written (final `stats` line).
    pub events: u64,
    /// Records dropped (final `stats` line).
    pub drops: u64,
}

/// Read the header's probe table and the final `stats` line of `text`.
pub fn summarize(text: &str) -> Result<RecordingSummary> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Value = serde_json::from_str(lines.next().context("the recording is empty")?)
        .context("line 1 (header) is not JSON")?;
    let schema = header
        .get("schema")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !schema.starts_with("ipc-trace/") {
        anyhow::bail!("line 1 is not an ipc-trace header (schema {schema:?})");
    }
    let probes = header
        .get("probes")
        .context("the header has no probe table")?;
    let rows = probes
        .as_array()
        .or_else(|| probes.get("probes").and_then(Value::as_array))
        .context("the header's probe table is not a list")?;
    let mut s = RecordingSummary::default();
    for row in rows
        .iter()
        .filter(|r| r.get("class").and_then(Value::as_str) == Some("kernel_path"))
    {
        s.kernel_path_probes += 1;
        s.attached += usize::from(row.get("attached").and_then(Value::as_bool) == Some(true));
        s.fired += usize::from(row.get("fired").and_then(Value::as_bool) == Some(true));
    }
    let last = text
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or_default();
    let stats: Value = serde_json::from_str(last).context("the last line is not JSON")?;
    if stats.get("kind").and_then(Value::as_str) != Some("stats") {
        anyhow::bail!("no final stats line: the recording was cut short");
    }
    s.events = stats
        .get("events")
        .and_then(Value::as_u64)
        .context("stats has no events")?;
    s.drops = stats
        .get("dropped")
        .and_then(Value::as_u64)
        .context("stats has no dropped")?;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = r#"{"schema":"ipc-trace/1","kernel":"6.1.0","probes":{"probes":[
        {"name":"sys_enter_shmget","class":"tracepoint","backend":"tracepoint","attached":true,"fired":true},
        {"name":"newseg","class":"kernel_path","backend":"kprobe","attached":true,"fired":true},
        {"name":"__do_semtimedop","class":"kernel_path","backend":null,"attached":false,"reason":"ENOENT"},
        {"name":"shm_fault","class":"kernel_path","backend":"kprobe","attached":true,"fired":false}]}}"#;

    #[test]
    fn summary_counts_kernel_path_probes_and_reads_stats() -> Result<()> {
        let text = format!(
            "{}\n{{\"kind\":\"shm_create\"}}\n{{\"kind\":\"stats\",\"events\":1,\"dropped\":2,\"duration_ns\":5}}\n",
            HEADER.replace('\n', "")
        );
        let s = summarize(&text)?;
        assert_eq!(
            s,
            RecordingSummary {
                kernel_path_probes: 3,
                attached: 2,
                fired: 1,
                events: 1,
                drops: 2
            }
        );
        Ok(())
    }

    #[test]
    fn a_recording_without_stats_is_cut_short() {
        let text = format!(
            "{}\n{{\"kind\":\"shm_create\"}}\n",
            HEADER.replace('\n', "")
        );
        assert!(summarize(&text).is_err());
    }

    #[test]
    fn a_foreign_file_is_rejected() {
        assert!(summarize("{\"hello\":1}\n").is_err());
        assert!(summarize("").is_err());
    }
}
