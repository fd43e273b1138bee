//! Semaphore records: semget/newary, semop/semtimedop/do_semtimedop,
//! semctl, freeary.

use super::names;
use super::state::{ObjKey, SemSet};
use super::{Decoder, call, duration, inferred, int_arg, returned_id, seen};
use crate::event::{Event, EventKind, SemOpSpec};
use ipc_trace_common::{MAX_SEMVALS, MAX_SOPS, RawEvent, flag};

impl Decoder {
    /// `semget` returned: `sem_get`, preceded by an inferred `sem_create`
    /// when `newary` is not attached and this call made the set.
    pub(super) fn sys_semget(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let key = raw.args[0] as i32;
        let nsems = u32::try_from(int_arg(raw.args[1])).ok();
        let flags = int_arg(raw.args[2]);
        let mut get = call(raw, EventKind::SemGet);
        get.key = Some(key);
        get.nsems = nsems;
        get.flags = Some(flags);
        get.id = returned_id(raw.ret);
        if let Some(id) = get.id {
            self.semset_returned(raw, (raw.ipc_ns, id), key, nsems, flags, out);
        }
        out.push(get);
    }

    /// A successful semget returned `set`: the first time an id is returned
    /// by a call that may create, that call created it.
    fn semset_returned(
        &mut self,
        raw: &RawEvent,
        set: ObjKey,
        key: i32,
        nsems: Option<u32>,
        flags: i64,
        out: &mut Vec<Event>,
    ) {
        if let Some(known) = self.objects.semsets.get_mut(&set) {
            if let Some(found_at) = known.awaiting_creator
                && !self.attached.newary
                && super::shm::late_creator(raw, found_at, key, flags)
            {
                known.awaiting_creator = None;
                known.nsems = nsems;
                let mut create = inferred(raw, EventKind::SemCreate);
                create.ts_ns = raw.start_ns;
                create.id = Some(set.1);
                create.key = Some(key);
                create.nsems = nsems;
                create.flags = Some(flags);
                out.push(create);
            }
            return;
        }
        let created = !self.attached.newary && names::may_create(key, flags);
        if created {
            let mut create = inferred(raw, EventKind::SemCreate);
            create.id = Some(set.1);
            create.key = Some(key);
            create.nsems = nsems;
            create.flags = Some(flags);
            out.push(create);
        }
        let known = SemSet {
            key: Some(key),
            nsems: if created { nsems } else { None },
            awaiting_creator: (!created && !self.attached.newary).then_some(raw.ts_ns),
        };
        self.objects.semsets.insert(set, known);
    }

    /// `newary` returned: the set was created (SEM-3).
    pub(super) fn newary(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let Some(id) = returned_id(raw.ret) else {
            return; // the sem_get carries the errno
        };
        let set = (raw.ipc_ns, id);
        if let Some(old) = self.objects.semsets.remove(&set)
            && !self.attached.freeary
        {
            // The id names a new set: the old one was freed unseen.
            out.push(inferred_sem_destroy(raw, id, old.key));
        }
        let key = raw.args[0] as i32;
        let nsems = u32::try_from(raw.args[1]).ok();
        let mut create = seen(raw, EventKind::SemCreate);
        create.id = Some(id);
        create.key = Some(key);
        create.nsems = nsems;
        create.flags = Some(int_arg(raw.args[2]));
        create.dur_ns = Some(duration(raw));
        out.push(create);
        self.objects.semsets.insert(
            set,
            SemSet {
                key: Some(key),
                nsems,
                awaiting_creator: None,
            },
        );
    }

    /// `semop`/`semtimedop` returned: the operation, unless
    /// `do_semtimedop` reports it.
    pub(super) fn sys_semop(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        if self.attached.semtimedop {
            return;
        }
        let mut op = call(raw, EventKind::SemOp);
        fill_sem_op(&mut op, raw, raw.args[2]);
        out.push(op);
    }

    /// `do_semtimedop`/`__do_semtimedop` returned (SEM-7…SEM-9).
    pub(super) fn semtimedop(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let mut op = call(raw, EventKind::SemOp);
        fill_sem_op(&mut op, raw, raw.args[1]);
        out.push(op);
    }

    /// `semctl` returned. A successful `IPC_RMID` frees the set at once: an
    /// inferred `sem_destroy` follows unless `freeary` is attached.
    pub(super) fn sys_semctl(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let id = raw.args[0] as i32;
        let cmd = raw.args[2];
        let set = (raw.ipc_ns, id);
        let mut ctl = call(raw, EventKind::SemCtl);
        ctl.id = Some(id);
        ctl.semnum = Some(raw.args[1] as i32);
        ctl.cmd = Some(names::sem_cmd(cmd));
        ctl.values = match names::command(cmd) {
            names::SETALL => self.setall_values(raw, set),
            names::SETVAL => setval_value(raw),
            _ => None,
        };
        let removed = names::command(cmd) == names::IPC_RMID && ctl.errno.is_none();
        out.push(ctl);
        if removed && !self.attached.freeary {
            let key = self.objects.semsets.remove(&set).and_then(|s| s.key);
            out.push(inferred_sem_destroy(raw, id, key));
        }
    }

    /// The values a SETALL passed, cut to the set's size when known.
    fn setall_values(&self, raw: &RawEvent, set: ObjKey) -> Option<Vec<u16>> {
        if raw.flags & flag::READ_FAILED != 0 {
            return None;
        }
        let mut n = (raw.nvals as usize).min(MAX_SEMVALS);
        if let Some(nsems) = self.objects.semsets.get(&set).and_then(|s| s.nsems) {
            n = n.min(nsems as usize);
        }
        Some(raw.vals[..n].to_vec())
    }

    /// `freeary`: the set is freed; its id may be reused.
    pub(super) fn freeary(&mut self, raw: &RawEvent, out: &mut Vec<Event>) {
        let id = raw.args[0] as i32;
        self.objects.semsets.remove(&(raw.ipc_ns, id));
        let mut destroy = seen(raw, EventKind::SemDestroy);
        destroy.id = Some(id);
        destroy.key = Some(raw.args[1] as i32);
        out.push(destroy);
    }
}

/// The value a SETVAL passed: from the record's values, or the argument.
fn setval_value(raw: &RawEvent) -> Option<Vec<u16>> {
    if raw.nvals >= 1 {
        return Some(vec![raw.vals[0]]);
    }
    u16::try_from(int_arg(raw.args[3])).ok().map(|v| vec![v])
}

/// Fills the sem_op fields: the sembufs the record holds, the count passed
/// when they are not all there, and whether (and how long) the caller slept.
fn fill_sem_op(op: &mut Event, raw: &RawEvent, nsops_arg: u64) {
    let passed = if raw.nsops != 0 {
        raw.nsops
    } else {
        u32::try_from(nsops_arg).unwrap_or(u32::MAX)
    };
    let read_failed = raw.flags & flag::READ_FAILED != 0;
    let held = if read_failed {
        0
    } else {
        (passed as usize).min(MAX_SOPS)
    };
    op.id = Some(raw.args[0] as i32);
    op.ops = Some(
        raw.sops[..held]
            .iter()
            .map(|s| SemOpSpec {
                num: s.num,
                op: s.op,
                flg: s.flg,
            })
            .collect(),
    );
    if held < passed as usize || raw.flags & flag::SOPS_TRUNCATED != 0 {
        op.nsops = Some(passed);
    }
    let slept = raw.flags & flag::SLEPT != 0;
    op.blocked = Some(slept);
    if slept {
        op.wait_ns = Some(raw.wait_ns);
    }
}

/// An inferred destroy of a set, at the time of `raw`.
fn inferred_sem_destroy(raw: &RawEvent, id: i32, key: Option<i32>) -> Event {
    let mut destroy = inferred(raw, EventKind::SemDestroy);
    destroy.id = Some(id);
    destroy.key = key;
    destroy
}
