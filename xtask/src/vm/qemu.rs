//! Booting a kernel and initramfs under QEMU (TCG; KVM is not required).
//!
//! ttyS0 (the console) goes to a log file, ttyS1 (the data channel) to
//! another; the boot is killed when it outlives its time limit.

use crate::cmd;
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The QEMU binary.
pub const QEMU: &str = "qemu-system-x86_64";

/// One boot.
pub struct Boot<'a> {
    /// Kernel image.
    pub kernel: &'a Path,
    /// Initramfs archive.
    pub initrd: &'a Path,
    /// Where the console (ttyS0) is written.
    pub console_log: PathBuf,
    /// Where the data channel (ttyS1) is written.
    pub channel: PathBuf,
    /// The boot is killed after this long.
    pub timeout: Duration,
    /// Guest memory in MiB.
    pub memory_mb: u32,
    /// Guest vCPUs.
    pub cpus: u32,
    /// Appended to the kernel command line (e.g. `ipct.series=6.1`, read by /init).
    pub append: String,
}

/// How a boot ended.
#[derive(Debug)]
pub struct BootOutcome {
    /// Wall time from start to exit (or kill).
    pub elapsed: Duration,
    /// True when it was killed at the time limit.
    pub timed_out: bool,
    /// QEMU's exit status (None when killed).
    pub status: Option<ExitStatus>,
    /// What QEMU printed on stderr.
    pub stderr: String,
}

/// The QEMU arguments for `boot`.
pub fn arguments(boot: &Boot) -> Vec<String> {
    // Single-threaded TCG: the vCPUs take turns on one host thread. With
    // multi-threaded TCG, a vCPU can run a stale translation of kernel text
    // the other vCPU is live-patching (static keys flipped by attaching and
    // detaching tracepoints use int3 + IPI sync), which showed up as
    // "Oops: int3" in syscall_trace_enter and soft lockups in the patcher
    // while the tmpfs noise loop hammered the syscall path.
    let mut args: Vec<String> = [
        "-accel",
        "tcg,thread=single",
        "-cpu",
        "max",
        "-nographic",
        "-no-reboot",
        "-monitor",
        "none",
        "-net",
        "none",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend([
        "-m".into(),
        boot.memory_mb.to_string(),
        "-smp".into(),
        boot.cpus.to_string(),
        "-serial".into(),
        format!("file:{}", boot.console_log.display()),
        "-serial".into(),
        format!("file:{}", boot.channel.display()),
        "-kernel".into(),
        boot.kernel.display().to_string(),
        "-initrd".into(),
        boot.initrd.display().to_string(),
        "-append".into(),
        format!("console=ttyS0 quiet loglevel=1 panic=-1 {}", boot.append)
            .trim_end()
            .to_string(),
    ]);
    args
}

/// Boot and wait for the guest to power off (or for the time limit).
pub fn boot(boot: &Boot) -> Result<BootOutcome> {
    if cmd::which(QEMU).is_none() {
        anyhow::bail!(
            "{QEMU} is not installed: apt-get install qemu-system-x86 (or cargo xtask setup)"
        );
    }
    let stderr_path = boot.console_log.with_extension("qemu-stderr");
    let stderr_file = std::fs::File::create(&stderr_path)
        .with_context(|| format!("cannot create {}", stderr_path.display()))?;
    let start = Instant::now();
    let mut child = Command::new(QEMU)
        .args(arguments(boot))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .with_context(|| format!("cannot start {QEMU}"))?;
    let deadline = start + boot.timeout;
    let (status, timed_out) = loop {
        if let Some(status) = child.try_wait().context("waiting for QEMU failed")? {
            break (Some(status), false);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break (None, true);
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    Ok(BootOutcome {
        elapsed: start.elapsed(),
        timed_out,
        status,
        stderr,
    })
}
