//! Bad input at the command line: each case gives a clear message and a
//! non-zero exit status, never a panic, and leaves no BPF program loaded.
//! (No test in this file loads programs, so the global count must be 0.)

use std::process::{Command, Output};

fn ipc_trace() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ipc-trace"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ipc-trace-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn assert_no_panic(out: &Output) {
    assert!(!stderr(out).contains("panicked"), "panic: {}", stderr(out));
}

fn loaded_programs() -> String {
    let out = ipc_trace()
        .args(["doctor", "--loaded-programs"])
        .output()
        .expect("doctor runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let out = ipc_trace()
        .args(["record", "--frobnicate", "-o", "x"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("--frobnicate"), "{}", stderr(&out));
    assert_no_panic(&out);
}

#[test]
fn unwritable_output_is_refused_before_anything_is_attached() {
    let out = ipc_trace()
        .args(["record", "-o", "/proc/no-such-dir/rec.ndjson", "--", "true"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/proc/no-such-dir"),
        "{}",
        stderr(&out)
    );
    assert_no_panic(&out);
    assert_eq!(loaded_programs(), "0");
}

#[test]
fn a_missing_command_is_named_and_nothing_is_attached() {
    let dir = scratch("missing");
    let out = ipc_trace()
        .args(["record", "-o"])
        .arg(dir.join("r.ndjson"))
        .args(["--", "no-such-command-for-ipc-trace"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no-such-command-for-ipc-trace"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
    assert_no_panic(&out);
    assert!(
        !dir.join("r.ndjson").exists(),
        "a recording was left behind"
    );
    assert_eq!(loaded_programs(), "0");
}

#[test]
fn without_capabilities_one_line_says_what_to_do() {
    let dir = scratch("nocaps");
    let out = Command::new("setpriv")
        .args(["--inh-caps=-all", "--bounding-set=-all", "--"])
        .arg(env!("CARGO_BIN_EXE_ipc-trace"))
        .args(["record", "-o"])
        .arg(dir.join("r.ndjson"))
        .args(["--", "true"])
        .output()
        .expect("setpriv (util-linux) runs");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got:\n{err}");
    assert!(
        lines[0].contains("CAP_BPF") && lines[0].contains("CAP_PERFMON"),
        "{err}"
    );
    assert!(lines[0].contains("sudo"), "{err}");
}

#[test]
fn a_malformed_recording_names_the_line_and_exits_2() {
    let dir = scratch("bad");
    let file = dir.join("bad.ndjson");
    let header = r#"{"schema":"ipc-trace/1","tool_version":"0","kernel":"x","started_unix_ns":0,"started_monotonic_ns":0,"probes":[]}"#;
    std::fs::write(&file, format!("{header}\n{{\"ts_ns\": \"soon\"}}\n")).expect("write");
    let out = ipc_trace()
        .arg("summary")
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("line 2"), "{}", stderr(&out));
    assert_no_panic(&out);
    let out = ipc_trace()
        .args(["summary", "/no/such/recording"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
