//! Stopping a demo at a lab's stage boundaries (`--stages FIFO`).
//!
//! `ipc-trace lab` runs a demo with `--stages PATH`, a FIFO it reads. At
//! each boundary the demo calls [`Stages::point`]: the process writes one
//! line, `PID NAME`, to the FIFO and stops itself with SIGSTOP. The lab
//! shows the stage once every process it expects at that boundary has
//! stopped, and lets them go on with SIGCONT. Stopped, a process is truly
//! between two steps: `ipcs -m` or `/proc/PID/maps` show the kernel's state
//! at that moment. Without `--stages` a point does nothing.
//!
//! The line is written in one `write` of less than `PIPE_BUF` bytes, so the
//! lines of processes stopping at once never interleave.
//!
//! Under a lab the demo ignores SIGINT and SIGHUP ([`ignore_interrupts`]):
//! Ctrl-C at the lab's prompt (or a closed terminal) reaches the whole
//! foreground process group, and a demo killed while stopped would leave its
//! segment and set behind. The lab lets it run on to its end instead.

use anyhow::{Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The `--stages FIFO` option every demo takes (`#[command(flatten)]`).
#[derive(clap::Args, Debug, Default)]
pub struct StageArg {
    /// Stop at each lab stage boundary, announcing it on this FIFO
    /// (`ipc-trace lab` passes it).
    #[arg(long = "stages", value_name = "FIFO")]
    pub fifo: Option<PathBuf>,
}

impl StageArg {
    /// The demo's stage points: [`Stages::open`] on the FIFO, if given.
    pub fn open(&self) -> Result<Stages> {
        Stages::open(self.fifo.as_deref())
    }
}

/// Where a demo announces its stage points; nothing without `--stages`.
#[derive(Debug, Default)]
pub struct Stages {
    fifo: Option<std::fs::File>,
}

impl Stages {
    /// Opens `path` for the points; `None` makes every point a no-op.
    pub fn open(path: Option<&Path>) -> Result<Stages> {
        let fifo = match path {
            Some(p) => Some({
                ignore_interrupts();
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(p)
                    .with_context(|| format!("cannot open the stage FIFO {}", p.display()))?
            }),
            None => None,
        };
        Ok(Stages { fifo })
    }

    /// Announces point `name` and stops this process until the lab sends
    /// SIGCONT. A lab that went away (the FIFO has no reader) stops nothing.
    pub fn point(&mut self, name: &str) -> Result<()> {
        let Some(fifo) = self.fifo.as_mut() else {
            return Ok(());
        };
        let line = format!("{} {name}\n", std::process::id());
        if let Err(e) = fifo.write_all(line.as_bytes()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                self.fifo = None;
                return Ok(());
            }
            return Err(e).context("writing to the stage FIFO");
        }
        // SAFETY: kill with our own pid and SIGSTOP has no memory effects;
        // the whole process stops until SIGCONT.
        if unsafe { libc::kill(libc::getpid(), libc::SIGSTOP) } != 0 {
            return Err(std::io::Error::last_os_error()).context("stopping at a stage point");
        }
        Ok(())
    }
}

/// Ignores SIGINT and SIGHUP from now on, in this process and what it
/// forks and execs (a lab's Ctrl-C is for the lab, not for its demo).
pub fn ignore_interrupts() {
    for sig in [libc::SIGINT, libc::SIGHUP] {
        // SAFETY: setting a signal's disposition to SIG_IGN installs no
        // handler and touches no memory of ours.
        unsafe { libc::signal(sig, libc::SIG_IGN) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_fifo_a_point_does_nothing() -> Result<()> {
        let mut stages = Stages::open(None)?;
        stages.point("created")?;
        Ok(())
    }

    #[test]
    fn a_missing_fifo_is_named() {
        let err = Stages::open(Some(Path::new("/nonexistent/stages")))
            .expect_err("a FIFO that does not exist cannot be opened");
        let text = format!("{err:#}");
        assert!(text.contains("/nonexistent/stages"), "{text}");
    }
}
