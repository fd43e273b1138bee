//! sysv-odd: the odd and hostile System V IPC calls a tracer must record
//! faithfully — empty, maximal and oversized semop arrays, a bad `sops`
//! pointer, every semctl command (GETALL/SETALL on a set of SEMMSL
//! semaphores), shmat with SHM_RND, SHM_RDONLY, SHM_REMAP and a bad
//! address, SHM_HUGETLB, a segment over 4 GiB, SHM_LOCK, a fork while
//! attached whose child detaches, and an exec while attached.
//!
//! Every call is a raw syscall (no libc wrapper may turn one call into
//! another), made on private objects, and every object is removed at the
//! end. Failures are expected (that is the point) and not errors: the
//! program prints one line per call, `name = result`, and exits 0 unless
//! it could not set up or clean up. `strace` of the same run is the
//! reference the test compares the recording with.

use std::ffi::CString;

/// `SHM_HUGETLB` and `SHM_NORESERVE` of `<sys/shm.h>` (not in every libc).
const SHM_HUGETLB: i64 = 0o4000;
const SHM_NORESERVE: i64 = 0o10000;
/// `SEMOPM`: the kernel's default limit of sembufs per semop.
const SEMOPM: usize = 500;
/// `SHM_INFO` of `<sys/shm.h>`.
const SHM_INFO: i32 = 14;
/// The argument that makes a re-executed copy exit at once.
const AFTER_EXEC: &str = "--after-exec";

/// One raw syscall; prints and returns its result (`-errno` on failure).
fn call(name: &str, nr: libc::c_long, args: [i64; 4]) -> i64 {
    // SAFETY: the IPC syscalls validate every argument, pointers included
    // (a bad one is EFAULT, which is one of the cases this program makes);
    // the pointers passed to successful calls point at live buffers of the
    // size the call expects.
    let r = unsafe { libc::syscall(nr, args[0], args[1], args[2], args[3]) };
    let result = if r == -1 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        r
    };
    println!("{name} = {result}");
    result
}

fn shmget(size: i64, flags: i64) -> i64 {
    call(
        "shmget",
        libc::SYS_shmget,
        [libc::IPC_PRIVATE as i64, size, flags | 0o600, 0],
    )
}

fn shmat(id: i64, addr: i64, flags: i64) -> i64 {
    call("shmat", libc::SYS_shmat, [id, addr, flags, 0])
}

fn shmdt(addr: i64) -> i64 {
    call("shmdt", libc::SYS_shmdt, [addr, 0, 0, 0])
}

fn shmctl(id: i64, cmd: i32, buf: *mut libc::c_void) -> i64 {
    call(
        "shmctl",
        libc::SYS_shmctl,
        [id, i64::from(cmd), buf as i64, 0],
    )
}

fn semctl(id: i64, num: i64, cmd: i32, arg: i64) -> i64 {
    call("semctl", libc::SYS_semctl, [id, num, i64::from(cmd), arg])
}

fn semop(id: i64, sops: i64, nsops: i64) -> i64 {
    call("semop", libc::SYS_semop, [id, sops, nsops, 0])
}

/// The kernel's SEMMSL (first field of /proc/sys/kernel/sem).
fn semmsl() -> usize {
    std::fs::read_to_string("/proc/sys/kernel/sem")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|n| n.parse().ok()))
        .unwrap_or(250)
}

/// The shm cases; returns false when a segment could not be removed.
fn shm_cases(exe: &CString) -> bool {
    let page = 4096;
    let id = shmget(page, libc::IPC_CREAT as i64);
    if id < 0 {
        return false;
    }
    let mut stat = std::mem::MaybeUninit::<libc::shmid_ds>::zeroed();
    let stat = stat.as_mut_ptr().cast::<libc::c_void>();
    // Attach read-only, and detach.
    let ro = shmat(id, 0, libc::SHM_RDONLY as i64);
    if ro > 0 {
        shmdt(ro);
    }
    // An address that is not page-aligned, inside a range known to be
    // free (mapped, then unmapped): refused without SHM_RND, rounded down
    // to SHMLBA with it.
    let hint = free_range(3 * page as usize) + 0x1234;
    shmat(id, hint, 0);
    let rounded = shmat(id, hint, libc::SHM_RND as i64);
    if rounded > 0 {
        shmdt(rounded);
    }
    // SHM_REMAP over a mapping of our own.
    // SAFETY: a fresh anonymous private mapping, checked before use.
    let map = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            page as usize,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if map != libc::MAP_FAILED {
        let over = shmat(id, map as i64, libc::SHM_REMAP as i64);
        if over > 0 {
            shmdt(over);
        }
    }
    // A bad id, and a detach of an address nothing is attached at.
    shmat(-1, 0, 0);
    shmdt(0x1000);
    // Huge pages (may be refused: no huge pages reserved) and a segment
    // over 4 GiB (never touched, NORESERVE); each removed if made.
    for (size, flags) in [(2 << 20, SHM_HUGETLB), (5 << 30, SHM_NORESERVE)] {
        let big = shmget(size, libc::IPC_CREAT as i64 | flags);
        if big >= 0 {
            shmctl(big, libc::IPC_RMID, std::ptr::null_mut());
        }
    }
    shmctl(id, libc::SHM_LOCK, std::ptr::null_mut());
    shmctl(id, libc::SHM_UNLOCK, std::ptr::null_mut());
    shmctl(id, libc::IPC_STAT, stat);
    shmctl(0, libc::IPC_INFO, stat);
    shmctl(0, SHM_INFO, stat);
    // A fork while attached: the child detaches, the parent after it.
    let addr = shmat(id, 0, 0);
    if addr > 0 {
        in_child(|| {
            shmdt(addr);
        });
        shmdt(addr);
    }
    // An exec while attached: the new image has no attachment (the kernel
    // detaches at exec, no shmdt call).
    in_child(|| {
        if shmat(id, 0, 0) > 0 {
            let args = [exe.as_ptr(), c"--after-exec".as_ptr(), std::ptr::null()];
            // SAFETY: a NUL-terminated argv of valid C strings.
            unsafe { libc::execv(exe.as_ptr(), args.as_ptr()) };
        }
    });
    shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) == 0
}

/// The start of `len` bytes of address space that nothing maps (0 if
/// the probing mapping failed: the calls then fail, which is recorded too).
fn free_range(len: usize) -> i64 {
    // SAFETY: a fresh anonymous mapping, unmapped at once; only its
    // address is kept.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_NONE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        );
        if p == libc::MAP_FAILED {
            return 0;
        }
        libc::munmap(p, len);
        p as i64
    }
}

/// Runs `f` in a forked child that then exits; waits for it.
fn in_child(f: impl FnOnce()) {
    // SAFETY: this program is single-threaded, so the child may run Rust code.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        f();
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(0) };
    }
    if pid > 0 {
        let mut status = 0;
        // SAFETY: waits for the child just forked.
        unsafe { libc::waitpid(pid, &mut status, 0) };
    }
}

/// The semaphore cases; returns false when the set could not be removed.
fn sem_cases() -> bool {
    let nsems = semmsl();
    let id = call(
        "semget",
        libc::SYS_semget,
        [libc::IPC_PRIVATE as i64, nsems as i64, 0o600, 0],
    );
    if id < 0 {
        return false;
    }
    let mut vals = vec![1u16; nsems];
    semctl(id, 0, libc::SETALL, vals.as_mut_ptr() as i64);
    semctl(id, 0, libc::GETALL, vals.as_mut_ptr() as i64);
    semctl(id, 0, libc::SETVAL, 5);
    for cmd in [libc::GETVAL, libc::GETPID, libc::GETNCNT, libc::GETZCNT] {
        semctl(id, 0, cmd, 0);
    }
    let mut ds = std::mem::MaybeUninit::<libc::semid_ds>::zeroed();
    let ds = ds.as_mut_ptr() as i64;
    semctl(id, 0, libc::IPC_STAT, ds);
    semctl(id, 0, libc::IPC_SET, ds);
    for cmd in [
        libc::IPC_INFO,
        libc::SEM_INFO,
        libc::SEM_STAT,
        20, /* SEM_STAT_ANY */
    ] {
        semctl(0, 0, cmd, ds);
    }
    semctl(id, 0, 99, 0);
    // semop arrays: empty (EINVAL), SEMOPM long (one +1 on each of as many
    // semaphores), one longer (E2BIG), and a bad pointer (EFAULT).
    let ops: Vec<libc::sembuf> = (0..=SEMOPM)
        .map(|i| libc::sembuf {
            sem_num: (i % nsems) as u16,
            sem_op: 1,
            sem_flg: libc::IPC_NOWAIT as i16,
        })
        .collect();
    let ptr = ops.as_ptr() as i64;
    semop(id, ptr, 0);
    semop(id, ptr, SEMOPM as i64);
    semop(id, ptr, SEMOPM as i64 + 1);
    semop(id, 1, 1);
    semctl(id, 0, libc::IPC_RMID, 0) == 0
}

fn main() -> std::process::ExitCode {
    if std::env::args().nth(1).as_deref() == Some(AFTER_EXEC) {
        return std::process::ExitCode::SUCCESS;
    }
    let Some(exe) = std::env::current_exe()
        .ok()
        .and_then(|p| CString::new(p.into_os_string().into_encoded_bytes()).ok())
    else {
        eprintln!("sysv-odd: cannot find its own executable");
        return std::process::ExitCode::FAILURE;
    };
    let shm_ok = shm_cases(&exe);
    let sem_ok = sem_cases();
    if shm_ok && sem_ok {
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("sysv-odd: an object could not be created or removed");
        std::process::ExitCode::FAILURE
    }
}
