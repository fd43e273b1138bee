//! The model: every object's lifecycle, processes, probes and the recent
//! event log, updated by [`State::apply`] one event at a time. No I/O, no
//! clock: "now" is the newest event time.

use super::bounded::Ring;
use super::deadlock::{SemHolds, WaitCycle};
use super::describe::event_text;
use super::object::{
    Actor, AttachOp, AttachRecord, Mapping, ObjId, ObjKind, Object, ObjectKey, Origin,
    TimelineEntry,
};
use super::process::ProcessTable;
use super::rate::RateWindow;
use super::sem::OpResult;
use super::steps::{GetOutcome, Step, StepSet, steps_of};
use super::timeline::{ResolvedTimeline, TailRef};
use crate::event::{Backend, Event, EventKind};
use crate::sysvipc::{SemEntry, ShmEntry};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// `IPC_CREAT` in shmflg/semflg.
const IPC_CREAT: i64 = 0o1000;

/// Memory limits of a [`State`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Events kept in the log (counters never need the log).
    pub log: usize,
    /// Removed lifecycles kept for history; older ones are forgotten.
    pub removed_objects: usize,
    /// Of those, the most recent keep their details (pages, value samples,
    /// timeline tail); older ones keep only counters.
    pub removed_detailed: usize,
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

/// One event as kept in the log.
#[derive(Clone, Debug)]
pub struct LoggedEvent {
    /// 0-based position in the whole trace.
    pub seq: u64,
    /// The event.
    pub event: Event,
    /// The lifecycle it was applied to.
    pub object: Option<ObjId>,
    /// The SEED steps it proves.
    pub steps: StepSet,
}

/// Per-probe counters (the stats view).
#[derive(Clone, Debug, Default)]
pub struct ProbeCounters {
    /// Events from this probe.
    pub events: u64,
    /// Of which derived (`inferred`).
    pub inferred: u64,
    /// Events the kernel could not hand over.
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
    objects: BTreeMap<ObjId, Box<Object>>,
    live: HashMap<ObjectKey, ObjId>,
    by_key: HashMap<(u32, ObjKind, i32), Vec<ObjId>>,
    generations: HashMap<ObjectKey, u32>,
    mappings: HashMap<(u32, u64), ObjId>,
    removed_order: VecDeque<ObjId>,
    next_handle: u64,
    processes: ProcessTable,
    holds: SemHolds,
    log: Ring<LoggedEvent>,
    probes: BTreeMap<String, ProbeCounters>,
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

fn actor(ev: &Event) -> Actor {
    Actor {
        pid: ev.pid,
        tgid: ev.tgid,
        comm: ev.comm.clone(),
    }
}

/// The id a `*_get` returned.
fn got_id(ev: &Event) -> Option<i32> {
    ev.id
        .or_else(|| ev.ret.and_then(|r| i32::try_from(r).ok()))
        .filter(|id| *id >= 0)
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

    // ----- queries -------------------------------------------------------

    /// Every lifecycle kept (live and removed), oldest first.
    pub fn objects(&self) -> impl DoubleEndedIterator<Item = &Object> + Clone {
        self.objects.values().map(|b| &**b)
    }

    /// Number of lifecycles kept.
    pub fn object_count(&self) -> usize {
        self.objects.len()
    }

    /// One lifecycle.
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
    pub fn probes(&self) -> &BTreeMap<String, ProbeCounters> {
        &self.probes
    }

    /// Newest event time (the model's "now").
    pub fn now_ns(&self) -> u64 {
        self.now_ns
    }

    /// Oldest event time seen.
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

    /// Status words of a lifecycle, as the object table shows them:
    /// `dest`, `removed`, `orphan`, `mid-life`, `incomplete`.
    pub fn status_words(&self, obj: &Object) -> Vec<&'static str> {
        let mut s = Vec::new();
        if obj.removed.is_some() {
            s.push("removed");
        } else if obj.marked_for_removal.is_some() {
            s.push("dest");
        }
        if self.is_orphan(obj) {
            s.push("orphan");
        }
        if obj.seen_mid_life() {
            s.push("mid-life");
        }
        if obj.incomplete {
            s.push("incomplete");
        }
        s
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

    /// Wait-for cycles between live processes (see [`super::deadlock`] for
    /// how they are derived and what they can and cannot show).
    pub fn deadlock_hints(&self) -> Vec<WaitCycle> {
        self.holds.cycles(|tgid| !self.processes.is_gone(tgid))
    }

    /// The SEED steps `ev` proves if applied now (before [`State::apply`]).
    pub fn steps_for(&self, ev: &Event) -> Vec<Step> {
        steps_of(ev, self.get_outcome(ev)).to_vec()
    }

    /// How a `shm_get`/`sem_get` would be resolved now.
    fn get_outcome(&self, ev: &Event) -> Option<GetOutcome> {
        let kind = match ev.kind {
            EventKind::ShmGet => ObjKind::Shm,
            EventKind::SemGet => ObjKind::Sem,
            _ => return None,
        };
        if ev.failed() {
            return Some(GetOutcome::Failed);
        }
        let Some(id) = got_id(ev) else {
            return Some(GetOutcome::Failed);
        };
        let key = ObjectKey {
            ipc_ns: ev.ipc_ns,
            kind,
            id,
        };
        Some(match self.live(key) {
            Some(o) if o.awaiting_get == Some(ev.tgid) => GetOutcome::Created,
            Some(_) => GetOutcome::Found,
            None if ev.flags.is_some_and(|f| f & IPC_CREAT != 0) => GetOutcome::Created,
            None => GetOutcome::Found,
        })
    }

    // ----- seeding -------------------------------------------------------

    /// Adds objects that existed before tracing started (from
    /// `/proc/sysvipc`), marked seen mid-life. Ids already known are left
    /// alone.
    pub fn seed(&mut self, shm: &[ShmEntry], sem: &[SemEntry], ipc_ns: u32, now_ns: u64) {
        for e in shm {
            let key = ObjectKey {
                ipc_ns,
                kind: ObjKind::Shm,
                id: e.shmid,
            };
            if self.live.contains_key(&key) {
                continue;
            }
            let h = self.new_lifecycle(key, now_ns, Origin::SeenMidLife);
            self.set_ipc_key(h, e.key);
            if let Some(o) = self.objects.get_mut(&h) {
                o.size = Some(e.size);
                o.perms = Some(e.perms & 0o777);
                o.creator = Some(Actor {
                    pid: e.cpid,
                    tgid: e.cpid,
                    comm: String::new(),
                });
                if e.dest() {
                    o.marked_for_removal = Some(now_ns);
                }
                if let Some(s) = o.shm.as_mut() {
                    s.unknown_attaches = e.nattch;
                }
            }
        }
        for e in sem {
            let key = ObjectKey {
                ipc_ns,
                kind: ObjKind::Sem,
                id: e.semid,
            };
            if self.live.contains_key(&key) {
                continue;
            }
            let h = self.new_lifecycle(key, now_ns, Origin::SeenMidLife);
            self.set_ipc_key(h, e.key);
            if let Some(o) = self.objects.get_mut(&h) {
                o.nsems = Some(e.nsems);
                o.perms = Some(e.perms & 0o777);
                if let Some(s) = o.sem.as_mut() {
                    s.ensure(e.nsems as usize);
                }
            }
        }
    }

    /// Records that process `tgid` no longer exists (checked outside the
    /// model, e.g. the creator pid of a seeded segment).
    pub fn process_gone(&mut self, tgid: u32) {
        self.processes.gone(tgid, self.now_ns);
    }

    // ----- applying ------------------------------------------------------

    /// Applies one event.
    pub fn apply(&mut self, ev: &Event) {
        self.events += 1;
        self.now_ns = self.now_ns.max(ev.ts_ns);
        if ev.ts_ns != 0 {
            self.first_ns = Some(self.first_ns.map_or(ev.ts_ns, |f| f.min(ev.ts_ns)));
        }
        self.rate.record(ev.ts_ns);
        if ev.failed() {
            self.failed_calls += 1;
        }
        if !self.probes.contains_key(&ev.probe) {
            self.probes
                .insert(ev.probe.clone(), ProbeCounters::default());
        }
        let Some(counters) = self.probes.get_mut(&ev.probe) else {
            return;
        };
        if ev.kind == EventKind::Drops {
            let n = ev.count.unwrap_or(0);
            counters.drops += n;
            self.drops += n;
        } else {
            counters.events += 1;
            counters.rate.record(ev.ts_ns);
            counters.backend = Some(ev.backend);
            if ev.inferred {
                counters.inferred += 1;
            }
            if ev.tgid != 0 {
                self.processes.touch(ev.tgid, &ev.comm, ev.ts_ns);
            }
        }

        let get = self.get_outcome(ev);
        let steps = steps_of(ev, get);
        let object = match ev.kind {
            EventKind::ShmGet | EventKind::SemGet => self.on_get(ev, get),
            EventKind::ShmCreate | EventKind::SemCreate => self.on_create(ev),
            EventKind::ShmAttach => self.on_attach(ev),
            EventKind::ShmFault => self.on_fault(ev),
            EventKind::ShmDetach => self.on_detach(ev),
            EventKind::ShmCtl | EventKind::SemCtl => self.on_ctl(ev),
            EventKind::ShmDestroy | EventKind::SemDestroy => self.on_destroy(ev),
            EventKind::SemOp => self.on_semop(ev),
            EventKind::ProcExit => {
                self.on_exit(ev);
                None
            }
            EventKind::Drops => {
                for h in self.live.values() {
                    if let Some(o) = self.objects.get_mut(h) {
                        o.incomplete = true;
                    }
                }
                None
            }
        };
        if let Some(h) = object {
            self.note(h, ev, steps, get);
        }
        self.log.push(LoggedEvent {
            seq: self.events - 1,
            event: ev.clone(),
            object,
            steps,
        });
    }

    /// Adds the event to a lifecycle's timeline and counters.
    fn note(&mut self, h: ObjId, ev: &Event, steps: StepSet, get: Option<GetOutcome>) {
        let Some(o) = self.objects.get_mut(&h) else {
            return;
        };
        o.events += 1;
        o.last_ts = o.last_ts.max(ev.ts_ns);
        o.steps_seen.extend(steps);
        if o.timeline.head_has_room() {
            let mut text = event_text(ev);
            match get {
                Some(GetOutcome::Created) => text.push_str(": created it"),
                Some(GetOutcome::Found) => text.push_str(": found it by key"),
                _ => {}
            }
            o.timeline.push_entry(TimelineEntry {
                ts_ns: ev.ts_ns,
                kind: ev.kind,
                actor: actor(ev),
                steps,
                inferred: ev.inferred,
                probe: ev.probe.clone(),
                backend: ev.backend,
                text,
            });
        } else {
            o.timeline.push_ref(TailRef {
                seq: self.events - 1,
                exit_addr: None,
            });
        }
    }

    fn kind_of(ev: &Event) -> ObjKind {
        if ev.kind.is_sem() {
            ObjKind::Sem
        } else {
            ObjKind::Shm
        }
    }

    fn key_of(ev: &Event, id: i32) -> ObjectKey {
        ObjectKey {
            ipc_ns: ev.ipc_ns,
            kind: State::kind_of(ev),
            id,
        }
    }

    fn new_lifecycle(&mut self, key: ObjectKey, ts: u64, origin: Origin) -> ObjId {
        if let Some(old) = self.live.get(&key).copied() {
            // The id came back without the old lifecycle's end being seen.
            self.end_lifecycle(old, ts, true);
            if let Some(o) = self.objects.get_mut(&old) {
                o.incomplete = true;
            }
        }
        let handle = ObjId(self.next_handle);
        self.next_handle += 1;
        let gen_slot = self.generations.entry(key).or_insert(0);
        let generation = *gen_slot;
        *gen_slot += 1;
        self.objects.insert(
            handle,
            Box::new(Object::new(handle, key, generation, ts, origin)),
        );
        self.live.insert(key, handle);
        handle
    }

    /// The live lifecycle of `key`, or a new one first seen mid-life.
    fn live_or_mid_life(&mut self, key: ObjectKey, ts: u64) -> ObjId {
        match self.live.get(&key) {
            Some(h) => *h,
            None => self.new_lifecycle(key, ts, Origin::SeenMidLife),
        }
    }

    fn set_ipc_key(&mut self, h: ObjId, key: i32) {
        let Some(o) = self.objects.get_mut(&h) else {
            return;
        };
        if o.ipc_key.is_some() {
            return;
        }
        o.ipc_key = Some(key);
        if key != 0 {
            self.by_key
                .entry((o.key.ipc_ns, o.key.kind, key))
                .or_default()
                .push(h);
        }
    }

    fn on_get(&mut self, ev: &Event, get: Option<GetOutcome>) -> Option<ObjId> {
        let id = got_id(ev)?;
        if get == Some(GetOutcome::Failed) {
            return None;
        }
        let key = State::key_of(ev, id);
        let created = get == Some(GetOutcome::Created);
        let h = match self.live.get(&key).copied() {
            Some(h) => h,
            None if created => {
                let h = self.new_lifecycle(key, ev.ts_ns, Origin::CreatedByGet);
                if let Some(o) = self.objects.get_mut(&h) {
                    o.creator = Some(actor(ev));
                    o.create_inferred = true;
                    o.perms = ev.flags.map(|f| (f & 0o777) as u32);
                }
                h
            }
            None => self.new_lifecycle(key, ev.ts_ns, Origin::SeenMidLife),
        };
        if let Some(k) = ev.key {
            self.set_ipc_key(h, k);
        }
        let o = self.objects.get_mut(&h)?;
        if created {
            o.awaiting_get = None;
        } else {
            o.finds += 1;
        }
        if o.size.is_none() && key.kind == ObjKind::Shm && created {
            o.size = ev.size;
        }
        if o.nsems.is_none() && key.kind == ObjKind::Sem && created {
            o.nsems = ev.nsems;
        }
        if let (Some(n), Some(s)) = (o.nsems, o.sem.as_mut()) {
            s.ensure(n as usize);
        }
        Some(h)
    }

    fn on_create(&mut self, ev: &Event) -> Option<ObjId> {
        let id = ev.id?;
        let key = State::key_of(ev, id);
        // The create belongs to the live lifecycle when that one was opened
        // by the creator's own get, or was only found so far and the create
        // happened before it was first seen (a finder's call can complete
        // before the creator's record arrives).
        let merge = self.live(key).is_some_and(|o| {
            (o.origin == Origin::CreatedByGet
                && o.creator.as_ref().is_some_and(|c| c.tgid == ev.tgid))
                || (o.origin == Origin::SeenMidLife && ev.ts_ns <= o.created_ts)
        });
        let h = if merge {
            self.live.get(&key).copied()?
        } else {
            let h = self.new_lifecycle(key, ev.ts_ns, Origin::Created);
            if let Some(o) = self.objects.get_mut(&h) {
                o.awaiting_get = Some(ev.tgid);
            }
            h
        };
        if let Some(k) = ev.key {
            self.set_ipc_key(h, k);
        }
        let o = self.objects.get_mut(&h)?;
        o.origin = Origin::Created;
        o.create_inferred = ev.inferred;
        o.creator = Some(actor(ev));
        o.created_ts = o.created_ts.min(ev.ts_ns);
        if ev.size.is_some() {
            o.size = ev.size;
        }
        if ev.nsems.is_some() {
            o.nsems = ev.nsems;
        }
        if let Some(f) = ev.flags {
            o.perms = Some((f & 0o777) as u32);
        }
        if let (Some(n), Some(s)) = (o.nsems, o.sem.as_mut()) {
            s.ensure(n as usize);
        }
        Some(h)
    }

    fn on_attach(&mut self, ev: &Event) -> Option<ObjId> {
        let key = State::key_of(ev, ev.id?);
        let h = self.live_or_mid_life(key, ev.ts_ns);
        if ev.failed() {
            return Some(h);
        }
        let addr = ev
            .addr
            .or_else(|| ev.ret.and_then(|r| u64::try_from(r).ok()))?;
        let o = self.objects.get_mut(&h)?;
        o.activity.record(ev.ts_ns);
        let s = o.shm.as_mut()?;
        let who = actor(ev);
        s.attaches += 1;
        s.history.push(AttachRecord {
            op: AttachOp::Attach,
            actor: who.clone(),
            addr,
            ts_ns: ev.ts_ns,
        });
        s.mappings
            .retain(|m| !(m.actor.tgid == ev.tgid && m.addr == addr));
        s.mappings.push(Mapping {
            actor: who,
            addr,
            ts_ns: ev.ts_ns,
        });
        self.mappings.insert((ev.tgid, addr), h);
        Some(h)
    }

    fn on_fault(&mut self, ev: &Event) -> Option<ObjId> {
        let key = State::key_of(ev, ev.id?);
        let h = self.live_or_mid_life(key, ev.ts_ns);
        let o = self.objects.get_mut(&h)?;
        o.activity.record(ev.ts_ns);
        if let (Some(s), Some(page)) = (o.shm.as_mut(), ev.page) {
            s.pages
                .record(page, ev.tgid, ev.ts_ns, ev.write == Some(true));
        }
        Some(h)
    }

    fn on_detach(&mut self, ev: &Event) -> Option<ObjId> {
        let addr = ev.addr?;
        let by_mapping = self.mappings.remove(&(ev.tgid, addr));
        let h = match (by_mapping, ev.id) {
            (Some(h), _) => h,
            (None, Some(id)) => *self.live.get(&State::key_of(ev, id))?,
            (None, None) => return None,
        };
        let o = self.objects.get_mut(&h)?;
        let s = o.shm.as_mut()?;
        let before = s.mappings.len();
        s.mappings
            .retain(|m| !(m.actor.tgid == ev.tgid && m.addr == addr));
        if s.mappings.len() == before && s.unknown_attaches > 0 {
            s.unknown_attaches -= 1;
        }
        s.detaches += 1;
        s.history.push(AttachRecord {
            op: AttachOp::Detach,
            actor: actor(ev),
            addr,
            ts_ns: ev.ts_ns,
        });
        Some(h)
    }

    fn on_ctl(&mut self, ev: &Event) -> Option<ObjId> {
        let key = State::key_of(ev, ev.id?);
        if ev.failed() {
            return self.live.get(&key).copied();
        }
        let h = self.live_or_mid_life(key, ev.ts_ns);
        let o = self.objects.get_mut(&h)?;
        match ev.cmd.as_deref() {
            Some("IPC_RMID") => {
                o.marked_for_removal.get_or_insert(ev.ts_ns);
            }
            Some("SETALL") => {
                if let (Some(s), Some(v)) = (o.sem.as_mut(), ev.values.as_ref()) {
                    s.set_all(ev.ts_ns, v);
                }
            }
            Some("SETVAL") => {
                let num = ev.semnum.and_then(|n| u16::try_from(n).ok());
                let val = ev.values.as_ref().and_then(|v| v.first().copied());
                if let (Some(s), Some(num), Some(val)) = (o.sem.as_mut(), num, val) {
                    s.set_val(ev.ts_ns, num, val);
                }
            }
            _ => {}
        }
        Some(h)
    }

    fn on_semop(&mut self, ev: &Event) -> Option<ObjId> {
        let key = State::key_of(ev, ev.id?);
        let h = self.live_or_mid_life(key, ev.ts_ns);
        let ops = ev.ops.as_deref().unwrap_or(&[]);
        let ok = !ev.failed();
        let blocked = ev.blocked == Some(true);
        let wait = ev.wait_ns.unwrap_or(0);
        let who = actor(ev);
        let o = self.objects.get_mut(&h)?;
        o.activity.record(ev.ts_ns);
        if let Some(s) = o.sem.as_mut() {
            s.apply_op(&who, ev.ts_ns, ops, ok, blocked, wait);
        }
        self.holds.apply(
            h,
            &who,
            ev.ts_ns,
            ops,
            OpResult {
                ok,
                blocked,
                wait_ns: wait,
            },
        );
        Some(h)
    }

    fn on_destroy(&mut self, ev: &Event) -> Option<ObjId> {
        let key = State::key_of(ev, ev.id?);
        let h = *self.live.get(&key)?;
        if let Some(o) = self.objects.get_mut(&h) {
            o.removal_inferred = ev.inferred;
            if o.size.is_none() {
                o.size = ev.size;
            }
        }
        if let Some(k) = ev.key {
            self.set_ipc_key(h, k);
        }
        self.end_lifecycle(h, ev.ts_ns, ev.inferred);
        Some(h)
    }

    /// Marks a lifecycle removed and moves it to history.
    fn end_lifecycle(&mut self, h: ObjId, ts: u64, inferred: bool) {
        let Some(o) = self.objects.get_mut(&h) else {
            return;
        };
        if o.removed.is_some() {
            return;
        }
        o.removed = Some(ts);
        o.removal_inferred |= inferred;
        o.awaiting_get = None;
        if self.live.get(&o.key) == Some(&h) {
            self.live.remove(&o.key);
        }
        if let Some(s) = o.shm.as_mut() {
            for m in s.mappings.drain(..) {
                self.mappings.remove(&(m.actor.tgid, m.addr));
            }
            s.unknown_attaches = 0;
        }
        if o.key.kind == ObjKind::Sem {
            self.holds.removed(h);
        }
        self.removed_order.push_back(h);
        let n = self.removed_order.len();
        if n > self.limits.removed_detailed
            && let Some(old) = self.removed_order.get(n - 1 - self.limits.removed_detailed)
            && let Some(o) = self.objects.get_mut(old)
        {
            o.compact();
        }
        while self.removed_order.len() > self.limits.removed_objects {
            let Some(old) = self.removed_order.pop_front() else {
                break;
            };
            if let Some(gone) = self.objects.remove(&old)
                && let Some(k) = gone.ipc_key
                && let Some(v) = self.by_key.get_mut(&(gone.key.ipc_ns, gone.key.kind, k))
            {
                v.retain(|x| *x != old);
                if v.is_empty() {
                    self.by_key.remove(&(gone.key.ipc_ns, gone.key.kind, k));
                }
            }
        }
    }

    fn on_exit(&mut self, ev: &Event) {
        if ev.pid != 0 && ev.pid != ev.tgid {
            return; // a thread, not the process
        }
        self.processes.exited(ev.tgid, ev.ts_ns);
        self.holds.exited(ev.tgid);
        let held: Vec<((u32, u64), ObjId)> = self
            .mappings
            .iter()
            .filter(|((tgid, _), _)| *tgid == ev.tgid)
            .map(|(k, h)| (*k, *h))
            .collect();
        for ((tgid, addr), h) in held {
            self.mappings.remove(&(tgid, addr));
            let Some(o) = self.objects.get_mut(&h) else {
                continue;
            };
            let Some(s) = o.shm.as_mut() else { continue };
            s.mappings
                .retain(|m| !(m.actor.tgid == tgid && m.addr == addr));
            s.detaches += 1;
            s.history.push(AttachRecord {
                op: AttachOp::Exit,
                actor: actor(ev),
                addr,
                ts_ns: ev.ts_ns,
            });
            if o.timeline.head_has_room() {
                o.timeline.push_entry(TimelineEntry {
                    ts_ns: ev.ts_ns,
                    kind: EventKind::ProcExit,
                    actor: actor(ev),
                    steps: StepSet::EMPTY,
                    inferred: true,
                    probe: ev.probe.clone(),
                    backend: ev.backend,
                    text: format!("exited with the segment attached at 0x{addr:x}: detached"),
                });
            } else {
                o.timeline.push_ref(TailRef {
                    seq: self.events - 1,
                    exit_addr: Some(addr),
                });
            }
        }
    }
}
