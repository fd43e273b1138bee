//! Kernels without BTF, kprobes or fentry (needs root): `--btf PATH|none`
//! and the start-up banner. The kernel's facts are read first, so every
//! test holds on any kernel: the banner must name what this kernel lacks
//! (here: no kprobe PMU, fentry refused) and never claim what it has.
//! Needs no file of the source tree and no external command, only the
//! `ipc-trace` binary at `CARGO_BIN_EXE_ipc-trace` (run in the VM matrix's
//! hosttests cell).

use ipc_trace::probe::facts::KernelFacts;
use ipc_trace::probe::kernel_path::KERNEL_PROBES;
use ipc_trace_common::probe as ids;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A fresh directory for one test's files.
fn scratch(name: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("ipc-trace-unusual-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// `record --no-selftest --duration 0.2 -o DIR/r.ndjson ARGS`: the output
/// and the recording's header (None when none was written).
fn record(dir: &Path, args: &[&str]) -> (Output, Option<Value>) {
    let file = dir.join("r.ndjson");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ipc-trace"))
        .args(["record", "--no-selftest", "--duration", "0.2", "-o"])
        .arg(&file)
        .args(args)
        .output()
        .expect("ipc-trace runs");
    let header = std::fs::read_to_string(&file)
        .ok()
        .and_then(|text| serde_json::from_str(text.lines().next()?).ok());
    (out, header)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn limits(header: &Value) -> Vec<String> {
    header["limits"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|l| l.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn attached(header: &Value, id: u8) -> bool {
    header["probes"][id as usize]["attached"] == Value::Bool(true)
}

/// Exit 2, exactly one line on stderr containing `want`, and nothing left
/// in `dir` (neither the recording nor a temporary file).
fn refused(dir: &Path, args: &[&str], want: &str) -> TestResult {
    let (out, header) = record(dir, args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: not one line: {err}");
    assert!(
        err.starts_with("ipc-trace: ") && err.contains(want),
        "{err}"
    );
    assert!(header.is_none());
    assert_eq!(std::fs::read_dir(dir)?.count(), 0, "files left in {dir:?}");
    Ok(())
}

#[test]
fn a_btf_file_that_cannot_be_used_is_exit_2_and_one_line() -> TestResult {
    let dir = scratch("bad-btf")?;
    refused(
        &dir,
        &["--btf", "/nonexistent/vmlinux"],
        "--btf /nonexistent/vmlinux: cannot read it: No such file or directory",
    )?;
    let garbage =
        std::env::temp_dir().join(format!("ipc-trace-garbage-btf-{}", std::process::id()));
    std::fs::write(&garbage, b"\x7fELF this is not BTF")?;
    let g = garbage.to_string_lossy().into_owned();
    let result = refused(
        &dir,
        &["--btf", &g],
        &format!("--btf {g}: not usable BTF: not BTF data"),
    );
    std::fs::remove_file(&garbage)?;
    result?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// A valid BTF file with no types: every struct offset is missing.
fn empty_btf() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend(0xeb9fu16.to_le_bytes());
    b.extend([1, 0]); // version 1, flags 0
    for v in [24u32, 0, 0, 0, 1] {
        b.extend(v.to_le_bytes()); // hdr_len, type_off, type_len, str_off, str_len
    }
    b.push(0);
    b
}

/// The offsets come from the file given: an empty BTF file leaves every
/// probe that reads kernel structs unattached for lack of offsets, on any
/// kernel, and the header names the file.
#[test]
fn offsets_come_from_the_btf_file_given() -> TestResult {
    let dir = scratch("empty-btf")?;
    let btf = std::env::temp_dir().join(format!("ipc-trace-empty-btf-{}", std::process::id()));
    std::fs::write(&btf, empty_btf())?;
    let b = btf.to_string_lossy().into_owned();
    let (out, header) = record(&dir, &["--btf", &b]);
    std::fs::remove_file(&btf)?;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let header = header.ok_or("no recording")?;
    assert_eq!(header["filters"]["btf"], Value::from(b.as_str()));
    for p in KERNEL_PROBES.iter().filter(|p| !p.needs.is_empty()) {
        let row = &header["probes"][p.id as usize];
        assert_eq!(row["attached"], Value::Bool(false), "{row}");
        let reason = row["reason"].as_str().unwrap_or("");
        let expected = if KernelFacts::gather().function_present(p.id) {
            "kernel BTF lacks"
        } else {
            "not in this kernel"
        };
        assert!(reason.contains(expected), "{}: {reason}", ids::name(p.id));
    }
    assert!(limits(&header)[0].contains("no struct offsets"), "{header}");
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

#[test]
fn btf_none_acts_as_a_kernel_without_btf() -> TestResult {
    let dir = scratch("btf-none")?;
    let (out, header) = record(&dir, &["--btf", "none"]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let header = header.ok_or("no recording")?;
    assert_eq!(header["filters"]["btf"], "none");
    let rows = header["probes"].as_array().ok_or("no probe table")?;
    assert!(
        rows.iter().all(|r| r["backend"] != "fentry"),
        "fentry without BTF: {rows:?}"
    );
    for p in KERNEL_PROBES.iter().filter(|p| !p.needs.is_empty()) {
        assert!(
            !attached(&header, p.id),
            "{} attached without offsets",
            ids::name(p.id)
        );
    }
    let banner = limits(&header);
    assert!(banner[0].contains("no BTF (--btf none)"), "{banner:?}");
    assert!(err.contains(&format!("ipc-trace: {}", banner[0])), "{err}");
    // Forcing fentry without BTF asks for what cannot be had.
    std::fs::remove_dir_all(&dir)?;
    let dir = scratch("btf-none-fentry")?;
    if KERNEL_PROBES
        .iter()
        .any(|p| KernelFacts::gather().function_present(p.id))
    {
        refused(
            &dir,
            &["--btf", "none", "--backend", "fentry"],
            "--backend fentry: cannot attach",
        )?;
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

/// What is wrong with `banner` (the header's `limits`) for a kernel with
/// these facts and this probe table; empty when it tells the truth.
fn banner_problems(facts: &KernelFacts, header: &Value, banner: &[String]) -> Vec<String> {
    let mut problems = Vec::new();
    let missing = banner.first().map(String::as_str).unwrap_or("");
    let cost = banner.get(1).map(String::as_str).unwrap_or("");
    let mut claim = |says: bool, must: bool, what: &str| {
        if says != must {
            problems.push(format!(
                "{} `{what}` (facts: kprobe_pmu {}, fentry {:?}, BTF {})",
                if must { "does not say" } else { "wrongly says" },
                facts.kprobe_pmu,
                facts.fentry_allowed,
                facts.btf_present
            ));
        }
    };
    let present: Vec<u8> = KERNEL_PROBES
        .iter()
        .map(|p| p.id)
        .filter(|&id| facts.function_present(id))
        .collect();
    let all_attached = present.iter().all(|&id| attached(header, id));
    // Nothing attached can only be for want of a backend.
    let none_attached = !present.iter().any(|&id| attached(header, id));
    claim(!banner.is_empty(), !all_attached, "a banner");
    claim(
        missing.contains("no kprobes on this kernel"),
        !facts.kprobe_pmu && none_attached && !present.is_empty(),
        "no kprobes on this kernel",
    );
    if facts.kprobe_pmu {
        claim(missing.contains("no kprobes"), false, "no kprobes");
    }
    if facts.fentry_allowed == Some(true) {
        claim(missing.contains("fentry refused"), false, "fentry refused");
    }
    if facts.fentry_allowed == Some(false) && facts.btf_present && none_attached {
        claim(missing.contains("fentry refused"), true, "fentry refused");
    }
    claim(
        missing.contains("no BTF"),
        !facts.btf_present && !all_attached,
        "no BTF",
    );
    for (id, what) in [
        (ids::NEWSEG, "segment creates"),
        (ids::SHM_FAULT, "page faults"),
        (ids::FREEARY, "semaphore set destroys"),
    ] {
        claim(cost.contains(what), !attached(header, id), what);
    }
    if none_attached && !present.is_empty() {
        claim(
            cost.contains("the steps inside the kernel are not shown"),
            true,
            "steps not shown",
        );
    }
    problems
}

/// The banner on stderr and in the header says what this kernel lacks and
/// what it costs, and nothing it has. The same check fails on facts of
/// another kind of kernel and on a banner that claims the wrong thing.
#[test]
fn the_banner_matches_the_kernels_facts() -> TestResult {
    let facts = KernelFacts::gather();
    let dir = scratch("banner")?;
    let (out, header) = record(&dir, &[]);
    std::fs::remove_dir_all(&dir)?;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let header = header.ok_or("no recording")?;
    let banner = limits(&header);
    eprintln!("{banner:#?}");
    let problems = banner_problems(&facts, &header, &banner);
    assert!(problems.is_empty(), "{problems:#?}\n{banner:#?}");
    for line in &banner {
        assert!(
            err.contains(&format!("ipc-trace: {line}\n")),
            "not on stderr: {line}\n{err}"
        );
    }
    // Negative controls: the check catches a lie either way. Where the
    // banner says something, it is wrong for a kernel with the opposite
    // facts; where it is empty, it is wrong for a table with nothing attached.
    if banner.is_empty() {
        let mut unattached = header.clone();
        for row in unattached["probes"].as_array_mut().into_iter().flatten() {
            row["attached"] = Value::Bool(false);
        }
        assert!(
            !banner_problems(&facts, &unattached, &banner).is_empty(),
            "no banner passes for a table with nothing attached"
        );
    } else {
        let mut other = facts.clone();
        other.kprobe_pmu = !other.kprobe_pmu;
        other.btf_present = !other.btf_present;
        assert!(
            !banner_problems(&other, &header, &banner).is_empty(),
            "flipped facts pass"
        );
    }
    let wrong: Vec<String> = if banner.is_empty() {
        vec![
            "limited: no kprobes on this kernel (no kprobe PMU)".into(),
            "so page faults are inferred".into(),
        ]
    } else {
        Vec::new()
    };
    assert!(
        !banner_problems(&facts, &header, &wrong).is_empty(),
        "a wrong banner passes"
    );
    Ok(())
}
