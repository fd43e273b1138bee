//! Without CAP_BPF/CAP_PERFMON (and CAP_SYS_ADMIN) loading is refused with
//! one clear line. The check runs this test binary again under `setpriv`
//! with every capability dropped.

use std::process::Command;

use ipc_trace::probe::attach::{AttachError, AttachOptions, Tracer};

const CHILD_ENV: &str = "IPC_TRACE_PRIVILEGE_CHILD";
/// Still uid 0, so root-owned tracefs is readable: only the two BPF
/// capabilities are named (tests/capabilities.rs covers other uids).
const MESSAGE: &str = "ipc-trace needs CAP_BPF and CAP_PERFMON to trace (lacks CAP_BPF, CAP_PERFMON): run it with sudo";

#[test]
fn loading_without_capabilities_fails_with_one_clear_line() {
    let exe = std::env::current_exe().expect("test binary path");
    let out = Command::new("setpriv")
        .args(["--inh-caps=-all", "--bounding-set=-all", "--"])
        .arg(&exe)
        .args([
            "--exact",
            "child_without_capabilities",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_ENV, "1")
        .output()
        .expect("setpriv runs (util-linux)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "child failed:\n{stdout}\n{stderr}");
    assert!(
        stdout.lines().any(|l| l == format!("error: {MESSAGE}")),
        "child output:\n{stdout}"
    );
}

/// Runs only as the child of the test above, inside `setpriv`.
#[test]
#[ignore = "run by loading_without_capabilities_fails_with_one_clear_line"]
fn child_without_capabilities() {
    assert_eq!(std::env::var(CHILD_ENV).as_deref(), Ok("1"));
    let status = std::fs::read_to_string("/proc/self/status").expect("status");
    let caps = ipc_trace::probe::privilege::parse_cap_eff(&status).expect("CapEff");
    assert_eq!(caps, 0, "setpriv left capabilities");
    match Tracer::load_and_attach(&AttachOptions::default()) {
        Ok(_) => panic!("loaded probes without capabilities"),
        Err(e) => {
            assert!(matches!(e, AttachError::NotPrivileged(_)), "{e}");
            println!("error: {e}");
        }
    }
}
