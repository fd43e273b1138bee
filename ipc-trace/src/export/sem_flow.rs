//! Which V woke which blocked P: the flow arrows of the Perfetto export.
//!
//! Heuristic (the kernel does not report who woke whom): when a `sem_op`
//! that blocked completes successfully, its first P (`op < 0`, semaphore
//! `num` of set `id`) is attributed to the most recent successful V
//! (`op > 0`) on the same set and semaphore, by another thread, that
//! completed while the P was asleep (between `ts_ns - wait_ns` and the P's
//! `ts_ns`) and has not already been used up by other Ps (a V of `+n` can
//! wake `n` units' worth). Events must arrive in time order.

use crate::event::{Event, EventKind};
use std::collections::{HashMap, VecDeque};

/// Most recent Vs remembered per semaphore.
const RECENT_PER_SEM: usize = 16;

/// A V that may wake a sleeper.
struct RecentV {
    tgid: u32,
    tid: u32,
    /// Its syscall slice, when its duration is known.
    slice: Option<(u64, u64)>,
    end_ns: u64,
    credits: i64,
    exported: bool,
}

/// One arrow: from inside the V's slice to inside the P's blocked slice.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Wake {
    /// Flow id.
    pub id: u64,
    /// (tgid, tid) of the waker.
    pub from: (u32, u32),
    /// A time strictly inside the waker's semop slice.
    pub from_ts_ns: u64,
    /// (tgid, tid) of the woken.
    pub to: (u32, u32),
    /// A time strictly inside the woken thread's blocked slice.
    pub to_ts_ns: u64,
}

/// Matches blocked Ps to the Vs that woke them.
#[derive(Default)]
pub(crate) struct WakeFlows {
    recent: HashMap<(i32, u16), VecDeque<RecentV>>,
    next_id: u64,
}

/// The slice a blocked P's arrow ends in: its blocked wait if known, else
/// its whole call.
pub(crate) fn blocked_slice(e: &Event) -> Option<(u64, u64)> {
    let span = e.wait_ns.filter(|&w| w > 0).or(e.dur_ns)?;
    let mut start = e.ts_ns.saturating_sub(span);
    if let Some(dur) = e.dur_ns {
        start = start.max(e.ts_ns.saturating_sub(dur));
    }
    Some((start, e.ts_ns))
}

impl WakeFlows {
    /// Looks at one event (time order); `exported` says whether its slices
    /// are drawn. Returns the arrow ending at this event, if any.
    pub(crate) fn observe(&mut self, e: &Event, exported: bool) -> Option<Wake> {
        let id = e.id?;
        if e.kind == EventKind::SemDestroy {
            self.recent.retain(|(set, _), _| *set != id);
            return None;
        }
        if e.kind != EventKind::SemOp || e.failed() {
            return None;
        }
        let ops = e.ops.as_deref().unwrap_or(&[]);
        let wake = if e.blocked == Some(true) {
            self.match_wake(e, exported)
        } else {
            None
        };
        for op in ops.iter().filter(|op| op.op > 0) {
            let list = self.recent.entry((id, op.num)).or_default();
            if list.len() == RECENT_PER_SEM {
                list.pop_front();
            }
            list.push_back(RecentV {
                tgid: e.tgid,
                tid: e.pid,
                slice: e.dur_ns.map(|d| (e.ts_ns.saturating_sub(d), e.ts_ns)),
                end_ns: e.ts_ns,
                credits: i64::from(op.op),
                exported,
            });
        }
        wake
    }

    fn match_wake(&mut self, e: &Event, exported: bool) -> Option<Wake> {
        let id = e.id?;
        let p = e.ops.as_deref()?.iter().find(|op| op.op < 0)?;
        let asleep_from = e.ts_ns.saturating_sub(e.wait_ns.or(e.dur_ns).unwrap_or(0));
        let list = self.recent.get_mut(&(id, p.num))?;
        let v = list.iter_mut().rev().find(|v| {
            v.tid != e.pid && v.credits > 0 && v.end_ns >= asleep_from && v.end_ns <= e.ts_ns
        })?;
        v.credits -= i64::from(p.op).abs();
        if !(exported && v.exported) {
            return None;
        }
        let (v_start, v_end) = v.slice?;
        let (p_start, p_end) = blocked_slice(e)?;
        let from_ts_ns = inside(v_start, v_end, v_start + (v_end - v_start) / 2)?;
        let lo = v.end_ns.max(p_start);
        let to_ts_ns = inside(p_start, p_end, lo + (p_end.saturating_sub(lo)) / 2)?;
        self.next_id += 1;
        Some(Wake {
            id: self.next_id,
            from: (v.tgid, v.tid),
            from_ts_ns,
            to: (e.tgid, e.pid),
            to_ts_ns,
        })
    }
}

/// `t` moved strictly inside (start, end); None when the span is too short.
fn inside(start: u64, end: u64, t: u64) -> Option<u64> {
    if end.saturating_sub(start) < 2 {
        return None;
    }
    Some(t.clamp(start + 1, end - 1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::SemOpSpec;

    fn op(ts: u64, pid: u32, op: i16, dur: u64, wait: Option<u64>) -> Event {
        let mut e = Event::new(ts, EventKind::SemOp, pid, pid, "t");
        e.id = Some(1);
        e.ops = Some(vec![SemOpSpec { num: 0, op, flg: 0 }]);
        e.ret = Some(0);
        e.dur_ns = Some(dur);
        e.blocked = Some(wait.is_some());
        e.wait_ns = wait;
        e
    }

    #[test]
    fn a_v_during_the_sleep_wakes_the_p() {
        let mut f = WakeFlows::default();
        assert_eq!(f.observe(&op(3_100, 10, 1, 50, None), true), None);
        let wake = f.observe(&op(3_125, 20, -1, 1_100, Some(1_000)), true);
        assert_eq!(
            wake,
            Some(Wake {
                id: 1,
                from: (10, 10),
                from_ts_ns: 3_075,
                to: (20, 20),
                to_ts_ns: 3_112,
            })
        );
        // The V's one unit is used up: a second sleeper finds no waker.
        assert_eq!(
            f.observe(&op(3_130, 30, -1, 1_100, Some(1_000)), true),
            None
        );
    }

    #[test]
    fn no_arrow_from_a_v_before_the_sleep_or_from_oneself() {
        let mut f = WakeFlows::default();
        f.observe(&op(1_000, 10, 1, 50, None), true);
        assert_eq!(
            f.observe(&op(3_125, 20, -1, 1_100, Some(1_000)), true),
            None
        );
        f.observe(&op(3_200, 20, 1, 50, None), true);
        assert_eq!(f.observe(&op(3_300, 20, -1, 200, Some(150)), true), None);
    }

    #[test]
    fn an_arrow_needs_both_ends_exported() {
        let mut f = WakeFlows::default();
        f.observe(&op(3_100, 10, 1, 50, None), false);
        assert_eq!(
            f.observe(&op(3_125, 20, -1, 1_100, Some(1_000)), true),
            None
        );
    }
}
