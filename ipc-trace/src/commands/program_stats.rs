//! `record --program-stats FILE`: where the time went, as JSON. Per eBPF
//! program the kernel's own counters (the ones bpftop shows: run count and
//! run time, counted only while `kernel.bpf_stats_enabled` is 1, and the
//! runs it skipped), and the CPU time ipc-trace itself used for the events
//! it handled.

use ipc_trace::probe::prog_stats::ProgCounters;
use serde_json::{Value, json};
use std::path::Path;

/// Whether the kernel counts run time now (`kernel.bpf_stats_enabled`).
fn bpf_stats_enabled() -> Option<bool> {
    std::fs::read_to_string("/proc/sys/kernel/bpf_stats_enabled")
        .ok()
        .map(|s| s.trim() == "1")
}

/// User and system CPU seconds this process has used so far.
fn own_cpu_seconds() -> (f64, f64) {
    // SAFETY: all-zero is a valid `rusage` (plain integers).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes the struct we own and pass.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(usage.ru_utime), secs(usage.ru_stime))
}

/// The JSON document (see the module doc).
pub fn document(programs: &[(String, ProgCounters)], events: u64) -> Value {
    let (user, sys) = own_cpu_seconds();
    let rows: Vec<Value> = programs
        .iter()
        .filter(|(_, c)| c.run_cnt > 0 || c.recursion_misses.is_some_and(|m| m > 0))
        .map(|(name, c)| {
            json!({
                "program": name,
                "run_cnt": c.run_cnt,
                "run_time_ns": c.run_time_ns,
                "mean_ns": if c.run_cnt > 0 { c.run_time_ns as f64 / c.run_cnt as f64 } else { 0.0 },
                "recursion_misses": c.recursion_misses,
            })
        })
        .collect();
    json!({
        "bpf_stats_enabled": bpf_stats_enabled(),
        "programs": rows,
        "userspace": {
            "events": events,
            "user_cpu_s": user,
            "sys_cpu_s": sys,
        },
    })
}

/// Writes [`document`] to `path`.
pub fn write(path: &Path, programs: &[(String, ProgCounters)], events: u64) -> Result<(), String> {
    let text =
        serde_json::to_string_pretty(&document(programs, events)).map_err(|e| e.to_string())?;
    std::fs::write(path, text + "\n").map_err(|e| format!("cannot write {}: {e}", path.display()))
}
