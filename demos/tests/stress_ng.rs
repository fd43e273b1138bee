//! stress-ng's System V stressors traced by `ipc-trace record`: its semops
//! are recorded (at least one P and one V per bogo op), every segment it
//! creates is destroyed, faults fall only inside its segments, nothing is
//! dropped. Needs root, a built ipc-trace binary and stress-ng (installed
//! with apt-get when missing).
//!
//! Exact counts from another tracer cannot be had: `perf stat` on the same
//! syscall tracepoints counts nothing while ipc-trace's BPF programs are
//! attached to them (a BPF program returning 0 suppresses the perf sample),
//! and stress-ng kills its workers mid-call, so two observers of one run may
//! differ by the call in flight.

mod tracer;

use ipc_trace::event::{Event, EventKind};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tracer::{Recorded, Scratch};

/// stress-ng, installed with apt-get when missing; panics with apt's output
/// when it cannot be installed.
fn stress_ng() -> PathBuf {
    if let Some(p) = tracer::find_program("stress-ng") {
        return p;
    }
    let out = Command::new("apt-get")
        .args(["install", "-y", "stress-ng"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .output();
    tracer::find_program("stress-ng").unwrap_or_else(|| {
        panic!(
            "stress-ng is not installed and `apt-get install -y stress-ng` did not install it: {}",
            match out {
                Ok(o) => format!("{}\n{}", o.status, String::from_utf8_lossy(&o.stderr)),
                Err(e) => e.to_string(),
            }
        )
    })
}

/// `bogo-ops: N` of the one stressor in stress-ng's `--yaml` output.
fn bogo_ops(yaml: &Path) -> u64 {
    let text = std::fs::read_to_string(yaml)
        .unwrap_or_else(|e| panic!("stress-ng wrote no metrics to {}: {e}", yaml.display()));
    text.lines()
        .find_map(|l| l.trim().strip_prefix("bogo-ops:")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no `bogo-ops:` in {}:\n{text}", yaml.display()))
}

fn stressor_events(rec: &Recorded, kind: EventKind) -> Vec<&Event> {
    rec.events()
        .filter(|e| e.kind == kind && e.comm.starts_with("stress-ng"))
        .collect()
}

#[test]
fn every_sysv_semop_of_stress_ng_is_recorded() {
    tracer::require_root();
    let stress_ng = stress_ng();
    let scratch = Scratch::new("stress-ng-sem");
    let yaml = scratch.path("metrics.yaml");
    let argv = [
        stress_ng.to_str().expect("utf-8 path"),
        "--sem-sysv",
        "1",
        "--sem-sysv-ops",
        "2000",
        "--metrics-brief",
        "--yaml",
        yaml.to_str().expect("utf-8 path"),
    ];
    let rec = tracer::record(&scratch, "sem", &argv);
    rec.assert_complete();
    let bogo = bogo_ops(&yaml);

    let ops = stressor_events(&rec, EventKind::SemOp);
    let ok = ops.iter().filter(|e| !e.failed()).count() as u64;
    // Each bogo op is one P and one V (stress-sem-sysv.c), both succeeding;
    // the stressor's invalid-argument calls (EINVAL, E2BIG, EFBIG) and the
    // workers' overrun past the bogo-op limit come on top.
    assert!(
        ok >= 2 * bogo,
        "{ok} successful sem_op events for {bogo} bogo ops (expected >= {})",
        2 * bogo
    );
    assert!(
        bogo >= 2000,
        "stress-ng reported {bogo} bogo ops, asked for 2000"
    );

    // One set, created and destroyed; every successful semop is on it.
    let creates = stressor_events(&rec, EventKind::SemCreate);
    let destroys = stressor_events(&rec, EventKind::SemDestroy);
    assert_eq!(creates.len(), 1, "sem_create events: {creates:#?}");
    let set = creates[0].id;
    assert_eq!(
        creates[0].nsems,
        Some(3),
        "stress-ng's set has 3 semaphores: {:?}",
        creates[0]
    );
    assert_eq!(
        destroys.iter().map(|e| e.id).collect::<Vec<_>>(),
        [set],
        "sem_destroy events"
    );
    let elsewhere: Vec<_> = ops.iter().filter(|e| !e.failed() && e.id != set).collect();
    assert!(
        elsewhere.is_empty(),
        "successful semops on another set: {elsewhere:#?}"
    );
    assert!(
        ops.iter()
            .all(|e| e.ops.as_ref().is_some_and(|o| !o.is_empty()) || e.failed()),
        "a successful sem_op event without its sembufs"
    );
}

#[test]
fn stress_ng_segments_are_created_and_destroyed_in_pairs_with_faults_inside() {
    tracer::require_root();
    let stress_ng = stress_ng();
    let scratch = Scratch::new("stress-ng-shm");
    let yaml = scratch.path("metrics.yaml");
    let argv = [
        stress_ng.to_str().expect("utf-8 path"),
        "--shm-sysv",
        "1",
        "--shm-sysv-ops",
        "20",
        "--metrics-brief",
        "--yaml",
        yaml.to_str().expect("utf-8 path"),
    ];
    let rec = tracer::record(&scratch, "shm", &argv);
    rec.assert_complete();
    let bogo = bogo_ops(&yaml);
    assert!(
        bogo >= 20,
        "stress-ng reported {bogo} bogo ops, asked for 20"
    );

    // id -> (size, created at, destroyed at)
    let mut segments: BTreeMap<i32, (u64, u64, Option<u64>)> = BTreeMap::new();
    for e in stressor_events(&rec, EventKind::ShmCreate) {
        let id =
            e.id.unwrap_or_else(|| panic!("shm_create without id: {e:?}"));
        let size = e
            .size
            .unwrap_or_else(|| panic!("shm_create without size: {e:?}"));
        let before = segments.insert(id, (size, e.ts_ns, None));
        assert!(before.is_none(), "segment {id} created twice");
    }
    assert!(
        segments.len() as u64 >= bogo,
        "{} segments created for {bogo} bogo ops (each op creates at least one)",
        segments.len()
    );
    for e in stressor_events(&rec, EventKind::ShmDestroy) {
        let id =
            e.id.unwrap_or_else(|| panic!("shm_destroy without id: {e:?}"));
        let seg = segments
            .get_mut(&id)
            .unwrap_or_else(|| panic!("segment {id} destroyed but never created in this run"));
        assert!(seg.2.is_none(), "segment {id} destroyed twice");
        assert!(
            e.ts_ns >= seg.1,
            "segment {id} destroyed before it was created"
        );
        seg.2 = Some(e.ts_ns);
    }
    let leaked: Vec<_> = segments
        .iter()
        .filter(|(_, s)| s.2.is_none())
        .map(|(id, _)| id)
        .collect();
    assert!(
        leaked.is_empty(),
        "segments created but never destroyed: {leaked:?}"
    );

    let page = demos::sysv::page_size() as u64;
    let faults = stressor_events(&rec, EventKind::ShmFault);
    for f in &faults {
        let id = f.id.unwrap_or(-1);
        let (size, created, destroyed) = segments
            .get(&id)
            .unwrap_or_else(|| panic!("fault outside every stress-ng segment: {f:?}"));
        let index = f.page.unwrap_or(u64::MAX);
        assert!(
            index < size.div_ceil(page),
            "fault beyond segment {id} ({size} bytes): {f:?}"
        );
        let destroyed = destroyed.unwrap_or(u64::MAX);
        assert!(
            f.ts_ns >= *created && f.ts_ns <= destroyed,
            "fault on segment {id} outside its lifetime: {f:?}"
        );
    }
    // stress-ng populates every segment with madvise(MADV_POPULATE_READ)
    // right after shmat: the pages come in through shm_fault inside the
    // kernel, with no user page fault. Only the kernel-path probe sees them;
    // the page_fault_user tracepoint cannot.
    if rec.recording.attached("shm_fault") {
        assert!(
            !faults.is_empty(),
            "shm_fault is attached and stress-ng populates its segments, yet no fault was recorded"
        );
    }
}
