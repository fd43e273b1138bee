//! Processes seen in the trace: name, first/last activity, exit.

use std::collections::HashMap;

/// Exited processes remembered; beyond this, the longest-exited are
/// forgotten (a host that starts a few processes a second would otherwise
/// keep one row per process for hours). Live ones are never forgotten.
pub const EXITED_CAP: usize = 4096;

/// One process (thread group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Process {
    /// Process id.
    pub tgid: u32,
    /// Task name (of its last event).
    pub comm: String,
    /// First event.
    pub first_ts: u64,
    /// Last event.
    pub last_ts: u64,
    /// When it exited (proc_exit seen).
    pub exited: Option<u64>,
    /// Known gone without an exit event (e.g. the creator of a seeded
    /// segment no longer exists).
    pub gone: bool,
    /// Events by it.
    pub events: u64,
}

impl Process {
    /// True unless it exited or is known gone.
    pub fn alive(&self) -> bool {
        self.exited.is_none() && !self.gone
    }
}

/// Processes by tgid. Past [`EXITED_CAP`] exited ones the longest-exited
/// are forgotten; live ones never are.
#[derive(Clone, Debug, Default)]
pub struct ProcessTable {
    procs: HashMap<u32, Process>,
    /// How many of `procs` have `exited` set.
    exited: usize,
}

impl ProcessTable {
    /// The row of `tgid`, created (first seen at `ts_ns`) when absent.
    fn entry(&mut self, tgid: u32, ts_ns: u64) -> &mut Process {
        self.procs.entry(tgid).or_insert_with(|| Process {
            tgid,
            comm: String::new(),
            first_ts: ts_ns,
            last_ts: ts_ns,
            exited: None,
            gone: false,
            events: 0,
        })
    }

    /// Notes an event by `tgid`.
    pub fn touch(&mut self, tgid: u32, comm: &str, ts_ns: u64) {
        let p = self.entry(tgid, ts_ns);
        p.events += 1;
        p.last_ts = p.last_ts.max(ts_ns);
        if !comm.is_empty() && p.comm != comm {
            p.comm = comm.to_string();
        }
    }

    /// Marks `tgid` exited at `ts_ns`.
    pub fn exited(&mut self, tgid: u32, ts_ns: u64) {
        if let Some(p) = self.procs.get_mut(&tgid)
            && p.exited.is_none()
        {
            p.exited = Some(ts_ns);
            self.exited += 1;
        }
        self.trim();
    }

    /// Marks `tgid` as gone (no exit event).
    pub fn gone(&mut self, tgid: u32, ts_ns: u64) {
        let p = self.entry(tgid, ts_ns);
        p.gone = true;
    }

    /// The process `tgid`.
    pub fn get(&self, tgid: u32) -> Option<&Process> {
        self.procs.get(&tgid)
    }

    /// True when `tgid` is known to have exited or be gone.
    pub fn is_gone(&self, tgid: u32) -> bool {
        self.procs.get(&tgid).is_some_and(|p| !p.alive())
    }

    /// All processes, by first activity.
    pub fn sorted(&self) -> Vec<&Process> {
        let mut v: Vec<&Process> = self.procs.values().collect();
        v.sort_by_key(|p| (p.first_ts, p.tgid));
        v
    }

    /// Number of processes.
    pub fn len(&self) -> usize {
        self.procs.len()
    }

    /// True when none.
    pub fn is_empty(&self) -> bool {
        self.procs.is_empty()
    }

    fn trim(&mut self) {
        if self.exited <= EXITED_CAP {
            return;
        }
        let mut exited: Vec<(u64, u32)> = self
            .procs
            .values()
            .filter_map(|p| p.exited.map(|t| (t, p.tgid)))
            .collect();
        exited.sort_unstable();
        // A tenth more than needed, so that the sort runs once per
        // EXITED_CAP / 10 exits, not at every one.
        let excess = self.exited - EXITED_CAP + EXITED_CAP / 10;
        for (_, tgid) in exited.into_iter().take(excess) {
            self.procs.remove(&tgid);
            self.exited -= 1;
        }
        // Rebuilt without the removed rows' tombstones: otherwise the
        // table doubles once more some thousands of exits later.
        self.procs.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use super::{EXITED_CAP, ProcessTable};

    #[test]
    fn exited_processes_are_bounded_and_live_ones_kept() {
        let mut t = ProcessTable::default();
        t.touch(1, "init", 0);
        for tgid in 2..(2 + 3 * EXITED_CAP as u32) {
            t.touch(tgid, "worker", u64::from(tgid));
            t.exited(tgid, u64::from(tgid));
        }
        assert!(t.len() <= EXITED_CAP + 1, "{} rows", t.len());
        assert!(t.get(1).is_some_and(|p| p.alive()), "the live one stays");
        // The longest-exited went first; the last to exit is there.
        assert!(t.get(2).is_none());
        assert!(t.get(1 + 3 * EXITED_CAP as u32).is_some());
        // An exit seen twice counts once.
        let before = t.len();
        t.exited(1 + 3 * EXITED_CAP as u32, 1);
        assert_eq!(t.len(), before);
    }
}
