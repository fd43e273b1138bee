//! Read-only questions to the model: objects, processes, the log, counters,
//! rates, orphans, timelines, deadlock hints and the steps an event would
//! prove.

use super::{LoggedEvent, ProbeCounters, State};
use crate::event::Event;
use crate::model::bounded::Ring;
use crate::model::deadlock::{SemHolds, WaitCycle};
use crate::model::ids::{ObjId, ObjKind, ObjectKey};
use crate::model::object::Object;
use crate::model::process::ProcessTable;
use crate::model::steps::{Step, steps_of};
use crate::model::timeline::ResolvedTimeline;
use std::collections::BTreeMap;

impl State {
    /// Every lifecycle kept (live and removed), oldest first.
    pub fn objects(&self) -> impl DoubleEndedIterator<Item = &Object> + Clone {
        self.objects.values().map(|b| &**b)
    }

    /// Number of lifecycles kept.
    pub fn object_count(&self) -> usize {
        self.objects.len()
    }

    /// One lifecycle, if still kept.
    pub fn object(&self, handle: ObjId) -> Option<&Object> {
        self.objects.get(&handle).map(|b| &**b)
    }

    /// The live lifecycle of (namespace, kind, id).
    pub fn live(&self, key: ObjectKey) -> Option<&Object> {
        self.live.get(&key).and_then(|h| self.object(*h))
    }

    /// Every lifecycle (live or removed, kept) with IPC key `key` in a
    /// namespace, oldest first. `IPC_PRIVATE` (0) is not indexed.
    pub fn by_key(&self, ipc_ns: u32, kind: ObjKind, key: i32) -> Vec<&Object> {
        self.by_key
            .get(&(ipc_ns, kind, key))
            .map(|v| v.iter().filter_map(|h| self.object(*h)).collect())
            .unwrap_or_default()
    }

    /// Processes seen.
    pub fn processes(&self) -> &ProcessTable {
        &self.processes
    }

    /// The recent events, oldest first.
    pub fn log(&self) -> &Ring<LoggedEvent> {
        &self.log
    }

    /// Counters per probe name.
    pub fn probes(&self) -> &BTreeMap<crate::event::ProbeName, ProbeCounters> {
        &self.probes
    }

    /// Newest event time (the model's "now").
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Oldest event time seen (events with time 0 are not counted).
    pub fn first_ns(&self) -> Option<u64> {
        self.first_ns
    }

    /// Events applied.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Events lost in the kernel (sum of `drops` events).
    pub fn drops(&self) -> u64 {
        self.drops
    }

    /// Calls that failed (returned an error).
    pub fn failed_calls(&self) -> u64 {
        self.failed_calls
    }

    /// Events per second over the last second of trace time.
    pub fn events_per_second(&self) -> u64 {
        self.rate.per_second(self.now_ns)
    }

    /// Events per second in the second ending at `now_ns`.
    pub fn rate_at(&self, now_ns: u64) -> u64 {
        self.rate.per_second(now_ns)
    }

    /// Operations per second on one lifecycle.
    pub fn ops_per_second(&self, obj: &Object) -> u64 {
        obj.activity.per_second(self.now_ns)
    }

    /// True for a segment that nobody has attached, whose creator is gone,
    /// and that was not removed: it will live until reboot or `ipcrm`.
    pub fn is_orphan(&self, obj: &Object) -> bool {
        obj.key.kind == ObjKind::Shm
            && obj.is_live()
            && obj.marked_for_removal.is_none()
            && obj.nattch() == 0
            && obj
                .creator
                .as_ref()
                .is_some_and(|c| self.processes.is_gone(c.tgid))
    }

    /// Orphaned segments.
    pub fn orphans(&self) -> Vec<&Object> {
        self.objects().filter(|o| self.is_orphan(o)).collect()
    }

    /// The logged event with sequence number `seq`, if still kept.
    pub fn logged(&self, seq: u64) -> Option<&LoggedEvent> {
        let first = self.log.get(0)?.seq;
        let i = usize::try_from(seq.checked_sub(first)?).ok()?;
        self.log.get(i).filter(|l| l.seq == seq)
    }

    /// A lifecycle's timeline, resolved against the event log.
    pub fn timeline(&self, obj: &Object) -> ResolvedTimeline {
        obj.timeline.resolve(|seq| self.logged(seq))
    }

    /// Semaphore holdings and the latest blocked waits.
    pub fn holds(&self) -> &SemHolds {
        &self.holds
    }

    /// Wait-for cycles between live processes (see
    /// [`crate::model::deadlock`] for how they are derived and what they can
    /// and cannot show).
    pub fn deadlock_hints(&self) -> Vec<WaitCycle> {
        self.holds.cycles(|tgid| !self.processes.is_gone(tgid))
    }

    /// The kernel steps `ev` proves if applied now (before
    /// [`State::apply`]): whether a `*_get` created or found its object
    /// depends on what the model already knows.
    pub fn steps_for(&self, ev: &Event) -> Vec<Step> {
        steps_of(ev, self.get_outcome(ev)).to_vec()
    }
}
