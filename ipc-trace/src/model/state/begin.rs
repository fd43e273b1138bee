//! How a lifecycle begins: `*_get` calls (created or found by key), create
//! events (newseg/newary, or inferred), and opening a lifecycle for an id
//! first seen in use.

use super::State;
use crate::event::{Event, EventKind};
use crate::model::ids::{Actor, ObjId, ObjKind, ObjectKey};
use crate::model::object::{Object, Origin};
use crate::model::steps::GetOutcome;

/// `IPC_CREAT` in shmflg/semflg.
const IPC_CREAT: i64 = 0o1000;

/// The id a `*_get` returned.
fn got_id(ev: &Event) -> Option<i32> {
    ev.id
        .or_else(|| ev.ret.and_then(|r| i32::try_from(r).ok()))
        .filter(|id| *id >= 0)
}

impl State {
    /// How a `shm_get`/`sem_get` would be resolved now; `None` for other
    /// kinds.
    pub(super) fn get_outcome(&self, ev: &Event) -> Option<GetOutcome> {
        if !matches!(ev.kind, EventKind::ShmGet | EventKind::SemGet) {
            return None;
        }
        if ev.failed() {
            return Some(GetOutcome::Failed);
        }
        let Some(id) = got_id(ev) else {
            return Some(GetOutcome::Failed);
        };
        Some(match self.live(ObjectKey::of(ev, id)) {
            Some(o) if o.awaiting_get == Some(ev.tgid) => GetOutcome::Created,
            Some(_) => GetOutcome::Found,
            // The kernel said so: `ipcget` found the key (a step probe).
            None if ev.inner_seen("shm_more_checks") || ev.inner_seen("sem_more_checks") => {
                GetOutcome::Found
            }
            None if ev.flags.is_some_and(|f| f & IPC_CREAT != 0) => GetOutcome::Created,
            None => GetOutcome::Found,
        })
    }

    /// Opens a new lifecycle of `key`. A live one of the same key is ended
    /// first and marked incomplete: the id came back without its end being
    /// seen.
    pub(super) fn new_lifecycle(&mut self, key: ObjectKey, ts: u64, origin: Origin) -> ObjId {
        if let Some(old) = self.live.get(&key).copied() {
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
    pub(super) fn live_or_mid_life(&mut self, key: ObjectKey, ts: u64) -> ObjId {
        match self.live.get(&key) {
            Some(h) => *h,
            None => self.new_lifecycle(key, ts, Origin::SeenMidLife),
        }
    }

    /// The lifecycle a call on `key` belongs to: the live one, or a new one
    /// seen mid-life — unless the call failed in a way that does not show
    /// the id names an object (EINVAL, EIDRM, EFAULT, E2BIG: a bad or
    /// removed id, or arguments refused before the id was looked up); such
    /// a call opens no lifecycle.
    pub(super) fn lifecycle_of_call(&mut self, key: ObjectKey, ev: &Event) -> Option<ObjId> {
        const NO_OBJECT: [i32; 4] = [libc::EINVAL, libc::EIDRM, libc::EFAULT, libc::E2BIG];
        let errno = ev.errno.or_else(|| {
            ev.ret
                .filter(|r| (-4095..0).contains(r))
                .map(|r| (-r) as i32)
        });
        if errno.is_some_and(|e| NO_OBJECT.contains(&e)) {
            return self.live.get(&key).copied();
        }
        Some(self.live_or_mid_life(key, ev.ts_ns))
    }

    /// Sets a lifecycle's IPC key once (the first one known wins) and
    /// indexes it by key, unless it is `IPC_PRIVATE`.
    pub(super) fn set_ipc_key(&mut self, h: ObjId, key: i32) {
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

    pub(super) fn on_get(&mut self, ev: &Event, get: Option<GetOutcome>) -> Option<ObjId> {
        let id = got_id(ev)?;
        if get == Some(GetOutcome::Failed) {
            return None;
        }
        let key = ObjectKey::of(ev, id);
        let created = get == Some(GetOutcome::Created);
        let h = match self.live.get(&key).copied() {
            Some(h) => h,
            None if created => {
                let h = self.new_lifecycle(key, ev.ts_ns, Origin::CreatedByGet);
                if let Some(o) = self.objects.get_mut(&h) {
                    o.creator = Some(Actor::of(ev));
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

    pub(super) fn on_create(&mut self, ev: &Event) -> Option<ObjId> {
        let id = ev.id?;
        let key = ObjectKey::of(ev, id);
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
        o.creator = Some(Actor::of(ev));
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
}
