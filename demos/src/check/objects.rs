//! Gets and creates (kernel steps SHM-1..3 and SEM-1..3): who created each object,
//! and that the others found it by key afterwards.

use super::recording::{Recording, returned_id};
use super::{CheckReport, hex};
use crate::report::DemoReport;
use ipc_trace::event::{Event, EventKind};

/// One process's use of one object, shm or sem alike.
struct Use<'a> {
    proc: &'a DemoReport,
    key: i32,
    id: i32,
    created: bool,
    get_called: bool,
    amount: u64,
}

/// What differs between segments and sets.
struct Kind {
    noun: &'static str,
    get: EventKind,
    create: EventKind,
    probe: &'static str,
    amount_name: &'static str,
    amount: fn(&Event) -> Option<u64>,
}

const SHM: Kind = Kind {
    noun: "segment",
    get: EventKind::ShmGet,
    create: EventKind::ShmCreate,
    probe: "newseg",
    amount_name: "size",
    amount: |e| e.size,
};

const SEM: Kind = Kind {
    noun: "semaphore set",
    get: EventKind::SemGet,
    create: EventKind::SemCreate,
    probe: "newary",
    amount_name: "nsems",
    amount: |e| e.nsems.map(u64::from),
};

pub(super) fn check(rec: &Recording, procs: &[&DemoReport], out: &mut CheckReport) {
    let shm: Vec<Use> = procs
        .iter()
        .filter_map(|p| {
            p.shm.as_ref().map(|s| Use {
                proc: p,
                key: s.key,
                id: s.id,
                created: s.created,
                get_called: true,
                amount: s.size,
            })
        })
        .collect();
    let sem: Vec<Use> = procs
        .iter()
        .filter_map(|p| {
            p.sem.as_ref().map(|s| Use {
                proc: p,
                key: s.key,
                id: s.id,
                created: s.created,
                get_called: s.get_called,
                amount: u64::from(s.nsems),
            })
        })
        .collect();
    check_kind(rec, &SHM, &shm, out);
    check_kind(rec, &SEM, &sem, out);
}

fn check_kind(rec: &Recording, kind: &Kind, uses: &[Use], out: &mut CheckReport) {
    let (get, create) = (kind.get.as_str(), kind.create.as_str());
    let creates = rec.of_kind(kind.create);
    let probe_attached = rec.attached(kind.probe);
    if rec.probe(kind.probe).is_none() {
        out.fail(format!("header: no probe row for `{}`", kind.probe));
    }
    for u in uses {
        let label = u.proc.label();
        // The get by key (SHM-1 / SEM-1).
        let gets: Vec<&Event> = rec
            .of_process(kind.get, u.proc.pid)
            .into_iter()
            .filter(|e| e.key == Some(u.key) && !e.failed())
            .collect();
        let the_get = match (u.get_called, gets.as_slice()) {
            (true, [g]) => {
                if returned_id(g) != Some(u.id) {
                    out.fail(format!(
                        "{label}: {get} with key {} returned id {:?}, the program got {}",
                        hex(u.key),
                        returned_id(g),
                        u.id
                    ));
                }
                Some(*g)
            }
            (true, found) => {
                let msg = format!(
                    "{label}: expected 1 successful {get} with key {}, found {}",
                    hex(u.key),
                    found.len()
                );
                if found.is_empty() {
                    out.missing(msg, 1);
                } else {
                    out.fail(msg);
                }
                None
            }
            (false, []) => None,
            (false, found) => {
                out.fail(format!(
                    "{label}: never called {get} (it inherited id {}), found {}",
                    u.id,
                    found.len()
                ));
                None
            }
        };
        let with_key: Vec<&&Event> = creates.iter().filter(|e| e.key == Some(u.key)).collect();
        if u.created {
            // SHM-3 / SEM-3: exactly one create, in the creator's process.
            let [c] = with_key.as_slice() else {
                let msg = format!(
                    "{label}: expected exactly 1 {create} with key {} (this process created the {}), found {}",
                    hex(u.key),
                    kind.noun,
                    with_key.len()
                );
                match (with_key.is_empty(), the_get.is_none() && u.get_called) {
                    // Inferred from the get, lost with it: the same record.
                    (true, true) => out.missing(msg, 0),
                    (true, false) => out.missing(msg, 1),
                    (false, _) => out.fail(msg),
                }
                continue;
            };
            if c.tgid != u.proc.pid {
                out.fail(format!(
                    "{label}: {create} with key {} is in process {}, expected the creator {}",
                    hex(u.key),
                    c.tgid,
                    u.proc.pid
                ));
            }
            if c.id != Some(u.id) {
                out.fail(format!(
                    "{label}: {create} with key {} has id {:?}, the program got {}",
                    hex(u.key),
                    c.id,
                    u.id
                ));
            }
            if (kind.amount)(c) != Some(u.amount) {
                out.fail(format!(
                    "{label}: {create} with key {} has {} {:?}, expected {}",
                    hex(u.key),
                    kind.amount_name,
                    (kind.amount)(c),
                    u.amount
                ));
            }
            if probe_attached && c.inferred {
                out.fail(format!(
                    "{label}: probe {} is attached, but the {create} is marked inferred",
                    kind.probe
                ));
            }
            if !probe_attached && !c.inferred {
                out.fail(format!(
                    "{label}: probe {} is not attached, but the {create} is not marked inferred (probe `{}`)",
                    kind.probe, c.probe
                ));
            }
            if let Some(g) = the_get
                && g.ts_ns < c.ts_ns
            {
                out.fail(format!(
                    "{label}: its {get} (ts {}) comes before the {create} it caused (ts {})",
                    g.ts_ns, c.ts_ns
                ));
            }
            out.fact(format!(
                "{create}: key {} id {} {} {} by {} via {}{}",
                hex(u.key),
                u.id,
                kind.amount_name,
                u.amount,
                c.tgid,
                c.probe,
                if c.inferred { " (inferred)" } else { "" }
            ));
        } else {
            // SHM-2 / SEM-2: found by key, no create of its own.
            let own: Vec<_> = with_key.iter().filter(|e| e.tgid == u.proc.pid).collect();
            if !own.is_empty() {
                out.fail(format!(
                    "{label}: found the {} by key, expected no {create} in its process, found {}",
                    kind.noun,
                    own.len()
                ));
            }
            let creator = with_key.iter().find(|e| e.tgid != u.proc.pid);
            if let (Some(g), Some(c)) = (the_get, creator)
                && g.ts_ns <= c.ts_ns
            {
                out.fail(format!(
                    "{label}: its {get} of key {} (ts {}) is not after the {create} by process {} (ts {})",
                    hex(u.key),
                    g.ts_ns,
                    c.tgid,
                    c.ts_ns
                ));
            }
        }
    }
}
