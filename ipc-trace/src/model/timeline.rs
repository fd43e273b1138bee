//! An object's timeline, bounded and cheap to extend: the first
//! [`TIMELINE_HEAD`] entries are stored whole (the start of a lifecycle must
//! outlive the event log); later ones are references into the event log
//! (only the last [`TIMELINE_TAIL`]), resolved when the timeline is shown.

use super::bounded::Ring;
use super::describe::event_text;
use super::ids::Actor;
use super::logged::LoggedEvent;
use super::steps::{Step, StepSet};
use crate::event::{Backend, Event, EventKind};

/// Entries stored whole from the start of a lifecycle.
pub const TIMELINE_HEAD: usize = 16;
/// Most recent entries referenced after the head.
pub const TIMELINE_TAIL: usize = 64;

/// A reference to a logged event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TailRef {
    /// Log sequence number.
    pub seq: u64,
    /// Set when the entry is what a process event (`proc_exit`,
    /// `proc_exec`, `proc_fork`) did to the mapping at this address.
    pub mapping_addr: Option<u64>,
}

/// The timeline of one lifecycle.
#[derive(Clone, Debug)]
pub struct Timeline {
    head: Vec<TimelineEntry>,
    tail: Ring<TailRef>,
    pushed: u64,
}

impl Default for Timeline {
    fn default() -> Timeline {
        Timeline {
            head: Vec::new(),
            tail: Ring::new(TIMELINE_TAIL),
            pushed: 0,
        }
    }
}

/// A timeline resolved for display.
#[derive(Clone, Debug, Default)]
pub struct ResolvedTimeline {
    /// Entries, oldest first.
    pub entries: Vec<TimelineEntry>,
    /// Entries between the head and the tail that are no longer kept.
    pub skipped: u64,
    /// Index in `entries` before which the skipped ones belong.
    pub gap_at: Option<usize>,
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
    /// The kernel steps (docs/STEPS.md) it proves.
    pub steps: StepSet,
    /// Derived, not seen by a kernel-path probe.
    pub inferred: bool,
    /// The hook that saw it.
    pub probe: crate::event::ProbeName,
    /// How that hook was attached.
    pub backend: Backend,
    /// One line about it ("found by key", "page 3 write", "P(0) blocked 2.1 ms").
    pub text: String,
}

impl TimelineEntry {
    /// The entry of an event that proves `steps`; a `*_get` says whether it
    /// created or found the object.
    pub fn of(ev: &Event, steps: StepSet) -> TimelineEntry {
        TimelineEntry {
            ts_ns: ev.ts_ns,
            kind: ev.kind,
            actor: Actor::of(ev),
            steps,
            inferred: ev.inferred,
            probe: ev.probe.clone(),
            backend: ev.backend,
            text: entry_text(ev, steps),
        }
    }

    /// The entry a process event adds to each segment the process had
    /// attached at `addr`: a `proc_exit` or `proc_exec` detached it (no
    /// `shmdt` is traced), a `proc_fork` gave the child a copy.
    pub fn mapping(ev: &Event, addr: u64) -> TimelineEntry {
        let text = match ev.kind {
            EventKind::ProcFork => format!(
                "forked pid {}: the child has the segment attached at 0x{addr:x} too",
                ev.ret.unwrap_or(0)
            ),
            EventKind::ProcExec => {
                format!("exec'd with the segment attached at 0x{addr:x}: detached")
            }
            _ => format!("exited with the segment attached at 0x{addr:x}: detached"),
        };
        TimelineEntry {
            ts_ns: ev.ts_ns,
            kind: ev.kind,
            actor: Actor::of(ev),
            steps: StepSet::EMPTY,
            inferred: true,
            probe: ev.probe.clone(),
            backend: ev.backend,
            text,
        }
    }
}

/// What happened, and for a `*_get` whether it created or found the object
/// (read from the steps it proves: SHM-3/SEM-3 created, SHM-2/SEM-2 found).
fn entry_text(ev: &Event, steps: StepSet) -> String {
    let mut text = event_text(ev);
    if matches!(ev.kind, EventKind::ShmGet | EventKind::SemGet) {
        if steps.contains(Step::SHM3) || steps.contains(Step::SEM3) {
            text.push_str(": created it");
        } else if steps.contains(Step::SHM2) || steps.contains(Step::SEM2) {
            text.push_str(": found it by key");
        }
    }
    text
}

impl Timeline {
    /// True while entries are still stored whole.
    fn head_has_room(&self) -> bool {
        self.head.len() < TIMELINE_HEAD
    }

    /// Adds an event: whole (`entry()`) while the head has room, after that
    /// as the reference `r` into the log.
    pub fn add(&mut self, r: TailRef, entry: impl FnOnce() -> TimelineEntry) {
        self.pushed += 1;
        if self.head_has_room() {
            self.head.push(entry());
        } else {
            self.tail.push(r);
        }
    }

    /// Entries ever added.
    pub fn total(&self) -> u64 {
        self.pushed
    }

    /// Keeps only the first entry (how the lifecycle began) and forgets the
    /// rest, for lifecycles long removed: the whole head of thousands of
    /// them was most of a long session's memory (about 3 KiB each).
    pub fn compact(&mut self) {
        self.head.truncate(1);
        self.head.shrink_to_fit();
        self.tail = Ring::new(1);
    }

    /// Resolves the timeline against the log (`find` returns the logged
    /// event of a sequence number, if still kept).
    pub fn resolve<'a>(&self, find: impl Fn(u64) -> Option<&'a LoggedEvent>) -> ResolvedTimeline {
        let mut entries = self.head.clone();
        let mut skipped = self.tail.dropped();
        for r in self.tail.iter() {
            match (find(r.seq), r.mapping_addr) {
                (Some(l), Some(addr)) => entries.push(TimelineEntry::mapping(&l.event, addr)),
                (Some(l), None) => entries.push(TimelineEntry::of(&l.event, l.steps)),
                (None, _) => skipped += 1,
            }
        }
        let kept = entries.len() as u64;
        let skipped = skipped.max(self.pushed.saturating_sub(kept));
        ResolvedTimeline {
            gap_at: (skipped > 0).then_some(self.head.len()),
            entries,
            skipped,
        }
    }
}
