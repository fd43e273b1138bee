//! Shared by the integration tests: the JSON Schema validator.
#![allow(dead_code)]

pub mod exits;
pub mod trace_event;

use std::path::PathBuf;

/// The ipc-trace crate directory.
pub fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[path = "../../../demos/src/check/schema.rs"]
mod schema_check;
#[allow(unused_imports)] // not every including test validates recordings
pub use schema_check::violations;

/// The validator of schema/ipc-trace-1.schema.json (itself checked against the meta-schema).
pub fn validator() -> Result<jsonschema::Validator, Box<dyn std::error::Error>> {
    schema_check::validator_at(&manifest().join("../schema/ipc-trace-1.schema.json"))
}

/// BPF program ids process `pid` holds open (from its fdinfo).
pub fn bpf_programs_of(pid: u32) -> Vec<u32> {
    let mut ids = Vec::new();
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fdinfo")) else {
        return ids;
    };
    for entry in entries.flatten() {
        let info = std::fs::read_to_string(entry.path()).unwrap_or_default();
        for line in info.lines() {
            if let Some(Ok(id)) = line.strip_prefix("prog_id:").map(|i| i.trim().parse()) {
                ids.push(id);
            }
        }
    }
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// True while the kernel still has BPF program `id` loaded (read with
/// `BPF_PROG_GET_NEXT_ID`, no bpftool).
pub fn bpf_program_loaded(id: u32) -> bool {
    ipc_trace::probe::loaded::all_loaded_program_ids()
        .expect("list the kernel's BPF programs (needs root)")
        .contains(&id)
}

/// Runs `cmd` under `strace -f -e trace=bpf` and returns its output and
/// whether it loaded any BPF program (`BPF_PROG_LOAD`).
pub fn output_and_prog_loads(cmd: &mut std::process::Command) -> (std::process::Output, bool) {
    let log = std::env::temp_dir().join(format!(
        "ipc-trace-strace-{}-{:?}.log",
        std::process::id(),
        std::thread::current().id()
    ));
    let mut traced = std::process::Command::new("strace");
    traced
        .args(["-f", "-qq", "-e", "trace=bpf", "-o"])
        .arg(&log)
        .arg(cmd.get_program());
    traced.args(cmd.get_args());
    let out = traced
        .output()
        .expect("strace must be installed (cargo xtask setup)");
    let trace = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    (out, trace.contains("BPF_PROG_LOAD"))
}
