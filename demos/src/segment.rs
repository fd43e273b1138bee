//! An attached shared-memory segment: page touching and volatile access to
//! the [`SharedRecord`] at its start.

use crate::message::{RECORD_SIZE, SharedRecord, TEXT_SIZE};
use crate::sysv::{self, SysvResult};

/// A segment attached with `shmat`; detached explicitly with [`Segment::detach`].
#[derive(Debug)]
pub struct Segment {
    /// The segment id.
    pub id: i32,
    base: *mut u8,
    size: usize,
    page_size: usize,
}

impl Segment {
    /// Attaches segment `id` of `size` bytes.
    ///
    /// `size` must not exceed the segment's real size, and must be at
    /// least [`RECORD_SIZE`] to use the record accessors.
    pub fn attach(id: i32, size: usize) -> SysvResult<Segment> {
        let base = sysv::shmat(id)?;
        Ok(Segment {
            id,
            base,
            size,
            page_size: sysv::page_size(),
        })
    }

    /// The address `shmat` returned.
    pub fn addr(&self) -> u64 {
        self.base as u64
    }

    /// Number of pages the segment spans.
    pub fn pages(&self) -> u64 {
        self.size.div_ceil(self.page_size) as u64
    }

    /// Writes one byte (0) at the start of every page, in order: one
    /// first-touch (write) fault per page. Returns the page indices.
    pub fn touch_pages_write(&mut self) -> Vec<u64> {
        let pages: Vec<u64> = (0..self.pages()).collect();
        for page in &pages {
            // SAFETY: page * page_size < size, inside the attached mapping.
            unsafe { self.page_start(*page).write_volatile(0) };
        }
        pages
    }

    /// Reads one byte at the start of every page, in order: one first-touch
    /// (read) fault per page. Returns the page indices.
    pub fn touch_pages_read(&self) -> Vec<u64> {
        let pages: Vec<u64> = (0..self.pages()).collect();
        for page in &pages {
            // SAFETY: page * page_size < size, inside the attached mapping.
            let _ = unsafe { self.page_start(*page).read_volatile() };
        }
        pages
    }

    fn page_start(&self, page: u64) -> *mut u8 {
        self.base.wrapping_add(page as usize * self.page_size)
    }

    fn record(&self) -> *mut SharedRecord {
        debug_assert!(self.size >= RECORD_SIZE);
        self.base.cast::<SharedRecord>()
    }

    /// `written` of the shared record (call with the mutex held).
    pub fn written(&self) -> bool {
        // SAFETY: the record lies inside the mapping (size >= RECORD_SIZE) and
        // shmat returns a page-aligned address.
        unsafe { std::ptr::addr_of!((*self.record()).written).read_volatile() != 0 }
    }

    /// Sets `written` (call with the mutex held).
    pub fn set_written(&mut self, value: bool) {
        // SAFETY: as in `written`.
        unsafe { std::ptr::addr_of_mut!((*self.record()).written).write_volatile(i32::from(value)) }
    }

    /// Reads the record's text (call with the mutex held).
    pub fn text(&self) -> [u8; TEXT_SIZE] {
        // SAFETY: as in `written`; [u8; N] has no alignment needs.
        unsafe { std::ptr::addr_of!((*self.record()).text).read_volatile() }
    }

    /// Writes the record's text (call with the mutex held).
    pub fn set_text(&mut self, text: [u8; TEXT_SIZE]) {
        // SAFETY: as in `text`.
        unsafe { std::ptr::addr_of_mut!((*self.record()).text).write_volatile(text) }
    }

    /// `shmdt`: detaches the segment.
    pub fn detach(self) -> SysvResult<()> {
        // SAFETY: base came from shmat and `self` is consumed, so no access follows.
        unsafe { sysv::shmdt(self.base) }
    }
}
