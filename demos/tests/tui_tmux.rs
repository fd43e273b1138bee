//! End-to-end test of the live TUI in a real terminal (tmux), as root:
//! `ipc-trace -- demo-run …` is started in a tmux pane, keys are sent, and
//! the captured screen must show the demo's key, its size, both processes,
//! the faults and the kernel steps (docs/STEPS.md); after `q` the terminal is restored and no
//! BPF program of ours is left loaded.

use demos::report::DemoReport;

mod built;
mod tmux;
use tmux::Session;
#[path = "../../ipc-trace/tests/common/mod.rs"]
mod schema;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A binary of this build: `ipc-trace` through cargo, `demo-run` as the
/// package's own (it starts the other demos from beside itself).
fn bin(name: &str) -> PathBuf {
    match name {
        "ipc-trace" => built::ipc_trace_bin(),
        "demo-run" => PathBuf::from(env!("CARGO_BIN_EXE_demo-run")),
        other => panic!("no binary {other} in this test"),
    }
}

/// After `q`: ipc-trace exited with status 0 and the terminal left the
/// alternate screen.
fn assert_exited_and_restored(s: &Session) {
    let after = s.wait_for("ipc-trace to exit", 20, |t| t.contains("IPC_TRACE_EXIT="));
    assert!(after.contains("IPC_TRACE_EXIT=0"), "{after}");
    assert_eq!(s.format("#{alternate_on}"), "0", "alternate screen left on");
}

fn wait_for_reports(dir: &Path, n: usize) -> Vec<DemoReport> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = DemoReport::load_dir(dir)
            && r.len() >= n
        {
            return r;
        }
        assert!(
            Instant::now() < deadline,
            "the demos did not finish in 60 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn the_live_tui_shows_the_demo_and_restores_the_terminal() {
    assert!(
        unsafe { libc::geteuid() } == 0,
        "this test needs root (eBPF): run it as root"
    );
    let dir = std::env::temp_dir().join(format!("ipc-trace-tmux-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let reports = dir.join("reports");
    let script = format!(
        "{} -- {} --report-dir {} --path {} --messages 60 --interval-ms 20; echo IPC_TRACE_EXIT=$?; sleep 120",
        bin("ipc-trace").display(),
        bin("demo-run").display(),
        reports.display(),
        dir.join("key").display(),
    );
    let s = Session::start_sized("e2e", &script, 200, 50);

    // While the demo runs, the tracer holds its BPF programs (it detaches
    // when the traced command ends; the TUI stays open on the data).
    let deadline = Instant::now() + Duration::from_secs(15);
    let programs = loop {
        let ids = programs_of_tracer(&s);
        if !ids.is_empty() {
            break ids;
        }
        assert!(
            Instant::now() < deadline,
            "the running ipc-trace never held a BPF program:\n{}",
            s.screen()
        );
        std::thread::sleep(Duration::from_millis(20));
    };

    let done = wait_for_reports(&reports, 2);
    let producer = done
        .iter()
        .find(|r| r.program == "shm-producer")
        .expect("producer report");
    let shm = producer.shm.as_ref().expect("producer shm");
    let key = format!("0x{:08x}", shm.key as u32);

    // 1. The object table: the key, the demo's 516 bytes, removed at the end.
    let table = s.wait_for("the segment, removed, in the object table", 20, |t| {
        t.lines().any(|l| l.contains(&key) && l.contains("removed"))
    });
    let row = table.lines().find(|l| l.contains(&key)).unwrap_or_default();
    assert!(
        row.contains(" 516 "),
        "size 516 not in the segment's row:\n{table}"
    );

    // 2. The detail view of the segment: walk objects until it is shown.
    s.keys("2");
    let mut detail = s.screen();
    for _ in 0..20 {
        if detail.contains(&format!("shm key {key}")) {
            break;
        }
        s.keys("l");
        detail = s.screen();
    }
    assert!(
        detail.contains(&format!("shm key {key}")),
        "detail of {key} not reached:\n{detail}"
    );
    for step in ["SHM-1", "SHM-2", "SHM-3", "SHM-5", "SHM-10"] {
        assert!(
            detail.contains(step),
            "{step} not shown in the detail view:\n{detail}"
        );
    }
    assert!(
        detail.contains("shm-producer") && detail.contains("shm-consumer"),
        "{detail}"
    );
    let faults = detail
        .split("faults ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|n| n.parse::<u32>().ok())
        .expect("a fault count in the detail view");
    assert!(
        faults >= 2,
        "expected a fault per process, got {faults}:\n{detail}"
    );

    // 3. The swimlane shows both processes.
    s.keys("5");
    let lanes = s.screen();
    assert!(
        lanes.contains("shm-producer") && lanes.contains("shm-consumer"),
        "{lanes}"
    );

    // 4. Help, then quit: the terminal comes back and the probes are gone.
    s.keys("?");
    assert!(s.screen().to_lowercase().contains("help"), "no help screen");
    s.keys("q");
    s.keys("q");
    assert_exited_and_restored(&s);
    for id in programs {
        assert!(
            !schema::bpf_program_loaded(id),
            "BPF program {id} of the quit ipc-trace is still loaded"
        );
    }
}

/// The BPF program ids held by the ipc-trace running in the pane (its fds).
fn programs_of_tracer(s: &Session) -> Vec<u32> {
    let shell = s.format("#{pane_pid}");
    let children = std::fs::read_to_string(format!(
        "/proc/{}/task/{}/children",
        shell.trim(),
        shell.trim()
    ))
    .unwrap_or_default();
    children
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .flat_map(schema::bpf_programs_of)
        .collect()
}

/// `ipc-trace replay -` reads a recording from standard input and opens the
/// same TUI (no root needed); `q` restores the terminal.
#[test]
fn replay_from_stdin_opens_the_tui_and_quits_cleanly() {
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ipc-trace/tests/data/producer-consumer.ndjson");
    let script = format!(
        "{} replay - < {}; echo IPC_TRACE_EXIT=$?; sleep 60",
        bin("ipc-trace").display(),
        sample.display()
    );
    let s = Session::start("replay", &script);
    let screen = s.wait_for("the replayed segment", 20, |t| t.contains("0x5100d3a1"));
    assert!(screen.contains("replay"), "{screen}");
    s.keys("6");
    let log = s.screen();
    assert!(log.contains("shm_fault") || log.contains("fault"), "{log}");
    s.keys("q");
    assert_exited_and_restored(&s);
}

#[test]
fn a_stepped_replay_moves_event_by_event_in_a_real_terminal() {
    let sample = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../ipc-trace/tests/data/producer-consumer.ndjson");
    let script = format!(
        "{} replay --step {}; echo IPC_TRACE_EXIT=$?; sleep 60",
        bin("ipc-trace").display(),
        sample.display()
    );
    let s = Session::start("step", &script);
    let first = s.wait_for("the cursor before the first event", 20, |t| {
        t.contains("event 0/") && t.contains("before the first event")
    });
    assert!(
        !first.contains("0x5100d3a1"),
        "an object is shown before any event:\n{first}"
    );
    for _ in 0..3 {
        s.keys("]");
    }
    let three = s.wait_for("three events applied", 10, |t| t.contains("event 3/"));
    assert!(three.contains("0x5100d3a1"), "{three}");
    s.keys("[");
    s.wait_for("one event back", 10, |t| t.contains("event 2/"));
    s.keys("q");
    assert_exited_and_restored(&s);
}
