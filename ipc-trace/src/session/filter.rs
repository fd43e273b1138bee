//! Userspace filters of a live session: `--comm`, `--key`, `--ipc-ns`.
//! (`--pid` and `-- CMD` are filtered in the kernel, children included.)

use crate::event::{Event, EventKind};
use std::collections::HashSet;

/// The filters, with what `--key` needs to know of ids (most events carry
/// only the id): the ids whose key is the wanted one. Ids of other keys
/// are never stored, so that the set stays as small as the wanted objects
/// whatever the churn of others.
#[derive(Debug, Default)]
pub struct LiveFilter {
    comm: Option<String>,
    key: Option<i32>,
    ipc_ns: Option<u32>,
    wanted_ids: HashSet<(u32, bool, i32)>,
}

impl LiveFilter {
    /// A filter; `None` everywhere passes everything.
    pub fn new(comm: Option<String>, key: Option<i32>, ipc_ns: Option<u32>) -> LiveFilter {
        LiveFilter {
            comm,
            key,
            ipc_ns,
            wanted_ids: HashSet::new(),
        }
    }

    /// Remembers the key of a pre-existing object.
    pub fn learn(&mut self, ipc_ns: u32, is_shm: bool, id: i32, key: i32) {
        let Some(want) = self.key else { return };
        if key == want {
            self.wanted_ids.insert((ipc_ns, is_shm, id));
        } else {
            // The id came back with another key.
            self.wanted_ids.remove(&(ipc_ns, is_shm, id));
        }
    }

    /// True when `ev` passes every filter.
    pub fn pass(&mut self, ev: &Event) -> bool {
        if let (Some(id), Some(key)) = (ev.id, ev.key) {
            self.learn(ev.ipc_ns, ev.kind.is_shm(), id, key);
        }
        // Counted losses concern every lifecycle alive when they happened,
        // whoever's process or namespace: never filtered away.
        if ev.kind == EventKind::Drops {
            return true;
        }
        if self.comm.as_deref().is_some_and(|c| c != ev.comm) {
            return false;
        }
        if self.ipc_ns.is_some_and(|ns| ns != ev.ipc_ns) {
            return false;
        }
        let Some(want) = self.key else { return true };
        if !(ev.kind.is_shm() || ev.kind.is_sem()) {
            return true;
        }
        match (ev.key, ev.id) {
            (Some(key), _) => key == want,
            (None, Some(id)) => self.wanted_ids.contains(&(ev.ipc_ns, ev.kind.is_shm(), id)),
            (None, None) => false,
        }
    }

    /// Ids remembered for `--key` (bounded by the wanted objects).
    pub fn remembered_ids(&self) -> usize {
        self.wanted_ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, id: i32, key: Option<i32>) -> Event {
        let mut e = Event::new(1, kind, 5, 5, "prod");
        e.id = Some(id);
        e.key = key;
        e
    }

    #[test]
    fn key_filter_follows_ids_learned_from_get() {
        let mut f = LiveFilter::new(None, Some(0x16988), None);
        assert!(f.pass(&ev(EventKind::ShmGet, 3, Some(0x16988))));
        assert!(f.pass(&ev(EventKind::ShmFault, 3, None)));
        assert!(!f.pass(&ev(EventKind::ShmGet, 4, Some(7))));
        assert!(!f.pass(&ev(EventKind::ShmFault, 4, None)));
        // A semaphore set with the same id is another object.
        assert!(!f.pass(&ev(EventKind::SemOp, 3, None)));
        assert!(f.pass(&Event::new(1, EventKind::ProcExit, 5, 5, "prod")));
    }

    #[test]
    fn only_ids_of_the_wanted_key_are_remembered() {
        let mut f = LiveFilter::new(None, Some(0x16988), None);
        for id in 0..1000 {
            assert!(!f.pass(&ev(EventKind::ShmGet, id, Some(7))));
        }
        assert_eq!(f.remembered_ids(), 0);
        assert!(f.pass(&ev(EventKind::ShmGet, 5, Some(0x16988))));
        assert_eq!(f.remembered_ids(), 1);
        // The id comes back with another key: forgotten.
        assert!(!f.pass(&ev(EventKind::ShmGet, 5, Some(7))));
        assert!(!f.pass(&ev(EventKind::ShmFault, 5, None)));
        assert_eq!(f.remembered_ids(), 0);
        // Without a key filter nothing is remembered at all.
        let mut f = LiveFilter::new(None, None, None);
        assert!(f.pass(&ev(EventKind::ShmGet, 5, Some(7))));
        assert_eq!(f.remembered_ids(), 0);
    }

    #[test]
    fn counted_losses_pass_every_filter() {
        let mut f = LiveFilter::new(Some("prod".into()), Some(9), Some(4));
        assert!(f.pass(&Event::new(1, EventKind::Drops, 0, 0, "")));
        assert!(!f.pass(&Event::new(1, EventKind::ProcExit, 5, 5, "other")));
    }

    #[test]
    fn comm_filter() {
        let mut f = LiveFilter::new(Some("cons".into()), None, None);
        assert!(!f.pass(&ev(EventKind::ShmGet, 3, Some(1))));
    }
}
