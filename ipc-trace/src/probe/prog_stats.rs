//! The kernel's own counters of a loaded program (`bpf_prog_info`): how
//! often it ran and for how long (both only while
//! `kernel.bpf_stats_enabled` is 1), and how often the kernel skipped it
//! (`recursion_misses`, Linux 5.12+).
//!
//! A skipped run is an event lost without any map of ours knowing: the
//! kernel runs at most one kprobe/tracepoint program per CPU at a time
//! (`bpf_prog_active`), and fentry programs at most once per CPU
//! (`prog->active`). A hook that fires while another BPF program runs on
//! that CPU — or while a task that entered the `bpf()` syscall holds the
//! counter and was preempted — is not run at all. aya 0.14 has no accessor
//! for these fields, hence the raw `BPF_OBJ_GET_INFO_BY_FD` here.

use std::mem::{offset_of, size_of};
use std::os::fd::{AsRawFd, BorrowedFd};

use aya_obj::generated::{bpf_attr, bpf_cmd, bpf_prog_info};

/// One program's counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProgCounters {
    /// Runs counted while BPF statistics were enabled.
    pub run_cnt: u64,
    /// Time spent in those runs, ns.
    pub run_time_ns: u64,
    /// Runs the kernel skipped; `None` where the kernel does not report it
    /// (before 5.12).
    pub recursion_misses: Option<u64>,
}

/// Reads the counters of the program behind `fd`.
pub fn read(fd: BorrowedFd<'_>) -> std::io::Result<ProgCounters> {
    // SAFETY: both are plain C structs of integers (and a union of such);
    // all-zero is a valid value of each, and the kernel requires the unused
    // tail of both to be zero.
    let mut info: bpf_prog_info = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut attr: bpf_attr = unsafe { std::mem::zeroed() };
    attr.info.bpf_fd = fd.as_raw_fd() as u32;
    attr.info.info_len = size_of::<bpf_prog_info>() as u32;
    attr.info.info = std::ptr::from_mut(&mut info) as u64;
    // SAFETY: BPF_OBJ_GET_INFO_BY_FD reads `attr` (its size is passed) and
    // writes at most `info_len` bytes to `info`, which lives on this stack
    // frame for the whole call; the kernel shortens `info_len` to what it
    // wrote.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            bpf_cmd::BPF_OBJ_GET_INFO_BY_FD as libc::c_int,
            std::ptr::from_mut(&mut attr),
            size_of::<bpf_attr>() as libc::c_uint,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: reading the field the kernel (or the zeroing above) set.
    let written = unsafe { attr.info.info_len } as usize;
    let has_misses = written >= offset_of!(bpf_prog_info, recursion_misses) + size_of::<u64>();
    Ok(ProgCounters {
        run_cnt: info.run_cnt,
        run_time_ns: info.run_time_ns,
        recursion_misses: has_misses.then_some(info.recursion_misses),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_descriptor_that_is_no_program_is_an_error() {
        let file = std::fs::File::open("/proc/self/stat").expect("open");
        use std::os::fd::AsFd;
        assert!(read(file.as_fd()).is_err());
    }
}
