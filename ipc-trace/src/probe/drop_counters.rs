//! The kernel side's lost-record counters, read through a shared mapping of
//! the `DROPS` array (`BPF_F_MMAPABLE`, Linux 5.5+) instead of `bpf()`
//! lookups.
//!
//! A map lookup from userspace holds the CPU's `bpf_prog_active` counter
//! while it copies (and may be preempted meanwhile); every kprobe and
//! tracepoint program that fires on that CPU in that window is skipped by
//! the kernel. Polling per-CPU counters twice a second that way was enough
//! to lose syscall exits on Debian's 7.2 under the VM matrix. Reading
//! memory costs the programs nothing.

use std::io;
use std::os::fd::{AsFd, AsRawFd};
use std::ptr::NonNull;

use ipc_trace_common::loss;
use ipc_trace_common::probe::COUNT;

/// Slots per CPU: one per reason and probe id.
const PER_CPU: usize = COUNT * loss::REASONS;

/// The highest possible CPU id plus one (`/sys/devices/system/cpu/possible`,
/// e.g. `0-3` or `0,2-5`): the eBPF side indexes by `smp_processor_id`.
pub fn possible_cpu_slots() -> io::Result<usize> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/possible")?;
    parse_cpu_list(&text).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot parse the possible CPU list {:?}", text.trim()),
        )
    })
}

fn parse_cpu_list(text: &str) -> Option<usize> {
    let mut max = None;
    for part in text.trim().split(',') {
        let last = part.rsplit('-').next()?;
        let n: usize = last.trim().parse().ok()?;
        max = max.max(Some(n));
    }
    max.map(|m| m + 1)
}

/// Array entries the `DROPS` map needs for `cpus` CPU slots.
pub fn entries(cpus: usize) -> u32 {
    (cpus * PER_CPU) as u32
}

/// Lost records per probe id, by reason (`ipc_trace_common::loss`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Losses {
    /// The ring buffer was full.
    pub lost: [u64; COUNT],
    /// A stashed syscall record never got its exit.
    pub exit_not_seen: [u64; COUNT],
    /// An in-flight map was full (`--max-inflight`).
    pub inflight_full: [u64; COUNT],
}

/// A read-only mapping of the `DROPS` array's values.
#[derive(Debug)]
pub struct DropCounters {
    base: NonNull<u64>,
    slots: usize,
    len: usize,
}

// SAFETY: the mapping is owned by this value alone, read-only, and stays
// valid until `drop` unmaps it; reading it from another thread is reading
// shared memory the kernel writes, which `read_volatile` of aligned u64s
// does without tearing on the 64-bit targets this tool supports.
unsafe impl Send for DropCounters {}
// SAFETY: as above: `&self` only reads.
unsafe impl Sync for DropCounters {}

impl DropCounters {
    /// Maps the values of the array behind `fd`, which has `slots` u64
    /// entries.
    pub fn map(fd: impl AsFd, slots: usize) -> io::Result<DropCounters> {
        let page = page_size();
        let len = (slots * 8).div_ceil(page).max(1) * page;
        // SAFETY: a fresh shared read-only mapping of the map's value area
        // (offset 0 of an mmapable array), `len` no larger than the value
        // area rounded up to a page, which is what the kernel allows; the
        // result is checked before use.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                fd.as_fd().as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(ptr.cast::<u64>())
            .ok_or_else(|| io::Error::other("mmap of the drop counters returned null"))?;
        Ok(DropCounters { base, slots, len })
    }

    /// Records lost per reason and probe id, summed over CPUs.
    pub fn totals(&self) -> Losses {
        let mut out = Losses::default();
        for i in 0..self.slots {
            // SAFETY: `i < slots`, and the mapping holds `slots` aligned
            // u64s (page-aligned base); the kernel may write them at any
            // time, hence the volatile read.
            let v = unsafe { self.base.as_ptr().add(i).read_volatile() };
            let (reason, probe) = ((i % PER_CPU) / COUNT, i % COUNT);
            match reason as u32 {
                loss::RECORD_LOST => out.lost[probe] += v,
                loss::EXIT_NOT_SEEN => out.exit_not_seen[probe] += v,
                _ => out.inflight_full[probe] += v,
            }
        }
        out
    }
}

impl Drop for DropCounters {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_give_the_highest_id_plus_one() {
        assert_eq!(parse_cpu_list("0\n"), Some(1));
        assert_eq!(parse_cpu_list("0-3\n"), Some(4));
        assert_eq!(parse_cpu_list("0,2-5,7"), Some(8));
        assert_eq!(parse_cpu_list("x"), None);
        assert_eq!(parse_cpu_list(""), None);
    }

    #[test]
    fn this_machine_has_a_possible_cpu_list() {
        assert!(possible_cpu_slots().is_ok_and(|n| n >= 1));
    }
}
