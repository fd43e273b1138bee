//! For the exit-path tests: which BPF objects a process holds (its
//! fdinfo), whether the kernel still has them (`BPF_*_GET_FD_BY_ID`), what
//! is pinned, and what became of a traced command.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The kinds of BPF object a process can hold, as fdinfo names their ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Prog,
    Map,
    Link,
}

impl Kind {
    const ALL: [Kind; 3] = [Kind::Prog, Kind::Map, Kind::Link];

    fn fdinfo_key(self) -> &'static str {
        match self {
            Kind::Prog => "prog_id:",
            Kind::Map => "map_id:",
            Kind::Link => "link_id:",
        }
    }

    /// The `bpf(2)` command opening an object of this kind by id.
    fn get_fd_by_id(self) -> libc::c_long {
        match self {
            Kind::Prog => 13, // BPF_PROG_GET_FD_BY_ID
            Kind::Map => 14,  // BPF_MAP_GET_FD_BY_ID
            Kind::Link => 30, // BPF_LINK_GET_FD_BY_ID
        }
    }
}

/// BPF object ids by kind.
pub type Objects = BTreeSet<(Kind, u32)>;

/// The BPF objects process `pid` holds open now (empty once it is gone).
pub fn objects_of(pid: u32) -> Objects {
    let mut out = Objects::new();
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return out;
    };
    for entry in entries.flatten() {
        let info = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in info.lines() {
            for kind in Kind::ALL {
                if let Some(Ok(id)) = line
                    .strip_prefix(kind.fdinfo_key())
                    .map(|i| i.trim().parse())
                {
                    out.insert((kind, id));
                }
            }
        }
    }
    out
}

/// How many objects of `kind` are in `objects`.
pub fn count(objects: &Objects, kind: Kind) -> usize {
    objects.iter().filter(|(k, _)| *k == kind).count()
}

/// True while the kernel has object `id` of `kind` (it can be opened by id).
pub fn exists(kind: Kind, id: u32) -> bool {
    #[repr(C)]
    struct GetFdById {
        id: u32,
        next_id: u32,
        open_flags: u32,
        pad: u32,
    }
    let attr = GetFdById {
        id,
        next_id: 0,
        open_flags: 0,
        pad: 0,
    };
    // SAFETY: bpf(2) reads `size_of::<GetFdById>()` bytes of `attr`, which
    // lives across the call; the fd it may return is closed below.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            kind.get_fd_by_id(),
            &attr as *const GetFdById,
            std::mem::size_of::<GetFdById>() as libc::c_uint,
        )
    };
    if fd >= 0 {
        // SAFETY: closing the fd bpf(2) just gave us.
        unsafe { libc::close(fd as i32) };
        return true;
    }
    let err = std::io::Error::last_os_error();
    assert_eq!(
        err.raw_os_error(),
        Some(libc::ENOENT),
        "bpf GET_FD_BY_ID {kind:?} {id}: {err} (needs root)"
    );
    false
}

/// Waits up to `secs` for every object of `objects` to be freed (maps can
/// outlive their last fd by a moment: the kernel frees them from a work
/// queue); returns those still there.
pub fn left_after(objects: &Objects, secs: u64) -> Objects {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let left: Objects = objects
            .iter()
            .filter(|(k, id)| exists(*k, *id))
            .copied()
            .collect();
        if left.is_empty() || Instant::now() >= deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Collects, every few milliseconds until stopped or the process is gone,
/// every BPF object process `pid` holds: also those of a start that fails
/// a moment after loading.
pub struct Watcher {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Objects>,
}

impl Watcher {
    pub fn start(pid: u32) -> Watcher {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut seen = Objects::new();
            while !flag.load(Ordering::Relaxed) && alive(pid) {
                seen.extend(objects_of(pid));
                std::thread::sleep(Duration::from_millis(5));
            }
            seen
        });
        Watcher { stop, thread }
    }

    /// Everything seen so far, and stops.
    pub fn finish(self) -> Objects {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the fdinfo watcher")
    }
}

/// Everything under /sys/fs/bpf (empty when bpffs is not mounted).
pub fn pinned() -> BTreeSet<PathBuf> {
    fn walk(dir: &Path, out: &mut BTreeSet<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&p, out);
            }
            out.insert(p);
        }
    }
    let mut out = BTreeSet::new();
    walk(Path::new("/sys/fs/bpf"), &mut out);
    out
}

/// The `/proc/PID/stat` fields after the command name: state, ppid.
fn stat(pid: u32) -> Option<(char, u32)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut rest = text[text.rfind(')')? + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((state, ppid))
}

/// The process state letter (`S`, `R`, `T` stopped, `Z` zombie), if any.
pub fn state(pid: u32) -> Option<char> {
    stat(pid).map(|(s, _)| s)
}

/// True while `pid` exists and is not a zombie.
pub fn alive(pid: u32) -> bool {
    state(pid).is_some_and(|s| s != 'Z' && s != 'X')
}

/// The children of `pid` (scanning /proc).
pub fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        if let Some(child) = e.file_name().to_str().and_then(|n| n.parse().ok())
            && stat(child).is_some_and(|(_, ppid)| ppid == pid)
        {
            out.push(child);
        }
    }
    out
}

/// Makes this test process the reaper of orphans below it, so a traced
/// command left behind by a dead tracer is reparented here, where
/// [`wait_ended`] can see it end (or not).
pub fn become_subreaper() {
    // SAFETY: prctl with integer arguments.
    let r = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1 as libc::c_ulong) };
    assert_eq!(r, 0, "PR_SET_CHILD_SUBREAPER");
}

/// How a traced command ended, seen from here.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// Reaped by its parent (the tracer): gone from /proc.
    Reaped,
    /// Orphaned, reparented here and reaped by [`wait_ended`]: killed by
    /// this signal, or exited with this code.
    Signal(i32),
    Exit(i32),
}

/// Waits up to `secs` for `pid` to end; `None` if it still runs (then it
/// is killed, so a failing test leaves nothing running).
pub fn wait_ended(pid: u32, secs: u64) -> Option<Ended> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let mut status = 0;
        // SAFETY: waitpid on one pid with a valid status pointer.
        let r = unsafe { libc::waitpid(pid as i32, &mut status, libc::WNOHANG) };
        if r == pid as i32 {
            return Some(if libc::WIFSIGNALED(status) {
                Ended::Signal(libc::WTERMSIG(status))
            } else {
                Ended::Exit(libc::WEXITSTATUS(status))
            });
        }
        if r < 0 && state(pid).is_none() {
            return Some(Ended::Reaped);
        }
        if Instant::now() >= deadline {
            // SAFETY: killing the process the test is about.
            unsafe { libc::kill(pid as i32, libc::SIGKILL) };
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
