//! Deadlock hints: wait-for cycles between processes on semaphores.
//!
//! A semop that sleeps is only reported when it returns, so the trace can
//! never show a process that is *still* waiting. The hint is therefore built
//! from what the trace does show:
//!
//! * **holds**: per (set, semaphore, process), the units the process took
//!   with successful P operations minus the units it gave back with V
//!   operations (units taken with `SEM_UNDO` are given back when the
//!   process exits). A positive balance means "holds".
//! * **last blocked wait**: per process, its latest semop on a set if that
//!   semop slept (whether it then succeeded, timed out or was interrupted),
//!   and only while it is still that process's latest semop on the set.
//!
//! Edge `A → B` ("A waited for B"): A's last blocked wait asked to decrement
//! semaphore `n` of set `S`, and B (another process, alive) holds `n` of `S`
//! now. A cycle `A → B → … → A` is the classic lock-order inversion (ABBA):
//! each waited for a semaphore another one holds. It is a *hint*: semaphores
//! used as signals rather than locks (a producer that only P's, a consumer
//! that only V's) hold nothing by this definition and form no edges; sets
//! with values above one may form edges that are not real waits.

use super::ids::{Actor, ObjId};
use super::sem::OpResult;
use crate::event::SemOpSpec;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Cycles reported at most.
const MAX_CYCLES: usize = 16;

/// The latest blocked semop of a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockedWait {
    /// Who waited.
    pub actor: Actor,
    /// The set's lifecycle.
    pub obj: ObjId,
    /// Semaphores it asked to decrement.
    pub nums: Vec<u16>,
    /// When it returned.
    pub ts_ns: u64,
    /// How long it slept.
    pub wait_ns: u64,
    /// It succeeded in the end.
    pub ok: bool,
}

/// One edge of a wait-for cycle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitEdge {
    /// The process that waited.
    pub waiter: u32,
    /// The process holding what it waited for.
    pub holder: u32,
    /// The set's lifecycle.
    pub obj: ObjId,
    /// The semaphore's index in the set.
    pub num: u16,
}

/// A wait-for cycle: a possible deadlock.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitCycle {
    /// The edges, in cycle order, starting at the lowest tgid.
    pub edges: Vec<WaitEdge>,
}

#[derive(Clone, Copy, Debug, Default)]
struct Balance {
    net: i64,
    undo: i64,
}

/// Who holds which semaphore, and who waited last.
#[derive(Clone, Debug, Default)]
pub struct SemHolds {
    holds: HashMap<(ObjId, u16, u32), Balance>,
    last_blocked: HashMap<u32, BlockedWait>,
}

impl SemHolds {
    /// A semop on `obj` returned.
    pub fn apply(
        &mut self,
        obj: ObjId,
        actor: &Actor,
        ts_ns: u64,
        ops: &[SemOpSpec],
        result: OpResult,
    ) {
        let OpResult {
            ok,
            blocked,
            wait_ns,
        } = result;
        let tgid = actor.tgid;
        if blocked {
            let nums: Vec<u16> = ops.iter().filter(|o| o.op < 0).map(|o| o.num).collect();
            if !nums.is_empty() {
                self.last_blocked.insert(
                    tgid,
                    BlockedWait {
                        actor: actor.clone(),
                        obj,
                        nums,
                        ts_ns,
                        wait_ns,
                        ok,
                    },
                );
            }
        } else if self.last_blocked.get(&tgid).is_some_and(|w| w.obj == obj) {
            self.last_blocked.remove(&tgid);
        }
        if !ok {
            return;
        }
        for op in ops.iter().filter(|o| o.op != 0) {
            let key = (obj, op.num, tgid);
            let b = self.holds.entry(key).or_default();
            let taken = -i64::from(op.op);
            b.net += taken;
            if op.undo() {
                b.undo += taken;
            }
            if b.net == 0 && b.undo == 0 {
                self.holds.remove(&key);
            }
        }
    }

    /// A process exited: its `SEM_UNDO` adjustments are applied, it waits
    /// for nothing any more.
    pub fn exited(&mut self, tgid: u32) {
        self.last_blocked.remove(&tgid);
        for ((_, _, t), b) in self.holds.iter_mut() {
            if *t == tgid {
                b.net -= b.undo;
                b.undo = 0;
            }
        }
        self.holds.retain(|_, b| b.net != 0 || b.undo != 0);
    }

    /// A set was freed: nothing on it is held or waited for.
    pub fn removed(&mut self, obj: ObjId) {
        self.holds.retain(|(o, _, _), _| *o != obj);
        self.last_blocked.retain(|_, w| w.obj != obj);
    }

    /// Units of `num` in `obj` held by `tgid` (may be negative for a
    /// process that only releases).
    pub fn held(&self, obj: ObjId, num: u16, tgid: u32) -> i64 {
        self.holds.get(&(obj, num, tgid)).map_or(0, |b| b.net)
    }

    /// The latest blocked wait of every process, by tgid.
    pub fn last_blocked(&self) -> impl Iterator<Item = &BlockedWait> {
        self.last_blocked.values()
    }

    /// The wait-for edges; `alive` says whether a holder still runs.
    pub fn edges(&self, alive: impl Fn(u32) -> bool) -> Vec<WaitEdge> {
        let mut out = Vec::new();
        for (waiter, w) in &self.last_blocked {
            for num in &w.nums {
                for ((o, n, holder), b) in &self.holds {
                    if *o == w.obj && n == num && holder != waiter && b.net > 0 && alive(*holder) {
                        out.push(WaitEdge {
                            waiter: *waiter,
                            holder: *holder,
                            obj: w.obj,
                            num: *num,
                        });
                    }
                }
            }
        }
        out.sort_by_key(|e| (e.waiter, e.holder, e.obj, e.num));
        out.dedup();
        out
    }

    /// Elementary wait-for cycles (at most 16), each starting at its lowest
    /// tgid.
    pub fn cycles(&self, alive: impl Fn(u32) -> bool) -> Vec<WaitCycle> {
        let edges = self.edges(alive);
        let mut graph: BTreeMap<u32, Vec<&WaitEdge>> = BTreeMap::new();
        for e in &edges {
            graph.entry(e.waiter).or_default().push(e);
        }
        let mut cycles = Vec::new();
        let starts: Vec<u32> = graph.keys().copied().collect();
        for start in starts {
            let mut path: Vec<&WaitEdge> = Vec::new();
            let mut on_path = BTreeSet::from([start]);
            walk(&graph, start, start, &mut path, &mut on_path, &mut cycles);
            if cycles.len() >= MAX_CYCLES {
                break;
            }
        }
        cycles
    }
}

fn walk<'a>(
    graph: &BTreeMap<u32, Vec<&'a WaitEdge>>,
    start: u32,
    at: u32,
    path: &mut Vec<&'a WaitEdge>,
    on_path: &mut BTreeSet<u32>,
    out: &mut Vec<WaitCycle>,
) {
    let Some(next) = graph.get(&at) else { return };
    for e in next {
        if out.len() >= MAX_CYCLES {
            return;
        }
        if e.holder == start {
            let mut edges: Vec<WaitEdge> = path.iter().map(|e| (*e).clone()).collect();
            edges.push((*e).clone());
            out.push(WaitCycle { edges });
        } else if e.holder > start && !on_path.contains(&e.holder) {
            on_path.insert(e.holder);
            path.push(e);
            walk(graph, start, e.holder, path, on_path, out);
            path.pop();
            on_path.remove(&e.holder);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(tgid: u32) -> Actor {
        Actor {
            pid: tgid,
            tgid,
            comm: format!("p{tgid}"),
        }
    }

    fn res(ok: bool, blocked: bool, wait_ns: u64) -> OpResult {
        OpResult {
            ok,
            blocked,
            wait_ns,
        }
    }

    fn op(num: u16, op: i16) -> SemOpSpec {
        SemOpSpec { num, op, flg: 0 }
    }

    #[test]
    fn abba_forms_a_cycle_and_ping_pong_does_not() {
        let set = ObjId(1);
        let mut h = SemHolds::default();
        // A takes 0, B takes 1; each then times out waiting for the other's.
        h.apply(set, &actor(10), 1, &[op(0, -1)], res(true, false, 0));
        h.apply(set, &actor(20), 2, &[op(1, -1)], res(true, false, 0));
        h.apply(set, &actor(10), 3, &[op(1, -1)], res(false, true, 1_000));
        h.apply(set, &actor(20), 4, &[op(0, -1)], res(false, true, 1_000));
        let cycles = h.cycles(|_| true);
        assert_eq!(cycles.len(), 1, "{cycles:?}");
        let c = &cycles[0];
        assert_eq!(
            c.edges
                .iter()
                .map(|e| (e.waiter, e.holder, e.num))
                .collect::<Vec<_>>(),
            vec![(10, 20, 1), (20, 10, 0)]
        );
        // B exits without undo: it still holds 1, but it cannot wait any more.
        h.exited(20);
        assert!(h.cycles(|t| t != 20).is_empty());

        // Producer/consumer signalling: P(empty)/V(full) vs P(full)/V(empty).
        let pc = ObjId(2);
        let mut g = SemHolds::default();
        for i in 0..5 {
            g.apply(pc, &actor(1), i * 4, &[op(0, -1)], res(true, true, 10));
            g.apply(pc, &actor(1), i * 4 + 1, &[op(1, 1)], res(true, false, 0));
            g.apply(pc, &actor(2), i * 4 + 2, &[op(1, -1)], res(true, true, 10));
            g.apply(pc, &actor(2), i * 4 + 3, &[op(0, 1)], res(true, false, 0));
        }
        // Both end in a blocked P: each waits on what only it took itself.
        g.apply(pc, &actor(1), 100, &[op(0, -1)], res(true, true, 10));
        g.apply(pc, &actor(2), 101, &[op(1, -1)], res(true, true, 10));
        assert_eq!(g.last_blocked().count(), 2);
        assert!(g.edges(|_| true).is_empty());
        assert!(g.cycles(|_| true).is_empty());
    }
}
