//! `cargo xtask ci`: the whole pipeline, stopping at the first failure.

use crate::{cmd, fresh};
use anyhow::Result;
use std::process::Command;
use std::time::{Duration, Instant};

/// One CI step: a name and the command it runs.
struct Step {
    name: &'static str,
    argv: &'static [&'static str],
    /// The step must run as root (its tests need CAP_BPF); not root is a failure.
    needs_root: bool,
}

/// The pipeline, in order. Add a step by adding a line.
const STEPS: &[Step] = &[
    Step {
        name: "setup",
        argv: &["cargo", "xtask", "setup"],
        needs_root: false,
    },
    Step {
        name: "fmt",
        argv: &["cargo", "fmt", "--all", "--", "--check"],
        needs_root: false,
    },
    // The eBPF crate only builds for the BPF target: linted on its own below.
    Step {
        name: "clippy",
        // The root's default members (the eBPF crate is linted on its own
        // below), every feature on so that `demo-check` and the examples
        // are linted too.
        argv: &[
            "cargo",
            "clippy",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ],
        needs_root: false,
    },
    Step {
        name: "clippy-ebpf",
        argv: &[
            "rustup",
            "run",
            "nightly",
            "cargo",
            "clippy",
            "-p",
            "ipc-trace-ebpf",
            "--target",
            "bpfel-unknown-none",
            "-Z",
            "build-std=core",
            "--",
            "-D",
            "warnings",
        ],
        needs_root: false,
    },
    Step {
        name: "build",
        // The root's default members, as a user builds them, plus the VM
        // matrix's checker (`demo-check`).
        argv: &["cargo", "build", "--release", "--features", "demos/schema"],
        needs_root: false,
    },
    Step {
        name: "test",
        argv: &["cargo", "test"],
        needs_root: true,
    },
    Step {
        name: "vm-test",
        argv: &[
            "cargo",
            "xtask",
            "vm-test",
            "--kernel",
            "all",
            "--backend",
            "all",
            "--no-build",
        ],
        needs_root: false,
    },
    Step {
        name: "bench-smoke",
        argv: &[
            "cargo",
            "xtask",
            "bench",
            "--quick",
            "--no-build",
            "--no-cargo-benches",
        ],
        needs_root: true,
    },
    Step {
        name: "fuzz",
        argv: &["cargo", "xtask", "fuzz", "--seconds", "30"],
        needs_root: false,
    },
];

/// How a step ended.
enum Outcome {
    Passed,
    Failed(String),
    NotRun,
}

/// Options of `cargo xtask ci`.
#[derive(clap::Args, Clone, Debug)]
pub struct CiArgs {
    /// Run the steps in this tree with this machine's toolchain as it is,
    /// instead of in a fresh clone where rust-src, bpf-linker and the cache
    /// are hidden (`cargo xtask fresh`). Quicker for a developer; proves
    /// nothing about a new user's machine.
    #[arg(long)]
    pub here: bool,
}

/// Run the pipeline: by default inside `cargo xtask fresh`, so that every
/// CI run proves the README's commands do their own set-up on a new
/// user's machine, whatever this machine already has.
pub fn run(args: &CiArgs) -> Result<bool> {
    if args.here {
        return run_steps();
    }
    println!("ci: every step runs in a fresh clone, rust-src, bpf-linker and the cache hidden");
    fresh::run(&fresh::FreshArgs {
        inner: false,
        keep: false,
        command: ["cargo", "xtask", "ci", "--here"]
            .map(String::from)
            .to_vec(),
    })
}

/// Run every step here; `Ok(true)` when all passed.
fn run_steps() -> Result<bool> {
    let root = cmd::workspace_root();
    let mut results: Vec<(&str, Outcome, Duration)> = Vec::new();
    let mut failed = false;
    for step in STEPS {
        if failed {
            results.push((step.name, Outcome::NotRun, Duration::ZERO));
            continue;
        }
        println!("\n==> ci: {} ({})", step.name, step.argv.join(" "));
        let start = Instant::now();
        let outcome = if step.needs_root && !cmd::is_root() {
            Outcome::Failed(
                "must run as root: its tests load eBPF programs and must not be skipped".into(),
            )
        } else {
            let mut c = if step.argv[0] == "cargo" {
                cmd::cargo()
            } else {
                Command::new(step.argv[0])
            };
            c.args(&step.argv[1..]).current_dir(&root);
            match cmd::run(&mut c) {
                Ok(()) => Outcome::Passed,
                Err(e) => Outcome::Failed(format!("{e:#}")),
            }
        };
        failed = matches!(outcome, Outcome::Failed(_));
        results.push((step.name, outcome, start.elapsed()));
    }
    println!("\n==> ci summary");
    let (mut passed, mut fails) = (0, 0);
    for (name, outcome, took) in &results {
        let (status, detail) = match outcome {
            Outcome::Passed => {
                passed += 1;
                ("PASS", String::new())
            }
            Outcome::Failed(why) => {
                fails += 1;
                ("FAIL", format!("  {why}"))
            }
            Outcome::NotRun => ("not run", String::new()),
        };
        println!(
            "  {name:<12} {status:<8} {:>7.1} s{detail}",
            took.as_secs_f64()
        );
    }
    let not_run = results.len() - passed - fails;
    if not_run > 0 {
        println!("{passed} passed, {fails} failed ({not_run} not run)");
    } else {
        println!("{passed} passed, {fails} failed");
    }
    Ok(fails == 0)
}
