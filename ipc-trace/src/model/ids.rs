//! The names every other model file uses: which object (kind, kernel key,
//! lifecycle handle) and who acted on it. A leaf: it imports no other model
//! file, so anything in the model may depend on it.

use crate::event::Event;

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

impl ObjectKey {
    /// The object `ev` names as `id`, in the event's namespace (a semaphore
    /// event names a set, every other kind a segment).
    pub fn of(ev: &Event, id: i32) -> ObjectKey {
        ObjectKey {
            ipc_ns: ev.ipc_ns,
            kind: if ev.kind.is_sem() {
                ObjKind::Sem
            } else {
                ObjKind::Shm
            },
            id,
        }
    }
}

/// A stable handle on one lifecycle (creation order; never reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjId(pub u64);

/// Who did something: thread, process and task name.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Actor {
    /// Thread id.
    pub pid: u32,
    /// Process id: the one processes, mappings and holds are keyed by.
    pub tgid: u32,
    /// Task name; empty for a creator known only from `/proc/sysvipc`.
    pub comm: String,
}

impl Actor {
    /// The task that caused `ev`.
    pub fn of(ev: &Event) -> Actor {
        Actor {
            pid: ev.pid,
            tgid: ev.tgid,
            comm: ev.comm.clone(),
        }
    }

    /// `comm/tgid`, or `pid N` without a name.
    pub fn label(&self) -> String {
        if self.comm.is_empty() {
            format!("pid {}", self.tgid)
        } else {
            format!("{}/{}", self.comm, self.tgid)
        }
    }
}
