//! A shared mapping of a `BPF_F_MMAPABLE` array's values (Linux 5.5+):
//! userspace reads and writes the programs' counters and switches as plain
//! memory, with no `bpf()` call. A map syscall holds the CPU's
//! `bpf_prog_active` counter while it runs (preemptibly), and every kprobe
//! or tracepoint program that fires meanwhile on that CPU is skipped.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr::NonNull;

/// The mapping of the first `words` u64 words of an mmapable array's
/// values; unmapped on drop.
#[derive(Debug)]
pub struct ArrayMapping {
    base: NonNull<u64>,
    words: usize,
    len: usize,
    writable: bool,
}

// SAFETY: the mapping is owned by this value alone and stays valid until
// `drop` unmaps it; every access goes through `read`/`write`, volatile
// accesses of aligned u64s, which do not tear on the 64-bit targets this
// tool supports. The kernel's programs use the same memory concurrently:
// that is what the mapping is for.
unsafe impl Send for ArrayMapping {}
// SAFETY: as above.
unsafe impl Sync for ArrayMapping {}

impl ArrayMapping {
    /// Maps the values of the array behind `fd`, which hold at least
    /// `words` u64s; `writable` maps them read-write.
    pub fn map(fd: impl AsFd, words: usize, writable: bool) -> io::Result<ArrayMapping> {
        let page = page_size();
        let len = (words * 8).div_ceil(page).max(1) * page;
        let prot = if writable {
            libc::PROT_READ | libc::PROT_WRITE
        } else {
            libc::PROT_READ
        };
        // SAFETY: a fresh shared mapping of the map's value area (offset 0
        // of an mmapable array), `len` no larger than the value area
        // rounded up to a page, which is what the kernel allows; the result
        // is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                prot,
                libc::MAP_SHARED,
                fd.as_fd().as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast::<u64>())
            .ok_or_else(|| io::Error::other("mmap of an eBPF array returned null"))?;
        Ok(ArrayMapping {
            base,
            words,
            len,
            writable,
        })
    }

    /// Words mapped.
    pub fn words(&self) -> usize {
        self.words
    }

    /// Word `i` (None past the end).
    pub fn read(&self, i: usize) -> Option<u64> {
        // SAFETY: `i < words`, and the mapping holds `words` aligned u64s
        // (page-aligned base); the kernel may write them at any time, hence
        // the volatile read.
        (i < self.words).then(|| unsafe { self.base.as_ptr().add(i).read_volatile() })
    }

    /// Sets word `i`; false (nothing written) past the end or on a
    /// read-only mapping.
    pub fn write(&self, i: usize, value: u64) -> bool {
        if i >= self.words || !self.writable {
            return false;
        }
        // SAFETY: as `read`, on a mapping made with `PROT_WRITE`.
        unsafe { self.base.as_ptr().add(i).write_volatile(value) };
        true
    }
}

impl Drop for ArrayMapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `map` created; nothing reads it
        // afterwards (this is its owner's drop).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if n > 0 { n as usize } else { 4096 }
}
