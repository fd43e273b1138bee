//! Applying one event: trace-wide and per-probe counters, the handler of
//! its kind (in `begin.rs`, `mappings.rs`, `ops.rs`, `end.rs`), the
//! lifecycle's own counters and timeline, and the log.

use super::{LoggedEvent, ProbeCounters, State};
use crate::event::{Event, EventKind};
use crate::model::evidence::{Evidence, evidence};
use crate::model::ids::{ObjId, ObjKind};
use crate::model::object::Object;
use crate::model::steps::{GetOutcome, StepSet, steps_of};
use crate::model::timeline::{TailRef, TimelineEntry};

impl State {
    /// Applies one event.
    pub fn apply(&mut self, ev: &Event) {
        self.count(ev);
        let get = self.get_outcome(ev);
        let steps = steps_of(ev, get);
        let object = self.dispatch(ev, get);
        if let Some(h) = object {
            self.note(h, ev, steps);
        }
        if self.limits.log > 0 {
            self.log.push(LoggedEvent {
                seq: self.events - 1,
                event: ev.clone(),
                object,
                steps,
            });
        }
    }

    /// Trace-wide counters, the clock, the probe's counters and the
    /// process table.
    fn count(&mut self, ev: &Event) {
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
            return;
        }
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

    /// Runs the handler of the event's kind; returns the lifecycle the
    /// event belongs to, if any.
    fn dispatch(&mut self, ev: &Event, get: Option<GetOutcome>) -> Option<ObjId> {
        match ev.kind {
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
            EventKind::ProcExec => {
                self.on_exec(ev);
                None
            }
            EventKind::ProcFork => {
                self.on_fork(ev);
                None
            }
            EventKind::Drops => {
                self.mark_incomplete(probe_kind(&ev.probe), ev.since_ns, ev.ts_ns);
                None
            }
        }
    }

    /// Events were lost between `since` and `until`: every lifecycle they
    /// may have belonged to (of `kind`, or of both kinds when the probe
    /// serves both) and that was alive in that window has counters that are
    /// now lower bounds. Without `since` (older recordings) the window is
    /// unknown and only the lifecycles alive now are marked.
    fn mark_incomplete(&mut self, kind: Option<ObjKind>, since: Option<u64>, until: u64) {
        let of_kind = |o: &Object| kind.is_none_or(|k| k == o.key.kind);
        match since {
            Some(since) => {
                for o in self.objects.values_mut() {
                    let alive = o.created_ts <= until && o.removed.is_none_or(|r| r >= since);
                    if alive && of_kind(o) {
                        o.incomplete = true;
                    }
                }
            }
            None => {
                for h in self.live.values() {
                    if let Some(o) = self.objects.get_mut(h)
                        && of_kind(o)
                    {
                        o.incomplete = true;
                    }
                }
            }
        }
    }

    /// Adds the event to a lifecycle's timeline and counters.
    fn note(&mut self, h: ObjId, ev: &Event, steps: StepSet) {
        let seq = self.events - 1;
        let Some(o) = self.objects.get_mut(&h) else {
            return;
        };
        o.events += 1;
        o.last_ts = o.last_ts.max(ev.ts_ns);
        o.steps_seen.extend(steps);
        for step in steps.iter() {
            match evidence(step, ev) {
                Evidence::InKernel => o.steps_in_kernel.insert(step),
                Evidence::SyscallBoundary => o.steps_at_boundary.insert(step),
                Evidence::Implied | Evidence::NotVisible => {}
            }
        }
        o.timeline.add(
            TailRef {
                seq,
                mapping_addr: None,
            },
            || TimelineEntry::of(ev, steps),
        );
    }
}

/// The kind of object whose events `probe` makes, or None when it serves
/// both (process exit detaches segments and undoes semaphore operations;
/// fork and unknown probes may touch anything).
fn probe_kind(probe: &str) -> Option<ObjKind> {
    match probe {
        "sys_shmget" | "sys_shmat" | "sys_shmdt" | "sys_shmctl" | "page_fault_user" | "newseg"
        | "do_shmat" | "shm_fault" | "shmem_fault" | "shm_destroy" | "shm_close" => {
            Some(ObjKind::Shm)
        }
        "sys_semget" | "sys_semop" | "sys_semtimedop" | "sys_semctl" | "newary"
        | "do_semtimedop" | "__do_semtimedop" | "freeary" => Some(ObjKind::Sem),
        _ => None,
    }
}
