//! sem-pingpong: a parent and a forked child alternate strictly on a set of
//! two semaphores (0 = parent's turn, 1 = child's turn). Each side releases
//! the other only once the other is asleep in its P (`semctl(GETNCNT)`), so
//! every P really blocks. The parent uses `SEM_UNDO`, the child does not.
//! The parent removes the set at the end.

use anyhow::{Context, Result, bail};
use clap::Parser;
use demos::cleanup::Cleanup;
use demos::keyfile::{self, CreateError, DEFAULT_KEY_PATH, PINGPONG_PROJ};
use demos::report::{DemoReport, Role, SemReport};
use demos::semset::SemSet;
use demos::stages::StageArg;
use demos::{sysv, wait};
use ipc_trace::event::SEM_UNDO;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::time::Duration;

/// Semaphore the parent waits on.
const PARENT_TURN: u16 = 0;
/// Semaphore the child waits on.
const CHILD_TURN: u16 = 1;

#[derive(Parser, Debug)]
#[command(about = "Two processes alternating strictly on a System V semaphore set")]
struct Args {
    /// File the IPC key is derived from (ftok); created when missing.
    #[arg(long, default_value = DEFAULT_KEY_PATH)]
    path: PathBuf,
    /// Round trips (each side does this many blocking P operations).
    #[arg(long, default_value_t = 10)]
    rounds: u64,
    /// Give up after this many seconds without progress.
    #[arg(long, default_value_t = 30)]
    timeout_s: u64,
    /// Write a JSON report (the child's report nested in the parent's).
    #[arg(long)]
    report: Option<PathBuf>,
    #[command(flatten)]
    stage: StageArg,
}

/// Waits until a task sleeps in a P on semaphore `num`, then releases it.
fn release_sleeper(set: &mut SemSet, num: u16, timeout: Duration) -> Result<()> {
    let asleep = wait::poll(timeout, Duration::from_micros(200), || {
        sysv::sem_ncnt(set.id, num).map(|n| (n > 0).then_some(()))
    })?;
    if asleep.is_none() {
        bail!("timed out: the other side never waited on semaphore {num}");
    }
    set.v(num)?;
    Ok(())
}

fn side_report(role: Role, args: &Args, key: i32, set: SemSet, parent: bool) -> DemoReport {
    let flags = libc::IPC_CREAT | libc::IPC_EXCL | 0o600;
    DemoReport {
        program: "sem-pingpong".into(),
        role,
        pid: std::process::id(),
        key_path: args.path.display().to_string(),
        page_size: sysv::page_size() as u64,
        shm: None,
        sem: Some(SemReport {
            key,
            id: set.id,
            nsems: 2,
            get_called: parent,
            get_flags: if parent { flags } else { 0 },
            created: parent,
            setall: parent.then(|| vec![0, 0]),
            semops: set.calls,
            blocking_semops: set.blocking,
            removed: parent,
        }),
        messages_sent: 0,
        messages_received: 0,
        checksum: None,
        rounds: Some(args.rounds),
        children: Vec::new(),
    }
}

/// The child: wait for its turn, then hand the turn back, `rounds` times;
/// its report goes to the parent through `out`.
fn child(args: &Args, key: i32, id: i32, out: OwnedFd) -> Result<()> {
    let timeout = Duration::from_secs(args.timeout_s);
    let mut set = SemSet::new(id, 0);
    for _ in 0..args.rounds {
        set.p_blocking(CHILD_TURN)?;
        release_sleeper(&mut set, PARENT_TURN, timeout)?;
    }
    let report = side_report(Role::PingpongChild, args, key, set, false);
    let mut pipe = std::fs::File::from(out);
    pipe.write_all(serde_json::to_string(&report)?.as_bytes())?;
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let key = keyfile::key_for(&args.path, PINGPONG_PROJ)?;
    let timeout = Duration::from_secs(args.timeout_s);
    let flags = libc::IPC_CREAT | libc::IPC_EXCL | 0o600;
    let mut cleanup = Cleanup::default();
    let mut stages = args.stage.open()?;
    let id =
        sysv::semget(key, 2, flags).map_err(|e| CreateError::new(e, "semaphore set", "-S", key))?;
    cleanup.set(id);
    sysv::sem_setall(id, &[0, 0])?;
    stages.point("initialised")?;

    let mut fds = [0i32; 2];
    // SAFETY: fds has room for the two descriptors pipe writes.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } == -1 {
        bail!("pipe() failed: {}", std::io::Error::last_os_error());
    }
    // SAFETY: pipe() succeeded, so both descriptors are open and owned by us.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: this process is single-threaded here, so the child may run Rust code.
    let pid = unsafe { libc::fork() };
    if pid == -1 {
        bail!("fork() failed: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        drop(read_end);
        cleanup.disarm();
        let code = match child(&args, key, id, write_end) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("sem-pingpong child: {e:#}");
                // Wake the parent (EIDRM) so that it does not wait forever.
                let _ = sysv::sem_remove(id);
                1
            }
        };
        // SAFETY: leave without running the parent's exit handlers twice.
        unsafe { libc::_exit(code) };
    }
    drop(write_end);

    let mut set = SemSet::new(id, SEM_UNDO);
    let played: Result<()> = (|| {
        for round in 0..args.rounds {
            release_sleeper(&mut set, CHILD_TURN, timeout)?;
            set.p_blocking(PARENT_TURN)?;
            if round == 0 {
                // The child sleeps in its next P meanwhile.
                stages.point("round")?;
            }
        }
        Ok(())
    })();
    if played.is_err() {
        // Wake the child (EIDRM) so that it does not wait forever.
        let _ = sysv::sem_remove(id);
        cleanup.disarm();
    }
    let mut child_json = String::new();
    std::fs::File::from(read_end)
        .read_to_string(&mut child_json)
        .context("reading the child's report")?;
    let mut status = 0;
    // SAFETY: pid is our child; status is a valid out pointer.
    if unsafe { libc::waitpid(pid, &mut status, 0) } == -1 {
        bail!("waitpid({pid}) failed: {}", std::io::Error::last_os_error());
    }
    played?;
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("the child (pid {pid}) failed: wait status {status}");
    }
    let child_report: DemoReport =
        serde_json::from_str(&child_json).context("the child's report is not valid JSON")?;
    sysv::sem_remove(id)?;
    cleanup.disarm();

    let mut report = side_report(Role::PingpongParent, &args, key, set, true);
    report.children.push(child_report);
    if let Some(path) = &args.report {
        report.write(path).context("writing the report")?;
    }
    eprintln!(
        "sem-pingpong: {} rounds on semid {id} (key {}) between pids {} and {pid}",
        args.rounds,
        keyfile::key_hex(key),
        std::process::id()
    );
    Ok(())
}
