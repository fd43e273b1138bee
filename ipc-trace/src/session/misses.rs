//! Program runs the kernel skipped (`recursion_misses`), per program, over
//! a session: lost events that no map of ours counts (see
//! `probe::prog_stats`).

use crate::probe::attach::Tracer;
use crate::probe::prog_stats::ProgCounters;
use std::collections::BTreeMap;

/// Program runs the kernel skipped since the session started, per program
/// (only programs with misses).
pub(super) fn missed_runs(
    now: &[(String, ProgCounters)],
    at_start: &BTreeMap<String, u64>,
) -> BTreeMap<String, u64> {
    now.iter()
        .filter_map(|(name, c)| {
            let before = at_start.get(name).copied().unwrap_or(0);
            let n = c.recursion_misses?.saturating_sub(before);
            (n > 0).then(|| (name.clone(), n))
        })
        .collect()
}

/// The skipped-run counters of every program now (they start at 0 when a
/// program is loaded; read anyway, so a reused program cannot inflate them).
pub(super) fn misses_now(tracer: &Tracer) -> BTreeMap<String, u64> {
    tracer
        .program_counters()
        .into_iter()
        .filter_map(|(name, c)| Some((name, c.recursion_misses?)))
        .collect()
}
