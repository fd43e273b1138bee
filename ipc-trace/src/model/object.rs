//! One lifecycle of one System V object (a segment or a semaphore set).

use super::bounded::HeadTail;
use super::pages::PageMap;
use super::rate::RateWindow;
use super::sem::SemState;
use super::steps::StepSet;
use super::timeline::Timeline;
use crate::event::EventKind;

/// Shared-memory segment or semaphore set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjKind {
    /// A System V shared-memory segment.
    Shm,
    /// A System V semaphore set.
    Sem,
}

impl ObjKind {
    /// `"shm"` or `"sem"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjKind::Shm => "shm",
            ObjKind::Sem => "sem",
        }
    }
}

/// The kernel's identity of an object: (IPC namespace, kind, id). Ids are
/// recycled, so the same key may name several lifecycles over time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// IPC namespace inode (0 when unknown).
    pub ipc_ns: u32,
    /// Segment or set.
    pub kind: ObjKind,
    /// shmid / semid.
    pub id: i32,
}

/// A stable handle on one lifecycle (creation order; never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjId(pub u64);

/// Who did something: thread, process and task name.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Actor {
    /// Thread id.
    pub pid: u32,
    /// Process id.
    pub tgid: u32,
    /// Task name.
    pub comm: String,
}

impl Actor {
    /// `comm/tgid`, or `pid N` without a name.
    pub fn label(&self) -> String {
        if self.comm.is_empty() {
            format!("pid {}", self.tgid)
        } else {
            format!("{}/{}", self.comm, self.tgid)
        }
    }
}

/// One entry of an object's timeline (what the detail view lists).
#[derive(Clone, Debug)]
pub struct TimelineEntry {
    /// When it happened.
    pub ts_ns: u64,
    /// What happened.
    pub kind: EventKind,
    /// Who did it.
    pub actor: Actor,
    /// The SEED steps it proves.
    pub steps: StepSet,
    /// Derived, not seen by a kernel-path probe.
    pub inferred: bool,
    /// The hook that saw it.
    pub probe: String,
    /// How that hook was attached.
    pub backend: crate::event::Backend,
    /// One line about it ("found by key", "page 3 write", "P(0) blocked 2.1 ms").
    pub text: String,
}

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

/// One lifecycle.
#[derive(Clone, Debug)]
pub struct Object {
    /// Stable handle.
    pub handle: ObjId,
    /// (namespace, kind, id).
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
    /// `IPC_RMID` succeeded (segment: destroyed when the last attach goes).
    pub marked_for_removal: Option<u64>,
    /// When it was freed.
    pub removed: Option<u64>,
    /// The removal was derived, not seen.
    pub removal_inferred: bool,
    /// Events were dropped while it was alive: its counters are lower bounds.
    pub incomplete: bool,
    /// `*_get` calls that found it by key.
    pub finds: u64,
    /// Events applied to it.
    pub events: u64,
    /// Last event time.
    pub last_ts: u64,
    /// Operations (attaches, faults, semops) per second.
    pub activity: RateWindow,
    /// The lifecycle as lived, bounded (first and last entries kept;
    /// resolve with `State::timeline`).
    pub timeline: Timeline,
    /// Every SEED step seen on it.
    pub steps_seen: StepSet,
    /// Segment state (shm only).
    pub shm: Option<ShmState>,
    /// Set state (sem only).
    pub sem: Option<SemState>,
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
            shm: (key.kind == ObjKind::Shm).then(ShmState::default),
            sem: (key.kind == ObjKind::Sem).then(SemState::default),
            awaiting_get: None,
        }
    }

    /// True while the kernel still has it.
    pub fn is_live(&self) -> bool {
        self.removed.is_none()
    }

    /// Current attaches (shm; 0 for sets).
    pub fn nattch(&self) -> u64 {
        self.shm.as_ref().map_or(0, ShmState::nattch)
    }

    /// The key as `ipcs` prints it: `0x00016988`.
    pub fn key_hex(&self) -> String {
        match self.ipc_key {
            Some(k) => format!("0x{:08x}", k as u32),
            None => "?".to_string(),
        }
    }

    /// Drops the details of a long-removed lifecycle (page records, value
    /// samples, timeline tail, attach history), keeping its counters.
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

/// Attach or detach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttachOp {
    /// `shmat`.
    Attach,
    /// `shmdt` / close of the mapping.
    Detach,
    /// The process exited with the mapping in place.
    Exit,
}

/// One attach or detach in a segment's history.
#[derive(Clone, Debug)]
pub struct AttachRecord {
    /// Attach, detach or exit.
    pub op: AttachOp,
    /// Who.
    pub actor: Actor,
    /// Address.
    pub addr: u64,
    /// When.
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
    /// Pages faulted in.
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
    /// Current attaches.
    pub fn nattch(&self) -> u64 {
        self.mappings.len() as u64 + self.unknown_attaches
    }
}
