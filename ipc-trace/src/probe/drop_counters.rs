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
use std::os::fd::AsFd;

use ipc_trace_common::loss;
use ipc_trace_common::probe::COUNT;

use super::array_mmap::ArrayMapping;

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
    values: ArrayMapping,
}

impl DropCounters {
    /// Maps the values of the array behind `fd`, which has `slots` u64
    /// entries.
    pub fn map(fd: impl AsFd, slots: usize) -> io::Result<DropCounters> {
        Ok(DropCounters {
            values: ArrayMapping::map(fd, slots, false)?,
        })
    }

    /// Records lost per reason and probe id, summed over CPUs.
    pub fn totals(&self) -> Losses {
        let mut out = Losses::default();
        for i in 0..self.values.words() {
            let v = self.values.read(i).unwrap_or(0);
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
