//! One lifecycle of one System V object (a segment or a semaphore set).

use super::bounded::HeadTail;
use super::evidence::Evidence;
use super::pages::PageMap;
use super::rate::RateWindow;
use super::sem::SemState;
use super::steps::StepSet;
use super::timeline::Timeline;

// Defined in the leaf `ids.rs` and in `timeline.rs`; kept reachable here.
pub use super::ids::{Actor, ObjId, ObjKind, ObjectKey};
pub use super::timeline::TimelineEntry;

/// How the object's life began, as far as the trace knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A create event was seen (newseg/newary or an inferred create).
    Created,
    /// A `*_get` with `IPC_CREAT` returned an id not known before: created by
    /// that call, no create event (yet).
    CreatedByGet,
    /// It existed before tracing started (from /proc/sysvipc, or first seen
    /// in use).
    SeenMidLife,
}

/// One lifecycle of one object, from its create (or first sight) to its
/// removal. When the kernel reuses the id, a new `Object` begins.
#[derive(Clone, Debug)]
pub struct Object {
    /// Its handle in the model; never reused.
    pub handle: ObjId,
    /// The kernel identity, shared with other lifecycles of a reused id.
    pub key: ObjectKey,
    /// 0 for the first lifecycle of this id, +1 each time the id came back.
    pub generation: u32,
    /// IPC key (`IPC_PRIVATE` = 0), when known.
    pub ipc_key: Option<i32>,
    /// The creating process, when known.
    pub creator: Option<Actor>,
    /// Segment size in bytes (shm).
    pub size: Option<u64>,
    /// Semaphores in the set (sem).
    pub nsems: Option<u32>,
    /// Permission bits (`flags & 0o777`).
    pub perms: Option<u32>,
    /// When it was created (or first seen, for mid-life objects).
    pub created_ts: u64,
    /// How its life began.
    pub origin: Origin,
    /// The creation was derived rather than seen by newseg/newary.
    pub create_inferred: bool,
    /// When `IPC_RMID` succeeded (a segment lives on until its last detach).
    pub marked_for_removal: Option<u64>,
    /// When it was freed; `None` while the kernel still has it.
    pub removed: Option<u64>,
    /// The removal was derived, not seen.
    pub removal_inferred: bool,
    /// Events were dropped while it was alive: its counters are lower bounds.
    pub incomplete: bool,
    /// `*_get` calls that found it by key.
    pub finds: u64,
    /// Events applied to it.
    pub events: u64,
    /// Time of its newest event.
    pub last_ts: u64,
    /// Operations (attaches, faults, semops) per second.
    pub activity: RateWindow,
    /// The lifecycle as lived, bounded (first and last entries kept;
    /// resolve with `State::timeline`).
    pub timeline: Timeline,
    /// Every kernel step the trace shows on it, at any level of evidence.
    pub steps_seen: StepSet,
    /// Of those, the steps a kernel-path probe on the doing function saw.
    pub steps_in_kernel: StepSet,
    /// Of those, the steps seen at the syscall boundary.
    pub steps_at_boundary: StepSet,
    /// Segment state (shm only).
    pub shm: Option<Box<ShmState>>,
    /// Set state (sem only).
    pub sem: Option<Box<SemState>>,
    /// A create was seen and the creating `*_get` has not returned yet (its
    /// tgid): that get "created", not "found".
    pub(crate) awaiting_get: Option<u32>,
}

impl Object {
    /// A new lifecycle of `key`.
    pub fn new(handle: ObjId, key: ObjectKey, generation: u32, ts: u64, origin: Origin) -> Object {
        Object {
            handle,
            key,
            generation,
            ipc_key: None,
            creator: None,
            size: None,
            nsems: None,
            perms: None,
            created_ts: ts,
            origin,
            create_inferred: false,
            marked_for_removal: None,
            removed: None,
            removal_inferred: false,
            incomplete: false,
            finds: 0,
            events: 0,
            last_ts: ts,
            activity: RateWindow::default(),
            timeline: Timeline::default(),
            steps_seen: StepSet::EMPTY,
            steps_in_kernel: StepSet::EMPTY,
            steps_at_boundary: StepSet::EMPTY,
            shm: (key.kind == ObjKind::Shm).then(Box::default),
            sem: (key.kind == ObjKind::Sem).then(Box::default),
            awaiting_get: None,
        }
    }

    /// True while the kernel still has it.
    pub fn is_live(&self) -> bool {
        self.removed.is_none()
    }

    /// Current attaches (shm; 0 for sets).
    pub fn nattch(&self) -> u64 {
        self.shm.as_ref().map_or(0, |s| s.nattch())
    }

    /// The strongest evidence the trace has for step `s` on this lifecycle.
    pub fn step_evidence(&self, s: super::steps::Step) -> Evidence {
        if self.steps_in_kernel.contains(s) {
            Evidence::InKernel
        } else if self.steps_at_boundary.contains(s) {
            Evidence::SyscallBoundary
        } else if self.steps_seen.contains(s) {
            Evidence::Implied
        } else {
            Evidence::NotVisible
        }
    }

    /// The key as `ipcs` prints it: `0x00016988`.
    pub fn key_hex(&self) -> String {
        match self.ipc_key {
            Some(k) => format!("0x{:08x}", k as u32),
            None => "?".to_string(),
        }
    }

    /// Drops the details of a long-removed lifecycle (page records, value
    /// samples, all of the timeline but its first entry, attach history), keeping its counters.
    pub fn compact(&mut self) {
        self.timeline.compact();
        if let Some(s) = self.shm.as_mut() {
            s.pages.compact();
            s.history = HeadTail::new(0, 1);
        }
        if let Some(s) = self.sem.as_mut() {
            s.compact();
        }
    }

    /// True when it existed before tracing started.
    pub fn seen_mid_life(&self) -> bool {
        self.origin == Origin::SeenMidLife
    }
}

/// One mapping of a segment in a process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mapping {
    /// The attaching task.
    pub actor: Actor,
    /// Attached address.
    pub addr: u64,
    /// When it was attached.
    pub ts_ns: u64,
}

/// What happened to a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachOp {
    /// `shmat`.
    Attach,
    /// `shmdt` / close of the mapping.
    Detach,
    /// The process exited with the mapping in place.
    Exit,
    /// A forked child got a copy of its parent's mapping.
    Inherit,
    /// The process replaced its image (`execve`) with the mapping in place.
    Exec,
}

/// One attach or detach in a segment's history.
#[derive(Clone, Debug)]
pub struct AttachRecord {
    /// Attach, detach or exit.
    pub op: AttachOp,
    /// The task that attached, detached or exited.
    pub actor: Actor,
    /// Start of the mapping in that process.
    pub addr: u64,
    /// Event time.
    pub ts_ns: u64,
}

/// What a segment's lifecycle keeps beyond the common fields.
#[derive(Clone, Debug)]
pub struct ShmState {
    /// Mappings in place now (seen attached, not yet detached).
    pub mappings: Vec<Mapping>,
    /// Attaches that existed before tracing (from `/proc/sysvipc/shm`),
    /// whose process and address are unknown.
    pub unknown_attaches: u64,
    /// Attach/detach history, bounded.
    pub history: HeadTail<AttachRecord>,
    /// Attaches seen.
    pub attaches: u64,
    /// Detaches seen.
    pub detaches: u64,
    /// Which pages were faulted in, by whom, in what order.
    pub pages: PageMap,
}

impl Default for ShmState {
    fn default() -> ShmState {
        ShmState {
            mappings: Vec::new(),
            unknown_attaches: 0,
            history: HeadTail::new(16, 48),
            attaches: 0,
            detaches: 0,
            pages: PageMap::default(),
        }
    }
}

impl ShmState {
    /// Attaches now, as `ipcs` counts them: mappings seen plus those from
    /// before tracing.
    pub fn nattch(&self) -> u64 {
        self.mappings.len() as u64 + self.unknown_attaches
    }

    /// `actor` mapped the segment at `addr` (again, if it already had).
    pub fn map(&mut self, actor: Actor, addr: u64, ts_ns: u64) {
        self.map_by(AttachOp::Attach, actor, addr, ts_ns);
    }

    /// A new mapping of `actor`'s process at `addr`, made by `op` (an
    /// attach, or a fork that copied the parent's).
    pub fn map_by(&mut self, op: AttachOp, actor: Actor, addr: u64, ts_ns: u64) {
        self.attaches += 1;
        self.history.push(AttachRecord {
            op,
            actor: actor.clone(),
            addr,
            ts_ns,
        });
        self.unmap_only(actor.tgid, addr);
        self.mappings.push(Mapping { actor, addr, ts_ns });
    }

    /// The mapping of `actor`'s process at `addr` went (`op`: detach,
    /// exit or exec). False when it was not seen attached.
    pub fn unmap(&mut self, op: AttachOp, actor: Actor, addr: u64, ts_ns: u64) -> bool {
        let found = self.unmap_only(actor.tgid, addr);
        self.detaches += 1;
        self.history.push(AttachRecord {
            op,
            actor,
            addr,
            ts_ns,
        });
        found
    }

    fn unmap_only(&mut self, tgid: u32, addr: u64) -> bool {
        let before = self.mappings.len();
        self.mappings
            .retain(|m| !(m.actor.tgid == tgid && m.addr == addr));
        self.mappings.len() != before
    }
}
