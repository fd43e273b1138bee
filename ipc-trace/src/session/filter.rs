//! Userspace filters of a live session: `--comm`, `--key`, `--ipc-ns`.
//! (`--pid` and `-- CMD` are filtered in the kernel, children included.)

use crate::event::{Event, EventKind};
use std::collections::HashMap;

/// The filters, with the id → key knowledge `--key` needs (most events
/// carry only the id).
#[derive(Debug, Default)]
pub struct LiveFilter {
    comm: Option<String>,
    key: Option<i32>,
    ipc_ns: Option<u32>,
    keys: HashMap<(u32, bool, i32), i32>,
}

impl LiveFilter {
    /// A filter; `None` everywhere passes everything.
    pub fn new(comm: Option<String>, key: Option<i32>, ipc_ns: Option<u32>) -> LiveFilter {
        LiveFilter {
            comm,
            key,
            ipc_ns,
            keys: HashMap::new(),
        }
    }

    /// Remembers the key of a pre-existing object.
    pub fn learn(&mut self, ipc_ns: u32, is_shm: bool, id: i32, key: i32) {
        self.keys.insert((ipc_ns, is_shm, id), key);
    }

    /// True when `ev` passes every filter.
    pub fn pass(&mut self, ev: &Event) -> bool {
        if let (Some(id), Some(key)) = (ev.id, ev.key) {
            self.keys.insert((ev.ipc_ns, ev.kind.is_shm(), id), key);
        }
        if self.comm.as_deref().is_some_and(|c| c != ev.comm) {
            return false;
        }
        if self
            .ipc_ns
            .is_some_and(|ns| ns != ev.ipc_ns && ev.kind != EventKind::Drops)
        {
            return false;
        }
        let Some(want) = self.key else { return true };
        if !(ev.kind.is_shm() || ev.kind.is_sem()) {
            return true;
        }
        let key = ev.key.or_else(|| {
            ev.id
                .and_then(|id| self.keys.get(&(ev.ipc_ns, ev.kind.is_shm(), id)).copied())
        });
        key == Some(want)
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
    fn comm_filter() {
        let mut f = LiveFilter::new(Some("cons".into()), None, None);
        assert!(!f.pass(&ev(EventKind::ShmGet, 3, Some(1))));
    }
}
