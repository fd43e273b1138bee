//! A tracer running in the background (a system-wide `ipc-trace record`,
//! a `bpftrace` one-liner) while a benchmark runs: started, waited for until
//! its probes are attached, stopped with SIGINT.

use anyhow::{Context, Result, bail};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A background tracer; killed on drop if still running.
pub struct Background {
    name: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Background {
    /// Starts `argv` with its output in `<scratch>/<tag>.{stdout,stderr}`.
    pub fn start(name: &str, argv: &[String], scratch: &Path, tag: &str) -> Result<Background> {
        let (program, args) = argv.split_first().context("empty command")?;
        let stdout = scratch.join(format!("{tag}.stdout"));
        let stderr = scratch.join(format!("{tag}.stderr"));
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).with_context(|| stdout.display().to_string())?)
            .stderr(File::create(&stderr).with_context(|| stderr.display().to_string())?)
            .spawn()
            .with_context(|| format!("cannot start {name} ({program})"))?;
        Ok(Background {
            name: name.to_string(),
            child,
            stdout,
            stderr,
        })
    }

    /// Waits until the tracer holds BPF links or perf events (its probes
    /// are attached) and their number has not changed for 300 ms.
    pub fn wait_attached(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let (mut last, mut stable_since) = (0, Instant::now());
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "{} exited ({status}) before attaching its probes:\n{}",
                    self.name,
                    self.stderr_text()
                );
            }
            let now = Instant::now();
            let n = attach_fds(self.child.id());
            if n != last {
                (last, stable_since) = (n, now);
            } else if n > 0 && now - stable_since >= Duration::from_millis(300) {
                return Ok(());
            }
            if now >= deadline {
                bail!(
                    "{} did not attach any probe within {timeout:?}:\n{}",
                    self.name,
                    self.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Sends SIGINT and waits (up to `timeout`, then SIGKILL) for the exit.
    pub fn stop(mut self, timeout: Duration) -> Result<Stopped> {
        interrupt(self.child.id())?;
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait()? {
                break status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                bail!(
                    "{} did not stop within {timeout:?} of SIGINT:\n{}",
                    self.name,
                    self.stderr_text()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Ok(Stopped {
            status,
            stdout: std::fs::read_to_string(&self.stdout).unwrap_or_default(),
            stderr: self.stderr_text(),
        })
    }

    fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a stopped background tracer left.
pub struct Stopped {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

/// Open file descriptors of `pid` that are BPF links or perf events.
fn attach_fds(pid: u32) -> usize {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| {
            let t = target.to_string_lossy();
            t.contains("bpf_link") || t.contains("perf_event")
        })
        .count()
}

/// Sends SIGINT to `pid`.
fn interrupt(pid: u32) -> Result<()> {
    let pid = i32::try_from(pid).context("pid out of range")?;
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    if unsafe { libc::kill(pid, libc::SIGINT) } != 0 {
        bail!(
            "cannot send SIGINT to {pid}: {}",
            std::io::Error::last_os_error()
        );
    }
    Ok(())
}
