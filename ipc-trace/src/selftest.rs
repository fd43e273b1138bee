//! The start-up self-test: after attaching, do a tiny real IPC round trip
//! in this process and see which probes fired. "Attached" is not "works":
//! a function can be inlined, renamed, or never reached on some kernels.

use ipc_trace_common::{RawEvent, flag, inner, probe};
use std::io;
use std::time::Duration;

/// Probes the round trip exercises (so a probe among these that stays
/// silent is reported as not firing). Fork/exit tracepoints are not
/// exercised and stay "untested".
pub const EXERCISED: [u8; 24] = [
    probe::SYS_SHMGET,
    probe::SYS_SHMAT,
    probe::SYS_SHMDT,
    probe::SYS_SHMCTL,
    probe::SYS_SEMGET,
    probe::SYS_SEMOP,
    probe::SYS_SEMTIMEDOP,
    probe::SYS_SEMCTL,
    probe::PAGE_FAULT_USER,
    probe::SCHED_SWITCH,
    probe::NEWSEG,
    probe::DO_SHMAT,
    probe::SHM_FAULT,
    probe::SHMEM_FAULT,
    probe::NEWARY,
    probe::DO_SEMTIMEDOP,
    probe::DO_SEMTIMEDOP_INNER,
    probe::SHM_DESTROY,
    probe::SHM_CLOSE,
    probe::FREEARY,
    probe::SHM_MORE_CHECKS,
    probe::SEM_MORE_CHECKS,
    probe::SHMEM_KERNEL_FILE_SETUP,
    probe::SHM_MMAP,
];

fn check(what: &str, rc: i64) -> io::Result<i64> {
    if rc < 0 {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("self-test {what}: {e}")))
    } else {
        Ok(rc)
    }
}

fn semop_raw(id: i32, ops: &mut [libc::sembuf], plain_semop_syscall: bool) -> io::Result<()> {
    // SAFETY: `ops` is a valid, live array of sembufs of the given length.
    let rc = unsafe {
        if plain_semop_syscall {
            libc::syscall(libc::SYS_semop, id, ops.as_mut_ptr(), ops.len())
        } else {
            libc::syscall(
                libc::SYS_semtimedop,
                id,
                ops.as_mut_ptr(),
                ops.len(),
                std::ptr::null::<libc::timespec>(),
            )
        }
    };
    check("semop", rc).map(|_| ())
}

/// A key of this process's own for the round trip's objects: the key is
/// looked up again once, so that the "found by key" step probes run.
/// Creation uses `IPC_EXCL`, so an object somebody else made with the same
/// key is never touched (the next key is tried).
fn own_key(attempt: u32) -> libc::key_t {
    (0x6970_0000 | ((std::process::id() & 0xfff) << 4) | (attempt & 0xf)) as libc::key_t
}

/// Creates an object with a fresh key of this process (`get(key, flags)`),
/// then gets it again by that key: the create and the find.
fn create_then_find(what: &str, get: impl Fn(libc::key_t, i32) -> i32) -> io::Result<i32> {
    for attempt in 0..16 {
        let key = own_key(attempt);
        let id = get(key, libc::IPC_CREAT | libc::IPC_EXCL | 0o600);
        if id < 0 {
            if io::Error::last_os_error().raw_os_error() == Some(libc::EEXIST) {
                continue;
            }
            return check(what, -1).map(|_| -1);
        }
        // The find (key known, no IPC_CREAT): ipcget's "found" path. Its
        // result is not needed: a failed find only leaves the step probe
        // silent, which the probe table then says.
        let _ = get(key, 0o600);
        return Ok(id);
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("self-test {what}: 16 keys of this process already taken"),
    ))
}

/// Runs the round trip: a 2-page segment with a key of this process
/// (create, find by key, attach, touch both pages, detach, remove) and a
/// 1-semaphore set (create, find by key, SETALL, a semop through the
/// `semop` syscall, a P that blocks ~30 ms until another thread's V,
/// `SEM_UNDO`, remove). Blocking; call from a blocking thread.
pub fn round_trip() -> io::Result<()> {
    const PAGE: usize = 4096;
    // SAFETY: plain SysV IPC calls on objects this function creates and
    // removes; the mapping is only touched inside its 2 pages.
    unsafe {
        let shm = create_then_find("shmget", |key, flags| libc::shmget(key, 2 * PAGE, flags))?;
        let addr = libc::shmat(shm, std::ptr::null(), 0);
        if addr as isize == -1 {
            let e = io::Error::last_os_error();
            libc::shmctl(shm, libc::IPC_RMID, std::ptr::null_mut());
            return Err(io::Error::new(e.kind(), format!("self-test shmat: {e}")));
        }
        let base = addr.cast::<u8>();
        std::ptr::write_volatile(base, 1);
        std::ptr::write_volatile(base.add(PAGE), 2);
        libc::shmdt(addr);
        check(
            "shmctl",
            i64::from(libc::shmctl(shm, libc::IPC_RMID, std::ptr::null_mut())),
        )?;

        let sem = create_then_find("semget", |key, flags| libc::semget(key, 1, flags))?;
        let result = sem_round_trip(sem);
        libc::semctl(sem, 0, libc::IPC_RMID);
        result
    }
}

fn sem_round_trip(sem: i32) -> io::Result<()> {
    let mut values: [libc::c_ushort; 1] = [1];
    // SAFETY: SETALL reads nsems (1) values from a live array.
    check(
        "semctl SETALL",
        i64::from(unsafe { libc::semctl(sem, 0, libc::SETALL, values.as_mut_ptr()) }),
    )?;
    let p = |flg| libc::sembuf {
        sem_num: 0,
        sem_op: -1,
        sem_flg: flg,
    };
    let v = |flg| libc::sembuf {
        sem_num: 0,
        sem_op: 1,
        sem_flg: flg,
    };
    semop_raw(sem, &mut [p(libc::SEM_UNDO as i16)], true)?; // value 1 -> 0, via semop(2)
    let waker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(30));
        semop_raw(sem, &mut [v(0)], false)
    });
    semop_raw(sem, &mut [p(0)], false)?; // blocks until the waker's V
    waker
        .join()
        .map_err(|_| io::Error::other("self-test waker thread panicked"))??;
    semop_raw(sem, &mut [v(libc::SEM_UNDO as i16)], false)
}

/// Which probes fired, from the records of this process collected during
/// the round trip. Flags count too: `shmem_fault` and `__do_semtimedop`
/// report through the record of the enclosing function, and the
/// `sched_switch` hook through `FLAG_SLEPT`.
pub fn fired(records: &[RawEvent], self_tgid: u32) -> [bool; probe::COUNT] {
    let mut fired = [false; probe::COUNT];
    for r in records
        .iter()
        .filter(|r| (r.pid_tgid >> 32) as u32 == self_tgid)
    {
        if let Some(slot) = fired.get_mut(r.probe as usize) {
            *slot = true;
        }
        if r.flags & flag::SHMEM_SEEN != 0 {
            fired[probe::SHMEM_FAULT as usize] = true;
        }
        if r.flags & flag::INNER_SEEN != 0 {
            fired[probe::DO_SEMTIMEDOP_INNER as usize] = true;
        }
        if r.flags & flag::SLEPT != 0 {
            fired[probe::SCHED_SWITCH as usize] = true;
        }
        for bit in 0..inner::COUNT {
            if r.inner & (1 << bit) != 0 {
                fired[probe::FIRST_STEP as usize + bit] = true;
            }
        }
    }
    fired
}

/// True when `r` is the last record the round trip produces (the syscall
/// exit of `semctl(IPC_RMID)`), so collection can stop early.
pub fn is_last_record(r: &RawEvent, self_tgid: u32) -> bool {
    (r.pid_tgid >> 32) as u32 == self_tgid
        && r.kind == ipc_trace_common::raw_kind::SYSCALL
        && r.probe == probe::SYS_SEMCTL
        && r.args[2] & 0xff == libc::IPC_RMID as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(probe_id: u8, flags: u8, tgid: u32) -> RawEvent {
        let mut r = RawEvent::ZERO;
        r.probe = probe_id;
        r.flags = flags;
        r.pid_tgid = (u64::from(tgid) << 32) | u64::from(tgid);
        r
    }

    #[test]
    fn flags_count_as_firing_and_other_processes_do_not() {
        let mut found = rec(probe::SYS_SHMGET, 0, 7);
        found.inner = inner::SHM_MORE_CHECKS;
        let records = [
            found,
            rec(probe::SHM_FAULT, flag::SHMEM_SEEN, 7),
            rec(probe::DO_SEMTIMEDOP, flag::INNER_SEEN | flag::SLEPT, 7),
            rec(probe::NEWSEG, 0, 8),
        ];
        let f = fired(&records, 7);
        assert!(f[probe::SHM_FAULT as usize] && f[probe::SHMEM_FAULT as usize]);
        assert!(f[probe::DO_SEMTIMEDOP_INNER as usize] && f[probe::SCHED_SWITCH as usize]);
        assert!(f[probe::SHM_MORE_CHECKS as usize] && !f[probe::SEM_MORE_CHECKS as usize]);
        assert!(
            !f[probe::NEWSEG as usize],
            "another process's record counted"
        );
    }

    #[test]
    fn the_round_trip_runs_and_cleans_up() -> io::Result<()> {
        round_trip()
    }
}
