//! What the decoder remembers between records: the IPC objects it knows of
//! and the shm attaches it saw, so that an event a kernel-path probe would
//! have reported can be derived when that probe is not attached.

use ipc_trace_common::COMM_LEN;
use std::collections::{HashMap, VecDeque};

/// An object in an IPC namespace: (namespace inode, shmid or semid).
pub type ObjKey = (u32, i32);

/// A shared-memory segment known to exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Its key, when known.
    pub key: Option<i32>,
    /// Its size in bytes, when known.
    pub size: Option<u64>,
    /// `shmctl(IPC_RMID)` succeeded: it goes when the last attach goes.
    pub removed: bool,
    /// Attaches that exist but are not in the attach list (made before
    /// tracing, or by processes that were not seen). `None`: unknown, so the
    /// moment the last attach goes cannot be told.
    pub untracked_attaches: Option<u32>,
    /// First returned by a get that could not create it, at this time, and
    /// its creator not seen yet (see `shm::late_creator`).
    pub awaiting_creator: Option<u64>,
}

impl Segment {
    /// A segment whose creation was seen (or inferred): no attaches yet.
    pub fn created(key: i32, size: u64) -> Segment {
        Segment {
            key: Some(key),
            size: Some(size),
            removed: false,
            untracked_attaches: Some(0),
            awaiting_creator: None,
        }
    }

    /// A segment found to exist without its creation or attach count known.
    pub fn found(key: Option<i32>) -> Segment {
        Segment {
            key,
            size: None,
            removed: false,
            untracked_attaches: None,
            awaiting_creator: None,
        }
    }
}

/// A semaphore set known to exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SemSet {
    /// Its key, when known.
    pub key: Option<i32>,
    /// Semaphores in the set, when known.
    pub nsems: Option<u32>,
    /// As `Segment::awaiting_creator`.
    pub awaiting_creator: Option<u64>,
}

/// One mapping of a segment in a process, as shmat reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attach {
    /// The process (thread group) whose address space holds the mapping.
    pub tgid: u32,
    /// Its task name when it attached (NUL-padded).
    pub comm: [u8; COMM_LEN],
    /// Where it is mapped.
    pub addr: u64,
    /// The segment.
    pub seg: ObjKey,
}

/// Known objects and tracked attaches.
#[derive(Debug, Default)]
pub struct Objects {
    /// Segments by (namespace, shmid).
    pub segments: HashMap<ObjKey, Segment>,
    /// Semaphore sets by (namespace, semid).
    pub semsets: HashMap<ObjKey, SemSet>,
    /// Attaches in the order they were made.
    attaches: Vec<Attach>,
    /// Detaches and frees inferred at an exit although `shm_close` and
    /// `shm_destroy` are attached (see `decode/process.rs`): if the kernel
    /// reports them after all, the report is a duplicate. Bounded.
    exit_inferred: VecDeque<ExitInferred>,
}

/// What an exit made the decoder infer in the name of the probes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ExitInferred {
    /// A detach: (tgid, address, segment).
    Detach(u32, u64, ObjKey),
    /// The free of a segment, by the exiting process.
    Free(u32, ObjKey),
}

/// Exit inferences remembered at most.
const EXIT_INFERRED_KEPT: usize = 1024;

impl Objects {
    fn remember(&mut self, what: ExitInferred) {
        if self.exit_inferred.len() == EXIT_INFERRED_KEPT {
            self.exit_inferred.pop_front();
        }
        self.exit_inferred.push_back(what);
    }

    fn take(&mut self, what: ExitInferred) -> bool {
        match self.exit_inferred.iter().position(|w| *w == what) {
            Some(i) => self.exit_inferred.remove(i).is_some(),
            None => false,
        }
    }

    /// Remembers a detach inferred at `a.tgid`'s exit.
    pub fn remember_exit_detach(&mut self, a: &Attach) {
        self.remember(ExitInferred::Detach(a.tgid, a.addr, a.seg));
    }

    /// True (and forgotten) when this `shm_close` reports a detach already
    /// inferred at its process's exit.
    pub fn take_exit_detach(&mut self, tgid: u32, addr: u64, seg: ObjKey) -> bool {
        self.take(ExitInferred::Detach(tgid, addr, seg))
    }

    /// Remembers a free inferred at `tgid`'s exit.
    pub fn remember_exit_free(&mut self, tgid: u32, seg: ObjKey) {
        self.remember(ExitInferred::Free(tgid, seg));
    }

    /// True (and forgotten) when this `shm_destroy` by `tgid` reports a
    /// free already inferred at that process's exit.
    pub fn take_exit_free(&mut self, tgid: u32, seg: ObjKey) -> bool {
        self.take(ExitInferred::Free(tgid, seg))
    }

    /// Records a new attach.
    pub fn track(&mut self, attach: Attach) {
        self.attaches.push(attach);
    }

    /// Forgets the first tracked attach matching `pred`; returns it.
    pub fn untrack(&mut self, pred: impl Fn(&Attach) -> bool) -> Option<Attach> {
        let pos = self.attaches.iter().position(pred)?;
        Some(self.attaches.remove(pos))
    }

    /// Forgets every tracked attach matching `pred`; returns them in order.
    pub fn untrack_all(&mut self, pred: impl Fn(&Attach) -> bool) -> Vec<Attach> {
        let (gone, kept) = std::mem::take(&mut self.attaches)
            .into_iter()
            .partition(|a| pred(a));
        self.attaches = kept;
        gone
    }

    /// The tracked attaches of process `tgid`, in order.
    pub fn attaches_of(&self, tgid: u32) -> Vec<Attach> {
        self.attaches
            .iter()
            .filter(|a| a.tgid == tgid)
            .copied()
            .collect()
    }

    /// True when some tracked attach maps `seg`.
    pub fn is_attached(&self, seg: ObjKey) -> bool {
        self.attaches.iter().any(|a| a.seg == seg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn untrack_takes_the_first_match_and_keeps_the_order() {
        let mut o = Objects::default();
        let a = |tgid, addr, id| Attach {
            tgid,
            comm: [0; COMM_LEN],
            addr,
            seg: (1, id),
        };
        o.track(a(10, 0x1000, 5));
        o.track(a(11, 0x1000, 5));
        o.track(a(10, 0x2000, 6));
        o.track(a(10, 0x1000, 7));
        assert_eq!(
            o.untrack(|x| x.tgid == 10 && x.addr == 0x1000),
            Some(a(10, 0x1000, 5))
        );
        assert_eq!(
            o.untrack_all(|x| x.tgid == 10),
            vec![a(10, 0x2000, 6), a(10, 0x1000, 7)]
        );
        assert!(o.is_attached((1, 5)));
        assert!(!o.is_attached((1, 6)));
    }
}
