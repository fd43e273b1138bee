//! The model: every object's lifecycle, processes, probes and the recent
//! event log, updated by [`State::apply`] one event at a time. No I/O, no
//! clock: "now" is the newest event time.
//!
//! This file holds the state and its limits; the `impl State` blocks are
//! split by job: `query.rs` (read-only accessors), `seed.rs` (objects that
//! existed before tracing), `apply.rs` (counters, dispatch, the timeline
//! note, lifecycle bookkeeping), `begin.rs` (gets and creates: how a
//! lifecycle starts), `mappings.rs` (attach, fault, detach, exit), `ops.rs`
//! (ctl, semop), `end.rs` (destroy: how a lifecycle ends) and `retention.rs`
//! (what removed lifecycles keep, and for how long).

mod apply;
mod begin;
mod end;
mod mappings;
mod ops;
mod query;
mod retention;
mod seed;

use super::bounded::Ring;
use super::deadlock::SemHolds;
use super::ids::{ObjId, ObjKind, ObjectKey};
use super::object::Object;
use super::process::ProcessTable;
use super::rate::RateWindow;
use crate::event::Backend;
use std::collections::{BTreeMap, HashMap, VecDeque};

// Defined in `logged.rs` (timelines need it, and must not import `state`).
pub use super::logged::LoggedEvent;

/// Memory limits of a [`State`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Events kept in the log (counters never need the log); 0 keeps no log.
    pub log: usize,
    /// Removed lifecycles kept for history; older ones are forgotten.
    pub removed_objects: usize,
    /// Of those, the most recent keep their details (pages, value samples,
    /// timeline tail); older ones keep only counters.
    pub removed_detailed: usize,
}

impl Limits {
    /// The default limits without the event log (`log: 0`), for a model
    /// read for its counters and lifecycles only (`summary`): the log
    /// keeps a clone of every event, which was a quarter of the cost per
    /// event of summarising a recording.
    pub fn without_log() -> Limits {
        Limits {
            log: 0,
            ..Limits::default()
        }
    }
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            log: 100_000,
            removed_objects: 10_000,
            removed_detailed: 256,
        }
    }
}

/// Per-probe counters (the stats view).
#[derive(Clone, Debug, Default)]
pub struct ProbeCounters {
    /// Events from this probe, `drops` events not included.
    pub events: u64,
    /// Of which derived (`inferred`).
    pub inferred: u64,
    /// Events the kernel could not hand over (the sum of its `drops` events).
    pub drops: u64,
    /// Events per second.
    pub rate: RateWindow,
    /// Backend of its last event.
    pub backend: Option<Backend>,
}

/// The whole reconstructed picture.
#[derive(Clone, Debug)]
pub struct State {
    limits: Limits,
    /// Every lifecycle kept, live and removed, by creation order.
    objects: BTreeMap<ObjId, Box<Object>>,
    /// The live lifecycle of each kernel identity.
    live: HashMap<ObjectKey, ObjId>,
    /// Lifecycles by IPC key (not `IPC_PRIVATE`), oldest first.
    by_key: HashMap<(u32, ObjKind, i32), Vec<ObjId>>,
    /// The next generation of each kernel identity.
    generations: HashMap<ObjectKey, u32>,
    /// Segment mappings in place, by (tgid, address): how a `shmdt`, which
    /// names only the address, finds its segment.
    mappings: HashMap<(u32, u64), ObjId>,
    /// Mappings a process exit or exec already detached, until the
    /// `shm_detach` reporting the same unmapping arrives (inferred right
    /// after it, or from `shm_close` on kernels that run the exit
    /// tracepoint before unmapping): that one is not a second detach.
    ended_mappings: HashMap<(u32, u64), ObjId>,
    /// Removed lifecycles, oldest removal first (see `retention.rs`).
    removed_order: VecDeque<ObjId>,
    next_handle: u64,
    processes: ProcessTable,
    holds: SemHolds,
    log: Ring<LoggedEvent>,
    probes: BTreeMap<crate::event::ProbeName, ProbeCounters>,
    rate: RateWindow,
    now_ns: u64,
    first_ns: Option<u64>,
    events: u64,
    drops: u64,
    failed_calls: u64,
}

impl Default for State {
    fn default() -> State {
        State::new()
    }
}

impl State {
    /// An empty model with default limits.
    pub fn new() -> State {
        State::with_limits(Limits::default())
    }

    /// An empty model with the given limits.
    pub fn with_limits(limits: Limits) -> State {
        State {
            limits,
            objects: BTreeMap::new(),
            live: HashMap::new(),
            by_key: HashMap::new(),
            generations: HashMap::new(),
            mappings: HashMap::new(),
            ended_mappings: HashMap::new(),
            removed_order: VecDeque::new(),
            next_handle: 0,
            processes: ProcessTable::default(),
            holds: SemHolds::default(),
            log: Ring::new(limits.log),
            probes: BTreeMap::new(),
            rate: RateWindow::default(),
            now_ns: 0,
            first_ns: None,
            events: 0,
            drops: 0,
            failed_calls: 0,
        }
    }
}
