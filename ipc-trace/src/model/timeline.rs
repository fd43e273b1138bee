//! An object's timeline, bounded and cheap to extend: the first
//! [`TIMELINE_HEAD`] entries are stored whole (the start of a lifecycle must
//! outlive the event log); later ones are references into the event log
//! (only the last [`TIMELINE_TAIL`]), resolved when the timeline is shown.

use super::bounded::Ring;
use super::describe::event_text;
use super::object::{Actor, TimelineEntry};
use super::state::LoggedEvent;
use super::steps::{Step, StepSet};
use crate::event::EventKind;

/// Entries stored whole from the start of a lifecycle.
pub const TIMELINE_HEAD: usize = 16;
/// Most recent entries referenced after the head.
pub const TIMELINE_TAIL: usize = 64;

/// A reference to a logged event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TailRef {
    /// Log sequence number.
    pub seq: u64,
    /// Set when the entry is "exited with the segment attached at this
    /// address" (derived from a `proc_exit`).
    pub exit_addr: Option<u64>,
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

/// The text of an event on a timeline: what happened, and for a `*_get`
/// whether it created or found the object.
pub fn entry_text(l: &LoggedEvent) -> String {
    let mut text = event_text(&l.event);
    if matches!(l.event.kind, EventKind::ShmGet | EventKind::SemGet) {
        if l.steps.contains(Step::SHM3) || l.steps.contains(Step::SEM3) {
            text.push_str(": created it");
        } else if l.steps.contains(Step::SHM2) || l.steps.contains(Step::SEM2) {
            text.push_str(": found it by key");
        }
    }
    text
}

/// The timeline entry "exited with the segment attached".
pub fn exit_entry(l: &LoggedEvent, addr: u64) -> TimelineEntry {
    let e = &l.event;
    TimelineEntry {
        ts_ns: e.ts_ns,
        kind: EventKind::ProcExit,
        actor: Actor {
            pid: e.pid,
            tgid: e.tgid,
            comm: e.comm.clone(),
        },
        steps: StepSet::EMPTY,
        inferred: true,
        probe: e.probe.clone(),
        backend: e.backend,
        text: format!("exited with the segment attached at 0x{addr:x}: detached"),
    }
}

/// The timeline entry of a logged event.
pub fn logged_entry(l: &LoggedEvent) -> TimelineEntry {
    let e = &l.event;
    TimelineEntry {
        ts_ns: e.ts_ns,
        kind: e.kind,
        actor: Actor {
            pid: e.pid,
            tgid: e.tgid,
            comm: e.comm.clone(),
        },
        steps: l.steps,
        inferred: e.inferred,
        probe: e.probe.clone(),
        backend: e.backend,
        text: entry_text(l),
    }
}

impl Timeline {
    /// True while entries are still stored whole.
    pub fn head_has_room(&self) -> bool {
        self.head.len() < TIMELINE_HEAD
    }

    /// Stores a whole entry (while the head has room).
    pub fn push_entry(&mut self, entry: TimelineEntry) {
        self.pushed += 1;
        self.head.push(entry);
    }

    /// Stores a reference to a logged event.
    pub fn push_ref(&mut self, r: TailRef) {
        self.pushed += 1;
        self.tail.push(r);
    }

    /// Entries ever added.
    pub fn total(&self) -> u64 {
        self.pushed
    }

    /// Forgets the tail (for lifecycles long removed).
    pub fn compact(&mut self) {
        self.tail = Ring::new(1);
    }

    /// Resolves the timeline against the log (`find` returns the logged
    /// event of a sequence number, if still kept).
    pub fn resolve<'a>(&self, find: impl Fn(u64) -> Option<&'a LoggedEvent>) -> ResolvedTimeline {
        let mut entries = self.head.clone();
        let mut skipped = self.tail.dropped();
        for r in self.tail.iter() {
            match (find(r.seq), r.exit_addr) {
                (Some(l), Some(addr)) => entries.push(exit_entry(l, addr)),
                (Some(l), None) => entries.push(logged_entry(l)),
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
