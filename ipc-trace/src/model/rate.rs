//! Events per second over the last second of trace time (event timestamps,
//! not the wall clock: the model has no clock, and replays keep their pace).

/// Width of one bucket.
const BUCKET_NS: u64 = 100_000_000;
/// Buckets in the one-second window.
const BUCKETS: usize = 10;

/// A one-second sliding window of counts in ten 100 ms buckets.
#[derive(Clone, Copy, Debug, Default)]
pub struct RateWindow {
    slots: [(u64, u32); BUCKETS],
    total: u64,
}

impl RateWindow {
    /// Counts one occurrence at `ts_ns`.
    pub fn record(&mut self, ts_ns: u64) {
        self.record_n(ts_ns, 1);
    }

    /// Counts `n` occurrences at `ts_ns`.
    pub fn record_n(&mut self, ts_ns: u64, n: u32) {
        let bucket = ts_ns / BUCKET_NS;
        let slot = &mut self.slots[(bucket % BUCKETS as u64) as usize];
        if slot.0 != bucket {
            *slot = (bucket, 0);
        }
        slot.1 = slot.1.saturating_add(n);
        self.total += u64::from(n);
    }

    /// Occurrences in the second ending at `now_ns`.
    pub fn per_second(&self, now_ns: u64) -> u64 {
        let now = now_ns / BUCKET_NS;
        let oldest = now.saturating_sub(BUCKETS as u64 - 1);
        self.slots
            .iter()
            .filter(|(b, _)| *b >= oldest && *b <= now)
            .map(|(_, n)| u64::from(*n))
            .sum()
    }

    /// Occurrences since the start.
    pub fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_only_the_last_second() {
        let mut r = RateWindow::default();
        r.record(50_000_000); // bucket 0
        assert_eq!(r.per_second(900_000_000), 1);
        for i in 0..5 {
            r.record(1_000_000_000 + i); // bucket 10
        }
        assert_eq!(r.per_second(1_050_000_000), 5);
        assert_eq!(r.per_second(5_000_000_000), 0);
        assert_eq!(r.total(), 6);
    }
}
