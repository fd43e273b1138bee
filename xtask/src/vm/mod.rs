//! `cargo xtask vm-test`: boot Debian kernels under QEMU and check
//! ipc-trace's recordings of the demos there, one boot per kernel running
//! every requested backend in turn, the negative control and ipc-trace's
//! host test binaries; two kernels at a time (`--jobs`).
//!
//! Results go to `target/vm-test/<kernel>/` (console log, channel, every
//! file the VM sent) and `target/vm-test/matrix.json`.

pub mod boot;
pub mod cells;
pub mod channel;
pub mod check;
pub mod enforce;
pub mod facts;
pub mod hosttests;
pub mod initramfs;
pub mod kernel_deb;
pub mod kernels;
pub mod labs;
pub mod matrix;
pub mod qemu;
pub mod script;

use crate::{build, cmd};
use anyhow::{Context, Result, bail};
use matrix::Matrix;
use script::Plan;
use std::path::PathBuf;

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
    /// Use the binaries already in target/release instead of building first
    /// (the host test binaries are still asked of `cargo test --no-run`,
    /// which names them and rebuilds them only when stale).
    #[arg(long)]
    pub no_build: bool,
    /// Take the binaries from this directory (no build) instead of target/release.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Download the kernels again even when cached.
    #[arg(long)]
    pub refresh_kernels: bool,
    /// Seconds before a VM is killed: its boot and every cell it runs.
    /// Under TCG with two VMs on two cores, 6.1–7.2 took 270–300 s.
    #[arg(long, default_value_t = 600)]
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
    /// Kernels booted at the same time (each QEMU runs on one host thread:
    /// single-threaded TCG).
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// The kernel of the negative control (kprobe with `--exclude-probe
    /// shm_fault`, which must fail the enforcement); the first kernel booted
    /// when this one is not.
    #[arg(long, default_value = "6.1")]
    pub control_kernel: String,
    /// Do not run the negative control.
    #[arg(long)]
    pub no_control: bool,
    /// Do not run ipc-trace's host test binaries in the VMs (`hosttests` cells).
    #[arg(long)]
    pub no_host_tests: bool,
    /// Seconds before one host test binary is killed in the VM.
    #[arg(long, default_value_t = 600)]
    pub host_test_timeout: u64,
}

/// The probe the negative control keeps from attaching.
pub const CONTROL_PROBE: &str = "shm_fault";

/// One column of the matrix.
#[derive(Clone, Debug)]
pub enum Column {
    /// Facts and demo-run only.
    Smoke,
    /// One `ipc-trace record` run.
    Record(script::Run),
    /// ipc-trace's test binaries.
    HostTests,
    /// The teaching labs, straight through.
    Labs,
}

impl VmTestArgs {
    fn kernels(&self) -> Vec<kernels::KernelSpec> {
        match self.kernel.as_str() {
            "all" => kernels::KERNELS.to_vec(),
            one => kernels::spec(one).into_iter().collect(),
        }
    }

    /// The recording runs: one per backend, then the negative control.
    fn runs(&self) -> Vec<script::Run> {
        let backends: Vec<String> = if self.backend == "all" {
            BACKENDS.iter().map(|b| b.to_string()).collect()
        } else {
            vec![self.backend.clone()]
        };
        let mut runs: Vec<script::Run> = backends
            .iter()
            .map(|b| script::Run {
                label: b.clone(),
                backend: b.clone(),
                options: Vec::new(),
                only_series: None,
            })
            .collect();
        if !self.no_control && backends.iter().any(|b| b == "kprobe") {
            let kernels = self.kernels();
            let series = kernels
                .iter()
                .find(|k| k.series == self.control_kernel)
                .or(kernels.first())
                .map(|k| k.series.to_string());
            runs.push(script::Run {
                label: format!("kprobe-exclude-{CONTROL_PROBE}"),
                backend: "kprobe".to_string(),
                options: vec!["--exclude-probe".to_string(), CONTROL_PROBE.to_string()],
                only_series: series,
            });
        }
        runs
    }

    /// The columns of one kernel series.
    fn columns(&self, series: &str) -> Vec<Column> {
        if self.smoke {
            return vec![Column::Smoke];
        }
        let mut out: Vec<Column> = self
            .runs()
            .into_iter()
            .filter(|r| r.only_series.as_deref().is_none_or(|s| s == series))
            .map(Column::Record)
            .collect();
        out.push(Column::Labs);
        if !self.no_host_tests {
            out.push(Column::HostTests);
        }
        out
    }

    fn plan(&self, host_tests: &[hosttests::TestBinary]) -> Plan {
        if self.smoke {
            Plan::Smoke {
                demo_args: self.demo_args.clone(),
            }
        } else {
            Plan::Record {
                runs: self.runs(),
                demo_args: self.demo_args.clone(),
                timeout_secs: self.run_timeout,
                labs: labs::LABS.iter().map(|l| l.to_string()).collect(),
                host_tests: script::HostTests {
                    binaries: host_tests
                        .iter()
                        .map(|(n, p)| (n.clone(), p.display().to_string()))
                        .collect(),
                    crate_dir: cmd::workspace_root()
                        .join("ipc-trace")
                        .display()
                        .to_string(),
                    timeout_secs: self.host_test_timeout,
                    env: hosttests::env(&cmd::workspace_root()),
                },
            }
        }
    }
}

/// Run the VM matrix; `Ok(true)` when every cell passed.
pub fn run(args: &VmTestArgs) -> Result<bool> {
    let out = cmd::target_dir().join("vm-test");
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    let mut matrix = Matrix::default();
    let mut notes = Vec::new();
    let mut host_test_names = Vec::new();

    let initrd = binaries(args, &mut notes).and_then(|bins| {
        let (tests, files) = host_test_files(args)?;
        host_test_names = tests.iter().map(|(n, _)| n.clone()).collect();
        let init = script::init_script(&args.plan(&tests));
        let spec = initramfs::InitramfsSpec {
            init_script: &init,
            binaries: &bins,
            files: &files,
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

    let kernels = args.kernels();
    let results = parallel(&kernels, args.jobs.max(1), |spec| {
        let columns = args.columns(spec.series);
        boot::run_kernel(args, *spec, &initrd, &columns, &host_test_names, &out)
    });
    for (boot, mut cells) in results {
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

/// `f` over `items` on up to `jobs` threads; results in the order of `items`.
fn parallel<T: Sync, R: Send>(items: &[T], jobs: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.min(items.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(item) = items.get(i) else { break };
                    let r = f(item);
                    if let Ok(mut d) = done.lock() {
                        d.push((i, r));
                    }
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
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

/// The host test binaries and the files placed at their own absolute paths
/// in the initramfs: the test binaries, the release `ipc-trace` they run
/// (`CARGO_BIN_EXE_ipc-trace`), the data they read and the tools they call.
fn host_test_files(args: &VmTestArgs) -> Result<(Vec<hosttests::TestBinary>, Vec<PathBuf>)> {
    if args.smoke || args.no_host_tests {
        return Ok((Vec::new(), Vec::new()));
    }
    let tests = hosttests::build()?;
    let mut files: Vec<PathBuf> = tests.iter().map(|(_, p)| p.clone()).collect();
    files.push(build::profile_dir(true).join("ipc-trace"));
    files.extend(hosttests::data_files(&cmd::workspace_root())?);
    files.extend(hosttests::TOOLS.iter().map(PathBuf::from));
    if let Some(missing) = files.iter().find(|f| !f.is_file()) {
        bail!(
            "{} is missing: the host tests need it in the VM (build with cargo xtask build, or pass --no-host-tests)",
            missing.display()
        );
    }
    Ok((tests, files))
}

#[cfg(test)]
mod tests {
    #[test]
    fn parallel_keeps_the_order_of_the_items() {
        let items: Vec<u64> = (0..7).collect();
        let out = super::parallel(&items, 3, |i| {
            std::thread::sleep(std::time::Duration::from_millis(10 * (7 - i)));
            i * 2
        });
        assert_eq!(out, vec![0, 2, 4, 6, 8, 10, 12]);
    }
}
