//! Bounded containers: memory stays flat however long a trace runs.

use std::collections::VecDeque;

/// Keeps the first `head_cap` items and the last `tail_cap` items of a
/// sequence, counting what fell in between. A lifecycle's beginning (create,
/// first attach) and its recent past both stay visible.
#[derive(Clone, Debug)]
pub struct HeadTail<T> {
    head: Vec<T>,
    tail: VecDeque<T>,
    head_cap: usize,
    tail_cap: usize,
    skipped: u64,
}

impl<T> HeadTail<T> {
    /// An empty container keeping `head_cap` first and `tail_cap` last items.
    pub fn new(head_cap: usize, tail_cap: usize) -> HeadTail<T> {
        HeadTail {
            head: Vec::new(),
            tail: VecDeque::new(),
            head_cap,
            tail_cap: tail_cap.max(1),
            skipped: 0,
        }
    }

    /// Appends an item, forgetting the oldest item of the tail when full.
    pub fn push(&mut self, item: T) {
        if self.head.len() < self.head_cap {
            self.head.push(item);
            return;
        }
        if self.tail.len() == self.tail_cap {
            self.tail.pop_front();
            self.skipped += 1;
        }
        self.tail.push_back(item);
    }

    /// Items kept, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + Clone {
        self.head.iter().chain(self.tail.iter())
    }

    /// Items kept.
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.len()
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Items forgotten between the head and the tail.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Index (in `iter()` order) after which `skipped()` items are missing.
    pub fn gap_after(&self) -> Option<usize> {
        (self.skipped > 0).then_some(self.head.len())
    }
}

/// A ring of the last `cap` items, counting the ones pushed out.
#[derive(Clone, Debug)]
pub struct Ring<T> {
    items: VecDeque<T>,
    cap: usize,
    dropped: u64,
}

impl<T> Ring<T> {
    /// An empty ring holding at most `cap` items.
    pub fn new(cap: usize) -> Ring<T> {
        Ring {
            items: VecDeque::new(),
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// Appends an item, pushing out the oldest when full.
    pub fn push(&mut self, item: T) {
        if self.items.len() == self.cap {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(item);
    }

    /// Items kept, oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator + Clone {
        self.items.iter()
    }

    /// The item at `index` (0 = oldest kept).
    pub fn get(&self, index: usize) -> Option<&T> {
        self.items.get(index)
    }

    /// The newest item.
    pub fn last(&self) -> Option<&T> {
        self.items.back()
    }

    /// Items kept.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Items pushed out since the start.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Items kept at most.
    pub fn capacity(&self) -> usize {
        self.cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_tail_keeps_both_ends() {
        let mut h = HeadTail::new(2, 3);
        for i in 0..10 {
            h.push(i);
        }
        assert_eq!(h.iter().copied().collect::<Vec<_>>(), vec![0, 1, 7, 8, 9]);
        assert_eq!(h.skipped(), 5);
        assert_eq!(h.gap_after(), Some(2));
    }

    #[test]
    fn ring_drops_oldest() {
        let mut r = Ring::new(3);
        for i in 0..5 {
            r.push(i);
        }
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), vec![2, 3, 4]);
        assert_eq!(r.dropped(), 2);
    }
}
