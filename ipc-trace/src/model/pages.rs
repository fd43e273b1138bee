//! Which pages of a segment were faulted in, when, by whom, in what order.
//! Stored per touched page only, with a cap: a segment of millions of pages
//! costs memory only for the pages actually touched, and at most
//! [`PAGE_RECORDS_CAP`] of them are remembered individually.

use std::collections::HashMap;

/// Pages remembered individually per segment; later first touches are only
/// counted (`overflow_pages`).
pub const PAGE_RECORDS_CAP: usize = 32_768;
/// Processes remembered per page.
pub const PAGE_PROCS: usize = 4;

/// The first touch of one page and who faulted it since.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageTouch {
    /// Page index inside the segment.
    pub page: u64,
    /// When it was first faulted.
    pub first_ts: u64,
    /// 0-based first-touch order in the segment.
    pub order: u32,
    /// Its first fault was a write.
    pub first_write: bool,
    /// Faults on this page (one per process mapping that touched it, more
    /// after reclaim).
    pub faults: u32,
    procs: [u32; PAGE_PROCS],
    nprocs: u8,
    /// More processes than [`PAGE_PROCS`] faulted it.
    pub more_procs: bool,
}

impl PageTouch {
    /// Processes (tgid) that faulted it, first toucher first; at most
    /// [`PAGE_PROCS`].
    pub fn procs(&self) -> &[u32] {
        &self.procs[..usize::from(self.nprocs)]
    }

    /// The first process that touched it.
    pub fn first_toucher(&self) -> u32 {
        self.procs[0]
    }
}

/// The pages of one segment.
#[derive(Clone, Debug, Default)]
pub struct PageMap {
    touches: Vec<PageTouch>,
    index: HashMap<u64, u32>,
    /// Faults seen on the segment.
    pub faults: u64,
    /// Of which write faults.
    pub write_faults: u64,
    /// Faults per process (tgid).
    pub by_process: HashMap<u32, u64>,
    /// Pages first touched after the cap was reached (not remembered).
    pub overflow_pages: u64,
    /// Highest page index seen.
    pub max_page: Option<u64>,
    /// Page records dropped by [`PageMap::compact`].
    pub forgotten_pages: u64,
}

impl PageMap {
    /// Counts one fault on `page` by `tgid`; returns true on the page's
    /// first touch.
    pub fn record(&mut self, page: u64, tgid: u32, ts_ns: u64, write: bool) -> bool {
        self.faults += 1;
        if write {
            self.write_faults += 1;
        }
        *self.by_process.entry(tgid).or_insert(0) += 1;
        self.max_page = Some(self.max_page.map_or(page, |m| m.max(page)));
        if let Some(&i) = self.index.get(&page) {
            if let Some(t) = self.touches.get_mut(i as usize) {
                t.faults = t.faults.saturating_add(1);
                if !t.procs().contains(&tgid) {
                    if usize::from(t.nprocs) < PAGE_PROCS {
                        t.procs[usize::from(t.nprocs)] = tgid;
                        t.nprocs += 1;
                    } else {
                        t.more_procs = true;
                    }
                }
            }
            return false;
        }
        if self.touches.len() >= PAGE_RECORDS_CAP {
            self.overflow_pages += 1;
            return true;
        }
        let order = self.touches.len() as u32;
        self.index.insert(page, order);
        self.touches.push(PageTouch {
            page,
            first_ts: ts_ns,
            order,
            first_write: write,
            faults: 1,
            procs: [tgid, 0, 0, 0],
            nprocs: 1,
            more_procs: false,
        });
        true
    }

    /// Pages touched (remembered ones plus overflow and forgotten).
    pub fn pages_touched(&self) -> u64 {
        self.touches.len() as u64 + self.overflow_pages + self.forgotten_pages
    }

    /// Forgets the per-page records, keeping the counts.
    pub fn compact(&mut self) {
        self.forgotten_pages += self.touches.len() as u64;
        self.touches = Vec::new();
        self.index = HashMap::new();
    }

    /// Remembered pages in first-touch order.
    pub fn in_touch_order(&self) -> &[PageTouch] {
        &self.touches
    }

    /// The record of one page.
    pub fn get(&self, page: u64) -> Option<&PageTouch> {
        self.index
            .get(&page)
            .and_then(|&i| self.touches.get(i as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_touch_order_and_processes() {
        let mut m = PageMap::default();
        assert!(m.record(2, 10, 100, true));
        assert!(m.record(0, 10, 110, true));
        assert!(!m.record(2, 20, 120, false));
        assert_eq!(m.pages_touched(), 2);
        assert_eq!(m.faults, 3);
        assert_eq!(m.write_faults, 2);
        let p2 = m.get(2).expect("page 2 recorded");
        assert_eq!((p2.order, p2.faults, p2.procs()), (0, 2, &[10, 20][..]));
        assert_eq!(m.get(0).map(|p| p.order), Some(1));
        assert_eq!(m.by_process.get(&10), Some(&2));
    }

    #[test]
    fn huge_segments_stay_bounded() {
        let mut m = PageMap::default();
        for p in 0..(PAGE_RECORDS_CAP as u64 + 1000) {
            m.record(p, 1, p, true);
        }
        assert_eq!(m.in_touch_order().len(), PAGE_RECORDS_CAP);
        assert_eq!(m.overflow_pages, 1000);
        assert_eq!(m.pages_touched(), PAGE_RECORDS_CAP as u64 + 1000);
    }
}
