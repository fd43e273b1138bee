//! A live lab really stops its demo between stages (root, a real terminal):
//! `ipc-trace lab shm` runs in tmux, and at each prompt the demo's
//! processes are stopped (state T) and the kernel holds exactly what the
//! stages so far did: after "Attach" the segment has two attaches and not
//! one page of memory; after "First touch" it has its page. Enter goes on.

mod built;
mod tmux;

use std::time::Duration;
use tmux::Session;

/// The labs' demos use one ftok key: one lab at a time.
static ONE_LAB: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The process state letter from /proc/PID/stat.
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat[stat.rfind(')')? + 1..].trim_start().chars().next()
}

/// Waits up to 10 s for `pid` to be gone (reaped, not a zombie); its
/// last state if it is still there.
fn gone(pid: u32) -> Option<char> {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let now = state(pid);
        if now.is_none() || std::time::Instant::now() > deadline {
            return now;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The pids of the last `Stopped now: PID at `POINT`, …` line.
fn stopped_pids(history: &str) -> Vec<u32> {
    let line = history
        .lines()
        .rfind(|l| l.starts_with("Stopped now: "))
        .unwrap_or_else(|| panic!("no `Stopped now` line:\n{history}"));
    line.trim_start_matches("Stopped now: ")
        .split(", ")
        .map_while(|part| part.split(' ').next()?.parse().ok())
        .collect()
}

/// (nattch, rss bytes) of the segment one of `pids` created, from
/// /proc/sysvipc/shm (key shmid perms size cpid lpid nattch … rss swap).
fn segment_of(pids: &[u32]) -> Option<(u64, u64)> {
    let table = std::fs::read_to_string("/proc/sysvipc/shm").ok()?;
    table.lines().skip(1).find_map(|l| {
        let f: Vec<i64> = l
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let field = |i: usize| f.get(i).and_then(|&v| u64::try_from(v).ok());
        let cpid = u32::try_from(field(4)?).ok()?;
        pids.contains(&cpid)
            .then(|| Some((field(6)?, field(14)?)))?
    })
}

/// For a failure message: each pid's state, and the resident size of its
/// SysV mapping as its own /proc/PID/smaps counts it.
fn who_touched(pids: &[u32]) -> String {
    pids.iter()
        .map(|&pid| {
            let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
            let rss = smaps
                .split("\n")
                .skip_while(|l| !l.contains("/SYSV"))
                .find(|l| l.starts_with("Rss:"))
                .unwrap_or("no SYSV mapping");
            format!("{pid} {:?} {rss}", state(pid))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Waits for the `n`th `Stopped now:` line (and its prompt); its pids.
fn at_boundary(s: &Session, n: usize) -> Vec<u32> {
    let history = s.wait_for_in_history(&format!("stop {n}"), 60, |h| {
        h.matches("Stopped now: ").count() >= n && h.trim_end().ends_with("without pausing")
    });
    let pids = stopped_pids(&history);
    for &pid in &pids {
        assert_eq!(
            state(pid),
            Some('T'),
            "pid {pid} is not stopped:\n{history}"
        );
    }
    pids
}

/// Root, and this test's turn: the labs' demos use one ftok key.
fn one_lab() -> std::sync::MutexGuard<'static, ()> {
    assert!(
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() } == 0,
        "this test needs root (eBPF): run it as root"
    );
    ONE_LAB
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `lab shm` in a 160×50 tmux session, its exit status echoed at the end.
fn start_lab(what: &str) -> Session {
    let script = format!(
        "{} lab shm --plain --answers /dev/null; echo IPC_TRACE_EXIT=$?; sleep 120",
        built::ipc_trace_bin().display()
    );
    Session::start_sized(what, &script, 160, 50)
}

#[test]
fn a_live_lab_stops_its_demo_between_stages() {
    let _one = one_lab();
    // SAFETY: sysconf has no preconditions.
    let page = u64::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap_or(4096);
    let s = start_lab("lab-stages");

    let created = at_boundary(&s, 1);
    assert_eq!(created.len(), 2, "producer and consumer stop after stage 1");
    assert!(s.history().contains("Stage 1 of 4: Create or find"));
    assert_eq!(segment_of(&created), Some((0, 0)), "made, not attached");
    s.keys("Enter");

    let mut attached = at_boundary(&s, 2);
    attached.sort_unstable();
    let mut created = created;
    created.sort_unstable();
    assert_eq!(attached, created, "the same two processes");
    assert!(s.history().contains("Stage 2 of 4: Attach"));
    assert_eq!(
        segment_of(&attached),
        Some((2, 0)),
        "both attached, and no page exists yet: {}\n{}",
        who_touched(&attached),
        s.history()
    );
    s.keys("Enter");

    let touched = at_boundary(&s, 3);
    // The control: the same reading now shows the page the touches made.
    assert_eq!(segment_of(&touched), Some((2, page)), "first touch");
    s.keys("Enter");

    let end = s.wait_for_in_history("the lab to end", 60, |h| h.contains("IPC_TRACE_EXIT="));
    assert!(end.contains("IPC_TRACE_EXIT=0"), "{end}");
    assert!(end.contains("Stage 4 of 4: Detach and removal"), "{end}");
    for pid in touched {
        assert_eq!(gone(pid), None, "pid {pid} outlived the lab");
    }
    assert_eq!(segment_of(&created), None, "the demo removed its segment");
}

#[test]
fn ctrl_c_at_a_stage_prompt_ends_the_lab_and_the_demo_cleans_up() {
    let _one = one_lab();
    let s = start_lab("lab-ctrl-c");
    at_boundary(&s, 1);
    s.keys("Enter");
    let attached = at_boundary(&s, 2);
    assert_eq!(
        segment_of(&attached).map(|(nattch, _)| nattch),
        Some(2),
        "the segment is there, attached twice, while the demo is stopped"
    );
    s.keys("C-c");
    let end = s.wait_for_in_history("the lab to end", 30, |h| h.contains("IPC_TRACE_EXIT="));
    assert!(end.contains("IPC_TRACE_EXIT=130"), "{end}");
    assert!(end.contains("Interrupted"), "{end}");
    assert!(!end.contains("Questions on this run"), "{end}");
    for &pid in &attached {
        assert_eq!(gone(pid), None, "pid {pid} was left behind");
    }
    assert_eq!(
        segment_of(&attached),
        None,
        "the demo ran on to its end and removed its segment"
    );
}

#[test]
fn the_stopped_line_parser_reads_every_pid() {
    let h = "x\nStopped now: 12 at `created`, 345 at `found`.\nThe demo is frozen, `ipcs`, 7.\n";
    assert_eq!(stopped_pids(h), vec![12, 345]);
}
