//! Segment mappings: attaches, page faults, detaches, the detaches a
//! process exit or exec implies for every segment it still had attached,
//! and the copies a fork gives the child.

use super::State;
use crate::event::Event;
use crate::model::ids::{Actor, ObjId, ObjectKey};
use crate::model::object::AttachOp;
use crate::model::timeline::{TailRef, TimelineEntry};

/// Most mappings remembered as detached by an exit or exec while their
/// `shm_detach` has not arrived.
const ENDED_MAPPINGS_CAP: usize = 4096;

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
        self.ended_mappings.remove(&(ev.tgid, addr));
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
        if by_mapping.is_none()
            && let Some(h) = self.ended_mappings.remove(&(ev.tgid, addr))
        {
            return Some(h); // the exit or exec already detached it
        }
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
        self.unmap_process(ev, AttachOp::Exit);
    }

    /// An exec: every segment the process had attached is detached by the
    /// kernel; the process goes on (its semaphore adjustments stay).
    pub(super) fn on_exec(&mut self, ev: &Event) {
        self.unmap_process(ev, AttachOp::Exec);
    }

    /// A fork: the child (`ret`) has a copy of each of the parent's
    /// mappings, each segment one attach more (the kernel's `shm_nattch`
    /// counts it), which that segment's timeline shows.
    pub(super) fn on_fork(&mut self, ev: &Event) {
        let Some(child) = ev.ret.and_then(|r| u32::try_from(r).ok()) else {
            return;
        };
        self.processes.touch(child, &ev.comm, ev.ts_ns);
        let heir = Actor {
            pid: child,
            tgid: child,
            comm: ev.comm.clone(),
        };
        for (addr, h) in self.mappings_of(ev.tgid) {
            let Some(o) = self.objects.get_mut(&h) else {
                continue;
            };
            let Some(s) = o.shm.as_mut() else { continue };
            s.map_by(AttachOp::Inherit, heir.clone(), addr, ev.ts_ns);
            self.mappings.insert((child, addr), h);
            self.note_mapping(h, ev, addr);
        }
    }

    /// Every mapping of process `tgid` goes, by `op` (exit or exec).
    fn unmap_process(&mut self, ev: &Event, op: AttachOp) {
        if self.ended_mappings.len() >= ENDED_MAPPINGS_CAP {
            // Detaches that never came (a recording cut short): forgotten.
            self.ended_mappings.clear();
        }
        for (addr, h) in self.mappings_of(ev.tgid) {
            self.mappings.remove(&(ev.tgid, addr));
            self.ended_mappings.insert((ev.tgid, addr), h);
            let Some(o) = self.objects.get_mut(&h) else {
                continue;
            };
            let Some(s) = o.shm.as_mut() else { continue };
            s.unmap(op, Actor::of(ev), addr, ev.ts_ns);
            self.note_mapping(h, ev, addr);
        }
    }

    /// The mappings of process `tgid`: (address, segment lifecycle).
    fn mappings_of(&self, tgid: u32) -> Vec<(u64, ObjId)> {
        self.mappings
            .iter()
            .filter(|((t, _), _)| *t == tgid)
            .map(|((_, addr), h)| (*addr, *h))
            .collect()
    }

    /// Adds the process event `ev` to the timeline of the segment it
    /// changed the mapping at `addr` of.
    fn note_mapping(&mut self, h: ObjId, ev: &Event, addr: u64) {
        let seq = self.events - 1;
        if let Some(o) = self.objects.get_mut(&h) {
            o.timeline.add(
                TailRef {
                    seq,
                    mapping_addr: Some(addr),
                },
                || TimelineEntry::mapping(ev, addr),
            );
        }
    }
}
