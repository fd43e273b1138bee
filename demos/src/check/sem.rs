//! Semaphore checks after the get: SETALL (SEM-4..6), every semop one to one
//! (SEM-7..9), waits, and the final destroy.

use super::CheckReport;
use super::recording::Recording;
use crate::report::{DemoReport, Role, SemReport};
use ipc_trace::event::{Event, EventKind, SemOpSpec};

pub(super) fn check(rec: &Recording, procs: &[&DemoReport], out: &mut CheckReport) {
    let users: Vec<(&DemoReport, &SemReport)> = procs
        .iter()
        .filter_map(|p| p.sem.as_ref().map(|s| (*p, s)))
        .collect();
    let all = rec.of_kind(EventKind::SemOp);
    let blocked = all.iter().filter(|e| e.blocked == Some(true)).count();
    let max_wait = all.iter().filter_map(|e| e.wait_ns).max().unwrap_or(0);
    out.fact(format!(
        "sem_op events: {} (blocked {blocked}, longest wait {} us)",
        all.len(),
        max_wait / 1000
    ));
    for (p, s) in &users {
        setall(rec, p, s, out);
        semops(rec, p, s, out);
    }
    for (p, s) in users.iter().filter(|(_, s)| s.removed) {
        destroy(rec, p, s, out);
    }
}

fn setall(rec: &Recording, p: &DemoReport, s: &SemReport, out: &mut CheckReport) {
    let Some(values) = &s.setall else { return };
    let label = p.label();
    let ctls: Vec<&Event> = rec
        .of_process(EventKind::SemCtl, p.pid)
        .into_iter()
        .filter(|e| e.id == Some(s.id) && e.cmd.as_deref() == Some("SETALL"))
        .collect();
    let [c] = ctls.as_slice() else {
        let msg = format!(
            "{label}: expected 1 sem_ctl SETALL on semid {}, found {}",
            s.id,
            ctls.len()
        );
        if ctls.is_empty() {
            out.missing(msg, 1);
        } else {
            out.fail(msg);
        }
        return;
    };
    if c.values.as_ref() != Some(values) {
        out.fail(format!(
            "{label}: sem_ctl SETALL on semid {} set {:?}, the program set {values:?}",
            s.id, c.values
        ));
    }
    if c.failed() {
        out.fail(format!(
            "{label}: sem_ctl SETALL on semid {} failed in the recording",
            s.id
        ));
    }
}

fn show(ops: &[SemOpSpec]) -> String {
    let parts: Vec<String> = ops
        .iter()
        .map(|o| format!("{{num {}, op {}, flg {}}}", o.num, o.op, o.flg))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// True when event `e` is the semop call `ops`.
fn same_call(e: &Event, ops: &[SemOpSpec]) -> bool {
    e.ops.as_deref() == Some(ops) && e.nsops.is_none_or(|n| n as usize == ops.len())
}

/// When `events` are `calls` in order with some missing: for each event,
/// the index of its call (the earliest match, which finds a subsequence
/// whenever there is one).
fn align(events: &[&Event], calls: &[Vec<SemOpSpec>]) -> Option<Vec<usize>> {
    let mut next = 0;
    let mut out = Vec::with_capacity(events.len());
    for e in events {
        let found = (next..calls.len()).find(|&j| same_call(e, &calls[j]))?;
        out.push(found);
        next = found + 1;
    }
    Some(out)
}

fn semops(rec: &Recording, p: &DemoReport, s: &SemReport, out: &mut CheckReport) {
    let label = p.label();
    let events: Vec<&Event> = rec
        .of_process(EventKind::SemOp, p.pid)
        .into_iter()
        .filter(|e| e.id == Some(s.id))
        .collect();
    // `calls[i]`: the semop call that recorded event i is.
    let missing = s.semops.len().saturating_sub(events.len());
    let calls: Vec<usize> = if events.len() == s.semops.len() {
        (0..events.len()).collect()
    } else if missing > 0 {
        match align(&events, &s.semops) {
            Some(calls) => {
                out.missing(
                    format!(
                        "{label}: expected {} sem_op events on semid {} (one per semop call), found {} (each recorded one matches its call)",
                        s.semops.len(),
                        s.id,
                        events.len()
                    ),
                    missing as u64,
                );
                calls
            }
            None => {
                out.fail(format!(
                    "{label}: the {} sem_op events on semid {} are not the program's {} semop calls in order with some missing",
                    events.len(),
                    s.id,
                    s.semops.len()
                ));
                return;
            }
        }
    } else {
        out.fail(format!(
            "{label}: expected {} sem_op events on semid {} (one per semop call), found {}",
            s.semops.len(),
            s.id,
            events.len()
        ));
        (0..s.semops.len()).collect()
    };
    let mismatches: Vec<usize> = events
        .iter()
        .zip(&calls)
        .filter(|(e, i)| !same_call(e, &s.semops[**i]))
        .map(|(_, i)| *i)
        .collect();
    if let Some(&i) = mismatches.first() {
        let e = calls.iter().position(|c| *c == i).map(|k| events[k]);
        out.fail(format!(
            "{label}: semop call #{i} on semid {} was {}, the sem_op event says {} ({} of {} calls differ)",
            s.id,
            show(&s.semops[i]),
            e.and_then(|e| e.ops.as_deref()).map_or("(no ops)".to_string(), show),
            mismatches.len(),
            calls.len()
        ));
    }
    let no_wait: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.blocked == Some(true) && e.wait_ns.unwrap_or(0) == 0)
        .map(|(i, _)| i)
        .collect();
    if !no_wait.is_empty() {
        out.fail(format!(
            "{label}: blocked sem_op events must have wait_ns > 0, {} do not (first: call #{})",
            no_wait.len(),
            no_wait[0]
        ));
    }
    let not_blocked: Vec<usize> = s
        .blocking_semops
        .iter()
        .copied()
        // A call that is not recorded (an accounted kernel loss) is skipped.
        .filter(|&i| {
            calls
                .iter()
                .position(|c| *c == i)
                .is_some_and(|k| events[k].blocked != Some(true))
                || (calls.len() == s.semops.len() && i >= events.len())
        })
        .collect();
    if !not_blocked.is_empty() {
        out.fail(format!(
            "{label}: {} semop calls were guaranteed to sleep but their sem_op events are not blocked (first: call #{})",
            not_blocked.len(),
            not_blocked[0]
        ));
    }
    let blocked = events.iter().filter(|e| e.blocked == Some(true)).count();
    if matches!(p.role, Role::PingpongParent | Role::PingpongChild) && blocked == 0 {
        out.fail(format!(
            "{label}: expected at least one blocked sem_op on semid {} (every P waits for the other side), found none",
            s.id
        ));
    }
    let undo = events
        .iter()
        .filter(|e| e.ops.iter().flatten().any(|o| o.undo()))
        .count();
    out.fact(format!(
        "{label}: {} sem_op events on semid {} ({blocked} blocked, {undo} with SEM_UNDO)",
        events.len(),
        s.id
    ));
}

fn destroy(rec: &Recording, p: &DemoReport, s: &SemReport, out: &mut CheckReport) {
    let label = p.label();
    let destroys: Vec<&Event> = rec
        .of_kind(EventKind::SemDestroy)
        .into_iter()
        .filter(|e| e.id == Some(s.id))
        .collect();
    let [d] = destroys.as_slice() else {
        let msg = format!(
            "{label} removed semid {}: expected 1 sem_destroy, found {}",
            s.id,
            destroys.len()
        );
        if destroys.is_empty() {
            out.missing(msg, 1);
        } else {
            out.fail(msg);
        }
        return;
    };
    let last_op = rec
        .of_kind(EventKind::SemOp)
        .into_iter()
        .filter(|e| e.id == Some(s.id) && !e.failed())
        .max_by_key(|e| e.ts_ns);
    if let Some(op) = last_op
        && op.ts_ns > d.ts_ns
    {
        out.fail(format!(
            "semid {}: sem_destroy (ts {}) comes before the last sem_op, by {} (ts {})",
            s.id, d.ts_ns, op.tgid, op.ts_ns
        ));
    }
    if d.key.is_some_and(|k| k != s.key) {
        out.fail(format!(
            "semid {}: sem_destroy names key {}, expected {}",
            s.id,
            d.key.map_or("(none)".to_string(), super::hex),
            super::hex(s.key)
        ));
    }
}
