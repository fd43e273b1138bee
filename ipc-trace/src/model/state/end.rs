//! How a lifecycle ends: a destroy event (seen or inferred), or its id
//! coming back before its end was seen. Ending is a sequence of small
//! steps; what happens to the lifecycle afterwards is `retention.rs`.

use super::State;
use crate::event::Event;
use crate::model::ids::{ObjId, ObjKind, ObjectKey};

impl State {
    pub(super) fn on_destroy(&mut self, ev: &Event) -> Option<ObjId> {
        let key = ObjectKey::of(ev, ev.id?);
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

    /// Marks a lifecycle removed at `ts` and moves it to history. Ending a
    /// lifecycle twice changes nothing.
    pub(super) fn end_lifecycle(&mut self, h: ObjId, ts: u64, inferred: bool) {
        let Some(key) = self.mark_removed(h, ts, inferred) else {
            return;
        };
        self.leave_live(key, h);
        self.drop_mappings(h);
        if key.kind == ObjKind::Sem {
            self.holds.removed(h);
        }
        self.retire(h);
    }

    /// Stamps the removal; `None` if the lifecycle is unknown or already
    /// removed.
    fn mark_removed(&mut self, h: ObjId, ts: u64, inferred: bool) -> Option<ObjectKey> {
        let o = self.objects.get_mut(&h)?;
        if o.removed.is_some() {
            return None;
        }
        o.removed = Some(ts);
        o.removal_inferred |= inferred;
        o.awaiting_get = None;
        Some(o.key)
    }

    /// The kernel identity no longer names this lifecycle (it may already
    /// name a newer one).
    fn leave_live(&mut self, key: ObjectKey, h: ObjId) {
        if self.live.get(&key) == Some(&h) {
            self.live.remove(&key);
        }
    }

    /// A freed segment is mapped nowhere: later detaches at its addresses
    /// must not find it.
    fn drop_mappings(&mut self, h: ObjId) {
        let Some(s) = self.objects.get_mut(&h).and_then(|o| o.shm.as_mut()) else {
            return;
        };
        for m in s.mappings.drain(..) {
            self.mappings.remove(&(m.actor.tgid, m.addr));
        }
        s.unknown_attaches = 0;
    }
}
