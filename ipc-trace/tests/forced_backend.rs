//! `--backend fentry` and `--backend kprobe` never fall back silently
//! (needs root). The kernel's facts are read first, so the same test holds
//! on any kernel: where the backend is unavailable (this project's host:
//! no kprobe PMU, fentry refused) the command exits 2 before tracing,
//! naming every probe whose function this kernel has; where it is
//! available, every such probe is attached with it.
//! Needs no file of the source tree, only the `ipc-trace` binary at
//! `CARGO_BIN_EXE_ipc-trace`, an absolute path fixed at build time (in a
//! VM, put the binary at that same path).

use std::process::Output;

use ipc_trace::event::Backend;
use ipc_trace::probe::facts::{KernelFacts, kernel_offsets};
use ipc_trace::probe::kernel_path::KERNEL_PROBES;
use ipc_trace_common::probe as ids;
use serde_json::Value;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `record --backend BACKEND [extra] -- true` and returns the output
/// and the recording's probe rows (None when no recording was written).
fn record(backend: &str, extra: &[&str]) -> (Output, Option<Vec<Value>>) {
    let file = std::env::temp_dir().join(format!(
        "ipc-trace-forced-{backend}-{}-{}.ndjson",
        extra.len(),
        std::process::id()
    ));
    let _ = std::fs::remove_file(&file);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipc-trace"))
        .args(["record", "--no-selftest", "--backend", backend, "-o"])
        .arg(&file)
        .args(extra)
        .args(["--", "true"])
        .output()
        .expect("ipc-trace runs");
    let rows = std::fs::read_to_string(&file).ok().and_then(|text| {
        let header: Value = serde_json::from_str(text.lines().next()?).ok()?;
        header["probes"].as_array().cloned()
    });
    let _ = std::fs::remove_file(&file);
    (out, rows)
}

fn check_backend(backend: &str, available: bool, excluded: &[u8]) {
    let facts = KernelFacts::gather();
    let (offsets, _) = kernel_offsets();
    let mut extra = Vec::new();
    for id in excluded {
        extra.extend(["--exclude-probe", ids::name(*id)]);
    }
    // shmem_fault is only attached beneath shm_fault.
    let off = |id: u8| {
        excluded.contains(&id) || (id == ids::SHMEM_FAULT && excluded.contains(&ids::SHM_FAULT))
    };
    let must_attach: Vec<&str> = KERNEL_PROBES
        .iter()
        .filter(|p| facts.function_present(p.id) && !off(p.id))
        .map(|p| ids::name(p.id))
        .collect();
    let lack_offsets = KERNEL_PROBES
        .iter()
        .any(|p| !p.missing_offsets(&offsets).is_empty() && must_attach.contains(&ids::name(p.id)));
    let (out, rows) = record(backend, &extra);
    let err = stderr(&out);
    if !available || lack_offsets {
        assert_eq!(out.status.code(), Some(2), "{backend} {extra:?}: {err}");
        let prefix = format!("--backend {backend}: cannot attach ");
        assert!(err.contains(&prefix), "{err}");
        for p in KERNEL_PROBES {
            let name = ids::name(p.id);
            let named = err.contains(&format!(" {name} ("));
            let lacks = !p.missing_offsets(&offsets).is_empty();
            if must_attach.contains(&name) && (!available || lacks) {
                assert!(named, "{name} not named in: {err}");
            }
            if !must_attach.contains(&name) {
                assert!(!named, "{name} (absent or excluded) named in: {err}");
            }
        }
        assert!(
            rows.is_none(),
            "a recording was written although tracing never started"
        );
        return;
    }
    assert!(out.status.success(), "{backend} {extra:?}: {err}");
    let rows = rows.expect("a recording with a header");
    let want = match backend {
        "fentry" => Backend::Fentry.as_str(),
        _ => Backend::Kprobe.as_str(),
    };
    for p in KERNEL_PROBES {
        let name = ids::name(p.id);
        let row = rows
            .iter()
            .find(|r| r["name"] == name)
            .unwrap_or_else(|| panic!("no row for {name}"));
        if must_attach.contains(&name) {
            assert_eq!(row["attached"], Value::Bool(true), "{row}");
            assert_eq!(row["backend"].as_str(), Some(want), "{row}");
        } else {
            assert_eq!(row["attached"], Value::Bool(false), "{row}");
            let reason = row["reason"].as_str().unwrap_or_default();
            let expected = if !facts.function_present(p.id) {
                "not in this kernel"
            } else if excluded.contains(&p.id) {
                "excluded by --exclude-probe"
            } else {
                "beneath shm_fault"
            };
            assert!(reason.contains(expected), "{row}");
        }
    }
}

fn root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

#[test]
fn forced_kprobe_attaches_everything_present_or_exits_2() {
    assert!(root(), "this test needs root (eBPF)");
    let facts = KernelFacts::gather();
    check_backend("kprobe", facts.kprobe_pmu, &[]);
    check_backend("kprobe", facts.kprobe_pmu, &[ids::SHM_FAULT, ids::NEWSEG]);
}

#[test]
fn forced_fentry_attaches_everything_present_or_exits_2() {
    assert!(root(), "this test needs root (eBPF)");
    let facts = KernelFacts::gather();
    let allowed = facts
        .fentry_allowed
        .unwrap_or_else(|| panic!("fentry trial not run: {}", facts.fentry_detail));
    check_backend("fentry", allowed, &[]);
    check_backend("fentry", allowed, &[ids::SHM_FAULT, ids::NEWSEG]);
}
