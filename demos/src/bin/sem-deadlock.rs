//! sem-deadlock: the classic lock-order inversion (ABBA) on a System V set
//! of two semaphores, both starting at 1. The parent takes semaphore 0, its
//! forked child takes semaphore 1; once both hold theirs (a pipe handshake),
//! each asks for the other's with `semtimedop` and a `--wait-ms` timeout.
//! Neither can proceed: both sleep until the timeout (EAGAIN), then, after
//! a second handshake so that both waits have ended, each gives its own
//! semaphore back. The parent removes the set.

use anyhow::{Context, Result, bail};
use clap::Parser;
use demos::stages::StageArg;
use demos::sysv;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};

#[derive(Parser, Debug)]
#[command(
    about = "Two processes take two System V semaphores in opposite order (a deadlock a timeout breaks)"
)]
struct Args {
    /// How long each waits for the other's semaphore before giving up.
    #[arg(long, default_value_t = 300)]
    wait_ms: u64,
    #[command(flatten)]
    stage: StageArg,
}

/// One end of each pipe between parent and child.
struct Link {
    tx: std::fs::File,
    rx: std::fs::File,
}

impl Link {
    /// Tells the other side we got here and waits until it did too.
    fn meet(&mut self) -> Result<()> {
        self.tx.write_all(b"x").context("handshake write")?;
        let mut b = [0u8; 1];
        self.rx.read_exact(&mut b).context("handshake read")?;
        Ok(())
    }
}

fn pipe() -> Result<(std::fs::File, std::fs::File)> {
    let mut fds = [0i32; 2];
    // SAFETY: fds has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } == -1 {
        bail!("pipe() failed: {}", std::io::Error::last_os_error());
    }
    // SAFETY: pipe() succeeded, so both descriptors are open and ours.
    let (r, w) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    Ok((r.into(), w.into()))
}

/// `semtimedop` of one operation `op` on semaphore `num`; Ok(false) on EAGAIN
/// (the timeout).
fn semop_timed(id: i32, num: u16, op: i16, wait_ms: u64) -> Result<bool> {
    let mut buf = libc::sembuf {
        sem_num: num,
        sem_op: op,
        sem_flg: 0,
    };
    let ts = libc::timespec {
        tv_sec: (wait_ms / 1000) as libc::time_t,
        tv_nsec: ((wait_ms % 1000) * 1_000_000) as libc::c_long,
    };
    // SAFETY: one valid sembuf and a valid timespec, both live for the call.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_semtimedop,
            id,
            &mut buf as *mut libc::sembuf,
            1usize,
            &ts as *const libc::timespec,
        )
    };
    if rc == 0 {
        return Ok(true);
    }
    let err = std::io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EAGAIN) {
        return Ok(false);
    }
    bail!("semtimedop(semid={id}, sem {num}, op {op}): {err}")
}

/// One side: take `mine`, meet, wait for `theirs` (times out), meet, give
/// `mine` back. Returns whether the wait timed out.
fn side(id: i32, mine: u16, theirs: u16, link: &mut Link, args: &Args) -> Result<bool> {
    let mut stages = args.stage.open()?;
    if !semop_timed(id, mine, -1, 10_000)? {
        bail!("could not take semaphore {mine}");
    }
    link.meet()?;
    stages.point("took")?;
    let got = semop_timed(id, theirs, -1, args.wait_ms)?;
    link.meet()?;
    stages.point("timed-out")?;
    semop_timed(id, mine, 1, 10_000)?;
    if got {
        semop_timed(id, theirs, 1, 10_000)?;
    }
    Ok(!got)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let id = sysv::semget(libc::IPC_PRIVATE, 2, libc::IPC_CREAT | 0o600)?;
    sysv::sem_setall(id, &[1, 1])?;
    let (p_rx, c_tx) = pipe()?;
    let (c_rx, p_tx) = pipe()?;
    // SAFETY: this process is single-threaded here, so the child may run Rust code.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        let _ = sysv::sem_remove(id);
        bail!("fork() failed: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        let mut link = Link { tx: c_tx, rx: c_rx };
        let code = match side(id, 1, 0, &mut link, &args) {
            Ok(true) => 0,
            Ok(false) => 3,
            Err(e) => {
                eprintln!("sem-deadlock child: {e:#}");
                1
            }
        };
        // SAFETY: leave without running the parent's exit handlers twice.
        unsafe { libc::_exit(code) };
    }
    let mut link = Link { tx: p_tx, rx: p_rx };
    let timed_out = side(id, 0, 1, &mut link, &args);
    let mut status = 0;
    // SAFETY: pid is our child; status is a valid out pointer.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    sysv::sem_remove(id)?;
    if waited == -1 {
        bail!("waitpid({pid}) failed: {}", std::io::Error::last_os_error());
    }
    let child_timed_out = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    match (timed_out?, child_timed_out) {
        (true, true) => {
            println!(
                "sem-deadlock: pids {} and {pid} each waited {} ms for the other's semaphore of semid {id}, gave up (EAGAIN) and released their own",
                std::process::id(),
                args.wait_ms
            );
            Ok(())
        }
        _ => bail!("the deadlock did not happen as planned (child wait status {status})"),
    }
}
