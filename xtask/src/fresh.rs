//! `cargo xtask fresh`: run the set-up and the build as on a newly
//! provisioned machine, without touching this machine's toolchain.
//!
//! The command re-runs itself under `unshare --mount` and, in that private
//! mount namespace, lays throw-away overlays over `~/.rustup`, `~/.cargo`
//! and `~/.cache/ipc-trace` in which the nightly toolchain has no
//! `rust-src`, `~/.cargo/bin` holds only the rustup proxies (no
//! `bpf-linker`) and the cache is empty ([`state`]). It checks that this
//! state really holds and fails loudly when it cannot be made. Then it
//! clones the committed tree into a scratch directory and, with a fresh
//! target directory there, runs the given command or by default `cargo
//! xtask setup`, `cargo build --release` and `cargo test --no-run`
//! ([`bootstrap`]). `cargo xtask ci` runs its whole pipeline this way.
//! Debian packages are not hidden: a package step is proven by the apt-get
//! that installs it, not here.

mod bootstrap;
mod state;

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::process::Command;

/// Options of `cargo xtask fresh`.
#[derive(clap::Args, Clone, Debug)]
pub struct FreshArgs {
    /// Inside the namespace already (set by the re-run; not for users).
    #[arg(long, hide = true)]
    pub inner: bool,
    /// Keep the clone (and its target directory) afterwards; it is always
    /// kept when the command fails.
    #[arg(long)]
    pub keep: bool,
    /// Run this command in the fresh clone instead of the bootstrap check.
    #[arg(last = true)]
    pub command: Vec<String>,
}

/// Run `cargo xtask fresh`; `Ok(true)` when the command succeeded.
pub fn run(args: &FreshArgs) -> Result<bool> {
    if !cmd::is_root() {
        bail!("`cargo xtask fresh` makes a mount namespace and needs root");
    }
    if !args.inner {
        let exe = std::env::current_exe().context("cannot find the xtask executable")?;
        let mut c = Command::new("unshare");
        c.env(state::OUTER_NS_ENV, state::mount_namespace()?)
            .args(["--mount", "--propagation", "private"])
            .arg(exe)
            .args(["fresh", "--inner"])
            .args(args.keep.then_some("--keep"))
            .arg("--")
            .args(&args.command);
        let status = c
            .status()
            .context("cannot run `unshare` (util-linux) to make a mount namespace")?;
        return Ok(status.success());
    }
    let scratch = state::make().context("cannot make the fresh state")?;
    bootstrap::run(&scratch, &args.command, args.keep)
}
