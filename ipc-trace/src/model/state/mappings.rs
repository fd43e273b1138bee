//! Segment mappings: attaches, page faults, detaches, and the detaches a
//! process exit implies for every segment it still had attached.

use super::State;
use crate::event::Event;
use crate::model::ids::{Actor, ObjId, ObjectKey};
use crate::model::object::AttachOp;
use crate::model::timeline::{TailRef, TimelineEntry};

impl State {
    pub(super) fn on_attach(&mut self, ev: &Event) -> Option<ObjId> {
        let key = ObjectKey::of(ev, ev.id?);
        let h = self.lifecycle_of_call(key, ev)?;
        if ev.failed() {
            return Some(h);
        }
        let addr = ev
            .addr
            .or_else(|| ev.ret.and_then(|r| u64::try_from(r).ok()))?;
        let o = self.objects.get_mut(&h)?;
        o.activity.record(ev.ts_ns);
        o.shm.as_mut()?.map(Actor::of(ev), addr, ev.ts_ns);
        self.mappings.insert((ev.tgid, addr), h);
        Some(h)
    }

    pub(super) fn on_fault(&mut self, ev: &Event) -> Option<ObjId> {
        let key = ObjectKey::of(ev, ev.id?);
        let h = self.live_or_mid_life(key, ev.ts_ns);
        let o = self.objects.get_mut(&h)?;
        o.activity.record(ev.ts_ns);
        if let (Some(s), Some(page)) = (o.shm.as_mut(), ev.page) {
            s.pages
                .record(page, ev.tgid, ev.ts_ns, ev.write == Some(true));
        }
        Some(h)
    }

    /// A `shmdt` names only the address: the segment is found through the
    /// mapping, else through the id the event carries (a kernel-path
    /// `shm_close` does).
    pub(super) fn on_detach(&mut self, ev: &Event) -> Option<ObjId> {
        let addr = ev.addr?;
        let by_mapping = self.mappings.remove(&(ev.tgid, addr));
        let h = match (by_mapping, ev.id) {
            (Some(h), _) => h,
            (None, Some(id)) => *self.live.get(&ObjectKey::of(ev, id))?,
            (None, None) => return None,
        };
        let o = self.objects.get_mut(&h)?;
        let s = o.shm.as_mut()?;
        let seen = s.unmap(AttachOp::Detach, Actor::of(ev), addr, ev.ts_ns);
        if !seen && s.unknown_attaches > 0 {
            // Not seen attached: one of the attaches from before tracing.
            s.unknown_attaches -= 1;
        }
        Some(h)
    }

    /// A process exit: its semaphore undo adjustments apply and it waits for
    /// nothing any more; every segment it still had attached is detached
    /// (by the kernel; no `shmdt` is traced), which that segment's timeline
    /// shows.
    pub(super) fn on_exit(&mut self, ev: &Event) {
        if ev.pid != 0 && ev.pid != ev.tgid {
            return; // a thread, not the process
        }
        self.processes.exited(ev.tgid, ev.ts_ns);
        self.holds.exited(ev.tgid);
        let seq = self.events - 1;
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
            s.unmap(AttachOp::Exit, Actor::of(ev), addr, ev.ts_ns);
            o.timeline.add(
                TailRef {
                    seq,
                    exit_addr: Some(addr),
                },
                || TimelineEntry::exit(ev, addr),
            );
        }
    }
}
