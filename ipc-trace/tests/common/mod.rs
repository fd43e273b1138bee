//! Shared by the integration tests: the JSON Schema validator.
#![allow(dead_code)]

pub mod trace_event;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// The ipc-trace crate directory.
pub fn manifest() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The validator of schema/ipc-trace-1.schema.json (itself checked against the meta-schema).
pub fn validator() -> Result<jsonschema::Validator, Box<dyn std::error::Error>> {
    let path = manifest().join("../schema/ipc-trace-1.schema.json");
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    jsonschema::meta::validate(&schema)
        .map_err(|e| format!("{}: not a valid JSON Schema: {e}", path.display()))?;
    Ok(jsonschema::draft202012::new(&schema).map_err(|e| format!("{}: {e}", path.display()))?)
}

/// Every line's schema violations, as "path:line: message".
pub fn violations(
    validator: &jsonschema::Validator,
    path: &Path,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut found = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                found.push(format!("{}:{}: not JSON: {e}", path.display(), n + 1));
                continue;
            }
        };
        let is_header = value.get("schema").is_some();
        if (n == 0) != is_header {
            found.push(format!(
                "{}:{}: the header must be line 1 and only line 1",
                path.display(),
                n + 1
            ));
        }
        for error in validator.iter_errors(&value) {
            found.push(format!(
                "{}:{}: {} at {}",
                path.display(),
                n + 1,
                error,
                error.instance_path()
            ));
        }
    }
    Ok(found)
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

/// True while the kernel still has BPF program `id` loaded.
pub fn bpf_program_loaded(id: u32) -> bool {
    std::process::Command::new("bpftool")
        .args(["prog", "show", "id", &id.to_string()])
        .output()
        .expect("bpftool must be installed (cargo xtask setup)")
        .status
        .success()
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
