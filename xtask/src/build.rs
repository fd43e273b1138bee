//! `cargo xtask build`: build ipc-trace and the demos.

use crate::cmd;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;

/// The binaries the VM matrix runs, in the order they are checked.
pub const BINARIES: &[&str] = &[
    "ipc-trace",
    "demo-run",
    "shm-producer",
    "shm-consumer",
    "sem-pingpong",
    "shm-leak",
    "sem-deadlock",
];

/// The checker the VM matrix runs on the host over each recording
/// (built with the demos; see demos/src/bin/demo-check.rs).
pub const DEMO_CHECK: &str = "demo-check";

/// Options of `cargo xtask build`.
#[derive(clap::Args, Clone, Debug)]
pub struct BuildArgs {
    /// Build in release mode (the default; what the VM tests use).
    #[arg(long, conflicts_with = "debug")]
    pub release: bool,
    /// Build in debug mode instead.
    #[arg(long)]
    pub debug: bool,
}

impl BuildArgs {
    /// Release mode unless `--debug` was given.
    pub fn release_mode(&self) -> bool {
        !self.debug
    }
}

/// The output directory of a build in the given mode.
pub fn profile_dir(release: bool) -> PathBuf {
    cmd::target_dir().join(if release { "release" } else { "debug" })
}

/// Build `ipc-trace` and `demos`, with `demo-check` (the VM matrix's
/// checker, which needs the `schema` feature).
pub fn cargo_build(release: bool) -> Result<()> {
    cargo_build_with(release, &["--features", "demos/schema"])
}

/// Build `ipc-trace` and the demo programs only: what `cargo xtask demo`
/// runs, without the checker's JSON Schema validator.
pub fn cargo_build_demo(release: bool) -> Result<()> {
    cargo_build_with(release, &[])
}

fn cargo_build_with(release: bool, extra: &[&str]) -> Result<()> {
    let mut c = cmd::cargo();
    c.current_dir(cmd::workspace_root())
        .args(["build", "-p", "ipc-trace", "-p", "demos"])
        .args(extra);
    if release {
        c.arg("--release");
    }
    cmd::run(&mut c).context("building ipc-trace and demos failed: see the compiler output above")
}

/// Build, then print the path of every binary; fail when one is missing.
pub fn run(args: &BuildArgs) -> Result<Vec<PathBuf>> {
    let release = args.release_mode();
    cargo_build(release)?;
    let dir = profile_dir(release);
    let mut paths = Vec::new();
    let mut missing = Vec::new();
    for name in BINARIES.iter().chain([&DEMO_CHECK]) {
        let path = dir.join(name);
        if path.is_file() {
            println!("{}", path.display());
            paths.push(path);
        } else {
            missing.push(*name);
        }
    }
    if !missing.is_empty() {
        bail!(
            "the build succeeded but these binaries are missing from {}: {}",
            dir.display(),
            missing.join(", ")
        );
    }
    Ok(paths)
}
