//! Bad input at the command line: each case gives a clear message and a
//! non-zero exit status, never a panic, and leaves no BPF program loaded.
//! Commands that must fail before loading anything run under strace: not
//! one `BPF_PROG_LOAD` may happen.

use std::process::{Command, Output};

mod common;
use common::output_and_prog_loads;

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
    let (out, loaded) = output_and_prog_loads(ipc_trace().args([
        "record",
        "-o",
        "/proc/no-such-dir/rec.ndjson",
        "--",
        "true",
    ]));
    assert!(
        !loaded,
        "a BPF program was loaded before the output was checked"
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("/proc/no-such-dir"),
        "{}",
        stderr(&out)
    );
    assert_no_panic(&out);
}

#[test]
fn a_missing_command_is_named_and_nothing_is_attached() {
    let dir = scratch("missing");
    let (out, loaded) = output_and_prog_loads(
        ipc_trace()
            .args(["record", "-o"])
            .arg(dir.join("r.ndjson"))
            .args(["--", "no-such-command-for-ipc-trace"]),
    );
    assert!(
        !loaded,
        "a BPF program was loaded for a command that does not exist"
    );
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

/// The control for the strace checks above: a run that does trace is seen
/// loading programs.
#[test]
fn the_load_detector_sees_a_real_load() {
    let dir = scratch("control");
    let (out, loaded) = output_and_prog_loads(
        ipc_trace()
            .args(["record", "--no-selftest", "-o"])
            .arg(dir.join("r.ndjson"))
            .args(["--", "true"]),
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(loaded, "strace saw no BPF_PROG_LOAD in a real recording");
}

/// `summary --json FILE | head`: the reader is gone before the first
/// write. The report ends quietly (killed by SIGPIPE, as `cat` would be),
/// never with a panic or an error message.
#[test]
fn a_report_into_a_closed_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    let recording = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/producer-consumer.ndjson"
    );
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    let out = ipc_trace()
        .args(["summary", "--json", recording])
        .stdout(writer)
        .output()
        .expect("runs");
    assert_eq!(out.status.signal(), Some(libc::SIGPIPE), "{}", stderr(&out));
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
}

#[test]
fn a_lab_refuses_bad_input_before_anything_is_attached() {
    let dir = scratch("lab");
    let bad = dir.join("bad.ndjson");
    std::fs::write(&bad, "this is not a recording\n").expect("write");
    let missing = dir.join("no-such-answers.txt");
    let cases: [(Vec<String>, &str); 3] = [
        (vec!["lab".into(), "nope".into()], "no lab `nope`"),
        (
            vec![
                "lab".into(),
                "shm".into(),
                "--answers".into(),
                missing.display().to_string(),
            ],
            "cannot read answers",
        ),
        (
            vec![
                "lab".into(),
                "shm".into(),
                "--replay".into(),
                bad.display().to_string(),
            ],
            "line 1",
        ),
    ];
    for (args, says) in cases {
        let (out, loaded) = output_and_prog_loads(ipc_trace().args(&args));
        assert!(!loaded, "{args:?}: a BPF program was loaded");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert_no_panic(&out);
    }
}
