//! Timed System V IPC loops for measuring what tracing costs the traced
//! program (`sem-bench`, `shm-bench`): each loop times only the IPC work,
//! not process start-up, and reports exactly how many operations it did so
//! that a recording of the run can be checked for completeness.

use crate::cleanup::Cleanup;
use crate::sysv::{self, SysvError, SysvResult};
use ipc_trace::event::IPC_NOWAIT;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// What `sem-bench` prints (one JSON object on standard output).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SemBenchReport {
    /// Always `"sem-bench"`.
    pub program: String,
    /// Process id (the tgid in a recording).
    pub pid: u32,
    /// The private set's id.
    pub semid: i32,
    /// `semop` calls made (half V, half P, alternating, V first).
    pub ops: u64,
    /// Nanoseconds the whole loop took.
    pub elapsed_ns: u64,
    /// `elapsed_ns / ops`.
    pub ns_per_op: f64,
}

/// What `shm-bench` prints (one JSON object on standard output).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShmBenchReport {
    /// Always `"shm-bench"`.
    pub program: String,
    /// Process id (the tgid in a recording).
    pub pid: u32,
    /// Pages per segment.
    pub pages: u64,
    /// Segments created, attached, touched, detached and removed.
    pub rounds: u64,
    /// The page size.
    pub page_size: u64,
    /// First-touch page faults caused (`pages * rounds`).
    pub faults: u64,
    /// Nanoseconds spent touching pages (the faults), all rounds.
    pub fault_ns: u64,
    /// Nanoseconds spent in shmget+shmat+shmdt+shmctl(IPC_RMID), all rounds.
    pub cycle_ns: u64,
    /// `fault_ns / faults`.
    pub ns_per_fault: f64,
    /// `cycle_ns / rounds`.
    pub ns_per_cycle: f64,
}

/// Runs `ops` non-blocking `semop` calls on semaphore 0 of set `semid`,
/// alternating V (+1) and P (-1), V first; every call carries `IPC_NOWAIT`
/// so a P that could not proceed fails instead of sleeping. The semaphore
/// must start at 0. Returns the time the loop took.
pub fn sem_loop(semid: i32, ops: u64) -> SysvResult<Duration> {
    let mut v = libc::sembuf {
        sem_num: 0,
        sem_op: 1,
        sem_flg: IPC_NOWAIT,
    };
    let mut p = libc::sembuf {
        sem_num: 0,
        sem_op: -1,
        sem_flg: IPC_NOWAIT,
    };
    let start = Instant::now();
    for i in 0..ops {
        let buf = if i % 2 == 0 { &mut v } else { &mut p };
        // SAFETY: `buf` is one valid sembuf, and nsops is 1.
        if unsafe { libc::semop(semid, buf, 1) } == -1 {
            return Err(SysvError::last(format!(
                "semop(semid={semid}, op={}, flg=IPC_NOWAIT) at operation {i}",
                buf.sem_op
            )));
        }
    }
    Ok(start.elapsed())
}

/// Creates a private one-semaphore set, runs [`sem_loop`] on it, removes it.
pub fn sem_bench(ops: u64) -> SysvResult<SemBenchReport> {
    let semid = sysv::semget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600)?;
    let mut cleanup = Cleanup::default();
    cleanup.set(semid);
    let elapsed = sem_loop(semid, ops)?;
    cleanup.disarm();
    sysv::sem_remove(semid)?;
    let elapsed_ns = duration_ns(elapsed);
    Ok(SemBenchReport {
        program: "sem-bench".into(),
        pid: std::process::id(),
        semid,
        ops,
        elapsed_ns,
        ns_per_op: per(elapsed_ns, ops),
    })
}

/// Time spent in one [`shm_round`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoundTimes {
    /// Writing the first byte of every page (one fault each).
    pub touch: Duration,
    /// shmget + shmat + shmdt + shmctl(IPC_RMID).
    pub calls: Duration,
}

/// One round: a private segment of `pages` pages is created, attached,
/// written once per page, detached and removed.
pub fn shm_round(pages: u64, page_size: usize) -> SysvResult<RoundTimes> {
    let size = pages as usize * page_size;
    let t0 = Instant::now();
    let id = sysv::shmget(libc::IPC_PRIVATE, size, libc::IPC_CREAT | 0o600)?;
    let mut cleanup = Cleanup::default();
    cleanup.segment(id);
    let base = sysv::shmat(id)?;
    let t1 = Instant::now();
    for page in 0..pages as usize {
        // SAFETY: page * page_size < size: inside the mapping shmat returned.
        unsafe { base.add(page * page_size).write_volatile(1) };
    }
    let t2 = Instant::now();
    // SAFETY: base came from shmat and is not used after this call.
    unsafe { sysv::shmdt(base)? };
    cleanup.disarm();
    sysv::shm_remove(id)?;
    let t3 = Instant::now();
    Ok(RoundTimes {
        touch: t2 - t1,
        calls: (t1 - t0) + (t3 - t2),
    })
}

/// Runs `rounds` [`shm_round`]s of `pages` pages each.
pub fn shm_bench(pages: u64, rounds: u64) -> SysvResult<ShmBenchReport> {
    let page_size = sysv::page_size();
    let mut total = RoundTimes::default();
    for _ in 0..rounds {
        let t = shm_round(pages, page_size)?;
        total.touch += t.touch;
        total.calls += t.calls;
    }
    let (fault_ns, cycle_ns) = (duration_ns(total.touch), duration_ns(total.calls));
    let faults = pages * rounds;
    Ok(ShmBenchReport {
        program: "shm-bench".into(),
        pid: std::process::id(),
        pages,
        rounds,
        page_size: page_size as u64,
        faults,
        fault_ns,
        cycle_ns,
        ns_per_fault: per(fault_ns, faults),
        ns_per_cycle: per(cycle_ns, rounds),
    })
}

fn duration_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

fn per(total_ns: u64, count: u64) -> f64 {
    if count == 0 {
        0.0
    } else {
        total_ns as f64 / count as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sem_loop_does_exactly_the_ops_asked_and_leaves_the_value_at_zero()
    -> Result<(), SysvError> {
        let report = sem_bench(1000)?;
        assert_eq!(report.ops, 1000);
        assert!(report.elapsed_ns > 0);
        // The set is gone afterwards.
        let live = std::fs::read_to_string("/proc/sysvipc/sem").unwrap_or_default();
        let ids: Vec<i32> = live
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
            .collect();
        assert!(
            !ids.contains(&report.semid),
            "set {} left behind",
            report.semid
        );
        Ok(())
    }

    #[test]
    fn a_failing_semop_stops_the_loop_with_its_operation_named() -> Result<(), SysvError> {
        let semid = sysv::semget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600)?;
        sysv::sem_remove(semid)?;
        match sem_loop(semid, 10) {
            Err(e) => assert!(e.call.contains("at operation 0"), "{e}"),
            Ok(d) => panic!("a loop on a removed set succeeded in {d:?}"),
        }
        Ok(())
    }

    #[test]
    fn shm_rounds_count_every_page() -> Result<(), SysvError> {
        let report = shm_bench(3, 4)?;
        assert_eq!(report.faults, 12);
        assert_eq!(report.rounds, 4);
        assert!(report.ns_per_cycle > 0.0);
        Ok(())
    }
}
