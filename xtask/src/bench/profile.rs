//! Where a traced operation's time goes: one traced run per workload with
//! the kernel's BPF statistics on (`kernel.bpf_stats_enabled=1`, as bpftop
//! does; restored afterwards), and per eBPF program its run count, mean run
//! time and time per workload operation, from `ipc-trace record
//! --program-stats`. Also ipc-trace's own CPU time per million events.

use super::scenario::{Tools, stdout_of};
use super::verify::check_recording;
use super::workload::Workload;
use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use std::path::Path;

const BPF_STATS: &str = "/proc/sys/kernel/bpf_stats_enabled";

/// Turns the kernel's BPF run-time statistics on until dropped, then puts
/// the previous setting back.
struct StatsOn {
    before: String,
}

impl StatsOn {
    fn enable() -> Result<StatsOn> {
        let before = std::fs::read_to_string(BPF_STATS)
            .with_context(|| format!("cannot read {BPF_STATS} (kernel without BPF statistics?)"))?;
        std::fs::write(BPF_STATS, "1").with_context(|| format!("cannot write {BPF_STATS}"))?;
        Ok(StatsOn { before })
    }
}

impl Drop for StatsOn {
    fn drop(&mut self) {
        let _ = std::fs::write(BPF_STATS, self.before.trim());
    }
}

/// One program's share of a workload run.
#[derive(Clone, Debug, PartialEq)]
pub struct ProgramRow {
    pub program: String,
    pub runs: u64,
    pub mean_ns: f64,
    pub ns_per_unit: f64,
    pub misses: Option<u64>,
}

/// The rows of a `--program-stats` document for a run of `units`
/// operations, most expensive first.
pub fn rows(doc: &Value, units: u64) -> Vec<ProgramRow> {
    let mut rows: Vec<ProgramRow> = doc["programs"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            let runs = p["run_cnt"].as_u64()?;
            let time = p["run_time_ns"].as_u64()?;
            Some(ProgramRow {
                program: p["program"].as_str()?.to_string(),
                runs,
                mean_ns: if runs > 0 {
                    time as f64 / runs as f64
                } else {
                    0.0
                },
                ns_per_unit: time as f64 / units.max(1) as f64,
                misses: p["recursion_misses"].as_u64(),
            })
        })
        .collect();
    rows.sort_by(|a, b| b.ns_per_unit.total_cmp(&a.ns_per_unit));
    rows
}

/// Profiles every workload once; returns the JSON for `overhead.json`.
pub fn run(workloads: &[Workload], tools: &Tools) -> Result<Value> {
    let _stats = StatsOn::enable()?;
    let mut out = Vec::new();
    for w in workloads {
        out.push(profile_one(w, tools)?);
    }
    Ok(Value::Array(out))
}

fn profile_one(w: &Workload, tools: &Tools) -> Result<Value> {
    let tag = format!("{}-profile", w.tag());
    let recording = tools.scratch.join(format!("{tag}.ndjson"));
    let stats_file = tools.scratch.join(format!("{tag}.json"));
    let mut argv = tools.record_argv(&recording);
    argv.extend(["--program-stats".into(), stats_file.display().to_string()]);
    argv.push("--".into());
    argv.extend(tools.program(w));
    let report = w.parse_output(&stdout_of(&argv)?)?;
    let check = check_recording(&recording, w.pid(&report)?, &w.expected_events(&report)?);
    let _ = std::fs::remove_file(&recording);
    if check.failed() {
        bail!("profile run of {} lost events: {}", w.tag(), check.text());
    }
    let doc: Value = serde_json::from_str(&read(&stats_file)?)
        .with_context(|| format!("{} is not JSON", stats_file.display()))?;
    let _ = std::fs::remove_file(&stats_file);
    if doc["bpf_stats_enabled"] != Value::Bool(true) {
        bail!("the kernel did not count BPF run time during the profile run");
    }
    let (unit, units) = w.unit(&report)?;
    let rows = rows(&doc, units);
    let bpf_ns: f64 = rows.iter().map(|r| r.ns_per_unit).sum();
    let events = doc["userspace"]["events"].as_u64().unwrap_or(0);
    let cpu_s = doc["userspace"]["user_cpu_s"].as_f64().unwrap_or(0.0)
        + doc["userspace"]["sys_cpu_s"].as_f64().unwrap_or(0.0);
    let cpu_per_million = cpu_s / (events.max(1) as f64 / 1e6);
    println!(
        "profile {}: {bpf_ns:.0} ns of BPF programs per {unit}; ipc-trace used {cpu_s:.2} s CPU for {events} events ({cpu_per_million:.2} s per million)",
        w.program()
    );
    println!(
        "  {:<20} {:>10} {:>10} {:>12} {:>8}",
        "program",
        "runs",
        "mean ns",
        format!("ns/{unit}"),
        "missed"
    );
    for r in &rows {
        println!(
            "  {:<20} {:>10} {:>10.0} {:>12.1} {:>8}",
            r.program,
            r.runs,
            r.mean_ns,
            r.ns_per_unit,
            r.misses.map_or("-".to_string(), |m| m.to_string())
        );
    }
    Ok(json!({
        "workload": w.program(),
        "tag": w.tag(),
        "unit": unit,
        "units": units,
        "bpf_ns_per_unit": bpf_ns,
        "programs": rows.iter().map(|r| json!({
            "program": r.program,
            "runs": r.runs,
            "mean_ns": r.mean_ns,
            "ns_per_unit": r.ns_per_unit,
            "recursion_misses": r.misses,
        })).collect::<Vec<_>>(),
        "userspace": {
            "events": events,
            "cpu_s": cpu_s,
            "cpu_s_per_million_events": cpu_per_million,
        },
    }))
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_divide_run_time_by_runs_and_by_operations_most_expensive_first() {
        let doc = json!({"programs": [
            {"program": "a", "run_cnt": 10, "run_time_ns": 1000, "recursion_misses": 0},
            {"program": "b", "run_cnt": 4, "run_time_ns": 4000, "recursion_misses": null},
        ]});
        let r = rows(&doc, 100);
        assert_eq!(r[0].program, "b");
        assert_eq!(
            (r[0].mean_ns, r[0].ns_per_unit, r[0].misses),
            (1000.0, 40.0, None)
        );
        assert_eq!(
            (r[1].mean_ns, r[1].ns_per_unit, r[1].misses),
            (100.0, 10.0, Some(0))
        );
        assert!(rows(&json!({}), 1).is_empty());
    }
}
