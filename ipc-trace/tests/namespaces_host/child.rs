//! The traced child's three scenarios. Each writes `NAME VALUE` lines to a
//! `.note` file in `out`; a forked process writes its own file. Failures
//! panic (or exit non-zero in a forked process), so `record` fails.

use std::io::Error;
use std::path::Path;

/// The inode of this thread's IPC namespace (`ipc:[N]`): `unshare` in a
/// test thread changes only that thread.
fn ipc_ns() -> i64 {
    let link = std::fs::read_link("/proc/thread-self/ns/ipc").expect("readlink ns/ipc");
    let text = link.to_string_lossy().into_owned();
    text.trim_start_matches("ipc:[")
        .trim_end_matches(']')
        .parse()
        .unwrap_or_else(|_| panic!("unexpected ns link {text}"))
}

fn write_note(out: &Path, name: &str, lines: &[(&str, i64)]) {
    let text: String = lines.iter().map(|(k, v)| format!("{k} {v}\n")).collect();
    std::fs::write(out.join(format!("{name}.note")), text).expect("write note");
}

fn unshare(flags: libc::c_int) {
    // SAFETY: unshare takes flags only.
    let rc = unsafe { libc::unshare(flags) };
    assert_eq!(rc, 0, "unshare: {}", Error::last_os_error());
}

fn shmget(key: libc::key_t, size: usize, flags: libc::c_int) -> i32 {
    // SAFETY: shmget takes plain values.
    let id = unsafe { libc::shmget(key, size, flags) };
    assert!(id >= 0, "shmget: {}", Error::last_os_error());
    id
}

fn shm_rmid(id: i32) {
    // SAFETY: IPC_RMID takes no buffer.
    let rc = unsafe { libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "shmctl IPC_RMID: {}", Error::last_os_error());
}

/// Forks; the child runs `f` and exits 0 (101 when it panics); the parent
/// waits and returns the child's pid as it sees it.
fn fork_and_wait(f: impl FnOnce()) -> i64 {
    // SAFETY: the child only runs `f` (system calls and file writes of
    // this single-threaded test, `--test-threads=1`) and then `_exit`s.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", Error::last_os_error());
    if pid == 0 {
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).is_ok();
        // SAFETY: leaves the forked child without running the parent's
        // destructors or atexit handlers.
        unsafe { libc::_exit(if ok { 0 } else { 101 }) };
    }
    let mut status = 0;
    // SAFETY: waits for the child just forked; `status` is writable.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid, "waitpid: {}", Error::last_os_error());
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "child {pid} failed: status {status:#x}"
    );
    i64::from(pid)
}

/// One key, two segments: one in the tracer's IPC namespace, one in a new
/// namespace of a forked child.
pub fn ipcns(out: &Path) {
    let key = 0x4e50_0000 | (std::process::id() as libc::key_t & 0xffff);
    let host_id = shmget(key, 4096, libc::IPC_CREAT | libc::IPC_EXCL | 0o600);
    fork_and_wait(|| {
        unshare(libc::CLONE_NEWIPC);
        let id = shmget(key, 4096, libc::IPC_CREAT | libc::IPC_EXCL | 0o600);
        write_note(
            out,
            "inner",
            &[("inner_ns", ipc_ns()), ("inner_id", id.into())],
        );
        shm_rmid(id);
    });
    shm_rmid(host_id);
    let lines = [
        ("key", key.into()),
        ("host_ns", ipc_ns()),
        ("host_id", host_id.into()),
    ];
    write_note(out, "host", &lines);
}

/// A new PID namespace: the forked child is its pid 1 and does a semop;
/// the parent notes the pid fork returned.
pub fn pidns(out: &Path) {
    unshare(libc::CLONE_NEWPID);
    let outer = fork_and_wait(|| {
        // SAFETY: plain System V calls on a private set this closure owns;
        // `ops` outlives semop.
        unsafe {
            let id = libc::semget(libc::IPC_PRIVATE, 1, libc::IPC_CREAT | 0o600);
            assert!(id >= 0, "semget: {}", Error::last_os_error());
            let mut ops = [
                libc::sembuf {
                    sem_num: 0,
                    sem_op: 1,
                    sem_flg: 0,
                },
                libc::sembuf {
                    sem_num: 0,
                    sem_op: -1,
                    sem_flg: 0,
                },
            ];
            let rc = libc::semop(id, ops.as_mut_ptr(), ops.len());
            assert_eq!(rc, 0, "semop: {}", Error::last_os_error());
            write_note(
                out,
                "inner",
                &[("inner_pid", libc::getpid().into()), ("semid", id.into())],
            );
            libc::semctl(id, 0, libc::IPC_RMID);
        }
    });
    write_note(out, "outer", &[("outer_pid", outer)]);
}

/// In a fresh IPC namespace: a segment is removed and a new one gets the
/// same id back (`kernel.shm_next_id`, a per-namespace sysctl, or else by
/// cycling until the sequence number wraps).
pub fn recycle(out: &Path) {
    unshare(libc::CLONE_NEWIPC);
    let first = shmget(libc::IPC_PRIVATE, 4096, libc::IPC_CREAT | 0o600);
    shm_rmid(first);
    let again = if std::fs::write("/proc/sys/kernel/shm_next_id", first.to_string()).is_ok() {
        shmget(libc::IPC_PRIVATE, 8192, libc::IPC_CREAT | 0o600)
    } else {
        cycle_until(first)
    };
    assert_eq!(again, first, "the id did not come back");
    shm_rmid(again);
    write_note(out, "recycle", &[("ns", ipc_ns()), ("id", first.into())]);
}

/// Creates and removes segments until `id` is handed out again (the
/// sequence part of an id wraps after 65536 uses of an index).
fn cycle_until(id: i32) -> i32 {
    for _ in 0..70_000 {
        let next = shmget(libc::IPC_PRIVATE, 8192, libc::IPC_CREAT | 0o600);
        if next == id {
            return next;
        }
        shm_rmid(next);
    }
    panic!("shm id {id} never came back");
}
