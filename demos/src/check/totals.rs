//! Whole-recording checks: drops, the stats line, what was attached.

use super::CheckReport;
use super::recording::Recording;
use crate::report::DemoReport;
use ipc_trace::event::EventKind;

pub(super) fn check(rec: &Recording, procs: &[&DemoReport], out: &mut CheckReport) {
    let attached: Vec<String> = rec
        .probes
        .iter()
        .filter(|p| p.attached)
        .map(|p| match p.backend {
            Some(b) => format!("{}({})", p.name, b.as_str()),
            None => p.name.clone(),
        })
        .collect();
    out.fact(format!("probes attached: {}", attached.join(" ")));
    out.fact(format!(
        "events: {} (demo processes: {})",
        rec.events.len(),
        procs
            .iter()
            .map(|p| p.pid.to_string())
            .collect::<Vec<_>>()
            .join(",")
    ));
    let drop_events: u64 = rec
        .of_kind(EventKind::Drops)
        .iter()
        .filter(|e| e.reason.is_none())
        .filter_map(|e| e.count)
        .sum();
    match &rec.stats {
        None => out.fail("stats: no stats line, so drops cannot be ruled out"),
        Some(stats) => {
            out.fact(format!(
                "drops: {} (drops events: {drop_events})",
                stats.dropped
            ));
            if stats.dropped != 0 {
                out.fail(format!(
                    "stats: expected 0 dropped events, found {} ({})",
                    stats.dropped,
                    listing(&stats.dropped_by_probe)
                ));
            }
            if stats.exits_not_seen != 0 {
                // A discarded syscall record is an event lost only where no
                // kernel-path record carries it; the demos' counts decide.
                out.fact(format!(
                    "exits not seen: {} syscall records discarded ({})",
                    stats.exits_not_seen,
                    listing(&stats.exits_not_seen_by_probe)
                ));
            }
            if stats.missed != 0 {
                // Skipped runs are not attributable to a task (most are of
                // tasks nobody traces: a wakeup from an interrupt while any
                // BPF program ran on that CPU). They are a fact of the run;
                // a traced event they cost fails the checks of the demos'
                // own counts instead.
                out.fact(format!(
                    "missed: {} program runs skipped by the kernel ({})",
                    stats.missed,
                    listing(&stats.missed_by_program)
                ));
            }
            if stats.events != rec.events.len() as u64 {
                out.fail(format!(
                    "stats: says {} events were written, the recording has {}",
                    stats.events,
                    rec.events.len()
                ));
            }
        }
    }
    if drop_events != 0 {
        out.fail(format!(
            "drops: expected no lost events, the recording has drops events totalling {drop_events}"
        ));
    }
}

/// `name=count` pairs, space-separated.
fn listing<K: std::fmt::Display>(counts: &std::collections::BTreeMap<K, u64>) -> String {
    counts
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}
