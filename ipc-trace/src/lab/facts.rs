//! What a lab run did, counted from its events: the facts its questions
//! are graded against (who created what, pages faulted per process,
//! attaches, waits, `SEM_UNDO` use, what was left behind).

use crate::event::{Event, EventKind};
use crate::model::Step;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A process as a lab names it: `shm-producer[1234]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Who {
    /// Its pid (thread group id) as the tracer sees it.
    pub tgid: u32,
    /// Its command name.
    pub comm: String,
}

impl Who {
    /// The process of `ev`.
    pub fn of(ev: &Event) -> Who {
        Who {
            tgid: ev.tgid,
            comm: ev.comm.clone(),
        }
    }
}

impl fmt::Display for Who {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}[{}]", self.comm, self.tgid)
    }
}

/// A segment left behind at the end of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Orphan {
    /// Its shm id (what `ipcrm -m` takes).
    pub id: i32,
    /// Its IPC key, when known (0 = `IPC_PRIVATE`).
    pub key: Option<i32>,
    /// Its size in bytes, when known.
    pub size: Option<u64>,
    /// Who created it, when known.
    pub creator: Option<Who>,
    /// Attaches left (0 for an orphan; kept so the question can say it).
    pub nattch: u64,
}

/// The facts of one run.
#[derive(Clone, Debug, Default)]
pub struct RunFacts {
    /// Time of the first event.
    pub first_ns: Option<u64>,
    /// Events seen.
    pub events: u64,
    /// Events the kernel could not hand over (drops counted): the facts
    /// below are lower bounds when this is not 0.
    pub lost: u64,
    /// The first process that created a segment (SHM-3), and when.
    pub shm_creator: Option<(Who, u64)>,
    /// The size of the first segment created, when known.
    pub shm_size: Option<u64>,
    /// The first page fault on a segment, and by whom.
    pub first_fault: Option<(Who, u64)>,
    /// The first process that created a semaphore set (SEM-3).
    pub sem_creator: Option<Who>,
    /// Successful attaches per process.
    pub attaches: BTreeMap<u32, (String, u64)>,
    /// Distinct pages faulted per process (page index within its segment).
    pub pages: BTreeMap<u32, (String, BTreeSet<(i32, u64)>)>,
    /// Semaphore operations that slept.
    pub blocked_ops: u64,
    /// The longest wait of a blocked operation, and whose.
    pub longest_wait: Option<(u64, Who)>,
    /// Semaphore operation calls with at least one `SEM_UNDO` sembuf.
    pub undo_ops: u64,
    /// Processes that passed `SEM_UNDO`.
    pub undo_users: BTreeSet<u32>,
    /// Segments left behind when the run ended.
    pub orphans: Vec<Orphan>,
    /// The first wait-for cycle: per edge, the waiter, the holder and the
    /// semaphore's number.
    pub cycle: Option<Vec<(Who, Who, u16)>>,
    /// Semaphore operations that slept and gave up at their timeout.
    pub timed_out: u64,
}

impl RunFacts {
    /// Counts `ev`, which proved `steps`.
    pub fn note(&mut self, ev: &Event, steps: &[Step]) {
        self.first_ns.get_or_insert(ev.ts_ns);
        self.events += 1;
        let ok = !ev.failed();
        if steps.contains(&Step::SHM3) && self.shm_creator.is_none() {
            self.shm_creator = Some((Who::of(ev), ev.ts_ns));
            self.shm_size = ev.size;
        }
        if steps.contains(&Step::SEM3) && self.sem_creator.is_none() {
            self.sem_creator = Some(Who::of(ev));
        }
        match ev.kind {
            EventKind::Drops => self.lost += ev.count.unwrap_or(0),
            EventKind::ShmAttach if ok => {
                let e = self
                    .attaches
                    .entry(ev.tgid)
                    .or_insert_with(|| (ev.comm.clone(), 0));
                e.1 += 1;
            }
            EventKind::ShmFault => {
                if self.first_fault.is_none() {
                    self.first_fault = Some((Who::of(ev), ev.ts_ns));
                }
                if let (Some(id), Some(page)) = (ev.id, ev.page) {
                    self.pages
                        .entry(ev.tgid)
                        .or_insert_with(|| (ev.comm.clone(), BTreeSet::new()))
                        .1
                        .insert((id, page));
                }
            }
            EventKind::SemOp if ok || ev.blocked == Some(true) => {
                // A wait that timed out is a failed call that still waited.
                if ev.blocked == Some(true) {
                    self.blocked_ops += 1;
                    if ev.timed_out() {
                        self.timed_out += 1;
                    }
                    let wait = ev.wait_ns.unwrap_or(0);
                    if self.longest_wait.as_ref().is_none_or(|(w, _)| wait > *w) {
                        self.longest_wait = Some((wait, Who::of(ev)));
                    }
                }
                if ev
                    .ops
                    .as_ref()
                    .is_some_and(|ops| ops.iter().any(|o| o.undo()))
                {
                    self.undo_ops += 1;
                    self.undo_users.insert(ev.tgid);
                }
            }
            _ => {}
        }
    }

    /// The pages faulted by the first process named `comm`, with it.
    pub fn pages_of(&self, comm: &str) -> Option<(Who, u64)> {
        self.pages
            .iter()
            .find(|(_, (c, _))| c == comm)
            .map(|(tgid, (c, pages))| {
                (
                    Who {
                        tgid: *tgid,
                        comm: c.clone(),
                    },
                    pages.len() as u64,
                )
            })
    }

    /// Successful attaches, all processes together.
    pub fn total_attaches(&self) -> u64 {
        self.attaches.values().map(|(_, n)| n).sum()
    }
}
