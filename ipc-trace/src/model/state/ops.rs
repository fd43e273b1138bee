//! Operations on a live object: `shmctl`/`semctl` (removal requests,
//! `SETALL`, `SETVAL`) and `semop`.

use super::State;
use crate::event::Event;
use crate::model::ids::{Actor, ObjId, ObjectKey};
use crate::model::sem::OpResult;

impl State {
    /// A failed ctl is noted on the live lifecycle, if any, and changes
    /// nothing; a successful one on an unknown id opens a mid-life one.
    /// `*_INFO` and `*_STAT*` take an index or nothing where the others
    /// take an id: they belong to no lifecycle.
    pub(super) fn on_ctl(&mut self, ev: &Event) -> Option<ObjId> {
        const NOT_AN_ID: [&str; 7] = [
            "IPC_INFO",
            "SHM_INFO",
            "SEM_INFO",
            "SHM_STAT",
            "SEM_STAT",
            "SHM_STAT_ANY",
            "SEM_STAT_ANY",
        ];
        if ev.cmd.as_deref().is_some_and(|c| NOT_AN_ID.contains(&c)) {
            return None;
        }
        let key = ObjectKey::of(ev, ev.id?);
        if ev.failed() {
            return self.live.get(&key).copied();
        }
        if ev.cmd.as_deref() == Some("IPC_RMID")
            && let Some(h) = self.removed_during(key, ev)
        {
            return Some(h);
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

    /// The lifecycle of `key` that a kernel-path probe saw freed while the
    /// call `ev` ran (its record comes at the syscall's exit, after the
    /// `shm_destroy`/`freeary` it caused): an `IPC_RMID` belongs to it, not
    /// to a new lifecycle.
    fn removed_during(&mut self, key: ObjectKey, ev: &Event) -> Option<ObjId> {
        if self.live.contains_key(&key) {
            return None;
        }
        let start = ev.ts_ns.saturating_sub(ev.dur_ns.unwrap_or(0));
        let o = self
            .objects
            .values_mut()
            .rev()
            .find(|o| o.key == key)
            .filter(|o| o.removed.is_some_and(|r| r >= start && r <= ev.ts_ns))?;
        o.marked_for_removal = o.marked_for_removal.or(o.removed);
        Some(o.handle)
    }

    /// A semop changes the set's values and counters and the holds the
    /// deadlock hints are derived from.
    pub(super) fn on_semop(&mut self, ev: &Event) -> Option<ObjId> {
        let key = ObjectKey::of(ev, ev.id?);
        let h = self.lifecycle_of_call(key, ev)?;
        let ops = ev.ops.as_deref().unwrap_or(&[]);
        let ok = !ev.failed();
        let blocked = ev.blocked == Some(true);
        let wait = ev.wait_ns.unwrap_or(0);
        let who = Actor::of(ev);
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
}
