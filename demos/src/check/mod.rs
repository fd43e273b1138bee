//! The checker: compares an ipc-trace recording with the reports of the
//! demo programs that ran under it, and lists every disagreement.
//!
//! Everything expected comes from the reports (keys, ids, sizes, pages,
//! semop calls, addresses); nothing is a fixed number. What is checked:
//! - gets and creates (kernel steps SHM-1..3, SEM-1..3): each process's successful
//!   get by key returned its id; exactly one create per key, in the
//!   creator's process, before any other process's get; `inferred` matches
//!   whether `newseg`/`newary` is attached;
//! - attaches (SHM-5..9) with the reported address, one per process;
//! - faults (SHM-10..12): only on demo segments, one per touched page per
//!   process, page index consistent with the address, `shmem` when the
//!   kernel-path fault probes are attached;
//! - semops (SEM-7..9): each process's `sem_op` events equal its semop calls
//!   one to one, in order (flags included, so `SEM_UNDO` shows); blocked ones
//!   waited (`wait_ns` > 0); guaranteed sleeps are marked blocked;
//! - `semctl(SETALL)` values (SEM-4..6), detaches, destroys after the last use;
//! - no drops, and the stats line agrees with the events.

mod objects;
pub mod recording;
#[cfg(feature = "schema")]
pub mod schema;
mod sem;
mod shm;
mod totals;

use crate::report::DemoReport;
use recording::Recording;
use std::path::Path;

/// The outcome of a check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// One line per failed expectation: what was expected, what was found.
    pub failures: Vec<String>,
    /// Numbers worth showing either way (events, faults, semops, drops, ...).
    pub facts: Vec<String>,
    /// Expected events not in the recording, with how many: failures,
    /// unless all of them together are within the records the kernel is
    /// counted to have cost the recording (see [`CheckReport::settle`]).
    pub(crate) shortfalls: Vec<(String, u64)>,
}

impl CheckReport {
    /// True when nothing failed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }

    pub(crate) fn fail(&mut self, msg: impl Into<String>) {
        self.failures.push(msg.into());
    }

    pub(crate) fn fact(&mut self, msg: impl Into<String>) {
        self.facts.push(msg.into());
    }

    /// `n` expected events are missing (see `shortfalls`).
    pub(crate) fn missing(&mut self, msg: impl Into<String>, n: u64) {
        self.shortfalls.push((msg.into(), n));
    }

    /// Settles the shortfalls against `budget`, the records the kernel is
    /// counted to have cost: all of them become facts when their total
    /// fits in it, else all are failures.
    fn settle(&mut self, budget: u64) {
        let total: u64 = self.shortfalls.iter().map(|(_, n)| n).sum();
        let explained = total > 0 && total <= budget;
        for (msg, _) in std::mem::take(&mut self.shortfalls) {
            if explained {
                self.facts.push(format!(
                    "{msg} — within the {budget} records the kernel is counted to have cost ({total} missing in all)"
                ));
            } else {
                self.failures.push(msg);
            }
        }
    }
}

impl std::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for fact in &self.facts {
            writeln!(f, "  fact: {fact}")?;
        }
        for failure in &self.failures {
            writeln!(f, "  FAIL: {failure}")?;
        }
        let verdict = if self.passed() { "PASS" } else { "FAIL" };
        write!(f, "{verdict} ({} failures)", self.failures.len())
    }
}

/// Checks the recording file at `recording` against the demo `reports`
/// (children included through [`DemoReport::children`]).
pub fn check_recording(recording: &Path, reports: &[DemoReport]) -> CheckReport {
    match std::fs::read_to_string(recording) {
        Ok(text) => check_text(&text, reports),
        Err(e) => CheckReport {
            failures: vec![format!(
                "cannot read recording {}: {e}",
                recording.display()
            )],
            facts: Vec::new(),
            shortfalls: Vec::new(),
        },
    }
}

/// Checks a recording given as text (see [`check_recording`]).
pub fn check_text(text: &str, reports: &[DemoReport]) -> CheckReport {
    let rec = Recording::parse(text);
    let procs: Vec<&DemoReport> = reports.iter().flat_map(|r| r.processes()).collect();
    let mut out = CheckReport::default();
    for p in &rec.problems {
        out.fail(format!("recording: {p}"));
    }
    if procs.is_empty() {
        out.fail("no demo reports to check against");
    }
    totals::check(&rec, &procs, &mut out);
    objects::check(&rec, &procs, &mut out);
    shm::check(&rec, &procs, &mut out);
    sem::check(&rec, &procs, &mut out);
    out.settle(rec.kernel_losses());
    out
}

/// An IPC key as `ipcs` prints it.
pub(crate) fn hex(key: i32) -> String {
    crate::keyfile::key_hex(key)
}

#[cfg(test)]
mod tests;
