//! Shared-memory records: shmget/newseg, shmat/do_shmat, faults,
//! shmdt/shm_close, shmctl, shm_destroy.

use super::names;
use super::state::{Attach, ObjKey, Segment};
use super::{Decoder, call, comm_str, duration, inferred, int_arg, returned_id, seen, tgid_of};
use crate::event::{Event, EventKind};
use ipc_trace_common::{RawEvent, flag};

/// Page size the fault ranges are counted in (x86_64).
const PAGE_SIZE: u64 = 4096;
/// `FAULT_FLAG_WRITE` in `vm_fault.flags`.
const FAULT_FLAG_WRITE: u64 = 1;
/// `X86_PF_WRITE` in a page fault's error code.
const PF_WRITE: u64 = 2;

/// True when a get that returned an id first found by a get that could not
/// create it (completed at `found_at`) is that object's creator: it could
/// create, and it started before the object was found. The object becomes
/// findable inside the creating call, so a finder can complete first; then
/// the creator's record arrives after the finder's, and its inferred create
/// is timestamped at the creator's entry, before the find.
pub(super) fn late_creator(raw: &RawEvent, found_at: u64, key: i32, flags: i64) -> bool {
    names::may_create(key, flags) && raw.start_ns <= found_at
}

impl Decoder {
    /// `shmget` returned: `shm_get`, preceded by an inferred `shm_create`
    /// when `newseg` is not attached and this call made the segment.
    pub(super) fn sys_shmget(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let key = raw.args[0] as i32;
        let size = raw.args[1];
        let flags = int_arg(raw.args[2]);
        let mut get = call(raw, EventKind::ShmGet);
        get.key = Some(key);
        get.size = Some(size);
        get.flags = Some(flags);
        get.id = returned_id(raw.ret);
        if let Some(id) = get.id {
            self.segment_returned(raw, (raw.ipc_ns, id), key, size, flags, out);
        }
        out.push(get);
    }

    /// A successful shmget returned `seg`. The first time an id is returned
    /// by a call that may create (`IPC_PRIVATE` or `IPC_CREAT`), that call
    /// created it; a call that may not create only found it.
    fn segment_returned(
        &mut self,
        raw: &RawEvent,
        seg: ObjKey,
        key: i32,
        size: u64,
        flags: i64,
        out: &mut Vec<Event>,
    ) {
        match self.objects.segments.get(&seg) {
            Some(known) if !known.removed => {
                if let Some(found_at) = known.awaiting_creator
                    && !self.attached.newseg
                    && late_creator(raw, found_at, key, flags)
                {
                    let mut create = inferred(raw, EventKind::ShmCreate);
                    create.ts_ns = raw.start_ns;
                    create.id = Some(seg.1);
                    create.key = Some(key);
                    create.size = Some(size);
                    create.flags = Some(flags);
                    out.push(create);
                    if let Some(known) = self.objects.segments.get_mut(&seg) {
                        known.size = Some(size);
                        known.untracked_attaches = Some(0);
                        known.awaiting_creator = None;
                    }
                }
                return;
            }
            // A removed segment cannot be returned by shmget: its id names a new one.
            Some(_) => self.end_unseen(raw, seg, out),
            None => {}
        }
        if !self.attached.newseg && names::may_create(key, flags) {
            let mut create = inferred(raw, EventKind::ShmCreate);
            create.id = Some(seg.1);
            create.key = Some(key);
            create.size = Some(size);
            create.flags = Some(flags);
            out.push(create);
            self.objects
                .segments
                .insert(seg, Segment::created(key, size));
        } else {
            let mut found = Segment::found(Some(key));
            found.awaiting_creator = (!self.attached.newseg).then_some(raw.ts_ns);
            self.objects.segments.insert(seg, found);
        }
    }

    /// `newseg` returned: the segment was created (SHM-3/SHM-4).
    pub(super) fn newseg(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let Some(id) = returned_id(raw.ret) else {
            return; // the shm_get carries the errno
        };
        let seg = (raw.ipc_ns, id);
        if self.objects.segments.contains_key(&seg) {
            self.end_unseen(raw, seg, out);
        }
        let key = raw.args[0] as i32;
        let size = raw.args[1];
        let mut create = seen(raw, EventKind::ShmCreate);
        create.id = Some(id);
        create.key = Some(key);
        create.size = Some(size);
        create.flags = Some(int_arg(raw.args[2]));
        create.dur_ns = Some(duration(raw));
        out.push(create);
        self.objects
            .segments
            .insert(seg, Segment::created(key, size));
    }

    /// `shmat` returned: the attach, unless `do_shmat` reports it.
    pub(super) fn sys_shmat(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        if self.attached.do_shmat {
            return;
        }
        let id = raw.args[0] as i32;
        let mut attach = call(raw, EventKind::ShmAttach);
        attach.id = Some(id);
        attach.flags = Some(int_arg(raw.args[2]));
        if attach.errno.is_none() {
            let addr = raw.ret as u64;
            attach.addr = Some(addr);
            self.attached_at(raw, (raw.ipc_ns, id), addr, attach, out);
        } else {
            out.push(attach);
        }
    }

    /// `do_shmat` returned (SHM-5…SHM-9).
    pub(super) fn do_shmat(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let id = raw.args[0] as i32;
        let mut attach = call(raw, EventKind::ShmAttach);
        attach.id = Some(id);
        attach.flags = Some(int_arg(raw.args[2]));
        if raw.ret == 0 {
            let addr = raw.args[3];
            attach.addr = Some(addr);
            self.attached_at(raw, (raw.ipc_ns, id), addr, attach, out);
        } else {
            out.push(attach);
        }
    }

    /// Pushes a successful attach and tracks it. A tracked mapping of the
    /// same process at the same address is gone (replaced with `SHM_REMAP`,
    /// or unmapped unseen): it is detached first.
    fn attached_at(
        &mut self,
        raw: &RawEvent,
        seg: ObjKey,
        addr: u64,
        attach: Event,
        out: &mut Vec<Event>,
    ) {
        let tgid = tgid_of(raw);
        let replaced = self.objects.untrack(|a| a.tgid == tgid && a.addr == addr);
        if let Some(old) = replaced
            && !self.attached.shm_close
        {
            out.push(inferred_detach(raw, &old));
        }
        self.objects
            .segments
            .entry(seg)
            .or_insert_with(|| Segment::found(None));
        out.push(attach);
        self.objects.track(Attach {
            tgid,
            comm: raw.comm,
            addr,
            seg,
        });
        if let Some(old) = replaced {
            self.destroy_if_unused(raw, old.seg, out);
        }
    }

    /// `page_fault_user` in an attached range: a fault on a segment page,
    /// unless `shm_fault` reports faults. False when the address is outside
    /// the range the record names.
    pub(super) fn page_fault_user(&mut self, raw: &RawEvent, out: &mut Vec<Event>) -> bool {
        if self.attached.shm_fault {
            return true;
        }
        let [id, addr, error_code, start, end, _] = raw.args;
        if addr < start || addr >= end {
            return false;
        }
        let mut fault = inferred(raw, EventKind::ShmFault);
        fault.id = Some(id as i32);
        fault.addr = Some(addr);
        fault.page = Some((addr - start) / PAGE_SIZE);
        fault.write = Some(error_code & PF_WRITE != 0);
        out.push(fault);
        true
    }

    /// `shm_fault` returned (SHM-10…SHM-12).
    pub(super) fn shm_fault(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let [id, addr, pgoff, vmf_flags, _, _] = raw.args;
        let mut fault = seen(raw, EventKind::ShmFault);
        fault.id = Some(id as i32);
        fault.addr = Some(addr);
        fault.page = Some(pgoff);
        fault.write = Some(vmf_flags & FAULT_FLAG_WRITE != 0);
        fault.shmem = Some(raw.flags & flag::SHMEM_SEEN != 0);
        fault.ret = Some(raw.ret);
        fault.dur_ns = Some(duration(raw));
        out.push(fault);
    }

    /// `shmdt` returned: the detach, unless `shm_close` reports it; then the
    /// inferred destroy of a removed segment whose last attach this was.
    pub(super) fn sys_shmdt(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        if self.attached.shm_close {
            return;
        }
        let addr = raw.args[0];
        let tgid = tgid_of(raw);
        let mut detach = call(raw, EventKind::ShmDetach);
        detach.addr = Some(addr);
        let gone = if detach.errno.is_none() {
            self.objects.untrack(|a| a.tgid == tgid && a.addr == addr)
        } else {
            None
        };
        detach.id = gone.map(|a| a.seg.1);
        out.push(detach);
        if let Some(a) = gone {
            self.destroy_if_unused(raw, a.seg, out);
        }
    }

    /// `shm_close`: a mapping of the segment went away.
    pub(super) fn shm_close(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let id = raw.args[0] as i32;
        let addr = raw.args[1];
        let seg = (raw.ipc_ns, id);
        let tgid = tgid_of(raw);
        if self.objects.take_exit_detach(tgid, addr, seg) {
            return;
        }
        let tracked = self
            .objects
            .untrack(|a| a.tgid == tgid && a.addr == addr && a.seg == seg);
        if tracked.is_none()
            && let Some(n) = self
                .objects
                .segments
                .get_mut(&seg)
                .and_then(|s| s.untracked_attaches.as_mut())
        {
            *n = n.saturating_sub(1);
        }
        let mut detach = seen(raw, EventKind::ShmDetach);
        detach.id = Some(id);
        detach.addr = Some(addr);
        out.push(detach);
        self.destroy_if_unused(raw, seg, out);
    }

    /// `shmctl` returned. After a successful `IPC_RMID` the segment goes
    /// when its last attach goes: now, or at that detach (inferred unless
    /// `shm_destroy` is attached).
    pub(super) fn sys_shmctl(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let id = raw.args[0] as i32;
        let cmd = raw.args[1];
        let mut ctl = call(raw, EventKind::ShmCtl);
        ctl.id = Some(id);
        ctl.cmd = Some(names::shm_cmd(cmd));
        let removed = names::command(cmd) == names::IPC_RMID && ctl.errno.is_none();
        out.push(ctl);
        if !removed {
            return;
        }
        let seg = (raw.ipc_ns, id);
        if self.attached.shm_destroy {
            // shm_destroy may already have been reported (and the segment forgotten).
            if let Some(s) = self.objects.segments.get_mut(&seg) {
                s.removed = true;
            }
        } else {
            self.objects
                .segments
                .entry(seg)
                .or_insert_with(|| Segment::found(None))
                .removed = true;
            self.destroy_if_unused(raw, seg, out);
        }
    }

    /// `shm_destroy`: the segment is freed; its id may be reused.
    pub(super) fn shm_destroy(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let id = raw.args[0] as i32;
        let seg = (raw.ipc_ns, id);
        if self.objects.take_exit_free(tgid_of(raw), seg) {
            return;
        }
        self.objects.segments.remove(&seg);
        // Freed means no attach is left: any still tracked went unseen.
        let stale = self.objects.untrack_all(|a| a.seg == seg);
        if !self.attached.shm_close {
            out.extend(stale.iter().map(|a| inferred_detach(raw, a)));
        }
        let mut destroy = seen(raw, EventKind::ShmDestroy);
        destroy.id = Some(id);
        destroy.key = Some(raw.args[1] as i32);
        destroy.size = Some(raw.args[2]);
        out.push(destroy);
    }

    /// Infers the destroy of a removed segment once no attach is left,
    /// unless `shm_destroy` reports it. Not when attaches made by unseen
    /// processes may remain: then its moment cannot be told.
    pub(super) fn destroy_if_unused(&mut self, raw: &RawEvent, seg: ObjKey, out: &mut Vec<Event>) {
        if !self.attached.shm_destroy {
            self.infer_destroy_if_unused(raw, seg, out);
        }
    }

    /// Infers the destroy of a removed segment with no attach left, now;
    /// true when it did.
    pub(super) fn infer_destroy_if_unused(
        &mut self,
        raw: &RawEvent,
        seg: ObjKey,
        out: &mut Vec<Event>,
    ) -> bool {
        let unused = self.objects.segments.get(&seg).is_some_and(|s| {
            s.removed && s.untracked_attaches == Some(0) && !self.objects.is_attached(seg)
        });
        if !unused {
            return false;
        }
        match self.objects.segments.remove(&seg) {
            Some(segment) => {
                out.push(inferred_destroy(raw, seg, &segment));
                true
            }
            None => false,
        }
    }

    /// The id of a known segment now names a new one: the old one ended
    /// unseen. Its attaches and its destroy are inferred (where the
    /// kernel-path probe that would report them is not attached).
    fn end_unseen(&mut self, raw: &RawEvent, seg: ObjKey, out: &mut Vec<Event>) {
        let old = self.objects.segments.remove(&seg);
        let stale = self.objects.untrack_all(|a| a.seg == seg);
        if !self.attached.shm_close {
            out.extend(stale.iter().map(|a| inferred_detach(raw, a)));
        }
        if let Some(old) = old
            && !self.attached.shm_destroy
        {
            out.push(inferred_destroy(raw, seg, &old));
        }
    }
}

/// An inferred detach of a tracked attach, at the time of `raw`, in the
/// name of the process that held the mapping.
pub(super) fn inferred_detach(raw: &RawEvent, attach: &Attach) -> Event {
    let mut detach = inferred(raw, EventKind::ShmDetach);
    if attach.tgid != tgid_of(raw) {
        detach.pid = attach.tgid;
        detach.tgid = attach.tgid;
        detach.comm = comm_str(&attach.comm);
    }
    detach.id = Some(attach.seg.1);
    detach.addr = Some(attach.addr);
    detach
}

/// An inferred destroy of a segment, at the time of `raw`.
fn inferred_destroy(raw: &RawEvent, seg: ObjKey, segment: &Segment) -> Event {
    let mut destroy = inferred(raw, EventKind::ShmDestroy);
    destroy.id = Some(seg.1);
    destroy.key = segment.key;
    destroy.size = segment.size;
    destroy
}
