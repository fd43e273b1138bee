//! The ways a benchmark program is run: untraced, under ipc-trace (filtered
//! to the command, or system-wide), and under reference tracers (bpftrace
//! counting a tracepoint, `perf stat` counting it).

use super::background::Background;
use super::verify::{Check, check_recording};
use super::workload::Workload;
use anyhow::{Context, Result, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// How long a background tracer may take to attach its probes.
const ATTACH_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a background tracer may take to stop after SIGINT.
const STOP_TIMEOUT: Duration = Duration::from_secs(120);
/// Upper bound on a system-wide recording (it is stopped by SIGINT long before).
const SYSTEM_WIDE_CAP_SECS: u32 = 900;

/// The syscall tracepoint the reference tracers count (glibc's `semop()`
/// issues `semtimedop`).
pub const SEMOP_TRACEPOINT: &str = "syscalls:sys_enter_semtimedop";

/// One way of running a workload.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scenario {
    /// The program alone.
    Untraced,
    /// `ipc-trace record --no-selftest -- PROGRAM`.
    TracedCommand,
    /// `ipc-trace record --duration` in the background, the program untraced by filter.
    TracedSystem,
    /// `bpftrace` counting the semtimedop tracepoint per pid in a map, in the background.
    BpftraceCount,
    /// `perf stat -e syscalls:sys_enter_semtimedop -- PROGRAM`.
    PerfStat,
}

impl Scenario {
    /// Every scenario, in run order.
    pub const ALL: [Scenario; 5] = [
        Scenario::Untraced,
        Scenario::TracedCommand,
        Scenario::TracedSystem,
        Scenario::BpftraceCount,
        Scenario::PerfStat,
    ];

    /// The short name used in the JSON output.
    pub fn key(self) -> &'static str {
        match self {
            Scenario::Untraced => "untraced",
            Scenario::TracedCommand => "ipc_trace_command",
            Scenario::TracedSystem => "ipc_trace_system_wide",
            Scenario::BpftraceCount => "bpftrace_count",
            Scenario::PerfStat => "perf_stat",
        }
    }

    /// The table label.
    pub fn label(self) -> &'static str {
        match self {
            Scenario::Untraced => "untraced",
            Scenario::TracedCommand => "ipc-trace record -- CMD",
            Scenario::TracedSystem => "ipc-trace record (system-wide)",
            Scenario::BpftraceCount => "ref: bpftrace @[pid] = count()",
            Scenario::PerfStat => "ref: perf stat -e tracepoint",
        }
    }

    /// True for the comparison tracers (not ipc-trace, not the baseline).
    pub fn is_reference(self) -> bool {
        matches!(self, Scenario::BpftraceCount | Scenario::PerfStat)
    }

    /// True when the scenario measures `workload` (the references count the
    /// semop tracepoint only).
    pub fn applies_to(self, workload: &Workload) -> bool {
        !self.is_reference() || matches!(workload, Workload::Sem { .. })
    }
}

/// Where the programs are and how ipc-trace is run.
#[derive(Clone, Debug)]
pub struct Tools {
    /// The `ipc-trace` binary.
    pub ipc_trace: PathBuf,
    /// Directory of the demos binaries (`sem-bench`, `shm-bench`).
    pub bin_dir: PathBuf,
    /// Scratch directory for recordings and tracer output.
    pub scratch: PathBuf,
    /// `--backend` for ipc-trace, when not its default.
    pub backend: Option<String>,
    /// `bpftrace`, when installed.
    pub bpftrace: Option<PathBuf>,
    /// `perf`, when installed and able to count the tracepoint.
    pub perf: Option<PathBuf>,
    /// `stress-ng`, when installed.
    pub stress_ng: Option<PathBuf>,
}

impl Tools {
    /// True when `scenario` can run here.
    pub fn has(&self, scenario: Scenario) -> bool {
        match scenario {
            Scenario::BpftraceCount => self.bpftrace.is_some(),
            Scenario::PerfStat => self.perf.is_some(),
            _ => true,
        }
    }

    /// The command line of one run of `workload` (a real program is run
    /// from `PATH`, where [`Tools::stress_ng`] found it).
    pub fn program(&self, workload: &Workload) -> Vec<String> {
        let binary = match (&self.stress_ng, workload.is_ours()) {
            (Some(path), false) => path.clone(),
            _ => self.bin_dir.join(workload.program()),
        };
        let mut argv = vec![binary.display().to_string()];
        argv.extend(workload.args());
        argv
    }

    pub fn record_argv(&self, output: &Path) -> Vec<String> {
        let mut argv = vec![
            self.ipc_trace.display().to_string(),
            "record".into(),
            "-o".into(),
            output.display().to_string(),
            "--no-selftest".into(),
        ];
        if let Some(b) = &self.backend {
            argv.extend(["--backend".into(), b.clone()]);
        }
        argv
    }
}

/// One run's outcome.
#[derive(Clone, Debug)]
pub struct Sample {
    /// The program's JSON result.
    pub report: Value,
    /// The metric values, in the workload's metric order.
    pub values: Vec<f64>,
    /// Whether the tracer saw everything.
    pub check: Check,
}

/// Runs `workload` once under `scenario`; `tag` names the scratch files.
/// An error means the run could not be done at all.
pub fn run_once(
    scenario: Scenario,
    workload: &Workload,
    tools: &Tools,
    tag: &str,
) -> Result<Sample> {
    let program = tools.program(workload);
    let (report, check) = match scenario {
        Scenario::Untraced => (workload.parse_output(&stdout_of(&program)?)?, Check::None),
        Scenario::TracedCommand => {
            let recording = tools.scratch.join(format!("{tag}.ndjson"));
            let mut argv = tools.record_argv(&recording);
            argv.push("--".into());
            argv.extend(program);
            let report = workload.parse_output(&stdout_of(&argv)?)?;
            let check = check_recording(
                &recording,
                workload.pid(&report)?,
                &workload.expected_events(&report)?,
            );
            discard_if_passed(&recording, &check);
            (report, check)
        }
        Scenario::TracedSystem => {
            let recording = tools.scratch.join(format!("{tag}.ndjson"));
            let mut argv = tools.record_argv(&recording);
            argv.extend(["--duration".into(), SYSTEM_WIDE_CAP_SECS.to_string()]);
            let mut tracer =
                Background::start("ipc-trace record (system-wide)", &argv, &tools.scratch, tag)?;
            tracer.wait_attached(ATTACH_TIMEOUT)?;
            let out = stdout_of(&program);
            let stopped = tracer.stop(STOP_TIMEOUT)?;
            let report = workload.parse_output(&out?)?;
            if !stopped.status.success() {
                bail!(
                    "ipc-trace record (system-wide) failed ({}):\n{}",
                    stopped.status,
                    stopped.stderr
                );
            }
            let check = check_recording(
                &recording,
                workload.pid(&report)?,
                &workload.expected_events(&report)?,
            );
            discard_if_passed(&recording, &check);
            (report, check)
        }
        Scenario::BpftraceCount => {
            let bpftrace = tools
                .bpftrace
                .as_ref()
                .context("bpftrace is not installed")?;
            let argv = vec![
                bpftrace.display().to_string(),
                "-e".into(),
                format!("tracepoint:{SEMOP_TRACEPOINT} {{ @[pid] = count(); }}"),
            ];
            let mut tracer = Background::start("bpftrace", &argv, &tools.scratch, tag)?;
            tracer.wait_attached(ATTACH_TIMEOUT)?;
            let out = stdout_of(&program);
            let stopped = tracer.stop(STOP_TIMEOUT)?;
            let report = workload.parse_output(&out?)?;
            let ops = report.get("ops").and_then(Value::as_u64).unwrap_or(0);
            let pid = workload.pid(&report)?;
            let check = match bpftrace_count(&stopped.stdout, pid) {
                Some(n) if n == ops => Check::Passed(format!("{n}/{ops} semtimedop")),
                Some(n) => Check::Failed(format!(
                    "bpftrace counted {n} semtimedop of pid {pid}, the program did {ops}"
                )),
                None => Check::Failed(format!(
                    "no `@[{pid}]: N` in bpftrace's output:\n{}{}",
                    stopped.stdout, stopped.stderr
                )),
            };
            (report, check)
        }
        Scenario::PerfStat => {
            let perf = tools.perf.as_ref().context("perf is not installed")?;
            let counts = tools.scratch.join(format!("{tag}.perf"));
            let mut argv = vec![
                perf.display().to_string(),
                "stat".into(),
                "-x,".into(),
                "-e".into(),
                SEMOP_TRACEPOINT.into(),
                "-o".into(),
                counts.display().to_string(),
                "--".into(),
            ];
            argv.extend(program);
            let report = workload.parse_output(&stdout_of(&argv)?)?;
            let ops = report.get("ops").and_then(Value::as_u64).unwrap_or(0);
            let text = std::fs::read_to_string(&counts).unwrap_or_default();
            let check = match perf_count(&text) {
                Some(n) if n == ops => Check::Passed(format!("{n}/{ops} semtimedop")),
                Some(n) => Check::Failed(format!(
                    "perf counted {n} semtimedop, the program did {ops}"
                )),
                None => Check::Failed(format!(
                    "no {SEMOP_TRACEPOINT} count in perf's output:\n{text}"
                )),
            };
            (report, check)
        }
    };
    let values = workload.values(&report)?;
    Ok(Sample {
        report,
        values,
        check,
    })
}

/// Runs `argv` to completion; its standard output, or an error with its
/// standard error when it fails.
pub fn stdout_of(argv: &[String]) -> Result<String> {
    let (program, args) = argv.split_first().context("empty command")?;
    let out: Output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program}"))?;
    if !out.status.success() {
        bail!(
            "`{}` failed ({}):\n{}",
            argv.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Recordings of complete runs are large and of no further use.
fn discard_if_passed(recording: &Path, check: &Check) {
    if !check.failed() {
        let _ = std::fs::remove_file(recording);
    }
}

/// The value of `@[pid]: N` in bpftrace's output.
fn bpftrace_count(stdout: &str, pid: u64) -> Option<u64> {
    let prefix = format!("@[{pid}]:");
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix(&prefix)?.trim().parse().ok())
}

/// The count in `perf stat -x,` output for the semop tracepoint.
fn perf_count(text: &str) -> Option<u64> {
    text.lines()
        .filter(|l| l.contains(SEMOP_TRACEPOINT))
        .find_map(|l| l.split(',').next()?.trim().parse().ok())
}

/// `perf`, when it is installed and can count the semop tracepoint here.
pub fn usable_perf() -> Option<PathBuf> {
    let perf = crate::cmd::which("perf")?;
    let ok = Command::new(&perf)
        .args(["stat", "-x,", "-e", SEMOP_TRACEPOINT, "--", "true"])
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(perf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_counts_are_read_from_tool_output() {
        let bt = "Attaching 1 probe...\n\n\n@[17]: 3\n@[1234]: 400000\n";
        assert_eq!(bpftrace_count(bt, 1234), Some(400000));
        assert_eq!(bpftrace_count(bt, 123), None);
        assert_eq!(bpftrace_count("Attaching 1 probe...\n", 1234), None);
        let perf = "# started on ...\n\n200000,,syscalls:sys_enter_semtimedop,29984078,100.00,,\n";
        assert_eq!(perf_count(perf), Some(200000));
        assert_eq!(
            perf_count("<not counted>,,syscalls:sys_enter_semtimedop,0,0.00,,\n"),
            None
        );
    }

    #[test]
    fn references_only_measure_the_semop_workload() {
        let sem = Workload::Sem { ops: 2 };
        let shm = Workload::Shm {
            pages: 1,
            rounds: 1,
        };
        assert!(Scenario::PerfStat.applies_to(&sem));
        assert!(!Scenario::BpftraceCount.applies_to(&shm));
        assert!(Scenario::TracedSystem.applies_to(&shm));
    }
}
