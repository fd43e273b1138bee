//! `cargo xtask vm-test`: boot Debian kernels under QEMU and check
//! ipc-trace's recordings of the demos there, one boot per kernel running
//! every requested backend in turn.
//!
//! Results go to `target/vm-test/<kernel>/` (console log, channel, every
//! file the VM sent) and `target/vm-test/matrix.json`.

pub mod channel;
pub mod check;
pub mod initramfs;
pub mod kernel_deb;
pub mod kernels;
pub mod matrix;
pub mod qemu;
pub mod script;

use crate::{build, cmd};
use anyhow::{Context, Result, bail};
use matrix::{BootRecord, Cell, Matrix};
use script::Plan;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The backends of the matrix.
pub const BACKENDS: &[&str] = &["kprobe", "fentry", "tracepoint"];

/// Options of `cargo xtask vm-test`.
#[derive(clap::Args, Clone, Debug)]
pub struct VmTestArgs {
    /// Kernel series to boot.
    #[arg(long, default_value = "all", value_parser = ["5.10", "6.1", "6.12", "7.2", "all"])]
    pub kernel: String,
    /// Backend to record with.
    #[arg(long, default_value = "all", value_parser = ["kprobe", "fentry", "tracepoint", "all"])]
    pub backend: String,
    /// Do not record: boot, collect kernel facts, run `ipc-trace doctor` and
    /// `demo-run` when they are built. Proves kernels, initramfs and channel.
    #[arg(long)]
    pub smoke: bool,
    /// Use the binaries already in target/release instead of building first.
    #[arg(long)]
    pub no_build: bool,
    /// Take the binaries from this directory (no build) instead of target/release.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Download the kernels again even when cached.
    #[arg(long)]
    pub refresh_kernels: bool,
    /// Seconds before a boot is killed.
    #[arg(long, default_value_t = 300)]
    pub boot_timeout: u64,
    /// Seconds before one backend's `ipc-trace record` run is killed in the VM.
    #[arg(long, default_value_t = 120)]
    pub run_timeout: u64,
    /// Extra arguments for `demo-run` inside the VM.
    #[arg(
        long,
        default_value = "--pingpong --size 12388 --messages 8",
        allow_hyphen_values = true
    )]
    pub demo_args: String,
    /// Guest memory in MiB.
    #[arg(long, default_value_t = 1024)]
    pub memory_mb: u32,
    /// Guest vCPUs.
    #[arg(long, default_value_t = 2)]
    pub cpus: u32,
}

impl VmTestArgs {
    fn kernels(&self) -> Vec<kernels::KernelSpec> {
        match self.kernel.as_str() {
            "all" => kernels::KERNELS.to_vec(),
            one => kernels::spec(one).into_iter().collect(),
        }
    }

    /// The matrix columns: the backends, or `smoke`.
    fn columns(&self) -> Vec<String> {
        if self.smoke {
            vec!["smoke".to_string()]
        } else if self.backend == "all" {
            BACKENDS.iter().map(|b| b.to_string()).collect()
        } else {
            vec![self.backend.clone()]
        }
    }

    fn plan(&self) -> Plan {
        if self.smoke {
            Plan::Smoke {
                demo_args: self.demo_args.clone(),
            }
        } else {
            Plan::Record {
                backends: self.columns(),
                demo_args: self.demo_args.clone(),
                timeout_secs: self.run_timeout,
            }
        }
    }
}

/// Run the VM matrix; `Ok(true)` when every cell passed.
pub fn run(args: &VmTestArgs) -> Result<bool> {
    let out = cmd::target_dir().join("vm-test");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let columns = args.columns();
    let mut matrix = Matrix::default();
    let mut notes = Vec::new();

    let initrd = binaries(args, &mut notes).and_then(|bins| {
        let init = script::init_script(&args.plan());
        let spec = initramfs::InitramfsSpec {
            init_script: &init,
            binaries: &bins,
        };
        initramfs::build(&spec, &out.join("initramfs")).context("building the initramfs failed")
    });
    let initrd = match initrd {
        Ok(i) => {
            println!(
                "vm-test: initramfs {} ({:.1} MB{})",
                i.path.display(),
                i.bytes as f64 / 1e6,
                if i.reused { ", unchanged" } else { "" }
            );
            matrix.initrd_bytes = Some(i.bytes);
            Ok(i.path)
        }
        Err(e) => Err(format!("{e:#}")),
    };

    for spec in args.kernels() {
        let (boot, mut cells) = run_kernel(args, spec, &initrd, &columns, &out);
        for cell in &mut cells {
            cell.passed = cell.failures.is_empty();
        }
        matrix.boots.push(boot);
        matrix.cells.extend(cells);
    }

    matrix.notes = notes;
    print!("{}", matrix.render());
    let json = out.join("matrix.json");
    matrix.write_json(&json)?;
    println!("vm-test: matrix written to {}", json.display());
    Ok(matrix.passed())
}

/// Build (unless told not to) and list the binaries for the initramfs.
fn binaries(args: &VmTestArgs, notes: &mut Vec<String>) -> Result<Vec<PathBuf>> {
    let built = if args.no_build || args.bin_dir.is_some() {
        Ok(())
    } else {
        build::cargo_build(true)
    };
    let dir = args
        .bin_dir
        .clone()
        .unwrap_or_else(|| build::profile_dir(true));
    let (present, missing): (Vec<PathBuf>, Vec<PathBuf>) = build::BINARIES
        .iter()
        .map(|b| dir.join(b))
        .partition(|p| p.is_file());
    let missing: Vec<String> = missing.iter().map(|p| p.display().to_string()).collect();
    if args.smoke {
        if let Err(e) = built {
            notes.push(format!("build failed, using what exists: {e:#}"));
        }
        if !missing.is_empty() {
            notes.push(format!(
                "not in the initramfs (not built): {}",
                missing.join(", ")
            ));
        }
        return Ok(present);
    }
    built?;
    if !missing.is_empty() {
        bail!(
            "binary missing: {}: build them with cargo xtask build",
            missing.join(", ")
        );
    }
    Ok(present)
}

/// Fetch, boot and evaluate one kernel; every column gets a cell.
fn run_kernel(
    args: &VmTestArgs,
    spec: kernels::KernelSpec,
    initrd: &Result<PathBuf, String>,
    columns: &[String],
    out: &Path,
) -> (BootRecord, Vec<Cell>) {
    let mut boot = BootRecord {
        kernel: spec.series.to_string(),
        ..BootRecord::default()
    };
    let fail_all = |reason: String| -> Vec<Cell> {
        columns
            .iter()
            .map(|c| Cell::failed(spec.series, c, reason.clone()))
            .collect()
    };
    let initrd = match initrd {
        Ok(path) => path,
        Err(e) => return (boot, fail_all(format!("no initramfs: {e}"))),
    };
    let kernel = match kernels::fetch(spec, args.refresh_kernels) {
        Ok(k) => k,
        Err(e) => return (boot, fail_all(format!("kernel download failed: {e:#}"))),
    };
    boot.package = Some(kernel.package.clone());
    boot.downloaded = kernel.downloaded;
    boot.fetch_seconds = kernel.fetch_time.as_secs_f64();
    let dir = out.join(spec.series);
    if dir.exists() && std::fs::remove_dir_all(&dir).is_err() {
        return (boot, fail_all(format!("cannot clear {}", dir.display())));
    }
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return (
            boot,
            fail_all(format!("cannot create {}: {e}", dir.display())),
        );
    }
    let console = dir.join("console.log");
    let channel_file = dir.join("channel.out");
    let outcome = qemu::boot(&qemu::Boot {
        kernel: &kernel.vmlinuz,
        initrd,
        console_log: console.clone(),
        channel: channel_file.clone(),
        timeout: Duration::from_secs(args.boot_timeout),
        memory_mb: args.memory_mb,
        cpus: args.cpus,
    });
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return (boot, fail_all(format!("{e:#}"))),
    };
    boot.boot_seconds = Some(outcome.elapsed.as_secs_f64());
    println!(
        "vm-test: {} ({}): {} {:.1} s, boot+run {:.1} s",
        spec.series,
        kernel.package,
        if kernel.downloaded {
            "downloaded in"
        } else {
            "cached, looked up in"
        },
        boot.fetch_seconds,
        outcome.elapsed.as_secs_f64()
    );
    let raw = std::fs::read(&channel_file).unwrap_or_default();
    let ch = channel::parse(&raw);
    let mut boot_failures = Vec::new();
    if let Err(e) = ch.write_files(&dir) {
        boot_failures.push(format!("{e:#}"));
    }
    if outcome.timed_out {
        boot_failures.push(format!("boot timed out after {} s", args.boot_timeout));
    } else if !outcome.status.is_some_and(|s| s.success()) {
        boot_failures.push(format!(
            "QEMU failed ({:?}): {}",
            outcome.status,
            last_lines(&outcome.stderr, 5)
        ));
    }
    if !ch.hello {
        let log = std::fs::read_to_string(&console).unwrap_or_default();
        boot_failures.push(format!(
            "the VM script never started; console ends with: {}",
            last_lines(&log, 8)
        ));
    } else if !ch.done {
        boot_failures.push(format!(
            "the VM script did not finish (see {})",
            console.display()
        ));
    }
    boot_failures.extend(ch.problems.iter().map(|p| format!("channel: {p}")));
    boot.facts = key_values(&ch.text("facts.txt").unwrap_or_default());
    if let Some(config) = kernel
        .config
        .as_deref()
        .and_then(|p| std::fs::read_to_string(p).ok())
    {
        boot.facts.extend(config_facts(&config));
    }
    boot.summary = describe_facts(&boot.facts, ch.text("doctor.txt").as_deref());

    let bin_dir = args
        .bin_dir
        .clone()
        .unwrap_or_else(|| build::profile_dir(true));
    let cells = columns
        .iter()
        .map(|column| {
            let mut cell = if column == "smoke" {
                smoke_cell(spec.series, &ch)
            } else {
                record_cell(spec.series, column, &ch, &dir, &bin_dir)
            };
            cell.failures.splice(0..0, boot_failures.iter().cloned());
            cell
        })
        .collect();
    (boot, cells)
}

/// The last `n` non-empty lines of `text`, joined with ` | `.
fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}

/// `key=value` lines as a map.
fn key_values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

/// The kernel build options the probes depend on, from a kernel config.
fn config_facts(config: &str) -> BTreeMap<String, String> {
    const OPTIONS: &[&str] = &[
        "CONFIG_KPROBES",
        "CONFIG_KPROBE_EVENTS",
        "CONFIG_BPF_EVENTS",
        "CONFIG_DEBUG_INFO_BTF",
        "CONFIG_FUNCTION_TRACER",
        "CONFIG_DYNAMIC_FTRACE",
    ];
    OPTIONS
        .iter()
        .map(|opt| {
            let value = config
                .lines()
                .find_map(|l| l.strip_prefix(opt).and_then(|r| r.strip_prefix('=')))
                .unwrap_or("n");
            (format!("config.{opt}"), value.to_string())
        })
        .collect()
}

/// One-line summaries of the VM's `facts.txt` and `doctor.txt`.
fn describe_facts(facts: &BTreeMap<String, String>, doctor: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(uname) = facts.get("uname") {
        let absent: Vec<&str> = script::FACT_SYMBOLS
            .iter()
            .copied()
            .filter(|s| {
                facts
                    .get(&format!("kallsyms.{s}"))
                    .is_some_and(|n| n == "0")
            })
            .collect();
        let fact = |k: &str| facts.get(k).map_or("?", String::as_str);
        out.push(format!(
            "uname {uname}, btf {}, kprobe pmu {}, CONFIG_KPROBES {}, bpf_jit_kallsyms {}, symbols absent: {}",
            fact("btf"),
            fact("kprobe_pmu"),
            fact("config.CONFIG_KPROBES"),
            fact("bpf_jit_kallsyms"),
            if absent.is_empty() { "none".to_string() } else { absent.join(" ") }
        ));
    }
    if let Some(doctor) = doctor {
        let exit = doctor
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("exit="))
            .unwrap_or("?");
        out.push(format!("ipc-trace doctor exited {exit}"));
    }
    out
}

/// The seconds between `seconds_start` and `seconds_end` of a result file.
fn seconds(kv: &BTreeMap<String, String>) -> Option<f64> {
    let get = |k: &str| kv.get(k).and_then(|v| v.parse::<f64>().ok());
    Some(get("seconds_end")? - get("seconds_start")?)
}

/// The smoke cell: facts arrived, demo-run (when built) exited 0.
fn smoke_cell(kernel: &str, ch: &channel::Channel) -> Cell {
    let mut cell = Cell {
        kernel: kernel.to_string(),
        backend: "smoke".to_string(),
        ..Cell::default()
    };
    let facts = key_values(&ch.text("facts.txt").unwrap_or_default());
    if !facts.contains_key("uname") {
        cell.failures.push("facts.txt did not arrive".to_string());
    }
    if ch.missing.iter().any(|m| m == "smoke/demo-run") {
        cell.facts
            .push("demo-run is not built: only the kernel facts were collected".to_string());
        return cell;
    }
    let result = key_values(&ch.text("smoke/result.txt").unwrap_or_default());
    match result.get("demo_rc").map(String::as_str) {
        Some("0") => {}
        Some(rc) => cell.failures.push(format!(
            "demo-run exited {rc}: {}",
            last_lines(&ch.text("smoke/demo.log").unwrap_or_default(), 5)
        )),
        None => cell
            .failures
            .push("the demo result did not arrive".to_string()),
    }
    cell.seconds = seconds(&result);
    let reports = ch
        .files
        .keys()
        .filter(|k| k.starts_with("smoke/reports/"))
        .count();
    cell.facts
        .push(format!("demo-run wrote {reports} report(s)"));
    cell
}

/// The cell of one backend: record exit, recording figures, BPF cleanup, check.
fn record_cell(
    kernel: &str,
    backend: &str,
    ch: &channel::Channel,
    dir: &Path,
    bin_dir: &Path,
) -> Cell {
    let mut cell = Cell {
        kernel: kernel.to_string(),
        backend: backend.to_string(),
        ..Cell::default()
    };
    let Some(result) = ch.text(&format!("{backend}/result.txt")) else {
        cell.failures
            .push("the run's result did not arrive".to_string());
        return cell;
    };
    let kv = key_values(&result);
    cell.seconds = seconds(&kv);
    match kv.get("record_rc").map(String::as_str) {
        Some("0") => {}
        Some(rc) => {
            let why = if rc == "143" || rc == "124" {
                " (killed at the run time limit)"
            } else {
                ""
            };
            let log = ch
                .text(&format!("{backend}/record.log"))
                .unwrap_or_default();
            cell.failures.push(format!(
                "ipc-trace record exited {rc}{why}: {}",
                last_lines(&log, 5)
            ));
        }
        None => cell
            .failures
            .push("no exit code for ipc-trace record".to_string()),
    }
    let count = |k: &str| kv.get(k).and_then(|v| v.parse::<i64>().ok());
    match (
        count("bpf_progs_before"),
        count("bpf_progs_peak"),
        count("bpf_progs_after"),
    ) {
        (Some(before), Some(peak), Some(after)) => {
            if after != before {
                cell.failures.push(format!(
                    "BPF programs left loaded after ipc-trace exited: {before} before, {after} after"
                ));
            }
            if peak <= before {
                cell.facts.push(format!(
                    "no JITed BPF program seen during the run (kallsyms count stayed at {before})"
                ));
            }
        }
        _ => cell
            .failures
            .push("BPF program counts missing from the result".to_string()),
    }
    match count("ours_loaded_after") {
        Some(0) => {}
        Some(n) => cell.failures.push(format!(
            "{n} ipc-trace BPF program(s) still loaded after exit (doctor --loaded-programs)"
        )),
        None => cell
            .failures
            .push("`ipc-trace doctor --loaded-programs` gave no count".to_string()),
    }
    if count("bpffs_entries").is_some_and(|n| n != 0) {
        cell.failures
            .push("objects left pinned in /sys/fs/bpf".to_string());
    }
    let recording_name = format!("{backend}/recording.ndjson");
    let recording = dir.join(&recording_name);
    match ch.text(&recording_name) {
        None => cell.failures.push("no recording arrived".to_string()),
        Some(text) => match check::summarize(&text) {
            Ok(s) => {
                cell.probes_attached = Some(s.attached);
                cell.probes_kernel_path = Some(s.kernel_path_probes);
                cell.probes_fired = Some(s.fired);
                cell.events = Some(s.events);
                cell.drops = Some(s.drops);
            }
            Err(e) => cell.failures.push(format!("recording: {e:#}")),
        },
    }
    let prefix = format!("{backend}/reports/");
    let reports: Vec<PathBuf> = ch
        .files
        .keys()
        .filter(|k| k.starts_with(&prefix))
        .map(|k| dir.join(k))
        .collect();
    if recording.is_file() {
        let verdict =
            check::check_recording(&bin_dir.join(build::DEMO_CHECK), &recording, &reports);
        cell.failures.extend(verdict.failures);
        cell.facts.extend(verdict.facts);
    }
    cell
}
