//! Counter tracks derived from the events: the value of every semaphore of
//! a set, and the number of distinct pages of a segment faulted in.
//!
//! Semaphore values are tracked simply: a new set starts at 0 (the kernel
//! zeroes it), SETALL/SETVAL set values, and every successful semop adds
//! its `op`s. A set first seen without its creation or a SETALL has
//! unknown values, which are not shown until set. Pages resident counts
//! distinct pages faulted since the segment was created and drops to 0
//! when it is destroyed (pages evicted by the kernel are not seen).

use crate::event::{Event, EventKind};
use std::collections::{HashMap, HashSet};

/// A new counter value to draw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum CounterUpdate {
    /// The known values of a semaphore set, by index.
    SemValues {
        /// The track's name.
        track: String,
        /// (semaphore index, value) for every known value.
        values: Vec<(usize, i64)>,
    },
    /// Distinct pages of a segment faulted in.
    Pages {
        /// The track's name.
        track: String,
        /// Page count.
        pages: u64,
    },
}

#[derive(Default)]
struct SemSet {
    key: Option<i32>,
    values: Vec<Option<i64>>,
}

#[derive(Default)]
struct Segment {
    key: Option<i32>,
    pages: HashSet<u64>,
}

/// The state behind the counter tracks.
#[derive(Default)]
pub(crate) struct Counters {
    sems: HashMap<i32, SemSet>,
    segments: HashMap<i32, Segment>,
}

fn object_name(prefix: &str, id: i32, key: Option<i32>) -> String {
    match key {
        Some(0) => format!("{prefix} {id} (IPC_PRIVATE)"),
        Some(key) => format!("{prefix} {id} (key 0x{:08x})", key as u32),
        None => format!("{prefix} {id}"),
    }
}

impl Counters {
    /// Applies one event (in time order); returns the counter it changed.
    pub(crate) fn apply(&mut self, e: &Event) -> Option<CounterUpdate> {
        if e.failed() {
            return None;
        }
        let id = e.id?;
        match e.kind {
            EventKind::SemCreate => {
                let n = e.nsems.unwrap_or(0) as usize;
                self.sems.insert(
                    id,
                    SemSet {
                        key: e.key,
                        values: vec![Some(0); n],
                    },
                );
                self.sem_update(id)
            }
            EventKind::SemGet => {
                let set = self.sems.entry(id).or_default();
                set.key = set.key.or(e.key);
                None
            }
            EventKind::SemCtl => {
                let set = self.sems.entry(id).or_default();
                let values = e.values.as_deref().unwrap_or(&[]);
                match e.cmd.as_deref() {
                    Some("SETALL") if !values.is_empty() => {
                        set.values = values.iter().map(|&v| Some(i64::from(v))).collect();
                    }
                    Some("SETVAL") => {
                        let index = usize::try_from(e.semnum?).ok()?;
                        let value = *values.first()?;
                        grow(&mut set.values, index);
                        set.values[index] = Some(i64::from(value));
                    }
                    _ => return None,
                }
                self.sem_update(id)
            }
            EventKind::SemOp => {
                let set = self.sems.get_mut(&id)?;
                let mut changed = false;
                for op in e
                    .ops
                    .as_deref()
                    .unwrap_or(&[])
                    .iter()
                    .filter(|op| op.op != 0)
                {
                    let index = usize::from(op.num);
                    grow(&mut set.values, index);
                    if let Some(v) = &mut set.values[index] {
                        *v += i64::from(op.op);
                        changed = true;
                    }
                }
                if changed { self.sem_update(id) } else { None }
            }
            EventKind::SemDestroy => {
                self.sems.remove(&id);
                None
            }
            EventKind::ShmCreate => {
                self.segments.insert(
                    id,
                    Segment {
                        key: e.key,
                        pages: HashSet::new(),
                    },
                );
                self.pages_update(id)
            }
            EventKind::ShmGet => {
                let seg = self.segments.entry(id).or_default();
                seg.key = seg.key.or(e.key);
                None
            }
            EventKind::ShmFault => {
                let page = e.page?;
                let seg = self.segments.entry(id).or_default();
                if seg.pages.insert(page) {
                    self.pages_update(id)
                } else {
                    None
                }
            }
            EventKind::ShmDestroy => {
                let seg = self.segments.get_mut(&id)?;
                seg.key = seg.key.or(e.key);
                seg.pages.clear();
                let update = self.pages_update(id);
                self.segments.remove(&id);
                update
            }
            _ => None,
        }
    }

    fn sem_update(&self, id: i32) -> Option<CounterUpdate> {
        let set = self.sems.get(&id)?;
        let values: Vec<(usize, i64)> = set
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i, v)))
            .collect();
        if values.is_empty() {
            return None;
        }
        Some(CounterUpdate::SemValues {
            track: object_name("sem set", id, set.key),
            values,
        })
    }

    fn pages_update(&self, id: i32) -> Option<CounterUpdate> {
        let seg = self.segments.get(&id)?;
        Some(CounterUpdate::Pages {
            track: format!("{} pages resident", object_name("shm", id, seg.key)),
            pages: seg.pages.len() as u64,
        })
    }
}

/// Makes `index` a valid index of `values` (new entries unknown); indexes
/// beyond any real set (SEMMSL is at most 32000) are refused by the caller's
/// u16 type already.
fn grow(values: &mut Vec<Option<i64>>, index: usize) {
    if values.len() <= index {
        values.resize(index + 1, None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SemOpSpec;

    fn ev(kind: EventKind, id: i32) -> Event {
        let mut e = Event::new(1, kind, 1, 1, "t");
        e.id = Some(id);
        e
    }

    fn sem_values(u: Option<CounterUpdate>) -> Vec<(usize, i64)> {
        match u {
            Some(CounterUpdate::SemValues { values, .. }) => values,
            _ => Vec::new(),
        }
    }

    #[test]
    fn semaphore_values_follow_create_setall_and_ops() {
        let mut c = Counters::default();
        let mut create = ev(EventKind::SemCreate, 3);
        create.nsems = Some(2);
        create.key = Some(0x10);
        assert_eq!(sem_values(c.apply(&create)), [(0, 0), (1, 0)]);
        let mut setall = ev(EventKind::SemCtl, 3);
        setall.cmd = Some("SETALL".into());
        setall.values = Some(vec![1, 0]);
        setall.ret = Some(0);
        assert_eq!(sem_values(c.apply(&setall)), [(0, 1), (1, 0)]);
        let mut op = ev(EventKind::SemOp, 3);
        op.ops = Some(vec![
            SemOpSpec {
                num: 0,
                op: -1,
                flg: 0,
            },
            SemOpSpec {
                num: 1,
                op: 1,
                flg: 0,
            },
        ]);
        op.ret = Some(0);
        assert_eq!(sem_values(c.apply(&op)), [(0, 0), (1, 1)]);
        let mut failed = op.clone();
        failed.ret = Some(-1);
        failed.errno = Some(11);
        assert_eq!(c.apply(&failed), None);
        let mut setval = ev(EventKind::SemCtl, 3);
        setval.cmd = Some("SETVAL".into());
        setval.semnum = Some(1);
        setval.values = Some(vec![5]);
        let u = c.apply(&setval);
        assert!(
            matches!(&u, Some(CounterUpdate::SemValues { track, .. }) if track == "sem set 3 (key 0x00000010)"),
            "{u:?}"
        );
        assert_eq!(sem_values(u), [(0, 0), (1, 5)]);
    }

    #[test]
    fn a_set_of_unknown_values_shows_only_what_was_set() {
        let mut c = Counters::default();
        let mut get = ev(EventKind::SemGet, 4);
        get.ret = Some(4);
        assert_eq!(c.apply(&get), None);
        let mut op = ev(EventKind::SemOp, 4);
        op.ops = Some(vec![SemOpSpec {
            num: 0,
            op: 1,
            flg: 0,
        }]);
        assert_eq!(c.apply(&op), None);
        let mut setval = ev(EventKind::SemCtl, 4);
        setval.cmd = Some("SETVAL".into());
        setval.semnum = Some(2);
        setval.values = Some(vec![7]);
        assert_eq!(sem_values(c.apply(&setval)), [(2, 7)]);
    }

    #[test]
    fn pages_resident_count_distinct_pages_and_reset_on_destroy() {
        let mut c = Counters::default();
        let pages = |u: Option<CounterUpdate>| match u {
            Some(CounterUpdate::Pages { pages, .. }) => Some(pages),
            _ => None,
        };
        let mut create = ev(EventKind::ShmCreate, 9);
        create.key = Some(0);
        assert_eq!(pages(c.apply(&create)), Some(0));
        let mut fault = ev(EventKind::ShmFault, 9);
        for (page, expect) in [(0, Some(1)), (0, None), (3, Some(2))] {
            fault.page = Some(page);
            assert_eq!(pages(c.apply(&fault)), expect);
        }
        let u = c.apply(&ev(EventKind::ShmDestroy, 9));
        assert!(
            matches!(&u, Some(CounterUpdate::Pages { track, pages: 0 }) if track == "shm 9 (IPC_PRIVATE) pages resident"),
            "{u:?}"
        );
    }
}
