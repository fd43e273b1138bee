//! The command line: every command, flag and default, with help text.
//! Parsing only; `main.rs` dispatches.

use clap::{Args, Parser, Subcommand, ValueEnum};
use ipc_trace::probe::attach::BackendChoice;
use ipc_trace::probe::btf::BtfSource;
use ipc_trace::probe::kernel_path::{ProbeSet, kernel_probe_named, kernel_probe_names};
use ipc_trace::session::options::TraceOptions;
use std::path::PathBuf;

/// See System V shared memory and semaphores inside the Linux kernel.
///
/// Without a command, opens the live TUI (needs root: run with sudo).
/// `ipc-trace -- CMD ARGS...` opens the TUI on a command it starts.
#[derive(Debug, Parser)]
#[command(
    name = "ipc-trace",
    version,
    args_conflicts_with_subcommands = true,
    after_help = "Exit status: 0 ok, 1 runtime error, 2 bad usage or bad input, 101 internal error (a bug).\n\
                  Examples:\n  sudo ipc-trace -- demo-run\n  sudo ipc-trace record -o run.ndjson -- ./producer\n  \
                  ipc-trace replay run.ndjson\n  ipc-trace summary run.ndjson --json\n  sudo ipc-trace doctor"
)]
pub struct Cli {
    /// What to do (default: the live TUI).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Options of the default live TUI.
    #[command(flatten)]
    pub trace: TraceArgs,
    /// A command to start and trace (with its descendants) in the TUI.
    #[arg(last = true, value_name = "CMD")]
    pub cmd: Vec<String>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Live TUI over the kernel's IPC activity (the default).
    Tui {
        /// Tracing options.
        #[command(flatten)]
        trace: TraceArgs,
        /// A command to start and trace with its descendants.
        #[arg(last = true, value_name = "CMD")]
        cmd: Vec<String>,
    },
    /// Record events as NDJSON (schema ipc-trace/1, see docs/SCHEMA.md).
    Record {
        /// Output file (`-` for standard output). Written as FILE.partial
        /// and renamed to FILE when complete (SIGINT, SIGTERM and SIGHUP
        /// complete it too); if ipc-trace is killed, FILE.partial keeps
        /// what was written (flushed every second), which `summary` and
        /// `replay` report as truncated. An existing non-empty
        /// FILE.partial is refused. If writing fails (a full disk), a
        /// traced command still runs to its end, FILE.partial is kept up
        /// to its last complete line and the exit status is 1.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Stop after this many seconds.
        #[arg(long, value_name = "SECS")]
        duration: Option<f64>,
        /// Print each event on standard error as it is recorded.
        #[arg(long)]
        echo: bool,
        /// Also write the summary of the lifecycles as reconstructed live
        /// (JSON, as `summary --json` prints it).
        #[arg(long, value_name = "FILE")]
        summary_out: Option<PathBuf>,
        /// Also write where the time went (JSON): per eBPF program the
        /// kernel's run count, run time and skipped runs (run time only
        /// while `sysctl kernel.bpf_stats_enabled=1`), and ipc-trace's own
        /// CPU time for the events it handled.
        #[arg(long, value_name = "FILE")]
        program_stats: Option<PathBuf>,
        /// Permission bits of the new file, in octal (default 600: the
        /// owner only; 644 shares it, e.g. with a class replaying it).
        #[arg(long, value_name = "OCTAL", default_value = "600", value_parser = parse_mode)]
        mode: u32,
        /// Tracing options.
        #[command(flatten)]
        trace: TraceArgs,
        /// A command to start and trace with its descendants; recording
        /// stops when it exits and ipc-trace exits with its status. It gets
        /// SIGTERM when the recording is stopped, and also when ipc-trace
        /// dies without stopping it (SIGKILL: `PR_SET_PDEATHSIG`).
        #[arg(last = true, value_name = "CMD")]
        cmd: Vec<String>,
    },
    /// Open the TUI on a recording (no root needed). `-` reads standard input.
    Replay {
        /// The recording.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Skip malformed lines (counted and reported) instead of stopping.
        #[arg(long)]
        skip_bad: bool,
        /// Step through it: start before the first event and move with `]`/`[`
        /// (one event), `}`/`{` (the next event showing a new kernel step) or
        /// space (play/pause); every view shows the state at the cursor. The
        /// recording is held in memory (at most 2 000 000 events).
        #[arg(long)]
        step: bool,
    },
    /// Reconstructed lifecycles as a report, from a recording or a live command.
    Summary {
        /// The recording (`-` for standard input). Omit it with `-- CMD`.
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
        /// Skip malformed lines (counted and reported) instead of stopping.
        #[arg(long)]
        skip_bad: bool,
        /// Tracing options (live summary with `-- CMD`); the filters among
        /// them also apply to FILE.
        #[command(flatten)]
        trace: TraceArgs,
        /// A command to trace live and summarize.
        #[arg(last = true, value_name = "CMD")]
        cmd: Vec<String>,
    },
    /// Convert a recording: filtered NDJSON or Perfetto/Chrome trace JSON.
    Export {
        /// The recording (`-` for standard input).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Perfetto)]
        format: ExportFormat,
        /// Output file (`-` for standard output).
        #[arg(short, long, value_name = "OUT")]
        output: PathBuf,
        /// Permission bits of the new file, in octal (default 600: the
        /// owner only; 644 shares it, e.g. with a class replaying it).
        #[arg(long, value_name = "OCTAL", default_value = "600", value_parser = parse_mode)]
        mode: u32,
        /// Only objects with this key (hex 0x… or decimal).
        #[arg(long)]
        key: Option<String>,
        /// Only objects with this id.
        #[arg(long)]
        id: Option<i32>,
        /// Only events of this process (tgid) or thread.
        #[arg(long)]
        pid: Option<u32>,
        /// Only this IPC namespace (inode number, as in /proc/PID/ns/ipc
        /// and the events' `ipc_ns`).
        #[arg(long, value_name = "INODE")]
        ipc_ns: Option<u32>,
        /// Only these kinds (comma separated, e.g. sem_op,shm_fault).
        #[arg(long, value_delimiter = ',')]
        kind: Vec<String>,
        /// Only events at or after this many seconds from the first event.
        #[arg(long, value_name = "SECS")]
        from: Option<f64>,
        /// Only events before this many seconds from the first event.
        #[arg(long, value_name = "SECS")]
        to: Option<f64>,
        /// Skip malformed lines (counted and reported) instead of stopping.
        #[arg(long)]
        skip_bad: bool,
    },
    /// What this kernel lets ipc-trace see: BTF, lockdown, capabilities,
    /// tracefs, and one row per probe with the backend it gets.
    Doctor {
        /// Also attach every probe and run the self-test (needs root).
        #[arg(long)]
        attach: bool,
        /// One JSON document: `system`, `kernel` (kprobe_pmu,
        /// fentry_allowed, fentry_detail, btf_present, btf_missing_offsets,
        /// functions[{probe, function, in_kallsyms}]) and `probes` (the
        /// probe table with --attach, else null).
        #[arg(long)]
        json: bool,
        /// Tracing options used with --attach.
        #[command(flatten)]
        trace: TraceArgs,
        /// Print how many of ipc-trace's BPF programs are loaded, then exit
        /// (0 when none: used by tests to prove a clean detach).
        #[arg(long)]
        loaded_programs: bool,
    },
    /// Teaching labs: run a demo and walk through the kernel steps it triggers.
    ///
    /// A live lab (root) stops its demo's processes after each stage (SIGSTOP;
    /// state T) and shows that stage while they are stopped, so `ipcs` and
    /// /proc show the kernel's state at that moment; Enter lets them go on.
    /// Ctrl-C ends the lab, and the demo runs on to its end and removes what
    /// it made. `--replay FILE` walks through a recording instead (no root).
    Lab {
        /// The lab to run; omit to list them.
        name: Option<String>,
        /// Do not attach this kernel-path probe (repeatable); as for `record`.
        #[arg(long = "exclude-probe", value_name = "NAME", value_parser = parse_probe_name)]
        exclude_probes: Vec<u8>,
        /// Walk through the lab over this recording instead of running it
        /// (no root needed: a class can share one recording).
        #[arg(long, value_name = "FILE")]
        replay: Option<PathBuf>,
        /// Run through every stage without pausing (the demo still stops at
        /// each boundary, for as long as the stage takes to show) and show
        /// the questions with their answers (the default when standard
        /// input is not a terminal).
        #[arg(long)]
        auto: bool,
        /// No colour (also when NO_COLOR is set or the output is not a terminal).
        #[arg(long)]
        plain: bool,
        /// Grade the answers in this file (one per line, in question order;
        /// `N:` before an answer names its question) instead of asking.
        #[arg(long, value_name = "FILE")]
        answers: Option<PathBuf>,
        /// Leave the segments the `leak` lab makes in place (default: the
        /// lab removes them at the end, as `ipcrm -m ID` would).
        #[arg(long)]
        keep: bool,
        /// Do not record kernel stacks. A live lab records, at each
        /// kernel-path probe, the kernel stack it fired on and shows it as
        /// the kernel's own proof of the step (kprobe/fentry kernels).
        #[arg(long)]
        no_stacks: bool,
    },
}

/// Output formats of `export`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// Filtered NDJSON in the same schema.
    Ndjson,
    /// Chrome trace-event JSON for the Perfetto UI (ui.perfetto.dev).
    Perfetto,
}

/// Options of every live tracing command.
#[derive(Debug, Clone, Args)]
pub struct TraceArgs {
    /// Kernel-path backend: auto picks fentry, then kprobe, per probe;
    /// tracepoint uses syscall/exception tracepoints only and derives the rest.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto)]
    pub backend: BackendArg,
    /// Ring buffer size in bytes (a power of two, at least 4096).
    #[arg(long, value_name = "BYTES", default_value_t = 4 * 1024 * 1024, value_parser = parse_ring_size)]
    pub ringbuf_size: u32,
    /// How many tasks may be inside a traced call at once (e.g. asleep in
    /// semop). Beyond it, their records are dropped and counted, never
    /// lost silently. Raise it on hosts with more waiters.
    #[arg(long, value_name = "TASKS", default_value_t = 10240, value_parser = parse_max_inflight)]
    pub max_inflight: u32,
    /// Only these processes (and their children; in `summary FILE`, the
    /// listed processes only: a recording does not say who forked whom).
    /// Repeatable.
    #[arg(long = "pid", value_name = "PID")]
    pub pids: Vec<u32>,
    /// Only tasks with this name.
    #[arg(long, value_name = "NAME")]
    pub comm: Option<String>,
    /// Only objects with this key (hex 0x… or decimal).
    #[arg(long, value_name = "KEY", value_parser = parse_key)]
    pub key: Option<i32>,
    /// Only this IPC namespace (inode number, as in /proc/PID/ns/ipc).
    /// `--pid`, `--comm`, `--key` and `--ipc-ns` also filter `summary FILE`.
    #[arg(long, value_name = "INODE")]
    pub ipc_ns: Option<u32>,
    /// Skip the start-up self-test (a tiny real IPC round trip that shows
    /// which probes actually fire).
    #[arg(long)]
    pub no_selftest: bool,
    /// Print the plan (kernel facts and the backend each probe would get),
    /// then exit without tracing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not attach this kernel-path probe (repeatable). Its row in the
    /// probe table says `excluded by --exclude-probe` and its events are
    /// inferred from tracepoints. Names: newseg, do_shmat, shm_fault,
    /// shmem_fault, newary, do_semtimedop, __do_semtimedop, shm_destroy,
    /// shm_close, freeary, and the step probes shm_more_checks,
    /// sem_more_checks, shmem_kernel_file_setup, shm_mmap (excluding
    /// shm_fault also keeps shmem_fault off).
    #[arg(long = "exclude-probe", value_name = "NAME", value_parser = parse_probe_name)]
    pub exclude_probes: Vec<u8>,
    /// Read kernel struct offsets from this BTF file instead of
    /// /sys/kernel/btf/vmlinux (e.g. one made for a kernel built without
    /// BTF); `none` acts as on a kernel without BTF (no fentry, no probe
    /// that reads kernel structs). fentry still loads against the running
    /// kernel's own BTF, which the kernel checks it by.
    #[arg(long, value_name = "PATH|none")]
    pub btf: Option<PathBuf>,
    /// Record the kernel stack at every kernel-path probe (kprobe/fentry
    /// kernels), symbolized from /proc/kallsyms into the events' `stack`:
    /// the kernel's own proof of a step, for labs and teaching. Costs a
    /// stack walk per event: not for busy hosts.
    #[arg(long)]
    pub stacks: bool,
}

/// `--backend`: the library's [`BackendChoice`] with its help text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// fentry/fexit where possible, else kprobe/kretprobe, else not attached.
    Auto,
    /// Only fentry/fexit.
    Fentry,
    /// Only kprobe/kretprobe.
    Kprobe,
    /// No kernel-path probe: tracepoints only.
    Tracepoint,
}

impl From<BackendArg> for BackendChoice {
    fn from(b: BackendArg) -> BackendChoice {
        match b {
            BackendArg::Auto => BackendChoice::Auto,
            BackendArg::Fentry => BackendChoice::Fentry,
            BackendArg::Kprobe => BackendChoice::Kprobe,
            BackendArg::Tracepoint => BackendChoice::Tracepoint,
        }
    }
}

impl TraceArgs {
    /// The session's options from these flags.
    pub fn options(&self) -> TraceOptions {
        TraceOptions {
            backend: self.backend.into(),
            ringbuf_bytes: self.ringbuf_size,
            max_inflight: self.max_inflight,
            pids: self.pids.clone(),
            comm: self.comm.clone(),
            key: self.key,
            ipc_ns: self.ipc_ns,
            no_selftest: self.no_selftest,
            excluded: self.excluded(),
            btf: self
                .btf
                .as_deref()
                .map_or(BtfSource::Kernel, BtfSource::from_arg),
            stacks: self.stacks,
        }
    }

    /// The probes `--exclude-probe` named, as a set for `AttachOptions`.
    pub fn excluded(&self) -> ProbeSet {
        self.exclude_probes.iter().copied().collect()
    }
}

/// Parses a kernel-path probe name (as in the probe table) into its id.
pub fn parse_probe_name(s: &str) -> Result<u8, String> {
    kernel_probe_named(s.trim()).map(|p| p.id).ok_or_else(|| {
        let names: Vec<&str> = kernel_probe_names().collect();
        format!(
            "`{s}` is not a kernel-path probe; valid names: {}",
            names.join(", ")
        )
    })
}

/// `--max-inflight`: 1 to 1 048 576 tasks.
pub fn parse_max_inflight(s: &str) -> Result<u32, String> {
    match s.trim().parse::<u32>() {
        Ok(n) if (1..=1 << 20).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{s}` is not a task count: give a number from 1 to 1048576"
        )),
    }
}

/// `--mode`: octal permission bits, at most 777.
pub fn parse_mode(s: &str) -> Result<u32, String> {
    let t = s.trim().trim_start_matches("0o");
    match u32::from_str_radix(t, 8) {
        Ok(m) if m <= 0o777 => Ok(m),
        _ => Err(format!(
            "`{s}` is not a file mode: give octal permission bits such as 600 or 644"
        )),
    }
}

/// Parses a ring buffer size: a power of two, at least one page.
pub fn parse_ring_size(s: &str) -> Result<u32, String> {
    let n: u64 = parse_size(s)?;
    if n < 4096 || !n.is_power_of_two() || n > (1 << 30) {
        return Err(format!(
            "ring buffer size must be a power of two between 4096 and 1 GiB, got {n}"
        ));
    }
    u32::try_from(n).map_err(|_| format!("ring buffer size {n} is too large"))
}

/// Parses `4096`, `64K`, `4M`, `1G`.
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, mult) = match t.chars().last() {
        Some('k' | 'K') => (&t[..t.len() - 1], 1u64 << 10),
        Some('m' | 'M') => (&t[..t.len() - 1], 1u64 << 20),
        Some('g' | 'G') => (&t[..t.len() - 1], 1u64 << 30),
        _ => (t, 1),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size (examples: 65536, 64K, 4M)"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("`{s}` is too large"))
}

/// Parses an IPC key: `0x16988`, `92552` or `-1`.
pub fn parse_key(s: &str) -> Result<i32, String> {
    let t = s.trim();
    let parsed = if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u32::from_str_radix(hex, 16).map(|v| v as i32).ok()
    } else {
        t.parse::<i64>()
            .ok()
            .filter(|v| *v >= i64::from(i32::MIN) && *v <= i64::from(u32::MAX))
            .map(|v| v as i32)
    };
    parsed.ok_or_else(|| format!("`{s}` is not an IPC key (examples: 0x00016988, 92552)"))
}

#[cfg(test)]
mod tests;
