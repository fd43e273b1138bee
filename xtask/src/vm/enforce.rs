//! What a kprobe or fentry cell must show for its figures to be true: every
//! kernel-path probe whose function the kernel has is attached with that
//! backend and fired in the self-test, and the lifecycle events come from
//! those probes, not `"inferred": true` (docs/SCHEMA.md). A tracepoint cell
//! is not held to this (inferred events are what it is for).
//!
//! Pure functions over the recording (plain JSON, never ipc-trace's types)
//! and the VM's `facts.txt`, so that negative cases are unit-tested.

use anyhow::{Context, Result};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The functions ipc-trace hooks with kernel-path probes: the names of the
/// kernel-path probe ids in `ipc-trace-common` (the ABI crate, which needs
/// no eBPF toolchain, so xtask may link it), which are the function names.
pub const KERNEL_PATH_FUNCTIONS: &[&str] = ipc_trace_common::probe::NAMES
    .split_at(ipc_trace_common::probe::FIRST_KERNEL_PATH as usize)
    .1;

/// Event kinds a kernel-path probe reports on a kprobe/fentry kernel.
pub const LIFECYCLE_KINDS: &[&str] = &[
    "shm_create",
    "sem_create",
    "shm_attach",
    "shm_fault",
    "sem_op",
    "shm_destroy",
    "sem_destroy",
];

/// One row of the header's probe table.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProbeRow {
    /// Probe name (the kernel function for a kernel-path probe).
    pub name: String,
    /// `class` is `kernel_path`.
    pub kernel_path: bool,
    /// Backend it was attached with.
    pub backend: Option<String>,
    /// Attached.
    pub attached: bool,
    /// Fired in the start-up self-test.
    pub fired: bool,
    /// Why it was not attached.
    pub reason: Option<String>,
}

/// The fields of one event the checks look at.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EventRef {
    /// `kind`.
    pub kind: String,
    /// `probe`: the hook that saw it.
    pub probe: String,
    /// `backend` of that hook.
    pub backend: String,
    /// `inferred: true`.
    pub inferred: bool,
}

/// A recording reduced to what the enforcement reads.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recording {
    /// The header's probe table.
    pub probes: Vec<ProbeRow>,
    /// Events of the lifecycle kinds, in order.
    pub events: Vec<EventRef>,
}

/// Read the probe table and the lifecycle events of an NDJSON recording.
pub fn parse_recording(text: &str) -> Result<Recording> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Value = serde_json::from_str(lines.next().context("the recording is empty")?)
        .context("line 1 (header) is not JSON")?;
    let table = header
        .get("probes")
        .context("the header has no probe table")?;
    let rows = table
        .as_array()
        .or_else(|| table.get("probes").and_then(Value::as_array))
        .context("the header's probe table is not a list")?;
    let text_of = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    let probes = rows
        .iter()
        .map(|r| ProbeRow {
            name: text_of(r, "name").unwrap_or_default(),
            kernel_path: r.get("class").and_then(Value::as_str) == Some("kernel_path"),
            backend: text_of(r, "backend"),
            attached: r.get("attached").and_then(Value::as_bool) == Some(true),
            fired: r.get("fired").and_then(Value::as_bool) == Some(true),
            reason: text_of(r, "reason"),
        })
        .collect();
    let mut events = Vec::new();
    for (i, line) in lines.enumerate() {
        let v: Value =
            serde_json::from_str(line).with_context(|| format!("line {} is not JSON", i + 2))?;
        let kind = text_of(&v, "kind").unwrap_or_default();
        if LIFECYCLE_KINDS.contains(&kind.as_str()) {
            events.push(EventRef {
                kind,
                probe: text_of(&v, "probe").unwrap_or_default(),
                backend: text_of(&v, "backend").unwrap_or_default(),
                inferred: v.get("inferred").and_then(Value::as_bool) == Some(true),
            });
        }
    }
    Ok(Recording { probes, events })
}

/// True when a cell of `backend` is held to the kernel-path checks.
pub fn enforced(backend: &str) -> bool {
    matches!(backend, "kprobe" | "fentry")
}

/// The failures of a `backend` cell whose kernel reported `facts`
/// (`kallsyms.<function>=<count>`) and which recorded `rec`; empty: passed.
/// Every failure about a probe or kind names it in backticks.
pub fn enforce(backend: &str, facts: &BTreeMap<String, String>, rec: &Recording) -> Vec<String> {
    if !enforced(backend) {
        return Vec::new();
    }
    let mut failures = Vec::new();
    let mut present = BTreeSet::new();
    for function in KERNEL_PATH_FUNCTIONS {
        match facts.get(&format!("kallsyms.{function}")).map(String::as_str) {
            Some("0") => {}
            Some(_) => {
                present.insert(*function);
            }
            None => failures.push(format!(
                "the VM did not report whether `{function}` is in kallsyms (facts.txt lacks kallsyms.{function})"
            )),
        }
    }
    for function in &present {
        let Some(row) = rec
            .probes
            .iter()
            .find(|r| r.kernel_path && r.name == *function)
        else {
            failures.push(format!(
                "`{function}` is in kallsyms but the probe table has no kernel-path row for it"
            ));
            continue;
        };
        if !row.attached {
            failures.push(format!(
                "kernel-path probe `{function}` (in kallsyms) is not attached: {}",
                row.reason.as_deref().unwrap_or("no reason given")
            ));
        } else if row.backend.as_deref() != Some(backend) {
            failures.push(format!(
                "kernel-path probe `{function}` is attached with {} instead of {backend}",
                row.backend.as_deref().unwrap_or("no backend")
            ));
        } else if !row.fired {
            failures.push(format!(
                "kernel-path probe `{function}` is attached with {backend} but did not fire in the self-test"
            ));
        }
    }
    let kernel_path: BTreeSet<&str> = rec
        .probes
        .iter()
        .filter(|r| r.kernel_path)
        .map(|r| r.name.as_str())
        .collect();
    for kind in LIFECYCLE_KINDS {
        let of_kind: Vec<&EventRef> = rec.events.iter().filter(|e| e.kind == *kind).collect();
        if of_kind.is_empty() {
            failures.push(format!("no `{kind}` event in the recording"));
            continue;
        }
        let bad: Vec<&&EventRef> = of_kind
            .iter()
            .filter(|e| {
                e.inferred || !kernel_path.contains(e.probe.as_str()) || e.backend != backend
            })
            .collect();
        if let Some(first) = bad.first() {
            failures.push(format!(
                "{} of {} `{kind}` events are not from a kernel-path probe with {backend} (first: probe {}, backend {}{})",
                bad.len(),
                of_kind.len(),
                first.probe,
                first.backend,
                if first.inferred { ", inferred" } else { "" }
            ));
        }
    }
    failures
}

/// The verdict of a negative-control cell that recorded with `excluded`
/// kept from attaching: it is as expected (empty result) only when the run
/// itself worked (`run_failures` empty), the probe table says the probe was
/// excluded, and the enforcement failed naming it. Enforcement failures
/// that do not name it are returned in the second list, as facts.
pub fn control_verdict(
    excluded: &str,
    rec: &Recording,
    enforcement: &[String],
    run_failures: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut failures: Vec<String> = run_failures
        .iter()
        .map(|f| format!("the control run itself failed: {f}"))
        .collect();
    let row = rec.probes.iter().find(|r| r.name == excluded);
    match row {
        None => failures.push(format!(
            "the probe table has no `{excluded}` row (is --exclude-probe {excluded} a valid name?)"
        )),
        Some(r)
            if r.attached
                || !r
                    .reason
                    .as_deref()
                    .is_some_and(|s| s.starts_with("excluded by --exclude-probe")) =>
        {
            failures.push(format!(
                "`{excluded}` was not excluded: attached {}, reason {:?}",
                r.attached, r.reason
            ))
        }
        Some(_) => {}
    }
    let needle = format!("`{excluded}`");
    let (naming, other): (Vec<&String>, Vec<&String>) =
        enforcement.iter().partition(|f| f.contains(&needle));
    if naming.is_empty() {
        failures.push(format!(
            "the enforcement did not fail naming `{excluded}` although it was excluded{}",
            if enforcement.is_empty() {
                ": the matrix does not enforce what it prints".to_string()
            } else {
                format!(" (it said: {})", enforcement.join("; "))
            }
        ));
    }
    let facts = naming
        .iter()
        .map(|f| format!("failed as expected: {f}"))
        .chain(other.iter().map(|f| format!("also failed: {f}")))
        .collect();
    (failures, facts)
}

#[cfg(test)]
mod tests;
