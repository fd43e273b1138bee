//! `--exclude-probe` end to end (needs root): an excluded kernel-path
//! probe is not attached and its row in the recording header says why; an
//! unknown name is a usage error listing the valid names.
//! Needs no file of the source tree, only the `ipc-trace` binary at
//! `CARGO_BIN_EXE_ipc-trace`, an absolute path fixed at build time (in a
//! VM, put the binary at that same path).

use std::process::{Command, Output};

use ipc_trace::probe::attach::EXCLUDED_REASON;
use ipc_trace::probe::kernel_path::kernel_probe_names;
use serde_json::Value;

fn ipc_trace() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ipc-trace"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("ipc-trace-probes-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// The probe rows of a recording's header, by name.
fn header_rows(file: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(file).expect("recording written");
    let first = text.lines().next().expect("a header line");
    let header: Value = serde_json::from_str(first).expect("header is JSON");
    header["probes"].as_array().cloned().expect("probes array")
}

#[test]
fn unknown_probe_name_is_a_usage_error_listing_the_names() {
    for args in [
        &[
            "record",
            "-o",
            "/tmp/never.ndjson",
            "--exclude-probe",
            "shm_faults",
        ][..],
        &["doctor", "--attach", "--exclude-probe", "sys_shmget"],
        &["lab", "shm", "--exclude-probe", "nope"],
        &["--exclude-probe", "nope"],
    ] {
        let out = ipc_trace().args(args).output().expect("runs");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        let err = stderr(&out);
        for name in kernel_probe_names() {
            assert!(err.contains(name), "{args:?}: {name} not listed in {err}");
        }
    }
}

#[test]
fn excluded_probes_are_not_attached_and_say_why() {
    let dir = scratch("exclude");
    let file = dir.join("r.ndjson");
    let out = ipc_trace()
        .args(["record", "--no-selftest", "-o"])
        .arg(&file)
        .args([
            "--exclude-probe",
            "shm_fault",
            "--exclude-probe",
            "newseg",
            "--",
            "true",
        ])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let rows = header_rows(&file);
    assert_eq!(rows.len(), ipc_trace_common::probe::COUNT);
    for row in &rows {
        let name = row["name"].as_str().unwrap_or_default();
        let reason = row["reason"].as_str().unwrap_or_default();
        if name == "shm_fault" || name == "newseg" {
            assert_eq!(row["attached"], Value::Bool(false), "{row}");
            assert!(reason.starts_with(EXCLUDED_REASON), "{row}");
        } else {
            // Nothing else is reported as excluded (the negative control).
            assert!(!reason.contains("--exclude-probe"), "{row}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `doctor --json` prints the kernel facts tests and the VM matrix read,
/// and they agree with the library's `KernelFacts::gather`.
#[test]
fn doctor_json_prints_the_kernel_facts() {
    let out = ipc_trace()
        .args(["doctor", "--json"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let kernel = &doc["kernel"];
    let facts = ipc_trace::probe::facts::KernelFacts::gather();
    assert_eq!(kernel["kprobe_pmu"], Value::Bool(facts.kprobe_pmu));
    assert_eq!(kernel["btf_present"], Value::Bool(facts.btf_present));
    // Root: the fentry trial ran and gave a verdict.
    assert!(kernel["fentry_allowed"].is_boolean(), "{kernel}");
    assert_eq!(kernel["fentry_allowed"].as_bool(), facts.fentry_allowed);
    assert!(kernel["fentry_detail"].is_string());
    assert!(kernel["btf_missing_offsets"].is_array());
    let functions = kernel["functions"].as_array().expect("functions");
    assert_eq!(functions.len(), kernel_probe_names().count());
    for (row, name) in functions.iter().zip(kernel_probe_names()) {
        assert_eq!(row["probe"].as_str(), Some(name), "{row}");
        assert!(
            row["function"].is_string() && row["in_kallsyms"].is_boolean(),
            "{row}"
        );
    }
    assert!(doc["system"]["kernel_release"].is_string());
    assert!(doc["probes"].is_null());
}
