//! `cargo xtask demo`: the main job. Sets up, builds (release), and opens
//! the live TUI on the demo producer/consumer (and the semaphore
//! ping-pong), slowed down so a person can follow the kernel steps.

use crate::{build, cmd, setup};
use anyhow::{Result, bail};
use std::process::Command;

/// Options of `cargo xtask demo`.
#[derive(clap::Args, Clone, Debug)]
pub struct DemoArgs {
    /// Messages the producer sends.
    #[arg(long, default_value_t = 200)]
    pub messages: u64,
    /// Milliseconds between the producer's tries.
    #[arg(long, default_value_t = 300)]
    pub interval_ms: u64,
    /// Kernel-path backend for ipc-trace (auto, fentry, kprobe, tracepoint).
    #[arg(long, default_value = "auto")]
    pub backend: String,
    /// Record to this file instead of opening the TUI (for a terminal-less run).
    #[arg(long)]
    pub record: Option<std::path::PathBuf>,
}

/// Runs the demo under the TUI; returns whether it succeeded.
pub fn run(args: &DemoArgs) -> Result<bool> {
    if !cmd::is_root() {
        bail!("the demo loads eBPF programs and needs root: run `sudo -E cargo xtask demo`");
    }
    if !setup::run(setup::Purpose::Demo)? {
        bail!("setup failed: see above");
    }
    build::cargo_build_demo(true)?;
    let dir = build::profile_dir(true);
    let mut c = Command::new(dir.join("ipc-trace"));
    match &args.record {
        Some(path) => {
            c.args(["record", "-o"]).arg(path);
        }
        None => {
            c.arg("tui");
        }
    }
    c.args(["--backend", &args.backend, "--"])
        .arg(dir.join("demo-run"))
        .args(["--pingpong", "--rounds", "50", "--messages"])
        .arg(args.messages.to_string())
        .arg("--interval-ms")
        .arg(args.interval_ms.to_string())
        .arg("--timeout-s")
        .arg("120");
    let status = c.status()?;
    Ok(status.success())
}
