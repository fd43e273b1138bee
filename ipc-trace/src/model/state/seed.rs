//! Objects that existed before tracing started, from `/proc/sysvipc`, and
//! processes known gone without an exit event.

use super::State;
use crate::model::ids::{Actor, ObjKind, ObjectKey};
use crate::model::object::{Object, Origin};
use crate::sysvipc::{SemEntry, ShmEntry};

impl State {
    /// Adds objects that existed before tracing started (from
    /// `/proc/sysvipc`), marked seen mid-life. Ids already known are left
    /// alone.
    pub fn seed(&mut self, shm: &[ShmEntry], sem: &[SemEntry], ipc_ns: u32, now_ns: u64) {
        for e in shm {
            self.seed_shm(e, ipc_ns, now_ns);
        }
        for e in sem {
            self.seed_sem(e, ipc_ns, now_ns);
        }
    }

    /// Records that process `tgid` no longer exists (checked outside the
    /// model, e.g. the creator pid of a seeded segment).
    pub fn process_gone(&mut self, tgid: u32) {
        self.processes.gone(tgid, self.now_ns);
    }

    /// A mid-life lifecycle for a listed object, unless its id is already
    /// live.
    fn seeded(&mut self, key: ObjectKey, ipc_key: i32, now_ns: u64) -> Option<&mut Object> {
        if self.live.contains_key(&key) {
            return None;
        }
        let h = self.new_lifecycle(key, now_ns, Origin::SeenMidLife);
        self.set_ipc_key(h, ipc_key);
        self.objects.get_mut(&h).map(|b| &mut **b)
    }

    fn seed_shm(&mut self, e: &ShmEntry, ipc_ns: u32, now_ns: u64) {
        let key = ObjectKey {
            ipc_ns,
            kind: ObjKind::Shm,
            id: e.shmid,
        };
        let Some(o) = self.seeded(key, e.key, now_ns) else {
            return;
        };
        o.size = Some(e.size);
        o.perms = Some(e.perms & 0o777);
        // /proc/sysvipc/shm names the creator's pid only.
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

    fn seed_sem(&mut self, e: &SemEntry, ipc_ns: u32, now_ns: u64) {
        let key = ObjectKey {
            ipc_ns,
            kind: ObjKind::Sem,
            id: e.semid,
        };
        let Some(o) = self.seeded(key, e.key, now_ns) else {
            return;
        };
        o.nsems = Some(e.nsems);
        o.perms = Some(e.perms & 0o777);
        if let Some(s) = o.sem.as_mut() {
            s.ensure(e.nsems as usize);
        }
    }
}
