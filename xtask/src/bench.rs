//! `cargo xtask bench`: what tracing costs the traced programs, measured as
//! ratios to an untraced run in the same session. The demos' `sem-bench`
//! and `shm-bench` run untraced, under `ipc-trace record -- CMD`, next to a
//! system-wide `ipc-trace record`, and (for reference) under bpftrace and
//! `perf stat`, interleaved round by round so that drift of a shared
//! machine hits every scenario alike. Every traced run's recording must
//! hold exactly the operations done: a run that lost events fails the
//! benchmark. Results go to `target/bench/overhead.json`. Then the crate
//! benchmarks of ipc-trace run, when they exist.

mod background;
mod cargo_benches;
mod profile;
mod report;
mod scenario;
mod stats;
mod verify;
mod workload;
mod workspace;

use crate::{build, cmd};
use anyhow::{Context, Result, bail};
use report::{ScenarioRuns, WorkloadRuns};
use scenario::{Scenario, Tools};
use serde_json::json;
use std::path::PathBuf;
use std::time::Instant;
use workload::Workload;

/// Options of `cargo xtask bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Smoke run for CI (under a minute): fewer operations and rounds, no
    /// crate benchmarks.
    #[arg(long)]
    pub quick: bool,
    /// Rounds per scenario (default 7, quick 3).
    #[arg(long, value_name = "N")]
    pub rounds: Option<usize>,
    /// semop calls per sem-bench run (default 200000, quick 50000).
    #[arg(long, value_name = "N")]
    pub ops: Option<u64>,
    /// Pages per shm-bench segment (default 32, quick 16).
    #[arg(long, value_name = "N")]
    pub pages: Option<u64>,
    /// Segments per shm-bench run (default 500, quick 100).
    #[arg(long, value_name = "N")]
    pub segments: Option<u64>,
    /// Bogo ops per `stress-ng --sem-sysv 1` run (default 1000000, quick
    /// 100000).
    #[arg(long, value_name = "N")]
    pub stress_ops: Option<u64>,
    /// Leave out the stress-ng workload (else a missing stress-ng fails the
    /// benchmark: `cargo xtask setup` installs it).
    #[arg(long)]
    pub no_stress_ng: bool,
    /// `--backend` passed to ipc-trace (default: its own default).
    #[arg(long, value_name = "BACKEND")]
    pub backend: Option<String>,
    /// Use the release binaries as they are instead of building them first.
    #[arg(long)]
    pub no_build: bool,
    /// Do not run ipc-trace's crate benchmarks (`cargo bench`).
    #[arg(long)]
    pub no_cargo_benches: bool,
    /// Only the profile: one traced run per workload with the kernel's BPF
    /// statistics on, per program run count, mean run time and time per
    /// operation (it also runs, after the ratios, without this flag).
    #[arg(long)]
    pub profile: bool,
    /// Where to write the JSON results (default target/bench/overhead.json).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// Resolved sizes of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Sizes {
    rounds: usize,
    ops: u64,
    pages: u64,
    segments: u64,
    stress_ops: u64,
}

/// Pages of the fault-storm segment (256 MiB), full runs only.
const STORM_PAGES: u64 = 65536;
/// Segment life cycles of the create/remove churn, full runs only.
const CHURN_CYCLES: u64 = 3000;

impl Sizes {
    fn from_args(a: &BenchArgs) -> Sizes {
        let (rounds, ops, pages, segments, stress_ops) = if a.quick {
            (3, 50_000, 16, 100, 100_000)
        } else {
            (7, 200_000, 32, 500, 1_000_000)
        };
        Sizes {
            rounds: a.rounds.unwrap_or(rounds),
            ops: a.ops.unwrap_or(ops),
            pages: a.pages.unwrap_or(pages),
            segments: a.segments.unwrap_or(segments),
            stress_ops: a.stress_ops.unwrap_or(stress_ops),
        }
    }
}

/// Runs the benchmark (see the module documentation).
pub fn run(args: BenchArgs) -> Result<()> {
    let sizes = Sizes::from_args(&args);
    if sizes.rounds == 0
        || sizes.ops < 2
        || sizes.pages == 0
        || sizes.segments == 0
        || sizes.stress_ops == 0
    {
        bail!(
            "--rounds, --pages, --segments and --stress-ops must be at least 1 and --ops at least 2"
        );
    }
    if !cmd::is_root() {
        bail!(
            "the benchmark traces with eBPF and needs root (CAP_BPF and CAP_PERFMON): run it with sudo"
        );
    }
    let started = Instant::now();
    if !args.no_build {
        build::cargo_build(true)?;
    }
    let tools = tools(&args)?;
    let workloads = workloads(&sizes, &args, &tools)?;
    let load_start = loadavg();
    let foreign_start = loaded_ipc_trace_programs(&tools);
    let results = if args.profile {
        Vec::new()
    } else {
        measure(&workloads, &tools, sizes.rounds)
    };
    let profile = profile::run(&workloads, &tools);
    let _ = std::fs::remove_dir(&tools.scratch);

    if !args.profile {
        println!("{}", report::table(&results, sizes.rounds));
    }
    let settings = json!({
        "quick": args.quick,
        "rounds": sizes.rounds,
        "ops": sizes.ops,
        "pages": sizes.pages,
        "segments": sizes.segments,
        "backend": args.backend,
        "ipc_trace": tools.ipc_trace,
        "seconds": started.elapsed().as_secs_f64(),
    });
    let host = json!({
        "kernel": std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default().trim(),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "loadavg_start": load_start,
        "loadavg_end": loadavg(),
        "ipc_trace_programs_loaded_before": foreign_start,
    });
    let mut doc = report::to_json(&results, settings, host);
    let mut failures = report::failures(&results);
    match profile {
        Ok(p) => doc["profile"] = p,
        Err(e) => failures.push(format!("profile: {e:#}")),
    }
    let output = args
        .output
        .clone()
        .unwrap_or_else(|| cmd::target_dir().join("bench").join("overhead.json"));
    if let Some(dir) = output.parent() {
        std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())?;
    }
    std::fs::write(&output, serde_json::to_string_pretty(&doc)? + "\n")
        .with_context(|| format!("cannot write {}", output.display()))?;
    println!("results: {}", output.display());

    for problem in report::reference_problems(&results) {
        println!("reference problem (does not fail the benchmark): {problem}");
    }
    if args.quick || args.no_cargo_benches || args.profile {
        let why = if args.quick {
            "--quick"
        } else if args.profile {
            "--profile"
        } else {
            "--no-cargo-benches"
        };
        println!("skip: cargo benches of ipc-trace ({why})");
    } else {
        cargo_benches::run_all()?;
    }
    println!("bench took {:.0} s", started.elapsed().as_secs_f64());
    if !failures.is_empty() {
        bail!("the benchmark failed:\n  {}", failures.join("\n  "));
    }
    Ok(())
}

/// The workloads of a run: the semop loop and the shm cycle always; in
/// full runs also the 256 MiB fault storm and the create/remove churn; and
/// stress-ng's System V semaphores unless `--no-stress-ng` (a missing
/// stress-ng is an error: `cargo xtask setup` installs it).
fn workloads(sizes: &Sizes, args: &BenchArgs, tools: &Tools) -> Result<Vec<Workload>> {
    let mut list = vec![
        Workload::Sem { ops: sizes.ops },
        Workload::Shm {
            pages: sizes.pages,
            rounds: sizes.segments,
        },
    ];
    if args.quick {
        println!("skip: the 256 MiB fault storm and the {CHURN_CYCLES}-cycle churn (--quick)");
    } else {
        list.push(Workload::Shm {
            pages: STORM_PAGES,
            rounds: 1,
        });
        list.push(Workload::Shm {
            pages: 1,
            rounds: CHURN_CYCLES,
        });
    }
    if args.no_stress_ng {
        println!("skip: stress-ng --sem-sysv (--no-stress-ng)");
    } else if tools.stress_ng.is_some() {
        list.push(Workload::StressNg {
            ops: sizes.stress_ops,
        });
    } else {
        bail!(
            "stress-ng is not installed: `cargo xtask setup` installs it \
             (or leave its workload out with --no-stress-ng)"
        );
    }
    Ok(list)
}

/// Finds the binaries and the reference tracers.
fn tools(args: &BenchArgs) -> Result<Tools> {
    let bin_dir = build::profile_dir(true);
    for program in ["ipc-trace", "sem-bench", "shm-bench"] {
        let p = bin_dir.join(program);
        if !p.is_file() {
            bail!(
                "{} is missing: build it with `cargo xtask build` \
                 (or run without --no-build)",
                p.display()
            );
        }
    }
    let scratch = std::env::temp_dir().join(format!("ipc-trace-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).with_context(|| scratch.display().to_string())?;
    let bpftrace = cmd::which("bpftrace");
    let perf = scenario::usable_perf();
    if bpftrace.is_none() {
        println!("skip: reference `bpftrace` (not installed)");
    }
    if perf.is_none() {
        println!(
            "skip: reference `perf stat` (not installed, or cannot count {})",
            scenario::SEMOP_TRACEPOINT
        );
    }
    Ok(Tools {
        ipc_trace: bin_dir.join("ipc-trace"),
        bin_dir,
        scratch,
        backend: args.backend.clone(),
        bpftrace,
        perf,
        stress_ng: cmd::which("stress-ng"),
    })
}

/// Runs every scenario of every workload `rounds` times, interleaved: each
/// round runs each scenario once. A scenario that cannot run is dropped
/// from the remaining rounds with its error kept.
fn measure(workloads: &[Workload], tools: &Tools, rounds: usize) -> Vec<WorkloadRuns> {
    let mut results: Vec<WorkloadRuns> = workloads
        .iter()
        .map(|w| WorkloadRuns {
            workload: *w,
            scenarios: Scenario::ALL
                .iter()
                .filter(|s| s.applies_to(w) && tools.has(**s))
                .map(|s| ScenarioRuns::new(*s))
                .collect(),
        })
        .collect();
    for round in 1..=rounds {
        for w in &mut results {
            let workload = w.workload;
            for s in w.scenarios.iter_mut().filter(|s| s.error.is_none()) {
                let tag = format!("{}-{}-{round}", workload.tag(), s.scenario.key());
                match scenario::run_once(s.scenario, &workload, tools, &tag) {
                    Ok(sample) => {
                        let values: Vec<String> = workload
                            .metrics()
                            .iter()
                            .zip(&sample.values)
                            .map(|(m, v)| format!("{v:.1} {}", m.label))
                            .collect();
                        let check = if sample.check.failed() {
                            "LOST EVENTS: "
                        } else {
                            ""
                        };
                        println!(
                            "round {round}/{rounds} {:<20} {:<32} {:<34} {check}{}",
                            workload.tag(),
                            s.scenario.label(),
                            values.join(", "),
                            sample.check.text()
                        );
                        s.samples.push(sample);
                    }
                    Err(e) => {
                        println!(
                            "round {round}/{rounds} {} {}: ERROR {e:#}",
                            workload.tag(),
                            s.scenario.label()
                        );
                        s.error = Some(format!("{e:#}"));
                    }
                }
            }
        }
    }
    results
}

/// How many ipc-trace BPF programs are loaded (by another ipc-trace) before
/// the benchmark starts. Any is a warning: their syscall tracepoints slow
/// down every process, the untraced baseline included, and their programs
/// filter out the samples `perf stat` would count on the same tracepoints.
fn loaded_ipc_trace_programs(tools: &Tools) -> Option<u64> {
    let out = std::process::Command::new(&tools.ipc_trace)
        .args(["doctor", "--loaded-programs"])
        .output()
        .ok()?;
    let n: u64 = String::from_utf8_lossy(&out.stdout).trim().parse().ok()?;
    if n > 0 {
        println!(
            "WARNING: {n} ipc-trace BPF programs are already loaded by another process: \
             the untraced baseline pays for their tracepoints and `perf stat` counts on \
             the same tracepoints are suppressed; stop that tracer for clean figures"
        );
    }
    Some(n)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}
