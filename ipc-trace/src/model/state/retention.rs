//! What removed lifecycles keep, and for how long: the most recent
//! [`Limits::removed_detailed`](super::Limits) keep their details, up to
//! [`Limits::removed_objects`](super::Limits) keep their counters, older
//! ones are forgotten and leave the by-key index.

use super::State;
use crate::model::ids::ObjId;

impl State {
    /// Moves a just-removed lifecycle into history and applies the limits.
    pub(super) fn retire(&mut self, h: ObjId) {
        self.removed_order.push_back(h);
        self.compact_beyond_detailed();
        self.evict_beyond_limit();
    }

    /// The lifecycle that just fell out of the detailed window keeps only
    /// its counters.
    fn compact_beyond_detailed(&mut self) {
        let n = self.removed_order.len();
        if n > self.limits.removed_detailed
            && let Some(old) = self.removed_order.get(n - 1 - self.limits.removed_detailed)
            && let Some(o) = self.objects.get_mut(old)
        {
            o.compact();
        }
    }

    /// Forgets the oldest removed lifecycles beyond the limit.
    fn evict_beyond_limit(&mut self) {
        while self.removed_order.len() > self.limits.removed_objects {
            let Some(old) = self.removed_order.pop_front() else {
                break;
            };
            self.forget(old);
        }
    }

    /// Drops a lifecycle, its entry in the by-key index and, when it was
    /// the last lifecycle of its kernel identity, that identity's
    /// generation counter (ids of `IPC_PRIVATE` churn are nearly all
    /// distinct: kept, the counters grew without bound). An id seen again
    /// after all its lifecycles were forgotten starts over at generation 0,
    /// which no kept lifecycle has.
    fn forget(&mut self, h: ObjId) {
        let Some(gone) = self.objects.remove(&h) else {
            return;
        };
        if !self.live.contains_key(&gone.key)
            && self.generations.get(&gone.key) == Some(&(gone.generation + 1))
        {
            self.generations.remove(&gone.key);
        }
        let Some(k) = gone.ipc_key else {
            return;
        };
        let index = (gone.key.ipc_ns, gone.key.kind, k);
        if let Some(v) = self.by_key.get_mut(&index) {
            v.retain(|x| *x != h);
            if v.is_empty() {
                self.by_key.remove(&index);
            }
        }
    }
}
