//! SIGINT in the middle of a recording: the probes are detached, the
//! traced command is stopped, and the recording is complete (stats line).
//! Alone in its file: it loads programs, which other files count.

use std::process::Command;
use std::time::Duration;

mod common;
use common::{bpf_program_loaded, bpf_programs_of};

fn ipc_trace() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ipc-trace"))
}

#[test]
fn sigint_mid_trace_detaches_and_leaves_a_complete_recording() {
    assert!(
        unsafe { libc::geteuid() } == 0,
        "this test needs root (eBPF)"
    );
    let dir = std::env::temp_dir().join(format!("ipc-trace-sigint-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let file = dir.join("r.ndjson");
    let child = ipc_trace()
        .args(["record", "-o"])
        .arg(&file)
        .args(["--", "sleep", "30"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until ipc-trace catches SIGINT (it installs the handler after
    // attaching and self-testing, which takes a while on a loaded machine).
    let catches_sigint = || {
        std::fs::read_to_string(format!("/proc/{}/status", child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("SigCgt:"))
                    .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
            })
            .is_some_and(|mask| mask & (1 << (libc::SIGINT - 1)) != 0)
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !catches_sigint() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        catches_sigint(),
        "ipc-trace never installed its SIGINT handler"
    );
    std::thread::sleep(Duration::from_millis(200));
    let programs = bpf_programs_of(child.id());
    assert!(!programs.is_empty(), "nothing was attached while recording");
    // SAFETY: signalling the child we spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&file).expect("the recording exists");
    let last = text.lines().last().expect("a last line");
    assert!(
        last.starts_with(r#"{"kind":"stats""#),
        "no stats line at the end: {last}"
    );
    for id in programs {
        assert!(
            !bpf_program_loaded(id),
            "BPF program {id} left loaded after SIGINT"
        );
    }
}
