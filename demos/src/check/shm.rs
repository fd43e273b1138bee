//! Segment checks after the get: attaches (SHM-5..9), faults (SHM-10..12),
//! detaches and the final destroy.

use super::CheckReport;
use super::recording::Recording;
use crate::report::{DemoReport, ShmReport};
use ipc_trace::event::{Event, EventKind};
use std::collections::{BTreeMap, BTreeSet};

pub(super) fn check(rec: &Recording, procs: &[&DemoReport], out: &mut CheckReport) {
    let users: Vec<(&DemoReport, &ShmReport)> = procs
        .iter()
        .filter_map(|p| p.shm.as_ref().map(|s| (*p, s)))
        .collect();
    foreign_faults(rec, procs, &users, out);
    for (p, s) in &users {
        attach(rec, p, s, out);
        faults(rec, p, s, out);
        detach(rec, p, s, out);
    }
    for (p, s) in users.iter().filter(|(_, s)| s.removed) {
        destroy(rec, p, s, out);
    }
}

/// Every fault must be on a demo segment, in a demo process.
fn foreign_faults(
    rec: &Recording,
    procs: &[&DemoReport],
    users: &[(&DemoReport, &ShmReport)],
    out: &mut CheckReport,
) {
    let ids: BTreeSet<i32> = users.iter().map(|(_, s)| s.id).collect();
    let pids: BTreeSet<u32> = procs.iter().map(|p| p.pid).collect();
    let all = rec.of_kind(EventKind::ShmFault);
    out.fact(format!("shm_fault events: {}", all.len()));
    let foreign: Vec<&&Event> = all
        .iter()
        .filter(|e| e.id.is_none_or(|id| !ids.contains(&id)) || !pids.contains(&e.tgid))
        .collect();
    if !foreign.is_empty() {
        let what: BTreeSet<String> = foreign
            .iter()
            .map(|e| format!("id {:?} in {} ({})", e.id, e.tgid, e.comm))
            .collect();
        out.fail(format!(
            "shm_fault: expected faults only on the demo segments {ids:?} in the demo processes, found {} others: {}",
            foreign.len(),
            what.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
}

fn attach(rec: &Recording, p: &DemoReport, s: &ShmReport, out: &mut CheckReport) {
    let label = p.label();
    let attaches: Vec<&Event> = rec
        .of_process(EventKind::ShmAttach, p.pid)
        .into_iter()
        .filter(|e| e.id == Some(s.id) && !e.failed())
        .collect();
    let [a] = attaches.as_slice() else {
        let msg = format!(
            "{label}: expected 1 shm_attach of shmid {}, found {}",
            s.id,
            attaches.len()
        );
        if attaches.is_empty() {
            out.missing(msg, 1);
        } else {
            out.fail(msg);
        }
        return;
    };
    if a.addr != Some(s.addr) {
        out.fail(format!(
            "{label}: shm_attach of shmid {} at {}, the program's shmat returned 0x{:x}",
            s.id,
            opt_hex(a.addr),
            s.addr
        ));
    }
    if rec.attached("do_shmat") && a.probe != "do_shmat" {
        out.fail(format!(
            "{label}: probe do_shmat is attached, but the shm_attach came from `{}`",
            a.probe
        ));
    }
}

fn faults(rec: &Recording, p: &DemoReport, s: &ShmReport, out: &mut CheckReport) {
    let label = p.label();
    let faults: Vec<&Event> = rec
        .of_process(EventKind::ShmFault, p.pid)
        .into_iter()
        .filter(|e| e.id == Some(s.id))
        .collect();
    let mut per_page: BTreeMap<u64, usize> = BTreeMap::new();
    for f in &faults {
        if let Some(page) = f.page {
            *per_page.entry(page).or_default() += 1;
        }
    }
    let touched: BTreeSet<u64> = s.pages_touched.iter().copied().collect();
    let missing: Vec<u64> = touched
        .iter()
        .filter(|pg| !per_page.contains_key(pg))
        .copied()
        .collect();
    if !missing.is_empty() {
        out.missing(
            format!(
                "{label}: expected 1 shm_fault per touched page of shmid {}, pages {} have none",
                s.id,
                ranges(&missing)
            ),
            missing.len() as u64,
        );
    }
    for (page, n) in &per_page {
        if !touched.contains(page) {
            out.fail(format!(
                "{label}: shm_fault on page {page} of shmid {}, which the program did not touch (touched: {})",
                s.id,
                ranges(&s.pages_touched)
            ));
        } else if *n > 1 {
            out.fail(format!(
                "{label}: expected 1 shm_fault on page {page} of shmid {}, found {n} (counted twice?)",
                s.id
            ));
        }
    }
    let page_size = p.page_size.max(1);
    for f in &faults {
        if let (Some(addr), Some(page)) = (f.addr, f.page) {
            let computed = addr.checked_sub(s.addr).map(|off| off / page_size);
            if computed != Some(page) {
                out.fail(format!(
                    "{label}: shm_fault at 0x{addr:x} says page {page}, but with the mapping at 0x{:x} that is page {}",
                    s.addr,
                    computed.map_or("(below the mapping)".to_string(), |c| c.to_string())
                ));
            }
        }
    }
    if rec.attached("shm_fault") {
        let other = faults.iter().filter(|f| f.probe != "shm_fault").count();
        if other > 0 {
            out.fail(format!(
                "{label}: probe shm_fault is attached, but {other} of {} faults came from another probe",
                faults.len()
            ));
        }
        if rec.attached("shmem_fault") {
            let without = faults.iter().filter(|f| f.shmem != Some(true)).count();
            if without > 0 {
                out.fail(format!(
                    "{label}: probes shm_fault and shmem_fault are attached, but {without} of {} faults lack `shmem: true` (SHM-12)",
                    faults.len()
                ));
            }
        }
    }
    out.fact(format!(
        "{label}: {} shm_fault events for {} touched pages",
        faults.len(),
        touched.len()
    ));
}

fn detach(rec: &Recording, p: &DemoReport, s: &ShmReport, out: &mut CheckReport) {
    if !s.detached {
        return;
    }
    let label = p.label();
    let detaches: Vec<&Event> = rec
        .of_process(EventKind::ShmDetach, p.pid)
        .into_iter()
        .filter(|e| e.addr == Some(s.addr) && !e.failed())
        .collect();
    let [d] = detaches.as_slice() else {
        let msg = format!(
            "{label}: expected 1 shm_detach at 0x{:x} (shmid {}), found {}",
            s.addr,
            s.id,
            detaches.len()
        );
        if detaches.is_empty() {
            out.missing(msg, 1);
        } else {
            out.fail(msg);
        }
        return;
    };
    if d.id.is_some_and(|id| id != s.id) {
        out.fail(format!(
            "{label}: shm_detach at 0x{:x} names shmid {:?}, expected {}",
            s.addr, d.id, s.id
        ));
    }
}

fn destroy(rec: &Recording, p: &DemoReport, s: &ShmReport, out: &mut CheckReport) {
    let label = p.label();
    let destroys: Vec<&Event> = rec
        .of_kind(EventKind::ShmDestroy)
        .into_iter()
        .filter(|e| e.id == Some(s.id))
        .collect();
    let [d] = destroys.as_slice() else {
        let msg = format!(
            "{label} removed shmid {}: expected 1 shm_destroy, found {}",
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
    let last_use = [
        EventKind::ShmDetach,
        EventKind::ShmAttach,
        EventKind::ShmFault,
    ]
    .into_iter()
    .flat_map(|k| rec.of_kind(k))
    .filter(|e| e.id == Some(s.id))
    .max_by_key(|e| e.ts_ns);
    if let Some(u) = last_use
        && u.ts_ns > d.ts_ns
    {
        out.fail(format!(
            "shmid {}: shm_destroy (ts {}) comes before the last use, a {} by {} (ts {})",
            s.id,
            d.ts_ns,
            u.kind.as_str(),
            u.tgid,
            u.ts_ns
        ));
    }
    // The kernel resets the key to IPC_PRIVATE (0) when a segment that is
    // still attached is removed, so 0 is the key as well.
    if d.key.is_some_and(|k| k != s.key && k != 0) {
        out.fail(format!(
            "shmid {}: shm_destroy names key {}, expected {} (or 0)",
            s.id,
            opt_key(d.key),
            super::hex(s.key)
        ));
    }
}

fn opt_hex(v: Option<u64>) -> String {
    v.map_or("(none)".to_string(), |a| format!("0x{a:x}"))
}

fn opt_key(v: Option<i32>) -> String {
    v.map_or("(none)".to_string(), super::hex)
}

/// `0-3,7` for a sorted list of page indices.
fn ranges(pages: &[u64]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < pages.len() {
        let start = pages[i];
        let mut end = start;
        while i + 1 < pages.len() && pages[i + 1] == end + 1 {
            i += 1;
            end = pages[i];
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    parts.join(",")
}
