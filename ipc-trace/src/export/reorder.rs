//! Puts events back in timestamp order. A recording is in the order the
//! kernel handed events over, which can differ slightly from `ts_ns` order
//! across CPUs; the derived tracks (semaphore values, wake-ups) need time
//! order. Events are held until a later one is [`WINDOW_NS`] newer, or at
//! most [`MAX_HELD`] of them.

use crate::event::Event;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// How far out of order an event may arrive and still be put in place.
pub(crate) const WINDOW_NS: u64 = 10_000_000;
/// Most events held at once.
const MAX_HELD: usize = 65_536;

struct Held<T> {
    ts_ns: u64,
    seq: u64,
    event: Event,
    tag: T,
}

impl<T> PartialEq for Held<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.ts_ns, self.seq) == (other.ts_ns, other.seq)
    }
}
impl<T> Eq for Held<T> {}
impl<T> PartialOrd for Held<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Held<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.ts_ns, self.seq).cmp(&(other.ts_ns, other.seq))
    }
}

/// A bounded reordering buffer; `T` travels with each event.
pub(crate) struct Reorder<T> {
    heap: BinaryHeap<Reverse<Held<T>>>,
    newest: u64,
    seq: u64,
}

impl<T> Reorder<T> {
    pub(crate) fn new() -> Reorder<T> {
        Reorder {
            heap: BinaryHeap::new(),
            newest: 0,
            seq: 0,
        }
    }

    /// Adds an event (equal timestamps keep their arrival order).
    pub(crate) fn push(&mut self, event: Event, tag: T) {
        self.newest = self.newest.max(event.ts_ns);
        self.seq += 1;
        self.heap.push(Reverse(Held {
            ts_ns: event.ts_ns,
            seq: self.seq,
            event,
            tag,
        }));
    }

    /// The oldest event, once no earlier one can still arrive.
    pub(crate) fn pop_ready(&mut self) -> Option<(Event, T)> {
        let Reverse(top) = self.heap.peek()?;
        if top.ts_ns.saturating_add(WINDOW_NS) <= self.newest || self.heap.len() > MAX_HELD {
            return self.pop();
        }
        None
    }

    /// The oldest event, unconditionally (at the end of the input).
    pub(crate) fn pop(&mut self) -> Option<(Event, T)> {
        self.heap.pop().map(|Reverse(h)| (h.event, h.tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    #[test]
    fn events_come_out_in_time_order_within_the_window() {
        let mut r = Reorder::new();
        let mut out = Vec::new();
        for (ts, tag) in [
            (100, 'a'),
            (90, 'b'),
            (100, 'c'),
            (WINDOW_NS + 95, 'd'),
            (WINDOW_NS + 300, 'e'),
        ] {
            r.push(Event::new(ts, EventKind::ProcExit, 1, 1, "t"), tag);
            while let Some((_, tag)) = r.pop_ready() {
                out.push(tag);
            }
        }
        assert_eq!(out, ['b', 'a', 'c']);
        while let Some((_, tag)) = r.pop() {
            out.push(tag);
        }
        assert_eq!(out, ['b', 'a', 'c', 'd', 'e']);
    }
}
