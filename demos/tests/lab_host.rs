//! Live host test (root): the teaching labs run end to end and claim no
//! more than the kernel showed. Where the kernel offers no kernel-path
//! backend (no kprobe PMU, fentry refused), not one step may be "seen in the
//! kernel"; where it does, the functions the demos call are probed and some
//! must be.

mod tracer;

use ipc_trace::lab::catalog;
use ipc_trace::probe::facts::KernelFacts;
use std::process::Command;
use tracer::{Scratch, ipc_trace_bin, require_root, run_lab};

/// The numbers of the closing line `Of N steps: A seen in the kernel, B
/// seen at the syscall boundary, C implied, D not visible.`
fn closing_counts(text: &str) -> [usize; 5] {
    let line = text
        .lines()
        .find(|l| l.starts_with("Of ") && l.contains(" steps: "))
        .unwrap_or_else(|| panic!("no closing line in:\n{text}"));
    let numbers: Vec<usize> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    numbers
        .try_into()
        .unwrap_or_else(|_| panic!("unexpected closing line: {line}"))
}

#[test]
fn labs_count_every_step_and_claim_kernel_sight_only_where_the_kernel_allows_it() {
    require_root();
    let facts = KernelFacts::gather();
    let kernel_path = facts.kprobe_pmu || facts.fentry_allowed == Some(true);
    for lab in ["shm", "sem", "leak", "deadlock"] {
        let text = run_lab(lab, &["--auto"]);
        let [total, in_kernel, boundary, implied, missing] = closing_counts(&text);
        assert_eq!(
            in_kernel + boundary + implied + missing,
            total,
            "lab {lab}: the levels do not add up\n{text}"
        );
        let seen_lines = text.matches("seen in the kernel by").count();
        // Even with --auto the demo stops at every stage boundary (and goes
        // on at once): each stage but the last is shown while it is stopped.
        let boundaries = catalog::find(lab).map_or(0, |l| {
            l.stages.iter().filter(|s| !s.pause_at.is_empty()).count()
        });
        assert!(boundaries > 0, "lab {lab} has no stage boundary");
        assert_eq!(
            text.matches("Stopped now: ").count(),
            boundaries,
            "lab {lab}: not shown at each boundary while its demo was stopped\n{text}"
        );
        if kernel_path {
            assert!(
                in_kernel > 0,
                "lab {lab}: kernel-path probes work here, yet nothing was seen in the kernel\n{text}"
            );
        } else {
            assert_eq!(
                (in_kernel, seen_lines),
                (0, 0),
                "lab {lab}: this kernel has no kernel-path backend, yet steps are claimed seen in the kernel\n{text}"
            );
            assert!(
                !text.contains("observed"),
                "lab {lab} says observed:\n{text}"
            );
        }
        assert!(
            boundary > 0,
            "lab {lab}: no step seen even at the syscall boundary\n{text}"
        );
    }
}

#[test]
fn the_closing_line_parser_reads_the_five_numbers() {
    let text = "x\nOf 21 steps: 3 seen in the kernel, 5 seen at the syscall boundary, 12 implied, 1 not visible.\n";
    assert_eq!(closing_counts(text), [21, 3, 5, 12, 1]);
}

#[test]
fn a_lab_replays_from_a_shared_recording_as_an_unprivileged_user() {
    require_root();
    use std::os::unix::fs::PermissionsExt;
    let scratch = Scratch::new("lab-replay");
    let private = scratch.path("private.ndjson");
    let shared = scratch.path("shared.ndjson");
    for (file, mode) in [(&private, None), (&shared, Some("644"))] {
        let mut c = Command::new(ipc_trace_bin());
        c.args(["record", "--no-selftest", "-o"]).arg(file);
        if let Some(m) = mode {
            c.args(["--mode", m]);
        }
        let out = c
            .arg("--")
            .arg(env!("CARGO_BIN_EXE_demo-run"))
            .args(["--messages", "2", "--path"])
            .arg(scratch.path("key"))
            .output()
            .expect("run ipc-trace record");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mode =
        |p: &std::path::Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
    assert_eq!((mode(&private), mode(&shared)), (0o600, 0o644));
    // The scratch directory must be open to the other user.
    std::fs::set_permissions(&scratch.0, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let as_nobody = |file: &std::path::Path| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
            .arg(ipc_trace_bin())
            .args(["lab", "shm", "--auto", "--replay"])
            .arg(file)
            .output()
            .expect("setpriv (util-linux) runs")
    };
    let out = as_nobody(&shared);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "lab --replay as nobody failed: {}\n{text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let [total, ..] = closing_counts(&text);
    // The shm lab's 15 moments: SHM-1…12, detach, RMID, freed.
    assert_eq!(total, 15, "{text}");
    assert!(text.contains("SHM-1"), "{text}");
    // The control: the private recording is not readable by that user.
    let out = as_nobody(&private);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
