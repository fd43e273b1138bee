//! The reconstructed lifecycles as a report: one entry per segment and
//! semaphore set (creator, size, attaches, faults, semops, blocked time,
//! removed or still there, incomplete), for `summary` in text or JSON.
//! Built from a `model::State`, so a live session and a replay of its
//! recording give the same summary.

use crate::model::{ObjKind, Object, State};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// The whole report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Events applied.
    pub events: u64,
    /// Events the kernel could not hand over.
    pub dropped: u64,
    /// The same, per probe that lost them (probes that lost none are left out).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub dropped_by_probe: std::collections::BTreeMap<String, u64>,
    /// Nanoseconds from the first to the last event.
    pub span_ns: u64,
    /// Every lifecycle, oldest first.
    pub objects: Vec<ObjectSummary>,
    /// Wait-for cycles between processes at the end (deadlock hints), as
    /// "tgid waits for tgid on object/semaphore" chains.
    pub deadlock_hints: Vec<String>,
}

/// One lifecycle.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjectSummary {
    /// `shm` or `sem`.
    pub kind: String,
    /// shmid or semid.
    pub id: i32,
    /// IPC key as `0x%08x` (`IPC_PRIVATE` is 0x00000000); None when unknown.
    pub key: Option<String>,
    /// IPC namespace inode.
    pub ipc_ns: u32,
    /// Which lifecycle of this id (ids are reused): 0 for the first seen.
    pub generation: u32,
    /// Creator as `comm[tgid]`, when seen.
    pub creator: Option<String>,
    /// The creation was derived, not seen by a kernel-path probe.
    pub create_inferred: bool,
    /// The object existed before tracing started.
    pub seen_mid_life: bool,
    /// Segment size in bytes.
    pub size: Option<u64>,
    /// Semaphores in the set.
    pub nsems: Option<u32>,
    /// Successful attaches (shm).
    pub attaches: u64,
    /// Detaches (shm).
    pub detaches: u64,
    /// Page faults (shm).
    pub faults: u64,
    /// Distinct pages touched (shm).
    pub pages_touched: u64,
    /// Semaphore operations (sem).
    pub semops: u64,
    /// P (decrement) operations (sem).
    pub p_ops: u64,
    /// V (increment) operations (sem).
    pub v_ops: u64,
    /// Operations that blocked (sem).
    pub blocked: u64,
    /// Total time blocked, ns (sem).
    pub blocked_ns: u64,
    /// Longest single wait, ns (sem).
    pub max_wait_ns: u64,
    /// Operations with SEM_UNDO (sem).
    pub undo_ops: u64,
    /// `removed`, `marked for removal`, `leaked` (still there at the end,
    /// nobody attached, creator gone) or `live` (still there at the end).
    pub status: String,
    /// The removal was derived, not seen by a kernel-path probe.
    pub removal_inferred: bool,
    /// Events of this lifecycle may be missing (ring buffer drops).
    pub incomplete: bool,
}

fn status(state: &State, o: &Object) -> &'static str {
    if o.removed.is_some() {
        "removed"
    } else if o.marked_for_removal.is_some() {
        "marked for removal"
    } else if state.is_orphan(o) {
        "leaked"
    } else {
        "live"
    }
}

fn object_summary(state: &State, o: &Object) -> ObjectSummary {
    let shm = o.shm.as_ref();
    let sem = o.sem.as_ref();
    ObjectSummary {
        kind: o.key.kind.as_str().to_string(),
        id: o.key.id,
        key: o.ipc_key.map(|k| format!("0x{:08x}", k as u32)),
        ipc_ns: o.key.ipc_ns,
        generation: o.generation,
        creator: o
            .creator
            .as_ref()
            .map(|c| format!("{}[{}]", c.comm, c.tgid)),
        create_inferred: o.create_inferred,
        seen_mid_life: o.seen_mid_life(),
        size: o.size,
        nsems: o.nsems,
        attaches: shm.map_or(0, |s| s.attaches),
        detaches: shm.map_or(0, |s| s.detaches),
        faults: shm.map_or(0, |s| s.pages.faults),
        pages_touched: shm.map_or(0, |s| s.pages.pages_touched()),
        semops: sem.map_or(0, |s| s.ops),
        p_ops: sem.map_or(0, |s| s.p_ops),
        v_ops: sem.map_or(0, |s| s.v_ops),
        blocked: sem.map_or(0, |s| s.blocked),
        blocked_ns: sem.map_or(0, |s| s.total_wait_ns),
        max_wait_ns: sem.map_or(0, |s| s.max_wait_ns),
        undo_ops: sem.map_or(0, |s| s.undo_ops),
        status: status(state, o).to_string(),
        removal_inferred: o.removal_inferred,
        incomplete: o.incomplete,
    }
}

/// Summarizes a model.
pub fn summarize(state: &State) -> Summary {
    let span_ns = state
        .first_ns()
        .map_or(0, |first| state.now_ns().saturating_sub(first));
    let deadlock_hints = state
        .deadlock_hints()
        .iter()
        .map(|cycle| {
            cycle
                .edges
                .iter()
                .map(|e| format!("{} waits for {} (semaphore {})", e.waiter, e.holder, e.num))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect();
    Summary {
        events: state.events(),
        dropped: state.drops(),
        dropped_by_probe: state
            .probes()
            .iter()
            .filter(|(_, c)| c.drops > 0)
            .map(|(p, c)| (p.to_string(), c.drops))
            .collect(),
        span_ns,
        objects: state.objects().map(|o| object_summary(state, o)).collect(),
        deadlock_hints,
    }
}

fn ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

/// The report as text, one paragraph per object.
pub fn render_text(s: &Summary) -> String {
    let mut out = String::new();
    let shm = s
        .objects
        .iter()
        .filter(|o| o.kind == ObjKind::Shm.as_str())
        .count();
    let sem = s.objects.len() - shm;
    let _ = writeln!(
        out,
        "{} events over {}, {} dropped; {shm} segment lifecycle(s), {sem} semaphore set lifecycle(s)",
        s.events,
        ms(s.span_ns),
        s.dropped
    );
    if !s.dropped_by_probe.is_empty() {
        let by: Vec<String> = s
            .dropped_by_probe
            .iter()
            .map(|(p, n)| format!("{p} {n}"))
            .collect();
        let _ = writeln!(out, "dropped by probe: {}", by.join(", "));
    }
    for o in &s.objects {
        let key = o.key.as_deref().unwrap_or("?");
        let mut flags = Vec::new();
        if o.seen_mid_life {
            flags.push("seen mid-life");
        }
        if o.create_inferred {
            flags.push("create inferred");
        }
        if o.removal_inferred {
            flags.push("removal inferred");
        }
        if o.incomplete {
            flags.push("INCOMPLETE (events lost)");
        }
        let flags = if flags.is_empty() {
            String::new()
        } else {
            format!(" [{}]", flags.join(", "))
        };
        let creator = o.creator.as_deref().unwrap_or("unknown");
        let _ = writeln!(
            out,
            "\n{} id {} key {key}: {}{flags}",
            o.kind, o.id, o.status
        );
        if o.kind == ObjKind::Shm.as_str() {
            let size = o.size.map_or("?".to_string(), |b| format!("{b} bytes"));
            let _ = writeln!(out, "  created by {creator}, {size}");
            let _ = writeln!(
                out,
                "  {} attach(es), {} detach(es), {} fault(s) on {} page(s)",
                o.attaches, o.detaches, o.faults, o.pages_touched
            );
        } else {
            let nsems = o.nsems.map_or("?".to_string(), |n| n.to_string());
            let _ = writeln!(out, "  created by {creator}, {nsems} semaphore(s)");
            let _ = writeln!(
                out,
                "  {} semop(s): {} P, {} V, {} with SEM_UNDO; {} blocked for {} (longest {})",
                o.semops,
                o.p_ops,
                o.v_ops,
                o.undo_ops,
                o.blocked,
                ms(o.blocked_ns),
                ms(o.max_wait_ns)
            );
        }
    }
    for hint in &s.deadlock_hints {
        let _ = writeln!(out, "\npossible deadlock: {hint}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Limits, fixture};

    #[test]
    fn a_model_without_its_log_summarises_the_same() {
        let events = fixture::producer_consumer();
        let mut full = State::new();
        let mut bare = State::with_limits(Limits::without_log());
        for ev in &events {
            full.apply(ev);
            bare.apply(ev);
        }
        assert_eq!(full.log().len(), events.len());
        assert!(bare.log().is_empty());
        let (a, b) = (summarize(&full), summarize(&bare));
        assert!(!a.objects.is_empty());
        assert_eq!(a, b);
    }
}
